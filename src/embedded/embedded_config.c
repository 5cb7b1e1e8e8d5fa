/* embedded_config.c - Flume's embedded-agent keys turned into a relayd agent, and the graph built from it.
 *
 * As flume-ng-embedded-agent/src/main/java/org/apache/flume/agent/embedded/EmbeddedAgentConfiguration.java:
 * one source (source-<id>, the application's puts), one channel (channel-<id>, channel.type memory or
 * file), the listed sinks (avro or thrift) in one sink group (sink-group-<id>) with processor.type default,
 * failover or load_balance; every other key is an error ("Unknown configuration"), so are a missing
 * required key and a type outside the allowed ones. The keys are then those of a relayd configuration
 * ("agent.channels.channel-<id>.capacity", ...) and go through relayd's own parser, option tables, sinks,
 * sink processors and runner, so every check a relayd configuration gets applies (each problem names the
 * application's key position as "embedded agent NAME:N"). Any problem refuses the whole configuration.
 * Thread: the caller of relay_embedded_configure / start. */
#include "embedded_private.h"

#include "agent_private.h"
#include "channel.h"
#include "channel_processor.h"
#include "config.h"
#include "props.h"
#include "registry.h"
#include "source.h"

#include <string.h>

#define AGENT "agent" /* the agent name inside the translated configuration */

static const char *const _channel_types[] = { "memory", "org.apache.flume.channel.MemoryChannel", "file",
                                              "org.apache.flume.channel.file.FileChannel", NULL };
/* null is relayd's addition (discards; for measuring the put path). */
static const char *const _sink_types[]
    = { "avro", "org.apache.flume.sink.AvroSink", "thrift", "org.apache.flume.sink.ThriftSink",
        "null", "org.apache.flume.sink.NullSink", NULL };
static const char *const _processor_types[] = { "default", "failover", "load_balance", NULL };
static const char *const _source_types[]
    = { "embedded", "org.apache.flume.agent.embedded.EmbeddedSource", NULL };
/* Names a sink may not have: they are the other key prefixes. */
static const char *const _reserved[] = { "source", "channel", "processor", "sinks", NULL };

static gboolean
_allowed(const char *const *types, const char *type)
{
  for (guint i = 0; types[i]; i++)
    if (g_ascii_strcasecmp(types[i], type) == 0)
      return TRUE;
  return FALSE;
}

static void
_check_type(const RelayProp *prop, const char *const *types, const char *allowed, RelayConfigReport *report)
{
  if (!_allowed(types, prop->value))
    relay_config_report_add(report, prop, NULL, prop->key, "type '%s' is not allowed here (allowed: %s)",
                            prop->value, allowed);
}

/* key = "<prefix>.<rest>": returns rest, or NULL. */
static const char *
_after(const char *key, const char *prefix)
{
  gsize n = strlen(prefix);

  return strncmp(key, prefix, n) == 0 && key[n] == '.' && key[n + 1] ? key + n + 1 : NULL;
}

typedef struct
{
  RelayEmbeddedConfig *cfg;
  RelayConfigReport *report;
  const char *group;      /* "sink-group-<id>" */
  const RelayProp *sinks; /* the "sinks" entry */
  char **sink_names;      /* its list */
  GHashTable *sink_types; /* sink name -> its "type" entry (borrowed) */
} Translation;

static void
_set(Translation *t, const RelayProp *where, const char *key, const char *value)
{
  relay_props_set(t->cfg->agent_props, where->file, where->line, key, value);
}

static gboolean
_is_sink(Translation *t, const char *name)
{
  for (guint i = 0; t->sink_names && t->sink_names[i]; i++)
    if (strcmp(t->sink_names[i], name) == 0)
      return TRUE;
  return FALSE;
}

static void
_take_sinks(Translation *t, const RelayProp *prop)
{
  t->sinks = prop;
  t->sink_names = relay_config_split_list(prop->value);
  for (guint i = 0; t->sink_names[i]; i++)
    if (g_strv_contains(_reserved, t->sink_names[i]) || strchr(t->sink_names[i], '.'))
      relay_config_report_add(t->report, prop, NULL, "sinks", "'%s' cannot be a sink name", t->sink_names[i]);
  _set(t, prop, AGENT ".sinks", prop->value);
  _set(t, prop, AGENT ".sinkgroups", t->group);
  char *key = g_strdup_printf(AGENT ".sinkgroups.%s.sinks", t->group);
  _set(t, prop, key, prop->value);
  g_free(key);
}

/* "<sink>.<key>" for a listed sink. */
static gboolean
_take_sink_key(Translation *t, const RelayProp *prop)
{
  const char *dot = strchr(prop->key, '.');
  if (!dot)
    return FALSE;
  char *name = g_strndup(prop->key, (gsize)(dot - prop->key));
  gboolean listed = _is_sink(t, name);
  if (listed && strcmp(dot + 1, "channel") == 0)
    relay_config_report_add(t->report, prop, NULL, prop->key,
                            "is set by the embedded agent (its one channel)");
  else if (listed)
    {
      if (strcmp(dot + 1, "type") == 0)
        {
          _check_type(prop, _sink_types, "avro, thrift, null", t->report);
          g_hash_table_insert(t->sink_types, g_strdup(name), (gpointer)prop);
        }
      char *key = g_strdup_printf(AGENT ".sinks.%s", prop->key);
      _set(t, prop, key, prop->value);
      g_free(key);
    }
  g_free(name);
  return listed;
}

static void
_take_source_key(Translation *t, const RelayProp *prop, const char *sub)
{
  if (strcmp(sub, "type") == 0)
    _check_type(prop, _source_types, "embedded", t->report);
  else if (strcmp(sub, "channels") == 0 || strcmp(sub, "selector.type") == 0
           || g_str_has_prefix(sub, "selector."))
    relay_config_report_add(t->report, prop, NULL, prop->key,
                            "is set by the embedded agent (its one channel)");
  else
    relay_props_set(t->cfg->source_props, prop->file, prop->line, sub, prop->value);
}

/* One application key; FALSE if it is unknown. */
static gboolean
_take(Translation *t, const RelayProp *prop)
{
  const char *sub;
  char *key = NULL;

  if ((sub = _after(prop->key, "source")))
    _take_source_key(t, prop, sub);
  else if ((sub = _after(prop->key, "channel")))
    {
      if (strcmp(sub, "type") == 0)
        _check_type(prop, _channel_types, "memory, file", t->report);
      key = g_strdup_printf(AGENT ".channels.%s.%s", t->cfg->channel_name, sub);
    }
  else if ((sub = _after(prop->key, "processor")))
    {
      if (strcmp(sub, "type") == 0)
        _check_type(prop, _processor_types, "default, failover, load_balance", t->report);
      key = g_strdup_printf(AGENT ".sinkgroups.%s.processor.%s", t->group, sub);
    }
  else if (strcmp(prop->key, "sinks") != 0 && !_take_sink_key(t, prop))
    return FALSE;
  if (key)
    _set(t, prop, key, prop->value);
  g_free(key);
  return TRUE;
}

static const RelayProp *
_find(const RelayProp *const *entries, guint n, const char *key)
{
  for (guint i = n; i-- > 0;)
    if (strcmp(entries[i]->key, key) == 0)
      return entries[i];
  return NULL;
}

static void
_require(Translation *t, const RelayProp *const *entries, guint n)
{
  static const char *const required[] = { "channel.type", "sinks", "processor.type" };

  for (guint i = 0; i < G_N_ELEMENTS(required); i++)
    if (!_find(entries, n, required[i]))
      relay_config_report_add(t->report, NULL, NULL, required[i], "required parameter not found");
  for (guint i = 0; t->sink_names && t->sink_names[i]; i++)
    if (!g_hash_table_contains(t->sink_types, t->sink_names[i]))
      relay_config_report_add(t->report, t->sinks, NULL, t->sink_names[i],
                              "required parameter not found: %s.type", t->sink_names[i]);
}

RelayEmbeddedConfig *
relay_embedded_config_new(const char *ident, const RelayProp *const *entries, guint n,
                          RelayConfigReport *report)
{
  RelayEmbeddedConfig *cfg = g_new0(RelayEmbeddedConfig, 1);
  char *group = g_strdup_printf("sink-group-%s", ident);
  Translation t
      = { cfg, report, group, NULL, NULL, g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL) };
  const RelayProp *sinks = _find(entries, n, "sinks");

  cfg->agent_props = relay_props_new();
  cfg->source_props = relay_props_new();
  cfg->channel_name = g_strdup_printf("channel-%s", ident);
  cfg->source_name = g_strdup_printf("source-%s", ident);
  if (sinks)
    _take_sinks(&t, sinks); /* first: sink keys are recognised by the list */
  for (guint i = 0; i < n; i++)
    if (strcmp(entries[i]->key, "sinks") != 0 && !_take(&t, entries[i]))
      relay_config_report_add(report, entries[i], NULL, entries[i]->key, "unknown configuration key");
  _require(&t, entries, n);
  const RelayProp *where = sinks ? sinks : (n ? entries[0] : NULL);
  if (where)
    {
      char *key = g_strdup_printf(AGENT ".channels");
      _set(&t, where, key, cfg->channel_name);
      g_free(key);
      for (guint i = 0; t.sink_names && t.sink_names[i]; i++)
        {
          key = g_strdup_printf(AGENT ".sinks.%s.channel", t.sink_names[i]);
          _set(&t, where, key, cfg->channel_name);
          g_free(key);
        }
      relay_props_set(cfg->source_props, where->file, where->line, "channels", cfg->channel_name);
    }
  g_strfreev(t.sink_names);
  g_hash_table_unref(t.sink_types);
  g_free(group);
  return cfg;
}

void
relay_embedded_config_free(RelayEmbeddedConfig *self)
{
  if (!self)
    return;
  relay_props_free(self->agent_props);
  relay_props_free(self->source_props);
  g_free(self->channel_name);
  g_free(self->source_name);
  g_free(self);
}

/* ---- the graph ---- */

/* The embedded source: no network, no thread; the application's threads put through its channel processor
 * (Flume's EmbeddedSource). Not in the registry: a relayd configuration cannot name it. */
static gboolean
_source_knows_key(const char *key)
{
  return relay_channel_processor_knows_key(key);
}

static const RelayComponentClass _embedded_source_class = {
  .kind = RELAY_KIND_SOURCE,
  .type = "embedded",
  .flume_class = "org.apache.flume.agent.embedded.EmbeddedSource",
  .description = "the application's puts (embedded agent)",
  .instance_size = sizeof(RelaySource),
  .knows_key = _source_knows_key,
};

/* A component configuration over source_props, whose keys are the source's sub-keys. */
static RelayComponentConfig *
_source_cc(RelayEmbeddedConfig *cfg)
{
  RelayComponentConfig *cc = g_new0(RelayComponentConfig, 1);
  guint n = 0;
  const RelayProp *const *entries = relay_props_entries(cfg->source_props, &n);

  cc->kind = RELAY_KIND_SOURCE;
  cc->name = g_strdup(cfg->source_name);
  cc->label = g_strdup("source");
  cc->props = g_hash_table_new(g_str_hash, g_str_equal);
  for (guint i = 0; i < n; i++)
    g_hash_table_insert(cc->props, entries[i]->key, (gpointer)entries[i]);
  return cc;
}

static void
_source_cc_free(RelayComponentConfig *cc)
{
  g_hash_table_unref(cc->props);
  g_free(cc->name);
  g_free(cc->label);
  g_free(cc);
}

static RelaySource *
_build_source(RelayEmbeddedAgent *self, RelayConfigReport *report)
{
  RelayComponentConfig *cc = _source_cc(self->config);
  RelaySource *source = (RelaySource *)relay_component_new(&_embedded_source_class, cc->name);
  gboolean ok;

  RELAY_COMPONENT(source)->agent = self->agent;
  source->cp = relay_channel_processor_new(source, NULL);
  ok = relay_component_configure(RELAY_COMPONENT(source), cc, report)
       && relay_channel_processor_configure(source->cp, cc, self->agent->channel_by_name, report);
  _source_cc_free(cc);
  if (ok)
    return source;
  relay_channel_processor_free(source->cp);
  relay_component_free(RELAY_COMPONENT(source));
  return NULL;
}

gboolean
relay_embedded_build(RelayEmbeddedAgent *self, RelayConfigReport *report)
{
  RelayAgentConfig *cfg = relay_agent_config_new(self->config->agent_props, AGENT, report);
  gboolean ok = FALSE;

  self->agent = relay_agent_new(self->name, NULL);
  if (cfg && relay_agent_configure(self->agent, cfg, report))
    {
      self->channel = g_hash_table_lookup(self->agent->channel_by_name, self->config->channel_name);
      self->source = self->channel ? _build_source(self, report) : NULL;
      self->has_interceptors = relay_props_get(self->config->source_props, "interceptors") != NULL;
      if (self->source)
        g_ptr_array_add(self->agent->sources, self->source); /* the agent frees it */
      ok = self->source && self->agent->runners->len == 1 && relay_config_report_count(report) == 0;
    }
  if (cfg)
    relay_agent_config_free(cfg);
  if (!ok && relay_config_report_count(report) == 0)
    relay_config_report_add(report, NULL, NULL, NULL,
                            "the configuration does not make one channel and one sink group");
  if (!ok)
    relay_embedded_teardown(self);
  return ok;
}

void
relay_embedded_teardown(RelayEmbeddedAgent *self)
{
  if (!self->agent)
    return;
  relay_agent_free(self->agent);
  self->agent = NULL;
  self->source = NULL;
  self->channel = NULL;
}
