/* fuzz_avro_stream.c - libFuzzer target: a connection's byte stream into the Avro source's decoding.
 *
 * The input (after the split header of fuzz_common.h) is what a client sends on one connection. It is fed
 * in chunks of the sizes the fuzzer chose, through the same sequence the Avro source runs per pack
 * (src/sources/source_avro.c): Netty pack framing, the IPC handshake while not established, the call and
 * append/appendBatch parameters. Every pack is also decoded as a response (the client side).
 *
 * Checks beyond "no crash":
 *   - feeding the stream in one piece and in the chosen pieces gives the same outcome (digest of packs,
 *     handshake results, calls and events): framing does not depend on how TCP splits the bytes;
 *   - NEED_MORE asks for more bytes than are present; a complete pack never claims more than it has;
 *   - decoded events respect the limits; encoding them as a request and decoding that gives equal events. */
#include "fuzz_common.h"

#include "avro_proto.h"

typedef struct
{
  RelayAvroLimits limits;
  GByteArray *in;
  RelayAvroFrame frame;
  RelayAvroDecoder *dec, *client_dec;
  RelayAvroHandshakeCache *cache;
  gboolean established, closed;
  guint packs;
  GChecksum *digest;
} FuzzConn;

static void
_note(FuzzConn *c, const char *what, gint64 n)
{
  if (g_getenv("FUZZ_TRACE")) /* reproducing a report: what each run saw */
    fprintf(stderr, "%s %" G_GINT64_FORMAT "\n", what, n);
  g_checksum_update(c->digest, (const guchar *)what, strlen(what));
  g_checksum_update(c->digest, (const guchar *)&n, sizeof n);
}

/* Encodes events as a request, decodes that again and compares. */
static void
_round_trip(const RelayAvroLimits *limits, RelayAvroMessage message, GPtrArray *events)
{
  GByteArray *out = g_byte_array_new();
  RelayAvroFrame frame;
  RelayAvroCall call;
  GPtrArray *again = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  RelayAvroDecoder *dec = relay_avro_decoder_new(limits);

  FUZZ_CHECK(
      relay_avro_encode_request(out, 7, NULL, message, (RelayEvent *const *)events->pdata, events->len));
  relay_avro_frame_init(&frame);
  FUZZ_CHECK(relay_avro_frame_parse(out->data, out->len, limits, &frame) == RELAY_AVRO_OK);
  FUZZ_CHECK(frame.consumed == out->len && frame.serial == 7);
  relay_avro_decoder_begin(dec, frame.slices, frame.n_slices);
  FUZZ_CHECK(relay_avro_decode_call(dec, &call) == RELAY_AVRO_OK && call.message == message);
  FUZZ_CHECK(relay_avro_decode_events(dec, message, again) == RELAY_AVRO_OK);
  FUZZ_CHECK(again->len == events->len);
  for (guint i = 0; i < events->len; i++)
    FUZZ_CHECK(fuzz_events_equal(g_ptr_array_index(events, i), g_ptr_array_index(again, i)));
  relay_avro_decoder_free(dec);
  relay_avro_frame_clear(&frame);
  g_ptr_array_unref(again);
  g_byte_array_unref(out);
}

static void
_events(FuzzConn *c, RelayAvroMessage message)
{
  GPtrArray *events = g_ptr_array_new_with_free_func(relay_event_unref_notify);

  if (relay_avro_decode_events(c->dec, message, events) != RELAY_AVRO_OK)
    {
      FUZZ_CHECK(events->len == 0); /* removed again on error */
      _note(c, "events-error", 0);
      c->closed = TRUE;
      g_ptr_array_unref(events);
      return;
    }
  FUZZ_CHECK(events->len <= c->limits.max_batch_events);
  FUZZ_CHECK(message == RELAY_AVRO_MSG_APPEND_BATCH || events->len == 1);
  for (guint i = 0; i < events->len; i++)
    {
      const RelayEvent *ev = g_ptr_array_index(events, i);
      FUZZ_CHECK(ev->n_headers <= c->limits.max_headers && ev->body_len <= c->limits.max_body_bytes);
      for (guint32 h = 0; h < ev->n_headers; h++)
        FUZZ_CHECK(ev->headers[h].key_len <= c->limits.max_header_bytes
                   && ev->headers[h].value_len <= c->limits.max_header_bytes);
      fuzz_digest_event(c->digest, ev);
    }
  _note(c, "events", events->len);
  _round_trip(&c->limits, message, events);
  g_ptr_array_unref(events);
}

/* One complete pack, as the source handles it (source_avro.c _parse_request). */
static void
_pack(FuzzConn *c)
{
  RelayAvroCall call;
  RelayAvroResponse response;

  _note(c, "pack", (gint64)c->frame.message_len);
  relay_avro_decoder_begin(c->client_dec, c->frame.slices, c->frame.n_slices);
  (void)relay_avro_decode_response(c->client_dec, c->packs++ == 0, &response);
  relay_avro_decoder_begin(c->dec, c->frame.slices, c->frame.n_slices);
  if (!c->established)
    {
      RelayAvroHandshakeRequest req;
      RelayAvroHandshakeResponse hs;
      RelayAvroError err;
      if (relay_avro_decode_handshake_request(c->dec, &req) != RELAY_AVRO_OK
          || relay_avro_handshake_resolve(c->cache, &req, &hs, &err) != RELAY_AVRO_OK)
        {
          _note(c, "handshake-error", 0);
          c->closed = TRUE;
          return;
        }
      _note(c, "handshake", hs.match);
      c->established = hs.match != RELAY_AVRO_MATCH_NONE;
      if (!c->established)
        return;
    }
  if (relay_avro_decode_call(c->dec, &call) != RELAY_AVRO_OK)
    {
      _note(c, "call-error", 0);
      c->closed = TRUE;
      return;
    }
  _note(c, "call", call.message);
  if (call.message == RELAY_AVRO_MSG_APPEND || call.message == RELAY_AVRO_MSG_APPEND_BATCH)
    _events(c, call.message);
}

static void
_feed(FuzzConn *c, const guint8 *data, gsize len)
{
  if (c->closed)
    return;
  g_byte_array_append(c->in, data, (guint)len);
  while (!c->closed)
    {
      RelayAvroResult r = relay_avro_frame_parse(c->in->data, c->in->len, &c->limits, &c->frame);
      if (r == RELAY_AVRO_NEED_MORE)
        {
          FUZZ_CHECK(c->frame.need > c->in->len);
          return;
        }
      if (r == RELAY_AVRO_ERROR)
        {
          _note(c, "frame-error", 0);
          c->closed = TRUE;
          return;
        }
      FUZZ_CHECK(c->frame.consumed <= c->in->len && c->frame.consumed <= c->limits.max_pack_bytes);
      FUZZ_CHECK(c->frame.n_buffers <= c->limits.max_buffers && c->frame.n_slices <= c->frame.n_buffers);
      _pack(c);
      g_byte_array_remove_range(c->in, 0, (guint)c->frame.consumed);
    }
}

/* Runs the stream through a new connection; returns the digest of the outcome (new string). */
static char *
_run(const guint8 *data, gsize size, FuzzSplits *splits, RelayAvroHandshakeCache *cache)
{
  FuzzConn c = { 0 };
  relay_avro_limits_init(&c.limits);
  c.limits.max_pack_bytes = 1 << 20;
  c.limits.max_buffers = 64;
  c.limits.max_batch_events = 2000;
  c.limits.max_headers = 32;
  c.limits.max_header_bytes = 4096;
  c.limits.max_body_bytes = 65536;
  c.limits.max_text_bytes = 16384;
  c.in = g_byte_array_new();
  relay_avro_frame_init(&c.frame);
  c.dec = relay_avro_decoder_new(&c.limits);
  c.client_dec = relay_avro_decoder_new(&c.limits);
  c.cache = cache;
  c.digest = g_checksum_new(G_CHECKSUM_SHA256);

  for (gsize off = 0; off < size;)
    {
      gsize n = splits ? fuzz_splits_next(splits, size - off) : size - off;
      _feed(&c, data + off, n);
      off += n;
    }
  _note(&c, c.closed ? "closed" : "open",
        c.closed ? 0 : (gint64)c.in->len); /* after a close the rest is never read */
  char *digest = g_strdup(g_checksum_get_string(c.digest));
  g_checksum_free(c.digest);
  relay_avro_decoder_free(c.dec);
  relay_avro_decoder_free(c.client_dec);
  relay_avro_frame_clear(&c.frame);
  g_byte_array_unref(c.in);
  return digest;
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  FuzzSplits splits;
  gsize start;

  fuzz_init_once();
  start = fuzz_splits_init(&splits, data, size);
  /* One cache per run: a learned protocol must not change the outcome of the second run. */
  RelayAvroHandshakeCache *cache = relay_avro_handshake_cache_new();
  char *whole = _run(data + start, size - start, NULL, cache);
  relay_avro_handshake_cache_free(cache);
  cache = relay_avro_handshake_cache_new();
  char *pieces = _run(data + start, size - start, &splits, cache);
  relay_avro_handshake_cache_free(cache);
  FUZZ_CHECK(strcmp(whole, pieces) == 0);
  g_free(whole);
  g_free(pieces);
  return 0;
}
