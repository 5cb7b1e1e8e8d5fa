/* channel_kafka.c - the Kafka channel (Flume's flume-ng-channels/flume-kafka-channel/.../channel/kafka/
 * KafkaChannel.java): the channel's content is a Kafka topic. A put transaction produces its events to
 * kafka.topic; a take transaction reads them back as a member of the consumer group kafka.consumer.group.id.
 *
 * DESIGN
 *
 * Put. Events stay in the transaction until commit (as Flume's producerRecords). Commit produces one record
 * per event and waits until Kafka acknowledged every one (per kafka.producer.acks, default all) or refused
 * one: only then does it return OK, so a source acknowledges its client only for events Kafka holds. A
 * refused or timed-out record fails the commit (ERROR, "send to Kafka failed"); the caller rolls back and
 * the records of the batch Kafka did accept are duplicated by the client's retry, as in Flume. Commits are
 * serialised (put_lock) so the delivery reports served while waiting belong to that commit. The wait is
 * bounded by librdkafka's message.timeout.ms (relayd's default for this channel: 30 s). Like the file
 * channel's fsync, the wait blocks the committing thread (the source's loop).
 *
 * Record: value = the AvroFlumeEvent datum of the event (headers and body: parseAsFlumeEvent = true, the
 * default, readable by Flume's Kafka channel and source) or the body alone; key = the `key` header;
 * partition = partitionIdHeader's header, else defaultPartitionId, else librdkafka's partitioner.
 *
 * Take. See channel_kafka_take.c: one consumer per channel shared by the taking threads, records of a
 * rolled-back transaction taken again first, offsets committed (synchronously, as Flume's commitSync) when
 * a take transaction commits, and never past a record that some transaction still holds. A restart resumes
 * from the committed offsets: what was taken but not committed is read again (at-least-once).
 *
 * Capacity: Kafka's. The channel has no capacity of its own (ChannelCapacity shows G_MAXINT32, as Flume's
 * channel never refuses a put for room); transactionCapacity (relayd's, default 1000000) bounds what one
 * transaction holds in memory. ChannelSize counts the records fetched and not yet taken.
 *
 * Counters (Flume's KafkaChannelCounter): KafkaEventGetTimer (ms reading records), KafkaEventSendTimer (ms
 * producing and awaiting acknowledgements), KafkaCommitTimer (ms committing offsets), RollbackCount (events
 * of rolled-back take transactions).
 *
 * Threads & locking: puts commit on the sources' thread under put_lock; takes on sink threads (see
 * channel_kafka_take.c for its locks); start/stop/free on the main thread. librdkafka's threads only log
 * and signal that records arrived (the DATA notification). */
#include "channel_kafka_private.h"

#include "component.h"
#include "counters.h"
#include "event.h"
#include "kafka_conf.h"
#include "options.h"

#include <errno.h>
#include <string.h>

#define KAFKA_CHANNEL_POLL_MS 100

/* ---- transactions ---- */

static RelayTxn *
_kafka_begin(RelayChannel *channel)
{
  return (RelayTxn *)g_new0(RelayKafkaTxn, 1);
}

static RelayChannelResult
_kafka_put(RelayTxn *txn, RelayEvent *ev)
{
  RelayKafkaTxn *kt = KAFKA_TXN(txn);

  if (txn->n_takes)
    return RELAY_CHANNEL_ERROR; /* a transaction puts or takes, as Flume's */
  if ((gint64)txn->n_puts >= txn->channel->transaction_capacity)
    return RELAY_CHANNEL_TXN_FULL;
  if (!kt->puts)
    kt->puts = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  g_ptr_array_add(kt->puts, ev);
  return RELAY_CHANNEL_OK;
}

/* Runs in: the committing thread, inside rd_kafka_flush/poll (put_lock held). */
static void
_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
  relay_kafka_delivery_report(&((RelayKafkaChannel *)opaque)->put_delivery, msg);
}

/* Produces ev's record (put_lock held); waits, serving delivery reports, while librdkafka's queue is full.
 * NULL, or why it could not. */
static const char *
_produce(RelayKafkaChannel *self, const RelayEvent *ev)
{
  const void *value = ev->body;
  gsize value_len = ev->body_len;
  gint32 partition;

  if (!relay_kafka_event_partition(ev, self->partition_header, self->default_partition, &partition))
    return "Non integer partition id specified";
  if (self->parse_as_flume_event)
    {
      g_byte_array_set_size(self->scratch, (guint)relay_avro_event_datum_size(ev));
      relay_avro_event_datum_put(self->scratch->data, ev);
      value = self->scratch->data;
      value_len = self->scratch->len;
    }
  const char *key = relay_event_get_header(ev, "key");
  for (;;)
    {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          self->producer, RD_KAFKA_V_RKT(self->producer_topic), RD_KAFKA_V_PARTITION(partition),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE((void *)value, value_len),
          RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
          RD_KAFKA_V_OPAQUE(relay_kafka_delivery_opaque(&self->put_delivery)), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
        {
          self->put_delivery.pending++;
          return NULL;
        }
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
        return rd_kafka_err2str(err);
      rd_kafka_poll(self->producer, KAFKA_CHANNEL_POLL_MS);
    }
}

/* Produces the transaction's events and waits for every acknowledgement. put_lock held. */
static const char *
_send_puts(RelayKafkaChannel *self, GPtrArray *puts)
{
  const char *why = NULL;

  relay_kafka_delivery_begin(&self->put_delivery);
  for (guint i = 0; i < puts->len && !why; i++)
    why = _produce(self, g_ptr_array_index(puts, i));
  /* flush: send at once, without linger.ms, as Flume's producer.flush(); every record ends in a delivery
   * report, an error one after message.timeout.ms at the latest */
  while (self->put_delivery.pending)
    rd_kafka_flush(self->producer, KAFKA_CHANNEL_POLL_MS);
  if (!why && self->put_delivery.failed)
    why = rd_kafka_err2str(self->put_delivery.first_error);
  return why;
}

static RelayChannelResult
_commit_puts(RelayKafkaChannel *self, RelayKafkaTxn *kt)
{
  gint64 started = g_get_monotonic_time();

  relay_mutex_lock(&self->put_lock);
  const char *why = self->producer ? _send_puts(self, kt->puts) : "the channel is not running";
  relay_mutex_unlock(&self->put_lock);
  relay_counter_add_shared(&self->super.counters.kafka_event_send_time_ms,
                           (g_get_monotonic_time() - started) / 1000);
  if (why)
    {
      relay_log_ratelimited(&self->rl_put, RELAY_LOG_WARN, self->super.super.log_prefix,
                            "Commit failed as send to Kafka failed: %s events=%u topic=%s", why,
                            kt->puts->len, self->topic);
      return RELAY_CHANNEL_ERROR;
    }
  g_ptr_array_set_size(kt->puts, 0);
  return RELAY_CHANNEL_OK;
}

static RelayChannelResult
_kafka_commit(RelayTxn *txn)
{
  RelayKafkaTxn *kt = KAFKA_TXN(txn);

  if (kt->puts && kt->puts->len)
    return _commit_puts(KAFKA_CHANNEL(txn->channel), kt);
  if (kt->takes && kt->takes->len)
    relay_kafka_channel_commit_takes(kt);
  return RELAY_CHANNEL_OK;
}

static void
_kafka_rollback(RelayTxn *txn)
{
  RelayKafkaTxn *kt = KAFKA_TXN(txn);

  if (kt->puts)
    g_ptr_array_set_size(kt->puts, 0);
  if (kt->takes && kt->takes->len)
    relay_kafka_channel_rollback_takes(kt);
}

static void
_kafka_free_txn(RelayTxn *txn)
{
  RelayKafkaTxn *kt = KAFKA_TXN(txn);

  if (kt->puts)
    g_ptr_array_unref(kt->puts);
  if (kt->takes)
    g_array_free(kt->takes, TRUE); /* empty: commit or rollback released them */
  g_free(kt);
}

static guint64
_kafka_size(RelayChannel *channel)
{
  return relay_kafka_channel_ready(KAFKA_CHANNEL(channel));
}

/* ---- configuration ---- */

/* Flume's user guide spells kafka.pollTimeout as pollTimeout: either works, kafka.pollTimeout wins. */
static gboolean
_configure_poll_timeout(RelayKafkaChannel *self, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  gint64 value;

  if (!self->poll_timeout_ug || relay_component_config_get(cc, "kafka.pollTimeout"))
    return TRUE;
  if (relay_options_parse_int(self->poll_timeout_ug, &value) && value >= 0 && value <= 60000)
    {
      self->poll_timeout_ms = value;
      return TRUE;
    }
  relay_config_report_add(report, relay_component_config_get(cc, "pollTimeout"), cc->label, "pollTimeout",
                          "'%s' is not a number of milliseconds in 0..60000; channel %s removed",
                          self->poll_timeout_ug, cc->name);
  return FALSE;
}

/* Keys Flume's Kafka channel no longer has (removed with ZooKeeper support in Flume 1.11) or relayd cannot
 * honour: refused, naming the key, instead of being silently ignored. */
static gboolean
_refuse_keys(const RelayComponentConfig *cc, RelayConfigReport *report)
{
  static const char *const refused[] = {
    "migrateZookeeperOffsets",
    "Kafka offsets are not kept in ZooKeeper any more (Flume removed the key too)",
    "zookeeperConnect",
    "Kafka offsets are not kept in ZooKeeper any more (Flume removed the key too)",
    "kafka.producer.transactional.id",
    "Kafka transactions are not supported by relayd's Kafka channel",
    NULL,
  };
  gboolean ok = TRUE;

  for (guint i = 0; refused[i]; i += 2)
    if (relay_component_config_get(cc, refused[i]))
      {
        relay_config_report_add(report, relay_component_config_get(cc, refused[i]), cc->label, refused[i],
                                "%s; channel %s removed", refused[i + 1], cc->name);
        ok = FALSE;
      }
  return ok;
}

static gboolean
_kafka_configure(RelayComponent *component, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  RelayKafkaChannel *self = KAFKA_CHANNEL(component);
  const char *const producer_defaults[]
      = { "acks", self->acks, "message.timeout.ms", self->message_timeout_ms, NULL };
  const char *const consumer_defaults[]
      = { "group.id", self->group_id, "auto.offset.reset", self->auto_offset_reset, NULL };
  const char *const consumer_forced[] = { "enable.auto.commit", "false", NULL };
  gboolean ok = _refuse_keys(cc, report);

  ok = relay_kafka_default_partition(self->default_partition_text, cc, "channel", report,
                                     &self->default_partition)
       && ok;
  ok = _configure_poll_timeout(self, cc, report) && ok;
  self->super.capacity = G_MAXINT32;
  self->super.survives_crash = TRUE; /* what a put committed is in Kafka */
  self->producer_conf
      = relay_kafka_conf_new(cc, self->bootstrap, "kafka.producer.", producer_defaults, NULL, report);
  self->consumer_conf = relay_kafka_conf_new(cc, self->bootstrap, "kafka.consumer.", consumer_defaults,
                                             consumer_forced, report);
  return self->producer_conf && self->consumer_conf && ok;
}

/* ---- lifecycle (main thread) ---- */

static gboolean
_start_producer(RelayKafkaChannel *self, GError **error)
{
  rd_kafka_conf_t *conf = rd_kafka_conf_dup(self->producer_conf);
  rd_kafka_conf_set_opaque(conf, self);
  rd_kafka_conf_set_dr_msg_cb(conf, _dr_cb);
  self->producer = relay_kafka_client_new(RD_KAFKA_PRODUCER, conf, error);
  if (!self->producer)
    return FALSE;
  self->producer_topic = rd_kafka_topic_new(self->producer, self->topic, NULL);
  self->scratch = g_byte_array_new();
  return TRUE;
}

static gboolean
_kafka_start(RelayComponent *component, GError **error)
{
  RelayKafkaChannel *self = KAFKA_CHANNEL(component);

  self->rl_put = (RelayRateLimit)RELAY_RATELIMIT_INIT;
  if (!_start_producer(self, error) || !relay_kafka_channel_consumer_start(self, error))
    return FALSE;
  relay_info(component->log_prefix, "started topic=%s group=%s parseAsFlumeEvent=%s", self->topic,
             self->group_id, self->parse_as_flume_event ? "true" : "false");
  return TRUE;
}

/* After the sources and sinks stopped: every put was committed or rolled back, so nothing is in flight. */
static void
_kafka_stop(RelayComponent *component)
{
  RelayKafkaChannel *self = KAFKA_CHANNEL(component);

  relay_kafka_channel_consumer_stop(self);
  relay_mutex_lock(&self->put_lock);
  if (self->producer)
    {
      rd_kafka_topic_destroy(self->producer_topic);
      rd_kafka_destroy(self->producer);
    }
  self->producer = NULL;
  self->producer_topic = NULL;
  relay_mutex_unlock(&self->put_lock);
}

static void
_kafka_free(RelayComponent *component)
{
  RelayKafkaChannel *self = KAFKA_CHANNEL(component);

  _kafka_stop(component);
  if (self->producer_conf)
    rd_kafka_conf_destroy(self->producer_conf);
  if (self->consumer_conf)
    rd_kafka_conf_destroy(self->consumer_conf);
  if (self->scratch)
    g_byte_array_free(self->scratch, TRUE);
  relay_mutex_clear(&self->put_lock);
  relay_mutex_clear(&self->consume_lock);
  relay_mutex_clear(&self->lock);
  relay_mutex_clear(&self->commit_lock);
}

static const RelayChannelOps _kafka_ops = {
  .begin = _kafka_begin,
  .put = _kafka_put,
  .take = relay_kafka_channel_take,
  .commit = _kafka_commit,
  .rollback = _kafka_rollback,
  .free_txn = _kafka_free_txn,
  .size = _kafka_size,
};

static const RelayOption _kafka_options[] = {
  RELAY_OPT_STRING_ROW("kafka.bootstrap.servers", NULL, RelayKafkaChannel, bootstrap, RELAY_OPTF_REQUIRED,
                       "Kafka brokers to bootstrap from (host:port,host:port)"),
  RELAY_OPT_STRING_ROW("kafka.topic", "flume-channel", RelayKafkaChannel, topic, 0,
                       "the topic holding the channel's events"),
  RELAY_OPT_STRING_ROW("kafka.consumer.group.id", "flume", RelayKafkaChannel, group_id, 0,
                       "consumer group of the takes; its committed offsets say where reading resumes"),
  RELAY_OPT_BOOL_ROW("parseAsFlumeEvent", "true", RelayKafkaChannel, parse_as_flume_event, 0,
                     "records are Avro-serialized Flume events (headers and body), else bodies only"),
  RELAY_OPT_INT_ROW("kafka.pollTimeout", "500", 0, 60000, RelayKafkaChannel, poll_timeout_ms, 0,
                    "ms a take that finds no record ready waits for one (also spelt pollTimeout)"),
  RELAY_OPT_STRING_ROW("pollTimeout", NULL, RelayKafkaChannel, poll_timeout_ug, 0,
                       "Flume's user guide spelling of kafka.pollTimeout"),
  RELAY_OPT_STRING_ROW("partitionIdHeader", NULL, RelayKafkaChannel, partition_header, 0,
                       "header holding the partition number of the event's record"),
  RELAY_OPT_STRING_ROW("defaultPartitionId", NULL, RelayKafkaChannel, default_partition_text, 0,
                       "partition for events without partitionIdHeader (unset: librdkafka's partitioner)"),
  RELAY_OPT_STRING_ROW("kafka.producer.acks", "all", RelayKafkaChannel, acks, 0,
                       "acknowledgements Kafka gives before a put commits (0, 1, all)"),
  RELAY_OPT_STRING_ROW("kafka.producer.message.timeout.ms", "30000", RelayKafkaChannel, message_timeout_ms, 0,
                       "longest wait of a put commit for Kafka's acknowledgements (librdkafka's key)"),
  RELAY_OPT_STRING_ROW("kafka.consumer.auto.offset.reset", "earliest", RelayKafkaChannel, auto_offset_reset,
                       0, "where a group without committed offsets starts reading (earliest, latest)"),
  RELAY_OPT_INT_ROW("transactionCapacity", "1000000", 1, G_MAXINT32, RelayKafkaChannel,
                    super.transaction_capacity, RELAY_OPTF_LENIENT,
                    "relayd's: most events one transaction holds in memory"),
  RELAY_OPTION_END,
};

const RelayComponentClass relay_channel_kafka_class = {
  .kind = RELAY_KIND_CHANNEL,
  .type = "kafka",
  .flume_class = "org.apache.flume.channel.kafka.KafkaChannel",
  .description = "a Kafka topic as the channel (librdkafka): puts produce, takes consume as a group",
  .options = _kafka_options,
  .instance_size = sizeof(RelayKafkaChannel),
  .configure = _kafka_configure,
  .knows_key = relay_kafka_knows_key,
  .start = _kafka_start,
  .stop = _kafka_stop,
  .free = _kafka_free,
  .ops = &_kafka_ops,
};
