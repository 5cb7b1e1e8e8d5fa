/* spooldir_reader.c - reading one spooled file into events (see spooldir_reader.h).
 *
 * As Flume's LineDeserializer (flume-ng-core/src/main/java/org/apache/flume/serialization/): only '\n' ends
 * a line (a '\r' before it stays in the body), a last line without '\n' is an event too, and a line longer
 * than deserializer.maxLineLength is cut, the rest becoming the next event. Lengths are counted in bytes of
 * the input, not characters (the same for ASCII; stricter for multi-byte text); a cut never splits a UTF-8
 * sequence when the input is UTF-8. Each line is decoded from inputCharset (decodeErrorPolicy: FAIL stops at
 * the line, REPLACE puts U+FFFD for each bad byte, IGNORE drops it) and encoded in outputCharset
 * (unmappable characters become '?', as Java's encoder).
 * As Flume's BlobDeserializer (flume-ng-sinks/flume-ng-morphline-solr-sink/.../BlobDeserializer.java): the
 * file's bytes, up to deserializer.maxBlobLength per event, undecoded.
 *
 * Threads: the main loop. */
#include "spooldir_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define RELAY_SPOOL_READ_BUFFER (64 * 1024)

struct _RelaySpoolReader
{
  RelaySpoolReaderConfig config;
  char *path;
  int fd;
  gboolean utf8_in, utf8_out;
  GIConv to_utf8; /* when the input is not UTF-8 */
  guint8 *buf;    /* file bytes [buf_off, buf_off + len); buf[pos] is the next byte to look at */
  gint64 buf_off;
  gsize pos, len;
  GByteArray *partial;    /* a line that continues past the buffer */
  gint64 offset;          /* just after the last event returned */
  gboolean empty_pending; /* a zero-byte file still owes its one empty event */
  guint64 cut_lines;
  GString *decoded;
};

static gboolean
_is_utf8(const char *charset)
{
  return g_ascii_strcasecmp(charset, "UTF-8") == 0 || g_ascii_strcasecmp(charset, "UTF8") == 0;
}

gboolean
relay_spool_charset_usable(const char *charset)
{
  char *up = g_ascii_strup(charset, -1);
  gboolean wide = strstr(up, "UTF-16") || strstr(up, "UTF16") || strstr(up, "UTF-32") || strstr(up, "UTF32")
                  || strstr(up, "UCS");
  g_free(up);
  if (wide)
    return FALSE;
  GIConv cd = g_iconv_open("UTF-8", charset);
  if (cd == (GIConv)-1)
    return FALSE;
  g_iconv_close(cd);
  return TRUE;
}

RelaySpoolReader *
relay_spool_reader_open(const char *path, gint64 offset, gint64 file_size,
                        const RelaySpoolReaderConfig *config, GError **error)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "cannot open %s: %s", path, g_strerror(errno));
      return NULL;
    }
  RelaySpoolReader *self = g_new0(RelaySpoolReader, 1);
  self->config = *config;
  self->path = g_strdup(path);
  self->fd = fd;
  self->utf8_in = _is_utf8(config->input_charset);
  self->utf8_out = _is_utf8(config->output_charset);
  self->to_utf8 = self->utf8_in ? (GIConv)-1 : g_iconv_open("UTF-8", config->input_charset);
  self->buf = g_malloc(RELAY_SPOOL_READ_BUFFER);
  self->buf_off = self->offset = offset;
  self->partial = g_byte_array_new();
  self->decoded = g_string_new(NULL);
  self->empty_pending = file_size == 0 && offset == 0;
  return self;
}

/* ---- decoding ---- */

static void
_bad_byte(RelaySpoolReader *self)
{
  if (self->config.policy == RELAY_SPOOL_DECODE_REPLACE)
    g_string_append(self->decoded, "\xEF\xBF\xBD");
}

/* UTF-8 input: the valid parts, with the policy applied to each bad byte. */
static gboolean
_decode_utf8(RelaySpoolReader *self, const guint8 *raw, gsize len)
{
  const char *p = (const char *)raw, *end = p + len, *valid_end;

  while (p < end)
    {
      if (g_utf8_validate_len(p, (gsize)(end - p), &valid_end))
        {
          g_string_append_len(self->decoded, p, end - p);
          break;
        }
      if (self->config.policy == RELAY_SPOOL_DECODE_FAIL)
        return FALSE;
      g_string_append_len(self->decoded, p, valid_end - p);
      if (*valid_end == '\0')
        g_string_append_c(self->decoded, '\0'); /* NUL is valid input, just not for g_utf8_validate */
      else
        _bad_byte(self);
      p = valid_end + 1;
    }
  return TRUE;
}

/* Other input charsets through iconv, to UTF-8. */
static gboolean
_decode_iconv(RelaySpoolReader *self, const guint8 *raw, gsize len)
{
  char *in = (char *)raw;
  gsize in_left = len;
  char out[4096];

  while (in_left > 0)
    {
      char *o = out;
      gsize o_left = sizeof out;
      gsize r = g_iconv(self->to_utf8, &in, &in_left, &o, &o_left);
      g_string_append_len(self->decoded, out, (gssize)(o - out));
      if (r != (gsize)-1 || errno == E2BIG)
        continue;
      if (self->config.policy == RELAY_SPOOL_DECODE_FAIL)
        return FALSE;
      _bad_byte(self);
      in++;
      in_left--;
    }
  g_iconv(self->to_utf8, NULL, NULL, NULL, NULL);
  return TRUE;
}

static RelayEvent *
_event(RelaySpoolReader *self, const guint8 *raw, gsize len, const RelayHeader *headers, guint n_headers,
       GError **error)
{
  if (self->utf8_in && self->utf8_out && g_utf8_validate_len((const char *)raw, len, NULL))
    return relay_event_new(headers, n_headers, raw, len);
  g_string_truncate(self->decoded, 0);
  gboolean ok = self->utf8_in ? _decode_utf8(self, raw, len) : _decode_iconv(self, raw, len);
  if (!ok)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO,
                  "%s: bytes that are not valid %s in the line at offset %" G_GINT64_FORMAT
                  " (decodeErrorPolicy = FAIL)",
                  self->path, self->config.input_charset, self->offset);
      return NULL;
    }
  if (self->utf8_out)
    return relay_event_new(headers, n_headers, self->decoded->str, self->decoded->len);
  gsize out_len = 0;
  char *out = g_convert_with_fallback(self->decoded->str, (gssize)self->decoded->len,
                                      self->config.output_charset, "UTF-8", "?", NULL, &out_len, NULL);
  RelayEvent *ev = relay_event_new(headers, n_headers, out ? out : "", out ? out_len : 0);
  g_free(out);
  return ev;
}

/* ---- reading ---- */

/* Refills the buffer; returns bytes read, 0 at EOF, -1 on error. */
static gssize
_fill(RelaySpoolReader *self, GError **error)
{
  self->buf_off += (gint64)self->len;
  self->pos = self->len = 0;
  for (;;)
    {
      ssize_t n = pread(self->fd, self->buf, RELAY_SPOOL_READ_BUFFER, self->buf_off);
      if (n >= 0)
        {
          self->len = (gsize)n;
          return n;
        }
      if (errno != EINTR)
        {
          g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "reading %s: %s", self->path, g_strerror(errno));
          return -1;
        }
    }
}

/* Adds the event for raw[0..len) ending at file offset end. FALSE on a decode error. */
static gboolean
_emit(RelaySpoolReader *self, const guint8 *raw, gsize len, gint64 end, const RelayHeader *headers,
      guint n_headers, GPtrArray *out, GError **error)
{
  RelayEvent *ev = _event(self, raw, len, headers, n_headers, error);
  if (!ev)
    return FALSE;
  g_ptr_array_add(out, ev);
  self->offset = end;
  return TRUE;
}

/* Where to cut a line of more than room bytes in seg: at room, moved back to a UTF-8 character start. */
static gsize
_cut_point(const RelaySpoolReader *self, const guint8 *seg, gsize room)
{
  gsize cut = room;
  while (self->utf8_in && cut > 0 && room - cut < 4 && (seg[cut] & 0xC0) == 0x80)
    cut--;
  return cut > 0 || self->partial->len ? cut : room;
}

/* The line continuing in seg[0..take) is longer than max_line: emit its first max_line bytes. */
static gboolean
_emit_cut(RelaySpoolReader *self, const guint8 *seg, gsize room, const RelayHeader *headers, guint n_headers,
          GPtrArray *out, GError **error)
{
  gsize cut = _cut_point(self, seg, room);
  g_byte_array_append(self->partial, seg, (guint)cut);
  self->pos += cut;
  self->cut_lines++;
  gboolean ok = _emit(self, self->partial->data, self->partial->len, self->buf_off + (gint64)self->pos,
                      headers, n_headers, out, error);
  g_byte_array_set_size(self->partial, 0);
  return ok;
}

static RelaySpoolReadResult
_read_lines(RelaySpoolReader *self, guint max, const RelayHeader *headers, guint n_headers, GPtrArray *out,
            GError **error)
{
  guint start = out->len;
  gsize max_line = (gsize)self->config.max_line;

  while (out->len - start < max)
    {
      if (self->pos == self->len)
        {
          gssize n = _fill(self, error);
          if (n < 0)
            return RELAY_SPOOL_READ_ERROR;
          if (n == 0)
            {
              if (self->partial->len == 0)
                break;
              gboolean ok = _emit(self, self->partial->data, self->partial->len, self->buf_off, headers,
                                  n_headers, out, error);
              g_byte_array_set_size(self->partial, 0);
              if (!ok)
                return RELAY_SPOOL_READ_ERROR;
              break;
            }
        }
      const guint8 *seg = self->buf + self->pos;
      gsize avail = self->len - self->pos;
      const guint8 *nl = memchr(seg, '\n', avail);
      gsize take = nl ? (gsize)(nl - seg) : avail;
      gsize room = max_line - self->partial->len;
      gboolean ok = TRUE;
      if (take > room)
        ok = _emit_cut(self, seg, room, headers, n_headers, out, error);
      else if (!nl)
        {
          g_byte_array_append(self->partial, seg, (guint)take);
          self->pos += take;
        }
      else
        {
          self->pos += take + 1;
          gint64 end = self->buf_off + (gint64)self->pos;
          if (self->partial->len)
            {
              g_byte_array_append(self->partial, seg, (guint)take);
              ok = _emit(self, self->partial->data, self->partial->len, end, headers, n_headers, out, error);
              g_byte_array_set_size(self->partial, 0);
            }
          else
            ok = _emit(self, seg, take, end, headers, n_headers, out, error);
        }
      if (!ok)
        return RELAY_SPOOL_READ_ERROR;
    }
  return out->len > start ? RELAY_SPOOL_READ_EVENTS : RELAY_SPOOL_READ_EOF;
}

/* One event of up to max_blob bytes from the current offset. */
static RelaySpoolReadResult
_read_blob(RelaySpoolReader *self, const RelayHeader *headers, guint n_headers, GPtrArray *out,
           GError **error)
{
  GByteArray *blob = g_byte_array_new();
  gint64 want = self->config.max_blob;

  while ((gint64)blob->len < want)
    {
      gsize chunk = (gsize)MIN(want - (gint64)blob->len, RELAY_SPOOL_READ_BUFFER);
      guint old = blob->len;
      g_byte_array_set_size(blob, old + (guint)chunk);
      ssize_t n = pread(self->fd, blob->data + old, chunk, self->offset + old);
      if (n < 0 && errno == EINTR)
        n = 0;
      else if (n < 0)
        {
          g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "reading %s: %s", self->path, g_strerror(errno));
          g_byte_array_free(blob, TRUE);
          return RELAY_SPOOL_READ_ERROR;
        }
      g_byte_array_set_size(blob, old + (guint)n);
      if (n == 0)
        break;
    }
  RelaySpoolReadResult result = RELAY_SPOOL_READ_EOF;
  if (blob->len)
    {
      g_ptr_array_add(out, relay_event_new(headers, n_headers, blob->data, blob->len));
      self->offset += blob->len;
      result = RELAY_SPOOL_READ_EVENTS;
    }
  g_byte_array_free(blob, TRUE);
  return result;
}

RelaySpoolReadResult
relay_spool_reader_read(RelaySpoolReader *self, guint max, const RelayHeader *headers, guint n_headers,
                        GPtrArray *out, GError **error)
{
  if (self->empty_pending)
    {
      self->empty_pending = FALSE;
      g_ptr_array_add(out, relay_event_new(headers, n_headers, "", 0));
      return RELAY_SPOOL_READ_EVENTS;
    }
  if (self->config.kind == RELAY_SPOOL_BLOB)
    return _read_blob(self, headers, n_headers, out, error);
  return _read_lines(self, max, headers, n_headers, out, error);
}

gint64
relay_spool_reader_offset(const RelaySpoolReader *self)
{
  return self->offset;
}

guint64
relay_spool_reader_cut_lines(const RelaySpoolReader *self)
{
  return self->cut_lines;
}

void
relay_spool_reader_free(RelaySpoolReader *self)
{
  if (!self)
    return;
  close(self->fd);
  if (self->to_utf8 != (GIConv)-1)
    g_iconv_close(self->to_utf8);
  g_free(self->buf);
  g_byte_array_free(self->partial, TRUE);
  g_string_free(self->decoded, TRUE);
  g_free(self->path);
  g_free(self);
}
