/* sink_processor.h - sink processors: choose which sink of a group runs each cycle.
 *
 * Flume's SinkProcessor: the default processor wraps exactly one sink (every sink outside a group gets
 * one); failover and load_balance processors (sinkproc_*.c) choose among several. process() runs on the
 * group's runner thread; configure/free on the main thread. Processor option keys are the group's
 * sub-keys ("processor.maxpenalty"). */
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
  gboolean (*configure) (RelaySinkProcessor *self, const RelayComponentConfig *group, RelayConfigReport *report);
  /* Runs in: the runner thread. */
  RelaySinkStatus (*process) (RelaySinkProcessor *self);
  void (*free) (RelaySinkProcessor *self); /* optional: class-specific fields */
} RelaySinkProcessorClass;

struct _RelaySinkProcessor
{
  const RelaySinkProcessorClass *klass;
  char *name;       /* group name, or the sink's name for a default processor */
  char *log_prefix; /* "sinkgroup:failover:g1" */
  GPtrArray *sinks; /* RelaySink*, borrowed (the agent owns sinks), in configured order */
};

extern const RelaySinkProcessorClass relay_sink_processor_default_class;

/* Allocates an instance of klass with option defaults; sinks borrowed (array copied). */
RelaySinkProcessor *relay_sink_processor_new (const RelaySinkProcessorClass *klass, const char *name,
                                              RelaySink *const *sinks, guint n_sinks);
/* Applies options (from group, which may be NULL for a standalone sink) and klass->configure. */
gboolean relay_sink_processor_configure (RelaySinkProcessor *self, const RelayComponentConfig *group,
                                         RelayConfigReport *report);
/* Runs in: the runner thread. */
RelaySinkStatus relay_sink_processor_process (RelaySinkProcessor *self);
void relay_sink_processor_free (RelaySinkProcessor *self);

#endif
