/* fuzz_zstream.c - libFuzzer target: the deflate stream of compression-type=deflate (src/rpc/zstream.c).
 *
 * The input (after the split header of fuzz_common.h) is used twice:
 *   - as compressed bytes from a peer, inflated in the chosen chunks with an output limit: the output never
 *     exceeds the limit, and inflating in one piece or in chunks gives the same bytes and the same verdict;
 *   - as plain bytes, deflated in the chosen chunks (each sync-flushed, as after every pack) and inflated
 *     again chunk by chunk: after each chunk everything sent so far must have come out (nothing may stay
 *     inside zlib, or a request would wait for bytes the client never sends), and the result equals the
 *     input. */
#include "fuzz_common.h"

#include "zstream.h"

#define FUZZ_MAX_OUT (1u << 20)

typedef struct
{
  gboolean failed, too_big;
  GByteArray *out;
} FuzzInflated;

static FuzzInflated
_inflate(const guint8 *data, gsize size, FuzzSplits *splits)
{
  RelayZStream z;
  FuzzInflated r = { FALSE, FALSE, g_byte_array_new() };

  relay_zstream_init_inflate(&z);
  for (gsize off = 0; off < size && !r.failed;)
    {
      gsize n = splits ? fuzz_splits_next(splits, size - off) : size - off;
      if (!relay_zstream_inflate(&z, data + off, n, r.out, FUZZ_MAX_OUT, &r.too_big))
        r.failed = TRUE;
      FUZZ_CHECK(r.out->len <= FUZZ_MAX_OUT);
      off += n;
    }
  relay_zstream_end(&z);
  return r;
}

static void
_round_trip(const guint8 *data, gsize size, FuzzSplits *splits, int level)
{
  RelayZStream d, i;
  GByteArray *packed = g_byte_array_new(), *plain = g_byte_array_new();
  gboolean too_big;

  relay_zstream_init_deflate(&d, level);
  relay_zstream_init_inflate(&i);
  for (gsize off = 0; off < size;)
    {
      gsize n = fuzz_splits_next(splits, size - off);
      guint before = packed->len;
      FUZZ_CHECK(relay_zstream_deflate(&d, data + off, n, packed));
      FUZZ_CHECK(
          relay_zstream_inflate(&i, packed->data + before, packed->len - before, plain, G_MAXSIZE, &too_big));
      off += n;
      FUZZ_CHECK(plain->len == off && (off == 0 || memcmp(plain->data, data, off) == 0));
    }
  relay_zstream_end(&d);
  relay_zstream_end(&i);
  g_byte_array_unref(packed);
  g_byte_array_unref(plain);
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  FuzzSplits splits;
  gsize start;

  fuzz_init_once();
  start = fuzz_splits_init(&splits, data, size);
  FuzzInflated whole = _inflate(data + start, size - start, NULL);
  FuzzInflated pieces = _inflate(data + start, size - start, &splits);
  FUZZ_CHECK(whole.too_big == pieces.too_big);
  if (!whole.too_big)
    {
      FUZZ_CHECK(whole.failed == pieces.failed);
      FUZZ_CHECK(whole.out->len == pieces.out->len
                 && (whole.out->len == 0 || memcmp(whole.out->data, pieces.out->data, whole.out->len) == 0));
    }
  g_byte_array_unref(whole.out);
  g_byte_array_unref(pieces.out);

  fuzz_splits_init(&splits, data, size);
  _round_trip(data + start, size - start, &splits, size ? 1 + data[0] % 9 : 6);
  return 0;
}
