/* channel_file.c - the durable file channel (Flume's FileChannel): nothing acknowledged is ever lost.
 *
 * DESIGN
 *
 * Model. The channel is a queue of event locations in memory (a ring of RelayFileEntry, like the memory
 * channel's ring of events) backed by an append-only log on disk. A transaction either puts or takes,
 * never both (as Flume). Puts stay in the transaction until commit; at commit the whole transaction is
 * encoded as ONE record, so a transaction is on disk entirely or not at all: there are no commit or
 * rollback records. Takes move entries out of the ring into the transaction; their commit writes one TAKE
 * record naming the sequence numbers taken; a rollback only puts the entries back at the head (no I/O).
 * Every event gets a 64-bit sequence number when its put commits (never reused, also not after a failed
 * write); TAKE records refer to events by these numbers.
 *
 * Files.
 *   dataDirs/log-NNNNNNNNNN   segments; segment id N lives in dataDirs[N % number of dirs]
 *   checkpointDir/checkpoint  the queue at a log position (see filelog_checkpoint.c)
 *   backupCheckpointDir/checkpoint   the same, second copy, with useDualCheckpoints
 *   every directory/in_use.lock      flock()ed while the channel runs: one user per directory
 *
 * Segment layout (all integers little-endian, format version RELAY_FILELOG_VERSION = 1):
 *   header, 64 bytes: "RLYFCLOG", u32 version, u32 header size (64), u64 segment id, u64 creation time
 *     (unix us), zeros up to byte 60, u32 CRC-32C of bytes 0..59
 *   records, back to back, each a 32-byte header and a payload:
 *     u32 magic "RFCR" (0x52434652), u8 type (1 PUT, 2 TAKE), 3 zero bytes, u32 payload length,
 *     u32 CRC-32C of the payload, u64 first sequence number (PUT; 0 for TAKE), u32 count,
 *     u32 CRC-32C of header bytes 0..27
 *     PUT payload: count events, each u32 length L, u32 CRC-32C of the L bytes, then the L bytes:
 *       u32 number of headers, per header u32 key length, u32 value length, key, value; u32 body length,
 *       body. Event i has sequence number first + i. The per-event CRC lets a take read one event alone.
 *     TAKE payload: count runs of u64 first sequence number, u32 number of consecutive events.
 *   then zeros: segments are preallocated in 4 MiB steps; a sealed segment is trimmed to its last record.
 * A record never spans segments; the writer starts a new segment when maxFileSize would be exceeded.
 *
 * Durability (what is fsynced when, and why).
 *   - A commit returns only when its record is durable: the writer thread (filelog_writer.c) writes all
 *     records queued at that moment with one pwritev and makes them durable with one fdatasync (group
 *     commit), so concurrent commits share a sync. The record's effect (events appended to the queue,
 *     taken events released) is applied by the writer, in log order, only after that sync.
 *   - With fsyncPerTransaction=false a commit returns after the write and the writer syncs every
 *     fsyncInterval seconds (a crash can lose up to that much, as in Flume).
 *   - New segments: header written, file fdatasync'ed and the directory fsync'ed before the first record.
 *   - Checkpoints: written to a temporary file, fdatasync'ed, renamed, directory fsync'ed; before writing one
 *     the writer is asked for a sync so the checkpoint never names a record that is not durable.
 *
 * IMPORTANT for callers: relay_txn_commit blocks the calling thread until the group fsync that carries its
 * record completes (typically well under a few ms on SSDs; more on slow disks). Sources commit on the main
 * event loop, so a slow disk delays the loop by one group sync per commit. This is accepted for now; the
 * alternative is an asynchronous commit API on the channel interface.
 *
 * Checkpoint and log position. The state (ring + entries taken by open transactions + next sequence
 * number) is checkpointed every checkpointInterval ms if it changed, together with the log position after
 * the last applied record. Recovery loads the checkpoint (the backup if the primary is unusable) and
 * replays the records after that position; without a usable checkpoint it replays every segment. Damage
 * loses only what is damaged: a record with an intact header is skipped by its length (a PUT keeps its
 * events that pass their own CRC), an unreadable stretch is skipped up to the next intact record header,
 * each logged with what it held; a torn tail of the last segment is cut at its last good record (log line
 * with the number of bytes dropped). See channel_file_recover.c.
 *
 * Segment deletion. After a checkpoint, segments are deleted from the oldest on while they are older than
 * the checkpoint's log position and hold no event still in the channel (a prefix only), so a full replay
 * from the oldest remaining segment always sees every TAKE record that follows a surviving PUT.
 *
 * Capacity. `held` counts queued events, events taken by open transactions and puts being committed;
 * a put commit that would exceed capacity fails with FULL at once (sources wait keep-alive seconds
 * asynchronously, see channel.h). Taking and putting in one transaction: the put fails (ERROR), the take
 * returns nothing.
 *
 * Memory. Event bodies are kept in memory only up to eventCacheBytes (relayd's own option, default 64 MiB);
 * beyond that, and after a restart, takes read events back from the segments (consecutive events with one
 * pread), verifying each event's CRC. An event that cannot be read back is logged and dropped.
 *
 * Disk errors. A failed write or sync fails the commits of its group (the caller rolls back) and the
 * segment is cut back to its durable end. Puts are then refused for one second at a time (fail fast with
 * ERROR, logged rate-limited) and retried afterwards: the channel resumes by itself once a write succeeds.
 * Free space below minimumRequiredSpace refuses put records only; take records are still written, so the
 * channel keeps draining. An uncertain record (written, then the sync failed) may or may not survive a
 * crash; either outcome only duplicates events, never loses one: a failed take's events were already
 * delivered by the sink that rolls it back, a failed put's events are retried by the source's client.
 *
 * Threads & locking. Transactions run on their caller's thread; the writer thread applies records; a
 * checkpoint thread writes checkpoints and deletes segments. `lock` guards the ring, segment table, open
 * take list, counters and positions. Lock order: channel lock, then the writer's queue lock (submit is
 * called under the channel lock); the writer never holds its lock while applying. Disk reads, record
 * encoding and event reference drops happen outside the lock. */
#include "channel_file_private.h"

#include "agent.h"
#include "counters.h"
#include "crc32c.h"
#include "event.h"
#include "options.h"
#include "props.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RELAY_FILE_RING_MIN 64
#define RELAY_FILE_READ_RUN (1024 * 1024)       /* at most this many bytes per pread of consecutive events */
#define RELAY_FILE_REFUSE_US (G_USEC_PER_SEC)   /* puts fail fast this long after a disk error */
#define RELAY_FILE_MIN_FREE_FLOOR (1024 * 1024) /* Flume's floor for minimumRequiredSpace */

typedef struct
{
  RelayTxn super;
  GPtrArray *puts; /* RelayEvent*, the channel's references, in put order */
  GArray *taken;   /* RelayFileEntry in take order; ev is the cache's reference or NULL */
  GPtrArray *read; /* events read back from disk for this transaction (references) */
  GList link;      /* in open_takes while listed */
  gboolean listed;
  guint8 *record;     /* the encoded record while committing */
  guint32 *put_slots; /* per put: offset of the event prefix in the payload, encoding length */
  guint64 first_seq;  /* sequence number of the first put */
  RelayFilelogRequest req;
} RelayFileTxn;

#define FILE_TXN(p) ((RelayFileTxn *)(p))

/* ---- ring (caller holds lock) ---- */

void
relay_file_channel_ring_reserve(RelayFileChannel *self, guint64 need)
{
  if (need <= self->ring_size)
    return;
  guint64 size = MAX(self->ring_size, RELAY_FILE_RING_MIN);
  while (size < need)
    size *= 2;
  size = MAX(MIN(size, (guint64)self->super.capacity), need);

  RelayFileEntry *ring = g_new(RelayFileEntry, size);
  for (guint64 i = 0; i < self->count; i++)
    ring[i] = self->ring[(self->head + i) % self->ring_size];
  g_free(self->ring);
  self->ring = ring;
  self->ring_size = size;
  self->head = 0;
}

static void
_ring_push_tail(RelayFileChannel *self, const RelayFileEntry *entry)
{
  relay_file_channel_ring_reserve(self, self->count + 1);
  self->ring[(self->head + self->count) % self->ring_size] = *entry;
  self->count++;
}

static void
_ring_push_head(RelayFileChannel *self, const RelayFileEntry *entries, guint n)
{
  relay_file_channel_ring_reserve(self, self->count + n);
  self->head = (self->head + self->ring_size - n % self->ring_size) % self->ring_size;
  for (guint i = 0; i < n; i++)
    self->ring[(self->head + i) % self->ring_size] = entries[i];
  self->count += n;
}

static guint
_ring_pop_head(RelayFileChannel *self, RelayFileEntry *out, guint max)
{
  guint n = (guint)MIN((guint64)max, self->count);

  for (guint i = 0; i < n; i++)
    out[i] = self->ring[(self->head + i) % self->ring_size];
  if (n)
    self->head = (self->head + n) % self->ring_size;
  self->count -= n;
  return n;
}

/* ---- segment table (caller holds lock) ---- */

RelayFileSegment *
relay_file_channel_segment(RelayFileChannel *self, guint64 id)
{
  guint lo = 0, hi = self->segments->len;

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      RelayFileSegment *seg = &g_array_index(self->segments, RelayFileSegment, mid);
      if (seg->id == id)
        return seg;
      if (seg->id < id)
        lo = mid + 1;
      else
        hi = mid;
    }
  return NULL;
}

static int
_segment_read_fd(RelayFileChannel *self, guint64 id)
{
  RelayFileSegment *seg = relay_file_channel_segment(self, id);

  if (seg && seg->read_fd < 0)
    seg->read_fd = open(seg->path, O_RDONLY | O_CLOEXEC);
  return seg ? seg->read_fd : -1;
}

/* Runs in: the writer thread (new segments) or start() (the first one). */
static void
_on_segment_opened(guint64 id, const char *path, gpointer data)
{
  RelayFileChannel *self = data;
  RelayFileSegment seg = { id, g_strdup(path), -1, 0 };

  relay_mutex_lock(&self->lock);
  g_array_append_val(self->segments, seg);
  relay_mutex_unlock(&self->lock);
}

/* ---- reading events back from disk ---- */

/* Number of entries from `first` that can be read with one pread: missing from the cache, same segment,
 * adjacent on disk, at most RELAY_FILE_READ_RUN bytes (at least one entry). */
static guint
_run_length(const RelayFileEntry *entries, guint first, guint n, gsize *bytes)
{
  const RelayFilelogLocation *a = &entries[first].loc;
  guint k = 1;

  *bytes = RELAY_FILELOG_EVENT_PREFIX + (gsize)a->len;
  while (first + k < n)
    {
      const RelayFileEntry *next = &entries[first + k];
      if (next->ev || next->loc.seg != a->seg || next->loc.off != a->off + *bytes
          || *bytes + RELAY_FILELOG_EVENT_PREFIX + next->loc.len > RELAY_FILE_READ_RUN)
        break;
      *bytes += RELAY_FILELOG_EVENT_PREFIX + (gsize)next->loc.len;
      k++;
    }
  return k;
}

static void
_read_failed(RelayFileChannel *self, const RelayFilelogLocation *loc, const char *why)
{
  relay_counter_add_shared(&self->super.counters.take_errors, 1);
  relay_log_ratelimited(&self->read_rl, RELAY_LOG_ERROR, self->super.super.log_prefix,
                        "event cannot be read back, dropped: %s seq=%" G_GUINT64_FORMAT
                        " segment=%" G_GUINT64_FORMAT " offset=%u",
                        why, loc->seq, loc->seg, loc->off);
}

/* Reads n adjacent entries with one pread; appends the events that decode to out (and to txn->read). */
static guint
_read_run(RelayFileChannel *self, RelayFileTxn *ft, const RelayFileEntry *entries, guint n, gsize bytes,
          int fd, RelayEvent **out)
{
  guint8 *buf = g_malloc(bytes);
  ssize_t got = fd < 0 ? -1 : pread(fd, buf, bytes, (off_t)entries[0].loc.off);
  const char *why = got < 0 ? g_strerror(errno) : "short read or bad CRC";
  guint k = 0;

  for (guint i = 0; i < n; i++)
    {
      gsize at = entries[i].loc.off - entries[0].loc.off;
      RelayEvent *ev
          = got > 0 && (gsize)got > at ? relay_filelog_event_decode(buf + at, (gsize)got - at) : NULL;
      if (!ev)
        {
          _read_failed(self, &entries[i].loc, why);
          continue;
        }
      g_ptr_array_add(ft->read, ev);
      out[k++] = ev;
    }
  g_free(buf);
  return k;
}

/* ---- transactions ---- */

static RelayTxn *
_file_begin(RelayChannel *channel)
{
  RelayFileTxn *ft = g_new0(RelayFileTxn, 1);

  (void)channel;
  ft->link.data = ft;
  return &ft->super;
}

static RelayChannelResult
_file_put(RelayTxn *txn, RelayEvent *ev)
{
  RelayFileTxn *ft = FILE_TXN(txn);

  if (ft->taken && ft->taken->len)
    {
      relay_log_ratelimited(&RELAY_FILE_CHANNEL(txn->channel)->mix_rl, RELAY_LOG_WARN,
                            txn->channel->super.log_prefix, "put refused: the transaction has taken events");
      return RELAY_CHANNEL_ERROR;
    }
  if ((gint64)txn->n_puts >= txn->channel->transaction_capacity)
    return RELAY_CHANNEL_TXN_FULL;
  if (!ft->puts)
    ft->puts = g_ptr_array_new();
  g_ptr_array_add(ft->puts, ev);
  return RELAY_CHANNEL_OK;
}

/* Caller holds lock. Moves up to max entries into the transaction and resolves read fds for cache misses. */
static guint
_take_entries(RelayFileChannel *self, RelayFileTxn *ft, guint max, int *fds)
{
  guint first = ft->taken->len;

  g_array_set_size(ft->taken, first + max);
  RelayFileEntry *dst = &g_array_index(ft->taken, RelayFileEntry, first);
  guint n = _ring_pop_head(self, dst, max);
  g_array_set_size(ft->taken, first + n);
  for (guint i = 0; i < n; i++)
    fds[i] = dst[i].ev ? -1 : _segment_read_fd(self, dst[i].loc.seg);
  if (n && !ft->listed)
    {
      g_queue_push_tail_link(&self->open_takes, &ft->link);
      ft->listed = TRUE;
    }
  return n;
}

/* Fills out from the n entries just taken: cached events directly, the others read from disk. */
static guint
_resolve_events(RelayFileChannel *self, RelayFileTxn *ft, guint first, guint n, const int *fds,
                RelayEvent **out)
{
  const RelayFileEntry *entries = &g_array_index(ft->taken, RelayFileEntry, first);
  guint k = 0;

  for (guint i = 0; i < n;)
    {
      if (entries[i].ev)
        {
          out[k++] = entries[i++].ev;
          continue;
        }
      gsize bytes;
      guint run = _run_length(entries, i, n, &bytes);
      k += _read_run(self, ft, entries + i, run, bytes, fds[i], out + k);
      i += run;
    }
  return k;
}

static guint
_file_take(RelayTxn *txn, RelayEvent **out, guint max)
{
  RelayFileChannel *self = RELAY_FILE_CHANNEL(txn->channel);
  RelayFileTxn *ft = FILE_TXN(txn);

  if (ft->puts && ft->puts->len)
    {
      relay_log_ratelimited(&self->mix_rl, RELAY_LOG_WARN, txn->channel->super.log_prefix,
                            "take refused: the transaction has put events");
      return 0;
    }
  if (!ft->taken)
    {
      ft->taken = g_array_new(FALSE, FALSE, sizeof(RelayFileEntry));
      ft->read = g_ptr_array_new_with_free_func(relay_event_unref_notify);
    }
  gint64 room = self->super.transaction_capacity - (gint64)ft->taken->len;
  if (room <= 0)
    return 0;
  max = (guint)MIN((gint64)max, room);
  int *fds = g_new(int, max);
  guint first = ft->taken->len;

  relay_mutex_lock(&self->lock);
  guint n = self->running ? _take_entries(self, ft, max, fds) : 0;
  relay_mutex_unlock(&self->lock);
  guint k = _resolve_events(self, ft, first, n, fds, out);
  g_free(fds);
  return k;
}

/* ---- commit ---- */

/* Encodes the transaction's puts as one PUT record (header completed under the lock). FALSE if it cannot
 * fit in a segment. */
static gboolean
_encode_puts(RelayFileChannel *self, RelayFileTxn *ft, RelayFilelogRecord *rec)
{
  guint n = ft->puts->len;
  guint64 size = RELAY_FILELOG_RECORD_HEADER;

  for (guint i = 0; i < n; i++)
    size += relay_filelog_event_size(g_ptr_array_index(ft->puts, i));
  if (size > (guint64)self->max_file_size - RELAY_FILELOG_SEGMENT_HEADER)
    return FALSE;
  ft->record = g_malloc(size);
  ft->put_slots = g_new(guint32, 2 * n);
  guint8 *payload = ft->record + RELAY_FILELOG_RECORD_HEADER, *p = payload;
  for (guint i = 0; i < n; i++)
    {
      RelayEvent *ev = g_ptr_array_index(ft->puts, i);
      gsize esize = relay_filelog_event_size(ev);
      ft->put_slots[2 * i] = (guint32)(p - payload);
      ft->put_slots[2 * i + 1] = (guint32)(esize - RELAY_FILELOG_EVENT_PREFIX);
      p = relay_filelog_event_encode(p, ev, esize);
    }
  *rec = (RelayFilelogRecord){
    RELAY_FILELOG_PUT, n, (guint32)(size - RELAY_FILELOG_RECORD_HEADER), 0, 0, NULL
  };
  rec->payload_crc = relay_crc32c(0, payload, rec->payload_len);
  ft->req = (RelayFilelogRequest){ .data = ft->record, .len = size, .is_put = TRUE, .user_data = ft };
  return TRUE;
}

/* Encodes the taken sequence numbers as runs of consecutive numbers in one TAKE record. */
static void
_encode_takes(RelayFileTxn *ft)
{
  const RelayFileEntry *e = (const RelayFileEntry *)ft->taken->data;
  guint n = ft->taken->len, runs = 0;

  for (guint i = 0; i < n; i++)
    runs += (i == 0 || e[i].loc.seq != e[i - 1].loc.seq + 1);
  gsize size = RELAY_FILELOG_RECORD_HEADER + (gsize)runs * RELAY_FILELOG_TAKE_RUN;
  ft->record = g_malloc(size);
  guint8 *p = ft->record + RELAY_FILELOG_RECORD_HEADER;
  for (guint i = 0; i < n;)
    {
      guint k = 1;
      while (i + k < n && e[i + k].loc.seq == e[i].loc.seq + k)
        k++;
      p = relay_filelog_take_run_encode(p, e[i].loc.seq, k);
      i += k;
    }
  RelayFilelogRecord rec
      = { RELAY_FILELOG_TAKE, runs, (guint32)(size - RELAY_FILELOG_RECORD_HEADER), 0, 0, NULL };
  rec.payload_crc = relay_crc32c(0, ft->record + RELAY_FILELOG_RECORD_HEADER, rec.payload_len);
  relay_filelog_record_header_encode(ft->record, &rec);
  ft->req = (RelayFilelogRequest){ .data = ft->record, .len = size, .is_put = FALSE, .user_data = ft };
}

/* Caller holds lock. Whether a put commit of n events may go to the writer now. */
static RelayChannelResult
_admit_puts(RelayFileChannel *self, guint n)
{
  if (!self->running)
    return RELAY_CHANNEL_ERROR;
  if (self->refusing && g_get_monotonic_time() < self->puts_refused_until)
    {
      relay_log_ratelimited(&self->refuse_rl, RELAY_LOG_WARN, self->super.super.log_prefix,
                            "put refused: the last disk write failed, retrying shortly");
      return RELAY_CHANNEL_ERROR;
    }
  return self->held + n > (guint64)self->super.capacity ? RELAY_CHANNEL_FULL : RELAY_CHANNEL_OK;
}

/* Submits the transaction's request and waits for the writer. Returns the writer's errno. */
/* Caller holds lock (released on return). Submits req and waits for the writer; returns its errno. */
static int
_submit_and_wait(RelayFileChannel *self, RelayFilelogRequest *req)
{
  RelayFilelogWriter *writer = self->writer; /* stop() waits for committers before stopping it */

  self->committers++;
  relay_filelog_writer_submit(writer, req);
  relay_mutex_unlock(&self->lock);
  relay_filelog_writer_wait(writer, req);
  relay_mutex_lock(&self->lock);
  if (--self->committers == 0)
    relay_cond_broadcast(&self->idle);
  relay_mutex_unlock(&self->lock);
  return req->error;
}

static void
_free_record(RelayFileTxn *ft)
{
  g_clear_pointer(&ft->record, g_free);
  g_clear_pointer(&ft->put_slots, g_free);
}

static void
_release_puts(RelayFileTxn *ft)
{
  for (guint i = 0; ft->puts && i < ft->puts->len; i++)
    relay_event_unref(g_ptr_array_index(ft->puts, i)); /* NULL where the cache took the reference */
  if (ft->puts)
    g_ptr_array_set_size(ft->puts, 0);
  _free_record(ft);
}

static RelayChannelResult
_commit_puts(RelayFileChannel *self, RelayFileTxn *ft)
{
  RelayFilelogRecord rec;

  if (!_encode_puts(self, ft, &rec))
    {
      relay_warn(self->super.super.log_prefix,
                 "commit refused: transaction larger than maxFileSize events=%u", ft->puts->len);
      return RELAY_CHANNEL_ERROR;
    }
  relay_mutex_lock(&self->lock);
  RelayChannelResult result = _admit_puts(self, rec.count);
  if (result != RELAY_CHANNEL_OK)
    {
      relay_mutex_unlock(&self->lock);
      _free_record(ft);
      return result;
    }
  rec.first_seq = ft->first_seq = self->next_seq;
  self->next_seq += rec.count;
  self->held += rec.count;
  relay_filelog_record_header_encode(ft->record, &rec);
  if (_submit_and_wait(self, &ft->req) != 0)
    {
      _free_record(ft);
      return RELAY_CHANNEL_ERROR;
    }
  _release_puts(ft);
  return RELAY_CHANNEL_OK;
}

static void
_release_taken(RelayFileTxn *ft)
{
  for (guint i = 0; i < ft->taken->len; i++)
    relay_event_unref(g_array_index(ft->taken, RelayFileEntry, i).ev);
  g_array_set_size(ft->taken, 0);
  g_ptr_array_set_size(ft->read, 0); /* drops the references */
}

static RelayChannelResult
_commit_takes(RelayFileChannel *self, RelayFileTxn *ft)
{
  _encode_takes(ft);
  relay_mutex_lock(&self->lock);
  if (!self->running)
    {
      relay_mutex_unlock(&self->lock);
      _free_record(ft);
      return RELAY_CHANNEL_ERROR;
    }
  int err = _submit_and_wait(self, &ft->req);
  _free_record(ft);
  if (err)
    return RELAY_CHANNEL_ERROR;
  _release_taken(ft);
  return RELAY_CHANNEL_OK;
}

static RelayChannelResult
_file_commit(RelayTxn *txn)
{
  RelayFileChannel *self = RELAY_FILE_CHANNEL(txn->channel);
  RelayFileTxn *ft = FILE_TXN(txn);

  if (ft->puts && ft->puts->len)
    return _commit_puts(self, ft);
  if (ft->taken && ft->taken->len)
    return _commit_takes(self, ft);
  return RELAY_CHANNEL_OK;
}

/* Caller holds lock. */
static void
_unlist(RelayFileChannel *self, RelayFileTxn *ft)
{
  if (ft->listed)
    g_queue_unlink(&self->open_takes, &ft->link);
  ft->listed = FALSE;
}

static void
_file_rollback(RelayTxn *txn)
{
  RelayFileChannel *self = RELAY_FILE_CHANNEL(txn->channel);
  RelayFileTxn *ft = FILE_TXN(txn);
  guint n = ft->taken ? ft->taken->len : 0;

  _release_puts(ft);
  if (n == 0)
    return;
  relay_mutex_lock(&self->lock);
  _ring_push_head(self, (const RelayFileEntry *)ft->taken->data, n);
  _unlist(self, ft);
  relay_mutex_unlock(&self->lock);
  g_array_set_size(ft->taken, 0);    /* the cached references went back to the ring */
  g_ptr_array_set_size(ft->read, 0); /* drops the references */
  relay_channel_notify(txn->channel, RELAY_CHANNEL_NOTIFY_DATA);
}

static void
_file_free_txn(RelayTxn *txn)
{
  RelayFileTxn *ft = FILE_TXN(txn);

  if (ft->listed) /* not expected: close rolls back first */
    {
      RelayFileChannel *self = RELAY_FILE_CHANNEL(txn->channel);
      relay_mutex_lock(&self->lock);
      _unlist(self, ft);
      relay_mutex_unlock(&self->lock);
    }
  _release_puts(ft);
  if (ft->puts)
    g_ptr_array_free(ft->puts, TRUE);
  if (ft->taken)
    {
      _release_taken(ft);
      g_array_free(ft->taken, TRUE);
      g_ptr_array_free(ft->read, TRUE);
    }
  g_free(ft);
}

static guint64
_file_size(RelayChannel *channel)
{
  RelayFileChannel *self = RELAY_FILE_CHANNEL(channel);

  relay_mutex_lock(&self->lock);
  guint64 count = self->count;
  relay_mutex_unlock(&self->lock);
  return count;
}

/* ---- applying durable records (writer thread, under lock) ---- */

static gboolean
_apply_put(RelayFileChannel *self, RelayFileTxn *ft, const RelayFilelogRequest *req)
{
  guint n = ft->puts->len;

  if (req->error)
    {
      self->held -= n;
      relay_counter_add_shared(&self->super.counters.put_errors, n);
      if (req->error != EFBIG)
        {
          relay_counter_set(&self->super.counters.unhealthy, 1);
          self->refusing = TRUE;
          self->puts_refused_until = g_get_monotonic_time() + RELAY_FILE_REFUSE_US;
        }
      return FALSE;
    }
  if (self->refusing)
    relay_info(self->super.super.log_prefix, "disk writes succeed again, puts accepted");
  self->refusing = FALSE;
  relay_counter_set(&self->super.counters.unhealthy, 0);
  for (guint i = 0; i < n; i++)
    {
      RelayEvent *ev = g_ptr_array_index(ft->puts, i);
      RelayFileEntry e
          = { { ft->first_seq + i, req->seg, req->off + RELAY_FILELOG_RECORD_HEADER + ft->put_slots[2 * i],
                ft->put_slots[2 * i + 1] },
              NULL };
      if (self->cache_bytes + ev->alloc_size <= (guint64)self->cache_bytes_max)
        {
          e.ev = ev;
          self->cache_bytes += ev->alloc_size;
          ft->puts->pdata[i] = NULL;
        }
      _ring_push_tail(self, &e);
    }
  RelayFileSegment *seg = relay_file_channel_segment(self, req->seg);
  if (seg)
    seg->live += n;
  return TRUE;
}

static gboolean
_apply_take(RelayFileChannel *self, RelayFileTxn *ft, const RelayFilelogRequest *req)
{
  if (req->error)
    return FALSE;
  for (guint i = 0; i < ft->taken->len; i++)
    {
      const RelayFileEntry *e = &g_array_index(ft->taken, RelayFileEntry, i);
      RelayFileSegment *seg = relay_file_channel_segment(self, e->loc.seg);
      if (seg)
        seg->live--;
      if (e->ev)
        self->cache_bytes -= e->ev->alloc_size;
    }
  self->held -= ft->taken->len;
  _unlist(self, ft);
  return TRUE;
}

/* Runs in: the writer thread, after the group is durable (or failed), in log order. */
static void
_apply(RelayFilelogRequest *const *requests, guint n, guint64 end_seg, guint64 end_off, gpointer data)
{
  RelayFileChannel *self = data;
  gboolean added = FALSE, freed = FALSE;

  relay_mutex_lock(&self->lock);
  for (guint i = 0; i < n; i++)
    {
      const RelayFilelogRequest *req = requests[i];
      if (!req->data)
        continue; /* a sync barrier */
      if (req->is_put)
        added |= _apply_put(self, req->user_data, req);
      else
        freed |= _apply_take(self, req->user_data, req);
    }
  self->applied_seg = end_seg;
  self->applied_off = end_off;
  self->changes += (added || freed);
  relay_mutex_unlock(&self->lock);
  if (added)
    relay_channel_notify(&self->super, RELAY_CHANNEL_NOTIFY_DATA);
  if (freed)
    relay_channel_notify(&self->super, RELAY_CHANNEL_NOTIFY_SPACE);
}

/* ---- checkpoints (checkpoint thread, or stop()) ---- */

static gint
_compare_seq(gconstpointer a, gconstpointer b)
{
  guint64 x = ((const RelayFilelogLocation *)a)->seq, y = ((const RelayFilelogLocation *)b)->seq;
  return x < y ? -1 : x > y;
}

/* Caller holds lock. The queue and the entries of open take transactions, at the applied position. */
static void
_snapshot(RelayFileChannel *self, RelayFilelogCheckpoint *cp)
{
  cp->entries
      = g_array_sized_new(FALSE, FALSE, sizeof(RelayFilelogLocation), (guint)MIN(self->held, G_MAXUINT));
  for (guint64 i = 0; i < self->count; i++)
    g_array_append_val(cp->entries, self->ring[(self->head + i) % self->ring_size].loc);
  for (GList *l = self->open_takes.head; l; l = l->next)
    {
      RelayFileTxn *ft = l->data;
      for (guint i = 0; i < ft->taken->len; i++)
        g_array_append_val(cp->entries, g_array_index(ft->taken, RelayFileEntry, i).loc);
    }
  cp->next_seq = self->next_seq;
  cp->log_seg = self->applied_seg;
  cp->log_off = self->applied_off;
}

/* Deletes the oldest segments while they precede `below` and hold no event of the channel. */
static void
_delete_segments(RelayFileChannel *self, guint64 below)
{
  GArray *gone = g_array_new(FALSE, FALSE, sizeof(RelayFileSegment));

  relay_mutex_lock(&self->lock);
  while (self->segments->len > 1)
    {
      RelayFileSegment *seg = &g_array_index(self->segments, RelayFileSegment, 0);
      if (seg->id >= below || seg->live > 0)
        break;
      g_array_append_val(gone, *seg);
      g_array_remove_index(self->segments, 0);
    }
  relay_mutex_unlock(&self->lock);
  for (guint i = 0; i < gone->len; i++)
    {
      RelayFileSegment *seg = &g_array_index(gone, RelayFileSegment, i);
      char *dir = g_path_get_dirname(seg->path);
      if (seg->read_fd >= 0)
        close(seg->read_fd);
      if (unlink(seg->path) < 0)
        relay_warn(self->super.super.log_prefix, "cannot delete segment=%s: %s", seg->path,
                   g_strerror(errno));
      relay_filelog_sync_dir(dir, NULL);
      relay_debug(self->super.super.log_prefix, "deleted segment=%s", seg->path);
      g_free(dir);
      g_free(seg->path);
    }
  g_array_free(gone, TRUE);
}

/* Makes sure every record before the snapshot's position is durable (fsyncPerTransaction=false). */
static gboolean
_sync_writer(RelayFileChannel *self)
{
  RelayFilelogRequest barrier = { .data = NULL };

  relay_mutex_lock(&self->lock);
  if (!self->writer)
    {
      relay_mutex_unlock(&self->lock);
      return TRUE; /* stopped: the writer synced when it sealed its segment */
    }
  return _submit_and_wait(self, &barrier) == 0;
}

static gboolean
_write_checkpoints(RelayFileChannel *self, const RelayFilelogCheckpoint *cp)
{
  GError *error = NULL;

  if (!relay_filelog_checkpoint_write(self->checkpoint_dir, cp, &error))
    relay_counter_add_shared(&self->super.counters.checkpoint_write_errors, 1);
  else if (self->backup_dir && !relay_filelog_checkpoint_write(self->backup_dir, cp, &error))
    relay_counter_add_shared(&self->super.counters.checkpoint_backup_write_errors, 1);
  else
    return TRUE;
  relay_error(self->super.super.log_prefix, "checkpoint failed: %s", error->message);
  g_error_free(error);
  return FALSE;
}

static void
_checkpoint(RelayFileChannel *self)
{
  RelayFilelogCheckpoint cp;
  gint64 started = g_get_monotonic_time();

  relay_mutex_lock(&self->lock);
  guint64 changes = self->changes;
  if (changes == self->checkpointed_changes)
    {
      relay_mutex_unlock(&self->lock);
      return;
    }
  _snapshot(self, &cp);
  relay_mutex_unlock(&self->lock);
  g_array_sort(cp.entries, _compare_seq);
  if (_sync_writer(self) && _write_checkpoints(self, &cp))
    {
      self->checkpointed_changes = changes;
      relay_debug(self->super.super.log_prefix, "checkpoint written events=%u ms=%" G_GINT64_FORMAT,
                  cp.entries->len, (g_get_monotonic_time() - started) / 1000);
      _delete_segments(self, cp.log_seg);
    }
  relay_filelog_checkpoint_clear(&cp);
}

/* Runs in: the checkpoint thread. */
static gpointer
_checkpoint_main(gpointer data)
{
  RelayFileChannel *self = data;

  relay_mutex_lock(&self->cp_lock);
  while (!self->cp_stop)
    {
      gint64 deadline = g_get_monotonic_time() + self->checkpoint_interval_ms * 1000;
      while (!self->cp_stop && relay_cond_wait_until(&self->cp_cond, &self->cp_lock, deadline))
        ;
      if (self->cp_stop)
        break;
      relay_mutex_unlock(&self->cp_lock);
      _checkpoint(self);
      relay_mutex_lock(&self->cp_lock);
    }
  relay_mutex_unlock(&self->cp_lock);
  return NULL;
}

/* ---- configuration ---- */

/* "~" and "~/x" as Flume's defaults use them, made absolute and canonical so that duplicates are found. */
static char *
_resolve_dir(const char *path)
{
  char *expanded = NULL;

  if (g_strcmp0(path, "~") == 0 || g_str_has_prefix(path, "~/"))
    expanded = g_build_filename(g_get_home_dir(), path + 1, NULL);
  char *canonical = g_canonicalize_filename(expanded ? expanded : path, NULL);
  g_free(expanded);
  return canonical;
}

/* A directory the channel can use: it exists and is writable, or its nearest existing parent is. */
static gboolean
_dir_usable(const char *dir, const char **why)
{
  char *path = g_strdup(dir);

  while (!g_file_test(path, G_FILE_TEST_EXISTS))
    {
      char *parent = g_path_get_dirname(path);
      g_free(path);
      path = parent;
    }
  gboolean ok = g_file_test(path, G_FILE_TEST_IS_DIR);
  *why = "not a directory";
  if (ok && access(path, W_OK | X_OK) < 0)
    {
      *why = g_strerror(errno);
      ok = FALSE;
    }
  g_free(path);
  return ok;
}

/* Adds "<message>; channel X removed" to the report (takes ownership of message) and returns FALSE. */
static gboolean
_report(const RelayComponentConfig *cc, RelayConfigReport *report, const char *key, char *message)
{
  const RelayProp *where = key ? relay_component_config_get(cc, key) : NULL;

  relay_config_report_add(report, where ? where : relay_component_config_where(cc), cc->label, key,
                          "%s; channel %s removed", message, cc->name);
  g_free(message);
  return FALSE;
}

static gboolean
_check_usable(const RelayComponentConfig *cc, RelayConfigReport *report, const char *key, const char *dir)
{
  const char *why;
  return _dir_usable(dir, &why)
         || _report(cc, report, key, g_strdup_printf("%s cannot be used: %s", dir, why));
}

static gboolean
_resolve_dirs(RelayFileChannel *self, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  char **parts = g_strsplit(self->data_dirs_opt, ",", -1);
  GPtrArray *dirs = g_ptr_array_new();

  for (guint i = 0; parts[i]; i++)
    {
      char *trimmed = g_strstrip(parts[i]);
      if (*trimmed)
        g_ptr_array_add(dirs, _resolve_dir(trimmed));
    }
  g_ptr_array_add(dirs, NULL);
  g_strfreev(parts);
  self->data_dirs = (char **)g_ptr_array_free(dirs, FALSE);
  self->checkpoint_dir = _resolve_dir(self->checkpoint_dir_opt);
  if (self->use_dual_checkpoints && self->backup_dir_opt && *self->backup_dir_opt)
    self->backup_dir = _resolve_dir(self->backup_dir_opt);
  if (!self->data_dirs[0])
    return _report(cc, report, "dataDirs", g_strdup("no data directory"));
  if (self->use_dual_checkpoints && !self->backup_dir)
    return _report(cc, report, "backupCheckpointDir",
                   g_strdup("useDualCheckpoints needs backupCheckpointDir"));
  return TRUE;
}

/* The problem with a directory that holds files relayd did not write (or cannot be read), or NULL. relayd
 * never changes or removes such files: see filelog_foreign.c. */
static char *
_foreign_problem(const char *dir, const char *key, gboolean checkpoint_dir)
{
  GError *error = NULL;
  gboolean flume = FALSE;
  char *found = relay_filelog_foreign_files(dir, checkpoint_dir, &flume, &error);
  char *message = NULL;

  if (error)
    message = g_strdup_printf("%s cannot be read: %s", dir, error->message);
  else if (found && flume)
    message = g_strdup_printf(
        "%s holds files relayd did not write: %s. They look like an Apache Flume file channel's: drain "
        "that channel with Flume first (stop Flume's sources and let its sinks empty it), then move its "
        "files away, or point %s at a directory of its own. relayd never changes or removes files it did "
        "not write",
        dir, found, key);
  else if (found)
    message = g_strdup_printf("%s holds files relayd did not write: %s. Move them away or point %s at a "
                              "directory of its own. relayd never changes or removes files it did not write",
                              dir, found, key);
  g_clear_error(&error);
  g_free(found);
  return message;
}

/* Calls fn for every directory of the channel (checkpoint, backup, data) with its key and whether it holds
 * checkpoints; stops at the first FALSE. */
typedef gboolean (*RelayFileDirFn)(const char *dir, const char *key, gboolean checkpoint_dir, gpointer data);

static gboolean
_each_dir(RelayFileChannel *self, RelayFileDirFn fn, gpointer data)
{
  gboolean ok = fn(self->checkpoint_dir, "checkpointDir", TRUE, data);
  if (self->backup_dir)
    ok = fn(self->backup_dir, "backupCheckpointDir", TRUE, data) && ok;
  for (guint i = 0; self->data_dirs[i]; i++)
    ok = fn(self->data_dirs[i], "dataDirs", FALSE, data) && ok;
  return ok;
}

typedef struct
{
  const RelayComponentConfig *cc;
  RelayConfigReport *report;
} RelayFileReportCtx;

static gboolean
_report_foreign(const char *dir, const char *key, gboolean checkpoint_dir, gpointer data)
{
  RelayFileReportCtx *ctx = data;
  char *message = _foreign_problem(dir, key, checkpoint_dir);
  return !message || _report(ctx->cc, ctx->report, key, message);
}

/* At start (the directories may have changed since configure): the first problem as an error. */
static gboolean
_refuse_foreign(const char *dir, const char *key, gboolean checkpoint_dir, gpointer data)
{
  GError **error = data;
  char *message = *error ? NULL : _foreign_problem(dir, key, checkpoint_dir);

  if (message)
    g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "%s: %s", key, message);
  g_free(message);
  return *error == NULL;
}

/* Every directory at most once: checkpoint, backup and data directories are all locked separately. */
static gboolean
_check_distinct(RelayFileChannel *self, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
  gboolean ok = TRUE;

  g_hash_table_add(seen, self->checkpoint_dir);
  if (self->backup_dir && !g_hash_table_add(seen, self->backup_dir))
    ok = _report(cc, report, "backupCheckpointDir",
                 g_strdup_printf("%s is also the checkpoint directory", self->backup_dir));
  for (guint i = 0; ok && self->data_dirs[i]; i++)
    if (!g_hash_table_add(seen, self->data_dirs[i]))
      ok = _report(
          cc, report, "dataDirs",
          g_strdup_printf("%s is listed twice or is also a checkpoint directory", self->data_dirs[i]));
  g_hash_table_destroy(seen);
  return ok;
}

/* Whether dir is one of the channel's directories (checkpoint, backup or data). */
static gboolean
_uses_dir(const RelayFileChannel *channel, const char *dir)
{
  if (g_strcmp0(channel->checkpoint_dir, dir) == 0 || g_strcmp0(channel->backup_dir, dir) == 0)
    return TRUE;
  for (guint i = 0; channel->data_dirs && channel->data_dirs[i]; i++)
    if (strcmp(channel->data_dirs[i], dir) == 0)
      return TRUE;
  return FALSE;
}

/* Reports each of self's directories that `other` (a file channel of the same agent) also uses. */
static gboolean
_check_not_shared_with(RelayFileChannel *self, const RelayFileChannel *other, const RelayComponentConfig *cc,
                       RelayConfigReport *report)
{
  const char *name = other->super.super.name;
  gboolean ok = TRUE;

  if (_uses_dir(other, self->checkpoint_dir))
    ok = _report(cc, report, "checkpointDir",
                 g_strdup_printf("%s is also used by channel %s", self->checkpoint_dir, name));
  if (self->backup_dir && _uses_dir(other, self->backup_dir))
    ok = _report(cc, report, "backupCheckpointDir",
                 g_strdup_printf("%s is also used by channel %s", self->backup_dir, name));
  for (guint i = 0; self->data_dirs[i]; i++)
    if (_uses_dir(other, self->data_dirs[i]))
      ok = _report(cc, report, "dataDirs",
                   g_strdup_printf("%s is also used by channel %s", self->data_dirs[i], name));
  return ok;
}

extern const RelayComponentClass relay_channel_file_class; /* defined at the end of this file */

/* Two file channels of one agent must not share a directory (the second would fail to lock it at start).
 * The file channels configured before this one are in the agent already; the <agent>.channels list that
 * declared this channel names them. */
static gboolean
_check_not_shared(RelayFileChannel *self, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  RelayAgent *agent = self->super.super.agent;
  gboolean ok = TRUE;

  if (!agent || !cc->decl)
    return TRUE;
  char **names = relay_config_split_list(cc->decl->value);
  for (guint i = 0; names && names[i]; i++)
    {
      RelayComponent *other
          = strcmp(names[i], cc->name) ? relay_agent_find(agent, RELAY_KIND_CHANNEL, names[i]) : NULL;
      if (other && other->klass == &relay_channel_file_class)
        ok = _check_not_shared_with(self, RELAY_FILE_CHANNEL(other), cc, report) && ok;
    }
  g_strfreev(names);
  return ok;
}

/* Reports every problem it finds (not only the first), so --check lists them all. */
static gboolean
_file_configure(RelayComponent *component, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  RelayFileChannel *self = RELAY_FILE_CHANNEL(component);
  GPtrArray *encryption = relay_component_config_keys(cc, "encryption.");
  gboolean ok = TRUE;

  self->super.durable = TRUE;
  self->super.survives_crash = TRUE;
  if (encryption->len)
    ok = _report(cc, report, NULL,
                 g_strdup("encryption.* is not supported (events would be stored unencrypted)"));
  g_ptr_array_unref(encryption);
  if (self->super.transaction_capacity > self->super.capacity)
    ok = _report(cc, report, "transactionCapacity",
                 g_strdup_printf("transactionCapacity %" G_GINT64_FORMAT
                                 " is higher than capacity %" G_GINT64_FORMAT,
                                 self->super.transaction_capacity, self->super.capacity));
  if (!_resolve_dirs(self, cc, report))
    return FALSE;
  ok = _check_distinct(self, cc, report) && ok;
  ok = _check_not_shared(self, cc, report) && ok;
  ok = _check_usable(cc, report, "checkpointDir", self->checkpoint_dir) && ok;
  if (self->backup_dir)
    ok = _check_usable(cc, report, "backupCheckpointDir", self->backup_dir) && ok;
  for (guint i = 0; self->data_dirs[i]; i++)
    ok = _check_usable(cc, report, "dataDirs", self->data_dirs[i]) && ok;
  RelayFileReportCtx ctx = { cc, report };
  ok = ok && _each_dir(self, _report_foreign, &ctx);
  self->min_required_space = MAX(self->min_required_space, RELAY_FILE_MIN_FREE_FLOOR);
  return ok;
}

static gboolean
_file_knows_key(const char *key)
{
  return g_str_has_prefix(key, "encryption.");
}

/* ---- lifecycle ---- */

static gboolean
_lock_dirs(RelayFileChannel *self, GError **error)
{
  const char *fixed[] = { self->checkpoint_dir, self->backup_dir };

  for (guint i = 0; i < G_N_ELEMENTS(fixed) + g_strv_length(self->data_dirs); i++)
    {
      const char *dir = i < G_N_ELEMENTS(fixed) ? fixed[i] : self->data_dirs[i - G_N_ELEMENTS(fixed)];
      if (!dir)
        continue;
      int fd = relay_filelog_lock_dir(dir, error);
      if (fd < 0)
        return FALSE;
      g_array_append_val(self->lock_fds, fd);
    }
  return TRUE;
}

static void
_unlock_dirs(RelayFileChannel *self)
{
  for (guint i = 0; i < self->lock_fds->len; i++)
    relay_filelog_unlock_dir(g_array_index(self->lock_fds, int, i));
  g_array_set_size(self->lock_fds, 0);
}

/* Drops the in-memory state (before a start, and at free). */
static void
_reset_state(RelayFileChannel *self)
{
  for (guint64 i = 0; i < self->count; i++)
    relay_event_unref(self->ring[(self->head + i) % self->ring_size].ev);
  g_clear_pointer(&self->ring, g_free);
  self->ring_size = self->head = self->count = self->held = self->cache_bytes = 0;
  for (guint i = 0; self->segments && i < self->segments->len; i++)
    {
      RelayFileSegment *seg = &g_array_index(self->segments, RelayFileSegment, i);
      if (seg->read_fd >= 0)
        close(seg->read_fd);
      g_free(seg->path);
    }
  if (self->segments)
    g_array_set_size(self->segments, 0);
}

static gboolean
_start_writer(RelayFileChannel *self, guint64 first_segment, GError **error)
{
  RelayFilelogWriterConfig config = {
    .dirs = self->data_dirs,
    .first_id = first_segment,
    .max_file_size = (guint64)self->max_file_size,
    .min_free = (guint64)self->min_required_space,
    .fsync_per_txn = self->fsync_per_txn,
    .fsync_interval_ms = (guint)self->fsync_interval_s * 1000,
    .apply = _apply,
    .opened = _on_segment_opened,
    .user_data = self,
    .log_prefix = self->super.super.log_prefix,
  };

  self->applied_seg = first_segment;
  self->applied_off = RELAY_FILELOG_SEGMENT_HEADER;
  self->writer = relay_filelog_writer_start(&config, error);
  return self->writer != NULL;
}

static gboolean
_file_start(RelayComponent *component, GError **error)
{
  RelayFileChannel *self = RELAY_FILE_CHANNEL(component);
  guint64 first_segment = 1;
  GError *foreign = NULL;

  _reset_state(self);
  if (!self->segments)
    self->segments = g_array_new(FALSE, FALSE, sizeof(RelayFileSegment));
  if (!self->lock_fds)
    self->lock_fds = g_array_new(FALSE, FALSE, sizeof(int));
  if (!_each_dir(self, _refuse_foreign, &foreign))
    {
      g_propagate_error(error, foreign);
      return FALSE;
    }
  if (!_lock_dirs(self, error) || !relay_file_channel_recover(self, &first_segment, error)
      || !_start_writer(self, first_segment, error))
    {
      _reset_state(self);
      _unlock_dirs(self);
      return FALSE;
    }
  relay_mutex_lock(&self->lock);
  self->running = TRUE;
  self->changes = self->checkpointed_changes + 1; /* checkpoint the recovered state once */
  relay_mutex_unlock(&self->lock);
  self->cp_stop = FALSE;
  self->checkpointer = relay_thread_new("file-checkpoint", _checkpoint_main, self);
  return TRUE;
}

static void
_stop_checkpointer(RelayFileChannel *self)
{
  if (!self->checkpointer)
    return;
  relay_mutex_lock(&self->cp_lock);
  self->cp_stop = TRUE;
  relay_cond_signal(&self->cp_cond);
  relay_mutex_unlock(&self->cp_lock);
  g_thread_join(self->checkpointer);
  self->checkpointer = NULL;
}

static void
_file_stop(RelayComponent *component)
{
  RelayFileChannel *self = RELAY_FILE_CHANNEL(component);

  _stop_checkpointer(self);
  relay_mutex_lock(&self->lock);
  self->running = FALSE;
  while (self->committers > 0)
    relay_cond_wait(&self->idle, &self->lock);
  RelayFilelogWriter *writer = self->writer;
  self->writer = NULL;
  relay_mutex_unlock(&self->lock);
  relay_filelog_writer_stop(writer);
  if (self->checkpoint_on_close)
    _checkpoint(self);
  _unlock_dirs(self);
}

static void
_file_free(RelayComponent *component)
{
  RelayFileChannel *self = RELAY_FILE_CHANNEL(component);

  _reset_state(self);
  if (self->segments)
    g_array_free(self->segments, TRUE);
  if (self->lock_fds)
    g_array_free(self->lock_fds, TRUE);
  g_strfreev(self->data_dirs);
  g_free(self->checkpoint_dir);
  g_free(self->backup_dir);
  relay_mutex_clear(&self->lock);
  relay_cond_clear(&self->idle);
  relay_mutex_clear(&self->cp_lock);
  relay_cond_clear(&self->cp_cond);
}

static const RelayChannelOps _file_ops = {
  .begin = _file_begin,
  .put = _file_put,
  .take = _file_take,
  .commit = _file_commit,
  .rollback = _file_rollback,
  .free_txn = _file_free_txn,
  .size = _file_size,
};

#define F RelayFileChannel
static const RelayOption _file_options[] = {
  RELAY_OPT_STRING_ROW("checkpointDir", "~/.flume/file-channel/checkpoint", F, checkpoint_dir_opt, 0,
                       "directory of the checkpoint (locked: one channel per directory)"),
  RELAY_OPT_STRING_ROW("dataDirs", "~/.flume/file-channel/data", F, data_dirs_opt, 0,
                       "comma-separated directories of the log segments"),
  RELAY_OPT_BOOL_ROW("useDualCheckpoints", "false", F, use_dual_checkpoints, 0,
                     "also write every checkpoint to backupCheckpointDir"),
  RELAY_OPT_STRING_ROW("backupCheckpointDir", NULL, F, backup_dir_opt, 0,
                       "second checkpoint directory (required with useDualCheckpoints)"),
  RELAY_OPT_INT_ROW("capacity", "1000000", 1, G_MAXINT32, F, super.capacity, RELAY_OPTF_LENIENT,
                    "maximum number of events in the channel"),
  RELAY_OPT_INT_ROW("transactionCapacity", "10000", 1, G_MAXINT32, F, super.transaction_capacity,
                    RELAY_OPTF_LENIENT, "maximum events put or taken in one transaction (<= capacity)"),
  RELAY_OPT_INT_ROW("checkpointInterval", "30000", 1000, G_MAXINT32, F, checkpoint_interval_ms,
                    RELAY_OPTF_LENIENT, "milliseconds between checkpoints"),
  RELAY_OPT_INT_ROW("maxFileSize", "2146435071", 65536, RELAY_FILELOG_MAX_SEGMENT, F, max_file_size,
                    RELAY_OPTF_LENIENT, "maximum bytes of one segment file"),
  RELAY_OPT_INT_ROW("minimumRequiredSpace", "524288000", 0, G_MAXINT64, F, min_required_space,
                    RELAY_OPTF_LENIENT, "free bytes below which puts are refused (at least 1 MiB)"),
  RELAY_OPT_INT_ROW("keep-alive", "3", 0, 86400, F, super.keep_alive_s, RELAY_OPTF_LENIENT,
                    "seconds a source waits for room before answering FAILED"),
  RELAY_OPT_BOOL_ROW("fsyncPerTransaction", "true", F, fsync_per_txn, 0,
                     "a commit returns only after its record is on disk (false: synced every fsyncInterval)"),
  RELAY_OPT_INT_ROW("fsyncInterval", "5", 1, 86400, F, fsync_interval_s, RELAY_OPTF_LENIENT,
                    "seconds between syncs when fsyncPerTransaction is false"),
  RELAY_OPT_BOOL_ROW("checkpointOnClose", "true", F, checkpoint_on_close, 0,
                     "write a checkpoint when stopping"),
  RELAY_OPT_INT_ROW("eventCacheBytes", "67108864", 0, G_MAXINT64, F, cache_bytes_max, RELAY_OPTF_LENIENT,
                    "relayd: bytes of events kept in memory; the rest is read back from disk when taken"),
  RELAY_OPT_BOOL_ROW("compressBackupCheckpoint", "false", F, ignored_flag, RELAY_OPTF_IGNORED,
                     "ignored: relayd's checkpoints are compact"),
  RELAY_OPT_BOOL_ROW("use-log-replay-v1", "false", F, ignored_flag, RELAY_OPTF_IGNORED,
                     "ignored: relayd has one replay"),
  RELAY_OPT_BOOL_ROW("use-fast-replay", "false", F, ignored_flag, RELAY_OPTF_IGNORED,
                     "ignored: relayd's replay is always fast"),
  RELAY_OPTION_END,
};
#undef F

const RelayComponentClass relay_channel_file_class = {
  .kind = RELAY_KIND_CHANNEL,
  .type = "file",
  .flume_class = "org.apache.flume.channel.file.FileChannel",
  .description = "durable channel: events in fsync'ed log segments, survives crashes and restarts",
  .options = _file_options,
  .instance_size = sizeof(RelayFileChannel),
  .configure = _file_configure,
  .knows_key = _file_knows_key,
  .start = _file_start,
  .stop = _file_stop,
  .free = _file_free,
  .ops = &_file_ops,
};
