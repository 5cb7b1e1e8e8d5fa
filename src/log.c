/* log.c - relayd's logging: level filter, line formatting, stderr, syslog or journal (log_target.c) or a test
 * handler, rate limiting.
 *
 * Threads & locking: any thread may log. The level is an atomic int; the handler pointer and the write of a
 * line are under one mutex so lines from different threads never interleave. Rate limiters carry their own
 * state and are updated under the same mutex. */
#include "log.h"
#include "relay_mutex.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static gint _level = RELAY_LOG_INFO;
static RelayMutex _lock;
static RelayLogHandler _handler;
static gpointer _handler_data;
static RelayLogWriter _writer; /* syslog or journal (log_target.c, issue 15); NULL: stderr */

/* issue 17: the calling thread's own target (NULL: the process-wide handler and level above) */
static __thread const RelayLogSink *_thread_sink;

static const char *const _level_names[] = { "ERROR", "WARN", "INFO", "DEBUG", "TRACE" };

void
relay_log_set_level(RelayLogLevel level)
{
  g_atomic_int_set(&_level, level);
}

RelayLogLevel
relay_log_get_level(void)
{
  const RelayLogSink *target = _thread_sink;

  return (RelayLogLevel)g_atomic_int_get(target ? &((RelayLogSink *)target)->level : &_level);
}

const char *
relay_log_level_name(RelayLogLevel level)
{
  return level <= RELAY_LOG_TRACE ? _level_names[level] : "?";
}

gboolean
relay_log_parse_level(const char *text, RelayLogLevel *level)
{
  static const struct
  {
    const char *name;
    RelayLogLevel level;
  } names[] = { { "error", RELAY_LOG_ERROR }, { "warn", RELAY_LOG_WARN },   { "warning", RELAY_LOG_WARN },
                { "info", RELAY_LOG_INFO },   { "debug", RELAY_LOG_DEBUG }, { "trace", RELAY_LOG_TRACE } };

  for (gsize i = 0; text && i < G_N_ELEMENTS(names); i++)
    if (g_ascii_strcasecmp(text, names[i].name) == 0)
      {
        *level = names[i].level;
        return TRUE;
      }
  return FALSE;
}

void
relay_log_set_handler(RelayLogHandler handler, gpointer user_data)
{
  relay_mutex_lock(&_lock);
  _handler = handler;
  _handler_data = user_data;
  relay_mutex_unlock(&_lock);
}

static void
_format_timestamp(char *buf, gsize len)
{
  struct timespec ts;
  struct tm tm;

  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  gsize n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
  g_snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

void
relay_log_set_writer(RelayLogWriter writer)
{
  relay_mutex_lock(&_lock);
  _writer = writer;
  relay_mutex_unlock(&_lock);
}

/* The time and level end at *body: what follows ("[prefix] message") is what syslog and the journal get. */
static GString *
_format_line(RelayLogLevel level, const char *prefix, const char *fmt, va_list ap, gsize *body)
{
  char stamp[40];
  GString *line = g_string_sized_new(160);

  _format_timestamp(stamp, sizeof stamp);
  g_string_append_printf(line, "%s %-5s ", stamp, relay_log_level_name(level));
  *body = line->len;
  if (prefix)
    g_string_append_printf(line, "[%s] ", prefix);
  g_string_append_vprintf(line, fmt, ap);
  return line;
}

/* Called with _lock held. */
static void
_emit_locked(RelayLogLevel level, const char *prefix, GString *line, gsize body)
{
  const RelayLogSink *target = _thread_sink;
  RelayLogHandler handler = target ? target->handler : _handler;

  if (handler)
    {
      handler(level, line->str, target ? target->user_data : _handler_data);
      return;
    }
  if (_writer && _writer(level, prefix, line->str + body))
    return;
  g_string_append_c(line, '\n');
  fwrite(line->str, 1, line->len, stderr);
  fflush(stderr);
}

void
relay_logv(RelayLogLevel level, const char *prefix, const char *fmt, va_list ap)
{
  if (!relay_log_enabled(level))
    return;
  gsize body;
  GString *line = _format_line(level, prefix, fmt, ap, &body);
  relay_mutex_lock(&_lock);
  _emit_locked(level, prefix, line, body);
  relay_mutex_unlock(&_lock);
  g_string_free(line, TRUE);
}

void
relay_log(RelayLogLevel level, const char *prefix, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  relay_logv(level, prefix, fmt, ap);
  va_end(ap);
}

/* Decides under _lock whether this line may be written; returns the number of suppressed lines to
 * mention (0 if none), or -1 to suppress this one. */
static gint64
_ratelimit_admit_locked(RelayRateLimit *rl)
{
  gint64 now = g_get_monotonic_time();
  guint interval = rl->interval_s ? rl->interval_s : 10;
  guint burst = rl->burst ? rl->burst : 5;

  if (rl->window_start_us == 0 || now - rl->window_start_us >= (gint64)interval * G_USEC_PER_SEC)
    {
      gint64 suppressed = rl->suppressed;
      rl->window_start_us = now;
      rl->emitted = 1;
      rl->suppressed = 0;
      return suppressed;
    }
  if (rl->emitted < burst)
    {
      rl->emitted++;
      return 0;
    }
  rl->suppressed++;
  return -1;
}

void
relay_log_ratelimited(RelayRateLimit *rl, RelayLogLevel level, const char *prefix, const char *fmt, ...)
{
  va_list ap;

  if (!relay_log_enabled(level))
    return;
  gsize body;
  va_start(ap, fmt);
  GString *line = _format_line(level, prefix, fmt, ap, &body);
  va_end(ap);

  relay_mutex_lock(&_lock);
  gint64 suppressed = _ratelimit_admit_locked(rl);
  if (suppressed >= 0)
    {
      if (suppressed > 0)
        g_string_append_printf(line, " (%" G_GINT64_FORMAT " similar messages suppressed)", suppressed);
      _emit_locked(level, prefix, line, body);
    }
  relay_mutex_unlock(&_lock);
  g_string_free(line, TRUE);
}

/* ---- per-thread log target (issue 17) ---- */

const RelayLogSink *
relay_log_set_thread_sink(const RelayLogSink *target)
{
  const RelayLogSink *previous = _thread_sink;

  _thread_sink = target;
  return previous;
}

typedef struct
{
  GThreadFunc func;
  gpointer data;
  const RelayLogSink *target;
} ThreadStart;

static gpointer
_thread_start(gpointer arg)
{
  ThreadStart start = *(ThreadStart *)arg;

  g_free(arg);
  _thread_sink = start.target;
  return start.func(start.data);
}

GThread *
relay_thread_try_new(const char *name, GThreadFunc func, gpointer data, GError **error)
{
  ThreadStart *start = g_new(ThreadStart, 1);
  GThread *thread;

  start->func = func;
  start->data = data;
  start->target = _thread_sink;
  thread = g_thread_try_new(name, _thread_start, start, error);
  if (!thread)
    g_free(start);
  return thread;
}

GThread *
relay_thread_new(const char *name, GThreadFunc func, gpointer data)
{
  GError *error = NULL;
  GThread *thread = relay_thread_try_new(name, func, data, &error);

  if (!thread)
    g_error("cannot create thread %s: %s", name, error->message);
  return thread;
}
