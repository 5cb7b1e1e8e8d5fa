/* component.h - the component model: a const class descriptor per component type and an instance base.
 *
 * Every source, channel and sink type is one .c file that defines a `const RelayComponentClass` (type name,
 * Flume class name, option table, instance size, lifecycle functions, kind-specific ops) and registers it
 * in registry.c. Instances embed their kind's base struct as first member `super`, which embeds
 * RelayComponent. Lifecycle: new -> configure -> start -> stop -> free; the inline wrappers below enforce
 * the order and make stop/free idempotent. All lifecycle calls run on the main thread. */
#ifndef RELAY_COMPONENT_H_INCLUDED
#define RELAY_COMPONENT_H_INCLUDED

#include "relay.h"
#include "config.h"
#include "options.h"

typedef enum
{
  RELAY_STATE_NEW = 0,
  RELAY_STATE_CONFIGURED,
  RELAY_STATE_STARTED,
  RELAY_STATE_STOPPED,
} RelayComponentState;

struct _RelayComponentClass
{
  RelayKind kind;
  const char *type;        /* alias, matched case-insensitively: "memory", "netcat", "file_roll" */
  const char *flume_class; /* Flume's class name for the same component, also accepted as type */
  const char *description; /* one line, for --help-components */
  const RelayOption *options;
  gsize instance_size;

  /* Optional: checks beyond the option table and reads extra keys. Called after relay_options_apply()
   * succeeded. Return FALSE (after adding to report) to remove the component. */
  gboolean (*configure)(RelayComponent *self, const RelayComponentConfig *cc, RelayConfigReport *report);
  /* Optional: a sub-key outside the option table that configure() reads (e.g. "selector." prefixes);
   * returns TRUE if key is known, so the agent does not report it as unknown. */
  gboolean (*knows_key)(const char *key);
  gboolean (*start)(RelayComponent *self, GError **error); /* optional */
  void (*stop)(RelayComponent *self);                      /* optional */
  void (*free)(RelayComponent *self); /* optional: frees class-specific fields (not option strings) */

  const void *ops; /* RelayChannelOps / RelaySinkOps for channels and sinks; NULL for sources */

  /* Optional, for relayd --check: what start() would find wrong that can be known without starting (a port
   * in use, a directory missing or not writable). FALSE with error saying what and why. */
  gboolean (*check_start)(RelayComponent *self, GError **error);
};

struct _RelayComponent
{
  const RelayComponentClass *klass;
  RelayAgent *agent; /* borrowed; may be NULL in unit tests */
  char *name;
  char *log_prefix; /* "channel:memory:c1" */
  RelayComponentState state;
  gint64 start_time_ms, stop_time_ms; /* wall clock of the last start and stop (0: never): Flume's StartTime,
                                         StopTime */
};

/* Allocates klass->instance_size zeroed bytes, sets option defaults, name and log prefix. */
RelayComponent *relay_component_new(const RelayComponentClass *klass, const char *name);
/* Applies options and calls klass->configure. On FALSE the component must be freed. */
gboolean relay_component_configure(RelayComponent *self, const RelayComponentConfig *cc,
                                   RelayConfigReport *report);
/* Configures from an in-memory list of key, value pairs (NULL-terminated); for tests and tools. Problems are
 * logged as warnings. */
gboolean relay_component_configure_kv(RelayComponent *self, const char *const *kv);
gboolean relay_component_start(RelayComponent *self, GError **error);
void relay_component_stop(RelayComponent *self);
void relay_component_free(RelayComponent *self);

#define RELAY_COMPONENT(p) ((RelayComponent *)(p))

#endif
