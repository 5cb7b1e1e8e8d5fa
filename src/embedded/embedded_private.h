/* embedded_private.h - the embedded agent's fields, shared by its lifecycle (embedded.c), its configuration
 * (embedded_config.c) and its put path (embedded_put.c). */
#ifndef RELAY_EMBEDDED_PRIVATE_H_INCLUDED
#define RELAY_EMBEDDED_PRIVATE_H_INCLUDED

#include "relay.h"
#include "embedded.h"
#include "log.h"
#include "relay_mutex.h"

#include <pthread.h>

typedef enum
{
  RELAY_EMBEDDED_STATE_NEW = 0,
  RELAY_EMBEDDED_STATE_STOPPED, /* configured (Flume: STOPPED after configure) */
  RELAY_EMBEDDED_STATE_STARTED,
} RelayEmbeddedState;

/* Puts in flight, counted per thread group so that puts from different threads do not share a cache line:
 * a thread always uses the slot relay_embedded_gate_enter picked for it. 64 bytes apart. */
#define RELAY_EMBEDDED_GATE_SLOTS 16
typedef struct
{
  gint n; /* atomic */
  char pad[64 - sizeof(gint)];
} RelayEmbeddedGateSlot;

/* What configure() produced from Flume's embedded-agent keys: a relayd agent configuration ("agent.*") and
 * the source's keys (interceptors), each remembering the application's key position. */
typedef struct
{
  RelayProps *agent_props;  /* "agent.channels.channel-<id>.type = memory", ... */
  RelayProps *source_props; /* sub-keys of the source: "channels", "interceptors", "interceptors.i1.type" */
  char *channel_name;       /* "channel-<id>" */
  char *source_name;        /* "source-<id>" */
} RelayEmbeddedConfig;

struct RelayEmbeddedAgent
{
  char *name;
  char *ident; /* name without whitespace, '.' replaced by '_': the internal components' suffix */
  /* This agent's log destination, installed on every thread that works for it; its handler calls log_fn,
   * or is NULL (stderr). */
  RelayLogSink log;
  RelayEmbeddedLogFn log_fn;
  void *log_data;
  /* configure, start, stop and channel_size hold it; puts do not (embedded_put.c: the gate) */
  RelayMutex life_lock;
  gint state;    /* RelayEmbeddedState; changed under life_lock, read atomically */
  gint stopping; /* atomic: stop() began; new puts are refused, waiting puts give up */
  RelayEmbeddedGateSlot gate[RELAY_EMBEDDED_GATE_SLOTS]; /* puts in flight */
  RelayEmbeddedConfig *config;
  RelayAgent *agent;     /* built by configure (and by start after a stop); NULL when stopped */
  RelaySource *source;   /* the embedded source and its channel processor (owned) */
  RelayChannel *channel; /* borrowed from agent */
  gboolean has_interceptors;
  /* Waiting for room in a full channel (embedded_put.c). */
  RelayMutex space_lock;
  RelayCond space_cond;
  gint space_waiters; /* atomic */
  gint space_gen;     /* atomic: bumped by every SPACE notification */
};

/* ---- configuration (embedded_config.c) ---- */
/* Translates entries (const RelayProp*, the application's keys) into a relayd configuration. Problems with
 * the embedded keys themselves (unknown key, missing key, a type not allowed) go to report. */
RelayEmbeddedConfig *relay_embedded_config_new(const char *ident, const RelayProp *const *entries, guint n,
                                               RelayConfigReport *report);
void relay_embedded_config_free(RelayEmbeddedConfig *self);
/* Builds the agent graph and the embedded source from config; NULL when anything was reported (the whole
 * configuration is refused, as Flume's embedded agent does). */
gboolean relay_embedded_build(RelayEmbeddedAgent *self, RelayConfigReport *report);
/* Frees the graph and the source (stops them first). */
void relay_embedded_teardown(RelayEmbeddedAgent *self);

/* ---- put path (embedded_put.c) ---- */
/* After setting stopping: returns once no put is in flight (every later put sees stopping). */
void relay_embedded_gate_wait_idle(RelayEmbeddedAgent *self);
void relay_embedded_space_attach(RelayEmbeddedAgent *self);
void relay_embedded_space_detach(RelayEmbeddedAgent *self);
/* Wakes the puts waiting for room (stop). */
void relay_embedded_space_wake_all(RelayEmbeddedAgent *self);

/* ---- errors (embedded.c) ---- */
RelayEmbeddedStatus relay_embedded_fail(RelayEmbeddedStatus status, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

#endif
