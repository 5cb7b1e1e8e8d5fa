/* thrift_proto.c - Flume's Thrift RPC codec: framing, compact and binary protocols, calls and replies.
 *
 * Our own implementation of the parts of the Thrift compact and binary protocols that Flume's
 * ThriftSourceProtocol needs (flume-ng-sdk/src/main/thrift/flume.thrift), written for relayd's data path
 * instead of going through c_glib's GObject protocol stack: decoding reads the frame in place and builds each
 * RelayEvent with one copy (relay_event_new from borrowed slices); encoding computes the exact message size
 * first and writes into one pre-sized GByteArray region. The unit tests check it byte for byte against
 * c_glib's protocols.
 *
 * Decoding uses a _Reader (cursor over one message, effective limits, first error). Wire types are mapped to
 * the binary protocol's type numbers (_T_*) so that both protocols share the struct/skip logic; only the
 * primitive readers and writers switch on the protocol. Each element of any container takes at least one
 * byte, so a count above the bytes left is rejected at once and skipping costs O(message bytes); nesting is
 * bounded by limits.max_depth. Nothing here allocates before the size it allocates for has been checked.
 *
 * Threads: no shared state; every function may run on any thread. */
#include "thrift_proto.h"

#include <string.h>

/* Wire types, numbered as in the binary protocol. */
enum
{
  _T_STOP = 0,
  _T_BOOL = 2,
  _T_BYTE = 3,
  _T_DOUBLE = 4,
  _T_I16 = 6,
  _T_I32 = 8,
  _T_I64 = 10,
  _T_STRING = 11,
  _T_STRUCT = 12,
  _T_MAP = 13,
  _T_SET = 14,
  _T_LIST = 15,
  _T_UUID = 16,
  _T_INVALID = 255,
};

#define _COMPACT_PROTOCOL_ID 0x82
#define _COMPACT_VERSION 1
#define _BINARY_VERSION_1 0x80010000u
#define _BINARY_VERSION_MASK 0xffff0000u

static const char _APPEND[] = "append";
static const char _APPEND_BATCH[] = "appendBatch";

/* ---- names and defaults ---- */

gboolean
relay_thrift_protocol_parse(const char *text, RelayThriftProtocol *protocol)
{
  if (g_ascii_strcasecmp(text, "compact") == 0)
    *protocol = RELAY_THRIFT_COMPACT;
  else if (g_ascii_strcasecmp(text, "binary") == 0)
    *protocol = RELAY_THRIFT_BINARY;
  else
    return FALSE;
  return TRUE;
}

const char *
relay_thrift_protocol_name(RelayThriftProtocol protocol)
{
  return protocol == RELAY_THRIFT_BINARY ? "binary" : "compact";
}

const char *
relay_thrift_result_name(RelayThriftResult result)
{
  switch (result)
    {
    case RELAY_THRIFT_OK:
      return "ok";
    case RELAY_THRIFT_NEED_MORE:
      return "need-more";
    case RELAY_THRIFT_ERROR:
      return "error";
    case RELAY_THRIFT_UNKNOWN_METHOD:
      return "unknown-method";
    }
  return "?";
}

const char *
relay_thrift_method_name(RelayThriftMethod method)
{
  switch (method)
    {
    case RELAY_THRIFT_METHOD_APPEND:
      return _APPEND;
    case RELAY_THRIFT_METHOD_APPEND_BATCH:
      return _APPEND_BATCH;
    case RELAY_THRIFT_METHOD_UNKNOWN:
      break;
    }
  return NULL;
}

static RelayThriftMethod
_method_from_name(const guint8 *name, gsize len)
{
  if (len == sizeof _APPEND - 1 && memcmp(name, _APPEND, len) == 0)
    return RELAY_THRIFT_METHOD_APPEND;
  if (len == sizeof _APPEND_BATCH - 1 && memcmp(name, _APPEND_BATCH, len) == 0)
    return RELAY_THRIFT_METHOD_APPEND_BATCH;
  return RELAY_THRIFT_METHOD_UNKNOWN;
}

void
relay_thrift_limits_init(RelayThriftLimits *limits)
{
  limits->max_frame = RELAY_THRIFT_DEFAULT_MAX_FRAME;
  limits->max_events = 100000;
  limits->max_headers = 1024;
  limits->max_string = 1024 * 1024;
  limits->max_body = RELAY_THRIFT_DEFAULT_MAX_FRAME;
  limits->max_depth = 64;
}

/* ---- framing ---- */

static void
_set_error(RelayThriftError *err, const char *reason, gint64 value, gint64 limit, gsize offset)
{
  if (!err)
    return;
  err->reason = reason;
  err->value = value;
  err->limit = limit;
  err->offset = offset;
}

static guint32
_get_be32(const guint8 *p)
{
  return ((guint32)p[0] << 24) | ((guint32)p[1] << 16) | ((guint32)p[2] << 8) | (guint32)p[3];
}

/* Checks the 4-byte length prefix; the only decision taken before a frame is buffered. */
static gboolean
_check_frame_len(const guint8 *prefix, guint32 max_frame, guint32 *frame_len, RelayThriftError *err)
{
  gint32 size = (gint32)_get_be32(prefix);

  if (size == 0)
    _set_error(err, "frame size 0", 0, max_frame, 0);
  else if (size < 0)
    _set_error(err, "negative frame size", size, max_frame, 0);
  else if ((guint32)size > max_frame)
    _set_error(err, "frame size above limit", size, max_frame, 0);
  else
    {
      *frame_len = (guint32)size;
      return TRUE;
    }
  return FALSE;
}

RelayThriftResult
relay_thrift_frame_peek(const guint8 *data, gsize len, guint32 max_frame, guint32 *frame_len,
                        RelayThriftError *err)
{
  *frame_len = 0;
  if (len < RELAY_THRIFT_FRAME_HEADER)
    return RELAY_THRIFT_NEED_MORE;
  if (!_check_frame_len(data, max_frame, frame_len, err))
    return RELAY_THRIFT_ERROR;
  return len - RELAY_THRIFT_FRAME_HEADER >= *frame_len ? RELAY_THRIFT_OK : RELAY_THRIFT_NEED_MORE;
}

void
relay_thrift_frame_reader_init(RelayThriftFrameReader *self, guint32 max_frame)
{
  memset(self, 0, sizeof *self);
  self->max_frame = max_frame;
}

void
relay_thrift_frame_reader_clear(RelayThriftFrameReader *self)
{
  g_clear_pointer(&self->frame, g_free);
  self->prefix_have = 0;
  self->frame_len = 0;
  self->frame_have = 0;
  self->complete = FALSE;
}

RelayThriftResult
relay_thrift_frame_reader_feed(RelayThriftFrameReader *self, const guint8 *data, gsize len, gsize *consumed,
                               RelayThriftError *err)
{
  gsize used = 0;

  if (self->complete)
    relay_thrift_frame_reader_clear(self);
  while (self->prefix_have < RELAY_THRIFT_FRAME_HEADER && used < len)
    self->prefix[self->prefix_have++] = data[used++];
  *consumed = used;
  if (self->prefix_have < RELAY_THRIFT_FRAME_HEADER)
    return RELAY_THRIFT_NEED_MORE;
  if (!self->frame)
    {
      if (!_check_frame_len(self->prefix, self->max_frame, &self->frame_len, err))
        return RELAY_THRIFT_ERROR;
      self->frame = g_malloc(self->frame_len);
    }
  gsize take = MIN(len - used, (gsize)(self->frame_len - self->frame_have));
  if (take)
    memcpy(self->frame + self->frame_have, data + used, take);
  self->frame_have += (guint32)take;
  *consumed = used + take;
  if (self->frame_have < self->frame_len)
    return RELAY_THRIFT_NEED_MORE;
  self->complete = TRUE;
  return RELAY_THRIFT_OK;
}

/* ---- reading primitives ---- */

typedef struct
{
  const guint8 *start;
  const guint8 *pos;
  const guint8 *end;
  RelayThriftProtocol protocol;
  RelayThriftLimits limits; /* effective: clamped to what RelayEvent can hold */
  RelayThriftError *err;    /* the caller's, or local_err */
  RelayThriftError local_err;
} _Reader;

static void
_reader_init(_Reader *r, RelayThriftProtocol protocol, const guint8 *msg, gsize len,
             const RelayThriftLimits *limits, RelayThriftError *err)
{
  r->start = r->pos = msg;
  r->end = msg + len;
  r->protocol = protocol;
  if (limits)
    r->limits = *limits;
  else
    relay_thrift_limits_init(&r->limits);
  r->limits.max_headers = MIN(r->limits.max_headers, RELAY_EVENT_MAX_HEADERS);
  r->limits.max_body = MIN(r->limits.max_body, RELAY_EVENT_MAX_BODY);
  r->err = err ? err : &r->local_err;
  _set_error(r->err, NULL, -1, -1, 0);
}

static gboolean
_fail(_Reader *r, const char *reason, gint64 value, gint64 limit)
{
  _set_error(r->err, reason, value, limit, (gsize)(r->pos - r->start));
  return FALSE;
}

static gsize
_remaining(const _Reader *r)
{
  return (gsize)(r->end - r->pos);
}

static gboolean
_truncated(_Reader *r, gint64 wanted)
{
  return _fail(r, "truncated message", wanted, (gint64)_remaining(r));
}

static gboolean
_advance(_Reader *r, gsize n)
{
  if (_remaining(r) < n)
    return _truncated(r, (gint64)n);
  r->pos += n;
  return TRUE;
}

static gboolean
_read_u8(_Reader *r, guint8 *out)
{
  if (r->pos == r->end)
    return _truncated(r, 1);
  *out = *r->pos++;
  return TRUE;
}

static gboolean
_read_be16(_Reader *r, guint16 *out)
{
  if (_remaining(r) < 2)
    return _truncated(r, 2);
  *out = (guint16)((r->pos[0] << 8) | r->pos[1]);
  r->pos += 2;
  return TRUE;
}

static gboolean
_read_be32(_Reader *r, guint32 *out)
{
  if (_remaining(r) < 4)
    return _truncated(r, 4);
  *out = _get_be32(r->pos);
  r->pos += 4;
  return TRUE;
}

/* Compact protocol varint (little-endian groups of 7 bits), at most max_bytes long. */
static gboolean
_read_varint(_Reader *r, guint max_bytes, guint64 *out)
{
  guint64 value = 0;

  for (guint i = 0; i < max_bytes; i++)
    {
      if (r->pos == r->end)
        return _truncated(r, 1);
      guint8 b = *r->pos++;
      value |= (guint64)(b & 0x7f) << (7 * i);
      if (!(b & 0x80))
        {
          *out = value;
          return TRUE;
        }
    }
  return _fail(r, "varint too long", max_bytes, max_bytes);
}

static gint32
_unzigzag32(guint32 v)
{
  return (gint32)((v >> 1) ^ (0u - (v & 1)));
}

static gboolean
_read_i32(_Reader *r, gint32 *out)
{
  guint64 v;
  guint32 u;

  if (r->protocol == RELAY_THRIFT_BINARY)
    {
      if (!_read_be32(r, &u))
        return FALSE;
      *out = (gint32)u;
      return TRUE;
    }
  if (!_read_varint(r, 5, &v))
    return FALSE;
  *out = _unzigzag32((guint32)v);
  return TRUE;
}

/* A size or length: a varint (compact) or an i32 (binary); negative values are errors. */
static gboolean
_read_size(_Reader *r, guint32 *out)
{
  guint64 v;
  guint32 u;

  if (r->protocol == RELAY_THRIFT_BINARY)
    {
      if (!_read_be32(r, &u))
        return FALSE;
      v = u;
    }
  else if (!_read_varint(r, 5, &v))
    return FALSE;
  if (v > G_MAXINT32)
    return _fail(r, "negative size", (gint32)(guint32)v, -1);
  *out = (guint32)v;
  return TRUE;
}

/* Reads a string/binary: the length is checked against limit (reason names it), then against the bytes left.
 */
static gboolean
_read_bytes(_Reader *r, guint32 limit, const char *reason, const guint8 **data, guint32 *len)
{
  if (!_read_size(r, len))
    return FALSE;
  if (*len > limit)
    return _fail(r, reason, *len, limit);
  *data = r->pos;
  return _advance(r, *len);
}

/* ---- reading structure ---- */

static guint8
_from_compact_type(guint8 code)
{
  static const guint8 map[16] = {
    _T_STOP,   _T_BOOL, _T_BOOL, _T_BYTE, _T_I16,    _T_I32,  _T_I64,     _T_DOUBLE,
    _T_STRING, _T_LIST, _T_SET,  _T_MAP,  _T_STRUCT, _T_UUID, _T_INVALID, _T_INVALID,
  };
  return map[code & 0x0f];
}

/* Reads a field header; *type is _T_STOP at the end of a struct. In the compact protocol a bool field carries
 * its value in the header (so it has no payload, see _skip_field) and ids are deltas from *last_id. */
static gboolean
_read_field_begin(_Reader *r, gint16 *last_id, guint8 *type, gint16 *id)
{
  guint8 b;
  guint16 u;
  guint64 v;

  if (!_read_u8(r, &b))
    return FALSE;
  if (r->protocol == RELAY_THRIFT_BINARY)
    {
      *type = b;
      if (b == _T_STOP)
        return TRUE;
      if (!_read_be16(r, &u))
        return FALSE;
      *id = (gint16)u;
      return TRUE;
    }
  *type = _from_compact_type(b);
  if (*type == _T_STOP)
    return TRUE;
  if (*type == _T_INVALID)
    return _fail(r, "unknown field type", b & 0x0f, -1);
  if (b >> 4)
    *id = (gint16)(*last_id + (b >> 4));
  else if (_read_varint(r, 3, &v))
    *id = (gint16)_unzigzag32((guint32)v);
  else
    return FALSE;
  *last_id = *id;
  return TRUE;
}

static gboolean
_read_map_begin(_Reader *r, guint8 *key_type, guint8 *value_type, guint32 *size)
{
  guint8 b;

  if (r->protocol == RELAY_THRIFT_BINARY)
    return _read_u8(r, key_type) && _read_u8(r, value_type) && _read_size(r, size);
  if (!_read_size(r, size))
    return FALSE;
  *key_type = *value_type = _T_STOP; /* an empty compact map has no type byte */
  if (*size == 0)
    return TRUE;
  if (!_read_u8(r, &b))
    return FALSE;
  *key_type = _from_compact_type(b >> 4);
  *value_type = _from_compact_type(b);
  return TRUE;
}

static gboolean
_read_list_begin(_Reader *r, guint8 *elem_type, guint32 *size)
{
  guint8 b;
  guint64 v;

  if (r->protocol == RELAY_THRIFT_BINARY)
    return _read_u8(r, elem_type) && _read_size(r, size);
  if (!_read_u8(r, &b))
    return FALSE;
  *elem_type = _from_compact_type(b);
  *size = b >> 4;
  if (*size != 15)
    return TRUE;
  if (!_read_varint(r, 5, &v))
    return FALSE;
  if (v > G_MAXINT32)
    return _fail(r, "negative size", (gint32)(guint32)v, -1);
  *size = (guint32)v;
  return TRUE;
}

/* Reads a message header; the name is borrowed from the message. */
static gboolean
_read_message_begin(_Reader *r, const guint8 **name, guint32 *name_len, guint8 *type, gint32 *seqid)
{
  guint8 b;
  guint32 word;
  guint64 v;

  if (r->protocol == RELAY_THRIFT_COMPACT)
    {
      if (!_read_u8(r, &b))
        return FALSE;
      if (b != _COMPACT_PROTOCOL_ID)
        return _fail(r, "not a compact protocol message", b, _COMPACT_PROTOCOL_ID);
      if (!_read_u8(r, &b))
        return FALSE;
      if ((b & 0x1f) != _COMPACT_VERSION)
        return _fail(r, "unsupported compact protocol version", b & 0x1f, _COMPACT_VERSION);
      *type = b >> 5;
      if (!_read_varint(r, 5, &v))
        return FALSE;
      *seqid = (gint32)(guint32)v;
      return _read_bytes(r, RELAY_THRIFT_MAX_METHOD_NAME, "method name too long", name, name_len);
    }
  if (!_read_be32(r, &word))
    return FALSE;
  if (word & 0x80000000u)
    {
      if ((word & _BINARY_VERSION_MASK) != _BINARY_VERSION_1)
        return _fail(r, "not a binary protocol message", (gint32)word, (gint32)_BINARY_VERSION_1);
      *type = word & 0xff;
      return _read_bytes(r, RELAY_THRIFT_MAX_METHOD_NAME, "method name too long", name, name_len)
             && _read_be32(r, (guint32 *)seqid);
    }
  /* Old non-strict binary header: name length, name, type byte, seqid (Java servers accept it too). */
  if (word > RELAY_THRIFT_MAX_METHOD_NAME)
    return _fail(r, "method name too long", word, RELAY_THRIFT_MAX_METHOD_NAME);
  *name = r->pos;
  *name_len = word;
  return _advance(r, word) && _read_u8(r, type) && _read_be32(r, (guint32 *)seqid);
}

static gboolean _skip(_Reader *r, guint8 type, guint depth);

/* Skips a field's value (a compact bool field has none). */
static gboolean
_skip_field(_Reader *r, guint8 type, guint depth)
{
  if (type == _T_BOOL && r->protocol == RELAY_THRIFT_COMPACT)
    return TRUE;
  return _skip(r, type, depth);
}

static gboolean
_skip_struct(_Reader *r, guint depth)
{
  gint16 last_id = 0, id = 0;
  guint8 type;

  for (;;)
    {
      if (!_read_field_begin(r, &last_id, &type, &id))
        return FALSE;
      if (type == _T_STOP)
        return TRUE;
      if (!_skip_field(r, type, depth + 1))
        return FALSE;
    }
}

/* Every element takes at least one byte, so a count above the bytes left cannot be valid. */
static gboolean
_check_count(_Reader *r, guint32 count, guint32 min_bytes)
{
  if ((guint64)count * min_bytes > _remaining(r))
    return _truncated(r, (gint64)count * min_bytes);
  return TRUE;
}

static gboolean
_skip_container(_Reader *r, guint8 type, guint depth)
{
  guint8 key_type = _T_STOP, elem_type;
  guint32 size;

  if (type == _T_MAP ? !_read_map_begin(r, &key_type, &elem_type, &size)
                     : !_read_list_begin(r, &elem_type, &size))
    return FALSE;
  if (!_check_count(r, size, type == _T_MAP ? 2 : 1))
    return FALSE;
  for (guint32 i = 0; i < size; i++)
    {
      if (type == _T_MAP && !_skip(r, key_type, depth + 1))
        return FALSE;
      if (!_skip(r, elem_type, depth + 1))
        return FALSE;
    }
  return TRUE;
}

static gboolean
_skip_int(_Reader *r, guint binary_size, guint varint_max)
{
  guint64 v;

  if (r->protocol == RELAY_THRIFT_BINARY)
    return _advance(r, binary_size);
  return _read_varint(r, varint_max, &v);
}

/* Skips one value of the given type (inside a container, or a field's payload). */
static gboolean
_skip(_Reader *r, guint8 type, guint depth)
{
  const guint8 *data;
  guint32 len;

  if (depth > r->limits.max_depth)
    return _fail(r, "nesting too deep", depth, r->limits.max_depth);
  switch (type)
    {
    case _T_BOOL:
    case _T_BYTE:
      return _advance(r, 1);
    case _T_I16:
      return _skip_int(r, 2, 3);
    case _T_I32:
      return _skip_int(r, 4, 5);
    case _T_I64:
      return _skip_int(r, 8, 10);
    case _T_DOUBLE:
      return _advance(r, 8);
    case _T_UUID:
      return _advance(r, 16);
    case _T_STRING:
      return _read_bytes(r, G_MAXINT32, "string too long", &data, &len);
    case _T_STRUCT:
      return _skip_struct(r, depth);
    case _T_MAP:
    case _T_SET:
    case _T_LIST:
      return _skip_container(r, type, depth);
    default:
      return _fail(r, "unknown field type", type, -1);
    }
}

static gboolean
_expect_end(_Reader *r)
{
  if (r->pos != r->end)
    return _fail(r, "trailing bytes after message", (gint64)_remaining(r), 0);
  return TRUE;
}

/* ---- server side: decoding calls ---- */

/* Borrowed header slices of the event being decoded; one buffer per call, grown as needed. */
typedef struct
{
  RelayHeader *headers;
  guint32 capacity;
} _HeaderScratch;

static gboolean
_read_headers(_Reader *r, _HeaderScratch *scratch, guint32 *n_headers)
{
  guint8 key_type, value_type;
  guint32 size;
  const guint8 *key, *value;

  if (!_read_map_begin(r, &key_type, &value_type, &size))
    return FALSE;
  if (size > r->limits.max_headers)
    return _fail(r, "too many headers", size, r->limits.max_headers);
  if (size && (key_type != _T_STRING || value_type != _T_STRING))
    return _fail(r, "headers are not a map<string,string>", (key_type << 8) | value_type, -1);
  if (!_check_count(r, size, r->protocol == RELAY_THRIFT_BINARY ? 8 : 2))
    return FALSE;
  if (size > scratch->capacity)
    {
      scratch->capacity = MAX(size, scratch->capacity * 2);
      scratch->headers = g_renew(RelayHeader, scratch->headers, scratch->capacity);
    }
  for (guint32 i = 0; i < size; i++)
    {
      RelayHeader *h = &scratch->headers[i];
      if (!_read_bytes(r, r->limits.max_string, "header length above limit", &key, &h->key_len)
          || !_read_bytes(r, r->limits.max_string, "header length above limit", &value, &h->value_len))
        return FALSE;
      h->key = (const char *)key;
      h->value = (const char *)value;
    }
  *n_headers = size;
  return TRUE;
}

/* Decodes one ThriftFlumeEvent struct and appends the new event to events. */
static gboolean
_read_event(_Reader *r, _HeaderScratch *scratch, guint depth, GPtrArray *events)
{
  gint16 last_id = 0, id = 0;
  guint8 type;
  guint32 n_headers = 0, body_len = 0;
  const guint8 *body = NULL;
  gboolean have_headers = FALSE, have_body = FALSE;

  if (depth > r->limits.max_depth)
    return _fail(r, "nesting too deep", depth, r->limits.max_depth);
  for (;;)
    {
      if (!_read_field_begin(r, &last_id, &type, &id))
        return FALSE;
      if (type == _T_STOP)
        break;
      gboolean ok;
      if (id == 1 && type == _T_MAP)
        ok = have_headers = _read_headers(r, scratch, &n_headers);
      else if (id == 2 && type == _T_STRING)
        ok = have_body = _read_bytes(r, r->limits.max_body, "body length above limit", &body, &body_len);
      else
        ok = _skip_field(r, type, depth + 1);
      if (!ok)
        return FALSE;
    }
  if (!have_headers || !have_body)
    return _fail(r, "required event field missing", have_headers ? 2 : 1, -1);
  g_ptr_array_add(events, relay_event_new(scratch->headers, n_headers, body, body_len));
  return TRUE;
}

static gboolean
_read_event_list(_Reader *r, _HeaderScratch *scratch, GPtrArray **events)
{
  guint8 elem_type;
  guint32 size;

  if (!_read_list_begin(r, &elem_type, &size))
    return FALSE;
  if (size > r->limits.max_events)
    return _fail(r, "too many events", size, r->limits.max_events);
  if (size && elem_type != _T_STRUCT)
    return _fail(r, "event list elements are not structs", elem_type, _T_STRUCT);
  if (!_check_count(r, size, 1))
    return FALSE;
  g_clear_pointer(events, g_ptr_array_unref);
  *events = g_ptr_array_new_full(size, relay_event_unref_notify);
  for (guint32 i = 0; i < size; i++)
    if (!_read_event(r, scratch, 2, *events))
      return FALSE;
  return TRUE;
}

/* Reads the argument struct of append (field 1: event) or appendBatch (field 1: list of events). */
static gboolean
_read_args(_Reader *r, RelayThriftMethod method, GPtrArray **events)
{
  _HeaderScratch scratch = { NULL, 0 };
  gint16 last_id = 0, id = 0;
  guint8 type;
  gboolean ok = TRUE, seen = FALSE;

  while (ok)
    {
      if (!(ok = _read_field_begin(r, &last_id, &type, &id)) || type == _T_STOP)
        break;
      if (id == 1 && method == RELAY_THRIFT_METHOD_APPEND && type == _T_STRUCT)
        {
          g_clear_pointer(events, g_ptr_array_unref);
          *events = g_ptr_array_new_full(1, relay_event_unref_notify);
          ok = seen = _read_event(r, &scratch, 1, *events);
        }
      else if (id == 1 && method == RELAY_THRIFT_METHOD_APPEND_BATCH && type == _T_LIST)
        ok = seen = _read_event_list(r, &scratch, events);
      else
        ok = _skip_field(r, type, 1);
    }
  g_free(scratch.headers);
  if (ok && !seen)
    ok = _fail(r, "required argument missing", 1, -1);
  return ok;
}

static void
_call_reset(RelayThriftCall *call)
{
  call->method = RELAY_THRIFT_METHOD_UNKNOWN;
  call->seqid = 0;
  call->oneway = FALSE;
  call->have_header = FALSE;
  call->method_name_len = 0;
  call->method_name[0] = '\0';
  call->events = NULL;
}

/* Reads the message header of a call into call; fails on anything but CALL/ONEWAY. */
static gboolean
_read_call_header(_Reader *r, RelayThriftCall *call)
{
  const guint8 *name;
  guint32 name_len;
  guint8 type;

  if (!_read_message_begin(r, &name, &name_len, &type, &call->seqid))
    return FALSE;
  memcpy(call->method_name, name, name_len);
  call->method_name[name_len] = '\0';
  call->method_name_len = name_len;
  call->method = _method_from_name(name, name_len);
  call->have_header = TRUE;
  if (type != RELAY_THRIFT_MSG_CALL && type != RELAY_THRIFT_MSG_ONEWAY)
    return _fail(r, "message is not a call", type, RELAY_THRIFT_MSG_CALL);
  call->oneway = type == RELAY_THRIFT_MSG_ONEWAY;
  return TRUE;
}

RelayThriftResult
relay_thrift_decode_call(RelayThriftProtocol protocol, const guint8 *msg, gsize len,
                         const RelayThriftLimits *limits, RelayThriftCall *call, RelayThriftError *err)
{
  _Reader r;

  _reader_init(&r, protocol, msg, len, limits, err);
  _call_reset(call);
  if (!_read_call_header(&r, call))
    return RELAY_THRIFT_ERROR;
  if (call->method == RELAY_THRIFT_METHOD_UNKNOWN)
    {
      /* Like Thrift's processors: skip the arguments, then answer UNKNOWN_METHOD. */
      if (!_skip_struct(&r, 0) || !_expect_end(&r))
        return RELAY_THRIFT_ERROR;
      return RELAY_THRIFT_UNKNOWN_METHOD;
    }
  if (!_read_args(&r, call->method, &call->events) || !_expect_end(&r))
    {
      g_clear_pointer(&call->events, g_ptr_array_unref);
      return RELAY_THRIFT_ERROR;
    }
  return RELAY_THRIFT_OK;
}

void
relay_thrift_call_clear(RelayThriftCall *call)
{
  g_clear_pointer(&call->events, g_ptr_array_unref);
}

/* ---- client side: decoding replies ---- */

static gboolean
_read_result(_Reader *r, RelayThriftReply *reply)
{
  gint16 last_id = 0, id = 0;
  guint8 type;
  gboolean have_status = FALSE;

  for (;;)
    {
      if (!_read_field_begin(r, &last_id, &type, &id))
        return FALSE;
      if (type == _T_STOP)
        break;
      if (id == 0 && type == _T_I32)
        {
          if (!_read_i32(r, &reply->status))
            return FALSE;
          have_status = TRUE;
        }
      else if (!_skip_field(r, type, 1))
        return FALSE;
    }
  return have_status ? TRUE : _fail(r, "reply without status", -1, -1);
}

static gboolean
_read_application_exception(_Reader *r, RelayThriftReply *reply)
{
  gint16 last_id = 0, id = 0;
  guint8 type;
  const guint8 *text;
  guint32 len;

  for (;;)
    {
      if (!_read_field_begin(r, &last_id, &type, &id))
        return FALSE;
      if (type == _T_STOP)
        return TRUE;
      if (id == 1 && type == _T_STRING)
        {
          if (!_read_bytes(r, r->limits.max_string, "exception message too long", &text, &len))
            return FALSE;
          len = MIN(len, RELAY_THRIFT_MAX_EXCEPTION_MESSAGE);
          memcpy(reply->exception_message, text, len);
          reply->exception_message[len] = '\0';
        }
      else if (id == 2 && type == _T_I32)
        {
          if (!_read_i32(r, &reply->exception_type))
            return FALSE;
        }
      else if (!_skip_field(r, type, 1))
        return FALSE;
    }
}

RelayThriftResult
relay_thrift_decode_reply(RelayThriftProtocol protocol, const guint8 *msg, gsize len,
                          const RelayThriftLimits *limits, RelayThriftReply *reply, RelayThriftError *err)
{
  _Reader r;
  const guint8 *name;
  guint32 name_len;
  guint8 type;
  gboolean ok;

  _reader_init(&r, protocol, msg, len, limits, err);
  memset(reply, 0, sizeof *reply);
  if (!_read_message_begin(&r, &name, &name_len, &type, &reply->seqid))
    return RELAY_THRIFT_ERROR;
  reply->type = type;
  reply->method = _method_from_name(name, name_len);
  if (type == RELAY_THRIFT_MSG_REPLY)
    ok = _read_result(&r, reply);
  else if (type == RELAY_THRIFT_MSG_EXCEPTION)
    ok = _read_application_exception(&r, reply);
  else
    ok = _fail(&r, "message is not a reply", type, RELAY_THRIFT_MSG_REPLY);
  return ok && _expect_end(&r) ? RELAY_THRIFT_OK : RELAY_THRIFT_ERROR;
}

/* ---- encoding: sizes ---- */

static guint
_varint_size(guint64 v)
{
  guint n = 1;

  while (v >= 0x80)
    {
      v >>= 7;
      n++;
    }
  return n;
}

static guint32
_zigzag32(gint32 v)
{
  return ((guint32)v << 1) ^ (guint32)(v >> 31);
}

static gsize
_string_size(RelayThriftProtocol protocol, gsize len)
{
  return (protocol == RELAY_THRIFT_BINARY ? 4 : _varint_size(len)) + len;
}

static gsize
_i32_size(RelayThriftProtocol protocol, gint32 v)
{
  return protocol == RELAY_THRIFT_BINARY ? 4 : _varint_size(_zigzag32(v));
}

static gsize
_message_begin_size(RelayThriftProtocol protocol, gsize name_len, gint32 seqid)
{
  if (protocol == RELAY_THRIFT_BINARY)
    return 4 + _string_size(protocol, name_len) + 4;
  return 2 + _varint_size((guint32)seqid) + _string_size(protocol, name_len);
}

/* Field header of a field whose id follows the previous one by 1..15 (always the case for what we write,
 * except field 0 of a result, see _field_begin_size). */
static gsize
_field_size(RelayThriftProtocol protocol)
{
  return protocol == RELAY_THRIFT_BINARY ? 3 : 1;
}

static gsize
_list_begin_size(RelayThriftProtocol protocol, guint32 n)
{
  if (protocol == RELAY_THRIFT_BINARY)
    return 5;
  return n < 15 ? 1 : 1 + _varint_size(n);
}

static gsize
_event_size(RelayThriftProtocol protocol, const RelayEvent *ev)
{
  gsize size = 2 * _field_size(protocol) + _string_size(protocol, ev->body_len) + 1;

  if (protocol == RELAY_THRIFT_BINARY)
    size += 6;
  else
    size += ev->n_headers ? _varint_size(ev->n_headers) + 1 : 1;
  for (guint32 i = 0; i < ev->n_headers; i++)
    size += _string_size(protocol, ev->headers[i].key_len) + _string_size(protocol, ev->headers[i].value_len);
  return size;
}

gsize
relay_thrift_append_batch_size(RelayThriftProtocol protocol, gint32 seqid, RelayEvent *const *events, guint n)
{
  gsize size = _message_begin_size(protocol, sizeof _APPEND_BATCH - 1, seqid) + _field_size(protocol)
               + _list_begin_size(protocol, n) + 1;

  for (guint i = 0; i < n; i++)
    size += _event_size(protocol, events[i]);
  return size;
}

guint
relay_thrift_batch_fit(RelayThriftProtocol protocol, RelayEvent *const *events, guint n, guint32 max_frame)
{
  /* Worst case for the parts that depend on the seqid and the count: seqid -1, a 5-byte count. */
  gsize size = _message_begin_size(protocol, sizeof _APPEND_BATCH - 1, -1) + _field_size(protocol)
               + _list_begin_size(protocol, G_MAXINT32) + 1;

  for (guint i = 0; i < n; i++)
    {
      size += _event_size(protocol, events[i]);
      if (size > max_frame)
        return i;
    }
  return n;
}

/* ---- encoding: writing ---- */

typedef struct
{
  guint8 *pos;
  RelayThriftProtocol protocol;
} _Writer;

static void
_put_u8(_Writer *w, guint8 b)
{
  *w->pos++ = b;
}

static void
_put_be16(_Writer *w, guint16 v)
{
  w->pos[0] = (guint8)(v >> 8);
  w->pos[1] = (guint8)v;
  w->pos += 2;
}

static void
_put_be32(_Writer *w, guint32 v)
{
  w->pos[0] = (guint8)(v >> 24);
  w->pos[1] = (guint8)(v >> 16);
  w->pos[2] = (guint8)(v >> 8);
  w->pos[3] = (guint8)v;
  w->pos += 4;
}

static void
_put_varint(_Writer *w, guint64 v)
{
  while (v >= 0x80)
    {
      *w->pos++ = (guint8)(v | 0x80);
      v >>= 7;
    }
  *w->pos++ = (guint8)v;
}

static void
_put_i32(_Writer *w, gint32 v)
{
  if (w->protocol == RELAY_THRIFT_BINARY)
    _put_be32(w, (guint32)v);
  else
    _put_varint(w, _zigzag32(v));
}

static void
_put_string(_Writer *w, const void *data, gsize len)
{
  if (w->protocol == RELAY_THRIFT_BINARY)
    _put_be32(w, (guint32)len);
  else
    _put_varint(w, len);
  if (len)
    memcpy(w->pos, data, len);
  w->pos += len;
}

static guint8
_to_compact_type(guint8 type)
{
  switch (type)
    {
    case _T_I32:
      return 5;
    case _T_STRING:
      return 8;
    case _T_LIST:
      return 9;
    case _T_MAP:
      return 11;
    default:
      return 12; /* _T_STRUCT: the only other type this codec writes */
    }
}

/* Writes a field header; in compact, ids 1..15 above *last_id use the one-byte delta form. */
static void
_put_field_begin(_Writer *w, guint8 type, gint16 id, gint16 *last_id)
{
  if (w->protocol == RELAY_THRIFT_BINARY)
    {
      _put_u8(w, type);
      _put_be16(w, (guint16)id);
      return;
    }
  gint delta = id - *last_id;
  if (delta > 0 && delta <= 15)
    _put_u8(w, (guint8)((delta << 4) | _to_compact_type(type)));
  else
    {
      _put_u8(w, _to_compact_type(type));
      _put_varint(w, _zigzag32(id));
    }
  *last_id = id;
}

static void
_put_message_begin(_Writer *w, const char *name, gsize name_len, RelayThriftMessageType type, gint32 seqid)
{
  if (w->protocol == RELAY_THRIFT_BINARY)
    {
      _put_be32(w, _BINARY_VERSION_1 | type);
      _put_string(w, name, name_len);
      _put_be32(w, (guint32)seqid);
      return;
    }
  _put_u8(w, _COMPACT_PROTOCOL_ID);
  _put_u8(w, (guint8)((type << 5) | _COMPACT_VERSION));
  _put_varint(w, (guint32)seqid);
  _put_string(w, name, name_len);
}

static void
_put_event(_Writer *w, const RelayEvent *ev)
{
  gint16 last_id = 0;

  _put_field_begin(w, _T_MAP, 1, &last_id);
  if (w->protocol == RELAY_THRIFT_BINARY)
    {
      _put_u8(w, _T_STRING);
      _put_u8(w, _T_STRING);
      _put_be32(w, ev->n_headers);
    }
  else
    {
      _put_varint(w, ev->n_headers);
      if (ev->n_headers)
        _put_u8(w, 0x88); /* binary keys, binary values */
    }
  for (guint32 i = 0; i < ev->n_headers; i++)
    {
      _put_string(w, ev->headers[i].key, ev->headers[i].key_len);
      _put_string(w, ev->headers[i].value, ev->headers[i].value_len);
    }
  _put_field_begin(w, _T_STRING, 2, &last_id);
  _put_string(w, ev->body, ev->body_len);
  _put_u8(w, _T_STOP);
}

static void
_put_list_begin(_Writer *w, guint8 elem_type, guint32 n)
{
  if (w->protocol == RELAY_THRIFT_BINARY)
    {
      _put_u8(w, elem_type);
      _put_be32(w, n);
    }
  else if (n < 15)
    _put_u8(w, (guint8)((n << 4) | _to_compact_type(elem_type)));
  else
    {
      _put_u8(w, (guint8)(0xf0 | _to_compact_type(elem_type)));
      _put_varint(w, n);
    }
}

/* Grows out by one frame of msg_size message bytes, writes the length prefix and returns a writer for the
 * message. The caller checks with _frame_end() that it wrote exactly msg_size bytes. */
static _Writer
_frame_begin(RelayThriftProtocol protocol, gsize msg_size, GByteArray *out)
{
  guint old_len = out->len;
  _Writer w;

  g_assert(msg_size <= G_MAXINT32);
  g_byte_array_set_size(out, old_len + RELAY_THRIFT_FRAME_HEADER + (guint)msg_size);
  w.pos = out->data + old_len;
  w.protocol = protocol;
  _put_be32(&w, (guint32)msg_size);
  return w;
}

static void
_frame_end(const _Writer *w, const GByteArray *out)
{
  g_assert(w->pos == out->data + out->len);
}

void
relay_thrift_encode_reply(RelayThriftProtocol protocol, const char *method_name, gsize method_len,
                          gint32 seqid, RelayThriftStatus status, GByteArray *out)
{
  /* Field 0 cannot be delta-coded in compact: a type byte and a zig-zag id byte. */
  gsize size = _message_begin_size(protocol, method_len, seqid) + (protocol == RELAY_THRIFT_BINARY ? 3 : 2)
               + _i32_size(protocol, status) + 1;
  _Writer w = _frame_begin(protocol, size, out);
  gint16 last_id = 0;

  _put_message_begin(&w, method_name, method_len, RELAY_THRIFT_MSG_REPLY, seqid);
  _put_field_begin(&w, _T_I32, 0, &last_id);
  _put_i32(&w, status);
  _put_u8(&w, _T_STOP);
  _frame_end(&w, out);
}

void
relay_thrift_encode_exception(RelayThriftProtocol protocol, const char *method_name, gsize method_len,
                              gint32 seqid, RelayThriftExceptionType type, const char *message,
                              GByteArray *out)
{
  gsize message_len = message ? strlen(message) : 0;
  gsize size = _message_begin_size(protocol, method_len, seqid) + 2 * _field_size(protocol)
               + _string_size(protocol, message_len) + _i32_size(protocol, type) + 1;
  _Writer w = _frame_begin(protocol, size, out);
  gint16 last_id = 0;

  _put_message_begin(&w, method_name, method_len, RELAY_THRIFT_MSG_EXCEPTION, seqid);
  _put_field_begin(&w, _T_STRING, 1, &last_id);
  _put_string(&w, message, message_len);
  _put_field_begin(&w, _T_I32, 2, &last_id);
  _put_i32(&w, type);
  _put_u8(&w, _T_STOP);
  _frame_end(&w, out);
}

void
relay_thrift_encode_append(RelayThriftProtocol protocol, gint32 seqid, const RelayEvent *event,
                           GByteArray *out)
{
  gsize size = _message_begin_size(protocol, sizeof _APPEND - 1, seqid) + _field_size(protocol)
               + _event_size(protocol, event) + 1;
  _Writer w = _frame_begin(protocol, size, out);
  gint16 last_id = 0;

  _put_message_begin(&w, _APPEND, sizeof _APPEND - 1, RELAY_THRIFT_MSG_CALL, seqid);
  _put_field_begin(&w, _T_STRUCT, 1, &last_id);
  _put_event(&w, event);
  _put_u8(&w, _T_STOP);
  _frame_end(&w, out);
}

void
relay_thrift_encode_append_batch(RelayThriftProtocol protocol, gint32 seqid, RelayEvent *const *events,
                                 guint n, GByteArray *out)
{
  _Writer w = _frame_begin(protocol, relay_thrift_append_batch_size(protocol, seqid, events, n), out);
  gint16 last_id = 0;

  _put_message_begin(&w, _APPEND_BATCH, sizeof _APPEND_BATCH - 1, RELAY_THRIFT_MSG_CALL, seqid);
  _put_field_begin(&w, _T_LIST, 1, &last_id);
  _put_list_begin(&w, _T_STRUCT, n);
  for (guint i = 0; i < n; i++)
    _put_event(&w, events[i]);
  _put_u8(&w, _T_STOP);
  _frame_end(&w, out);
}
