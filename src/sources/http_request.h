/* http_request.h - a bounded HTTP/1.1 request parser and response writer for the HTTP source.
 *
 * Pure codec: bytes in, offsets out, no sockets (the source feeds it through relayd's RPC server, which owns
 * the connection, its read buffer and timeouts). The whole request is read into one contiguous buffer; the
 * parser reports the request line, the headers and the body as offsets into it, so nothing is copied here.
 * Accepted: "<METHOD> <target> HTTP/1.1" (or 1.0) with the body framed by Content-Length or
 * Transfer-Encoding: chunked (trailers skipped), keep-alive (HTTP/1.1 default; "Connection: close" honoured,
 * HTTP/1.0 closes unless it asks for keep-alive), "Expect: 100-continue" (reported once so the caller can
 * answer 100 before the body arrives). Limits are checked before the body is waited for: the head against
 * max_header_bytes (431), a Content-Length and the running sum of chunk sizes against max_body_bytes (413),
 * chunk framing overhead against the body limit again (413). Anything else malformed is a 400 (501 for an
 * unknown transfer coding). Thread: the caller's. */
#ifndef RELAY_HTTP_REQUEST_H_INCLUDED
#define RELAY_HTTP_REQUEST_H_INCLUDED

#include "relay.h"

#define RELAY_HTTP_MAX_HEADERS 256 /* header lines per request */

typedef enum
{
  RELAY_HTTP_NEED_MORE = 0,
  RELAY_HTTP_CONTINUE, /* head complete with "Expect: 100-continue", body not yet here: answer 100, call again
                        */
  RELAY_HTTP_OK,       /* a whole request */
  RELAY_HTTP_ERROR,    /* answer status (with what) and close */
} RelayHttpResult;

typedef struct
{
  gsize off, len; /* into the request's buffer */
} RelayHttpSpan;

typedef struct
{
  RelayHttpSpan name, value;
} RelayHttpHeader;

typedef struct
{
  gsize max_header_bytes; /* request line + headers (+ trailers) */
  gsize max_body_bytes;   /* body after de-chunking */
} RelayHttpLimits;

typedef struct
{
  /* After CONTINUE or OK: the request line and headers. */
  RelayHttpSpan method, path, query; /* query: after '?', empty if none */
  GArray *headers;                   /* RelayHttpHeader */
  gboolean close;                    /* the connection closes after the response */
  /* After OK: the body as pieces (one without chunking), its length, and the bytes the request used. */
  GArray *body; /* RelayHttpSpan */
  gsize body_len, consumed;
  /* After ERROR: status and reason (what, value, limit; value/limit -1 when not applicable). */
  int status;
  const char *what;
  gint64 value, limit;
  /* private: offsets, not pointers (the buffer may move between calls) */
  gsize _head_len, _scan, _content_length, _chunk_pos;
  gboolean _chunked, _continue_sent;
} RelayHttpRequest;

void relay_http_request_init(RelayHttpRequest *self);
void relay_http_request_clear(RelayHttpRequest *self);
/* Parses the request at buf[0..len); after NEED_MORE or CONTINUE call again with the same bytes plus more.
 * After OK or ERROR the next call starts a new request (the caller drops `consumed` bytes first). */
RelayHttpResult relay_http_request_parse(RelayHttpRequest *self, const guint8 *buf, gsize len,
                                         const RelayHttpLimits *limits);
/* The value of request header name (case-insensitive) as a span, FALSE if absent. After CONTINUE/OK. */
gboolean relay_http_request_header(const RelayHttpRequest *self, const guint8 *buf, const char *name,
                                   RelayHttpSpan *value);
/* TRUE if span equals s (case-sensitive) / case-insensitively. */
gboolean relay_http_span_is(const guint8 *buf, RelayHttpSpan span, const char *s);

/* Appends a response with a text body (may be NULL). extra_headers: complete "Name: value\r\n" lines or
 * NULL. */
void relay_http_response(GByteArray *out, int status, const char *extra_headers, const char *text,
                         gboolean close);
const char *relay_http_reason(int status);

#endif
