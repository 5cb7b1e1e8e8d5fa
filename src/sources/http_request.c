/* http_request.c - parses one HTTP/1.1 request within limits and writes responses (see http_request.h). */
#include "http_request.h"

#include <stdio.h>
#include <string.h>

#define MAX_CHUNK_LINE 1024 /* chunk-size line with extensions */

void
relay_http_request_init(RelayHttpRequest *self)
{
  memset(self, 0, sizeof *self);
  self->headers = g_array_new(FALSE, FALSE, sizeof(RelayHttpHeader));
  self->body = g_array_new(FALSE, FALSE, sizeof(RelayHttpSpan));
}

void
relay_http_request_clear(RelayHttpRequest *self)
{
  if (self->headers)
    g_array_unref(self->headers);
  if (self->body)
    g_array_unref(self->body);
  self->headers = self->body = NULL;
}

static RelayHttpResult
_error(RelayHttpRequest *self, int status, const char *what, gint64 value, gint64 limit)
{
  self->status = status;
  self->what = what;
  self->value = value;
  self->limit = limit;
  self->_head_len = self->_scan = 0;
  return RELAY_HTTP_ERROR;
}

/* Start of a new request: forget the previous one. */
static void
_reset(RelayHttpRequest *self)
{
  g_array_set_size(self->headers, 0);
  g_array_set_size(self->body, 0);
  self->close = FALSE;
  self->body_len = self->consumed = 0;
  self->_content_length = self->_chunk_pos = 0;
  self->_chunked = self->_continue_sent = FALSE;
  self->method = self->path = self->query = (RelayHttpSpan){ 0, 0 };
}

/* Offset just after the empty line ending the head, or 0 if not here yet. Scans from self->_scan on. */
static gsize
_find_head_end(RelayHttpRequest *self, const guint8 *buf, gsize len)
{
  gsize i = self->_scan;

  for (; i < len; i++)
    {
      if (buf[i] != '\n' || i == 0)
        continue;
      if (buf[i - 1] == '\n')
        return i + 1;
      if (buf[i - 1] == '\r' && i >= 2 && buf[i - 2] == '\n')
        return i + 1;
    }
  self->_scan = len > 2 ? len - 2 : 0;
  return 0;
}

gboolean
relay_http_span_is(const guint8 *buf, RelayHttpSpan span, const char *s)
{
  return strlen(s) == span.len && memcmp(buf + span.off, s, span.len) == 0;
}

static gboolean
_span_is_ci(const guint8 *buf, RelayHttpSpan span, const char *s)
{
  return strlen(s) == span.len && g_ascii_strncasecmp((const char *)buf + span.off, s, span.len) == 0;
}

/* TRUE if the comma-separated list in span holds token (case-insensitive). */
static gboolean
_has_token(const guint8 *buf, RelayHttpSpan span, const char *token)
{
  gsize n = strlen(token);
  const char *v = (const char *)buf + span.off;

  for (gsize i = 0; i + n <= span.len; i++)
    if (g_ascii_strncasecmp(v + i, token, n) == 0 && (i == 0 || v[i - 1] == ',' || v[i - 1] == ' ')
        && (i + n == span.len || v[i + n] == ',' || v[i + n] == ' '))
      return TRUE;
  return FALSE;
}

/* "<METHOD> <target> HTTP/1.x" in buf[0..eol). */
static gboolean
_request_line(RelayHttpRequest *self, const guint8 *buf, gsize eol, gboolean *http10)
{
  const guint8 *sp1 = memchr(buf, ' ', eol);
  if (!sp1 || sp1 == buf)
    return FALSE;
  gsize t = (gsize)(sp1 - buf) + 1;
  const guint8 *sp2 = memchr(buf + t, ' ', eol - t);
  if (!sp2 || (gsize)(sp2 - buf) == t)
    return FALSE;
  gsize v = (gsize)(sp2 - buf) + 1;
  if (eol - v != 8 || memcmp(buf + v, "HTTP/1.", 7) != 0 || (buf[v + 7] != '0' && buf[v + 7] != '1'))
    return FALSE;
  *http10 = buf[v + 7] == '0';
  self->method = (RelayHttpSpan){ 0, (gsize)(sp1 - buf) };
  gsize tend = (gsize)(sp2 - buf);
  const guint8 *q = memchr(buf + t, '?', tend - t);
  gsize pend = q ? (gsize)(q - buf) : tend;
  self->path = (RelayHttpSpan){ t, pend - t };
  self->query = q ? (RelayHttpSpan){ pend + 1, tend - pend - 1 } : (RelayHttpSpan){ tend, 0 };
  return TRUE;
}

/* One "Name: value" line buf[p..eol) (eol without CR). */
static gboolean
_header_line(RelayHttpRequest *self, const guint8 *buf, gsize p, gsize eol)
{
  const guint8 *colon = memchr(buf + p, ':', eol - p);
  if (!colon || (gsize)(colon - buf) == p)
    return FALSE;
  gsize nend = (gsize)(colon - buf);
  for (gsize i = p; i < nend; i++)
    if (buf[i] <= ' ' || buf[i] >= 127)
      return FALSE; /* no space before the colon, no obsolete line folding */
  gsize vs = nend + 1, ve = eol;
  while (vs < ve && (buf[vs] == ' ' || buf[vs] == '\t'))
    vs++;
  while (ve > vs && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t'))
    ve--;
  RelayHttpHeader h = { { p, nend - p }, { vs, ve - vs } };
  g_array_append_val(self->headers, h);
  return TRUE;
}

static gboolean
_parse_uint(const guint8 *buf, RelayHttpSpan span, int base, guint64 *out)
{
  guint64 n = 0;

  if (span.len == 0 || span.len > (base == 16 ? 15u : 18u))
    return FALSE;
  for (gsize i = 0; i < span.len; i++)
    {
      int d = g_ascii_xdigit_value((char)buf[span.off + i]);
      if (d < 0 || d >= base)
        return FALSE;
      n = n * (guint64)base + (guint64)d;
    }
  *out = n;
  return TRUE;
}

/* Content-Length, Transfer-Encoding, Connection after the headers were split. */
static RelayHttpResult
_framing(RelayHttpRequest *self, const guint8 *buf, gboolean http10, const RelayHttpLimits *limits)
{
  RelayHttpSpan v;
  gboolean have_length = relay_http_request_header(self, buf, "content-length", &v);
  guint64 n = 0;

  if (have_length && !_parse_uint(buf, v, 10, &n))
    return _error(self, 400, "bad Content-Length", -1, -1);
  if (relay_http_request_header(self, buf, "transfer-encoding", &v))
    {
      if (!_span_is_ci(buf, v, "chunked"))
        return _error(self, 501, "unsupported Transfer-Encoding", -1, -1);
      if (have_length)
        return _error(self, 400, "both Content-Length and Transfer-Encoding", -1, -1);
      self->_chunked = TRUE;
    }
  if (n > limits->max_body_bytes)
    return _error(self, 413, "body-bytes", (gint64)n, (gint64)limits->max_body_bytes);
  self->_content_length = (gsize)n;
  self->close = http10;
  if (relay_http_request_header(self, buf, "connection", &v))
    {
      if (_has_token(buf, v, "close"))
        self->close = TRUE;
      else if (_has_token(buf, v, "keep-alive"))
        self->close = FALSE;
    }
  return RELAY_HTTP_NEED_MORE;
}

/* Request line and header lines of the head buf[0..head_len). */
static RelayHttpResult
_parse_head(RelayHttpRequest *self, const guint8 *buf, gsize head_len, const RelayHttpLimits *limits)
{
  gboolean http10 = FALSE;
  gsize p = 0;

  while (p < head_len && (buf[p] == '\r' || buf[p] == '\n'))
    p++; /* empty lines before a request are allowed (RFC 9112 2.2) */
  for (gboolean first = TRUE;; first = FALSE)
    {
      const guint8 *nl = memchr(buf + p, '\n', head_len - p);
      if (!nl)
        return _error(self, 400, "bad request line", -1, -1); /* only empty lines */
      gsize eol = (gsize)(nl - buf), next = eol + 1;
      if (eol > p && buf[eol - 1] == '\r')
        eol--;
      if (eol == p)
        break; /* the empty line */
      if (first && !_request_line(self, buf + p, eol - p, &http10))
        return _error(self, 400, "bad request line", -1, -1);
      if (first)
        {
          self->method.off += p;
          self->path.off += p;
          self->query.off += p;
        }
      else if (self->headers->len >= RELAY_HTTP_MAX_HEADERS)
        return _error(self, 431, "headers", self->headers->len + 1, RELAY_HTTP_MAX_HEADERS);
      else if (!_header_line(self, buf, p, eol))
        return _error(self, 400, "bad header line", -1, -1);
      p = next;
    }
  return _framing(self, buf, http10, limits);
}

/* Parses chunks from _chunk_pos on. OK when the last chunk and the trailers are in. */
static RelayHttpResult
_parse_chunks(RelayHttpRequest *self, const guint8 *buf, gsize len, const RelayHttpLimits *limits)
{
  /* chunk framing may not cost more than the body limit again */
  gsize max_total = self->_head_len + 2 * limits->max_body_bytes + limits->max_header_bytes + 64;

  for (;;)
    {
      gsize p = self->_chunk_pos;
      if (p > max_total)
        return _error(self, 413, "chunked-request-bytes", (gint64)p, (gint64)max_total);
      const guint8 *nl = memchr(buf + p, '\n', MIN(len - p, (gsize)MAX_CHUNK_LINE + 2));
      if (!nl)
        return len - p > MAX_CHUNK_LINE ? _error(self, 400, "bad chunk size line", -1, -1)
                                        : RELAY_HTTP_NEED_MORE;
      gsize eol = (gsize)(nl - buf);
      gsize send = p;
      while (send < eol && g_ascii_isxdigit(buf[send]))
        send++;
      guint64 size;
      if (!_parse_uint(buf, (RelayHttpSpan){ p, send - p }, 16, &size))
        return _error(self, 400, "bad chunk size", -1, -1);
      if (size > limits->max_body_bytes - self->body_len)
        return _error(self, 413, "body-bytes", (gint64)(self->body_len + size),
                      (gint64)limits->max_body_bytes);
      gsize data = eol + 1;
      if (size == 0)
        {
          /* trailers: lines up to an empty one, skipped */
          for (gsize q = data;;)
            {
              const guint8 *tnl = memchr(buf + q, '\n', len - q);
              if (!tnl)
                return len - data > limits->max_header_bytes ? _error(
                           self, 431, "trailer-bytes", (gint64)(len - data), (gint64)limits->max_header_bytes)
                                                             : RELAY_HTTP_NEED_MORE;
              gsize teol = (gsize)(tnl - buf);
              gboolean empty = teol == q || (teol == q + 1 && buf[q] == '\r');
              q = teol + 1;
              if (empty)
                {
                  self->consumed = q;
                  return RELAY_HTTP_OK;
                }
            }
        }
      if (len - data < size + 2)
        return RELAY_HTTP_NEED_MORE;
      gsize end = data + (gsize)size;
      gsize crlf = buf[end] == '\r' ? 2 : 1;
      if (buf[end + crlf - 1] != '\n')
        return _error(self, 400, "bad chunk end", -1, -1);
      if (crlf == 2 && len - data < size + 2)
        return RELAY_HTTP_NEED_MORE;
      RelayHttpSpan piece = { data, (gsize)size };
      g_array_append_val(self->body, piece);
      self->body_len += (gsize)size;
      self->_chunk_pos = end + crlf;
    }
}

static gboolean
_expects_continue(RelayHttpRequest *self, const guint8 *buf)
{
  RelayHttpSpan v;

  return relay_http_request_header(self, buf, "expect", &v) && _span_is_ci(buf, v, "100-continue");
}

RelayHttpResult
relay_http_request_parse(RelayHttpRequest *self, const guint8 *buf, gsize len, const RelayHttpLimits *limits)
{
  if (self->_head_len == 0)
    {
      if (self->_scan == 0)
        _reset(self);
      gsize end = _find_head_end(self, buf, MIN(len, limits->max_header_bytes + 1));
      if (end == 0)
        return len > limits->max_header_bytes
                   ? _error(self, 431, "header-bytes", (gint64)len, (gint64)limits->max_header_bytes)
                   : RELAY_HTTP_NEED_MORE;
      if (_parse_head(self, buf, end, limits) == RELAY_HTTP_ERROR)
        return RELAY_HTTP_ERROR;
      self->_head_len = end;
      self->_chunk_pos = end;
    }
  RelayHttpResult r;
  if (self->_chunked)
    r = _parse_chunks(self, buf, len, limits);
  else if (len - self->_head_len >= self->_content_length)
    {
      RelayHttpSpan piece = { self->_head_len, self->_content_length };
      if (piece.len)
        g_array_append_val(self->body, piece);
      self->body_len = self->_content_length;
      self->consumed = self->_head_len + self->_content_length;
      r = RELAY_HTTP_OK;
    }
  else
    r = RELAY_HTTP_NEED_MORE;
  if (r == RELAY_HTTP_OK)
    self->_head_len = self->_scan = 0;
  else if (r == RELAY_HTTP_NEED_MORE && !self->_continue_sent && _expects_continue(self, buf))
    {
      self->_continue_sent = TRUE;
      return RELAY_HTTP_CONTINUE;
    }
  return r;
}

gboolean
relay_http_request_header(const RelayHttpRequest *self, const guint8 *buf, const char *name,
                          RelayHttpSpan *value)
{
  for (guint i = 0; i < self->headers->len; i++)
    {
      const RelayHttpHeader *h = &g_array_index(self->headers, RelayHttpHeader, i);
      if (_span_is_ci(buf, h->name, name))
        {
          *value = h->value;
          return TRUE;
        }
    }
  return FALSE;
}

const char *
relay_http_reason(int status)
{
  switch (status)
    {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
    }
}

void
relay_http_response(GByteArray *out, int status, const char *extra_headers, const char *text, gboolean close)
{
  char head[256];
  gsize tlen = text ? strlen(text) : 0;
  int n = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Length: %" G_GSIZE_FORMAT "\r\n%s%s\r\n",
                   status, relay_http_reason(status), tlen + (tlen ? 1 : 0),
                   tlen ? "Content-Type: text/plain\r\n" : "", close ? "Connection: close\r\n" : "");
  g_byte_array_append(out, (const guint8 *)head, (guint)n);
  if (extra_headers)
    {
      g_byte_array_set_size(out, out->len - 2); /* before the empty line */
      g_byte_array_append(out, (const guint8 *)extra_headers, (guint)strlen(extra_headers));
      g_byte_array_append(out, (const guint8 *)"\r\n", 2);
    }
  if (tlen)
    {
      g_byte_array_append(out, (const guint8 *)text, (guint)tlen);
      g_byte_array_append(out, (const guint8 *)"\n", 1);
    }
}
