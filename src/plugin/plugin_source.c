/* plugin_source.c - plugin sources: event-driven ones on the main loop, pollable ones on a thread of their
 * own.
 *
 * An event-driven plugin source is started and stopped on the main thread and puts events with
 * relayd_source_put(), an asynchronous put through its channel processor (relay_channel_processor_submit).
 *
 * A pollable plugin source is run as Flume's PollableSourceRunner runs a PollableSource
 * (flume-ng-core/src/main/java/org/apache/flume/source/PollableSourceRunner.java), with one difference that
 * makes bookmarks safe: relayd, not the plugin, owns the batch transaction. The runner thread loops:
 *   1. process(batch): the plugin reads up to the batch's capacity (the smallest transactionCapacity of the
 *      source's channels) and returns READY or BACKOFF;
 *   2. a non-empty batch is put through the channel processor (interceptors, selector, one transaction per
 *      required channel), synchronously on this thread; if a channel is full or fails, the same batch is put
 *      again after a backoff (it is never re-read), until it is committed or the source stops;
 *   3. after the commit, committed(batch) is called: the plugin saves its bookmark there, so a bookmark
 *      never covers events that are not in the channels. A crash between 2 and 3 delivers the batch again
 *      after the restart (at least once; duplicates are bounded by one batch per source).
 * BACKOFF sleeps min(n * backoffSleepIncrement, maxBackoffSleep) for the n-th consecutive BACKOFF; READY
 * resets n (AbstractPollableSource's keys and defaults, 1000 and 5000 ms).
 *
 * Threads: the runner thread is the only thread that calls process() and committed(), and the only writer of
 * the source's counters (counters.h: single writer) while it runs; the channel is the shared object. Stop
 * (main thread) sets `stopping`, wakes a sleeping runner and joins it: a process() in progress is waited for,
 * which is why the interface asks process() to block for at most about a second. A batch not committed at
 * stop is dropped; its events are read again after the restart (the bookmark was not advanced). */
#include "plugin_private.h"

#include "channel.h"
#include "channel_processor.h"
#include "counters.h"
#include "event.h"
#include "log.h"

struct RelaydBatch
{
  GPtrArray *events; /* RelayEvent* references, free func relay_event_unref_notify */
  guint capacity;
  char *bookmark;
};

static const RelayOption _pollable_options[] = {
  RELAY_OPT_INT_ROW("backoffSleepIncrement", "1000", 1, 3600000, RelayPluginSource, backoff_increment_ms, 0,
                    "ms added to the sleep after each consecutive BACKOFF of process() (Flume's default)"),
  RELAY_OPT_INT_ROW("maxBackoffSleep", "5000", 1, 3600000, RelayPluginSource, max_backoff_ms, 0,
                    "longest sleep after BACKOFF, ms"),
  RELAY_OPTION_END,
};

/* ---- batches ---- */

size_t
relayd_batch_capacity(const RelaydBatch *batch)
{
  return batch->capacity;
}

size_t
relayd_batch_count(const RelaydBatch *batch)
{
  return batch->events->len;
}

int
relayd_batch_add(RelaydBatch *batch, RelaydEvent *ev)
{
  if (!ev)
    return -1;
  if (batch->events->len >= batch->capacity)
    {
      relay_event_unref((RelayEvent *)ev);
      return -1;
    }
  g_ptr_array_add(batch->events, ev);
  return 0;
}

void
relayd_batch_set_bookmark(RelaydBatch *batch, const char *bookmark)
{
  g_free(batch->bookmark);
  batch->bookmark = g_strdup(bookmark);
}

const char *
relayd_batch_bookmark(const RelaydBatch *batch)
{
  return batch->bookmark;
}

static RelaydBatch *
_batch_new(guint capacity)
{
  RelaydBatch *batch = g_new0(RelaydBatch, 1);

  batch->events = g_ptr_array_new_full(capacity, relay_event_unref_notify);
  batch->capacity = capacity;
  return batch;
}

static void
_batch_free(RelaydBatch *batch)
{
  if (!batch)
    return;
  g_ptr_array_unref(batch->events);
  g_free(batch->bookmark);
  g_free(batch);
}

int
relayd_source_stopping(const RelaydComponent *self)
{
  return g_atomic_int_get(&((RelayPluginSource *)self)->stopping);
}

/* ---- the runner thread ---- */

/* Sleeps ms unless stop wakes it first. Runner thread. */
static void
_sleep(RelayPluginSource *src, gint64 ms)
{
  gint64 end = g_get_monotonic_time() + ms * 1000;

  relay_mutex_lock(&src->lock);
  while (!g_atomic_int_get(&src->stopping) && relay_cond_wait_until(&src->wake, &src->lock, end))
    ;
  relay_mutex_unlock(&src->lock);
}

static gint64
_backoff_ms(RelayPluginSource *src, guint n)
{
  return MIN((gint64)n * src->backoff_increment_ms, src->max_backoff_ms);
}

/* Puts batch until it is committed (TRUE) or the source stops (FALSE). Runner thread. */
static gboolean
_put_until_committed(RelayPluginSource *src, RelaydBatch *batch)
{
  RelaySourceCounters *counters = &src->super.counters;
  guint failures = 0;

  relay_counter_add(&counters->event_received, batch->events->len);
  relay_counter_inc(&counters->append_batch_received);
  while (!g_atomic_int_get(&src->stopping))
    {
      guint n = batch->events->len; /* interceptors may drop some */
      RelayPutResult result = relay_channel_processor_put(src->super.cp, batch->events);
      if (result == RELAY_PUT_OK)
        {
          relay_counter_add(&counters->event_accepted, n);
          relay_counter_inc(&counters->append_batch_accepted);
          return TRUE;
        }
      /* The channel processor counts ChannelWriteFail and logs (rate-limited). */
      _sleep(src, _backoff_ms(src, ++failures));
    }
  relay_counter_add(&counters->event_failed, batch->events->len);
  return FALSE;
}

static guint
_batch_capacity(RelayPluginSource *src)
{
  GPtrArray *channels = relay_channel_processor_channels(src->super.cp);
  gint64 cap = G_MAXINT32;

  for (guint i = 0; i < channels->len; i++)
    cap = MIN(cap, ((RelayChannel *)g_ptr_array_index(channels, i))->transaction_capacity);
  return (guint)MAX(cap, 1);
}

/* Runs in: the source's own runner thread. */
static gpointer
_run(gpointer data)
{
  RelayPluginSource *src = data;
  const RelayPluginClass *pc = relay_plugin_class(RELAY_COMPONENT(src));
  RelaydComponent *self = (RelaydComponent *)src;
  guint capacity = _batch_capacity(src), backoffs = 0;

  while (!g_atomic_int_get(&src->stopping))
    {
      RelaydBatch *batch = _batch_new(capacity);
      RelaydStatus status = pc->source.process(self, batch);
      gboolean committed = batch->events->len == 0 || _put_until_committed(src, batch);
      if (committed && batch->events->len && pc->source.committed)
        pc->source.committed(self, batch);
      _batch_free(batch);
      if (status == RELAYD_BACKOFF)
        _sleep(src, _backoff_ms(src, ++backoffs));
      else
        backoffs = 0;
    }
  return NULL;
}

/* ---- lifecycle (main thread) ---- */

static gboolean
_source_start(RelayComponent *self, GError **error)
{
  RelayPluginSource *src = (RelayPluginSource *)self;

  if (!relay_plugin_call_start(self, error))
    return FALSE;
  if (relay_plugin_class(self)->plugin_kind != RELAY_PLUGIN_POLLABLE_SOURCE)
    return TRUE;
  g_atomic_int_set(&src->stopping, 0);
  relay_mutex_init(&src->lock);
  relay_cond_init(&src->wake);
  src->thread = g_thread_new(self->name, _run, src);
  relay_info(self->log_prefix,
             "polling on its own thread backoffSleepIncrement=%" G_GINT64_FORMAT
             " maxBackoffSleep=%" G_GINT64_FORMAT,
             src->backoff_increment_ms, src->max_backoff_ms);
  return TRUE;
}

static void
_source_stop(RelayComponent *self)
{
  RelayPluginSource *src = (RelayPluginSource *)self;

  if (src->thread)
    {
      relay_mutex_lock(&src->lock);
      g_atomic_int_set(&src->stopping, 1);
      relay_cond_broadcast(&src->wake);
      relay_mutex_unlock(&src->lock);
      g_thread_join(src->thread);
      src->thread = NULL;
      relay_cond_clear(&src->wake);
      relay_mutex_clear(&src->lock);
    }
  relay_plugin_call_stop(self);
}

void
relay_plugin_source_class_init(RelayPluginClass *pc, gboolean pollable)
{
  pc->plugin_kind = pollable ? RELAY_PLUGIN_POLLABLE_SOURCE : RELAY_PLUGIN_SOURCE;
  pc->klass.instance_size = sizeof(RelayPluginSource);
  pc->common_offset = G_STRUCT_OFFSET(RelayPluginSource, common);
  pc->klass.options = pollable ? _pollable_options : NULL; /* appended to the plugin's rows by _register */
  pc->klass.start = _source_start;
  pc->klass.stop = _source_stop;
  pc->klass.free = relay_plugin_free;
}

/* ---- event-driven sources: asynchronous puts on the main loop ---- */

void *
relayd_source_event_base(RelaydComponent *self)
{
  return ((RelaySource *)self)->base;
}

struct RelaydPutRequest
{
  RelayPluginSource *src;
  RelayPutRequest *inner;
  RelaydPutDone done;
  void *user_data;
  guint n;
  gboolean in_submit, finished;
};

static void
_on_put_done(RelayPutResult result, gpointer user_data)
{
  RelaydPutRequest *req = user_data;
  RelaySourceCounters *counters = &req->src->super.counters;

  if (result == RELAY_PUT_OK)
    {
      relay_counter_add(&counters->event_accepted, req->n);
      relay_counter_inc(req->n > 1 ? &counters->append_batch_accepted : &counters->append_accepted);
    }
  else
    relay_counter_add(&counters->event_failed, req->n);
  req->done((RelaydComponent *)req->src, (RelaydPutResult)result, req->user_data);
  if (req->in_submit)
    req->finished = TRUE;
  else
    g_free(req);
}

RelaydPutRequest *
relayd_source_put(RelaydComponent *self, RelaydEvent **events, size_t n, RelaydPutDone done, void *user_data)
{
  RelayPluginSource *src = (RelayPluginSource *)self;
  RelaydPutRequest *req = g_new0(RelaydPutRequest, 1);
  GPtrArray *batch = g_ptr_array_new_full((guint)n, relay_event_unref_notify);

  for (size_t i = 0; i < n; i++)
    g_ptr_array_add(batch, events[i]);
  *req = (RelaydPutRequest){ src, NULL, done, user_data, (guint)n, TRUE, FALSE };
  relay_counter_add(&src->super.counters.event_received, (gint64)n);
  relay_counter_inc(n > 1 ? &src->super.counters.append_batch_received
                          : &src->super.counters.append_received);
  req->inner = relay_channel_processor_submit(src->super.cp, batch, _on_put_done, req);
  req->in_submit = FALSE;
  if (req->finished)
    {
      g_free(req);
      return NULL;
    }
  return req;
}

void
relayd_put_cancel(RelaydPutRequest *request)
{
  if (!request)
    return;
  relay_put_request_cancel(request->inner);
  relay_counter_add(&request->src->super.counters.event_failed, request->n);
  g_free(request);
}
