/* agent.c - running one agent: ordered start and stop, lookups, counter reports.
 *
 * Start order: channels, sinks and their runner threads, sources (so nothing is accepted before it can be
 * stored and drained). Stop order: sources (no new input), runners (finish the batch in flight within the
 * grace period, roll back the rest), sinks, channels. All functions run on the main thread. */
#include "agent_private.h"

#include "agent_reload.h"

#include "channel.h"
#include "channel_processor.h"
#include "counters.h"
#include "log.h"
#include "sink.h"
#include "sink_processor.h"
#include "sink_runner.h"
#include "source.h"

#include <string.h>

static void
_free_source(gpointer data)
{
  RelaySource *source = data;
  RelayChannelProcessor *cp = source->cp;

  relay_component_free(RELAY_COMPONENT(source));
  if (cp)
    relay_channel_processor_free(cp);
}

static void
_free_down(gpointer data)
{
  RelayAgentDown *down = data;

  g_free(down->key);
  g_free(down->reason);
  g_free(down);
}

const char *
relay_kind_metrics_type(RelayKind kind)
{
  static const char *const names[] = { "SOURCE", "CHANNEL", "SINK", "SINK_PROCESSOR" };
  return (guint)kind < G_N_ELEMENTS(names) ? names[kind] : "OTHER";
}

void
relay_agent_add_down(RelayAgent *self, RelayKind kind, const char *name, const char *reason)
{
  RelayAgentDown *down = g_new0(RelayAgentDown, 1);

  down->key = g_strdup_printf("%s.%s", relay_kind_metrics_type(kind), name);
  down->reason = g_strdup(reason);
  g_ptr_array_add(self->down, down);
}

const GPtrArray *
relay_agent_down(RelayAgent *self)
{
  return self->down;
}

RelayAgent *
relay_agent_new(const char *name, struct event_base *base)
{
  RelayAgent *self = g_new0(RelayAgent, 1);

  self->name = g_strdup(name);
  self->base = base;
  self->channels = g_ptr_array_new_with_free_func((GDestroyNotify)relay_component_free);
  self->sources = g_ptr_array_new_with_free_func(_free_source);
  self->sinks = g_ptr_array_new_with_free_func((GDestroyNotify)relay_component_free);
  self->runners = g_ptr_array_new_with_free_func((GDestroyNotify)relay_sink_runner_free);
  self->channel_by_name = g_hash_table_new(g_str_hash, g_str_equal);
  self->sink_by_name = g_hash_table_new(g_str_hash, g_str_equal);
  self->down = g_ptr_array_new_with_free_func(_free_down);
  return self;
}

const char *
relay_agent_name(RelayAgent *self)
{
  return self->name;
}

void
relay_agent_set_keep_running(RelayAgent *self, gboolean keep_running)
{
  self->keep_running = keep_running;
}

static gboolean
_start_all(GPtrArray *components, GError **error)
{
  for (guint i = 0; i < components->len; i++)
    if (!relay_component_start(g_ptr_array_index(components, i), error))
      return FALSE;
  return TRUE;
}

/* Logs that component could not start and lists it as down (keep-running mode). */
static void
_drop_failed(RelayAgent *self, RelayKind kind, RelayComponent *component, const GError *error)
{
  relay_error(component->log_prefix, "cannot start, %s removed (--keep-running-on-start-failure): %s",
              relay_kind_name(kind), error->message);
  char *reason = g_strdup_printf("cannot start: %s", error->message);
  relay_agent_add_down(self, kind, component->name, reason);
  g_free(reason);
}

/* The index in runners of the standalone runner of sink (default processor), or -1 (a sink group's). */
static gint
_standalone_runner(RelayAgent *self, RelaySink *sink)
{
  for (guint i = 0; i < self->runners->len; i++)
    {
      RelaySinkProcessor *proc = relay_sink_runner_processor(g_ptr_array_index(self->runners, i));
      if (proc->klass == &relay_sink_processor_default_class && g_ptr_array_index(proc->sinks, 0) == sink)
        return (gint)i;
    }
  return -1;
}

/* After a sink was dropped: its channel, if no other sink reads it, is unread (a WARN line and /health). */
static void
_mark_if_unread(RelayAgent *self, RelayChannel *channel)
{
  for (guint i = 0; i < self->sinks->len; i++)
    if (((RelaySink *)g_ptr_array_index(self->sinks, i))->channel == channel)
      return;
  g_free(channel->unread_reason);
  channel->unread_reason = g_strdup("nothing reads this channel: its sink could not start");
  relay_warn(channel->super.log_prefix,
             "%s; it will fill up (capacity %" G_GINT64_FORMAT ") and then refuse "
             "events",
             channel->unread_reason, channel->capacity);
}

/* Starts every sink. A sink that cannot start fails the start, or in keep-running mode is dropped with its
 * runner when it runs alone (a group cannot run with a member missing). */
static gboolean
_start_sinks(RelayAgent *self, GError **error)
{
  for (guint i = self->sinks->len; i-- > 0;)
    {
      RelaySink *sink = g_ptr_array_index(self->sinks, i);
      GError *local = NULL;
      if (relay_component_start(RELAY_COMPONENT(sink), &local))
        continue;
      gint runner = self->keep_running ? _standalone_runner(self, sink) : -1;
      if (runner < 0)
        {
          g_propagate_prefixed_error(error, local, "sink %s cannot start: ", sink->super.name);
          return FALSE;
        }
      _drop_failed(self, RELAY_KIND_SINK, RELAY_COMPONENT(sink), local);
      g_error_free(local);
      RelayChannel *channel = sink->channel;
      g_ptr_array_remove_index(self->runners, (guint)runner);
      g_hash_table_remove(self->sink_by_name, sink->super.name);
      g_ptr_array_remove_index(self->sinks, i);
      _mark_if_unread(self, channel);
    }
  return TRUE;
}

/* A source that cannot start (port taken, bad address) fails the start, or in keep-running mode is dropped
 * while the others run. */
static gboolean
_start_sources(RelayAgent *self, GError **error)
{
  for (guint i = self->sources->len; i-- > 0;)
    {
      RelaySource *source = g_ptr_array_index(self->sources, i);
      GError *local = NULL;
      source->base = self->base;
      if (relay_component_start(RELAY_COMPONENT(source), &local))
        continue;
      if (!self->keep_running)
        {
          g_propagate_prefixed_error(error, local, "source %s cannot start: ", source->super.name);
          return FALSE;
        }
      _drop_failed(self, RELAY_KIND_SOURCE, RELAY_COMPONENT(source), local);
      g_error_free(local);
      g_ptr_array_remove_index(self->sources, i);
    }
  return TRUE;
}

gboolean
relay_agent_start(RelayAgent *self, GError **error)
{
  if (!_start_all(self->channels, error) || !_start_sinks(self, error))
    return FALSE;
  for (guint i = 0; i < self->runners->len; i++)
    if (!relay_sink_runner_start(g_ptr_array_index(self->runners, i), error))
      return FALSE;
  if (!_start_sources(self, error))
    return FALSE;
  if (self->sources->len == 0 && self->sinks->len == 0)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "agent %s: no component could start", self->name);
      return FALSE;
    }
  relay_info(NULL, "agent %s started channels=%u sources=%u sinks=%u runners=%u", self->name,
             self->channels->len, self->sources->len, self->sinks->len, self->runners->len);
  return TRUE;
}

static void
_report_leftovers(RelayAgent *self)
{
  for (guint i = 0; i < self->channels->len; i++)
    {
      RelayChannel *channel = g_ptr_array_index(self->channels, i);
      guint64 left = relay_channel_size(channel);
      if (left)
        relay_warn(channel->super.log_prefix,
                   "stopping with events still in the channel events=%" G_GUINT64_FORMAT, left);
    }
}

void
relay_agent_stop(RelayAgent *self, guint grace_ms)
{
  relay_agent_reload_settle(self); /* a reload under way finishes first (issue 14) */
  for (guint i = 0; i < self->sources->len; i++)
    relay_component_stop(g_ptr_array_index(self->sources, i));
  for (guint i = 0; i < self->runners->len; i++)
    relay_sink_runner_stop(g_ptr_array_index(self->runners, i), grace_ms);
  for (guint i = 0; i < self->sinks->len; i++)
    relay_component_stop(g_ptr_array_index(self->sinks, i));
  _report_leftovers(self);
  for (guint i = 0; i < self->channels->len; i++)
    relay_component_stop(g_ptr_array_index(self->channels, i));
  relay_info(NULL, "agent %s stopped", self->name);
}

void
relay_agent_free(RelayAgent *self)
{
  if (!self)
    return;
  /* Runners reference sinks, sinks and sources reference channels: free in that order. */
  g_ptr_array_unref(self->runners);
  g_ptr_array_unref(self->sources);
  g_ptr_array_unref(self->sinks);
  g_hash_table_unref(self->channel_by_name);
  g_hash_table_unref(self->sink_by_name);
  g_ptr_array_unref(self->channels);
  g_ptr_array_unref(self->down);
  g_free(self->name);
  g_free(self);
}

static GPtrArray *
_list_of(RelayAgent *self, RelayKind kind)
{
  switch (kind)
    {
    case RELAY_KIND_SOURCE:
      return self->sources;
    case RELAY_KIND_CHANNEL:
      return self->channels;
    case RELAY_KIND_SINK:
      return self->sinks;
    case RELAY_KIND_SINKGROUP:
    case RELAY_KIND_N:
      break;
    }
  return NULL;
}

RelayComponent *
relay_agent_find(RelayAgent *self, RelayKind kind, const char *name)
{
  GPtrArray *list = _list_of(self, kind);

  for (guint i = 0; list && i < list->len; i++)
    {
      RelayComponent *component = g_ptr_array_index(list, i);
      if (strcmp(component->name, name) == 0)
        return component;
    }
  return NULL;
}

void
relay_agent_log_counters(RelayAgent *self)
{
  for (guint i = 0; i < self->sources->len; i++)
    {
      RelaySource *s = g_ptr_array_index(self->sources, i);
      RelaySourceCounters *c = &s->counters;
      relay_info(s->super.log_prefix,
                 "counters EventReceivedCount=%" G_GINT64_FORMAT " EventAcceptedCount=%" G_GINT64_FORMAT
                 " OpenConnectionCount=%" G_GINT64_FORMAT " ChannelWriteFail=%" G_GINT64_FORMAT
                 " EventReadFail=%" G_GINT64_FORMAT,
                 relay_counter_get(&c->event_received), relay_counter_get(&c->event_accepted),
                 relay_counter_get(&c->open_connections), relay_counter_get(&c->channel_write_fail),
                 relay_counter_get(&c->event_read_fail));
    }
  for (guint i = 0; i < self->channels->len; i++)
    {
      RelayChannel *ch = g_ptr_array_index(self->channels, i);
      relay_info(ch->super.log_prefix,
                 "counters ChannelSize=%" G_GUINT64_FORMAT " ChannelCapacity=%" G_GINT64_FORMAT
                 " EventPutSuccessCount=%" G_GINT64_FORMAT " EventTakeSuccessCount=%" G_GINT64_FORMAT,
                 relay_channel_size(ch), ch->capacity, relay_counter_get(&ch->counters.put_success),
                 relay_counter_get(&ch->counters.take_success));
    }
  for (guint i = 0; i < self->sinks->len; i++)
    {
      RelaySink *k = g_ptr_array_index(self->sinks, i);
      RelaySinkCounters *c = &k->counters;
      relay_info(k->super.log_prefix,
                 "counters EventDrainAttemptCount=%" G_GINT64_FORMAT
                 " EventDrainSuccessCount=%" G_GINT64_FORMAT " BatchCompleteCount=%" G_GINT64_FORMAT
                 " EventWriteFail=%" G_GINT64_FORMAT,
                 relay_counter_get(&c->event_drain_attempt), relay_counter_get(&c->event_drain_success),
                 relay_counter_get(&c->batch_complete), relay_counter_get(&c->event_write_fail));
    }
}
