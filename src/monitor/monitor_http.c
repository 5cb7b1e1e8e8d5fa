/* monitor_http.c - the monitoring endpoint on libevent's evhttp, on the main event loop.
 *
 *   GET /metrics      Flume's JSON (application/json;charset=utf-8); Prometheus text instead when the
 *                     Accept header asks for text/plain or OpenMetrics and not for JSON
 *   GET /prometheus   Prometheus text format 0.0.4
 *   GET /health       200 when every configured component runs, 503 otherwise; JSON body either way
 *   GET /             a small HTML page linking the others
 * HEAD works like GET without a body; other methods get 405, other paths 404. Requests are bounded: headers
 * above RELAY_MONITOR_MAX_HEADERS bytes or bodies above RELAY_MONITOR_MAX_BODY get 413 from evhttp, and a
 * connection that does not complete its request within RELAY_MONITOR_TIMEOUT_S seconds of its opening (or of
 * the previous answer) is closed: a deadline, which a trickle of bytes does not extend (evhttp's own timeout
 * is an idle timeout). At most RELAY_MONITOR_MAX_CONNECTIONS connections are open; above that the listener
 * pauses (new clients wait in the backlog). accept() failures rest the listener (net.h's back-off). Answers
 * are built from one snapshot per request; nothing here blocks the loop.
 *
 * libevent 2.1's evhttp has neither a connection cap nor a request deadline, and does not tell when it frees
 * a connection. So every connection's bufferevent is made here (evhttp_set_bevcb) and kept referenced in
 * `conns`: evhttp's bufferevent_free() clears its callbacks, which a sweep every RELAY_MONITOR_SWEEP_MS sees
 * (the reference is then dropped); a connection past its deadline gets evhttp's own timeout handling (its
 * event callback with BEV_EVENT_TIMEOUT), the same path as evhttp's idle timeout. The bufferevents are made
 * without BEV_OPT_CLOSE_ON_FREE, so evhttp closes each socket itself at once. */
#include "monitor.h"

#include "log.h"
#include "metrics.h"
#include "net.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <string.h>

#define PREFIX "monitoring:http"
#define RELAY_MONITOR_MAX_CONNECTIONS 64
#define RELAY_MONITOR_SWEEP_MS 250

typedef struct
{
  struct bufferevent *bev; /* one reference is ours */
  gint64 deadline_us;      /* the request must be complete by then */
} MonitorConn;

struct _RelayMonitorHttp
{
  RelayAgent *agent; /* borrowed */
  gint64 process_start_ms;
  struct evhttp *http;
  RelayTls *tls; /* HTTPS, or NULL */
  struct event_base *base;
  struct evconnlistener *listener; /* owned by http */
  RelayNetAcceptGuard *guard;
  GPtrArray *conns; /* MonitorConn* */
  struct event *sweep;
  gboolean capped; /* the listener is paused: RELAY_MONITOR_MAX_CONNECTIONS are open */
  RelayRateLimit rl_deadline, rl_cap;
};

static const char _index_html[] = "<html><head><title>relayd</title></head><body><h1>relayd</h1><ul>"
                                  "<li><a href=\"/metrics\">/metrics</a> (Flume's JSON)</li>"
                                  "<li><a href=\"/prometheus\">/prometheus</a> (Prometheus text)</li>"
                                  "<li><a href=\"/health\">/health</a></li></ul></body></html>\n";

static const char *
_method_name(enum evhttp_cmd_type cmd)
{
  switch (cmd)
    {
    case EVHTTP_REQ_GET:
      return "GET";
    case EVHTTP_REQ_HEAD:
      return "HEAD";
    case EVHTTP_REQ_POST:
      return "POST";
    case EVHTTP_REQ_PUT:
      return "PUT";
    case EVHTTP_REQ_DELETE:
      return "DELETE";
    default:
      return "other";
    }
}

/* ---- connection cap and request deadline ---- */

static void
_arm_sweep(RelayMonitorHttp *self)
{
  struct timeval tv = { 0, RELAY_MONITOR_SWEEP_MS * 1000 };

  if (!evtimer_pending(self->sweep, NULL))
    evtimer_add(self->sweep, &tv);
}

/* TRUE once evhttp has let go of the connection (bufferevent_free clears the callbacks). */
static gboolean
_released(MonitorConn *mc)
{
  bufferevent_event_cb eventcb = NULL;

  bufferevent_getcb(mc->bev, NULL, NULL, &eventcb, NULL);
  return eventcb == NULL;
}

/* Past its deadline: evhttp handles it as its own timeout (closes the connection, no answer). */
static void
_expire(RelayMonitorHttp *self, MonitorConn *mc)
{
  bufferevent_event_cb eventcb = NULL;
  void *arg = NULL;

  relay_log_ratelimited(&self->rl_deadline, RELAY_LOG_WARN, PREFIX,
                        "closing connection: request not complete within %d s", RELAY_MONITOR_TIMEOUT_S);
  bufferevent_getcb(mc->bev, NULL, NULL, &eventcb, &arg);
  if (eventcb)
    eventcb(mc->bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT, arg);
}

static void
_on_sweep(evutil_socket_t fd, short what, void *arg)
{
  RelayMonitorHttp *self = arg;
  gint64 now = g_get_monotonic_time();

  for (guint i = self->conns->len; i-- > 0;)
    {
      MonitorConn *mc = g_ptr_array_index(self->conns, i);
      if (!_released(mc) && now >= mc->deadline_us)
        _expire(self, mc);
      if (_released(mc))
        g_ptr_array_remove_index_fast(self->conns, i); /* the free function drops our reference */
    }
  if (self->capped && self->conns->len < RELAY_MONITOR_MAX_CONNECTIONS)
    {
      self->capped = FALSE;
      evconnlistener_enable(self->listener);
    }
  if (self->conns->len > 0)
    _arm_sweep(self);
}

static void
_conn_drop(gpointer p)
{
  MonitorConn *mc = p;

  bufferevent_decref(mc->bev);
  g_free(mc);
}

/* evhttp asks for the bufferevent of each accepted connection: with HTTPS a server-side TLS bufferevent with
 * the current certificates. */
static struct bufferevent *
_new_bev(struct event_base *base, void *arg)
{
  RelayMonitorHttp *self = arg;
  MonitorConn *mc = g_new0(MonitorConn, 1);

  if (self->tls)
    mc->bev = bufferevent_openssl_socket_new(base, -1, relay_tls_new_ssl(self->tls),
                                             BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
  else /* CLOSE_ON_FREE: the socket closes with our last reference, after its events are deleted, so a
        * new connection reusing the descriptor is never shadowed by this one's still-registered events */
    mc->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
  bufferevent_incref(mc->bev);
  mc->deadline_us = g_get_monotonic_time() + (gint64)RELAY_MONITOR_TIMEOUT_S * G_USEC_PER_SEC;
  if (self->conns->len >= RELAY_MONITOR_MAX_CONNECTIONS)
    {
      /* Accepted while the listener rested for another reason: closed by the next sweep. */
      mc->deadline_us = 0;
      relay_log_ratelimited(&self->rl_cap, RELAY_LOG_WARN, PREFIX, "closing connection: %d connections open",
                            RELAY_MONITOR_MAX_CONNECTIONS);
    }
  g_ptr_array_add(self->conns, mc);
  if (self->conns->len >= RELAY_MONITOR_MAX_CONNECTIONS && !self->capped)
    {
      self->capped = TRUE;
      evconnlistener_disable(self->listener);
      relay_log_ratelimited(&self->rl_cap, RELAY_LOG_WARN, PREFIX,
                            "listener paused: %d connections open (the limit)",
                            RELAY_MONITOR_MAX_CONNECTIONS);
    }
  _arm_sweep(self);
  return mc->bev;
}

/* A request was answered: the connection's next request gets a new deadline. */
static void
_request_done(RelayMonitorHttp *self, struct evhttp_request *req)
{
  struct evhttp_connection *evcon = evhttp_request_get_connection(req);
  struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;

  for (guint i = 0; bev && i < self->conns->len; i++)
    {
      MonitorConn *mc = g_ptr_array_index(self->conns, i);
      if (mc->bev == bev)
        mc->deadline_us = g_get_monotonic_time() + (gint64)RELAY_MONITOR_TIMEOUT_S * G_USEC_PER_SEC;
    }
}

/* ---- pages ---- */

static gboolean
_wants_prometheus(struct evhttp_request *req)
{
  const char *accept = evhttp_find_header(evhttp_request_get_input_headers(req), "Accept");

  if (!accept || strstr(accept, "application/json"))
    return FALSE;
  return strstr(accept, "text/plain") || strstr(accept, "application/openmetrics-text");
}

static void
_reply(struct evhttp_request *req, int code, const char *reason, const char *content_type, const char *body,
       gsize len)
{
  struct evbuffer *buf = evbuffer_new();

  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", content_type);
  evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-cache");
  if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
    evbuffer_add(buf, body, len);
  evhttp_send_reply(req, code, reason, buf);
  evbuffer_free(buf);
}

typedef enum
{
  PAGE_JSON,
  PAGE_PROMETHEUS,
  PAGE_HEALTH,
} MonitorPage;

static void
_serve_page(RelayMonitorHttp *self, struct evhttp_request *req, MonitorPage page)
{
  RelayMetricsSnapshot *snap = relay_metrics_snapshot(self->agent, self->process_start_ms);
  GString *out = g_string_sized_new(8192);
  int code = HTTP_OK;

  switch (page)
    {
    case PAGE_JSON:
      relay_metrics_format_json(snap, out);
      _reply(req, code, "OK", "application/json;charset=utf-8", out->str, out->len);
      break;
    case PAGE_PROMETHEUS:
      relay_metrics_format_prometheus(snap, out);
      _reply(req, code, "OK", "text/plain; version=0.0.4; charset=utf-8", out->str, out->len);
      break;
    case PAGE_HEALTH:
      code = relay_metrics_format_health(snap, out) ? HTTP_OK : HTTP_SERVUNAVAIL;
      _reply(req, code, code == HTTP_OK ? "OK" : "Service Unavailable", "application/json;charset=utf-8",
             out->str, out->len);
      break;
    }
  g_string_free(out, TRUE);
  relay_metrics_snapshot_free(snap);
}

static void
_error(struct evhttp_request *req, int code, const char *reason, const char *detail)
{
  char *body = g_strdup_printf("%d %s: %s\n", code, reason, detail);
  _reply(req, code, reason, "text/plain; charset=utf-8", body, strlen(body));
  g_free(body);
}

static void
_on_request(struct evhttp_request *req, void *arg)
{
  RelayMonitorHttp *self = arg;
  enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
  const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
  const char *path = uri ? evhttp_uri_get_path(uri) : NULL;

  _request_done(self, req);
  if (!path || !*path)
    path = "/";
  relay_debug(PREFIX, "request method=%s path=%s", _method_name(cmd), path);
  if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD)
    {
      evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
      _error(req, 405, "Method Not Allowed", "only GET and HEAD are served");
      return;
    }
  if (strcmp(path, "/metrics") == 0)
    _serve_page(self, req, _wants_prometheus(req) ? PAGE_PROMETHEUS : PAGE_JSON);
  else if (strcmp(path, "/prometheus") == 0)
    _serve_page(self, req, PAGE_PROMETHEUS);
  else if (strcmp(path, "/health") == 0)
    _serve_page(self, req, PAGE_HEALTH);
  else if (strcmp(path, "/") == 0)
    _reply(req, HTTP_OK, "OK", "text/html; charset=utf-8", _index_html, sizeof _index_html - 1);
  else
    _error(req, HTTP_NOTFOUND, "Not Found", "try /metrics, /prometheus or /health");
}

RelayMonitorHttp *
relay_monitor_http_start(RelayAgent *agent, struct event_base *base, const char *bind, gint64 port,
                         gint64 process_start_ms, GError **error)
{
  struct evconnlistener *listener = relay_net_listen(base, PREFIX, bind, port, NULL, NULL, error);

  if (!listener)
    return NULL;
  RelayMonitorHttp *self = g_new0(RelayMonitorHttp, 1);
  self->agent = agent;
  self->process_start_ms = process_start_ms;
  self->base = base;
  self->conns = g_ptr_array_new_with_free_func(_conn_drop);
  self->sweep = evtimer_new(base, _on_sweep, self);
  self->rl_deadline = (RelayRateLimit)RELAY_RATELIMIT_INIT;
  self->rl_cap = (RelayRateLimit)RELAY_RATELIMIT_INIT;
  self->http = evhttp_new(base);
  evhttp_set_bevcb(self->http, _new_bev, self);
  evhttp_set_max_headers_size(self->http, RELAY_MONITOR_MAX_HEADERS);
  evhttp_set_max_body_size(self->http, RELAY_MONITOR_MAX_BODY); /* read, so that POST gets 405, not 413 */
  evhttp_set_timeout(self->http, RELAY_MONITOR_TIMEOUT_S);
  /* Every method reaches _on_request, which answers 405 itself (evhttp's own answer would be 501). */
  evhttp_set_allowed_methods(self->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT
                                             | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE
                                             | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
  evhttp_set_gencb(self->http, _on_request, self);
  if (!evhttp_bind_listener(self->http, listener))
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "monitoring: cannot serve HTTP on %s:%" G_GINT64_FORMAT,
                  bind, port);
      evconnlistener_free(listener);
      relay_monitor_http_free(self);
      return NULL;
    }
  self->listener = listener;
  self->guard = relay_net_accept_guard_new(listener, PREFIX, NULL);
  return self;
}

void
relay_monitor_http_free(RelayMonitorHttp *self)
{
  if (!self)
    return;
  relay_net_accept_guard_free(self->guard);
  evhttp_free(self->http); /* frees the listener and the connections too */
  g_ptr_array_unref(self->conns);
  event_free(self->sweep);
  relay_tls_unref(self->tls);
  g_free(self);
}

gboolean
relay_monitor_http_use_tls(RelayMonitorHttp *self, const RelayTlsOptions *options, GError **error)
{
  const char *key = NULL;

  self->tls = relay_tls_new(options, TRUE, PREFIX, &key, error);
  if (!self->tls)
    return FALSE;
  relay_info(PREFIX, "serving HTTPS keystore=%s", relay_tls_options(self->tls)->keystore);
  return TRUE;
}
