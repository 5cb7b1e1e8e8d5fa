/* registry.c - the one table of component classes and sink processor classes.
 *
 * Flume's types are a closed set, so classes are linked in statically and listed here; adding a component
 * is one .c file plus one line below. Lookup accepts the alias case-insensitively (as Flume's type enums)
 * and Flume's fully qualified class name exactly. */
#include "registry.h"

#include <string.h>

extern const RelayComponentClass relay_source_seq_class;
extern const RelayComponentClass relay_source_netcat_class;
extern const RelayComponentClass relay_channel_memory_class;
extern const RelayComponentClass relay_channel_file_class;
extern const RelayComponentClass relay_sink_logger_class;
extern const RelayComponentClass relay_sink_null_class;
extern const RelayComponentClass relay_sink_file_roll_class;
extern const RelayComponentClass relay_source_thrift_class;
extern const RelayComponentClass relay_sink_thrift_class;
extern const RelayComponentClass relay_source_avro_class;
extern const RelayComponentClass relay_sink_avro_class;
/* ---- exec and spooling-directory sources (issue 11) ---- */
extern const RelayComponentClass relay_source_exec_class;
extern const RelayComponentClass relay_source_spooldir_class;
/* ---- taildir source (issue 11) ---- */
extern const RelayComponentClass relay_source_taildir_class;
/* ---- http source (issue 12) ---- */
extern const RelayComponentClass relay_source_http_class;
/* ---- syslog sources (issue 12) ---- */
extern const RelayComponentClass relay_source_syslogtcp_class;
extern const RelayComponentClass relay_source_syslogudp_class;
extern const RelayComponentClass relay_source_multiport_syslogtcp_class;
/* ---- Kafka (issue 18): only when configure found librdkafka ---- */
#ifdef HAVE_RDKAFKA
extern const RelayComponentClass relay_sink_kafka_class;
extern const RelayComponentClass relay_source_kafka_class;
extern const RelayComponentClass relay_channel_kafka_class;
#endif

/* Entries are appended in one block per issue (not reflowed), which keeps merges simple. */
/* clang-format off */
static const RelayComponentClass *const _classes[] = {
  &relay_source_seq_class,     &relay_source_netcat_class, &relay_channel_memory_class,
  &relay_channel_file_class,   &relay_sink_logger_class,   &relay_sink_null_class,
  &relay_sink_file_roll_class, &relay_source_thrift_class, &relay_sink_thrift_class,
  &relay_source_avro_class,    &relay_sink_avro_class,
  /* ---- exec and spooling-directory sources (issue 11) ---- */
  &relay_source_exec_class, &relay_source_spooldir_class,
  /* ---- taildir source (issue 11) ---- */
  &relay_source_taildir_class,
  /* ---- http source (issue 12) ---- */
  &relay_source_http_class,
  /* ---- syslog sources (issue 12) ---- */
  &relay_source_syslogtcp_class, &relay_source_syslogudp_class, &relay_source_multiport_syslogtcp_class,
  /* ---- Kafka (issue 18) ---- */
#ifdef HAVE_RDKAFKA
  &relay_sink_kafka_class,
  &relay_source_kafka_class,
  &relay_channel_kafka_class,
#endif
  NULL,
};
/* clang-format on */

static const RelaySinkProcessorClass *const _processors[] = {
  &relay_sink_processor_default_class,
  &relay_sink_processor_failover_class,
  &relay_sink_processor_load_balance_class,
  NULL,
};

static gboolean
_type_matches(const char *alias, const char *flume_class, const char *type)
{
  return g_ascii_strcasecmp(alias, type) == 0 || (flume_class && strcmp(flume_class, type) == 0);
}

/* ---- plugin classes (issue 17): registered at start by plugin_loader.c, after the built-in ones ---- */
static GPtrArray *_all; /* const RelayComponentClass*: _classes then the plugins', NULL-terminated */

void
relay_registry_add_plugin(const RelayComponentClass *klass)
{
  if (!_all)
    {
      _all = g_ptr_array_new();
      for (guint i = 0; _classes[i]; i++)
        g_ptr_array_add(_all, (gpointer)_classes[i]);
      g_ptr_array_add(_all, NULL);
    }
  g_ptr_array_insert(_all, (gint)_all->len - 1, (gpointer)klass);
}

static const RelayComponentClass *const *
_every_class(void)
{
  return _all ? (const RelayComponentClass *const *)_all->pdata : _classes;
}
/* ---- end of plugin classes ---- */

const RelayComponentClass *
relay_registry_find(RelayKind kind, const char *type)
{
  const RelayComponentClass *const *classes = _every_class(); /* issue 17 */

  for (guint i = 0; type && classes[i]; i++)
    if (classes[i]->kind == kind && _type_matches(classes[i]->type, classes[i]->flume_class, type))
      return classes[i];
  return NULL;
}

const RelaySinkProcessorClass *
relay_registry_find_processor(const char *type)
{
  for (guint i = 0; type && _processors[i]; i++)
    if (_type_matches(_processors[i]->type, _processors[i]->flume_class, type))
      return _processors[i];
  return NULL;
}

const RelayComponentClass *const *
relay_registry_all(void)
{
  return _every_class(); /* issue 17: with the plugins' classes */
}

/* ---- every sink processor class, for --help-components (issue 19) ---- */
const RelaySinkProcessorClass *const *
relay_registry_all_processors(void)
{
  return _processors;
}

/* ---- type lists for messages (issue 19) ---- */

GPtrArray *
relay_registry_type_names(RelayKind kind)
{
  GPtrArray *names = g_ptr_array_new();

  if (kind == RELAY_KIND_SINKGROUP)
    for (guint i = 0; _processors[i]; i++)
      g_ptr_array_add(names, (gpointer)_processors[i]->type);
  const RelayComponentClass *const *classes = _every_class(); /* issue 17 */
  for (guint i = 0; kind != RELAY_KIND_SINKGROUP && classes[i]; i++)
    if (classes[i]->kind == kind)
      g_ptr_array_add(names, (gpointer)classes[i]->type);
  return names;
}

/* ---- components left out of this build (issue 18) ---- */

typedef struct
{
  RelayKind kind;
  const char *type, *flume_class, *reason;
} RelayAbsentClass;

static const RelayAbsentClass _absent[] = {
#ifndef HAVE_RDKAFKA
  { RELAY_KIND_SINK, "kafka", "org.apache.flume.sink.kafka.KafkaSink",
    "relayd was built without librdkafka" },
  { RELAY_KIND_SOURCE, "kafka", "org.apache.flume.source.kafka.KafkaSource",
    "relayd was built without librdkafka" },
  { RELAY_KIND_CHANNEL, "kafka", "org.apache.flume.channel.kafka.KafkaChannel",
    "relayd was built without librdkafka" },
#endif
  { RELAY_KIND_N, NULL, NULL, NULL },
};

const char *
relay_registry_absent_reason(RelayKind kind, const char *type)
{
  for (guint i = 0; type && _absent[i].type; i++)
    if (_absent[i].kind == kind && _type_matches(_absent[i].type, _absent[i].flume_class, type))
      return _absent[i].reason;
  return NULL;
}
