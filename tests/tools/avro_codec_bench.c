/* avro_codec_bench.c - instruction-count benchmark: src/rpc/avro_proto.c against avro-c's generic value API.
 *
 * Builds one appendBatch request of 1000 events (100-byte body, 2 headers: "timestamp" and "host") and
 * then, N times, either decodes it into RelayEvent objects or encodes the events into a request pack:
 *   ours-decode   frame parse + relay_avro_decode_call + relay_avro_decode_events
 *   avroc-decode  frame parse + avro_value_read of metadata, name and array<AvroFlumeEvent>, then one
 *                 relay_event_new() per event from the generic values (the same output as ours)
 *   ours-encode   relay_avro_encode_request into a reused GByteArray
 *   avroc-encode  fill generic values from the events, avro_value_write into a reused buffer
 * Before measuring, both codecs are checked to produce the same events and the same bytes. Measure the
 * work function alone with callgrind and divide by N * 1000, e.g.
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null '--toggle-collect=bench_*' \
 *       ./tests/tools/avro_codec_bench ours-decode 20
 * The event frees happen outside the measured functions. Single-threaded. */
#include "avro_proto.h"

#include <avro.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_EVENTS 1000
#define BODY_BYTES 100

/* Touched by the measured wrappers only, so that the compiler cannot fold them into the implementations
 * the cross-check calls (identical code folding), which would count the cross-check too. */
static volatile guint _bench_calls;

static const char _meta_schema[] = "{\"type\":\"map\",\"values\":\"bytes\"}";
static const char _name_schema[] = "\"string\"";
static const char _batch_schema[]
    = "{\"type\":\"array\",\"items\":{\"type\":\"record\",\"name\":\"AvroFlumeEvent\","
      "\"namespace\":\"org.apache.flume.source.avro\",\"fields\":[{\"name\":\"headers\",\"type\":"
      "{\"type\":\"map\",\"values\":\"string\"}},{\"name\":\"body\",\"type\":\"bytes\"}]}}";

/* avro-c's side: one generic value per request part, reused across rounds. */
typedef struct
{
  avro_schema_t schemas[3];
  avro_value_iface_t *ifaces[3];
  avro_value_t meta, name, batch;
  avro_reader_t reader;
  avro_writer_t writer;
} AvrocCodec;

/* The measured calls: not static, so that callgrind's --toggle-collect=bench_* finds them; the start-up
 * cross-check calls the implementations directly and is not counted. */
guint bench_ours_decode(RelayAvroDecoder *dec, RelayAvroFrame *frame, const GByteArray *pack, GPtrArray *out);
guint bench_avroc_decode(AvrocCodec *c, RelayAvroFrame *frame, const GByteArray *pack, GPtrArray *out);
gsize bench_ours_encode(GByteArray *out, RelayEvent *const *events, guint n);
gsize bench_avroc_encode(AvrocCodec *c, guint8 *buf, gsize cap, RelayEvent *const *events, guint n);

static void
_check(gboolean ok, const char *what)
{
  if (!ok)
    {
      fprintf(stderr, "avro_codec_bench: %s failed: %s\n", what, avro_strerror());
      exit(1);
    }
}

static GPtrArray *
_make_events(void)
{
  GPtrArray *events = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  guint8 body[BODY_BYTES];

  for (guint i = 0; i < BATCH_EVENTS; i++)
    {
      char timestamp[24];
      g_snprintf(timestamp, sizeof timestamp, "%" G_GUINT64_FORMAT, (guint64)1700000000000 + i);
      for (guint b = 0; b < BODY_BYTES; b++)
        body[b] = (guint8)('a' + (i + b) % 26);
      RelayHeader headers[2] = { { "timestamp", timestamp, 9, (guint32)strlen(timestamp) },
                                 { "host", "web-01.example.com", 4, 18 } };
      g_ptr_array_add(events, relay_event_new(headers, 2, body, BODY_BYTES));
    }
  return events;
}

static void
_avroc_init(AvrocCodec *c)
{
  const char *json[3] = { _meta_schema, _name_schema, _batch_schema };
  avro_value_t *values[3] = { &c->meta, &c->name, &c->batch };

  for (int i = 0; i < 3; i++)
    {
      _check(avro_schema_from_json_length(json[i], strlen(json[i]), &c->schemas[i]) == 0, "schema");
      c->ifaces[i] = avro_generic_class_from_schema(c->schemas[i]);
      _check(avro_generic_value_new(c->ifaces[i], values[i]) == 0, "generic value");
    }
  c->reader = avro_reader_memory("", 0);
  c->writer = avro_writer_memory("", 0);
}

static void
_avroc_free(AvrocCodec *c)
{
  avro_value_t *values[3] = { &c->meta, &c->name, &c->batch };

  avro_reader_free(c->reader);
  avro_writer_free(c->writer);
  for (int i = 0; i < 3; i++)
    {
      avro_value_decref(values[i]);
      avro_value_iface_decref(c->ifaces[i]);
      avro_schema_decref(c->schemas[i]);
    }
}

static const RelayAvroSlice *
_frame(RelayAvroFrame *frame, const GByteArray *pack)
{
  RelayAvroLimits limits;

  relay_avro_limits_init(&limits);
  _check(relay_avro_frame_parse(pack->data, pack->len, &limits, frame) == RELAY_AVRO_OK, "frame");
  return frame->slices;
}

static guint
_ours_decode(RelayAvroDecoder *dec, RelayAvroFrame *frame, const GByteArray *pack, GPtrArray *out)
{
  RelayAvroCall call;

  _frame(frame, pack);
  relay_avro_decoder_begin(dec, frame->slices, frame->n_slices);
  _check(relay_avro_decode_call(dec, &call) == RELAY_AVRO_OK, "decode call");
  _check(relay_avro_decode_events(dec, call.message, out) == RELAY_AVRO_OK, "decode events");
  return out->len;
}

/* One AvroFlumeEvent generic value -> RelayEvent, fields by index (0 headers, 1 body). */
static RelayEvent *
_avroc_event(avro_value_t *record)
{
  avro_value_t map, value, body;
  RelayHeader headers[16];
  size_t n_headers, size;
  const char *key, *str;
  const void *bytes;

  avro_value_get_by_index(record, 0, &map, NULL);
  avro_value_get_size(&map, &n_headers);
  _check(n_headers <= G_N_ELEMENTS(headers), "header count");
  for (size_t h = 0; h < n_headers; h++)
    {
      avro_value_get_by_index(&map, h, &value, &key);
      avro_value_get_string(&value, &str, &size);
      headers[h] = (RelayHeader){ key, str, (guint32)strlen(key), (guint32)size - 1 };
    }
  avro_value_get_by_index(record, 1, &body, NULL);
  avro_value_get_bytes(&body, &bytes, &size);
  return relay_event_new(headers, (guint)n_headers, bytes, size);
}

static guint
_avroc_decode(AvrocCodec *c, RelayAvroFrame *frame, const GByteArray *pack, GPtrArray *out)
{
  const RelayAvroSlice *slice = _frame(frame, pack);
  avro_value_t record;
  size_t n;

  _check(frame->n_slices == 1, "single buffer");
  avro_reader_memory_set_source(c->reader, (const char *)slice->data, slice->len);
  avro_value_reset(&c->meta);
  avro_value_reset(&c->name);
  avro_value_reset(&c->batch);
  _check(avro_value_read(c->reader, &c->meta) == 0 && avro_value_read(c->reader, &c->name) == 0
             && avro_value_read(c->reader, &c->batch) == 0,
         "avro_value_read");
  avro_value_get_size(&c->batch, &n);
  for (size_t i = 0; i < n; i++)
    {
      avro_value_get_by_index(&c->batch, i, &record, NULL);
      g_ptr_array_add(out, _avroc_event(&record));
    }
  return out->len;
}

static gsize
_ours_encode(GByteArray *out, RelayEvent *const *events, guint n)
{
  g_byte_array_set_size(out, 0);
  _check(relay_avro_encode_request(out, 1, NULL, RELAY_AVRO_MSG_APPEND_BATCH, events, n), "encode");
  return out->len;
}

/* Writes pack header + metadata + name + array, like ours; returns the pack length. */
static gsize
_avroc_encode(AvrocCodec *c, guint8 *buf, gsize cap, RelayEvent *const *events, guint n)
{
  avro_value_t record, map, value, body;

  avro_value_reset(&c->meta);
  avro_value_set_string_len(&c->name, "appendBatch", 12);
  avro_value_reset(&c->batch);
  for (guint i = 0; i < n; i++)
    {
      avro_value_append(&c->batch, &record, NULL);
      avro_value_get_by_index(&record, 0, &map, NULL);
      for (guint32 h = 0; h < events[i]->n_headers; h++)
        {
          avro_value_add(&map, events[i]->headers[h].key, &value, NULL, NULL);
          avro_value_set_string_len(&value, events[i]->headers[h].value, events[i]->headers[h].value_len + 1);
        }
      avro_value_get_by_index(&record, 1, &body, NULL);
      avro_value_set_bytes(&body, (void *)events[i]->body, events[i]->body_len);
    }
  avro_writer_memory_set_dest(c->writer, (const char *)buf + 12, (int64_t)cap - 12);
  _check(avro_value_write(c->writer, &c->meta) == 0 && avro_value_write(c->writer, &c->name) == 0
             && avro_value_write(c->writer, &c->batch) == 0,
         "avro_value_write");
  gsize len = (gsize)avro_writer_tell(c->writer);
  guint32 header[3] = { GUINT32_TO_BE(1), GUINT32_TO_BE(1), GUINT32_TO_BE((guint32)len) };
  memcpy(buf, header, sizeof header);
  return 12 + len;
}

/* Both codecs must agree before their costs mean anything. */
static void
_cross_check(RelayAvroDecoder *dec, AvrocCodec *c, RelayAvroFrame *frame, const GByteArray *pack,
             const GPtrArray *events, guint8 *buf, gsize cap)
{
  GPtrArray *a = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  GPtrArray *b = g_ptr_array_new_with_free_func(relay_event_unref_notify);

  _check(_ours_decode(dec, frame, pack, a) == BATCH_EVENTS, "ours decode count");
  _check(_avroc_decode(c, frame, pack, b) == BATCH_EVENTS, "avroc decode count");
  for (guint i = 0; i < BATCH_EVENTS; i++)
    {
      RelayEvent *x = a->pdata[i], *y = b->pdata[i];
      _check(x->alloc_size == y->alloc_size && memcmp(x->body, y->body, x->body_len) == 0
                 && strcmp(x->headers[1].value, y->headers[1].value) == 0,
             "same events");
    }
  _check(_avroc_encode(c, buf, cap, (RelayEvent **)events->pdata, events->len) == pack->len
             && memcmp(buf, pack->data, pack->len) == 0,
         "same bytes");
  g_ptr_array_free(a, TRUE);
  g_ptr_array_free(b, TRUE);
}

G_GNUC_NO_INLINE guint
bench_ours_decode(RelayAvroDecoder *dec, RelayAvroFrame *frame, const GByteArray *pack, GPtrArray *out)
{
  _bench_calls++;
  return _ours_decode(dec, frame, pack, out);
}

G_GNUC_NO_INLINE guint
bench_avroc_decode(AvrocCodec *c, RelayAvroFrame *frame, const GByteArray *pack, GPtrArray *out)
{
  _bench_calls++;
  return _avroc_decode(c, frame, pack, out);
}

G_GNUC_NO_INLINE gsize
bench_ours_encode(GByteArray *out, RelayEvent *const *events, guint n)
{
  _bench_calls++;
  return _ours_encode(out, events, n);
}

G_GNUC_NO_INLINE gsize
bench_avroc_encode(AvrocCodec *c, guint8 *buf, gsize cap, RelayEvent *const *events, guint n)
{
  _bench_calls++;
  return _avroc_encode(c, buf, cap, events, n);
}

int
main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "";
  guint rounds = argc > 2 ? (guint)strtoul(argv[2], NULL, 10) : 100;
  GPtrArray *events = _make_events(), *out = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  GByteArray *pack = g_byte_array_new(), *scratch = g_byte_array_new();
  RelayAvroLimits limits;
  RelayAvroFrame frame;
  AvrocCodec avroc;
  guint64 checksum = 0;

  if (!g_str_has_prefix(mode, "ours-") && !g_str_has_prefix(mode, "avroc-"))
    {
      fprintf(stderr, "usage: %s ours-decode|avroc-decode|ours-encode|avroc-encode [rounds]\n", argv[0]);
      return 2;
    }
  relay_avro_limits_init(&limits);
  relay_avro_frame_init(&frame);
  RelayAvroDecoder *dec = relay_avro_decoder_new(&limits);
  _avroc_init(&avroc);
  _ours_encode(pack, (RelayEvent **)events->pdata, events->len);
  gsize cap = pack->len + 1024;
  guint8 *buf = g_malloc(cap);
  _cross_check(dec, &avroc, &frame, pack, events, buf, cap);
  for (guint r = 0; r < rounds; r++)
    {
      if (strcmp(mode, "ours-decode") == 0)
        checksum += bench_ours_decode(dec, &frame, pack, out);
      else if (strcmp(mode, "avroc-decode") == 0)
        checksum += bench_avroc_decode(&avroc, &frame, pack, out);
      else if (strcmp(mode, "ours-encode") == 0)
        checksum += bench_ours_encode(scratch, (RelayEvent **)events->pdata, events->len);
      else
        checksum += bench_avroc_encode(&avroc, buf, cap, (RelayEvent **)events->pdata, events->len);
      g_ptr_array_set_size(out, 0);
    }
  printf("mode=%s rounds=%u events_per_round=%u checksum=%" G_GUINT64_FORMAT "\n", mode, rounds, BATCH_EVENTS,
         checksum);
  g_free(buf);
  _avroc_free(&avroc);
  relay_avro_decoder_free(dec);
  relay_avro_frame_clear(&frame);
  g_byte_array_free(pack, TRUE);
  g_byte_array_free(scratch, TRUE);
  g_ptr_array_free(out, TRUE);
  g_ptr_array_free(events, TRUE);
  return 0;
}
