/* kafka_conf.c - librdkafka configurations from Flume's kafka.producer.* / kafka.consumer.* keys (issue 18).
 * See kafka_conf.h. */
#include "kafka_conf.h"

#include "component.h"
#include "log.h"
#include "options.h"

#include <string.h>

/* The (de)serializer classes Flume's Kafka components set by default: relayd sends and reads keys as UTF-8
 * strings and values as bytes, which is what these do. Any other class cannot run without a JVM. */
static const char *const _java_classes[] = {
  "key.serializer",
  "org.apache.kafka.common.serialization.StringSerializer",
  "value.serializer",
  "org.apache.kafka.common.serialization.ByteArraySerializer",
  "key.deserializer",
  "org.apache.kafka.common.serialization.StringDeserializer",
  "value.deserializer",
  "org.apache.kafka.common.serialization.ByteArrayDeserializer",
  NULL,
};

static void
_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
  const RelayComponent *component = rd_kafka_opaque(rk);
  const char *prefix = component ? component->log_prefix : "kafka";
  /* syslog levels: 0..3 errors, 4 warnings, 5..6 notices and info, 7 debug */
  RelayLogLevel ours = level <= 4 ? RELAY_LOG_WARN : level <= 6 ? RELAY_LOG_INFO : RELAY_LOG_DEBUG;

  relay_log(ours, prefix, "librdkafka %s: %s", fac, buf);
}

/* librdkafka reports each error twice (a log line, then this callback): only fatal errors are logged here. */
static void
_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
  const RelayComponent *component = opaque;

  if (err == RD_KAFKA_RESP_ERR__FATAL)
    relay_error(component ? component->log_prefix : "kafka", "librdkafka fatal error: %s", reason);
}

static gboolean
_set(rd_kafka_conf_t *conf, const char *key, const char *value, char *errstr, gsize size)
{
  return rd_kafka_conf_set(conf, key, value, errstr, size) == RD_KAFKA_CONF_OK;
}

static const char *
_lookup(const char *const *pairs, const char *key)
{
  for (guint i = 0; pairs && pairs[i]; i += 2)
    if (strcmp(pairs[i], key) == 0)
      return pairs[i + 1];
  return NULL;
}

/* One configured key (without prefix); FALSE after reporting it. */
static gboolean
_apply_key(rd_kafka_conf_t *conf, const RelayComponentConfig *cc, const char *full_key, const char *key,
           const char *const *forced, RelayConfigReport *report)
{
  const RelayProp *where = relay_component_config_get(cc, full_key);
  const char *value = relay_component_config_value(cc, full_key);
  const char *java = _lookup(_java_classes, key);
  char errstr[512];

  if (java)
    {
      if (strcmp(java, value) == 0)
        return TRUE;
      relay_config_report_add(
          report, where, cc->label, full_key,
          "'%s' is not supported: relayd reads and writes Kafka keys as UTF-8 strings and "
          "values as bytes (%s); %s %s removed",
          value, java, relay_kind_name(cc->kind), cc->name);
      return FALSE;
    }
  if (_lookup(forced, key))
    {
      /* as Flume, which overrides these silently; relayd says so */
      relay_warn(cc->label, "%s: ignored, %s needs %s=%s", full_key, relay_kind_name(cc->kind), key,
                 _lookup(forced, key));
      return TRUE;
    }
  if (strcmp(key, "ssl.disableTLSHostnameVerification") == 0)
    {
      if (g_ascii_strcasecmp(value, "true") != 0)
        return TRUE;
      key = "ssl.endpoint.identification.algorithm";
      value = "none";
    }
  if (_set(conf, key, value, errstr, sizeof errstr))
    return TRUE;
  relay_config_report_add(report, where, cc->label, full_key, "refused by librdkafka: %s; %s %s removed",
                          errstr, relay_kind_name(cc->kind), cc->name);
  return FALSE;
}

rd_kafka_conf_t *
relay_kafka_conf_new(const RelayComponentConfig *cc, const char *bootstrap, const char *prefix,
                     const char *const *defaults, const char *const *forced, RelayConfigReport *report)
{
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  GPtrArray *keys = relay_component_config_keys(cc, prefix);
  gboolean ok = TRUE;
  char errstr[512];

  rd_kafka_conf_set_log_cb(conf, _log_cb);
  rd_kafka_conf_set_error_cb(conf, _error_cb);
  if (!_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr))
    {
      relay_config_report_add(report, relay_component_config_get(cc, "kafka.bootstrap.servers"), cc->label,
                              "kafka.bootstrap.servers", "refused by librdkafka: %s; %s %s removed", errstr,
                              relay_kind_name(cc->kind), cc->name);
      ok = FALSE;
    }
  for (guint i = 0; defaults && defaults[i]; i += 2)
    g_assert(_set(conf, defaults[i], defaults[i + 1], errstr, sizeof errstr));
  for (guint i = 0; i < keys->len; i++)
    {
      const char *full_key = g_ptr_array_index(keys, i);
      ok = _apply_key(conf, cc, full_key, full_key + strlen(prefix), forced, report) && ok;
    }
  for (guint i = 0; forced && forced[i]; i += 2)
    g_assert(_set(conf, forced[i], forced[i + 1], errstr, sizeof errstr));
  g_ptr_array_unref(keys);
  if (!ok)
    {
      rd_kafka_conf_destroy(conf);
      return NULL;
    }
  return conf;
}

gboolean
relay_kafka_knows_key(const char *key)
{
  return g_str_has_prefix(key, "kafka.producer.") || g_str_has_prefix(key, "kafka.consumer.")
         || g_str_has_prefix(key, "header.");
}

GArray *
relay_kafka_header_map_new(const RelayComponentConfig *cc, const char *kind, RelayConfigReport *report)
{
  GArray *map = g_array_new(FALSE, FALSE, sizeof(KafkaHeaderMap));
  GPtrArray *keys = relay_component_config_keys(cc, "header.");
  gboolean ok = TRUE;

  for (guint i = 0; i < keys->len; i++)
    {
      const char *key = g_ptr_array_index(keys, i);
      const char *value = relay_component_config_value(cc, key);
      if (!key[strlen("header.")] || !*value)
        {
          relay_config_report_add(report, relay_component_config_get(cc, key), cc->label, key,
                                  "needs a Flume header name after 'header.' and a Kafka header name as "
                                  "value; %s %s removed",
                                  kind, cc->name);
          ok = FALSE;
          continue;
        }
      KafkaHeaderMap m = { g_strdup(key + strlen("header.")), g_strdup(value) };
      g_array_append_val(map, m);
    }
  g_ptr_array_unref(keys);
  if (ok)
    return map;
  relay_kafka_header_map_free(map);
  return NULL;
}

void
relay_kafka_header_map_free(GArray *map)
{
  for (guint i = 0; map && i < map->len; i++)
    {
      KafkaHeaderMap *m = &g_array_index(map, KafkaHeaderMap, i);
      g_free(m->flume);
      g_free(m->kafka);
    }
  if (map)
    g_array_free(map, TRUE);
}

rd_kafka_t *
relay_kafka_client_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, GError **error)
{
  char errstr[512];
  rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);

  if (!rk)
    {
      rd_kafka_conf_destroy(conf); /* rd_kafka_new() took it only on success */
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "librdkafka refused the %s: %s",
                  type == RD_KAFKA_PRODUCER ? "producer" : "consumer", errstr);
    }
  return rk;
}

gboolean
relay_kafka_default_partition(const char *text, const RelayComponentConfig *cc, const char *kind,
                              RelayConfigReport *report, gint32 *out)
{
  gint64 value;

  *out = RD_KAFKA_PARTITION_UA;
  if (!text)
    return TRUE;
  if (relay_options_parse_int(text, &value) && value >= 0 && value <= G_MAXINT32)
    {
      *out = (gint32)value;
      return TRUE;
    }
  relay_config_report_add(report, relay_component_config_get(cc, "defaultPartitionId"), cc->label,
                          "defaultPartitionId", "'%s' is not a partition number; %s %s removed", text, kind,
                          cc->name);
  return FALSE;
}

gboolean
relay_kafka_event_partition(const RelayEvent *ev, const char *header, gint32 default_partition, gint32 *out)
{
  const char *text = header ? relay_event_get_header(ev, header) : NULL;
  gint64 value;

  *out = default_partition;
  if (!text)
    return TRUE;
  if (!relay_options_parse_int(text, &value) || value < 0 || value > G_MAXINT32)
    return FALSE;
  *out = (gint32)value;
  return TRUE;
}

void
relay_kafka_delivery_begin(RelayKafkaDelivery *d)
{
  d->generation++;
  d->pending = d->failed = 0;
}

void *
relay_kafka_delivery_opaque(const RelayKafkaDelivery *d)
{
  return (void *)(guintptr)d->generation;
}

void
relay_kafka_delivery_report(RelayKafkaDelivery *d, const rd_kafka_message_t *msg)
{
  if ((guint64)(guintptr)msg->_private != d->generation || d->pending == 0)
    return;
  d->pending--;
  if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR && d->failed++ == 0)
    d->first_error = msg->err;
}
