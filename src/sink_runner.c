/* sink_runner.c - one thread with its own event_base per standalone sink or sink group.
 *
 * The thread runs an event loop with four pre-created events: `cycle` runs one processor cycle, `timer`
 * is the backoff/failure wait (it also runs a cycle when it fires), `data` is activated from producer
 * threads when a channel of the group commits new events, `stop` is activated by stop(). After each cycle
 * the loop decides what comes next in one switch, as Flume's SinkRunner: READY -> the next cycle at once
 * (re-activated, so a stop request is seen between batches); BACKOFF -> wait min(n x 1000, 5000) ms for the
 * n-th consecutive backoff, cut short by `data`; FAILED -> wait 5000 ms and log "Unable to deliver event"
 * (rate limited). A READY resets n.
 *
 * Threads & locking: the main thread creates the base and events in start() and frees them after join;
 * between the two only the runner thread touches them (and the processor, its sinks' process() and the
 * wait state), except event_active() on `data` (producer threads, via the channel notification) and on
 * `stop` (main thread), which libevent makes thread-safe once evthread_use_pthreads() has been called
 * before the base is created. stop_requested is atomic; `exited` is guarded by `lock` and signalled on
 * `exited_cond` so stop() can wait for the grace period before setting the sinks' abort flags. */
#include "sink_runner.h"

#include "channel.h"
#include "log.h"
#include "sink.h"
#include "sink_processor.h"

#include <event2/event.h>

#define RELAY_SINK_RUNNER_BACKOFF_STEP_MS 1000
#define RELAY_SINK_RUNNER_MAX_BACKOFF_MS 5000
#define RELAY_SINK_RUNNER_FAILED_WAIT_MS 5000
/* Grace period when a runner is freed without having been stopped (error paths). */
#define RELAY_SINK_RUNNER_FREE_GRACE_MS 1000

typedef enum
{
  RUNNER_WAIT_NONE = 0,
  RUNNER_WAIT_BACKOFF, /* timer armed after BACKOFF: new data cuts it short */
  RUNNER_WAIT_FAILED,  /* timer armed after FAILED: new data does not */
} RunnerWait;

struct _RelaySinkRunner
{
  RelaySinkProcessor *processor; /* owned */
  GPtrArray *channels;           /* distinct channels of the group's sinks, borrowed */
  char *log_prefix;

  /* Created and freed by the main thread; used by the runner thread in between. */
  struct event_base *base;
  struct event *cycle_ev;
  struct event *timer_ev;
  struct event *data_ev;
  struct event *stop_ev;
  GThread *thread;

  /* Runner thread only. */
  RunnerWait waiting;
  gint64 consecutive_backoffs;
  RelayRateLimit fail_rl;

  /* Shared. */
  gint stop_requested; /* atomic */
  GMutex lock;
  GCond exited_cond;
  gboolean exited; /* under lock */

  /* Main thread only. */
  gboolean started;
  gboolean stopped;
};

/* ---- runner thread ---- */

static void
_arm_timer(RelaySinkRunner *self, RunnerWait waiting, gint64 ms)
{
  struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

  self->waiting = waiting;
  evtimer_add(self->timer_ev, &tv);
}

/* Runs in: the runner thread. Decides what follows a cycle (Flume's SinkRunner.PollingRunner). */
static void
_schedule_next(RelaySinkRunner *self, RelaySinkStatus status)
{
  switch (status)
    {
    case RELAY_SINK_READY:
      self->consecutive_backoffs = 0;
      event_active(self->cycle_ev, 0, 0);
      break;
    case RELAY_SINK_BACKOFF:
      self->consecutive_backoffs++;
      _arm_timer(self, RUNNER_WAIT_BACKOFF,
                 MIN(self->consecutive_backoffs * RELAY_SINK_RUNNER_BACKOFF_STEP_MS,
                     RELAY_SINK_RUNNER_MAX_BACKOFF_MS));
      break;
    case RELAY_SINK_FAILED:
      relay_log_ratelimited(&self->fail_rl, RELAY_LOG_ERROR, self->log_prefix,
                            "Unable to deliver event, retrying wait_ms=%d", RELAY_SINK_RUNNER_FAILED_WAIT_MS);
      _arm_timer(self, RUNNER_WAIT_FAILED, RELAY_SINK_RUNNER_FAILED_WAIT_MS);
      break;
    }
}

/* Runs in: the runner thread (cycle and timer events). */
static void
_on_cycle(evutil_socket_t fd, short what, void *arg)
{
  RelaySinkRunner *self = arg;

  if (g_atomic_int_get(&self->stop_requested))
    {
      event_base_loopbreak(self->base);
      return;
    }
  self->waiting = RUNNER_WAIT_NONE;
  _schedule_next(self, relay_sink_processor_process(self->processor));
}

/* Runs in: the runner thread, after a producer activated data_ev. */
static void
_on_data(evutil_socket_t fd, short what, void *arg)
{
  RelaySinkRunner *self = arg;

  if (self->waiting != RUNNER_WAIT_BACKOFF)
    return;
  evtimer_del(self->timer_ev);
  self->waiting = RUNNER_WAIT_NONE;
  event_active(self->cycle_ev, 0, 0);
}

/* Runs in: the runner thread, after stop() activated stop_ev. */
static void
_on_stop(evutil_socket_t fd, short what, void *arg)
{
  RelaySinkRunner *self = arg;

  event_base_loopbreak(self->base);
}

/* Runs in: the runner thread (its body). */
static gpointer
_thread_main(gpointer data)
{
  RelaySinkRunner *self = data;

  event_active(self->cycle_ev, 0, 0);
  event_base_loop(self->base, EVLOOP_NO_EXIT_ON_EMPTY);
  g_mutex_lock(&self->lock);
  self->exited = TRUE;
  g_cond_signal(&self->exited_cond);
  g_mutex_unlock(&self->lock);
  return NULL;
}

/* Runs in: the committing (producer) thread. Only wakes the runner. */
static void
_on_channel_data(RelayChannel *channel, gpointer user_data)
{
  RelaySinkRunner *self = user_data;

  event_active(self->data_ev, 0, 0);
}

/* ---- main thread ---- */

RelaySinkRunner *
relay_sink_runner_new(RelaySinkProcessor *processor)
{
  RelaySinkRunner *self = g_new0(RelaySinkRunner, 1);
  RelayRateLimit rl = RELAY_RATELIMIT_INIT;

  self->processor = processor;
  self->log_prefix = g_strdup(processor->log_prefix);
  self->channels = g_ptr_array_new();
  self->fail_rl = rl;
  g_mutex_init(&self->lock);
  g_cond_init(&self->exited_cond);
  return self;
}

RelaySinkProcessor *
relay_sink_runner_processor(RelaySinkRunner *self)
{
  return self->processor;
}

static gboolean
_create_loop(RelaySinkRunner *self, GError **error)
{
  self->base = event_base_new();
  if (!self->base)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "%s: cannot create the runner's event loop",
                  self->log_prefix);
      return FALSE;
    }
  self->cycle_ev = event_new(self->base, -1, 0, _on_cycle, self);
  self->timer_ev = evtimer_new(self->base, _on_cycle, self);
  self->data_ev = event_new(self->base, -1, 0, _on_data, self);
  self->stop_ev = event_new(self->base, -1, 0, _on_stop, self);
  return TRUE;
}

static void
_free_loop(RelaySinkRunner *self)
{
  struct event **events[] = { &self->cycle_ev, &self->timer_ev, &self->data_ev, &self->stop_ev };

  for (gsize i = 0; i < G_N_ELEMENTS(events); i++)
    if (*events[i])
      {
        event_free(*events[i]);
        *events[i] = NULL;
      }
  if (self->base)
    event_base_free(self->base);
  self->base = NULL;
}

/* Subscribes to DATA on every distinct channel of the group's sinks and clears their abort flags. */
static void
_add_notifications(RelaySinkRunner *self)
{
  GPtrArray *sinks = self->processor->sinks;

  for (guint i = 0; i < sinks->len; i++)
    {
      RelaySink *sink = g_ptr_array_index(sinks, i);
      g_atomic_int_set(&sink->abort_requested, 0);
      if (!sink->channel || g_ptr_array_find(self->channels, sink->channel, NULL))
        continue;
      g_ptr_array_add(self->channels, sink->channel);
      relay_channel_add_notify(sink->channel, RELAY_CHANNEL_NOTIFY_DATA, _on_channel_data, self);
    }
}

static void
_remove_notifications(RelaySinkRunner *self)
{
  for (guint i = 0; i < self->channels->len; i++)
    relay_channel_remove_notify(g_ptr_array_index(self->channels, i), _on_channel_data, self);
  g_ptr_array_set_size(self->channels, 0);
}

gboolean
relay_sink_runner_start(RelaySinkRunner *self, GError **error)
{
  GError *local = NULL;

  if (self->started)
    return TRUE;
  if (self->stopped)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_STATE, "%s: a stopped runner cannot be restarted",
                  self->log_prefix);
      return FALSE;
    }
  if (!_create_loop(self, error))
    return FALSE;
  _add_notifications(self);
  char *thread_name = g_strdup_printf("sink:%s", self->processor->name);
  self->thread = g_thread_try_new(thread_name, _thread_main, self, &local);
  g_free(thread_name);
  if (!self->thread)
    {
      _remove_notifications(self);
      _free_loop(self);
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "%s: cannot start the runner thread: %s",
                  self->log_prefix, local->message);
      g_error_free(local);
      return FALSE;
    }
  self->started = TRUE;
  relay_debug(self->log_prefix, "runner started sinks=%u channels=%u", self->processor->sinks->len,
              self->channels->len);
  return TRUE;
}

/* Waits up to grace_ms for the thread to leave its loop; TRUE if it did. */
static gboolean
_wait_exited(RelaySinkRunner *self, guint grace_ms)
{
  gint64 deadline = g_get_monotonic_time() + (gint64)grace_ms * G_TIME_SPAN_MILLISECOND;
  gboolean exited;

  g_mutex_lock(&self->lock);
  while (!self->exited)
    if (!g_cond_wait_until(&self->exited_cond, &self->lock, deadline))
      break;
  exited = self->exited;
  g_mutex_unlock(&self->lock);
  return exited;
}

static void
_request_abort(RelaySinkRunner *self)
{
  GPtrArray *sinks = self->processor->sinks;

  for (guint i = 0; i < sinks->len; i++)
    g_atomic_int_set(&((RelaySink *)g_ptr_array_index(sinks, i))->abort_requested, 1);
}

void
relay_sink_runner_stop(RelaySinkRunner *self, guint grace_ms)
{
  if (!self->started || self->stopped)
    {
      self->stopped = TRUE;
      return;
    }
  self->stopped = TRUE;
  g_atomic_int_set(&self->stop_requested, 1);
  event_active(self->stop_ev, 0, 0);
  if (!_wait_exited(self, grace_ms))
    {
      relay_warn(self->log_prefix, "batch in flight not finished after grace period, aborting grace_ms=%u",
                 grace_ms);
      _request_abort(self);
    }
  g_thread_join(self->thread);
  self->thread = NULL;
  _remove_notifications(self);
  relay_debug(self->log_prefix, "runner stopped");
}

void
relay_sink_runner_free(RelaySinkRunner *self)
{
  if (!self)
    return;
  relay_sink_runner_stop(self, RELAY_SINK_RUNNER_FREE_GRACE_MS);
  _free_loop(self);
  relay_sink_processor_free(self->processor);
  g_ptr_array_unref(self->channels);
  g_mutex_clear(&self->lock);
  g_cond_clear(&self->exited_cond);
  g_free(self->log_prefix);
  g_free(self);
}
