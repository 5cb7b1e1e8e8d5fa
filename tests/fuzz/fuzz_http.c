/* fuzz_http.c - libFuzzer target: the HTTP source's request framing and JSON handler (src/sources/
 * http_request.c, http_json.c).
 *
 * The input (after the split header of fuzz_common.h) is a byte stream from a client, fed as the RPC server
 * feeds it: in the chosen chunks, appended to a buffer that moves (a fresh copy each call), requests taken
 * off its front as they complete. Checked: a completed request never claims more bytes than were given and
 * its body pieces lie inside them and add up to body_len; the JSON handler gives the same verdict and the
 * same events whether the body is parsed in its pieces or in one piece, and leaves no events behind when it
 * refuses. */
#include "fuzz_common.h"

#include "http_json.h"
#include "http_request.h"

static const RelayHttpLimits _limits = { 2048, 1 << 16 };

/* Decodes the body; returns a digest of the events ("" when refused) and the status. */
static char *
_decode(const guint8 *buf, const RelayHttpSpan *pieces, guint n, int *status)
{
  GPtrArray *events = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  char why[256];

  *status = relay_http_json_decode(buf, pieces, n, NULL, 1000, events, why, sizeof why);
  FUZZ_CHECK(*status == 0 || events->len == 0);
  GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
  for (guint i = 0; i < events->len; i++)
    fuzz_digest_event(sum, events->pdata[i]);
  char *digest = g_strdup(g_checksum_get_string(sum));
  g_checksum_free(sum);
  g_ptr_array_unref(events);
  return digest;
}

static void
_check_request(const RelayHttpRequest *req, const guint8 *buf, gsize len)
{
  gsize total = 0;

  FUZZ_CHECK(req->consumed > 0 && req->consumed <= len);
  for (guint i = 0; i < req->body->len; i++)
    {
      RelayHttpSpan p = g_array_index(req->body, RelayHttpSpan, i);
      FUZZ_CHECK(p.off + p.len <= req->consumed);
      total += p.len;
    }
  FUZZ_CHECK(total == req->body_len && total <= _limits.max_body_bytes);
  int s1, s2;
  char *d1 = _decode(buf, (const RelayHttpSpan *)req->body->data, req->body->len, &s1);
  GByteArray *whole = g_byte_array_new();
  for (guint i = 0; i < req->body->len; i++)
    {
      RelayHttpSpan p = g_array_index(req->body, RelayHttpSpan, i);
      g_byte_array_append(whole, buf + p.off, (guint)p.len);
    }
  RelayHttpSpan one = { 0, whole->len };
  char *d2 = _decode(whole->data, &one, 1, &s2);
  FUZZ_CHECK(s1 == s2);
  FUZZ_CHECK(strcmp(d1, d2) == 0);
  g_free(d1);
  g_free(d2);
  g_byte_array_unref(whole);
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  FuzzSplits splits;
  gsize off = fuzz_splits_init(&splits, data, size);
  RelayHttpRequest req;
  GByteArray *in = g_byte_array_new();

  fuzz_init_once();
  relay_http_request_init(&req);
  while (off < size)
    {
      gsize n = fuzz_splits_next(&splits, size - off);
      g_byte_array_append(in, data + off, (guint)n);
      off += n;
      for (;;)
        {
          guint8 *copy = g_memdup2(in->data, in->len); /* the buffer moves between calls */
          RelayHttpResult r = relay_http_request_parse(&req, copy, in->len, &_limits);
          if (r == RELAY_HTTP_CONTINUE)
            r = relay_http_request_parse(&req, copy, in->len, &_limits);
          if (r == RELAY_HTTP_OK)
            {
              _check_request(&req, copy, in->len);
              g_byte_array_remove_range(in, 0, (guint)req.consumed);
            }
          g_free(copy);
          if (r == RELAY_HTTP_ERROR)
            {
              FUZZ_CHECK(req.status >= 400 && req.status < 600);
              off = size; /* the connection is closed */
            }
          if (r != RELAY_HTTP_OK || in->len == 0)
            break;
        }
    }
  relay_http_request_clear(&req);
  g_byte_array_unref(in);
  return 0;
}
