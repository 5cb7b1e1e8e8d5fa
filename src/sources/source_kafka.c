/* source_kafka.c - the Kafka source (Flume's flume-ng-sources/flume-kafka-source/.../source/kafka/
 * KafkaSource.java): a consumer in group kafka.consumer.group.id reads kafka.topics (or the topics matching
 * kafka.topics.regex) and puts one event per record into the channels; the offsets are committed only after
 * the channels committed the batch (at-least-once: a crash in between delivers the batch again).
 *
 * Where it runs: on the main event loop, without ever blocking it. librdkafka's own threads fetch records
 * into the consumer queue; the queue signals a pipe when it goes from empty to non-empty
 * (rd_kafka_queue_io_event_enable), the main loop watches the pipe and takes what is ready with a
 * non-blocking rd_kafka_consume_batch_queue. Rebalance and offset-commit callbacks are served by those same
 * calls, so they run on the main loop too. Offsets are committed asynchronously (rd_kafka_commit async).
 *
 * A batch ends at batchSize records or batchDurationMillis after its first record; it is put through the
 * channel processor (waiting asynchronously for room), then its offsets (last + 1 per partition) are
 * committed. While a batch is being put nothing more is read: librdkafka's prefetch queue is bounded by its
 * own settings (queued.max.messages.kbytes). A put that fails is retried with the same events after
 * backoffSleepIncrement, doubling up to maxBackoffSleep. On a rebalance the records not yet put that belong
 * to revoked partitions are dropped (their offsets were not committed: the new owner reads them); a batch
 * being put when its partitions are revoked is committed if the group still allows it, else read again by
 * the new owner (duplicates bounded by that batch).
 *
 * Event: body = record value (or, with useFlumeEventFormat, the AvroFlumeEvent it holds: headers and body);
 * headers added when absent: timestamp (record timestamp, ms), topicHeader = topic (setTopicHeader),
 * partition, offset; key = record key when there is one; header.<flume>=<kafka> copies Kafka record headers.
 * Thread: everything here runs on the main thread. */
#include "avro_proto.h"
#include "channel_processor.h"
#include "component.h"
#include "counters.h"
#include "event.h"
#include "kafka_conf.h"
#include "log.h"
#include "source.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

typedef struct
{
  const char *topic; /* interned (g_intern_string): one copy per topic name, none per record */
  gint32 partition;
  gint64 offset;
} KafkaPos;

typedef struct
{
  RelaySource super;
  /* options */
  char *bootstrap;
  char *topics;
  char *topics_regex;
  char *group_id;
  gint64 batch_size;
  gint64 batch_duration_ms;
  gboolean flume_event_format;
  gboolean set_topic_header;
  char *topic_header;
  gint64 backoff_increment_ms;
  gint64 max_backoff_ms;
  /* from configure */
  rd_kafka_conf_t *conf;
  GArray *header_map; /* KafkaHeaderMap */
  rd_kafka_topic_partition_list_t *subscription;
  /* running */
  rd_kafka_t *rk;
  rd_kafka_queue_t *queue;
  int pipe_fds[2];
  struct event *ev_wake, *ev_batch_end, *ev_retry;
  GPtrArray *batch;     /* events read, not yet put */
  GArray *batch_pos;    /* KafkaPos per event of batch */
  GPtrArray *in_flight; /* events being put */
  GArray *in_flight_pos;
  RelayPutRequest *pending;
  gboolean submitting, putting;
  gint64 backoff_ms;
  GQueue commit_started; /* monotonic µs of each commit not answered yet */
  RelayAvroDecoder *decoder;
  GArray *scratch_headers; /* RelayHeader of the record being converted */
  RelayRateLimit rl_record, rl_commit;
} RelayKafkaSource;

static void _pump(RelayKafkaSource *self);

/* ---- positions ---- */

static void
_pos_clear(GArray *positions)
{
  g_array_set_size(positions, 0);
}

/* The offsets to commit for the records of positions: last + 1 per partition. */
static rd_kafka_topic_partition_list_t *
_commit_list(GArray *positions)
{
  rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(8);

  for (guint i = 0; i < positions->len; i++)
    {
      const KafkaPos *pos = &g_array_index(positions, KafkaPos, i);
      rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(list, pos->topic, pos->partition);
      if (!tp)
        tp = rd_kafka_topic_partition_list_add(list, pos->topic, pos->partition);
      tp->offset = MAX(tp->offset, pos->offset + 1);
    }
  return list;
}

/* ---- committing (main thread) ---- */

static void
_offset_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *offsets,
                  void *opaque)
{
  RelayKafkaSource *self = opaque;
  gpointer started = g_queue_pop_head(&self->commit_started);

  if (started)
    relay_counter_add(&self->super.counters.kafka_commit_time_ms,
                      (g_get_monotonic_time() - GPOINTER_TO_SIZE(started)) / 1000);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
    relay_log_ratelimited(&self->rl_commit, RELAY_LOG_WARN, self->super.super.log_prefix,
                          "offset commit failed (the records will be read again): %s", rd_kafka_err2str(err));
}

static void
_commit(RelayKafkaSource *self, GArray *positions)
{
  rd_kafka_topic_partition_list_t *list = _commit_list(positions);
  rd_kafka_resp_err_t err = rd_kafka_commit(self->rk, list, 1);

  if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
    g_queue_push_tail(&self->commit_started, GSIZE_TO_POINTER((gsize)g_get_monotonic_time()));
  else
    relay_log_ratelimited(&self->rl_commit, RELAY_LOG_WARN, self->super.super.log_prefix,
                          "offset commit refused (the records will be read again): %s",
                          rd_kafka_err2str(err));
  rd_kafka_topic_partition_list_destroy(list);
}

/* ---- putting a batch ---- */

static void _submit_in_flight(RelayKafkaSource *self);

static void
_on_put_done(RelayPutResult result, gpointer user_data)
{
  RelayKafkaSource *self = user_data;
  RelaySourceCounters *counters = &self->super.counters;

  self->pending = NULL;
  if (result == RELAY_PUT_OK)
    {
      relay_counter_add(&counters->event_accepted, self->in_flight->len);
      relay_counter_inc(&counters->append_batch_accepted);
      _commit(self, self->in_flight_pos);
      g_ptr_array_set_size(self->in_flight, 0);
      _pos_clear(self->in_flight_pos);
      self->putting = FALSE;
      self->backoff_ms = 0;
      event_active(self->ev_wake, EV_TIMEOUT, 0); /* read on, outside the channel processor */
      return;
    }
  /* the channel processor counted ChannelWriteFail and logged (rate-limited); the same events go again */
  self->backoff_ms = self->backoff_ms ? MIN(self->backoff_ms * 2, self->max_backoff_ms)
                                      : MIN(self->backoff_increment_ms, self->max_backoff_ms);
  struct timeval wait = { self->backoff_ms / 1000, (self->backoff_ms % 1000) * 1000 };
  evtimer_add(self->ev_retry, &wait);
}

static void
_submit_in_flight(RelayKafkaSource *self)
{
  GPtrArray *copy = g_ptr_array_new_full(self->in_flight->len, relay_event_unref_notify);

  for (guint i = 0; i < self->in_flight->len; i++)
    g_ptr_array_add(copy, relay_event_ref(g_ptr_array_index(self->in_flight, i)));
  relay_counter_inc(&self->super.counters.append_batch_received);
  self->putting = TRUE;
  self->submitting = TRUE;
  self->pending = relay_channel_processor_submit(self->super.cp, copy, _on_put_done, self);
  self->submitting = FALSE;
}

static void
_on_retry(evutil_socket_t fd, short what, void *arg)
{
  _submit_in_flight(arg);
}

/* Ends the batch being read: it becomes the batch being put. */
static void
_end_batch(RelayKafkaSource *self)
{
  GPtrArray *events = self->in_flight;
  GArray *positions = self->in_flight_pos;

  evtimer_del(self->ev_batch_end);
  if (self->putting || self->batch->len == 0)
    return;
  self->in_flight = self->batch;
  self->in_flight_pos = self->batch_pos;
  self->batch = events;
  self->batch_pos = positions;
  _submit_in_flight(self);
}

static void
_on_batch_end(evutil_socket_t fd, short what, void *arg)
{
  _end_batch(arg);
}

/* ---- records to events ---- */

static void
_add_header(GArray *headers, const char *key, const char *value, gsize value_len)
{
  for (guint i = 0; i < headers->len; i++)
    if (strcmp(g_array_index(headers, RelayHeader, i).key, key) == 0)
      return; /* only when absent */
  RelayHeader h = { key, value, (guint32)strlen(key), (guint32)value_len };
  g_array_append_val(headers, h);
}

static void
_add_kafka_headers(RelayKafkaSource *self, const rd_kafka_message_t *rkm, GArray *headers)
{
  rd_kafka_headers_t *hdrs = NULL;

  if (!self->header_map->len || rd_kafka_message_headers(rkm, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return;
  for (guint i = 0; i < self->header_map->len; i++)
    {
      const KafkaHeaderMap *m = &g_array_index(self->header_map, KafkaHeaderMap, i);
      const void *value;
      size_t size;
      if (rd_kafka_header_get_last(hdrs, m->kafka, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR && value
          && !memchr(value, '\0', size))
        _add_header(headers, m->flume, value, size);
    }
}

/* The event for one record, or NULL when a Flume-format record does not decode (skipped, logged). */
static RelayEvent *
_record_event(RelayKafkaSource *self, const rd_kafka_message_t *rkm)
{
  GArray *headers = self->scratch_headers; /* reused: no allocation per record */
  RelayEvent *decoded = NULL;
  const void *body = rkm->payload;
  gsize body_len = rkm->payload ? rkm->len : 0;
  char ts[24], part[16], off[24];
  g_autofree char *key = NULL;

  g_array_set_size(headers, 0);
  if (self->flume_event_format)
    {
      RelayAvroError err;
      decoded = relay_avro_event_datum_decode(self->decoder, rkm->payload, body_len, &err);
      if (!decoded)
        {
          char why[128];
          relay_log_ratelimited(
              &self->rl_record, RELAY_LOG_WARN, self->super.super.log_prefix,
              "record skipped: not a Flume event topic=%s partition=%d offset=%" G_GINT64_FORMAT " (%s)",
              rd_kafka_topic_name(rkm->rkt), rkm->partition, (gint64)rkm->offset,
              relay_avro_error_format(&err, why, sizeof why));
          relay_source_count_protocol_error(&self->super, RELAY_PROTO_ERROR_MALFORMED);
          return NULL;
        }
      if (rkm->key)
        key = g_strndup(rkm->key, rkm->key_len);
      if (key)
        {
          RelayHeader h = { "key", key, 3, (guint32)strlen(key) };
          g_array_append_val(headers, h); /* the record key wins over the event's */
        }
      g_array_append_vals(headers, decoded->headers, decoded->n_headers);
      body = decoded->body;
      body_len = decoded->body_len;
    }
  else if (rkm->key)
    {
      key = g_strndup(rkm->key, rkm->key_len);
      _add_header(headers, "key", key, strlen(key));
    }
  rd_kafka_timestamp_type_t ts_type;
  gint64 timestamp = rd_kafka_message_timestamp(rkm, &ts_type);
  if (timestamp >= 0)
    {
      g_snprintf(ts, sizeof ts, "%" G_GINT64_FORMAT, timestamp);
      _add_header(headers, "timestamp", ts, strlen(ts));
    }
  if (self->set_topic_header)
    _add_header(headers, self->topic_header, rd_kafka_topic_name(rkm->rkt),
                strlen(rd_kafka_topic_name(rkm->rkt)));
  g_snprintf(part, sizeof part, "%d", (int)rkm->partition);
  _add_header(headers, "partition", part, strlen(part));
  g_snprintf(off, sizeof off, "%" G_GINT64_FORMAT, (gint64)rkm->offset);
  _add_header(headers, "offset", off, strlen(off));
  _add_kafka_headers(self, rkm, headers);
  RelayEvent *ev = relay_event_new((const RelayHeader *)headers->data, headers->len, body, body_len);
  if (decoded)
    relay_event_unref(decoded);
  return ev;
}

static void
_add_record(RelayKafkaSource *self, const rd_kafka_message_t *rkm)
{
  if (rkm->err)
    {
      if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        relay_log_ratelimited(&self->rl_record, RELAY_LOG_WARN, self->super.super.log_prefix,
                              "consumer error: %s", rd_kafka_message_errstr(rkm));
      return;
    }
  RelayEvent *ev = _record_event(self, rkm);
  if (!ev)
    return; /* skipped; its offset is committed with a later record of its partition */
  KafkaPos pos = { g_intern_string(rd_kafka_topic_name(rkm->rkt)), rkm->partition, rkm->offset };
  g_array_append_val(self->batch_pos, pos);
  g_ptr_array_add(self->batch, ev);
  relay_counter_inc(&self->super.counters.event_received);
  relay_counter_add(&self->super.counters.bytes_received, (gint64)rkm->len);
}

/* Reads what is ready, without waiting, until the batch is full. */
static void
_pump(RelayKafkaSource *self)
{
  rd_kafka_message_t *msgs[256];

  while (!self->putting && (gint64)self->batch->len < self->batch_size)
    {
      gint64 started = g_get_monotonic_time();
      gsize want = (gsize)MIN((gint64)G_N_ELEMENTS(msgs), self->batch_size - (gint64)self->batch->len);
      ssize_t n = rd_kafka_consume_batch_queue(self->queue, 0, msgs, want);
      relay_counter_add(&self->super.counters.kafka_event_get_time_ms,
                        (g_get_monotonic_time() - started) / 1000);
      if (n <= 0)
        {
          relay_counter_inc(&self->super.counters.kafka_empty_count);
          break;
        }
      for (ssize_t i = 0; i < n; i++)
        {
          _add_record(self, msgs[i]);
          rd_kafka_message_destroy(msgs[i]);
        }
    }
  if ((gint64)self->batch->len >= self->batch_size)
    _end_batch(self);
  else if (self->batch->len && !evtimer_pending(self->ev_batch_end, NULL))
    {
      struct timeval wait = { self->batch_duration_ms / 1000, (self->batch_duration_ms % 1000) * 1000 };
      evtimer_add(self->ev_batch_end, &wait);
    }
}

static void
_on_wake(evutil_socket_t fd, short what, void *arg)
{
  RelayKafkaSource *self = arg;
  char buf[64];

  if (what & EV_READ)
    while (read(fd, buf, sizeof buf) > 0)
      ;
  _pump(self);
}

/* ---- rebalances (main thread, inside rd_kafka_consume_batch_queue) ---- */

static gboolean
_in_list(const rd_kafka_topic_partition_list_t *parts, const KafkaPos *pos)
{
  return rd_kafka_topic_partition_list_find(parts, pos->topic, pos->partition) != NULL;
}

/* Drops the records read but not yet put that belong to revoked partitions (batch and batch_pos are in
 * step: one position per event). */
static void
_drop_revoked(RelayKafkaSource *self, const rd_kafka_topic_partition_list_t *revoked)
{
  guint kept = 0;

  for (guint i = 0; i < self->batch_pos->len; i++)
    {
      KafkaPos *pos = &g_array_index(self->batch_pos, KafkaPos, i);
      RelayEvent *ev = g_ptr_array_index(self->batch, i);
      if (_in_list(revoked, pos))
        {
          relay_event_unref(ev);
          continue;
        }
      g_array_index(self->batch_pos, KafkaPos, kept) = *pos;
      self->batch->pdata[kept++] = ev;
    }
  g_array_set_size(self->batch_pos, kept);
  /* the elements were moved or released above: shrink without the free function */
  g_ptr_array_set_free_func(self->batch, NULL);
  g_ptr_array_set_size(self->batch, kept);
  g_ptr_array_set_free_func(self->batch, relay_event_unref_notify);
}

static void
_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts, void *opaque)
{
  RelayKafkaSource *self = opaque;
  gboolean cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;

  relay_info(self->super.super.log_prefix, "rebalance: partitions %s count=%d",
             err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? "assigned" : "revoked", parts->cnt);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS)
    {
      if (cooperative)
        rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, parts));
      else
        rd_kafka_assign(rk, parts);
      return;
    }
  _drop_revoked(self, parts);
  if (self->batch->len == 0)
    evtimer_del(self->ev_batch_end);
  if (cooperative)
    rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
  else
    rd_kafka_assign(rk, NULL);
}

/* ---- configuration and lifecycle (main thread) ---- */

static gboolean
_configure_subscription(RelayKafkaSource *self, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  self->subscription = rd_kafka_topic_partition_list_new(4);
  if (self->topics_regex)
    {
      /* librdkafka takes a topic starting with ^ as a regular expression */
      g_autofree char *pattern = self->topics_regex[0] == '^' ? g_strdup(self->topics_regex)
                                                              : g_strconcat("^", self->topics_regex, NULL);
      rd_kafka_topic_partition_list_add(self->subscription, pattern, RD_KAFKA_PARTITION_UA);
      return TRUE;
    }
  g_auto(GStrv) names = self->topics ? g_strsplit(self->topics, ",", -1) : NULL;
  for (guint i = 0; names && names[i]; i++)
    if (*g_strstrip(names[i]))
      rd_kafka_topic_partition_list_add(self->subscription, names[i], RD_KAFKA_PARTITION_UA);
  if (self->subscription->cnt)
    return TRUE;
  relay_config_report_add(report, relay_component_config_where(cc), cc->label, "kafka.topics",
                          "one of kafka.topics and kafka.topics.regex is required; source %s removed",
                          cc->name);
  return FALSE;
}

static gboolean
_kafka_configure(RelayComponent *component, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  RelayKafkaSource *self = (RelayKafkaSource *)component;
  const char *const defaults[] = { "group.id", self->group_id, NULL };
  const char *const forced[] = { "enable.auto.commit", "false", NULL };
  gboolean ok;

  ok = _configure_subscription(self, cc, report);
  ok = (self->header_map = relay_kafka_header_map_new(cc, "source", report)) != NULL && ok;
  self->conf = relay_kafka_conf_new(cc, self->bootstrap, "kafka.consumer.", defaults, forced, report);
  return self->conf && ok;
}

static gboolean
_kafka_start(RelayComponent *component, GError **error)
{
  RelayKafkaSource *self = (RelayKafkaSource *)component;
  rd_kafka_conf_t *conf = rd_kafka_conf_dup(self->conf);
  rd_kafka_conf_set_opaque(conf, self);
  rd_kafka_conf_set_rebalance_cb(conf, _rebalance_cb);
  rd_kafka_conf_set_offset_commit_cb(conf, _offset_commit_cb);
  self->rk = relay_kafka_client_new(RD_KAFKA_CONSUMER, conf, error);
  if (!self->rk)
    return FALSE;
  if (pipe2(self->pipe_fds, O_NONBLOCK | O_CLOEXEC) != 0)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "pipe: %s", g_strerror(errno));
      return FALSE;
    }
  rd_kafka_poll_set_consumer(self->rk);
  self->queue = rd_kafka_queue_get_consumer(self->rk);
  rd_kafka_queue_io_event_enable(self->queue, self->pipe_fds[1], "w", 1);
  self->batch = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  self->in_flight = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  self->batch_pos = g_array_new(FALSE, FALSE, sizeof(KafkaPos));
  self->in_flight_pos = g_array_new(FALSE, FALSE, sizeof(KafkaPos));
  RelayAvroLimits limits;
  relay_avro_limits_init(&limits);
  self->decoder = relay_avro_decoder_new(&limits);
  self->scratch_headers = g_array_new(FALSE, FALSE, sizeof(RelayHeader));
  self->rl_record = (RelayRateLimit)RELAY_RATELIMIT_INIT;
  self->rl_commit = (RelayRateLimit)RELAY_RATELIMIT_INIT;
  self->ev_wake = event_new(self->super.base, self->pipe_fds[0], EV_READ | EV_PERSIST, _on_wake, self);
  self->ev_batch_end = evtimer_new(self->super.base, _on_batch_end, self);
  self->ev_retry = evtimer_new(self->super.base, _on_retry, self);
  event_add(self->ev_wake, NULL);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(self->rk, self->subscription);
  if (err)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "subscribe: %s", rd_kafka_err2str(err));
      return FALSE;
    }
  event_active(self->ev_wake, EV_TIMEOUT, 0);
  relay_info(self->super.super.log_prefix, "consuming group=%s", self->group_id);
  return TRUE;
}

/* Records read or being put are not committed: the group reads them again after the restart. */
static void
_kafka_stop(RelayComponent *component)
{
  RelayKafkaSource *self = (RelayKafkaSource *)component;

  if (self->pending)
    relay_put_request_cancel(self->pending);
  self->pending = NULL;
  self->putting = TRUE; /* no more reads from callbacks served by the close */
  if (self->queue)
    {
      rd_kafka_queue_io_event_enable(self->queue, -1, NULL, 0);
      rd_kafka_queue_destroy(self->queue);
      self->queue = NULL;
    }
  if (self->rk)
    {
      rd_kafka_consumer_close(self->rk);
      rd_kafka_destroy(self->rk);
      self->rk = NULL;
    }
  g_clear_pointer(&self->ev_wake, event_free);
  g_clear_pointer(&self->ev_batch_end, event_free);
  g_clear_pointer(&self->ev_retry, event_free);
  for (int i = 0; i < 2; i++)
    if (self->pipe_fds[i] > 0)
      close(self->pipe_fds[i]);
  self->pipe_fds[0] = self->pipe_fds[1] = 0;
}

static void
_kafka_free(RelayComponent *component)
{
  RelayKafkaSource *self = (RelayKafkaSource *)component;

  _kafka_stop(component);
  if (self->conf)
    rd_kafka_conf_destroy(self->conf);
  if (self->subscription)
    rd_kafka_topic_partition_list_destroy(self->subscription);
  relay_kafka_header_map_free(self->header_map);
  for (GArray **p = (GArray *[]){ self->batch_pos, self->in_flight_pos }, **end = p + 2; p < end; p++)
    if (*p)
      {
        _pos_clear(*p);
        g_array_free(*p, TRUE);
      }
  if (self->batch)
    g_ptr_array_unref(self->batch);
  if (self->in_flight)
    g_ptr_array_unref(self->in_flight);
  if (self->decoder)
    relay_avro_decoder_free(self->decoder);
  if (self->scratch_headers)
    g_array_free(self->scratch_headers, TRUE);
  g_queue_clear(&self->commit_started);
}

static const RelayOption _kafka_options[] = {
  RELAY_OPT_STRING_ROW("kafka.bootstrap.servers", NULL, RelayKafkaSource, bootstrap, RELAY_OPTF_REQUIRED,
                       "Kafka brokers to bootstrap from (host:port,host:port)"),
  RELAY_OPT_STRING_ROW("kafka.topics", NULL, RelayKafkaSource, topics, 0,
                       "comma-separated topics to read (this or kafka.topics.regex)"),
  RELAY_OPT_STRING_ROW("kafka.topics.regex", NULL, RelayKafkaSource, topics_regex, 0,
                       "read every topic matching this regular expression (wins over kafka.topics)"),
  RELAY_OPT_STRING_ROW("kafka.consumer.group.id", "flume", RelayKafkaSource, group_id, 0,
                       "consumer group; its committed offsets say where reading resumes"),
  RELAY_OPT_INT_ROW("batchSize", "1000", 1, 1000000, RelayKafkaSource, batch_size, RELAY_OPTF_BATCH_SIZE,
                    "records per batch put into the channels (and committed)"),
  RELAY_OPT_INT_ROW("batchDurationMillis", "1000", 1, 3600000, RelayKafkaSource, batch_duration_ms, 0,
                    "a batch is put at most this long after its first record"),
  RELAY_OPT_BOOL_ROW("useFlumeEventFormat", "false", RelayKafkaSource, flume_event_format, 0,
                     "record values are Avro-serialized Flume events (headers and body)"),
  RELAY_OPT_BOOL_ROW("setTopicHeader", "true", RelayKafkaSource, set_topic_header, 0,
                     "add the record's topic as header topicHeader"),
  RELAY_OPT_STRING_ROW("topicHeader", "topic", RelayKafkaSource, topic_header, 0,
                       "header that receives the topic"),
  RELAY_OPT_INT_ROW("backoffSleepIncrement", "1000", 1, 3600000, RelayKafkaSource, backoff_increment_ms, 0,
                    "first wait (ms) before a batch the channels refused is put again; doubles"),
  RELAY_OPT_INT_ROW("maxBackoffSleep", "5000", 1, 3600000, RelayKafkaSource, max_backoff_ms, 0,
                    "longest wait (ms) between attempts to put a refused batch"),
  RELAY_OPTION_END,
};

const RelayComponentClass relay_source_kafka_class = {
  .kind = RELAY_KIND_SOURCE,
  .type = "kafka",
  .flume_class = "org.apache.flume.source.kafka.KafkaSource",
  .description = "reads Kafka topics as a consumer group (librdkafka); offsets committed after the channels",
  .options = _kafka_options,
  .instance_size = sizeof(RelayKafkaSource),
  .configure = _kafka_configure,
  .knows_key = relay_kafka_knows_key,
  .start = _kafka_start,
  .stop = _kafka_stop,
  .free = _kafka_free,
};
