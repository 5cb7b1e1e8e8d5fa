/* embedded_put.c - the application's puts: events copied once, interceptors, one channel transaction, and
 * waiting up to the channel's keep-alive for room when it is full.
 *
 * Runs on the application's threads, any number at once: the channel processor of the embedded source keeps
 * no per-put state for a single replicating channel, the interceptor chain is read-only after configuration,
 * and the channel is the shared object built for many threads.
 *
 * The gate: a put takes no lock of the agent. It counts itself in its thread's slot of `gate` (a
 * sequentially consistent increment), then reads `state` and `stopping`; stop sets `stopping` and then waits
 * until every slot reads 0. Either the put's increment comes first, and stop waits for the put to finish, or
 * stop's store comes first, and the put sees `stopping` and returns at once without touching the graph.
 * Slots are per group of threads and 64 bytes apart, so puts from different threads touch no common cache
 * line on the way in and out. A put waiting for room gives up as soon as stop begins.
 *
 * Allocations: the events (which the channel keeps), and nothing per put besides: the batch array is the
 * thread's, kept between puts (GPrivate; the memory channel keeps its transaction the same way).
 *
 * Waiting for room: the channel's SPACE notification (a sink's take commit, on the runner's thread) bumps
 * space_gen and, only when somebody waits, broadcasts space_cond. A put reads space_gen before its attempt
 * and sleeps only while it is unchanged, so a notification between the failed attempt and the wait is not
 * missed; a 100 ms bound on each sleep covers anything else. */
#include "embedded_private.h"

#include "channel.h"
#include "channel_processor.h"
#include "event.h"
#include "source.h"

#include <string.h>

#define RELAY_EMBEDDED_RETRY_US (100 * 1000)
/* stop polls the gate this often while puts finish. */
#define RELAY_EMBEDDED_GATE_POLL_US 200
/* A thread's batch array is kept for its next put unless it held more events than this. */
#define RELAY_EMBEDDED_BATCH_CACHE_MAX 4096

static GPrivate _batch_cache = G_PRIVATE_INIT((GDestroyNotify)g_ptr_array_unref);
static gint _next_slot;           /* atomic: hands out gate slots to threads, round robin */
static __thread guint _gate_slot; /* this thread's slot + 1; 0: none yet */

/* ---- the gate ---- */

static gint *
_gate_counter(RelayEmbeddedAgent *self)
{
  if (G_UNLIKELY(_gate_slot == 0))
    _gate_slot = (guint)g_atomic_int_add(&_next_slot, 1) % RELAY_EMBEDDED_GATE_SLOTS + 1;
  return &self->gate[_gate_slot - 1].n;
}

/* Counts the put in; FALSE (counted out again) unless the agent is started and not stopping. */
static gboolean
_gate_enter(RelayEmbeddedAgent *self, gint *counter)
{
  __atomic_add_fetch(counter, 1, __ATOMIC_SEQ_CST);
  if (g_atomic_int_get(&self->state) == RELAY_EMBEDDED_STATE_STARTED && !g_atomic_int_get(&self->stopping))
    return TRUE;
  __atomic_sub_fetch(counter, 1, __ATOMIC_RELEASE);
  return FALSE;
}

static void
_gate_leave(gint *counter)
{
  __atomic_sub_fetch(counter, 1, __ATOMIC_RELEASE);
}

void
relay_embedded_gate_wait_idle(RelayEmbeddedAgent *self)
{
  for (guint i = 0; i < RELAY_EMBEDDED_GATE_SLOTS; i++)
    while (__atomic_load_n(&self->gate[i].n, __ATOMIC_SEQ_CST) > 0)
      g_usleep(RELAY_EMBEDDED_GATE_POLL_US);
}

/* ---- waiting for room ---- */

/* Runs in: the thread whose commit or rollback freed room (a sink runner). */
static void
_on_space(RelayChannel *channel, gpointer user_data)
{
  RelayEmbeddedAgent *self = user_data;

  (void)channel;
  g_atomic_int_inc(&self->space_gen);
  if (g_atomic_int_get(&self->space_waiters) > 0)
    relay_embedded_space_wake_all(self);
}

void
relay_embedded_space_wake_all(RelayEmbeddedAgent *self)
{
  relay_mutex_lock(&self->space_lock);
  relay_cond_broadcast(&self->space_cond);
  relay_mutex_unlock(&self->space_lock);
}

void
relay_embedded_space_attach(RelayEmbeddedAgent *self)
{
  relay_channel_add_notify(self->channel, RELAY_CHANNEL_NOTIFY_SPACE, _on_space, self);
}

void
relay_embedded_space_detach(RelayEmbeddedAgent *self)
{
  relay_channel_remove_notify(self->channel, _on_space, self);
}

/* Sleeps until room may have been freed since gen was read, the deadline, or stop. */
static void
_wait_space(RelayEmbeddedAgent *self, gint gen, gint64 deadline_us)
{
  gint64 until = MIN(deadline_us, g_get_monotonic_time() + RELAY_EMBEDDED_RETRY_US);

  relay_mutex_lock(&self->space_lock);
  g_atomic_int_inc(&self->space_waiters);
  while (g_atomic_int_get(&self->space_gen) == gen && !g_atomic_int_get(&self->stopping)
         && relay_cond_wait_until(&self->space_cond, &self->space_lock, until))
    ;
  g_atomic_int_dec_and_test(&self->space_waiters);
  relay_mutex_unlock(&self->space_lock);
}

static RelayEvent *
_copy_event(const RelayEmbeddedEvent *in)
{
  RelayHeader stack[16];
  if (in->n_headers == 0)
    return relay_event_new(NULL, 0, in->body, in->body_len);
  RelayHeader *headers = in->n_headers <= G_N_ELEMENTS(stack) ? stack : g_new(RelayHeader, in->n_headers);

  for (gsize i = 0; i < in->n_headers; i++)
    {
      headers[i].key = in->headers[i].key;
      headers[i].value = in->headers[i].value;
      headers[i].key_len = (guint32)strlen(in->headers[i].key);
      headers[i].value_len = (guint32)strlen(in->headers[i].value);
    }
  RelayEvent *ev = relay_event_new(headers, (guint)in->n_headers, in->body, in->body_len);
  if (headers != stack)
    g_free(headers);
  return ev;
}

static RelayEmbeddedStatus
_check_events(const RelayEmbeddedEvent *events, gsize n)
{
  for (gsize i = 0; i < n; i++)
    {
      const RelayEmbeddedEvent *ev = &events[i];
      if ((!ev->body && ev->body_len) || (!ev->headers && ev->n_headers)
          || ev->body_len > RELAY_EVENT_MAX_BODY || ev->n_headers > RELAY_EVENT_MAX_HEADERS)
        return relay_embedded_fail(RELAY_EMBEDDED_ERR_INVALID,
                                   "event %zu: body or headers missing or too large", (size_t)i);
      for (gsize j = 0; j < ev->n_headers; j++)
        if (!ev->headers[j].key || !ev->headers[j].value)
          return relay_embedded_fail(RELAY_EMBEDDED_ERR_INVALID,
                                     "event %zu: header %zu has a NULL key or value", (size_t)i, (size_t)j);
    }
  return RELAY_EMBEDDED_OK;
}

/* The thread's batch array, taken out of the cache while in use (a put from a log callback of a put gets its
 * own). */
static GPtrArray *
_batch_take(void)
{
  GPtrArray *batch = g_private_get(&_batch_cache);

  if (!batch)
    return g_ptr_array_new_with_free_func(relay_event_unref_notify);
  g_private_set(&_batch_cache, NULL);
  return batch;
}

/* Releases the events (the channel keeps its own references) and keeps the array for the next put. */
static void
_batch_give_back(GPtrArray *batch, gsize n_events)
{
  g_ptr_array_set_size(batch, 0);
  if (n_events > RELAY_EMBEDDED_BATCH_CACHE_MAX || g_private_get(&_batch_cache))
    g_ptr_array_unref(batch);
  else
    g_private_set(&_batch_cache, batch);
}

/* Attempts until the commit, an error, or the keep-alive deadline. With interceptors, each attempt gets its
 * own array of references, since interceptors replace and remove elements; without, the channel processor
 * only reads the array. */
static RelayEmbeddedStatus
_put_events(RelayEmbeddedAgent *self, GPtrArray *events)
{
  RelayChannel *channel = self->channel;
  gint64 deadline = g_get_monotonic_time() + channel->keep_alive_s * G_USEC_PER_SEC;

  for (;;)
    {
      GPtrArray *attempt = events;
      if (self->has_interceptors)
        {
          attempt = g_ptr_array_new_full(events->len, relay_event_unref_notify);
          for (guint i = 0; i < events->len; i++)
            g_ptr_array_add(attempt, relay_event_ref(g_ptr_array_index(events, i)));
        }
      gint gen = g_atomic_int_get(&self->space_gen);
      RelayPutResult result = relay_channel_processor_put(self->source->cp, attempt);
      if (attempt != events)
        g_ptr_array_unref(attempt);
      if (result == RELAY_PUT_OK)
        return RELAY_EMBEDDED_OK;
      if (result == RELAY_PUT_ERROR)
        return relay_embedded_fail(
            RELAY_EMBEDDED_ERR_CHANNEL,
            "Embedded agent %s: Unable to process event: channel %s failed (see the log)", self->name,
            channel->super.name);
      if (g_get_monotonic_time() >= deadline || g_atomic_int_get(&self->stopping))
        return relay_embedded_fail(
            RELAY_EMBEDDED_ERR_FULL,
            "Embedded agent %s: Unable to process event: channel %s is full (capacity %" G_GINT64_FORMAT
            ", %" G_GUINT64_FORMAT " events in it) and no room was freed "
            "within keep-alive %" G_GINT64_FORMAT " s%s",
            self->name, channel->super.name, channel->capacity, relay_channel_size(channel),
            channel->keep_alive_s, g_atomic_int_get(&self->stopping) ? " (stopping)" : "");
      _wait_space(self, gen, deadline);
    }
}

RelayEmbeddedStatus
relay_embedded_put_batch(RelayEmbeddedAgent *self, const RelayEmbeddedEvent *events, size_t n_events)
{
  if (!self || (!events && n_events))
    return relay_embedded_fail(RELAY_EMBEDDED_ERR_INVALID, "put: NULL agent or events");
  RelayEmbeddedStatus status = _check_events(events, n_events);
  if (status != RELAY_EMBEDDED_OK || n_events == 0)
    return status;

  gint *counter = _gate_counter(self);
  if (!_gate_enter(self, counter))
    return relay_embedded_fail(RELAY_EMBEDDED_ERR_STATE,
                               "Embedded agent %s: Cannot put events unless started", self->name);
  const RelayLogSink *previous = relay_log_set_thread_sink(&self->log);
  if ((gint64)n_events > self->channel->transaction_capacity)
    status = relay_embedded_fail(
        RELAY_EMBEDDED_ERR_TOO_LARGE,
        "Embedded agent %s: Unable to process event: %zu events in one put, more than "
        "transactionCapacity %" G_GINT64_FORMAT " of channel %s",
        self->name, n_events, self->channel->transaction_capacity, self->channel->super.name);
  else
    {
      GPtrArray *batch = _batch_take();
      for (gsize i = 0; i < n_events; i++)
        g_ptr_array_add(batch, _copy_event(&events[i]));
      status = _put_events(self, batch);
      _batch_give_back(batch, n_events);
    }
  relay_log_set_thread_sink(previous);
  _gate_leave(counter);
  return status;
}

RelayEmbeddedStatus
relay_embedded_put(RelayEmbeddedAgent *self, const RelayEmbeddedEvent *event)
{
  if (!event)
    return relay_embedded_fail(RELAY_EMBEDDED_ERR_INVALID, "put: NULL event");
  return relay_embedded_put_batch(self, event, 1);
}
