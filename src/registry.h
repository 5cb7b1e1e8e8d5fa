/* registry.h - the table of every component class and sink processor class relayd knows. */
#ifndef RELAY_REGISTRY_H_INCLUDED
#define RELAY_REGISTRY_H_INCLUDED

#include "relay.h"
#include "component.h"
#include "sink_processor.h"

/* The class for a configured type: the alias (case-insensitive) or Flume's class name (exact). NULL if
 * unknown. */
const RelayComponentClass *relay_registry_find(RelayKind kind, const char *type);
const RelaySinkProcessorClass *relay_registry_find_processor(const char *type);
/* NULL-terminated array of all component classes. */
const RelayComponentClass *const *relay_registry_all(void);
/* ---- NULL-terminated array of all sink processor classes (issue 19, --help-components) ---- */
const RelaySinkProcessorClass *const *relay_registry_all_processors(void);
/* The type aliases of kind (RELAY_KIND_SINKGROUP: the sink processors), in registry order, for messages.
 * Borrowed strings; free the array with g_ptr_array_unref. */
GPtrArray *relay_registry_type_names(RelayKind kind);
/* ---- plugins (issue 17): adds a class a plugin registered (kept for the life of the process). Main
 * thread, before the configuration is built. ---- */
void relay_registry_add_plugin(const RelayComponentClass *klass);
/* ---- components left out of this build (issue 18: Kafka without librdkafka) ---- */
/* Why type is not available in this build ("relayd was built without librdkafka"), or NULL when the type is
 * simply unknown. Static string. */
const char *relay_registry_absent_reason(RelayKind kind, const char *type);

#endif
