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
  self->_segs = g_array_new(FALSE, FALSE, sizeof(RelayAvroSlice));
}

void
relay_avro_http_clear(RelayAvroHttp *self)
{
  if (self->_slices)
    g_array_unref(self->_slices);
  self->_slices = NULL;
  if (self->_segs)
    g_array_unref(self->_segs);
  self->_segs = NULL;
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
  else if ((v = _header_value(p, end, "transfer-encoding", &vlen)))
    {
      if (vlen != 7 || g_ascii_strncasecmp(v, "chunked", 7) != 0)
        return _error(self, 501, "Transfer-Encoding other than chunked", RELAY_AVRO_NO_VALUE,
                      RELAY_AVRO_NO_VALUE);
      self->_chunked = TRUE;
    }
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
  self->_chunked = self->_in_trailer = FALSE;
  self->_content_length = self->_body_len = 0;
  g_array_set_size(self->_segs, 0);
  for (const char *p = eol + 2; p < end;)
    {
      const char *line_end = memchr(p, '\r', (gsize)(end - p));
      if (!line_end || line_end[1] != '\n')
        return _error(self, 400, "bad header line", RELAY_AVRO_NO_VALUE, RELAY_AVRO_NO_VALUE);
      if (_header_line(self, p, line_end, limits, &have_length) != RELAY_AVRO_OK)
        return RELAY_AVRO_ERROR;
      p = line_end + 2;
    }
  if (self->_chunked && have_length)
    return _error(self, 400, "both Content-Length and Transfer-Encoding", RELAY_AVRO_NO_VALUE,
                  RELAY_AVRO_NO_VALUE);
  if (!have_length && !self->_chunked)
    return _error(self, 411, "neither Content-Length nor Transfer-Encoding: chunked", RELAY_AVRO_NO_VALUE,
                  RELAY_AVRO_NO_VALUE);
  self->_header_len = head;
  self->_chunk_pos = head;
  return RELAY_AVRO_OK;
}

static guint32
_be32(const guint8 *p)
{
  return ((guint32)p[0] << 24) | ((guint32)p[1] << 16) | ((guint32)p[2] << 8) | (guint32)p[3];
}

/* ---- the body: segments of the input (one, or one per chunk), then the framed buffers across them ---- */

typedef struct
{
  const guint8 *buf;          /* the input */
  const RelayAvroSlice *segs; /* offset: in the input */
  guint n_segs, seg;
  gsize at; /* within segs[seg] */
} Cursor;

static gsize
_cursor_left(const Cursor *c)
{
  gsize left = 0;

  for (guint i = c->seg; i < c->n_segs; i++)
    left += c->segs[i].len - (i == c->seg ? c->at : 0);
  return left;
}

/* Moves n bytes forward (n <= _cursor_left). With slices, appends a slice per piece at message offset *mo;
 * with copy, copies the bytes there. */
static void
_cursor_take(Cursor *c, gsize n, GArray *slices, guint32 *mo, guint8 *copy)
{
  while (n > 0)
    {
      const RelayAvroSlice *seg = &c->segs[c->seg];
      gsize piece = MIN(n, seg->len - c->at);
      const guint8 *data = c->buf + seg->offset + c->at;
      if (slices && piece)
        {
          RelayAvroSlice slice = { data, (guint32)piece, *mo };
          g_array_append_val(slices, slice);
          *mo += (guint32)piece;
        }
      if (copy)
        {
          memcpy(copy, data, piece);
          copy += piece;
        }
      n -= piece;
      c->at += piece;
      if (c->at == seg->len && c->seg + 1 < c->n_segs)
        {
          c->seg++;
          c->at = 0;
        }
    }
}

/* Splits the body (the segments) into the slices of its framed buffers. The cursor walk is linear in the
 * number of buffers and segments, both bounded by the body size. */
static RelayAvroResult
_parse_body(RelayAvroHttp *self, const guint8 *buf, const RelayAvroLimits *limits)
{
  Cursor c = { buf, (const RelayAvroSlice *)(gpointer)self->_segs->data, self->_segs->len, 0, 0 };
  gsize left = _cursor_left(&c);
  guint32 message_len = 0;

  g_array_set_size(self->_slices, 0);
  for (guint32 n = 0;; n++)
    {
      guint8 be[4];
      if (left < 4)
        return _error(self, 400, "framed message without its final zero-length buffer", RELAY_AVRO_NO_VALUE,
                      RELAY_AVRO_NO_VALUE);
      _cursor_take(&c, 4, NULL, NULL, be);
      left -= 4;
      gint32 blen = (gint32)_be32(be);
      if (blen == 0)
        break;
      if (blen < 0 || (gsize)blen > left)
        return _error(self, 400, "buffer length beyond the body", blen, RELAY_AVRO_NO_VALUE);
      if (n >= limits->max_buffers)
        return _error(self, 413, "buffer count above limit", n + 1, limits->max_buffers);
      _cursor_take(&c, (gsize)blen, self->_slices, &message_len, NULL);
      left -= (gsize)blen;
    }
  if (left != 0)
    return _error(self, 400, "bytes after the final zero-length buffer", (gint64)left, RELAY_AVRO_NO_VALUE);
  return RELAY_AVRO_OK;
}

/* The offset of the CRLF ending the line that starts at from, looking at most max bytes; 0 if not there. */
static gsize
_line_end(const guint8 *buf, gsize len, gsize from, gsize max)
{
  gsize stop = MIN(len, from + max);

  for (gsize i = from; i + 1 < stop; i++)
    if (buf[i] == '\r' && buf[i + 1] == '\n')
      return i;
  return 0;
}

#define CHUNK_LINE_MAX 128

/* Transfer-Encoding: chunked. Resumes at _chunk_pos (offsets only: the input may move between calls); OK
 * once the last chunk and the trailer section arrived (_chunk_pos is then the end of the request). */
static RelayAvroResult
_parse_chunks(RelayAvroHttp *self, const guint8 *buf, gsize len, const RelayAvroLimits *limits)
{
  for (;;)
    {
      gsize max = self->_in_trailer ? RELAY_AVRO_HTTP_MAX_HEADER_BYTES : CHUNK_LINE_MAX;
      gsize eol = _line_end(buf, len, self->_chunk_pos, max);
      if (!eol)
        return len - self->_chunk_pos >= max ? _error(self, 400, "bad chunk size or trailer line",
                                                      RELAY_AVRO_NO_VALUE, RELAY_AVRO_NO_VALUE)
                                             : RELAY_AVRO_NEED_MORE;
      if (self->_in_trailer)
        {
          gboolean empty = eol == self->_chunk_pos;
          self->_chunk_pos = eol + 2;
          if (empty)
            return RELAY_AVRO_OK;
          continue;
        }
      guint64 size = 0;
      gsize i = self->_chunk_pos;
      for (; i < eol && g_ascii_isxdigit(buf[i]) && size <= limits->max_pack_bytes; i++)
        size = size * 16 + (guint64)g_ascii_xdigit_value(buf[i]);
      if (i == self->_chunk_pos || (i < eol && buf[i] != ';' && buf[i] != ' ' && buf[i] != '\t'))
        return _error(self, 400, "bad chunk size", RELAY_AVRO_NO_VALUE, RELAY_AVRO_NO_VALUE);
      if (self->_body_len + size > limits->max_pack_bytes)
        return _error(self, 413, "request body above limit", (gint64)(self->_body_len + size),
                      limits->max_pack_bytes);
      if (size == 0)
        {
          self->_in_trailer = TRUE;
          self->_chunk_pos = eol + 2;
          continue;
        }
      gsize data = eol + 2;
      if (len < data + size + 2)
        return RELAY_AVRO_NEED_MORE;
      if (buf[data + size] != '\r' || buf[data + size + 1] != '\n')
        return _error(self, 400, "chunk not followed by CRLF", RELAY_AVRO_NO_VALUE, RELAY_AVRO_NO_VALUE);
      RelayAvroSlice seg = { NULL, (guint32)size, (guint32)data };
      g_array_append_val(self->_segs, seg);
      self->_body_len += size;
      self->_chunk_pos = data + size + 2;
    }
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
  if (self->_chunked)
    {
      if (_parse_chunks(self, buf, len, limits) != RELAY_AVRO_OK)
        return self->_header_len ? RELAY_AVRO_NEED_MORE : RELAY_AVRO_ERROR; /* _error() resets _header_len */
      self->consumed = self->_chunk_pos;
    }
  else
    {
      if (len - self->_header_len < self->_content_length)
        return RELAY_AVRO_NEED_MORE;
      RelayAvroSlice seg = { NULL, (guint32)self->_content_length, (guint32)self->_header_len };
      g_array_append_val(self->_segs, seg);
      self->consumed = self->_header_len + self->_content_length;
    }
  if (_parse_body(self, buf, limits) != RELAY_AVRO_OK)
    return RELAY_AVRO_ERROR;
  self->slices = (const RelayAvroSlice *)(gpointer)self->_slices->data;
  self->n_slices = self->_slices->len;
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
    case 501:
      return "Not Implemented";
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
