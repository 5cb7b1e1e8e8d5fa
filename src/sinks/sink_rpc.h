/* sink_rpc.h - the RPC sink shared by the Avro and Thrift sinks (Flume's AbstractRpcSink).
 *
 * A concrete RPC sink class embeds RelayRpcSink as `super`, lists RELAY_RPC_SINK_OPTIONS(Type) rows plus its
 * own in its option table, and sets `protocol` (and protocol_config) in its configure(). Batch cycle per
 * Flume's AbstractRpcSink.process (flume-ng-core/src/main/java/org/apache/flume/sink/AbstractRpcSink.java):
 * reset the connection when reset-connection-interval elapsed; take up to batch-size events in one
 * transaction; none -> commit, BACKOFF; otherwise one appendBatch, commit on OK, roll back on anything else
 * (FAILED, error, timeout, lost connection), close the connection, FAILED. */
#ifndef RELAY_SINK_RPC_H_INCLUDED
#define RELAY_SINK_RPC_H_INCLUDED

#include "relay.h"
#include "log.h"
#include "options.h"
#include "outage_log.h"
#include "rpc_client.h"
#include "sink.h"

typedef struct
{
  RelaySink super;
  /* options */
  char *hostname;
  gint64 port;
  gint64 batch_size;
  gint64 connect_timeout_ms;
  gint64 request_timeout_ms;
  gint64 reset_connection_interval_s;
  RelayTlsOptions tls;
  RelayTls *tls_ctx; /* when ssl = true */
  /* set by the concrete class */
  const RelayRpcProtocol *protocol;
  gconstpointer protocol_config;
  gboolean deflate;
  int compression_level;
  /* runtime, owned by the runner thread */
  RelayRpcClient *client;
  gint64 connected_at_us;
  RelayEvent **batch;
  RelayRateLimit fail_limit;
  RelayOutageLog outage; /* the next hop unreachable: logged once, a summary a minute, the recovery */
} RelayRpcSink;

/* Option rows common to RPC sinks; Flume replaces timeouts below 1000 ms by 20000 (LENIENT here). */
#define RELAY_RPC_SINK_OPTIONS(T)                                                                            \
  RELAY_OPT_STRING_ROW("hostname", NULL, T, super.hostname, RELAY_OPTF_REQUIRED,                             \
                       "next hop host name or address"),                                                     \
      RELAY_OPT_INT_ROW("port", NULL, 1, 65535, T, super.port, RELAY_OPTF_REQUIRED, "next hop port"),        \
      RELAY_OPT_INT_ROW("batch-size", "100", 1, 1000000, T, super.batch_size,                                \
                        RELAY_OPTF_LENIENT | RELAY_OPTF_BATCH_SIZE, "events per appendBatch"),               \
      RELAY_OPT_INT_ROW("connect-timeout", "20000", 1000, G_MAXINT32, T, super.connect_timeout_ms,           \
                        RELAY_OPTF_LENIENT,                                                                  \
                        "ms to wait for the TCP connection (below 1000: 20000, as Flume)"),                  \
      RELAY_OPT_INT_ROW("request-timeout", "20000", 1000, G_MAXINT32, T, super.request_timeout_ms,           \
                        RELAY_OPTF_LENIENT, "ms to wait for a reply (below 1000: 20000, as Flume)"),         \
      RELAY_OPT_INT_ROW("reset-connection-interval", "0", 0, G_MAXINT32, T,                                  \
                        super.reset_connection_interval_s, 0,                                                \
                        "seconds after which the connection is re-established (0 = never)"),                 \
      RELAY_TLS_CLIENT_OPTIONS(T, super.tls)

/* For the concrete class's configure(): with ssl = true loads the TLS context (FALSE after a report line
 * when it cannot be loaded). */
gboolean relay_rpc_sink_check_common(RelayRpcSink *self, const RelayComponentConfig *cc,
                                     RelayConfigReport *report);
/* For the concrete class's free(). */
void relay_rpc_sink_free(RelayComponent *self);

/* For the concrete class: start/stop/free and process. */
gboolean relay_rpc_sink_start(RelayComponent *self, GError **error);
void relay_rpc_sink_stop(RelayComponent *self);
/* Runs in: the sink runner thread. */
RelaySinkStatus relay_rpc_sink_process(RelaySink *self);

#endif
