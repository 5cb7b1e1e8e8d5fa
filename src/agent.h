/* agent.h - one agent: builds the component graph from configuration and runs it.
 *
 * Stage 2 of configuration (Flume's AbstractConfigurationProvider): instantiate channels, sources and
 * sinks through the registry, apply option tables, link sources to channels (channel processor) and sinks
 * to their channel, build sink groups, check batch sizes against transactionCapacity, drop what is invalid
 * with a report line each, drop channels nobody uses. Start order: channels, sinks (with their runners),
 * sources; stop order: sources, sink runners (drain the batch in flight, bounded), channels. */
#ifndef RELAY_AGENT_H_INCLUDED
#define RELAY_AGENT_H_INCLUDED

#include "relay.h"
#include "config.h"
#include <event2/event.h>

/* base: the main event loop, which sources and channel processors use (borrowed). */
RelayAgent *relay_agent_new(const char *name, struct event_base *base);
/* Builds the graph. Returns FALSE when nothing runnable is left (no source and no sink), after reporting
 * why. Main thread. */
gboolean relay_agent_configure(RelayAgent *self, const RelayAgentConfig *cfg, RelayConfigReport *report);
/* Starts channels, sinks with their runners, then sources. By default any component that cannot start
 * (a port taken, a missing directory) fails the start: FALSE with error naming it and why. With
 * keep_running (Flume's behaviour), a source or a sink outside a sink group that cannot start is logged,
 * dropped and listed as down, and the rest runs; a channel or a sink inside a group still fails the start,
 * as does having nothing left. */
void relay_agent_set_keep_running(RelayAgent *self, gboolean keep_running);
/* For relayd --check, after relay_agent_configure(): adds a report line for every component whose start
 * would fail for a reason known in advance (a port in use, a sink directory missing or not writable). */
void relay_agent_check_start(RelayAgent *self, const RelayAgentConfig *cfg, RelayConfigReport *report);
gboolean relay_agent_start(RelayAgent *self, GError **error);
/* Stops in order; sink runners get grace_ms to finish the batch in flight. */
void relay_agent_stop(RelayAgent *self, guint grace_ms);
void relay_agent_free(RelayAgent *self);

const char *relay_agent_name(RelayAgent *self);
/* Lookup of a running component by kind and name (borrowed), or NULL. */
RelayComponent *relay_agent_find(RelayAgent *self, RelayKind kind, const char *name);
/* Writes one line per component with its counters (Flume's counter names) at info level. */
void relay_agent_log_counters(RelayAgent *self);

/* A configured component that does not run: dropped by configuration or failed to start. */
typedef struct
{
  char *key;    /* as on the metrics page: "SOURCE.r1", "CHANNEL.c1", "SINK.k1", "SINK_PROCESSOR.g1" */
  char *reason; /* the configuration problem or the start error */
} RelayAgentDown;

/* RelayAgentDown* (borrowed), in the order found. Main thread. */
const GPtrArray *relay_agent_down(RelayAgent *self);
/* "SOURCE", "CHANNEL", "SINK", "SINK_PROCESSOR": Flume's counter group type names. */
const char *relay_kind_metrics_type(RelayKind kind);
/* ---- service (issue 15) ---- */
/* "agent NAME running: 2 source(s), 1 channel(s), 1 sink(s)[, N down ...]", for systemd's STATUS=. Free it.
 * Main thread. */
char *relay_agent_status_line(RelayAgent *self);

#endif
