/* net.c - TCP server helpers for sources: resolve, listen, accept, per-connection limits and deferred close.
 *
 * A RelayNetServer keeps its connections in a queue (an embedded GList link each, O(1) removal). Every
 * connection has one pre-created event, `defer`, activated for work that must not run inside the caller's
 * stack: freeing the connection (relay_net_conn_close) and re-running readable() after a resume. Reading is
 * on exactly when nothing pauses the connection (owner bits plus an internal bit for a full output buffer)
 * and it is not closing; the input high watermark is libevent's own (bufferevent_setwatermark), so a
 * connection never buffers more than read_high_watermark unconsumed bytes (a plaintext connection reads up to
 * that much at once: _read_more). A closing connection that flushes waits for its output to drain (write low
 * watermark 0) with a 5 s write timeout.
 *
 * Threads: everything runs on the event_base's thread (the main loop); there is no shared state. */
#include "net.h"

#include "counters.h"
#include "log.h"
#include "membudget.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/util.h>

/* Internal pause bit: more output queued than write_high_watermark. */
#define _PAUSE_OUTPUT (1u << 8)
/* Internal pause bit: the memory budget is exhausted. */
#define _PAUSE_MEMORY (1u << 9)
/* How often connections paused for the memory budget look for room again. */
#define _BUDGET_RETRY_MS 100
/* How long a flushing close waits for the peer to take the last replies. */
#define _FLUSH_TIMEOUT_S 5
/* libevent 2.1 reads at most this much per read event (EVBUFFER_MAX_READ; 2.2 makes it settable). */
#define _LIBEVENT_MAX_READ 4096
/* The most _read_more() reads in one call. */
#define _READ_MORE_MAX (256 * 1024)

struct _RelayNetServer
{
  struct event_base *base;
  char *log_prefix;
  char *bind;
  RelayNetServerConfig config; /* config.bind points to self->bind */
  const RelayNetHandler *handler;
  gpointer server_data;
  struct evconnlistener *listener;
  RelayNetAcceptGuard *guard;
  struct event *budget_retry; /* resumes connections paused for the memory budget */
  GQueue conns;               /* RelayNetConn, through their link */
  RelayRateLimit rl_refused, rl_memory;
  RelayRateLimit rl_tls[RELAY_TLS_FAIL_N]; /* one per reason */
};

struct _RelayNetAcceptGuard
{
  struct evconnlistener *listener; /* borrowed */
  struct event *retry;
  char *log_prefix;
  gint64 *counter;
  guint64 failures, failures_logged;
  gint64 last_log_us; /* 0: never logged */
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
  gint64 charged;         /* buffered bytes charged to the memory budget */
  gboolean checked_first; /* the first bytes were checked (TLS or plaintext) */
  gboolean tls_failed;    /* closed for a TLS reason: nothing more is decrypted */
  gsize last_read;        /* bytes the last read added to the raw input (libevent's or _read_more's) */
  RelayTlsConn *tconn;    /* TLS only, like: */
  struct evbuffer *plain; /* decrypted input (the bufferevent's input holds the records) */
  struct event *hs_ev;    /* handshake deadline, until established */
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

/* ---- listener back-off ---- */

/* libevent passes a listener's error callback the accept callback's argument, which belongs to the owner:
 * guards are found by listener instead. Main loop only. */
static GHashTable *_guards; /* struct evconnlistener* -> RelayNetAcceptGuard* */

static void
_on_guard_retry(evutil_socket_t fd, short what, void *arg)
{
  RelayNetAcceptGuard *guard = arg;

  evconnlistener_enable(guard->listener); /* fails again (and rests again) while descriptors are short */
}

/* Logs at most once per RELAY_NET_ACCEPT_LOG_S, with the failures since the previous line. */
static void
_guard_log(RelayNetAcceptGuard *guard, int err)
{
  gint64 now = g_get_monotonic_time();

  if (guard->last_log_us && now - guard->last_log_us < (gint64)RELAY_NET_ACCEPT_LOG_S * G_USEC_PER_SEC)
    return;
  relay_warn(guard->log_prefix,
             "accept failed, listener paused error=%s failed_accepts=%" G_GUINT64_FORMAT
             " retry_s=%d (raise the descriptor limit or lower max-connections)",
             evutil_socket_error_to_string(err), guard->failures - guard->failures_logged,
             RELAY_NET_ACCEPT_RETRY_S);
  guard->failures_logged = guard->failures;
  guard->last_log_us = now;
}

/* libevent calls this when accept() failed with a non-transient error, usually EMFILE: the listening
 * socket stays readable, so the listener must rest or the loop spins. */
static void
_on_guard_error(struct evconnlistener *listener, void *arg)
{
  RelayNetAcceptGuard *guard = _guards ? g_hash_table_lookup(_guards, listener) : NULL;
  struct timeval rest = { RELAY_NET_ACCEPT_RETRY_S, 0 };
  int err = EVUTIL_SOCKET_ERROR();

  if (!guard)
    return;
  guard->failures++;
  if (guard->counter)
    relay_counter_inc(guard->counter);
  _guard_log(guard, err);
  evconnlistener_disable(listener);
  evtimer_add(guard->retry, &rest);
}

RelayNetAcceptGuard *
relay_net_accept_guard_new(struct evconnlistener *listener, const char *log_prefix, gint64 *counter)
{
  RelayNetAcceptGuard *guard = g_new0(RelayNetAcceptGuard, 1);

  guard->listener = listener;
  guard->log_prefix = g_strdup(log_prefix);
  guard->counter = counter;
  guard->retry = evtimer_new(evconnlistener_get_base(listener), _on_guard_retry, guard);
  if (!_guards)
    _guards = g_hash_table_new(g_direct_hash, g_direct_equal);
  g_hash_table_insert(_guards, listener, guard);
  evconnlistener_set_error_cb(listener, _on_guard_error);
  return guard;
}

void
relay_net_accept_guard_free(RelayNetAcceptGuard *guard)
{
  if (!guard)
    return;
  evconnlistener_set_error_cb(guard->listener, NULL);
  g_hash_table_remove(_guards, guard->listener);
  if (g_hash_table_size(_guards) == 0)
    g_clear_pointer(&_guards, g_hash_table_unref);
  event_free(guard->retry);
  g_free(guard->log_prefix);
  g_free(guard);
}

guint64
relay_net_accept_guard_failures(RelayNetAcceptGuard *guard)
{
  return guard->failures;
}

void
relay_net_check_fd_limit(const char *log_prefix, guint max_connections)
{
  struct rlimit rl;

  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
    return;
  if ((rlim_t)max_connections + RELAY_NET_FD_RESERVE > rl.rlim_cur)
    relay_warn(log_prefix,
               "max-connections=%u is close to or above the descriptor limit (ulimit -n: %llu): accepting "
               "pauses while descriptors are short",
               max_connections, (unsigned long long)rl.rlim_cur);
}

/* ---- connections ---- */

/* The bufferevent's input: the bytes received (TLS records on a TLS connection). */
static struct evbuffer *
_raw(RelayNetConn *conn)
{
  return bufferevent_get_input(conn->bev);
}

/* Charges what a connection's input or output buffer gained or lost to the memory budget; remembers how much
 * the last read brought (_read_more). */
static void
_on_buffer_change(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
  RelayNetConn *conn = arg;
  gint64 delta = (gint64)info->n_added - (gint64)info->n_deleted;

  if (info->n_added && buf == _raw(conn))
    conn->last_read = info->n_added;
  conn->charged += delta;
  relay_membudget_add(delta);
}

/* ---- TLS: the bufferevent carries the records; conn->plain the decrypted bytes ---- */

void
relay_net_tls_take_output(RelayTlsConn *tconn, struct evbuffer *out)
{
  gsize pending;

  while ((pending = relay_tls_conn_output_pending(tconn)) > 0)
    {
      struct evbuffer_iovec v;
      if (evbuffer_reserve_space(out, (ev_ssize_t)pending, &v, 1) < 1)
        return;
      v.iov_len = relay_tls_conn_take_output_into(tconn, v.iov_base, MIN(v.iov_len, pending));
      evbuffer_commit_space(out, &v, 1);
    }
}

static void
_tls_send(RelayNetConn *conn)
{
  relay_net_tls_take_output(conn->tconn, bufferevent_get_output(conn->bev));
}

/* Closes conn for a TLS reason: one rate-limited line per reason, a counter, the alert (if any) flushed;
 * the undecrypted input is dropped (what was decrypted before stays for closed()). */
static void
_tls_fail(RelayNetConn *conn, RelayTlsFailure failure, const char *detail)
{
  RelayNetServer *server = conn->server;

  if (server->config.tls_errors)
    relay_counter_inc(&server->config.tls_errors[failure]);
  relay_log_ratelimited(&server->rl_tls[failure], RELAY_LOG_WARN, server->log_prefix,
                        "closing connection peer=%s tls=%s detail=%s", conn->peer,
                        relay_tls_failure_name(failure), detail);
  conn->tls_failed = TRUE;
  if (conn->tconn)
    {
      event_del(conn->hs_ev); /* counted once, even while the alert is flushed */
      _tls_send(conn);
    }
  evbuffer_drain(_raw(conn), evbuffer_get_length(_raw(conn)));
  relay_net_conn_close(conn, TRUE);
}

static void
_tls_fail_conn(RelayNetConn *conn)
{
  _tls_fail(conn, relay_tls_conn_failure(conn->tconn), relay_tls_conn_failure_detail(conn->tconn));
}

static void
_on_handshake_timeout(evutil_socket_t fd, short what, void *arg)
{
  RelayNetConn *conn = arg;
  char detail[64];

  g_snprintf(detail, sizeof detail, "no complete handshake within %" G_GINT64_FORMAT " ms",
             relay_tls_options(conn->server->config.tls)->handshake_timeout_ms);
  _tls_fail(conn, RELAY_TLS_FAIL_TIMEOUT, detail);
}

/* The handshake just completed: stop its deadline, check ssl-allowed-subjects. FALSE if refused. */
static gboolean
_tls_established(RelayNetConn *conn)
{
  event_del(conn->hs_ev);
  if (!relay_tls_conn_check_peer(conn->tconn))
    {
      /* TLS 1.3 lets a client send data with its Finished: what a refused peer sent was decrypted in the same
       * read, and must not reach the owner's closed() */
      evbuffer_drain(conn->plain, evbuffer_get_length(conn->plain));
      _tls_fail_conn(conn);
      return FALSE;
    }
  if (conn->server->config.tls_handshakes)
    relay_counter_inc(conn->server->config.tls_handshakes);
  const char *subject = relay_tls_conn_peer_subject(conn->tconn);
  relay_debug(conn->server->log_prefix, "TLS established peer=%s subject=%s", conn->peer,
              subject ? subject : "-");
  return TRUE;
}

/* Feeds the records received to the TLS connection (the memory BIO holds at most about read_high_watermark
 * bytes; the rest waits in the bufferevent, whose watermark then stops reading). TRUE if it fed any. */
static gboolean
_tls_feed(RelayNetConn *conn)
{
  struct evbuffer *raw = _raw(conn);
  gsize high = conn->server->config.read_high_watermark, before = evbuffer_get_length(raw);

  while (evbuffer_get_length(raw) > 0 && relay_tls_conn_input_pending(conn->tconn) < high)
    {
      struct evbuffer_iovec v;
      evbuffer_peek(raw, -1, NULL, &v, 1);
      relay_tls_conn_feed(conn->tconn, v.iov_base, v.iov_len);
      evbuffer_drain(raw, v.iov_len);
    }
  return evbuffer_get_length(raw) < before;
}

/* Decrypts what was received into conn->plain, which stays under read_high_watermark; sends handshake
 * records. FALSE if the connection failed or the peer ended the TLS session. */
static gboolean
_tls_pump(RelayNetConn *conn)
{
  gsize high = conn->server->config.read_high_watermark;

  for (;;)
    {
      gboolean fed = _tls_feed(conn);
      gsize have = evbuffer_get_length(conn->plain), room = have < high ? high - have : 0;
      gsize chunk = MIN(room, 16384), n = 0;
      gboolean was_established = relay_tls_conn_established(conn->tconn);
      struct evbuffer_iovec v = { NULL, 0 };
      guint8 none;
      if (chunk > 0 && evbuffer_reserve_space(conn->plain, (ev_ssize_t)chunk, &v, 1) < 1)
        return FALSE;
      RelayTlsIo io = relay_tls_conn_read_into(conn->tconn, chunk ? v.iov_base : &none,
                                               chunk ? MIN(v.iov_len, chunk) : 0, &n);
      if (chunk > 0)
        {
          v.iov_len = n;
          evbuffer_commit_space(conn->plain, &v, 1);
        }
      _tls_send(conn);
      if (io == RELAY_TLS_IO_FAILED)
        {
          _tls_fail_conn(conn);
          return FALSE;
        }
      if (!was_established && relay_tls_conn_established(conn->tconn) && !_tls_established(conn))
        return FALSE;
      if (io == RELAY_TLS_IO_CLOSED)
        {
          relay_net_conn_close(conn, TRUE); /* close_notify: as an EOF */
          return FALSE;
        }
      if (n == 0 && !fed)
        return TRUE;
    }
}

/* Before the owner sees input: the first bytes must match the port (TLS or not), then TLS records are
 * decrypted. FALSE when there is nothing for the owner (too few bytes yet, closed). */
static gboolean
_tls_input(RelayNetConn *conn)
{
  const RelayNetServerConfig *config = &conn->server->config;

  if (!conn->checked_first && (config->tls || config->refuse_tls_hello))
    {
      if (evbuffer_get_length(_raw(conn)) < 2)
        return config->tls == NULL;
      gboolean hello = relay_tls_looks_like_client_hello(evbuffer_pullup(_raw(conn), 2), 2);
      conn->checked_first = TRUE;
      if (config->tls && !hello)
        _tls_fail(conn, RELAY_TLS_FAIL_PLAINTEXT, "the client does not speak TLS");
      else if (!config->tls && hello)
        _tls_fail(conn, RELAY_TLS_FAIL_TLS_ON_PLAIN, "a TLS ClientHello on a port without ssl");
      if (conn->closing)
        return FALSE;
    }
  return !conn->tconn || conn->tls_failed || _tls_pump(conn);
}

static void
_tls_conn_init(RelayNetConn *conn, RelayTls *tls)
{
  gint64 ms = relay_tls_options(tls)->handshake_timeout_ms;
  struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

  conn->tconn = relay_tls_conn_new(tls, NULL);
  conn->plain = evbuffer_new();
  conn->hs_ev = evtimer_new(conn->server->base, _on_handshake_timeout, conn);
  evtimer_add(conn->hs_ev, &tv);
}

static void
_tls_conn_free(RelayNetConn *conn)
{
  if (!conn->tconn)
    return;
  event_free(conn->hs_ev);
  relay_tls_conn_free(conn->tconn);
  evbuffer_free(conn->plain);
}

/* Encrypts and queues a reply (the handshake is complete: replies follow input). */
static void
_tls_write(RelayNetConn *conn, const void *data, gsize len)
{
  if (conn->tls_failed)
    return;
  if (relay_tls_conn_write(conn->tconn, data, len) == RELAY_TLS_IO_FAILED)
    {
      _tls_fail_conn(conn);
      return;
    }
  _tls_send(conn);
}

/* ---- connections ---- */

static void
_conn_destroy(RelayNetConn *conn, gboolean notify)
{
  RelayNetServer *server = conn->server;

  conn->dead = TRUE;
  conn->closing = TRUE;
  if (notify && conn->tconn && !conn->tls_failed)
    _tls_pump(conn); /* records still waiting (the peer closed while reading was paused) */
  if (notify && server->handler->closed)
    server->handler->closed(conn, conn->data);
  g_queue_unlink(&server->conns, &conn->link);
  evbuffer_remove_cb(bufferevent_get_input(conn->bev), _on_buffer_change, conn);
  evbuffer_remove_cb(bufferevent_get_output(conn->bev), _on_buffer_change, conn);
  if (conn->plain)
    evbuffer_remove_cb(conn->plain, _on_buffer_change, conn);
  relay_membudget_add(-conn->charged);
  _tls_conn_free(conn);
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
  if (conn->closing || conn->paused || !_tls_input(conn) || conn->closing
      || evbuffer_get_length(relay_net_conn_input(conn)) == 0)
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
_on_budget_retry(evutil_socket_t fd, short what, void *arg)
{
  RelayNetServer *self = arg;
  struct timeval tv = { 0, _BUDGET_RETRY_MS * 1000 };

  if (relay_membudget_exhausted())
    {
      evtimer_add(self->budget_retry, &tv);
      return;
    }
  for (GList *l = self->conns.head; l; l = l->next)
    {
      RelayNetConn *conn = l->data;
      if (conn->paused & _PAUSE_MEMORY)
        relay_net_conn_resume(conn, (RelayNetPause)_PAUSE_MEMORY);
    }
}

/* libevent 2.1 reads 4 KiB per read event, so a fast sender costs a read event, an ioctl and a readv every
 * 40 lines of 100 bytes. When that read came back full, more is likely waiting: read it now, up to the
 * input high watermark, in one readv. End of stream and errors are left to the bufferevent's next read
 * (the socket stays readable), so they are reported as before. Plaintext only (TLS input is records). */
static void
_read_more(RelayNetConn *conn)
{
  struct evbuffer *input = _raw(conn);
  gsize len = evbuffer_get_length(input), high = conn->server->config.read_high_watermark;
  struct evbuffer_iovec v[2];

  /* Stop 4 KiB short of the watermark: reaching it would suspend and resume the bufferevent's reading. */
  if (conn->tconn || conn->last_read < _LIBEVENT_MAX_READ || len + 2 * _LIBEVENT_MAX_READ > high
      || relay_membudget_exhausted())
    return;
  conn->last_read = 0;
  evbuffer_unfreeze(input, 0); /* the bufferevent freezes the input's end between its own reads */
  gsize want = MIN(high - len - _LIBEVENT_MAX_READ, _READ_MORE_MAX);
  int n = evbuffer_reserve_space(input, (ev_ssize_t)want, v, 2);
  for (int i = 0; i < n; i++) /* the space reserved may be larger than asked */
    {
      v[i].iov_len = MIN(v[i].iov_len, want);
      want -= v[i].iov_len;
    }
  ssize_t got = n > 0 ? readv(bufferevent_getfd(conn->bev), (struct iovec *)v, n) : -1;
  gsize left = got > 0 ? (gsize)got : 0;
  int used = 0;
  for (; used < n && left > 0; used++)
    {
      v[used].iov_len = MIN(v[used].iov_len, left);
      left -= v[used].iov_len;
    }
  evbuffer_commit_space(input, v, used);
  evbuffer_freeze(input, 0);
}

static void
_on_read(struct bufferevent *bev, void *arg)
{
  RelayNetConn *conn = arg;
  struct timeval tv = { 0, _BUDGET_RETRY_MS * 1000 };

  _read_more(conn);
  _run_readable(conn); /* what was read is handled: a put then fails (FAILED answers) while memory is short */
  if (!relay_membudget_exhausted() || conn->closing || (conn->paused & _PAUSE_MEMORY))
    return;
  relay_net_conn_pause(conn, (RelayNetPause)_PAUSE_MEMORY);
  if (!evtimer_pending(conn->server->budget_retry, NULL))
    evtimer_add(conn->server->budget_retry, &tv);
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
  evbuffer_add_cb(bufferevent_get_input(bev), _on_buffer_change, conn);
  evbuffer_add_cb(bufferevent_get_output(bev), _on_buffer_change, conn);
  bufferevent_setwatermark(bev, EV_READ, 0, server->config.read_high_watermark);
  if (server->config.tls)
    {
      _tls_conn_init(conn, server->config.tls);
      evbuffer_add_cb(conn->plain, _on_buffer_change, conn);
    }
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

const char *
relay_net_conn_tls_subject(RelayNetConn *conn)
{
  return conn->tconn ? relay_tls_conn_peer_subject(conn->tconn) : NULL;
}

struct evbuffer *
relay_net_conn_input(RelayNetConn *conn)
{
  return conn->plain ? conn->plain : _raw(conn);
}

void
relay_net_conn_write(RelayNetConn *conn, const void *data, gsize len)
{
  if (conn->dead)
    return;
  if (conn->tconn)
    _tls_write(conn, data, len);
  else
    bufferevent_write(conn->bev, data, len);
  _check_output(conn);
}

void
relay_net_conn_write_buffer(RelayNetConn *conn, struct evbuffer *buf)
{
  if (conn->dead)
    return;
  if (!conn->tconn)
    bufferevent_write_buffer(conn->bev, buf);
  while (conn->tconn && evbuffer_get_length(buf) > 0)
    {
      struct evbuffer_iovec v;
      evbuffer_peek(buf, -1, NULL, &v, 1);
      _tls_write(conn, v.iov_base, v.iov_len);
      evbuffer_drain(buf, v.iov_len);
    }
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
  if (evbuffer_get_length(_raw(conn)) > 0 || evbuffer_get_length(relay_net_conn_input(conn)) > 0)
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
      if (self->config.refused_counter)
        relay_counter_inc(self->config.refused_counter);
      evutil_closesocket(fd);
      return;
    }
  if (relay_membudget_exhausted())
    {
      relay_log_ratelimited(&self->rl_memory, RELAY_LOG_WARN, self->log_prefix,
                            "refusing connection peer=%s (memory.limit reached: used=%" G_GINT64_FORMAT
                            " limit=%" G_GINT64_FORMAT ")",
                            peer, relay_membudget_used(), relay_membudget_limit());
      if (self->config.refused_counter)
        relay_counter_inc(self->config.refused_counter);
      if (self->config.memory_counter)
        relay_counter_inc(self->config.memory_counter);
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
  self->rl_memory = limit;
  for (guint i = 0; i < RELAY_TLS_FAIL_N; i++)
    self->rl_tls[i] = limit;
  if (config->tls)
    relay_tls_ref(config->tls);
  g_queue_init(&self->conns);
  self->budget_retry = evtimer_new(base, _on_budget_retry, self);
  self->listener = relay_net_listen(base, log_prefix, config->bind, config->port, _on_accept, self, error);
  if (!self->listener)
    {
      relay_net_server_free(self);
      return NULL;
    }
  self->guard = relay_net_accept_guard_new(self->listener, log_prefix, config->accept_fail_counter);
  relay_net_check_fd_limit(log_prefix, config->max_connections);
  return self;
}

void
relay_net_server_free(RelayNetServer *self)
{
  if (!self)
    return;
  relay_net_accept_guard_free(self->guard);
  if (self->listener)
    evconnlistener_free(self->listener);
  while (self->conns.head)
    _conn_destroy(self->conns.head->data, TRUE);
  event_free(self->budget_retry);
  relay_tls_unref(self->config.tls);
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
