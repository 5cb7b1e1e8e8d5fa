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

struct event_base;

/* Takes ownership of processor. Main thread. */
RelaySinkRunner *relay_sink_runner_new(RelaySinkProcessor *processor);
/* Starts the thread (sinks must be started already). Main thread. */
gboolean relay_sink_runner_start(RelaySinkRunner *self, GError **error);
/* Asks the thread to stop after the batch in flight; after grace_ms sets every sink's abort flag; joins.
 * Main thread. Idempotent. */
void relay_sink_runner_stop(RelaySinkRunner *self, guint grace_ms);
/* The same without blocking (live reload, issue 14): asks the lanes to stop after the batch in flight and
 * returns; base (the caller's loop, which must keep running: relayd's main loop has its signals and
 * listeners) sets the abort flags after grace_ms and, once every lane left its loop,
 * joins them and calls on_exited(user_data) on base's thread. on_exited must not free the runner (defer
 * that). FALSE (and on_exited is never called) when the runner does not run or is already stopping. A
 * relay_sink_runner_stop() meanwhile waits for the lanes as usual, and on_exited is then never called.
 * Main thread. */
gboolean relay_sink_runner_stop_async(RelaySinkRunner *self, struct event_base *base, guint grace_ms,
                                      void (*on_exited)(gpointer user_data), gpointer user_data);
/* Frees the runner and its processor (not the sinks). Main thread. */
void relay_sink_runner_free(RelaySinkRunner *self);
RelaySinkProcessor *relay_sink_runner_processor(RelaySinkRunner *self);
/* Started and not stopped. Main thread. */
gboolean relay_sink_runner_running(RelaySinkRunner *self);

#endif
