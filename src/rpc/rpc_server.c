/* rpc_server.c - listener and per-connection request loop for the RPC sources (see rpc_server.h).
 *
 * Per connection: one read event, a contiguous read buffer `in` with a cursor, an optional inflate stream,
 * an evbuffer of unsent output with a write event, and at most one request waiting for its put. The read
 * buffer is compacted (leftover moved to the front) only after requests were consumed, so a request is
 * never copied before decoding, and replaced by a small one once a large request is done. One timer per
 * connection carries either the deadline of the request being received (from its first byte) or the
 * idle timeout (from the last request or reply progress). Each connection's buffered bytes (read buffer and
 * unsent output) are charged to the memory budget, and for a deflate source its read buffer (inflated
 * bytes) also to the source's max_inflated_bytes. */
#include "rpc_server.h"

#include "counters.h"
#include "event.h"
#include "log.h"
#include "membudget.h"
#include "net.h"
#include "zstream.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RELAY_READ_CHUNK (64 * 1024)
/* A read buffer that grew beyond this is replaced by a small one when the requests in it are done. */
#define RELAY_SHRINK_ABOVE (4 * RELAY_READ_CHUNK)
/* How often connections paused for the memory budget check whether there is room again. */
#define RELAY_BUDGET_RETRY_MS 100

typedef struct _RelayRpcConn RelayRpcConn;

struct _RelayRpcServer
{
  RelaySource *source;
  const RelayRpcServerProtocol *protocol;
  RelayRpcServerConfig cfg;
  char *bind;
  struct evconnlistener *listener;
  RelayNetAcceptGuard *guard;
  int bound_port;
  GList *conns;
  guint n_conns;
  gsize inflated;             /* sum of the deflate connections' read buffers (max_inflated_bytes) */
  struct event *budget_retry; /* resumes connections paused for the memory budget */
  RelayRateLimit limit_accept, limit_proto, limit_idle, limit_memory;
  RelayRateLimit limit_tls[RELAY_TLS_FAIL_N]; /* one per reason */
};

struct _RelayRpcConn
{
  RelayRpcServer *server;
  GList *link;
  int fd;
  char peer[64];
  struct event *read_ev, *write_ev;
  struct event *timer_ev; /* request deadline or idle timeout */
  GByteArray *in;         /* plain bytes received, from in_pos on not yet consumed */
  gsize in_pos;
  gsize in_peak;          /* largest in->len since the buffer was last replaced */
  gint64 req_start_us;    /* first byte of the request being received */
  gint64 last_active_us;  /* accept, last request consumed, last reply bytes written */
  gint64 charged;         /* bytes charged to the memory budget */
  gsize inflated;         /* bytes counted in server->inflated */
  gboolean budget_paused; /* not read while the memory budget is exhausted */
  GByteArray *scratch;    /* reply encoding */
  GByteArray *zbuf;       /* deflated reply / raw compressed input */
  struct evbuffer *out;
  gpointer session;
  RelayZStream zin, zout;
  RelayPutRequest *put; /* pending put, if any */
  gpointer reply_ctx;   /* its reply context */
  gboolean waiting;     /* a put is pending (sync or async) */
  gboolean in_submit;   /* inside relay_channel_processor_submit() */
  guint n_events;
  gboolean is_batch;
  gboolean peer_closed; /* EOF seen: close once the pending reply is written */
  gboolean reading;
  gboolean saw_input;  /* the first bytes were checked (TLS or not) */
  RelayTlsConn *tconn; /* TLS only */
  GByteArray *tls_buf; /* TLS records (in or out) / decrypted bytes before inflation */
  struct event *hs_ev; /* handshake deadline (TLS only, until established) */
  guint64 requests;    /* requests parsed on this connection */
  guint64 raw_in;      /* bytes received on this connection (before inflating) */
};

/* " (likely mismatch: ...)" for an error in the connection's first request, else "". Static. */
static const char *
_first_request_hint(RelayRpcConn *conn, char *buf, gsize size)
{
  const RelayRpcServerProtocol *p = conn->server->protocol;
  const char *hint = NULL;

  if (conn->requests == 0 && p->mismatch_hint)
    hint = p->mismatch_hint(conn->server->cfg.protocol_config, conn->in->data + conn->in_pos,
                            conn->in->len - conn->in_pos);
  g_snprintf(buf, size, "%s%s%s", hint ? " (likely mismatch: " : "", hint ? hint : "", hint ? ")" : "");
  return buf;
}

/* A zlib stream starts with CMF (method 8) and FLG such that CMF*256+FLG is a multiple of 31 (RFC 1950). */
static gboolean
_looks_like_zlib(const guint8 *data, gsize len)
{
  return len >= 2 && (data[0] & 0x0f) == 8 && ((data[0] << 8) | data[1]) % 31 == 0;
}

static void _conn_free(RelayRpcConn *conn);
static void _conn_process(RelayRpcConn *conn);

static const char *
_prefix(RelayRpcServer *self)
{
  return self->source->super.log_prefix;
}

/* ---------------------------------------------------------------- output */

/* Charges the change of the connection's buffered bytes to the memory budget and, for inflated input, to
 * the source's shared count. */
static void
_conn_account(RelayRpcConn *conn)
{
  RelayRpcServer *self = conn->server;
  gint64 now = (gint64)conn->in->len + (gint64)evbuffer_get_length(conn->out);

  relay_membudget_add(now - conn->charged);
  conn->charged = now;
  if (self->cfg.deflate)
    {
      self->inflated = self->inflated - conn->inflated + conn->in->len;
      conn->inflated = conn->in->len;
    }
}

/* Arms the connection's one timer: the deadline of a request being received, else the idle timeout. No
 * timer while a put is pending (bounded by the channels' keep-alive). */
static void
_conn_update_timer(RelayRpcConn *conn)
{
  RelayRpcServerConfig *cfg = &conn->server->cfg;
  gint64 deadline;

  if (conn->waiting || conn->peer_closed)
    {
      event_del(conn->timer_ev);
      return;
    }
  if (conn->in->len > conn->in_pos)
    deadline = conn->req_start_us + (gint64)cfg->partial_timeout_ms * 1000;
  else if (cfg->idle_timeout_ms > 0)
    deadline = conn->last_active_us + (gint64)cfg->idle_timeout_ms * 1000;
  else
    {
      event_del(conn->timer_ev);
      return;
    }
  gint64 wait = MAX(deadline - g_get_monotonic_time(), 0);
  struct timeval tv = { (time_t)(wait / G_USEC_PER_SEC), (suseconds_t)(wait % G_USEC_PER_SEC) };
  evtimer_add(conn->timer_ev, &tv);
}

static void
_conn_update_reading(RelayRpcConn *conn)
{
  gboolean want = !conn->waiting && !conn->peer_closed && !conn->budget_paused
                  && evbuffer_get_length(conn->out) <= conn->server->cfg.max_output_bytes;
  if (want == conn->reading)
    return;
  conn->reading = want;
  if (want)
    event_add(conn->read_ev, NULL);
  else
    event_del(conn->read_ev);
}

static void
_conn_flush(RelayRpcConn *conn)
{
  while (evbuffer_get_length(conn->out) > 0)
    {
      int n = evbuffer_write(conn->out, conn->fd);
      if (n > 0)
        {
          conn->last_active_us = g_get_monotonic_time(); /* a client reading its replies is not idle */
          continue;
        }
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        {
          relay_debug(_prefix(conn->server), "write failed peer=%s error=%s", conn->peer, g_strerror(errno));
          _conn_free(conn);
          return;
        }
      event_add(conn->write_ev, NULL);
      _conn_account(conn);
      _conn_update_reading(conn);
      _conn_update_timer(conn);
      return;
    }
  if (conn->peer_closed && !conn->waiting)
    {
      _conn_free(conn);
      return;
    }
  _conn_account(conn);
  _conn_update_reading(conn);
  _conn_update_timer(conn);
}

/* Queues scratch (plain reply bytes) for sending, deflating if configured. */
static gboolean
_deflate_outside(RelayRpcConn *conn)
{
  return conn->server->cfg.deflate && conn->tconn && !conn->server->cfg.deflate_inside_tls;
}

static gboolean
_deflate_inside(RelayRpcConn *conn)
{
  return conn->server->cfg.deflate && !_deflate_outside(conn);
}

/* Moves the TLS records waiting in the connection to the output (deflated when deflate is outside). */
static void
_conn_queue_tls_output(RelayRpcConn *conn)
{
  if (!_deflate_outside(conn))
    {
      relay_net_tls_take_output(conn->tconn, conn->out);
      return;
    }
  g_byte_array_set_size(conn->tls_buf, 0);
  relay_tls_conn_take_output(conn->tconn, conn->tls_buf);
  if (conn->tls_buf->len == 0)
    return;
  g_byte_array_set_size(conn->zbuf, 0);
  relay_zstream_deflate(&conn->zout, conn->tls_buf->data, conn->tls_buf->len, conn->zbuf);
  evbuffer_add(conn->out, conn->zbuf->data, conn->zbuf->len);
}

/* Queues scratch (plain reply bytes) for sending, through the deflate and TLS layers if configured. */
static void
_conn_queue(RelayRpcConn *conn, GByteArray *bytes)
{
  const guint8 *data = bytes->data;
  gsize len = bytes->len;

  if (len == 0)
    return;
  if (_deflate_inside(conn))
    {
      g_byte_array_set_size(conn->zbuf, 0);
      relay_zstream_deflate(&conn->zout, data, len, conn->zbuf);
      data = conn->zbuf->data;
      len = conn->zbuf->len;
    }
  if (!conn->tconn)
    {
      evbuffer_add(conn->out, data, len);
      return;
    }
  relay_tls_conn_write(conn->tconn, data, len); /* memory BIO: cannot fail once established */
  _conn_queue_tls_output(conn);
}

static void
_on_writable(evutil_socket_t fd, short what, void *arg)
{
  _conn_flush(arg);
}

/* ---------------------------------------------------------------- requests */

static void
_count_received(RelayRpcConn *conn, guint n, gboolean is_batch)
{
  RelaySourceCounters *c = &conn->server->source->counters;

  relay_counter_add(&c->event_received, n);
  if (is_batch)
    relay_counter_inc(&c->append_batch_received);
  else
    relay_counter_inc(&c->append_received);
}

static void
_count_result(RelayRpcConn *conn, RelayPutResult result)
{
  RelaySourceCounters *c = &conn->server->source->counters;

  if (result != RELAY_PUT_OK)
    {
      relay_counter_add(&c->event_failed, conn->n_events);
      return;
    }
  relay_counter_add(&c->event_accepted, conn->n_events);
  if (conn->is_batch)
    relay_counter_inc(&c->append_batch_accepted);
  else
    relay_counter_inc(&c->append_accepted);
}

static void
_on_put_done(RelayPutResult result, gpointer user_data)
{
  RelayRpcConn *conn = user_data;

  _count_result(conn, result);
  g_byte_array_set_size(conn->scratch, 0);
  conn->server->protocol->encode_reply(conn->session, conn->reply_ctx, result, conn->scratch);
  conn->reply_ctx = NULL;
  conn->put = NULL;
  conn->waiting = FALSE;
  _conn_queue(conn, conn->scratch);
  if (conn->in_submit)
    return; /* completed synchronously: the request loop goes on by itself */
  _conn_process(conn);
}

/* ssl-peer-header: the client certificate's subject goes into every event of the connection. */
static void
_conn_add_peer_header(RelayRpcConn *conn, GPtrArray *events)
{
  if (!conn->tconn)
    return;
  const char *header = relay_tls_options(conn->server->cfg.tls)->peer_header;
  const char *subject = relay_tls_conn_peer_subject(conn->tconn);
  if (!header || !subject)
    return;
  for (guint i = 0; i < events->len; i++)
    events->pdata[i] = relay_event_with_header(events->pdata[i], header, subject);
}

static void
_conn_submit(RelayRpcConn *conn, RelayRpcRequest *req)
{
  conn->waiting = TRUE;
  conn->reply_ctx = req->reply_ctx;
  conn->n_events = req->events->len;
  conn->is_batch = req->is_batch;
  _count_received(conn, conn->n_events, conn->is_batch);
  _conn_add_peer_header(conn, req->events);
  conn->in_submit = TRUE;
  RelayPutRequest *put
      = relay_channel_processor_submit(conn->server->source->cp, req->events, _on_put_done, conn);
  conn->in_submit = FALSE;
  if (conn->waiting)
    conn->put = put;
}

/* The memory budget is exhausted: answer FAILED at once instead of storing the events (the client retries
 * later, as for a full channel). */
static void
_conn_refuse_events(RelayRpcConn *conn, RelayRpcRequest *req)
{
  RelayRpcServer *self = conn->server;
  RelaySourceCounters *c = &self->source->counters;

  _count_received(conn, req->events->len, req->is_batch);
  relay_counter_add(&c->event_failed, req->events->len);
  relay_counter_inc(&c->memory_refused);
  relay_log_ratelimited(&self->limit_memory, RELAY_LOG_WARN, _prefix(self),
                        "answering FAILED peer=%s events=%u (memory.limit reached: used=%" G_GINT64_FORMAT
                        " limit=%" G_GINT64_FORMAT ")",
                        conn->peer, req->events->len, relay_membudget_used(), relay_membudget_limit());
  g_ptr_array_unref(req->events);
  g_byte_array_set_size(conn->scratch, 0);
  self->protocol->encode_reply(conn->session, req->reply_ctx, RELAY_PUT_FULL, conn->scratch);
  _conn_queue(conn, conn->scratch);
}

static gboolean
_conn_protocol_error(RelayRpcConn *conn, RelayRpcRequest *req)
{
  RelayRpcServer *self = conn->server;

  relay_source_count_protocol_error(self->source,
                                    req->over_limit ? RELAY_PROTO_ERROR_LIMIT : RELAY_PROTO_ERROR_MALFORMED);
  char hint[512];
  relay_log_ratelimited(&self->limit_proto, RELAY_LOG_WARN, _prefix(self), "closing connection peer=%s %s%s",
                        conn->peer, req->error ? req->error : "protocol error",
                        _first_request_hint(conn, hint, sizeof hint));
  g_free(req->error);
  if (req->reply->len == 0)
    return FALSE;
  _conn_queue(conn, req->reply);
  conn->peer_closed = TRUE; /* close once the error reply is out */
  return TRUE;
}

/* Drops the consumed bytes; a buffer that held a large request is replaced by a small one, so a connection
 * that sent one big (or highly compressed) request does not keep its memory while idle. */
static void
_conn_compact(RelayRpcConn *conn)
{
  gsize left = conn->in->len - conn->in_pos;

  if (conn->in_peak > RELAY_SHRINK_ABOVE && left <= RELAY_READ_CHUNK)
    {
      GByteArray *small = g_byte_array_sized_new((guint)(left + RELAY_READ_CHUNK));
      g_byte_array_append(small, conn->in->data + conn->in_pos, (guint)left);
      g_byte_array_unref(conn->in);
      conn->in = small;
      conn->in_peak = left;
    }
  else
    g_byte_array_remove_range(conn->in, 0, (guint)conn->in_pos);
  conn->in_pos = 0;
}

/* Handles as many buffered requests as possible. May free conn. */
static void
_conn_process(RelayRpcConn *conn)
{
  RelayRpcServer *self = conn->server;

  while (!conn->waiting && conn->in_pos < conn->in->len)
    {
      RelayRpcRequest req = { 0 };
      req.reply = conn->scratch;
      g_byte_array_set_size(conn->scratch, 0);
      self->protocol->parse_request(conn->session, conn->in->data + conn->in_pos,
                                    conn->in->len - conn->in_pos, &req);
      if (req.kind == RELAY_RPC_REQ_NEED_MORE && conn->in->len - conn->in_pos > self->cfg.max_request_bytes)
        {
          req.kind = RELAY_RPC_REQ_ERROR;
          req.over_limit = TRUE;
          req.error
              = g_strdup_printf("what=request-size limit=%" G_GSIZE_FORMAT, self->cfg.max_request_bytes);
        }
      if (req.kind == RELAY_RPC_REQ_NEED_MORE)
        break;
      if (req.kind == RELAY_RPC_REQ_ERROR)
        {
          if (!_conn_protocol_error(conn, &req))
            {
              _conn_free(conn);
              return;
            }
          conn->in_pos = conn->in->len; /* discard the rest */
          break;
        }
      conn->in_pos += req.consumed;
      conn->requests++;
      conn->last_active_us = conn->req_start_us = g_get_monotonic_time(); /* leftover: the next request */
      if (req.kind == RELAY_RPC_REQ_REPLY)
        _conn_queue(conn, req.reply);
      else if (relay_membudget_exhausted())
        _conn_refuse_events(conn, &req);
      else
        _conn_submit(conn, &req);
    }
  if (conn->in_pos > 0 && !conn->waiting)
    _conn_compact(conn);
  _conn_flush(conn);
}

/* ---------------------------------------------------------------- input */

/* Inflates len received bytes into the read buffer, within the request limit and the room the source's
 * other connections left under max_inflated_bytes. FALSE (logged, counted) when the connection must close. */
static gboolean
_conn_inflate_input(RelayRpcConn *conn, const guint8 *data, gsize len, GByteArray *dst)
{
  RelayRpcServer *self = conn->server;
  RelayRpcServerConfig *cfg = &self->cfg;
  gsize limit = cfg->max_request_bytes + RELAY_READ_CHUNK;
  gboolean too_big = FALSE, shared = FALSE;

  if (cfg->max_inflated_bytes > 0)
    {
      gsize others = self->inflated - conn->inflated;
      gsize room = cfg->max_inflated_bytes > others ? cfg->max_inflated_bytes - others : 0;
      shared = room < limit;
      limit = MIN(limit, room);
    }
  gboolean first = conn->raw_in == 0;
  conn->raw_in += len;
  gboolean ok = relay_zstream_inflate(&conn->zin, data, len, dst, limit, &too_big);
  conn->in_peak = MAX(conn->in_peak, conn->in->len);
  _conn_account(conn);
  if (ok)
    return TRUE;
  if (too_big && shared)
    relay_log_ratelimited(&self->limit_proto, RELAY_LOG_WARN, _prefix(self),
                          "closing connection peer=%s what=inflated-bytes limit=%" G_GSIZE_FORMAT
                          " (max-inflated-bytes, shared by the source's connections)",
                          conn->peer, cfg->max_inflated_bytes);
  else
    relay_log_ratelimited(&self->limit_proto, RELAY_LOG_WARN, _prefix(self),
                          "closing connection peer=%s %s%s", conn->peer,
                          too_big ? "inflated request exceeds the buffer limit" : "corrupt deflate stream",
                          !too_big && first && !_looks_like_zlib(data, len)
                              ? " (likely mismatch: the client does not compress and this source has "
                                "compression-type = deflate: set compression-type = deflate on the client "
                                "(relay-send --compression deflate) or none on this source)"
                              : "");
  relay_source_count_protocol_error(self->source, RELAY_PROTO_ERROR_DEFLATE);
  return FALSE;
}

/* Closes a connection for a TLS reason: one rate-limited line, a counter; the alert (if any) is sent on a
 * best-effort basis before the socket closes. */
static void
_conn_tls_fail(RelayRpcConn *conn, RelayTlsFailure failure, const char *detail)
{
  RelayRpcServer *self = conn->server;

  relay_counter_inc(&self->source->counters.tls_errors[failure]);
  relay_log_ratelimited(&self->limit_tls[failure], RELAY_LOG_WARN, _prefix(self),
                        "closing connection peer=%s tls=%s detail=%s", conn->peer,
                        relay_tls_failure_name(failure), detail);
  if (conn->tconn)
    _conn_queue_tls_output(conn);
  if (evbuffer_get_length(conn->out) > 0)
    evbuffer_write(conn->out, conn->fd);
  _conn_free(conn);
}

/* The first bytes tell a TLS client from a plaintext one; a mismatch with the port closes the connection.
 * FALSE if conn was freed. */
static gboolean
_conn_check_first_bytes(RelayRpcConn *conn, const guint8 *data, gsize len)
{
  gboolean hello = relay_tls_looks_like_client_hello(data, len);

  if (len < 2)
    return TRUE; /* decide on the next read */
  conn->saw_input = TRUE;
  if (conn->tconn && !hello && !_deflate_outside(conn))
    _conn_tls_fail(conn, RELAY_TLS_FAIL_PLAINTEXT, "the client does not speak TLS");
  else if (!conn->tconn && hello)
    _conn_tls_fail(conn, RELAY_TLS_FAIL_TLS_ON_PLAIN, "a TLS ClientHello on a port without ssl");
  else
    return TRUE;
  return FALSE;
}

static void
_on_handshake_timeout(evutil_socket_t fd, short what, void *arg)
{
  RelayRpcConn *conn = arg;
  char detail[64];

  g_snprintf(detail, sizeof detail, "no complete handshake within %" G_GINT64_FORMAT " ms",
             relay_tls_options(conn->server->cfg.tls)->handshake_timeout_ms);
  _conn_tls_fail(conn, RELAY_TLS_FAIL_TIMEOUT, detail);
}

/* Passes len raw bytes through (deflate outside) TLS (deflate inside) into conn->in. FALSE if conn was
 * freed or is closing. */
static gboolean
_conn_tls_input(RelayRpcConn *conn, const guint8 *data, gsize len)
{
  RelayRpcServerConfig *cfg = &conn->server->cfg;
  gsize limit = cfg->max_request_bytes + 2 * RELAY_READ_CHUNK;

  if (_deflate_outside(conn))
    {
      g_byte_array_set_size(conn->tls_buf, 0);
      if (!_conn_inflate_input(conn, data, len, conn->tls_buf))
        {
          _conn_free(conn);
          return FALSE;
        }
      data = conn->tls_buf->data;
      len = conn->tls_buf->len;
    }
  gboolean was_established = relay_tls_conn_established(conn->tconn);
  GByteArray *dst = _deflate_inside(conn) ? conn->tls_buf : conn->in;
  if (dst == conn->tls_buf)
    g_byte_array_set_size(dst, 0); /* data is never tls_buf then: deflate is outside or inside, not both */
  RelayTlsIo io = relay_tls_conn_feed_read(conn->tconn, data, len, dst,
                                           dst == conn->in ? conn->in->len + limit : limit);
  if (io == RELAY_TLS_IO_FAILED)
    {
      _conn_tls_fail(conn, relay_tls_conn_failure(conn->tconn), relay_tls_conn_failure_detail(conn->tconn));
      return FALSE;
    }
  if (dst == conn->in)
    {
      conn->in_peak = MAX(conn->in_peak, conn->in->len);
      _conn_account(conn);
    }
  _conn_queue_tls_output(conn); /* handshake messages */
  if (!was_established && relay_tls_conn_established(conn->tconn))
    {
      event_del(conn->hs_ev);
      if (!relay_tls_conn_check_peer(conn->tconn))
        {
          _conn_tls_fail(conn, relay_tls_conn_failure(conn->tconn),
                         relay_tls_conn_failure_detail(conn->tconn));
          return FALSE;
        }
      relay_counter_inc(&conn->server->source->counters.tls_handshakes);
      relay_debug(_prefix(conn->server), "TLS established peer=%s subject=%s", conn->peer,
                  relay_tls_conn_peer_subject(conn->tconn) ? relay_tls_conn_peer_subject(conn->tconn) : "-");
    }
  if (dst == conn->tls_buf && dst->len > 0 && !_conn_inflate_input(conn, dst->data, dst->len, conn->in))
    {
      _conn_free(conn);
      return FALSE;
    }
  if (io == RELAY_TLS_IO_CLOSED)
    conn->peer_closed = TRUE;
  return TRUE;
}

/* The request deadline or the idle timeout may have passed: close the connection if so, else re-arm. */
static void
_on_timer(evutil_socket_t fd, short what, void *arg)
{
  RelayRpcConn *conn = arg;
  RelayRpcServer *self = conn->server;
  gint64 now = g_get_monotonic_time();

  if (conn->waiting || conn->peer_closed)
    return;
  if (conn->in->len > conn->in_pos && now >= conn->req_start_us + (gint64)self->cfg.partial_timeout_ms * 1000)
    {
      char hint[512];
      relay_source_count_protocol_error(self->source, RELAY_PROTO_ERROR_TIMEOUT);
      relay_log_ratelimited(&self->limit_proto, RELAY_LOG_WARN, _prefix(self),
                            "closing connection peer=%s what=incomplete-request bytes=%" G_GSIZE_FORMAT
                            " timeout_ms=%u%s",
                            conn->peer, conn->in->len - conn->in_pos, self->cfg.partial_timeout_ms,
                            _first_request_hint(conn, hint, sizeof hint));
      _conn_free(conn);
      return;
    }
  if (conn->in->len == conn->in_pos && self->cfg.idle_timeout_ms > 0
      && now >= conn->last_active_us + (gint64)self->cfg.idle_timeout_ms * 1000)
    {
      relay_counter_inc(&self->source->counters.idle_closed);
      relay_log_ratelimited(&self->limit_idle, RELAY_LOG_INFO, _prefix(self),
                            "closing idle connection peer=%s idle_timeout_s=%u", conn->peer,
                            self->cfg.idle_timeout_ms / 1000);
      _conn_free(conn);
      return;
    }
  _conn_update_timer(conn);
}

/* Resumes the connections paused for the memory budget once it has room; else looks again later. */
static void
_on_budget_retry(evutil_socket_t fd, short what, void *arg)
{
  RelayRpcServer *self = arg;
  struct timeval tv = { 0, RELAY_BUDGET_RETRY_MS * 1000 };

  if (relay_membudget_exhausted())
    {
      evtimer_add(self->budget_retry, &tv);
      return;
    }
  for (GList *l = self->conns; l; l = l->next)
    {
      RelayRpcConn *conn = l->data;
      if (!conn->budget_paused)
        continue;
      conn->budget_paused = FALSE;
      _conn_update_reading(conn);
    }
}

/* The memory budget is exhausted: stop reading conn until it has room. */
static void
_conn_pause_for_budget(RelayRpcConn *conn)
{
  RelayRpcServer *self = conn->server;
  struct timeval tv = { 0, RELAY_BUDGET_RETRY_MS * 1000 };

  conn->budget_paused = TRUE;
  _conn_update_reading(conn);
  if (!evtimer_pending(self->budget_retry, NULL))
    evtimer_add(self->budget_retry, &tv);
}

static void
_on_readable(evutil_socket_t fd, short what, void *arg)
{
  RelayRpcConn *conn = arg;
  guint8 *dst;
  gsize old = conn->in->len;
  gboolean was_empty = conn->in->len == conn->in_pos;

  if (relay_membudget_exhausted())
    {
      _conn_pause_for_budget(conn);
      return;
    }

  if (conn->server->cfg.deflate || conn->tconn)
    {
      g_byte_array_set_size(conn->zbuf, RELAY_READ_CHUNK);
      dst = conn->zbuf->data;
    }
  else
    {
      g_byte_array_set_size(conn->in, (guint)(old + RELAY_READ_CHUNK));
      dst = conn->in->data + old;
    }
  ssize_t n = recv(fd, dst, RELAY_READ_CHUNK, 0);
  if (n > 0)
    relay_counter_add(&conn->server->source->counters.bytes_received, n);
  if (!conn->server->cfg.deflate && !conn->tconn)
    {
      g_byte_array_set_size(conn->in, (guint)(old + MAX(n, 0)));
      conn->in_peak = MAX(conn->in_peak, conn->in->len);
      _conn_account(conn);
    }
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0)
    {
      conn->peer_closed = TRUE;
      if (!conn->waiting)
        _conn_free(conn);
      else
        _conn_update_reading(conn);
      return;
    }
  if (!conn->saw_input && !_conn_check_first_bytes(conn, dst, (gsize)n))
    return;
  if (conn->tconn)
    {
      if (!_conn_tls_input(conn, dst, (gsize)n))
        return;
    }
  else if (conn->server->cfg.deflate && !_conn_inflate_input(conn, dst, (gsize)n, conn->in))
    {
      _conn_free(conn);
      return;
    }
  if (was_empty && conn->in->len > conn->in_pos)
    conn->req_start_us = g_get_monotonic_time(); /* the request's deadline runs from its first byte */
  _conn_process(conn);
}

/* ---------------------------------------------------------------- connections */

static void
_conn_free(RelayRpcConn *conn)
{
  RelayRpcServer *self = conn->server;

  if (conn->put)
    {
      relay_put_request_cancel(conn->put);
      relay_counter_add(&self->source->counters.event_failed, conn->n_events); /* never answered */
    }
  if (conn->reply_ctx)
    self->protocol->free_reply_ctx(conn->reply_ctx);
  event_free(conn->read_ev);
  event_free(conn->write_ev);
  if (conn->hs_ev)
    event_free(conn->hs_ev);
  relay_tls_conn_free(conn->tconn);
  g_byte_array_unref(conn->tls_buf);
  event_free(conn->timer_ev);
  relay_membudget_add(-conn->charged);
  self->inflated -= conn->inflated;
  evbuffer_free(conn->out);
  close(conn->fd);
  self->protocol->session_free(conn->session);
  relay_zstream_end(&conn->zin);
  relay_zstream_end(&conn->zout);
  g_byte_array_unref(conn->in);
  g_byte_array_unref(conn->scratch);
  g_byte_array_unref(conn->zbuf);
  self->conns = g_list_delete_link(self->conns, conn->link);
  self->n_conns--;
  relay_counter_set(&self->source->counters.open_connections, self->n_conns);
  relay_debug(_prefix(self), "connection closed peer=%s", conn->peer);
  g_free(conn);
}

static RelayRpcConn *
_conn_new(RelayRpcServer *self, evutil_socket_t fd, const char *peer)
{
  RelayRpcConn *conn = g_new0(RelayRpcConn, 1);
  struct event_base *base = self->source->base;

  conn->server = self;
  conn->fd = fd;
  g_strlcpy(conn->peer, peer, sizeof conn->peer);
  evutil_make_socket_nonblocking(fd);
  relay_net_tune_socket(fd);
  conn->read_ev = event_new(base, fd, EV_READ | EV_PERSIST, _on_readable, conn);
  conn->write_ev = event_new(base, fd, EV_WRITE, _on_writable, conn);
  conn->timer_ev = evtimer_new(base, _on_timer, conn);
  conn->last_active_us = g_get_monotonic_time();
  conn->in = g_byte_array_sized_new(RELAY_READ_CHUNK);
  conn->scratch = g_byte_array_new();
  conn->zbuf = g_byte_array_new();
  conn->out = evbuffer_new();
  conn->session = self->protocol->session_new(self->cfg.protocol_config);
  if (self->cfg.deflate)
    {
      relay_zstream_init_inflate(&conn->zin);
      relay_zstream_init_deflate(&conn->zout, self->cfg.compression_level);
    }
  self->conns = g_list_prepend(self->conns, conn);
  conn->link = self->conns;
  self->n_conns++;
  relay_counter_set(&self->source->counters.open_connections, self->n_conns);
  conn->tls_buf = g_byte_array_new();
  if (self->cfg.tls)
    {
      gint64 ms = relay_tls_options(self->cfg.tls)->handshake_timeout_ms;
      struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
      conn->tconn = relay_tls_conn_new(self->cfg.tls, NULL);
      conn->hs_ev = evtimer_new(base, _on_handshake_timeout, conn);
      evtimer_add(conn->hs_ev, &tv);
    }
  conn->reading = TRUE;
  event_add(conn->read_ev, NULL);
  _conn_update_timer(conn);
  return conn;
}

/* ---------------------------------------------------------------- ip filter */

/* Flume's ipFilterRules: comma-separated "allow|deny:ip|name:pattern"; first match wins; no match allows. */
static gboolean
_ip_filter_allows(const char *rules, const struct sockaddr *sa, socklen_t salen, const char *ip)
{
  char **items = g_strsplit(rules, ",", -1);
  gboolean allowed = TRUE, matched = FALSE;

  for (guint i = 0; items[i] && !matched; i++)
    {
      char **parts = g_strsplit(g_strstrip(items[i]), ":", 3);
      if (g_strv_length(parts) == 3)
        {
          const char *subject = ip;
          char host[NI_MAXHOST];
          if (strcmp(parts[1], "name") == 0)
            subject = getnameinfo(sa, salen, host, sizeof host, NULL, 0, NI_NAMEREQD) == 0 ? host : NULL;
          if (subject && g_pattern_match_simple(parts[2], subject))
            {
              matched = TRUE;
              allowed = strcmp(parts[0], "allow") == 0;
            }
        }
      g_strfreev(parts);
    }
  g_strfreev(items);
  return allowed;
}

gboolean
relay_ip_filter_rules_valid(const char *rules, char **why)
{
  char **items = g_strsplit(rules ? rules : "", ",", -1);
  gboolean ok = items[0] != NULL;

  for (guint i = 0; ok && items[i]; i++)
    {
      char **parts = g_strsplit(g_strstrip(items[i]), ":", 3);
      ok = g_strv_length(parts) == 3 && (!strcmp(parts[0], "allow") || !strcmp(parts[0], "deny"))
           && (!strcmp(parts[1], "ip") || !strcmp(parts[1], "name")) && parts[2][0];
      if (!ok)
        *why = g_strdup_printf("rule '%s' is not allow|deny:ip|name:pattern", items[i]);
      g_strfreev(parts);
    }
  if (!items[0])
    *why = g_strdup("no rules");
  g_strfreev(items);
  return ok;
}

static void
_on_accept(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
  RelayRpcServer *self = arg;
  char peer[RELAY_NET_PEER_MAX];

  relay_net_format_peer(sa, (socklen_t)salen, peer, sizeof peer);
  if (self->n_conns >= self->cfg.max_connections)
    {
      relay_log_ratelimited(&self->limit_accept, RELAY_LOG_WARN, _prefix(self),
                            "refusing connection peer=%s limit=%u (max-connections)", peer,
                            self->cfg.max_connections);
      relay_counter_inc(&self->source->counters.connections_refused);
      close(fd);
      return;
    }
  if (relay_membudget_exhausted())
    {
      relay_log_ratelimited(&self->limit_memory, RELAY_LOG_WARN, _prefix(self),
                            "refusing connection peer=%s (memory.limit reached: used=%" G_GINT64_FORMAT
                            " limit=%" G_GINT64_FORMAT ")",
                            peer, relay_membudget_used(), relay_membudget_limit());
      relay_counter_inc(&self->source->counters.connections_refused);
      relay_counter_inc(&self->source->counters.memory_refused);
      close(fd);
      return;
    }
  if (self->cfg.ip_filter_rules)
    {
      char ip[RELAY_NET_PEER_MAX];
      g_strlcpy(ip, peer[0] == '[' ? peer + 1 : peer, sizeof ip); /* "[v6]:port" or "v4:port" */
      char *end = strrchr(ip, peer[0] == '[' ? ']' : ':');
      if (end)
        *end = '\0';
      if (!_ip_filter_allows(self->cfg.ip_filter_rules, sa, (socklen_t)salen, ip))
        {
          relay_log_ratelimited(&self->limit_accept, RELAY_LOG_WARN, _prefix(self),
                                "refusing connection peer=%s (ipFilterRules)", peer);
          relay_counter_inc(&self->source->counters.connections_refused);
          close(fd);
          return;
        }
    }
  _conn_new(self, fd, peer);
}

/* ---------------------------------------------------------------- server */

RelayRpcServer *
relay_rpc_server_new(RelaySource *source, const RelayRpcServerProtocol *protocol,
                     const RelayRpcServerConfig *cfg)
{
  RelayRpcServer *self = g_new0(RelayRpcServer, 1);

  self->source = source;
  self->protocol = protocol;
  self->cfg = *cfg;
  self->bind = g_strdup(cfg->bind);
  self->cfg.bind = self->bind;
  self->cfg.ip_filter_rules = g_strdup(cfg->ip_filter_rules);
  if (self->cfg.partial_timeout_ms == 0)
    self->cfg.partial_timeout_ms = 30000;
  self->limit_accept = (RelayRateLimit)RELAY_RATELIMIT_INIT;
  self->limit_proto = (RelayRateLimit)RELAY_RATELIMIT_INIT;
  for (guint i = 0; i < RELAY_TLS_FAIL_N; i++)
    self->limit_tls[i] = (RelayRateLimit)RELAY_RATELIMIT_INIT;
  if (cfg->tls)
    relay_tls_ref(cfg->tls);
  self->limit_idle = (RelayRateLimit)RELAY_RATELIMIT_INIT;
  self->limit_memory = (RelayRateLimit)RELAY_RATELIMIT_INIT;
  self->budget_retry = evtimer_new(source->base, _on_budget_retry, self);
  return self;
}

gboolean
relay_rpc_server_start(RelayRpcServer *self, GError **error)
{
  self->listener = relay_net_listen(self->source->base, _prefix(self), self->bind, self->cfg.port, _on_accept,
                                    self, error);
  if (!self->listener)
    return FALSE;
  self->guard
      = relay_net_accept_guard_new(self->listener, _prefix(self), &self->source->counters.accept_failures);
  relay_net_check_fd_limit(_prefix(self), self->cfg.max_connections);
  self->bound_port = relay_net_listener_port(self->listener);
  relay_debug(_prefix(self), "serving protocol=%s%s%s", self->protocol->name,
              self->cfg.deflate ? " compression=deflate" : "", self->cfg.tls ? " tls=on" : "");
  return TRUE;
}

int
relay_rpc_server_port(RelayRpcServer *self)
{
  return self->bound_port;
}

void
relay_rpc_server_stop(RelayRpcServer *self)
{
  relay_net_accept_guard_free(self->guard);
  self->guard = NULL;
  if (self->listener)
    evconnlistener_free(self->listener);
  self->listener = NULL;
  while (self->conns)
    _conn_free(self->conns->data);
  if (self->budget_retry)
    evtimer_del(self->budget_retry);
}

void
relay_rpc_server_free(RelayRpcServer *self)
{
  if (!self)
    return;
  relay_rpc_server_stop(self);
  if (self->budget_retry)
    event_free(self->budget_retry);
  g_free(self->cfg.ip_filter_rules);
  relay_tls_unref(self->cfg.tls);
  g_free(self->bind);
  g_free(self);
}
