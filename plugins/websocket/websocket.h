/* websocket.h - the websocket plugin's configuration, the RFC 6455 codec (ws_frame.c) and the opening
 * handshake (ws_handshake.c), shared by its files. */
#ifndef WEBSOCKET_H_INCLUDED
#define WEBSOCKET_H_INCLUDED

#include <relayd/plugin.h>

#include <event2/event.h>
#include <glib.h>
#include <stddef.h>
#include <stdint.h>

typedef struct
{
  char *host;
  int64_t port;
  char *path;
  int64_t batch_size;
  int ack;
  int64_t max_message_bytes;
  int64_t max_connections;
  int64_t handshake_timeout_ms;
  int64_t ping_interval_s;
} WsConfig;

/* What a line about a bad peer is about: each kind is rate-limited on its own. */
typedef enum
{
  WS_LOG_HANDSHAKE = 0, /* a refused opening handshake */
  WS_LOG_PROTOCOL,      /* 1002 */
  WS_LOG_DATA,          /* 1007 */
  WS_LOG_LIMIT,         /* 1009 */
  WS_LOG_TIMEOUT,       /* handshake-timeout, an unanswered ping */
  WS_LOG_N,
} WsLogKind;

#define WS_LOG_INTERVAL_S 10

/* The source (websocket.c). */
typedef struct
{
  WsConfig *cfg;
  RelaydComponent *self;
  RelaydServer *server;
  struct event_base *base;
  gint64
      rl_next_us[WS_LOG_N]; /* rate limit of the lines about bad peers: one per WS_LOG_INTERVAL_S and kind */
  unsigned rl_suppressed[WS_LOG_N];
} WsSource;

/* One line about a bad peer, rate-limited per source and kind (websocket.c). */
void ws_source_log_peer(WsSource *src, WsLogKind kind, const RelaydConn *conn, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

/* ---- connections (ws_conn.c): the callbacks of the source's RelaydServer ---- */

extern const RelaydConnHandler ws_conn_handler;

/* ---- frames (ws_frame.c): pure functions, no I/O ---- */

/* RFC 6455 5.2 opcodes. */
enum
{
  WS_OP_CONTINUATION = 0x0,
  WS_OP_TEXT = 0x1,
  WS_OP_BINARY = 0x2,
  WS_OP_CLOSE = 0x8,
  WS_OP_PING = 0x9,
  WS_OP_PONG = 0xA,
};

/* RFC 6455 7.4.1 status codes the source sends. */
enum
{
  WS_CLOSE_NORMAL = 1000,
  WS_CLOSE_GOING_AWAY = 1001,
  WS_CLOSE_PROTOCOL_ERROR = 1002,
  WS_CLOSE_INVALID_DATA = 1007, /* a text message that is not UTF-8 */
  WS_CLOSE_TOO_BIG = 1009,
};

/* The longest frame header: 2 bytes, 8 of extended length, 4 of mask. */
#define WS_HEADER_MAX 14
/* Control frames carry at most 125 bytes (RFC 6455 5.5). */
#define WS_CONTROL_MAX 125

typedef struct
{
  int fin, opcode;
  uint64_t length;
  uint8_t mask[4];
  size_t header_len;
} WsFrameHeader;

typedef enum
{
  WS_PARSE_OK = 0,
  WS_PARSE_NEED_MORE,
  WS_PARSE_ERROR, /* a protocol error (1002): *why says which */
} WsParse;

/* Decodes the header of a client frame from the len bytes at data, checking what RFC 6455 asks of every
 * client frame: no RSV bit (no extension is negotiated), a known opcode, masked, minimal length encoding,
 * the 64-bit length's top bit clear, control frames final and at most 125 bytes. */
WsParse ws_frame_parse_header(const uint8_t *data, size_t len, WsFrameHeader *hdr, const char **why);
/* XORs len bytes with the mask, starting at mask position pos (0..3). */
void ws_frame_unmask(uint8_t *data, size_t len, const uint8_t mask[4], size_t pos);
/* Writes the header of an unmasked server frame (FIN set) into out (WS_HEADER_MAX bytes); returns its size.
 */
size_t ws_frame_header(uint8_t *out, int opcode, uint64_t length);
/* Checks a received close frame's payload (empty, or a valid code and UTF-8 reason); *code gets the code
 * (WS_CLOSE_NORMAL when empty). 0, or the status code to fail the connection with. */
int ws_frame_check_close(const uint8_t *payload, size_t len, int *code);
/* Non-zero when the len bytes are valid UTF-8. */
int ws_utf8_valid(const uint8_t *data, size_t len);

/* ---- the opening handshake (ws_handshake.c) ---- */

/* The longest request head accepted (request line and headers). */
#define WS_REQUEST_HEAD_MAX 8192

typedef enum
{
  WS_HS_NEED_MORE = 0,
  WS_HS_UPGRADE, /* *response is the 101 answer: the connection is a WebSocket */
  WS_HS_REFUSE,  /* *response is an HTTP error answer: send it and close */
} WsHandshake;

/* Looks at the request head in the len bytes at data (the first bytes of a connection). With a complete
 * head, sets *head_len to its size and *response to a new string (free with g_free) answering it: 101 for a
 * valid upgrade to path (the query string is ignored), else 400, 404, 405, 426 or 431 with *why saying
 * why. NEED_MORE while the head is incomplete (and shorter than WS_REQUEST_HEAD_MAX). */
WsHandshake ws_handshake(const char *data, size_t len, const char *path, size_t *head_len, char **response,
                         const char **why);

#endif
