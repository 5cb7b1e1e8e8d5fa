/* test_avro_http.c - unit tests of Avro's HTTP transport codec (src/rpc/avro_http.c).
 *
 * Requests are fed the way the RPC server feeds them: the same bytes again with more appended, down to one
 * byte at a time, in a buffer that moves between calls. The message the slices describe must equal the
 * framed buffers' concatenation, for Content-Length and chunked bodies (chunk boundaries falling inside
 * length prefixes too); every malformed or oversized request must give the documented status. */
#include "avro_http.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

/* The spec's framing of message split into buffers of at most piece bytes, ended by an empty buffer. */
static GByteArray *
_framed(const char *message, gsize piece)
{
  GByteArray *out = g_byte_array_new();
  gsize len = strlen(message);

  for (gsize at = 0; at < len; at += piece)
    {
      guint32 n = (guint32)MIN(piece, len - at);
      guint8 be[4] = { (guint8)(n >> 24), (guint8)(n >> 16), (guint8)(n >> 8), (guint8)n };
      g_byte_array_append(out, be, 4);
      g_byte_array_append(out, (const guint8 *)message + at, n);
    }
  g_byte_array_append(out, (const guint8 *)"\0\0\0\0", 4);
  return out;
}

static GByteArray *
_request_length(const GByteArray *body, const char *extra_headers)
{
  GByteArray *out = g_byte_array_new();
  char *head
      = g_strdup_printf("POST /flume HTTP/1.1\r\nHost: x\r\nContent-Type: avro/binary\r\n%sContent-Length: "
                        "%u\r\n\r\n",
                        extra_headers, body->len);

  g_byte_array_append(out, (const guint8 *)head, (guint)strlen(head));
  g_byte_array_append(out, body->data, body->len);
  g_free(head);
  return out;
}

/* Chunked, chunks of `chunk` bytes, with a chunk extension and a trailer. */
static GByteArray *
_request_chunked(const GByteArray *body, gsize chunk)
{
  GByteArray *out = g_byte_array_new();
  const char *head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";

  g_byte_array_append(out, (const guint8 *)head, (guint)strlen(head));
  for (gsize at = 0; at < body->len; at += chunk)
    {
      gsize n = MIN(chunk, body->len - at);
      char *line = g_strdup_printf("%zx;ext=1\r\n", n);
      g_byte_array_append(out, (const guint8 *)line, (guint)strlen(line));
      g_byte_array_append(out, body->data + at, (guint)n);
      g_byte_array_append(out, (const guint8 *)"\r\n", 2);
      g_free(line);
    }
  const char *last = "0\r\nX-Trailer: y\r\n\r\n";
  g_byte_array_append(out, (const guint8 *)last, (guint)strlen(last));
  return out;
}

/* Feeds req[0..len) growing by step bytes through a moving copy; returns the message and sets *consumed. */
static char *
_feed(RelayAvroHttp *http, const guint8 *req, gsize len, gsize step, RelayAvroLimits *limits, gsize *consumed)
{
  for (gsize have = MIN(step, len);; have = MIN(have + step, len))
    {
      guint8 *copy = g_memdup2(req, have); /* a new address every call, as a growing input buffer */
      RelayAvroResult r = relay_avro_http_parse(http, copy, have, limits);
      if (r == RELAY_AVRO_NEED_MORE)
        {
          assert_true(have < len);
          g_free(copy);
          continue;
        }
      assert_int_equal(r, RELAY_AVRO_OK);
      GString *message = g_string_new(NULL);
      for (guint32 i = 0; i < http->n_slices; i++)
        g_string_append_len(message, (const char *)http->slices[i].data, http->slices[i].len);
      *consumed = http->consumed;
      g_free(copy);
      return g_string_free(message, FALSE);
    }
}

static const char *const MESSAGE = "handshake, metadata, appendBatch and its events: any bytes will do";

static void
test_content_length_byte_by_byte(void **state)
{
  RelayAvroLimits limits;
  RelayAvroHttp http;
  GByteArray *body = _framed(MESSAGE, 7);
  GByteArray *req = _request_length(body, "");
  gsize consumed = 0;

  relay_avro_limits_init(&limits);
  relay_avro_http_init(&http);
  for (gsize step = 1; step <= req->len; step += step < 4 ? 1 : 37)
    {
      char *message = _feed(&http, req->data, req->len, step, &limits, &consumed);
      assert_string_equal(message, MESSAGE);
      assert_int_equal(consumed, req->len);
      assert_false(http.close);
      g_free(message);
    }
  relay_avro_http_clear(&http);
  g_byte_array_unref(req);
  g_byte_array_unref(body);
}

static void
test_chunked_across_length_prefixes(void **state)
{
  RelayAvroLimits limits;
  RelayAvroHttp http;
  GByteArray *body = _framed(MESSAGE, 10);
  gsize consumed = 0;

  relay_avro_limits_init(&limits);
  relay_avro_http_init(&http);
  for (gsize chunk = 1; chunk <= body->len; chunk += 3)
    {
      GByteArray *req = _request_chunked(body, chunk);
      char *message = _feed(&http, req->data, req->len, 1 + chunk % 5, &limits, &consumed);
      assert_string_equal(message, MESSAGE);
      assert_int_equal(consumed, req->len);
      g_free(message);
      g_byte_array_unref(req);
    }
  relay_avro_http_clear(&http);
  g_byte_array_unref(body);
}

static void
test_pipelined_and_connection_close(void **state)
{
  RelayAvroLimits limits;
  RelayAvroHttp http;
  GByteArray *body = _framed(MESSAGE, 100);
  GByteArray *both = _request_length(body, "");
  GByteArray *second = _request_length(body, "Connection: close\r\n");
  gsize first_len = both->len, consumed = 0;

  g_byte_array_append(both, second->data, second->len);
  relay_avro_limits_init(&limits);
  relay_avro_http_init(&http);
  assert_int_equal(relay_avro_http_parse(&http, both->data, both->len, &limits), RELAY_AVRO_OK);
  assert_int_equal(http.consumed, first_len);
  assert_false(http.close);
  char *message = _feed(&http, both->data + first_len, both->len - first_len, both->len, &limits, &consumed);
  assert_string_equal(message, MESSAGE);
  assert_int_equal(consumed, second->len);
  assert_true(http.close);
  g_free(message);
  relay_avro_http_clear(&http);
  g_byte_array_unref(both);
  g_byte_array_unref(second);
  g_byte_array_unref(body);
}

/* The status a request answers with (0: parsed OK, -1: still needs more). */
static int
_status(const char *request, gsize len, guint32 max_pack)
{
  RelayAvroLimits limits;
  RelayAvroHttp http;
  int status;

  relay_avro_limits_init(&limits);
  limits.max_pack_bytes = max_pack;
  relay_avro_http_init(&http);
  RelayAvroResult r = relay_avro_http_parse(&http, (const guint8 *)request, len, &limits);
  status = r == RELAY_AVRO_OK ? 0 : r == RELAY_AVRO_NEED_MORE ? -1 : http.status;
  relay_avro_http_clear(&http);
  return status;
}

#define STATUS(text) _status(text, sizeof text - 1, 1000)

static void
test_bad_requests(void **state)
{
  assert_int_equal(STATUS("GET / HTTP/1.1\r\n\r\n"), 405);
  assert_int_equal(STATUS("POST / HTTP/1.1\r\nHost: x\r\n\r\n"), 411);
  assert_int_equal(STATUS("POST / HTTP/1.1\r\nContent-Length: 1001\r\n\r\n"), 413);
  assert_int_equal(STATUS("POST / HTTP/1.1\r\nContent-Length: 12x\r\n\r\n"), 400);
  assert_int_equal(STATUS("POST / HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n"), 400);
  assert_int_equal(STATUS("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"), 501);
  assert_int_equal(STATUS("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"), 400);
  assert_int_equal(STATUS("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), 400);
  assert_int_equal(STATUS("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n"), 413);
  assert_int_equal(STATUS("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n"), 400);
  assert_int_equal(STATUS("POST / FTP/1.1\r\n\r\n"), 400);
  assert_int_equal(STATUS("\0\0\0\1\0\0\0\1"), 400); /* a Netty pack */
  /* framing inside the body: no terminator, a length past the end, bytes after the terminator */
  assert_int_equal(STATUS("POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\n\0\0\0\1"), 400);
  assert_int_equal(STATUS("POST / HTTP/1.1\r\nContent-Length: 8\r\n\r\n\0\0\0\11abcd"), 400);
  assert_int_equal(STATUS("POST / HTTP/1.1\r\nContent-Length: 6\r\n\r\n\0\0\0\0ab"), 400);
  assert_int_equal(STATUS("POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\n\0\0\0\1a\0\0\0\0"), 0);
  assert_int_equal(STATUS("POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\n\0\0\0\1a"), -1);

  GString *long_head = g_string_new("POST / HTTP/1.1\r\n");
  while (long_head->len < RELAY_AVRO_HTTP_MAX_HEADER_BYTES)
    g_string_append(long_head, "X-Padding: 0123456789012345678901234567890123456789\r\n");
  assert_int_equal(_status(long_head->str, long_head->len, 1000), 431);
  g_string_free(long_head, TRUE);
}

static void
test_reply_from_pack(void **state)
{
  GByteArray *out = g_byte_array_new();
  const guint8 pack[] = { 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 3, 'a', 'b', 'c' };
  const char *want = "HTTP/1.1 200 OK\r\nContent-Type: avro/binary\r\nContent-Length: 11\r\n\r\n";

  relay_avro_http_reply_from_pack(out, pack, sizeof pack, FALSE);
  assert_int_equal(out->len, strlen(want) + 11);
  assert_memory_equal(out->data, want, strlen(want));
  assert_memory_equal(out->data + strlen(want), "\0\0\0\3abc\0\0\0\0", 11);
  g_byte_array_unref(out);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_content_length_byte_by_byte),
    cmocka_unit_test(test_chunked_across_length_prefixes),
    cmocka_unit_test(test_pipelined_and_connection_close),
    cmocka_unit_test(test_bad_requests),
    cmocka_unit_test(test_reply_from_pack),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
