/* sink_processor.h - sink processors: choose which sink of a group runs each cycle.
 *
 * Flume's SinkProcessor: the default processor wraps exactly one sink (every sink outside a group gets
 * one); failover and load_balance processors (sinkproc_*.c) choose among several. process() runs on the
 * group's runner thread; configure/free on the main thread. Processor option keys are the group's
 * sub-keys ("processor.maxpenalty").
 *
 * Parallel processors: a class with process_sink() whose instance sets `parallel` in configure gets one
 * runner lane (thread + event loop) per sink instead of one thread for the group; each lane calls
 * process_sink() for its own sink, so several batches are in flight at once (sink_runner.c). */
#ifndef RELAY_SINK_PROCESSOR_H_INCLUDED
#define RELAY_SINK_PROCESSOR_H_INCLUDED

#include "relay.h"
#include "sink.h"
#include "options.h"

typedef struct
{
  const char *type;        /* "default", "failover", "load_balance" (case-insensitive) */
  const char *flume_class; /* "org.apache.flume.sink.FailoverSinkProcessor" */
  const RelayOption *options;
  gsize instance_size;
  guint min_sinks, max_sinks; /* group size limits (0 = no limit); checked by the agent */
  /* Optional; called after options are applied and sinks are set. */
  gboolean (*configure)(RelaySinkProcessor *self, const RelayComponentConfig *group,
                        RelayConfigReport *report);
  /* Runs in: the runner thread. */
  RelaySinkStatus (*process)(RelaySinkProcessor *self);
  void (*free)(RelaySinkProcessor *self); /* optional: class-specific fields */
  /* Optional: a group sub-key outside the option table that configure() reads ("processor.priority.k1"),
   * so the agent does not report it as unknown. Main thread. */
  gboolean (*knows_key)(const char *key);
  /* Optional: one cycle of sink `index` alone, for parallel instances. On FAILED, *retry_ms is how long the
   * lane waits before its next cycle (< 0: the runner's usual 5000 ms). Runs in: the lane thread of that sink
   * (each sink's state is touched only there). */
  RelaySinkStatus (*process_sink)(RelaySinkProcessor *self, guint index, gint64 *retry_ms);
  /* Optional, parallel only: which idle lane takes newly committed events. idle holds n_idle >= 1 sink
   * indices in increasing order; returns a position in idle (default: the first). Runs in: a committing
   * thread or a lane thread, always under the runner's lock, so it may update processor fields that only
   * it uses without locks of its own. */
  guint (*pick_idle)(RelaySinkProcessor *self, const guint *idle, guint n_idle);
} RelaySinkProcessorClass;

struct _RelaySinkProcessor
{
  const RelaySinkProcessorClass *klass;
  char *name;        /* group name, or the sink's name for a default processor */
  char *log_prefix;  /* "sinkgroup:failover:g1" */
  GPtrArray *sinks;  /* RelaySink*, borrowed (the agent owns sinks), in configured order */
  gboolean parallel; /* set by configure when klass->process_sink is to be used: one runner lane per sink */
  /* relayd's own counters (SINK_PROCESSOR.<group> on the metrics page); parallel lanes share them, so they
   * are updated with relay_counter_add_shared. */
  gint64 sink_failures; /* a member sink's cycle failed */
  gint64 failovers;     /* the active sink failed and the failover processor moved to the next one */
  gint64 backoffs;      /* cycles that found nothing to do (the runner then waits) */
  gint active_sink;     /* atomic: the failover processor's active sink (index in sinks); -1: none or n/a */
  gint64 start_time_ms, stop_time_ms; /* set by the runner (main thread) */
};

extern const RelaySinkProcessorClass relay_sink_processor_default_class;
extern const RelaySinkProcessorClass relay_sink_processor_failover_class;     /* sinkproc_failover.c */
extern const RelaySinkProcessorClass relay_sink_processor_load_balance_class; /* sinkproc_load_balance.c */

/* Allocates an instance of klass with option defaults; sinks borrowed (array copied). */
RelaySinkProcessor *relay_sink_processor_new(const RelaySinkProcessorClass *klass, const char *name,
                                             RelaySink *const *sinks, guint n_sinks);
/* Applies options (from group, which may be NULL for a standalone sink) and klass->configure. */
gboolean relay_sink_processor_configure(RelaySinkProcessor *self, const RelayComponentConfig *group,
                                        RelayConfigReport *report);
/* Runs in: the runner thread. */
RelaySinkStatus relay_sink_processor_process(RelaySinkProcessor *self);
void relay_sink_processor_free(RelaySinkProcessor *self);

/* The monotonic clock (microseconds) the failover and load_balance processors use for penalties and
 * backoff. Tests may replace it before any runner starts (NULL restores g_get_monotonic_time). */
gint64 relay_sink_processor_now_us(void);
void relay_sink_processor_set_clock(gint64 (*now_us)(void));

#endif
