/* test_avro_proto.c - unit tests for the Avro RPC codec: framing, handshake, calls, limits, interop.
 *
 * Byte-exact checks against a worked example (computed by hand from Avro's specification, Call Format),
 * incremental framing with 1-byte fragments, zero-length and many buffers, limits that must fail before any
 * allocation, the three handshake outcomes, the protocol text and its MD5, and round trips against avro-c's
 * generic value API used as an independent reference codec (schemas read from idl/). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include <avro.h>
#include <event2/buffer.h>

#include "avro_proto.h"

static const guint8 _flume_hash[16]
    = { 0x86, 0xaa, 0xda, 0xe2, 0xc4, 0x54, 0x74, 0xc0, 0xfe, 0x93, 0xff, 0xd0, 0xf2, 0x35, 0x0a, 0x65 };

static const char _event_array_schema[]
    = "{\"type\":\"array\",\"items\":{\"type\":\"record\",\"name\":\"AvroFlumeEvent\","
      "\"namespace\":\"org.apache.flume.source.avro\",\"fields\":[{\"name\":\"headers\",\"type\":"
      "{\"type\":\"map\",\"values\":\"string\"}},{\"name\":\"body\",\"type\":\"bytes\"}]}}";

/* ---- helpers ---- */

static guint8 *
_hex(const char *hex, gsize *len)
{
  GByteArray *out = g_byte_array_new();

  for (const char *p = hex; *p;)
    {
      if (*p == ' ' || *p == '|')
        {
          p++;
          continue;
        }
      guint8 b = (guint8)((g_ascii_xdigit_value(p[0]) << 4) | g_ascii_xdigit_value(p[1]));
      g_byte_array_append(out, &b, 1);
      p += 2;
    }
  *len = out->len;
  return g_byte_array_free(out, FALSE);
}

static void
_assert_bytes(const guint8 *data, gsize len, const char *hex)
{
  gsize want_len;
  g_autofree guint8 *want = _hex(hex, &want_len);

  assert_int_equal(len, want_len);
  assert_memory_equal(data, want, len);
}

static char *
_idl_path(const char *name)
{
  const char *top = g_getenv("TOP_SRCDIR");
  g_autofree char *unit_dir = g_path_get_dirname(__FILE__);

  if (top)
    return g_build_filename(top, "idl", name, NULL);
  return g_build_filename(unit_dir, "..", "..", "idl", name, NULL);
}

static char *
_read_idl(const char *name, gsize *len)
{
  g_autofree char *path = _idl_path(name);
  char *text = NULL;

  assert_true(g_file_get_contents(path, &text, len, NULL));
  return text;
}

/* Parses exactly one whole pack; frame must be initialised. */
static void
_parse_whole(const GByteArray *pack, const RelayAvroLimits *limits, RelayAvroFrame *frame)
{
  assert_int_equal(relay_avro_frame_parse(pack->data, pack->len, limits, frame), RELAY_AVRO_OK);
  assert_int_equal(frame->consumed, pack->len);
}

static void
_assert_event(const RelayEvent *ev, const char *body, const char *key, const char *value)
{
  assert_int_equal(ev->body_len, strlen(body));
  assert_memory_equal(ev->body, body, ev->body_len);
  if (!key)
    {
      assert_int_equal(ev->n_headers, 0);
      return;
    }
  assert_int_equal(ev->n_headers, 1);
  assert_string_equal(ev->headers[0].key, key);
  assert_string_equal(ev->headers[0].value, value);
}

static void
_assert_same_events(RelayEvent *const *a, RelayEvent *const *b, guint n)
{
  for (guint i = 0; i < n; i++)
    {
      assert_int_equal(a[i]->n_headers, b[i]->n_headers);
      assert_int_equal(a[i]->body_len, b[i]->body_len);
      assert_memory_equal(a[i]->body, b[i]->body, a[i]->body_len);
      for (guint32 h = 0; h < a[i]->n_headers; h++)
        {
          assert_int_equal(a[i]->headers[h].key_len, b[i]->headers[h].key_len);
          assert_int_equal(a[i]->headers[h].value_len, b[i]->headers[h].value_len);
          assert_memory_equal(a[i]->headers[h].key, b[i]->headers[h].key, a[i]->headers[h].key_len);
          assert_memory_equal(a[i]->headers[h].value, b[i]->headers[h].value, a[i]->headers[h].value_len);
        }
    }
}

/* Deterministic events: 0..4 headers with distinct keys, bodies of 0..max_body bytes including NULs. */
static GPtrArray *
_random_events(guint n, guint max_body, guint32 seed)
{
  GRand *rand = g_rand_new_with_seed(seed);
  GPtrArray *events = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  g_autofree guint8 *body = g_malloc(max_body + 1);

  for (guint i = 0; i < n; i++)
    {
      RelayHeader headers[4];
      char keys[4][16], values[4][40];
      guint n_headers = (guint)g_rand_int_range(rand, 0, 5);
      for (guint h = 0; h < n_headers; h++)
        {
          g_snprintf(keys[h], sizeof keys[h], "k%u", h);
          g_snprintf(values[h], sizeof values[h], "v%u-%u-%s", i, h, h % 2 ? "\xc3\xa9t\xc3\xa9" : "");
          headers[h]
              = (RelayHeader){ keys[h], values[h], (guint32)strlen(keys[h]), (guint32)strlen(values[h]) };
        }
      guint body_len = (guint)g_rand_int_range(rand, 0, (gint32)max_body + 1);
      for (guint b = 0; b < body_len; b++)
        body[b] = (guint8)g_rand_int(rand);
      g_ptr_array_add(events, relay_event_new(headers, n_headers, body, body_len));
    }
  g_rand_free(rand);
  return events;
}

/* Decodes a whole request pack (no handshake) into events and checks the call. */
static RelayAvroResult
_decode_request(const GByteArray *pack, const RelayAvroLimits *limits, RelayAvroMessage want,
                GPtrArray *events, RelayAvroError *err)
{
  RelayAvroFrame frame;
  RelayAvroDecoder *dec = relay_avro_decoder_new(limits);
  RelayAvroCall call;
  RelayAvroResult result;

  relay_avro_frame_init(&frame);
  _parse_whole(pack, limits, &frame);
  relay_avro_decoder_begin(dec, frame.slices, frame.n_slices);
  assert_int_equal(relay_avro_decode_call(dec, &call), RELAY_AVRO_OK);
  assert_int_equal(call.message, want);
  result = relay_avro_decode_events(dec, call.message, events);
  *err = *relay_avro_decoder_error(dec);
  relay_avro_decoder_free(dec);
  relay_avro_frame_clear(&frame);
  return result;
}

/* ---- a worked example (Avro specification, Call Format; Avro's Requestor.java) ---- */

static void
test_worked_example_request(void **state)
{
  RelayAvroHandshakeRequest hs = { 0 };
  RelayEvent *ev = relay_event_new_simple("hi", "host", "h1", NULL);
  GByteArray *pack = g_byte_array_new();

  memcpy(hs.client_hash, _flume_hash, 16);
  memcpy(hs.server_hash, _flume_hash, 16);
  assert_true(relay_avro_encode_request(pack, 1, &hs, RELAY_AVRO_MSG_APPEND, &ev, 1));
  _assert_bytes(
      pack->data, pack->len,
      "00000001 00000001 00000037 | 86aadae2c45474c0fe93ffd0f2350a65 00 86aadae2c45474c0fe93ffd0f2350a65 00"
      "| 00 | 0c 617070656e64 | 02 08 686f7374 04 6831 00 | 04 6869");
  relay_event_unref(ev);
  g_byte_array_free(pack, TRUE);
}

static void
test_worked_example_server_side(void **state)
{
  gsize len;
  g_autofree guint8 *bytes = _hex(
      "00000001 00000001 00000037 86aadae2c45474c0fe93ffd0f2350a65 00 86aadae2c45474c0fe93ffd0f2350a65 00"
      "00 0c617070656e64 02 08686f7374 046831 00 046869",
      &len);
  RelayAvroLimits limits;
  RelayAvroFrame frame;
  RelayAvroHandshakeRequest hs;
  RelayAvroHandshakeResponse reply;
  RelayAvroCall call;
  RelayAvroError err;
  GPtrArray *events = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  RelayAvroHandshakeCache *cache = relay_avro_handshake_cache_new();

  relay_avro_limits_init(&limits);
  RelayAvroDecoder *dec = relay_avro_decoder_new(&limits);
  relay_avro_frame_init(&frame);
  assert_int_equal(relay_avro_frame_parse(bytes, len, &limits, &frame), RELAY_AVRO_OK);
  assert_int_equal(frame.serial, 1);
  assert_int_equal(frame.message_len, 55);
  relay_avro_decoder_begin(dec, frame.slices, frame.n_slices);
  assert_int_equal(relay_avro_decode_handshake_request(dec, &hs), RELAY_AVRO_OK);
  assert_memory_equal(hs.client_hash, _flume_hash, 16);
  assert_null(hs.client_protocol);
  /* Flume's hash is known; its serverHash guess is not ours: CLIENT, with our protocol and hash. */
  assert_int_equal(relay_avro_handshake_resolve(cache, &hs, &reply, &err), RELAY_AVRO_OK);
  assert_int_equal(reply.match, RELAY_AVRO_MATCH_CLIENT);
  assert_true(reply.has_server_hash);
  assert_memory_equal(reply.server_hash, relay_avro_protocol_hash(), 16);
  assert_int_equal(reply.server_protocol_len, 509);
  assert_int_equal(relay_avro_decode_call(dec, &call), RELAY_AVRO_OK);
  assert_int_equal(call.message, RELAY_AVRO_MSG_APPEND);
  assert_int_equal(relay_avro_decode_events(dec, call.message, events), RELAY_AVRO_OK);
  assert_int_equal(events->len, 1);
  _assert_event(events->pdata[0], "hi", "host", "h1");
  g_ptr_array_free(events, TRUE);
  relay_avro_handshake_cache_free(cache);
  relay_avro_decoder_free(dec);
  relay_avro_frame_clear(&frame);
}

static void
test_worked_example_replies(void **state)
{
  RelayAvroHandshakeResponse both = { RELAY_AVRO_MATCH_BOTH, NULL, 0, FALSE, { 0 } };
  GByteArray *out = g_byte_array_new();

  relay_avro_encode_status_reply(out, 1, &both, RELAY_AVRO_STATUS_OK);
  _assert_bytes(out->data, out->len, "00000001 00000001 00000007 | 00 00 00 00 | 00 | 00 | 00");
  g_byte_array_set_size(out, 0);
  relay_avro_encode_status_reply(out, 2, NULL, RELAY_AVRO_STATUS_OK);
  _assert_bytes(out->data, out->len, "00000002 00000001 00000003 | 00 | 00 | 00");
  g_byte_array_set_size(out, 0);
  relay_avro_encode_status_reply(out, -5, NULL, RELAY_AVRO_STATUS_FAILED);
  _assert_bytes(out->data, out->len, "fffffffb 00000001 00000003 | 00 | 00 | 02");
  g_byte_array_free(out, TRUE);
}

static void
test_worked_example_batch_params(void **state)
{
  RelayEvent *events[2] = { relay_event_new(NULL, 0, "a", 1), relay_event_new(NULL, 0, "b", 1) };
  GByteArray *out = g_byte_array_new();

  assert_true(relay_avro_encode_request(out, 7, NULL, RELAY_AVRO_MSG_APPEND_BATCH, events, 2));
  _assert_bytes(
      out->data, out->len,
      "00000007 00000001 00000015 | 00 | 16 617070656e644261746368 | 04 | 00 02 61 | 00 02 62 | 00");
  g_byte_array_set_size(out, 0);
  assert_true(relay_avro_encode_request(out, 8, NULL, RELAY_AVRO_MSG_APPEND_BATCH, events, 0));
  _assert_bytes(out->data, out->len, "00000008 00000001 0000000e | 00 | 16 617070656e644261746368 | 00");
  g_byte_array_set_size(out, 0);
  assert_true(relay_avro_encode_request(out, 9, NULL, RELAY_AVRO_MSG_PING, NULL, 0));
  _assert_bytes(out->data, out->len, "00000009 00000001 00000002 | 00 | 00");
  relay_event_unref(events[0]);
  relay_event_unref(events[1]);
  g_byte_array_free(out, TRUE);
}

/* ---- framing ---- */

static void
test_frame_one_byte_fragments(void **state)
{
  GPtrArray *events = _random_events(50, 300, 1);
  GByteArray *two = g_byte_array_new();
  RelayAvroLimits limits;
  RelayAvroFrame frame;
  gsize first_len, calls = 0;

  relay_avro_limits_init(&limits);
  relay_avro_frame_init(&frame);
  assert_true(relay_avro_encode_request(two, 41, NULL, RELAY_AVRO_MSG_APPEND_BATCH,
                                        (RelayEvent **)events->pdata, events->len));
  first_len = two->len;
  assert_true(relay_avro_encode_request(two, 42, NULL, RELAY_AVRO_MSG_PING, NULL, 0));
  /* Feed one more byte per call, as a socket delivering 1-byte segments would. */
  gsize len = 0;
  RelayAvroResult r;
  while ((r = relay_avro_frame_parse(two->data, len, &limits, &frame)) == RELAY_AVRO_NEED_MORE)
    {
      assert_true(frame.need > len);
      assert_true(frame.need <= first_len);
      len++;
      calls++;
    }
  assert_int_equal(r, RELAY_AVRO_OK);
  assert_int_equal(len, first_len);
  assert_int_equal(calls, first_len);
  assert_int_equal(frame.serial, 41);
  assert_int_equal(frame.consumed, first_len);
  assert_int_equal(frame.n_buffers, 1);
  assert_int_equal(frame.message_len, first_len - 12);
  /* The second pack follows at 'consumed'; parsing it from a moved base works. */
  assert_int_equal(relay_avro_frame_parse(two->data + first_len, 5, &limits, &frame), RELAY_AVRO_NEED_MORE);
  assert_int_equal(frame.need, 8);
  assert_int_equal(relay_avro_frame_parse(two->data + first_len, two->len - first_len, &limits, &frame),
                   RELAY_AVRO_OK);
  assert_int_equal(frame.serial, 42);
  assert_int_equal(frame.message_len, 2);
  relay_avro_frame_clear(&frame);
  g_byte_array_free(two, TRUE);
  g_ptr_array_free(events, TRUE);
}

/* Splits message into the given chunk size (Java uses 8192), with zero-length buffers at both ends. */
static GByteArray *
_split_pack(const guint8 *message, gsize len, gsize chunk, gint32 serial)
{
  GArray *buffers = g_array_new(FALSE, TRUE, sizeof(RelayAvroSlice));
  RelayAvroSlice empty = { (const guint8 *)"", 0, 0 };
  GByteArray *pack = g_byte_array_new();

  g_array_append_val(buffers, empty);
  for (gsize off = 0; off < len; off += chunk)
    {
      RelayAvroSlice s = { message + off, (guint32)MIN(chunk, len - off), 0 };
      g_array_append_val(buffers, s);
      if (off == 0)
        g_array_append_val(buffers, empty);
    }
  g_array_append_val(buffers, empty);
  relay_avro_pack_append(pack, serial, (RelayAvroSlice *)buffers->data, buffers->len);
  g_array_free(buffers, TRUE);
  return pack;
}

static void
_check_split(GPtrArray *events, gsize chunk, gsize expect_buffers_min)
{
  GByteArray *single = g_byte_array_new();
  RelayAvroLimits limits;
  RelayAvroError err;
  GPtrArray *decoded = g_ptr_array_new_with_free_func(relay_event_unref_notify);

  relay_avro_limits_init(&limits);
  limits.max_buffers = 1 << 20;
  limits.max_pack_bytes = G_MAXUINT32;
  assert_true(relay_avro_encode_request(single, 3, NULL, RELAY_AVRO_MSG_APPEND_BATCH,
                                        (RelayEvent **)events->pdata, events->len));
  GByteArray *split = _split_pack(single->data + 12, single->len - 12, chunk, 3);
  RelayAvroFrame frame;
  relay_avro_frame_init(&frame);
  _parse_whole(split, &limits, &frame);
  assert_true(frame.n_buffers >= expect_buffers_min);
  assert_int_equal(frame.n_slices, frame.n_buffers - 3); /* the 3 zero-length buffers are dropped */
  assert_int_equal(frame.message_len, single->len - 12);
  relay_avro_frame_clear(&frame);
  assert_int_equal(_decode_request(split, &limits, RELAY_AVRO_MSG_APPEND_BATCH, decoded, &err),
                   RELAY_AVRO_OK);
  assert_int_equal(decoded->len, events->len);
  _assert_same_events((RelayEvent **)events->pdata, (RelayEvent **)decoded->pdata, events->len);
  g_ptr_array_free(decoded, TRUE);
  g_byte_array_free(single, TRUE);
  g_byte_array_free(split, TRUE);
}

static void
test_frame_zero_length_and_many_buffers(void **state)
{
  GPtrArray *events = _random_events(40, 200, 2);
  GPtrArray *big = _random_events(6, 30000, 3);

  _check_split(events, 1, 1000); /* every byte its own buffer: every string straddles */
  _check_split(events, 7, 100);
  _check_split(big, 8192, 5); /* Java's chunking; bodies above 8 KiB span several buffers */
  g_ptr_array_free(events, TRUE);
  g_ptr_array_free(big, TRUE);
}

static void
_assert_frame_error(const char *hex, const RelayAvroLimits *limits, const char *what, gint64 value,
                    gint64 limit)
{
  gsize len;
  g_autofree guint8 *bytes = _hex(hex, &len);
  RelayAvroFrame frame;

  relay_avro_frame_init(&frame);
  assert_int_equal(relay_avro_frame_parse(bytes, len, limits, &frame), RELAY_AVRO_ERROR);
  assert_string_equal(frame.error.what, what);
  assert_int_equal(frame.error.value, value);
  assert_int_equal(frame.error.limit, limit);
  assert_int_equal(frame._slices->len, 0); /* nothing was recorded, let alone allocated for the data */
  relay_avro_frame_clear(&frame);
}

static void
test_frame_limits(void **state)
{
  RelayAvroLimits limits;
  char text[128];

  relay_avro_limits_init(&limits);
  /* Only the header or the first length field is present: errors come before the data would. */
  _assert_frame_error("00000001 ffffffff", &limits, "buffer count negative", -1, RELAY_AVRO_NO_VALUE);
  _assert_frame_error("00000001 00000000", &limits, "buffer count zero", 0, RELAY_AVRO_NO_VALUE);
  _assert_frame_error("00000001 7fffffff", &limits, "buffer count above limit", G_MAXINT32, 16384);
  _assert_frame_error("00000001 00000001 fffffffe", &limits, "buffer length negative", -2,
                      RELAY_AVRO_NO_VALUE);
  _assert_frame_error("00000001 00000001 7fffffff", &limits, "pack size above limit", 12 + (gint64)G_MAXINT32,
                      64 * 1024 * 1024);
  limits.max_buffers = G_MAXUINT32;
  _assert_frame_error("00000001 7fffffff", &limits, "pack size above limit", 8 + 4 * (gint64)G_MAXINT32,
                      64 * 1024 * 1024);
  /* A total over the limit across buffers, counting the length fields still to come. */
  relay_avro_limits_init(&limits);
  limits.max_pack_bytes = 100;
  _assert_frame_error("00000001 00000003 00000051", &limits, "pack size above limit", 8 + 4 + 81 + 8, 100);

  RelayAvroError err = { "buffer length negative", -2, RELAY_AVRO_NO_VALUE };
  assert_string_equal(relay_avro_error_format(&err, text, sizeof text), "buffer length negative value=-2");
  err = (RelayAvroError){ "pack size above limit", 200, 100 };
  assert_string_equal(relay_avro_error_format(&err, text, sizeof text),
                      "pack size above limit value=200 limit=100");
}

static void
test_pack_append_multi(void **state)
{
  RelayAvroSlice buffers[3]
      = { { (const guint8 *)"ab", 2, 0 }, { (const guint8 *)"", 0, 0 }, { (const guint8 *)"c", 1, 0 } };
  GByteArray *out = g_byte_array_new();

  relay_avro_pack_append(out, 258, buffers, 3);
  _assert_bytes(out->data, out->len, "00000102 00000003 00000002 6162 00000000 00000001 63");
  g_byte_array_free(out, TRUE);
}

/* ---- message decoding limits and malformed input ---- */

static void
_assert_decode_error(const char *message_hex, const RelayAvroLimits *limits, const char *what)
{
  gsize len;
  g_autofree guint8 *message = _hex(message_hex, &len);
  RelayAvroSlice slice = { message, (guint32)len, 0 };
  RelayAvroDecoder *dec = relay_avro_decoder_new(limits);
  GPtrArray *events = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  RelayAvroCall call;

  relay_avro_decoder_begin(dec, &slice, 1);
  if (relay_avro_decode_call(dec, &call) == RELAY_AVRO_OK)
    {
      g_ptr_array_add(events, relay_event_new(NULL, 0, "pre-existing", 12));
      assert_int_equal(relay_avro_decode_events(dec, call.message, events), RELAY_AVRO_ERROR);
      assert_int_equal(events->len, 1); /* what this call added was removed again */
    }
  assert_non_null(relay_avro_decoder_error(dec)->what);
  assert_string_equal(relay_avro_decoder_error(dec)->what, what);
  g_ptr_array_free(events, TRUE);
  relay_avro_decoder_free(dec);
}

#define BATCH "00 16617070656e644261746368 " /* empty metadata, "appendBatch" */
#define APPEND "00 0c617070656e64 "          /* empty metadata, "append" */

static void
test_decode_limits(void **state)
{
  RelayAvroLimits limits;

  relay_avro_limits_init(&limits);
  limits.max_batch_events = 2;
  limits.max_headers = 1;
  limits.max_header_bytes = 3;
  limits.max_body_bytes = 4;
  _assert_decode_error(BATCH "06 0000 0000 0000 00", &limits, "events per batch above limit");
  _assert_decode_error(BATCH "04 0000 0000 02 0000 00", &limits,
                       "events per batch above limit"); /* 2 blocks */
  _assert_decode_error(APPEND "04 0000 0000 00 00", &limits, "headers per event above limit");
  _assert_decode_error(APPEND "02 08 61616161 00 00 00", &limits, "header key length out of range");
  _assert_decode_error(APPEND "02 00 01 00 00", &limits, "header value length out of range"); /* length -1 */
  _assert_decode_error(APPEND "00 0a 6161616161", &limits, "body length out of range");
  _assert_decode_error(APPEND "00 03", &limits, "body length out of range"); /* negative */
  /* Counts the remaining bytes cannot hold fail before anything is reserved. */
  relay_avro_limits_init(&limits);
  _assert_decode_error(BATCH "a08d06 00", &limits, "block count beyond message end"); /* 50000 events */
  _assert_decode_error(APPEND "d00f 00", &limits, "block count beyond message end");  /* 1000 headers */
  _assert_decode_error(BATCH "80808080808080808001", &limits, "events per batch above limit");
  _assert_decode_error(BATCH "ffffffffffffffffff01", &limits, "block count out of range"); /* -2^63 */
  _assert_decode_error(BATCH "8080808080808080808001", &limits, "varint longer than 64 bits");
  _assert_decode_error(APPEND "00 08 6869", &limits, "message truncated");
  _assert_decode_error(APPEND "00 02 6869", &limits, "trailing bytes after parameters");
  _assert_decode_error("00 0c617070656e64", &limits, "message truncated");
  _assert_decode_error("01 00", &limits, "block count beyond message end"); /* metadata block of -1 */
  _assert_decode_error("00 00", &limits, "message carries no events");
}

static void
test_decode_negative_block_counts(void **state)
{
  /* appendBatch with an array block of -2 items (byte size 10) holding events whose header maps use a
   * block of -1 entry (with its byte size), then a second positive block, then the end. */
  gsize len;
  g_autofree guint8 *message
      = _hex(BATCH "03 14 | 01 0a 0261 0262 00 0278 | 00 0279 | 02 00 027a | 00", &len);
  RelayAvroSlice slice = { message, (guint32)len, 0 };
  RelayAvroLimits limits;
  RelayAvroCall call;
  GPtrArray *events = g_ptr_array_new_with_free_func(relay_event_unref_notify);

  relay_avro_limits_init(&limits);
  RelayAvroDecoder *dec = relay_avro_decoder_new(&limits);
  relay_avro_decoder_begin(dec, &slice, 1);
  assert_int_equal(relay_avro_decode_call(dec, &call), RELAY_AVRO_OK);
  assert_int_equal(relay_avro_decode_events(dec, call.message, events), RELAY_AVRO_OK);
  assert_int_equal(events->len, 3);
  _assert_event(events->pdata[0], "x", "a", "b");
  _assert_event(events->pdata[1], "y", NULL, NULL);
  _assert_event(events->pdata[2], "z", NULL, NULL);
  g_ptr_array_free(events, TRUE);
  relay_avro_decoder_free(dec);
}

static void
test_decode_call_names_and_metadata(void **state)
{
  gsize len;
  /* metadata with 2 entries ("k" -> bytes 01 02, "" -> empty), then "frobnicate" */
  g_autofree guint8 *message = _hex("04 026b 040102 00 00 00 | 14 66726f626e6963617465", &len);
  RelayAvroSlice slice = { message, (guint32)len, 0 };
  RelayAvroLimits limits;
  RelayAvroCall call;

  relay_avro_limits_init(&limits);
  RelayAvroDecoder *dec = relay_avro_decoder_new(&limits);
  relay_avro_decoder_begin(dec, &slice, 1);
  assert_int_equal(relay_avro_decode_call(dec, &call), RELAY_AVRO_OK);
  assert_int_equal(call.message, RELAY_AVRO_MSG_UNKNOWN);
  assert_int_equal(call.name_len, 10);
  assert_memory_equal(call.name, "frobnicate", 10);
  assert_int_equal(relay_avro_decoder_remaining(dec), 0);
  relay_avro_decoder_free(dec);
}

/* ---- responses ---- */

static void
_decode_reply(const GByteArray *pack, gboolean expect_handshake, RelayAvroResponse *out,
              RelayAvroDecoder *dec, RelayAvroFrame *frame)
{
  RelayAvroLimits limits;

  relay_avro_limits_init(&limits);
  _parse_whole(pack, &limits, frame);
  relay_avro_decoder_begin(dec, frame->slices, frame->n_slices);
  assert_int_equal(relay_avro_decode_response(dec, expect_handshake, out), RELAY_AVRO_OK);
}

static void
test_responses_round_trip(void **state)
{
  RelayAvroLimits limits;
  RelayAvroFrame frame;
  RelayAvroResponse resp;
  RelayAvroHandshakeResponse client = { RELAY_AVRO_MATCH_CLIENT, NULL, 0, TRUE, { 0 } };
  GByteArray *out = g_byte_array_new();

  relay_avro_limits_init(&limits);
  RelayAvroDecoder *dec = relay_avro_decoder_new(&limits);
  relay_avro_frame_init(&frame);
  client.server_protocol = relay_avro_protocol_text(&client.server_protocol_len);
  memcpy(client.server_hash, relay_avro_protocol_hash(), 16);
  relay_avro_encode_status_reply(out, 5, &client, RELAY_AVRO_STATUS_FAILED);
  _decode_reply(out, TRUE, &resp, dec, &frame);
  assert_int_equal(frame.serial, 5);
  assert_true(resp.has_handshake && resp.has_result && !resp.is_error);
  assert_int_equal(resp.handshake.match, RELAY_AVRO_MATCH_CLIENT);
  assert_int_equal(resp.handshake.server_protocol_len, client.server_protocol_len);
  assert_memory_equal(resp.handshake.server_protocol, client.server_protocol, client.server_protocol_len);
  assert_memory_equal(resp.handshake.server_hash, relay_avro_protocol_hash(), 16);
  assert_int_equal(resp.status, RELAY_AVRO_STATUS_FAILED);

  g_byte_array_set_size(out, 0);
  relay_avro_encode_error_reply(out, 6, NULL, "org.apache.avro.AvroRuntimeException: Not a message: x");
  _decode_reply(out, FALSE, &resp, dec, &frame);
  assert_true(resp.has_result && resp.is_error);
  assert_int_equal(resp.error_len, strlen("org.apache.avro.AvroRuntimeException: Not a message: x"));
  assert_memory_equal(resp.error, "org.apache.avro.AvroRuntimeException", 36);
  assert_memory_equal(out->data + 12, "\x00\x01\x00\x6c", 4); /* metadata, flag 1, branch 0, length 54 */

  g_byte_array_set_size(out, 0);
  relay_avro_encode_handshake_reply(out, 7, NULL); /* ping on an established connection */
  _assert_bytes(out->data, out->len, "00000007 00000001 00000000");
  _decode_reply(out, FALSE, &resp, dec, &frame);
  assert_false(resp.has_handshake || resp.has_result);
  relay_avro_frame_clear(&frame);
  relay_avro_decoder_free(dec);
  g_byte_array_free(out, TRUE);
}

static void
test_error_reply_truncated_on_utf8_boundary(void **state)
{
  GString *text = g_string_new(NULL);
  GByteArray *out = g_byte_array_new();
  RelayAvroResponse resp;
  RelayAvroLimits limits;
  RelayAvroFrame frame;

  g_string_append_c(text, 'x');
  while (text->len < 70000)
    g_string_append(text, "\xc3\xa9"); /* 2-byte characters: byte 65536 is in the middle of one */
  relay_avro_encode_error_reply(out, 1, NULL, text->str);
  relay_avro_limits_init(&limits);
  limits.max_text_bytes = 1 << 20;
  relay_avro_frame_init(&frame);
  RelayAvroDecoder *dec = relay_avro_decoder_new(&limits);
  _parse_whole(out, &limits, &frame);
  relay_avro_decoder_begin(dec, frame.slices, frame.n_slices);
  assert_int_equal(relay_avro_decode_response(dec, FALSE, &resp), RELAY_AVRO_OK);
  assert_true(resp.is_error);
  assert_int_equal(resp.error_len, 65535);
  assert_true(g_utf8_validate(resp.error, (gssize)resp.error_len, NULL));
  relay_avro_decoder_free(dec);
  relay_avro_frame_clear(&frame);
  g_byte_array_free(out, TRUE);
  g_string_free(text, TRUE);
}

static void
test_response_malformed(void **state)
{
  static const char *const cases[][2] = {
    { "00 02", "error flag not a boolean" },
    { "00 00 06", "status out of range" },
    { "00 01 02 00", "error union branch out of range" },
    { "00 00 00 00", "trailing bytes after response" },
    { "00 00", "message truncated" },
  };
  RelayAvroLimits limits;
  RelayAvroResponse resp;

  relay_avro_limits_init(&limits);
  RelayAvroDecoder *dec = relay_avro_decoder_new(&limits);
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
    {
      gsize len;
      g_autofree guint8 *message = _hex(cases[i][0], &len);
      RelayAvroSlice slice = { message, (guint32)len, 0 };
      relay_avro_decoder_begin(dec, &slice, 1);
      assert_int_equal(relay_avro_decode_response(dec, FALSE, &resp), RELAY_AVRO_ERROR);
      assert_string_equal(relay_avro_decoder_error(dec)->what, cases[i][1]);
    }
  relay_avro_decoder_free(dec);
}

/* ---- handshake ---- */

/* Encodes a request with handshake hs, decodes it server-side and resolves it against cache. */
static RelayAvroResult
_server_handshake(RelayAvroHandshakeCache *cache, const RelayAvroHandshakeRequest *hs,
                  RelayAvroHandshakeResponse *reply, RelayAvroError *err)
{
  GByteArray *pack = g_byte_array_new();
  RelayAvroLimits limits;
  RelayAvroFrame frame;
  RelayAvroHandshakeRequest decoded;
  RelayAvroCall call;
  RelayAvroResult result;

  relay_avro_limits_init(&limits);
  relay_avro_frame_init(&frame);
  RelayAvroDecoder *dec = relay_avro_decoder_new(&limits);
  assert_true(relay_avro_encode_request(pack, 1, hs, RELAY_AVRO_MSG_PING, NULL, 0));
  _parse_whole(pack, &limits, &frame);
  relay_avro_decoder_begin(dec, frame.slices, frame.n_slices);
  assert_int_equal(relay_avro_decode_handshake_request(dec, &decoded), RELAY_AVRO_OK);
  assert_int_equal(decoded.client_protocol_len, hs->client_protocol_len);
  result = relay_avro_handshake_resolve(cache, &decoded, reply, err);
  assert_int_equal(relay_avro_decode_call(dec, &call), RELAY_AVRO_OK);
  assert_int_equal(call.message, RELAY_AVRO_MSG_PING);
  relay_avro_decoder_free(dec);
  relay_avro_frame_clear(&frame);
  g_byte_array_free(pack, TRUE);
  return result;
}

static void
_md5(const char *text, gsize len, guint8 *out)
{
  GChecksum *md5 = g_checksum_new(G_CHECKSUM_MD5);
  gsize out_len = 16;

  g_checksum_update(md5, (const guchar *)text, (gssize)len);
  g_checksum_get_digest(md5, out, &out_len);
  g_checksum_free(md5);
}

static void
test_handshake_both_client_none(void **state)
{
  RelayAvroHandshakeCache *cache = relay_avro_handshake_cache_new();
  RelayAvroHandshakeRequest hs;
  RelayAvroHandshakeResponse reply;
  RelayAvroError err;

  /* Our own client, first request with protocol text: BOTH in one round trip. */
  relay_avro_handshake_request_init(&hs, NULL, TRUE);
  assert_int_equal(_server_handshake(cache, &hs, &reply, &err), RELAY_AVRO_OK);
  assert_int_equal(reply.match, RELAY_AVRO_MATCH_BOTH);
  assert_null(reply.server_protocol);
  assert_false(reply.has_server_hash);
  /* A known Flume hash guessing its own hash as the server's: CLIENT with our protocol. */
  memset(&hs, 0, sizeof hs);
  memcpy(hs.client_hash, _flume_hash, 16);
  memcpy(hs.server_hash, _flume_hash, 16);
  assert_int_equal(_server_handshake(cache, &hs, &reply, &err), RELAY_AVRO_OK);
  assert_int_equal(reply.match, RELAY_AVRO_MATCH_CLIENT);
  assert_non_null(reply.server_protocol);
  /* An unknown hash without text: NONE, the call is not executed, our protocol is sent. */
  memset(hs.client_hash, 0x11, 16);
  memcpy(hs.server_hash, relay_avro_protocol_hash(), 16);
  assert_int_equal(_server_handshake(cache, &hs, &reply, &err), RELAY_AVRO_OK);
  assert_int_equal(reply.match, RELAY_AVRO_MATCH_NONE);
  assert_true(reply.has_server_hash);
  assert_memory_equal(reply.server_hash, relay_avro_protocol_hash(), 16);
  assert_true(relay_avro_handshake_check_response(&reply, &err));
  /* The client resends with its (pretty-printed) text: checked, accepted, BOTH, and its hash learned. */
  gsize len;
  g_autofree char *pretty = _read_idl("flume.avpr", &len);
  _md5(pretty, len, hs.client_hash);
  hs.client_protocol = pretty;
  hs.client_protocol_len = len;
  assert_int_equal(_server_handshake(cache, &hs, &reply, &err), RELAY_AVRO_OK);
  assert_int_equal(reply.match, RELAY_AVRO_MATCH_BOTH);
  hs.client_protocol = NULL;
  hs.client_protocol_len = 0;
  assert_int_equal(_server_handshake(cache, &hs, &reply, &err), RELAY_AVRO_OK);
  assert_int_equal(reply.match, RELAY_AVRO_MATCH_BOTH);
  /* A hash that is not the MD5 of the text is accepted for that request but not learned. */
  memset(hs.client_hash, 0x22, 16);
  hs.client_protocol = pretty;
  hs.client_protocol_len = len;
  assert_int_equal(_server_handshake(cache, &hs, &reply, &err), RELAY_AVRO_OK);
  hs.client_protocol = NULL;
  hs.client_protocol_len = 0;
  assert_int_equal(_server_handshake(cache, &hs, &reply, &err), RELAY_AVRO_OK);
  assert_int_equal(reply.match, RELAY_AVRO_MATCH_NONE);
  /* An incompatible protocol: an error, with the reason. */
  hs.client_protocol = "{\"protocol\":\"Other\",\"messages\":{}}";
  hs.client_protocol_len = strlen(hs.client_protocol);
  assert_int_equal(_server_handshake(cache, &hs, &reply, &err), RELAY_AVRO_ERROR);
  assert_string_equal(err.what, "protocol is not org.apache.flume.source.avro.AvroSourceProtocol");
  relay_avro_handshake_cache_free(cache);
}

static void
test_handshake_client_side(void **state)
{
  RelayAvroHandshakeRequest hs;
  RelayAvroHandshakeResponse none = { RELAY_AVRO_MATCH_NONE, NULL, 0, TRUE, { 0 } };
  RelayAvroResponse resp;
  RelayAvroLimits limits;
  RelayAvroFrame frame;
  RelayAvroError err;
  GByteArray *out = g_byte_array_new();
  const char *bad = "{\"protocol\":\"AvroSourceProtocol\",\"namespace\":\"org.apache.flume.source.avro\"}";

  relay_avro_handshake_request_init(&hs, _flume_hash, FALSE);
  assert_memory_equal(hs.client_hash, relay_avro_protocol_hash(), 16);
  assert_memory_equal(hs.server_hash, _flume_hash, 16);
  assert_null(hs.client_protocol);
  /* The server answers NONE with its protocol: the client sees no result and checks the text. */
  relay_avro_limits_init(&limits);
  relay_avro_frame_init(&frame);
  RelayAvroDecoder *dec = relay_avro_decoder_new(&limits);
  none.server_protocol = relay_avro_protocol_text(&none.server_protocol_len);
  memcpy(none.server_hash, _flume_hash, 16);
  relay_avro_encode_handshake_reply(out, 1, &none);
  _decode_reply(out, TRUE, &resp, dec, &frame);
  assert_true(resp.has_handshake);
  assert_false(resp.has_result);
  assert_int_equal(resp.handshake.match, RELAY_AVRO_MATCH_NONE);
  assert_memory_equal(resp.handshake.server_hash, _flume_hash, 16);
  assert_true(relay_avro_handshake_check_response(&resp.handshake, &err));
  resp.handshake.server_protocol = bad;
  resp.handshake.server_protocol_len = strlen(bad);
  assert_false(relay_avro_handshake_check_response(&resp.handshake, &err));
  assert_string_equal(err.what, "protocol has neither append nor appendBatch");
  relay_avro_decoder_free(dec);
  relay_avro_frame_clear(&frame);
  g_byte_array_free(out, TRUE);
}

/* ---- protocol text ---- */

/* JSON without the whitespace outside strings (flume.avpr has no escapes). */
static char *
_compact_json(const char *text)
{
  GString *out = g_string_new(NULL);
  gboolean in_string = FALSE;

  for (const char *p = text; *p; p++)
    {
      if (*p == '"')
        in_string = !in_string;
      if (in_string || !g_ascii_isspace(*p))
        g_string_append_c(out, *p);
    }
  return g_string_free(out, FALSE);
}

static void
test_protocol_text_and_md5(void **state)
{
  gsize len, ours_len;
  g_autofree char *avpr = _read_idl("flume.avpr", &len);
  g_autofree char *compact = _compact_json(avpr);
  const char *ours = relay_avro_protocol_text(&ours_len);
  guint8 digest[16];
  gsize want_len;
  g_autofree guint8 *want = _hex("30da54059df72d9584b867d5202e2069", &want_len);
  RelayAvroError err;

  assert_string_equal(ours, compact);
  assert_int_equal(ours_len, 509);
  _md5(ours, ours_len, digest);
  assert_memory_equal(digest, want, 16);
  assert_memory_equal(relay_avro_protocol_hash(), want, 16);
  assert_true(relay_avro_protocol_check(ours, ours_len, &err));
  assert_true(relay_avro_protocol_check(avpr, len, &err));
}

static void
_assert_protocol(const char *text, const char *why)
{
  RelayAvroError err = { NULL, 0, 0 };

  if (!why)
    {
      assert_true(relay_avro_protocol_check(text, strlen(text), &err));
      return;
    }
  assert_false(relay_avro_protocol_check(text, strlen(text), &err));
  assert_string_equal(err.what, why);
}

#define P_HEAD "{\"protocol\":\"AvroSourceProtocol\",\"namespace\":\"org.apache.flume.source.avro\","
#define P_STATUS "{\"type\":\"enum\",\"name\":\"Status\",\"symbols\":[\"OK\",\"FAILED\",\"UNKNOWN\"]}"
#define P_EVENT                                                                                              \
  "{\"type\":\"record\",\"name\":\"AvroFlumeEvent\",\"fields\":[{\"name\":\"headers\",\"type\":{\"type\":"   \
  "\"map\",\"values\":\"string\"}},{\"name\":\"body\",\"type\":\"bytes\"}]}"

static void
test_protocol_check_variants(void **state)
{
  /* Python's avro prints with spaces; Java with stringType=String adds avro.java.string; inline types;
   * a fully qualified protocol name without namespace; escapes; a one-message protocol. */
  _assert_protocol(
      "{\"protocol\": \"AvroSourceProtocol\", \"namespace\": \"org.apache.flume.source.avro\", "
      "\"types\": [" P_STATUS ", " P_EVENT "], \"messages\": {\"appendBatch\": {\"request\": "
      "[{\"name\": \"events\", \"type\": {\"type\": \"array\", \"items\": \"AvroFlumeEvent\"}}], "
      "\"response\": \"Status\"}}}",
      NULL);
  _assert_protocol(
      "{\"protocol\":\"org.apache.flume.source.avro.AvroSourceProtocol\",\"types\":[],\"messages\":{"
      "\"append\":{"
      "\"request\":[{\"name\":\"event\",\"type\":{\"type\":\"record\",\"name\":\"org.apache.flume.source."
      "avro."
      "\\u0041vroFlumeEvent\",\"fields\":[{\"name\":\"headers\",\"type\":{\"type\":\"map\",\"values\":{"
      "\"type\":"
      "\"string\",\"avro.java.string\":\"String\"}}},{\"name\":\"body\",\"type\":{\"type\":\"bytes\"}}]}}],"
      "\"response\":" P_STATUS
      ",\"doc\":\"d\\n\\u00e9\\ud83d\\ude00\"},\"appendBatch\":{\"request\":[{\"name\":"
      "\"events\",\"type\":{\"type\":\"array\",\"items\":\"AvroFlumeEvent\"}}],\"response\":\"Status\"},"
      "\"other\":{\"request\":[],\"response\":\"null\",\"one-way\":true}}}",
      NULL);
  _assert_protocol(
      P_HEAD "\"types\":[{\"type\":\"enum\",\"name\":\"Status\",\"symbols\":[\"FAILED\",\"OK\"]}," P_EVENT
             "],\"messages\":{\"append\":{\"request\":[{\"name\":\"event\",\"type\":\"AvroFlumeEvent\"}],"
             "\"response\":\"Status\"}}}",
      "message append: response is not enum Status {OK, FAILED, ...}");
  _assert_protocol(P_HEAD
                   "\"types\":[" P_STATUS ",{\"type\":\"record\",\"name\":\"AvroFlumeEvent\",\"fields\":["
                   "{\"name\":\"body\",\"type\":\"bytes\"},{\"name\":\"headers\",\"type\":{\"type\":\"map\","
                   "\"values\":\"string\"}}]}],\"messages\":{\"append\":{\"request\":[{\"name\":\"event\","
                   "\"type\":\"AvroFlumeEvent\"}],\"response\":\"Status\"}}}",
                   "message append: request is not (AvroFlumeEvent {map<string> headers; bytes body})");
  _assert_protocol(
      P_HEAD "\"types\":[" P_STATUS "," P_EVENT "],\"messages\":{\"appendBatch\":{\"request\":[{\"name\":"
             "\"events\",\"type\":\"AvroFlumeEvent\"}],\"response\":\"Status\"}}}",
      "message appendBatch: request is not (array<AvroFlumeEvent {map<string> headers; bytes body}>)");
  _assert_protocol(P_HEAD
                   "\"types\":[" P_STATUS "," P_EVENT "],\"messages\":{\"append\":{\"request\":[{\"name\":"
                   "\"event\",\"type\":\"AvroFlumeEvent\"}],\"response\":\"Status\",\"one-way\":true}}}",
                   "message append is one-way");
  _assert_protocol(P_HEAD "\"types\":[" P_STATUS "," P_EVENT
                          "],\"messages\":{\"append\":{\"request\":[{\"name\":"
                          "\"event\",\"type\":\"Missing\"}],\"response\":\"Status\"}}}",
                   "message append: request is not (AvroFlumeEvent {map<string> headers; bytes body})");
  _assert_protocol("{\"protocol\":\"AvroSourceProtocol\",\"namespace\":\"com.example\",\"messages\":{}}",
                   "protocol is not org.apache.flume.source.avro.AvroSourceProtocol");
  _assert_protocol(P_HEAD "\"messages\":{}}", "protocol has neither append nor appendBatch");
  _assert_protocol(P_HEAD "\"messages\":{}} x", "protocol text is not valid JSON");
  _assert_protocol(P_HEAD "\"messages\":{\"a\":\"\\ud800\"}}", "protocol text is not valid JSON");
  _assert_protocol(P_HEAD "\"messages\":{\"a\":\"\\q\"}}", "protocol text is not valid JSON");
  _assert_protocol("[1, 2, ", "protocol text is not valid JSON");
  _assert_protocol("", "protocol text is not valid JSON");
  g_autofree char *deep = g_strnfill(40, '[');
  _assert_protocol(deep, "protocol text is not valid JSON");
}

/* ---- round trips ---- */

static void
test_batch_round_trip(void **state)
{
  GPtrArray *events = _random_events(1000, 300, 4);
  GPtrArray *decoded = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  GByteArray *pack = g_byte_array_new();
  struct evbuffer *evbuf = evbuffer_new();
  RelayAvroLimits limits;
  RelayAvroError err;

  relay_avro_limits_init(&limits);
  assert_true(relay_avro_encode_request(pack, 77, NULL, RELAY_AVRO_MSG_APPEND_BATCH,
                                        (RelayEvent **)events->pdata, events->len));
  assert_true(relay_avro_encode_request_evbuffer(evbuf, 77, NULL, RELAY_AVRO_MSG_APPEND_BATCH,
                                                 (RelayEvent **)events->pdata, events->len));
  assert_int_equal(evbuffer_get_length(evbuf), pack->len);
  assert_memory_equal(evbuffer_pullup(evbuf, -1), pack->data, pack->len);
  assert_int_equal(_decode_request(pack, &limits, RELAY_AVRO_MSG_APPEND_BATCH, decoded, &err), RELAY_AVRO_OK);
  assert_int_equal(decoded->len, 1000);
  _assert_same_events((RelayEvent **)events->pdata, (RelayEvent **)decoded->pdata, 1000);
  /* The batch limit is inclusive. */
  limits.max_batch_events = 1000;
  g_ptr_array_set_size(decoded, 0);
  assert_int_equal(_decode_request(pack, &limits, RELAY_AVRO_MSG_APPEND_BATCH, decoded, &err), RELAY_AVRO_OK);
  limits.max_batch_events = 999;
  g_ptr_array_set_size(decoded, 0);
  assert_int_equal(_decode_request(pack, &limits, RELAY_AVRO_MSG_APPEND_BATCH, decoded, &err),
                   RELAY_AVRO_ERROR);
  assert_string_equal(err.what, "events per batch above limit");
  assert_int_equal(err.value, 1000);
  assert_int_equal(decoded->len, 0);
  evbuffer_free(evbuf);
  g_byte_array_free(pack, TRUE);
  g_ptr_array_free(decoded, TRUE);
  g_ptr_array_free(events, TRUE);
}

typedef enum
{
  FUZZ_FRAME_INCOMPLETE,
  FUZZ_FRAME_ERROR,
  FUZZ_PROTOCOL_REJECTED,
  FUZZ_DECODE_ERROR,
  FUZZ_DECODED,
  FUZZ_N
} FuzzOutcome;

/* The whole server-side path on one input: frame, handshake (with a protocol check), call, events. */
static FuzzOutcome
_fuzz_one(const guint8 *input, gsize len, const RelayAvroLimits *limits, RelayAvroFrame *frame,
          RelayAvroDecoder *dec)
{
  GPtrArray *out = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  RelayAvroHandshakeRequest req;
  RelayAvroCall call;
  RelayAvroError err;
  FuzzOutcome outcome = FUZZ_DECODE_ERROR;

  relay_avro_frame_reset(frame);
  RelayAvroResult r = relay_avro_frame_parse(input, len, limits, frame);
  if (r != RELAY_AVRO_OK)
    outcome = r == RELAY_AVRO_NEED_MORE ? FUZZ_FRAME_INCOMPLETE : FUZZ_FRAME_ERROR;
  else
    {
      relay_avro_decoder_begin(dec, frame->slices, frame->n_slices);
      if (relay_avro_decode_handshake_request(dec, &req) == RELAY_AVRO_OK && req.client_protocol
          && !relay_avro_protocol_check(req.client_protocol, req.client_protocol_len, &err))
        outcome = FUZZ_PROTOCOL_REJECTED;
      else if (relay_avro_decode_call(dec, &call) == RELAY_AVRO_OK
               && relay_avro_decode_events(dec, call.message, out) == RELAY_AVRO_OK)
        outcome = FUZZ_DECODED;
    }
  g_ptr_array_free(out, TRUE);
  return outcome;
}

/* Mutated packs, whole and split into 16-byte buffers, must never crash or leak (the sanitizer build
 * checks); every outcome must occur, so the mutations reach every stage. */
static void
test_mutations_are_safe(void **state)
{
  GPtrArray *events = _random_events(20, 40, 5);
  GByteArray *single = g_byte_array_new();
  GRand *rand = g_rand_new_with_seed(6);
  RelayAvroHandshakeRequest hs;
  RelayAvroLimits limits;
  RelayAvroFrame frame;
  guint seen[FUZZ_N] = { 0 };

  relay_avro_limits_init(&limits);
  relay_avro_frame_init(&frame);
  RelayAvroDecoder *dec = relay_avro_decoder_new(&limits);
  relay_avro_handshake_request_init(&hs, NULL, TRUE);
  assert_true(relay_avro_encode_request(single, 1, &hs, RELAY_AVRO_MSG_APPEND_BATCH,
                                        (RelayEvent **)events->pdata, events->len));
  GByteArray *split = _split_pack(single->data + 12, single->len - 12, 16, 1);
  for (guint round = 0; round < 4000; round++)
    {
      GByteArray *pack = round % 2 ? split : single;
      g_autofree guint8 *copy = g_memdup2(pack->data, pack->len);
      for (guint k = (guint)g_rand_int_range(rand, 1, 3); k > 0; k--)
        copy[g_rand_int_range(rand, 0, (gint32)pack->len)] = (guint8)g_rand_int(rand);
      gsize len = round % 8 == 0 ? (gsize)g_rand_int_range(rand, 1, (gint32)pack->len) : pack->len;
      seen[_fuzz_one(copy, len, &limits, &frame, dec)]++;
    }
  for (guint i = 0; i < FUZZ_N; i++)
    assert_true(seen[i] > 0);
  relay_avro_decoder_free(dec);
  relay_avro_frame_clear(&frame);
  g_rand_free(rand);
  g_byte_array_free(single, TRUE);
  g_byte_array_free(split, TRUE);
  g_ptr_array_free(events, TRUE);
}

/* ---- avro-c as a reference codec ---- */

static avro_schema_t
_schema(const char *json, gsize len)
{
  avro_schema_t schema = NULL;

  if (avro_schema_from_json_length(json, len, &schema) != 0)
    fail_msg("avro-c rejected a schema: %s", avro_strerror());
  return schema;
}

static avro_schema_t
_idl_schema(const char *name)
{
  gsize len;
  g_autofree char *json = _read_idl(name, &len);
  return _schema(json, len);
}

/* Encodes events as array<AvroFlumeEvent> with avro-c's generic values; returns the bytes. */
static GByteArray *
_avroc_encode_events(RelayEvent *const *events, guint n)
{
  avro_schema_t schema = _schema(_event_array_schema, strlen(_event_array_schema));
  avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
  avro_value_t array, record, headers, body, value;
  size_t size;

  assert_int_equal(avro_generic_value_new(iface, &array), 0);
  for (guint i = 0; i < n; i++)
    {
      assert_int_equal(avro_value_append(&array, &record, NULL), 0);
      assert_int_equal(avro_value_get_by_name(&record, "headers", &headers, NULL), 0);
      for (guint32 h = 0; h < events[i]->n_headers; h++)
        {
          assert_int_equal(avro_value_add(&headers, events[i]->headers[h].key, &value, NULL, NULL), 0);
          assert_int_equal(avro_value_set_string_len(&value, events[i]->headers[h].value,
                                                     events[i]->headers[h].value_len + 1),
                           0);
        }
      assert_int_equal(avro_value_get_by_name(&record, "body", &body, NULL), 0);
      assert_int_equal(avro_value_set_bytes(&body, (void *)events[i]->body, events[i]->body_len), 0);
    }
  assert_int_equal(avro_value_sizeof(&array, &size), 0);
  GByteArray *out = g_byte_array_sized_new((guint)size);
  g_byte_array_set_size(out, (guint)size);
  avro_writer_t writer = avro_writer_memory((const char *)out->data, (int64_t)size);
  assert_int_equal(avro_value_write(writer, &array), 0);
  assert_int_equal(avro_writer_tell(writer), size);
  avro_writer_free(writer);
  avro_value_decref(&array);
  avro_value_iface_decref(iface);
  avro_schema_decref(schema);
  return out;
}

/* Reads array<AvroFlumeEvent> with avro-c and compares with events. */
static void
_avroc_check_events(const guint8 *data, gsize len, RelayEvent *const *events, guint n)
{
  avro_schema_t schema = _schema(_event_array_schema, strlen(_event_array_schema));
  avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
  avro_reader_t reader = avro_reader_memory((const char *)data, (int64_t)len);
  avro_value_t array, record, headers, body, value;
  size_t count, size;
  const void *bytes;
  const char *key, *str;

  assert_int_equal(avro_generic_value_new(iface, &array), 0);
  assert_int_equal(avro_value_read(reader, &array), 0);
  assert_int_equal(avro_value_get_size(&array, &count), 0);
  assert_int_equal(count, n);
  for (guint i = 0; i < n; i++)
    {
      assert_int_equal(avro_value_get_by_index(&array, i, &record, NULL), 0);
      assert_int_equal(avro_value_get_by_name(&record, "headers", &headers, NULL), 0);
      assert_int_equal(avro_value_get_size(&headers, &count), 0);
      assert_int_equal(count, events[i]->n_headers);
      for (guint32 h = 0; h < events[i]->n_headers; h++)
        {
          assert_int_equal(avro_value_get_by_index(&headers, h, &value, &key), 0);
          assert_int_equal(avro_value_get_string(&value, &str, &size), 0);
          assert_string_equal(key, events[i]->headers[h].key);
          assert_int_equal(size, events[i]->headers[h].value_len + 1);
          assert_memory_equal(str, events[i]->headers[h].value, size - 1);
        }
      assert_int_equal(avro_value_get_by_name(&record, "body", &body, NULL), 0);
      assert_int_equal(avro_value_get_bytes(&body, &bytes, &size), 0);
      assert_int_equal(size, events[i]->body_len);
      if (size)
        assert_memory_equal(bytes, events[i]->body, size);
    }
  avro_reader_free(reader);
  avro_value_decref(&array);
  avro_value_iface_decref(iface);
  avro_schema_decref(schema);
}

static void
test_avroc_encodes_we_decode(void **state)
{
  GPtrArray *events = _random_events(300, 500, 7);
  GByteArray *params = _avroc_encode_events((RelayEvent **)events->pdata, events->len);
  GByteArray *message = g_byte_array_new();
  GPtrArray *decoded = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  RelayAvroLimits limits;
  RelayAvroCall call;

  g_byte_array_append(message,
                      (const guint8 *)"\x00\x16"
                                      "appendBatch",
                      13);
  g_byte_array_append(message, params->data, params->len);
  RelayAvroSlice slice = { message->data, message->len, 0 };
  relay_avro_limits_init(&limits);
  RelayAvroDecoder *dec = relay_avro_decoder_new(&limits);
  relay_avro_decoder_begin(dec, &slice, 1);
  assert_int_equal(relay_avro_decode_call(dec, &call), RELAY_AVRO_OK);
  assert_int_equal(relay_avro_decode_events(dec, call.message, decoded), RELAY_AVRO_OK);
  assert_int_equal(decoded->len, events->len);
  _assert_same_events((RelayEvent **)events->pdata, (RelayEvent **)decoded->pdata, events->len);
  relay_avro_decoder_free(dec);
  g_ptr_array_free(decoded, TRUE);
  g_byte_array_free(message, TRUE);
  g_byte_array_free(params, TRUE);
  g_ptr_array_free(events, TRUE);
}

static void
test_we_encode_avroc_decodes(void **state)
{
  GPtrArray *events = _random_events(300, 500, 8);
  GByteArray *pack = g_byte_array_new();
  const gsize prefix = 12 + 13; /* pack header, metadata + "appendBatch" */

  assert_true(relay_avro_encode_request(pack, 1, NULL, RELAY_AVRO_MSG_APPEND_BATCH,
                                        (RelayEvent **)events->pdata, events->len));
  _avroc_check_events(pack->data + prefix, pack->len - prefix, (RelayEvent **)events->pdata, events->len);
  g_byte_array_free(pack, TRUE);
  g_ptr_array_free(events, TRUE);
}

static void
test_avroc_handshake_request(void **state)
{
  avro_schema_t schema = _idl_schema("HandshakeRequest.avsc");
  avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
  avro_value_t record, field, branch, entry;
  gsize text_len;
  const char *text = relay_avro_protocol_text(&text_len);
  char buf[1024];
  RelayAvroHandshakeRequest hs;
  RelayAvroLimits limits;

  assert_int_equal(avro_generic_value_new(iface, &record), 0);
  avro_value_get_by_name(&record, "clientHash", &field, NULL);
  assert_int_equal(avro_value_set_fixed(&field, (void *)_flume_hash, 16), 0);
  avro_value_get_by_name(&record, "clientProtocol", &field, NULL);
  avro_value_set_branch(&field, 1, &branch);
  assert_int_equal(avro_value_set_string_len(&branch, text, text_len + 1), 0);
  avro_value_get_by_name(&record, "serverHash", &field, NULL);
  assert_int_equal(avro_value_set_fixed(&field, (void *)relay_avro_protocol_hash(), 16), 0);
  avro_value_get_by_name(&record, "meta", &field, NULL);
  avro_value_set_branch(&field, 1, &branch);
  avro_value_add(&branch, "trace", &entry, NULL, NULL);
  avro_value_set_bytes(&entry, (void *)"\x01\x02", 2);
  avro_writer_t writer = avro_writer_memory(buf, sizeof buf);
  assert_int_equal(avro_value_write(writer, &record), 0);
  RelayAvroSlice slice = { (const guint8 *)buf, (guint32)avro_writer_tell(writer), 0 };

  relay_avro_limits_init(&limits);
  RelayAvroDecoder *dec = relay_avro_decoder_new(&limits);
  relay_avro_decoder_begin(dec, &slice, 1);
  assert_int_equal(relay_avro_decode_handshake_request(dec, &hs), RELAY_AVRO_OK);
  assert_int_equal(relay_avro_decoder_remaining(dec), 0);
  assert_memory_equal(hs.client_hash, _flume_hash, 16);
  assert_memory_equal(hs.server_hash, relay_avro_protocol_hash(), 16);
  assert_int_equal(hs.client_protocol_len, text_len);
  assert_memory_equal(hs.client_protocol, text, text_len);
  relay_avro_decoder_free(dec);
  avro_writer_free(writer);
  avro_value_decref(&record);
  avro_value_iface_decref(iface);
  avro_schema_decref(schema);
}

static void
test_avroc_handshake_response(void **state)
{
  avro_schema_t schema = _idl_schema("HandshakeResponse.avsc");
  avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
  avro_value_t record, field, branch;
  RelayAvroHandshakeResponse reply = { RELAY_AVRO_MATCH_CLIENT, NULL, 0, TRUE, { 0 } };
  GByteArray *out = g_byte_array_new();
  int discriminant, symbol;
  const char *str;
  const void *fixed;
  size_t size;

  reply.server_protocol = relay_avro_protocol_text(&reply.server_protocol_len);
  memcpy(reply.server_hash, relay_avro_protocol_hash(), 16);
  relay_avro_encode_handshake_reply(out, 1, &reply);
  avro_reader_t reader = avro_reader_memory((const char *)out->data + 12, out->len - 12);
  assert_int_equal(avro_generic_value_new(iface, &record), 0);
  assert_int_equal(avro_value_read(reader, &record), 0);
  avro_value_get_by_name(&record, "match", &field, NULL);
  assert_int_equal(avro_value_get_enum(&field, &symbol), 0);
  assert_int_equal(symbol, 1);
  avro_value_get_by_name(&record, "serverProtocol", &field, NULL);
  avro_value_get_discriminant(&field, &discriminant);
  assert_int_equal(discriminant, 1);
  avro_value_get_current_branch(&field, &branch);
  assert_int_equal(avro_value_get_string(&branch, &str, &size), 0);
  assert_string_equal(str, reply.server_protocol);
  avro_value_get_by_name(&record, "serverHash", &field, NULL);
  avro_value_get_discriminant(&field, &discriminant);
  assert_int_equal(discriminant, 1);
  avro_value_get_current_branch(&field, &branch);
  assert_int_equal(avro_value_get_fixed(&branch, &fixed, &size), 0);
  assert_int_equal(size, 16);
  assert_memory_equal(fixed, relay_avro_protocol_hash(), 16);
  avro_value_get_by_name(&record, "meta", &field, NULL);
  avro_value_get_discriminant(&field, &discriminant);
  assert_int_equal(discriminant, 0);
  avro_reader_free(reader);
  avro_value_decref(&record);
  avro_value_iface_decref(iface);
  avro_schema_decref(schema);
  g_byte_array_free(out, TRUE);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_worked_example_request),
    cmocka_unit_test(test_worked_example_server_side),
    cmocka_unit_test(test_worked_example_replies),
    cmocka_unit_test(test_worked_example_batch_params),
    cmocka_unit_test(test_frame_one_byte_fragments),
    cmocka_unit_test(test_frame_zero_length_and_many_buffers),
    cmocka_unit_test(test_frame_limits),
    cmocka_unit_test(test_pack_append_multi),
    cmocka_unit_test(test_decode_limits),
    cmocka_unit_test(test_decode_negative_block_counts),
    cmocka_unit_test(test_decode_call_names_and_metadata),
    cmocka_unit_test(test_responses_round_trip),
    cmocka_unit_test(test_error_reply_truncated_on_utf8_boundary),
    cmocka_unit_test(test_response_malformed),
    cmocka_unit_test(test_handshake_both_client_none),
    cmocka_unit_test(test_handshake_client_side),
    cmocka_unit_test(test_protocol_text_and_md5),
    cmocka_unit_test(test_protocol_check_variants),
    cmocka_unit_test(test_batch_round_trip),
    cmocka_unit_test(test_mutations_are_safe),
    cmocka_unit_test(test_avroc_encodes_we_decode),
    cmocka_unit_test(test_we_encode_avroc_decodes),
    cmocka_unit_test(test_avroc_handshake_request),
    cmocka_unit_test(test_avroc_handshake_response),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
