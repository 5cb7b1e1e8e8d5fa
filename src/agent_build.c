/* agent_build.c - configuration stage 2: from a RelayAgentConfig to a graph of configured components.
 *
 * Follows Flume's AbstractConfigurationProvider: channels first, then sources (with their channel
 * processor) and sinks that reference surviving channels, then sink groups, then a runner with the default
 * processor for every sink outside a group; components that fail are dropped and the rest starts, but every
 * drop is a report line naming file:line, component and key. Channels nobody uses are dropped last.
 * Runs on the main thread before anything starts. */
#include "agent_private.h"

#include "channel.h"
#include "channel_processor.h"
#include "config.h"
#include "log.h"
#include "props.h"
#include "registry.h"
#include "sink.h"
#include "sink_processor.h"
#include "sink_runner.h"
#include "source.h"

#include <string.h>

static RelayComponent *
_instantiate(RelayAgent *self, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  const char *type = relay_component_config_value(cc, "type");
  const RelayComponentClass *klass = relay_registry_find(cc->kind, type);

  if (!klass)
    {
      relay_config_report_add(report, relay_component_config_get(cc, "type"), cc->label, "type",
                              "unknown %s type '%s'; %s %s removed", relay_kind_name(cc->kind), type,
                              relay_kind_name(cc->kind), cc->name);
      return NULL;
    }
  RelayComponent *component = relay_component_new(klass, cc->name);
  component->agent = self;
  if (!relay_component_configure(component, cc, report))
    {
      relay_component_free(component);
      return NULL;
    }
  return component;
}

/* Flume's FLUME-3246 check: a batch-size option must not exceed the channel's transactionCapacity. */
static gboolean
_check_batch_size(RelayComponent *component, const RelayComponentConfig *cc, RelayChannel *channel,
                  RelayConfigReport *report)
{
  for (const RelayOption *opt = component->klass->options; opt && opt->key; opt++)
    {
      if (!(opt->flags & RELAY_OPTF_BATCH_SIZE))
        continue;
      gint64 batch = *(gint64 *)((char *)component + opt->offset);
      if (batch > channel->transaction_capacity)
        {
          const RelayProp *where = relay_component_config_get(cc, opt->key);
          relay_config_report_add(
              report, where ? where : relay_component_config_where(cc), cc->label, opt->key,
              "%" G_GINT64_FORMAT " is larger than transactionCapacity %" G_GINT64_FORMAT
              " of channel %s; %s %s removed",
              batch, channel->transaction_capacity, channel->super.name, relay_kind_name(cc->kind), cc->name);
          return FALSE;
        }
    }
  return TRUE;
}

static void
_build_channels(RelayAgent *self, const RelayAgentConfig *cfg, RelayConfigReport *report)
{
  GPtrArray *list = cfg->components[RELAY_KIND_CHANNEL];

  for (guint i = 0; i < list->len; i++)
    {
      RelayComponent *channel = _instantiate(self, g_ptr_array_index(list, i), report);
      if (!channel)
        continue;
      g_ptr_array_add(self->channels, channel);
      g_hash_table_insert(self->channel_by_name, channel->name, channel);
    }
}

static gboolean
_link_source(RelayAgent *self, RelaySource *source, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  source->cp = relay_channel_processor_new(source, self->base);
  if (!relay_channel_processor_configure(source->cp, cc, self->channel_by_name, report))
    return FALSE;
  GPtrArray *channels = relay_channel_processor_channels(source->cp);
  for (guint i = 0; i < channels->len; i++)
    if (!_check_batch_size(RELAY_COMPONENT(source), cc, g_ptr_array_index(channels, i), report))
      return FALSE;
  return TRUE;
}

static void
_build_sources(RelayAgent *self, const RelayAgentConfig *cfg, RelayConfigReport *report)
{
  GPtrArray *list = cfg->components[RELAY_KIND_SOURCE];

  for (guint i = 0; i < list->len; i++)
    {
      const RelayComponentConfig *cc = g_ptr_array_index(list, i);
      RelaySource *source = (RelaySource *)_instantiate(self, cc, report);
      if (!source)
        continue;
      if (!_link_source(self, source, cc, report))
        {
          if (source->cp)
            relay_channel_processor_free(source->cp);
          relay_component_free(RELAY_COMPONENT(source));
          continue;
        }
      g_ptr_array_add(self->sources, source);
    }
}

static gboolean
_link_sink(RelayAgent *self, RelaySink *sink, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  const char *name = relay_component_config_value(cc, "channel");

  if (!name)
    {
      relay_config_report_add(report, relay_component_config_where(cc), cc->label, "channel",
                              "no channel configured; sink %s removed", cc->name);
      return FALSE;
    }
  sink->channel = g_hash_table_lookup(self->channel_by_name, name);
  if (!sink->channel)
    {
      relay_config_report_add(report, relay_component_config_get(cc, "channel"), cc->label, "channel",
                              "channel '%s' is unknown or was removed; sink %s removed", name, cc->name);
      return FALSE;
    }
  return _check_batch_size(RELAY_COMPONENT(sink), cc, sink->channel, report);
}

static void
_build_sinks(RelayAgent *self, const RelayAgentConfig *cfg, RelayConfigReport *report)
{
  GPtrArray *list = cfg->components[RELAY_KIND_SINK];

  for (guint i = 0; i < list->len; i++)
    {
      const RelayComponentConfig *cc = g_ptr_array_index(list, i);
      RelaySink *sink = (RelaySink *)_instantiate(self, cc, report);
      if (!sink)
        continue;
      if (!_link_sink(self, sink, cc, report))
        {
          relay_component_free(RELAY_COMPONENT(sink));
          continue;
        }
      g_ptr_array_add(self->sinks, sink);
    }
}

static RelaySink *
_find_sink(RelayAgent *self, const char *name)
{
  for (guint i = 0; i < self->sinks->len; i++)
    {
      RelaySink *sink = g_ptr_array_index(self->sinks, i);
      if (strcmp(sink->super.name, name) == 0)
        return sink;
    }
  return NULL;
}

/* Collects the group's valid sinks; claimed marks sinks already used (by name -> group name). */
static GPtrArray *
_group_sinks(RelayAgent *self, const RelayComponentConfig *cc, GHashTable *claimed, RelayConfigReport *report)
{
  const RelayProp *prop = relay_component_config_get(cc, "sinks");
  char **names = relay_config_split_list(prop ? prop->value : NULL);
  GPtrArray *sinks = g_ptr_array_new();

  for (guint i = 0; names[i]; i++)
    {
      RelaySink *sink = _find_sink(self, names[i]);
      const char *owner = g_hash_table_lookup(claimed, names[i]);
      if (!sink)
        relay_config_report_add(report, prop, cc->label, "sinks",
                                "sink '%s' is unknown or was removed; dropped from the group", names[i]);
      else if (owner)
        relay_config_report_add(report, prop, cc->label, "sinks",
                                "sink '%s' already belongs to sink group %s; dropped from this group",
                                names[i], owner);
      else
        g_ptr_array_add(sinks, sink);
    }
  g_strfreev(names);
  return sinks;
}

static const RelaySinkProcessorClass *
_group_processor_class(const RelayComponentConfig *cc, guint n_sinks, RelayConfigReport *report)
{
  const char *type = relay_component_config_value(cc, "processor.type");
  const RelaySinkProcessorClass *klass;

  if (!type)
    {
      relay_config_report_add(report, relay_component_config_where(cc), cc->label, "processor.type",
                              "missing; using the default processor");
      type = "default";
    }
  klass = relay_registry_find_processor(type);
  if (!klass)
    relay_config_report_add(report, relay_component_config_get(cc, "processor.type"), cc->label,
                            "processor.type", "unknown sink processor '%s'; group %s removed", type,
                            cc->name);
  else if ((klass->min_sinks && n_sinks < klass->min_sinks)
           || (klass->max_sinks && n_sinks > klass->max_sinks))
    {
      char *need = klass->max_sinks == klass->min_sinks ? g_strdup_printf("exactly %u", klass->min_sinks)
                   : klass->max_sinks ? g_strdup_printf("%u..%u", klass->min_sinks, klass->max_sinks)
                                      : g_strdup_printf("at least %u", klass->min_sinks);
      relay_config_report_add(report, relay_component_config_get(cc, "sinks"), cc->label, "sinks",
                              "processor %s needs %s sink(s), the group has %u valid; group %s removed",
                              klass->type, need, n_sinks, cc->name);
      g_free(need);
      klass = NULL;
    }
  return klass;
}

static void
_report_group_keys(const RelaySinkProcessorClass *klass, const RelayComponentConfig *cc,
                   RelayConfigReport *report)
{
  GPtrArray *keys = relay_component_config_keys(cc, "");

  for (guint i = 0; i < keys->len; i++)
    {
      const char *key = g_ptr_array_index(keys, i);
      if (strcmp(key, "sinks") != 0 && strcmp(key, "processor.type") != 0
          && !relay_options_find(klass->options, key) && !(klass->knows_key && klass->knows_key(key)))
        relay_config_report_add(report, relay_component_config_get(cc, key), cc->label, key,
                                "unknown key for processor %s, ignored", klass->type);
    }
  g_ptr_array_unref(keys);
}

static void
_build_group(RelayAgent *self, const RelayComponentConfig *cc, GHashTable *claimed, RelayConfigReport *report)
{
  GPtrArray *sinks = _group_sinks(self, cc, claimed, report);
  const RelaySinkProcessorClass *klass = _group_processor_class(cc, sinks->len, report);

  /* As in Flume, the sinks of a removed group are not run standalone: mark them claimed either way. */
  for (guint i = 0; i < sinks->len; i++)
    g_hash_table_insert(claimed, ((RelaySink *)g_ptr_array_index(sinks, i))->super.name, cc->name);
  if (klass)
    {
      _report_group_keys(klass, cc, report);
      RelaySinkProcessor *proc
          = relay_sink_processor_new(klass, cc->name, (RelaySink *const *)sinks->pdata, sinks->len);
      if (relay_sink_processor_configure(proc, cc, report))
        g_ptr_array_add(self->runners, relay_sink_runner_new(proc));
      else
        relay_sink_processor_free(proc);
    }
  else if (sinks->len)
    relay_config_report_add(report, NULL, cc->label, NULL, "its %u sink(s) will not run", sinks->len);
  g_ptr_array_unref(sinks);
}

static void
_build_runners(RelayAgent *self, const RelayAgentConfig *cfg, RelayConfigReport *report)
{
  GHashTable *claimed = g_hash_table_new(g_str_hash, g_str_equal);
  GPtrArray *groups = cfg->components[RELAY_KIND_SINKGROUP];

  for (guint i = 0; i < groups->len; i++)
    _build_group(self, g_ptr_array_index(groups, i), claimed, report);
  for (guint i = 0; i < self->sinks->len; i++)
    {
      RelaySink *sink = g_ptr_array_index(self->sinks, i);
      if (g_hash_table_contains(claimed, sink->super.name))
        continue;
      RelaySinkProcessor *proc
          = relay_sink_processor_new(&relay_sink_processor_default_class, sink->super.name, &sink, 1);
      relay_sink_processor_configure(proc, NULL, report);
      g_ptr_array_add(self->runners, relay_sink_runner_new(proc));
    }
  g_hash_table_unref(claimed);
}

static gboolean
_channel_in_use(RelayAgent *self, RelayChannel *channel)
{
  for (guint i = 0; i < self->sinks->len; i++)
    if (((RelaySink *)g_ptr_array_index(self->sinks, i))->channel == channel)
      return TRUE;
  for (guint i = 0; i < self->sources->len; i++)
    {
      GPtrArray *used
          = relay_channel_processor_channels(((RelaySource *)g_ptr_array_index(self->sources, i))->cp);
      for (guint j = 0; j < used->len; j++)
        if (g_ptr_array_index(used, j) == channel)
          return TRUE;
    }
  return FALSE;
}

static void
_drop_unused_channels(RelayAgent *self, const RelayAgentConfig *cfg, RelayConfigReport *report)
{
  for (guint i = self->channels->len; i-- > 0;)
    {
      RelayChannel *channel = g_ptr_array_index(self->channels, i);
      if (_channel_in_use(self, channel))
        continue;
      const RelayComponentConfig *cc = relay_agent_config_find(cfg, RELAY_KIND_CHANNEL, channel->super.name);
      relay_config_report_add(report, cc ? relay_component_config_where(cc) : NULL, cc ? cc->label : NULL,
                              NULL, "channel %s has no source or sink connected; removed",
                              channel->super.name);
      g_hash_table_remove(self->channel_by_name, channel->super.name);
      g_ptr_array_remove_index(self->channels, i); /* frees the channel */
    }
}

static gboolean
_group_runs(RelayAgent *self, const char *name)
{
  for (guint i = 0; i < self->runners->len; i++)
    {
      RelaySinkProcessor *proc = relay_sink_runner_processor(g_ptr_array_index(self->runners, i));
      if (proc->klass != &relay_sink_processor_default_class && strcmp(proc->name, name) == 0)
        return TRUE;
    }
  return FALSE;
}

/* The first report line about the component labelled `label` ("sources.r1"), or a generic reason. */
static const char *
_drop_reason(const RelayConfigReport *report, const char *label)
{
  char *needle = g_strdup_printf(" %s:", label);
  const char *found = NULL;

  for (guint i = 0; i < report->lines->len && !found; i++)
    if (strstr(g_ptr_array_index(report->lines, i), needle))
      found = g_ptr_array_index(report->lines, i);
  g_free(needle);
  return found ? found : "removed by the configuration checks";
}

/* Remembers every listed component that did not make it into the graph, for /health. */
static void
_record_dropped(RelayAgent *self, const RelayAgentConfig *cfg, const RelayConfigReport *report)
{
  for (RelayKind kind = 0; kind < RELAY_KIND_N; kind++)
    for (guint i = 0; cfg->components[kind] && i < cfg->components[kind]->len; i++)
      {
        const RelayComponentConfig *cc = g_ptr_array_index(cfg->components[kind], i);
        gboolean runs = kind == RELAY_KIND_SINKGROUP ? _group_runs(self, cc->name)
                                                     : relay_agent_find(self, kind, cc->name) != NULL;
        if (!runs)
          relay_agent_add_down(self, kind, cc->name, _drop_reason(report, cc->label));
      }
}

gboolean
relay_agent_configure(RelayAgent *self, const RelayAgentConfig *cfg, RelayConfigReport *report)
{
  _build_channels(self, cfg, report);
  _build_sources(self, cfg, report);
  _build_sinks(self, cfg, report);
  _build_runners(self, cfg, report);
  _drop_unused_channels(self, cfg, report);
  _record_dropped(self, cfg, report);
  if (self->sources->len == 0 && self->sinks->len == 0)
    {
      relay_config_report_add(report, NULL, NULL, NULL,
                              "agent %s: nothing runnable (no valid source and no valid sink)", self->name);
      return FALSE;
    }
  return TRUE;
}
