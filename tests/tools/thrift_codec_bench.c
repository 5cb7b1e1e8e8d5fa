/* thrift_codec_bench.c - decode cost of Flume appendBatch frames: c_glib's protocol vs relayd's codec.
 *
 * Builds one appendBatch frame of 1000 events (100-byte body, 2 headers) and decodes it N times into
 * RelayEvents, either (a) "cglib": a c_glib protocol (compact or binary) over a stock ThriftMemoryBuffer, the
 * generated ThriftSourceProtocolAppendBatchArgs struct and one relay_event_new per event, as a server built
 * on c_glib would do; or (b) "ours": relay_thrift_frame_peek + relay_thrift_decode_call. Both free the events
 * afterwards. It prints wall time and events/s; for instruction counts run it under callgrind and count only
 * the decode loop:
 *
 *   valgrind --tool=callgrind --toggle-collect=_decode_frames_cglib --toggle-collect=_decode_frames_ours \
 *            ./tests/tools/thrift_codec_bench cglib 20
 *
 * Usage: thrift_codec_bench cglib|ours [FRAMES [compact|binary]]. Not a test: exits 0 unless decoding fails.
 */
#include "thrift_proto.h"
#include "gen-thrift/thrift_source_protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <thrift/c_glib/protocol/thrift_binary_protocol.h>
#include <thrift/c_glib/protocol/thrift_compact_protocol.h>
#include <thrift/c_glib/transport/thrift_memory_buffer.h>

#define EVENTS_PER_FRAME 1000
#define BODY_LEN 100

/* Thrift 0.17's generated struct finalizers do not chain up to GObject's (leaking each object's qdata); wrap
 * the two this tool frees so that c_glib pays for a correct object lifecycle. */
static GObjectFinalizeFunc _own_finalize[2], _parent_finalize[2];

static void
_chained_finalize(GObject *object)
{
  guint i = G_OBJECT_TYPE(object) == TYPE_THRIFT_FLUME_EVENT ? 0 : 1;

  _own_finalize[i](object);
  _parent_finalize[i](object);
}

static void
_fix_finalizers(void)
{
  GType types[2] = { TYPE_THRIFT_FLUME_EVENT, TYPE_THRIFT_SOURCE_PROTOCOL_APPEND_BATCH_ARGS };

  for (guint i = 0; i < 2; i++)
    {
      GObjectClass *klass = g_type_class_ref(types[i]);
      _own_finalize[i] = klass->finalize;
      _parent_finalize[i] = G_OBJECT_CLASS(g_type_class_peek_parent(klass))->finalize;
      klass->finalize = _chained_finalize;
    }
}

static GByteArray *
_build_frame(RelayThriftProtocol protocol)
{
  GPtrArray *events = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  GByteArray *frame = g_byte_array_new();
  char body[BODY_LEN], host[32], ts[32];

  for (guint i = 0; i < EVENTS_PER_FRAME; i++)
    {
      memset(body, 'a' + (char)(i % 26), sizeof body);
      g_snprintf(host, sizeof host, "host-%03u.example.com", i % 1000);
      g_snprintf(ts, sizeof ts, "%" G_GINT64_FORMAT, (gint64)1700000000000 + i);
      RelayHeader headers[2]
          = { { "host", host, 4, (guint32)strlen(host) }, { "timestamp", ts, 9, (guint32)strlen(ts) } };
      g_ptr_array_add(events, relay_event_new(headers, 2, body, sizeof body));
    }
  relay_thrift_encode_append_batch(protocol, 1, (RelayEvent **)events->pdata, events->len, frame);
  g_ptr_array_unref(events);
  return frame;
}

/* One copy into a RelayEvent, then the c_glib event's storage is released properly (the generated finalizer
 * frees the body GByteArray with g_free, which would leak its data). */
static RelayEvent *
_relay_event_from_cglib(ThriftFlumeEvent *te, RelayHeader *scratch)
{
  GHashTableIter iter;
  gpointer key, value;
  guint n = 0;

  g_hash_table_iter_init(&iter, te->headers);
  while (g_hash_table_iter_next(&iter, &key, &value) && n < 16)
    scratch[n++] = (RelayHeader){ key, value, (guint32)strlen(key), (guint32)strlen(value) };
  RelayEvent *ev = relay_event_new(scratch, n, te->body->data, te->body->len);
  g_clear_pointer(&te->body, g_byte_array_unref);
  return ev;
}

/* (a) c_glib protocol over a stock ThriftMemoryBuffer. Returns the number of events decoded. */
static G_GNUC_NO_INLINE guint64
_decode_frames_cglib(RelayThriftProtocol protocol, const GByteArray *frame, guint frames)
{
  ThriftMemoryBuffer *mem = g_object_new(THRIFT_TYPE_MEMORY_BUFFER, NULL);
  ThriftProtocol *proto = g_object_new(protocol == RELAY_THRIFT_BINARY ? THRIFT_TYPE_BINARY_PROTOCOL
                                                                       : THRIFT_TYPE_COMPACT_PROTOCOL,
                                       "transport", mem, NULL);
  RelayHeader scratch[16];
  guint64 decoded = 0;

  for (guint f = 0; f < frames; f++)
    {
      ThriftSourceProtocolAppendBatchArgs *args
          = g_object_new(TYPE_THRIFT_SOURCE_PROTOCOL_APPEND_BATCH_ARGS, NULL);
      GPtrArray *events = g_ptr_array_new_full(EVENTS_PER_FRAME, relay_event_unref_notify);
      GError *error = NULL;
      gchar *name = NULL;
      ThriftMessageType type;
      gint32 seqid;

      /* What a server does with a delimited frame: hand the message to the transport, then read it. */
      g_byte_array_append(mem->buf, frame->data + RELAY_THRIFT_FRAME_HEADER,
                          frame->len - RELAY_THRIFT_FRAME_HEADER);
      if (thrift_protocol_read_message_begin(proto, &name, &type, &seqid, &error) < 0
          || thrift_struct_read(THRIFT_STRUCT(args), proto, &error) < 0
          || thrift_protocol_read_message_end(proto, &error) < 0)
        g_error("c_glib decode failed: %s", error ? error->message : "?");
      for (guint i = 0; i < args->events->len; i++)
        g_ptr_array_add(events, _relay_event_from_cglib(g_ptr_array_index(args->events, i), scratch));
      decoded += events->len;
      g_ptr_array_unref(events);
      g_object_unref(args);
      g_free(name);
    }
  g_object_unref(proto);
  g_object_unref(mem);
  return decoded;
}

/* (b) relayd's codec, straight from the frame. */
static G_GNUC_NO_INLINE guint64
_decode_frames_ours(RelayThriftProtocol protocol, const GByteArray *frame, guint frames)
{
  guint64 decoded = 0;

  for (guint f = 0; f < frames; f++)
    {
      RelayThriftCall call;
      RelayThriftError err;
      guint32 len;

      if (relay_thrift_frame_peek(frame->data, frame->len, RELAY_THRIFT_DEFAULT_MAX_FRAME, &len, &err)
              != RELAY_THRIFT_OK
          || relay_thrift_decode_call(protocol, frame->data + RELAY_THRIFT_FRAME_HEADER, len, NULL, &call,
                                      &err)
                 != RELAY_THRIFT_OK)
        g_error("decode failed: %s", err.reason);
      decoded += call.events->len;
      relay_thrift_call_clear(&call);
    }
  return decoded;
}

int
main(int argc, char **argv)
{
  RelayThriftProtocol protocol = RELAY_THRIFT_COMPACT;
  guint frames = argc > 2 ? (guint)strtoul(argv[2], NULL, 10) : 200;

  if (argc < 2 || (strcmp(argv[1], "cglib") && strcmp(argv[1], "ours"))
      || (argc > 3 && !relay_thrift_protocol_parse(argv[3], &protocol)) || frames == 0)
    {
      fprintf(stderr, "usage: %s cglib|ours [FRAMES [compact|binary]]\n", argv[0]);
      return 2;
    }
  _fix_finalizers();
  GByteArray *frame = _build_frame(protocol);
  gboolean cglib = strcmp(argv[1], "cglib") == 0;
  gint64 start = g_get_monotonic_time();
  guint64 decoded
      = cglib ? _decode_frames_cglib(protocol, frame, frames) : _decode_frames_ours(protocol, frame, frames);
  gint64 elapsed_us = MAX(g_get_monotonic_time() - start, 1);

  if (decoded != (guint64)frames * EVENTS_PER_FRAME)
    g_error("decoded %" G_GUINT64_FORMAT " events, expected %u", decoded, frames * EVENTS_PER_FRAME);
  printf("decoder=%s protocol=%s frames=%u frame_bytes=%u events=%" G_GUINT64_FORMAT " time_ms=%.1f "
         "events_per_s=%.0f ns_per_event=%.1f\n",
         argv[1], relay_thrift_protocol_name(protocol), frames, frame->len, decoded, elapsed_us / 1000.0,
         decoded * 1e6 / elapsed_us, elapsed_us * 1000.0 / decoded);
  g_byte_array_unref(frame);
  return 0;
}
