/* topology_model.c - builds the topology of relayd --check-topology / --dot from configuration files.
 *
 * Each file is loaded on its own (as `relayd -f FILE` would) and every agent it defines (a NAME with a
 * NAME.sources, .channels, .sinks or .sinkgroups key) goes through configuration stage 1 (config.c), whose
 * problems are reported as --check reports them. Components are read through their class's option table, so
 * an unset key has the default the agent would use; nothing is instantiated. Where an agent runs comes from
 * --host AGENT=HOST, else from a `topology.host.AGENT = HOST` line of its file (a key no agent reads), else
 * from the address one of its sources binds (neither a wildcard nor loopback), else it is this machine.
 * Single-threaded. */
#include "topology.h"

#include "component.h"
#include "options.h"
#include "props.h"
#include "registry.h"

#include <string.h>

#define TOPO_HOST_PREFIX "topology.host."

/* ---- values through the option table ---- */

static const RelayOption *
_row(const RelayTopoComp *comp, const char *key)
{
  return comp->klass ? relay_options_find(comp->klass->options, key) : NULL;
}

gboolean
relay_topo_has_key(const RelayTopoComp *comp, const char *key)
{
  return _row(comp, key) != NULL;
}

/* The configured text, else the row's default; NULL if neither. */
static const char *
_text(const RelayTopoComp *comp, const RelayOption *row)
{
  const char *value = relay_component_config_value(comp->cc, row->key);

  return value ? value : row->def;
}

gboolean
relay_topo_int(const RelayTopoComp *comp, const char *key, gint64 *out)
{
  const RelayOption *row = _row(comp, key);
  const char *text = row && row->type == RELAY_OPT_INT ? _text(comp, row) : NULL;
  gint64 value;

  if (!text || !relay_options_parse_int(text, &value))
    return FALSE;
  if (row->min <= row->max && (value < row->min || value > row->max))
    return FALSE; /* the agent's own --check reports it */
  *out = value;
  return TRUE;
}

const char *
relay_topo_enum(const RelayTopoComp *comp, const char *key)
{
  const RelayOption *row = _row(comp, key);
  const char *text = row && row->type == RELAY_OPT_ENUM ? _text(comp, row) : NULL;

  for (guint i = 0; text && row->choices[i]; i++)
    if (g_ascii_strcasecmp(text, row->choices[i]) == 0)
      return row->choices[i];
  return NULL;
}

gboolean
relay_topo_bool(const RelayTopoComp *comp, const char *key, gboolean *out)
{
  const RelayOption *row = _row(comp, key);
  const char *text = row && row->type == RELAY_OPT_BOOL ? _text(comp, row) : NULL;

  if (!text)
    return FALSE;
  *out = g_ascii_strcasecmp(text, "true") == 0; /* Java's Boolean.parseBoolean */
  return TRUE;
}

const RelayProp *
relay_topo_where(const RelayTopoComp *comp, const char *key)
{
  const RelayProp *prop = key ? relay_component_config_get(comp->cc, key) : NULL;

  return prop ? prop : relay_component_config_where(comp->cc);
}

/* ---- building ---- */

static void
_comp_free(gpointer data)
{
  RelayTopoComp *comp = data;

  g_free(comp->label);
  g_ptr_array_unref(comp->channels);
  g_ptr_array_unref(comp->sinks);
  g_ptr_array_unref(comp->targets);
  g_free(comp);
}

static void
_agent_free(gpointer data)
{
  RelayTopoAgent *agent = data;

  for (RelayKind kind = 0; kind < RELAY_KIND_N; kind++)
    g_ptr_array_unref(agent->comps[kind]);
  relay_agent_config_free(agent->cfg);
  g_free(agent->name);
  g_free(agent->host);
  g_free(agent);
}

static void
_free_array(gpointer data)
{
  g_ptr_array_unref(data);
}

static void
_props_free(gpointer data)
{
  relay_props_free(data);
}

RelayTopology *
relay_topology_new(gboolean resolve)
{
  RelayTopology *self = g_new0(RelayTopology, 1);

  self->props = g_ptr_array_new_with_free_func(_props_free);
  self->agents = g_ptr_array_new_with_free_func(_agent_free);
  self->all = g_ptr_array_new();
  self->overrides = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  self->hosts = relay_topo_hosts_new(resolve);
  self->by_port = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, _free_array);
  return self;
}

void
relay_topology_free(RelayTopology *self)
{
  if (!self)
    return;
  g_ptr_array_unref(self->agents); /* before the props their configurations borrow */
  g_ptr_array_unref(self->props);
  g_ptr_array_unref(self->all);
  g_hash_table_destroy(self->overrides);
  relay_topo_hosts_free(self->hosts);
  g_hash_table_destroy(self->by_port);
  g_free(self);
}

gboolean
relay_topology_set_host(RelayTopology *self, const char *arg)
{
  const char *eq = strchr(arg, '=');

  if (!eq || eq == arg || !eq[1])
    return FALSE;
  g_hash_table_replace(self->overrides, g_strndup(arg, eq - arg), g_strdup(eq + 1));
  return TRUE;
}

/* NAME of a "NAME.<kinds>" list key, or NULL. */
static char *
_list_key_agent(const char *key)
{
  const char *dot = strchr(key, '.');

  if (!dot || dot == key)
    return NULL;
  for (RelayKind kind = 0; kind < RELAY_KIND_N; kind++)
    if (strcmp(dot + 1, relay_kind_plural(kind)) == 0)
      return g_strndup(key, dot - key);
  return NULL;
}

static RelayTopoComp *
_comp_new(RelayTopology *self, RelayTopoAgent *agent, const RelayComponentConfig *cc)
{
  RelayTopoComp *comp = g_new0(RelayTopoComp, 1);
  const char *type = relay_component_config_value(cc, "type");

  comp->agent = agent;
  comp->cc = cc;
  comp->klass = cc->kind == RELAY_KIND_SINKGROUP || !type ? NULL : relay_registry_find(cc->kind, type);
  comp->label = g_strdup_printf("%s.%s", agent->name, cc->label);
  comp->id = self->all->len;
  comp->port = -1;
  comp->channels = g_ptr_array_new();
  comp->sinks = g_ptr_array_new();
  comp->targets = g_ptr_array_new();
  g_ptr_array_add(self->all, comp);
  return comp;
}

static void
_add_agent(RelayTopology *self, const RelayProps *props, const char *name, RelayConfigReport *report)
{
  RelayTopoAgent *agent = g_new0(RelayTopoAgent, 1);

  agent->name = g_strdup(name);
  agent->index = self->agents->len;
  agent->cfg = relay_agent_config_new(props, name, report);
  for (RelayKind kind = 0; kind < RELAY_KIND_N; kind++)
    {
      agent->comps[kind] = g_ptr_array_new_with_free_func(_comp_free);
      GPtrArray *list = agent->cfg ? agent->cfg->components[kind] : NULL;
      for (guint i = 0; list && i < list->len; i++)
        g_ptr_array_add(agent->comps[kind], _comp_new(self, agent, g_ptr_array_index(list, i)));
    }
  g_ptr_array_add(self->agents, agent);
}

static RelayTopoAgent *
_find_agent(RelayTopology *self, const char *file, const char *name)
{
  for (guint i = 0; i < self->agents->len; i++)
    {
      RelayTopoAgent *agent = g_ptr_array_index(self->agents, i);
      if (strcmp(agent->name, name) == 0 && (!file || agent->file == file))
        return agent;
    }
  return NULL;
}

/* topology.host.AGENT = HOST lines of one file. */
static void
_file_hosts(RelayTopology *self, const RelayProps *props, const char *file, RelayConfigReport *report)
{
  guint n;
  const RelayProp *const *entries = relay_props_entries(props, &n);

  for (guint i = 0; i < n; i++)
    {
      if (!g_str_has_prefix(entries[i]->key, TOPO_HOST_PREFIX))
        continue;
      const char *name = entries[i]->key + strlen(TOPO_HOST_PREFIX);
      RelayTopoAgent *agent = _find_agent(self, file, name);
      if (!agent)
        relay_config_report_add(report, entries[i], NULL, entries[i]->key, "this file defines no agent %s",
                                name);
      else if (!agent->host)
        agent->host = g_strdup(entries[i]->value);
    }
}

static void
_add_props(RelayTopology *self, RelayProps *props, const char *name, RelayConfigReport *report)
{
  guint n, before = self->agents->len;
  const RelayProp *const *entries;
  GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

  g_ptr_array_add(self->props, props);
  relay_props_resolve(props, report);
  entries = relay_props_entries(props, &n);
  for (guint i = 0; i < n; i++)
    {
      char *agent = _list_key_agent(entries[i]->key);
      if (agent && !g_hash_table_contains(seen, agent))
        {
          _add_agent(self, props, agent, report);
          g_hash_table_add(seen, agent);
        }
      else
        g_free(agent);
    }
  g_hash_table_destroy(seen);
  for (guint i = before; i < self->agents->len; i++)
    {
      RelayTopoAgent *agent = g_ptr_array_index(self->agents, i);
      agent->file = n ? entries[0]->file : name;
      const char *given = g_hash_table_lookup(self->overrides, agent->name);
      agent->host = g_strdup(given);
    }
  if (before == self->agents->len)
    relay_config_report_add(report, NULL, name, NULL,
                            "defines no agent (no NAME.sources, NAME.channels or NAME.sinks line)");
  _file_hosts(self, props, n ? entries[0]->file : name, report);
}

gboolean
relay_topology_add_file(RelayTopology *self, const char *path, RelayConfigReport *report, GError **error)
{
  RelayProps *props = relay_props_new();

  if (!relay_props_load_file(props, path, report, error))
    {
      relay_props_free(props);
      return FALSE;
    }
  _add_props(self, props, path, report);
  return TRUE;
}

void
relay_topology_add_string(RelayTopology *self, const char *name, const char *text, RelayConfigReport *report)
{
  RelayProps *props = relay_props_new();

  relay_props_load_string(props, name, text, report);
  _add_props(self, props, name, report);
}

/* ---- linking ---- */

static RelayTopoComp *
_find_comp(RelayTopoAgent *agent, RelayKind kind, const char *name)
{
  for (guint i = 0; i < agent->comps[kind]->len; i++)
    {
      RelayTopoComp *comp = g_ptr_array_index(agent->comps[kind], i);
      if (strcmp(comp->cc->name, name) == 0)
        return comp;
    }
  return NULL;
}

/* Adds the named components of kind (a list value) to into. */
static void
_link_names(RelayTopoAgent *agent, RelayKind kind, const char *names, GPtrArray *into, RelayTopoComp *back)
{
  char **list = relay_config_split_list(names);

  for (guint i = 0; list[i]; i++)
    {
      RelayTopoComp *other = _find_comp(agent, kind, list[i]);
      if (!other)
        continue;
      g_ptr_array_add(into, other);
      if (back)
        g_ptr_array_add(other->sinks, back);
    }
  g_strfreev(list);
}

static void
_link_agent(RelayTopoAgent *agent)
{
  for (guint i = 0; i < agent->comps[RELAY_KIND_SOURCE]->len; i++)
    {
      RelayTopoComp *source = g_ptr_array_index(agent->comps[RELAY_KIND_SOURCE], i);
      _link_names(agent, RELAY_KIND_CHANNEL, relay_component_config_value(source->cc, "channels"),
                  source->channels, NULL);
      if (relay_topo_has_key(source, "bind") && relay_topo_int(source, "port", &source->port))
        source->host = relay_component_config_value(source->cc, "bind");
    }
  for (guint i = 0; i < agent->comps[RELAY_KIND_SINK]->len; i++)
    {
      RelayTopoComp *sink = g_ptr_array_index(agent->comps[RELAY_KIND_SINK], i);
      _link_names(agent, RELAY_KIND_CHANNEL, relay_component_config_value(sink->cc, "channel"),
                  sink->channels, sink);
      sink->host = relay_component_config_value(sink->cc, "hostname");
      if (!sink->host || !relay_topo_has_key(sink, "hostname") || !relay_topo_int(sink, "port", &sink->port))
        {
          sink->host = NULL;
          sink->port = -1;
        }
    }
  for (guint i = 0; i < agent->comps[RELAY_KIND_SINKGROUP]->len; i++)
    {
      RelayTopoComp *group = g_ptr_array_index(agent->comps[RELAY_KIND_SINKGROUP], i);
      _link_names(agent, RELAY_KIND_SINK, relay_component_config_value(group->cc, "sinks"), group->sinks,
                  NULL);
    }
}

/* An agent of unknown host with a source bound to one address (not a wildcard, not loopback) runs on the
 * machine that has that address. */
static void
_infer_host(RelayTopology *self, RelayTopoAgent *agent)
{
  for (guint i = 0; !agent->host && i < agent->comps[RELAY_KIND_SOURCE]->len; i++)
    {
      const RelayTopoComp *source = g_ptr_array_index(agent->comps[RELAY_KIND_SOURCE], i);
      if (source->host && !relay_topo_is_wildcard(source->host)
          && !relay_topo_is_loopback(self->hosts, source->host))
        agent->host = g_strdup(source->host);
    }
}

/* Indexes every listening source by port (port 0 is any free port: not indexed). */
static void
_index_listeners(RelayTopology *self)
{
  for (guint i = 0; i < self->all->len; i++)
    {
      RelayTopoComp *source = g_ptr_array_index(self->all, i);
      if (source->cc->kind != RELAY_KIND_SOURCE || source->port <= 0)
        continue;
      GPtrArray *list = g_hash_table_lookup(self->by_port, &source->port);
      if (!list)
        {
          list = g_ptr_array_new();
          g_hash_table_insert(self->by_port, &source->port, list);
        }
      g_ptr_array_add(list, source);
    }
}

GPtrArray *
relay_topology_listeners(RelayTopology *self, gint64 port)
{
  return g_hash_table_lookup(self->by_port, &port);
}

/* Every listening source a network sink reaches. */
static void
_link_hops(RelayTopology *self)
{
  for (guint i = 0; i < self->all->len; i++)
    {
      RelayTopoComp *sink = g_ptr_array_index(self->all, i);
      GPtrArray *listeners = sink->cc->kind == RELAY_KIND_SINK && sink->host
                                 ? relay_topology_listeners(self, sink->port)
                                 : NULL;
      for (guint j = 0; listeners && j < listeners->len; j++)
        {
          RelayTopoComp *source = g_ptr_array_index(listeners, j);
          if (relay_topo_reaches(self->hosts, sink->agent->host, sink->host, source->agent->host,
                                 source->host))
            g_ptr_array_add(sink->targets, source);
        }
      self->n_hops += sink->targets->len;
    }
}

void
relay_topology_link(RelayTopology *self, RelayConfigReport *report)
{
  GHashTableIter iter;
  gpointer name;

  g_hash_table_iter_init(&iter, self->overrides);
  while (g_hash_table_iter_next(&iter, &name, NULL))
    if (!_find_agent(self, NULL, name))
      relay_config_report_add(report, NULL, "command line", "--host", "no agent %s in the files",
                              (const char *)name);
  for (guint i = 0; i < self->agents->len; i++)
    {
      _link_agent(g_ptr_array_index(self->agents, i));
      _infer_host(self, g_ptr_array_index(self->agents, i));
    }
  _index_listeners(self);
  _link_hops(self);
}
