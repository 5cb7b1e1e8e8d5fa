/* kafka_conf.h - librdkafka configurations built from a Flume Kafka component's keys (issue 18).
 *
 * Flume passes every `kafka.producer.*` / `kafka.consumer.*` key to Kafka's Java client. relayd passes them
 * to librdkafka, which speaks the same protocol and knows most of the same property names. A key librdkafka
 * refuses is a configuration problem naming the file, line, component and key, with librdkafka's reason.
 * Java-only keys are translated where the meaning is the same: the serializer/deserializer classes Flume
 * uses by default are accepted (they are what relayd does), `ssl.disableTLSHostnameVerification` (Flume's
 * KafkaSSLUtil) becomes `ssl.endpoint.identification.algorithm=none`.
 *
 * Thread: main (configuration). librdkafka's log lines are forwarded to relayd's log from librdkafka's own
 * threads (relay_log is thread-safe). */
#ifndef RELAY_KAFKA_CONF_H_INCLUDED
#define RELAY_KAFKA_CONF_H_INCLUDED

#include "relay.h"
#include "config.h"
#include "event.h"

#include <librdkafka/rdkafka.h>

/* A new configuration: bootstrap.servers, then defaults (key, value, ..., NULL: Flume's defaults that a
 * configured key may change), then every cc key under prefix ("kafka.producer."), then forced (key, value,
 * ..., NULL: what the component relies on; as in Flume a configured key naming one of them is overridden,
 * with a warning). NULL (problems added to report) if any key is refused. librdkafka's
 * log lines go to relayd's log under the prefix of the component set as the configuration's opaque
 * (rd_kafka_conf_set_opaque: the RelayComponent, which every Kafka component sets). */
rd_kafka_conf_t *relay_kafka_conf_new(const RelayComponentConfig *cc, const char *bootstrap,
                                      const char *prefix, const char *const *defaults,
                                      const char *const *forced, RelayConfigReport *report);

/* rd_kafka_new() of a producer or consumer from conf (a copy the caller set its opaque and callbacks on;
 * taken in every case). NULL with error set when librdkafka refuses it. */
rd_kafka_t *relay_kafka_client_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, GError **error);

/* defaultPartitionId of a producing component (sink or channel, named by kind): RD_KAFKA_PARTITION_UA when
 * text is NULL; FALSE (reported) when it is not a partition number. */
gboolean relay_kafka_default_partition(const char *text, const RelayComponentConfig *cc, const char *kind,
                                       RelayConfigReport *report, gint32 *out);

/* The partition of ev's record: the number in its header `header` (when header is set and ev has it), else
 * default_partition. FALSE when that header's value is not a partition number. */
gboolean relay_kafka_event_partition(const RelayEvent *ev, const char *header, gint32 default_partition,
                                     gint32 *out);

/* The delivery reports of one batch a producing component has in flight (generations tell batches apart). */
typedef struct
{
  guint64 generation; /* of the batch in flight: reports of older batches are ignored */
  guint pending;      /* records produced without a report yet */
  guint failed;       /* records Kafka refused */
  rd_kafka_resp_err_t first_error;
} RelayKafkaDelivery;

/* A new batch; its records are produced with relay_kafka_delivery_opaque() and counted in pending. */
void relay_kafka_delivery_begin(RelayKafkaDelivery *d);
void *relay_kafka_delivery_opaque(const RelayKafkaDelivery *d);
/* From the delivery report callback. */
void relay_kafka_delivery_report(RelayKafkaDelivery *d, const rd_kafka_message_t *msg);

/* TRUE for keys the Kafka components read outside their option tables (prefix "kafka.producer.",
 * "kafka.consumer.", "header."). */
gboolean relay_kafka_knows_key(const char *key);

/* One `header.FLUME = KAFKA` key: the Flume event header FLUME travels as the Kafka record header KAFKA
 * (sink) or comes from it (source). */
typedef struct
{
  char *flume; /* Flume header name */
  char *kafka; /* Kafka record header name */
} KafkaHeaderMap;

/* A new array of KafkaHeaderMap from cc's `header.*` keys; NULL (every problem added to report, naming the
 * component as `kind NAME removed`) if one lacks either name. Free with relay_kafka_header_map_free. */
GArray *relay_kafka_header_map_new(const RelayComponentConfig *cc, const char *kind,
                                   RelayConfigReport *report);
void relay_kafka_header_map_free(GArray *map);

#endif
