/* filelog.h - the file channel's on-disk format: segment files, records, event encoding, checkpoints.
 *
 * The format itself is described at the top of channel_file.c. This module only encodes, decodes and
 * validates (it never trusts a byte it reads: every length is checked against what is there before it is
 * used) and offers the small filesystem helpers the channel needs (directory lock, directory fsync,
 * full pwrite). All integers are little-endian. Pure functions, callable from any thread. */
#ifndef RELAY_FILELOG_H_INCLUDED
#define RELAY_FILELOG_H_INCLUDED

#include "relay.h"

#define RELAY_FILELOG_VERSION 1
#define RELAY_FILELOG_SEGMENT_HEADER 64 /* bytes before the first record of a segment */
#define RELAY_FILELOG_RECORD_HEADER 32
#define RELAY_FILELOG_EVENT_PREFIX 8          /* u32 length + u32 CRC-32C before every event of a PUT */
#define RELAY_FILELOG_TAKE_RUN 12             /* u64 first sequence number + u32 count */
#define RELAY_FILELOG_MAX_SEGMENT 2146435071u /* Flume's maxFileSize cap; offsets fit in 31 bits */
#define RELAY_FILELOG_LOCK_NAME "in_use.lock"

typedef enum
{
  RELAY_FILELOG_PUT = 1,  /* count events, sequence numbers first_seq .. first_seq + count - 1 */
  RELAY_FILELOG_TAKE = 2, /* count runs of taken sequence numbers */
} RelayFilelogRecordType;

/* A record header, decoded; payload points into the buffer that was parsed. */
typedef struct
{
  RelayFilelogRecordType type;
  guint32 count;
  guint32 payload_len;
  guint32 payload_crc;
  guint64 first_seq;
  const guint8 *payload;
} RelayFilelogRecord;

typedef enum
{
  RELAY_FILELOG_REC_OK = 0,
  RELAY_FILELOG_REC_END, /* only zero bytes (or too few bytes for a header) remain: a clean end */
  RELAY_FILELOG_REC_BAD, /* torn or corrupt: bad magic, CRC, type or length */
} RelayFilelogRecStatus;

/* Where an event lives: the offset of its prefix in segment seg, and the length of its encoding. */
typedef struct
{
  guint64 seq;
  guint64 seg;
  guint32 off;
  guint32 len;
} RelayFilelogLocation;

/* ---- records ---- */

/* Writes the 32-byte header for rec (payload_len and payload_crc must be set) including its own CRC. */
void relay_filelog_record_header_encode(guint8 *out, const RelayFilelogRecord *rec);
/* Parses the record at data (avail bytes available): header CRC, type, length, payload CRC and the
 * payload's internal structure. Fills rec on OK. */
RelayFilelogRecStatus relay_filelog_record_parse(const guint8 *data, gsize avail, RelayFilelogRecord *rec);

/* ---- events inside PUT payloads ---- */

/* Bytes the event takes in a PUT payload, prefix included. */
gsize relay_filelog_event_size(const RelayEvent *ev);
/* Writes prefix and encoding (size from relay_filelog_event_size) at out; returns out + size. */
guint8 *relay_filelog_event_encode(guint8 *out, const RelayEvent *ev, gsize size);
/* Decodes the event whose prefix is at data, avail bytes available; checks length, CRC and structure.
 * Returns a new event or NULL if anything is wrong. */
RelayEvent *relay_filelog_event_decode(const guint8 *data, gsize avail);
/* Steps through the events of a parsed PUT record: *cursor starts at 0; returns FALSE at the end. Sets
 * the offset of the event's prefix relative to the payload and the encoding length. */
gboolean relay_filelog_put_next(const RelayFilelogRecord *rec, gsize *cursor, guint32 *rel_off, guint32 *len);

/* ---- runs inside TAKE payloads ---- */

guint8 *relay_filelog_take_run_encode(guint8 *out, guint64 first_seq, guint32 n);
void relay_filelog_take_run(const RelayFilelogRecord *rec, guint32 i, guint64 *first_seq, guint32 *n);

/* ---- segments ---- */

typedef struct
{
  guint64 id;
  char *path;
} RelayFilelogSegmentFile;

/* "log-0000000042" */
char *relay_filelog_segment_name(guint64 id);
gboolean relay_filelog_segment_parse_name(const char *name, guint64 *id);
void relay_filelog_segment_header_encode(guint8 *out, guint64 id);
gboolean relay_filelog_segment_header_check(const guint8 *data, gsize len, guint64 id);
/* Segment files of all dirs, sorted by id (array of RelayFilelogSegmentFile; free with
 * relay_filelog_segment_files_free). Fails on unreadable dirs and on an id present in two dirs. */
GArray *relay_filelog_list_segments(char **dirs, GError **error);
void relay_filelog_segment_files_free(GArray *files);

/* Called for every valid record; offset is where its header starts. Return FALSE to stop (an error).
 * Also called for each intact event of a PUT record whose payload is damaged: rec is then a one-event PUT
 * (first_seq is that event's sequence number, payload its prefix) and offset is the event's offset minus
 * RELAY_FILELOG_RECORD_HEADER, so that offset + header + the event's position in rec stays right. */
typedef gboolean (*RelayFilelogRecordFn)(const RelayFilelogRecord *rec, guint64 seg, guint32 offset,
                                         gpointer user_data);

/* A damaged stretch of a segment, skipped by a scan. With has_header the stretch is one record whose header
 * (and so its type, sequence numbers and length) is intact but whose payload is not; for a PUT record whose
 * events can still be delimited, only the events failing their own CRC are lost (events_lost; the others
 * were passed to the record callback). Without has_header the stretch runs from a record whose header is
 * damaged to the next valid record header (magic + header CRC): its content is unknown. */
typedef struct
{
  guint64 offset;
  guint64 length;
  gboolean has_header;
  RelayFilelogRecordType type; /* the rest only with has_header */
  guint64 first_seq;
  guint32 count;
  guint32 events_lost; /* PUT: events not recovered (all of count when they cannot be delimited) */
} RelayFilelogDamage;

typedef void (*RelayFilelogDamageFn)(const RelayFilelogDamage *damage, guint64 seg, gpointer user_data);

typedef struct
{
  RelayFilelogRecordFn record; /* may be NULL (listing only) */
  RelayFilelogDamageFn damage; /* may be NULL */
  gpointer user_data;
  /* The segment is not the last one: damage at its end is damage. In the last segment, damage after which
   * no valid record follows is a torn tail (a write cut short by a crash) and is not reported as damage. */
  gboolean sealed;
} RelayFilelogScanFns;

typedef struct
{
  guint64 records;       /* valid records seen */
  guint64 end;           /* offset just after the last valid record: where the segment's good part ends */
  guint64 size;          /* file size */
  guint64 garbage;       /* non-zero bytes between end and the last non-zero byte (0: clean end) */
  gboolean bad_header;   /* the segment header is damaged; records were still scanned */
  guint64 damaged;       /* damaged stretches skipped before end (each also passed to fns->damage) */
  guint64 damaged_bytes; /* their total length */
} RelayFilelogScanResult;

/* Maps the segment read-only and calls fns->record for each valid record from offset `from` (0: after the
 * header) to the clean end. A damaged record is skipped (by its length when its header is intact, else up
 * to the next valid record header) and reported to fns->damage; the scan stops at the last valid record.
 * FALSE (error set) if the file cannot be read or the record callback stopped. A damaged segment header
 * is not an error (result->bad_header; the records after it are scanned all the same). */
gboolean relay_filelog_segment_scan(const char *path, guint64 id, guint64 from,
                                    const RelayFilelogScanFns *fns, RelayFilelogScanResult *result,
                                    GError **error);

/* ---- checkpoints ---- */

typedef struct
{
  guint64 next_seq; /* first sequence number never used */
  guint64 log_seg;  /* replay resumes at this segment ... */
  guint64 log_off;  /* ... and offset (every record before it is reflected in entries) */
  GArray *entries;  /* RelayFilelogLocation, sorted by seq */
} RelayFilelogCheckpoint;

#define RELAY_FILELOG_CHECKPOINT_NAME "checkpoint"

/* Writes dir/checkpoint atomically and durably (temporary file, fsync, rename, directory fsync). */
gboolean relay_filelog_checkpoint_write(const char *dir, const RelayFilelogCheckpoint *cp, GError **error);
/* Reads and validates dir/checkpoint (magic, version, CRCs, sizes, sorted entries). On FALSE, error says
 * why (G_FILE_ERROR_NOENT when there is none); cp->entries is left NULL. */
gboolean relay_filelog_checkpoint_read(const char *dir, RelayFilelogCheckpoint *cp, GError **error);
void relay_filelog_checkpoint_clear(RelayFilelogCheckpoint *cp);

/* ---- filesystem helpers ---- */

/* Creates dir and its parents (0750) if missing; fsyncs the parent of every directory it creates. */
gboolean relay_filelog_mkdirs(const char *dir, GError **error);
/* Takes an exclusive, non-blocking lock on dir/in_use.lock (creating dir if needed) and writes the pid in
 * it; returns the fd that holds the lock, or -1 with error (e.g. another process uses the dir). */
int relay_filelog_lock_dir(const char *dir, GError **error);
void relay_filelog_unlock_dir(int fd);
gboolean relay_filelog_sync_dir(const char *dir, GError **error);
/* pwrite until done (short writes continue); FALSE with errno set on failure. */
gboolean relay_filelog_pwrite_all(int fd, const void *data, gsize len, guint64 offset);

/* ---- files relayd did not write (filelog_foreign.c) ---- */

/* Lists the entries of dir that relayd did not write (a checkpoint directory when checkpoint_dir, else a
 * data directory), e.g. "checkpoint.meta (a name Flume's file channel uses, ...), notes.txt (unknown)";
 * NULL when there are none or dir does not exist, NULL with error when dir cannot be read. *flume_like is
 * set when one of them bears a name Flume's file channel uses. Never writes. */
char *relay_filelog_foreign_files(const char *dir, gboolean checkpoint_dir, gboolean *flume_like,
                                  GError **error);

#endif
