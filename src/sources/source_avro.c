/* source_avro.c - the Avro RPC source (type avro): Flume's AvroSource on relayd's RPC server.
 *
 * Per connection: the handshake is expected on every request until one succeeded (BOTH or CLIENT), then
 * never again (Avro's stateful Netty transport); a NONE answer carries only the handshake (the call is not
 * executed, the client resends with its protocol); the empty-name ping is answered with the handshake only.
 * append and appendBatch go to the channel processor and are answered after the commit: OK, or FAILED when
 * the channels had no room within their keep-alive (never an error response for a full channel). Like
 * Flume, a failure other than a full channel answers append with an error response and appendBatch with
 * FAILED; an unknown message name gets an error response. Malformed input or a broken limit closes the
 * connection with one rate-limited log line and a counter. `threads` is accepted and has no effect.
 *
 * transport = http (relayd's key; Flume's AvroSource has only Netty) serves Avro's standard HTTP transport
 * instead (avro_http.h): one POST per call, a handshake in every request (stateless), the reply sent as the
 * HTTP response after the commit, so a full channel answers 200 with Status FAILED. Malformed HTTP gets a
 * 4xx response and the connection closed, counted like any protocol error. With ssl it is HTTPS: the RPC
 * server's TLS layer sits under either transport. */
#include "avro_http.h"
#include "avro_proto.h"
#include "log.h"
#include "rpc_server.h"
#include "net.h"
#include "source.h"

#include <string.h>

typedef struct
{
  RelaySource super;
  char *bind;
  gint64 port;
  gint64 threads;
  int compression_type;
  int transport; /* 0: netty, 1: http */
  gint64 compression_level;
  gboolean ip_filter;
  char *ip_filter_rules;
  RelayTlsOptions tls;
  RelayTls *tls_ctx;
  gint64 max_pack_bytes, max_buffers, max_batch_events, max_headers, max_header_bytes, max_body_bytes;
  RelayRpcConnLimits conn; /* max-connections, incomplete-request-timeout, idle-timeout */
  gint64 max_inflated_bytes;
  RelayAvroLimits limits;
  RelayAvroHandshakeCache *cache;
  RelayRpcServer *server;
} RelayAvroSource;

typedef struct
{
  RelayAvroSource *source;
  gboolean established;
  RelayAvroFrame frame;
  RelayAvroDecoder *decoder;
  RelayAvroHttp http; /* transport = http only */
} RelayAvroConnSession;

typedef struct
{
  gint32 serial;
  gboolean is_batch;
  gboolean has_handshake;
  RelayAvroHandshakeResponse handshake; /* borrows static protocol text */
  gboolean http, http_close;            /* transport = http: wrap the reply in an HTTP response */
} RelayAvroReplyCtx;

static const char *const _compressions[] = { "none", "deflate", NULL };
static const char *const _transports[] = { "netty", "http", NULL };

#define LIMIT_ROW(key, def, max, field, help)                                                                \
  RELAY_OPT_INT_ROW(key, def, 0, max, RelayAvroSource, field, 0, help)

static const RelayOption _options[] = {
  RELAY_OPT_STRING_ROW("bind", NULL, RelayAvroSource, bind, RELAY_OPTF_REQUIRED, "address to listen on"),
  RELAY_OPT_INT_ROW("port", NULL, 0, 65535, RelayAvroSource, port, RELAY_OPTF_REQUIRED, "port to listen on"),
  RELAY_OPT_INT_ROW("threads", "0", 0, G_MAXINT32, RelayAvroSource, threads, RELAY_OPTF_IGNORED,
                    "accepted for Flume compatibility; one event loop serves all connections"),
  RELAY_OPT_ENUM_ROW("compression-type", "none", _compressions, RelayAvroSource, compression_type, 0,
                     "none or deflate (must match the clients)"),
  RELAY_OPT_INT_ROW("compression-level", "6", 1, 9, RelayAvroSource, compression_level, 0,
                    "zlib level of replies (Flume uses 6)"),
  RELAY_OPT_ENUM_ROW("transport", "netty", _transports, RelayAvroSource, transport, 0,
                     "netty: Flume's framing; http: Avro's HTTP transport (POST avro/binary, a handshake per "
                     "request) for stock Avro RPC clients"),
  RELAY_OPT_BOOL_ROW("ipFilter", "false", RelayAvroSource, ip_filter, 0, "apply ipFilterRules"),
  RELAY_OPT_STRING_ROW("ipFilterRules", NULL, RelayAvroSource, ip_filter_rules, 0,
                       "comma-separated allow|deny:ip|name:pattern, first match wins"),
  RELAY_TLS_SERVER_OPTIONS(RelayAvroSource, tls),
  RELAY_TLS_DEFLATE_ORDER_ROW(RelayAvroSource, tls),
  LIMIT_ROW("max-pack-bytes", "67108864", 1073741824, max_pack_bytes, "largest request pack"),
  LIMIT_ROW("max-buffers", "16384", 10000000, max_buffers, "most buffers in one pack"),
  LIMIT_ROW("max-batch-events", "100000", 10000000, max_batch_events, "most events in one appendBatch"),
  LIMIT_ROW("max-headers", "1024", 65535, max_headers, "most headers per event"),
  LIMIT_ROW("max-header-bytes", "1048576", 268435456, max_header_bytes, "longest header key or value"),
  LIMIT_ROW("max-body-bytes", "67108864", 268435456, max_body_bytes, "longest event body"),
  RELAY_RPC_CONN_LIMIT_OPTIONS(RelayAvroSource, conn),
  RELAY_OPT_INT_ROW(
      "max-inflated-bytes", "134217728", 0, G_MAXINT64, RelayAvroSource, max_inflated_bytes, 0,
      "inflated bytes buffered by all deflate connections of the source together (0: unlimited)"),
  RELAY_OPTION_END,
};

/* ---------------------------------------------------------------- connection protocol */

static gpointer
_session_new(gconstpointer config)
{
  RelayAvroSource *source = (RelayAvroSource *)config;
  RelayAvroConnSession *s = g_new0(RelayAvroConnSession, 1);

  s->source = source;
  relay_avro_frame_init(&s->frame);
  s->decoder = relay_avro_decoder_new(&source->limits);
  if (source->transport == 1)
    relay_avro_http_init(&s->http);
  return s;
}

static void
_session_free(gpointer session)
{
  RelayAvroConnSession *s = session;

  relay_avro_frame_clear(&s->frame);
  relay_avro_decoder_free(s->decoder);
  relay_avro_http_clear(&s->http);
  g_free(s);
}

static void
_fail(RelayRpcRequest *out, const RelayAvroError *err)
{
  char buf[256];

  out->kind = RELAY_RPC_REQ_ERROR;
  out->error = g_strdup(relay_avro_error_format(err, buf, sizeof buf));
  out->over_limit = err->limit != RELAY_AVRO_NO_VALUE;
}

/* Decodes and resolves the handshake of a not yet established connection. FALSE on error (out set). */
static gboolean
_handshake(RelayAvroConnSession *s, RelayAvroHandshakeResponse *hs, RelayRpcRequest *out)
{
  RelayAvroHandshakeRequest req;
  RelayAvroError err;

  if (relay_avro_decode_handshake_request(s->decoder, &req) != RELAY_AVRO_OK)
    {
      _fail(out, relay_avro_decoder_error(s->decoder));
      return FALSE;
    }
  if (relay_avro_handshake_resolve(s->source->cache, &req, hs, &err) != RELAY_AVRO_OK)
    {
      _fail(out, &err);
      return FALSE;
    }
  s->established = hs->match != RELAY_AVRO_MATCH_NONE;
  return TRUE;
}

static void
_events_request(RelayAvroConnSession *s, const RelayAvroCall *call, const RelayAvroHandshakeResponse *hs,
                RelayRpcRequest *out)
{
  GPtrArray *events = g_ptr_array_new_with_free_func(relay_event_unref_notify);

  if (relay_avro_decode_events(s->decoder, call->message, events) != RELAY_AVRO_OK)
    {
      g_ptr_array_unref(events);
      _fail(out, relay_avro_decoder_error(s->decoder));
      return;
    }
  RelayAvroReplyCtx *ctx = g_new0(RelayAvroReplyCtx, 1);
  ctx->serial = s->frame.serial;
  ctx->is_batch = call->message == RELAY_AVRO_MSG_APPEND_BATCH;
  ctx->has_handshake = hs != NULL;
  if (hs)
    ctx->handshake = *hs;
  out->kind = RELAY_RPC_REQ_EVENTS;
  out->events = events;
  out->is_batch = ctx->is_batch;
  out->reply_ctx = ctx;
}

static void
_dispatch_call(RelayAvroConnSession *s, const RelayAvroHandshakeResponse *hs, RelayRpcRequest *out)
{
  RelayAvroCall call;
  gint32 serial = s->frame.serial;

  if (relay_avro_decode_call(s->decoder, &call) != RELAY_AVRO_OK)
    return _fail(out, relay_avro_decoder_error(s->decoder));
  switch (call.message)
    {
    case RELAY_AVRO_MSG_PING:
      out->kind = RELAY_RPC_REQ_REPLY;
      relay_avro_encode_handshake_reply(out->reply, serial, hs);
      return;
    case RELAY_AVRO_MSG_UNKNOWN:
      {
        char *msg = g_strdup_printf("unknown message: %.*s", (int)MIN(call.name_len, 128), call.name);
        out->kind = RELAY_RPC_REQ_REPLY;
        relay_avro_encode_error_reply(out->reply, serial, hs, msg);
        g_free(msg);
        return;
      }
    case RELAY_AVRO_MSG_APPEND:
    case RELAY_AVRO_MSG_APPEND_BATCH:
      _events_request(s, &call, hs, out);
      return;
    }
}

/* ---- transport = http ---- */

/* Rewrites the Netty pack the reply encoders wrote into reply[start..] as an HTTP response. */
static void
_http_wrap(GByteArray *reply, guint start, gboolean close)
{
  GByteArray *pack = g_byte_array_sized_new(reply->len - start);

  g_byte_array_append(pack, reply->data + start, reply->len - start);
  g_byte_array_set_size(reply, start);
  relay_avro_http_reply_from_pack(reply, pack->data, pack->len, close);
  g_byte_array_unref(pack);
}

/* A request that cannot be served: a 4xx response, then the connection is closed. */
static void
_http_fail(RelayRpcRequest *out, int status, const RelayAvroError *err)
{
  char buf[256];

  _fail(out, err);
  g_byte_array_set_size(out->reply, 0);
  relay_avro_http_error_reply(out->reply, status, relay_avro_error_format(err, buf, sizeof buf));
}

/* The 400 response for an Avro-level error already in out (malformed, or over a limit such as
 * max-batch-events); the connection is closed after it. */
static void
_http_error_reply(RelayRpcRequest *out)
{
  g_byte_array_set_size(out->reply, 0);
  relay_avro_http_error_reply(out->reply, 400, out->error ? out->error : "bad request");
}

/* One POST: the handshake is in every request (Avro's HTTP transport is stateless). */
static void
_parse_http_request(RelayAvroConnSession *s, const guint8 *buf, gsize len, RelayRpcRequest *out)
{
  RelayAvroHandshakeResponse hs;
  RelayAvroResult r = relay_avro_http_parse(&s->http, buf, len, &s->source->limits);

  if (r == RELAY_AVRO_NEED_MORE)
    return;
  if (r == RELAY_AVRO_ERROR)
    {
      _http_fail(out, s->http.status, &s->http.error);
      out->over_limit = s->http.status == 413 || s->http.status == 431;
      return;
    }
  out->consumed = s->http.consumed;
  s->frame.serial = 0;
  relay_avro_decoder_begin(s->decoder, s->http.slices, s->http.n_slices);
  if (!_handshake(s, &hs, out))
    return _http_error_reply(out);
  if (hs.match == RELAY_AVRO_MATCH_NONE)
    {
      out->kind = RELAY_RPC_REQ_REPLY; /* not executed: the client sends it again with its protocol */
      relay_avro_encode_handshake_reply(out->reply, 0, &hs);
      return _http_wrap(out->reply, 0, s->http.close);
    }
  _dispatch_call(s, &hs, out);
  if (out->kind == RELAY_RPC_REQ_REPLY)
    _http_wrap(out->reply, 0, s->http.close);
  else if (out->kind == RELAY_RPC_REQ_ERROR)
    _http_error_reply(out);
  else if (out->kind == RELAY_RPC_REQ_EVENTS)
    {
      RelayAvroReplyCtx *ctx = out->reply_ctx;
      ctx->http = TRUE;
      ctx->http_close = s->http.close;
    }
}

static void
_parse_request(gpointer session, const guint8 *buf, gsize len, RelayRpcRequest *out)
{
  RelayAvroConnSession *s = session;
  RelayAvroHandshakeResponse hs;
  gboolean had_handshake = !s->established;

  if (s->source->transport == 1)
    return _parse_http_request(s, buf, len, out);
  RelayAvroResult r = relay_avro_frame_parse(buf, len, &s->source->limits, &s->frame);
  if (r == RELAY_AVRO_NEED_MORE)
    return;
  if (r == RELAY_AVRO_ERROR)
    return _fail(out, &s->frame.error);
  out->consumed = s->frame.consumed;
  relay_avro_decoder_begin(s->decoder, s->frame.slices, s->frame.n_slices);
  if (had_handshake && !_handshake(s, &hs, out))
    return;
  if (had_handshake && hs.match == RELAY_AVRO_MATCH_NONE)
    {
      out->kind = RELAY_RPC_REQ_REPLY; /* the call is not executed; the client resends with its protocol */
      relay_avro_encode_handshake_reply(out->reply, s->frame.serial, &hs);
      return;
    }
  _dispatch_call(s, had_handshake ? &hs : NULL, out);
}

static void
_encode_reply(gpointer session, gpointer reply_ctx, RelayPutResult result, GByteArray *out)
{
  RelayAvroReplyCtx *ctx = reply_ctx;
  const RelayAvroHandshakeResponse *hs = ctx->has_handshake ? &ctx->handshake : NULL;
  guint start = out->len;

  if (result == RELAY_PUT_ERROR && !ctx->is_batch)
    relay_avro_encode_error_reply(out, ctx->serial, hs, "org.apache.flume.ChannelException: channel error");
  else
    relay_avro_encode_status_reply(out, ctx->serial, hs,
                                   result == RELAY_PUT_OK ? RELAY_AVRO_STATUS_OK : RELAY_AVRO_STATUS_FAILED);
  if (ctx->http)
    _http_wrap(out, start, ctx->http_close);
  g_free(ctx);
}

/* The first bytes of a connection whose first request could not be parsed (see rpc_server.h). */
static const char *
_mismatch_hint(gconstpointer config, const guint8 *first, gsize len)
{
  const RelayAvroSource *self = config;

  if (self->compression_type == 0 && len >= 2 && (first[0] & 0x0f) == 8
      && ((first[0] << 8) | first[1]) % 31 == 0)
    return "the client compresses (a zlib stream) and this source has compression-type = none: set "
           "compression-type = deflate on this source or none on the client";
  if (len >= 4 && memcmp(first, "\x80\x01\x00", 3) == 0)
    return "the client speaks Thrift's binary protocol: this is an Avro source (use a thrift source, or "
           "the client's Avro RPC: client.type = default, relay-send without --thrift)";
  if (len >= 5 && first[4] == 0x82)
    return "the client looks like a framed Thrift compact client: this is an Avro source (use a thrift "
           "source, or the client's Avro RPC)";
  return NULL;
}

static const RelayRpcServerProtocol _server_protocol = {
  .name = "avro",
  .session_new = _session_new,
  .session_free = _session_free,
  .parse_request = _parse_request,
  .encode_reply = _encode_reply,
  .free_reply_ctx = g_free,
  .mismatch_hint = _mismatch_hint,
};

/* ---------------------------------------------------------------- component */

static gboolean
_configure(RelayComponent *component, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  RelayAvroSource *self = (RelayAvroSource *)component;
  char *why = NULL;

  if (!relay_tls_component_configure(&self->tls, TRUE, component->log_prefix, cc, report, &self->tls_ctx))
    return FALSE;
  if (self->transport == 1 && self->compression_type == 1)
    {
      relay_config_report_add(report, relay_component_config_get(cc, "compression-type"), cc->label,
                              "compression-type",
                              "deflate is not available with transport = http (Avro's HTTP transport has no "
                              "compression); source %s removed",
                              cc->name);
      return FALSE;
    }
  if (self->ip_filter && !relay_ip_filter_rules_valid(self->ip_filter_rules, &why))
    {
      relay_config_report_add(report, relay_component_config_where(cc), cc->label, "ipFilterRules",
                              "%s; source %s removed", why, cc->name);
      g_free(why);
      return FALSE;
    }
  relay_avro_limits_init(&self->limits);
  self->limits.max_pack_bytes = (guint32)self->max_pack_bytes;
  self->limits.max_buffers = (guint32)self->max_buffers;
  self->limits.max_batch_events = (guint32)self->max_batch_events;
  self->limits.max_headers = (guint32)self->max_headers;
  self->limits.max_header_bytes = (guint32)self->max_header_bytes;
  self->limits.max_body_bytes = (guint32)self->max_body_bytes;
  return TRUE;
}

static void _stop(RelayComponent *component);

static gboolean
_start(RelayComponent *component, GError **error)
{
  RelayAvroSource *self = (RelayAvroSource *)component;
  RelayRpcServerConfig cfg = {
    .bind = self->bind,
    .port = (int)self->port,
    .max_request_bytes
    = (gsize)self->max_pack_bytes + (self->transport == 1 ? RELAY_AVRO_HTTP_MAX_HEADER_BYTES : 0),
    .max_output_bytes = 1 << 20,
    .max_inflated_bytes = (gsize)self->max_inflated_bytes,
    .deflate = self->compression_type == 1,
    .compression_level = (int)self->compression_level,
    .ip_filter_rules = self->ip_filter ? self->ip_filter_rules : NULL,
    .protocol_config = self,
    .tls = self->tls_ctx,
    .deflate_inside_tls = self->tls.deflate_order == RELAY_TLS_DEFLATE_INSIDE,
  };

  self->cache = relay_avro_handshake_cache_new();
  relay_rpc_conn_limits_apply(&cfg, &self->conn);
  self->server = relay_rpc_server_new(&self->super, &_server_protocol, &cfg);
  if (relay_rpc_server_start(self->server, error))
    return TRUE;
  _stop(component); /* a source that failed to start is freed without stop() */
  return FALSE;
}

static void
_stop(RelayComponent *component)
{
  RelayAvroSource *self = (RelayAvroSource *)component;

  relay_rpc_server_free(self->server);
  self->server = NULL;
  relay_avro_handshake_cache_free(self->cache);
  self->cache = NULL;
}

static void
_free(RelayComponent *component)
{
  RelayAvroSource *self = (RelayAvroSource *)component;

  relay_tls_unref(self->tls_ctx);
}

/* For --check: the port must be free now (a socket is bound and closed again). */
static gboolean
_check_start(RelayComponent *component, GError **error)
{
  RelayAvroSource *self = (RelayAvroSource *)component;

  return relay_net_check_listen(self->bind, self->port, error);
}

const RelayComponentClass relay_source_avro_class = {
  .kind = RELAY_KIND_SOURCE,
  .type = "avro",
  .flume_class = "org.apache.flume.source.AvroSource",
  .description = "receives events from Avro RPC clients and Avro sinks (Flume's AvroSourceProtocol)",
  .options = _options,
  .instance_size = sizeof(RelayAvroSource),
  .configure = _configure,
  .free = _free,
  .start = _start,
  .stop = _stop,
  .check_start = _check_start,
};
