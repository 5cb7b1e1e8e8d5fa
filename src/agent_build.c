/* agent_build.c - configuration stage 2: from a RelayAgentConfig to a graph of configured components.
 *
 * Follows Flume's AbstractConfigurationProvider: channels first, then sources (with their channel
 * processor) and sinks that reference surviving channels, then sink groups, then a runner with the default
 * processor for every sink outside a group; components that fail are dropped and the rest starts, but every
 * drop is a report line naming file:line, component and key. Channels nobody uses are dropped last; channels
 * written to but read by no sink are reported. Every step is linear in the number of components (hash
 * lookups), so --check stays fast on very large files. Runs on the main thread before anything starts. */
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
#include "suggest.h"

#include <string.h>

/* "did you mean netcat? known: seq, netcat, avro, thrift" for an unknown type of kind. */
static char *
_known_types(RelayKind kind, const char *type)
{
  GPtrArray *names = relay_registry_type_names(kind);
  const char *closest = relay_suggest_closest(type, (const char *const *)names->pdata, names->len);
  GString *text = g_string_new(NULL);

  if (closest)
    g_string_append_printf(text, "did you mean %s? ", closest);
  g_string_append(text, "known: ");
  for (guint i = 0; i < names->len; i++)
    g_string_append_printf(text, "%s%s", i ? ", " : "", (const char *)g_ptr_array_index(names, i));
  g_ptr_array_unref(names);
  return g_string_free(text, FALSE);
}

static RelayComponent *
_instantiate(RelayAgent *self, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  const char *type = relay_component_config_value(cc, "type");
  const RelayComponentClass *klass = relay_registry_find(cc->kind, type);

  /* ---- a component left out of this build (issue 18) ---- */
  const char *absent = klass ? NULL : relay_registry_absent_reason(cc->kind, type);
  if (absent)
    {
      relay_config_report_add(report, relay_component_config_get(cc, "type"), cc->label, "type",
                              "%s type '%s' is not available: %s; %s %s removed", relay_kind_name(cc->kind),
                              type, absent, relay_kind_name(cc->kind), cc->name);
      return NULL;
    }
  if (!klass)
    {
      char *known = _known_types(cc->kind, type);
      relay_config_report_add(report, relay_component_config_get(cc, "type"), cc->label, "type",
                              "unknown %s type '%s' (%s); %s %s removed", relay_kind_name(cc->kind), type,
                              known, relay_kind_name(cc->kind), cc->name);
      g_free(known);
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
      const RelayComponentConfig *cc = g_ptr_array_index(list, i);
      RelayComponent *channel = relay_agent_reuse_take(self, RELAY_KIND_CHANNEL, cc->name); /* issue 14 */
      if (!channel)
        channel = _instantiate(self, cc, report);
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
      RelaySource *source = (RelaySource *)relay_agent_reuse_take(self, RELAY_KIND_SOURCE, cc->name);
      if (source) /* kept by a reload (issue 14): linked and running already */
        {
          g_ptr_array_add(self->sources, source);
          continue;
        }
      source = (RelaySource *)_instantiate(self, cc, report);
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
      RelaySink *sink = (RelaySink *)relay_agent_reuse_take(self, RELAY_KIND_SINK, cc->name); /* issue 14 */
      if (!sink)
        sink = (RelaySink *)_instantiate(self, cc, report);
      if (!sink)
        continue;
      if (sink->super.state == RELAY_STATE_CONFIGURED && !_link_sink(self, sink, cc, report))
        {
          relay_component_free(RELAY_COMPONENT(sink));
          continue;
        }
      g_ptr_array_add(self->sinks, sink);
      g_hash_table_insert(self->sink_by_name, sink->super.name, sink);
    }
}

static RelaySink *
_find_sink(RelayAgent *self, const char *name)
{
  return g_hash_table_lookup(self->sink_by_name, name);
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
    {
      char *known = _known_types(RELAY_KIND_SINKGROUP, type);
      relay_config_report_add(report, relay_component_config_get(cc, "processor.type"), cc->label,
                              "processor.type", "unknown sink processor '%s' (%s); group %s removed", type,
                              known, cc->name);
      g_free(known);
    }
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

/* A group kept by a reload (issue 14): its running runner, with its sinks claimed. */
static gboolean
_keep_group(RelayAgent *self, const RelayComponentConfig *cc, GHashTable *claimed)
{
  RelaySinkRunner *kept = relay_agent_reuse_take_runner(self, TRUE, cc->name);

  if (!kept)
    return FALSE;
  RelaySinkProcessor *proc = relay_sink_runner_processor(kept);
  for (guint i = 0; i < proc->sinks->len; i++)
    g_hash_table_insert(claimed, ((RelaySink *)g_ptr_array_index(proc->sinks, i))->super.name, cc->name);
  g_ptr_array_add(self->runners, kept);
  return TRUE;
}

static void
_build_group(RelayAgent *self, const RelayComponentConfig *cc, GHashTable *claimed, RelayConfigReport *report)
{
  if (_keep_group(self, cc, claimed))
    return;
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
      RelaySinkRunner *kept = relay_agent_reuse_take_runner(self, FALSE, sink->super.name); /* issue 14 */
      if (kept)
        {
          g_ptr_array_add(self->runners, kept);
          continue;
        }
      RelaySinkProcessor *proc
          = relay_sink_processor_new(&relay_sink_processor_default_class, sink->super.name, &sink, 1);
      relay_sink_processor_configure(proc, NULL, report);
      g_ptr_array_add(self->runners, relay_sink_runner_new(proc));
    }
  g_hash_table_unref(claimed);
}

/* The channels some source writes to, the channels some sink reads, and those some sink with a runner
 * reads (the sinks of a removed group do not run), as sets of RelayChannel*. */
static void
_channel_users(RelayAgent *self, GHashTable *written, GHashTable *read, GHashTable *drained)
{
  for (guint i = 0; i < self->sinks->len; i++)
    g_hash_table_add(read, ((RelaySink *)g_ptr_array_index(self->sinks, i))->channel);
  for (guint i = 0; i < self->runners->len; i++)
    {
      RelaySinkProcessor *proc = relay_sink_runner_processor(g_ptr_array_index(self->runners, i));
      for (guint j = 0; j < proc->sinks->len; j++)
        g_hash_table_add(drained, ((RelaySink *)g_ptr_array_index(proc->sinks, j))->channel);
    }
  for (guint i = 0; i < self->sources->len; i++)
    {
      GPtrArray *used
          = relay_channel_processor_channels(((RelaySource *)g_ptr_array_index(self->sources, i))->cp);
      for (guint j = 0; j < used->len; j++)
        g_hash_table_add(written, g_ptr_array_index(used, j));
    }
}

static void
_free_gstring(gpointer data)
{
  g_string_free(data, TRUE);
}

/* channel name -> "k1, k2": the configured sinks on that channel that do not run (owned strings). */
static GHashTable *
_idle_readers(RelayAgent *self, const RelayAgentConfig *cfg, GHashTable *drained)
{
  GHashTable *by_channel = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, _free_gstring);
  GPtrArray *list = cfg->components[RELAY_KIND_SINK];

  for (guint i = 0; i < list->len; i++)
    {
      const RelayComponentConfig *cc = g_ptr_array_index(list, i);
      const char *channel = relay_component_config_value(cc, "channel");
      RelaySink *sink = g_hash_table_lookup(self->sink_by_name, cc->name);
      if (!channel || (sink && g_hash_table_contains(drained, sink->channel)))
        continue;
      GString *names = g_hash_table_lookup(by_channel, channel);
      if (names)
        g_string_append_printf(names, ", %s", cc->name);
      else
        g_hash_table_insert(by_channel, (gpointer)channel, g_string_new(cc->name));
    }
  return by_channel;
}

/* A channel that sources write to but no running sink reads fills up, then its sources answer FAILED: say
 * so in the report (logged at WARN when running) and mark it for /health. */
static void
_report_unread(const RelayAgentConfig *cfg, RelayChannel *channel, GHashTable *idle_readers,
               RelayConfigReport *report)
{
  const RelayComponentConfig *cc = relay_agent_config_find(cfg, RELAY_KIND_CHANNEL, channel->super.name);
  GString *idle = g_hash_table_lookup(idle_readers, channel->super.name);
  char *why = idle ? g_strdup_printf("nothing reads this channel: its sink(s) %s do not run", idle->str)
                   : g_strdup("nothing reads this channel: no sink is configured on it");

  relay_config_report_add(report, cc ? relay_component_config_where(cc) : NULL, cc ? cc->label : NULL, NULL,
                          "%s; it will fill up (capacity %" G_GINT64_FORMAT ") and then refuse events", why,
                          channel->capacity);
  g_free(channel->unread_reason);
  channel->unread_reason = why;
}

/* Channels nobody uses are dropped; channels only written to are reported. Linear in the graph's size. */
static void
_drop_unused_channels(RelayAgent *self, const RelayAgentConfig *cfg, RelayConfigReport *report)
{
  GHashTable *written = g_hash_table_new(g_direct_hash, g_direct_equal);
  GHashTable *read = g_hash_table_new(g_direct_hash, g_direct_equal);
  GHashTable *drained = g_hash_table_new(g_direct_hash, g_direct_equal);
  GHashTable *idle_readers;

  _channel_users(self, written, read, drained);
  idle_readers = _idle_readers(self, cfg, drained);
  for (guint i = self->channels->len; i-- > 0;)
    {
      RelayChannel *channel = g_ptr_array_index(self->channels, i);
      if (g_hash_table_contains(written, channel) && !g_hash_table_contains(drained, channel))
        _report_unread(cfg, channel, idle_readers, report);
      if (g_hash_table_contains(written, channel) || g_hash_table_contains(read, channel))
        continue;
      const RelayComponentConfig *cc = relay_agent_config_find(cfg, RELAY_KIND_CHANNEL, channel->super.name);
      relay_config_report_add(report, cc ? relay_component_config_where(cc) : NULL, cc ? cc->label : NULL,
                              NULL, "channel %s has no source or sink connected; removed",
                              channel->super.name);
      g_hash_table_remove(self->channel_by_name, channel->super.name);
      g_ptr_array_remove_index(self->channels, i); /* frees the channel */
    }
  g_hash_table_destroy(idle_readers);
  g_hash_table_destroy(drained);
  g_hash_table_destroy(written);
  g_hash_table_destroy(read);
}

/* The first report line about the component labelled `label` ("sources.r1"), or a generic reason. */
static const char *
_drop_reason(const RelayConfigReport *report, const char *label)
{
  const char *found = relay_config_report_first_for(report, label);

  return found ? found : "removed by the configuration checks";
}

/* The names of what runs, per kind (sink groups: the groups with a runner), for constant-time lookups. */
static void
_running_names(RelayAgent *self, GHashTable *running[RELAY_KIND_N])
{
  GPtrArray *lists[] = { self->sources, self->channels, self->sinks };

  for (RelayKind kind = 0; kind < RELAY_KIND_N; kind++)
    running[kind] = g_hash_table_new(g_str_hash, g_str_equal);
  for (RelayKind kind = 0; kind < G_N_ELEMENTS(lists); kind++)
    for (guint i = 0; i < lists[kind]->len; i++)
      g_hash_table_add(running[kind], ((RelayComponent *)g_ptr_array_index(lists[kind], i))->name);
  for (guint i = 0; i < self->runners->len; i++)
    {
      RelaySinkProcessor *proc = relay_sink_runner_processor(g_ptr_array_index(self->runners, i));
      if (proc->klass != &relay_sink_processor_default_class)
        g_hash_table_add(running[RELAY_KIND_SINKGROUP], proc->name);
    }
}

/* Remembers every listed component that did not make it into the graph, for /health. */
static void
_record_dropped(RelayAgent *self, const RelayAgentConfig *cfg, const RelayConfigReport *report)
{
  GHashTable *running[RELAY_KIND_N];

  _running_names(self, running);
  for (RelayKind kind = 0; kind < RELAY_KIND_N; kind++)
    {
      for (guint i = 0; cfg->components[kind] && i < cfg->components[kind]->len; i++)
        {
          const RelayComponentConfig *cc = g_ptr_array_index(cfg->components[kind], i);
          if (!g_hash_table_contains(running[kind], cc->name))
            relay_agent_add_down(self, kind, cc->name, _drop_reason(report, cc->label));
        }
      g_hash_table_destroy(running[kind]);
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
