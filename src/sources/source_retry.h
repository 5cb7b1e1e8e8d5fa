/* source_retry.h - putting a batch again after a failed put, shared by the sources that read from files and
 * commands (TAILDIR, spooldir, exec): a one-shot timer on the source's event loop whose wait doubles from
 * first_ms up to max_ms after each failure and starts again from first_ms after a success; and submitting a
 * batch the source keeps (for such a retry) as a copy holding its own references.
 *
 * Thread: the source's event loop (the main loop). */
#ifndef RELAY_SOURCE_RETRY_H_INCLUDED
#define RELAY_SOURCE_RETRY_H_INCLUDED

#include "relay.h"
#include "channel_processor.h"
#include "source.h"

#include <event2/event.h>

typedef struct
{
  guint first_ms, max_ms;
  guint wait_ms;       /* the last wait armed; 0 before the first failure and after a success */
  struct event *timer; /* calls the source's retry callback */
} RelayRetry;

/* Arms ev (a timer) to fire in ms milliseconds. */
void relay_evtimer_add_ms(struct event *ev, gint64 ms);

/* first_ms is lowered to max_ms when larger. */
void relay_retry_init(RelayRetry *retry, struct event_base *base, event_callback_fn fn, gpointer arg,
                      guint first_ms, guint max_ms);
/* Disarms and frees the timer; safe on a RelayRetry never initialised (zeroed). */
void relay_retry_clear(RelayRetry *retry);
/* A put failed: arms the timer with the next wait (first_ms, then doubling up to max_ms) and returns it. */
guint relay_retry_arm(RelayRetry *retry);
/* A put succeeded: the next failure waits first_ms again. */
void relay_retry_reset(RelayRetry *retry);
/* TRUE while the timer is armed. */
gboolean relay_retry_pending(const RelayRetry *retry);

/* Submits a copy of batch (new references; batch itself is kept for a retry) to the source's channel
 * processor and counts AppendBatchReceivedCount. done may run before this returns (see
 * relay_channel_processor_submit). */
RelayPutRequest *relay_source_submit_copy(RelaySource *source, const GPtrArray *batch, RelayPutDone done,
                                          gpointer user_data);

#endif
