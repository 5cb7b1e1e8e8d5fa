/* sink_kafka.c - the Kafka sink (Flume's flume-ng-sinks/flume-ng-kafka-sink/.../sink/kafka/KafkaSink.java):
 * takes up to flumeBatchSize events per transaction and produces one Kafka record per event with librdkafka.
 *
 * Order per batch, as Flume's: channel transaction begin -> take the batch -> produce every record -> wait
 * for every record's delivery report -> channel commit. A record that Kafka did not acknowledge (per acks)
 * rolls its whole batch back and the sink reports FAILED, so the runner waits before the retry (records of
 * the batch that had been acknowledged are sent again). librdkafka retries transient errors itself (leader
 * changes, a broker down) until message.timeout.ms.
 *
 * Unlike Flume, up to maxBatchesInFlight batches (each its own channel transaction) are in flight at once:
 * while Kafka acknowledges one, the next is taken and produced, so the producer's queue never runs dry
 * between batches (Flume's one batch at a time leaves the connection idle for a round trip per batch; kcat
 * and Kafka's own producers stream). Batches end in order: the oldest is committed once all its records
 * are acknowledged, or rolled back. The guarantee is per batch as in Flume: a transaction commits only after
 * every record of it was acknowledged; duplicates after failures are bounded by the batches in flight. A
 * process() call keeps starting batches for up to KAFKA_CALL_MS and returns only after every batch it
 * started has ended (no transaction outlives a call), draining with rd_kafka_flush (no linger.ms wait) once
 * it starts no more.
 *
 * Throughput (scripts/bench kafka, issue 18): what is in flight is what librdkafka can put in one Produce
 * request per partition, so the window is sized in records, not only batches: the default 16 batches of
 * flumeBatchSize 1000 spread over 96 partitions make ~170 records per partition and request, where 4 made
 * ~40 and the sink waited on request round trips. The drain at the end of a call costs one round trip, so a
 * call lasts ~1 s (KAFKA_CALL_MS), not a fixed number of batches: the drain then costs ~1%, and a stop,
 * which waits for the call, stays well within the runner's grace period (5 s at shutdown). linger.ms stays
 * librdkafka's 5 ms (Kafka's own default since 4.0): with 0 every request carries fewer records, which cost
 * more CPU per record when the host is busy; with a full window the linger is hidden.
 *
 * Record: topic = the topicHeader header when allowTopicOverride (else kafka.topic, with %{header}
 * escapes); partition = partitionIdHeader's header, else defaultPartitionId, else librdkafka's partitioner;
 * key = the `key` header; timestamp = timestampHeader's header (ms); Kafka headers copied from Flume headers
 * as header.<flume>=<kafka> says; value = the body, or with useFlumeEventFormat the Avro datum of the whole
 * event (AvroFlumeEvent, as Flume writes it). librdkafka copies each value into its queue
 * (RD_KAFKA_MSG_F_COPY) so a batch can be rolled back at once when the runner aborts, whatever librdkafka
 * still holds. Records for kafka.topic without Kafka headers or timestamp (the common case) are handed to
 * librdkafka in runs with rd_kafka_produce_batch, which takes the topic's lock once per run, not per record
 * (rd_kafka_producev is per record; issue 18 measured the sink's CPU per event).
 *
 * Threads: process() runs on the sink's runner thread, which also serves the delivery reports
 * (rd_kafka_poll); start/stop/free on the main thread. librdkafka's own threads only log. */
#include "avro_proto.h"
#include "channel.h"
#include "component.h"
#include "counters.h"
#include "event.h"
#include "kafka_conf.h"
#include "log.h"
#include "sink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define KAFKA_POLL_MS 100
/* A process() call starts batches for up to this long, then drains (see the first comment). */
#define KAFKA_CALL_MS 1000

/* A batch in flight: its channel transaction, events and delivery reports. */
typedef struct
{
  RelayTxn *txn;
  RelayEvent **events; /* batch_size */
  guint n;
  const char *why; /* why a record could not be produced, or NULL */
  gint64 started;  /* monotonic us */
  RelayKafkaDelivery delivery;
} KafkaBatch;

typedef struct
{
  RelaySink super;
  /* options */
  char *bootstrap;
  char *topic;
  gint64 batch_size;
  gboolean allow_topic_override;
  char *topic_header;
  gboolean flume_event_format;
  char *partition_header;
  char *default_partition_text;
  char *timestamp_header;
  char *acks;
  /* from configure */
  gint32 default_partition; /* RD_KAFKA_PARTITION_UA when unset */
  gboolean topic_escaped;   /* kafka.topic holds %{header} escapes */
  GArray *header_map;       /* KafkaHeaderMap */
  rd_kafka_conf_t *conf;
  /* running (runner thread) */
  rd_kafka_t *rk;
  rd_kafka_topic_t *rkt; /* kafka.topic, when it has no escapes */
  gint64 max_in_flight;
  KafkaBatch *window; /* max_in_flight batches, a ring: oldest at head */
  guint head, in_flight;
  guint64 generation;      /* of the last batch begun; delivery reports name theirs */
  rd_kafka_message_t *run; /* batch_size records waiting for _run_flush */
  guint run_len;
  GByteArray *scratch; /* Avro datum of one event */
  GString *topic_buf;
  RelayRateLimit rl;
} RelaySinkKafka;

/* ---- delivery reports (runner thread, inside rd_kafka_poll) ---- */

static void
_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
  RelaySinkKafka *self = opaque;
  guint64 generation = (guint64)(guintptr)msg->_private;

  /* the batches in flight hold consecutive generations from the oldest (head) on: the record's batch is
   * found at once; a report of a batch that already ended (rolled back) is ignored */
  if (self->in_flight == 0)
    return;
  guint64 offset = generation - self->window[self->head].delivery.generation;
  if (offset < self->in_flight)
    relay_kafka_delivery_report(&self->window[(self->head + offset) % self->max_in_flight].delivery, msg);
}

/* ---- one record ---- */

/* kafka.topic with %{header} replaced by the event's header value (empty when absent). */
static const char *
_expand_topic(RelaySinkKafka *self, const RelayEvent *ev)
{
  GString *out = self->topic_buf;

  g_string_truncate(out, 0);
  for (const char *p = self->topic; *p; p++)
    {
      const char *end = p[0] == '%' && p[1] == '{' ? strchr(p + 2, '}') : NULL;
      if (!end)
        {
          g_string_append_c(out, *p);
          continue;
        }
      char *name = g_strndup(p + 2, (gsize)(end - p - 2));
      const char *value = relay_event_get_header(ev, name);
      g_free(name);
      g_string_append(out, value ? value : "");
      p = end;
    }
  return out->str;
}

static gint64
_timestamp(RelaySinkKafka *self, const RelayEvent *ev)
{
  const char *text = self->timestamp_header ? relay_event_get_header(ev, self->timestamp_header) : NULL;
  char *end = NULL;

  if (!text)
    return 0;
  gint64 value = g_ascii_strtoll(text, &end, 10);
  return end != text && !*end && value > 0 ? value : 0;
}

static rd_kafka_headers_t *
_headers(RelaySinkKafka *self, const RelayEvent *ev)
{
  rd_kafka_headers_t *hdrs = NULL;

  for (guint i = 0; i < self->header_map->len; i++)
    {
      const KafkaHeaderMap *m = &g_array_index(self->header_map, KafkaHeaderMap, i);
      const char *value = relay_event_get_header(ev, m->flume);
      if (!value)
        continue;
      if (!hdrs)
        hdrs = rd_kafka_headers_new(self->header_map->len);
      rd_kafka_header_add(hdrs, m->kafka, -1, value, (ssize_t)strlen(value));
    }
  return hdrs;
}

/* After librdkafka refused a record with err: when its queue was full (and no stop is asked), serves
 * delivery reports for up to KAFKA_POLL_MS so room returns, and answers TRUE: produce again. */
static gboolean
_wait_for_room(RelaySinkKafka *self, rd_kafka_resp_err_t err)
{
  if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || relay_sink_abort_requested(&self->super))
    return FALSE;
  rd_kafka_poll(self->rk, KAFKA_POLL_MS);
  return TRUE;
}

/* Produces one record; waits (serving delivery reports) while librdkafka's queue is full. Takes hdrs. */
static gboolean
_produce_record(RelaySinkKafka *self, RelayKafkaDelivery *delivery, rd_kafka_topic_t *rkt, gint32 partition,
                const void *value, gsize value_len, const char *key, gint64 timestamp,
                rd_kafka_headers_t *hdrs, const char **why)
{
  for (;;)
    {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          self->rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(partition),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE((void *)value, value_len),
          RD_KAFKA_V_KEY(key, key ? strlen(key) : 0), RD_KAFKA_V_TIMESTAMP(timestamp),
          RD_KAFKA_V_OPAQUE(relay_kafka_delivery_opaque(delivery)), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
        {
          delivery->pending++;
          return TRUE; /* hdrs now belong to the record */
        }
      if (!_wait_for_room(self, err))
        {
          if (hdrs)
            rd_kafka_headers_destroy(hdrs);
          *why = rd_kafka_err2str(err);
          return FALSE;
        }
    }
}

/* Produces the records collected in the run with one rd_kafka_produce_batch call (librdkafka takes the
 * topic's lock once, not per record); waits (serving delivery reports) while librdkafka's queue is full and
 * produces what it refused again. Only librdkafka's queue filling up refuses records. When its record count
 * (queue.buffering.max.messages) is the limit, every record after the first refused one is refused too (no
 * report is served meanwhile: this thread serves them), so the order stays; a record refused by the byte
 * limit (queue.buffering.max.kbytes) may follow smaller records of the run that still fitted. */
static gboolean
_run_flush(RelaySinkKafka *self, RelayKafkaDelivery *delivery, const char **why)
{
  rd_kafka_message_t *run = self->run;
  guint len = self->run_len;

  self->run_len = 0;
  while (len > 0)
    {
      rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
      guint left = 0;

      rd_kafka_produce_batch(self->rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY | RD_KAFKA_MSG_F_PARTITION,
                             run, (int)len);
      for (guint i = 0; i < len; i++)
        if (run[i].err != RD_KAFKA_RESP_ERR_NO_ERROR)
          {
            if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
              err = run[i].err;
            run[left++] = run[i];
          }
      delivery->pending += len - left;
      len = left;
      if (len > 0 && !_wait_for_room(self, err))
        {
          *why = rd_kafka_err2str(err);
          return FALSE;
        }
    }
  return TRUE;
}

/* Adds a record for kafka.topic without Kafka headers or timestamp to the run. */
static void
_run_add(RelaySinkKafka *self, RelayKafkaDelivery *delivery, gint32 partition, const RelayEvent *ev,
         const char *key)
{
  self->run[self->run_len++] = (rd_kafka_message_t){
    .partition = partition,
    .payload = (void *)ev->body,
    .len = ev->body_len,
    .key = (void *)key,
    .key_len = key ? strlen(key) : 0,
    ._private = relay_kafka_delivery_opaque(delivery),
  };
}

/* Produces ev: into the run when it has what a run's record can hold (its value stays in the event until
 * the batch ends), else at once after the run. FALSE with why set when the record cannot be produced. */
static gboolean
_produce(RelaySinkKafka *self, RelayKafkaDelivery *delivery, const RelayEvent *ev, const char **why)
{
  const char *topic = NULL;
  gint32 partition;
  const void *value = ev->body;
  gsize value_len = ev->body_len;

  if (self->allow_topic_override)
    topic = relay_event_get_header(ev, self->topic_header);
  if (!topic && self->topic_escaped)
    topic = _expand_topic(self, ev);
  if (!relay_kafka_event_partition(ev, self->partition_header, self->default_partition, &partition))
    {
      *why = "Non integer partition id specified"; /* Flume's words */
      return FALSE;
    }
  if (self->flume_event_format)
    {
      g_byte_array_set_size(self->scratch, (guint)relay_avro_event_datum_size(ev));
      relay_avro_event_datum_put(self->scratch->data, ev);
      value = self->scratch->data;
      value_len = self->scratch->len;
    }
  const char *key = relay_event_get_header(ev, "key");
  rd_kafka_headers_t *hdrs = self->header_map->len ? _headers(self, ev) : NULL;
  gint64 timestamp = _timestamp(self, ev);
  if (!topic && !hdrs && !timestamp && !self->flume_event_format)
    {
      _run_add(self, delivery, partition, ev, key);
      return TRUE;
    }
  if (!_run_flush(self, delivery, why))
    {
      if (hdrs)
        rd_kafka_headers_destroy(hdrs);
      return FALSE;
    }
  /* a topic other than kafka.topic: a handle for this record (librdkafka shares one per topic name) */
  rd_kafka_topic_t *rkt = topic ? rd_kafka_topic_new(self->rk, topic, NULL) : self->rkt;
  if (!rkt)
    {
      if (hdrs)
        rd_kafka_headers_destroy(hdrs);
      *why = "invalid topic name";
      return FALSE;
    }
  gboolean ok = _produce_record(self, delivery, rkt, partition, value, value_len, key, timestamp, hdrs, why);
  if (topic)
    rd_kafka_topic_destroy(rkt);
  return ok;
}

/* ---- batches (runner thread) ---- */

/* Begins a batch at the window's tail: takes it and produces its records. Returns its size (0: nothing
 * taken, the transaction is closed and no batch is in flight for it). */
static guint
_batch_begin(RelaySinkKafka *self)
{
  RelaySink *sink = &self->super;
  KafkaBatch *b = &self->window[(self->head + self->in_flight) % self->max_in_flight];

  b->txn = relay_channel_begin(sink->channel);
  b->n = relay_txn_take(b->txn, b->events, (guint)self->batch_size);
  if (b->n == 0)
    {
      relay_txn_commit(b->txn);
      relay_txn_close(b->txn);
      relay_counter_inc(&sink->counters.batch_empty);
      return 0;
    }
  b->why = NULL;
  b->started = g_get_monotonic_time();
  b->delivery.generation = ++self->generation;
  b->delivery.pending = b->delivery.failed = 0;
  self->in_flight++;
  relay_counter_add(&sink->counters.event_drain_attempt, b->n);
  for (guint i = 0; i < b->n && !b->why; i++)
    _produce(self, &b->delivery, b->events[i], &b->why);
  if (!b->why)
    _run_flush(self, &b->delivery, &b->why);
  self->run_len = 0; /* a record that could not be produced ends the batch: its run is dropped */
  return b->n;
}

/* Waits until Kafka acknowledged or refused every record of the oldest batch (or the runner aborts).
 * drain: no batch follows, so the records are sent at once (rd_kafka_flush) instead of after linger.ms. */
static void
_batch_wait(RelaySinkKafka *self, gboolean drain)
{
  KafkaBatch *b = &self->window[self->head];

  while (b->delivery.pending && !relay_sink_abort_requested(&self->super))
    {
      if (drain)
        rd_kafka_flush(self->rk, KAFKA_POLL_MS);
      else
        rd_kafka_poll(self->rk, KAFKA_POLL_MS);
    }
}

/* Ends the oldest batch: commit when Kafka acknowledged every record, else rollback. FALSE when it failed. */
static gboolean
_batch_end(RelaySinkKafka *self)
{
  RelaySink *sink = &self->super;
  KafkaBatch *b = &self->window[self->head];
  const char *why = b->why;

  self->head = (self->head + 1) % self->max_in_flight;
  self->in_flight--;
  relay_counter_add(&sink->counters.kafka_event_send_time_ms, (g_get_monotonic_time() - b->started) / 1000);
  if (!why && b->delivery.failed)
    why = rd_kafka_err2str(b->delivery.first_error);
  if (!why && b->delivery.pending)
    why = "stopping before Kafka acknowledged every record";
  b->delivery.generation = 0; /* late reports of a rolled-back batch are ignored */
  guint64 bytes = 0;          /* what Kafka acknowledged, counted before the commit lets the events go */
  for (guint i = 0; i < b->n && !why; i++)
    bytes += b->events[i]->body_len;
  RelayChannelResult result = why ? RELAY_CHANNEL_OK : relay_txn_commit(b->txn);
  if (!why && result == RELAY_CHANNEL_OK)
    {
      relay_txn_close(b->txn);
      relay_counter_add(&sink->counters.event_drain_success, b->n);
      relay_counter_add(&sink->counters.bytes_sent, bytes);
      if (b->n < self->batch_size)
        relay_counter_inc(&sink->counters.batch_underflow);
      else
        relay_counter_inc(&sink->counters.batch_complete);
      return TRUE;
    }
  relay_txn_rollback(b->txn);
  relay_txn_close(b->txn);
  relay_counter_inc(&sink->counters.rollback_count);
  if (why)
    {
      relay_counter_inc(&sink->counters.event_write_fail);
      relay_log_ratelimited(&self->rl, RELAY_LOG_WARN, sink->super.log_prefix,
                            "batch of %u events not delivered to Kafka, rolled back: %s", b->n, why);
    }
  else
    {
      relay_counter_inc(&sink->counters.channel_read_fail);
      relay_warn(sink->super.log_prefix, "take commit failed, rolled back result=%s",
                 relay_channel_result_name(result));
    }
  return FALSE;
}

static RelaySinkStatus
_kafka_process(RelaySink *sink)
{
  RelaySinkKafka *self = (RelaySinkKafka *)sink;
  gboolean more = TRUE, failed = FALSE, timed_out = FALSE;
  gint64 deadline = g_get_monotonic_time() + KAFKA_CALL_MS * G_TIME_SPAN_MILLISECOND;

  for (;;)
    {
      while (more && self->in_flight < self->max_in_flight)
        {
          guint n = _batch_begin(self);
          KafkaBatch *last
              = &self->window[(self->head + self->in_flight + self->max_in_flight - 1) % self->max_in_flight];
          timed_out = n == self->batch_size && g_get_monotonic_time() >= deadline;
          /* no more after a short batch, a record that could not be produced, the call's time, or shutdown */
          more = n == self->batch_size && !last->why && !timed_out && !relay_sink_abort_requested(sink);
        }
      if (self->in_flight == 0)
        break;
      _batch_wait(self, !more);
      failed = !_batch_end(self) || failed;
      more = more && !failed;
    }
  if (failed)
    return RELAY_SINK_FAILED;
  return timed_out ? RELAY_SINK_READY : RELAY_SINK_BACKOFF;
}

/* ---- configuration and lifecycle (main thread) ---- */

static gboolean
_kafka_configure(RelayComponent *component, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  RelaySinkKafka *self = (RelaySinkKafka *)component;
  const char *const defaults[] = { "acks", self->acks, NULL };
  const RelayProp *txn_id = relay_component_config_get(cc, "kafka.producer.transactional.id");
  gboolean ok = relay_kafka_default_partition(self->default_partition_text, cc, "sink", report,
                                              &self->default_partition);

  if (txn_id)
    {
      relay_config_report_add(report, txn_id, cc->label, "kafka.producer.transactional.id",
                              "Kafka transactions are not supported by relayd's Kafka sink; sink %s removed",
                              cc->name);
      ok = FALSE;
    }
  self->topic_escaped = strstr(self->topic, "%{") != NULL;
  ok = (self->header_map = relay_kafka_header_map_new(cc, "sink", report)) != NULL && ok;
  self->conf = relay_kafka_conf_new(cc, self->bootstrap, "kafka.producer.", defaults, NULL, report);
  return self->conf && ok;
}

static gboolean
_kafka_start(RelayComponent *component, GError **error)
{
  RelaySinkKafka *self = (RelaySinkKafka *)component;
  rd_kafka_conf_t *conf = rd_kafka_conf_dup(self->conf);
  rd_kafka_conf_set_opaque(conf, self);
  rd_kafka_conf_set_dr_msg_cb(conf, _dr_cb);
  self->rk = relay_kafka_client_new(RD_KAFKA_PRODUCER, conf, error);
  if (!self->rk)
    return FALSE;
  if (!self->topic_escaped)
    self->rkt = rd_kafka_topic_new(self->rk, self->topic, NULL);
  self->window = g_new0(KafkaBatch, self->max_in_flight);
  for (gint64 i = 0; i < self->max_in_flight; i++)
    self->window[i].events = g_new0(RelayEvent *, self->batch_size);
  self->head = self->in_flight = 0;
  self->run = g_new0(rd_kafka_message_t, self->batch_size);
  self->run_len = 0;
  self->scratch = g_byte_array_new();
  self->topic_buf = g_string_new(NULL);
  self->rl = (RelayRateLimit)RELAY_RATELIMIT_INIT;
  relay_counter_inc(&self->super.counters.connection_created);
  return TRUE;
}

/* After the runner ended: every batch was committed or rolled back, so what librdkafka still holds belongs
 * to rolled-back batches and is purged. */
static void
_kafka_stop(RelayComponent *component)
{
  RelaySinkKafka *self = (RelaySinkKafka *)component;

  if (!self->rk)
    return;
  rd_kafka_purge(self->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(self->rk, 0);
  if (self->rkt)
    rd_kafka_topic_destroy(self->rkt);
  rd_kafka_destroy(self->rk);
  self->rk = NULL;
  self->rkt = NULL;
  relay_counter_inc(&self->super.counters.connection_closed);
}

static void
_kafka_free(RelayComponent *component)
{
  RelaySinkKafka *self = (RelaySinkKafka *)component;

  _kafka_stop(component);
  if (self->conf)
    rd_kafka_conf_destroy(self->conf);
  relay_kafka_header_map_free(self->header_map);
  for (gint64 i = 0; self->window && i < self->max_in_flight; i++)
    g_free(self->window[i].events);
  g_free(self->window);
  g_free(self->run);
  if (self->scratch)
    g_byte_array_free(self->scratch, TRUE);
  if (self->topic_buf)
    g_string_free(self->topic_buf, TRUE);
}

static const RelayOption _kafka_options[] = {
  RELAY_OPT_STRING_ROW("kafka.bootstrap.servers", NULL, RelaySinkKafka, bootstrap, RELAY_OPTF_REQUIRED,
                       "Kafka brokers to bootstrap from (host:port,host:port)"),
  RELAY_OPT_STRING_ROW("kafka.topic", "default-flume-topic", RelaySinkKafka, topic, 0,
                       "topic of the records; %{header} is replaced by the event's header"),
  RELAY_OPT_INT_ROW("flumeBatchSize", "100", 1, 1000000, RelaySinkKafka, batch_size, RELAY_OPTF_BATCH_SIZE,
                    "events taken and produced per transaction (committed once Kafka acknowledged all)"),
  RELAY_OPT_INT_ROW(
      "maxBatchesInFlight", "16", 1, 64, RelaySinkKafka, max_in_flight, 0,
      "batches (transactions) produced before the oldest is acknowledged; 1 = Flume's behaviour"),
  RELAY_OPT_BOOL_ROW("allowTopicOverride", "true", RelaySinkKafka, allow_topic_override, 0,
                     "an event's topicHeader header names its topic"),
  RELAY_OPT_STRING_ROW("topicHeader", "topic", RelaySinkKafka, topic_header, 0,
                       "header naming the topic when allowTopicOverride"),
  RELAY_OPT_BOOL_ROW("useFlumeEventFormat", "false", RelaySinkKafka, flume_event_format, 0,
                     "record value is the Avro-serialized Flume event (headers and body), else the body"),
  RELAY_OPT_STRING_ROW("partitionIdHeader", NULL, RelaySinkKafka, partition_header, 0,
                       "header holding the partition number of the event's record"),
  RELAY_OPT_STRING_ROW("defaultPartitionId", NULL, RelaySinkKafka, default_partition_text, 0,
                       "partition for events without partitionIdHeader (unset: librdkafka's partitioner)"),
  RELAY_OPT_STRING_ROW("timestampHeader", NULL, RelaySinkKafka, timestamp_header, 0,
                       "header holding the record timestamp in ms since the epoch"),
  RELAY_OPT_STRING_ROW("kafka.producer.acks", "1", RelaySinkKafka, acks, 0,
                       "acknowledgements Kafka gives before a record counts as delivered (0, 1, all)"),
  RELAY_OPTION_END,
};

static const RelaySinkOps _kafka_ops = {
  .process = _kafka_process,
};

const RelayComponentClass relay_sink_kafka_class = {
  .kind = RELAY_KIND_SINK,
  .type = "kafka",
  .flume_class = "org.apache.flume.sink.kafka.KafkaSink",
  .description = "produces every event as a Kafka record (librdkafka); kafka.producer.* go to librdkafka",
  .options = _kafka_options,
  .instance_size = sizeof(RelaySinkKafka),
  .configure = _kafka_configure,
  .knows_key = relay_kafka_knows_key,
  .start = _kafka_start,
  .stop = _kafka_stop,
  .free = _kafka_free,
  .ops = &_kafka_ops,
};
