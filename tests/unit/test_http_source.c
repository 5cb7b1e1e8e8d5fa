/* test_http_source.c - unit tests of the HTTP source's codecs (src/sources/http_request.c, http_json.c,
 * http_blob.c).
 *
 * Requests are fed as the RPC server feeds them: the same bytes again with more appended, one byte at a time,
 * in a buffer that moves between calls. JSON bodies are split into pieces at every position (as chunked
 * bodies arrive), and every split must give the same events; refused input must give the documented status
 * and leave no events behind. */
#include "event.h"
#include "http_blob.h"
#include "http_json.h"
#include "http_request.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

static const RelayHttpLimits _limits = { 4096, 100000 };

/* Feeds raw one byte more at a time, each time from a fresh copy; returns the first result other than
 * NEED_MORE and CONTINUE (counting CONTINUEs), with the request parsed from *copy (caller frees). */
static RelayHttpResult
_feed_bytewise(RelayHttpRequest *req, const char *raw, gsize len, guint8 **copy, int *continues)
{
  RelayHttpResult r = RELAY_HTTP_NEED_MORE;

  *copy = NULL;
  for (gsize n = 1; n <= len; n++)
    {
      g_free(*copy);
      *copy = g_memdup2(raw, n);
      r = relay_http_request_parse(req, *copy, n, &_limits);
      if (r == RELAY_HTTP_CONTINUE)
        {
          (*continues)++;
          r = relay_http_request_parse(req, *copy, n, &_limits);
        }
      if (r != RELAY_HTTP_NEED_MORE && r != RELAY_HTTP_CONTINUE)
        break;
    }
  return r;
}

static char *
_body(const RelayHttpRequest *req, const guint8 *buf)
{
  GString *s = g_string_new(NULL);

  for (guint i = 0; i < req->body->len; i++)
    {
      RelayHttpSpan p = g_array_index(req->body, RelayHttpSpan, i);
      g_string_append_len(s, (const char *)buf + p.off, (gssize)p.len);
    }
  return g_string_free(s, FALSE);
}

static void
test_request_bytewise(void **state)
{
  const char *cl
      = "POST /x?a=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello";
  const char *ch = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                   "3;ext=1\r\nhel\r\n2\r\nlo\r\n0\r\nTrailer: x\r\n\r\n";
  RelayHttpRequest req;
  guint8 *copy;
  int continues = 0;

  relay_http_request_init(&req);
  assert_int_equal(_feed_bytewise(&req, cl, strlen(cl), &copy, &continues), RELAY_HTTP_OK);
  assert_int_equal(continues, 1);
  assert_int_equal(req.consumed, strlen(cl));
  assert_true(relay_http_span_is(copy, req.method, "POST"));
  assert_true(relay_http_span_is(copy, req.path, "/x"));
  assert_true(relay_http_span_is(copy, req.query, "a=1"));
  assert_false(req.close);
  char *b = _body(&req, copy);
  assert_string_equal(b, "hello");
  g_free(b);
  g_free(copy);

  continues = 0;
  assert_int_equal(_feed_bytewise(&req, ch, strlen(ch), &copy, &continues), RELAY_HTTP_OK);
  assert_int_equal(continues, 0);
  assert_int_equal(req.consumed, strlen(ch));
  assert_true(req.close);
  b = _body(&req, copy);
  assert_string_equal(b, "hello");
  g_free(b);
  g_free(copy);
  relay_http_request_clear(&req);
}

static void
test_request_pipelined(void **state)
{
  const char *two = "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n[]GET / HTTP/1.0\r\n\r\n";
  RelayHttpRequest req;

  relay_http_request_init(&req);
  assert_int_equal(relay_http_request_parse(&req, (const guint8 *)two, strlen(two), &_limits), RELAY_HTTP_OK);
  gsize first = req.consumed;
  const guint8 *rest = (const guint8 *)two + first;
  assert_int_equal(relay_http_request_parse(&req, rest, strlen(two) - first, &_limits), RELAY_HTTP_OK);
  assert_true(relay_http_span_is(rest, req.method, "GET"));
  assert_int_equal(req.body_len, 0);
  assert_true(req.close); /* HTTP/1.0 without keep-alive */
  relay_http_request_clear(&req);
}

static void
test_request_errors(void **state)
{
  static const struct
  {
    const char *raw;
    int status;
  } cases[] = {
    { "POST /\r\n\r\n", 400 },
    { "\r\n\r\n", 400 },
    { "\n\n\n", 400 },
    { "POST / HTTP/2.0\r\n\r\n", 400 },
    { "POST / HTTP/1.1\r\nBad Header: x\r\n\r\n", 400 },
    { "POST / HTTP/1.1\r\n folded\r\n\r\n", 400 },
    { "POST / HTTP/1.1\r\nContent-Length: x1\r\n\r\n", 400 },
    { "POST / HTTP/1.1\r\nContent-Length: 100001\r\n\r\n", 413 },
    { "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
    { "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501 },
    { "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nq\r\n", 400 },
    { "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n186a1\r\n", 413 },
    { "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc", 400 },
  };
  RelayHttpRequest req;

  relay_http_request_init(&req);
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
    {
      RelayHttpResult r
          = relay_http_request_parse(&req, (const guint8 *)cases[i].raw, strlen(cases[i].raw), &_limits);
      if (r != RELAY_HTTP_ERROR || req.status != cases[i].status)
        fail_msg("case %u %s: result %d status %d", i, cases[i].raw, r, req.status);
    }
  /* a head that never ends: 431 once it passes max_header_bytes */
  GString *big = g_string_new("POST / HTTP/1.1\r\n");
  while (big->len <= _limits.max_header_bytes)
    g_string_append(big, "X-A: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
  assert_int_equal(relay_http_request_parse(&req, (const guint8 *)big->str, big->len, &_limits),
                   RELAY_HTTP_ERROR);
  assert_int_equal(req.status, 431);
  g_string_free(big, TRUE);
  relay_http_request_clear(&req);
}

/* "k=v,k=v|body" per event, for comparing. */
static char *
_events_text(GPtrArray *events)
{
  GString *s = g_string_new(NULL);

  for (guint i = 0; i < events->len; i++)
    {
      RelayEvent *ev = events->pdata[i];
      for (guint h = 0; h < ev->n_headers; h++)
        g_string_append_printf(s, "%s=%s,", ev->headers[h].key, ev->headers[h].value);
      g_string_append_c(s, '|');
      g_string_append_len(s, (const char *)ev->body, ev->body_len);
      g_string_append_c(s, ';');
    }
  return g_string_free(s, FALSE);
}

static int
_decode_split(const char *json, gsize at, const char *charset, guint max, GPtrArray *events, char *why)
{
  gsize len = strlen(json);
  RelayHttpSpan pieces[2] = { { 0, at }, { at, len - at } };

  return relay_http_json_decode((const guint8 *)json, at == 0 ? pieces + 1 : pieces, at == 0 ? 1 : 2, charset,
                                max, events, why, 256);
}

static void
test_json_every_split(void **state)
{
  const char *json
      = "[{\"headers\":{\"a\":\"1\",\"b\":\"x\\\"y\",\"n\":12,\"t\":true,\"z\":null,\"a\":\"2\"},"
        "\"body\":\"h\\u00e9llo\\n\",\"extra\":[{\"deep\":[1,{}]}]},{\"body\":\"plain\"},{}]";
  const char *want = "a=2,b=x\"y,n=12,t=true,|h\xc3\xa9llo\n;|plain;|;";
  char why[256];

  for (gsize at = 0; at < strlen(json); at++)
    {
      GPtrArray *events = g_ptr_array_new_with_free_func(relay_event_unref_notify);
      int status = _decode_split(json, at, NULL, 10, events, why);
      if (status != 0)
        fail_msg("split at %zu: status %d %s", at, status, why);
      char *got = _events_text(events);
      if (strcmp(got, want) != 0)
        fail_msg("split at %zu: %s", at, got);
      g_free(got);
      g_ptr_array_unref(events);
    }
}

static void
test_json_refused(void **state)
{
  static const struct
  {
    const char *json;
    int status;
  } cases[] = {
    { "", 400 },
    { "{}", 400 },
    { "[1]", 400 },
    { "[[]]", 400 },
    { "[{\"headers\":[]}]", 400 },
    { "[{\"headers\":{\"a\":{}}}]", 400 },
    { "[{\"body\":[]}]", 400 },
    { "[{\"body\":\"x\"}", 400 },
    { "[{\"body\":\"x\"}] []", 400 },
    { "[{\"body\":\"\xff\"}]", 400 },
    { "[{},{},{},{}]", 413 },
  };
  char why[256];

  for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
    {
      GPtrArray *events = g_ptr_array_new_with_free_func(relay_event_unref_notify);
      g_ptr_array_add(events, relay_event_new_simple("kept", NULL));
      int status = _decode_split(cases[i].json, 0, NULL, 3, events, why);
      if (status != cases[i].status || events->len != 1)
        fail_msg("case %u %s: status %d events %u", i, cases[i].json, status, events->len);
      g_ptr_array_unref(events);
    }
  /* ignored members may nest, but only so deep */
  GString *deep = g_string_new("[{\"x\":");
  for (int i = 0; i < 100; i++)
    g_string_append_c(deep, '[');
  for (int i = 0; i < 100; i++)
    g_string_append_c(deep, ']');
  g_string_append(deep, "}]");
  GPtrArray *events = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  assert_int_equal(_decode_split(deep->str, 0, NULL, 3, events, why), 400);
  assert_non_null(strstr(why, "nesting"));
  g_ptr_array_unref(events);
  g_string_free(deep, TRUE);
}

static void
test_json_charsets(void **state)
{
  const char *utf8 = "[{\"headers\":{\"k\":\"v\"},\"body\":\"h\xc3\xa9\"}]";
  gsize len;
  char *utf16 = g_convert(utf8, -1, "UTF-16LE", "UTF-8", NULL, &len, NULL);
  GByteArray *in = g_byte_array_new();
  char why[256];

  g_byte_array_append(in, (const guint8 *)"\xff\xfe", 2); /* a little-endian byte-order mark */
  g_byte_array_append(in, (const guint8 *)utf16, (guint)len);
  GPtrArray *events = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  RelayHttpSpan piece = { 0, in->len };
  assert_int_equal(relay_http_json_decode(in->data, &piece, 1, "utf-16", 10, events, why, sizeof why), 0);
  RelayEvent *ev = events->pdata[0];
  assert_string_equal(relay_event_get_header(ev, "k"), "v");
  assert_int_equal(ev->body_len, 6); /* Java's UTF-16: byte-order mark, big-endian */
  assert_memory_equal(ev->body, "\xfe\xff\x00h\x00\xe9", 6);
  assert_int_equal(relay_http_json_decode(in->data, &piece, 1, "latin1", 10, events, why, sizeof why), 415);
  g_ptr_array_unref(events);
  g_byte_array_unref(in);
  g_free(utf16);

  char *cs = relay_http_content_type_charset("application/json; Charset=\"UTF-32\"", 34);
  assert_string_equal(cs, "UTF-32");
  g_free(cs);
  assert_null(relay_http_content_type_charset("application/json", 16));
}

static void
test_blob(void **state)
{
  const char *raw = "POST /p?host=web%201&n=7&n=8&flag&a+b=c%2 HTTP/1.1\r\nContent-Type: text/plain\r\n"
                    "X-Trace: t1\r\nContent-Length: 4\r\n\r\nBLOB";
  char h1[] = "X-Trace", h2[] = "X-Absent", m1[] = "missing";
  char *copy_headers[] = { h1, h2, NULL };
  char *mandatory[] = { m1, NULL };
  RelayHttpBlobConfig cfg = { 100, copy_headers, NULL, TRUE };
  RelayHttpRequest req;
  char why[256];

  relay_http_request_init(&req);
  assert_int_equal(relay_http_request_parse(&req, (const guint8 *)raw, strlen(raw), &_limits), RELAY_HTTP_OK);
  GPtrArray *events = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  assert_int_equal(relay_http_blob_decode(&cfg, (const guint8 *)raw, &req, events, why, sizeof why), 0);
  char *got = _events_text(events);
  assert_string_equal(got, "Content-Type=text/plain,host=web 1,n=7,flag=,a b=c%2,X-Trace=t1,|BLOB;");
  g_free(got);
  cfg.max_blob_length = 3;
  assert_int_equal(relay_http_blob_decode(&cfg, (const guint8 *)raw, &req, events, why, sizeof why), 413);
  cfg.max_blob_length = 100;
  cfg.mandatory = mandatory;
  assert_int_equal(relay_http_blob_decode(&cfg, (const guint8 *)raw, &req, events, why, sizeof why), 400);
  assert_int_equal(events->len, 1);
  g_ptr_array_unref(events);
  relay_http_request_clear(&req);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_request_bytewise),
    cmocka_unit_test(test_request_pipelined),
    cmocka_unit_test(test_request_errors),
    cmocka_unit_test(test_json_every_split),
    cmocka_unit_test(test_json_refused),
    cmocka_unit_test(test_json_charsets),
    cmocka_unit_test(test_blob),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
