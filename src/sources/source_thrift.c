/* source_thrift.c - the Thrift RPC source (type thrift): Flume's ThriftSource on relayd's RPC server.
 *
 * Framed transport always; compact protocol by default, binary with protocol = binary (no
 * auto-detection, as Flume). Each frame is decoded in place into events (thrift_proto.c); the reply echoes
 * the request's seqid and method name and carries OK, or FAILED when the channels had no room within their
 * keep-alive. An unknown method gets a TApplicationException (UNKNOWN_METHOD) and the connection stays
 * open, as Thrift servers do; a malformed or oversize frame, or a frame size of 0 or below, closes the
 * connection with one rate-limited log line and a counter. `threads` is accepted and has no effect: one
 * event loop serves every connection. */
#include "rpc_server.h"
#include "net.h"
#include "source.h"
#include "thrift_proto.h"

#include <string.h>

typedef struct
{
  RelaySource super;
  char *bind;
  gint64 port;
  gint64 threads;
  int protocol;
  gint64 max_frame;
  gint64 max_batch_events;
  gint64 max_headers;
  RelayRpcConnLimits conn; /* max-connections, incomplete-request-timeout, idle-timeout */
  gboolean kerberos;
  RelayTlsOptions tls;
  RelayTls *tls_ctx;
  RelayThriftLimits limits;
  RelayRpcServer *server;
} RelayThriftSource;

typedef struct
{
  RelayThriftProtocol protocol;
  const RelayThriftLimits *limits;
} RelayThriftSourceSession;

typedef struct
{
  gint32 seqid;
  gboolean oneway;
  guint name_len;
  char name[RELAY_THRIFT_MAX_METHOD_NAME + 1];
} RelayThriftReplyCtx;

static const char *const _protocols[] = { "compact", "binary", NULL };

static const RelayOption _options[] = {
  RELAY_OPT_STRING_ROW("bind", NULL, RelayThriftSource, bind, RELAY_OPTF_REQUIRED, "address to listen on"),
  RELAY_OPT_INT_ROW("port", NULL, 0, 65535, RelayThriftSource, port, RELAY_OPTF_REQUIRED,
                    "port to listen on"),
  RELAY_OPT_INT_ROW("threads", "0", 0, G_MAXINT32, RelayThriftSource, threads, RELAY_OPTF_IGNORED,
                    "accepted for Flume compatibility; one event loop serves all connections"),
  RELAY_OPT_ENUM_ROW("protocol", "compact", _protocols, RelayThriftSource, protocol, 0, "compact or binary"),
  RELAY_OPT_INT_ROW("max-frame-bytes", "16384000", 64, 1073741824, RelayThriftSource, max_frame, 0,
                    "largest accepted frame (Thrift's default limit)"),
  RELAY_OPT_INT_ROW("max-batch-events", "100000", 1, 10000000, RelayThriftSource, max_batch_events, 0,
                    "most events in one appendBatch"),
  RELAY_OPT_INT_ROW("max-headers", "1024", 0, 65535, RelayThriftSource, max_headers, 0,
                    "most headers in one event"),
  RELAY_TLS_SERVER_OPTIONS(RelayThriftSource, tls),
  RELAY_OPT_BOOL_ROW("kerberos", "false", RelayThriftSource, kerberos, 0,
                     "Kerberos is not supported by relayd"),
  RELAY_RPC_CONN_LIMIT_OPTIONS(RelayThriftSource, conn),
  RELAY_OPTION_END,
};

static gpointer
_session_new(gconstpointer config)
{
  const RelayThriftSource *self = config;
  RelayThriftSourceSession *s = g_new(RelayThriftSourceSession, 1);

  s->protocol = self->protocol == 1 ? RELAY_THRIFT_BINARY : RELAY_THRIFT_COMPACT;
  s->limits = &self->limits;
  return s;
}

static void
_session_free(gpointer session)
{
  g_free(session);
}

static void
_set_error(RelayRpcRequest *out, const RelayThriftError *err)
{
  out->kind = RELAY_RPC_REQ_ERROR;
  out->error = g_strdup_printf("what=\"%s\" value=%" G_GINT64_FORMAT " limit=%" G_GINT64_FORMAT, err->reason,
                               err->value, err->limit);
  out->over_limit = err->limit >= 0;
}

static void
_parse_request(gpointer session, const guint8 *buf, gsize len, RelayRpcRequest *out)
{
  RelayThriftSourceSession *s = session;
  RelayThriftError err = { "?", -1, -1, 0 };
  RelayThriftCall call = { 0 };
  guint32 frame_len = 0;

  RelayThriftResult r = relay_thrift_frame_peek(buf, len, s->limits->max_frame, &frame_len, &err);
  if (r == RELAY_THRIFT_NEED_MORE)
    return;
  if (r != RELAY_THRIFT_OK)
    return _set_error(out, &err);
  out->consumed = RELAY_THRIFT_FRAME_HEADER + frame_len;
  r = relay_thrift_decode_call(s->protocol, buf + RELAY_THRIFT_FRAME_HEADER, frame_len, s->limits, &call,
                               &err);
  if (r == RELAY_THRIFT_OK)
    {
      RelayThriftReplyCtx *ctx = g_new(RelayThriftReplyCtx, 1);
      ctx->seqid = call.seqid;
      ctx->oneway = call.oneway;
      ctx->name_len = call.method_name_len;
      memcpy(ctx->name, call.method_name, sizeof ctx->name);
      out->kind = RELAY_RPC_REQ_EVENTS;
      out->events = call.events;
      out->is_batch = call.method == RELAY_THRIFT_METHOD_APPEND_BATCH;
      out->reply_ctx = ctx;
      call.events = NULL;
    }
  else if (r == RELAY_THRIFT_UNKNOWN_METHOD)
    {
      out->kind = RELAY_RPC_REQ_REPLY;
      relay_thrift_encode_exception(s->protocol, call.method_name, call.method_name_len, call.seqid,
                                    RELAY_THRIFT_EXC_UNKNOWN_METHOD, "Invalid method name", out->reply);
    }
  else
    _set_error(out, &err);
  relay_thrift_call_clear(&call);
}

static void
_encode_reply(gpointer session, gpointer reply_ctx, RelayPutResult result, GByteArray *out)
{
  RelayThriftSourceSession *s = session;
  RelayThriftReplyCtx *ctx = reply_ctx;

  if (!ctx->oneway)
    relay_thrift_encode_reply(s->protocol, ctx->name, ctx->name_len, ctx->seqid,
                              result == RELAY_PUT_OK ? RELAY_THRIFT_STATUS_OK : RELAY_THRIFT_STATUS_FAILED,
                              out);
  g_free(ctx);
}

/* The first bytes of a connection whose first request could not be parsed (see rpc_server.h): a framed
 * message starts after the 4-byte length with 0x80 0x01 (binary protocol, strict) or 0x82 (compact). */
static const char *
_mismatch_hint(gconstpointer config, const guint8 *first, gsize len)
{
  const RelayThriftSource *self = config;
  gboolean binary_source = self->protocol == 1;

  if (len >= 2 && ((first[0] == 0x80 && first[1] == 0x01) || first[0] == 0x82))
    return "the client does not frame its messages (TFramedTransport): Flume's ThriftSource and relayd "
           "need the framed transport on the client";
  if (len >= 6 && first[4] == 0x80 && first[5] == 0x01 && !binary_source)
    return "the client speaks the binary protocol and this source has protocol = compact: set protocol = "
           "binary on this source or protocol = compact on the client (relay-send --protocol compact)";
  if (len >= 5 && first[4] == 0x82 && binary_source)
    return "the client speaks the compact protocol and this source has protocol = binary: set protocol = "
           "compact on this source or protocol = binary on the client (relay-send --protocol binary)";
  if (len >= 8 && first[0] == 0 && first[1] == 0 && first[2] == 0 && first[4] == 0 && first[5] == 0)
    return "the client looks like an Avro RPC client (Flume's avro sink, client.type = default): this is a "
           "thrift source";
  return NULL;
}

static const RelayRpcServerProtocol _server_protocol = {
  .name = "thrift",
  .session_new = _session_new,
  .session_free = _session_free,
  .parse_request = _parse_request,
  .encode_reply = _encode_reply,
  .free_reply_ctx = g_free,
  .mismatch_hint = _mismatch_hint,
};

static gboolean
_configure(RelayComponent *component, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  RelayThriftSource *self = (RelayThriftSource *)component;

  if (self->kerberos)
    {
      relay_config_report_add(report, relay_component_config_get(cc, "kerberos"), cc->label, "kerberos",
                              "Kerberos is not supported by relayd yet; source %s removed", cc->name);
      return FALSE;
    }
  if (!relay_tls_component_configure(&self->tls, TRUE, component->log_prefix, cc, report, &self->tls_ctx))
    return FALSE;
  relay_thrift_limits_init(&self->limits);
  self->limits.max_frame = (guint32)self->max_frame;
  self->limits.max_events = (guint32)self->max_batch_events;
  self->limits.max_headers = (guint32)self->max_headers;
  self->limits.max_body = MIN(self->limits.max_body, (guint32)self->max_frame);
  return TRUE;
}

static void _stop(RelayComponent *component);

static gboolean
_start(RelayComponent *component, GError **error)
{
  RelayThriftSource *self = (RelayThriftSource *)component;
  RelayRpcServerConfig cfg = {
    .bind = self->bind,
    .port = (int)self->port,
    .max_request_bytes = (gsize)self->max_frame + RELAY_THRIFT_FRAME_HEADER,
    .max_output_bytes = 1 << 20,
    .protocol_config = self,
    .tls = self->tls_ctx,
  };

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
  RelayThriftSource *self = (RelayThriftSource *)component;

  relay_rpc_server_free(self->server);
  self->server = NULL;
}

static gboolean
_knows_key(const char *key)
{
  /* Flume's Kerberos keys: known, only meaningful when kerberos is true, which is refused. */
  static const char *const keys[] = { "agent-principal", "agent-keytab", NULL };
  return g_strv_contains(keys, key);
}

static void
_free(RelayComponent *component)
{
  RelayThriftSource *self = (RelayThriftSource *)component;

  relay_tls_unref(self->tls_ctx);
}

/* For --check: the port must be free now (a socket is bound and closed again). */
static gboolean
_check_start(RelayComponent *component, GError **error)
{
  RelayThriftSource *self = (RelayThriftSource *)component;

  return relay_net_check_listen(self->bind, self->port, error);
}

const RelayComponentClass relay_source_thrift_class = {
  .kind = RELAY_KIND_SOURCE,
  .type = "thrift",
  .flume_class = "org.apache.flume.source.ThriftSource",
  .description = "receives events from Thrift RPC clients and Thrift sinks (ThriftSourceProtocol)",
  .options = _options,
  .instance_size = sizeof(RelayThriftSource),
  .configure = _configure,
  .knows_key = _knows_key,
  .free = _free,
  .start = _start,
  .stop = _stop,
  .check_start = _check_start,
};
