/* source_http.c - the HTTP source (type http): Flume's HTTPSource on relayd's RPC server.
 *
 * flume-ng-core/src/main/java/org/apache/flume/source/http/HTTPSource.java: every POST is decoded by the
 * handler (JSONHandler by default, or a blob handler) into one batch, stored with one transaction per
 * channel, and answered only after the commit: 200 (empty body) committed; 503 with Retry-After when a
 * required channel had no room within its keep-alive (nothing stored, the client retries); 500 on another
 * channel failure. Bad requests are answered and counted as protocol errors: 400 malformed body (the reason
 * in the response body), 413 over max-body-bytes / max-batch-events / handler.maxBlobLength, 415 a charset
 * the JSON handler does not take, 405 for methods other than POST (Flume serves GET like POST and forbids
 * TRACE/OPTIONS; relayd takes events only from POST). The connection stays open after those answers;
 * broken HTTP framing (431 head too large, a bad request line or chunk, 413 a Content-Length over the limit,
 * decided from the head before the body is read) closes it after the answer.
 *
 * Why not libevent's evhttp: in libevent 2.1 it has body/header size limits and timeouts, chunked bodies and
 * keep-alive, but no connection limit, no hook to count malformed requests, and it buffers bodies in
 * evbuffers that a parser needs contiguous (a second copy). relayd's RPC server already gives this source,
 * on the main loop that owns sources, everything the Avro and Thrift sources have: connection limit, idle and
 * incomplete-request deadlines, bounded buffers, the agent's memory budget, TLS, protocol-error counters and
 * backpressure (a connection whose batch waits for channel room is not read). http_request.c frames HTTP
 * inside it. Thread: everything runs on the main event loop. */
#include "http_blob.h"
#include "http_json.h"
#include "http_request.h"
#include "event.h"
#include "log.h"
#include "net.h"
#include "rpc_server.h"
#include "source.h"

#include <stdio.h>
#include <string.h>

#define JSON_HANDLER "org.apache.flume.source.http.JSONHandler"
#define BLOB_HANDLER "org.apache.flume.sink.solr.morphline.BlobHandler"
#define CORE_BLOB_HANDLER "org.apache.flume.source.http.BLOBHandler"

typedef enum
{
  HANDLER_JSON = 0,
  HANDLER_BLOB,
} HandlerKind;

typedef struct
{
  RelaySource super;
  char *bind;
  gint64 port;
  char *handler;
  gint64 max_blob_length;
  char *copy_headers, *mandatory;
  gint64 max_body_bytes, max_header_bytes, max_batch_events;
  RelayRpcConnLimits conn; /* max-connections, incomplete-request-timeout, idle-timeout */
  gint64 retry_after_s;
  RelayTlsOptions tls;
  RelayTls *tls_ctx;
  HandlerKind kind;
  RelayHttpLimits limits;
  RelayHttpBlobConfig blob;
  char *busy_headers; /* "Retry-After: N\r\n" */
  RelayRateLimit limit_bad;
  RelayRpcServer *server;
} RelayHttpSource;

typedef struct
{
  RelayHttpSource *source;
  RelayHttpRequest req;
} RelayHttpSession;

#define LIMIT_ROW(key, def, min, max, field, help)                                                           \
  RELAY_OPT_INT_ROW(key, def, min, max, RelayHttpSource, field, 0, help)

static const RelayOption _options[] = {
  RELAY_OPT_STRING_ROW("bind", "0.0.0.0", RelayHttpSource, bind, 0, "address to listen on"),
  RELAY_OPT_INT_ROW("port", NULL, 0, 65535, RelayHttpSource, port, RELAY_OPTF_REQUIRED, "port to listen on"),
  RELAY_OPT_STRING_ROW("handler", JSON_HANDLER, RelayHttpSource, handler, 0,
                       "json (" JSON_HANDLER "): a JSON array of {headers, body} events; blob (" BLOB_HANDLER
                       " or " CORE_BLOB_HANDLER "): the body is one event"),
  LIMIT_ROW("handler.maxBlobLength", "100000000", 1, 268435456, max_blob_length,
            "blob: longest body (longer ones are answered 413)"),
  RELAY_OPT_STRING_ROW("handler.headers", NULL, RelayHttpSource, copy_headers, 0,
                       "blob: comma-separated request headers copied into event headers"),
  RELAY_OPT_STRING_ROW("handler.mandatoryParameters", NULL, RelayHttpSource, mandatory, 0,
                       "blob: comma-separated query parameters every request must carry (400 otherwise)"),
  LIMIT_ROW("max-body-bytes", "67108864", 1, 268435456, max_body_bytes,
            "longest request body; a longer Content-Length is answered 413 before the body is read"),
  LIMIT_ROW("max-header-bytes", "16384", 256, 1048576, max_header_bytes,
            "longest request line plus headers (431 beyond)"),
  LIMIT_ROW("max-batch-events", "100000", 1, 10000000, max_batch_events,
            "most events in one request (413 beyond)"),
  RELAY_RPC_CONN_LIMIT_OPTIONS(RelayHttpSource, conn),
  LIMIT_ROW("retry-after", "1", 0, 3600, retry_after_s,
            "seconds in the Retry-After header of a 503 (channel full)"),
  RELAY_TLS_SERVER_OPTIONS(RelayHttpSource, tls),
  RELAY_OPTION_END,
};

/* ---------------------------------------------------------------- requests */

static gpointer
_session_new(gconstpointer config)
{
  RelayHttpSession *s = g_new0(RelayHttpSession, 1);

  s->source = (RelayHttpSource *)config;
  relay_http_request_init(&s->req);
  return s;
}

static void
_session_free(gpointer session)
{
  RelayHttpSession *s = session;

  relay_http_request_clear(&s->req);
  g_free(s);
}

/* A well-framed request that is refused: answered at once, the connection kept (unless the client closes),
 * counted as a protocol error with one rate-limited log line. */
static void
_refuse(RelayHttpSession *s, int status, const char *extra, const char *why, RelayRpcRequest *out)
{
  RelayHttpSource *self = s->source;

  relay_source_count_protocol_error(&self->super,
                                    status == 413 ? RELAY_PROTO_ERROR_LIMIT : RELAY_PROTO_ERROR_MALFORMED);
  relay_log_ratelimited(&self->limit_bad, RELAY_LOG_WARN, self->super.super.log_prefix, "answered %d %s",
                        status, why);
  out->kind = RELAY_RPC_REQ_REPLY;
  relay_http_response(out->reply, status, extra, why, s->req.close);
}

/* Broken HTTP framing: answered, then the connection is closed (the server counts and logs it). */
static void
_broken(RelayHttpSession *s, RelayRpcRequest *out)
{
  RelayHttpRequest *r = &s->req;
  char text[160];

  out->kind = RELAY_RPC_REQ_ERROR;
  out->over_limit = r->status == 413 || r->status == 431;
  if (r->limit >= 0)
    snprintf(text, sizeof text, "what=%s value=%" G_GINT64_FORMAT " limit=%" G_GINT64_FORMAT, r->what,
             r->value, r->limit);
  else
    snprintf(text, sizeof text, "what=%s", r->what);
  out->error = g_strdup_printf("http %d %s", r->status, text);
  relay_http_response(out->reply, r->status, NULL, text, TRUE);
}

static int
_decode(RelayHttpSession *s, const guint8 *buf, GPtrArray *events, char *why, gsize why_len)
{
  RelayHttpSource *self = s->source;
  RelayHttpRequest *r = &s->req;

  if (self->kind == HANDLER_BLOB)
    return relay_http_blob_decode(&self->blob, buf, r, events, why, why_len);
  RelayHttpSpan ct;
  char *charset = relay_http_request_header(r, buf, "content-type", &ct)
                      ? relay_http_content_type_charset((const char *)buf + ct.off, ct.len)
                      : NULL;
  int status = relay_http_json_decode(buf, (const RelayHttpSpan *)r->body->data, r->body->len, charset,
                                      (guint)self->max_batch_events, events, why, why_len);
  g_free(charset);
  return status;
}

static void
_parse_request(gpointer session, const guint8 *buf, gsize len, RelayRpcRequest *out)
{
  RelayHttpSession *s = session;
  RelayHttpRequest *r = &s->req;
  char why[256];

  switch (relay_http_request_parse(r, buf, len, &s->source->limits))
    {
    case RELAY_HTTP_NEED_MORE:
      return;
    case RELAY_HTTP_CONTINUE:
      out->kind = RELAY_RPC_REQ_REPLY; /* nothing consumed: the body follows */
      g_byte_array_append(out->reply, (const guint8 *)"HTTP/1.1 100 Continue\r\n\r\n", 25);
      return;
    case RELAY_HTTP_ERROR:
      return _broken(s, out);
    case RELAY_HTTP_OK:
      break;
    }
  out->consumed = r->consumed;
  if (!relay_http_span_is(buf, r->method, "POST"))
    return _refuse(s, 405, "Allow: POST\r\n", "only POST takes events", out);
  GPtrArray *events = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  int status = _decode(s, buf, events, why, sizeof why);
  if (status != 0 || events->len == 0)
    {
      g_ptr_array_unref(events);
      if (status != 0)
        return _refuse(s, status, NULL, why, out);
      out->kind = RELAY_RPC_REQ_REPLY; /* an empty array: nothing to store */
      relay_http_response(out->reply, 200, NULL, NULL, r->close);
      return;
    }
  out->kind = RELAY_RPC_REQ_EVENTS;
  out->events = events;
  out->is_batch = TRUE;
  out->reply_ctx = GINT_TO_POINTER(r->close ? 2 : 1);
}

/* After the commit (or its failure): 200, 503 with Retry-After, or 500. */
static void
_encode_reply(gpointer session, gpointer reply_ctx, RelayPutResult result, GByteArray *out)
{
  RelayHttpSession *s = session;
  gboolean close = GPOINTER_TO_INT(reply_ctx) == 2;

  if (result == RELAY_PUT_OK)
    relay_http_response(out, 200, NULL, NULL, close);
  else if (result == RELAY_PUT_FULL)
    relay_http_response(out, 503, s->source->busy_headers, "channel full: nothing stored, retry later",
                        close);
  else
    relay_http_response(out, 500, NULL, "channel error: nothing stored", close);
}

static void
_free_reply_ctx(gpointer reply_ctx)
{
}

static const char *
_mismatch_hint(gconstpointer config, const guint8 *first, gsize len)
{
  const RelayHttpSource *self = config;

  if (len >= 1 && first[0] == 0x16 && !self->tls_ctx)
    return "the client starts a TLS handshake and this source has ssl = false: use http:// on the client or "
           "set ssl = true";
  if (len >= 4 && memcmp(first, "\x80\x01\x00", 3) == 0)
    return "the client speaks Thrift: this is an HTTP source";
  return NULL;
}

static const RelayRpcServerProtocol _server_protocol = {
  .name = "http",
  .session_new = _session_new,
  .session_free = _session_free,
  .parse_request = _parse_request,
  .encode_reply = _encode_reply,
  .free_reply_ctx = _free_reply_ctx,
  .mismatch_hint = _mismatch_hint,
};

/* ---------------------------------------------------------------- component */

/* "a, b,c" -> {"a", "b", "c", NULL}; NULL for NULL. */
static char **
_split_names(const char *list)
{
  if (!list)
    return NULL;
  char **parts = g_strsplit_set(list, ", ", -1);
  GPtrArray *names = g_ptr_array_new();
  for (char **p = parts; *p; p++)
    if (**p)
      g_ptr_array_add(names, g_strdup(*p));
  g_ptr_array_add(names, NULL);
  g_strfreev(parts);
  return (char **)g_ptr_array_free(names, FALSE);
}

static gboolean
_configure_handler(RelayHttpSource *self, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  const char *h = self->handler;

  if (g_ascii_strcasecmp(h, "json") == 0 || strcmp(h, JSON_HANDLER) == 0)
    self->kind = HANDLER_JSON;
  else if (g_ascii_strcasecmp(h, "blob") == 0 || strcmp(h, BLOB_HANDLER) == 0
           || strcmp(h, CORE_BLOB_HANDLER) == 0)
    self->kind = HANDLER_BLOB;
  else
    {
      relay_config_report_add(report, relay_component_config_get(cc, "handler"), cc->label, "handler",
                              "unknown handler %s (json, blob, " JSON_HANDLER ", " BLOB_HANDLER
                              ", " CORE_BLOB_HANDLER "); source %s removed",
                              h, cc->name);
      return FALSE;
    }
  self->blob.max_blob_length = (gsize)self->max_blob_length;
  self->blob.content_type = strcmp(h, CORE_BLOB_HANDLER) != 0;
  self->blob.copy_headers = _split_names(self->copy_headers);
  self->blob.mandatory = _split_names(self->mandatory);
  return TRUE;
}

/* Flume passes these through to Jetty's setters; relayd has no Jetty: accepted, noted, no effect. */
static const char *const _jetty_prefixes[]
    = { "QueuedThreadPool.", "HttpConfiguration.", "ServerConnector.", "SslContextFactory.", NULL };

static gboolean
_knows_key(const char *key)
{
  for (guint i = 0; _jetty_prefixes[i]; i++)
    if (g_str_has_prefix(key, _jetty_prefixes[i]))
      return TRUE;
  return FALSE;
}

static void
_note_jetty_keys(RelayHttpSource *self, const RelayComponentConfig *cc)
{
  GPtrArray *keys = relay_component_config_keys(cc, "");

  for (guint i = 0; i < keys->len; i++)
    if (_knows_key(keys->pdata[i]))
      relay_log(RELAY_LOG_INFO, self->super.super.log_prefix,
                "key %s is for Flume's Jetty server and has no effect here (the limits are max-connections, "
                "max-body-bytes, max-header-bytes, idle-timeout)",
                (const char *)keys->pdata[i]);
  g_ptr_array_unref(keys);
}

static gboolean
_configure(RelayComponent *component, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  RelayHttpSource *self = (RelayHttpSource *)component;

  if (!_configure_handler(self, cc, report))
    return FALSE;
  _note_jetty_keys(self, cc);
  if (!relay_tls_component_configure(&self->tls, TRUE, component->log_prefix, cc, report, &self->tls_ctx))
    return FALSE;
  self->limits.max_body_bytes = (gsize)self->max_body_bytes;
  self->limits.max_header_bytes = (gsize)self->max_header_bytes;
  self->busy_headers = g_strdup_printf("Retry-After: %" G_GINT64_FORMAT "\r\n", self->retry_after_s);
  self->limit_bad = (RelayRateLimit)RELAY_RATELIMIT_INIT;
  return TRUE;
}

static void _stop(RelayComponent *component);

static gboolean
_start(RelayComponent *component, GError **error)
{
  RelayHttpSource *self = (RelayHttpSource *)component;
  /* the parser refuses chunk framing beyond twice the body limit, so this bound is only a backstop */
  gsize max_request = 2 * self->limits.max_body_bytes + 2 * self->limits.max_header_bytes + 4096;
  RelayRpcServerConfig cfg = {
    .bind = self->bind,
    .port = (int)self->port,
    .max_request_bytes = max_request,
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
  RelayHttpSource *self = (RelayHttpSource *)component;

  relay_rpc_server_free(self->server);
  self->server = NULL;
}

static void
_free(RelayComponent *component)
{
  RelayHttpSource *self = (RelayHttpSource *)component;

  relay_tls_unref(self->tls_ctx);
  g_strfreev(self->blob.copy_headers);
  g_strfreev(self->blob.mandatory);
  g_free(self->busy_headers);
}

/* For --check: the port must be free now (a socket is bound and closed again). */
static gboolean
_check_start(RelayComponent *component, GError **error)
{
  RelayHttpSource *self = (RelayHttpSource *)component;

  return relay_net_check_listen(self->bind, self->port, error);
}

const RelayComponentClass relay_source_http_class = {
  .kind = RELAY_KIND_SOURCE,
  .type = "http",
  .flume_class = "org.apache.flume.source.http.HTTPSource",
  .description
  = "receives events posted over HTTP as Flume's JSON (JSONHandler) or as raw bodies (BlobHandler)",
  .options = _options,
  .instance_size = sizeof(RelayHttpSource),
  .configure = _configure,
  .knows_key = _knows_key,
  .free = _free,
  .start = _start,
  .stop = _stop,
  .check_start = _check_start,
};
