/* sink_runner.h - one thread with its own event loop per standalone sink or sink group (one per sink of a
 * parallel group, such as load_balance: see sink_runner.c).
 *
 * The loop calls the processor as Flume's SinkRunner does: READY -> again at once; BACKOFF -> wait
 * min(consecutive backoffs x 1000 ms, 5000 ms), but wake at once when a channel of the group signals new
 * data; FAILED -> wait 5000 ms (the same as Flume's "Unable to deliver event" sleep), or the time a parallel
 * processor asks for (a load_balance sink's backoff). */
#ifndef RELAY_SINK_RUNNER_H_INCLUDED
#define RELAY_SINK_RUNNER_H_INCLUDED

#include "relay.h"

/* Takes ownership of processor. Main thread. */
RelaySinkRunner *relay_sink_runner_new(RelaySinkProcessor *processor);
/* Starts the thread (sinks must be started already). Main thread. */
gboolean relay_sink_runner_start(RelaySinkRunner *self, GError **error);
/* Asks the thread to stop after the batch in flight; after grace_ms sets every sink's abort flag; joins.
 * Main thread. Idempotent. */
void relay_sink_runner_stop(RelaySinkRunner *self, guint grace_ms);
/* Frees the runner and its processor (not the sinks). Main thread. */
void relay_sink_runner_free(RelaySinkRunner *self);
RelaySinkProcessor *relay_sink_runner_processor(RelaySinkRunner *self);
/* Started and not stopped. Main thread. */
gboolean relay_sink_runner_running(RelaySinkRunner *self);

#endif
