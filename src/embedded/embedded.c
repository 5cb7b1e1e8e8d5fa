/* embedded.c - the embedded agent's lifecycle (new, configure, start, stop, free) and its error messages.
 *
 * States as Flume's EmbeddedAgent (NEW -> STOPPED by configure -> STARTED -> STOPPED), with its messages
 * ("Cannot be started before being configured", ...). Unlike Flume's, a stopped agent starts again: stop
 * frees the graph and start builds it anew from the kept configuration, so a file channel recovers what
 * the previous run left and delivers it. Lifecycle calls hold the agent's life_lock (puts do not: stop sets
 * `stopping` and waits for the puts in flight, see embedded_put.c) and install the agent's log target on the
 * calling thread; the threads that start creates inherit
 * it, and SIGPIPE is blocked on them (a peer closing a connection must not kill the application).
 * Error messages are kept per thread (as errno), so concurrent puts never see each other's. */
#include "embedded_private.h"

#include "agent_private.h"
#include "channel.h"
#include "config.h"
#include "props.h"
#include "sink_runner.h"

#include <event2/thread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define RELAY_EMBEDDED_FREE_STOP_MS 5000
/* stop: the runners always get at least this long to finish the batch in flight. */
#define RELAY_EMBEDDED_MIN_GRACE_MS 500

static __thread char _last_error[2048];

static const char *const _status_names[]
    = { "OK", "INVALID", "STATE", "CONFIG", "START", "FULL", "TOO_LARGE", "CHANNEL", "UNDELIVERED" };

unsigned
relay_embedded_version(void)
{
  return RELAY_EMBEDDED_VERSION;
}

const char *
relay_embedded_status_name(RelayEmbeddedStatus status)
{
  return (guint)status < G_N_ELEMENTS(_status_names) ? _status_names[status] : "?";
}

const char *
relay_embedded_last_error(void)
{
  return _last_error;
}

RelayEmbeddedStatus
relay_embedded_fail(RelayEmbeddedStatus status, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  g_vsnprintf(_last_error, sizeof _last_error, fmt, ap);
  va_end(ap);
  return status;
}

/* libevent's locking for the runners' loops (the channels wake them from other threads): once per process,
 * idempotent, and what relayd's main() does too. */
static void
_init_once(void)
{
  evthread_use_pthreads();
}

static char *
_ident(const char *name)
{
  GString *ident = g_string_new(NULL);

  for (const char *p = name; *p; p++)
    if (!g_ascii_isspace(*p))
      g_string_append_c(ident, *p == '.' ? '_' : *p);
  return g_string_free(ident, FALSE);
}

RelayEmbeddedAgent *
relay_embedded_new(const char *name)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;

  if (!name || !*name)
    {
      relay_embedded_fail(RELAY_EMBEDDED_ERR_INVALID, "an embedded agent needs a name");
      return NULL;
    }
  pthread_once(&once, _init_once);
  RelayEmbeddedAgent *self = g_new0(RelayEmbeddedAgent, 1);
  self->name = g_strdup(name);
  self->ident = _ident(name);
  self->log.level = RELAY_LOG_INFO;
  return self;
}

/* Any of the agent's threads, under log.c's lock. */
static void
_log_to_app(RelayLogLevel level, const char *line, gpointer user_data)
{
  RelayEmbeddedAgent *self = user_data;

  self->log_fn((int)level, line, self->log_data);
}

RelayEmbeddedStatus
relay_embedded_set_log(RelayEmbeddedAgent *self, RelayEmbeddedLogFn fn, void *user_data, int level)
{
  if (!self || level < RELAY_EMBEDDED_LOG_ERROR || level > RELAY_EMBEDDED_LOG_TRACE)
    return relay_embedded_fail(RELAY_EMBEDDED_ERR_INVALID, "set_log: NULL agent or level out of range");
  if (g_atomic_int_get(&self->state) == RELAY_EMBEDDED_STATE_STARTED)
    return relay_embedded_fail(RELAY_EMBEDDED_ERR_STATE,
                               "Embedded agent %s: Cannot set the log while started", self->name);
  self->log_fn = fn;
  self->log_data = user_data;
  self->log.handler = fn ? _log_to_app : NULL; /* NULL: stderr */
  self->log.user_data = self;
  g_atomic_int_set(&self->log.level, level);
  return RELAY_EMBEDDED_OK;
}

/* ---- configure ---- */

static RelayEmbeddedStatus
_config_failed(RelayEmbeddedAgent *self, RelayConfigReport *report)
{
  GString *text = g_string_new(NULL);

  relay_config_report_finish(report);
  g_string_printf(text, "Embedded agent %s: configuration refused:", self->name);
  for (guint i = 0; i < report->lines->len; i++)
    g_string_append_printf(text, "\n  %s", (const char *)g_ptr_array_index(report->lines, i));
  relay_embedded_fail(RELAY_EMBEDDED_ERR_CONFIG, "%s", text->str);
  g_string_free(text, TRUE);
  return RELAY_EMBEDDED_ERR_CONFIG;
}

/* Takes the application's entries (in props) to a configuration and a built graph. Lock held. */
static RelayEmbeddedStatus
_configure_locked(RelayEmbeddedAgent *self, RelayProps *props, RelayConfigReport *report)
{
  guint n = 0;
  const RelayProp *const *entries = relay_props_entries(props, &n);

  if (g_atomic_int_get(&self->state) == RELAY_EMBEDDED_STATE_STARTED)
    return relay_embedded_fail(RELAY_EMBEDDED_ERR_STATE,
                               "Embedded agent %s: Cannot be configured while started", self->name);
  relay_embedded_teardown(self);
  relay_embedded_config_free(self->config);
  self->config = relay_embedded_config_new(self->ident, entries, n, report);
  if (relay_config_report_count(report) == 0)
    relay_embedded_build(self, report);
  if (relay_config_report_count(report) > 0)
    {
      relay_embedded_config_free(self->config);
      self->config = NULL;
      g_atomic_int_set(&self->state, RELAY_EMBEDDED_STATE_NEW);
      return _config_failed(self, report);
    }
  g_atomic_int_set(&self->state, RELAY_EMBEDDED_STATE_STOPPED);
  return RELAY_EMBEDDED_OK;
}

typedef void (*LoadFn)(RelayProps *props, const char *file, gconstpointer input, RelayConfigReport *report);

static RelayEmbeddedStatus
_configure(RelayEmbeddedAgent *self, LoadFn load, gconstpointer input)
{
  const RelayLogSink *previous = relay_log_set_thread_sink(&self->log);
  RelayProps *props = relay_props_new();
  RelayConfigReport *report = relay_config_report_new();
  char *file = g_strdup_printf("embedded agent %s", self->name);
  RelayEmbeddedStatus status;

  relay_mutex_lock(&self->life_lock);
  load(props, file, input, report);
  status = relay_config_report_count(report) ? _config_failed(self, report)
                                             : _configure_locked(self, props, report);
  relay_mutex_unlock(&self->life_lock);
  g_free(file);
  relay_config_report_free(report);
  relay_props_free(props);
  relay_log_set_thread_sink(previous);
  return status;
}

/* Entry i's "line" is its pair's position (1-based), so a problem names the key that caused it. */
static void
_load_pairs(RelayProps *props, const char *file, gconstpointer input, RelayConfigReport *report)
{
  const char *const *kv = input;

  for (guint i = 0; kv[i]; i += 2)
    {
      if (!kv[i + 1])
        {
          RelayProp where = { (char *)kv[i], NULL, file, i / 2 + 1 };
          relay_config_report_add(report, &where, NULL, kv[i], "key without a value");
          return;
        }
      relay_props_set(props, file, i / 2 + 1, kv[i], kv[i + 1]);
    }
}

static void
_load_text(RelayProps *props, const char *file, gconstpointer input, RelayConfigReport *report)
{
  relay_props_load_string(props, file, input, report);
}

RelayEmbeddedStatus
relay_embedded_configure(RelayEmbeddedAgent *self, const char *const *key_values)
{
  if (!self || !key_values)
    return relay_embedded_fail(RELAY_EMBEDDED_ERR_INVALID, "configure: NULL agent or key_values");
  return _configure(self, _load_pairs, key_values);
}

RelayEmbeddedStatus
relay_embedded_configure_text(RelayEmbeddedAgent *self, const char *properties)
{
  if (!self || !properties)
    return relay_embedded_fail(RELAY_EMBEDDED_ERR_INVALID, "configure_text: NULL agent or text");
  return _configure(self, _load_text, properties);
}

/* ---- start ---- */

/* Starts the graph with SIGPIPE blocked, so that the threads it creates inherit the blocked signal. */
static gboolean
_start_graph(RelayEmbeddedAgent *self, GError **error)
{
  sigset_t block, old;
  gboolean ok;

  sigemptyset(&block);
  sigaddset(&block, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  ok = relay_agent_start(self->agent, error);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return ok;
}

static RelayEmbeddedStatus
_start_locked(RelayEmbeddedAgent *self)
{
  RelayEmbeddedState state = g_atomic_int_get(&self->state);
  GError *error = NULL;

  if (state != RELAY_EMBEDDED_STATE_STOPPED)
    return relay_embedded_fail(
        RELAY_EMBEDDED_ERR_STATE, "Embedded agent %s: Cannot be started %s", self->name,
        state == RELAY_EMBEDDED_STATE_NEW ? "before being configured" : "while started");
  if (!self->agent)
    {
      RelayConfigReport *report = relay_config_report_new();
      RelayEmbeddedStatus status
          = relay_embedded_build(self, report) ? RELAY_EMBEDDED_OK : _config_failed(self, report);
      relay_config_report_free(report);
      if (status != RELAY_EMBEDDED_OK)
        return status;
    }
  if (!_start_graph(self, &error))
    {
      relay_embedded_fail(RELAY_EMBEDDED_ERR_START, "Embedded agent %s: cannot start: %s", self->name,
                          error->message);
      g_error_free(error);
      relay_agent_stop(self->agent, 0);
      relay_embedded_teardown(self);
      return RELAY_EMBEDDED_ERR_START;
    }
  relay_embedded_space_attach(self);
  g_atomic_int_set(&self->stopping, 0);
  g_atomic_int_set(&self->state, RELAY_EMBEDDED_STATE_STARTED);
  return RELAY_EMBEDDED_OK;
}

RelayEmbeddedStatus
relay_embedded_start(RelayEmbeddedAgent *self)
{
  if (!self)
    return relay_embedded_fail(RELAY_EMBEDDED_ERR_INVALID, "start: NULL agent");
  const RelayLogSink *previous = relay_log_set_thread_sink(&self->log);
  relay_mutex_lock(&self->life_lock);
  RelayEmbeddedStatus status = _start_locked(self);
  relay_mutex_unlock(&self->life_lock);
  relay_log_set_thread_sink(previous);
  return status;
}

/* ---- stop ---- */

/* Lets the sinks drain the channel until it is empty or the deadline (monotonic) passes. */
static void
_drain(RelayEmbeddedAgent *self, gint64 deadline_us)
{
  while (relay_channel_size(self->channel) > 0 && g_get_monotonic_time() < deadline_us)
    g_usleep(10 * 1000);
}

static RelayEmbeddedStatus
_stop_locked(RelayEmbeddedAgent *self, guint timeout_ms, guint64 *left)
{
  gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  RelayChannel *channel = self->channel;

  _drain(self, deadline);
  guint grace = (guint)MAX((deadline - g_get_monotonic_time()) / 1000, RELAY_EMBEDDED_MIN_GRACE_MS);
  for (guint i = 0; i < self->agent->runners->len; i++)
    relay_sink_runner_stop(g_ptr_array_index(self->agent->runners, i), grace);
  *left = relay_channel_size(channel);
  relay_embedded_space_detach(self);
  gboolean durable = channel->durable;
  relay_agent_stop(self->agent, 0);
  relay_embedded_teardown(self);
  g_atomic_int_set(&self->state, RELAY_EMBEDDED_STATE_STOPPED);
  RelayEmbeddedStatus status = RELAY_EMBEDDED_OK;
  if (*left)
    status = relay_embedded_fail(RELAY_EMBEDDED_ERR_UNDELIVERED,
                                 "Embedded agent %s: %" G_GUINT64_FORMAT
                                 " event(s) not delivered within %u ms; %s",
                                 self->name, *left, timeout_ms,
                                 durable ? "the file channel keeps them and the next start delivers them"
                                         : "they were in the memory channel and are lost");
  return status;
}

RelayEmbeddedStatus
relay_embedded_stop(RelayEmbeddedAgent *self, unsigned timeout_ms, uint64_t *left)
{
  guint64 n_left = 0;
  RelayEmbeddedStatus status;

  if (left)
    *left = 0;
  if (!self)
    return relay_embedded_fail(RELAY_EMBEDDED_ERR_INVALID, "stop: NULL agent");
  const RelayLogSink *previous = relay_log_set_thread_sink(&self->log);
  relay_mutex_lock(&self->life_lock);
  if (g_atomic_int_get(&self->state) != RELAY_EMBEDDED_STATE_STARTED)
    status = relay_embedded_fail(RELAY_EMBEDDED_ERR_STATE,
                                 "Embedded agent %s: Cannot be stopped unless started", self->name);
  else
    {
      /* New puts are refused and puts waiting for room give up now; then wait for the puts in flight. */
      g_atomic_int_set(&self->stopping, 1);
      relay_embedded_space_wake_all(self);
      relay_embedded_gate_wait_idle(self);
      status = _stop_locked(self, timeout_ms, &n_left);
    }
  relay_mutex_unlock(&self->life_lock);
  relay_log_set_thread_sink(previous);
  if (left)
    *left = n_left;
  return status;
}

uint64_t
relay_embedded_channel_size(RelayEmbeddedAgent *self)
{
  guint64 size = 0;

  if (!self)
    return 0;
  relay_mutex_lock(&self->life_lock);
  if (g_atomic_int_get(&self->state) == RELAY_EMBEDDED_STATE_STARTED)
    size = relay_channel_size(self->channel);
  relay_mutex_unlock(&self->life_lock);
  return size;
}

void
relay_embedded_free(RelayEmbeddedAgent *self)
{
  if (!self)
    return;
  if (g_atomic_int_get(&self->state) == RELAY_EMBEDDED_STATE_STARTED)
    relay_embedded_stop(self, RELAY_EMBEDDED_FREE_STOP_MS, NULL);
  const RelayLogSink *previous = relay_log_set_thread_sink(&self->log);
  relay_embedded_teardown(self);
  relay_log_set_thread_sink(previous);
  relay_embedded_config_free(self->config);
  relay_mutex_clear(&self->life_lock);
  relay_mutex_clear(&self->space_lock);
  relay_cond_clear(&self->space_cond);
  g_free(self->ident);
  g_free(self->name);
  g_free(self);
}
