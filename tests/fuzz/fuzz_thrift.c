/* fuzz_thrift.c - libFuzzer target: a connection's byte stream into the Thrift source's decoding, compact or
 * binary protocol (bit 3 of the first input byte), with framing.
 *
 * The stream (after the split header of fuzz_common.h) is fed in the chosen chunks to the source's path
 * (src/sources/source_thrift.c: relay_thrift_frame_peek on the buffered bytes, relay_thrift_decode_call on
 * each whole frame) and, in parallel, to the incremental RelayThriftFrameReader; every frame is also decoded
 * as a reply (the client side).
 *
 * Checks beyond "no crash": the frame reader and frame_peek delimit the same frames; the outcome (digest of
 * frames, calls, events) does not depend on the chunking; decoded events respect the limits; an OK call
 * re-encoded (append or appendBatch) decodes to the same method, seqid and events; an exception written for
 * an unknown method decodes as one. */
#include "fuzz_common.h"

#include "thrift_proto.h"

typedef struct
{
  RelayThriftProtocol protocol;
  RelayThriftLimits limits;
  GByteArray *in;
  RelayThriftFrameReader reader;
  gboolean closed, reader_failed;
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

static void
_round_trip(FuzzConn *c, const RelayThriftCall *call)
{
  GByteArray *out = g_byte_array_new();
  RelayThriftCall again = { 0 };
  RelayThriftError err;
  guint32 frame_len;
  GPtrArray *events = call->events;

  if (call->method == RELAY_THRIFT_METHOD_APPEND)
    {
      FUZZ_CHECK(events->len == 1);
      relay_thrift_encode_append(c->protocol, call->seqid, g_ptr_array_index(events, 0), out);
    }
  else
    relay_thrift_encode_append_batch(c->protocol, call->seqid, (RelayEvent *const *)events->pdata,
                                     events->len, out);
  RelayThriftResult r = relay_thrift_frame_peek(out->data, out->len, G_MAXUINT32, &frame_len, &err);
  FUZZ_CHECK(r == RELAY_THRIFT_OK && frame_len + RELAY_THRIFT_FRAME_HEADER == out->len);
  RelayThriftLimits wide = c->limits;
  wide.max_frame = G_MAXUINT32;
  r = relay_thrift_decode_call(c->protocol, out->data + RELAY_THRIFT_FRAME_HEADER, frame_len, &wide, &again,
                               &err);
  FUZZ_CHECK(r == RELAY_THRIFT_OK);
  FUZZ_CHECK(again.method == call->method && again.seqid == call->seqid && again.events->len == events->len);
  for (guint i = 0; i < events->len; i++)
    FUZZ_CHECK(fuzz_events_equal(g_ptr_array_index(events, i), g_ptr_array_index(again.events, i)));
  relay_thrift_call_clear(&again);
  g_byte_array_unref(out);
}

static void
_exception_round_trip(FuzzConn *c, const RelayThriftCall *call)
{
  GByteArray *out = g_byte_array_new();
  RelayThriftReply reply;
  RelayThriftError err;

  relay_thrift_encode_exception(c->protocol, call->method_name, call->method_name_len, call->seqid,
                                RELAY_THRIFT_EXC_UNKNOWN_METHOD, "Invalid method name", out);
  FUZZ_CHECK(relay_thrift_decode_reply(c->protocol, out->data + RELAY_THRIFT_FRAME_HEADER,
                                       out->len - RELAY_THRIFT_FRAME_HEADER, &c->limits, &reply, &err)
             == RELAY_THRIFT_OK);
  FUZZ_CHECK(reply.type == RELAY_THRIFT_MSG_EXCEPTION && reply.seqid == call->seqid
             && reply.exception_type == RELAY_THRIFT_EXC_UNKNOWN_METHOD);
  g_byte_array_unref(out);
}

/* One whole message, as the source handles it. */
static void
_message(FuzzConn *c, const guint8 *msg, guint32 len)
{
  RelayThriftCall call = { 0 };
  RelayThriftError err = { "?", -1, -1, 0 };
  RelayThriftReply reply;

  _note(c, "frame", len);
  (void)relay_thrift_decode_reply(c->protocol, msg, len, &c->limits, &reply, &err);
  RelayThriftResult r = relay_thrift_decode_call(c->protocol, msg, len, &c->limits, &call, &err);
  _note(c, "call", r);
  if (r == RELAY_THRIFT_OK)
    {
      FUZZ_CHECK(call.events && call.events->len <= c->limits.max_events);
      for (guint i = 0; i < call.events->len; i++)
        {
          const RelayEvent *ev = g_ptr_array_index(call.events, i);
          FUZZ_CHECK(ev->n_headers <= c->limits.max_headers && ev->body_len <= c->limits.max_body);
          fuzz_digest_event(c->digest, ev);
        }
      _round_trip(c, &call);
    }
  else if (r == RELAY_THRIFT_UNKNOWN_METHOD)
    _exception_round_trip(c, &call);
  else
    {
      FUZZ_CHECK(r == RELAY_THRIFT_ERROR && err.reason);
      c->closed = TRUE;
    }
  relay_thrift_call_clear(&call);
}

/* The frame reader sees the same chunks; its frames must be the ones frame_peek finds. */
static void
_reader_feed(FuzzConn *c, const guint8 *data, gsize len, GPtrArray *frames)
{
  RelayThriftError err;

  while (len > 0 && !c->reader_failed)
    {
      gsize used = 0;
      RelayThriftResult r = relay_thrift_frame_reader_feed(&c->reader, data, len, &used, &err);
      FUZZ_CHECK(used <= len);
      if (r == RELAY_THRIFT_ERROR)
        c->reader_failed = TRUE;
      else if (r == RELAY_THRIFT_OK)
        {
          FUZZ_CHECK(c->reader.frame_len <= c->limits.max_frame);
          g_ptr_array_add(frames, g_bytes_new(c->reader.frame, c->reader.frame_len));
          relay_thrift_frame_reader_clear(&c->reader);
        }
      else
        FUZZ_CHECK(used == len);
      data += used;
      len -= used;
    }
}

static void
_feed(FuzzConn *c, const guint8 *data, gsize len, GPtrArray *frames)
{
  RelayThriftError err;
  guint32 frame_len;

  _reader_feed(c, data, len, frames);
  if (c->closed)
    return;
  g_byte_array_append(c->in, data, (guint)len);
  while (!c->closed)
    {
      RelayThriftResult r
          = relay_thrift_frame_peek(c->in->data, c->in->len, c->limits.max_frame, &frame_len, &err);
      if (r == RELAY_THRIFT_NEED_MORE)
        return;
      if (r != RELAY_THRIFT_OK)
        {
          _note(c, "frame-error", 0);
          FUZZ_CHECK(c->reader_failed); /* the reader rejects the same prefix */
          c->closed = TRUE;
          return;
        }
      FUZZ_CHECK(frame_len <= c->limits.max_frame && frames->len > 0);
      GBytes *same = g_ptr_array_index(frames, 0);
      FUZZ_CHECK(g_bytes_get_size(same) == frame_len
                 && memcmp(g_bytes_get_data(same, NULL), c->in->data + RELAY_THRIFT_FRAME_HEADER, frame_len)
                        == 0);
      g_ptr_array_remove_index(frames, 0);
      _message(c, c->in->data + RELAY_THRIFT_FRAME_HEADER, frame_len);
      g_byte_array_remove_range(c->in, 0, RELAY_THRIFT_FRAME_HEADER + frame_len);
    }
}

static char *
_run(RelayThriftProtocol protocol, const guint8 *data, gsize size, FuzzSplits *splits)
{
  FuzzConn c = { 0 };
  GPtrArray *frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);

  c.protocol = protocol;
  relay_thrift_limits_init(&c.limits);
  c.limits.max_frame = 1 << 20;
  c.limits.max_events = 2000;
  c.limits.max_headers = 32;
  c.limits.max_string = 4096;
  c.limits.max_body = 65536;
  c.limits.max_depth = 16;
  c.in = g_byte_array_new();
  relay_thrift_frame_reader_init(&c.reader, c.limits.max_frame);
  c.digest = g_checksum_new(G_CHECKSUM_SHA256);
  for (gsize off = 0; off < size;)
    {
      gsize n = splits ? fuzz_splits_next(splits, size - off) : size - off;
      _feed(&c, data + off, n, frames);
      off += n;
    }
  _note(&c, c.closed ? "closed" : "open",
        c.closed ? 0 : (gint64)c.in->len); /* after a close the rest is never read */
  char *digest = g_strdup(g_checksum_get_string(c.digest));
  g_checksum_free(c.digest);
  relay_thrift_frame_reader_clear(&c.reader);
  g_byte_array_unref(c.in);
  g_ptr_array_unref(frames);
  return digest;
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  FuzzSplits splits;
  gsize start;

  fuzz_init_once();
  if (size == 0)
    return 0;
  RelayThriftProtocol protocol = (data[0] & 8) ? RELAY_THRIFT_BINARY : RELAY_THRIFT_COMPACT;
  start = fuzz_splits_init(&splits, data, size);
  char *whole = _run(protocol, data + start, size - start, NULL);
  char *pieces = _run(protocol, data + start, size - start, &splits);
  FUZZ_CHECK(strcmp(whole, pieces) == 0);
  g_free(whole);
  g_free(pieces);
  return 0;
}
