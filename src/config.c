/* config.c - configuration stage 1: one agent's component lists and per-component property sets, and the
 * report that collects configuration problems.
 *
 * Follows Flume's FlumeConfiguration: only keys under "<agent>." are looked at; "<agent>.<kinds>" are the
 * component lists and "<agent>.<kinds>.<name>.<key>" the component properties; anything else under the
 * prefix is reported and ignored. A listed component needs at least one property and a "type" (sink groups:
 * "sinks"); components with properties that are not listed are reported and ignored. Component configs
 * borrow the RelayProp entries of the RelayProps, which must outlive them. Runs on the main thread. */
#include "config.h"

#include "props.h"

#include <string.h>

static const char *const _kind_names[RELAY_KIND_N] = { "source", "channel", "sink", "sinkgroup" };
static const char *const _kind_plurals[RELAY_KIND_N] = { "sources", "channels", "sinks", "sinkgroups" };

const char *
relay_kind_name(RelayKind kind)
{
  return kind < RELAY_KIND_N ? _kind_names[kind] : "?";
}

const char *
relay_kind_plural(RelayKind kind)
{
  return kind < RELAY_KIND_N ? _kind_plurals[kind] : "?";
}

/* ---- report ---- */

RelayConfigReport *
relay_config_report_new(void)
{
  RelayConfigReport *self = g_new0(RelayConfigReport, 1);

  self->lines = g_ptr_array_new_with_free_func(g_free);
  return self;
}

void
relay_config_report_free(RelayConfigReport *self)
{
  if (!self)
    return;
  g_ptr_array_unref(self->lines);
  g_free(self);
}

void
relay_config_report_add(RelayConfigReport *self, const RelayProp *where, const char *component,
                        const char *key, const char *fmt, ...)
{
  GString *line = g_string_new(NULL);
  va_list ap;

  if (where && where->file)
    g_string_append_printf(line, "%s:%u: ", where->file, where->line);
  if (component)
    g_string_append_printf(line, "%s: ", component);
  if (key)
    g_string_append_printf(line, "%s: ", key);
  va_start(ap, fmt);
  g_string_append_vprintf(line, fmt, ap);
  va_end(ap);
  g_ptr_array_add(self->lines, g_string_free(line, FALSE));
}

guint
relay_config_report_count(const RelayConfigReport *self)
{
  return self->lines->len;
}

/* ---- component configs ---- */

static RelayComponentConfig *
_component_new(RelayKind kind, const char *name)
{
  RelayComponentConfig *self = g_new0(RelayComponentConfig, 1);

  self->kind = kind;
  self->name = g_strdup(name);
  self->label = g_strdup_printf("%s.%s", relay_kind_plural(kind), name);
  self->props = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  return self;
}

static void
_component_free(gpointer data)
{
  RelayComponentConfig *self = data;

  g_hash_table_destroy(self->props);
  g_free(self->name);
  g_free(self->label);
  g_free(self);
}

const RelayProp *
relay_component_config_get(const RelayComponentConfig *self, const char *key)
{
  return g_hash_table_lookup(self->props, key);
}

const char *
relay_component_config_value(const RelayComponentConfig *self, const char *key)
{
  const RelayProp *prop = relay_component_config_get(self, key);

  return prop ? prop->value : NULL;
}

static gint
_compare_strings(gconstpointer a, gconstpointer b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

GPtrArray *
relay_component_config_keys(const RelayComponentConfig *self, const char *prefix)
{
  GPtrArray *keys = g_ptr_array_new();
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init(&iter, self->props);
  while (g_hash_table_iter_next(&iter, &key, NULL))
    if (g_str_has_prefix(key, prefix))
      g_ptr_array_add(keys, key);
  g_ptr_array_sort(keys, _compare_strings);
  return keys;
}

/* The property that comes first in the files (lowest line; ties broken by key), for a stable location. */
static const RelayProp *
_first_prop(const RelayComponentConfig *self)
{
  const RelayProp *first = NULL;
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init(&iter, self->props);
  while (g_hash_table_iter_next(&iter, NULL, &value))
    {
      const RelayProp *prop = value;
      if (!first || prop->line < first->line
          || (prop->line == first->line && strcmp(prop->key, first->key) < 0))
        first = prop;
    }
  return first;
}

const RelayProp *
relay_component_config_where(const RelayComponentConfig *self)
{
  const RelayProp *type = relay_component_config_get(self, "type");

  if (type)
    return type;
  return self->decl ? self->decl : _first_prop(self);
}

char **
relay_config_split_list(const char *value)
{
  char **parts = g_strsplit_set(value ? value : "", " \t\n\r\f\v", -1);
  guint kept = 0;

  for (guint i = 0; parts[i]; i++)
    {
      if (parts[i][0])
        parts[kept++] = parts[i];
      else
        g_free(parts[i]);
    }
  parts[kept] = NULL;
  return parts;
}

/* ---- stage 1 ---- */

/* Work state while one agent's properties are sorted out. */
typedef struct
{
  RelayAgentConfig *cfg;
  RelayConfigReport *report;
  char *agent_label;                 /* "agent a1" */
  GHashTable *by_name[RELAY_KIND_N]; /* name -> RelayComponentConfig* with properties (owned) */
  GPtrArray *order;                  /* every RelayComponentConfig created, in order of first property */
} ConfigBuilder;

/* "<kinds>.<name>.<key>" with non-empty name and key -> TRUE and the parts; kind already matched. */
static gboolean
_split_component_key(const char *rest, char **name, const char **subkey)
{
  const char *dot = strchr(rest, '.');

  if (!dot || dot == rest || dot[1] == '\0')
    return FALSE;
  *name = g_strndup(rest, dot - rest);
  *subkey = dot + 1;
  return TRUE;
}

static void
_add_component_prop(ConfigBuilder *b, RelayKind kind, const RelayProp *prop, const char *rest)
{
  char *name;
  const char *subkey;

  if (!_split_component_key(rest, &name, &subkey))
    {
      relay_config_report_add(b->report, prop, NULL, prop->key, "invalid property, ignored");
      return;
    }
  RelayComponentConfig *cc = g_hash_table_lookup(b->by_name[kind], name);
  if (!cc)
    {
      cc = _component_new(kind, name);
      g_hash_table_insert(b->by_name[kind], cc->name, cc);
      g_ptr_array_add(b->order, cc);
    }
  g_hash_table_insert(cc->props, g_strdup(subkey), (gpointer)prop);
  g_free(name);
}

/* Sorts one property whose key starts with "<agent>."; rest is the part after that prefix. */
static void
_classify(ConfigBuilder *b, const RelayProp *prop, const char *rest)
{
  for (RelayKind kind = 0; kind < RELAY_KIND_N; kind++)
    {
      const char *plural = relay_kind_plural(kind);
      gsize n = strlen(plural);
      if (strncmp(rest, plural, n) != 0)
        continue;
      if (rest[n] == '\0')
        {
          b->cfg->lists[kind] = prop;
          return;
        }
      if (rest[n] == '.')
        {
          _add_component_prop(b, kind, prop, rest + n + 1);
          return;
        }
    }
  if (g_str_has_prefix(rest, "monitoring.") && rest[strlen("monitoring.")])
    g_ptr_array_add(b->cfg->monitoring, (gpointer)prop); /* checked by monitor.c */
  else if (g_str_has_prefix(rest, "memory.") && rest[strlen("memory.")])
    g_ptr_array_add(b->cfg->memory, (gpointer)prop); /* checked by membudget.c (issue 16) */
  else if (strcmp(rest, "configfilters") == 0 || g_str_has_prefix(rest, "configfilters."))
    relay_config_report_add(b->report, prop, NULL, prop->key, "config filters are not supported, ignored");
  else
    relay_config_report_add(b->report, prop, NULL, prop->key, "invalid property, ignored");
}

/* A listed component joins components[] if it has properties and its required key. */
static void
_admit(ConfigBuilder *b, RelayKind kind, const char *name)
{
  RelayComponentConfig *cc = g_hash_table_lookup(b->by_name[kind], name);
  const RelayProp *list = b->cfg->lists[kind];
  const char *required = kind == RELAY_KIND_SINKGROUP ? "sinks" : "type";

  if (!cc)
    {
      char *label = g_strdup_printf("%s.%s", relay_kind_plural(kind), name);
      relay_config_report_add(b->report, list, label, NULL,
                              "is listed in %s but has no properties; %s %s removed", list->key,
                              relay_kind_name(kind), name);
      g_free(label);
      return;
    }
  cc->decl = list;
  if (!relay_component_config_get(cc, required))
    {
      relay_config_report_add(b->report, _first_prop(cc), cc->label, required, "missing; %s %s removed",
                              relay_kind_name(kind), name);
      return;
    }
  g_hash_table_steal(b->by_name[kind], name);
  g_ptr_array_add(b->cfg->components[kind], cc);
}

/* Walks one list ("r1 r2"), reporting names listed more than once. */
static void
_admit_listed(ConfigBuilder *b, RelayKind kind)
{
  const RelayProp *list = b->cfg->lists[kind];
  char **names = relay_config_split_list(list ? list->value : NULL);
  GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
  GHashTable *reported = g_hash_table_new(g_str_hash, g_str_equal);

  for (guint i = 0; names[i]; i++)
    {
      if (!g_hash_table_add(seen, names[i]))
        {
          if (g_hash_table_add(reported, names[i]))
            relay_config_report_add(b->report, list, b->agent_label, relay_kind_plural(kind),
                                    "'%s' is listed more than once; kept once", names[i]);
          continue;
        }
      _admit(b, kind, names[i]);
    }
  g_hash_table_destroy(reported);
  g_hash_table_destroy(seen);
  g_strfreev(names);
}

/* Components still in by_name were not admitted; the ones with a decl were reported by _admit already. */
static void
_report_unlisted(ConfigBuilder *b)
{
  for (guint i = 0; i < b->order->len; i++)
    {
      RelayComponentConfig *cc = g_ptr_array_index(b->order, i);
      if (g_hash_table_lookup(b->by_name[cc->kind], cc->name) != cc || cc->decl)
        continue;
      relay_config_report_add(b->report, _first_prop(cc), cc->label, NULL,
                              "has properties but is not listed in %s.%s; ignored", b->cfg->agent,
                              relay_kind_plural(cc->kind));
    }
}

static RelayAgentConfig *
_agent_config_alloc(const RelayProps *props, const char *agent)
{
  RelayAgentConfig *cfg = g_new0(RelayAgentConfig, 1);

  cfg->agent = g_strdup(agent);
  cfg->props = props;
  for (RelayKind kind = 0; kind < RELAY_KIND_N; kind++)
    cfg->components[kind] = g_ptr_array_new_with_free_func(_component_free);
  cfg->monitoring = g_ptr_array_new();
  cfg->memory = g_ptr_array_new();
  return cfg;
}

static void
_builder_run(ConfigBuilder *b, const RelayProps *props, const char *prefix)
{
  guint n_entries;
  const RelayProp *const *entries = relay_props_entries(props, &n_entries);

  for (guint i = 0; i < n_entries; i++)
    if (g_str_has_prefix(entries[i]->key, prefix))
      _classify(b, entries[i], entries[i]->key + strlen(prefix));
  if (!b->cfg->lists[RELAY_KIND_CHANNEL])
    relay_config_report_add(b->report, NULL, b->agent_label, "channels",
                            "missing: %s.channels lists no channels, the agent cannot run", b->cfg->agent);
  for (RelayKind kind = 0; kind < RELAY_KIND_N; kind++)
    _admit_listed(b, kind);
  _report_unlisted(b);
}

static gboolean
_has_prefix_key(const RelayProps *props, const char *prefix)
{
  guint n_entries;
  const RelayProp *const *entries = relay_props_entries(props, &n_entries);

  for (guint i = 0; i < n_entries; i++)
    if (g_str_has_prefix(entries[i]->key, prefix))
      return TRUE;
  return FALSE;
}

RelayAgentConfig *
relay_agent_config_new(const RelayProps *props, const char *agent, RelayConfigReport *report)
{
  char *prefix = g_strconcat(agent, ".", NULL);
  ConfigBuilder b = { NULL, report, NULL, { NULL }, NULL };

  if (!_has_prefix_key(props, prefix))
    {
      relay_config_report_add(report, NULL, NULL, NULL, "no properties for agent %s", agent);
      g_free(prefix);
      return NULL;
    }
  b.cfg = _agent_config_alloc(props, agent);
  b.agent_label = g_strdup_printf("agent %s", agent);
  b.order = g_ptr_array_new();
  for (RelayKind kind = 0; kind < RELAY_KIND_N; kind++)
    b.by_name[kind] = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, _component_free);
  _builder_run(&b, props, prefix);
  for (RelayKind kind = 0; kind < RELAY_KIND_N; kind++)
    g_hash_table_destroy(b.by_name[kind]);
  g_ptr_array_unref(b.order);
  g_free(b.agent_label);
  g_free(prefix);
  return b.cfg;
}

void
relay_agent_config_free(RelayAgentConfig *self)
{
  if (!self)
    return;
  for (RelayKind kind = 0; kind < RELAY_KIND_N; kind++)
    g_ptr_array_unref(self->components[kind]);
  g_ptr_array_unref(self->monitoring);
  g_ptr_array_unref(self->memory);
  g_free(self->agent);
  g_free(self);
}

RelayComponentConfig *
relay_agent_config_find(const RelayAgentConfig *self, RelayKind kind, const char *name)
{
  g_return_val_if_fail(kind < RELAY_KIND_N, NULL);
  for (guint i = 0; i < self->components[kind]->len; i++)
    {
      RelayComponentConfig *cc = g_ptr_array_index(self->components[kind], i);
      if (strcmp(cc->name, name) == 0)
        return cc;
    }
  return NULL;
}
