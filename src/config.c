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

static gint
_compare_strings(gconstpointer a, gconstpointer b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One kind of problem: lines with the same message format. */
typedef struct
{
  guint kept;          /* lines in self->lines */
  guint left_out;      /* counted, not kept */
  guint summarised;    /* left_out already covered by a summary line */
  char *last_left_out; /* the latest line left out, for the summary */
} ReportKind;

static void
_report_kind_free(gpointer data)
{
  ReportKind *kind = data;

  g_free(kind->last_left_out);
  g_free(kind);
}

RelayConfigReport *
relay_config_report_new(void)
{
  RelayConfigReport *self = g_new0(RelayConfigReport, 1);

  self->lines = g_ptr_array_new_with_free_func(g_free);
  self->by_format = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, _report_kind_free);
  self->by_label = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  return self;
}

void
relay_config_report_free(RelayConfigReport *self)
{
  if (!self)
    return;
  g_ptr_array_unref(self->lines);
  g_hash_table_destroy(self->by_format);
  g_hash_table_destroy(self->by_label);
  g_free(self);
}

/* Keeps the line or counts it as left out; takes ownership of line. */
static void
_report_store(RelayConfigReport *self, const char *fmt, char *line)
{
  ReportKind *kind = g_hash_table_lookup(self->by_format, fmt);

  if (!kind)
    {
      kind = g_new0(ReportKind, 1);
      g_hash_table_insert(self->by_format, (gpointer)fmt, kind);
    }
  if (kind->kept < RELAY_CONFIG_REPORT_MAX_ALIKE)
    {
      kind->kept++;
      g_ptr_array_add(self->lines, line);
      return;
    }
  kind->left_out++;
  self->n_left_out++;
  g_free(kind->last_left_out);
  kind->last_left_out = line;
}

/* Rewrites control characters of a report line as escapes (\n, \r, \t, \xNN): a key or value quoted in a
 * message may hold any byte (a properties file can write "\n"), and one problem must stay one line. */
static void
_escape_controls(GString *line)
{
  gsize i = 0;
  while (i < line->len && (guchar)line->str[i] >= 0x20 && line->str[i] != 0x7f)
    i++;
  if (i < line->len)
    {
      GString *out = g_string_sized_new(line->len + 16);
      g_string_append_len(out, line->str, (gssize)i);
      for (; i < line->len; i++)
        {
          guchar c = (guchar)line->str[i];
          if (c >= 0x20 && c != 0x7f)
            g_string_append_c(out, (char)c);
          else if (c == '\n' || c == '\r' || c == '\t')
            g_string_append_printf(out, "\\%c", c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
          else
            g_string_append_printf(out, "\\x%02x", c);
        }
      g_string_assign(line, out->str);
      g_string_free(out, TRUE);
    }
  if (line->len == 0)
    g_string_append(line, "(empty message)");
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
  _escape_controls(line);
  if (component && !g_hash_table_contains(self->by_label, component))
    g_hash_table_insert(self->by_label, g_strdup(component), g_strdup(line->str));
  _report_store(self, fmt, g_string_free(line, FALSE));
}

guint
relay_config_report_count(const RelayConfigReport *self)
{
  return self->lines->len - self->n_summaries + self->n_left_out;
}

const char *
relay_config_report_first_for(const RelayConfigReport *self, const char *label)
{
  return g_hash_table_lookup(self->by_label, label);
}

void
relay_config_report_finish(RelayConfigReport *self)
{
  GHashTableIter iter;
  gpointer value;
  GPtrArray *summaries = g_ptr_array_new();

  g_hash_table_iter_init(&iter, self->by_format);
  while (g_hash_table_iter_next(&iter, NULL, &value))
    {
      ReportKind *kind = value;
      guint n = kind->left_out - kind->summarised;
      if (n == 0)
        continue;
      g_ptr_array_add(summaries, g_strdup_printf("... and %u more problem(s) of this kind, the last: %s", n,
                                                 kind->last_left_out));
      kind->summarised = kind->left_out;
    }
  /* Hash order is arbitrary: sort for a stable output. */
  g_ptr_array_sort(summaries, _compare_strings);
  for (guint i = 0; i < summaries->len; i++)
    g_ptr_array_add(self->lines, g_ptr_array_index(summaries, i));
  self->n_summaries += summaries->len;
  g_ptr_array_unref(summaries);
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

/* ---- sub-configurations (issue 17) ---- */
RelayComponentConfig *
relay_component_config_sub(const RelayComponentConfig *self, const char *prefix, const char *label)
{
  RelayComponentConfig *sub = _component_new(self->kind, self->name);
  GHashTableIter iter;
  gpointer key, prop;

  g_free(sub->label);
  sub->label = g_strdup(label);
  sub->decl = self->decl;
  g_hash_table_iter_init(&iter, self->props);
  while (g_hash_table_iter_next(&iter, &key, &prop))
    if (g_str_has_prefix(key, prefix) && ((const char *)key)[strlen(prefix)])
      g_hash_table_insert(sub->props, g_strdup((const char *)key + strlen(prefix)), prop);
  return sub;
}

void
relay_component_config_free(RelayComponentConfig *self)
{
  _component_free(self);
}
/* ---- end of sub-configurations ---- */

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
  else if (g_str_has_prefix(rest, "log.") && rest[strlen("log.")])
    g_ptr_array_add(b->cfg->log, (gpointer)prop); /* checked by log_config.c (issue 15) */
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
  g_hash_table_insert(b->cfg->by_name[kind], cc->name, cc);
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
    {
      cfg->components[kind] = g_ptr_array_new_with_free_func(_component_free);
      cfg->by_name[kind] = g_hash_table_new(g_str_hash, g_str_equal);
    }
  cfg->monitoring = g_ptr_array_new();
  cfg->memory = g_ptr_array_new();
  cfg->log = g_ptr_array_new(); /* issue 15 */
  return cfg;
}

static void
_builder_run(ConfigBuilder *b, const RelayProps *props, const char *prefix)
{
  guint n_entries;
  const RelayProp *const *entries = relay_props_agent_entries(props, b->cfg->agent, &n_entries);

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
_has_prefix_key(const RelayProps *props, const char *agent, const char *prefix)
{
  guint n_entries;
  const RelayProp *const *entries = relay_props_agent_entries(props, agent, &n_entries);

  for (guint i = 0; i < n_entries; i++)
    if (g_str_has_prefix(entries[i]->key, prefix))
      return TRUE;
  return FALSE;
}

/* The agents a file defines (names with a NAME.sources, .channels, .sinks or .sinkgroups key), as "a, b"
 * in order of first appearance, or NULL. At most 20 are named. */
static char *
_defined_agents(const RelayProps *props)
{
  guint n_entries, shown = 0;
  const RelayProp *const *entries = relay_props_entries(props, &n_entries);
  GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  GString *names = g_string_new(NULL);

  for (guint i = 0; i < n_entries; i++)
    {
      const char *dot = strchr(entries[i]->key, '.');
      if (!dot || dot == entries[i]->key)
        continue;
      gboolean is_list = FALSE;
      for (RelayKind kind = 0; kind < RELAY_KIND_N; kind++)
        is_list = is_list || strcmp(dot + 1, relay_kind_plural(kind)) == 0;
      char *name = g_strndup(entries[i]->key, dot - entries[i]->key);
      if (!is_list || !g_hash_table_add(seen, name))
        {
          if (!is_list)
            g_free(name);
          continue;
        }
      if (shown++ < 20)
        g_string_append_printf(names, "%s%s", names->len ? ", " : "", name);
    }
  if (shown > 20)
    g_string_append_printf(names, " and %u more", shown - 20);
  g_hash_table_destroy(seen);
  return g_string_free(names, names->len == 0);
}

RelayAgentConfig *
relay_agent_config_new(const RelayProps *props, const char *agent, RelayConfigReport *report)
{
  char *prefix = g_strconcat(agent, ".", NULL);
  ConfigBuilder b = { NULL, report, NULL, { NULL }, NULL };

  if (!_has_prefix_key(props, agent, prefix))
    {
      char *agents = _defined_agents(props);
      if (agents)
        relay_config_report_add(report, NULL, NULL, NULL, "no properties for agent %s; the file defines: %s",
                                agent, agents);
      else
        relay_config_report_add(report, NULL, NULL, NULL,
                                "no properties for agent %s; the file defines no agent (no "
                                "NAME.sources, NAME.channels or NAME.sinks line)",
                                agent);
      g_free(agents);
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
    {
      g_hash_table_destroy(self->by_name[kind]);
      g_ptr_array_unref(self->components[kind]);
    }
  g_ptr_array_unref(self->monitoring);
  g_ptr_array_unref(self->memory);
  g_ptr_array_unref(self->log); /* issue 15 */
  g_free(self->agent);
  g_free(self);
}

RelayComponentConfig *
relay_agent_config_find(const RelayAgentConfig *self, RelayKind kind, const char *name)
{
  g_return_val_if_fail(kind < RELAY_KIND_N, NULL);
  return g_hash_table_lookup(self->by_name[kind], name);
}
