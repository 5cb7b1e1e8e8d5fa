/* sink_rpc.c - the RPC sink batch cycle shared by the Avro and Thrift sinks.
 *
 * Threads: start/stop run on the main thread while the runner is not running; process runs on the runner
 * thread, which owns the client (connection, buffers) while the runner lives. */
#include "sink_rpc.h"

#include "channel.h"
#include "counters.h"
#include "log.h"

gboolean
relay_rpc_sink_check_common(RelayRpcSink *self, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  return relay_tls_component_configure(&self->tls, FALSE, self->super.super.log_prefix, cc, report,
                                       &self->tls_ctx);
}

void
relay_rpc_sink_free(RelayComponent *component)
{
  RelayRpcSink *self = (RelayRpcSink *)component;

  relay_tls_unref(self->tls_ctx);
}

/* Counts the TLS reason of the client's last failure, if it was one. Runner thread. */
static void
_count_tls_failure(RelayRpcSink *self)
{
  int failure = relay_rpc_client_tls_failure(self->client);

  if (failure >= 0 && failure < RELAY_TLS_FAIL_N)
    relay_counter_inc(&self->super.counters.tls_errors[failure]);
}

gboolean
relay_rpc_sink_start(RelayComponent *component, GError **error)
{
  RelayRpcSink *self = (RelayRpcSink *)component;
  RelayRpcClientConfig cfg = {
    .host = self->hostname,
    .port = (int)self->port,
    .connect_timeout_ms = self->connect_timeout_ms,
    .request_timeout_ms = self->request_timeout_ms,
    .batch_size = self->batch_size,
    .deflate = self->deflate,
    .compression_level = self->compression_level,
    .abort_flag = &self->super.abort_requested,
    .protocol_config = self->protocol_config,
    .tls = self->tls_ctx,
    .deflate_inside_tls = self->tls.deflate_order == RELAY_TLS_DEFLATE_INSIDE,
  };

  g_assert(self->protocol);
  self->client = relay_rpc_client_new(self->protocol, &cfg);
  self->batch = g_new(RelayEvent *, self->batch_size);
  self->fail_limit = (RelayRateLimit)RELAY_RATELIMIT_INIT;
  relay_outage_log_init(&self->outage, RELAY_OUTAGE_SUMMARY_S);
  return TRUE;
}

void
relay_rpc_sink_stop(RelayComponent *component)
{
  RelayRpcSink *self = (RelayRpcSink *)component;

  if (self->client && relay_rpc_client_is_connected(self->client))
    relay_counter_inc(&self->super.counters.connection_closed);
  relay_rpc_client_free(self->client);
  self->client = NULL;
  g_clear_pointer(&self->batch, g_free);
}

static void
_disconnect(RelayRpcSink *self)
{
  if (!relay_rpc_client_is_connected(self->client))
    return;
  relay_rpc_client_disconnect(self->client);
  relay_counter_inc(&self->super.counters.connection_closed);
}

/* Connects if needed, honouring reset-connection-interval. FALSE if no connection could be made. */
static gboolean
_ensure_connected(RelayRpcSink *self)
{
  gint64 now = g_get_monotonic_time();

  if (self->reset_connection_interval_s > 0 && relay_rpc_client_is_connected(self->client)
      && now - self->connected_at_us >= self->reset_connection_interval_s * G_USEC_PER_SEC)
    {
      relay_debug(self->super.super.log_prefix, "reset-connection-interval elapsed, reconnecting");
      _disconnect(self);
    }
  if (relay_rpc_client_is_connected(self->client))
    return TRUE;
  char *detail = NULL;
  if (!relay_rpc_client_connect(self->client, &detail))
    {
      relay_counter_inc(&self->super.counters.connection_failed);
      _count_tls_failure(self);
      relay_outage_log_failure(&self->outage, RELAY_LOG_WARN, self->super.super.log_prefix, "%s", detail);
      g_free(detail);
      return FALSE;
    }
  relay_counter_inc(&self->super.counters.connection_created);
  self->connected_at_us = now;
  if (!relay_outage_log_success(&self->outage, self->super.super.log_prefix, "connected again peer=%s",
                                relay_rpc_client_peer(self->client)))
    relay_info(self->super.super.log_prefix, "connected peer=%s", relay_rpc_client_peer(self->client));
  return TRUE;
}

static RelaySinkStatus
_deliver(RelayRpcSink *self, RelayTxn *txn, guint n)
{
  RelaySinkCounters *c = &self->super.counters;
  char *detail = NULL;

  if (n < self->batch_size)
    relay_counter_inc(&c->batch_underflow);
  else
    relay_counter_inc(&c->batch_complete);
  relay_counter_add(&c->event_drain_attempt, n);
  RelayClientStatus status = relay_rpc_client_append_batch(self->client, self->batch, n, &detail);
  relay_counter_add(&c->bytes_sent, relay_rpc_client_take_bytes_sent(self->client));
  if (status == RELAY_CLIENT_OK && relay_txn_commit(txn) == RELAY_CHANNEL_OK)
    {
      relay_counter_add(&c->event_drain_success, n);
      relay_txn_close(txn);
      return RELAY_SINK_READY;
    }
  relay_txn_rollback(txn);
  relay_txn_close(txn);
  relay_counter_inc(&c->event_write_fail);
  _count_tls_failure(self);
  if (status != RELAY_CLIENT_ABORTED)
    relay_log_ratelimited(&self->fail_limit, RELAY_LOG_WARN, self->super.super.log_prefix,
                          "delivery failed, batch rolled back status=%s events=%u detail=%s",
                          relay_client_status_name(status), n, detail ? detail : "-");
  g_free(detail);
  _disconnect(self);
  return RELAY_SINK_FAILED;
}

RelaySinkStatus
relay_rpc_sink_process(RelaySink *sink)
{
  RelayRpcSink *self = (RelayRpcSink *)sink;

  if (!_ensure_connected(self))
    return RELAY_SINK_FAILED;
  RelayTxn *txn = relay_channel_begin(sink->channel);
  guint n = relay_txn_take(txn, self->batch, (guint)self->batch_size);
  if (n == 0)
    {
      relay_counter_inc(&sink->counters.batch_empty);
      relay_txn_commit(txn);
      relay_txn_close(txn);
      return RELAY_SINK_BACKOFF;
    }
  return _deliver(self, txn, n);
}
