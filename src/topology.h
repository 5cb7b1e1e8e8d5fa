/* topology.h - the whole-topology view of several agents (relayd --check-topology and --dot, issue 14).
 *
 * Every agent of every given file (a file may hold many agents; files are not merged: each one is read as
 * `relayd -f FILE` would read it) becomes a RelayTopoAgent with its sources, channels, sinks and sink groups,
 * read from the stage-1 configuration (config.c) and the classes' option tables (so defaults are the ones
 * the agent would use), without instantiating or starting anything. Hops link a network sink (a class with
 * hostname and port keys) to the listening sources (a class with bind and port keys) it reaches, comparing
 * host names as written and as resolved (topology_hosts.c). relay_topology_check() reports the problems
 * between hops; relay_topology_print_dot() draws the graph. Single-threaded (the command line's thread). */
#ifndef RELAY_TOPOLOGY_H_INCLUDED
#define RELAY_TOPOLOGY_H_INCLUDED

#include "relay.h"
#include "config.h"

#include <stdio.h>

typedef struct _RelayTopoHosts RelayTopoHosts;
typedef struct _RelayTopoAgent RelayTopoAgent;
typedef struct _RelayTopoComp RelayTopoComp;
typedef struct _RelayTopology RelayTopology;

struct _RelayTopoComp
{
  RelayTopoAgent *agent;
  const RelayComponentConfig *cc;
  const RelayComponentClass *klass; /* NULL: a type this build does not know (shown, not checked) */
  char *label;                      /* "collector.sinks.k1" */
  guint id;                         /* unique over the topology (graph algorithms) */
  /* listening sources and network sinks: address as configured (NULL, -1: none or invalid) */
  const char *host; /* bind of a source, hostname of a sink */
  gint64 port;
  GPtrArray *channels; /* sources: RelayTopoComp* channels written; sinks: the one channel read */
  GPtrArray *sinks;    /* channels: sinks reading it; groups: member sinks */
  GPtrArray *targets;  /* network sinks: the sources reached (RelayTopoComp*) */
  gboolean flagged;    /* a hop problem was reported about this sink (drawn red) */
};

struct _RelayTopoAgent
{
  char *name;
  const char *file; /* as given */
  char *host; /* where it runs (--host, topology.host.NAME, a source's bind address); NULL: this machine */
  RelayAgentConfig *cfg;
  GPtrArray *comps[RELAY_KIND_N]; /* RelayTopoComp* in list order */
  guint index;
};

struct _RelayTopology
{
  GPtrArray *props;      /* RelayProps* (owned), one per file */
  GPtrArray *agents;     /* RelayTopoAgent* (owned), in file order */
  GPtrArray *all;        /* every RelayTopoComp*, by id */
  GHashTable *overrides; /* agent name -> host from --host (owned strings) */
  RelayTopoHosts *hosts;
  GHashTable *by_port; /* port (gint64*) -> GPtrArray of the sources listening there (after link) */
  guint n_hops;
};

/* resolve: FALSE compares names as written only (no DNS). */
RelayTopology *relay_topology_new(gboolean resolve);
void relay_topology_free(RelayTopology *self);
/* --host AGENT=HOST; FALSE if arg is not of that form. */
gboolean relay_topology_set_host(RelayTopology *self, const char *arg);
/* Adds every agent of a file; FALSE (error set) if it cannot be read. Problems of the file go to report. */
gboolean relay_topology_add_file(RelayTopology *self, const char *path, RelayConfigReport *report,
                                 GError **error);
/* Same, from text (tests); name stands for the file name in messages. */
void relay_topology_add_string(RelayTopology *self, const char *name, const char *text,
                               RelayConfigReport *report);
/* After the last add: applies hosts, links components and hops. */
void relay_topology_link(RelayTopology *self, RelayConfigReport *report);
/* The sources listening on port (after link), or NULL. Borrowed. */
GPtrArray *relay_topology_listeners(RelayTopology *self, gint64 port);
/* Reports every problem between hops, one line each with file:line. */
void relay_topology_check(RelayTopology *self, RelayConfigReport *report);
/* Graphviz text of the topology. */
void relay_topology_print_dot(RelayTopology *self, FILE *out);

/* ---- command line (topology_cli.c) ---- */
/* TRUE when argv holds --check-topology or --dot (main() then hands the command line over). */
gboolean relay_topology_wanted(int argc, char **argv);
/* Runs `relayd --check-topology [--dot] [--host AGENT=HOST]... [--no-resolve] FILE...`; the exit status. */
int relay_topology_main(int argc, char **argv);

/* ---- value helpers (topology_model.c): configured value, else the option table's default ---- */
gboolean relay_topo_int(const RelayTopoComp *comp, const char *key, gint64 *out);
const char *relay_topo_enum(const RelayTopoComp *comp, const char *key); /* canonical choice, or NULL */
gboolean relay_topo_bool(const RelayTopoComp *comp, const char *key, gboolean *out);
/* The key's line, else the component's type line. */
const RelayProp *relay_topo_where(const RelayTopoComp *comp, const char *key);
/* The class has an option row for key. */
gboolean relay_topo_has_key(const RelayTopoComp *comp, const char *key);

/* ---- hosts (topology_hosts.c) ---- */
RelayTopoHosts *relay_topo_hosts_new(gboolean resolve);
void relay_topo_hosts_free(RelayTopoHosts *self);
/* 0.0.0.0, ::, * : every address of the machine. */
gboolean relay_topo_is_wildcard(const char *bind);
/* Names the machine itself: localhost, 127.0.0.0/8, ::1 (as written or resolved). */
gboolean relay_topo_is_loopback(RelayTopoHosts *self, const char *name);
/* Equal as written (case-insensitive) or resolving to a common address. */
gboolean relay_topo_same_name(RelayTopoHosts *self, const char *a, const char *b);
/* Hosts of two agents (NULL: this machine) are one machine. */
gboolean relay_topo_same_machine(RelayTopoHosts *self, const char *host_a, const char *host_b);
/* A sink of an agent on sink_host sending to hostname reaches a source of an agent on source_host bound to
 * bind (ports compared by the caller). */
gboolean relay_topo_reaches(RelayTopoHosts *self, const char *sink_host, const char *hostname,
                            const char *source_host, const char *bind);
/* Two sources (agents on host_a, host_b) bound to bind_a, bind_b would take the same port. */
gboolean relay_topo_binds_overlap(RelayTopoHosts *self, const char *host_a, const char *bind_a,
                                  const char *host_b, const char *bind_b);

#endif
