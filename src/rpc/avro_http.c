/* avro_http.c - Avro's HTTP transport: parses one POST with a framed Avro message, writes the responses.
 * See avro_http.h for what is accepted. */
#include "avro_http.h"

#include <stdio.h>
#include <string.h>

void
relay_avro_http_init(RelayAvroHttp *self)
{
  memset(self, 0, sizeof *self);
  self->_slices = g_array_new(FALSE, FALSE, sizeof(RelayAvroSlice));
}

void
relay_avro_http_clear(RelayAvroHttp *self)
{
  if (self->_slices)
    g_array_unref(self->_slices);
  self->_slices = NULL;
}

static RelayAvroResult
_error(RelayAvroHttp *self, int status, const char *what, gint64 value, gint64 limit)
{
  self->status = status;
  self->error.what = what;
  self->error.value = value;
  self->error.limit = limit;
  self->_header_len = 0;
  return RELAY_AVRO_ERROR;
}

/* The value of header line [p, end) if its name is name (case-insensitive), trimmed; else NULL. */
static const char *
_header_value(const char *p, const char *end, const char *name, gsize *value_len)
{
  gsize n = strlen(name);

  if ((gsize)(end - p) <= n || g_ascii_strncasecmp(p, name, n) != 0 || p[n] != ':')
    return NULL;
  p += n + 1;
  while (p < end && (*p == ' ' || *p == '\t'))
    p++;
  while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
    end--;
  *value_len = (gsize)(end - p);
  return p;
}

/* TRUE if the comma-separated token list [v, v+len) holds token (case-insensitive). */
static gboolean
_has_token(const char *v, gsize len, const char *token)
{
  gsize n = strlen(token);

  for (gsize i = 0; i + n <= len; i++)
    if (g_ascii_strncasecmp(v + i, token, n) == 0 && (i == 0 || v[i - 1] == ',' || v[i - 1] == ' ')
        && (i + n == len || v[i + n] == ',' || v[i + n] == ' '))
      return TRUE;
  return FALSE;
}

/* One header line [p, end): Content-Length, Transfer-Encoding and Connection matter. */
static RelayAvroResult
_header_line(RelayAvroHttp *self, const char *p, const char *end, const RelayAvroLimits *limits,
             gboolean *have_length)
{
  gsize vlen;
  const char *v;

  if ((v = _header_value(p, end, "content-length", &vlen)))
    {
      guint64 n = 0;
      if (vlen == 0 || vlen > 12)
        return _error(self, 400, "bad Content-Length", RELAY_AVRO_NO_VALUE, RELAY_AVRO_NO_VALUE);
      for (gsize i = 0; i < vlen; i++)
        {
          if (!g_ascii_isdigit(v[i]))
            return _error(self, 400, "bad Content-Length", RELAY_AVRO_NO_VALUE, RELAY_AVRO_NO_VALUE);
          n = n * 10 + (guint64)(v[i] - '0');
        }
      if (*have_length && n != self->_content_length)
        return _error(self, 400, "conflicting Content-Length", RELAY_AVRO_NO_VALUE, RELAY_AVRO_NO_VALUE);
      if (n > limits->max_pack_bytes)
        return _error(self, 413, "request body above limit", (gint64)n, limits->max_pack_bytes);
      self->_content_length = (gsize)n;
      *have_length = TRUE;
    }
  else if (_header_value(p, end, "transfer-encoding", &vlen))
    return _error(self, 411, "Transfer-Encoding instead of Content-Length", RELAY_AVRO_NO_VALUE,
                  RELAY_AVRO_NO_VALUE);
  else if ((v = _header_value(p, end, "connection", &vlen)))
    self->_close = _has_token(v, vlen, "close") || (self->_close && !_has_token(v, vlen, "keep-alive"));
  return RELAY_AVRO_OK;
}

/* Parses the request line and headers of buf[0..head) (head ends with CRLF CRLF). */
static RelayAvroResult
_parse_head(RelayAvroHttp *self, const char *buf, gsize head, const RelayAvroLimits *limits)
{
  const char *end = buf + head - 2;
  const char *eol = memchr(buf, '\r', head);
  gboolean have_length = FALSE;

  if (!eol || (gsize)(eol - buf) < 14 || memcmp(eol - 9, " HTTP/1.", 8) != 0)
    return _error(self, 400, "not an HTTP/1.x request line", RELAY_AVRO_NO_VALUE, RELAY_AVRO_NO_VALUE);
  if (memcmp(buf, "POST ", 5) != 0)
    return _error(self, 405, "method other than POST", RELAY_AVRO_NO_VALUE, RELAY_AVRO_NO_VALUE);
  self->_close = eol[-1] == '0'; /* HTTP/1.0: close unless the client asks for keep-alive */
  for (const char *p = eol + 2; p < end;)
    {
      const char *line_end = memchr(p, '\r', (gsize)(end - p));
      if (!line_end || line_end[1] != '\n')
        return _error(self, 400, "bad header line", RELAY_AVRO_NO_VALUE, RELAY_AVRO_NO_VALUE);
      if (_header_line(self, p, line_end, limits, &have_length) != RELAY_AVRO_OK)
        return RELAY_AVRO_ERROR;
      p = line_end + 2;
    }
  if (!have_length)
    return _error(self, 411, "no Content-Length", RELAY_AVRO_NO_VALUE, RELAY_AVRO_NO_VALUE);
  self->_header_len = head;
  return RELAY_AVRO_OK;
}

static guint32
_be32(const guint8 *p)
{
  return ((guint32)p[0] << 24) | ((guint32)p[1] << 16) | ((guint32)p[2] << 8) | (guint32)p[3];
}

/* Splits the body body[0..len) into the slices of its buffers. */
static RelayAvroResult
_parse_body(RelayAvroHttp *self, const guint8 *body, gsize len, const RelayAvroLimits *limits)
{
  gsize pos = 0;
  guint32 message_len = 0;

  g_array_set_size(self->_slices, 0);
  for (guint32 n = 0;; n++)
    {
      if (len - pos < 4)
        return _error(self, 400, "framed message without its final zero-length buffer", RELAY_AVRO_NO_VALUE,
                      RELAY_AVRO_NO_VALUE);
      gint32 blen = (gint32)_be32(body + pos);
      pos += 4;
      if (blen == 0)
        break;
      if (blen < 0 || (gsize)blen > len - pos)
        return _error(self, 400, "buffer length beyond the body", blen, RELAY_AVRO_NO_VALUE);
      if (n >= limits->max_buffers)
        return _error(self, 413, "buffer count above limit", n + 1, limits->max_buffers);
      RelayAvroSlice slice = { body + pos, (guint32)blen, message_len };
      g_array_append_val(self->_slices, slice);
      message_len += (guint32)blen;
      pos += (gsize)blen;
    }
  if (pos != len)
    return _error(self, 400, "bytes after the final zero-length buffer", (gint64)(len - pos),
                  RELAY_AVRO_NO_VALUE);
  return RELAY_AVRO_OK;
}

RelayAvroResult
relay_avro_http_parse(RelayAvroHttp *self, const guint8 *buf, gsize len, const RelayAvroLimits *limits)
{
  if (self->_header_len == 0)
    {
      if (len > 0 && !g_ascii_isupper(buf[0])) /* e.g. a Netty pack: its serial starts with 0 */
        return _error(self, 400, "not an HTTP request (a Netty client? the source has transport = http)",
                      RELAY_AVRO_NO_VALUE, RELAY_AVRO_NO_VALUE);
      gsize scan = MIN(len, RELAY_AVRO_HTTP_MAX_HEADER_BYTES);
      const guint8 *head_end = NULL;
      for (gsize i = 3; i < scan && !head_end; i++)
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
          head_end = buf + i + 1;
      if (!head_end)
        return len >= RELAY_AVRO_HTTP_MAX_HEADER_BYTES ? _error(self, 431, "request head above limit",
                                                                (gint64)len, RELAY_AVRO_HTTP_MAX_HEADER_BYTES)
                                                       : RELAY_AVRO_NEED_MORE;
      if (_parse_head(self, (const char *)buf, (gsize)(head_end - buf), limits) != RELAY_AVRO_OK)
        return RELAY_AVRO_ERROR;
    }
  if (len - self->_header_len < self->_content_length)
    return RELAY_AVRO_NEED_MORE;
  if (_parse_body(self, buf + self->_header_len, self->_content_length, limits) != RELAY_AVRO_OK)
    return RELAY_AVRO_ERROR;
  self->slices = (const RelayAvroSlice *)(gpointer)self->_slices->data;
  self->n_slices = self->_slices->len;
  self->consumed = self->_header_len + self->_content_length;
  self->close = self->_close;
  self->_header_len = 0; /* the next call starts a new request */
  return RELAY_AVRO_OK;
}

void
relay_avro_http_reply_from_pack(GByteArray *out, const guint8 *pack, gsize pack_len, gboolean close)
{
  static const guint8 end_of_message[4] = { 0, 0, 0, 0 };
  char head[160];
  /* pack: serial (4), buffer count 1 (4), then length + message: already the spec's framing of one buffer. */
  gsize framed = pack_len - 8;
  int n = g_snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\nContent-Type: avro/binary\r\nContent-Length: %" G_GSIZE_FORMAT
                     "\r\n%s\r\n",
                     framed + 4, close ? "Connection: close\r\n" : "");

  g_assert(pack_len >= 12 && _be32(pack + 4) == 1);
  g_byte_array_append(out, (const guint8 *)head, (guint)n);
  g_byte_array_append(out, pack + 8, (guint)framed);
  g_byte_array_append(out, end_of_message, 4);
}

static const char *
_reason(int status)
{
  switch (status)
    {
    case 405:
      return "Method Not Allowed";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 431:
      return "Request Header Fields Too Large";
    default:
      return "Bad Request";
    }
}

void
relay_avro_http_error_reply(GByteArray *out, int status, const char *text)
{
  char *reply = g_strdup_printf(
      "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %" G_GSIZE_FORMAT
      "\r\n%sConnection: close\r\n\r\n%s\n",
      status, _reason(status), strlen(text) + 1, status == 405 ? "Allow: POST\r\n" : "", text);

  g_byte_array_append(out, (const guint8 *)reply, (guint)strlen(reply));
  g_free(reply);
}
