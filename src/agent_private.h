/* agent_private.h - the agent's fields, shared by agent.c (running) and agent_build.c (configuring). */
#ifndef RELAY_AGENT_PRIVATE_H_INCLUDED
#define RELAY_AGENT_PRIVATE_H_INCLUDED

#include "agent.h"
#include "component.h"

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
  gboolean keep_running; /* a component that cannot start is dropped instead of failing the start */
};

/* Records that a configured component does not run (dropped by configuration, failed to start). */
void relay_agent_add_down(RelayAgent *self, RelayKind kind, const char *name, const char *reason);

#endif
