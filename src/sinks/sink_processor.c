/* sink_processor.c - the sink processor base and the default processor (exactly one sink).
 *
 * A processor class is a const RelaySinkProcessorClass: option table (keys are the group's sub-keys, such
 * as "processor.maxpenalty"), instance size (a struct embedding RelaySinkProcessor first), and configure,
 * process and free hooks. This file owns the common part: allocation with option defaults, the borrowed
 * sink list, option application, and freeing; failover and load_balance live in sinkproc_*.c files and
 * only add their hooks. configure/free run on the main thread, process on the group's runner thread.
 * It also holds the clock the processors use for penalties and backoff (monotonic; tests replace it). */
#include "sink_processor.h"

#include "config.h"
#include "log.h"

RelaySinkProcessor *
relay_sink_processor_new(const RelaySinkProcessorClass *klass, const char *name, RelaySink *const *sinks,
                         guint n_sinks)
{
  g_assert(klass->instance_size >= sizeof(RelaySinkProcessor));
  RelaySinkProcessor *self = g_malloc0(klass->instance_size);

  self->klass = klass;
  self->name = g_strdup(name);
  self->active_sink = -1;
  /* A standalone sink's default processor logs as the sink itself. */
  if (klass == &relay_sink_processor_default_class && n_sinks == 1)
    self->log_prefix = g_strdup(sinks[0]->super.log_prefix);
  else
    self->log_prefix = g_strdup_printf("sinkgroup:%s:%s", klass->type, name);
  self->sinks = g_ptr_array_sized_new(n_sinks);
  for (guint i = 0; i < n_sinks; i++)
    g_ptr_array_add(self->sinks, sinks[i]);
  if (klass->options)
    relay_options_set_defaults(klass->options, self);
  return self;
}

gboolean
relay_sink_processor_configure(RelaySinkProcessor *self, const RelayComponentConfig *group,
                               RelayConfigReport *report)
{
  if (group && self->klass->options && !relay_options_apply(self->klass->options, self, group, report))
    return FALSE;
  return !self->klass->configure || self->klass->configure(self, group, report);
}

/* Runs in: the runner thread. */
RelaySinkStatus
relay_sink_processor_process(RelaySinkProcessor *self)
{
  return self->klass->process(self);
}

void
relay_sink_processor_free(RelaySinkProcessor *self)
{
  if (!self)
    return;
  if (self->klass->free)
    self->klass->free(self);
  if (self->klass->options)
    relay_options_free(self->klass->options, self);
  g_ptr_array_unref(self->sinks);
  g_free(self->log_prefix);
  g_free(self->name);
  g_free(self);
}

static gint64 (*_clock_now_us)(void) = g_get_monotonic_time;

gint64
relay_sink_processor_now_us(void)
{
  return _clock_now_us();
}

void
relay_sink_processor_set_clock(gint64 (*now_us)(void))
{
  _clock_now_us = now_us ? now_us : g_get_monotonic_time;
}

/* ---- default processor: one sink, called every cycle ---- */

static gboolean
_default_configure(RelaySinkProcessor *self, const RelayComponentConfig *group, RelayConfigReport *report)
{
  if (self->sinks->len == 1)
    return TRUE;
  relay_config_report_add(report, group ? relay_component_config_where(group) : NULL,
                          group ? group->label : self->log_prefix, "sinks",
                          "the default processor needs exactly one sink, got %u", self->sinks->len);
  return FALSE;
}

/* Runs in: the runner thread. */
static RelaySinkStatus
_default_process(RelaySinkProcessor *self)
{
  return relay_sink_process(g_ptr_array_index(self->sinks, 0));
}

const RelaySinkProcessorClass relay_sink_processor_default_class = {
  .type = "default",
  .flume_class = "org.apache.flume.sink.DefaultSinkProcessor",
  .options = NULL,
  .instance_size = sizeof(RelaySinkProcessor),
  .min_sinks = 1,
  .max_sinks = 1,
  .configure = _default_configure,
  .process = _default_process,
  .free = NULL,
};
