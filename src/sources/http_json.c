/* http_json.c - decodes Flume's JSONHandler format into events with yajl's streaming parser.
 *
 * Library choice (issue 12), measured with tests/tools/json_libs_compare.c under callgrind: parsing one
 * 1,000-event request (150 KB, 100-byte bodies, two headers each) and touching every string costs
 *   yajl 2.1.0      2.9 M instructions (~2,900 per event)
 *   jansson 2.14   29.3 M instructions
 *   json-glib 1.6  31.7 M instructions
 * (Debian 12 packages, instructions of 10 requests minus building the request, divided by 10). yajl's
 * callback API also fits the source: no tree is built, the shape (array of objects, headers an object of
 * strings) and the event limit are checked as tokens arrive, so nothing is allocated for a request that is
 * refused, chunked bodies are fed piece by piece without gathering them, and a string without escapes is
 * copied once, straight from the request buffer into the event. jansson and json-glib build a tree (an
 * allocation per value) that would then be copied again into events. yajl is in Debian with security
 * fixes; its upstream has made no release since 2.1.0, which we accept for this narrow, fuzzable use.
 *
 * Strings given by yajl point into the input when they hold no escapes and lie in one piece; those are
 * borrowed (the request buffer outlives the decode). Others live in yajl's reused buffer and are copied
 * into a scratch buffer, referenced by offset because the scratch may move as it grows. */
#include "http_json.h"
#include "event.h"

#include <stdio.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#define MAX_SKIP_DEPTH 64 /* nesting inside ignored members */

typedef enum
{
  ST_TOP = 0, /* before the array */
  ST_ARRAY,   /* between elements */
  ST_EVENT,   /* inside an element object */
  ST_HEADERS, /* inside its headers object */
  ST_DONE,    /* after the array */
} JsonState;

typedef enum
{
  NEXT_NONE = 0,
  NEXT_HEADERS, /* the value of "headers" */
  NEXT_BODY,    /* the value of "body" */
  NEXT_SKIP,    /* the value of another member */
} JsonNext;

typedef struct
{
  const char *p; /* borrowed, or NULL: in scratch at off */
  gsize off, len;
} Str;

typedef struct
{
  JsonState st;
  JsonNext next;
  guint skip_depth;
  const guint8 *lo, *hi; /* the piece being parsed */
  GByteArray *scratch;
  GArray *hdrs; /* Str key, Str value, ... of the current element */
  Str body, key;
  guint n_events, max_events;
  GPtrArray *events;
  const char *out_charset; /* NULL: UTF-8 */
  gboolean out_bom;        /* Java's UTF-16 encoder writes a byte-order mark */
  int status;
  char *why;
  gsize why_len;
} Ctx;

static int _fail(Ctx *c, int status, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static int
_fail(Ctx *c, int status, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  c->status = status;
  vsnprintf(c->why, c->why_len, fmt, ap);
  va_end(ap);
  return 0;
}

static Str
_save(Ctx *c, const unsigned char *s, size_t len)
{
  if (s >= c->lo && s + len <= c->hi)
    return (Str){ (const char *)s, 0, len };
  Str r = { NULL, c->scratch->len, len };
  g_byte_array_append(c->scratch, s, (guint)len);
  return r;
}

static const char *
_ptr(Ctx *c, Str s)
{
  return s.p ? s.p : (const char *)c->scratch->data + s.off;
}

/* Sets header key to value in the current element (a repeated key replaces, as in Gson's map). */
static int
_set_header(Ctx *c, Str value)
{
  Str *h = (Str *)c->hdrs->data;
  const char *k = _ptr(c, c->key);

  for (guint i = 0; i < c->hdrs->len; i += 2)
    if (h[i].len == c->key.len && memcmp(_ptr(c, h[i]), k, h[i].len) == 0)
      {
        h[i + 1] = value;
        return 1;
      }
  if (c->hdrs->len / 2 >= RELAY_EVENT_MAX_HEADERS)
    return _fail(c, 413, "element %u: more than %d headers", c->n_events - 1, RELAY_EVENT_MAX_HEADERS);
  g_array_append_val(c->hdrs, c->key);
  g_array_append_val(c->hdrs, value);
  return 1;
}

/* A string, number, boolean or null (p NULL) value. */
static int
_scalar(Ctx *c, const unsigned char *p, size_t len)
{
  if (c->skip_depth > 0)
    return 1;
  switch (c->st)
    {
    case ST_TOP:
      return _fail(c, 400, "the request body is not a JSON array");
    case ST_ARRAY:
      return _fail(c, 400, "element %u is not an object", c->n_events);
    case ST_EVENT:
      if (c->next == NEXT_HEADERS && p)
        return _fail(c, 400, "element %u: headers is not an object", c->n_events - 1);
      if (c->next == NEXT_BODY)
        c->body = p ? _save(c, p, len) : (Str){ "", 0, 0 };
      c->next = NEXT_NONE;
      return 1;
    case ST_HEADERS:
      return p ? _set_header(c, _save(c, p, len)) : 1; /* a null value: no header */
    case ST_DONE:
      break;
    }
  return _fail(c, 400, "data after the array");
}

static int
_on_null(void *ctx)
{
  return _scalar(ctx, NULL, 0);
}

static int
_on_boolean(void *ctx, int b)
{
  return b ? _scalar(ctx, (const unsigned char *)"true", 4) : _scalar(ctx, (const unsigned char *)"false", 5);
}

static int
_on_number(void *ctx, const char *s, size_t len)
{
  return _scalar(ctx, (const unsigned char *)s, len);
}

static int
_on_string(void *ctx, const unsigned char *s, size_t len)
{
  return _scalar(ctx, s, len);
}

/* A nested value inside an ignored member. */
static int
_skip_in(Ctx *c)
{
  if (++c->skip_depth > MAX_SKIP_DEPTH)
    return _fail(c, 400, "element %u: nesting deeper than %d", c->n_events - 1, MAX_SKIP_DEPTH);
  return 1;
}

static int
_on_start_map(void *ctx)
{
  Ctx *c = ctx;

  if (c->skip_depth > 0)
    return _skip_in(c);
  switch (c->st)
    {
    case ST_ARRAY:
      if (c->n_events >= c->max_events)
        return _fail(c, 413, "more than max-batch-events=%u events", c->max_events);
      c->n_events++;
      c->st = ST_EVENT;
      c->next = NEXT_NONE;
      g_array_set_size(c->hdrs, 0);
      c->body = (Str){ "", 0, 0 };
      return 1;
    case ST_EVENT:
      if (c->next == NEXT_HEADERS)
        {
          c->st = ST_HEADERS;
          return 1;
        }
      if (c->next == NEXT_SKIP)
        return _skip_in(c);
      return _fail(c, 400, "element %u: body is not a string", c->n_events - 1);
    case ST_HEADERS:
      return _fail(c, 400, "element %u: a header value is not a string", c->n_events - 1);
    default:
      return _fail(c, 400, "the request body is not a JSON array of objects");
    }
}

static int
_on_start_array(void *ctx)
{
  Ctx *c = ctx;

  if (c->skip_depth > 0)
    return _skip_in(c);
  if (c->st == ST_TOP)
    {
      c->st = ST_ARRAY;
      return 1;
    }
  if (c->st == ST_EVENT && c->next == NEXT_SKIP)
    return _skip_in(c);
  if (c->st == ST_ARRAY)
    return _fail(c, 400, "element %u is not an object", c->n_events);
  if (c->st == ST_EVENT)
    return _fail(c, 400, "element %u: %s is not %s", c->n_events - 1,
                 c->next == NEXT_BODY ? "body" : "headers", c->next == NEXT_BODY ? "a string" : "an object");
  return _fail(c, 400, "element %u: a header value is not a string", c->n_events - 1);
}

static int
_on_map_key(void *ctx, const unsigned char *s, size_t len)
{
  Ctx *c = ctx;

  if (c->skip_depth > 0)
    return 1;
  if (c->st == ST_HEADERS)
    {
      c->key = _save(c, s, len);
      return 1;
    }
  if (len == 7 && memcmp(s, "headers", 7) == 0)
    c->next = NEXT_HEADERS;
  else if (len == 4 && memcmp(s, "body", 4) == 0)
    c->next = NEXT_BODY;
  else
    c->next = NEXT_SKIP;
  return 1;
}

/* The element's event: headers and body copied once into it, the body re-encoded in the request charset. */
static int
_build_event(Ctx *c)
{
  guint n = c->hdrs->len / 2;
  RelayHeader *h = g_newa(RelayHeader, n ? n : 1);
  Str *s = (Str *)c->hdrs->data;

  for (guint i = 0; i < n; i++)
    h[i] = (RelayHeader){ _ptr(c, s[2 * i]), _ptr(c, s[2 * i + 1]), (guint32)s[2 * i].len,
                          (guint32)s[2 * i + 1].len };
  const char *body = _ptr(c, c->body);
  if (!c->out_charset)
    {
      g_ptr_array_add(c->events, relay_event_new(h, n, body, c->body.len));
      return 1;
    }
  gsize len = 0;
  char *conv = g_convert(body, (gssize)c->body.len, c->out_charset, "UTF-8", NULL, &len, NULL);
  if (!conv)
    return _fail(c, 400, "element %u: body not representable in %s", c->n_events - 1, c->out_charset);
  if (c->out_bom)
    {
      char *with = g_malloc(len + 2);
      memcpy(with, "\xfe\xff", 2);
      memcpy(with + 2, conv, len);
      g_free(conv);
      conv = with;
      len += 2;
    }
  g_ptr_array_add(c->events, relay_event_new(h, n, conv, len));
  g_free(conv);
  return 1;
}

static int
_on_end_map(void *ctx)
{
  Ctx *c = ctx;

  if (c->skip_depth > 0)
    {
      if (--c->skip_depth == 0)
        c->next = NEXT_NONE;
      return 1;
    }
  if (c->st == ST_HEADERS)
    {
      c->st = ST_EVENT;
      c->next = NEXT_NONE;
      return 1;
    }
  c->st = ST_ARRAY;
  return _build_event(c);
}

static int
_on_end_array(void *ctx)
{
  Ctx *c = ctx;

  if (c->skip_depth > 0)
    {
      if (--c->skip_depth == 0)
        c->next = NEXT_NONE;
      return 1;
    }
  c->st = ST_DONE;
  return 1;
}

static const yajl_callbacks _callbacks = {
  .yajl_null = _on_null,
  .yajl_boolean = _on_boolean,
  .yajl_number = _on_number,
  .yajl_string = _on_string,
  .yajl_start_map = _on_start_map,
  .yajl_map_key = _on_map_key,
  .yajl_end_map = _on_end_map,
  .yajl_start_array = _on_start_array,
  .yajl_end_array = _on_end_array,
};

/* Maps a charset parameter to the encoder name for bodies; FALSE if Flume's handler would not take it. */
static gboolean
_charset(const char *cs, const char **out, gboolean *bom)
{
  static const char *const ok[] = { "UTF-16BE", "UTF-16LE", "UTF-32BE", "UTF-32LE", NULL };

  *out = NULL;
  *bom = FALSE;
  if (!cs || g_ascii_strcasecmp(cs, "UTF-8") == 0 || g_ascii_strcasecmp(cs, "UTF8") == 0)
    return TRUE;
  if (g_ascii_strcasecmp(cs, "UTF-16") == 0)
    {
      *out = "UTF-16BE"; /* Java: big-endian with a byte-order mark */
      *bom = TRUE;
      return TRUE;
    }
  if (g_ascii_strcasecmp(cs, "UTF-32") == 0)
    {
      *out = "UTF-32BE";
      return TRUE;
    }
  for (guint i = 0; ok[i]; i++)
    if (g_ascii_strcasecmp(cs, ok[i]) == 0)
      *out = ok[i];
  return *out != NULL;
}

/* Feeds one piece to yajl. FALSE with c->status set on error. */
static gboolean
_feed(Ctx *c, yajl_handle y, const guint8 *p, gsize len, gsize before)
{
  c->lo = p;
  c->hi = p + len;
  yajl_status st = yajl_parse(y, p, len);
  if (st == yajl_status_ok)
    return TRUE;
  if (st == yajl_status_error)
    {
      unsigned char *msg = yajl_get_error(y, 0, p, len);
      char *nl = strchr((char *)msg, '\n');
      if (nl)
        *nl = '\0';
      _fail(c, 400, "invalid JSON at byte %" G_GSIZE_FORMAT ": %s", before + yajl_get_bytes_consumed(y),
            (const char *)msg);
      yajl_free_error(y, msg);
    }
  return FALSE;
}

/* Runs the parse over the pieces; 0 or an HTTP status. */
static int
_parse(Ctx *c, const guint8 *buf, const RelayHttpSpan *pieces, guint n_pieces)
{
  yajl_handle y = yajl_alloc(&_callbacks, NULL, c);
  gsize before = 0;
  gboolean ok = TRUE;

  for (guint i = 0; ok && i < n_pieces; i++)
    {
      ok = _feed(c, y, buf + pieces[i].off, pieces[i].len, before);
      before += pieces[i].len;
    }
  if (ok && yajl_complete_parse(y) != yajl_status_ok)
    {
      unsigned char *msg = yajl_get_error(y, 0, NULL, 0);
      char *nl = strchr((char *)msg, '\n');
      if (nl)
        *nl = '\0';
      _fail(c, 400, "invalid JSON at the end of the body: %s", (const char *)msg);
      yajl_free_error(y, msg);
    }
  yajl_free(y);
  if (c->status == 0 && c->st != ST_DONE)
    _fail(c, 400, "the request body is not a JSON array");
  return c->status;
}

int
relay_http_json_decode(const guint8 *buf, const RelayHttpSpan *pieces, guint n_pieces, const char *charset,
                       guint max_events, GPtrArray *events, char *why, gsize why_len)
{
  Ctx c = { .max_events = max_events, .events = events, .why = why, .why_len = why_len };
  guint start = events->len;
  gsize total = 0;

  for (guint i = 0; i < n_pieces; i++)
    total += pieces[i].len;
  if (total == 0)
    return _fail(&c, 400, "empty body (expected a JSON array of events)"), 400;
  if (!_charset(charset, &c.out_charset, &c.out_bom))
    return _fail(&c, 415, "unsupported charset %s (UTF-8, UTF-16 or UTF-32)", charset), 415;
  c.scratch = g_byte_array_new();
  c.hdrs = g_array_new(FALSE, FALSE, sizeof(Str));
  if (!c.out_charset)
    _parse(&c, buf, pieces, n_pieces);
  else
    {
      /* another charset: gather and convert to UTF-8 once, then parse that */
      GByteArray *all = g_byte_array_sized_new((guint)total);
      for (guint i = 0; i < n_pieces; i++)
        g_byte_array_append(all, buf + pieces[i].off, (guint)pieces[i].len);
      gsize len = 0;
      char *utf8 = g_convert((const char *)all->data, (gssize)all->len, "UTF-8", charset, NULL, &len, NULL);
      g_byte_array_unref(all);
      if (!utf8)
        _fail(&c, 400, "the body is not valid %s", charset);
      else
        _parse(&c, (const guint8 *)utf8, &(RelayHttpSpan){ 0, len }, 1);
      g_free(utf8);
    }
  g_byte_array_unref(c.scratch);
  g_array_unref(c.hdrs);
  if (c.status != 0)
    g_ptr_array_set_size(events, start);
  return c.status;
}

char *
relay_http_content_type_charset(const char *ct, gsize len)
{
  char *s = g_strndup(ct, len), *r = NULL;
  char **params = g_strsplit(s, ";", 16);

  for (guint i = 1; params[i] && !r; i++)
    {
      char *p = g_strstrip(params[i]);
      if (g_ascii_strncasecmp(p, "charset=", 8) != 0)
        continue;
      p += 8;
      gsize n = strlen(p);
      if (n >= 2 && p[0] == '"' && p[n - 1] == '"')
        r = g_strndup(p + 1, n - 2);
      else
        r = g_strdup(p);
    }
  g_strfreev(params);
  g_free(s);
  return r;
}
