/* source_taildir.c - Flume's TAILDIR source: follows the files of directory/regex groups line by line and
 * records committed offsets in Flume's JSON position file.
 *
 * Behaviour as flume-ng-sources/flume-taildir-source/.../TaildirSource.java and
 * ReliableTaildirEventReader.java: one event per line (ending at '\n'; one '\r' right before it is removed),
 * raw bytes, headers from headers.<g>.<key>, fileHeaderKey (absolute path) and "byteoffset"; batches of up to
 * batchSize lines from one file go to the channel processor in one transaction and at most maxBatchCount
 * batches are taken from a file before the next file gets its turn; skipToEnd starts the files of the first
 * listing that have no position at their end; files that appear later start at 0; a file that shrinks
 * below its position (copytruncate) restarts at 0; a last line without '\n' waits for its newline and is
 * emitted when the file has been idle for idleTimeout ms (then the descriptor is closed). The position
 * file is written every writePosInterval ms (when something changed) and at stop, and holds only offsets
 * whose lines every required channel has committed.
 *
 * Differences from Flume, on purpose:
 *  - New data is noticed through inotify on the group directories (within milliseconds); a listing and a
 *    size check of every tracked file also runs every maxBackoffSleep ms as a safety net. Where inotify is
 *    unavailable, exhausted or overflows, the source polls instead: every backoffSleepIncrement ms more
 *    after each poll that found nothing, up to maxBackoffSleep, and again after 100 ms after one that found
 *    data.
 *  - Files are followed by inode: a file renamed to another matching name keeps its offset (Flume re-reads
 *    it from 0), and a file renamed out of the pattern or deleted while open is read to its end.
 *  - The position file also lists files renamed out of the pattern that still have lines to read (under
 *    their current name), and an entry applies when its inode is found in the same directory, even under
 *    another name; so lines written just before a rotation are not lost across a restart. An entry is kept
 *    (and written back) until its inode is found or a complete listing of its directory shows it gone.
 *  - readdir may miss a file renamed while the directory is read, under both names: a listing proves that a
 *    file is gone (a closed file is forgotten, an entry dropped) only when the directory's mtime and ctime
 *    did not change while it ran; otherwise the directory is listed again RELAY_TAILDIR_RELIST_MS later.
 *    Flume forgets such a file and reads it again from 0 when a later listing finds it.
 *  - The position file is replaced atomically (write, fsync, rename, fsync the directory), by a thread of
 *    its own (taildir_saver.c): the fsyncs never stall the event loop.
 *  - What a crash makes the source read again is bounded, whatever writePosInterval and the read rate (a
 *    source catching up with a backlog reads far faster than files are written): when a channel keeps its
 *    events through a crash (file or Kafka channel), the position file is also written once
 *    RELAY_TAILDIR_UNSAVED_BATCHES / 2 batches (of batchSize lines) are committed since the last write and
 *    when a backlog (at start, after a loop run that left lines to read, after a full channel) has been read
 *    to its end; and reading waits while RELAY_TAILDIR_UNSAVED_BATCHES batches are committed but not in the
 *    file yet. So a kill repeats at most that many batches plus the one being committed. Flume only has
 *    writePosInterval (3 s of reading). With a memory channel a crash loses what the channel held anyway, and
 *    writing more often would turn lines read again into lines lost: there writePosInterval alone applies, as
 *    in Flume.
 *  - A channel that stays full: the channel processor waits for room up to the channel's keep-alive, then
 *    the same lines are read again after 1 s doubling to 5 s (Flume's numbers); nothing else is read
 *    meanwhile, so memory holds one batch at most.
 *  - A line longer than 16 MiB is cut into 16 MiB events (Flume has no limit).
 *
 * Threads: everything runs on the main loop. Reading happens in the `work` callback, at most
 * RELAY_TAILDIR_WORK_BATCHES batches or RELAY_TAILDIR_WORK_BYTES bytes per run before it runs again after
 * the loop's next poll; whether the position file is due is checked after each commit too (timers run late
 * while a backlog keeps the loop busy). The position file is written on the saver's thread.
 */
#include "relay.h"

#include "channel.h"
#include "channel_processor.h"
#include "counters.h"
#include "event.h"
#include "log.h"
#include "source.h"
#include "source_claims.h"
#include "source_retry.h"
#include "taildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define RELAY_TAILDIR_BUF_INITIAL (256 * 1024)
#define RELAY_TAILDIR_BUF_MAX (16 * 1024 * 1024)
#define RELAY_TAILDIR_WORK_BATCHES 64
#define RELAY_TAILDIR_WORK_BYTES (8 * 1024 * 1024)
#define RELAY_TAILDIR_RETRY_MIN_MS 1000
#define RELAY_TAILDIR_RETRY_MAX_MS 5000
#define RELAY_TAILDIR_POLL_AFTER_DATA_MS 100
#define RELAY_TAILDIR_IDLE_CHECK_MAX_MS 5000
#define RELAY_TAILDIR_INOTIFY_READ (64 * 1024)
#define RELAY_TAILDIR_OPEN_FILES_WANTED 65536
#define RELAY_TAILDIR_LIST_TRIES 3
#define RELAY_TAILDIR_RELIST_MS 100
#define RELAY_TAILDIR_LIST_GAP_MS 10
#define RELAY_TAILDIR_LIST_GAP_FACTOR 4
/* Lines committed but not in the position file yet, in batches of batchSize: a write starts at half of it,
 * reading waits at all of it (what a crash can make the source read again). */
#define RELAY_TAILDIR_UNSAVED_BATCHES 8

typedef struct
{
  RelaySource super;
  char *filegroups;
  char *position_file;
  gint64 batch_size;
  gint64 max_batch_count;
  gboolean skip_to_end;
  gint64 idle_timeout;
  gint64 write_pos_interval;
  gboolean byte_offset_header;
  gboolean cache_pattern_matching;
  gboolean file_header;
  char *file_header_key;
  gint64 backoff_increment;
  gint64 backoff_max;

  GPtrArray *groups;     /* RelayTailGroup* (owned) */
  char *position_canon;  /* the position file's absolute path, key of the sharing check */
  GHashTable *files;     /* RelayTailKey* (inside the file) -> RelayTailFile* (owned) */
  GHashTable *by_path;   /* path (the file's own string) -> RelayTailFile*, matched files only */
  GQueue ready;          /* files that may have something to read */
  GHashTable *positions; /* inode -> RelayTaildirPos* of the position file not applied yet (NULL: none) */
  GArray *position_entries;
  guint gen;
  gboolean positions_dirty;
  gint64 positions_written_ms; /* monotonic ms when the last position-file write started */
  RelayTaildirSaver *saver;    /* writes the position file off the loop */
  gint64 unsaved_lines;        /* committed and in no position file written or being written */
  gint64 saving_lines;         /* committed lines that the write in flight records */
  gboolean catching_up;        /* reading a backlog (start, a full loop run, a full channel) */
  gboolean bounded;            /* a channel survives crashes: what a crash repeats is bounded */
  gboolean save_failing;       /* the last position write failed: writePosInterval alone applies */

  guint8 *buf; /* read window: buf_len bytes of buf_file from buf_off */
  gsize buf_cap, buf_len;
  gint64 buf_off;
  RelayTailFile *buf_file;
  RelayHeader *hdr; /* scratch headers for one event */

  int inotify_fd;
  gboolean polling; /* inotify unusable: poll with backoff */
  gint64 poll_delay_ms;
  struct event *inotify_ev, *work, *poll, *pos_timer, *idle_timer, *relist;
  RelayRetry retry; /* the same lines read again after a failed put */

  RelayPutRequest *pending; /* the batch in flight */
  RelayTailFile *pending_file;
  gint64 pending_end;
  guint pending_events;
  gboolean pending_eof;
  gboolean submitting;
  RelayRateLimit rl_read, rl_pos, rl_gone;
} RelayTaildirSource;

static const RelayOption _taildir_options[] = {
  RELAY_OPT_STRING_ROW("filegroups", NULL, RelayTaildirSource, filegroups, RELAY_OPTF_REQUIRED,
                       "space-separated file group names; filegroups.<g> = <directory>/<file-name regex>"),
  RELAY_OPT_STRING_ROW("positionFile", NULL, RelayTaildirSource, position_file, 0,
                       "JSON file of committed offsets (default ~/.flume/taildir_position.json)"),
  RELAY_OPT_INT_ROW("batchSize", "100", 1, G_MAXINT32, RelayTaildirSource, batch_size, RELAY_OPTF_BATCH_SIZE,
                    "lines per transaction"),
  RELAY_OPT_INT_ROW("maxBatchCount", "9223372036854775807", 1, G_MAXINT64, RelayTaildirSource,
                    max_batch_count, RELAY_OPTF_LENIENT,
                    "batches read from one file before the next file's turn (<= 0: no limit, as Flume)"),
  RELAY_OPT_BOOL_ROW("skipToEnd", "false", RelayTaildirSource, skip_to_end, 0,
                     "files without a recorded position start at their end (first listing only)"),
  RELAY_OPT_INT_ROW(
      "idleTimeout", "120000", 1, G_MAXINT32, RelayTaildirSource, idle_timeout, 0,
      "ms without growth after which a file's unterminated last line is emitted and it is closed"),
  RELAY_OPT_INT_ROW("writePosInterval", "3000", 1, G_MAXINT32, RelayTaildirSource, write_pos_interval, 0,
                    "ms between position file writes (durable channel: also every 4 batches)"),
  RELAY_OPT_BOOL_ROW("byteOffsetHeader", "false", RelayTaildirSource, byte_offset_header, 0,
                     "add header byteoffset = offset of the line in its file"),
  RELAY_OPT_BOOL_ROW("cachePatternMatching", "true", RelayTaildirSource, cache_pattern_matching, 0,
                     "skip re-listing a directory whose modification time did not change"),
  RELAY_OPT_BOOL_ROW("fileHeader", "false", RelayTaildirSource, file_header, 0,
                     "add the file's absolute path as header fileHeaderKey"),
  RELAY_OPT_STRING_ROW("fileHeaderKey", "file", RelayTaildirSource, file_header_key, 0,
                       "header name for fileHeader"),
  RELAY_OPT_INT_ROW("backoffSleepIncrement", "1000", 1, G_MAXINT32, RelayTaildirSource, backoff_increment, 0,
                    "polling fallback: ms added to the poll interval after each poll that found nothing"),
  RELAY_OPT_INT_ROW("maxBackoffSleep", "5000", 1, G_MAXINT32, RelayTaildirSource, backoff_max, 0,
                    "polling fallback: longest poll interval in ms (also the safety re-check interval)"),
  RELAY_OPTION_END,
};

static const char *
_prefix(RelayTaildirSource *src)
{
  return src->super.super.log_prefix;
}

static gint64
_now_ms(void)
{
  return g_get_monotonic_time() / 1000;
}

/* path := the group's directory / name */
static void
_join(GString *path, const RelayTailGroup *g, const char *name)
{
  g_string_printf(path, "%s%s%s", g->dir, g_str_has_suffix(g->dir, "/") ? "" : "/", name);
}

/* ---- the ready queue ---- */

static void
_queue(RelayTaildirSource *src, RelayTailFile *f)
{
  if (f->queued || f->gone)
    return;
  f->queued = TRUE;
  g_queue_push_tail_link(&src->ready, &f->link);
  if (src->work)
    event_active(src->work, EV_TIMEOUT, 0);
}

static void
_dequeue(RelayTaildirSource *src, RelayTailFile *f)
{
  if (!f->queued)
    return;
  g_queue_unlink(&src->ready, &f->link);
  f->queued = FALSE;
  f->batches = 0;
}

/* ---- tracked files ---- */

static void
_unpath(RelayTaildirSource *src, RelayTailFile *f)
{
  if (g_hash_table_lookup(src->by_path, f->path) == f)
    g_hash_table_remove(src->by_path, f->path);
}

static void
_forget(RelayTaildirSource *src, RelayTailFile *f)
{
  if (f == src->pending_file)
    {
      f->gone = TRUE; /* freed when the put completes */
      return;
    }
  _dequeue(src, f);
  _unpath(src, f);
  if (src->buf_file == f)
    src->buf_file = NULL;
  RelayTailKey key = { f->dev, f->ino };
  g_hash_table_remove(src->files, &key); /* frees f */
  src->positions_dirty = TRUE;
}

static void
_set_path(RelayTaildirSource *src, RelayTailFile *f, const char *path)
{
  if (strcmp(f->path, path) != 0)
    {
      relay_debug(_prefix(src), "file renamed from=%s to=%s inode=%lu", f->path, path, (unsigned long)f->ino);
      _unpath(src, f);
      g_free(f->path);
      f->path = g_strdup(path);
      src->positions_dirty = TRUE;
    }
  g_hash_table_replace(src->by_path, f->path, f);
}

static RelayTailFile *
_add_file(RelayTaildirSource *src, RelayTailGroup *g, const char *path, const struct stat *st, gint64 pos)
{
  RelayTailFile *f = relay_tail_file_new(g, path, st, pos);
  RelayTailKey *key = g_new(RelayTailKey, 1);

  key->dev = st->st_dev;
  key->ino = st->st_ino;
  g_hash_table_replace(src->files, key, f);
  src->positions_dirty = TRUE;
  return f;
}

/* The recorded offset for this inode when its entry (not applied yet) names a file in the same directory. */
static gboolean
_take_position(RelayTaildirSource *src, const struct stat *st, const char *path, gint64 *pos)
{
  guint64 ino = (guint64)st->st_ino;
  RelayTaildirPos *e = src->positions ? g_hash_table_lookup(src->positions, &ino) : NULL;

  if (!e)
    return FALSE;
  char *d1 = g_path_get_dirname(e->file), *d2 = g_path_get_dirname(path);
  gboolean same_dir = strcmp(d1, d2) == 0;
  g_free(d1);
  g_free(d2);
  if (!same_dir)
    return FALSE;
  *pos = e->pos;
  g_hash_table_remove(src->positions, &ino);
  return TRUE;
}

static void
_check_size(RelayTaildirSource *src, RelayTailFile *f, gint64 size)
{
  if (size != f->size)
    f->active_ms = _now_ms();
  f->size = size;
  if (size != f->pos)
    _queue(src, f);
}

/* A listing found path (matching, or an unmatched file an unapplied position entry names). */
static void
_found(RelayTaildirSource *src, RelayTailGroup *g, const char *path, const struct stat *st, gboolean match,
       gboolean first)
{
  RelayTailKey key = { st->st_dev, st->st_ino };
  RelayTailFile *f = g_hash_table_lookup(src->files, &key);
  gint64 pos = 0;

  if (f && f->group != g)
    return; /* matched by an earlier group */
  if (!f)
    {
      gboolean known = src->positions && _take_position(src, st, path, &pos);
      if (!match && !known)
        return;
      if (!known && first && src->skip_to_end)
        pos = (gint64)st->st_size;
      f = _add_file(src, g, path, st, pos);
      relay_debug(_prefix(src), "tracking file=%s inode=%lu pos=%" G_GINT64_FORMAT "%s", path,
                  (unsigned long)st->st_ino, pos, match ? "" : " (renamed out of the pattern)");
      f->size = -1;
    }
  if (match)
    {
      relay_tail_file_set_matched(f, TRUE);
      f->seen_gen = src->gen;
      _set_path(src, f, path);
    }
  _check_size(src, f, (gint64)st->st_size);
}

/* A tracked file of group g that the listing no longer shows under a matching name. */
static void
_unmatched(RelayTaildirSource *src, RelayTailFile *f)
{
  struct stat st;

  relay_tail_file_set_matched(f, FALSE);
  _unpath(src, f);
  if (f->fd >= 0 && fstat(f->fd, &st) == 0)
    _check_size(src, f, (gint64)st.st_size); /* written to since the last look (before the rename) */
  if (f->fd >= 0 || f == src->pending_file)
    return; /* read to its end through the open descriptor, closed when idle */
  if (f->pos < f->size)
    relay_log_ratelimited(
        &src->rl_gone, RELAY_LOG_WARN, _prefix(src),
        "file renamed or deleted while closed, unread bytes lost file=%s bytes=%" G_GINT64_FORMAT, f->path,
        f->size - f->pos);
  _forget(src, f);
}

static void _check_watch(RelayTaildirSource *src, RelayTailGroup *g, const struct stat *st);

static gboolean
_listing_cached(RelayTaildirSource *src, RelayTailGroup *g, RelayTailDirStamp *before)
{
  struct stat st;
  gint64 now_s = g_get_real_time() / G_USEC_PER_SEC;
  gboolean present = relay_tail_dir_stamp(g->dir, &st, before);

  _check_watch(src, g, present ? &st : NULL);
  if (!present)
    return FALSE;
  /* As TaildirMatcher: re-list when the mtime changed or is not older than the last listing's second. */
  gboolean cached = src->cache_pattern_matching && !g->rescan && before->mtime_ns == g->dir_mtime_ns
                    && st.st_mtim.tv_sec < g->last_listing_s;
  if (!cached)
    {
      g->dir_mtime_ns = before->mtime_ns;
      g->last_listing_s = now_s;
    }
  return cached;
}

/* Reads g's directory once, passing what matches (and, while position entries wait, every regular file) to
 * _found. FALSE when the directory cannot be listed. */
static gboolean
_list_once(RelayTaildirSource *src, RelayTailGroup *g, gboolean first)
{
  DIR *dir = opendir(g->dir);
  if (!dir)
    {
      relay_log_ratelimited(&src->rl_read, RELAY_LOG_WARN, _prefix(src), "cannot list directory dir=%s: %s",
                            g->dir, g_strerror(errno));
      return FALSE;
    }
  gboolean orphans = src->positions != NULL;
  GString *path = g_string_new(NULL);
  struct dirent *de;
  src->gen++;
  while ((de = readdir(dir)))
    {
      struct stat st;
      if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
        continue;
      gboolean match = relay_tail_group_matches(g, de->d_name);
      if (!match && !orphans)
        continue;
      if (fstatat(dirfd(dir), de->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
        continue; /* vanished meanwhile, or not a regular file */
      _join(path, g, de->d_name);
      _found(src, g, path->str, &st, match, first);
    }
  closedir(dir);
  g_string_free(path, TRUE);
  return TRUE;
}

/* After a complete listing of g: its tracked files the listing did not find under a matching name. */
static void
_lost_files(RelayTaildirSource *src, RelayTailGroup *g)
{
  GHashTableIter it;
  gpointer value;
  GPtrArray *lost = g_ptr_array_new();

  g_hash_table_iter_init(&it, src->files);
  while (g_hash_table_iter_next(&it, NULL, &value))
    {
      RelayTailFile *f = value;
      if (f->group == g && f->matched && f->seen_gen != src->gen)
        g_ptr_array_add(lost, f);
    }
  for (guint i = 0; i < lost->len; i++)
    _unmatched(src, g_ptr_array_index(lost, i));
  g_ptr_array_unref(lost);
}

static void _drop_positions(RelayTaildirSource *src, const RelayTailGroup *g);

/* Lists g's directory (at start up to RELAY_TAILDIR_LIST_TRIES times, until a listing ran while the
 * directory did not change): only such a listing proves that a file it did not find is gone (see
 * RelayTailDirStamp). Files found are followed in any case; when the directory changed, nothing is forgotten
 * and the listing runs again after RELAY_TAILDIR_RELIST_MS. */
static void
_scan_group(RelayTaildirSource *src, RelayTailGroup *g, gboolean first)
{
  RelayTailDirStamp before, after;
  struct stat st;
  gboolean complete = FALSE;

  if (_listing_cached(src, g, &before))
    return;
  g->rescan = FALSE;
  gint64 t0 = g_get_monotonic_time();
  for (guint try = 0; try < (first ? RELAY_TAILDIR_LIST_TRIES : 1) && !complete; try++)
    {
      if (try > 0 && !relay_tail_dir_stamp(g->dir, &st, &before))
        return;
      if (!_list_once(src, g, first))
        return;
      complete = relay_tail_dir_stamp(g->dir, &st, &after) && relay_tail_dir_unchanged(&before, &after);
    }
  g->listed_us = g_get_monotonic_time();
  g->listing_us = g->listed_us - t0;
  if (!complete)
    {
      relay_debug(_prefix(src), "directory changed during the listing, listing again later dir=%s", g->dir);
      g->rescan = TRUE;
      if (src->relist && !evtimer_pending(src->relist, NULL))
        relay_evtimer_add_ms(src->relist, RELAY_TAILDIR_RELIST_MS);
      return;
    }
  _lost_files(src, g);
  _drop_positions(src, g);
}

/* Looks at every tracked file's size; returns TRUE when one has something to read. */
static gboolean
_check_files(RelayTaildirSource *src)
{
  GHashTableIter it;
  gpointer value;
  gboolean found = FALSE;

  g_hash_table_iter_init(&it, src->files);
  while (g_hash_table_iter_next(&it, NULL, &value))
    {
      RelayTailFile *f = value;
      struct stat st;
      int rc = f->fd >= 0 ? fstat(f->fd, &st) : stat(f->path, &st);
      if (rc < 0 || st.st_ino != f->ino || st.st_dev != f->dev)
        continue; /* the next listing sorts it out */
      _check_size(src, f, (gint64)st.st_size);
      found = found || f->queued;
    }
  return found;
}

/* ---- reading ---- */

/* The window at off: a pointer into buf and the bytes there (0 at end of file, -1 on error). */
static gssize
_window(RelayTaildirSource *src, RelayTailFile *f, gint64 off, const guint8 **p, gboolean fresh)
{
  if (!fresh && src->buf_file == f && off >= src->buf_off && off < src->buf_off + (gint64)src->buf_len)
    {
      *p = src->buf + (off - src->buf_off);
      return (gssize)(src->buf_off + (gint64)src->buf_len - off);
    }
  ssize_t n;
  do
    n = pread(f->fd, src->buf, src->buf_cap, (off_t)off);
  while (n < 0 && errno == EINTR);
  src->buf_file = n >= 0 ? f : NULL;
  src->buf_off = off;
  src->buf_len = n >= 0 ? (gsize)n : 0;
  *p = src->buf;
  return n;
}

static void
_add_event(RelayTaildirSource *src, RelayTailFile *f, GPtrArray *batch, const guint8 *body, gsize len,
           gint64 off)
{
  RelayTailGroup *g = f->group;
  guint n = g->n_headers;
  char offset[24];

  if (n)
    memcpy(src->hdr, g->headers, n * sizeof(RelayHeader));
  if (src->file_header)
    src->hdr[n++] = (RelayHeader){ src->file_header_key, f->path, (guint32)strlen(src->file_header_key),
                                   (guint32)strlen(f->path) };
  if (src->byte_offset_header)
    {
      int olen = g_snprintf(offset, sizeof offset, "%" G_GINT64_FORMAT, off);
      src->hdr[n++] = (RelayHeader){ "byteoffset", offset, 10, (guint32)olen };
    }
  g_ptr_array_add(batch, relay_event_new(src->hdr, n, body, len));
}

/* Reads up to batchSize lines of f from its committed offset into batch. Sets *end to the offset after the
 * last line taken and *eof when the file has nothing more for now. FALSE on a read error. */
static gboolean
_read_lines(RelayTaildirSource *src, RelayTailFile *f, GPtrArray *batch, gint64 *end, gboolean *eof)
{
  gint64 off = f->pos;
  gboolean fresh = FALSE;

  *eof = FALSE;
  while (batch->len < (guint)src->batch_size)
    {
      const guint8 *p;
      gssize n = _window(src, f, off, &p, fresh);
      if (n < 0)
        return FALSE;
      if (n == 0)
        {
          *eof = TRUE;
          break;
        }
      const guint8 *nl = memchr(p, '\n', (gsize)n);
      if (nl)
        {
          gsize len = (gsize)(nl - p);
          _add_event(src, f, batch, p, len > 0 && nl[-1] == '\r' ? len - 1 : len, off);
          off += (gint64)len + 1;
          fresh = FALSE;
          continue;
        }
      if (!fresh)
        {
          fresh = TRUE; /* the cached window may predate an append: read again from off */
          continue;
        }
      if ((gsize)n == src->buf_cap && src->buf_cap < RELAY_TAILDIR_BUF_MAX)
        {
          src->buf_cap *= 2;
          src->buf = g_realloc(src->buf, src->buf_cap);
          src->buf_file = NULL;
          continue;
        }
      if ((gsize)n == src->buf_cap || f->flush)
        {
          if ((gsize)n == src->buf_cap)
            relay_log_ratelimited(&src->rl_read, RELAY_LOG_WARN, _prefix(src),
                                  "line longer than %u bytes cut file=%s offset=%" G_GINT64_FORMAT,
                                  RELAY_TAILDIR_BUF_MAX, f->path, off);
          _add_event(src, f, batch, p, (gsize)n, off);
          off += n;
          fresh = FALSE;
          continue;
        }
      *eof = TRUE; /* an unterminated last line waits for its newline (or idleTimeout) */
      break;
    }
  *end = off;
  return TRUE;
}

static void _on_put_done(RelayPutResult result, gpointer user_data);
static void _positions_due(RelayTaildirSource *src);
static gboolean _positions_hold(const RelayTaildirSource *src);

/* Opens f if needed and notices truncation; FALSE when it cannot be read now (dropped from the queue). */
static gboolean
_prepare(RelayTaildirSource *src, RelayTailFile *f)
{
  struct stat st;

  if (!relay_tail_file_open(f))
    {
      if (errno != ENOENT && errno != ESTALE)
        {
          relay_counter_inc(&src->super.counters.event_read_fail);
          relay_log_ratelimited(&src->rl_read, RELAY_LOG_WARN, _prefix(src), "cannot open file=%s: %s",
                                f->path, g_strerror(errno));
        }
      f->group->rescan = TRUE; /* renamed or deleted: the next listing decides */
      return FALSE;
    }
  if (fstat(f->fd, &st) < 0)
    return FALSE;
  if ((gint64)st.st_size < f->pos)
    {
      relay_warn(_prefix(src),
                 "file shrank below its position, reading it again from 0 file=%s pos=%" G_GINT64_FORMAT
                 " size=%" G_GINT64_FORMAT,
                 f->path, f->pos, (gint64)st.st_size);
      f->pos = 0;
      src->positions_dirty = TRUE;
      if (src->buf_file == f)
        src->buf_file = NULL;
    }
  _check_size(src, f, (gint64)st.st_size);
  return TRUE;
}

/* Reads one batch of f and submits it. Returns the batch's bytes, or -1 when f had nothing to read (it left
 * the queue). f may be freed when this returns. */
static gint64
_process_file(RelayTaildirSource *src, RelayTailFile *f)
{
  gint64 end, f_start;
  gboolean eof = FALSE;

  if (!_prepare(src, f))
    {
      _dequeue(src, f);
      return -1;
    }
  end = f_start = f->pos;
  GPtrArray *batch = g_ptr_array_new_full((guint)MIN(src->batch_size, 4096), relay_event_unref_notify);
  if (!_read_lines(src, f, batch, &end, &eof))
    {
      relay_counter_inc(&src->super.counters.event_read_fail);
      relay_log_ratelimited(&src->rl_read, RELAY_LOG_WARN, _prefix(src), "read failed file=%s: %s", f->path,
                            g_strerror(errno));
      g_ptr_array_unref(batch);
      _dequeue(src, f);
      return -1;
    }
  if (batch->len == 0)
    {
      g_ptr_array_unref(batch);
      f->flush = FALSE;
      _dequeue(src, f);
      return -1;
    }
  relay_counter_add(&src->super.counters.event_received, batch->len);
  relay_counter_inc(&src->super.counters.append_batch_received);
  src->pending_file = f;
  src->pending_end = end;
  src->pending_events = batch->len;
  src->pending_eof = eof;
  src->submitting = TRUE;
  src->pending = relay_channel_processor_submit(src->super.cp, batch, _on_put_done, src);
  src->submitting = FALSE;
  return end - f_start;
}

static void
_on_put_done(RelayPutResult result, gpointer user_data)
{
  RelayTaildirSource *src = user_data;
  RelayTailFile *f = src->pending_file;
  RelaySourceCounters *counters = &src->super.counters;

  src->pending = NULL;
  src->pending_file = NULL;
  if (result == RELAY_PUT_OK)
    {
      relay_counter_add(&counters->event_accepted, src->pending_events);
      relay_counter_inc(&counters->append_batch_accepted);
      relay_counter_add(&counters->bytes_received, src->pending_end - f->pos);
      f->pos = src->pending_end;
      f->active_ms = _now_ms();
      src->positions_dirty = TRUE;
      src->unsaved_lines += src->pending_events;
      relay_retry_reset(&src->retry);
      if (f->gone)
        _forget(src, f);
      else if (src->pending_eof)
        {
          f->flush = FALSE;
          _dequeue(src, f);
        }
      else if (++f->batches >= src->max_batch_count)
        {
          _dequeue(src, f); /* its turn is over: to the back of the queue */
          _queue(src, f);
        }
      _positions_due(src);
      if (!src->submitting)
        event_active(src->work, EV_TIMEOUT, 0);
      return;
    }
  /* The channel processor counted ChannelWriteFail and logged; read the same lines again later. */
  relay_counter_add(&counters->event_failed, src->pending_events);
  src->catching_up = TRUE; /* what is written meanwhile is read as a backlog */
  if (f->gone)
    _forget(src, f);
  guint wait_ms = relay_retry_arm(&src->retry);
  relay_debug(_prefix(src), "put failed, reading the same lines again result=%s retry_ms=%u",
              relay_put_result_name(result), wait_ms);
}

/* Lists the groups whose directories changed. A directory that keeps changing (files created or renamed
 * all the time) is listed at most every RELAY_TAILDIR_LIST_GAP_MS, and never more than 1/GAP_FACTOR of the
 * time: the listings of a large directory must leave the loop time to read and to write positions. */
static void
_rescan_due(RelayTaildirSource *src)
{
  gint64 now = g_get_monotonic_time();

  for (guint i = 0; i < src->groups->len; i++)
    {
      RelayTailGroup *g = g_ptr_array_index(src->groups, i);
      if (!g->rescan)
        continue;
      gint64 gap = MAX(RELAY_TAILDIR_LIST_GAP_MS * 1000, g->listing_us * RELAY_TAILDIR_LIST_GAP_FACTOR);
      if (now - g->listed_us >= gap)
        _scan_group(src, g, FALSE);
      else if (!evtimer_pending(src->relist, NULL))
        relay_evtimer_add_ms(src->relist, (guint)((gap - (now - g->listed_us)) / 1000 + 1));
    }
}

static void
_on_work(evutil_socket_t fd, short what, void *arg)
{
  RelayTaildirSource *src = arg;
  guint batches = 0;
  gint64 bytes = 0;

  if (src->pending || relay_retry_pending(&src->retry))
    return;
  _rescan_due(src);
  while (!src->pending && !relay_retry_pending(&src->retry) && !_positions_hold(src)
         && batches < RELAY_TAILDIR_WORK_BATCHES && bytes < RELAY_TAILDIR_WORK_BYTES)
    {
      RelayTailFile *f = g_queue_peek_head(&src->ready);
      if (!f)
        return;
      gint64 n = _process_file(src, f);
      if (n >= 0)
        {
          batches++;
          bytes += n;
        }
    }
  if (src->pending || src->ready.length == 0 || relay_retry_pending(&src->retry))
    return;
  /* More to read: a backlog. Again after the loop has polled and run its timers (event_active here would
   * run this again at once and starve them), or when the position write in flight ends (_on_saved). */
  src->catching_up = TRUE;
  if (!_positions_hold(src))
    event_add(src->work, &(struct timeval){ 0, 0 });
}

static void
_on_retry(evutil_socket_t fd, short what, void *arg)
{
  _on_work(fd, what, arg);
}

/* ---- noticing changes: inotify, polling, idle files ---- */

static RelayTailGroup *
_group_by_wd(RelayTaildirSource *src, int wd)
{
  for (guint i = 0; i < src->groups->len; i++)
    {
      RelayTailGroup *g = g_ptr_array_index(src->groups, i);
      if (g->wd == wd)
        return g;
    }
  return NULL;
}

static void
_rescan_all(RelayTaildirSource *src)
{
  for (guint i = 0; i < src->groups->len; i++)
    ((RelayTailGroup *)g_ptr_array_index(src->groups, i))->rescan = TRUE;
  _check_files(src);
  event_active(src->work, EV_TIMEOUT, 0);
}

static void
_fall_back_to_polling(RelayTaildirSource *src, const char *why)
{
  if (src->polling)
    return;
  relay_warn(_prefix(src), "inotify unusable, polling instead: %s", why);
  src->polling = TRUE;
  src->poll_delay_ms = 0;
  event_del(src->poll);
  relay_evtimer_add_ms(src->poll, 0);
}

/* A file of group g renamed out of the pattern (rotated) and still written to, now at path; or NULL. */
static RelayTailFile *
_renamed_out(RelayTaildirSource *src, RelayTailGroup *g, const char *path)
{
  struct stat st;

  if (stat(path, &st) < 0)
    return NULL;
  RelayTailKey key = { st.st_dev, st.st_ino };
  RelayTailFile *f = g_hash_table_lookup(src->files, &key);
  return f && f->group == g && !f->matched ? f : NULL;
}

static void
_on_inotify_event(RelayTaildirSource *src, const struct inotify_event *ev, GString *path)
{
  if (ev->mask & IN_Q_OVERFLOW)
    {
      relay_warn(_prefix(src), "inotify queue overflowed, listing every directory again");
      _rescan_all(src);
      return;
    }
  RelayTailGroup *g = _group_by_wd(src, ev->wd);
  if (!g)
    return;
  if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT))
    {
      if (ev->mask & IN_MOVE_SELF)
        inotify_rm_watch(src->inotify_fd, ev->wd); /* it would follow the directory to its new name */
      g->wd = -1;
      _fall_back_to_polling(src, "a watched directory went away");
      return;
    }
  if (ev->len == 0 || !ev->name[0])
    return;
  if (ev->mask & IN_MODIFY)
    {
      _join(path, g, ev->name);
      RelayTailFile *f = g_hash_table_lookup(src->by_path, path->str);
      if (!f && g->n_unmatched > 0)
        f = _renamed_out(src, g, path->str);
      if (f)
        {
          f->active_ms = _now_ms();
          _queue(src, f);
          return;
        }
    }
  if (relay_tail_group_matches(g, ev->name))
    {
      g->rescan = TRUE;
      event_active(src->work, EV_TIMEOUT, 0);
    }
}

/* Reads at most RELAY_TAILDIR_INOTIFY_READ bytes of events per call; libevent calls again while more wait. */
static void
_on_inotify(evutil_socket_t fd, short what, void *arg)
{
  RelayTaildirSource *src = arg;
  char buf[RELAY_TAILDIR_INOTIFY_READ] __attribute__((aligned(__alignof__(struct inotify_event))));
  ssize_t n = read(fd, buf, sizeof buf);
  GString *path = g_string_new(NULL);

  for (char *p = buf; n > 0 && p < buf + n;)
    {
      const struct inotify_event *ev = (const struct inotify_event *)p;
      _on_inotify_event(src, ev, path);
      p += sizeof(struct inotify_event) + ev->len;
    }
  g_string_free(path, TRUE);
}

static gboolean
_add_watch(RelayTaildirSource *src, RelayTailGroup *g)
{
  struct stat st;

  g->wd = inotify_add_watch(src->inotify_fd, g->dir,
                            IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF
                                | IN_MOVE_SELF | IN_ONLYDIR);
  if (g->wd >= 0 && stat(g->dir, &st) == 0)
    {
      g->dir_dev = st.st_dev;
      g->dir_ino = st.st_ino;
    }
  return g->wd >= 0;
}

/* st: g's directory now (NULL: missing). A watch follows the directory it was added on, and the kernel
 * reports that directory's removal only once nothing holds it (a file of it still open keeps it): so when
 * g->dir is gone or names another directory (removed and created again, renamed away), the watch is stale.
 * It is dropped, and the new directory watched, or the source polls until there is one. */
static void
_check_watch(RelayTaildirSource *src, RelayTailGroup *g, const struct stat *st)
{
  if (g->wd < 0 || (st && st->st_dev == g->dir_dev && st->st_ino == g->dir_ino))
    return;
  inotify_rm_watch(src->inotify_fd, g->wd);
  g->wd = -1;
  if (st && _add_watch(src, g))
    relay_info(_prefix(src), "directory replaced, watching the new one dir=%s", g->dir);
  else
    _fall_back_to_polling(src, "a watched directory went away");
}

/* Polling because a directory went away or could not be watched: watch the directories that are back, and
 * let inotify take over again once every group has its watch. */
static void
_rewatch(RelayTaildirSource *src)
{
  if (src->inotify_fd < 0)
    return; /* inotify itself is unavailable */
  for (guint i = 0; i < src->groups->len; i++)
    {
      RelayTailGroup *g = g_ptr_array_index(src->groups, i);
      if (g->wd < 0 && !_add_watch(src, g))
        return;
    }
  src->polling = FALSE;
  relay_info(_prefix(src), "inotify watches every directory again, polling stopped");
}

static void
_start_inotify(RelayTaildirSource *src)
{
  src->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (src->inotify_fd < 0)
    {
      _fall_back_to_polling(src, g_strerror(errno));
      return;
    }
  for (guint i = 0; i < src->groups->len; i++)
    if (!_add_watch(src, g_ptr_array_index(src->groups, i)))
      {
        char *why = g_strdup_printf(
            "watch %s: %s", ((RelayTailGroup *)g_ptr_array_index(src->groups, i))->dir, g_strerror(errno));
        _fall_back_to_polling(src, why);
        g_free(why);
      }
  src->inotify_ev = event_new(src->super.base, src->inotify_fd, EV_READ | EV_PERSIST, _on_inotify, src);
  event_add(src->inotify_ev, NULL);
}

/* The safety net (inotify works: every maxBackoffSleep) or the polling fallback (with backoff), which
 * returns to inotify when it can. */
static void
_on_poll(evutil_socket_t fd, short what, void *arg)
{
  RelayTaildirSource *src = arg;

  if (src->polling)
    _rewatch(src); /* before the listing: files created meanwhile are seen by one or the other */
  for (guint i = 0; i < src->groups->len; i++)
    _scan_group(src, g_ptr_array_index(src->groups, i), FALSE);
  gboolean found = _check_files(src);
  if (!src->polling)
    src->poll_delay_ms = src->backoff_max;
  else if (found)
    src->poll_delay_ms = MIN(RELAY_TAILDIR_POLL_AFTER_DATA_MS, src->backoff_increment);
  else
    src->poll_delay_ms = MIN(src->poll_delay_ms + src->backoff_increment, src->backoff_max);
  relay_evtimer_add_ms(src->poll, src->poll_delay_ms);
}

/* Files idle for idleTimeout: emit an unterminated last line, then close; forget those no longer matching. */
static void
_on_idle(evutil_socket_t fd, short what, void *arg)
{
  RelayTaildirSource *src = arg;
  gint64 now = _now_ms();
  GHashTableIter it;
  gpointer value;
  GPtrArray *drop = g_ptr_array_new();

  g_hash_table_iter_init(&it, src->files);
  while (g_hash_table_iter_next(&it, NULL, &value))
    {
      RelayTailFile *f = value;
      struct stat st;
      if (f == src->pending_file || f->queued || now - f->active_ms < src->idle_timeout)
        continue;
      if (f->fd >= 0 && fstat(f->fd, &st) == 0 && (gint64)st.st_size > f->pos)
        {
          f->flush = TRUE; /* the rest is an unterminated line */
          _queue(src, f);
          continue;
        }
      if (f->fd >= 0)
        relay_debug(_prefix(src), "closing idle file=%s pos=%" G_GINT64_FORMAT, f->path, f->pos);
      relay_tail_file_close(f);
      if (!f->matched)
        g_ptr_array_add(drop, f);
    }
  for (guint i = 0; i < drop->len; i++)
    _forget(src, g_ptr_array_index(drop, i));
  g_ptr_array_unref(drop);
}

/* ---- the position file ---- */

/* The position file's content: every tracked file's committed offset, and the entries not applied yet. */
static GString *
_positions_json(RelayTaildirSource *src)
{
  GString *json = g_string_new("[");
  GHashTableIter it;
  gpointer value;
  gboolean first = TRUE;

  g_hash_table_iter_init(&it, src->files);
  while (g_hash_table_iter_next(&it, NULL, &value))
    {
      RelayTailFile *f = value;
      /* renamed out of the pattern: where the open descriptor's file is now (a file adopted at start and
       * not opened yet keeps the name it was found under) */
      char *current = f->matched ? NULL : f->fd >= 0 ? relay_tail_file_current_path(f) : g_strdup(f->path);
      if (!f->matched && !current)
        continue; /* deleted: nothing to resume */
      if (!first)
        g_string_append_c(json, ',');
      first = FALSE;
      relay_taildir_pos_format_entry(json, (guint64)f->ino, f->pos, current ? current : f->path);
      g_free(current);
    }
  /* entries whose files no complete listing has shown yet (nor proven gone): kept as they were */
  for (guint i = 0; src->positions && i < src->position_entries->len; i++)
    {
      RelayTaildirPos *e = &g_array_index(src->position_entries, RelayTaildirPos, i);
      if (g_hash_table_lookup(src->positions, &e->inode) != e)
        continue;
      if (!first)
        g_string_append_c(json, ',');
      first = FALSE;
      relay_taildir_pos_format_entry(json, e->inode, e->pos, e->file);
    }
  g_string_append(json, "]");
  return json;
}

static void
_save_failed(RelayTaildirSource *src, const GError *error)
{
  relay_counter_inc(&src->super.counters.generic_processing_fail);
  relay_log_ratelimited(&src->rl_pos, RELAY_LOG_WARN, _prefix(src), "cannot write the position file: %s",
                        error->message);
}

/* Writes the position file now, on the loop (at stop, once the saver's thread has ended). */
static void
_write_positions(RelayTaildirSource *src)
{
  GString *json = _positions_json(src);
  GError *error = NULL;

  if (relay_taildir_pos_save(src->position_file, json, &error))
    src->positions_dirty = FALSE;
  else
    {
      _save_failed(src, error);
      g_error_free(error);
    }
  g_string_free(json, TRUE);
}

/* Lines committed but not yet in a position file that a restart would read. */
static gint64
_unsaved(const RelayTaildirSource *src)
{
  return src->unsaved_lines + src->saving_lines;
}

static gint64
_unsaved_max(const RelayTaildirSource *src)
{
  return RELAY_TAILDIR_UNSAVED_BATCHES * src->batch_size;
}

/* TRUE while reading waits for the position write in flight: a crash must not read more again. */
static gboolean
_positions_hold(const RelayTaildirSource *src)
{
  return src->bounded && !src->save_failing && _unsaved(src) >= _unsaved_max(src);
}

/* Starts writing the position file (one write at a time) when it changed and writePosInterval has passed
 * (Flume's rule); and, when a channel survives crashes, also once half of the unsaved lines allowed are
 * committed or a backlog was read to its end, unless the last write failed (then a failing disk is tried
 * once per writePosInterval, and reading goes on). Checked by the timer, after each commit and when the
 * previous write ends (a source catching up with a backlog keeps the loop busy, and timers may then run
 * late). */
static void
_positions_due(RelayTaildirSource *src)
{
  gboolean bounded = src->bounded && !src->save_failing;
  gboolean caught_up = bounded && src->catching_up && !src->pending && src->ready.length == 0;

  if (!src->positions_dirty || relay_taildir_saver_busy(src->saver))
    return;
  gint64 now = _now_ms();
  if (now - src->positions_written_ms < src->write_pos_interval && !caught_up
      && !(bounded && src->unsaved_lines >= _unsaved_max(src) / 2))
    return;
  src->catching_up = src->catching_up && !caught_up;
  src->positions_written_ms = now;
  src->saving_lines = src->unsaved_lines;
  src->unsaved_lines = 0;
  src->positions_dirty = FALSE;
  relay_taildir_saver_save(src->saver, _positions_json(src));
}

static void
_on_saved(const GError *error, gpointer user_data)
{
  RelayTaildirSource *src = user_data;

  /* a failed write: its lines are still unsaved, and the bound cannot be kept; read on (see
   * _positions_hold) and write again after writePosInterval */
  src->save_failing = error != NULL;
  if (error)
    {
      _save_failed(src, error);
      src->unsaved_lines += src->saving_lines;
      src->positions_dirty = TRUE;
    }
  src->saving_lines = 0;
  _positions_due(src);
  if (src->ready.length > 0)
    event_active(src->work, EV_TIMEOUT, 0);
}

static void
_on_pos_timer(evutil_socket_t fd, short what, void *arg)
{
  _positions_due(arg);
}

static void
_load_positions(RelayTaildirSource *src)
{
  GError *error = NULL;
  guint skipped = 0;

  src->position_entries = relay_taildir_pos_load(src->position_file, &skipped, &error);
  if (!src->position_entries)
    {
      relay_counter_inc(&src->super.counters.generic_processing_fail);
      relay_warn(_prefix(src), "position file ignored, files start from the beginning file=%s: %s",
                 src->position_file, error->message);
      g_error_free(error);
      return;
    }
  if (skipped)
    relay_warn(_prefix(src), "detected missing value in position file, %u entries ignored file=%s", skipped,
               src->position_file);
  src->positions = g_hash_table_new(g_int64_hash, g_int64_equal);
  for (guint i = 0; i < src->position_entries->len; i++)
    {
      RelayTaildirPos *e = &g_array_index(src->position_entries, RelayTaildirPos, i);
      g_hash_table_insert(src->positions, &e->inode, e);
    }
}

static void
_free_positions(RelayTaildirSource *src)
{
  g_clear_pointer(&src->positions, g_hash_table_unref);
  relay_taildir_pos_array_free(src->position_entries);
  src->position_entries = NULL;
}

/* TRUE when an entry for file belongs to g: it names a file in g's directory. */
static gboolean
_entry_in_group(const RelayTailGroup *g, const char *file)
{
  GString *path = g_string_new(NULL);
  _join(path, g, "x");
  char *d1 = g_path_get_dirname(path->str), *d2 = g_path_get_dirname(file);
  gboolean same = strcmp(d1, d2) == 0;
  g_free(d1);
  g_free(d2);
  g_string_free(path, TRUE);
  return same;
}

/* Drops the unapplied position entries of g's directory (g has just been listed completely: their files
 * are gone), or with g NULL those in no group's directory. */
static void
_drop_positions(RelayTaildirSource *src, const RelayTailGroup *g)
{
  GHashTableIter it;
  gpointer value;

  if (!src->positions)
    return;
  g_hash_table_iter_init(&it, src->positions);
  while (g_hash_table_iter_next(&it, NULL, &value))
    {
      RelayTaildirPos *e = value;
      gboolean in_group = FALSE;
      for (guint i = 0; !g && i < src->groups->len && !in_group; i++)
        in_group = _entry_in_group(g_ptr_array_index(src->groups, i), e->file);
      if (g ? !_entry_in_group(g, e->file) : in_group)
        continue;
      relay_info(_prefix(src), "position entry not found (missing file) file=%s inode=%" G_GUINT64_FORMAT,
                 e->file, e->inode);
      g_hash_table_iter_remove(&it);
      src->positions_dirty = TRUE;
    }
  if (g_hash_table_size(src->positions) == 0)
    _free_positions(src);
}

/* ---- monitoring ---- */

/* BytesBehind per file group: bytes of tracked files past their committed offset, at the last look. */
static void
_foreach_bytes_behind(const RelaySource *source, RelaySourceGaugeFn fn, gpointer data)
{
  const RelayTaildirSource *src = (const RelayTaildirSource *)source;
  GHashTableIter it;
  gpointer value;

  for (guint i = 0; i < src->groups->len; i++)
    ((RelayTailGroup *)g_ptr_array_index(src->groups, i))->bytes_behind = 0;
  if (src->files)
    {
      g_hash_table_iter_init(&it, src->files);
      while (g_hash_table_iter_next(&it, NULL, &value))
        {
          RelayTailFile *f = value;
          f->group->bytes_behind += MAX(f->size - f->pos, 0);
        }
    }
  for (guint i = 0; i < src->groups->len; i++)
    {
      RelayTailGroup *g = g_ptr_array_index(src->groups, i);
      fn(g->name, g->bytes_behind, data);
    }
}

static const RelaySourceGauges _bytes_behind = {
  .attr = "BytesBehind",
  .family = "relayd_source_bytes_behind",
  .help = "TAILDIR: bytes in the file group's files not yet committed to the channels",
  .label_name = "filegroup",
  .foreach = _foreach_bytes_behind,
};

/* ---- configuration ---- */

static gboolean
_taildir_knows_key(const char *key)
{
  return g_str_has_prefix(key, "filegroups.") || g_str_has_prefix(key, "headers.");
}

/* headers.<g>.<key> = value for every group. */
static void
_configure_headers(RelayTaildirSource *src, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  GPtrArray *keys = relay_component_config_keys(cc, "headers.");

  for (guint i = 0; i < keys->len; i++)
    {
      const char *key = g_ptr_array_index(keys, i);
      RelayTailGroup *owner = NULL;
      for (guint j = 0; j < src->groups->len && !owner; j++)
        {
          RelayTailGroup *g = g_ptr_array_index(src->groups, j);
          gsize n = strlen(g->name);
          if (strncmp(key + 8, g->name, n) == 0 && key[8 + n] == '.' && key[9 + n])
            owner = g;
        }
      if (!owner)
        {
          relay_config_report_add(report, relay_component_config_get(cc, key), cc->label, key,
                                  "not headers.<file group>.<header>; ignored");
          continue;
        }
      const char *name = key + 9 + strlen(owner->name);
      const char *value = relay_component_config_value(cc, key);
      owner->headers = g_renew(RelayHeader, owner->headers, owner->n_headers + 1);
      owner->headers[owner->n_headers++]
          = (RelayHeader){ g_strdup(name), g_strdup(value), (guint32)strlen(name), (guint32)strlen(value) };
    }
  g_ptr_array_unref(keys);
}

/* FALSE with why when dir is missing, not a directory, or cannot be listed. */
static gboolean
_dir_readable(const char *dir, const char **why)
{
  struct stat st;

  if (stat(dir, &st) < 0)
    *why = errno == ENOENT ? "does not exist" : g_strerror(errno);
  else if (!S_ISDIR(st.st_mode))
    *why = "is not a directory";
  else if (access(dir, R_OK | X_OK) < 0)
    *why = "cannot be read";
  else
    return TRUE;
  return FALSE;
}

static gboolean
_configure_groups(RelayTaildirSource *src, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  char **names = relay_config_split_list(src->filegroups);
  gboolean ok = TRUE;

  for (guint i = 0; names[i] && ok; i++)
    {
      char *key = g_strconcat("filegroups.", names[i], NULL);
      const char *spec = relay_component_config_value(cc, key);
      GError *error = NULL;
      const char *why = NULL;
      RelayTailGroup *g = spec ? relay_tail_group_new(names[i], spec, &error) : NULL;
      if (!spec)
        relay_config_report_add(report, relay_component_config_get(cc, "filegroups"), cc->label, key,
                                "missing; file group %s dropped", names[i]);
      else if (!g)
        {
          relay_config_report_add(report, relay_component_config_get(cc, key), cc->label, key,
                                  "%s; source %s removed", error->message, cc->name);
          g_error_free(error);
          ok = FALSE;
        }
      else if (!_dir_readable(g->dir, &why))
        {
          relay_config_report_add(report, relay_component_config_get(cc, key), cc->label, key,
                                  "directory %s %s; source %s removed", g->dir, why, cc->name);
          relay_tail_group_free(g);
          ok = FALSE;
        }
      else
        g_ptr_array_add(src->groups, g);
      g_free(key);
    }
  g_strfreev(names);
  if (ok && src->groups->len == 0)
    {
      relay_config_report_add(report, relay_component_config_get(cc, "filegroups"), cc->label, "filegroups",
                              "mapping for tailing files is empty or invalid; source %s removed", cc->name);
      ok = FALSE;
    }
  return ok;
}

static const RelayProp *
_position_where(const RelayComponentConfig *cc)
{
  const RelayProp *prop = relay_component_config_get(cc, "positionFile");
  return prop ? prop : relay_component_config_where(cc);
}

/* The nearest existing ancestor of the position file must let us create and replace files. */
static gboolean
_check_position_dir(RelayTaildirSource *src, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  char *dir = g_path_get_dirname(src->position_canon);
  gboolean ok;

  while (access(dir, F_OK) < 0 && strcmp(dir, "/") != 0)
    {
      char *up = g_path_get_dirname(dir);
      g_free(dir);
      dir = up;
    }
  struct stat st;
  const char *why = NULL;
  if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
    why = "is not a directory";
  else if (access(dir, W_OK | X_OK) < 0)
    why = "is not writable";
  ok = why == NULL;
  if (!ok)
    relay_config_report_add(report, _position_where(cc), cc->label, "positionFile",
                            "%s: %s %s; source %s removed", src->position_file, dir, why, cc->name);
  g_free(dir);
  return ok;
}

static const char *
_position_claim(const RelayComponent *source)
{
  return ((const RelayTaildirSource *)source)->position_canon;
}

/* Two TAILDIR sources of one agent writing one position file would overwrite each other's offsets. */
static gboolean
_check_not_shared(RelayTaildirSource *src, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  const char *owner = relay_source_claimed_by(RELAY_COMPONENT(src), cc, _position_claim);

  if (owner)
    relay_config_report_add(report, _position_where(cc), cc->label, "positionFile",
                            "%s is already the position file of source %s; source %s removed",
                            src->position_canon, owner, cc->name);
  return owner == NULL;
}

static gboolean
_taildir_configure(RelayComponent *self, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  RelayTaildirSource *src = (RelayTaildirSource *)self;
  RelayRateLimit limit = RELAY_RATELIMIT_INIT;

  src->rl_read = src->rl_pos = src->rl_gone = limit;
  src->super.gauges = &_bytes_behind;
  src->inotify_fd = -1;
  src->groups = g_ptr_array_new_with_free_func((GDestroyNotify)relay_tail_group_free);
  if (!src->position_file)
    src->position_file = g_build_filename(g_get_home_dir(), ".flume", "taildir_position.json", NULL);
  src->position_canon = g_canonicalize_filename(src->position_file, NULL);
  if (!_configure_groups(src, cc, report))
    return FALSE;
  _configure_headers(src, cc, report);
  return _check_position_dir(src, cc, report) && _check_not_shared(src, cc, report);
}

/* ---- lifecycle ---- */

/* 1,000 files tailed at once need more descriptors than the usual soft limit of 1024. */
static void
_raise_fd_limit(RelayTaildirSource *src)
{
  struct rlimit rl;

  if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= RELAY_TAILDIR_OPEN_FILES_WANTED)
    return;
  rlim_t want = MIN(rl.rlim_max, (rlim_t)RELAY_TAILDIR_OPEN_FILES_WANTED);
  if (want > rl.rlim_cur)
    {
      rl.rlim_cur = want;
      if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
        relay_debug(_prefix(src), "raised the open-files limit to %lu", (unsigned long)want);
    }
}

/* A memory channel loses its events in a crash: there, writing positions more often than writePosInterval
 * would only turn lines read again into lines lost. The file and Kafka channels keep them. */
static gboolean
_any_survives_crash(RelayTaildirSource *src)
{
  GPtrArray *channels = relay_channel_processor_channels(src->super.cp);

  for (guint i = 0; channels && i < channels->len; i++)
    if (RELAY_CHANNEL(g_ptr_array_index(channels, i))->survives_crash)
      return TRUE;
  return FALSE;
}

static void
_free_key(gpointer key)
{
  g_free(key);
}

static gboolean
_taildir_start(RelayComponent *self, GError **error)
{
  RelayTaildirSource *src = (RelayTaildirSource *)self;
  struct event_base *base = src->super.base;
  guint max_headers = 0;

  if (!src->super.cp || !base)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_STATE,
                  "%s: started without channel processor or event loop", self->log_prefix);
      return FALSE;
    }
  _raise_fd_limit(src);
  for (guint i = 0; i < src->groups->len; i++)
    max_headers = MAX(max_headers, ((RelayTailGroup *)g_ptr_array_index(src->groups, i))->n_headers);
  src->hdr = g_new0(RelayHeader, max_headers + 2);
  src->buf_cap = RELAY_TAILDIR_BUF_INITIAL;
  src->buf = g_malloc(src->buf_cap);
  src->files = g_hash_table_new_full(relay_tail_key_hash, relay_tail_key_equal, _free_key,
                                     (GDestroyNotify)relay_tail_file_free);
  src->by_path = g_hash_table_new(g_str_hash, g_str_equal);
  g_queue_init(&src->ready);
  src->work = event_new(base, -1, 0, _on_work, src);
  relay_retry_init(&src->retry, base, _on_retry, src, RELAY_TAILDIR_RETRY_MIN_MS, RELAY_TAILDIR_RETRY_MAX_MS);
  src->poll = evtimer_new(base, _on_poll, src);
  src->pos_timer = event_new(base, -1, EV_PERSIST, _on_pos_timer, src);
  src->idle_timer = event_new(base, -1, EV_PERSIST, _on_idle, src);
  src->relist = evtimer_new(base, _on_retry, src);
  src->saver = relay_taildir_saver_new(base, src->position_file, _on_saved, src);
  src->unsaved_lines = src->saving_lines = 0; /* a restart (reload): the old saver's write was not reported */
  src->catching_up = TRUE;
  src->save_failing = FALSE;
  src->bounded = _any_survives_crash(src);

  _start_inotify(src);
  _load_positions(src);
  for (guint i = 0; i < src->groups->len; i++)
    _scan_group(src, g_ptr_array_index(src->groups, i), TRUE);
  _drop_positions(src, NULL);

  relay_evtimer_add_ms(src->pos_timer, src->write_pos_interval);
  relay_evtimer_add_ms(src->idle_timer, CLAMP(src->idle_timeout / 2, 10, RELAY_TAILDIR_IDLE_CHECK_MAX_MS));
  if (!src->polling)
    relay_evtimer_add_ms(src->poll, src->backoff_max);
  event_active(src->work, EV_TIMEOUT, 0);
  relay_info(self->log_prefix, "tailing groups=%u files=%u positionFile=%s notify=%s", src->groups->len,
             g_hash_table_size(src->files), src->position_file, src->polling ? "polling" : "inotify");
  return TRUE;
}

static void
_free_event(struct event **ev)
{
  if (*ev)
    event_free(*ev);
  *ev = NULL;
}

static void
_taildir_stop(RelayComponent *self)
{
  RelayTaildirSource *src = (RelayTaildirSource *)self;

  if (src->pending)
    {
      relay_put_request_cancel(src->pending);
      relay_counter_add(&src->super.counters.event_failed, src->pending_events); /* read again next time */
      src->pending = NULL;
    }
  src->pending_file = NULL;
  _free_event(&src->work);
  relay_retry_clear(&src->retry);
  _free_event(&src->poll);
  _free_event(&src->pos_timer);
  _free_event(&src->idle_timer);
  _free_event(&src->relist);
  _free_event(&src->inotify_ev);
  if (src->inotify_fd >= 0)
    close(src->inotify_fd);
  src->inotify_fd = -1;
  relay_taildir_saver_free(src->saver); /* its write first: the files are renamed in order */
  src->saver = NULL;
  if (src->files)
    {
      _write_positions(src);
      g_queue_init(&src->ready);
      g_hash_table_unref(src->by_path);
      g_hash_table_unref(src->files); /* closes every descriptor */
    }
  src->files = src->by_path = NULL;
  _free_positions(src);
  src->buf_file = NULL;
  g_clear_pointer(&src->buf, g_free);
  g_clear_pointer(&src->hdr, g_free);
}

static void
_taildir_free(RelayComponent *self)
{
  RelayTaildirSource *src = (RelayTaildirSource *)self;

  g_free(src->position_canon);
  if (src->groups)
    g_ptr_array_unref(src->groups);
}

const RelayComponentClass relay_source_taildir_class = {
  .kind = RELAY_KIND_SOURCE,
  .type = "TAILDIR",
  .flume_class = "org.apache.flume.source.taildir.TaildirSource",
  .description = "follows the files of directory/regex groups line by line, with Flume's JSON position file",
  .options = _taildir_options,
  .instance_size = sizeof(RelayTaildirSource),
  .configure = _taildir_configure,
  .knows_key = _taildir_knows_key,
  .start = _taildir_start,
  .stop = _taildir_stop,
  .free = _taildir_free,
};
