/* sink_runner.c - runner lanes: a thread with its own event_base per standalone sink or sink group, or
 * one per sink of a parallel group.
 *
 * A lane runs an event loop with four pre-created events: `cycle` runs one processor cycle, `timer` is the
 * backoff/failure wait (it also runs a cycle when it fires), `data` is activated from producer threads when
 * a channel of the group commits new events, `stop` is activated by stop(). After each cycle the lane
 * decides what comes next in one switch, as Flume's SinkRunner: READY -> the next cycle at once
 * (re-activated, so a stop request is seen between batches); BACKOFF -> wait min(n x 1000, 5000) ms for the
 * n-th consecutive backoff, cut short by `data`; FAILED -> wait 5000 ms (or what a parallel processor asks
 * for) and log "Unable to deliver event" (rate limited). A READY resets n.
 *
 * Serial processors (default, failover, load_balance with processor.parallel = false) get one lane that
 * calls process(): exactly Flume's one thread per group. A parallel processor gets one lane per sink, each
 * calling process_sink(index) for its own sink, so every sink keeps its own connection and transaction and
 * several batches are in flight at once. New data then goes to one lane: the DATA notification wakes one
 * idle lane (one waiting after BACKOFF), chosen by the processor's pick_idle (round robin, random); when no
 * lane is idle it pokes every lane, and a lane reacts only while it waits after BACKOFF, so a lane that
 * found the channel empty just before the commit looks again and no wake-up is lost. A lane that delivered
 * (READY) while its channel still holds events wakes one more idle lane, so a single large commit spreads
 * over the lanes instead of waiting for their backoff timers.
 *
 * Threads & locking: the main thread creates the lanes' bases and events in start() and frees them after
 * the joins; in between only a lane's own thread touches its loop and wait state (and the processor's
 * process()/process_sink() for its sink), except event_active() on `data` (producer threads, via the
 * channel notification, and other lanes) and on `stop` (main thread), which libevent makes thread-safe once
 * evthread_use_pthreads() has been called before the bases are created. stop_requested is atomic. `lock`
 * guards every lane's `idle` and `exited` flags and the processor's pick_idle() state; `exited_cond` lets
 * stop() wait for the grace period before setting the sinks' abort flags. event_active() is called under
 * `lock`; no lane holds its base's lock while taking `lock`, so the order is always lock -> base.
 * stop_async() (live reload) creates two events on the main loop instead of waiting: the last lane to leave
 * its loop activates `exited_ev` (under `lock`), and the main thread then joins the lanes, which have left.
 */
#include "sink_runner.h"
#include "relay_mutex.h"

#include "channel.h"
#include "counters.h"
#include "log.h"
#include "outage_log.h"
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

typedef struct
{
  RelaySinkRunner *runner;
  guint index; /* the sink this lane runs (parallel); 0 for the one lane of a serial processor */

  /* Created and freed by the main thread; used by the lane thread in between. */
  struct event_base *base;
  struct event *cycle_ev;
  struct event *timer_ev;
  struct event *data_ev;
  struct event *stop_ev;
  GThread *thread;

  /* Lane thread only. */
  RunnerWait waiting;
  gint64 consecutive_backoffs;
  RelayOutageLog outage; /* FAILED cycles: logged once, then a summary a minute, then the recovery */

  /* Under runner->lock. */
  gboolean idle;   /* waiting after BACKOFF: may be chosen for new data (parallel only) */
  gboolean exited; /* the lane thread left its loop */
} RunnerLane;

struct _RelaySinkRunner
{
  RelaySinkProcessor *processor; /* owned */
  GPtrArray *channels;           /* distinct channels of the group's sinks, borrowed */
  char *log_prefix;
  gboolean parallel; /* one lane per sink, calling process_sink() */
  RunnerLane *lanes;
  guint n_lanes;
  guint *idle_scratch; /* n_lanes entries; under lock */

  /* Shared. */
  gint stop_requested; /* atomic */
  RelayMutex lock;
  RelayCond exited_cond;

  /* Main thread only. */
  gboolean started;
  gboolean stopped;
  /* relay_sink_runner_stop_async(): events on the caller's (main) loop. exited_ev is activated by the last
   * lane to leave its loop (read under lock by the lanes); grace_ev sets the abort flags when grace is over.
   */
  struct event *exited_ev;
  struct event *grace_ev;
  guint grace_ms;
  void (*on_exited)(gpointer user_data);
  gpointer on_exited_data;
};

/* ---- choosing a lane for new data ---- */

/* Wakes one idle lane chosen by the processor; FALSE if no lane was idle.
 * Runs in: a committing thread or a lane thread. */
static gboolean
_wake_one_idle(RelaySinkRunner *self)
{
  const RelaySinkProcessorClass *klass = self->processor->klass;
  guint n_idle = 0;

  relay_mutex_lock(&self->lock);
  for (guint i = 0; i < self->n_lanes; i++)
    if (self->lanes[i].idle)
      self->idle_scratch[n_idle++] = i;
  if (n_idle)
    {
      guint pos = klass->pick_idle ? klass->pick_idle(self->processor, self->idle_scratch, n_idle) : 0;
      RunnerLane *lane = &self->lanes[self->idle_scratch[MIN(pos, n_idle - 1)]];
      lane->idle = FALSE;
      event_active(lane->data_ev, 0, 0);
    }
  relay_mutex_unlock(&self->lock);
  return n_idle > 0;
}

static void
_set_idle(RunnerLane *lane, gboolean idle)
{
  RelaySinkRunner *self = lane->runner;

  if (!self->parallel)
    return;
  relay_mutex_lock(&self->lock);
  lane->idle = idle;
  relay_mutex_unlock(&self->lock);
}

/* ---- lane threads ---- */

static void
_arm_timer(RunnerLane *lane, RunnerWait waiting, gint64 ms)
{
  struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

  lane->waiting = waiting;
  evtimer_add(lane->timer_ev, &tv);
}

static RelaySink *
_lane_sink(RunnerLane *lane)
{
  return g_ptr_array_index(lane->runner->processor->sinks, lane->index);
}

/* Runs in: the lane thread, after it delivered a batch. */
static void
_spread_backlog(RunnerLane *lane)
{
  RelaySink *sink = _lane_sink(lane);

  if (sink->channel && relay_channel_size(sink->channel) > 0)
    _wake_one_idle(lane->runner);
}

/* Runs in: the lane thread. A cycle that did not fail ends an outage of FAILED cycles (one line). */
static void
_log_recovery(RunnerLane *lane)
{
  RelaySinkRunner *self = lane->runner;

  relay_outage_log_success(&lane->outage, self->log_prefix, "delivering again%s%s",
                           self->parallel ? " sink=" : "",
                           self->parallel ? _lane_sink(lane)->super.name : "");
}

/* Runs in: the lane thread. Decides what follows a cycle (Flume's SinkRunner.PollingRunner). */
static void
_schedule_next(RunnerLane *lane, RelaySinkStatus status, gint64 retry_ms)
{
  RelaySinkRunner *self = lane->runner;

  switch (status)
    {
    case RELAY_SINK_READY:
      _log_recovery(lane);
      lane->consecutive_backoffs = 0;
      event_active(lane->cycle_ev, 0, 0);
      if (self->parallel)
        _spread_backlog(lane);
      break;
    case RELAY_SINK_BACKOFF:
      _log_recovery(lane);
      relay_counter_add_shared(&self->processor->backoffs, 1);
      lane->consecutive_backoffs++;
      _arm_timer(lane, RUNNER_WAIT_BACKOFF,
                 MIN(lane->consecutive_backoffs * RELAY_SINK_RUNNER_BACKOFF_STEP_MS,
                     RELAY_SINK_RUNNER_MAX_BACKOFF_MS));
      _set_idle(lane, TRUE);
      break;
    case RELAY_SINK_FAILED:
      if (retry_ms < 0)
        retry_ms = RELAY_SINK_RUNNER_FAILED_WAIT_MS;
      relay_outage_log_failure(&lane->outage, RELAY_LOG_ERROR, self->log_prefix,
                               "Unable to deliver event, retrying wait_ms=%" G_GINT64_FORMAT "%s%s", retry_ms,
                               self->parallel ? " sink=" : "",
                               self->parallel ? _lane_sink(lane)->super.name : "");
      _arm_timer(lane, RUNNER_WAIT_FAILED, retry_ms);
      break;
    }
}

/* Runs in: the lane thread (cycle and timer events). */
static void
_on_cycle(evutil_socket_t fd, short what, void *arg)
{
  RunnerLane *lane = arg;
  RelaySinkRunner *self = lane->runner;
  RelaySinkProcessor *proc = self->processor;
  gint64 retry_ms = -1;
  RelaySinkStatus status;

  if (g_atomic_int_get(&self->stop_requested))
    {
      event_base_loopbreak(lane->base);
      return;
    }
  lane->waiting = RUNNER_WAIT_NONE;
  _set_idle(lane, FALSE);
  if (self->parallel)
    status = proc->klass->process_sink(proc, lane->index, &retry_ms);
  else
    status = relay_sink_processor_process(proc);
  _schedule_next(lane, status, retry_ms);
}

/* Runs in: the lane thread, after a producer (or another lane) activated data_ev. */
static void
_on_data(evutil_socket_t fd, short what, void *arg)
{
  RunnerLane *lane = arg;

  if (lane->waiting != RUNNER_WAIT_BACKOFF)
    return;
  evtimer_del(lane->timer_ev);
  lane->waiting = RUNNER_WAIT_NONE;
  event_active(lane->cycle_ev, 0, 0);
}

/* Runs in: the lane thread, after stop() activated stop_ev. */
static void
_on_stop(evutil_socket_t fd, short what, void *arg)
{
  RunnerLane *lane = arg;

  event_base_loopbreak(lane->base);
}

/* Runs in: the lane thread (its body). */
/* TRUE when the first n lanes left their loops. Under lock. */
static gboolean
_all_exited_locked(RelaySinkRunner *self, guint n)
{
  for (guint i = 0; i < n; i++)
    if (!self->lanes[i].exited)
      return FALSE;
  return TRUE;
}

static gpointer
_lane_main(gpointer data)
{
  RunnerLane *lane = data;
  RelaySinkRunner *self = lane->runner;

  event_active(lane->cycle_ev, 0, 0);
  event_base_loop(lane->base, EVLOOP_NO_EXIT_ON_EMPTY);
  relay_mutex_lock(&self->lock);
  lane->exited = TRUE;
  lane->idle = FALSE;
  relay_cond_broadcast(&self->exited_cond);
  if (self->exited_ev && _all_exited_locked(self, self->n_lanes))
    event_active(self->exited_ev, 0, 0); /* the last lane out tells the main loop (stop_async) */
  relay_mutex_unlock(&self->lock);
  return NULL;
}

/* Runs in: the committing (producer) thread. Only wakes lanes. */
static void
_on_channel_data(RelayChannel *channel, gpointer user_data)
{
  RelaySinkRunner *self = user_data;

  if (self->parallel && _wake_one_idle(self))
    return;
  for (guint i = 0; i < self->n_lanes; i++)
    event_active(self->lanes[i].data_ev, 0, 0);
}

/* ---- main thread ---- */

RelaySinkRunner *
relay_sink_runner_new(RelaySinkProcessor *processor)
{
  RelaySinkRunner *self = g_new0(RelaySinkRunner, 1);

  self->processor = processor;
  self->log_prefix = g_strdup(processor->log_prefix);
  self->channels = g_ptr_array_new();
  self->parallel = processor->parallel && processor->klass->process_sink && processor->sinks->len > 0;
  self->n_lanes = self->parallel ? processor->sinks->len : 1;
  self->lanes = g_new0(RunnerLane, self->n_lanes);
  self->idle_scratch = g_new0(guint, self->n_lanes);
  for (guint i = 0; i < self->n_lanes; i++)
    {
      self->lanes[i].runner = self;
      self->lanes[i].index = i;
      relay_outage_log_init(&self->lanes[i].outage, RELAY_OUTAGE_SUMMARY_S);
    }
  relay_mutex_init(&self->lock);
  relay_cond_init(&self->exited_cond);
  return self;
}

RelaySinkProcessor *
relay_sink_runner_processor(RelaySinkRunner *self)
{
  return self->processor;
}

static gboolean
_create_loop(RelaySinkRunner *self, RunnerLane *lane, GError **error)
{
  lane->base = event_base_new();
  if (!lane->base)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "%s: cannot create the runner's event loop",
                  self->log_prefix);
      return FALSE;
    }
  lane->cycle_ev = event_new(lane->base, -1, 0, _on_cycle, lane);
  lane->timer_ev = evtimer_new(lane->base, _on_cycle, lane);
  lane->data_ev = event_new(lane->base, -1, 0, _on_data, lane);
  lane->stop_ev = event_new(lane->base, -1, 0, _on_stop, lane);
  return TRUE;
}

static void
_free_loop(RunnerLane *lane)
{
  struct event **events[] = { &lane->cycle_ev, &lane->timer_ev, &lane->data_ev, &lane->stop_ev };

  for (gsize i = 0; i < G_N_ELEMENTS(events); i++)
    if (*events[i])
      {
        event_free(*events[i]);
        *events[i] = NULL;
      }
  if (lane->base)
    event_base_free(lane->base);
  lane->base = NULL;
}

static void
_free_loops(RelaySinkRunner *self)
{
  for (guint i = 0; i < self->n_lanes; i++)
    _free_loop(&self->lanes[i]);
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

/* Waits up to grace_ms for every started lane to leave its loop; TRUE if they did. */
static gboolean
_wait_exited(RelaySinkRunner *self, guint n_started, guint grace_ms)
{
  gint64 deadline = g_get_monotonic_time() + (gint64)grace_ms * G_TIME_SPAN_MILLISECOND;
  gboolean all = FALSE;

  relay_mutex_lock(&self->lock);
  while (!(all = _all_exited_locked(self, n_started))
         && relay_cond_wait_until(&self->exited_cond, &self->lock, deadline))
    ;
  relay_mutex_unlock(&self->lock);
  return all;
}

static void
_request_abort(RelaySinkRunner *self)
{
  GPtrArray *sinks = self->processor->sinks;

  for (guint i = 0; i < sinks->len; i++)
    g_atomic_int_set(&((RelaySink *)g_ptr_array_index(sinks, i))->abort_requested, 1);
}

static void
_grace_over(RelaySinkRunner *self, guint grace_ms)
{
  relay_warn(self->log_prefix, "batch in flight not finished after grace period, aborting grace_ms=%u",
             grace_ms);
  _request_abort(self);
}

/* Asks the first n_started lanes to leave their loops after the batch in flight. */
static void
_request_stop(RelaySinkRunner *self, guint n_started)
{
  g_atomic_int_set(&self->stop_requested, 1);
  for (guint i = 0; i < n_started; i++)
    event_active(self->lanes[i].stop_ev, 0, 0);
}

/* Stops and joins the first n_started lanes: after grace_ms the sinks' abort flags are set. */
static void
_stop_lanes(RelaySinkRunner *self, guint n_started, guint grace_ms)
{
  _request_stop(self, n_started);
  if (!_wait_exited(self, n_started, grace_ms))
    _grace_over(self, grace_ms);
  for (guint i = 0; i < n_started; i++)
    {
      g_thread_join(self->lanes[i].thread);
      self->lanes[i].thread = NULL;
    }
  _remove_notifications(self);
}

static gboolean
_start_lane(RelaySinkRunner *self, RunnerLane *lane, GError **error)
{
  GError *local = NULL;
  char *thread_name
      = g_strdup_printf("sink:%s", self->parallel ? _lane_sink(lane)->super.name : self->processor->name);

  lane->thread = relay_thread_try_new(thread_name, _lane_main, lane, &local);
  g_free(thread_name);
  if (lane->thread)
    return TRUE;
  g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "%s: cannot start the runner thread: %s", self->log_prefix,
              local->message);
  g_error_free(local);
  return FALSE;
}

gboolean
relay_sink_runner_start(RelaySinkRunner *self, GError **error)
{
  if (self->started)
    return TRUE;
  if (self->stopped)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_STATE, "%s: a stopped runner cannot be restarted",
                  self->log_prefix);
      return FALSE;
    }
  for (guint i = 0; i < self->n_lanes; i++)
    if (!_create_loop(self, &self->lanes[i], error))
      {
        _free_loops(self);
        return FALSE;
      }
  _add_notifications(self);
  for (guint i = 0; i < self->n_lanes; i++)
    if (!_start_lane(self, &self->lanes[i], error))
      {
        _stop_lanes(self, i, RELAY_SINK_RUNNER_FREE_GRACE_MS);
        _free_loops(self);
        self->stopped = TRUE;
        return FALSE;
      }
  self->started = TRUE;
  self->processor->start_time_ms = g_get_real_time() / 1000;
  relay_debug(self->log_prefix, "runner started sinks=%u channels=%u lanes=%u", self->processor->sinks->len,
              self->channels->len, self->n_lanes);
  return TRUE;
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
  _stop_lanes(self, self->n_lanes, grace_ms);
  if (self->exited_ev) /* stop_async() was under way: its events must not fire any more */
    {
      event_del(self->exited_ev);
      event_del(self->grace_ev);
    }
  self->processor->stop_time_ms = g_get_real_time() / 1000;
  relay_debug(self->log_prefix, "runner stopped");
}

/* Runs in: the main thread, when stop_async()'s grace period is over and a lane is still in its batch. */
static void
_on_async_grace_over(evutil_socket_t fd, short what, void *arg)
{
  RelaySinkRunner *self = arg;

  _grace_over(self, self->grace_ms);
}

/* Runs in: the main thread, once every lane left its loop after stop_async(). */
static void
_on_lanes_exited(evutil_socket_t fd, short what, void *arg)
{
  RelaySinkRunner *self = arg;

  relay_sink_runner_stop(self, 0); /* joins at once: every lane left its loop */
  self->on_exited(self->on_exited_data);
}

gboolean
relay_sink_runner_stop_async(RelaySinkRunner *self, struct event_base *base, guint grace_ms,
                             void (*on_exited)(gpointer user_data), gpointer user_data)
{
  struct timeval grace = { (time_t)(grace_ms / 1000), (suseconds_t)((grace_ms % 1000) * 1000) };

  if (!relay_sink_runner_running(self) || self->exited_ev)
    return FALSE;
  self->grace_ms = grace_ms;
  self->on_exited = on_exited;
  self->on_exited_data = user_data;
  self->grace_ev = evtimer_new(base, _on_async_grace_over, self);
  evtimer_add(self->grace_ev, &grace);
  relay_mutex_lock(&self->lock);
  self->exited_ev = event_new(base, -1, 0, _on_lanes_exited, self);
  relay_mutex_unlock(&self->lock);
  _request_stop(self, self->n_lanes);
  return TRUE;
}

gboolean
relay_sink_runner_running(RelaySinkRunner *self)
{
  return self->started && !self->stopped;
}

void
relay_sink_runner_free(RelaySinkRunner *self)
{
  if (!self)
    return;
  relay_sink_runner_stop(self, RELAY_SINK_RUNNER_FREE_GRACE_MS);
  if (self->exited_ev)
    {
      event_free(self->exited_ev);
      event_free(self->grace_ev);
    }
  _free_loops(self);
  relay_sink_processor_free(self->processor);
  g_ptr_array_unref(self->channels);
  g_free(self->lanes);
  g_free(self->idle_scratch);
  relay_mutex_clear(&self->lock);
  relay_cond_clear(&self->exited_cond);
  g_free(self->log_prefix);
  g_free(self);
}
