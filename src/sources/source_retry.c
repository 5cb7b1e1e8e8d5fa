/* source_retry.c - a failed put retried after a doubling wait, and batches submitted as copies (see
 * source_retry.h). Thread: the source's event loop. */
#include "source_retry.h"

#include "counters.h"
#include "event.h"

void
relay_evtimer_add_ms(struct event *ev, gint64 ms)
{
  struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

  evtimer_add(ev, &tv);
}

void
relay_retry_init(RelayRetry *retry, struct event_base *base, event_callback_fn fn, gpointer arg,
                 guint first_ms, guint max_ms)
{
  retry->max_ms = MAX(max_ms, 1);
  retry->first_ms = MIN(MAX(first_ms, 1), retry->max_ms);
  retry->wait_ms = 0;
  retry->timer = evtimer_new(base, fn, arg);
}

void
relay_retry_clear(RelayRetry *retry)
{
  g_clear_pointer(&retry->timer, event_free);
  retry->wait_ms = 0;
}

guint
relay_retry_arm(RelayRetry *retry)
{
  retry->wait_ms = retry->wait_ms ? (guint)MIN((guint64)retry->wait_ms * 2, retry->max_ms) : retry->first_ms;
  relay_evtimer_add_ms(retry->timer, retry->wait_ms);
  return retry->wait_ms;
}

void
relay_retry_reset(RelayRetry *retry)
{
  retry->wait_ms = 0;
}

gboolean
relay_retry_pending(const RelayRetry *retry)
{
  return retry->timer && evtimer_pending(retry->timer, NULL);
}

RelayPutRequest *
relay_source_submit_copy(RelaySource *source, const GPtrArray *batch, RelayPutDone done, gpointer user_data)
{
  GPtrArray *copy = g_ptr_array_new_full(batch->len, relay_event_unref_notify);

  for (guint i = 0; i < batch->len; i++)
    g_ptr_array_add(copy, relay_event_ref(g_ptr_array_index(batch, i)));
  relay_counter_inc(&source->counters.append_batch_received);
  return relay_channel_processor_submit(source->cp, copy, done, user_data);
}
