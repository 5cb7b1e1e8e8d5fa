/* filelog_writer.h - the file channel's writer thread: group commit of records into segment files.
 *
 * Committers submit fully encoded records and wait; the writer takes everything queued, writes it with one
 * pwritev per segment, makes it durable with one fdatasync (fsyncPerTransaction) and then, still on its
 * thread, hands the whole group to the apply callback in log order before waking the committers. So many
 * concurrent commits share one write and one sync, and the callback sees exactly the records that are on
 * disk, in order. The writer owns the segment being written: it creates segments (header, preallocation,
 * file and directory fsync), rolls to a new one when maxFileSize would be exceeded and seals the old one.
 *
 * Errors: a failed write or sync fails every request not yet durable; the segment is truncated back to its
 * last durable end (or abandoned for a new segment if that fails), so later records never follow unknown
 * bytes. Put records are refused (ENOSPC) while free space is below the configured minimum; take records
 * are still written, so the channel can drain. Nothing on disk before the durable end is ever rewritten.
 *
 * Threads & locking: submit/wait from any thread (submit may be called under the channel's lock); the
 * queue and completion flags are under the writer's own lock, which is never held while calling out. */
#ifndef RELAY_FILELOG_WRITER_H_INCLUDED
#define RELAY_FILELOG_WRITER_H_INCLUDED

#include "relay.h"

typedef struct _RelayFilelogWriter RelayFilelogWriter;
typedef struct _RelayFilelogRequest RelayFilelogRequest;

struct _RelayFilelogRequest
{
  /* Set by the submitter. */
  const guint8 *data; /* one whole record; NULL: a sync barrier (forces an fdatasync) */
  gsize len;
  gboolean is_put;
  gpointer user_data;
  /* Set by the writer before apply. */
  guint64 seg;
  guint32 off; /* where the record's header starts */
  int error;   /* 0 or an errno value */
  /* private */
  gboolean done;
  RelayFilelogRequest *next;
};

/* Runs in: the writer thread, after the group is durable (or failed), in log order. end_seg/end_off: the
 * position after the last record that is durable; every earlier record is in this or an earlier group. */
typedef void (*RelayFilelogApplyFn)(RelayFilelogRequest *const *requests, guint n, guint64 end_seg,
                                    guint64 end_off, gpointer user_data);
/* Runs in: the writer thread (or the starting thread for the first segment), before any record of the new
 * segment is written. */
typedef void (*RelayFilelogOpenedFn)(guint64 id, const char *path, gpointer user_data);

typedef struct
{
  char **dirs;      /* segment id N goes to dirs[N % n_dirs] */
  guint64 first_id; /* id of the first segment this writer creates */
  guint64 max_file_size;
  guint64 min_free; /* bytes that must stay free for put records to be written */
  gboolean fsync_per_txn;
  guint fsync_interval_ms; /* background fdatasync period when !fsync_per_txn */
  RelayFilelogApplyFn apply;
  RelayFilelogOpenedFn opened;
  gpointer user_data;
  const char *log_prefix;
} RelayFilelogWriterConfig;

/* Creates the first segment and starts the thread. The config's strings must outlive the writer. */
RelayFilelogWriter *relay_filelog_writer_start(const RelayFilelogWriterConfig *config, GError **error);
/* Queues req (its data must stay valid until wait returns). */
void relay_filelog_writer_submit(RelayFilelogWriter *self, RelayFilelogRequest *req);
/* Blocks until req has been written and applied (or has failed: req->error). */
void relay_filelog_writer_wait(RelayFilelogWriter *self, RelayFilelogRequest *req);
/* Writes what is queued, seals the segment, joins the thread and frees the writer. */
void relay_filelog_writer_stop(RelayFilelogWriter *self);

#endif
