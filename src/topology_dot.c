/* topology_dot.c - relayd --dot: the topology as a Graphviz digraph.
 *
 * Each agent is a cluster (its name, file and host), holding its sources (ellipses, with type and address),
 * channels (cylinders, with type and transactionCapacity), sinks (boxes) and sink groups (dashed clusters
 * around their sinks). Edges: source -> channel -> sink inside an agent, and hops sink -> source between
 * agents, labelled with the protocol and batch size (plus deflate, ssl); a sink that reaches no source points
 * at a red "host:port ?" node, and a hop with a problem is red. Single-threaded. */
#include "topology.h"

#include "component.h"

#include <string.h>

/* Writes text as the inside of a DOT quoted string. */
static void
_quoted(FILE *out, const char *text)
{
  fputc('"', out);
  for (const char *p = text; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        fputc('\\', out);
      if (*p == '\n')
        fputs("\\n", out);
      else
        fputc(*p, out);
    }
  fputc('"', out);
}

static char *
_node_id(const RelayTopoComp *comp)
{
  return g_strdup_printf("a%u/%s", comp->agent->index, comp->cc->label);
}

static const char *
_type(const RelayTopoComp *comp)
{
  const char *type = comp->klass ? comp->klass->type : relay_component_config_value(comp->cc, "type");

  return type ? type : "?";
}

static char *
_comp_label(const RelayTopoComp *comp)
{
  gint64 capacity;

  if (comp->cc->kind == RELAY_KIND_SOURCE && comp->port >= 0)
    return g_strdup_printf("%s\n%s %s:%" G_GINT64_FORMAT, comp->cc->name, _type(comp),
                           comp->host ? comp->host : "?", comp->port);
  if (comp->cc->kind == RELAY_KIND_CHANNEL && relay_topo_int(comp, "transactionCapacity", &capacity))
    return g_strdup_printf("%s\n%s, txn %" G_GINT64_FORMAT, comp->cc->name, _type(comp), capacity);
  return g_strdup_printf("%s\n%s", comp->cc->name, _type(comp));
}

static void
_node(FILE *out, const RelayTopoComp *comp, const char *indent)
{
  static const char *const shapes[RELAY_KIND_N] = { "ellipse", "cylinder", "box", "box" };
  char *id = _node_id(comp), *label = _comp_label(comp);

  fputs(indent, out);
  _quoted(out, id);
  fputs(" [label=", out);
  _quoted(out, label);
  fprintf(out, ", shape=%s];\n", shapes[comp->cc->kind]);
  g_free(id);
  g_free(label);
}

static void
_edge(FILE *out, const RelayTopoComp *from, const RelayTopoComp *to, const char *attrs)
{
  char *a = _node_id(from), *b = _node_id(to);

  fputs("  ", out);
  _quoted(out, a);
  fputs(" -> ", out);
  _quoted(out, b);
  fprintf(out, "%s;\n", attrs);
  g_free(a);
  g_free(b);
}

/* Sink groups first (a cluster each, around their sinks), then the sinks outside any group. */
static void
_sinks(FILE *out, const RelayTopoAgent *agent)
{
  GHashTable *grouped = g_hash_table_new(g_direct_hash, g_direct_equal);
  GPtrArray *groups = agent->comps[RELAY_KIND_SINKGROUP];

  for (guint i = 0; i < groups->len; i++)
    {
      const RelayTopoComp *group = g_ptr_array_index(groups, i);
      const char *type = relay_component_config_value(group->cc, "processor.type");
      char *label = g_strdup_printf("%s (%s)", group->cc->name, type ? type : "default");
      fprintf(out, "    subgraph \"cluster_a%u_g%u\" {\n      label=", agent->index, i);
      _quoted(out, label);
      fputs("; style=dashed;\n", out);
      for (guint j = 0; j < group->sinks->len; j++)
        if (g_hash_table_add(grouped, g_ptr_array_index(group->sinks, j)))
          _node(out, g_ptr_array_index(group->sinks, j), "      ");
      fputs("    }\n", out);
      g_free(label);
    }
  for (guint i = 0; i < agent->comps[RELAY_KIND_SINK]->len; i++)
    if (!g_hash_table_contains(grouped, g_ptr_array_index(agent->comps[RELAY_KIND_SINK], i)))
      _node(out, g_ptr_array_index(agent->comps[RELAY_KIND_SINK], i), "    ");
  g_hash_table_destroy(grouped);
}

static void
_cluster(FILE *out, const RelayTopoAgent *agent)
{
  char *label = g_strdup_printf("%s\n%s%s%s", agent->name, agent->file, agent->host ? " on " : "",
                                agent->host ? agent->host : "");

  fprintf(out, "  subgraph \"cluster_a%u\" {\n    label=", agent->index);
  _quoted(out, label);
  fputs("; style=rounded;\n", out);
  for (RelayKind kind = RELAY_KIND_SOURCE; kind <= RELAY_KIND_CHANNEL; kind++)
    for (guint i = 0; i < agent->comps[kind]->len; i++)
      _node(out, g_ptr_array_index(agent->comps[kind], i), "    ");
  _sinks(out, agent);
  fputs("  }\n", out);
  g_free(label);
}

static char *
_hop_label(const RelayTopoComp *sink)
{
  GString *text = g_string_new(sink->klass ? sink->klass->type : "?");
  const char *compression = relay_topo_enum(sink, "compression-type");
  const char *protocol = relay_topo_enum(sink, "protocol");
  gboolean ssl = FALSE;
  gint64 batch;

  if (protocol)
    g_string_append_printf(text, " %s", protocol);
  if (relay_topo_int(sink, "batch-size", &batch))
    g_string_append_printf(text, ", batch %" G_GINT64_FORMAT, batch);
  if (compression && strcmp(compression, "none") != 0)
    g_string_append_printf(text, ", %s", compression);
  if (relay_topo_bool(sink, "ssl", &ssl) && ssl)
    g_string_append(text, ", ssl");
  return g_string_free(text, FALSE);
}

static void
_hops(FILE *out, const RelayTopoComp *sink)
{
  char *label = _hop_label(sink);
  GString *attrs = g_string_new(" [label=");
  char *escaped = g_strescape(label, NULL);

  g_string_append_printf(attrs, "\"%s\", style=bold%s]", escaped, sink->flagged ? ", color=red" : "");
  for (guint i = 0; i < sink->targets->len; i++)
    _edge(out, sink, g_ptr_array_index(sink->targets, i), attrs->str);
  if (!sink->targets->len)
    {
      char *id = _node_id(sink);
      char *target = g_strdup_printf("%s:%" G_GINT64_FORMAT " ?", sink->host, sink->port);
      fputs("  ", out);
      _quoted(out, target);
      fputs(" [shape=plaintext, fontcolor=red];\n  ", out);
      _quoted(out, id);
      fputs(" -> ", out);
      _quoted(out, target);
      fprintf(out, "%s [style=dashed, color=red];\n", attrs->str);
      g_free(id);
      g_free(target);
    }
  g_free(escaped);
  g_free(label);
  g_string_free(attrs, TRUE);
}

void
relay_topology_print_dot(RelayTopology *self, FILE *out)
{
  fputs("digraph relayd {\n  rankdir=LR;\n  compound=true;\n  node [fontsize=10];\n  edge [fontsize=9];\n",
        out);
  for (guint i = 0; i < self->agents->len; i++)
    _cluster(out, g_ptr_array_index(self->agents, i));
  for (guint i = 0; i < self->all->len; i++)
    {
      const RelayTopoComp *comp = g_ptr_array_index(self->all, i);
      for (guint j = 0; comp->cc->kind != RELAY_KIND_SINKGROUP && j < comp->channels->len; j++)
        {
          const RelayTopoComp *channel = g_ptr_array_index(comp->channels, j);
          if (comp->cc->kind == RELAY_KIND_SOURCE)
            _edge(out, comp, channel, "");
          else
            _edge(out, channel, comp, "");
        }
      if (comp->cc->kind == RELAY_KIND_SINK && comp->host)
        _hops(out, comp);
    }
  fputs("}\n", out);
}
