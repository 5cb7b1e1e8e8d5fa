/* filelog_writer.c - group commit for the file channel: one writer thread, one pwritev and one fdatasync per
 * group of queued records, segment creation, preallocation, rolling and sealing.
 *
 * A group is everything queued when the thread wakes up. Its records are laid out back to back from the
 * segment's current end, written with pwritev (IOV_MAX-sized chunks, short writes continued), then made
 * durable with one fdatasync. Only then are the records handed to the apply callback and the committers
 * woken: a commit never returns before its record is on disk (with fsyncPerTransaction=false it returns
 * after the write, and a background fdatasync runs every fsyncInterval).
 *
 * Positions: `durable` is the end of the last record known to be on disk; `off` the end of the last one
 * written. A failure truncates the file back to `durable` and fails every request after it; if even the
 * truncation fails the segment is abandoned (must_roll) and the next record starts a new segment.
 *
 * Threads & locking: `lock` guards the queue, `stopping` and the requests' done flags; everything else
 * (fd, positions) belongs to the writer thread (and to start/stop, before the thread runs and after it was
 * joined). */
#include "filelog_writer.h"

#include "filelog.h"
#include "log.h"
#include "relay_mutex.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>

#define RELAY_WRITER_PREALLOC (4u * 1024 * 1024)
#define RELAY_WRITER_IOV 256

struct _RelayFilelogWriter
{
  RelayFilelogWriterConfig config;
  guint n_dirs;
  GThread *thread;
  RelayMutex lock;
  RelayCond wake; /* the writer waits for requests */
  RelayCond done; /* committers wait for their request */
  RelayFilelogRequest *head, *tail;
  gboolean stopping;

  /* writer thread only */
  int fd;
  guint64 seg;
  char *seg_dir;
  guint64 off, durable, prealloc;
  gboolean prealloc_supported;
  gboolean must_roll;
  gboolean dirty; /* written since the last fdatasync */
  gint64 last_sync_us;
  RelayRateLimit error_rl, space_rl;
};

/* One group being written: the chunk not yet passed to pwritev and the requests written but not durable. */
typedef struct
{
  struct iovec iov[RELAY_WRITER_IOV];
  RelayFilelogRequest *chunk[RELAY_WRITER_IOV];
  guint n;
  guint64 len;
  GPtrArray *unsynced;
  int error;
} RelayWriterGroup;

/* ---- segment files ---- */

static void
_preallocate(RelayFilelogWriter *self, guint64 end)
{
  if (!self->prealloc_supported || end <= self->prealloc)
    return;
  guint64 want = MIN(MAX(end, self->prealloc + RELAY_WRITER_PREALLOC), self->config.max_file_size);
  int err = posix_fallocate(self->fd, (off_t)self->prealloc, (off_t)(want - self->prealloc));
  if (err == 0)
    self->prealloc = want;
  else if (err == EOPNOTSUPP || err == EINVAL || err == ENOSYS)
    self->prealloc_supported = FALSE; /* the write itself will allocate */
}

/* On failure sets *err to the errno value and error to a message. */
static gboolean
_open_segment(RelayFilelogWriter *self, guint64 id, int *err, GError **error)
{
  const char *dir = self->config.dirs[id % self->n_dirs];
  char *name = relay_filelog_segment_name(id);
  char *path = g_build_filename(dir, name, NULL);
  guint8 header[RELAY_FILELOG_SEGMENT_HEADER];
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);

  relay_filelog_segment_header_encode(header, id);
  if (fd < 0 || !relay_filelog_pwrite_all(fd, header, sizeof header, 0) || fdatasync(fd) < 0
      || !relay_filelog_sync_dir(dir, NULL))
    {
      *err = errno ? errno : EIO;
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "cannot create segment %s: %s", path, g_strerror(*err));
      if (fd >= 0)
        {
          close(fd);
          unlink(path);
        }
      g_free(name);
      g_free(path);
      return FALSE;
    }
  self->fd = fd;
  self->seg = id;
  self->off = self->durable = self->prealloc = RELAY_FILELOG_SEGMENT_HEADER;
  self->must_roll = FALSE;
  _preallocate(self, RELAY_FILELOG_SEGMENT_HEADER + 1);
  if (self->config.opened)
    self->config.opened(id, path, self->config.user_data);
  g_free(name);
  g_free(path);
  return TRUE;
}

/* Cuts the preallocated tail, syncs and closes the segment (its records were made durable before). */
static void
_seal_segment(RelayFilelogWriter *self)
{
  if (self->fd < 0)
    return;
  if (self->prealloc > self->off && ftruncate(self->fd, (off_t)self->off) < 0)
    relay_warn(self->config.log_prefix, "cannot trim segment %" G_GUINT64_FORMAT ": %s", self->seg,
               g_strerror(errno));
  if (fdatasync(self->fd) < 0)
    relay_log_ratelimited(&self->error_rl, RELAY_LOG_ERROR, self->config.log_prefix,
                          "fdatasync of sealed segment %" G_GUINT64_FORMAT " failed: %s", self->seg,
                          g_strerror(errno));
  close(self->fd);
  self->fd = -1;
}

/* ---- failures ---- */

static void
_fail_undurable(RelayFilelogWriter *self, RelayWriterGroup *g, int err, const char *what)
{
  relay_log_ratelimited(&self->error_rl, RELAY_LOG_ERROR, self->config.log_prefix,
                        "%s failed, commits refused: %s segment=%" G_GUINT64_FORMAT
                        " offset=%" G_GUINT64_FORMAT,
                        what, g_strerror(err), self->seg, self->durable);
  for (guint i = 0; i < g->unsynced->len; i++)
    ((RelayFilelogRequest *)g_ptr_array_index(g->unsynced, i))->error = err;
  for (guint i = 0; i < g->n; i++)
    g->chunk[i]->error = err;
  g_ptr_array_set_size(g->unsynced, 0);
  g->n = 0;
  g->len = 0;
  g->error = err;
  if (ftruncate(self->fd, (off_t)self->durable) == 0)
    self->prealloc = self->durable;
  else
    self->must_roll = TRUE; /* unknown bytes after durable: never append after them */
  self->off = self->durable;
  self->dirty = FALSE;
}

/* ---- writing ---- */

static gboolean
_pwritev_all(int fd, struct iovec *iov, guint n, guint64 offset)
{
  while (n > 0)
    {
      ssize_t done = pwritev(fd, iov, (int)n, (off_t)offset);
      if (done < 0 && errno == EINTR)
        continue;
      if (done <= 0)
        {
          if (done == 0)
            errno = EIO;
          return FALSE;
        }
      offset += (guint64)done;
      while (n > 0 && (gsize)done >= iov->iov_len)
        {
          done -= (ssize_t)iov->iov_len;
          iov++;
          n--;
        }
      if (n > 0)
        {
          iov->iov_base = (guint8 *)iov->iov_base + done;
          iov->iov_len -= (gsize)done;
        }
    }
  return TRUE;
}

static gboolean
_flush(RelayFilelogWriter *self, RelayWriterGroup *g)
{
  if (g->n == 0)
    return TRUE;
  _preallocate(self, self->off + g->len);
  if (!_pwritev_all(self->fd, g->iov, g->n, self->off))
    {
      _fail_undurable(self, g, errno, "write");
      return FALSE;
    }
  self->off += g->len;
  self->dirty = TRUE;
  for (guint i = 0; i < g->n; i++)
    g_ptr_array_add(g->unsynced, g->chunk[i]);
  g->n = 0;
  g->len = 0;
  return TRUE;
}

static gboolean
_sync(RelayFilelogWriter *self, RelayWriterGroup *g)
{
  if (self->dirty && fdatasync(self->fd) < 0)
    {
      _fail_undurable(self, g, errno, "fdatasync");
      return FALSE;
    }
  self->dirty = FALSE;
  self->last_sync_us = g_get_monotonic_time();
  self->durable = self->off;
  g_ptr_array_set_size(g->unsynced, 0);
  return TRUE;
}

/* Without fsyncPerTransaction a written record counts as done; the periodic sync makes it durable. */
static void
_settle_unsynced(RelayFilelogWriter *self, RelayWriterGroup *g)
{
  self->durable = self->off;
  g_ptr_array_set_size(g->unsynced, 0);
}

static gboolean
_roll(RelayFilelogWriter *self, RelayWriterGroup *g)
{
  GError *error = NULL;
  int err = 0;

  if (!_flush(self, g) || !_sync(self, g))
    return FALSE;
  _seal_segment(self);
  if (_open_segment(self, self->seg + 1, &err, &error))
    return TRUE;
  relay_log_ratelimited(&self->error_rl, RELAY_LOG_ERROR, self->config.log_prefix, "%s", error->message);
  g->error = err;
  g_error_free(error);
  return FALSE;
}

/* Adds req to the chunk at the next position, rolling the segment first if it would not fit. */
static void
_add(RelayFilelogWriter *self, RelayWriterGroup *g, RelayFilelogRequest *req)
{
  if (req->len > self->config.max_file_size - RELAY_FILELOG_SEGMENT_HEADER)
    {
      req->error = EFBIG;
      return;
    }
  if ((self->fd < 0 || self->must_roll || self->off + g->len + req->len > self->config.max_file_size)
      && !_roll(self, g))
    {
      req->error = g->error;
      return;
    }
  if (g->n == RELAY_WRITER_IOV && !_flush(self, g))
    {
      req->error = g->error;
      return;
    }
  req->seg = self->seg;
  req->off = (guint32)(self->off + g->len);
  g->iov[g->n] = (struct iovec){ (void *)req->data, req->len };
  g->chunk[g->n++] = req;
  g->len += req->len;
}

/* Free-space guard: put records are refused below min_free; takes go on so the channel can drain. */
static void
_check_space(RelayFilelogWriter *self, GPtrArray *requests)
{
  guint64 put_bytes = 0;
  struct statvfs st;

  for (guint i = 0; i < requests->len; i++)
    {
      RelayFilelogRequest *req = g_ptr_array_index(requests, i);
      put_bytes += req->is_put ? req->len : 0;
    }
  if (put_bytes == 0 || self->fd < 0 || fstatvfs(self->fd, &st) < 0)
    return;
  guint64 avail = (guint64)st.f_bavail * st.f_frsize;
  if (avail >= self->config.min_free + put_bytes)
    return;
  relay_log_ratelimited(&self->space_rl, RELAY_LOG_ERROR, self->config.log_prefix,
                        "free space below minimumRequiredSpace, puts refused free=%" G_GUINT64_FORMAT
                        " required=%" G_GUINT64_FORMAT " dir=%s",
                        avail, self->config.min_free + put_bytes,
                        self->config.dirs[self->seg % self->n_dirs]);
  for (guint i = 0; i < requests->len; i++)
    {
      RelayFilelogRequest *req = g_ptr_array_index(requests, i);
      if (req->is_put)
        req->error = ENOSPC;
    }
}

/* A group of take records only needs no sync of its own: losing a take can only bring back an event that
 * was already delivered (a duplicate, which at-least-once allows), never lose one. Such groups stay dirty;
 * the next group with a put, a segment roll, a checkpoint (which syncs the writer first) or the background
 * sync (fsyncInterval) makes them durable, as with fsyncPerTransaction = false. Puts are never
 * acknowledged before their fdatasync. */
static gboolean
_has_put(GPtrArray *requests)
{
  for (guint i = 0; i < requests->len; i++)
    {
      RelayFilelogRequest *req = g_ptr_array_index(requests, i);
      if (req->is_put || !req->data)
        return TRUE;
    }
  return FALSE;
}

static void
_write_group(RelayFilelogWriter *self, GPtrArray *requests)
{
  RelayWriterGroup g = { .unsynced = g_ptr_array_new() };
  gboolean want_sync = self->config.fsync_per_txn && _has_put(requests);

  _check_space(self, requests);
  for (guint i = 0; i < requests->len; i++)
    {
      RelayFilelogRequest *req = g_ptr_array_index(requests, i);
      if (req->error)
        continue;
      if (g.error)
        req->error = g.error;
      else if (!req->data)
        want_sync = TRUE;
      else
        _add(self, &g, req);
    }
  if (_flush(self, &g))
    {
      if (want_sync)
        _sync(self, &g);
      else
        _settle_unsynced(self, &g);
    }
  for (guint i = 0; i < requests->len; i++)
    {
      RelayFilelogRequest *req = g_ptr_array_index(requests, i);
      if (!req->data && g.error && !req->error)
        req->error = g.error;
    }
  g_ptr_array_free(g.unsynced, TRUE);
}

/* ---- thread ---- */

static void
_complete(RelayFilelogWriter *self, GPtrArray *requests)
{
  if (self->config.apply)
    self->config.apply((RelayFilelogRequest *const *)requests->pdata, requests->len, self->seg, self->durable,
                       self->config.user_data);
  relay_mutex_lock(&self->lock);
  for (guint i = 0; i < requests->len; i++)
    ((RelayFilelogRequest *)g_ptr_array_index(requests, i))->done = TRUE;
  relay_cond_broadcast(&self->done);
  relay_mutex_unlock(&self->lock);
}

/* Caller holds lock. Moves the queue into requests; waits up to the fsync interval when it is empty. */
static void
_dequeue(RelayFilelogWriter *self, GPtrArray *requests)
{
  if (!self->head && !self->stopping)
    {
      if (self->dirty)
        relay_cond_wait_until(&self->wake, &self->lock,
                              g_get_monotonic_time() + (gint64)self->config.fsync_interval_ms * 1000);
      else
        relay_cond_wait(&self->wake, &self->lock);
    }
  for (RelayFilelogRequest *req = self->head; req; req = req->next)
    g_ptr_array_add(requests, req);
  self->head = self->tail = NULL;
}

/* Runs in: the writer thread; the periodic sync of records written without one (fsyncPerTransaction false,
 * or take-only groups). */
static void
_background_sync(RelayFilelogWriter *self)
{
  gint64 now = g_get_monotonic_time();

  if (!self->dirty || self->fd < 0
      || now - self->last_sync_us < (gint64)self->config.fsync_interval_ms * 1000)
    return;
  self->last_sync_us = now;
  if (fdatasync(self->fd) < 0)
    relay_log_ratelimited(&self->error_rl, RELAY_LOG_ERROR, self->config.log_prefix,
                          "background fdatasync failed: %s segment=%" G_GUINT64_FORMAT, g_strerror(errno),
                          self->seg);
  else
    self->dirty = FALSE;
}

/* Runs in: the writer thread. */
static gpointer
_thread_main(gpointer data)
{
  RelayFilelogWriter *self = data;
  GPtrArray *requests = g_ptr_array_new();

  relay_mutex_lock(&self->lock);
  for (;;)
    {
      _dequeue(self, requests);
      gboolean stop = self->stopping && requests->len == 0;
      relay_mutex_unlock(&self->lock);
      if (stop)
        break;
      if (requests->len)
        {
          _write_group(self, requests);
          _complete(self, requests);
          g_ptr_array_set_size(requests, 0);
        }
      _background_sync(self);
      relay_mutex_lock(&self->lock);
    }
  g_ptr_array_free(requests, TRUE);
  return NULL;
}

/* ---- public ---- */

RelayFilelogWriter *
relay_filelog_writer_start(const RelayFilelogWriterConfig *config, GError **error)
{
  RelayFilelogWriter *self = g_new0(RelayFilelogWriter, 1);

  self->config = *config;
  self->n_dirs = g_strv_length(config->dirs);
  self->fd = -1;
  self->prealloc_supported = TRUE;
  self->last_sync_us = g_get_monotonic_time();
  self->error_rl = (RelayRateLimit)RELAY_RATELIMIT_INIT;
  self->space_rl = (RelayRateLimit)RELAY_RATELIMIT_INIT;
  relay_mutex_init(&self->lock);
  relay_cond_init(&self->wake);
  relay_cond_init(&self->done);
  int err = 0;
  if (self->n_dirs == 0 || !_open_segment(self, config->first_id, &err, error))
    {
      if (self->n_dirs == 0)
        g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "no data directory");
      relay_mutex_clear(&self->lock);
      relay_cond_clear(&self->wake);
      relay_cond_clear(&self->done);
      g_free(self);
      return NULL;
    }
  self->thread = relay_thread_new("filelog-writer", _thread_main, self);
  return self;
}

void
relay_filelog_writer_submit(RelayFilelogWriter *self, RelayFilelogRequest *req)
{
  req->done = FALSE;
  req->error = 0;
  req->next = NULL;
  relay_mutex_lock(&self->lock);
  if (self->tail)
    self->tail->next = req;
  else
    self->head = req;
  self->tail = req;
  relay_cond_signal(&self->wake);
  relay_mutex_unlock(&self->lock);
}

void
relay_filelog_writer_wait(RelayFilelogWriter *self, RelayFilelogRequest *req)
{
  relay_mutex_lock(&self->lock);
  while (!req->done)
    relay_cond_wait(&self->done, &self->lock);
  relay_mutex_unlock(&self->lock);
}

void
relay_filelog_writer_stop(RelayFilelogWriter *self)
{
  if (!self)
    return;
  relay_mutex_lock(&self->lock);
  self->stopping = TRUE;
  relay_cond_signal(&self->wake);
  relay_mutex_unlock(&self->lock);
  g_thread_join(self->thread);
  _seal_segment(self);
  relay_mutex_clear(&self->lock);
  relay_cond_clear(&self->wake);
  relay_cond_clear(&self->done);
  g_free(self);
}
