/* channel_file_private.h - the file channel's instance, shared by channel_file.c (front, transactions,
 * checkpoints) and channel_file_recover.c (start-up replay). Not for other modules. */
#ifndef RELAY_CHANNEL_FILE_PRIVATE_H_INCLUDED
#define RELAY_CHANNEL_FILE_PRIVATE_H_INCLUDED

#include "channel.h"
#include "filelog.h"
#include "filelog_writer.h"
#include "relay_mutex.h"
#include "log.h"

/* One event of the channel: where it is on disk and, if it fits the cache, the event itself. */
typedef struct
{
  RelayFilelogLocation loc;
  RelayEvent *ev; /* a reference, or NULL: read from disk when taken */
} RelayFileEntry;

typedef struct
{
  guint64 id;
  char *path;
  int read_fd; /* opened at the first read from disk; -1 until then */
  gint64 live; /* events stored in this segment that are still in the channel (queued or taken) */
} RelayFileSegment;

typedef struct
{
  RelayChannel super;
  /* options */
  char *checkpoint_dir_opt;
  char *data_dirs_opt;
  char *backup_dir_opt;
  gboolean use_dual_checkpoints;
  gint64 checkpoint_interval_ms;
  gint64 max_file_size;
  gint64 min_required_space;
  gboolean fsync_per_txn;
  gint64 fsync_interval_s;
  gboolean checkpoint_on_close;
  gint64 cache_bytes_max;
  gboolean ignored_flag; /* target of accepted-but-ignored Flume options */

  /* resolved by configure */
  char *checkpoint_dir;
  char *backup_dir; /* NULL without dual checkpoints */
  char **data_dirs;

  /* state, under lock */
  RelayMutex lock;
  RelayFileEntry *ring;
  guint64 ring_size, head, count;
  guint64 held;        /* queued + taken by open transactions + puts being committed */
  guint64 cache_bytes; /* alloc_size of the cached events */
  GArray *segments;    /* RelayFileSegment sorted by id */
  GQueue open_takes;   /* RelayFileTxn holding taken entries */
  guint64 next_seq;
  guint64 applied_seg, applied_off; /* every record before this position is reflected in the state */
  guint64 changes;                  /* bumped by every apply; an unchanged channel is not checkpointed */
  gint64 puts_refused_until;        /* monotonic us: after a disk error puts fail fast until then */
  gboolean refusing;
  gboolean running;
  RelayFilelogWriter *writer;
  guint committers; /* commits waiting for the writer; stop() waits for them before stopping it */
  RelayCond idle;

  /* main thread (start/stop) and the checkpoint thread */
  GArray *lock_fds;
  GThread *checkpointer;
  RelayMutex cp_lock;
  RelayCond cp_cond;
  gboolean cp_stop;
  guint64 checkpointed_changes;
  RelayRateLimit read_rl, refuse_rl, mix_rl;
} RelayFileChannel;

#define RELAY_FILE_CHANNEL(p) ((RelayFileChannel *)(p))

/* Caller holds lock. The segment with this id, or NULL. */
RelayFileSegment *relay_file_channel_segment(RelayFileChannel *self, guint64 id);
/* Caller holds lock. Makes room for need entries in the ring. */
void relay_file_channel_ring_reserve(RelayFileChannel *self, guint64 need);

/* Rebuilds the queue and segment table from the checkpoint (or the backup) and the log; cuts a torn tail.
 * Sets *first_new_segment to the id the writer must use. Runs in: the main thread, from start(). */
gboolean relay_file_channel_recover(RelayFileChannel *self, guint64 *first_new_segment, GError **error);

#endif
