/* plugin_private.h - how relayd represents plugin classes and plugin components internally.
 *
 * A registered plugin class becomes a RelayPluginClass: a RelayComponentClass (so the registry, the agent,
 * --check and --help-components treat it like a built-in one) followed by the plugin's own class struct and
 * the translated option table. A plugin component is a RelayPluginSource or RelayPluginSink whose instance
 * block ends with the plugin's configuration struct at klass->config_offset; the option rows' offsets are
 * shifted by that much, so relayd's option code fills the plugin's struct in place. */
#ifndef RELAY_PLUGIN_PRIVATE_H_INCLUDED
#define RELAY_PLUGIN_PRIVATE_H_INCLUDED

#include "relay.h"
#include "component.h"
#include "log.h"
#include "relay_mutex.h"
#include "sink.h"
#include "source.h"
#include "channel_processor.h"
#include "interceptor.h"
#include "tls.h"
#include "relayd/plugin.h"

typedef enum
{
  RELAY_PLUGIN_SOURCE = 0,
  RELAY_PLUGIN_POLLABLE_SOURCE,
  RELAY_PLUGIN_SINK,
  RELAY_PLUGIN_INTERCEPTOR, /* parts of a source (plugin_parts.c): not in the component registry */
  RELAY_PLUGIN_SELECTOR,
} RelayPluginKind;

typedef struct
{
  RelayComponentClass klass; /* first: a RelayComponentClass* is a RelayPluginClass* for plugin classes */
  RelayPluginKind plugin_kind;
  char *file;           /* the library that registered it, for messages */
  RelayOption *options; /* translated table (klass.options), owned */
  gsize config_offset;  /* where the plugin's configuration struct starts in an instance */
  gsize common_offset;  /* offset of the RelayPluginCommon member */
  const RelaydLifecycle *life;
  RelaydSourceClass source; /* copies of the plugin's class struct */
  RelaydSinkClass sink;
  RelaydInterceptorClass interceptor;
  RelaydSelectorClass selector;
  gboolean server; /* a source registered with relayd_register_server_source (plugin_server.c) */
  /* interceptors and selectors: their lifecycle (configure, destroy) and how the channel processor sees
   * them */
  RelaydLifecycle part_life;
  RelayInterceptorType added_interceptor;
  RelaySelectorType added_selector;
} RelayPluginClass;

/* What every plugin component has, whatever its kind. */
typedef struct
{
  gpointer data; /* relayd_component_set_data */
} RelayPluginCommon;

typedef struct
{
  RelaySource super;
  RelayPluginCommon common;
  /* pollable sources (plugin_source.c) */
  gint64 backoff_increment_ms, max_backoff_ms; /* backoffSleepIncrement, maxBackoffSleep */
  GThread *thread;
  RelayMutex lock;
  RelayCond wake;
  gint stopping; /* atomic */
  /* server sources (plugin_server.c): the TLS keys and context */
  RelayTlsOptions tls;
  RelayTls *tls_ctx;
} RelayPluginSource;

typedef struct
{
  RelaySink super;
  RelayPluginCommon common;
} RelayPluginSink;

/* An interceptor or selector instance: a RelayComponent only for names, options and the plugin's data. */
typedef struct
{
  RelayComponent super;
  RelayPluginCommon common;
  GPtrArray *channels; /* selectors: the source's channels (RelayChannel*, borrowed) */
  RelayRateLimit rl;   /* a plugin's broken answers */
} RelayPluginPart;

static inline const RelayPluginClass *
relay_plugin_class(const RelayComponent *self)
{
  return (const RelayPluginClass *)self->klass;
}

static inline RelayPluginCommon *
relay_plugin_common(const RelayComponent *self)
{
  return (RelayPluginCommon *)((char *)self + relay_plugin_class(self)->common_offset);
}

/* The lifecycle glue shared by sources and sinks (plugin_api.c); main thread. */
gboolean relay_plugin_configure(RelayComponent *self, const RelayComponentConfig *cc,
                                RelayConfigReport *report);
gboolean relay_plugin_call_start(RelayComponent *self, GError **error);
void relay_plugin_call_stop(RelayComponent *self);
void relay_plugin_free(RelayComponent *self);

/* Fills the kind-specific parts of a class being registered (plugin_source.c, plugin_sink.c,
 * plugin_parts.c). */
void relay_plugin_source_class_init(RelayPluginClass *pc, gboolean pollable);
void relay_plugin_sink_class_init(RelayPluginClass *pc);
void relay_plugin_part_class_init(RelayPluginClass *pc, RelayPluginKind kind);
/* Server sources (plugin_server.c): adds the TLS rows; builds the TLS context (FALSE after a report line);
 * releases it. */
void relay_plugin_server_class_init(RelayPluginClass *pc);
gboolean relay_plugin_server_configure(RelayComponent *self, const RelayComponentConfig *cc,
                                       RelayConfigReport *report);
void relay_plugin_server_free(RelayComponent *self);
/* Makes an accepted interceptor or selector class usable in configurations (plugin_parts.c). */
void relay_plugin_part_add(RelayPluginClass *pc);
/* "source", "sink", "interceptor", "selector": for messages. */
const char *relay_plugin_kind_name(RelayPluginKind kind);

/* Translates a plugin option table, shifting offsets by config_offset and appending extra (may be NULL);
 * NULL and *why set when a row is invalid. */
RelayOption *relay_plugin_options_translate(const RelaydOption *options, gsize config_size,
                                            gsize config_offset, const RelayOption *extra, char **why);

/* ---- registration (plugin_api.c, used by plugin_loader.c) ---- */
struct RelaydRegistrar
{
  const char *file;
  GPtrArray *classes; /* RelayPluginClass*, registered by this library so far (owned until accepted) */
  GString *problems;  /* why a registration was refused ("" if none) */
};

void relay_plugin_class_free(gpointer pc);
#endif
