/* metrics.c - the counter tables (Flume attribute, Prometheus family, help, type, where the value lives)
 * and snapshots of a running agent's components for the monitoring outputs.
 *
 * Prometheus names: relayd_<kind>_<what>, counters ending in _total; every sample is labelled
 * agent="<agent>", component="<name>", type="<component type>". The README lists them. */
#include "metrics.h"

#include "agent_private.h"
#include "channel.h"
#include "counters.h"
#include "sink.h"
#include "sink_processor.h"
#include "sink_runner.h"
#include "source.h"

#include <string.h>

#define SRC(field) offsetof(RelaySourceCounters, field)
#define CHN(field) offsetof(RelayChannelCounters, field)
#define SNK(field) offsetof(RelaySinkCounters, field)
#define GRP(field) offsetof(RelaySinkProcessor, field)

/* ---- values that are not plain counters ---- */

static double
_protocol_errors(const RelayMetricSubject *s)
{
  const RelaySource *source = s->object;
  gint64 sum = 0;

  for (guint i = 0; i < RELAY_PROTO_ERROR_N; i++)
    sum += relay_counter_get(&source->counters.protocol_errors[i]);
  return (double)sum;
}

static double
_channel_size(const RelayMetricSubject *s)
{
  return (double)relay_channel_size((RelayChannel *)s->object);
}

static double
_channel_capacity(const RelayMetricSubject *s)
{
  return (double)((const RelayChannel *)s->object)->capacity;
}

/* As Flume's ChannelCounter: size / capacity x 100 (Flume shows Double.MAX_VALUE for capacity 0, which
 * relayd's option table does not allow). */
static double
_channel_fill(const RelayMetricSubject *s)
{
  double capacity = _channel_capacity(s);
  return capacity > 0 ? _channel_size(s) * 100.0 / capacity : 0.0;
}

static double
_channel_closed(const RelayMetricSubject *s)
{
  return s->running ? 0 : 1;
}

static gboolean
_durable(const RelayMetricSubject *s)
{
  return ((const RelayChannel *)s->object)->durable;
}

/* ---- Kafka (issue 18): Flume's Kafka counters, shown only for the Kafka components ---- */
static gboolean
_is_kafka(const RelayMetricSubject *s)
{
  return s->type && strcmp(s->type, "kafka") == 0;
}

/* ---- the tables ---- */

static const RelayMetricDef _source_defs[] = {
  { "EventReceivedCount", "relayd_source_events_received_total", "Events received from clients",
    RELAY_METRIC_COUNTER, NULL, SRC(event_received) },
  { "EventAcceptedCount", "relayd_source_events_accepted_total",
    "Events committed to the channels and acknowledged to the client", RELAY_METRIC_COUNTER, NULL,
    SRC(event_accepted) },
  { "AppendReceivedCount", "relayd_source_append_received_total", "Single-event requests received",
    RELAY_METRIC_COUNTER, NULL, SRC(append_received) },
  { "AppendAcceptedCount", "relayd_source_append_accepted_total", "Single-event requests acknowledged",
    RELAY_METRIC_COUNTER, NULL, SRC(append_accepted) },
  { "AppendBatchReceivedCount", "relayd_source_append_batch_received_total", "Batch requests received",
    RELAY_METRIC_COUNTER, NULL, SRC(append_batch_received) },
  { "AppendBatchAcceptedCount", "relayd_source_append_batch_accepted_total", "Batch requests acknowledged",
    RELAY_METRIC_COUNTER, NULL, SRC(append_batch_accepted) },
  { "OpenConnectionCount", "relayd_source_open_connections", "Client connections open now",
    RELAY_METRIC_GAUGE, NULL, SRC(open_connections) },
  { "EventReadFail", "relayd_source_event_read_fail_total", "Requests that could not be read (bad input)",
    RELAY_METRIC_COUNTER, NULL, SRC(event_read_fail) },
  { "ChannelWriteFail", "relayd_source_channel_write_fail_total",
    "Requests answered FAILED because a required channel refused the events", RELAY_METRIC_COUNTER, NULL,
    SRC(channel_write_fail) },
  { "GenericProcessingFail", "relayd_source_generic_processing_fail_total",
    "Requests that failed for another reason", RELAY_METRIC_COUNTER, NULL, SRC(generic_processing_fail) },
  { "EventFailedCount", "relayd_source_events_failed_total",
    "Events of requests answered FAILED or abandoned (received = accepted + failed)", RELAY_METRIC_COUNTER,
    NULL, SRC(event_failed) },
  { "BytesReceived", "relayd_source_bytes_received_total",
    "Bytes read from clients (as sent, compressed or not)", RELAY_METRIC_COUNTER, NULL, SRC(bytes_received) },
  { "ProtocolErrorCount", NULL, NULL, RELAY_METRIC_COUNTER, NULL, -1, FALSE, _protocol_errors },
  { "ProtocolErrorLimitCount", "relayd_source_protocol_errors_total",
    "Connections closed for bad input, by kind", RELAY_METRIC_COUNTER, "kind=\"limit\"",
    SRC(protocol_errors[RELAY_PROTO_ERROR_LIMIT]) },
  { "ProtocolErrorMalformedCount", "relayd_source_protocol_errors_total", NULL, RELAY_METRIC_COUNTER,
    "kind=\"malformed\"", SRC(protocol_errors[RELAY_PROTO_ERROR_MALFORMED]) },
  { "ProtocolErrorTimeoutCount", "relayd_source_protocol_errors_total", NULL, RELAY_METRIC_COUNTER,
    "kind=\"timeout\"", SRC(protocol_errors[RELAY_PROTO_ERROR_TIMEOUT]) },
  { "ProtocolErrorDeflateCount", "relayd_source_protocol_errors_total", NULL, RELAY_METRIC_COUNTER,
    "kind=\"deflate\"", SRC(protocol_errors[RELAY_PROTO_ERROR_DEFLATE]) },
  { "ConnectionRefusedCount", "relayd_source_connections_refused_total",
    "Connections refused (max-connections, ipFilterRules)", RELAY_METRIC_COUNTER, NULL,
    SRC(connections_refused) },
  /* ---- TLS (issue 13) ---- */
  { "TlsErrorUntrustedCount", "relayd_source_tls_errors_total",
    "Connections closed by a TLS failure, by reason", RELAY_METRIC_COUNTER,
    "reason=\"untrusted-certificate\"", SRC(tls_errors[RELAY_TLS_FAIL_UNTRUSTED]) },
  { "TlsErrorExpiredCount", "relayd_source_tls_errors_total", NULL, RELAY_METRIC_COUNTER,
    "reason=\"certificate-expired\"", SRC(tls_errors[RELAY_TLS_FAIL_EXPIRED]) },
  { "TlsErrorNotYetValidCount", "relayd_source_tls_errors_total", NULL, RELAY_METRIC_COUNTER,
    "reason=\"certificate-not-yet-valid\"", SRC(tls_errors[RELAY_TLS_FAIL_NOT_YET_VALID]) },
  { "TlsErrorHostnameCount", "relayd_source_tls_errors_total", NULL, RELAY_METRIC_COUNTER,
    "reason=\"hostname-mismatch\"", SRC(tls_errors[RELAY_TLS_FAIL_HOSTNAME]) },
  { "TlsErrorNoClientCertCount", "relayd_source_tls_errors_total", NULL, RELAY_METRIC_COUNTER,
    "reason=\"no-client-certificate\"", SRC(tls_errors[RELAY_TLS_FAIL_NO_PEER_CERT]) },
  { "TlsErrorSubjectCount", "relayd_source_tls_errors_total", NULL, RELAY_METRIC_COUNTER,
    "reason=\"subject-not-allowed\"", SRC(tls_errors[RELAY_TLS_FAIL_SUBJECT]) },
  { "TlsErrorPlaintextCount", "relayd_source_tls_errors_total", NULL, RELAY_METRIC_COUNTER,
    "reason=\"plaintext-on-tls-port\"", SRC(tls_errors[RELAY_TLS_FAIL_PLAINTEXT]) },
  { "TlsErrorTlsOnPlaintextCount", "relayd_source_tls_errors_total", NULL, RELAY_METRIC_COUNTER,
    "reason=\"tls-on-plaintext-port\"", SRC(tls_errors[RELAY_TLS_FAIL_TLS_ON_PLAIN]) },
  { "TlsErrorTimeoutCount", "relayd_source_tls_errors_total", NULL, RELAY_METRIC_COUNTER,
    "reason=\"handshake-timeout\"", SRC(tls_errors[RELAY_TLS_FAIL_TIMEOUT]) },
  { "TlsErrorPeerRejectedCount", "relayd_source_tls_errors_total", NULL, RELAY_METRIC_COUNTER,
    "reason=\"rejected-by-peer\"", SRC(tls_errors[RELAY_TLS_FAIL_PEER_REJECTED]) },
  { "TlsErrorHandshakeCount", "relayd_source_tls_errors_total", NULL, RELAY_METRIC_COUNTER,
    "reason=\"handshake-failed\"", SRC(tls_errors[RELAY_TLS_FAIL_HANDSHAKE]) },
  { "TlsHandshakeCount", "relayd_source_tls_handshakes_total",
    "TLS handshakes completed and accepted (full handshakes: sessions are never resumed)",
    RELAY_METRIC_COUNTER, NULL, SRC(tls_handshakes) },
  /* resource limits (issue 16) */
  { "AcceptFailCount", "relayd_source_accept_failures_total",
    "accept() calls that failed (out of descriptors); the listener rested", RELAY_METRIC_COUNTER, NULL,
    SRC(accept_failures) },
  { "IdleCloseCount", "relayd_source_idle_closed_total", "Connections closed after idle-timeout",
    RELAY_METRIC_COUNTER, NULL, SRC(idle_closed) },
  { "MemoryLimitCount", "relayd_source_memory_refused_total",
    "Requests answered FAILED and connections refused because memory.limit was reached", RELAY_METRIC_COUNTER,
    NULL, SRC(memory_refused) },
  /* ---- Kafka (issue 18) ---- */
  { "KafkaEventGetTimer", "relayd_source_kafka_event_get_ms_total",
    "Milliseconds spent reading Kafka records", RELAY_METRIC_COUNTER, NULL, SRC(kafka_event_get_time_ms),
    FALSE, NULL, _is_kafka },
  { "KafkaCommitTimer", "relayd_source_kafka_commit_ms_total",
    "Milliseconds from issuing Kafka offset commits to their completion", RELAY_METRIC_COUNTER, NULL,
    SRC(kafka_commit_time_ms), FALSE, NULL, _is_kafka },
  { "KafkaEmptyCount", "relayd_source_kafka_empty_total",
    "Non-blocking reads that found no Kafka record ready", RELAY_METRIC_COUNTER, NULL, SRC(kafka_empty_count),
    FALSE, NULL, _is_kafka },
  { NULL },
};

static const RelayMetricDef _channel_defs[] = {
  { "ChannelSize", "relayd_channel_size", "Events in the channel", RELAY_METRIC_GAUGE, NULL, -1, FALSE,
    _channel_size },
  { "ChannelCapacity", "relayd_channel_capacity", "Events the channel can hold", RELAY_METRIC_GAUGE, NULL, -1,
    FALSE, _channel_capacity },
  { "ChannelFillPercentage", "relayd_channel_fill_percent", "Size as a percentage of capacity",
    RELAY_METRIC_GAUGE, NULL, -1, TRUE, _channel_fill },
  { "EventPutAttemptCount", "relayd_channel_put_attempts_total", "Events offered to the channel",
    RELAY_METRIC_COUNTER, NULL, CHN(put_attempt) },
  { "EventPutSuccessCount", "relayd_channel_put_success_total", "Events committed into the channel",
    RELAY_METRIC_COUNTER, NULL, CHN(put_success) },
  { "EventTakeAttemptCount", "relayd_channel_take_attempts_total",
    "Take attempts (one per event taken, plus one per take that found the channel empty)",
    RELAY_METRIC_COUNTER, NULL, CHN(take_attempt) },
  { "EventTakeSuccessCount", "relayd_channel_take_success_total", "Events taken out and committed",
    RELAY_METRIC_COUNTER, NULL, CHN(take_success) },
  { "Closed", NULL, NULL, RELAY_METRIC_GAUGE, NULL, -1, FALSE, _channel_closed, _durable },
  /* ---- Kafka channel (issue 18) ---- */
  { "KafkaEventGetTimer", "relayd_channel_kafka_event_get_ms_total",
    "Milliseconds spent reading Kafka records", RELAY_METRIC_COUNTER, NULL, CHN(kafka_event_get_time_ms),
    FALSE, NULL, _is_kafka },
  { "KafkaEventSendTimer", "relayd_channel_kafka_event_send_ms_total",
    "Milliseconds spent producing put transactions to Kafka and awaiting their acknowledgements",
    RELAY_METRIC_COUNTER, NULL, CHN(kafka_event_send_time_ms), FALSE, NULL, _is_kafka },
  { "KafkaCommitTimer", "relayd_channel_kafka_commit_ms_total",
    "Milliseconds spent committing the offsets of take transactions", RELAY_METRIC_COUNTER, NULL,
    CHN(kafka_commit_time_ms), FALSE, NULL, _is_kafka },
  { "RollbackCount", "relayd_channel_rollbacks_total", "Events of rolled-back take transactions",
    RELAY_METRIC_COUNTER, NULL, CHN(rollback_count), FALSE, NULL, _is_kafka },
  { "Unhealthy", "relayd_channel_unhealthy",
    "1 while a durable channel refuses puts after a disk write failed", RELAY_METRIC_GAUGE, NULL,
    CHN(unhealthy), FALSE, NULL, _durable },
  { "EventPutErrorCount", "relayd_channel_put_errors_total", "Events whose durable write failed",
    RELAY_METRIC_COUNTER, NULL, CHN(put_errors), FALSE, NULL, _durable },
  { "EventTakeErrorCount", "relayd_channel_take_errors_total", "Events that could not be read back from disk",
    RELAY_METRIC_COUNTER, NULL, CHN(take_errors), FALSE, NULL, _durable },
  { "CheckpointWriteErrorCount", "relayd_channel_checkpoint_write_errors_total", "Checkpoints that failed",
    RELAY_METRIC_COUNTER, NULL, CHN(checkpoint_write_errors), FALSE, NULL, _durable },
  { "CheckpointBackupWriteErrorCount", "relayd_channel_checkpoint_backup_write_errors_total",
    "Backup checkpoints that failed", RELAY_METRIC_COUNTER, NULL, CHN(checkpoint_backup_write_errors), FALSE,
    NULL, _durable },
  { NULL },
};

static const RelayMetricDef _sink_defs[] = {
  { "ConnectionCreatedCount", "relayd_sink_connections_created_total", "Connections (or files) opened",
    RELAY_METRIC_COUNTER, NULL, SNK(connection_created) },
  { "ConnectionClosedCount", "relayd_sink_connections_closed_total", "Connections (or files) closed",
    RELAY_METRIC_COUNTER, NULL, SNK(connection_closed) },
  { "ConnectionFailedCount", "relayd_sink_connections_failed_total", "Connection (or file open) failures",
    RELAY_METRIC_COUNTER, NULL, SNK(connection_failed) },
  { "BatchEmptyCount", "relayd_sink_batches_empty_total", "Cycles that found the channel empty",
    RELAY_METRIC_COUNTER, NULL, SNK(batch_empty) },
  { "BatchUnderflowCount", "relayd_sink_batches_underflow_total", "Batches smaller than batch-size",
    RELAY_METRIC_COUNTER, NULL, SNK(batch_underflow) },
  { "BatchCompleteCount", "relayd_sink_batches_complete_total", "Full batches", RELAY_METRIC_COUNTER, NULL,
    SNK(batch_complete) },
  { "EventDrainAttemptCount", "relayd_sink_drain_attempts_total", "Events the sink tried to deliver",
    RELAY_METRIC_COUNTER, NULL, SNK(event_drain_attempt) },
  { "EventDrainSuccessCount", "relayd_sink_drain_success_total",
    "Events delivered (the next hop committed them) and taken out of the channel", RELAY_METRIC_COUNTER, NULL,
    SNK(event_drain_success) },
  { "EventWriteFail", "relayd_sink_event_write_fail_total", "Deliveries that failed and were rolled back",
    RELAY_METRIC_COUNTER, NULL, SNK(event_write_fail) },
  { "ChannelReadFail", "relayd_sink_channel_read_fail_total", "Takes from the channel that failed",
    RELAY_METRIC_COUNTER, NULL, SNK(channel_read_fail) },
  { "BytesSent", "relayd_sink_bytes_sent_total", "Bytes written to the next hop or file",
    RELAY_METRIC_COUNTER, NULL, SNK(bytes_sent) },
  /* ---- TLS (issue 13) ---- */
  { "TlsErrorUntrustedCount", "relayd_sink_tls_errors_total",
    "TLS connections to the next hop that failed, by reason", RELAY_METRIC_COUNTER,
    "reason=\"untrusted-certificate\"", SNK(tls_errors[RELAY_TLS_FAIL_UNTRUSTED]) },
  { "TlsErrorExpiredCount", "relayd_sink_tls_errors_total", NULL, RELAY_METRIC_COUNTER,
    "reason=\"certificate-expired\"", SNK(tls_errors[RELAY_TLS_FAIL_EXPIRED]) },
  { "TlsErrorNotYetValidCount", "relayd_sink_tls_errors_total", NULL, RELAY_METRIC_COUNTER,
    "reason=\"certificate-not-yet-valid\"", SNK(tls_errors[RELAY_TLS_FAIL_NOT_YET_VALID]) },
  { "TlsErrorHostnameCount", "relayd_sink_tls_errors_total", NULL, RELAY_METRIC_COUNTER,
    "reason=\"hostname-mismatch\"", SNK(tls_errors[RELAY_TLS_FAIL_HOSTNAME]) },
  { "TlsErrorNoClientCertCount", "relayd_sink_tls_errors_total", NULL, RELAY_METRIC_COUNTER,
    "reason=\"no-client-certificate\"", SNK(tls_errors[RELAY_TLS_FAIL_NO_PEER_CERT]) },
  { "TlsErrorSubjectCount", "relayd_sink_tls_errors_total", NULL, RELAY_METRIC_COUNTER,
    "reason=\"subject-not-allowed\"", SNK(tls_errors[RELAY_TLS_FAIL_SUBJECT]) },
  { "TlsErrorPlaintextCount", "relayd_sink_tls_errors_total", NULL, RELAY_METRIC_COUNTER,
    "reason=\"plaintext-on-tls-port\"", SNK(tls_errors[RELAY_TLS_FAIL_PLAINTEXT]) },
  { "TlsErrorTlsOnPlaintextCount", "relayd_sink_tls_errors_total", NULL, RELAY_METRIC_COUNTER,
    "reason=\"tls-on-plaintext-port\"", SNK(tls_errors[RELAY_TLS_FAIL_TLS_ON_PLAIN]) },
  { "TlsErrorTimeoutCount", "relayd_sink_tls_errors_total", NULL, RELAY_METRIC_COUNTER,
    "reason=\"handshake-timeout\"", SNK(tls_errors[RELAY_TLS_FAIL_TIMEOUT]) },
  { "TlsErrorPeerRejectedCount", "relayd_sink_tls_errors_total", NULL, RELAY_METRIC_COUNTER,
    "reason=\"rejected-by-peer\"", SNK(tls_errors[RELAY_TLS_FAIL_PEER_REJECTED]) },
  { "TlsErrorHandshakeCount", "relayd_sink_tls_errors_total", NULL, RELAY_METRIC_COUNTER,
    "reason=\"handshake-failed\"", SNK(tls_errors[RELAY_TLS_FAIL_HANDSHAKE]) },
  /* ---- Kafka (issue 18) ---- */
  { "KafkaEventSendTimer", "relayd_sink_kafka_event_send_ms_total",
    "Milliseconds spent producing batches to Kafka and awaiting their acknowledgements", RELAY_METRIC_COUNTER,
    NULL, SNK(kafka_event_send_time_ms), FALSE, NULL, _is_kafka },
  { "RollbackCount", "relayd_sink_rollbacks_total", "Batches rolled back after a failed Kafka delivery",
    RELAY_METRIC_COUNTER, NULL, SNK(rollback_count), FALSE, NULL, _is_kafka },
  { NULL },
};

static const RelayMetricDef _group_defs[] = {
  { "SinkFailureCount", "relayd_sinkgroup_sink_failures_total", "Cycles in which a member sink failed",
    RELAY_METRIC_COUNTER, NULL, GRP(sink_failures) },
  { "FailoverCount", "relayd_sinkgroup_failovers_total",
    "Times the active sink failed and the failover processor moved to the next", RELAY_METRIC_COUNTER, NULL,
    GRP(failovers) },
  { "BackoffCount", "relayd_sinkgroup_backoffs_total", "Cycles that found nothing to deliver",
    RELAY_METRIC_COUNTER, NULL, GRP(backoffs) },
  { NULL },
};

const RelayMetricDef *
relay_metric_defs(RelayKind kind)
{
  switch (kind)
    {
    case RELAY_KIND_SOURCE:
      return _source_defs;
    case RELAY_KIND_CHANNEL:
      return _channel_defs;
    case RELAY_KIND_SINK:
      return _sink_defs;
    case RELAY_KIND_SINKGROUP:
      return _group_defs;
    case RELAY_KIND_N:
      break;
    }
  g_return_val_if_reached(_group_defs + G_N_ELEMENTS(_group_defs) - 1);
}

/* Where a subject's counters start: the counters struct of its base, or the processor itself. */
static gconstpointer
_counters_base(const RelayMetricSubject *s)
{
  switch (s->kind)
    {
    case RELAY_KIND_SOURCE:
      return &((const RelaySource *)s->object)->counters;
    case RELAY_KIND_CHANNEL:
      return &((const RelayChannel *)s->object)->counters;
    case RELAY_KIND_SINK:
      return &((const RelaySink *)s->object)->counters;
    default:
      return s->object;
    }
}

gboolean
relay_metric_applies(const RelayMetricDef *def, const RelayMetricSubject *subject)
{
  return !def->applies || def->applies(subject);
}

double
relay_metric_value(const RelayMetricDef *def, const RelayMetricSubject *subject)
{
  if (def->get)
    return def->get(subject);
  const guint8 *base = _counters_base(subject);
  return (double)relay_counter_get((const gint64 *)(base + def->offset));
}

double
relay_metric_value_of(const RelayMetricSubject *subject, const char *attr)
{
  for (const RelayMetricDef *def = relay_metric_defs(subject->kind); def->attr || def->family; def++)
    if (def->attr && strcmp(def->attr, attr) == 0)
      return relay_metric_value(def, subject);
  return 0;
}

/* ---- snapshots ---- */

static void
_add_component(RelayMetricsSnapshot *snap, RelayKind kind, RelayComponent *component)
{
  RelayMetricSubject s = {
    .kind = kind,
    .name = component->name,
    .type = component->klass->type,
    .start_time_ms = component->start_time_ms,
    .stop_time_ms = component->stop_time_ms,
    .running = component->state == RELAY_STATE_STARTED,
    .object = component,
  };
  g_array_append_val(snap->subjects, s);
}

static void
_add_group(RelayMetricsSnapshot *snap, RelaySinkRunner *runner)
{
  RelaySinkProcessor *proc = relay_sink_runner_processor(runner);

  if (proc->klass == &relay_sink_processor_default_class)
    return; /* a standalone sink: no group of its own */
  RelayMetricSubject s = {
    .kind = RELAY_KIND_SINKGROUP,
    .name = proc->name,
    .type = proc->klass->type,
    .start_time_ms = proc->start_time_ms,
    .stop_time_ms = proc->stop_time_ms,
    .running = relay_sink_runner_running(runner),
    .object = proc,
  };
  g_array_append_val(snap->subjects, s);
}

RelayMetricsSnapshot *
relay_metrics_snapshot(RelayAgent *agent, gint64 process_start_ms)
{
  RelayMetricsSnapshot *snap = g_new0(RelayMetricsSnapshot, 1);

  snap->agent = agent->name;
  snap->now_ms = g_get_real_time() / 1000;
  snap->process_start_ms = process_start_ms;
  snap->down = agent->down;
  snap->subjects = g_array_new(FALSE, FALSE, sizeof(RelayMetricSubject));
  for (guint i = 0; i < agent->sources->len; i++)
    _add_component(snap, RELAY_KIND_SOURCE, g_ptr_array_index(agent->sources, i));
  for (guint i = 0; i < agent->channels->len; i++)
    _add_component(snap, RELAY_KIND_CHANNEL, g_ptr_array_index(agent->channels, i));
  for (guint i = 0; i < agent->sinks->len; i++)
    _add_component(snap, RELAY_KIND_SINK, g_ptr_array_index(agent->sinks, i));
  for (guint i = 0; i < agent->runners->len; i++)
    _add_group(snap, g_ptr_array_index(agent->runners, i));
  return snap;
}

void
relay_metrics_snapshot_free(RelayMetricsSnapshot *snap)
{
  if (!snap)
    return;
  g_array_free(snap->subjects, TRUE);
  g_free(snap);
}

gboolean
relay_metrics_subject_up(const RelayMetricSubject *subject, const char **why)
{
  if (!subject->running)
    {
      *why = subject->start_time_ms ? "stopped" : "not started";
      return FALSE;
    }
  if (subject->kind == RELAY_KIND_CHANNEL && ((const RelayChannel *)subject->object)->unread_reason)
    {
      *why = ((const RelayChannel *)subject->object)->unread_reason;
      return FALSE;
    }
  if (subject->kind == RELAY_KIND_CHANNEL && _durable(subject)
      && relay_counter_get(&((const RelayChannel *)subject->object)->counters.unhealthy))
    {
      *why = "unhealthy: the last disk write failed, puts are refused";
      return FALSE;
    }
  return TRUE;
}
