/* source_seq.c - Flume's sequence generator source: bodies "0", "1", "2", ... up to totalEvents.
 *
 * Generation runs on the main loop and never blocks it: one pre-created event, `tick`, puts one batch of
 * batchSize events through relay_channel_processor_submit(). When the put succeeded the counter advances and
 * tick is activated again, so the loop serves its other events between two batches. When it failed (FULL
 * after the channel's keep-alive, or ERROR) the same bodies are put again after a backoff that grows by
 * 1000 ms per consecutive failure up to 5000 ms (Flume's pollable-source backoff), so every number is
 * stored exactly once (the channel processor retries only the required channels that did not commit). After
 * totalEvents the source logs at info and stays idle, as Flume's source backs off forever.
 *
 * Counters as Flume's SequenceGeneratorSource: EventAcceptedCount, AppendBatchAcceptedCount (batchSize > 1),
 * ChannelWriteFail per failed attempt (counted by the channel processor).
 *
 * Threads: everything runs on the main loop. */
#include "relay.h"

#include "channel_processor.h"
#include "counters.h"
#include "event.h"
#include "log.h"
#include "source.h"

#define RELAY_SEQ_BACKOFF_STEP_MS 1000
#define RELAY_SEQ_BACKOFF_MAX_MS 5000

typedef struct
{
  RelaySource super;
  gint64 batch_size;
  gint64 total_events;

  gint64 next;              /* body of the first event of the batch to put */
  guint in_flight;          /* events of the batch being put */
  guint backoff_ms;         /* wait before the retry after the last failure; 0 after a success */
  struct event *tick;       /* one-shot: put the next batch (at once, or after backoff_ms) */
  RelayPutRequest *pending; /* the put in flight, or NULL */
} RelaySeqSource;

static const RelayOption _seq_options[] = {
  RELAY_OPT_INT_ROW("batchSize", "1", 1, G_MAXINT32, RelaySeqSource, batch_size, RELAY_OPTF_BATCH_SIZE,
                    "events per put (at most the channels' transactionCapacity)"),
  RELAY_OPT_INT_ROW("totalEvents", "9223372036854775807", 0, G_MAXINT64, RelaySeqSource, total_events, 0,
                    "events to generate before stopping (default: no limit)"),
  RELAY_OPTION_END,
};

static GPtrArray *
_build_batch(gint64 first, guint count)
{
  GPtrArray *batch = g_ptr_array_new_full(count, relay_event_unref_notify);
  char body[24];

  for (guint i = 0; i < count; i++)
    {
      int len = g_snprintf(body, sizeof body, "%" G_GINT64_FORMAT, first + (gint64)i);
      g_ptr_array_add(batch, relay_event_new(NULL, 0, body, (gsize)len));
    }
  return batch;
}

static void
_on_put_done(RelayPutResult result, gpointer user_data)
{
  RelaySeqSource *src = user_data;
  RelaySourceCounters *counters = &src->super.counters;

  src->pending = NULL;
  if (result == RELAY_PUT_OK)
    {
      src->next += src->in_flight;
      relay_counter_add(&counters->event_accepted, src->in_flight);
      relay_counter_inc(src->batch_size > 1 ? &counters->append_batch_accepted : &counters->append_accepted);
      src->backoff_ms = 0;
      event_active(src->tick, EV_TIMEOUT, 0);
      return;
    }
  /* The channel processor counts ChannelWriteFail and logs the failure (rate-limited). */
  relay_counter_add(&counters->event_failed, src->in_flight);
  src->backoff_ms = MIN(src->backoff_ms + RELAY_SEQ_BACKOFF_STEP_MS, RELAY_SEQ_BACKOFF_MAX_MS);
  relay_debug(src->super.super.log_prefix,
              "put failed, retrying the same events result=%s first=%" G_GINT64_FORMAT
              " events=%u backoff_ms=%u",
              relay_put_result_name(result), src->next, src->in_flight, src->backoff_ms);
  struct timeval wait = { src->backoff_ms / 1000, (src->backoff_ms % 1000) * 1000 };
  evtimer_add(src->tick, &wait);
}

static void
_on_tick(evutil_socket_t fd, short what, void *arg)
{
  RelaySeqSource *src = arg;
  gint64 left = src->total_events - src->next;

  if (left <= 0)
    {
      relay_info(src->super.super.log_prefix, "all events generated totalEvents=%" G_GINT64_FORMAT,
                 src->total_events);
      return;
    }
  src->in_flight = (guint)MIN(left, src->batch_size);
  GPtrArray *batch = _build_batch(src->next, src->in_flight);
  relay_counter_add(&src->super.counters.event_received, src->in_flight);
  relay_counter_inc(src->batch_size > 1 ? &src->super.counters.append_batch_received
                                        : &src->super.counters.append_received);
  /* done may run before submit returns; it then re-arms tick itself. */
  src->pending = relay_channel_processor_submit(src->super.cp, batch, _on_put_done, src);
}

static gboolean
_seq_start(RelayComponent *self, GError **error)
{
  RelaySeqSource *src = (RelaySeqSource *)self;

  if (!src->super.cp || !src->super.base)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_STATE,
                  "%s: started without channel processor or event loop", self->log_prefix);
      return FALSE;
    }
  src->tick = evtimer_new(src->super.base, _on_tick, src);
  event_active(src->tick, EV_TIMEOUT, 0);
  relay_info(self->log_prefix,
             "generating batchSize=%" G_GINT64_FORMAT " totalEvents=%" G_GINT64_FORMAT
             " from=%" G_GINT64_FORMAT,
             src->batch_size, src->total_events, src->next);
  return TRUE;
}

static void
_seq_stop(RelayComponent *self)
{
  RelaySeqSource *src = (RelaySeqSource *)self;

  if (src->pending)
    {
      relay_put_request_cancel(src->pending);
      relay_counter_add(&src->super.counters.event_failed, src->in_flight); /* never stored */
    }
  src->pending = NULL;
  if (src->tick)
    event_free(src->tick);
  src->tick = NULL;
}

const RelayComponentClass relay_source_seq_class = {
  .kind = RELAY_KIND_SOURCE,
  .type = "seq",
  .flume_class = "org.apache.flume.source.SequenceGeneratorSource",
  .description = "generates the bodies 0, 1, 2, ... (testing)",
  .options = _seq_options,
  .instance_size = sizeof(RelaySeqSource),
  .start = _seq_start,
  .stop = _seq_stop,
};
