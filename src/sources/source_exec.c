/* source_exec.c - Flume's exec source: runs a command and makes one event per line of its stdout.
 *
 * As Flume's ExecSource (flume-ng-core/src/main/java/org/apache/flume/source/ExecSource.java): `command` is
 * split on whitespace and run directly, or given whole to `shell` (e.g. "/bin/sh -c"); lines end at '\n',
 * '\r' or "\r\n" (Java's readLine), the terminator is dropped, events have no headers; lines are put in
 * batches of batchSize, and a partial batch is put once it is batchTimeout ms old. With restart = true a
 * command that exits (or cannot be started) is run again after restartThrottle ms. With logStdErr = true its
 * stderr lines are logged at info (rate-limited), else read and dropped.
 *
 * Differences from Flume, on purpose:
 *  - The command runs in its own process group; stop sends SIGTERM to the group, SIGKILL after
 *    killTimeout ms (relayd's key) if anything is left, and reaps the command (Flume signals only the direct
 *    child and may wait forever).
 *  - A full channel never drops lines or restarts the command (Flume discards the batch and kills the
 *    process): the batch is put again after a backoff (250 ms doubling up to 4 s), and meanwhile the pipe is
 *    not read, so the command blocks in write(). Memory stays bounded: one 64 KiB read buffer, one partial
 *    line (at most RELAY_EXEC_MAX_LINE bytes; a longer line is cut into events of that size with a
 *    rate-limited warning; Java has no limit) and one batch.
 *  - Bodies are the bytes the command wrote (Flume decodes with `charset` and encodes again, which replaces
 *    malformed input). `charset` must be a character set iconv knows in which '\n' and '\r' are single
 *    bytes (UTF-8, ISO-8859-*, windows-125x, ...); UTF-16/32 are refused.
 *
 * No delivery guarantee: like Flume's, this source cannot know what its command has already written, so
 * lines read but not yet committed when relayd stops or crashes are lost, and a restarted command (tail -F
 * after a restart) may emit lines again.
 *
 * Counters: EventReceivedCount per line, EventAcceptedCount and AppendBatch{Received,Accepted}Count per
 * batch, ChannelWriteFail per failed put (by the channel processor), GenericProcessingFail per command that
 * could not be started, BytesReceived (stdout bytes), EventFailedCount for lines dropped at stop.
 *
 * Threads: everything runs on the main loop; stop() blocks it for at most killTimeout ms. */
#include "relay.h"

#include "channel.h"
#include "channel_processor.h"
#include "counters.h"
#include "event.h"
#include "exec_child.h"
#include "log.h"
#include "source.h"
#include "source_retry.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define RELAY_EXEC_READ_BUFFER (64 * 1024)
#define RELAY_EXEC_MAX_LINE (1024 * 1024)
#define RELAY_EXEC_STDERR_LINE 4096
/* Reads per readable callback, so one busy command does not starve the loop. */
#define RELAY_EXEC_READS_PER_WAKE 16
#define RELAY_EXEC_REAP_POLL_MS 100
#define RELAY_EXEC_BACKOFF_FIRST_MS 250
#define RELAY_EXEC_BACKOFF_MAX_MS 4000

typedef struct
{
  RelaySource super;
  char *command;
  char *shell;
  gboolean restart;
  gint64 restart_throttle_ms;
  gboolean log_stderr;
  gint64 batch_size;
  gint64 batch_timeout_ms;
  char *charset;
  gint64 kill_timeout_ms;

  char **argv;
  RelayExecChild child;
  gboolean have_child; /* a run is in progress (child not reaped or pipes open) */
  gboolean stopping;
  struct event *ev_out, *ev_err;
  struct event *ev_reap;    /* persistent: polls waitpid while the child runs */
  struct event *ev_flush;   /* persistent, every batchTimeout: puts a partial batch */
  struct event *ev_restart; /* one-shot: the next run after restartThrottle */
  struct event *ev_resume;  /* one-shot: continue after a put completed */
  RelayRetry retry;         /* put in_flight again after a failed put */

  guint8 *buf; /* stdout bytes read and not yet split into lines: buf[pos..len) */
  gsize pos, len;
  GByteArray *partial; /* start of a line whose end has not been read yet */
  gboolean skip_lf;    /* the last line ended at '\r': a following '\n' belongs to it */
  GPtrArray *batch;    /* lines not yet put */
  gint64 batch_start_us;

  GPtrArray *in_flight; /* the batch being put (own references, kept for a retry) */
  RelayPutRequest *pending;
  gboolean blocked;    /* a put is pending or waits for its retry: the pipe is not read */
  gboolean submitting; /* inside relay_channel_processor_submit (done may run synchronously) */

  char err_line[RELAY_EXEC_STDERR_LINE];
  gsize err_len;
  RelayRateLimit rl_stderr, rl_long, rl_run;
} RelayExecSource;

static const RelayOption _exec_options[] = {
  RELAY_OPT_STRING_ROW("command", NULL, RelayExecSource, command, RELAY_OPTF_REQUIRED,
                       "the command to run (split on whitespace unless shell is set)"),
  RELAY_OPT_STRING_ROW("shell", NULL, RelayExecSource, shell, 0,
                       "shell to run the command with, e.g. /bin/sh -c (the command is its last argument)"),
  RELAY_OPT_BOOL_ROW("restart", "false", RelayExecSource, restart, 0, "run the command again when it exits"),
  RELAY_OPT_INT_ROW("restartThrottle", "10000", 0, G_MAXINT32, RelayExecSource, restart_throttle_ms, 0,
                    "ms to wait before running the command again"),
  RELAY_OPT_BOOL_ROW("logStdErr", "false", RelayExecSource, log_stderr, 0,
                     "log the command's stderr lines at info (rate-limited)"),
  RELAY_OPT_INT_ROW("batchSize", "20", 1, G_MAXINT32, RelayExecSource, batch_size, RELAY_OPTF_BATCH_SIZE,
                    "lines per put (at most the channels' transactionCapacity)"),
  RELAY_OPT_INT_ROW("batchTimeout", "3000", 1, G_MAXINT32, RelayExecSource, batch_timeout_ms, 0,
                    "ms after which a partial batch is put"),
  RELAY_OPT_STRING_ROW("charset", "UTF-8", RelayExecSource, charset, 0,
                       "character set of the output (bodies are the bytes written; UTF-16/32 refused)"),
  RELAY_OPT_INT_ROW("killTimeout", "5000", 0, 600000, RelayExecSource, kill_timeout_ms, 0,
                    "relayd: ms between SIGTERM and SIGKILL to the command's process group at stop"),
  RELAY_OPTION_END,
};

static void _start_run(RelayExecSource *src);
static void _pump(RelayExecSource *src);

/* ---- batches ---- */

static void
_add_line(RelayExecSource *src, const guint8 *data, gsize len)
{
  if (src->batch->len == 0)
    src->batch_start_us = g_get_monotonic_time();
  g_ptr_array_add(src->batch, relay_event_new(NULL, 0, data, len));
  relay_counter_inc(&src->super.counters.event_received);
}

static void
_on_put_done(RelayPutResult result, gpointer user_data)
{
  RelayExecSource *src = user_data;
  RelaySourceCounters *counters = &src->super.counters;

  src->pending = NULL;
  if (result == RELAY_PUT_OK)
    {
      relay_counter_add(&counters->event_accepted, src->in_flight->len);
      relay_counter_inc(&counters->append_batch_accepted);
      g_ptr_array_set_size(src->in_flight, 0);
      relay_retry_reset(&src->retry);
      if (src->submitting)
        src->blocked = FALSE; /* the caller goes on splitting */
      else
        event_active(src->ev_resume, EV_TIMEOUT, 0);
      return;
    }
  /* The channel processor counted ChannelWriteFail and logged (rate-limited); the same lines go again. */
  guint wait_ms = relay_retry_arm(&src->retry);
  relay_debug(src->super.super.log_prefix, "put failed, retrying result=%s events=%u backoff_ms=%u",
              relay_put_result_name(result), src->in_flight->len, wait_ms);
}

/* Puts in_flight (again). done may run before submit returns. */
static void
_submit_in_flight(RelayExecSource *src)
{
  src->blocked = TRUE;
  src->submitting = TRUE;
  src->pending = relay_source_submit_copy(&src->super, src->in_flight, _on_put_done, src);
  src->submitting = FALSE;
}

static void
_submit_batch(RelayExecSource *src)
{
  GPtrArray *tmp = src->in_flight;

  src->in_flight = src->batch;
  src->batch = tmp;
  _submit_in_flight(src);
}

/* ---- stdout ---- */

static void
_cut_long_line(RelayExecSource *src)
{
  relay_log_ratelimited(&src->rl_long, RELAY_LOG_WARN, src->super.super.log_prefix,
                        "line longer than %d bytes, cut into several events", RELAY_EXEC_MAX_LINE);
  _add_line(src, src->partial->data, src->partial->len);
  g_byte_array_set_size(src->partial, 0);
}

/* Splits buf[pos..len) into lines until the buffer is empty or a batch is full. */
static void
_split(RelayExecSource *src)
{
  while (src->pos < src->len && (gint64)src->batch->len < src->batch_size)
    {
      const guint8 *p = src->buf + src->pos;
      gsize n = src->len - src->pos;
      if (src->skip_lf)
        {
          src->skip_lf = FALSE;
          if (p[0] == '\n')
            {
              src->pos++;
              continue;
            }
        }
      const guint8 *nl = memchr(p, '\n', n);
      gsize end = nl ? (gsize)(nl - p) : n;
      const guint8 *cr = memchr(p, '\r', end);
      if (cr)
        end = (gsize)(cr - p);
      if (!nl && !cr)
        {
          gsize room = RELAY_EXEC_MAX_LINE - src->partial->len;
          g_byte_array_append(src->partial, p, (guint)MIN(n, room));
          src->pos += MIN(n, room);
          if (src->partial->len >= RELAY_EXEC_MAX_LINE)
            _cut_long_line(src);
          continue;
        }
      if (src->partial->len)
        {
          g_byte_array_append(src->partial, p, (guint)end);
          _add_line(src, src->partial->data, src->partial->len);
          g_byte_array_set_size(src->partial, 0);
        }
      else
        _add_line(src, p, end);
      src->skip_lf = cr != NULL;
      src->pos += end + 1;
    }
  if ((gint64)src->batch->len >= src->batch_size)
    _submit_batch(src);
}

static void _maybe_end_run(RelayExecSource *src);

static void
_out_eof(RelayExecSource *src)
{
  if (src->partial->len)
    {
      _add_line(src, src->partial->data, src->partial->len); /* readLine returns an unterminated last line */
      g_byte_array_set_size(src->partial, 0);
    }
  event_del(src->ev_out);
  close(src->child.out_fd);
  src->child.out_fd = -1;
}

/* Reads and splits until the pipe is empty, a put blocks, or this wake-up's share of reads is used. */
static void
_pump(RelayExecSource *src)
{
  for (int reads = 0; !src->blocked;)
    {
      if (src->pos < src->len)
        {
          _split(src);
          continue;
        }
      if (src->child.out_fd < 0 || reads++ == RELAY_EXEC_READS_PER_WAKE)
        break;
      ssize_t n = read(src->child.out_fd, src->buf, RELAY_EXEC_READ_BUFFER);
      if (n > 0)
        {
          src->pos = 0;
          src->len = (gsize)n;
          relay_counter_add(&src->super.counters.bytes_received, n);
          continue;
        }
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        break;
      if (n < 0)
        relay_warn(src->super.super.log_prefix, "reading the command's output failed: %s", g_strerror(errno));
      _out_eof(src);
    }
  if (!src->blocked && src->batch->len
      && (src->child.out_fd < 0
          || g_get_monotonic_time() - src->batch_start_us >= src->batch_timeout_ms * 1000))
    _submit_batch(src);
  if (src->child.out_fd >= 0 && !src->blocked)
    event_add(src->ev_out, NULL);
  _maybe_end_run(src);
}

static void
_on_out_readable(evutil_socket_t fd, short what, void *arg)
{
  RelayExecSource *src = arg;

  _pump(src);
  if (src->blocked && src->child.out_fd >= 0)
    event_del(src->ev_out); /* the command blocks in write() until the put completes */
}

/* After a put completed. */
static void
_on_resume(evutil_socket_t fd, short what, void *arg)
{
  RelayExecSource *src = arg;

  src->blocked = src->pending != NULL || relay_retry_pending(&src->retry);
  if (!src->blocked)
    _on_out_readable(-1, 0, src);
}

/* The backoff after a failed put is over: put the same lines again. */
static void
_on_retry(evutil_socket_t fd, short what, void *arg)
{
  RelayExecSource *src = arg;

  _submit_in_flight(src);
  if (!src->blocked)
    _on_out_readable(-1, 0, src);
}

static void
_on_flush_timer(evutil_socket_t fd, short what, void *arg)
{
  RelayExecSource *src = arg;

  if (!src->blocked && src->batch->len)
    _submit_batch(src);
}

/* ---- stderr ---- */

static void
_err_line(RelayExecSource *src)
{
  if (src->log_stderr)
    relay_log_ratelimited(&src->rl_stderr, RELAY_LOG_INFO, src->super.super.log_prefix, "stderr line=%.*s",
                          (int)src->err_len, src->err_line);
  src->err_len = 0;
}

static void
_on_err_readable(evutil_socket_t fd, short what, void *arg)
{
  RelayExecSource *src = arg;
  char chunk[4096];
  ssize_t n = read(fd, chunk, sizeof chunk);

  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0)
    {
      if (src->err_len)
        _err_line(src);
      event_del(src->ev_err);
      close(src->child.err_fd);
      src->child.err_fd = -1;
      _maybe_end_run(src);
      return;
    }
  for (ssize_t i = 0; i < n; i++)
    {
      if (chunk[i] == '\n' || chunk[i] == '\r')
        {
          if (src->err_len)
            _err_line(src);
          continue;
        }
      src->err_line[src->err_len++] = chunk[i];
      if (src->err_len == sizeof src->err_line)
        _err_line(src);
    }
}

/* ---- runs ---- */

static void
_free_run_events(RelayExecSource *src)
{
  g_clear_pointer(&src->ev_out, event_free);
  g_clear_pointer(&src->ev_err, event_free);
}

/* A run is over when the command was reaped, both pipes reached EOF and every line was put. */
static void
_maybe_end_run(RelayExecSource *src)
{
  if (!src->have_child || !src->child.reaped || src->child.out_fd >= 0 || src->child.err_fd >= 0
      || src->blocked || src->batch->len || src->stopping)
    return;
  src->have_child = FALSE;
  _free_run_events(src);
  if (!src->restart)
    {
      relay_info(src->super.super.log_prefix, "command ended, not restarting (restart = false)");
      return;
    }
  relay_evtimer_add_ms(src->ev_restart, src->restart_throttle_ms);
}

static void
_on_reap_timer(evutil_socket_t fd, short what, void *arg)
{
  RelayExecSource *src = arg;

  if (!relay_exec_child_poll(&src->child))
    return;
  evtimer_del(src->ev_reap);
  char *text = relay_exec_status_text(src->child.status);
  relay_log_ratelimited(&src->rl_run, RELAY_LOG_INFO, src->super.super.log_prefix, "command exited pid=%d %s",
                        (int)src->child.pid, text);
  g_free(text);
  _maybe_end_run(src);
}

static void
_on_restart(evutil_socket_t fd, short what, void *arg)
{
  _start_run(arg);
}

static void
_start_run(RelayExecSource *src)
{
  GError *error = NULL;

  if (!relay_exec_child_spawn(src->argv, &src->child, &error))
    {
      relay_counter_inc(&src->super.counters.generic_processing_fail);
      relay_log_ratelimited(&src->rl_run, RELAY_LOG_ERROR, src->super.super.log_prefix, "%s%s",
                            error->message, src->restart ? "; will retry after restartThrottle" : "");
      g_error_free(error);
      if (src->restart)
        {
          relay_evtimer_add_ms(src->ev_restart, src->restart_throttle_ms);
        }
      return;
    }
  src->have_child = TRUE;
  src->skip_lf = FALSE;
  src->pos = src->len = 0;
  src->err_len = 0;
  src->ev_out = event_new(src->super.base, src->child.out_fd, EV_READ | EV_PERSIST, _on_out_readable, src);
  src->ev_err = event_new(src->super.base, src->child.err_fd, EV_READ | EV_PERSIST, _on_err_readable, src);
  event_add(src->ev_out, NULL);
  event_add(src->ev_err, NULL);
  relay_evtimer_add_ms(src->ev_reap, RELAY_EXEC_REAP_POLL_MS);
  relay_log_ratelimited(&src->rl_run, RELAY_LOG_INFO, src->super.super.log_prefix,
                        "command started pid=%d command=%s", (int)src->child.pid, src->command);
}

/* ---- lifecycle ---- */

/* '\n' and '\r' must be single bytes for the line splitter: refuse wide encodings. */
static gboolean
_charset_usable(const char *charset)
{
  char *up = g_ascii_strup(charset, -1);
  gboolean wide = strstr(up, "UTF-16") || strstr(up, "UTF16") || strstr(up, "UTF-32") || strstr(up, "UTF32")
                  || strstr(up, "UCS");
  g_free(up);
  if (wide)
    return FALSE;
  GIConv cd = g_iconv_open("UTF-8", charset);
  if (cd == (GIConv)-1)
    return FALSE;
  g_iconv_close(cd);
  return TRUE;
}

static gboolean
_exec_configure(RelayComponent *self, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  RelayExecSource *src = (RelayExecSource *)self;
  RelayRateLimit limit = RELAY_RATELIMIT_INIT;
  gboolean ok = TRUE;

  src->rl_stderr = src->rl_long = src->rl_run = limit;
  src->rl_stderr.burst = 100;
  src->argv = relay_exec_argv(src->shell, src->command);
  if (!src->argv)
    {
      relay_config_report_add(report, relay_component_config_get(cc, "command"), cc->label, "command",
                              "the command is empty; source %s removed", self->name);
      ok = FALSE;
    }
  if (!_charset_usable(src->charset))
    {
      relay_config_report_add(report, relay_component_config_get(cc, "charset"), cc->label, "charset",
                              "'%s' is unknown or not ASCII-compatible (lines are split on '\\n' and '\\r' "
                              "bytes); source %s removed",
                              src->charset, self->name);
      ok = FALSE;
    }
  return ok;
}

static gboolean
_exec_start(RelayComponent *self, GError **error)
{
  RelayExecSource *src = (RelayExecSource *)self;
  struct event_base *base = src->super.base;

  if (!src->super.cp || !base)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_STATE,
                  "%s: started without channel processor or event loop", self->log_prefix);
      return FALSE;
    }
  src->stopping = FALSE;
  src->buf = g_malloc(RELAY_EXEC_READ_BUFFER);
  src->partial = g_byte_array_new();
  src->batch = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  src->in_flight = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  src->ev_reap = event_new(base, -1, EV_PERSIST, _on_reap_timer, src);
  src->ev_flush = event_new(base, -1, EV_PERSIST, _on_flush_timer, src);
  src->ev_restart = evtimer_new(base, _on_restart, src);
  src->ev_resume = evtimer_new(base, _on_resume, src);
  relay_retry_init(&src->retry, base, _on_retry, src, RELAY_EXEC_BACKOFF_FIRST_MS, RELAY_EXEC_BACKOFF_MAX_MS);
  relay_evtimer_add_ms(src->ev_flush, src->batch_timeout_ms);
  _start_run(src);
  return TRUE;
}

static void
_stop_child(RelayExecSource *src)
{
  if (!src->have_child)
    return;
  relay_exec_child_close_pipes(&src->child); /* a command still writing gets SIGPIPE */
  /* Also when the command was reaped already: what it started may still hold the pipes. */
  pid_t pid = src->child.pid;
  gboolean killed = relay_exec_child_terminate(&src->child, (guint)src->kill_timeout_ms);
  char *text = relay_exec_status_text(src->child.status);
  if (killed)
    relay_warn(src->super.super.log_prefix,
               "command did not exit within killTimeout after SIGTERM; killed its process group pid=%d %s",
               (int)pid, text);
  else
    relay_info(src->super.super.log_prefix, "command stopped pid=%d %s", (int)pid, text);
  g_free(text);
  src->have_child = FALSE;
}

static void
_exec_stop(RelayComponent *self)
{
  RelayExecSource *src = (RelayExecSource *)self;

  src->stopping = TRUE;
  if (src->pending)
    relay_put_request_cancel(src->pending);
  src->pending = NULL;
  _free_run_events(src);
  _stop_child(src);
  g_clear_pointer(&src->ev_reap, event_free);
  g_clear_pointer(&src->ev_flush, event_free);
  g_clear_pointer(&src->ev_restart, event_free);
  g_clear_pointer(&src->ev_resume, event_free);
  relay_retry_clear(&src->retry);
  if (src->batch && src->in_flight)
    relay_counter_add(&src->super.counters.event_failed, src->batch->len + src->in_flight->len);
  g_clear_pointer(&src->batch, g_ptr_array_unref);
  g_clear_pointer(&src->in_flight, g_ptr_array_unref);
  if (src->partial)
    g_byte_array_free(src->partial, TRUE);
  src->partial = NULL;
  g_clear_pointer(&src->buf, g_free);
}

static void
_exec_free(RelayComponent *self)
{
  g_strfreev(((RelayExecSource *)self)->argv);
}

const RelayComponentClass relay_source_exec_class = {
  .kind = RELAY_KIND_SOURCE,
  .type = "exec",
  .flume_class = "org.apache.flume.source.ExecSource",
  .description = "one event per line written by a command (tail -F ...)",
  .options = _exec_options,
  .instance_size = sizeof(RelayExecSource),
  .configure = _exec_configure,
  .start = _exec_start,
  .stop = _exec_stop,
  .free = _exec_free,
};
