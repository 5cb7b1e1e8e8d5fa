/* agent_private.h - the agent's fields, shared by agent.c (running) and agent_build.c (configuring). */
#ifndef RELAY_AGENT_PRIVATE_H_INCLUDED
#define RELAY_AGENT_PRIVATE_H_INCLUDED

#include "agent.h"
#include "component.h"

typedef struct _RelayAgentReuse RelayAgentReuse; /* agent_reload.c (issue 14) */
typedef struct _RelayReload RelayReload;         /* agent_reload.c (issue 14) */

struct _RelayAgent
{
  char *name;
  GPtrArray *channels;         /* RelayChannel*, owned */
  GPtrArray *sources;          /* RelaySource*, owned; each with its channel processor */
  GPtrArray *sinks;            /* RelaySink*, owned */
  GPtrArray *runners;          /* RelaySinkRunner*, owned; one per standalone sink or sink group */
  GHashTable *channel_by_name; /* name -> RelayChannel* (borrowed from channels) */
  GHashTable *sink_by_name;    /* name -> RelaySink* (borrowed from sinks) */
  GPtrArray *down;             /* RelayAgentDown*, owned: configured components that do not run */
  struct event_base *base;
  gboolean keep_running;  /* a component that cannot start is dropped instead of failing the start */
  RelayAgentReuse *reuse; /* live reload (issue 14): running objects the build takes over, or NULL */
  RelayReload *reloading; /* live reload (issue 14): the switch under way (agent_reload.c), or NULL */
};

/* Records that a configured component does not run (dropped by configuration, failed to start). */
void relay_agent_add_down(RelayAgent *self, RelayKind kind, const char *name, const char *reason);

/* ---- live reload (issue 14, agent_reload.c) ---- */
/* While building for a reload: the running component of kind and name to keep instead of a new one (taken
 * out of the running agent, already linked and started), or NULL to build it. NULL when not reloading. */
RelayComponent *relay_agent_reuse_take(RelayAgent *self, RelayKind kind, const char *name);
/* The same for the runner of sink group `name` (group TRUE) or of the standalone sink `name`. */
RelaySinkRunner *relay_agent_reuse_take_runner(RelayAgent *self, gboolean group, const char *name);

#endif
