/* channel_kafka_take.c - the Kafka channel's take side: one consumer per channel in group
 * kafka.consumer.group.id reads kafka.topic, and take transactions commit the offsets of what they took.
 *
 * Takes. A take first returns records of rolled-back transactions (the retry list, in their order), then
 * reads what librdkafka has fetched, without waiting, except that the first take of a transaction that
 * finds nothing at all waits up to kafka.pollTimeout for one record (Flume's poll(pollTimeout)). Sink
 * runners need not poll: librdkafka signals the DATA notification when records arrive in an empty queue
 * (rd_kafka_queue_cb_event_enable), and a rollback signals it too.
 *
 * Offsets. Unlike Flume (one consumer per taking thread, each committing all it read), several threads
 * share the consumer, so a commit must not move a partition's offset past a record that another open
 * transaction, or the retry list, still holds: kafka_offsets.h keeps the runs of records per partition
 * (reads are serialised by consume_lock, so runs queue in offset order) and says which offset a take
 * commit may commit; it is committed synchronously (rd_kafka_commit, as Flume's commitSync) under
 * commit_lock, so commits land in order. A failed offset commit is logged and
 * only means duplicates after a restart, as in Flume. A record that cannot be decoded with
 * parseAsFlumeEvent is skipped (logged, counted as a take error) and its offset committed with its run.
 *
 * Rebalances (served inside the consumer calls, on a taking thread): assigned partitions get fresh runs
 * on their first record; revoked partitions leave the table, their records in the retry list are dropped
 * (the new owner reads them from the committed offset) and their runs' commits are skipped; duplicates are
 * bounded by the transactions open at the rebalance.
 *
 * Threads & locking: take/commit/rollback run on the sink threads. Lock order: consume_lock -> lock and
 * commit_lock -> lock; no librdkafka call blocks while `lock` is held. The queue callback runs on a
 * librdkafka thread and only sends the DATA notification. */
#include "channel_kafka_private.h"

#include "counters.h"
#include "event.h"
#include "kafka_conf.h"

#include <string.h>

#define KAFKA_TAKE_CHUNK 256

/* ---- records to events ---- */

/* parseAsFlumeEvent: the event the record holds, with the record key as header `key`; NULL when the value
 * is not an AvroFlumeEvent. */
static RelayEvent *
_flume_event(RelayKafkaChannel *self, const rd_kafka_message_t *rkm)
{
  RelayAvroError err;
  RelayEvent *ev
      = relay_avro_event_datum_decode(self->decoder, rkm->payload, rkm->payload ? rkm->len : 0, &err);

  if (!ev)
    {
      char why[128];
      relay_log_ratelimited(&self->rl_record, RELAY_LOG_WARN, self->super.super.log_prefix,
                            "record skipped: not a Flume event (is parseAsFlumeEvent right?) partition=%d "
                            "offset=%" G_GINT64_FORMAT " (%s)",
                            rkm->partition, (gint64)rkm->offset,
                            relay_avro_error_format(&err, why, sizeof why));
      return NULL;
    }
  const char *key = relay_event_get_header(ev, "key");
  if (!rkm->key || (key && strlen(key) == rkm->key_len && memcmp(key, rkm->key, rkm->key_len) == 0))
    return ev;
  /* the record key wins (Flume puts it into the headers after decoding) */
  g_autoptr(GArray) headers = g_array_new(FALSE, FALSE, sizeof(RelayHeader));
  RelayHeader k = { "key", rkm->key, 3, (guint32)rkm->key_len };
  g_array_append_val(headers, k);
  for (guint i = 0; i < ev->n_headers; i++)
    if (strcmp(ev->headers[i].key, "key") != 0)
      g_array_append_val(headers, ev->headers[i]);
  RelayEvent *out = relay_event_new((const RelayHeader *)headers->data, headers->len, ev->body, ev->body_len);
  relay_event_unref(ev);
  return out;
}

static RelayEvent *
_record_event(RelayKafkaChannel *self, const rd_kafka_message_t *rkm)
{
  if (self->parse_as_flume_event)
    return _flume_event(self, rkm);
  RelayHeader key = { "key", rkm->key, 3, (guint32)rkm->key_len };
  return relay_event_new(&key, rkm->key && !memchr(rkm->key, '\0', rkm->key_len) ? 1 : 0, rkm->payload,
                         rkm->payload ? rkm->len : 0);
}

/* ---- reading (consume_lock held) ---- */

/* Adds the read records to the transaction as runs (lock taken here). Returns how many events were added. */
static guint
_add_records(RelayKafkaChannel *self, RelayKafkaTxn *kt, rd_kafka_message_t **msgs, guint n, RelayEvent **out)
{
  KafkaRun *run = NULL;
  guint added = 0;

  relay_mutex_lock(&self->lock);
  for (guint i = 0; i < n; i++)
    {
      const rd_kafka_message_t *rkm = msgs[i];
      if (rkm->err)
        {
          if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            relay_log_ratelimited(&self->rl_record, RELAY_LOG_WARN, self->super.super.log_prefix,
                                  "consumer error: %s", rd_kafka_message_errstr(rkm));
          continue;
        }
      run = kafka_offsets_read(self->offsets, run, rkm->partition, rkm->offset);
      RelayEvent *ev = _record_event(self, rkm);
      if (!ev)
        {
          relay_counter_add_shared(&self->super.counters.take_errors, 1);
          continue; /* not pending: committed with its run */
        }
      kafka_offsets_hold(run);
      KafkaTaken taken = { ev, run };
      g_array_append_val(kt->takes, taken);
      out[added++] = ev;
    }
  /* a run whose records were all skipped is popped by the next commit in its partition */
  relay_mutex_unlock(&self->lock);
  return added;
}

/* Reads up to max records; waits up to wait_ms for the first. */
static guint
_read(RelayKafkaChannel *self, RelayKafkaTxn *kt, RelayEvent **out, guint max, gint64 wait_ms)
{
  rd_kafka_message_t *msgs[KAFKA_TAKE_CHUNK];
  guint got = 0;
  gint64 started = g_get_monotonic_time();

  relay_mutex_lock(&self->consume_lock);
  if (wait_ms > 0 && self->queue)
    {
      msgs[0] = rd_kafka_consume_queue(self->queue, (int)wait_ms);
      if (msgs[0])
        {
          got += _add_records(self, kt, msgs, 1, out);
          rd_kafka_message_destroy(msgs[0]);
        }
    }
  while (got < max && self->queue)
    {
      ssize_t n = rd_kafka_consume_batch_queue(self->queue, 0, msgs, MIN(max - got, KAFKA_TAKE_CHUNK));
      if (n <= 0)
        break;
      got += _add_records(self, kt, msgs, (guint)n, out + got);
      for (ssize_t i = 0; i < n; i++)
        rd_kafka_message_destroy(msgs[i]);
    }
  relay_mutex_unlock(&self->consume_lock);
  relay_counter_add_shared(&self->super.counters.kafka_event_get_time_ms,
                           (g_get_monotonic_time() - started) / 1000);
  return got;
}

/* Moves up to max records of the retry list into the transaction. */
static guint
_take_retry(RelayKafkaChannel *self, RelayKafkaTxn *kt, RelayEvent **out, guint max)
{
  guint first = kt->takes->len;

  relay_mutex_lock(&self->lock);
  guint n = self->offsets ? kafka_offsets_retry_take(self->offsets, kt->takes, max) : 0;
  relay_mutex_unlock(&self->lock);
  for (guint i = 0; i < n; i++)
    out[i] = g_array_index(kt->takes, KafkaTaken, first + i).item;
  return n;
}

guint
relay_kafka_channel_take(RelayTxn *txn, RelayEvent **out, guint max)
{
  RelayKafkaChannel *self = KAFKA_CHANNEL(txn->channel);
  RelayKafkaTxn *kt = KAFKA_TXN(txn);
  gint64 room = txn->channel->transaction_capacity - (gint64)txn->n_takes;

  if (txn->n_puts || room <= 0)
    return 0;
  max = (guint)MIN((gint64)max, room);
  if (!kt->takes)
    kt->takes = g_array_sized_new(FALSE, FALSE, sizeof(KafkaTaken), max);
  guint n = _take_retry(self, kt, out, max);
  if (n < max)
    n += _read(self, kt, out + n, max - n, txn->n_takes == 0 && n == 0 ? self->poll_timeout_ms : 0);
  return n;
}

/* ---- commit and rollback (sink threads) ---- */

static void
_commit_offsets(RelayKafkaChannel *self, rd_kafka_topic_partition_list_t *list)
{
  gint64 started = g_get_monotonic_time();
  rd_kafka_resp_err_t err
      = self->consumer ? rd_kafka_commit(self->consumer, list, 0) : RD_KAFKA_RESP_ERR__STATE;

  relay_counter_add_shared(&self->super.counters.kafka_commit_time_ms,
                           (g_get_monotonic_time() - started) / 1000);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
    relay_log_ratelimited(&self->rl_commit, RELAY_LOG_WARN, self->super.super.log_prefix,
                          "offset commit failed (the records will be read again after a restart): %s",
                          rd_kafka_err2str(err));
}

void
relay_kafka_channel_commit_takes(RelayKafkaTxn *kt)
{
  RelayKafkaChannel *self = KAFKA_CHANNEL(kt->super.channel);
  rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(8);

  relay_mutex_lock(&self->commit_lock);
  relay_mutex_lock(&self->lock);
  for (guint i = 0; i < kt->takes->len; i++)
    {
      gint32 partition;
      gint64 offset;
      if (!kafka_offsets_done(g_array_index(kt->takes, KafkaTaken, i).run, &partition, &offset))
        continue;
      rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(list, self->topic, partition);
      if (!tp)
        tp = rd_kafka_topic_partition_list_add(list, self->topic, partition);
      tp->offset = offset;
    }
  relay_mutex_unlock(&self->lock);
  if (list->cnt)
    _commit_offsets(self, list);
  relay_mutex_unlock(&self->commit_lock);
  rd_kafka_topic_partition_list_destroy(list);
  for (guint i = 0; i < kt->takes->len; i++)
    relay_event_unref(g_array_index(kt->takes, KafkaTaken, i).item);
  g_array_set_size(kt->takes, 0);
}

void
relay_kafka_channel_rollback_takes(RelayKafkaTxn *kt)
{
  RelayKafkaChannel *self = KAFKA_CHANNEL(kt->super.channel);
  guint n = kt->takes->len;

  relay_mutex_lock(&self->lock);
  kafka_offsets_rollback(self->offsets, (const KafkaTaken *)kt->takes->data, n);
  relay_mutex_unlock(&self->lock);
  g_array_set_size(kt->takes, 0);
  relay_counter_add_shared(&self->super.counters.rollback_count, n);
  relay_channel_notify(&self->super, RELAY_CHANNEL_NOTIFY_DATA);
}

guint64
relay_kafka_channel_ready(RelayKafkaChannel *self)
{
  relay_mutex_lock(&self->lock);
  guint64 n = self->offsets ? kafka_offsets_retry_len(self->offsets) : 0;
  relay_mutex_unlock(&self->lock);
  rd_kafka_queue_t *queue = __atomic_load_n(&self->queue, __ATOMIC_ACQUIRE);
  return n + (queue ? rd_kafka_queue_length(queue) : 0);
}

/* ---- rebalances (a taking thread, inside a consumer call; consume_lock held) ---- */

static void
_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts, void *opaque)
{
  RelayKafkaChannel *self = opaque;
  gboolean cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  gboolean assign = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;

  relay_info(self->super.super.log_prefix, "rebalance: partitions %s count=%d",
             assign ? "assigned" : "revoked", parts->cnt);
  if (!assign)
    {
      relay_mutex_lock(&self->lock);
      for (int i = 0; i < parts->cnt; i++)
        kafka_offsets_revoke(self->offsets, parts->elems[i].partition);
      relay_mutex_unlock(&self->lock);
    }
  if (cooperative)
    rd_kafka_error_destroy(assign ? rd_kafka_incremental_assign(rk, parts)
                                  : rd_kafka_incremental_unassign(rk, parts));
  else
    rd_kafka_assign(rk, assign ? parts : NULL);
}

/* Runs in: a librdkafka thread, when the consumer queue becomes non-empty. */
static void
_on_queue_event(rd_kafka_t *rk, void *opaque)
{
  relay_channel_notify(opaque, RELAY_CHANNEL_NOTIFY_DATA);
}

/* ---- lifecycle (main thread) ---- */

gboolean
relay_kafka_channel_consumer_start(RelayKafkaChannel *self, GError **error)
{
  rd_kafka_conf_t *conf = rd_kafka_conf_dup(self->consumer_conf);
  rd_kafka_conf_set_opaque(conf, self);
  rd_kafka_conf_set_rebalance_cb(conf, _rebalance_cb);
  self->consumer = relay_kafka_client_new(RD_KAFKA_CONSUMER, conf, error);
  if (!self->consumer)
    return FALSE;
  self->offsets = kafka_offsets_new((GDestroyNotify)relay_event_unref);
  RelayAvroLimits limits;
  relay_avro_limits_init(&limits);
  self->decoder = relay_avro_decoder_new(&limits);
  self->rl_record = (RelayRateLimit)RELAY_RATELIMIT_INIT;
  self->rl_commit = (RelayRateLimit)RELAY_RATELIMIT_INIT;
  rd_kafka_poll_set_consumer(self->consumer);
  rd_kafka_queue_t *queue = rd_kafka_queue_get_consumer(self->consumer);
  rd_kafka_queue_cb_event_enable(queue, _on_queue_event, self);
  __atomic_store_n(&self->queue, queue, __ATOMIC_RELEASE);
  rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, self->topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(self->consumer, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "subscribe to %s: %s", self->topic,
                  rd_kafka_err2str(err));
      return FALSE;
    }
  return TRUE;
}

void
relay_kafka_channel_consumer_stop(RelayKafkaChannel *self)
{
  rd_kafka_queue_t *queue = __atomic_exchange_n(&self->queue, NULL, __ATOMIC_ACQ_REL);

  if (queue)
    {
      rd_kafka_queue_cb_event_enable(queue, NULL, NULL);
      rd_kafka_queue_destroy(queue);
    }
  if (self->consumer)
    {
      relay_mutex_lock(&self->consume_lock);
      rd_kafka_consumer_close(self->consumer); /* serves the revocation: _rebalance_cb */
      relay_mutex_unlock(&self->consume_lock);
      rd_kafka_destroy(self->consumer);
      self->consumer = NULL;
    }
  g_clear_pointer(&self->offsets, kafka_offsets_free);
  g_clear_pointer(&self->decoder, relay_avro_decoder_free);
}
