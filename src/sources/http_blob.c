/* http_blob.c - one event per request body, headers from query parameters and request headers (see
 * http_blob.h). */
#include "http_blob.h"
#include "event.h"

#include <stdio.h>
#include <string.h>

/* application/x-www-form-urlencoded decoding of s[0..len) ('+' is a space, %XX a byte; a bad escape is
 * kept as it is). New string. */
static char *
_url_decode(const char *s, gsize len)
{
  GString *out = g_string_sized_new(len);

  for (gsize i = 0; i < len; i++)
    {
      int hi, lo;
      if (s[i] == '+')
        g_string_append_c(out, ' ');
      else if (s[i] == '%' && i + 2 < len && (hi = g_ascii_xdigit_value(s[i + 1])) >= 0
               && (lo = g_ascii_xdigit_value(s[i + 2])) >= 0)
        {
          g_string_append_c(out, (char)(hi * 16 + lo));
          i += 2;
        }
      else
        g_string_append_c(out, s[i]);
    }
  return g_string_free(out, FALSE);
}

/* Adds key=value (new strings, taken) unless key is already there (the first value of a name wins). */
static void
_add(GPtrArray *kv, char *key, char *value)
{
  for (guint i = 0; i < kv->len; i += 2)
    if (strcmp(kv->pdata[i], key) == 0)
      {
        g_free(key);
        g_free(value);
        return;
      }
  g_ptr_array_add(kv, key);
  g_ptr_array_add(kv, value);
}

static void
_query_params(const char *q, gsize len, GPtrArray *kv)
{
  gsize start = 0;

  for (gsize i = 0; i <= len; i++)
    {
      if (i < len && q[i] != '&')
        continue;
      const char *p = q + start, *eq = memchr(p, '=', i - start);
      gsize klen = eq ? (gsize)(eq - p) : i - start;
      if (klen > 0)
        _add(kv, _url_decode(p, klen), eq ? _url_decode(eq + 1, i - start - klen - 1) : g_strdup(""));
      start = i + 1;
    }
}

static void
_copy_header(const guint8 *buf, const RelayHttpRequest *req, const char *name, GPtrArray *kv)
{
  RelayHttpSpan v;

  if (relay_http_request_header(req, buf, name, &v))
    _add(kv, g_strdup(name), g_strndup((const char *)buf + v.off, v.len));
}

int
relay_http_blob_decode(const RelayHttpBlobConfig *cfg, const guint8 *buf, const RelayHttpRequest *req,
                       GPtrArray *events, char *why, gsize why_len)
{
  if (req->body_len > cfg->max_blob_length)
    {
      snprintf(why, why_len,
               "body of %" G_GSIZE_FORMAT " bytes is longer than handler.maxBlobLength=%" G_GSIZE_FORMAT,
               req->body_len, cfg->max_blob_length);
      return 413;
    }
  GPtrArray *kv = g_ptr_array_new_with_free_func(g_free);
  if (cfg->content_type)
    _copy_header(buf, req, "Content-Type", kv);
  _query_params((const char *)buf + req->query.off, req->query.len, kv);
  for (guint i = 0; cfg->copy_headers && cfg->copy_headers[i]; i++)
    _copy_header(buf, req, cfg->copy_headers[i], kv);
  for (guint i = 0; cfg->mandatory && cfg->mandatory[i]; i++)
    {
      gboolean found = FALSE;
      for (guint j = 0; j < kv->len && !found; j += 2)
        found = strcmp(kv->pdata[j], cfg->mandatory[i]) == 0;
      if (!found)
        {
          snprintf(why, why_len, "missing mandatory parameter %s", cfg->mandatory[i]);
          g_ptr_array_unref(kv);
          return 400;
        }
    }
  guint n = kv->len / 2;
  RelayHeader *h = g_newa(RelayHeader, n ? n : 1);
  for (guint i = 0; i < n; i++)
    h[i] = (RelayHeader){ kv->pdata[2 * i], kv->pdata[2 * i + 1], (guint32)strlen(kv->pdata[2 * i]),
                          (guint32)strlen(kv->pdata[2 * i + 1]) };
  const RelayHttpSpan *pieces = (const RelayHttpSpan *)req->body->data;
  if (req->body->len <= 1)
    g_ptr_array_add(events, relay_event_new(h, n, req->body->len ? buf + pieces[0].off : (const guint8 *)"",
                                            req->body_len));
  else
    {
      GByteArray *all = g_byte_array_sized_new((guint)req->body_len); /* chunked: gather the pieces */
      for (guint i = 0; i < req->body->len; i++)
        g_byte_array_append(all, buf + pieces[i].off, (guint)pieces[i].len);
      g_ptr_array_add(events, relay_event_new(h, n, all->data, all->len));
      g_byte_array_unref(all);
    }
  g_ptr_array_unref(kv);
  return 0;
}
