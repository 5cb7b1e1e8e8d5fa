/* net.c - TCP server helpers for sources: resolve, listen, accept, per-connection limits and deferred close.
 *
 * A RelayNetServer keeps its connections in a queue (an embedded GList link each, O(1) removal). Every
 * connection has one pre-created event, `defer`, activated for work that must not run inside the caller's
 * stack: freeing the connection (relay_net_conn_close) and re-running readable() after a resume. Reading is
 * on exactly when nothing pauses the connection (owner bits plus an internal bit for a full output buffer)
 * and it is not closing; the input high watermark is libevent's own (bufferevent_setwatermark), so a
 * connection never buffers more than read_high_watermark unconsumed bytes. A closing connection that
 * flushes waits for its output to drain (write low watermark 0) with a 5 s write timeout.
 *
 * Threads: everything runs on the event_base's thread (the main loop); there is no shared state. */
#include "net.h"

#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/util.h>

/* Internal pause bit: more output queued than write_high_watermark. */
#define _PAUSE_OUTPUT (1u << 8)
/* How long a flushing close waits for the peer to take the last replies. */
#define _FLUSH_TIMEOUT_S 5
/* How long the listener rests after accept() failed for lack of resources (EMFILE, ENOBUFS). */
#define _ACCEPT_RETRY_S 1

struct _RelayNetServer
{
  struct event_base *base;
  char *log_prefix;
  char *bind;
  RelayNetServerConfig config; /* config.bind points to self->bind */
  const RelayNetHandler *handler;
  gpointer server_data;
  struct evconnlistener *listener;
  struct event *accept_retry;
  GQueue conns; /* RelayNetConn, through their link */
  RelayRateLimit rl_refused, rl_accept;
};

struct _RelayNetConn
{
  RelayNetServer *server;
  struct bufferevent *bev;
  struct event *defer; /* deferred free / readable() re-run */
  gpointer data;
  guint paused;           /* RelayNetPause bits | _PAUSE_OUTPUT */
  gboolean closing;       /* no more reading; freed soon */
  gboolean free_pending;  /* defer will free the connection */
  gboolean readable_kick; /* defer will re-run readable() */
  gboolean dead;          /* closed() is running or ran */
  GList link;
  char peer[RELAY_NET_PEER_MAX];
};

/* ---- low layer ---- */

static const struct evutil_addrinfo *
_pick_address(const struct evutil_addrinfo *list)
{
  for (const struct evutil_addrinfo *ai = list; ai; ai = ai->ai_next)
    if (ai->ai_family == AF_INET)
      return ai;
  return list;
}

gboolean
relay_net_resolve(const char *bind, gint64 port, struct sockaddr_storage *addr, socklen_t *addr_len,
                  GError **error)
{
  struct evutil_addrinfo hints = { 0 }, *res = NULL;
  char service[8];

  if (port < 0 || port > 65535)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG,
                  "port %" G_GINT64_FORMAT " is out of range 0..65535", port);
      return FALSE;
    }
  g_snprintf(service, sizeof service, "%d", (int)port);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_NUMERICSERV;
  int rc = evutil_getaddrinfo(bind, service, &hints, &res);
  if (rc != 0 || !res)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "cannot resolve bind address '%s': %s", bind,
                  rc ? evutil_gai_strerror(rc) : "no address");
      return FALSE;
    }
  const struct evutil_addrinfo *ai = _pick_address(res);
  memcpy(addr, ai->ai_addr, MIN(ai->ai_addrlen, sizeof *addr));
  *addr_len = (socklen_t)MIN(ai->ai_addrlen, sizeof *addr);
  evutil_freeaddrinfo(res);
  return TRUE;
}

struct evconnlistener *
relay_net_listen(struct event_base *base, const char *log_prefix, const char *bind, gint64 port,
                 evconnlistener_cb cb, gpointer cb_arg, GError **error)
{
  struct sockaddr_storage addr;
  socklen_t addr_len;

  if (!relay_net_resolve(bind, port, &addr, &addr_len, error))
    return NULL;
  struct evconnlistener *listener = evconnlistener_new_bind(
      base, cb, cb_arg, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, RELAY_NET_BACKLOG,
      (struct sockaddr *)&addr, (int)addr_len);
  if (!listener)
    {
      int err = EVUTIL_SOCKET_ERROR();
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "cannot listen on %s:%" G_GINT64_FORMAT ": %s", bind,
                  port, evutil_socket_error_to_string(err));
      return NULL;
    }
  relay_info(log_prefix, "listening bind=%s port=%u", bind, relay_net_listener_port(listener));
  return listener;
}

guint16
relay_net_listener_port(struct evconnlistener *listener)
{
  struct sockaddr_storage addr;
  socklen_t len = sizeof addr;

  if (getsockname(evconnlistener_get_fd(listener), (struct sockaddr *)&addr, &len) != 0)
    return 0;
  if (addr.ss_family == AF_INET)
    return ntohs(((struct sockaddr_in *)&addr)->sin_port);
  if (addr.ss_family == AF_INET6)
    return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
  return 0;
}

void
relay_net_tune_socket(evutil_socket_t fd)
{
  int on = 1;

  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
}

void
relay_net_format_peer(const struct sockaddr *sa, socklen_t sa_len, char *buf, gsize buf_size)
{
  char ip[INET6_ADDRSTRLEN];

  if (sa && sa->sa_family == AF_INET && sa_len >= sizeof(struct sockaddr_in))
    {
      const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
      if (evutil_inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip))
        {
          g_snprintf(buf, buf_size, "%s:%u", ip, ntohs(in->sin_port));
          return;
        }
    }
  else if (sa && sa->sa_family == AF_INET6 && sa_len >= sizeof(struct sockaddr_in6))
    {
      const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
      if (evutil_inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip))
        {
          g_snprintf(buf, buf_size, "[%s]:%u", ip, ntohs(in6->sin6_port));
          return;
        }
    }
  g_strlcpy(buf, "?", buf_size);
}

/* ---- connections ---- */

static void
_conn_destroy(RelayNetConn *conn, gboolean notify)
{
  RelayNetServer *server = conn->server;

  conn->dead = TRUE;
  conn->closing = TRUE;
  if (notify && server->handler->closed)
    server->handler->closed(conn, conn->data);
  g_queue_unlink(&server->conns, &conn->link);
  bufferevent_free(conn->bev);
  event_free(conn->defer);
  g_free(conn);
}

static void
_apply_read_state(RelayNetConn *conn)
{
  if (conn->closing || conn->paused)
    bufferevent_disable(conn->bev, EV_READ);
  else
    bufferevent_enable(conn->bev, EV_READ);
}

static void
_schedule(RelayNetConn *conn)
{
  event_active(conn->defer, EV_TIMEOUT, 0);
}

static void
_schedule_free(RelayNetConn *conn)
{
  conn->free_pending = TRUE;
  _schedule(conn);
}

static void
_check_output(RelayNetConn *conn)
{
  gsize queued = evbuffer_get_length(bufferevent_get_output(conn->bev));
  gsize high = conn->server->config.write_high_watermark;

  if (conn->closing || (conn->paused & _PAUSE_OUTPUT) || queued <= high)
    return;
  /* The write callback runs once the output drained to half. */
  bufferevent_setwatermark(conn->bev, EV_WRITE, high / 2, 0);
  conn->paused |= _PAUSE_OUTPUT;
  _apply_read_state(conn);
}

static void
_run_readable(RelayNetConn *conn)
{
  if (conn->closing || conn->paused || evbuffer_get_length(bufferevent_get_input(conn->bev)) == 0)
    return;
  conn->server->handler->readable(conn, conn->data);
  _check_output(conn);
}

static void
_on_defer(evutil_socket_t fd, short what, void *arg)
{
  RelayNetConn *conn = arg;

  if (conn->free_pending)
    {
      _conn_destroy(conn, TRUE);
      return;
    }
  if (conn->readable_kick)
    {
      conn->readable_kick = FALSE;
      _run_readable(conn);
    }
}

static void
_on_read(struct bufferevent *bev, void *arg)
{
  _run_readable(arg);
}

static void
_on_write(struct bufferevent *bev, void *arg)
{
  RelayNetConn *conn = arg;
  gsize queued = evbuffer_get_length(bufferevent_get_output(bev));

  if (conn->closing)
    {
      if (queued == 0 && !conn->free_pending)
        _schedule_free(conn);
      return;
    }
  if ((conn->paused & _PAUSE_OUTPUT) && queued <= conn->server->config.write_high_watermark / 2)
    {
      bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
      relay_net_conn_resume(conn, (RelayNetPause)_PAUSE_OUTPUT);
    }
}

static void
_on_event(struct bufferevent *bev, short what, void *arg)
{
  RelayNetConn *conn = arg;
  const char *prefix = conn->server->log_prefix;

  if (what & BEV_EVENT_EOF)
    {
      relay_debug(prefix, "connection closed by peer peer=%s", conn->peer);
      relay_net_conn_close(conn, TRUE); /* the last replies may still be read (half-close) */
    }
  else if (what & BEV_EVENT_ERROR)
    {
      relay_debug(prefix, "connection error peer=%s error=%s", conn->peer,
                  evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
      relay_net_conn_close(conn, FALSE);
    }
  else if (what & BEV_EVENT_TIMEOUT)
    {
      relay_debug(prefix, "connection timed out while flushing peer=%s", conn->peer);
      relay_net_conn_close(conn, FALSE);
    }
}

static RelayNetConn *
_conn_new(RelayNetServer *server, evutil_socket_t fd, const char *peer)
{
  struct bufferevent *bev = bufferevent_socket_new(server->base, fd, BEV_OPT_CLOSE_ON_FREE);

  if (!bev)
    return NULL;
  RelayNetConn *conn = g_new0(RelayNetConn, 1);
  conn->server = server;
  conn->bev = bev;
  conn->defer = event_new(server->base, -1, 0, _on_defer, conn);
  conn->link.data = conn;
  g_strlcpy(conn->peer, peer, sizeof conn->peer);
  bufferevent_setcb(bev, _on_read, _on_write, _on_event, conn);
  bufferevent_setwatermark(bev, EV_READ, 0, server->config.read_high_watermark);
  return conn;
}

const char *
relay_net_conn_peer(RelayNetConn *conn)
{
  return conn->peer;
}

gpointer
relay_net_conn_get_data(RelayNetConn *conn)
{
  return conn->data;
}

void
relay_net_conn_set_data(RelayNetConn *conn, gpointer conn_data)
{
  conn->data = conn_data;
}

RelayNetServer *
relay_net_conn_server(RelayNetConn *conn)
{
  return conn->server;
}

struct evbuffer *
relay_net_conn_input(RelayNetConn *conn)
{
  return bufferevent_get_input(conn->bev);
}

void
relay_net_conn_write(RelayNetConn *conn, const void *data, gsize len)
{
  if (conn->dead)
    return;
  bufferevent_write(conn->bev, data, len);
  _check_output(conn);
}

void
relay_net_conn_write_buffer(RelayNetConn *conn, struct evbuffer *buf)
{
  if (conn->dead)
    return;
  bufferevent_write_buffer(conn->bev, buf);
  _check_output(conn);
}

void
relay_net_conn_pause(RelayNetConn *conn, RelayNetPause reason)
{
  conn->paused |= (guint)reason;
  _apply_read_state(conn);
}

gboolean
relay_net_conn_is_paused(RelayNetConn *conn)
{
  return conn->paused != 0;
}

void
relay_net_conn_resume(RelayNetConn *conn, RelayNetPause reason)
{
  conn->paused &= ~(guint)reason;
  if (conn->closing || conn->paused)
    return;
  _apply_read_state(conn);
  if (evbuffer_get_length(bufferevent_get_input(conn->bev)) > 0)
    {
      conn->readable_kick = TRUE;
      _schedule(conn);
    }
}

void
relay_net_conn_close(RelayNetConn *conn, gboolean flush)
{
  if (conn->dead || conn->free_pending)
    return;
  gboolean was_closing = conn->closing;
  conn->closing = TRUE;
  _apply_read_state(conn);
  if (flush && evbuffer_get_length(bufferevent_get_output(conn->bev)) > 0)
    {
      if (was_closing)
        return; /* already flushing */
      struct timeval timeout = { _FLUSH_TIMEOUT_S, 0 };
      bufferevent_setwatermark(conn->bev, EV_WRITE, 0, 0);
      bufferevent_set_timeouts(conn->bev, NULL, &timeout);
      return;
    }
  _schedule_free(conn);
}

gboolean
relay_net_conn_is_closing(RelayNetConn *conn)
{
  return conn->closing;
}

/* ---- server ---- */

static void
_on_accept(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *sa, int sa_len, void *arg)
{
  RelayNetServer *self = arg;
  char peer[RELAY_NET_PEER_MAX];

  relay_net_format_peer(sa, (socklen_t)sa_len, peer, sizeof peer);
  if (self->conns.length >= self->config.max_connections)
    {
      relay_log_ratelimited(&self->rl_refused, RELAY_LOG_WARN, self->log_prefix,
                            "refusing connection peer=%s limit=%u (max-connections)", peer,
                            self->config.max_connections);
      evutil_closesocket(fd);
      return;
    }
  relay_net_tune_socket(fd);
  RelayNetConn *conn = _conn_new(self, fd, peer);
  if (!conn)
    {
      evutil_closesocket(fd);
      return;
    }
  g_queue_push_tail_link(&self->conns, &conn->link);
  relay_debug(self->log_prefix, "connection accepted peer=%s open=%u", peer, self->conns.length);
  if (!self->handler->accepted(conn, self->server_data))
    {
      _conn_destroy(conn, FALSE);
      return;
    }
  _apply_read_state(conn);
}

static void
_on_accept_retry(evutil_socket_t fd, short what, void *arg)
{
  RelayNetServer *self = arg;

  evconnlistener_enable(self->listener);
}

/* accept() failed with something other than a transient error: usually out of descriptors. Resting the
 * listener avoids spinning on a socket that stays readable. */
static void
_on_accept_error(struct evconnlistener *listener, void *arg)
{
  RelayNetServer *self = arg;
  struct timeval rest = { _ACCEPT_RETRY_S, 0 };
  int err = EVUTIL_SOCKET_ERROR();

  relay_log_ratelimited(&self->rl_accept, RELAY_LOG_WARN, self->log_prefix,
                        "accept failed, listener paused for %d s error=%s open=%u", _ACCEPT_RETRY_S,
                        evutil_socket_error_to_string(err), self->conns.length);
  evconnlistener_disable(listener);
  evtimer_add(self->accept_retry, &rest);
}

RelayNetServer *
relay_net_server_new(struct event_base *base, const char *log_prefix, const RelayNetServerConfig *config,
                     const RelayNetHandler *handler, gpointer server_data, GError **error)
{
  g_return_val_if_fail(config->max_connections > 0 && config->read_high_watermark > 0, NULL);
  g_return_val_if_fail(config->write_high_watermark > 0 && handler->accepted && handler->readable, NULL);
  RelayNetServer *self = g_new0(RelayNetServer, 1);
  RelayRateLimit limit = RELAY_RATELIMIT_INIT;

  self->base = base;
  self->log_prefix = g_strdup(log_prefix);
  self->bind = g_strdup(config->bind);
  self->config = *config;
  self->config.bind = self->bind;
  self->handler = handler;
  self->server_data = server_data;
  self->rl_refused = limit;
  self->rl_accept = limit;
  g_queue_init(&self->conns);
  self->accept_retry = evtimer_new(base, _on_accept_retry, self);
  self->listener = relay_net_listen(base, log_prefix, config->bind, config->port, _on_accept, self, error);
  if (!self->listener)
    {
      relay_net_server_free(self);
      return NULL;
    }
  evconnlistener_set_error_cb(self->listener, _on_accept_error);
  return self;
}

void
relay_net_server_free(RelayNetServer *self)
{
  if (!self)
    return;
  if (self->listener)
    evconnlistener_free(self->listener);
  while (self->conns.head)
    _conn_destroy(self->conns.head->data, TRUE);
  event_free(self->accept_retry);
  g_free(self->bind);
  g_free(self->log_prefix);
  g_free(self);
}

guint16
relay_net_server_port(RelayNetServer *self)
{
  return relay_net_listener_port(self->listener);
}

guint
relay_net_server_n_connections(RelayNetServer *self)
{
  return self->conns.length;
}

/* ---- issue 19: --check ---- */

gboolean
relay_net_check_listen(const char *host, gint64 port, GError **error)
{
  struct sockaddr_storage addr;
  socklen_t addr_len;
  int one = 1;

  if (!relay_net_resolve(host, port, &addr, &addr_len, error))
    return FALSE;
  if (port == 0)
    return TRUE;
  int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "socket: %s", g_strerror(errno));
      return FALSE;
    }
  /* The same option the real listener sets, so a port in TIME_WAIT is not reported. */
  (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  gboolean ok = bind(fd, (struct sockaddr *)&addr, addr_len) == 0 && listen(fd, 1) == 0;
  if (!ok)
    g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "cannot listen on %s:%" G_GINT64_FORMAT ": %s", host,
                port, g_strerror(errno));
  close(fd);
  return ok;
}
