/* test_thrift_proto.c - unit tests of the Thrift codec (src/rpc/thrift_proto.c).
 *
 * Three kinds of checks: exact bytes (a compact append worked out by hand from Thrift's
 * doc/specs/thrift-compact-protocol.md), interoperability with
 * c_glib's own protocol objects and the c_glib code generated from idl/flume.thrift (both directions, compact
 * and binary, through ThriftFramedTransport over a ThriftMemoryBuffer), and hostile input (fragmentation,
 * frame sizes, limits, truncation, unknown fields and methods, the wrong protocol, random corruption). */
#include "thrift_proto.h"
#include "gen-thrift/thrift_source_protocol.h"

#include <string.h>
#include <thrift/c_glib/protocol/thrift_binary_protocol.h>
#include <thrift/c_glib/protocol/thrift_compact_protocol.h>
#include <thrift/c_glib/thrift_application_exception.h>
#include <thrift/c_glib/transport/thrift_framed_transport.h>
#include <thrift/c_glib/transport/thrift_memory_buffer.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

static const RelayThriftProtocol _PROTOCOLS[] = { RELAY_THRIFT_COMPACT, RELAY_THRIFT_BINARY };

/* ---- helpers: events ---- */

/* Event i of a varied sample: 0, 1 or 3 headers (one empty value, one 300 bytes long), bodies of 0 to 400
 * bytes including NUL and 0xff bytes. */
static RelayEvent *
_sample_event(guint i)
{
  char host[32], long_value[300];
  guint8 body[400];
  gsize body_len = i == 0 ? 0 : (i * 37) % 400 + 1;
  guint n_headers = i % 3 == 0 ? 0 : i % 3 == 1 ? 1 : 3;
  RelayHeader headers[3];

  for (gsize b = 0; b < body_len; b++)
    body[b] = (guint8)(b * 7 + i);
  memset(long_value, 'v', sizeof long_value);
  g_snprintf(host, sizeof host, "h%u", i);
  headers[0] = (RelayHeader){ "host", host, 4, (guint32)strlen(host) };
  headers[1] = (RelayHeader){ "empty", "", 5, 0 };
  headers[2] = (RelayHeader){ "long", long_value, 4, sizeof long_value };
  return relay_event_new(headers, n_headers, body, body_len);
}

static GPtrArray *
_sample_events(guint n)
{
  GPtrArray *events = g_ptr_array_new_with_free_func(relay_event_unref_notify);

  for (guint i = 0; i < n; i++)
    g_ptr_array_add(events, _sample_event(i));
  return events;
}

/* Same headers (in any order) and body. */
static void
_assert_event_equal(const RelayEvent *got, const RelayEvent *want)
{
  assert_int_equal(got->n_headers, want->n_headers);
  for (guint32 i = 0; i < want->n_headers; i++)
    {
      const char *value = relay_event_get_header(got, want->headers[i].key);
      assert_non_null(value);
      assert_int_equal(strlen(value), want->headers[i].value_len);
      assert_memory_equal(value, want->headers[i].value, want->headers[i].value_len);
    }
  assert_int_equal(got->body_len, want->body_len);
  if (want->body_len)
    assert_memory_equal(got->body, want->body, want->body_len);
}

static void
_assert_events_equal(GPtrArray *got, GPtrArray *want)
{
  assert_non_null(got);
  assert_int_equal(got->len, want->len);
  for (guint i = 0; i < want->len; i++)
    _assert_event_equal(g_ptr_array_index(got, i), g_ptr_array_index(want, i));
}

/* Decodes the single frame in bytes[0..len) as a call; asserts the frame is complete and exactly len long. */
static RelayThriftResult
_decode_frame(RelayThriftProtocol protocol, const guint8 *bytes, gsize len, const RelayThriftLimits *limits,
              RelayThriftCall *call, RelayThriftError *err)
{
  guint32 frame_len;

  assert_int_equal(relay_thrift_frame_peek(bytes, len, RELAY_THRIFT_DEFAULT_MAX_FRAME, &frame_len, err),
                   RELAY_THRIFT_OK);
  assert_int_equal(frame_len + 4, len);
  return relay_thrift_decode_call(protocol, bytes + 4, frame_len, limits, call, err);
}

/* ---- helpers: c_glib ---- */

typedef struct
{
  ThriftMemoryBuffer *mem;
  ThriftTransport *framed;
  ThriftProtocol *protocol;
  ThriftSourceProtocolIf *client;
} CGlib;

static void
_cglib_open(CGlib *c, RelayThriftProtocol protocol)
{
  c->mem = g_object_new(THRIFT_TYPE_MEMORY_BUFFER, "buf_size", 1024 * 1024, NULL);
  c->framed = g_object_new(THRIFT_TYPE_FRAMED_TRANSPORT, "transport", c->mem, "r_buf_size", 1024 * 1024,
                           "w_buf_size", 1024 * 1024, NULL);
  c->protocol = g_object_new(protocol == RELAY_THRIFT_BINARY ? THRIFT_TYPE_BINARY_PROTOCOL
                                                             : THRIFT_TYPE_COMPACT_PROTOCOL,
                             "transport", c->framed, NULL);
  c->client = g_object_new(TYPE_THRIFT_SOURCE_PROTOCOL_CLIENT, "input_protocol", c->protocol,
                           "output_protocol", c->protocol, NULL);
}

static void
_cglib_close(CGlib *c)
{
  g_object_unref(c->client);
  g_object_unref(c->protocol);
  g_object_unref(c->framed);
  g_object_unref(c->mem);
}

static ThriftFlumeEvent *
_to_cglib_event(const RelayEvent *ev)
{
  ThriftFlumeEvent *te = g_object_new(TYPE_THRIFT_FLUME_EVENT, NULL);

  for (guint32 i = 0; i < ev->n_headers; i++)
    g_hash_table_insert(te->headers, g_strdup(ev->headers[i].key), g_strdup(ev->headers[i].value));
  te->body = g_byte_array_new();
  g_byte_array_append(te->body, ev->body, ev->body_len);
  return te;
}

/* Thrift 0.17's c_glib finalizers (the generated struct ones, and those of the memory buffer, the framed
 * transport and TApplicationException) do not chain up to their parent's, which leaks every object's GObject
 * qdata. The tests wrap them so that they do, to stay leak-free under ASan. */
static struct
{
  GType type;
  GObjectFinalizeFunc own;
  GObjectFinalizeFunc parent;
} _finalize_fixes[8];

static void
_chained_finalize(GObject *object)
{
  for (guint i = 0; i < G_N_ELEMENTS(_finalize_fixes); i++)
    if (G_OBJECT_TYPE(object) == _finalize_fixes[i].type)
      {
        _finalize_fixes[i].own(object);
        _finalize_fixes[i].parent(object);
        return;
      }
}

static void
_fix_cglib_finalizers(void)
{
  GType types[G_N_ELEMENTS(_finalize_fixes)] = {
    TYPE_THRIFT_FLUME_EVENT,
    TYPE_THRIFT_SOURCE_PROTOCOL_APPEND_ARGS,
    TYPE_THRIFT_SOURCE_PROTOCOL_APPEND_RESULT,
    TYPE_THRIFT_SOURCE_PROTOCOL_APPEND_BATCH_ARGS,
    TYPE_THRIFT_SOURCE_PROTOCOL_APPEND_BATCH_RESULT,
    THRIFT_TYPE_MEMORY_BUFFER,
    THRIFT_TYPE_FRAMED_TRANSPORT,
    THRIFT_TYPE_APPLICATION_EXCEPTION,
  };

  for (guint i = 0; i < G_N_ELEMENTS(types); i++)
    {
      GObjectClass *klass = g_type_class_ref(types[i]);
      _finalize_fixes[i].type = types[i];
      _finalize_fixes[i].own = klass->finalize;
      _finalize_fixes[i].parent = G_OBJECT_CLASS(g_type_class_peek_parent(klass))->finalize;
      klass->finalize = _chained_finalize;
    }
}

/* The generated finalizer frees a binary field with thrift_string_free (g_free), which leaks the GByteArray's
 * storage; free the body ourselves first. */
static void
_cglib_event_free(gpointer te)
{
  g_clear_pointer(&THRIFT_FLUME_EVENT(te)->body, g_byte_array_unref);
  g_object_unref(te);
}

static void
_cglib_events_release_bodies(GPtrArray *events)
{
  for (guint i = 0; i < events->len; i++)
    g_clear_pointer(&THRIFT_FLUME_EVENT(g_ptr_array_index(events, i))->body, g_byte_array_unref);
}

static void
_assert_cglib_event(ThriftFlumeEvent *te, const RelayEvent *want)
{
  assert_int_equal(g_hash_table_size(te->headers), want->n_headers);
  for (guint32 i = 0; i < want->n_headers; i++)
    assert_string_equal(g_hash_table_lookup(te->headers, want->headers[i].key), want->headers[i].value);
  assert_int_equal(te->body->len, want->body_len);
  if (want->body_len)
    assert_memory_equal(te->body->data, want->body, want->body_len);
}

/* Writes a message through c_glib (header, struct, flush) so that c->mem->buf holds one frame. */
static void
_cglib_write_message(CGlib *c, const char *name, ThriftMessageType type, gint32 seqid, ThriftStruct *body)
{
  GError *error = NULL;

  assert_true(thrift_protocol_write_message_begin(c->protocol, name, type, seqid, &error) >= 0);
  assert_true(thrift_struct_write(body, c->protocol, &error) >= 0);
  assert_true(thrift_protocol_write_message_end(c->protocol, &error) >= 0);
  assert_true(thrift_transport_flush(c->framed, &error));
  assert_null(error);
}

/* ---- exact bytes ---- */

static const guint8 _FLUME_EXAMPLE_CALL[] = {
  0x00, 0x00, 0x00, 0x1c, 0x82, 0x21, 0x01, 0x06, 'a', 'p', 'p',  'e',  'n', 'd', 0x1c, 0x1b,
  0x01, 0x88, 0x04, 'h',  'o',  's',  't',  0x02, 'h', '1', 0x18, 0x02, 'h', 'i', 0x00, 0x00,
};
static const guint8 _FLUME_EXAMPLE_REPLY[] = {
  0x00, 0x00, 0x00, 0x0e, 0x82, 0x41, 0x01, 0x06, 'a', 'p', 'p', 'e', 'n', 'd', 0x05, 0x00, 0x00, 0x00,
};

static void
test_compact_example_encode(void **state)
{
  RelayEvent *ev = relay_event_new_simple("hi", "host", "h1", NULL);
  GByteArray *out = g_byte_array_new();

  relay_thrift_encode_append(RELAY_THRIFT_COMPACT, 1, ev, out);
  assert_int_equal(out->len, sizeof _FLUME_EXAMPLE_CALL);
  assert_memory_equal(out->data, _FLUME_EXAMPLE_CALL, sizeof _FLUME_EXAMPLE_CALL);
  g_byte_array_set_size(out, 0);
  relay_thrift_encode_reply(RELAY_THRIFT_COMPACT, "append", 6, 1, RELAY_THRIFT_STATUS_OK, out);
  assert_int_equal(out->len, sizeof _FLUME_EXAMPLE_REPLY);
  assert_memory_equal(out->data, _FLUME_EXAMPLE_REPLY, sizeof _FLUME_EXAMPLE_REPLY);
  g_byte_array_unref(out);
  relay_event_unref(ev);
}

static void
test_compact_example_decode(void **state)
{
  RelayThriftCall call;
  RelayThriftError err;
  RelayThriftReply reply;

  assert_int_equal(
      _decode_frame(RELAY_THRIFT_COMPACT, _FLUME_EXAMPLE_CALL, sizeof _FLUME_EXAMPLE_CALL, NULL, &call, &err),
      RELAY_THRIFT_OK);
  assert_int_equal(call.method, RELAY_THRIFT_METHOD_APPEND);
  assert_int_equal(call.seqid, 1);
  assert_false(call.oneway);
  assert_string_equal(call.method_name, "append");
  assert_int_equal(call.events->len, 1);
  RelayEvent *ev = g_ptr_array_index(call.events, 0);
  assert_int_equal(ev->n_headers, 1);
  assert_string_equal(relay_event_get_header(ev, "host"), "h1");
  assert_int_equal(ev->body_len, 2);
  assert_memory_equal(ev->body, "hi", 2);
  relay_thrift_call_clear(&call);
  assert_null(call.events);

  assert_int_equal(relay_thrift_decode_reply(RELAY_THRIFT_COMPACT, _FLUME_EXAMPLE_REPLY + 4,
                                             sizeof _FLUME_EXAMPLE_REPLY - 4, NULL, &reply, &err),
                   RELAY_THRIFT_OK);
  assert_int_equal(reply.type, RELAY_THRIFT_MSG_REPLY);
  assert_int_equal(reply.seqid, 1);
  assert_int_equal(reply.method, RELAY_THRIFT_METHOD_APPEND);
  assert_int_equal(reply.status, RELAY_THRIFT_STATUS_OK);
}

/* Binary protocol reply, byte for byte from the binary spec: strict header, field 0 i32, stop. */
static void
test_binary_reply_bytes(void **state)
{
  static const guint8 want[] = {
    0x00, 0x00, 0x00, 0x1f, 0x80, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x0b, 'a',  'p',  'p',  'e',  'n',  'd',
    'B',  'a',  't',  'c',  'h',  0xff, 0xff, 0xff, 0xfe, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
  };
  GByteArray *out = g_byte_array_new();

  relay_thrift_encode_reply(RELAY_THRIFT_BINARY, "appendBatch", 11, -2, RELAY_THRIFT_STATUS_FAILED, out);
  assert_int_equal(out->len, sizeof want);
  assert_memory_equal(out->data, want, sizeof want);
  g_byte_array_unref(out);
}

/* ---- c_glib -> ours ---- */

/* The generated client's append (seqid 0) and appendBatch, decoded by our codec. */
static void
test_cglib_client_calls_decode(void **state)
{
  for (guint p = 0; p < G_N_ELEMENTS(_PROTOCOLS); p++)
    {
      GPtrArray *want = _sample_events(40);
      GPtrArray *cglib_events = g_ptr_array_new_with_free_func(_cglib_event_free);
      RelayThriftCall call;
      RelayThriftError err;
      GError *error = NULL;
      CGlib c;

      _cglib_open(&c, _PROTOCOLS[p]);
      for (guint i = 0; i < want->len; i++)
        g_ptr_array_add(cglib_events, _to_cglib_event(g_ptr_array_index(want, i)));
      ThriftFlumeEvent *single = g_ptr_array_index(cglib_events, 2);
      assert_true(thrift_source_protocol_client_send_append(c.client, single, &error));
      assert_int_equal(_decode_frame(_PROTOCOLS[p], c.mem->buf->data, c.mem->buf->len, NULL, &call, &err),
                       RELAY_THRIFT_OK);
      assert_int_equal(call.method, RELAY_THRIFT_METHOD_APPEND);
      assert_int_equal(call.seqid, 0);
      assert_int_equal(call.events->len, 1);
      _assert_event_equal(g_ptr_array_index(call.events, 0), g_ptr_array_index(want, 2));
      relay_thrift_call_clear(&call);

      g_byte_array_set_size(c.mem->buf, 0);
      assert_true(thrift_source_protocol_client_send_append_batch(c.client, cglib_events, &error));
      assert_int_equal(_decode_frame(_PROTOCOLS[p], c.mem->buf->data, c.mem->buf->len, NULL, &call, &err),
                       RELAY_THRIFT_OK);
      assert_int_equal(call.method, RELAY_THRIFT_METHOD_APPEND_BATCH);
      assert_string_equal(call.method_name, "appendBatch");
      _assert_events_equal(call.events, want);
      relay_thrift_call_clear(&call);
      assert_null(error);
      _cglib_close(&c);
      g_ptr_array_unref(cglib_events);
      g_ptr_array_unref(want);
    }
}

/* Calls written with c_glib's protocol objects and an explicit seqid (the generated client always sends 0),
 * including an empty appendBatch. */
static void
test_cglib_seqid_and_empty_batch(void **state)
{
  static const gint32 seqids[] = { 0x12345678, -5, G_MAXINT32, G_MININT32 };

  for (guint p = 0; p < G_N_ELEMENTS(_PROTOCOLS); p++)
    for (guint s = 0; s < G_N_ELEMENTS(seqids); s++)
      {
        ThriftSourceProtocolAppendBatchArgs *args
            = g_object_new(TYPE_THRIFT_SOURCE_PROTOCOL_APPEND_BATCH_ARGS, NULL);
        RelayThriftCall call;
        RelayThriftError err;
        CGlib c;

        _cglib_open(&c, _PROTOCOLS[p]);
        args->__isset_events = TRUE;
        _cglib_write_message(&c, "appendBatch", T_CALL, seqids[s], THRIFT_STRUCT(args));
        assert_int_equal(_decode_frame(_PROTOCOLS[p], c.mem->buf->data, c.mem->buf->len, NULL, &call, &err),
                         RELAY_THRIFT_OK);
        assert_int_equal(call.seqid, seqids[s]);
        assert_int_equal(call.events->len, 0);
        relay_thrift_call_clear(&call);
        g_object_unref(args);
        _cglib_close(&c);
      }
}

/* ---- ours -> c_glib ---- */

/* Our appendBatch/append CALLs read back by c_glib's generated argument structs. */
static void
test_our_calls_read_by_cglib(void **state)
{
  for (guint p = 0; p < G_N_ELEMENTS(_PROTOCOLS); p++)
    {
      GPtrArray *events = _sample_events(33);
      GByteArray *out = g_byte_array_new();
      ThriftSourceProtocolAppendBatchArgs *args
          = g_object_new(TYPE_THRIFT_SOURCE_PROTOCOL_APPEND_BATCH_ARGS, NULL);
      GError *error = NULL;
      gchar *name = NULL;
      ThriftMessageType type;
      gint32 seqid;
      CGlib c;

      _cglib_open(&c, _PROTOCOLS[p]);
      relay_thrift_encode_append_batch(_PROTOCOLS[p], 777, (RelayEvent **)events->pdata, events->len, out);
      assert_int_equal(
          out->len,
          4 + relay_thrift_append_batch_size(_PROTOCOLS[p], 777, (RelayEvent **)events->pdata, events->len));
      g_byte_array_append(c.mem->buf, out->data, out->len);
      assert_true(thrift_protocol_read_message_begin(c.protocol, &name, &type, &seqid, &error) > 0);
      assert_string_equal(name, "appendBatch");
      assert_int_equal(type, T_CALL);
      assert_int_equal(seqid, 777);
      assert_true(thrift_struct_read(THRIFT_STRUCT(args), c.protocol, &error) > 0);
      assert_null(error);
      assert_int_equal(args->events->len, events->len);
      for (guint i = 0; i < events->len; i++)
        _assert_cglib_event(g_ptr_array_index(args->events, i), g_ptr_array_index(events, i));
      _cglib_events_release_bodies(args->events);
      g_free(name);
      g_object_unref(args);
      _cglib_close(&c);
      g_byte_array_unref(out);
      g_ptr_array_unref(events);
    }
}

/* With at most one header per event (no hash-order freedom) our CALL bytes equal c_glib's exactly. */
static void
test_our_calls_match_cglib_bytes(void **state)
{
  for (guint p = 0; p < G_N_ELEMENTS(_PROTOCOLS); p++)
    {
      GPtrArray *events = g_ptr_array_new_with_free_func(relay_event_unref_notify);
      GPtrArray *cglib_events = g_ptr_array_new_with_free_func(_cglib_event_free);
      GByteArray *out = g_byte_array_new();
      GError *error = NULL;
      CGlib c;

      for (guint i = 0; i < 20; i++)
        {
          RelayEvent *ev = _sample_event(i * 3 + (i & 1)); /* 0 or 1 header */
          g_ptr_array_add(events, ev);
          g_ptr_array_add(cglib_events, _to_cglib_event(ev));
        }
      _cglib_open(&c, _PROTOCOLS[p]);
      assert_true(thrift_source_protocol_client_send_append_batch(c.client, cglib_events, &error));
      relay_thrift_encode_append_batch(_PROTOCOLS[p], 0, (RelayEvent **)events->pdata, events->len, out);
      assert_int_equal(out->len, c.mem->buf->len);
      assert_memory_equal(out->data, c.mem->buf->data, out->len);

      g_byte_array_set_size(c.mem->buf, 0);
      g_byte_array_set_size(out, 0);
      assert_true(
          thrift_source_protocol_client_send_append(c.client, g_ptr_array_index(cglib_events, 1), &error));
      relay_thrift_encode_append(_PROTOCOLS[p], 0, g_ptr_array_index(events, 1), out);
      assert_int_equal(out->len, c.mem->buf->len);
      assert_memory_equal(out->data, c.mem->buf->data, out->len);
      assert_null(error);
      _cglib_close(&c);
      g_byte_array_unref(out);
      g_ptr_array_unref(cglib_events);
      g_ptr_array_unref(events);
    }
}

/* Our replies for every status, read by the generated client's recv functions. */
static void
test_our_replies_read_by_cglib(void **state)
{
  for (guint p = 0; p < G_N_ELEMENTS(_PROTOCOLS); p++)
    for (gint status = RELAY_THRIFT_STATUS_OK; status <= RELAY_THRIFT_STATUS_UNKNOWN; status++)
      {
        GByteArray *out = g_byte_array_new();
        GError *error = NULL;
        Status got = -1;
        CGlib c;

        _cglib_open(&c, _PROTOCOLS[p]);
        relay_thrift_encode_reply(_PROTOCOLS[p], "append", 6, 9, status, out);
        relay_thrift_encode_reply(_PROTOCOLS[p], "appendBatch", 11, 10, status, out);
        g_byte_array_append(c.mem->buf, out->data, out->len);
        assert_true(thrift_source_protocol_client_recv_append(c.client, &got, &error));
        assert_int_equal(got, status);
        got = -1;
        assert_true(thrift_source_protocol_client_recv_append_batch(c.client, &got, &error));
        assert_int_equal(got, status);
        assert_int_equal(c.mem->buf->len, 0);
        assert_null(error);
        _cglib_close(&c);
        g_byte_array_unref(out);
      }
}

/* Our TApplicationException, read by the generated client: it becomes a GError with the exception's type. */
static void
test_our_exception_read_by_cglib(void **state)
{
  for (guint p = 0; p < G_N_ELEMENTS(_PROTOCOLS); p++)
    {
      GByteArray *out = g_byte_array_new();
      GError *error = NULL;
      Status got = -1;
      CGlib c;

      _cglib_open(&c, _PROTOCOLS[p]);
      relay_thrift_encode_exception(_PROTOCOLS[p], "append", 6, 3, RELAY_THRIFT_EXC_UNKNOWN_METHOD,
                                    "Invalid method name: 'append'", out);
      g_byte_array_append(c.mem->buf, out->data, out->len);
      assert_false(thrift_source_protocol_client_recv_append(c.client, &got, &error));
      assert_non_null(error);
      assert_int_equal(error->domain, THRIFT_APPLICATION_EXCEPTION_ERROR);
      assert_int_equal(error->code, THRIFT_APPLICATION_EXCEPTION_ERROR_UNKNOWN_METHOD);
      assert_non_null(strstr(error->message, "Invalid method name: 'append'"));
      g_clear_error(&error);
      _cglib_close(&c);
      g_byte_array_unref(out);
    }
}

/* Replies and exceptions written by c_glib, decoded by ours. */
static void
test_cglib_replies_decode(void **state)
{
  for (guint p = 0; p < G_N_ELEMENTS(_PROTOCOLS); p++)
    {
      ThriftSourceProtocolAppendBatchResult *result
          = g_object_new(TYPE_THRIFT_SOURCE_PROTOCOL_APPEND_BATCH_RESULT, NULL);
      ThriftApplicationException *xception
          = g_object_new(THRIFT_TYPE_APPLICATION_EXCEPTION, "type",
                         THRIFT_APPLICATION_EXCEPTION_ERROR_INTERNAL_ERROR, "message", "boom", NULL);
      RelayThriftReply reply;
      RelayThriftError err;
      CGlib c;

      _cglib_open(&c, _PROTOCOLS[p]);
      result->success = STATUS_FAILED;
      result->__isset_success = TRUE;
      _cglib_write_message(&c, "appendBatch", T_REPLY, -42, THRIFT_STRUCT(result));
      assert_int_equal(relay_thrift_decode_reply(_PROTOCOLS[p], c.mem->buf->data + 4, c.mem->buf->len - 4,
                                                 NULL, &reply, &err),
                       RELAY_THRIFT_OK);
      assert_int_equal(reply.type, RELAY_THRIFT_MSG_REPLY);
      assert_int_equal(reply.seqid, -42);
      assert_int_equal(reply.method, RELAY_THRIFT_METHOD_APPEND_BATCH);
      assert_int_equal(reply.status, RELAY_THRIFT_STATUS_FAILED);

      g_byte_array_set_size(c.mem->buf, 0);
      _cglib_write_message(&c, "append", T_EXCEPTION, 5, THRIFT_STRUCT(xception));
      assert_int_equal(relay_thrift_decode_reply(_PROTOCOLS[p], c.mem->buf->data + 4, c.mem->buf->len - 4,
                                                 NULL, &reply, &err),
                       RELAY_THRIFT_OK);
      assert_int_equal(reply.type, RELAY_THRIFT_MSG_EXCEPTION);
      assert_int_equal(reply.seqid, 5);
      assert_int_equal(reply.method, RELAY_THRIFT_METHOD_APPEND);
      assert_int_equal(reply.exception_type, RELAY_THRIFT_EXC_INTERNAL_ERROR);
      assert_string_equal(reply.exception_message, "boom");

      /* A result without field 0 is not a status. */
      g_byte_array_set_size(c.mem->buf, 0);
      result->__isset_success = FALSE;
      _cglib_write_message(&c, "appendBatch", T_REPLY, 1, THRIFT_STRUCT(result));
      assert_int_equal(relay_thrift_decode_reply(_PROTOCOLS[p], c.mem->buf->data + 4, c.mem->buf->len - 4,
                                                 NULL, &reply, &err),
                       RELAY_THRIFT_ERROR);
      assert_string_equal(err.reason, "reply without status");
      g_object_unref(xception);
      g_object_unref(result);
      _cglib_close(&c);
    }
}

/* ---- unknown fields, unknown methods ---- */

/* Writes field id/type with c_glib's protocol and a value for it (to be skipped by our decoder). */
static void
_cglib_write_extra_field(ThriftProtocol *proto, gint16 id, ThriftType type)
{
  GError *error = NULL;

  assert_true(thrift_protocol_write_field_begin(proto, "x", type, id, &error) >= 0);
  switch (type)
    {
    case T_BOOL:
      thrift_protocol_write_bool(proto, TRUE, &error);
      break;
    case T_I64:
      thrift_protocol_write_i64(proto, -123456789012345, &error);
      break;
    case T_DOUBLE:
      thrift_protocol_write_double(proto, 2.5, &error);
      break;
    case T_LIST:
      thrift_protocol_write_list_begin(proto, T_STRING, 20, &error);
      for (int i = 0; i < 20; i++)
        thrift_protocol_write_string(proto, "skipped", &error);
      thrift_protocol_write_list_end(proto, &error);
      break;
    case T_MAP:
      thrift_protocol_write_map_begin(proto, T_I32, T_BOOL, 2, &error);
      for (int i = 0; i < 2; i++)
        {
          thrift_protocol_write_i32(proto, i - 7, &error);
          thrift_protocol_write_bool(proto, i, &error);
        }
      thrift_protocol_write_map_end(proto, &error);
      break;
    case T_STRUCT:
      thrift_protocol_write_struct_begin(proto, "nested", &error);
      _cglib_write_extra_field(proto, 1, T_BOOL);
      _cglib_write_extra_field(proto, 300, T_LIST);
      thrift_protocol_write_field_stop(proto, &error);
      thrift_protocol_write_struct_end(proto, &error);
      break;
    default:
      thrift_protocol_write_i32(proto, 99, &error);
      break;
    }
  thrift_protocol_write_field_end(proto, &error);
  assert_null(error);
}

/* A newer client's event with extra fields (before, between and after the known ones, ids out of order, a
 * known id with an unexpected type): the extras are skipped, the event is decoded. */
static void
test_unknown_fields_skipped(void **state)
{
  for (guint p = 0; p < G_N_ELEMENTS(_PROTOCOLS); p++)
    {
      RelayThriftCall call;
      RelayThriftError err;
      GError *error = NULL;
      CGlib c;

      _cglib_open(&c, _PROTOCOLS[p]);
      ThriftProtocol *proto = c.protocol;
      thrift_protocol_write_message_begin(proto, "append", T_CALL, 11, &error);
      thrift_protocol_write_struct_begin(proto, "args", &error);
      _cglib_write_extra_field(proto, 5, T_I64);
      thrift_protocol_write_field_begin(proto, "event", T_STRUCT, 1, &error);
      thrift_protocol_write_struct_begin(proto, "ThriftFlumeEvent", &error);
      _cglib_write_extra_field(proto, 7, T_BOOL);
      _cglib_write_extra_field(proto, 2, T_I32); /* known id, wrong type: skipped like generated code does */
      thrift_protocol_write_field_begin(proto, "headers", T_MAP, 1, &error);
      thrift_protocol_write_map_begin(proto, T_STRING, T_STRING, 1, &error);
      thrift_protocol_write_string(proto, "k", &error);
      thrift_protocol_write_string(proto, "v", &error);
      thrift_protocol_write_map_end(proto, &error);
      thrift_protocol_write_field_end(proto, &error);
      _cglib_write_extra_field(proto, 40, T_STRUCT);
      _cglib_write_extra_field(proto, 3, T_MAP);
      thrift_protocol_write_field_begin(proto, "body", T_STRING, 2, &error);
      thrift_protocol_write_binary(proto, (gpointer) "body!", 5, &error);
      thrift_protocol_write_field_end(proto, &error);
      _cglib_write_extra_field(proto, -1, T_DOUBLE);
      _cglib_write_extra_field(proto, 1000, T_LIST);
      thrift_protocol_write_field_stop(proto, &error);
      thrift_protocol_write_struct_end(proto, &error);
      thrift_protocol_write_field_end(proto, &error);
      _cglib_write_extra_field(proto, 2, T_STRUCT);
      thrift_protocol_write_field_stop(proto, &error);
      thrift_protocol_write_struct_end(proto, &error);
      thrift_protocol_write_message_end(proto, &error);
      thrift_transport_flush(c.framed, &error);
      assert_null(error);

      assert_int_equal(_decode_frame(_PROTOCOLS[p], c.mem->buf->data, c.mem->buf->len, NULL, &call, &err),
                       RELAY_THRIFT_OK);
      assert_int_equal(call.seqid, 11);
      assert_int_equal(call.events->len, 1);
      RelayEvent *ev = g_ptr_array_index(call.events, 0);
      assert_string_equal(relay_event_get_header(ev, "k"), "v");
      assert_int_equal(ev->body_len, 5);
      assert_memory_equal(ev->body, "body!", 5);
      relay_thrift_call_clear(&call);
      _cglib_close(&c);
    }
}

/* An unknown method is answered, not dropped: the result carries name and seqid; its arguments are skipped.
 */
static void
test_unknown_method(void **state)
{
  for (guint p = 0; p < G_N_ELEMENTS(_PROTOCOLS); p++)
    {
      ThriftSourceProtocolAppendBatchArgs *args
          = g_object_new(TYPE_THRIFT_SOURCE_PROTOCOL_APPEND_BATCH_ARGS, NULL);
      GByteArray *out = g_byte_array_new();
      RelayThriftCall call;
      RelayThriftError err;
      RelayThriftReply reply;
      CGlib c;

      RelayEvent *ev = _sample_event(2);
      g_ptr_array_add(args->events, _to_cglib_event(ev));
      relay_event_unref(ev);
      args->__isset_events = TRUE;
      _cglib_open(&c, _PROTOCOLS[p]);
      _cglib_write_message(&c, "appendBatchV2", T_CALL, 4242, THRIFT_STRUCT(args));
      assert_int_equal(_decode_frame(_PROTOCOLS[p], c.mem->buf->data, c.mem->buf->len, NULL, &call, &err),
                       RELAY_THRIFT_UNKNOWN_METHOD);
      assert_int_equal(call.method, RELAY_THRIFT_METHOD_UNKNOWN);
      assert_true(call.have_header);
      assert_int_equal(call.seqid, 4242);
      assert_string_equal(call.method_name, "appendBatchV2");
      assert_int_equal(call.method_name_len, 13);
      assert_null(call.events);

      relay_thrift_encode_exception(_PROTOCOLS[p], call.method_name, call.method_name_len, call.seqid,
                                    RELAY_THRIFT_EXC_UNKNOWN_METHOD, "Invalid method name: 'appendBatchV2'",
                                    out);
      relay_thrift_call_clear(&call);
      assert_int_equal(
          relay_thrift_decode_reply(_PROTOCOLS[p], out->data + 4, out->len - 4, NULL, &reply, &err),
          RELAY_THRIFT_OK);
      assert_int_equal(reply.type, RELAY_THRIFT_MSG_EXCEPTION);
      assert_int_equal(reply.seqid, 4242);
      assert_int_equal(reply.method, RELAY_THRIFT_METHOD_UNKNOWN);
      assert_int_equal(reply.exception_type, RELAY_THRIFT_EXC_UNKNOWN_METHOD);
      assert_string_equal(reply.exception_message, "Invalid method name: 'appendBatchV2'");
      _cglib_events_release_bodies(args->events);
      g_object_unref(args);
      g_byte_array_unref(out);
      _cglib_close(&c);
    }
}

/* ---- framing ---- */

static void
test_frame_sizes(void **state)
{
  static const guint8 zero[] = { 0, 0, 0, 0 }, negative[] = { 0xff, 0xff, 0xff, 0xfe },
                      over[] = { 0x00, 0xfa, 0x00, 0x01 }, max[] = { 0x00, 0xfa, 0x00, 0x00 },
                      http[] = { 'P', 'O', 'S', 'T' };
  RelayThriftError err;
  guint32 frame_len = 99;

  assert_int_equal(relay_thrift_frame_peek(zero, 3, 16384000, &frame_len, &err), RELAY_THRIFT_NEED_MORE);
  assert_int_equal(frame_len, 0);
  assert_int_equal(relay_thrift_frame_peek(zero, 4, 16384000, &frame_len, &err), RELAY_THRIFT_ERROR);
  assert_string_equal(err.reason, "frame size 0");
  assert_int_equal(relay_thrift_frame_peek(negative, 4, 16384000, &frame_len, &err), RELAY_THRIFT_ERROR);
  assert_string_equal(err.reason, "negative frame size");
  assert_int_equal(err.value, -2);
  assert_int_equal(relay_thrift_frame_peek(over, 4, 16384000, &frame_len, &err), RELAY_THRIFT_ERROR);
  assert_string_equal(err.reason, "frame size above limit");
  assert_int_equal(err.value, 16384001);
  assert_int_equal(err.limit, 16384000);
  assert_int_equal(relay_thrift_frame_peek(http, 4, 16384000, &frame_len, &err), RELAY_THRIFT_ERROR);
  /* Exactly the limit is accepted (and only waits for the bytes). */
  assert_int_equal(relay_thrift_frame_peek(max, 4, 16384000, &frame_len, &err), RELAY_THRIFT_NEED_MORE);
  assert_int_equal(frame_len, 16384000);

  /* The reader refuses the same prefixes before allocating anything, and keeps refusing. */
  RelayThriftFrameReader reader;
  gsize used;
  relay_thrift_frame_reader_init(&reader, 16384000);
  assert_int_equal(relay_thrift_frame_reader_feed(&reader, over, 4, &used, &err), RELAY_THRIFT_ERROR);
  assert_null(reader.frame);
  assert_int_equal(relay_thrift_frame_reader_feed(&reader, zero, 4, &used, &err), RELAY_THRIFT_ERROR);
  relay_thrift_frame_reader_clear(&reader);
  assert_int_equal(relay_thrift_frame_reader_feed(&reader, zero, 4, &used, &err), RELAY_THRIFT_ERROR);
  assert_string_equal(err.reason, "frame size 0");
  relay_thrift_frame_reader_clear(&reader);
}

/* Two frames fed one byte at a time: NEED_MORE until each is complete, then the same decode as in one piece.
 */
static void
test_fragmented_feed(void **state)
{
  for (guint p = 0; p < G_N_ELEMENTS(_PROTOCOLS); p++)
    {
      GPtrArray *events = _sample_events(17);
      GByteArray *stream = g_byte_array_new();
      RelayThriftFrameReader reader;
      RelayThriftError err;
      guint frames = 0;

      relay_thrift_encode_append_batch(_PROTOCOLS[p], 1, (RelayEvent **)events->pdata, events->len, stream);
      guint first_len = stream->len;
      relay_thrift_encode_append(_PROTOCOLS[p], 2, g_ptr_array_index(events, 5), stream);
      relay_thrift_frame_reader_init(&reader, RELAY_THRIFT_DEFAULT_MAX_FRAME);
      for (guint i = 0; i < stream->len; i++)
        {
          guint32 frame_len;
          gsize used;
          RelayThriftResult peeked = relay_thrift_frame_peek(stream->data, i + 1, 1 << 20, &frame_len, &err);
          RelayThriftResult fed = relay_thrift_frame_reader_feed(&reader, stream->data + i, 1, &used, &err);
          gboolean last_byte = i + 1 == first_len || i + 1 == stream->len;
          assert_int_equal(used, 1);
          assert_int_equal(fed, last_byte ? RELAY_THRIFT_OK : RELAY_THRIFT_NEED_MORE);
          assert_int_equal(peeked, i + 1 >= first_len ? RELAY_THRIFT_OK : RELAY_THRIFT_NEED_MORE);
          if (fed != RELAY_THRIFT_OK)
            continue;
          RelayThriftCall call;
          assert_int_equal(
              relay_thrift_decode_call(_PROTOCOLS[p], reader.frame, reader.frame_len, NULL, &call, &err),
              RELAY_THRIFT_OK);
          assert_int_equal(call.seqid, ++frames);
          if (frames == 1)
            _assert_events_equal(call.events, events);
          else
            _assert_event_equal(g_ptr_array_index(call.events, 0), g_ptr_array_index(events, 5));
          relay_thrift_call_clear(&call);
        }
      assert_int_equal(frames, 2);

      /* The whole stream in one feed stops after the first frame. */
      gsize used;
      assert_int_equal(relay_thrift_frame_reader_feed(&reader, stream->data, stream->len, &used, &err),
                       RELAY_THRIFT_OK);
      assert_int_equal(used, first_len);
      assert_int_equal(reader.frame_len, first_len - 4);
      assert_int_equal(
          relay_thrift_frame_reader_feed(&reader, stream->data + used, stream->len - used, &used, &err),
          RELAY_THRIFT_OK);
      assert_int_equal(used, stream->len - first_len);
      relay_thrift_frame_reader_clear(&reader);
      g_byte_array_unref(stream);
      g_ptr_array_unref(events);
    }
}

/* ---- limits and hostile input ---- */

static void
_assert_call_error(RelayThriftProtocol protocol, const guint8 *msg, gsize len,
                   const RelayThriftLimits *limits, const char *reason, gint64 value, gint64 limit)
{
  RelayThriftCall call;
  RelayThriftError err;

  assert_int_equal(relay_thrift_decode_call(protocol, msg, len, limits, &call, &err), RELAY_THRIFT_ERROR);
  assert_null(call.events);
  assert_string_equal(err.reason, reason);
  assert_int_equal(err.value, value);
  assert_int_equal(err.limit, limit);
  relay_thrift_call_clear(&call);
}

static void
test_limits(void **state)
{
  for (guint p = 0; p < G_N_ELEMENTS(_PROTOCOLS); p++)
    {
      GPtrArray *events = _sample_events(30);
      GByteArray *out = g_byte_array_new();
      RelayThriftLimits limits;
      const guint8 *msg;
      gsize len;

      relay_thrift_encode_append_batch(_PROTOCOLS[p], 1, (RelayEvent **)events->pdata, events->len, out);
      msg = out->data + 4;
      len = out->len - 4;
      relay_thrift_limits_init(&limits);
      limits.max_events = 29;
      _assert_call_error(_PROTOCOLS[p], msg, len, &limits, "too many events", 30, 29);
      relay_thrift_limits_init(&limits);
      limits.max_headers = 2;
      _assert_call_error(_PROTOCOLS[p], msg, len, &limits, "too many headers", 3, 2);
      relay_thrift_limits_init(&limits);
      limits.max_string = 299;
      _assert_call_error(_PROTOCOLS[p], msg, len, &limits, "header length above limit", 300, 299);
      relay_thrift_limits_init(&limits);
      limits.max_body = 100; /* event 3 has a 112-byte body */
      _assert_call_error(_PROTOCOLS[p], msg, len, &limits, "body length above limit", 112, 100);
      relay_thrift_limits_init(&limits);
      limits.max_events = 30;
      limits.max_headers = 3;
      limits.max_string = 300;
      limits.max_body = 400;
      RelayThriftCall call;
      assert_int_equal(relay_thrift_decode_call(_PROTOCOLS[p], msg, len, &limits, &call, NULL),
                       RELAY_THRIFT_OK);
      _assert_events_equal(call.events, events);
      relay_thrift_call_clear(&call);
      g_byte_array_unref(out);
      g_ptr_array_unref(events);
    }
}

/* Huge counts and lengths in tiny messages fail as truncated without allocating for them (ASan would report
 * an allocation of that size). */
static void
test_huge_claims_in_small_message(void **state)
{
  static const guint8 compact_list[] = { 0x82, 0x21, 0x01, 0x0b, 'a',  'p',  'p',  'e',  'n',  'd',  'B', 'a',
                                         't',  'c',  'h',  0x19, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00 };
  static const guint8 compact_map[]
      = { 0x82, 0x21, 0x01, 0x06, 'a', 'p', 'p', 'e', 'n', 'd', 0x1c, 0x1b, 0xe0, 0xd4, 0x03, 0x88, 0x00 };
  static const guint8 compact_body[] = { 0x82, 0x21, 0x01, 0x06, 'a',  'p',  'p',  'e',  'n',  'd',
                                         0x1c, 0x1b, 0x00, 0x18, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x00 };
  static const guint8 binary_list[]
      = { 0x80, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0b, 'a',  'p',  'p',  'e',  'n',  'd',  'B',  'a',
          't',  'c',  'h',  0x00, 0x00, 0x00, 0x01, 0x0f, 0x00, 0x01, 0x0c, 0x7f, 0xff, 0xff, 0xff, 0x00 };
  static const guint8 binary_negative[]
      = { 0x80, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0b, 'a',  'p',  'p',  'e',  'n',  'd',  'B',  'a',
          't',  'c',  'h',  0x00, 0x00, 0x00, 0x01, 0x0f, 0x00, 0x01, 0x0c, 0xff, 0xff, 0xff, 0xff, 0x00 };
  RelayThriftLimits limits;

  relay_thrift_limits_init(&limits);
  limits.max_events = G_MAXUINT32;
  limits.max_headers = G_MAXUINT32;
  limits.max_body = G_MAXUINT32;
  _assert_call_error(RELAY_THRIFT_COMPACT, compact_list, sizeof compact_list, &limits, "truncated message",
                     G_MAXINT32, 1);
  _assert_call_error(RELAY_THRIFT_COMPACT, compact_map, sizeof compact_map, &limits, "truncated message",
                     120000, 1);
  _assert_call_error(RELAY_THRIFT_COMPACT, compact_body, sizeof compact_body, &limits, "truncated message",
                     0xfffffff, 2);
  _assert_call_error(RELAY_THRIFT_BINARY, binary_list, sizeof binary_list, &limits, "truncated message",
                     G_MAXINT32, 1);
  _assert_call_error(RELAY_THRIFT_BINARY, binary_negative, sizeof binary_negative, &limits, "negative size",
                     -1, -1);
  /* With default limits the claims break the limits first. */
  _assert_call_error(RELAY_THRIFT_COMPACT, compact_list, sizeof compact_list, NULL, "too many events",
                     G_MAXINT32, 100000);
  _assert_call_error(RELAY_THRIFT_COMPACT, compact_map, sizeof compact_map, NULL, "too many headers", 60000,
                     1024);
}

/* Every proper prefix of a valid message is an error, never a crash or a partial success. */
static void
test_truncated_messages(void **state)
{
  for (guint p = 0; p < G_N_ELEMENTS(_PROTOCOLS); p++)
    {
      GPtrArray *events = _sample_events(5);
      GByteArray *out = g_byte_array_new();

      relay_thrift_encode_append_batch(_PROTOCOLS[p], 1, (RelayEvent **)events->pdata, events->len, out);
      for (gsize len = 0; len < out->len - 4; len++)
        {
          /* Copy so that ASan sees reads past the prefix. */
          guint8 *copy = g_memdup2(out->data + 4, len);
          RelayThriftCall call;
          RelayThriftError err;
          assert_int_equal(relay_thrift_decode_call(_PROTOCOLS[p], copy, len, NULL, &call, &err),
                           RELAY_THRIFT_ERROR);
          assert_string_equal(err.reason, "truncated message");
          assert_null(call.events);
          g_free(copy);
        }
      /* And trailing bytes after a complete message are refused. */
      g_byte_array_append(out, (const guint8 *)"x", 1);
      _assert_call_error(_PROTOCOLS[p], out->data + 4, out->len - 4, NULL, "trailing bytes after message", 1,
                         0);
      g_byte_array_unref(out);
      g_ptr_array_unref(events);
    }
}

/* A binary client talking to a compact source (and the reverse) gets a clear error. */
static void
test_protocol_mismatch(void **state)
{
  GPtrArray *events = _sample_events(3);
  GByteArray *compact = g_byte_array_new(), *binary = g_byte_array_new();

  relay_thrift_encode_append_batch(RELAY_THRIFT_COMPACT, 1, (RelayEvent **)events->pdata, 3, compact);
  relay_thrift_encode_append_batch(RELAY_THRIFT_BINARY, 1, (RelayEvent **)events->pdata, 3, binary);
  _assert_call_error(RELAY_THRIFT_COMPACT, binary->data + 4, binary->len - 4, NULL,
                     "not a compact protocol message", 0x80, 0x82);
  _assert_call_error(RELAY_THRIFT_BINARY, compact->data + 4, compact->len - 4, NULL,
                     "not a binary protocol message", (gint32)0x8221010b, (gint32)0x80010000);
  g_byte_array_unref(compact);
  g_byte_array_unref(binary);
  g_ptr_array_unref(events);
}

/* Other malformed headers and structures. */
static void
test_malformed(void **state)
{
  static const guint8 reply_as_call[] = { 0x82, 0x41, 0x01, 0x06, 'a', 'p', 'p', 'e', 'n', 'd', 0x00 };
  static const guint8 bad_version[] = { 0x82, 0x22, 0x01, 0x06, 'a', 'p', 'p', 'e', 'n', 'd', 0x00 };
  static const guint8 no_event[] = { 0x82, 0x21, 0x01, 0x06, 'a', 'p', 'p', 'e', 'n', 'd', 0x00 };
  static const guint8 no_body[]
      = { 0x82, 0x21, 0x01, 0x06, 'a', 'p', 'p', 'e', 'n', 'd', 0x1c, 0x1b, 0x00, 0x00, 0x00 };
  static const guint8 int_headers[] = { 0x82, 0x21, 0x01, 0x06, 'a',  'p',  'p',  'e',  'n',
                                        'd',  0x1c, 0x1b, 0x01, 0x55, 0x02, 0x02, 0x00, 0x00 };
  static const guint8 list_of_i32[] = { 0x82, 0x21, 0x01, 0x0b, 'a', 'p',  'p',  'e',  'n', 'd',
                                        'B',  'a',  't',  'c',  'h', 0x19, 0x15, 0x02, 0x00 };
  static const guint8 long_varint[] = { 0x82, 0x21, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00 };
  static const guint8 bad_type[] = { 0x82, 0x21, 0x01, 0x06, 'a', 'p', 'p', 'e', 'n', 'd', 0x1e, 0x00 };
  guint8 long_name[300] = { 0x82, 0x21, 0x01, 0xa0, 0x02 }; /* name length 288 */

  _assert_call_error(RELAY_THRIFT_COMPACT, reply_as_call, sizeof reply_as_call, NULL, "message is not a call",
                     2, 1);
  _assert_call_error(RELAY_THRIFT_COMPACT, bad_version, sizeof bad_version, NULL,
                     "unsupported compact protocol version", 2, 1);
  _assert_call_error(RELAY_THRIFT_COMPACT, no_event, sizeof no_event, NULL, "required argument missing", 1,
                     -1);
  _assert_call_error(RELAY_THRIFT_COMPACT, no_body, sizeof no_body, NULL, "required event field missing", 2,
                     -1);
  _assert_call_error(RELAY_THRIFT_COMPACT, int_headers, sizeof int_headers, NULL,
                     "headers are not a map<string,string>", 0x808 /* i32, i32 */, -1);
  _assert_call_error(RELAY_THRIFT_COMPACT, list_of_i32, sizeof list_of_i32, NULL,
                     "event list elements are not structs", 8, 12);
  _assert_call_error(RELAY_THRIFT_COMPACT, long_varint, sizeof long_varint, NULL, "varint too long", 5, 5);
  _assert_call_error(RELAY_THRIFT_COMPACT, bad_type, sizeof bad_type, NULL, "unknown field type", 14, -1);
  _assert_call_error(RELAY_THRIFT_COMPACT, long_name, sizeof long_name, NULL, "method name too long", 288,
                     255);
}

/* Unknown fields nested deeper than max_depth are refused, not recursed into without bound. */
static void
test_nesting_depth(void **state)
{
  GByteArray *msg = g_byte_array_new();
  static const guint8 header[] = { 0x82, 0x21, 0x01, 0x06, 'a', 'p', 'p', 'e', 'n', 'd' };
  RelayThriftLimits limits;

  g_byte_array_append(msg, header, sizeof header);
  for (int i = 0; i < 100; i++)
    g_byte_array_append(msg, (const guint8 *)"\x1c", 1); /* field +1, struct */
  for (int i = 0; i < 101; i++)
    g_byte_array_append(msg, (const guint8 *)"", 1);
  relay_thrift_limits_init(&limits);
  /* The first struct is the event argument; deeper ones are unknown fields of it. */
  _assert_call_error(RELAY_THRIFT_COMPACT, msg->data, msg->len, &limits, "nesting too deep", 65, 64);
  limits.max_depth = 200;
  _assert_call_error(RELAY_THRIFT_COMPACT, msg->data, msg->len, &limits, "required event field missing", 1,
                     -1);
  g_byte_array_unref(msg);
}

/* Old-style (non-strict) binary message headers are accepted, as Java servers do. */
static void
test_binary_non_strict_header(void **state)
{
  GByteArray *msg = g_byte_array_new();
  GByteArray *strict = g_byte_array_new();
  RelayEvent *ev = relay_event_new_simple("b", "k", "v", NULL);
  static const guint8 header[] = { 0, 0, 0, 6, 'a', 'p', 'p', 'e', 'n', 'd', 0x01, 0, 0, 0, 9 };
  RelayThriftCall call;
  RelayThriftError err;

  relay_thrift_encode_append(RELAY_THRIFT_BINARY, 9, ev, strict);
  g_byte_array_append(msg, header, sizeof header);
  /* strict frame: 4 length + 4 version + 4+6 name + 4 seqid = 22 bytes before the arguments */
  g_byte_array_append(msg, strict->data + 22, strict->len - 22);
  assert_int_equal(relay_thrift_decode_call(RELAY_THRIFT_BINARY, msg->data, msg->len, NULL, &call, &err),
                   RELAY_THRIFT_OK);
  assert_int_equal(call.seqid, 9);
  _assert_event_equal(g_ptr_array_index(call.events, 0), ev);
  relay_thrift_call_clear(&call);
  relay_event_unref(ev);
  g_byte_array_unref(strict);
  g_byte_array_unref(msg);
}

/* Random corruption of valid messages: decoding returns OK or ERROR, never crashes (run under ASan). */
static void
test_random_corruption(void **state)
{
  GRand *rand = g_rand_new_with_seed(4);

  for (guint p = 0; p < G_N_ELEMENTS(_PROTOCOLS); p++)
    {
      GPtrArray *events = _sample_events(6);
      GByteArray *out = g_byte_array_new();
      guint ok = 0, errors = 0;

      relay_thrift_encode_append_batch(_PROTOCOLS[p], 1, (RelayEvent **)events->pdata, events->len, out);
      for (int round = 0; round < 3000; round++)
        {
          guint8 *copy = g_memdup2(out->data + 4, out->len - 4);
          for (int k = g_rand_int_range(rand, 1, 4); k > 0; k--)
            copy[g_rand_int_range(rand, 0, (gint32)out->len - 4)] = (guint8)g_rand_int(rand);
          RelayThriftCall call;
          RelayThriftReply reply;
          RelayThriftResult result
              = relay_thrift_decode_call(_PROTOCOLS[p], copy, out->len - 4, NULL, &call, NULL);
          assert_true(result == RELAY_THRIFT_OK || result == RELAY_THRIFT_ERROR
                      || result == RELAY_THRIFT_UNKNOWN_METHOD);
          ok += result != RELAY_THRIFT_ERROR;
          errors += result == RELAY_THRIFT_ERROR;
          relay_thrift_call_clear(&call);
          result = relay_thrift_decode_reply(_PROTOCOLS[p], copy, out->len - 4, NULL, &reply, NULL);
          assert_int_equal(result, RELAY_THRIFT_ERROR); /* a call is never a reply */
          g_free(copy);
        }
      assert_true(ok > 0 && errors > 0);
      g_byte_array_unref(out);
      g_ptr_array_unref(events);
    }
  g_rand_free(rand);
}

/* ---- client side: batch sizing ---- */

static void
test_batch_fit(void **state)
{
  for (guint p = 0; p < G_N_ELEMENTS(_PROTOCOLS); p++)
    {
      GPtrArray *events = _sample_events(200);
      RelayEvent **evs = (RelayEvent **)events->pdata;
      const guint32 max_frame = 20000;
      guint fit = relay_thrift_batch_fit(_PROTOCOLS[p], evs, events->len, max_frame);

      assert_true(fit > 10 && fit < 200);
      /* The chosen batch fits for any seqid; one more event would not fit (within the 10-byte seqid/count
       * allowance). */
      assert_true(relay_thrift_append_batch_size(_PROTOCOLS[p], -1, evs, fit) <= max_frame);
      assert_true(relay_thrift_append_batch_size(_PROTOCOLS[p], -1, evs, fit + 1) + 10 > max_frame);
      GByteArray *out = g_byte_array_new();
      relay_thrift_encode_append_batch(_PROTOCOLS[p], G_MININT32, evs, fit, out);
      assert_true(out->len - 4 <= max_frame);
      g_byte_array_unref(out);
      assert_int_equal(relay_thrift_batch_fit(_PROTOCOLS[p], evs, 5, 1 << 20), 5);
      assert_int_equal(relay_thrift_batch_fit(_PROTOCOLS[p], evs, 0, 1 << 20), 0);
      /* An event bigger than the frame cannot be sent at all. */
      assert_int_equal(relay_thrift_batch_fit(_PROTOCOLS[p], evs + 1, 1, 40), 0);
      g_ptr_array_unref(events);
    }
}

static void
test_names(void **state)
{
  RelayThriftProtocol protocol = RELAY_THRIFT_COMPACT;

  assert_true(relay_thrift_protocol_parse("Binary", &protocol));
  assert_int_equal(protocol, RELAY_THRIFT_BINARY);
  assert_true(relay_thrift_protocol_parse("compact", &protocol));
  assert_int_equal(protocol, RELAY_THRIFT_COMPACT);
  assert_false(relay_thrift_protocol_parse("json", &protocol));
  assert_string_equal(relay_thrift_protocol_name(RELAY_THRIFT_BINARY), "binary");
  assert_string_equal(relay_thrift_method_name(RELAY_THRIFT_METHOD_APPEND_BATCH), "appendBatch");
  assert_null(relay_thrift_method_name(RELAY_THRIFT_METHOD_UNKNOWN));
  assert_string_equal(relay_thrift_result_name(RELAY_THRIFT_UNKNOWN_METHOD), "unknown-method");
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_compact_example_encode),
    cmocka_unit_test(test_compact_example_decode),
    cmocka_unit_test(test_binary_reply_bytes),
    cmocka_unit_test(test_cglib_client_calls_decode),
    cmocka_unit_test(test_cglib_seqid_and_empty_batch),
    cmocka_unit_test(test_our_calls_read_by_cglib),
    cmocka_unit_test(test_our_calls_match_cglib_bytes),
    cmocka_unit_test(test_our_replies_read_by_cglib),
    cmocka_unit_test(test_our_exception_read_by_cglib),
    cmocka_unit_test(test_cglib_replies_decode),
    cmocka_unit_test(test_unknown_fields_skipped),
    cmocka_unit_test(test_unknown_method),
    cmocka_unit_test(test_frame_sizes),
    cmocka_unit_test(test_fragmented_feed),
    cmocka_unit_test(test_limits),
    cmocka_unit_test(test_huge_claims_in_small_message),
    cmocka_unit_test(test_truncated_messages),
    cmocka_unit_test(test_protocol_mismatch),
    cmocka_unit_test(test_malformed),
    cmocka_unit_test(test_nesting_depth),
    cmocka_unit_test(test_binary_non_strict_header),
    cmocka_unit_test(test_random_corruption),
    cmocka_unit_test(test_batch_fit),
    cmocka_unit_test(test_names),
  };
  _fix_cglib_finalizers();
  return cmocka_run_group_tests(tests, NULL, NULL);
}
