/* topology_check.c - the problems between hops that relayd --check-topology reports.
 *
 * One report line each, at the file:line of the key to change, naming the other end's file:line: a network
 * sink that reaches no source; a sink and its target that do not speak alike (protocol, compression-type,
 * ssl, ssl-deflate-order, thrift protocol: there is no negotiation on the wire); a batch larger than a
 * channel's transactionCapacity, at the next hop (its put of the batch fails every time, so nothing gets
 * through: Flume's MemoryTransaction and FileBackedTransaction refuse it) or in the component's own agent;
 * a cycle of hops (events that loop forever); two sources that would take the same address and port; a
 * failover or load_balance group whose sinks all reach one agent. Single-threaded. */
#include "topology.h"

#include "component.h"
#include "options.h"
#include "props.h"
#include "registry.h"

#include <string.h>

/* "conf/x.conf:12" of the component's type line (for naming the other end). */
static char *
_at(const RelayTopoComp *comp)
{
  const RelayProp *where = relay_topo_where(comp, NULL);

  return where && where->file ? g_strdup_printf("%s:%u", where->file, where->line) : g_strdup("?");
}

/* ---- sink -> target source ---- */

static void
_check_unreached(RelayTopology *self, RelayTopoComp *sink, RelayConfigReport *report)
{
  GString *hint = g_string_new(NULL);
  GPtrArray *listeners = relay_topology_listeners(self, sink->port);

  for (guint i = 0; listeners && i < listeners->len && i < 3; i++)
    {
      RelayTopoComp *source = g_ptr_array_index(listeners, i);
      char *at = _at(source);
      g_string_append_printf(hint, "%s%s (%s) binds %s:%" G_GINT64_FORMAT " on %s", i ? "; " : "",
                             source->label, at, source->host, source->port,
                             source->agent->host ? source->agent->host : "this machine");
      g_free(at);
    }
  sink->flagged = TRUE;
  relay_config_report_add(report, relay_topo_where(sink, "hostname"), sink->label, "hostname",
                          "%s:%" G_GINT64_FORMAT " (sent from %s) matches no source of the topology%s%s%s",
                          sink->host, sink->port, sink->agent->host ? sink->agent->host : "this machine",
                          hint->len ? ": " : "", hint->str,
                          hint->len ? " (where an agent runs elsewhere, say so with --host AGENT=HOST)" : "");
  g_string_free(hint, TRUE);
}

/* An enum or bool key both classes have, compared; wanted: only when both ends have it TRUE (ssl). */
static void
_compare_key(RelayTopoComp *sink, RelayTopoComp *source, const char *key, RelayConfigReport *report)
{
  char sink_text[16], source_text[16];
  const char *a = relay_topo_enum(sink, key), *b = relay_topo_enum(source, key);
  gboolean x, y;

  if (!relay_topo_has_key(sink, key) || !relay_topo_has_key(source, key))
    return;
  if (!a && !b && relay_topo_bool(sink, key, &x) && relay_topo_bool(source, key, &y))
    {
      g_strlcpy(sink_text, x ? "true" : "false", sizeof sink_text);
      g_strlcpy(source_text, y ? "true" : "false", sizeof source_text);
      a = sink_text;
      b = source_text;
    }
  if (!a || !b || strcmp(a, b) == 0)
    return;
  char *at = _at(source);
  sink->flagged = TRUE;
  relay_config_report_add(report, relay_topo_where(sink, key), sink->label, key,
                          "%s%s, but its target %s (%s) has %s = %s; both ends must agree", a,
                          relay_component_config_get(sink->cc, key) ? "" : " (the default)", source->label,
                          at, key, b);
  g_free(at);
}

/* The largest batch the sink sends, against every channel the target source puts into. */
static void
_check_target_batch(RelayTopoComp *sink, RelayTopoComp *source, RelayConfigReport *report)
{
  gint64 batch, capacity;

  if (!relay_topo_int(sink, "batch-size", &batch))
    return;
  for (guint i = 0; i < source->channels->len; i++)
    {
      RelayTopoComp *channel = g_ptr_array_index(source->channels, i);
      if (!relay_topo_int(channel, "transactionCapacity", &capacity) || batch <= capacity)
        continue;
      char *at = _at(channel);
      sink->flagged = TRUE;
      relay_config_report_add(report, relay_topo_where(sink, "batch-size"), sink->label, "batch-size",
                              "%" G_GINT64_FORMAT "%s is larger than transactionCapacity %" G_GINT64_FORMAT
                              " of %s (%s), which its target %s puts every received batch into; every batch "
                              "would be refused",
                              batch,
                              relay_component_config_get(sink->cc, "batch-size") ? "" : " (the default)",
                              capacity, channel->label, at, source->label);
      g_free(at);
    }
}

/* A source with a transport key (the avro source's netty | http) is reached by a sink without one only on its
 * default transport: the avro sink speaks Flume's Netty framing. */
static void
_check_transport(RelayTopoComp *sink, RelayTopoComp *source, RelayConfigReport *report)
{
  const char *transport = relay_topo_enum(source, "transport");
  const RelayOption *row = relay_options_find(source->klass->options, "transport");

  if (!transport || relay_topo_has_key(sink, "transport") || !row->def
      || g_ascii_strcasecmp(transport, row->def) == 0)
    return;
  char *at = _at(source);
  sink->flagged = TRUE;
  relay_config_report_add(report, relay_topo_where(sink, "type"), sink->label, "type",
                          "%s sink speaks the %s transport only, but its target %s (%s) has transport = %s",
                          sink->klass->type, row->def, source->label, at, transport);
  g_free(at);
}

static void
_check_hop(RelayTopoComp *sink, RelayTopoComp *source, RelayConfigReport *report)
{
  if (!source->klass || !sink->klass)
    return; /* a type this build does not have: nothing known about it */
  if (strcmp(sink->klass->type, source->klass->type) != 0)
    {
      char *at = _at(source);
      sink->flagged = TRUE;
      relay_config_report_add(report, relay_topo_where(sink, "type"), sink->label, "type",
                              "%s sink sends to %s (%s), a %s source: they do not speak the same protocol",
                              sink->klass->type, source->label, at, source->klass->type);
      g_free(at);
      return;
    }
  _check_transport(sink, source, report);
  _compare_key(sink, source, "compression-type", report);
  _compare_key(sink, source, "ssl", report);
  _compare_key(sink, source, "protocol", report);
  gboolean ssl = FALSE;
  const char *compression = relay_topo_enum(sink, "compression-type");
  if (relay_topo_bool(sink, "ssl", &ssl) && ssl && compression && strcmp(compression, "deflate") == 0)
    _compare_key(sink, source, "ssl-deflate-order", report);
  _check_target_batch(sink, source, report);
}

static void
_check_sinks(RelayTopology *self, RelayConfigReport *report)
{
  for (guint i = 0; i < self->all->len; i++)
    {
      RelayTopoComp *sink = g_ptr_array_index(self->all, i);
      if (sink->cc->kind != RELAY_KIND_SINK || !sink->host)
        continue;
      if (!sink->targets->len)
        _check_unreached(self, sink, report);
      for (guint j = 0; j < sink->targets->len; j++)
        _check_hop(sink, g_ptr_array_index(sink->targets, j), report);
    }
}

/* ---- batch sizes in the component's own agent (Flume's FLUME-3246 check, as --check does) ---- */

static void
_check_own_batches(RelayTopology *self, RelayConfigReport *report)
{
  for (guint i = 0; i < self->all->len; i++)
    {
      RelayTopoComp *comp = g_ptr_array_index(self->all, i);
      for (const RelayOption *opt = comp->klass ? comp->klass->options : NULL; opt && opt->key; opt++)
        {
          gint64 batch, capacity;
          if (!(opt->flags & RELAY_OPTF_BATCH_SIZE) || !relay_topo_int(comp, opt->key, &batch))
            continue;
          for (guint j = 0; j < comp->channels->len; j++)
            {
              RelayTopoComp *channel = g_ptr_array_index(comp->channels, j);
              if (!relay_topo_int(channel, "transactionCapacity", &capacity) || batch <= capacity)
                continue;
              char *at = _at(channel);
              relay_config_report_add(
                  report, relay_topo_where(comp, opt->key), comp->label, opt->key,
                  "%" G_GINT64_FORMAT "%s is larger than transactionCapacity %" G_GINT64_FORMAT
                  " of its channel %s (%s)",
                  batch, relay_component_config_get(comp->cc, opt->key) ? "" : " (the default)", capacity,
                  channel->label, at);
              g_free(at);
            }
        }
    }
}

/* ---- two sources on one address and port ---- */

static void
_check_listeners(RelayTopology *self, RelayConfigReport *report)
{
  for (guint i = 0; i < self->all->len; i++)
    {
      RelayTopoComp *b = g_ptr_array_index(self->all, i);
      GPtrArray *listeners
          = b->cc->kind == RELAY_KIND_SOURCE ? relay_topology_listeners(self, b->port) : NULL;
      for (guint j = 0; listeners && g_ptr_array_index(listeners, j) != b; j++)
        {
          RelayTopoComp *a = g_ptr_array_index(listeners, j);
          if (!relay_topo_binds_overlap(self->hosts, a->agent->host, a->host, b->agent->host, b->host))
            continue;
          char *at = _at(a);
          relay_config_report_add(report, relay_topo_where(b, "port"), b->label, "port",
                                  "%s:%" G_GINT64_FORMAT " on %s is also taken by %s (%s, bind %s): only one "
                                  "of them can listen there",
                                  b->host, b->port, b->agent->host ? b->agent->host : "this machine",
                                  a->label, at, a->host);
          g_free(at);
          break; /* one line per source */
        }
    }
}

/* ---- failover / load_balance groups that all reach one agent ---- */

/* The agent a sink reaches (its only target's), or NULL when it reaches several or none. */
static RelayTopoAgent *
_reached_agent(const RelayTopoComp *sink)
{
  RelayTopoAgent *agent = NULL;

  for (guint i = 0; i < sink->targets->len; i++)
    {
      RelayTopoComp *target = g_ptr_array_index(sink->targets, i);
      if (agent && target->agent != agent)
        return NULL;
      agent = target->agent;
    }
  return agent;
}

/* One destination for every sink of the group: its description, else NULL. */
static char *
_one_destination(RelayTopology *self, const RelayTopoComp *group)
{
  const RelayTopoComp *first = group->sinks->len ? g_ptr_array_index(group->sinks, 0) : NULL;
  RelayTopoAgent *agent = first ? _reached_agent(first) : NULL;

  if (!first || !first->host || group->sinks->len < 2)
    return NULL;
  for (guint i = 1; i < group->sinks->len; i++)
    {
      const RelayTopoComp *sink = g_ptr_array_index(group->sinks, i);
      if (!sink->host)
        return NULL;
      if (agent ? _reached_agent(sink) != agent
                : sink->targets->len || sink->port != first->port
                      || !relay_topo_same_name(self->hosts, sink->host, first->host))
        return NULL;
    }
  if (agent)
    return g_strdup_printf("agent %s (%s)", agent->name, agent->file);
  return g_strdup_printf("%s:%" G_GINT64_FORMAT, first->host, first->port);
}

static void
_check_groups(RelayTopology *self, RelayConfigReport *report)
{
  for (guint i = 0; i < self->all->len; i++)
    {
      RelayTopoComp *group = g_ptr_array_index(self->all, i);
      const RelaySinkProcessorClass *klass
          = group->cc->kind == RELAY_KIND_SINKGROUP
                ? relay_registry_find_processor(relay_component_config_value(group->cc, "processor.type"))
                : NULL;
      const char *type = klass ? klass->type : NULL;
      if (!type || (strcmp(type, "failover") != 0 && strcmp(type, "load_balance") != 0))
        continue;
      char *one = _one_destination(self, group);
      if (one)
        relay_config_report_add(report, relay_topo_where(group, "sinks"), group->label, "sinks",
                                "all %u sinks of this %s group send to %s: when it is down, the group has "
                                "nowhere else to go",
                                group->sinks->len, type, one);
      g_free(one);
    }
}

/* ---- cycles: source -> channel -> sink -> (hop) -> source ---- */

typedef struct
{
  RelayTopology *topo;
  RelayConfigReport *report;
  guint8 *color;      /* by comp id: 0 new, 1 on the path, 2 done */
  GPtrArray *path;    /* sources and hop sinks, alternating, from the DFS root */
  gboolean *in_cycle; /* by comp id: already part of a reported cycle */
} CycleSearch;

static void
_report_cycle(CycleSearch *cs, guint from)
{
  GString *text = g_string_new(NULL);
  RelayTopoComp *first_hop = g_ptr_array_index(cs->path, from + 1);
  gboolean known = TRUE;

  for (guint i = from; i < cs->path->len; i++)
    {
      RelayTopoComp *comp = g_ptr_array_index(cs->path, i);
      known = known && cs->in_cycle[comp->id];
      cs->in_cycle[comp->id] = TRUE;
      g_string_append_printf(text, "%s -> ", comp->label);
    }
  g_string_append(text, ((RelayTopoComp *)g_ptr_array_index(cs->path, from))->label);
  if (!known)
    {
      first_hop->flagged = TRUE;
      relay_config_report_add(cs->report, relay_topo_where(first_hop, "hostname"), first_hop->label,
                              "hostname", "hops form a cycle, events would loop forever: %s", text->str);
    }
  g_string_free(text, TRUE);
}

static void
_visit(CycleSearch *cs, RelayTopoComp *source)
{
  cs->color[source->id] = 1;
  g_ptr_array_add(cs->path, source);
  for (guint c = 0; c < source->channels->len; c++)
    {
      RelayTopoComp *channel = g_ptr_array_index(source->channels, c);
      for (guint k = 0; k < channel->sinks->len; k++)
        {
          RelayTopoComp *sink = g_ptr_array_index(channel->sinks, k);
          g_ptr_array_add(cs->path, sink);
          for (guint t = 0; t < sink->targets->len; t++)
            {
              RelayTopoComp *next = g_ptr_array_index(sink->targets, t);
              if (cs->color[next->id] == 0)
                _visit(cs, next);
              else if (cs->color[next->id] == 1)
                {
                  guint from = 0;
                  while (g_ptr_array_index(cs->path, from) != next)
                    from++;
                  _report_cycle(cs, from);
                }
            }
          g_ptr_array_remove_index(cs->path, cs->path->len - 1);
        }
    }
  g_ptr_array_remove_index(cs->path, cs->path->len - 1);
  cs->color[source->id] = 2;
}

static void
_check_cycles(RelayTopology *self, RelayConfigReport *report)
{
  CycleSearch cs = { self, report, g_new0(guint8, self->all->len + 1), g_ptr_array_new(),
                     g_new0(gboolean, self->all->len + 1) };

  for (guint i = 0; i < self->all->len; i++)
    {
      RelayTopoComp *comp = g_ptr_array_index(self->all, i);
      if (comp->cc->kind == RELAY_KIND_SOURCE && cs.color[comp->id] == 0)
        _visit(&cs, comp);
    }
  g_free(cs.color);
  g_free(cs.in_cycle);
  g_ptr_array_unref(cs.path);
}

void
relay_topology_check(RelayTopology *self, RelayConfigReport *report)
{
  _check_sinks(self, report);
  _check_own_batches(self, report);
  _check_listeners(self, report);
  _check_cycles(self, report);
  _check_groups(self, report);
}
