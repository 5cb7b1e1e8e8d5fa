/* channel_kafka_private.h - the Kafka channel's state, shared by channel_kafka.c (component, puts) and
 * channel_kafka_take.c (the consumer: takes, offset commits, rollbacks, rebalances). See channel_kafka.c for
 * the design. */
#ifndef RELAY_CHANNEL_KAFKA_PRIVATE_H_INCLUDED
#define RELAY_CHANNEL_KAFKA_PRIVATE_H_INCLUDED

#include "channel.h"
#include "avro_proto.h"
#include "log.h"
#include "relay_mutex.h"
#include "kafka_conf.h"
#include "kafka_offsets.h"

#include <librdkafka/rdkafka.h>

typedef struct
{
  RelayChannel super;
  /* options */
  char *bootstrap;
  char *topic;
  char *group_id;
  gboolean parse_as_flume_event;
  gint64 poll_timeout_ms;
  char *poll_timeout_ug; /* Flume's user guide spelling `pollTimeout`, read when kafka.pollTimeout is unset */
  char *partition_header;
  char *default_partition_text;
  char *acks;
  char *auto_offset_reset;
  char *message_timeout_ms;
  /* from configure */
  gint32 default_partition; /* RD_KAFKA_PARTITION_UA when unset */
  rd_kafka_conf_t *producer_conf, *consumer_conf;

  /* ---- producer: put commits, one at a time (put_lock) ---- */
  RelayMutex put_lock;
  rd_kafka_t *producer;
  rd_kafka_topic_t *producer_topic;
  GByteArray *scratch;             /* Avro datum of one event */
  RelayKafkaDelivery put_delivery; /* of the commit in flight */
  RelayRateLimit rl_put;

  /* ---- consumer (channel_kafka_take.c) ---- */
  RelayMutex consume_lock; /* reading from the consumer + recording the runs, in offset order */
  RelayMutex lock;         /* offsets */
  RelayMutex
      commit_lock; /* offset commits, one at a time, so a lower offset never lands after a higher one */
  rd_kafka_t *consumer;
  rd_kafka_queue_t *queue;
  KafkaOffsets *offsets; /* runs per partition and the retry list (kafka_offsets.h) */
  RelayAvroDecoder *decoder;
  RelayRateLimit rl_record, rl_commit;
} RelayKafkaChannel;

typedef struct
{
  RelayTxn super;
  GPtrArray *puts; /* RelayEvent*, the channel's references */
  GArray *takes;   /* KafkaTaken, item = RelayEvent* (the channel's reference) */
} RelayKafkaTxn;

#define KAFKA_CHANNEL(p) ((RelayKafkaChannel *)(p))
#define KAFKA_TXN(p) ((RelayKafkaTxn *)(p))

/* ---- channel_kafka_take.c (sink threads; start/stop on the main thread) ---- */
/* Creates the consumer from consumer_conf and subscribes to the topic. */
gboolean relay_kafka_channel_consumer_start(RelayKafkaChannel *self, GError **error);
/* Leaves the group (uncommitted records are read again by the next owner) and frees what was taken. */
void relay_kafka_channel_consumer_stop(RelayKafkaChannel *self);
guint relay_kafka_channel_take(RelayTxn *txn, RelayEvent **out, guint max);
void relay_kafka_channel_commit_takes(RelayKafkaTxn *kt);
void relay_kafka_channel_rollback_takes(RelayKafkaTxn *kt);
/* Records fetched and not yet taken, plus rolled-back ones. */
guint64 relay_kafka_channel_ready(RelayKafkaChannel *self);

#endif
