/* sink_file_roll.c - the file_roll sink: writes event bodies as text lines into rolling files in one
 * directory (Flume's RollingFileSink with the DEFAULT path manager and the TEXT serializer).
 *
 * Files are named <prefix><startTimeMillis>-<counter>[.<extension>], where startTimeMillis is taken once at
 * start and counter counts files from 1, as Flume's DefaultPathManager does. A file is opened lazily, when
 * the first batch has to be written, and closed when sink.rollInterval seconds have passed since it was
 * opened (checked at every process() call; the runner calls at least every 5 s) or at stop, so idle
 * periods leave no empty files. Each event is written as [headers "{k=v, ...} "] body ["\n"].
 *
 * Batch cycle: take up to sink.batchSize events, write them all with writev(2) (one call per batch unless
 * the batch needs more than IOV_MAX pieces), commit only after every byte reached the kernel; nothing is
 * buffered in user space, so the data is flushed before the commit (no fsync, as Flume). On a write error
 * the file is truncated back to its size before the batch (closed if that fails), the transaction is rolled
 * back and the sink reports FAILED, so the events are retried and a file never holds half a batch.
 *
 * Threads: configure/start/stop/free run on the main thread; process() and everything it touches (fd,
 * buffers, counters) run on the sink's runner thread between start and stop. */
#include "channel.h"
#include "component.h"
#include "counters.h"
#include "event.h"
#include "log.h"
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define RELAY_FILE_ROLL_MAX_BATCH 100000
/* Attempts with the next counter value when a file name already exists. */
#define RELAY_FILE_ROLL_OPEN_ATTEMPTS 100
#define RELAY_FILE_ROLL_IOV_PER_EVENT 3

typedef struct
{
  RelaySink super;
  /* Options. */
  char *directory;
  gint64 roll_interval_s;
  gint64 batch_size;
  char *path_manager;
  char *prefix;
  char *extension;
  char *serializer;
  gboolean append_newline;
  gboolean write_headers;

  /* Buffers sized at start. */
  RelayEvent **batch;   /* batch_size slots */
  struct iovec *iov;    /* batch_size x 3 pieces */
  gsize *header_end;    /* end offset of each event's header text in header_text */
  GString *header_text; /* the "{k=v, ...} " prefixes of one batch */

  /* Current file. */
  gint64 series_start_ms;
  guint64 file_counter;
  int fd; /* -1 when no file is open */
  char *path;
  gint64 opened_at_us; /* monotonic */
  gint64 file_size;    /* bytes written to the current file */
  RelayRateLimit io_rl;
} RelaySinkFileRoll;

static const char *
_prefix(RelaySinkFileRoll *self)
{
  return self->super.super.log_prefix;
}

/* ---- files ---- */

static char *
_next_path(RelaySinkFileRoll *self)
{
  self->file_counter++;
  return g_strdup_printf("%s/%s%" G_GINT64_FORMAT "-%" G_GUINT64_FORMAT "%s%s", self->directory, self->prefix,
                         self->series_start_ms, self->file_counter, self->extension[0] ? "." : "",
                         self->extension);
}

/* Runs in: the sink's runner thread. Opens the next file; an existing name is skipped, never appended to. */
static gboolean
_open_next_file(RelaySinkFileRoll *self)
{
  for (guint attempt = 0; attempt < RELAY_FILE_ROLL_OPEN_ATTEMPTS; attempt++)
    {
      char *path = _next_path(self);
      int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0666);
      if (fd >= 0)
        {
          self->fd = fd;
          self->path = path;
          self->opened_at_us = g_get_monotonic_time();
          self->file_size = 0;
          relay_counter_inc(&self->super.counters.connection_created);
          relay_debug(_prefix(self), "opened file path=%s", path);
          return TRUE;
        }
      int err = errno;
      if (err != EEXIST)
        {
          self->file_counter--; /* the name was not used: keep the series without gaps */
          relay_log_ratelimited(&self->io_rl, RELAY_LOG_ERROR, _prefix(self),
                                "cannot open file path=%s error=%s", path, g_strerror(err));
          g_free(path);
          break;
        }
      g_free(path);
    }
  relay_counter_inc(&self->super.counters.connection_failed);
  return FALSE;
}

static void
_close_file(RelaySinkFileRoll *self)
{
  if (self->fd < 0)
    return;
  if (close(self->fd) != 0)
    relay_warn(_prefix(self), "close failed path=%s error=%s", self->path, g_strerror(errno));
  relay_debug(_prefix(self), "closed file path=%s bytes=%" G_GINT64_FORMAT, self->path, self->file_size);
  self->fd = -1;
  g_clear_pointer(&self->path, g_free);
  relay_counter_inc(&self->super.counters.connection_closed);
}

/* Runs in: the sink's runner thread. */
static void
_roll_if_due(RelaySinkFileRoll *self)
{
  if (self->fd < 0 || self->roll_interval_s <= 0)
    return;
  if (g_get_monotonic_time() - self->opened_at_us >= self->roll_interval_s * G_USEC_PER_SEC)
    _close_file(self);
}

/* ---- serialization ---- */

static void
_append_headers(GString *out, const RelayEvent *ev)
{
  g_string_append_c(out, '{');
  for (guint32 i = 0; i < ev->n_headers; i++)
    {
      if (i)
        g_string_append(out, ", ");
      g_string_append_len(out, ev->headers[i].key, ev->headers[i].key_len);
      g_string_append_c(out, '=');
      g_string_append_len(out, ev->headers[i].value, ev->headers[i].value_len);
    }
  g_string_append(out, "} ");
}

/* Formats every event's header prefix first (header_text may move while it grows), then points the
 * pieces at it. Returns the number of pieces; *total gets the byte count. */
static guint
_build_iovecs(RelaySinkFileRoll *self, guint n, gsize *total)
{
  static char newline[] = "\n";
  guint k = 0;

  g_string_truncate(self->header_text, 0);
  for (guint i = 0; self->write_headers && i < n; i++)
    {
      _append_headers(self->header_text, self->batch[i]);
      self->header_end[i] = self->header_text->len;
    }
  *total = 0;
  for (guint i = 0; i < n; i++)
    {
      if (self->write_headers)
        {
          gsize start = i ? self->header_end[i - 1] : 0;
          self->iov[k++] = (struct iovec){ self->header_text->str + start, self->header_end[i] - start };
        }
      self->iov[k++] = (struct iovec){ (void *)self->batch[i]->body, self->batch[i]->body_len };
      if (self->append_newline)
        self->iov[k++] = (struct iovec){ newline, 1 };
      *total += self->batch[i]->body_len + (self->append_newline ? 1 : 0);
    }
  if (self->write_headers)
    *total += self->header_text->len;
  return k;
}

/* Writes all pieces, continuing after short writes. FALSE with errno set on error. */
static gboolean
_write_all(int fd, struct iovec *iov, guint count)
{
  while (count > 0)
    {
      ssize_t written = writev(fd, iov, (int)MIN(count, (guint)IOV_MAX));
      if (written < 0 && errno == EINTR)
        continue;
      if (written < 0)
        return FALSE;
      gsize left = (gsize)written;
      while (count > 0 && left >= iov->iov_len)
        {
          left -= iov->iov_len;
          iov++;
          count--;
        }
      if (count > 0)
        {
          iov->iov_base = (char *)iov->iov_base + left;
          iov->iov_len -= left;
        }
    }
  return TRUE;
}

/* After a failed write: cut the file back to its size before the batch, or give it up if that fails. */
static void
_undo_partial_write(RelaySinkFileRoll *self)
{
  if (ftruncate(self->fd, self->file_size) == 0)
    return;
  relay_log_ratelimited(&self->io_rl, RELAY_LOG_ERROR, _prefix(self),
                        "cannot truncate after a failed write, closing path=%s size=%" G_GINT64_FORMAT
                        " error=%s",
                        self->path, self->file_size, g_strerror(errno));
  _close_file(self);
}

/* Runs in: the sink's runner thread. */
static gboolean
_write_batch(RelaySinkFileRoll *self, guint n)
{
  gsize total;

  if (self->fd < 0 && !_open_next_file(self))
    return FALSE;
  guint pieces = _build_iovecs(self, n, &total);
  if (!_write_all(self->fd, self->iov, pieces))
    {
      relay_log_ratelimited(&self->io_rl, RELAY_LOG_ERROR, _prefix(self),
                            "write failed, batch rolled back path=%s events=%u bytes=%" G_GSIZE_FORMAT
                            " error=%s",
                            self->path, n, total, g_strerror(errno));
      _undo_partial_write(self);
      return FALSE;
    }
  self->file_size += (gint64)total;
  relay_counter_add(&self->super.counters.bytes_sent, (gint64)total);
  return TRUE;
}

/* ---- process ---- */

static void
_count_batch(RelaySinkFileRoll *self, guint n)
{
  RelaySinkCounters *counters = &self->super.counters;

  relay_counter_add(&counters->event_drain_success, n);
  if (n == 0)
    relay_counter_inc(&counters->batch_empty);
  else if (n < self->batch_size)
    relay_counter_inc(&counters->batch_underflow);
  else
    relay_counter_inc(&counters->batch_complete);
}

/* Runs in: the sink's runner thread. */
static RelaySinkStatus
_file_roll_process(RelaySink *sink)
{
  RelaySinkFileRoll *self = (RelaySinkFileRoll *)sink;

  _roll_if_due(self);
  RelayTxn *txn = relay_channel_begin(sink->channel);
  guint n = relay_txn_take(txn, self->batch, (guint)self->batch_size);
  relay_counter_add(&sink->counters.event_drain_attempt, n);
  if (n && !_write_batch(self, n))
    {
      relay_txn_rollback(txn);
      relay_txn_close(txn);
      relay_counter_add(&sink->counters.event_write_fail, n);
      return RELAY_SINK_FAILED;
    }
  RelayChannelResult result = relay_txn_commit(txn);
  if (result != RELAY_CHANNEL_OK)
    {
      relay_txn_rollback(txn);
      relay_txn_close(txn);
      relay_counter_inc(&sink->counters.channel_read_fail);
      relay_warn(_prefix(self), "take commit failed, rolled back (written events will be repeated) result=%s",
                 relay_channel_result_name(result));
      return RELAY_SINK_FAILED;
    }
  relay_txn_close(txn);
  _count_batch(self, n);
  return n < self->batch_size ? RELAY_SINK_BACKOFF : RELAY_SINK_READY;
}

/* ---- lifecycle (main thread) ---- */

static gboolean
_report_unsupported(const RelayComponentConfig *cc, RelayConfigReport *report, const char *key,
                    const char *value, const char *supported)
{
  relay_config_report_add(report, relay_component_config_get(cc, key), cc->label, key,
                          "'%s' is not supported (relayd supports %s); sink %s removed", value, supported,
                          cc->name);
  return FALSE;
}

static gboolean
_file_roll_configure(RelayComponent *component, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  RelaySinkFileRoll *self = (RelaySinkFileRoll *)component;

  if (g_ascii_strcasecmp(self->path_manager, "DEFAULT") != 0
      && strcmp(self->path_manager, "org.apache.flume.formatter.output.DefaultPathManager$Builder") != 0)
    return _report_unsupported(cc, report, "sink.pathManager", self->path_manager, "DEFAULT");
  /* Flume's HEADER_AND_TEXT serializer writes "{k=v, ...} body": the same as TEXT with headers on. */
  if (g_ascii_strcasecmp(self->serializer, "HEADER_AND_TEXT") == 0
      || strcmp(self->serializer, "org.apache.flume.serialization.HeaderAndBodyTextEventSerializer$Builder")
             == 0)
    self->write_headers = TRUE;
  else if (g_ascii_strcasecmp(self->serializer, "TEXT") != 0
           && strcmp(self->serializer, "org.apache.flume.serialization.BodyTextEventSerializer$Builder") != 0)
    return _report_unsupported(cc, report, "sink.serializer", self->serializer, "TEXT and HEADER_AND_TEXT");
  return TRUE;
}

static gboolean
_check_directory(RelaySinkFileRoll *self, GError **error)
{
  struct stat st;

  if (stat(self->directory, &st) != 0)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "%s: sink.directory %s: %s", _prefix(self),
                  self->directory, g_strerror(errno));
      return FALSE;
    }
  if (!S_ISDIR(st.st_mode))
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "%s: sink.directory %s is not a directory",
                  _prefix(self), self->directory);
      return FALSE;
    }
  if (access(self->directory, W_OK | X_OK) != 0)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "%s: sink.directory %s is not writable: %s",
                  _prefix(self), self->directory, g_strerror(errno));
      return FALSE;
    }
  return TRUE;
}

/* For --check: the directory must exist and be writable (what start() checks first). */
static gboolean
_file_roll_check_start(RelayComponent *component, GError **error)
{
  return _check_directory((RelaySinkFileRoll *)component, error);
}

static gboolean
_file_roll_start(RelayComponent *component, GError **error)
{
  RelaySinkFileRoll *self = (RelaySinkFileRoll *)component;

  if (!_check_directory(self, error))
    return FALSE;
  if (!self->batch)
    {
      self->batch = g_new0(RelayEvent *, self->batch_size);
      self->iov = g_new0(struct iovec, self->batch_size * RELAY_FILE_ROLL_IOV_PER_EVENT);
      self->header_end = g_new0(gsize, self->batch_size);
      self->header_text = g_string_sized_new(256);
    }
  self->fd = -1;
  self->series_start_ms = g_get_real_time() / 1000;
  self->file_counter = 0;
  RelayRateLimit rl = RELAY_RATELIMIT_INIT;
  self->io_rl = rl;
  return TRUE;
}

static void
_file_roll_stop(RelayComponent *component)
{
  _close_file((RelaySinkFileRoll *)component);
}

static void
_file_roll_free(RelayComponent *component)
{
  RelaySinkFileRoll *self = (RelaySinkFileRoll *)component;

  g_free(self->batch);
  g_free(self->iov);
  g_free(self->header_end);
  if (self->header_text)
    g_string_free(self->header_text, TRUE);
  g_free(self->path);
}

static const RelayOption _file_roll_options[] = {
  RELAY_OPT_STRING_ROW("sink.directory", NULL, RelaySinkFileRoll, directory, RELAY_OPTF_REQUIRED,
                       "existing, writable directory the files are written to"),
  RELAY_OPT_INT_ROW("sink.rollInterval", "30", 0, G_MAXINT32, RelaySinkFileRoll, roll_interval_s, 0,
                    "seconds after which the current file is closed (0 = never roll)"),
  RELAY_OPT_INT_ROW("sink.batchSize", "100", 1, RELAY_FILE_ROLL_MAX_BATCH, RelaySinkFileRoll, batch_size,
                    RELAY_OPTF_BATCH_SIZE, "events taken and written per transaction"),
  RELAY_OPT_STRING_ROW("sink.pathManager", "DEFAULT", RelaySinkFileRoll, path_manager, 0,
                       "file naming: only DEFAULT (<prefix><startTimeMillis>-<counter>[.<extension>])"),
  RELAY_OPT_STRING_ROW("sink.pathManager.prefix", "", RelaySinkFileRoll, prefix, RELAY_OPTF_EMPTY_OK,
                       "text before the start time in file names"),
  RELAY_OPT_STRING_ROW("sink.pathManager.extension", "", RelaySinkFileRoll, extension, RELAY_OPTF_EMPTY_OK,
                       "file name extension, added after a dot (empty = none)"),
  RELAY_OPT_STRING_ROW("sink.serializer", "TEXT", RelaySinkFileRoll, serializer, 0,
                       "TEXT (body) or HEADER_AND_TEXT (\"{k=v, ...} body\"); avro_event is not supported"),
  RELAY_OPT_BOOL_ROW("sink.serializer.appendNewline", "true", RelaySinkFileRoll, append_newline, 0,
                     "write a newline after each event"),
  RELAY_OPT_BOOL_ROW("sink.serializer.headers", "false", RelaySinkFileRoll, write_headers, 0,
                     "relayd: write the headers as \"{k=v, ...} \" before each body"),
  RELAY_OPTION_END,
};

static const RelaySinkOps _file_roll_ops = {
  .process = _file_roll_process,
};

const RelayComponentClass relay_sink_file_roll_class = {
  .kind = RELAY_KIND_SINK,
  .type = "file_roll",
  .flume_class = "org.apache.flume.sink.RollingFileSink",
  .description = "writes event bodies as lines into files rolled every sink.rollInterval seconds",
  .options = _file_roll_options,
  .instance_size = sizeof(RelaySinkFileRoll),
  .configure = _file_roll_configure,
  .start = _file_roll_start,
  .stop = _file_roll_stop,
  .free = _file_roll_free,
  .check_start = _file_roll_check_start,
  .ops = &_file_roll_ops,
};
