/* ws_conn.c - one WebSocket connection of the websocket source: opening handshake, frames, messages,
 * puts, acknowledgements, ping/pong and the closing handshake (RFC 6455).
 *
 * States: HANDSHAKE (reading the HTTP upgrade request, at most handshake-timeout ms), OPEN (frames), CLOSING
 * (our close frame is sent: frames are skipped until the peer's close frame, at most WS_CLOSE_WAIT_MS, then
 * the TCP connection is closed) and PEER_CLOSED (the peer's close frame arrived: the messages before it
 * are put and acknowledged, then the close frame is answered and the connection closed).
 *
 * Frames are consumed as their bytes arrive, unmasked into the message being assembled, so a connection
 * buffers at most WS_INPUT_MAX unread bytes plus one message of at most max-message-bytes (a larger message,
 * announced by a frame header, is refused with close code 1009 before its payload is read). Each complete
 * message becomes one event in the connection's batch; the batch is put when it holds batchSize events or
 * when the input read so far is used up, and the connection is not read while the put is pending, or while
 * it waits WS_RETRY_MS to try again after a full channel: backpressure reaches the client through TCP, and
 * nothing is dropped. After the commit, with ack = true, each message is acknowledged by a text message
 * holding its number on the connection (1, 2, ...); a client that resends what was not acknowledged after
 * an abrupt close loses nothing.
 *
 * Threads: the main loop (relayd calls these callbacks there). */
#include "websocket.h"

#include <string.h>

/* Unread bytes buffered per connection (the request head fits; frames are consumed as they arrive). */
#define WS_INPUT_MAX (64 * 1024)
/* How long a full channel is left before the batch is put again. */
#define WS_RETRY_MS 100
/* How long our close frame waits for the peer's. */
#define WS_CLOSE_WAIT_MS 2000
/* A message buffer grown over this is released after its message. */
#define WS_MSG_KEEP (64 * 1024)

typedef enum
{
  WS_HANDSHAKE = 0,
  WS_OPEN,
  WS_CLOSING,
  WS_PEER_CLOSED,
} WsState;

typedef struct
{
  WsSource *src;
  RelaydConn *conn;
  WsState state;
  /* the frame being read */
  int in_frame;
  WsFrameHeader hdr;
  uint64_t frame_done; /* payload bytes of it consumed */
  /* the message being assembled (msg_opcode 0: none) */
  int msg_opcode;
  GByteArray *msg;
  /* complete messages not yet committed: own references; seq numbers batch_seq+1 .. */
  GPtrArray *batch;
  uint64_t seq, batch_seq;
  int putting;
  int retrying;    /* the last put failed: the batch is put again when `retry` fires, nothing is read */
  int close_code;  /* to send once the batch is committed (0: none) */
  int skip_frames; /* CLOSING: parse frames looking for the peer's close (0: the stream is garbage) */
  struct event *timer, *retry;
  int rx, ping_outstanding; /* ping-interval: input since the last tick, a ping unanswered */
} WsConn;

typedef enum
{
  WS_STEP_MORE = 0, /* progress: go on */
  WS_STEP_STOP,     /* wait for input, a put or the close */
} WsStep;

static void _put_batch(WsConn *c);

/* ---- sending ---- */

static void
_send_frame(WsConn *c, int opcode, const void *payload, size_t len)
{
  uint8_t head[WS_HEADER_MAX];

  relayd_conn_write(c->conn, head, ws_frame_header(head, opcode, len));
  if (len)
    relayd_conn_write(c->conn, payload, len);
}

static void
_arm(struct event *ev, int64_t ms)
{
  struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

  evtimer_add(ev, &tv);
}

/* Sends the close frame c->close_code now: after a peer's close the connection then closes, else it waits
 * for the peer's answer. */
static void
_send_close(WsConn *c)
{
  uint8_t payload[2] = { (uint8_t)(c->close_code >> 8), (uint8_t)c->close_code };

  _send_frame(c, WS_OP_CLOSE, payload, sizeof payload);
  if (c->state == WS_PEER_CLOSED)
    relayd_conn_close(c->conn, 1);
  else
    _arm(c->timer, WS_CLOSE_WAIT_MS);
}

/* The close is sent once the messages received before it are committed (and acknowledged). */
static void
_close_when_committed(WsConn *c, int code)
{
  c->close_code = code;
  evtimer_del(c->timer); /* no ping now; _send_close arms the wait for the peer's close */
  if (c->putting || c->retrying)
    return; /* sent once the batch is committed */
  if (c->batch->len)
    _put_batch(c);
  else
    _send_close(c);
}

/* A protocol violation: one line, a counter, close code to the peer. skip: the framing is intact, so the rest
 * (the current frame's payload too) is parsed and skipped while waiting for the peer's close frame. */
static WsStep
_fail(WsConn *c, int code, RelaydCounter counter, int skip, const char *why)
{
  WsLogKind kind = code == WS_CLOSE_TOO_BIG        ? WS_LOG_LIMIT
                   : code == WS_CLOSE_INVALID_DATA ? WS_LOG_DATA
                                                   : WS_LOG_PROTOCOL;

  ws_source_log_peer(c->src, kind, c->conn, "closing connection with status %d: %s", code, why);
  relayd_counter_add(c->src->self, counter, 1);
  c->state = WS_CLOSING;
  c->skip_frames = skip;
  c->msg_opcode = 0;
  _close_when_committed(c, code);
  return WS_STEP_MORE; /* the loop stops by itself while a put is pending */
}

/* ---- puts and acknowledgements ---- */

static void
_ack(WsConn *c, uint64_t first, size_t n)
{
  char text[24];

  for (size_t i = 0; i < n; i++)
    {
      int len = g_snprintf(text, sizeof text, "%" G_GUINT64_FORMAT, first + i);
      _send_frame(c, WS_OP_TEXT, text, (size_t)len);
    }
}

static void
_on_put_done(RelaydComponent *self, RelaydPutResult result, void *user_data)
{
  WsConn *c = user_data;

  (void)self;
  c->putting = 0;
  if (result != RELAYD_PUT_OK)
    {
      relayd_conn_pause(c->conn); /* relayd logged and counted the failure: try again soon */
      c->retrying = 1;
      _arm(c->retry, WS_RETRY_MS);
      return;
    }
  if (c->src->cfg->ack)
    _ack(c, c->batch_seq + 1, c->batch->len);
  c->batch_seq += c->batch->len;
  g_ptr_array_set_size(c->batch, 0);
  if (c->close_code)
    _send_close(c);
}

static void
_put_batch(WsConn *c)
{
  RelaydEvent **events = g_new(RelaydEvent *, c->batch->len);

  for (guint i = 0; i < c->batch->len; i++)
    events[i] = relayd_event_ref(g_ptr_array_index(c->batch, i));
  c->putting = 1;
  relayd_conn_put(c->conn, events, c->batch->len, _on_put_done, c);
  g_free(events);
}

static void
_on_retry(evutil_socket_t fd, short what, void *arg)
{
  WsConn *c = arg;

  (void)fd;
  (void)what;
  c->retrying = 0;
  relayd_conn_resume(c->conn); /* reading resumes from the loop, once the put below is done */
  _put_batch(c); /* may fail at once (a channel with keep-alive 0): then paused again, retrying again */
}

/* ---- messages ---- */

static WsStep
_message_done(WsConn *c)
{
  RelaydEvent *ev;

  if (c->msg_opcode == WS_OP_TEXT && !ws_utf8_valid(c->msg->data, c->msg->len))
    return _fail(c, WS_CLOSE_INVALID_DATA, RELAYD_SOURCE_PROTOCOL_MALFORMED, 1, "text message is not UTF-8");
  ev = relayd_event_new(NULL, 0, c->msg->data, c->msg->len);
  g_ptr_array_add(c->batch, ev);
  c->seq++;
  c->msg_opcode = 0;
  if (c->msg->len > WS_MSG_KEEP)
    {
      g_byte_array_unref(c->msg);
      c->msg = g_byte_array_new();
    }
  g_byte_array_set_size(c->msg, 0);
  if (c->batch->len < (guint)c->src->cfg->batch_size)
    return WS_STEP_MORE;
  _put_batch(c);
  return WS_STEP_STOP;
}

/* A control frame's whole payload is buffered: unmask and act. */
static WsStep
_control(WsConn *c)
{
  size_t len = (size_t)c->hdr.length;
  uint8_t *p = len ? relayd_conn_pullup(c->conn, len) : NULL;
  uint8_t payload[WS_CONTROL_MAX];
  int code, bad;

  if (len && !p)
    return WS_STEP_STOP;
  if (len)
    memcpy(payload, p, len);
  ws_frame_unmask(payload, len, c->hdr.mask, 0);
  relayd_conn_drain(c->conn, len);
  relayd_counter_add(c->src->self, RELAYD_SOURCE_BYTES_RECEIVED, (int64_t)len);
  c->in_frame = 0;
  if (c->hdr.opcode == WS_OP_PING && c->state == WS_OPEN)
    _send_frame(c, WS_OP_PONG, payload, len);
  else if (c->hdr.opcode == WS_OP_PONG)
    c->ping_outstanding = 0;
  else if (c->hdr.opcode == WS_OP_CLOSE && c->state == WS_CLOSING)
    {
      relayd_conn_close(c->conn, 1); /* the closing handshake is complete */
      return WS_STEP_STOP;
    }
  else if (c->hdr.opcode == WS_OP_CLOSE)
    {
      if ((bad = ws_frame_check_close(payload, len, &code)) != 0)
        return _fail(c, bad, RELAYD_SOURCE_PROTOCOL_MALFORMED, 0, "malformed close frame");
      c->state = WS_PEER_CLOSED;
      _close_when_committed(c, code);
      return WS_STEP_STOP;
    }
  return WS_STEP_MORE;
}

/* Checks a data frame's header against the message in progress and max-message-bytes. */
static WsStep
_data_header(WsConn *c)
{
  int op = c->hdr.opcode;

  if (op != WS_OP_CONTINUATION && c->msg_opcode)
    return _fail(c, WS_CLOSE_PROTOCOL_ERROR, RELAYD_SOURCE_PROTOCOL_MALFORMED, 0,
                 "new message before the fragmented one ended");
  if (op == WS_OP_CONTINUATION && !c->msg_opcode)
    return _fail(c, WS_CLOSE_PROTOCOL_ERROR, RELAYD_SOURCE_PROTOCOL_MALFORMED, 0,
                 "continuation frame without a message");
  if (c->hdr.length > (uint64_t)c->src->cfg->max_message_bytes - c->msg->len)
    {
      char why[128];
      g_snprintf(why, sizeof why, "message of more than max-message-bytes=%" G_GINT64_FORMAT " bytes",
                 c->src->cfg->max_message_bytes);
      return _fail(c, WS_CLOSE_TOO_BIG, RELAYD_SOURCE_PROTOCOL_LIMIT, 1, why);
    }
  if (op != WS_OP_CONTINUATION)
    c->msg_opcode = op;
  return WS_STEP_MORE;
}

static WsStep
_frame_header(WsConn *c)
{
  size_t avail = relayd_conn_input_length(c->conn);
  const uint8_t *p = relayd_conn_pullup(c->conn, MIN(avail, WS_HEADER_MAX));
  const char *why = NULL;
  WsParse r = p ? ws_frame_parse_header(p, MIN(avail, WS_HEADER_MAX), &c->hdr, &why) : WS_PARSE_NEED_MORE;

  if (r == WS_PARSE_NEED_MORE)
    return WS_STEP_STOP;
  if (r == WS_PARSE_ERROR)
    return _fail(c, WS_CLOSE_PROTOCOL_ERROR, RELAYD_SOURCE_PROTOCOL_MALFORMED, 0, why);
  relayd_conn_drain(c->conn, c->hdr.header_len);
  relayd_counter_add(c->src->self, RELAYD_SOURCE_BYTES_RECEIVED, (int64_t)c->hdr.header_len);
  c->in_frame = 1;
  c->frame_done = 0;
  if (c->state == WS_CLOSING || (c->hdr.opcode & 0x8))
    return WS_STEP_MORE;
  return _data_header(c);
}

/* Consumes what is buffered of a data frame's payload (skipped while CLOSING). */
static WsStep
_data_payload(WsConn *c)
{
  size_t n = (size_t)MIN((uint64_t)relayd_conn_input_length(c->conn), c->hdr.length - c->frame_done);

  if (n && c->state != WS_CLOSING)
    {
      uint8_t *p = relayd_conn_pullup(c->conn, n);
      ws_frame_unmask(p, n, c->hdr.mask, (size_t)(c->frame_done & 3));
      g_byte_array_append(c->msg, p, (guint)n);
    }
  relayd_conn_drain(c->conn, n);
  relayd_counter_add(c->src->self, RELAYD_SOURCE_BYTES_RECEIVED, (int64_t)n);
  c->frame_done += n;
  if (c->frame_done < c->hdr.length)
    return WS_STEP_STOP;
  c->in_frame = 0;
  if (c->hdr.fin && c->state == WS_OPEN)
    return _message_done(c);
  return WS_STEP_MORE;
}

static WsStep
_frame_step(WsConn *c)
{
  if (c->state == WS_CLOSING && !c->skip_frames)
    {
      relayd_conn_drain(c->conn, relayd_conn_input_length(c->conn));
      return WS_STEP_STOP;
    }
  if (!c->in_frame)
    return _frame_header(c);
  if (c->hdr.opcode & 0x8)
    return relayd_conn_input_length(c->conn) < c->hdr.length ? WS_STEP_STOP : _control(c);
  return _data_payload(c);
}

/* ---- the opening handshake ---- */

static WsStep
_handshake_step(WsConn *c)
{
  size_t avail = relayd_conn_input_length(c->conn), head_len = 0;
  size_t n = MIN(avail, WS_REQUEST_HEAD_MAX);
  const char *data = (const char *)relayd_conn_pullup(c->conn, n), *why = NULL;
  char *response = NULL;
  WsHandshake r
      = data ? ws_handshake(data, n, c->src->cfg->path, &head_len, &response, &why) : WS_HS_NEED_MORE;

  if (r == WS_HS_NEED_MORE)
    return WS_STEP_STOP;
  relayd_conn_drain(c->conn, head_len);
  relayd_conn_write(c->conn, response, strlen(response));
  g_free(response);
  if (r == WS_HS_REFUSE)
    {
      ws_source_log_peer(c->src, WS_LOG_HANDSHAKE, c->conn, "refused the opening handshake: %s", why);
      relayd_counter_add(c->src->self, RELAYD_SOURCE_PROTOCOL_MALFORMED, 1);
      relayd_conn_close(c->conn, 1);
      return WS_STEP_STOP;
    }
  c->state = WS_OPEN;
  evtimer_del(c->timer);
  if (c->src->cfg->ping_interval_s > 0)
    _arm(c->timer, c->src->cfg->ping_interval_s * 1000);
  return WS_STEP_MORE;
}

/* ---- timers ---- */

/* OPEN: a ping after a quiet interval; a second quiet interval with the ping unanswered closes. */
static void
_ping_tick(WsConn *c)
{
  if (c->rx || relayd_conn_is_paused(c->conn))
    c->ping_outstanding = 0; /* heard from, or we are the ones not reading */
  else if (c->ping_outstanding)
    {
      ws_source_log_peer(c->src, WS_LOG_TIMEOUT, c->conn,
                         "closing connection: no answer to a ping within %" G_GINT64_FORMAT " s",
                         c->src->cfg->ping_interval_s);
      relayd_counter_add(c->src->self, RELAYD_SOURCE_PROTOCOL_TIMEOUT, 1);
      relayd_conn_close(c->conn, 0);
      return;
    }
  else
    {
      _send_frame(c, WS_OP_PING, NULL, 0);
      c->ping_outstanding = 1;
    }
  c->rx = 0;
  _arm(c->timer, c->src->cfg->ping_interval_s * 1000);
}

static void
_on_timer(evutil_socket_t fd, short what, void *arg)
{
  WsConn *c = arg;

  (void)fd;
  (void)what;
  if (c->state == WS_OPEN)
    _ping_tick(c);
  else if (c->state == WS_HANDSHAKE)
    {
      ws_source_log_peer(c->src, WS_LOG_TIMEOUT, c->conn,
                         "closing connection: no complete upgrade request within %" G_GINT64_FORMAT " ms",
                         c->src->cfg->handshake_timeout_ms);
      relayd_counter_add(c->src->self, RELAYD_SOURCE_PROTOCOL_TIMEOUT, 1);
      relayd_conn_close(c->conn, 0);
    }
  else
    relayd_conn_close(c->conn, 0); /* CLOSING: the peer did not answer our close frame */
}

/* ---- the server's callbacks ---- */

static int
_accepted(RelaydConn *conn, void *server_data)
{
  WsSource *src = server_data;
  WsConn *c = g_new0(WsConn, 1);

  c->src = src;
  c->conn = conn;
  c->msg = g_byte_array_new();
  c->batch = g_ptr_array_new_with_free_func((GDestroyNotify)relayd_event_unref);
  c->timer = evtimer_new(src->base, _on_timer, c);
  c->retry = evtimer_new(src->base, _on_retry, c);
  _arm(c->timer, src->cfg->handshake_timeout_ms);
  relayd_conn_set_data(conn, c);
  return 0;
}

static void
_readable(RelaydConn *conn, void *conn_data)
{
  WsConn *c = conn_data;

  c->rx = 1;
  while (!relayd_conn_is_paused(conn) && !relayd_conn_is_closing(conn) && c->state != WS_PEER_CLOSED)
    if ((c->state == WS_HANDSHAKE ? _handshake_step(c) : _frame_step(c)) == WS_STEP_STOP)
      break;
  if (c->state == WS_OPEN && !c->putting && !c->retrying && c->batch->len && !relayd_conn_is_closing(conn))
    _put_batch(c);
}

static void
_closed(RelaydConn *conn, void *conn_data)
{
  WsConn *c = conn_data;

  (void)conn;
  event_free(c->timer);
  event_free(c->retry);
  g_ptr_array_unref(c->batch); /* not committed: never acknowledged */
  g_byte_array_unref(c->msg);
  g_free(c);
}

const RelaydConnHandler ws_conn_handler = {
  .accepted = _accepted,
  .readable = _readable,
  .closed = _closed,
};
