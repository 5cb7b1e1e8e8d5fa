/* websocket.c - the websocket source plugin (type websocket): each text or binary message a WebSocket
 * client sends (RFC 6455) becomes one event, optionally acknowledged after the channel commit.
 *
 * A server source of relayd/plugin.h: relayd listens, limits connections, bounds the buffers, pauses
 * reading while a put is pending and provides TLS with the keys of its own TLS sources (ssl, keystore, ...),
 * so wss:// works with the same keystores and counters as the avro or syslog sources. The protocol lives in
 * ws_conn.c (connections), ws_frame.c (frames) and ws_handshake.c (the HTTP upgrade). Built on relayd's
 * libevent loop rather than libwebsockets: see the README's plugin section for the measurement and reasons.
 *
 * Threads: everything runs on relayd's main loop. */
#include "websocket.h"

#include <stdarg.h>
#include <string.h>

RELAYD_PLUGIN_DEFINE();

#define OPT(key, type, def, min, max, field, flags, help)                                                    \
  {                                                                                                          \
    key, type, def, min, max, offsetof(WsConfig, field), flags, NULL, help                                   \
  }

static const RelaydOption _options[] = {
  OPT("host", RELAYD_OPT_STRING, "0.0.0.0", 1, 0, host, 0, "address to listen on"),
  OPT("port", RELAYD_OPT_INT, NULL, 0, 65535, port, RELAYD_OPTF_REQUIRED, "port to listen on"),
  OPT("path", RELAYD_OPT_STRING, "/", 1, 0, path, 0,
      "request path of the WebSocket (the query string is ignored; other paths get 404)"),
  OPT("batchSize", RELAYD_OPT_INT, "100", 1, 100000, batch_size, RELAYD_OPTF_BATCH_SIZE,
      "most messages of one connection put in one transaction"),
  OPT("ack", RELAYD_OPT_BOOL, "false", 1, 0, ack, 0,
      "after the channel commit, answer each message with a text message holding its number on the "
      "connection (1, 2, ...)"),
  OPT("max-message-bytes", RELAYD_OPT_INT, "1048576", 1, 268435456, max_message_bytes, 0,
      "largest message (all its frames); a larger one closes the connection with status 1009"),
  OPT("max-connections", RELAYD_OPT_INT, "512", 1, 1000000, max_connections, 0,
      "concurrent connections; more are closed at once (keep below ulimit -n)"),
  OPT("handshake-timeout", RELAYD_OPT_INT, "10000", 100, 3600000, handshake_timeout_ms, 0,
      "ms a new connection has to send its upgrade request (after the TLS handshake)"),
  OPT("ping-interval", RELAYD_OPT_INT, "30", 0, 86400, ping_interval_s, 0,
      "seconds of silence before a ping; no answer within as long again closes the connection (0: never)"),
  RELAYD_OPTION_END,
};

void
ws_source_log_peer(WsSource *src, WsLogKind kind, const RelaydConn *conn, const char *fmt, ...)
{
  gint64 now = g_get_monotonic_time();
  va_list ap;
  char *msg;

  if (now < src->rl_next_us[kind])
    {
      src->rl_suppressed[kind]++;
      return;
    }
  va_start(ap, fmt);
  msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  relayd_log(src->self, RELAYD_LOG_WARN, "peer=%s %s (%u similar lines suppressed; at most one per %d s)",
             relayd_conn_peer(conn), msg, src->rl_suppressed[kind], WS_LOG_INTERVAL_S);
  g_free(msg);
  src->rl_suppressed[kind] = 0;
  src->rl_next_us[kind] = now + WS_LOG_INTERVAL_S * G_USEC_PER_SEC;
}

static int
_configure(RelaydComponent *self, RelaydError *error)
{
  WsConfig *cfg = relayd_component_config(self);
  WsSource *src;

  if (cfg->path[0] != '/' || strpbrk(cfg->path, " ?#\r\n"))
    {
      relayd_error_set(error, "path: '%s' is not an absolute request path (it must start with /)", cfg->path);
      return -1;
    }
  src = g_new0(WsSource, 1);
  src->cfg = cfg;
  src->self = self;
  relayd_component_set_data(self, src);
  return 0;
}

static int
_start(RelaydComponent *self, RelaydError *error)
{
  WsSource *src = relayd_component_data(self);
  WsConfig *cfg = src->cfg;

  src->base = relayd_source_event_base(self);
  src->server = relayd_server_new(self, cfg->host, cfg->port, (uint32_t)cfg->max_connections, 64 * 1024,
                                  256 * 1024, &ws_conn_handler, src, error);
  if (!src->server)
    return -1;
  relayd_log(self, RELAYD_LOG_INFO, "websocket path=%s ack=%s max-message-bytes=%" G_GINT64_FORMAT, cfg->path,
             cfg->ack ? "true" : "false", cfg->max_message_bytes);
  return 0;
}

static void
_stop(RelaydComponent *self)
{
  WsSource *src = relayd_component_data(self);

  relayd_server_free(src->server); /* closes every connection: uncommitted messages were never acknowledged */
  src->server = NULL;
}

static void
_destroy(RelaydComponent *self)
{
  g_free(relayd_component_data(self));
}

static const RelaydSourceClass _websocket_class = {
  .type = "websocket",
  .flume_class = NULL, /* Flume has no WebSocket source of its own */
  .description = "one event per text or binary message of WebSocket clients (ws:// or wss://), optionally "
                 "acknowledged after the commit",
  .options = _options,
  .config_size = sizeof(WsConfig),
  .lifecycle = { _configure, _start, _stop, _destroy },
};

int
relayd_plugin_register(RelaydRegistrar *registrar)
{
  return relayd_register_server_source(registrar, &_websocket_class);
}
