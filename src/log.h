/* log.h - relayd's logging API: levels, a [kind:type:name] prefix, key=value details, rate limits.
 *
 * One line per message on stderr (or a handler installed by tests):
 *   2026-11-22T05:34:32.123Z WARN  [source:netcat:r1] line too long peer=127.0.0.1:5050 limit=512
 * Anything a network peer or a broken disk can trigger repeatedly must go through a RelayRateLimit.
 * All functions are thread-safe. */
#ifndef RELAY_LOG_H_INCLUDED
#define RELAY_LOG_H_INCLUDED

#include "relay.h"

typedef enum
{
  RELAY_LOG_ERROR = 0, /* data at risk or a component down */
  RELAY_LOG_WARN,      /* degraded: a dropped component, a bad peer, a retry */
  RELAY_LOG_INFO,      /* lifecycle: started, stopped, listening */
  RELAY_LOG_DEBUG,
  RELAY_LOG_TRACE,
} RelayLogLevel;

typedef void (*RelayLogHandler)(RelayLogLevel level, const char *line, gpointer user_data);

void relay_log_set_level(RelayLogLevel level);
RelayLogLevel relay_log_get_level(void);
/* Parses "error", "warn"/"warning", "info", "debug", "trace" (case-insensitive). */
gboolean relay_log_parse_level(const char *text, RelayLogLevel *level);
const char *relay_log_level_name(RelayLogLevel level);
/* Replaces stderr output with a handler (tests); NULL restores stderr. The line has no trailing newline. */
void relay_log_set_handler(RelayLogHandler handler, gpointer user_data);

/* ---- per-thread log sink (issue 17: embedded agents, several per process) ----
 * A thread may carry a sink of its own: its lines go to sink->handler (NULL: stderr) when their level
 * passes sink->level, instead of the process-wide handler and level. The embedded library sets its agent's
 * sink on the application's thread for the duration of each call; threads started with
 * relay_thread_try_new() inherit their creator's sink, so the sink runners and the file channel's
 * threads of an embedded agent log to that agent. The sink must outlive the threads that carry it. */
typedef struct
{
  RelayLogHandler handler; /* NULL: stderr */
  gpointer user_data;
  gint level; /* RelayLogLevel; atomic */
} RelayLogSink;

/* Sets the calling thread's sink (NULL: the process-wide handler and level); returns the previous one. */
const RelayLogSink *relay_log_set_thread_sink(const RelayLogSink *target);
/* g_thread_try_new() whose thread starts with the creator's log sink. */
GThread *relay_thread_try_new(const char *name, GThreadFunc func, gpointer data, GError **error);
/* Same, aborting when the thread cannot be created (as g_thread_new()). */
GThread *relay_thread_new(const char *name, GThreadFunc func, gpointer data);
/* ---- end of per-thread log target ---- */

static inline gboolean
relay_log_enabled(RelayLogLevel level)
{
  return level <= relay_log_get_level();
}

/* prefix is "kind:type:name" without brackets, or NULL for process-wide messages. */
void relay_log(RelayLogLevel level, const char *prefix, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
void relay_logv(RelayLogLevel level, const char *prefix, const char *fmt, va_list ap);

#define relay_error(prefix, ...) relay_log(RELAY_LOG_ERROR, prefix, __VA_ARGS__)
#define relay_warn(prefix, ...) relay_log(RELAY_LOG_WARN, prefix, __VA_ARGS__)
#define relay_info(prefix, ...) relay_log(RELAY_LOG_INFO, prefix, __VA_ARGS__)
#define relay_debug(prefix, ...)                                                                             \
  do                                                                                                         \
    {                                                                                                        \
      if (relay_log_enabled(RELAY_LOG_DEBUG))                                                                \
        relay_log(RELAY_LOG_DEBUG, prefix, __VA_ARGS__);                                                     \
    }                                                                                                        \
  while (0)

/* A rate limiter: at most `burst` lines per `interval_s` seconds; when a new interval opens after lines were
 * suppressed, the next line carries " (N similar messages suppressed)". Zero-initialise with
 * RELAY_RATELIMIT_INIT; one limiter per kind of problem per component. Thread-safe. */
typedef struct
{
  gint64 window_start_us;
  guint burst;
  guint interval_s;
  guint emitted;
  guint suppressed;
} RelayRateLimit;

#define RELAY_RATELIMIT_INIT                                                                                 \
  {                                                                                                          \
    0, 5, 10, 0, 0                                                                                           \
  }

/* ---- log targets (issue 15): stderr, syslog, the journal; see log_target.c ---- */
typedef enum
{
  RELAY_LOG_TARGET_STDERR = 0,
  RELAY_LOG_TARGET_SYSLOG,
  RELAY_LOG_TARGET_JOURNAL,
} RelayLogTarget;

/* "stderr", "syslog", "journal" (case-insensitive). */
gboolean relay_log_parse_target(const char *text, RelayLogTarget *target);
const char *relay_log_target_name(RelayLogTarget target);
/* A syslog facility name: "daemon" (the default), "user", "local0".."local7", "syslog", ... -> LOG_* value.
 */
gboolean relay_log_parse_facility(const char *text, int *facility);
/* Sends every line to target from now on. socket: the datagram socket to write to, NULL for the system's
 * (/dev/log for syslog, /run/systemd/journal/socket for the journal). A line that cannot be sent (no
 * daemon listening, its socket full) goes to stderr instead, so nothing is lost silently. Returns FALSE
 * with error if the socket cannot be created; the target is then unchanged. Main thread, at start or on a
 * reload: no line is being written while the target changes (other threads log to stderr meanwhile). */
gboolean relay_log_set_target(RelayLogTarget target, int facility, const char *socket, GError **error);
/* The writer of a target: sends "[prefix] message" (body) at level; FALSE sends the line to stderr.
 * Called under the log's lock, from any thread. */
typedef gboolean (*RelayLogWriter)(RelayLogLevel level, const char *prefix, const char *body);
void relay_log_set_writer(RelayLogWriter writer);
/* ---- end of log targets ---- */

void relay_log_ratelimited(RelayRateLimit *rl, RelayLogLevel level, const char *prefix, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

#endif
