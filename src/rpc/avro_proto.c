/* avro_proto.c - Flume's Avro RPC codec: pack framing, handshake, append/appendBatch, protocol JSON check.
 *
 * The design is described in avro_proto.h. This file holds, in order: limits and errors; pack framing;
 * the cursor over a message's slices and its spill area; message decoding; message encoding; a small
 * bounded JSON reader and the protocol compatibility check; the handshake cache. The hot paths are
 * _read_long, _read_blob, _decode_event, _event_size and _put_event: they look at each byte once and
 * allocate only through relay_event_new() (decoding) or not at all (encoding).
 *
 * Threads: no mutable global state; objects belong to their caller's thread. Runs in: any thread. */
#include "avro_proto.h"

#include <string.h>
#include <event2/buffer.h>

#define RELAY_AVRO_PACK_HEADER_BYTES 8
#define RELAY_AVRO_SINGLE_PACK_OVERHEAD 12 /* serial, count 1, one length */
#define RELAY_AVRO_SPILL_BLOCK_BYTES 16384
#define RELAY_AVRO_MAX_NAME_BYTES 1024
#define RELAY_AVRO_MAX_ERROR_REPLY_BYTES (64 * 1024)
#define RELAY_AVRO_LEARNED_HASHES 32
#define RELAY_JSON_MAX_DEPTH 32

static const char _protocol_text[]
    = "{\"protocol\":\"AvroSourceProtocol\",\"namespace\":\"org.apache.flume.source.avro\",\"types\":["
      "{\"type\":\"enum\",\"name\":\"Status\",\"symbols\":[\"OK\",\"FAILED\",\"UNKNOWN\"]},"
      "{\"type\":\"record\",\"name\":\"AvroFlumeEvent\",\"fields\":["
      "{\"name\":\"headers\",\"type\":{\"type\":\"map\",\"values\":\"string\"}},"
      "{\"name\":\"body\",\"type\":\"bytes\"}]}],"
      "\"messages\":{"
      "\"append\":{\"request\":[{\"name\":\"event\",\"type\":\"AvroFlumeEvent\"}],\"response\":\"Status\"},"
      "\"appendBatch\":{\"request\":[{\"name\":\"events\",\"type\":{\"type\":\"array\",\"items\":"
      "\"AvroFlumeEvent\"}}],\"response\":\"Status\"}}}";

/* Protocol hashes known to be compatible: ours (MD5 of _protocol_text), then Flume's (the MD5 of the
 * protocol text Avro's Protocol.toString() makes of flume-ng-sdk/src/main/avro/flume.avdl, whose licence
 * comment becomes the protocol's doc string, as Avro 1.7.4 and 1.11 compile it). */
static const guint8 _known_hashes[][RELAY_AVRO_HASH_LEN] = {
  { 0x30, 0xda, 0x54, 0x05, 0x9d, 0xf7, 0x2d, 0x95, 0x84, 0xb8, 0x67, 0xd5, 0x20, 0x2e, 0x20, 0x69 },
  { 0x86, 0xaa, 0xda, 0xe2, 0xc4, 0x54, 0x74, 0xc0, 0xfe, 0x93, 0xff, 0xd0, 0xf2, 0x35, 0x0a, 0x65 },
  { 0x80, 0x76, 0xc5, 0x37, 0x14, 0xe0, 0x1f, 0x6e, 0x2c, 0x1d, 0xeb, 0x95, 0x44, 0xe7, 0xb1, 0xfe },
};

/* ---- limits and errors ---- */

void
relay_avro_limits_init(RelayAvroLimits *limits)
{
  limits->max_pack_bytes = RELAY_AVRO_DEFAULT_MAX_PACK_BYTES;
  limits->max_buffers = RELAY_AVRO_DEFAULT_MAX_BUFFERS;
  limits->max_batch_events = RELAY_AVRO_DEFAULT_MAX_BATCH_EVENTS;
  limits->max_headers = RELAY_AVRO_DEFAULT_MAX_HEADERS;
  limits->max_header_bytes = RELAY_AVRO_DEFAULT_MAX_HEADER_BYTES;
  limits->max_body_bytes = RELAY_AVRO_DEFAULT_MAX_BODY_BYTES;
  limits->max_text_bytes = RELAY_AVRO_DEFAULT_MAX_TEXT_BYTES;
}

static gboolean
_fail(RelayAvroError *err, const char *what, gint64 value, gint64 limit)
{
  err->what = what;
  err->value = value;
  err->limit = limit;
  return FALSE;
}

const char *
relay_avro_error_format(const RelayAvroError *err, char *buf, gsize size)
{
  gsize n = g_snprintf(buf, size, "%s", err->what ? err->what : "no error");

  if (err->value != RELAY_AVRO_NO_VALUE && n < size)
    n += g_snprintf(buf + n, size - n, " value=%" G_GINT64_FORMAT, err->value);
  if (err->limit != RELAY_AVRO_NO_VALUE && n < size)
    g_snprintf(buf + n, size - n, " limit=%" G_GINT64_FORMAT, err->limit);
  return buf;
}

const char *
relay_avro_status_name(RelayAvroStatus status)
{
  static const char *const names[] = { "OK", "FAILED", "UNKNOWN" };
  return (guint)status < G_N_ELEMENTS(names) ? names[status] : "invalid";
}

const char *
relay_avro_match_name(RelayAvroMatch match)
{
  static const char *const names[] = { "BOTH", "CLIENT", "NONE" };
  return (guint)match < G_N_ELEMENTS(names) ? names[match] : "invalid";
}

/* ---- pack framing ---- */

static inline guint32
_get_be32(const guint8 *p)
{
  return ((guint32)p[0] << 24) | ((guint32)p[1] << 16) | ((guint32)p[2] << 8) | (guint32)p[3];
}

static inline void
_put_be32(guint8 *p, guint32 v)
{
  p[0] = (guint8)(v >> 24);
  p[1] = (guint8)(v >> 16);
  p[2] = (guint8)(v >> 8);
  p[3] = (guint8)v;
}

void
relay_avro_frame_init(RelayAvroFrame *frame)
{
  memset(frame, 0, sizeof *frame);
  frame->_slices = g_array_new(FALSE, FALSE, sizeof(RelayAvroSlice));
}

void
relay_avro_frame_clear(RelayAvroFrame *frame)
{
  if (frame->_slices)
    g_array_free(frame->_slices, TRUE);
  memset(frame, 0, sizeof *frame);
}

void
relay_avro_frame_reset(RelayAvroFrame *frame)
{
  g_array_set_size(frame->_slices, 0);
  frame->slices = NULL;
  frame->n_slices = frame->n_buffers = 0;
  frame->message_len = frame->consumed = frame->need = 0;
  frame->_offset = 0;
  frame->_seen = 0;
  frame->_have_header = frame->_done = FALSE;
}

static RelayAvroResult
_frame_fail(RelayAvroFrame *frame, const char *what, gint64 value, gint64 limit)
{
  _fail(&frame->error, what, value, limit);
  frame->_done = TRUE; /* the next call starts over; the caller normally closes the connection */
  return RELAY_AVRO_ERROR;
}

static RelayAvroResult
_frame_need(RelayAvroFrame *frame, gsize need)
{
  frame->need = need;
  return RELAY_AVRO_NEED_MORE;
}

static RelayAvroResult
_frame_header(const guint8 *buf, const RelayAvroLimits *limits, RelayAvroFrame *frame)
{
  gint32 count = (gint32)_get_be32(buf + 4);
  guint64 min_size = RELAY_AVRO_PACK_HEADER_BYTES + 4 * (guint64)MAX(count, 0);

  frame->serial = (gint32)_get_be32(buf);
  if (count <= 0)
    return _frame_fail(frame, count == 0 ? "buffer count zero" : "buffer count negative", count,
                       RELAY_AVRO_NO_VALUE);
  if ((guint32)count > limits->max_buffers)
    return _frame_fail(frame, "buffer count above limit", count, limits->max_buffers);
  if (min_size > limits->max_pack_bytes)
    return _frame_fail(frame, "pack size above limit", (gint64)min_size, limits->max_pack_bytes);
  frame->n_buffers = (guint32)count;
  frame->_offset = RELAY_AVRO_PACK_HEADER_BYTES;
  frame->_have_header = TRUE;
  return RELAY_AVRO_OK;
}

/* Reads the length of buffer number _seen at _offset and moves _offset past its data (which need not have
 * arrived yet). The pack size counted includes the length fields still to come. */
static RelayAvroResult
_frame_buffer(const guint8 *buf, const RelayAvroLimits *limits, RelayAvroFrame *frame)
{
  gint32 len = (gint32)_get_be32(buf + frame->_offset);
  guint64 end = frame->_offset + 4 + (guint64)MAX(len, 0);
  guint64 pack_size = end + 4 * (guint64)(frame->n_buffers - frame->_seen - 1);

  if (len < 0)
    return _frame_fail(frame, "buffer length negative", len, RELAY_AVRO_NO_VALUE);
  if (pack_size > limits->max_pack_bytes)
    return _frame_fail(frame, "pack size above limit", (gint64)pack_size, limits->max_pack_bytes);
  if (len > 0)
    {
      RelayAvroSlice slice = { NULL, (guint32)len, (guint32)(frame->_offset + 4) };
      g_array_append_val(frame->_slices, slice);
    }
  frame->message_len += (gsize)len;
  frame->_offset = (gsize)end;
  frame->_seen++;
  return RELAY_AVRO_OK;
}

static RelayAvroResult
_frame_complete(const guint8 *buf, RelayAvroFrame *frame)
{
  RelayAvroSlice *slices = (RelayAvroSlice *)frame->_slices->data;

  for (guint i = 0; i < frame->_slices->len; i++)
    slices[i].data = buf + slices[i].offset;
  frame->slices = slices;
  frame->n_slices = frame->_slices->len;
  frame->consumed = frame->_offset;
  frame->need = 0;
  frame->_done = TRUE;
  return RELAY_AVRO_OK;
}

RelayAvroResult
relay_avro_frame_parse(const guint8 *buf, gsize len, const RelayAvroLimits *limits, RelayAvroFrame *frame)
{
  if (frame->_done)
    relay_avro_frame_reset(frame);
  if (!frame->_have_header)
    {
      if (len < RELAY_AVRO_PACK_HEADER_BYTES)
        return _frame_need(frame, RELAY_AVRO_PACK_HEADER_BYTES);
      if (_frame_header(buf, limits, frame) != RELAY_AVRO_OK)
        return RELAY_AVRO_ERROR;
    }
  while (frame->_seen < frame->n_buffers)
    {
      if (len < frame->_offset + 4)
        return _frame_need(frame, frame->_offset + 4);
      if (_frame_buffer(buf, limits, frame) != RELAY_AVRO_OK)
        return RELAY_AVRO_ERROR;
    }
  if (len < frame->_offset)
    return _frame_need(frame, frame->_offset);
  return _frame_complete(buf, frame);
}

static guint8 *
_grow(GByteArray *out, gsize size)
{
  guint old = out->len;

  g_byte_array_set_size(out, old + (guint)size);
  return out->data + old;
}

void
relay_avro_pack_append(GByteArray *out, gint32 serial, const RelayAvroSlice *buffers, guint n)
{
  gsize size = RELAY_AVRO_PACK_HEADER_BYTES;

  g_return_if_fail(n >= 1);
  for (guint i = 0; i < n; i++)
    size += 4 + buffers[i].len;
  guint8 *p = _grow(out, size);
  _put_be32(p, (guint32)serial);
  _put_be32(p + 4, n);
  p += RELAY_AVRO_PACK_HEADER_BYTES;
  for (guint i = 0; i < n; i++)
    {
      _put_be32(p, buffers[i].len);
      if (buffers[i].len)
        memcpy(p + 4, buffers[i].data, buffers[i].len);
      p += 4 + buffers[i].len;
    }
}

/* ---- cursor over a message's slices, spill area ---- */

typedef struct
{
  const RelayAvroSlice *slices;
  guint n_slices;
  guint next;        /* next slice to load */
  const guint8 *p;   /* read position in the current slice */
  const guint8 *end; /* end of the current slice */
  gsize rest;        /* bytes in slices[next..] */
} RelayAvroCursor;

/* Strings that straddle slices are gathered here; released per event (mark/release) and per message. */
typedef struct
{
  guint8 *block; /* RELAY_AVRO_SPILL_BLOCK_BYTES, allocated on first use */
  gsize used;
  GPtrArray *large; /* strings that do not fit the block, one allocation each */
} RelayAvroSpill;

typedef struct
{
  gsize used;
  guint n_large;
} RelayAvroSpillMark;

struct _RelayAvroDecoder
{
  RelayAvroLimits limits;
  RelayAvroCursor cur;
  RelayAvroSpill spill;
  RelayHeader *headers; /* borrowed key/value slices of the event being decoded */
  guint headers_cap;
  RelayAvroError error;
};

static gboolean
_cursor_fill(RelayAvroCursor *c)
{
  while (c->p == c->end && c->next < c->n_slices)
    {
      const RelayAvroSlice *s = &c->slices[c->next++];
      c->p = s->data;
      c->end = s->data + s->len;
      c->rest -= s->len;
    }
  return c->p < c->end;
}

static inline gsize
_cursor_remaining(const RelayAvroCursor *c)
{
  return (gsize)(c->end - c->p) + c->rest;
}

/* Copies (dst != NULL) or skips len bytes; the caller checked len <= _cursor_remaining(). */
static void
_cursor_take(RelayAvroCursor *c, guint8 *dst, gsize len)
{
  while (len > 0)
    {
      _cursor_fill(c);
      gsize n = MIN(len, (gsize)(c->end - c->p));
      if (dst)
        {
          memcpy(dst, c->p, n);
          dst += n;
        }
      c->p += n;
      len -= n;
    }
}

static guint8 *
_spill_alloc(RelayAvroSpill *spill, gsize len)
{
  if (len <= RELAY_AVRO_SPILL_BLOCK_BYTES - spill->used)
    {
      if (!spill->block)
        spill->block = g_malloc(RELAY_AVRO_SPILL_BLOCK_BYTES);
      spill->used += len;
      return spill->block + spill->used - len;
    }
  guint8 *p = g_malloc(len);
  g_ptr_array_add(spill->large, p);
  return p;
}

static inline RelayAvroSpillMark
_spill_mark(const RelayAvroSpill *spill)
{
  RelayAvroSpillMark mark = { spill->used, spill->large->len };
  return mark;
}

static inline void
_spill_release(RelayAvroSpill *spill, RelayAvroSpillMark mark)
{
  spill->used = mark.used;
  if (spill->large->len > mark.n_large)
    g_ptr_array_set_size(spill->large, mark.n_large);
}

/* ---- message decoding ---- */

RelayAvroDecoder *
relay_avro_decoder_new(const RelayAvroLimits *limits)
{
  RelayAvroDecoder *self = g_new0(RelayAvroDecoder, 1);

  self->limits = *limits;
  self->limits.max_headers = MIN(self->limits.max_headers, RELAY_EVENT_MAX_HEADERS);
  self->limits.max_body_bytes = MIN(self->limits.max_body_bytes, RELAY_EVENT_MAX_BODY);
  self->spill.large = g_ptr_array_new_with_free_func(g_free);
  return self;
}

void
relay_avro_decoder_free(RelayAvroDecoder *self)
{
  if (!self)
    return;
  g_free(self->spill.block);
  g_ptr_array_free(self->spill.large, TRUE);
  g_free(self->headers);
  g_free(self);
}

void
relay_avro_decoder_begin(RelayAvroDecoder *self, const RelayAvroSlice *slices, guint n_slices)
{
  RelayAvroCursor *c = &self->cur;
  RelayAvroSpillMark empty = { 0, 0 };

  c->slices = slices;
  c->n_slices = n_slices;
  c->next = 0;
  c->p = c->end = NULL;
  c->rest = 0;
  for (guint i = 0; i < n_slices; i++)
    c->rest += slices[i].len;
  _spill_release(&self->spill, empty);
  _fail(&self->error, NULL, RELAY_AVRO_NO_VALUE, RELAY_AVRO_NO_VALUE);
}

gsize
relay_avro_decoder_remaining(const RelayAvroDecoder *self)
{
  return _cursor_remaining(&self->cur);
}

const RelayAvroError *
relay_avro_decoder_error(const RelayAvroDecoder *self)
{
  return &self->error;
}

static gboolean
_derr(RelayAvroDecoder *self, const char *what, gint64 value, gint64 limit)
{
  return _fail(&self->error, what, value, limit);
}

static gboolean
_read_byte(RelayAvroDecoder *self, guint8 *out)
{
  if (!_cursor_fill(&self->cur))
    return _derr(self, "message truncated", RELAY_AVRO_NO_VALUE, RELAY_AVRO_NO_VALUE);
  *out = *self->cur.p++;
  return TRUE;
}

static inline gint64
_unzigzag(guint64 u)
{
  return (gint64)(u >> 1) ^ -(gint64)(u & 1);
}

static inline guint64
_zigzag(gint64 v)
{
  return ((guint64)v << 1) ^ (guint64)(v >> 63);
}

/* A varint of at most 10 bytes, the 10th holding only bit 63. */
static gboolean
_read_long_slow(RelayAvroDecoder *self, gint64 *out)
{
  guint64 acc = 0;

  for (guint shift = 0; shift <= 63; shift += 7)
    {
      guint8 b;
      if (!_read_byte(self, &b))
        return FALSE;
      if (shift == 63 && b > 1)
        break;
      acc |= (guint64)(b & 0x7f) << shift;
      if (!(b & 0x80))
        {
          *out = _unzigzag(acc);
          return TRUE;
        }
    }
  return _derr(self, "varint longer than 64 bits", RELAY_AVRO_NO_VALUE, RELAY_AVRO_NO_VALUE);
}

/* The common cases without per-byte bounds checks: one byte, or 10 bytes left in the slice. */
static inline gboolean
_read_long(RelayAvroDecoder *self, gint64 *out)
{
  RelayAvroCursor *c = &self->cur;

  if (G_LIKELY(c->p < c->end && *c->p < 0x80))
    {
      *out = _unzigzag(*c->p++);
      return TRUE;
    }
  if (G_UNLIKELY(c->end - c->p < 10))
    return _read_long_slow(self, out);
  const guint8 *p = c->p;
  guint64 acc = 0;
  for (guint shift = 0; shift < 63; shift += 7)
    {
      guint8 b = *p++;
      acc |= (guint64)(b & 0x7f) << shift;
      if (!(b & 0x80))
        {
          c->p = p;
          *out = _unzigzag(acc);
          return TRUE;
        }
    }
  return _read_long_slow(self, out); /* 10th byte: let the careful path check it */
}

static gboolean
_read_blob_spanning(RelayAvroDecoder *self, gsize len, const guint8 **out)
{
  RelayAvroCursor *c = &self->cur;

  if (len > _cursor_remaining(c))
    return _derr(self, "message truncated", (gint64)len, (gint64)_cursor_remaining(c));
  _cursor_fill(c);
  if (len <= (gsize)(c->end - c->p))
    {
      *out = c->p;
      c->p += len;
      return TRUE;
    }
  guint8 *dst = _spill_alloc(&self->spill, len);
  _cursor_take(c, dst, len);
  *out = dst;
  return TRUE;
}

/* An Avro string or bytes: borrowed from the slice (or the spill area when it straddles slices). The
 * first branch is the common short string (a 1-byte length, data in the same slice). */
static inline gboolean
_read_blob(RelayAvroDecoder *self, guint32 limit, const char *what, const guint8 **out, guint32 *out_len)
{
  RelayAvroCursor *c = &self->cur;
  gint64 len;

  if (G_LIKELY(c->p < c->end && (*c->p & 0x81) == 0))
    {
      gsize short_len = *c->p >> 1;
      if (G_LIKELY(short_len <= limit && short_len < (gsize)(c->end - c->p)))
        {
          *out = c->p + 1;
          *out_len = (guint32)short_len;
          c->p += 1 + short_len;
          return TRUE;
        }
    }
  if (!_read_long(self, &len))
    return FALSE;
  if (G_UNLIKELY(len < 0 || len > (gint64)limit))
    return _derr(self, what, len, limit);
  *out_len = (guint32)len;
  if (G_LIKELY(len <= c->end - c->p))
    {
      *out = c->p;
      c->p += len;
      return TRUE;
    }
  return _read_blob_spanning(self, (gsize)len, out);
}

static gboolean
_skip_blob(RelayAvroDecoder *self, guint32 limit, const char *what)
{
  gint64 len;

  if (!_read_long(self, &len))
    return FALSE;
  if (len < 0 || len > (gint64)limit)
    return _derr(self, what, len, limit);
  if ((gsize)len > _cursor_remaining(&self->cur))
    return _derr(self, "message truncated", len, (gint64)_cursor_remaining(&self->cur));
  _cursor_take(&self->cur, NULL, (gsize)len);
  return TRUE;
}

static gboolean
_read_fixed(RelayAvroDecoder *self, guint8 *dst, gsize len)
{
  if (len > _cursor_remaining(&self->cur))
    return _derr(self, "message truncated", (gint64)len, (gint64)_cursor_remaining(&self->cur));
  _cursor_take(&self->cur, dst, len);
  return TRUE;
}

/* An enum symbol or union branch index in [0, n). */
static gboolean
_read_index(RelayAvroDecoder *self, gint64 n, const char *what, gint64 *out)
{
  if (!_read_long(self, out))
    return FALSE;
  if (*out < 0 || *out >= n)
    return _derr(self, what, *out, n - 1);
  return TRUE;
}

/* A map/array block count; a negative count is followed by the block's byte size, which is not needed. */
static inline gboolean
_read_block_count(RelayAvroDecoder *self, guint64 *count)
{
  gint64 n, size;

  if (!_read_long(self, &n))
    return FALSE;
  if (n >= 0)
    {
      *count = (guint64)n;
      return TRUE;
    }
  if (n == G_MININT64)
    return _derr(self, "block count out of range", n, RELAY_AVRO_NO_VALUE);
  if (!_read_long(self, &size))
    return FALSE;
  if (size < 0)
    return _derr(self, "block byte size negative", size, RELAY_AVRO_NO_VALUE);
  *count = (guint64)-n;
  return TRUE;
}

/* Before allocating for a block: so_far + count within limit, and each item's minimal encoding
 * (min_bytes) present in the message. */
static gboolean
_check_block(RelayAvroDecoder *self, guint64 count, guint64 so_far, guint32 limit, gsize min_bytes,
             const char *what)
{
  if (count > limit - so_far)
    return _derr(self, what, (gint64)MIN(so_far + count, (guint64)G_MAXINT64), limit);
  if (count * min_bytes > _cursor_remaining(&self->cur))
    return _derr(self, "block count beyond message end", (gint64)count,
                 (gint64)_cursor_remaining(&self->cur));
  return TRUE;
}

static gboolean
_skip_metadata(RelayAvroDecoder *self)
{
  guint64 count, total = 0;

  for (;;)
    {
      if (!_read_block_count(self, &count))
        return FALSE;
      if (count == 0)
        return TRUE;
      if (!_check_block(self, count, total, self->limits.max_headers, 2, "metadata entries above limit"))
        return FALSE;
      total += count;
      for (guint64 i = 0; i < count; i++)
        if (!_skip_blob(self, self->limits.max_header_bytes, "metadata key length out of range")
            || !_skip_blob(self, self->limits.max_header_bytes, "metadata value length out of range"))
          return FALSE;
    }
}

/* union [null, map<bytes>] */
static gboolean
_skip_optional_metadata(RelayAvroDecoder *self)
{
  gint64 branch;

  if (!_read_index(self, 2, "handshake meta union branch out of range", &branch))
    return FALSE;
  return branch == 0 || _skip_metadata(self);
}

/* union [null, string], limited to max_text_bytes */
static gboolean
_read_optional_text(RelayAvroDecoder *self, const char *what, const char **text, gsize *len)
{
  const guint8 *data;
  guint32 data_len;
  gint64 branch;

  *text = NULL;
  *len = 0;
  if (!_read_index(self, 2, "handshake union branch out of range", &branch))
    return FALSE;
  if (branch == 0)
    return TRUE;
  if (!_read_blob(self, self->limits.max_text_bytes, what, &data, &data_len))
    return FALSE;
  *text = (const char *)data;
  *len = data_len;
  return TRUE;
}

RelayAvroResult
relay_avro_decode_handshake_request(RelayAvroDecoder *self, RelayAvroHandshakeRequest *out)
{
  memset(out, 0, sizeof *out);
  if (!_read_fixed(self, out->client_hash, RELAY_AVRO_HASH_LEN)
      || !_read_optional_text(self, "client protocol length out of range", &out->client_protocol,
                              &out->client_protocol_len)
      || !_read_fixed(self, out->server_hash, RELAY_AVRO_HASH_LEN) || !_skip_optional_metadata(self))
    return RELAY_AVRO_ERROR;
  return RELAY_AVRO_OK;
}

static gboolean
_decode_handshake_response(RelayAvroDecoder *self, RelayAvroHandshakeResponse *out)
{
  gint64 match, branch;

  memset(out, 0, sizeof *out);
  if (!_read_index(self, 3, "handshake match out of range", &match)
      || !_read_optional_text(self, "server protocol length out of range", &out->server_protocol,
                              &out->server_protocol_len)
      || !_read_index(self, 2, "handshake union branch out of range", &branch))
    return FALSE;
  out->match = (RelayAvroMatch)match;
  out->has_server_hash = branch == 1;
  if (out->has_server_hash && !_read_fixed(self, out->server_hash, RELAY_AVRO_HASH_LEN))
    return FALSE;
  return _skip_optional_metadata(self);
}

static RelayAvroMessage
_classify_message(const guint8 *name, gsize len)
{
  if (len == 0)
    return RELAY_AVRO_MSG_PING;
  if (len == 6 && memcmp(name, "append", 6) == 0)
    return RELAY_AVRO_MSG_APPEND;
  if (len == 11 && memcmp(name, "appendBatch", 11) == 0)
    return RELAY_AVRO_MSG_APPEND_BATCH;
  return RELAY_AVRO_MSG_UNKNOWN;
}

RelayAvroResult
relay_avro_decode_call(RelayAvroDecoder *self, RelayAvroCall *out)
{
  const guint8 *name;
  guint32 len;

  if (!_skip_metadata(self)
      || !_read_blob(self, RELAY_AVRO_MAX_NAME_BYTES, "message name length out of range", &name, &len))
    return RELAY_AVRO_ERROR;
  out->name = (const char *)name;
  out->name_len = len;
  out->message = _classify_message(name, len);
  return RELAY_AVRO_OK;
}

static void
_reserve_headers(RelayAvroDecoder *self, guint n)
{
  if (n <= self->headers_cap)
    return;
  self->headers_cap = MIN(MAX(n, self->headers_cap * 2), self->limits.max_headers);
  self->headers = g_renew(RelayHeader, self->headers, self->headers_cap);
}

/* map<string>: borrowed key/value slices into self->headers. */
static gboolean
_decode_headers(RelayAvroDecoder *self, guint *n_headers)
{
  guint64 count;
  guint n = 0;

  for (;;)
    {
      if (!_read_block_count(self, &count))
        return FALSE;
      if (count == 0)
        break;
      if (!_check_block(self, count, n, self->limits.max_headers, 2, "headers per event above limit"))
        return FALSE;
      _reserve_headers(self, n + (guint)count);
      for (guint end = n + (guint)count; n < end; n++)
        {
          RelayHeader *h = &self->headers[n];
          const guint8 *key, *value;
          if (!_read_blob(self, self->limits.max_header_bytes, "header key length out of range", &key,
                          &h->key_len)
              || !_read_blob(self, self->limits.max_header_bytes, "header value length out of range", &value,
                             &h->value_len))
            return FALSE;
          h->key = (const char *)key;
          h->value = (const char *)value;
        }
    }
  *n_headers = n;
  return TRUE;
}

/* One AvroFlumeEvent {map<string> headers; bytes body;}: one copy, into the new event. */
static gboolean
_decode_event(RelayAvroDecoder *self, GPtrArray *events)
{
  RelayAvroSpillMark mark = _spill_mark(&self->spill);
  const guint8 *body;
  guint32 body_len;
  guint n_headers;

  if (!_decode_headers(self, &n_headers)
      || !_read_blob(self, self->limits.max_body_bytes, "body length out of range", &body, &body_len))
    return FALSE;
  g_ptr_array_add(events, relay_event_new(self->headers, n_headers, body, body_len));
  _spill_release(&self->spill, mark);
  return TRUE;
}

static gboolean
_decode_batch(RelayAvroDecoder *self, GPtrArray *events)
{
  guint64 count, total = 0;

  for (;;)
    {
      if (!_read_block_count(self, &count))
        return FALSE;
      if (count == 0)
        return TRUE;
      if (!_check_block(self, count, total, self->limits.max_batch_events, 2, "events per batch above limit"))
        return FALSE;
      total += count;
      for (guint64 i = 0; i < count; i++)
        if (!_decode_event(self, events))
          return FALSE;
    }
}

RelayAvroResult
relay_avro_decode_events(RelayAvroDecoder *self, RelayAvroMessage message, GPtrArray *events)
{
  guint orig_len = events->len;
  gboolean ok;

  if (message == RELAY_AVRO_MSG_APPEND)
    ok = _decode_event(self, events);
  else if (message == RELAY_AVRO_MSG_APPEND_BATCH)
    ok = _decode_batch(self, events);
  else
    ok = _derr(self, "message carries no events", message, RELAY_AVRO_NO_VALUE);
  if (ok && relay_avro_decoder_remaining(self) != 0)
    ok = _derr(self, "trailing bytes after parameters", (gint64)relay_avro_decoder_remaining(self),
               RELAY_AVRO_NO_VALUE);
  if (ok)
    return RELAY_AVRO_OK;
  g_ptr_array_set_size(events, orig_len);
  return RELAY_AVRO_ERROR;
}

/* Response body after the metadata: error flag, then Status or union ["string"]. */
static gboolean
_decode_result(RelayAvroDecoder *self, RelayAvroResponse *out)
{
  const guint8 *text;
  guint32 text_len;
  gint64 value;
  guint8 flag;

  if (!_read_byte(self, &flag))
    return FALSE;
  if (flag > 1)
    return _derr(self, "error flag not a boolean", flag, RELAY_AVRO_NO_VALUE);
  out->is_error = flag == 1;
  if (!out->is_error)
    {
      if (!_read_index(self, 3, "status out of range", &value))
        return FALSE;
      out->status = (RelayAvroStatus)value;
      return TRUE;
    }
  if (!_read_index(self, 1, "error union branch out of range", &value)
      || !_read_blob(self, self->limits.max_text_bytes, "error text length out of range", &text, &text_len))
    return FALSE;
  out->error = (const char *)text;
  out->error_len = text_len;
  return TRUE;
}

RelayAvroResult
relay_avro_decode_response(RelayAvroDecoder *self, gboolean expect_handshake, RelayAvroResponse *out)
{
  memset(out, 0, sizeof *out);
  if (expect_handshake)
    {
      if (!_decode_handshake_response(self, &out->handshake))
        return RELAY_AVRO_ERROR;
      out->has_handshake = TRUE;
    }
  if (relay_avro_decoder_remaining(self) == 0)
    return RELAY_AVRO_OK;
  out->has_result = TRUE;
  if (!_skip_metadata(self) || !_decode_result(self, out))
    return RELAY_AVRO_ERROR;
  if (relay_avro_decoder_remaining(self) != 0)
    {
      _derr(self, "trailing bytes after response", (gint64)relay_avro_decoder_remaining(self),
            RELAY_AVRO_NO_VALUE);
      return RELAY_AVRO_ERROR;
    }
  return RELAY_AVRO_OK;
}

/* ---- message encoding: sizes first, then one pass of writes into reserved space ---- */

static inline gsize
_long_size(gint64 v)
{
  guint64 u = _zigzag(v);
  gsize n = 1;

  while (u >= 0x80)
    {
      u >>= 7;
      n++;
    }
  return n;
}

static inline guint8 *
_put_long(guint8 *p, gint64 v)
{
  guint64 u = _zigzag(v);

  while (u >= 0x80)
    {
      *p++ = (guint8)(u | 0x80);
      u >>= 7;
    }
  *p++ = (guint8)u;
  return p;
}

static inline guint8 *
_put_blob(guint8 *p, const void *data, gsize len)
{
  p = _put_long(p, (gint64)len);
  if (len)
    memcpy(p, data, len);
  return p + len;
}

static inline gsize
_blob_size(gsize len)
{
  return _long_size((gint64)len) + len;
}

static gsize
_event_size(const RelayEvent *ev)
{
  gsize size = _blob_size(ev->body_len) + 1;

  if (ev->n_headers)
    size += _long_size(ev->n_headers);
  for (guint32 i = 0; i < ev->n_headers; i++)
    size += _blob_size(ev->headers[i].key_len) + _blob_size(ev->headers[i].value_len);
  return size;
}

static guint8 *
_put_event(guint8 *p, const RelayEvent *ev)
{
  if (ev->n_headers)
    p = _put_long(p, ev->n_headers);
  for (guint32 i = 0; i < ev->n_headers; i++)
    {
      p = _put_blob(p, ev->headers[i].key, ev->headers[i].key_len);
      p = _put_blob(p, ev->headers[i].value, ev->headers[i].value_len);
    }
  *p++ = 0; /* end of the headers map */
  return _put_blob(p, ev->body, ev->body_len);
}

static gsize
_handshake_request_size(const RelayAvroHandshakeRequest *hs)
{
  gsize text = hs->client_protocol ? _blob_size(hs->client_protocol_len) : 0;
  return RELAY_AVRO_HASH_LEN + 1 + text + RELAY_AVRO_HASH_LEN + 1;
}

static guint8 *
_put_handshake_request(guint8 *p, const RelayAvroHandshakeRequest *hs)
{
  memcpy(p, hs->client_hash, RELAY_AVRO_HASH_LEN);
  p += RELAY_AVRO_HASH_LEN;
  *p++ = hs->client_protocol ? 2 : 0; /* union [null, string] */
  if (hs->client_protocol)
    p = _put_blob(p, hs->client_protocol, hs->client_protocol_len);
  memcpy(p, hs->server_hash, RELAY_AVRO_HASH_LEN);
  p += RELAY_AVRO_HASH_LEN;
  *p++ = 0; /* meta: null */
  return p;
}

static gsize
_handshake_response_size(const RelayAvroHandshakeResponse *hs)
{
  gsize text = hs->server_protocol ? _blob_size(hs->server_protocol_len) : 0;
  return 1 + 1 + text + 1 + (hs->has_server_hash ? RELAY_AVRO_HASH_LEN : 0) + 1;
}

static guint8 *
_put_handshake_response(guint8 *p, const RelayAvroHandshakeResponse *hs)
{
  p = _put_long(p, hs->match);
  *p++ = hs->server_protocol ? 2 : 0;
  if (hs->server_protocol)
    p = _put_blob(p, hs->server_protocol, hs->server_protocol_len);
  *p++ = hs->has_server_hash ? 2 : 0;
  if (hs->has_server_hash)
    {
      memcpy(p, hs->server_hash, RELAY_AVRO_HASH_LEN);
      p += RELAY_AVRO_HASH_LEN;
    }
  *p++ = 0; /* meta: null */
  return p;
}

static guint8 *
_put_single_pack_header(guint8 *p, gint32 serial, gsize message_len)
{
  _put_be32(p, (guint32)serial);
  _put_be32(p + 4, 1);
  _put_be32(p + 8, (guint32)message_len);
  return p + RELAY_AVRO_SINGLE_PACK_OVERHEAD;
}

static guint8 *
_reply_begin(GByteArray *out, gint32 serial, const RelayAvroHandshakeResponse *hs, gsize body_len)
{
  gsize message_len = (hs ? _handshake_response_size(hs) : 0) + body_len;
  guint8 *p = _put_single_pack_header(_grow(out, RELAY_AVRO_SINGLE_PACK_OVERHEAD + message_len), serial,
                                      message_len);

  return hs ? _put_handshake_response(p, hs) : p;
}

void
relay_avro_encode_status_reply(GByteArray *out, gint32 serial, const RelayAvroHandshakeResponse *handshake,
                               RelayAvroStatus status)
{
  guint8 *p = _reply_begin(out, serial, handshake, 3);

  p[0] = 0;                         /* metadata: empty map */
  p[1] = 0;                         /* error flag: false */
  _put_long(p + 2, (gint64)status); /* Status enum index */
}

void
relay_avro_encode_error_reply(GByteArray *out, gint32 serial, const RelayAvroHandshakeResponse *handshake,
                              const char *message)
{
  gsize len = strnlen(message, RELAY_AVRO_MAX_ERROR_REPLY_BYTES);

  if (len == RELAY_AVRO_MAX_ERROR_REPLY_BYTES)
    while (len > 0 && ((guchar)message[len] & 0xc0) == 0x80)
      len--; /* cut before a UTF-8 continuation byte, not inside a sequence */
  guint8 *p = _reply_begin(out, serial, handshake, 3 + _blob_size(len));
  *p++ = 0; /* metadata: empty map */
  *p++ = 1; /* error flag: true */
  *p++ = 0; /* union ["string"] branch 0 */
  _put_blob(p, message, len);
}

void
relay_avro_encode_handshake_reply(GByteArray *out, gint32 serial, const RelayAvroHandshakeResponse *handshake)
{
  _reply_begin(out, serial, handshake, 0);
}

static const char *
_message_name(RelayAvroMessage message, gsize *len)
{
  const char *name = message == RELAY_AVRO_MSG_APPEND         ? "append"
                     : message == RELAY_AVRO_MSG_APPEND_BATCH ? "appendBatch"
                                                              : "";
  *len = strlen(name);
  return name;
}

static gsize
_request_size(const RelayAvroHandshakeRequest *hs, RelayAvroMessage message, RelayEvent *const *events,
              guint n_events)
{
  gsize name_len, size = (hs ? _handshake_request_size(hs) : 0) + 1; /* + empty metadata */

  _message_name(message, &name_len);
  size += _blob_size(name_len);
  if (message == RELAY_AVRO_MSG_APPEND_BATCH)
    size += 1 + (n_events ? _long_size(n_events) : 0); /* block count + end of array */
  for (guint i = 0; i < n_events; i++)
    size += _event_size(events[i]);
  return size;
}

static void
_put_request(guint8 *p, gsize message_len, gint32 serial, const RelayAvroHandshakeRequest *hs,
             RelayAvroMessage message, RelayEvent *const *events, guint n_events)
{
  guint8 *end = p + RELAY_AVRO_SINGLE_PACK_OVERHEAD + message_len;
  gsize name_len;
  const char *name = _message_name(message, &name_len);

  p = _put_single_pack_header(p, serial, message_len);
  if (hs)
    p = _put_handshake_request(p, hs);
  *p++ = 0; /* metadata: empty map */
  p = _put_blob(p, name, name_len);
  if (message == RELAY_AVRO_MSG_APPEND_BATCH && n_events)
    p = _put_long(p, n_events);
  for (guint i = 0; i < n_events; i++)
    p = _put_event(p, events[i]);
  if (message == RELAY_AVRO_MSG_APPEND_BATCH)
    *p++ = 0; /* end of the array */
  g_assert(p == end);
}

static gboolean
_request_args_ok(RelayAvroMessage message, guint n_events)
{
  return (message == RELAY_AVRO_MSG_APPEND && n_events == 1) || message == RELAY_AVRO_MSG_APPEND_BATCH
         || (message == RELAY_AVRO_MSG_PING && n_events == 0);
}

gboolean
relay_avro_encode_request(GByteArray *out, gint32 serial, const RelayAvroHandshakeRequest *handshake,
                          RelayAvroMessage message, RelayEvent *const *events, guint n_events)
{
  g_return_val_if_fail(_request_args_ok(message, n_events), FALSE);
  gsize len = _request_size(handshake, message, events, n_events);

  if (len > G_MAXINT32 - RELAY_AVRO_SINGLE_PACK_OVERHEAD)
    return FALSE;
  _put_request(_grow(out, RELAY_AVRO_SINGLE_PACK_OVERHEAD + len), len, serial, handshake, message, events,
               n_events);
  return TRUE;
}

gboolean
relay_avro_encode_request_evbuffer(struct evbuffer *out, gint32 serial,
                                   const RelayAvroHandshakeRequest *handshake, RelayAvroMessage message,
                                   RelayEvent *const *events, guint n_events)
{
  g_return_val_if_fail(_request_args_ok(message, n_events), FALSE);
  gsize len = _request_size(handshake, message, events, n_events);
  struct evbuffer_iovec vec;

  if (len > G_MAXINT32 - RELAY_AVRO_SINGLE_PACK_OVERHEAD
      || evbuffer_reserve_space(out, (ev_ssize_t)(RELAY_AVRO_SINGLE_PACK_OVERHEAD + len), &vec, 1) != 1)
    return FALSE;
  _put_request(vec.iov_base, len, serial, handshake, message, events, n_events);
  vec.iov_len = RELAY_AVRO_SINGLE_PACK_OVERHEAD + len;
  return evbuffer_commit_space(out, &vec, 1) == 0;
}

/* ---- a small JSON reader (a DOM of indices, bounded depth; only what the protocol check needs) ---- */

typedef enum
{
  RELAY_JSON_NONE = 0, /* node 0: "absent"; every accessor accepts it */
  RELAY_JSON_NULL,
  RELAY_JSON_FALSE,
  RELAY_JSON_TRUE,
  RELAY_JSON_NUMBER,
  RELAY_JSON_STRING,
  RELAY_JSON_ARRAY,
  RELAY_JSON_OBJECT,
} RelayJsonType;

typedef struct
{
  RelayJsonType type;
  guint32 child; /* first element or member */
  guint32 next;  /* next sibling */
  guint32 key;   /* member name (offset in strings), members of objects only */
  guint32 str;   /* string value (offset in strings) */
  guint32 str_len;
} RelayJsonNode;

typedef struct
{
  GArray *nodes;    /* RelayJsonNode; index 0 is the absent node */
  GString *strings; /* decoded strings, each followed by a NUL */
  const char *p;
  const char *end;
  guint depth;
} RelayJson;

static guint32 _json_value(RelayJson *j);

static inline RelayJsonNode *
_jn(RelayJson *j, guint32 i)
{
  return &g_array_index(j->nodes, RelayJsonNode, i);
}

static guint32
_json_node(RelayJson *j, RelayJsonType type)
{
  g_array_set_size(j->nodes, j->nodes->len + 1);
  _jn(j, j->nodes->len - 1)->type = type;
  return j->nodes->len - 1;
}

static void
_json_ws(RelayJson *j)
{
  while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
    j->p++;
}

static gboolean
_json_hex4(RelayJson *j, gunichar *out)
{
  *out = 0;
  if (j->end - j->p < 4)
    return FALSE;
  for (int i = 0; i < 4; i++)
    {
      int digit = g_ascii_xdigit_value(*j->p++);
      if (digit < 0)
        return FALSE;
      *out = (*out << 4) | (gunichar)digit;
    }
  return TRUE;
}

/* After "\u": one code point, or a surrogate pair, appended as UTF-8. */
static gboolean
_json_unicode(RelayJson *j)
{
  gunichar cp, low;

  if (!_json_hex4(j, &cp) || (cp >= 0xdc00 && cp <= 0xdfff))
    return FALSE;
  if (cp >= 0xd800 && cp <= 0xdbff)
    {
      if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
        return FALSE;
      j->p += 2;
      if (!_json_hex4(j, &low) || low < 0xdc00 || low > 0xdfff)
        return FALSE;
      cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
    }
  g_string_append_unichar(j->strings, cp);
  return TRUE;
}

static gboolean
_json_escape(RelayJson *j)
{
  static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";

  if (j->p >= j->end)
    return FALSE;
  char c = *j->p++;
  if (c == 'u')
    return _json_unicode(j);
  const char *hit = c ? strchr(from, c) : NULL;
  if (!hit)
    return FALSE;
  g_string_append_c(j->strings, to[hit - from]);
  return TRUE;
}

/* At the opening quote: decodes the string into j->strings. */
static gboolean
_json_string(RelayJson *j, guint32 *off, guint32 *len)
{
  *off = (guint32)j->strings->len;
  for (j->p++; j->p < j->end && *j->p != '"';)
    {
      guchar c = (guchar)*j->p++;
      if (c < 0x20)
        return FALSE;
      if (c != '\\')
        g_string_append_c(j->strings, (char)c);
      else if (!_json_escape(j))
        return FALSE;
    }
  if (j->p >= j->end)
    return FALSE;
  j->p++;
  *len = (guint32)j->strings->len - *off;
  g_string_append_c(j->strings, '\0');
  return TRUE;
}

static gboolean
_json_member_key(RelayJson *j, guint32 *key)
{
  guint32 len;

  _json_ws(j);
  if (j->p >= j->end || *j->p != '"' || !_json_string(j, key, &len))
    return FALSE;
  _json_ws(j);
  if (j->p >= j->end || *j->p != ':')
    return FALSE;
  j->p++;
  return TRUE;
}

static guint32
_json_container(RelayJson *j, RelayJsonType type)
{
  const char close = type == RELAY_JSON_OBJECT ? '}' : ']';
  guint32 self, last = 0, key = 0;

  if (++j->depth > RELAY_JSON_MAX_DEPTH)
    return 0;
  self = _json_node(j, type);
  j->p++;
  _json_ws(j);
  if (j->p < j->end && *j->p == close)
    j->p++;
  else
    for (;;)
      {
        if (type == RELAY_JSON_OBJECT && !_json_member_key(j, &key))
          return 0;
        guint32 child = _json_value(j);
        if (!child)
          return 0;
        _jn(j, child)->key = key;
        if (last)
          _jn(j, last)->next = child;
        else
          _jn(j, self)->child = child;
        last = child;
        _json_ws(j);
        char c = j->p < j->end ? *j->p++ : '\0';
        if (c == close)
          break;
        if (c != ',')
          return 0;
      }
  j->depth--;
  return self;
}

static guint32
_json_scalar(RelayJson *j)
{
  static const struct
  {
    const char *text;
    RelayJsonType type;
  } literals[] = { { "null", RELAY_JSON_NULL }, { "false", RELAY_JSON_FALSE }, { "true", RELAY_JSON_TRUE } };
  const char *start = j->p;

  for (guint i = 0; i < G_N_ELEMENTS(literals); i++)
    {
      gsize len = strlen(literals[i].text);
      if ((gsize)(j->end - j->p) >= len && memcmp(j->p, literals[i].text, len) == 0)
        {
          j->p += len;
          return _json_node(j, literals[i].type);
        }
    }
  while (j->p < j->end && *j->p && strchr("0123456789+-.eE", *j->p))
    j->p++;
  return j->p > start ? _json_node(j, RELAY_JSON_NUMBER) : 0;
}

static guint32
_json_value(RelayJson *j)
{
  guint32 node, off, len;

  _json_ws(j);
  if (j->p >= j->end)
    return 0;
  if (*j->p == '{')
    return _json_container(j, RELAY_JSON_OBJECT);
  if (*j->p == '[')
    return _json_container(j, RELAY_JSON_ARRAY);
  if (*j->p != '"')
    return _json_scalar(j);
  if (!_json_string(j, &off, &len))
    return 0;
  node = _json_node(j, RELAY_JSON_STRING);
  _jn(j, node)->str = off;
  _jn(j, node)->str_len = len;
  return node;
}

/* Returns the root node, or 0 if text is not one well-formed JSON value. */
static guint32
_json_parse(RelayJson *j, const char *text, gsize len)
{
  j->nodes = g_array_new(FALSE, TRUE, sizeof(RelayJsonNode));
  g_array_set_size(j->nodes, 1);
  j->strings = g_string_sized_new(len + 1);
  j->p = text;
  j->end = text + len;
  j->depth = 0;
  guint32 root = _json_value(j);
  _json_ws(j);
  return root && j->p == j->end ? root : 0;
}

static void
_json_free(RelayJson *j)
{
  g_array_free(j->nodes, TRUE);
  g_string_free(j->strings, TRUE);
}

static const char *
_jtext(RelayJson *j, guint32 off)
{
  return j->strings->str + off;
}

static guint32
_jget(RelayJson *j, guint32 obj, const char *key)
{
  if (_jn(j, obj)->type != RELAY_JSON_OBJECT)
    return 0;
  for (guint32 c = _jn(j, obj)->child; c; c = _jn(j, c)->next)
    if (strcmp(_jtext(j, _jn(j, c)->key), key) == 0)
      return c;
  return 0;
}

static guint32
_jindex(RelayJson *j, guint32 array, guint index)
{
  if (_jn(j, array)->type != RELAY_JSON_ARRAY)
    return 0;
  guint32 c = _jn(j, array)->child;
  for (; c && index > 0; index--)
    c = _jn(j, c)->next;
  return c;
}

static guint
_jcount(RelayJson *j, guint32 array)
{
  guint n = 0;

  if (_jn(j, array)->type == RELAY_JSON_ARRAY)
    for (guint32 c = _jn(j, array)->child; c; c = _jn(j, c)->next)
      n++;
  return n;
}

/* node is a string equal to text */
static gboolean
_jis(RelayJson *j, guint32 node, const char *text)
{
  RelayJsonNode *n = _jn(j, node);
  return n->type == RELAY_JSON_STRING && n->str_len == strlen(text)
         && memcmp(_jtext(j, n->str), text, n->str_len) == 0;
}

/* ---- protocol compatibility check ---- */

static const char *
_simple_name(const char *name)
{
  const char *dot = strrchr(name, '.');
  return dot ? dot + 1 : name;
}

/* node is a named-type definition whose simple name is name */
static gboolean
_jnamed(RelayJson *j, guint32 node, const char *name)
{
  guint32 type = _jget(j, node, "type"), n = _jget(j, node, "name");

  return (_jis(j, type, "record") || _jis(j, type, "error") || _jis(j, type, "enum")
          || _jis(j, type, "fixed"))
         && _jn(j, n)->type == RELAY_JSON_STRING
         && strcmp(_simple_name(_jtext(j, _jn(j, n)->str)), name) == 0;
}

/* A type reference by name resolves to its definition anywhere in the document (matched by simple name);
 * anything else is returned as is. */
static guint32
_jresolve(RelayJson *j, guint32 type)
{
  static const char *const primitives[]
      = { "null", "boolean", "int", "long", "float", "double", "bytes", "string" };

  if (_jn(j, type)->type != RELAY_JSON_STRING)
    return type;
  for (guint i = 0; i < G_N_ELEMENTS(primitives); i++)
    if (_jis(j, type, primitives[i]))
      return type;
  const char *name = _simple_name(_jtext(j, _jn(j, type)->str));
  for (guint32 i = 1; i < j->nodes->len; i++)
    if (_jn(j, i)->type == RELAY_JSON_OBJECT && _jnamed(j, i, name))
      return i;
  return 0;
}

/* "name" or {"type": "name", ...} (e.g. with "avro.java.string") */
static gboolean
_jis_primitive(RelayJson *j, guint32 type, const char *name)
{
  if (_jn(j, type)->type == RELAY_JSON_OBJECT)
    type = _jget(j, type, "type");
  return _jis(j, type, name);
}

static gboolean
_jis_field(RelayJson *j, guint32 field, const char *name)
{
  return _jis(j, _jget(j, field, "name"), name);
}

static gboolean
_jis_event_record(RelayJson *j, guint32 type)
{
  guint32 record = _jresolve(j, type);
  guint32 fields = _jget(j, record, "fields");
  guint32 headers = _jindex(j, fields, 0), body = _jindex(j, fields, 1);
  guint32 map = _jget(j, headers, "type");

  return _jis(j, _jget(j, record, "type"), "record") && _jnamed(j, record, "AvroFlumeEvent")
         && _jcount(j, fields) == 2 && _jis_field(j, headers, "headers")
         && _jis(j, _jget(j, map, "type"), "map") && _jis_primitive(j, _jget(j, map, "values"), "string")
         && _jis_field(j, body, "body") && _jis_primitive(j, _jget(j, body, "type"), "bytes");
}

static gboolean
_jis_status_enum(RelayJson *j, guint32 type)
{
  guint32 status = _jresolve(j, type);
  guint32 symbols = _jget(j, status, "symbols");

  return _jis(j, _jget(j, status, "type"), "enum") && _jnamed(j, status, "Status")
         && _jis(j, _jindex(j, symbols, 0), "OK") && _jis(j, _jindex(j, symbols, 1), "FAILED");
}

/* NULL if message (append, or appendBatch when batch) has our signature, else why not. */
static const char *
_jcheck_message(RelayJson *j, guint32 message, gboolean batch)
{
  guint32 request = _jget(j, message, "request");
  guint32 type = _jget(j, _jindex(j, request, 0), "type");

  if (_jn(j, _jget(j, message, "one-way"))->type == RELAY_JSON_TRUE)
    return batch ? "message appendBatch is one-way" : "message append is one-way";
  if (!_jis_status_enum(j, _jget(j, message, "response")))
    return batch ? "message appendBatch: response is not enum Status {OK, FAILED, ...}"
                 : "message append: response is not enum Status {OK, FAILED, ...}";
  if (batch && _jcount(j, request) == 1 && _jis(j, _jget(j, type, "type"), "array")
      && _jis_event_record(j, _jget(j, type, "items")))
    return NULL;
  if (!batch && _jcount(j, request) == 1 && _jis_event_record(j, type))
    return NULL;
  return batch
             ? "message appendBatch: request is not (array<AvroFlumeEvent {map<string> headers; bytes body}>)"
             : "message append: request is not (AvroFlumeEvent {map<string> headers; bytes body})";
}

static gboolean
_jis_our_protocol_name(RelayJson *j, guint32 root)
{
  guint32 name = _jget(j, root, "protocol");
  const char *text = _jn(j, name)->type == RELAY_JSON_STRING ? _jtext(j, _jn(j, name)->str) : "";

  if (strchr(text, '.'))
    return strcmp(text, "org.apache.flume.source.avro.AvroSourceProtocol") == 0;
  return strcmp(text, "AvroSourceProtocol") == 0
         && _jis(j, _jget(j, root, "namespace"), "org.apache.flume.source.avro");
}

static const char *
_jcheck_protocol(RelayJson *j, guint32 root)
{
  guint32 messages = _jget(j, root, "messages");
  guint32 append = _jget(j, messages, "append"), batch = _jget(j, messages, "appendBatch");
  const char *why = NULL;

  if (!_jis_our_protocol_name(j, root))
    return "protocol is not org.apache.flume.source.avro.AvroSourceProtocol";
  if (!append && !batch)
    return "protocol has neither append nor appendBatch";
  if (append)
    why = _jcheck_message(j, append, FALSE);
  if (!why && batch)
    why = _jcheck_message(j, batch, TRUE);
  return why;
}

gboolean
relay_avro_protocol_check(const char *text, gsize len, RelayAvroError *err)
{
  RelayJson j;
  guint32 root = _json_parse(&j, text, len);
  const char *why = root ? _jcheck_protocol(&j, root) : "protocol text is not valid JSON";

  _json_free(&j);
  if (why)
    return _fail(err, why, RELAY_AVRO_NO_VALUE, RELAY_AVRO_NO_VALUE);
  return TRUE;
}

/* ---- handshake ---- */

struct _RelayAvroHandshakeCache
{
  guint8 learned[RELAY_AVRO_LEARNED_HASHES][RELAY_AVRO_HASH_LEN];
  guint n_learned;
  guint next; /* ring position of the next learned hash */
};

const char *
relay_avro_protocol_text(gsize *len)
{
  if (len)
    *len = sizeof _protocol_text - 1;
  return _protocol_text;
}

const guint8 *
relay_avro_protocol_hash(void)
{
  return _known_hashes[0];
}

RelayAvroHandshakeCache *
relay_avro_handshake_cache_new(void)
{
  return g_new0(RelayAvroHandshakeCache, 1);
}

void
relay_avro_handshake_cache_free(RelayAvroHandshakeCache *self)
{
  g_free(self);
}

static gboolean
_cache_knows(const RelayAvroHandshakeCache *self, const guint8 *hash)
{
  for (guint i = 0; i < G_N_ELEMENTS(_known_hashes); i++)
    if (memcmp(_known_hashes[i], hash, RELAY_AVRO_HASH_LEN) == 0)
      return TRUE;
  for (guint i = 0; i < self->n_learned; i++)
    if (memcmp(self->learned[i], hash, RELAY_AVRO_HASH_LEN) == 0)
      return TRUE;
  return FALSE;
}

/* Learns hash only if it really is the MD5 of text, so a client cannot vouch for another's hash. */
static void
_cache_learn(RelayAvroHandshakeCache *self, const guint8 *hash, const char *text, gsize len)
{
  GChecksum *md5 = g_checksum_new(G_CHECKSUM_MD5);
  guint8 digest[RELAY_AVRO_HASH_LEN];
  gsize digest_len = sizeof digest;

  g_checksum_update(md5, (const guchar *)text, (gssize)len);
  g_checksum_get_digest(md5, digest, &digest_len);
  g_checksum_free(md5);
  if (memcmp(digest, hash, RELAY_AVRO_HASH_LEN) != 0)
    return;
  memcpy(self->learned[self->next], hash, RELAY_AVRO_HASH_LEN);
  self->next = (self->next + 1) % RELAY_AVRO_LEARNED_HASHES;
  self->n_learned = MIN(self->n_learned + 1, RELAY_AVRO_LEARNED_HASHES);
}

RelayAvroResult
relay_avro_handshake_resolve(RelayAvroHandshakeCache *self, const RelayAvroHandshakeRequest *request,
                             RelayAvroHandshakeResponse *reply, RelayAvroError *err)
{
  gboolean known = _cache_knows(self, request->client_hash);

  if (!known && request->client_protocol)
    {
      if (!relay_avro_protocol_check(request->client_protocol, request->client_protocol_len, err))
        return RELAY_AVRO_ERROR;
      _cache_learn(self, request->client_hash, request->client_protocol, request->client_protocol_len);
      known = TRUE;
    }
  memset(reply, 0, sizeof *reply);
  if (known && memcmp(request->server_hash, relay_avro_protocol_hash(), RELAY_AVRO_HASH_LEN) == 0)
    {
      reply->match = RELAY_AVRO_MATCH_BOTH;
      return RELAY_AVRO_OK;
    }
  reply->match = known ? RELAY_AVRO_MATCH_CLIENT : RELAY_AVRO_MATCH_NONE;
  reply->server_protocol = relay_avro_protocol_text(&reply->server_protocol_len);
  reply->has_server_hash = TRUE;
  memcpy(reply->server_hash, relay_avro_protocol_hash(), RELAY_AVRO_HASH_LEN);
  return RELAY_AVRO_OK;
}

void
relay_avro_handshake_request_init(RelayAvroHandshakeRequest *request, const guint8 *server_hash,
                                  gboolean with_protocol)
{
  memset(request, 0, sizeof *request);
  memcpy(request->client_hash, relay_avro_protocol_hash(), RELAY_AVRO_HASH_LEN);
  memcpy(request->server_hash, server_hash ? server_hash : relay_avro_protocol_hash(), RELAY_AVRO_HASH_LEN);
  if (with_protocol)
    request->client_protocol = relay_avro_protocol_text(&request->client_protocol_len);
}

gboolean
relay_avro_handshake_check_response(const RelayAvroHandshakeResponse *response, RelayAvroError *err)
{
  if (response->match == RELAY_AVRO_MATCH_BOTH || !response->server_protocol)
    return TRUE;
  return relay_avro_protocol_check(response->server_protocol, response->server_protocol_len, err);
}

/* ---- one AvroFlumeEvent as a bare Avro datum (issue 18) ---- */

gsize
relay_avro_event_datum_size(const RelayEvent *ev)
{
  return _event_size(ev);
}

guint8 *
relay_avro_event_datum_put(guint8 *out, const RelayEvent *ev)
{
  return _put_event(out, ev);
}

RelayEvent *
relay_avro_event_datum_decode(RelayAvroDecoder *self, const guint8 *data, gsize len, RelayAvroError *err)
{
  RelayAvroSlice slice = { .data = data, .len = (guint32)len, .offset = 0 };
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func(relay_event_unref_notify);

  if (len > G_MAXUINT32)
    {
      _fail(err, "datum too large", (gint64)len, G_MAXUINT32);
      return NULL;
    }
  relay_avro_decoder_begin(self, &slice, len ? 1 : 0);
  if (!_decode_event(self, events))
    {
      *err = *relay_avro_decoder_error(self);
      return NULL;
    }
  if (relay_avro_decoder_remaining(self) != 0)
    {
      _fail(err, "trailing bytes after the event", (gint64)relay_avro_decoder_remaining(self),
            RELAY_AVRO_NO_VALUE);
      return NULL;
    }
  return relay_event_ref(g_ptr_array_index(events, 0));
}
