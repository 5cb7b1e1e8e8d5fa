/* rpc_client.c - blocking request/reply over TCP with connect and request timeouts and optional deflate.
 *
 * Waiting is done with poll() in slices of at most 100 ms so the abort flag (raised at shutdown) is seen
 * promptly. Send buffers and the receive buffer are reused across calls; a reply is parsed as bytes arrive
 * and never allowed to grow beyond max_reply_bytes. */
#include "rpc_client.h"

#include "tls.h"
#include "zstream.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RELAY_POLL_SLICE_MS 100

struct _RelayRpcClient
{
  const RelayRpcProtocol *protocol;
  RelayRpcClientConfig cfg;
  char *peer;
  int fd;
  gpointer session;
  GByteArray *request;    /* plain request bytes */
  GByteArray *wire;       /* deflated request bytes (deflate only) */
  GByteArray *reply;      /* plain reply bytes received so far */
  GByteArray *tls_io;     /* TLS records to send / inflated TLS records received (tls only) */
  GByteArray *tls_in;     /* decrypted bytes before inflation (tls with deflate inside) */
  RelayZStream zout, zin; /* the deflate layer, inside or outside TLS */
  RelayTlsConn *tconn;
  int tls_failure;
  gint64 bytes_sent;   /* since the last relay_rpc_client_take_bytes_sent */
  gboolean heard_from; /* this connection received at least one byte (with TLS: of application data) */
};

const char *
relay_client_status_name(RelayClientStatus status)
{
  static const char *const names[]
      = { "OK", "FAILED", "ERROR", "TIMEOUT", "CONNECT_FAILED", "IO", "ABORTED", "REJECTED" };
  return status < RELAY_CLIENT_STATUS_COUNT ? names[status] : "?";
}

RelayRpcClient *
relay_rpc_client_new(const RelayRpcProtocol *protocol, const RelayRpcClientConfig *cfg)
{
  RelayRpcClient *self = g_new0(RelayRpcClient, 1);

  self->protocol = protocol;
  self->cfg = *cfg;
  self->cfg.host = g_strdup(cfg->host);
  if (self->cfg.batch_size <= 0)
    self->cfg.batch_size = 100;
  if (self->cfg.max_reply_bytes == 0)
    self->cfg.max_reply_bytes = 1 << 20;
  self->peer = g_strdup_printf("%s:%d", cfg->host, cfg->port);
  self->fd = -1;
  self->request = g_byte_array_new();
  self->wire = g_byte_array_new();
  self->reply = g_byte_array_new();
  self->tls_io = g_byte_array_new();
  self->tls_in = g_byte_array_new();
  self->tls_failure = -1;
  if (cfg->tls)
    relay_tls_ref(cfg->tls);
  return self;
}

int
relay_rpc_client_tls_failure(RelayRpcClient *self)
{
  return self->tls_failure;
}

gint64
relay_rpc_client_take_bytes_sent(RelayRpcClient *self)
{
  gint64 n = self->bytes_sent;

  self->bytes_sent = 0;
  return n;
}

const char *
relay_rpc_client_peer(RelayRpcClient *self)
{
  return self->peer;
}

gboolean
relay_rpc_client_is_connected(RelayRpcClient *self)
{
  return self->fd >= 0;
}

void
relay_rpc_client_disconnect(RelayRpcClient *self)
{
  if (self->fd < 0)
    return;
  close(self->fd);
  self->fd = -1;
  self->protocol->session_free(self->session);
  self->session = NULL;
  relay_zstream_end(&self->zout);
  relay_zstream_end(&self->zin);
  g_byte_array_set_size(self->reply, 0);
  relay_tls_conn_free(self->tconn);
  self->tconn = NULL;
}

void
relay_rpc_client_free(RelayRpcClient *self)
{
  if (!self)
    return;
  relay_rpc_client_disconnect(self);
  g_byte_array_unref(self->request);
  g_byte_array_unref(self->wire);
  g_byte_array_unref(self->reply);
  g_byte_array_unref(self->tls_io);
  g_byte_array_unref(self->tls_in);
  relay_tls_unref(self->cfg.tls);
  g_free(self->peer);
  g_free(self->cfg.host);
  g_free(self);
}

static gboolean
_aborted(RelayRpcClient *self)
{
  return self->cfg.abort_flag && g_atomic_int_get(self->cfg.abort_flag);
}

/* Waits for events on fd until deadline (monotonic µs). Returns 1 ready, 0 timeout, -1 error, -2 aborted. */
static int
_wait(RelayRpcClient *self, short events, gint64 deadline)
{
  for (;;)
    {
      if (_aborted(self))
        return -2;
      gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
      if (left_ms <= 0)
        return 0;
      struct pollfd pfd = { self->fd, events, 0 };
      int rc = poll(&pfd, 1, (int)MIN(left_ms, RELAY_POLL_SLICE_MS));
      if (rc > 0)
        return 1;
      if (rc < 0 && errno != EINTR)
        return -1;
    }
}

static void _set_detail(char **detail, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void
_set_detail(char **detail, const char *fmt, ...)
{
  va_list ap;

  if (!detail)
    return;
  g_free(*detail);
  va_start(ap, fmt);
  *detail = g_strdup_vprintf(fmt, ap);
  va_end(ap);
}

static gboolean _tls_handshake(RelayRpcClient *self, gint64 deadline, char **detail);

static int
_try_connect_addr(RelayRpcClient *self, const struct addrinfo *ai, gint64 deadline)
{
  int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
  if (fd < 0)
    return -1;
  self->fd = fd;
  if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS)
    goto fail;
  int waited = _wait(self, POLLOUT, deadline);
  int err = 0;
  socklen_t len = sizeof err;
  if (waited <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0)
    {
      errno = waited == 0 ? ETIMEDOUT : (waited == -2 ? ECANCELED : err);
      goto fail;
    }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  return 0;
fail:
  close(fd);
  self->fd = -1;
  return -1;
}

gboolean
relay_rpc_client_connect(RelayRpcClient *self, char **detail)
{
  struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
  struct addrinfo *res = NULL;
  char port[16];

  if (self->fd >= 0)
    return TRUE;
  g_snprintf(port, sizeof port, "%d", self->cfg.port);
  int gai = getaddrinfo(self->cfg.host, port, &hints, &res);
  if (gai != 0)
    {
      _set_detail(detail, "cannot resolve %s: %s", self->peer, gai_strerror(gai));
      return FALSE;
    }
  gint64 deadline = g_get_monotonic_time() + self->cfg.connect_timeout_ms * 1000;
  for (struct addrinfo *ai = res; ai && self->fd < 0; ai = ai->ai_next)
    _try_connect_addr(self, ai, deadline);
  int saved = errno;
  freeaddrinfo(res);
  if (self->fd < 0)
    {
      _set_detail(detail, "cannot connect to %s: %s", self->peer, g_strerror(saved));
      return FALSE;
    }
  self->heard_from = FALSE;
  self->session = self->protocol->session_new(self->cfg.protocol_config);
  if (self->cfg.deflate)
    {
      relay_zstream_init_deflate(&self->zout, self->cfg.compression_level);
      relay_zstream_init_inflate(&self->zin);
    }
  self->tls_failure = -1;
  if (self->cfg.tls)
    {
      gint64 hs_ms = relay_tls_options(self->cfg.tls)->handshake_timeout_ms;
      self->tconn = relay_tls_conn_new(self->cfg.tls, self->cfg.host);
      if (!_tls_handshake(self, g_get_monotonic_time() + (hs_ms > 0 ? hs_ms : 10000) * 1000, detail))
        {
          relay_rpc_client_disconnect(self);
          return FALSE;
        }
    }
  return TRUE;
}

/* The status for a connection the peer closed (or reset). A close before any reply byte on a fresh
 * connection, right after its first request, is how relayd's sources (and Flume's, and Thrift servers)
 * answer bytes they cannot parse: a protocol or compression-type mismatch. It is REJECTED, so that callers
 * can tell it from a connection lost mid-stream (IO). Either may also come from a server going down;
 * relay-send therefore gives up only when REJECTED repeats (see relay_send.c). */
static RelayClientStatus
_closed_status(RelayRpcClient *self, const char *how, char **detail)
{
  if (self->heard_from)
    {
      _set_detail(detail, "connection to %s lost: %s", self->peer, how);
      return RELAY_CLIENT_IO;
    }
  _set_detail(detail,
              "%s closed the connection on the first request without answering (%s): the source may expect "
              "another protocol (Thrift: compact | binary) or compression-type, or refuse this client; its "
              "log says why",
              self->peer, how);
  return RELAY_CLIENT_REJECTED;
}

static RelayClientStatus
_send_all(RelayRpcClient *self, const guint8 *buf, gsize len, gint64 deadline, char **detail)
{
  while (len > 0)
    {
      ssize_t n = send(self->fd, buf, len, MSG_NOSIGNAL);
      if (n > 0)
        {
          buf += n;
          len -= (gsize)n;
          self->bytes_sent += n;
          continue;
        }
      if (n < 0 && (errno == ECONNRESET || errno == EPIPE))
        return _closed_status(self, g_strerror(errno), detail);
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        {
          _set_detail(detail, "send to %s failed: %s", self->peer, g_strerror(errno));
          return RELAY_CLIENT_IO;
        }
      int waited = _wait(self, POLLOUT, deadline);
      if (waited <= 0)
        {
          _set_detail(detail, "send to %s: %s", self->peer, waited == 0 ? "request timeout" : "aborted");
          return waited == -2 ? RELAY_CLIENT_ABORTED : waited == 0 ? RELAY_CLIENT_TIMEOUT : RELAY_CLIENT_IO;
        }
    }
  return RELAY_CLIENT_OK;
}

static gboolean
_deflate_outside(RelayRpcClient *self)
{
  return self->cfg.deflate && self->tconn && !self->cfg.deflate_inside_tls;
}

static gboolean
_deflate_inside(RelayRpcClient *self)
{
  return self->cfg.deflate && !_deflate_outside(self);
}

static RelayClientStatus
_tls_failed(RelayRpcClient *self, RelayTlsIo io, char **detail)
{
  if (io == RELAY_TLS_IO_CLOSED)
    {
      _set_detail(detail, "connection to %s lost: TLS session closed by peer", self->peer);
      return RELAY_CLIENT_IO;
    }
  self->tls_failure = (int)relay_tls_conn_failure(self->tconn);
  _set_detail(detail, "TLS with %s failed reason=%s detail=%s", self->peer,
              relay_tls_failure_name(relay_tls_conn_failure(self->tconn)),
              relay_tls_conn_failure_detail(self->tconn));
  return RELAY_CLIENT_ERROR;
}

/* Appends len plain bytes (after the transport layers) to dst, bounded by max_reply_bytes. */
static RelayClientStatus
_append_plain(RelayRpcClient *self, const guint8 *data, gsize len, gboolean inflate, GByteArray *dst,
              char **detail)
{
  gboolean too_big = FALSE;

  if (!inflate)
    {
      if (dst->len + len > self->cfg.max_reply_bytes)
        too_big = TRUE;
      else
        g_byte_array_append(dst, data, (guint)len);
    }
  else if (!relay_zstream_inflate(&self->zin, data, len, dst, self->cfg.max_reply_bytes, &too_big)
           && !too_big)
    {
      _set_detail(detail, "corrupt deflate stream from %s", self->peer);
      return RELAY_CLIENT_ERROR;
    }
  if (too_big)
    {
      _set_detail(detail, "reply from %s exceeds %" G_GSIZE_FORMAT " bytes", self->peer,
                  self->cfg.max_reply_bytes);
      return RELAY_CLIENT_ERROR;
    }
  return RELAY_CLIENT_OK;
}

/* Reads what is available from the socket and passes it up the layers into self->reply. */
static RelayClientStatus
_receive_some(RelayRpcClient *self, char **detail)
{
  guint8 buf[16384];
  ssize_t n = recv(self->fd, buf, sizeof buf, 0);

  if (n == 0 || (n < 0 && errno == ECONNRESET))
    return _closed_status(self, n == 0 ? "closed by peer" : g_strerror(errno), detail);
  if (n < 0 && errno != EAGAIN && errno != EINTR)
    {
      _set_detail(detail, "connection to %s lost: %s", self->peer, g_strerror(errno));
      return RELAY_CLIENT_IO;
    }
  if (n < 0)
    return RELAY_CLIENT_OK;
  if (!self->tconn)
    {
      self->heard_from = TRUE;
      return _append_plain(self, buf, (gsize)n, self->cfg.deflate, self->reply, detail);
    }
  const guint8 *data = buf;
  gsize len = (gsize)n;
  if (_deflate_outside(self))
    {
      g_byte_array_set_size(self->tls_io, 0);
      RelayClientStatus st = _append_plain(self, buf, len, TRUE, self->tls_io, detail);
      if (st != RELAY_CLIENT_OK)
        return st;
      data = self->tls_io->data;
      len = self->tls_io->len;
    }
  relay_tls_conn_feed(self->tconn, data, len);
  g_byte_array_set_size(self->tls_in, 0);
  GByteArray *dst = _deflate_inside(self) ? self->tls_in : self->reply;
  RelayTlsIo io = relay_tls_conn_read(self->tconn, dst, self->cfg.max_reply_bytes + 1);
  if (io != RELAY_TLS_IO_OK)
    return _tls_failed(self, io, detail);
  if (dst->len > 0)
    self->heard_from = TRUE;
  if (dst == self->reply)
    return self->reply->len > self->cfg.max_reply_bytes ? _append_plain(self, NULL, 1, FALSE, dst, detail)
                                                        : RELAY_CLIENT_OK;
  return _append_plain(self, self->tls_in->data, self->tls_in->len, TRUE, self->reply, detail);
}

/* Sends the TLS records waiting in the connection (deflated when deflate is outside TLS). */
static RelayClientStatus
_tls_send_pending(RelayRpcClient *self, gint64 deadline, char **detail)
{
  if (!_deflate_outside(self))
    {
      /* Sent straight from the memory BIO (no copy): _send_all sends everything or fails the connection. */
      const guint8 *data;
      gsize len = relay_tls_conn_peek_output(self->tconn, &data);
      RelayClientStatus status = len ? _send_all(self, data, len, deadline, detail) : RELAY_CLIENT_OK;
      relay_tls_conn_consume_output(self->tconn, len);
      return status;
    }
  g_byte_array_set_size(self->tls_io, 0);
  relay_tls_conn_take_output(self->tconn, self->tls_io);
  if (self->tls_io->len == 0)
    return RELAY_CLIENT_OK;
  g_byte_array_set_size(self->wire, 0);
  if (!relay_zstream_deflate(&self->zout, self->tls_io->data, self->tls_io->len, self->wire))
    {
      _set_detail(detail, "deflate failed");
      return RELAY_CLIENT_ERROR;
    }
  return _send_all(self, self->wire->data, self->wire->len, deadline, detail);
}

/* Runs the TLS handshake until it completes, fails or the connect deadline passes. */
static gboolean
_tls_handshake(RelayRpcClient *self, gint64 deadline, char **detail)
{
  for (;;)
    {
      RelayTlsIo io = relay_tls_conn_read(self->tconn, self->reply, self->cfg.max_reply_bytes);
      if (io != RELAY_TLS_IO_OK)
        return _tls_failed(self, io, detail), FALSE;
      if (_tls_send_pending(self, deadline, detail) != RELAY_CLIENT_OK)
        return FALSE;
      if (relay_tls_conn_established(self->tconn))
        return TRUE;
      int waited = _wait(self, POLLIN, deadline);
      if (waited <= 0)
        {
          if (waited == 0)
            self->tls_failure = RELAY_TLS_FAIL_TIMEOUT;
          _set_detail(detail, "TLS with %s failed reason=%s", self->peer,
                      waited == 0 ? relay_tls_failure_name(RELAY_TLS_FAIL_TIMEOUT) : "aborted");
          return FALSE;
        }
      guint8 buf[16384];
      ssize_t n = recv(self->fd, buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        {
          self->tls_failure = RELAY_TLS_FAIL_HANDSHAKE;
          _set_detail(detail, "TLS with %s failed reason=%s detail=%s", self->peer,
                      relay_tls_failure_name(RELAY_TLS_FAIL_HANDSHAKE),
                      n == 0 ? "connection closed during the handshake (is the port TLS?)"
                             : g_strerror(errno));
          return FALSE;
        }
      if (n < 0)
        continue;
      if (!_deflate_outside(self))
        relay_tls_conn_feed(self->tconn, buf, (gsize)n);
      else
        {
          g_byte_array_set_size(self->tls_io, 0);
          if (_append_plain(self, buf, (gsize)n, TRUE, self->tls_io, detail) != RELAY_CLIENT_OK)
            return FALSE;
          relay_tls_conn_feed(self->tconn, self->tls_io->data, self->tls_io->len);
        }
    }
}

/* Waits for and parses one reply. */
static RelayClientStatus
_await_reply(RelayRpcClient *self, gint64 deadline, gboolean *resend, char **detail)
{
  for (;;)
    {
      gsize consumed = 0;
      RelayClientStatus status = RELAY_CLIENT_ERROR;
      RelayRpcParse parse = self->protocol->parse_reply(self->session, self->reply->data, self->reply->len,
                                                        &consumed, &status, detail);
      if (parse != RELAY_RPC_NEED_MORE)
        {
          g_byte_array_remove_range(self->reply, 0, (guint)MIN(consumed, self->reply->len));
          *resend = parse == RELAY_RPC_RESEND;
          if (parse == RELAY_RPC_BAD)
            _set_detail(detail, "malformed reply from %s", self->peer);
          return parse == RELAY_RPC_BAD ? RELAY_CLIENT_ERROR : status;
        }
      int waited = _wait(self, POLLIN, deadline);
      if (waited <= 0)
        {
          _set_detail(detail, "no reply from %s within %" G_GINT64_FORMAT " ms", self->peer,
                      self->cfg.request_timeout_ms);
          return waited == -2 ? RELAY_CLIENT_ABORTED : waited == 0 ? RELAY_CLIENT_TIMEOUT : RELAY_CLIENT_IO;
        }
      RelayClientStatus rs = _receive_some(self, detail);
      if (rs != RELAY_CLIENT_OK)
        return rs;
    }
}

static RelayClientStatus
_send_request(RelayRpcClient *self, gint64 deadline, char **detail)
{
  const guint8 *data = self->request->data;
  gsize len = self->request->len;

  if (_deflate_inside(self))
    {
      g_byte_array_set_size(self->wire, 0);
      if (!relay_zstream_deflate(&self->zout, data, len, self->wire))
        {
          _set_detail(detail, "deflate failed");
          return RELAY_CLIENT_ERROR;
        }
      data = self->wire->data;
      len = self->wire->len;
    }
  if (!self->tconn)
    return _send_all(self, data, len, deadline, detail);
  RelayTlsIo io = relay_tls_conn_write(self->tconn, data, len);
  if (io != RELAY_TLS_IO_OK)
    return _tls_failed(self, io, detail);
  return _tls_send_pending(self, deadline, detail);
}

/* One request/reply round trip for events[0..n). */
static RelayClientStatus
_call(RelayRpcClient *self, RelayEvent *const *events, guint n, char **detail)
{
  gint64 deadline = g_get_monotonic_time() + self->cfg.request_timeout_ms * 1000;

  for (int attempt = 0; attempt < 2; attempt++)
    {
      gboolean resend = FALSE;
      g_byte_array_set_size(self->request, 0);
      self->protocol->encode_batch(self->session, events, n, self->request);
      RelayClientStatus status = _send_request(self, deadline, detail);
      if (status == RELAY_CLIENT_OK)
        status = _await_reply(self, deadline, &resend, detail);
      if (!resend)
        return status;
    }
  _set_detail(detail, "%s kept asking for the handshake to be repeated", self->peer);
  return RELAY_CLIENT_ERROR;
}

RelayClientStatus
relay_rpc_client_append_batch(RelayRpcClient *self, RelayEvent *const *events, guint n, char **detail)
{
  if (!relay_rpc_client_connect(self, detail))
    return _aborted(self) ? RELAY_CLIENT_ABORTED : RELAY_CLIENT_CONNECT_FAILED;
  for (guint done = 0; done < n;)
    {
      guint chunk = (guint)MIN((gint64)(n - done), self->cfg.batch_size);
      if (self->protocol->fit_batch)
        chunk = MAX(1, self->protocol->fit_batch(self->cfg.protocol_config, events + done, chunk));
      RelayClientStatus status = _call(self, events + done, chunk, detail);
      if (status != RELAY_CLIENT_OK)
        {
          relay_rpc_client_disconnect(self);
          return status;
        }
      done += chunk;
    }
  return RELAY_CLIENT_OK;
}
