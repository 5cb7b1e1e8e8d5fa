/* config.h - Flume agent configuration: agent prefix, component lists and per-component property sets, and
 * the report that collects every configuration problem with file:line, component and key.
 *
 * Stage 1 (this module, FlumeConfiguration's rules): pick the properties of one agent, split them into
 * <agent>.sources/.channels/.sinks/.sinkgroups lists and <agent>.<kind>s.<name>.<key> properties, report
 * invalid property names, components that are listed but have no properties or no type, and components that
 * have properties but are not listed. Stage 2 (agent.c) instantiates components through the registry,
 * applies option tables and links the graph. */
#ifndef RELAY_CONFIG_H_INCLUDED
#define RELAY_CONFIG_H_INCLUDED

#include "relay.h"

typedef enum
{
  RELAY_KIND_SOURCE = 0,
  RELAY_KIND_CHANNEL,
  RELAY_KIND_SINK,
  RELAY_KIND_SINKGROUP,
  RELAY_KIND_N,
} RelayKind;

/* "source", "channel", "sink", "sinkgroup" */
const char *relay_kind_name(RelayKind kind);
/* "sources", "channels", "sinks", "sinkgroups" (the list key and the property infix) */
const char *relay_kind_plural(RelayKind kind);

/* ---- problem report ---- */

/* At most this many lines of one kind of problem (one message format) are kept; the others are counted and
 * summed up by relay_config_report_finish(), so a file with millions of the same mistake stays readable. */
#define RELAY_CONFIG_REPORT_MAX_ALIKE 20

struct _RelayConfigReport
{
  GPtrArray *lines;      /* char*, one per problem, in the order found (at most MAX_ALIKE of one kind) */
  GHashTable *by_format; /* format string (static) -> ReportKind* (owned): lines kept and left out */
  GHashTable *by_label;  /* component label -> its first line (both owned), whether kept or left out */
  guint n_left_out;      /* problems counted but not kept in lines */
  guint n_summaries;     /* lines added by relay_config_report_finish() (not problems themselves) */
};

RelayConfigReport *relay_config_report_new(void);
void relay_config_report_free(RelayConfigReport *self);
/* Records one problem. where (may be NULL) gives file:line; component is a label such as "sources.r1" or
 * "agent collector" (may be NULL); key (may be NULL) is the property sub-key. The line reads
 *   conf/relayd.conf:12: sources.r1: port: 70000 is out of range 1..65535; source r1 removed
 * Thread: main (configuration happens before any other thread starts). */
void relay_config_report_add(RelayConfigReport *self, const RelayProp *where, const char *component,
                             const char *key, const char *fmt, ...) G_GNUC_PRINTF(5, 6);
/* Every problem found, including the ones not kept in lines. */
guint relay_config_report_count(const RelayConfigReport *self);
/* The first problem line about component label ("sources.r1"), or NULL. Constant time. */
const char *relay_config_report_first_for(const RelayConfigReport *self, const char *label);
/* Appends one "... and N more like ..." line per kind of problem that had lines left out (once; later calls
 * add only what is new). Call before printing the lines. */
void relay_config_report_finish(RelayConfigReport *self);

/* ---- per-component configuration ---- */

struct _RelayComponentConfig
{
  RelayKind kind;
  char *name;
  char *label;           /* "sources.r1" */
  const RelayProp *decl; /* the <agent>.<kinds> entry that listed it (NULL if not listed) */
  GHashTable *props;     /* sub-key ("type", "selector.header", ...) -> const RelayProp* (borrowed) */
};

/* The property for sub-key key, or NULL. */
const RelayProp *relay_component_config_get(const RelayComponentConfig *self, const char *key);
/* Its value, or NULL. */
const char *relay_component_config_value(const RelayComponentConfig *self, const char *key);
/* Sub-keys that start with prefix, sorted; free with g_ptr_array_unref (elements are borrowed). */
GPtrArray *relay_component_config_keys(const RelayComponentConfig *self, const char *prefix);
/* The best location for a message about this component: its "type" entry, else decl, else any property. */
const RelayProp *relay_component_config_where(const RelayComponentConfig *self);

struct _RelayAgentConfig
{
  char *agent;
  const RelayProps *props;              /* borrowed */
  GPtrArray *components[RELAY_KIND_N];  /* RelayComponentConfig*, listed components in list order */
  const RelayProp *lists[RELAY_KIND_N]; /* the list entries themselves (NULL if absent) */
  GPtrArray *monitoring;                /* const RelayProp*: "<agent>.monitoring.*" entries (relayd's own) */
  GHashTable *by_name[RELAY_KIND_N];    /* name -> RelayComponentConfig* (borrowed from components) */
  GPtrArray *memory; /* const RelayProp*: "<agent>.memory.*" entries (relayd's own; membudget.c, issue 16) */
  GPtrArray *log;    /* const RelayProp*: "<agent>.log.*" entries (relayd's own; log_config.c, issue 15) */
};

/* Stage 1 for agent `agent`. Returns NULL (and reports why) when no property starts with "<agent>.".
 * Properties of other agents are ignored silently (one file holds many agents). */
RelayAgentConfig *relay_agent_config_new(const RelayProps *props, const char *agent,
                                         RelayConfigReport *report);
void relay_agent_config_free(RelayAgentConfig *self);
/* Lookup by kind and name, or NULL. Constant time. */
RelayComponentConfig *relay_agent_config_find(const RelayAgentConfig *self, RelayKind kind, const char *name);

/* ---- the keys under prefix seen as a component of their own, named label ("sources.r1.interceptors.i1"):
 * a plugin interceptor's or selector's option table applies to it (issue 17). Free with
 * relay_component_config_free. ---- */
RelayComponentConfig *relay_component_config_sub(const RelayComponentConfig *self, const char *prefix,
                                                 const char *label);
void relay_component_config_free(RelayComponentConfig *self);

/* Splits a whitespace-separated list value ("c1 c2  c3") into a NULL-terminated strv. */
char **relay_config_split_list(const char *value);

#endif
