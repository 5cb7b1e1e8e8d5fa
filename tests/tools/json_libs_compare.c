/* json_libs_compare.c - measures the JSON libraries considered for the HTTP source's JSON handler.
 *
 * Builds one request as Flume's JSONHandler takes it (a JSON array of 1,000 {"headers":{...},"body":"..."}
 * objects with 100-byte bodies and two headers) and parses it `loops` times with one library, touching every
 * header key/value and body as a handler would to build events. Run under callgrind to count instructions:
 *   for l in jansson:JANSSON json-glib-1.0:JSONGLIB yajl:YAJL; do
 *     cc -O2 -DUSE_${l#*:} -o /tmp/jlc-${l#*:} tests/tools/json_libs_compare.c $(pkg-config --cflags --libs glib-2.0 ${l%:*})
 *   done     (jansson and json-glib export clashing symbols: one program per library)
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null /tmp/jlc-YAJL yajl 10     (and none, jansson, jsonglib)
 * and subtract the "none" run (building the request) from each to get instructions for 10 requests.
 * Not built by make: json-glib is not a dependency of relayd. */
#if defined(USE_JANSSON)
#include <jansson.h>
#elif defined(USE_JSONGLIB)
#include <json-glib/json-glib.h>
#elif defined(USE_YAJL)
#include <yajl/yajl_parse.h>
#endif
#include <glib.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static gsize touched; /* bytes seen, so the work cannot be optimised away */

static GString *
_request(void)
{
  GString *s = g_string_new("[");

  for (int i = 0; i < 1000; i++)
    {
      g_string_append_printf(s, "%s{\"headers\":{\"host\":\"web%d\",\"seq\":\"%d\"},\"body\":\"", i ? "," : "",
                             i % 10, i);
      for (int j = 0; j < 100; j++)
        g_string_append_c(s, (char)('a' + (i + j) % 26));
      g_string_append(s, "\"}");
    }
  g_string_append(s, "]");
  return s;
}

#if defined(USE_JANSSON)
static void
_jansson(const GString *req)
{
  json_error_t err;
  json_t *root = json_loadb(req->str, req->len, 0, &err);
  size_t i;
  json_t *ev;

  json_array_foreach(root, i, ev)
  {
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(ev, "headers"), key, v)
    touched += strlen(key) + json_string_length(v);
    touched += json_string_length(json_object_get(ev, "body"));
  }
  json_decref(root);
}

#endif
#if defined(USE_JSONGLIB)
static void
_jsonglib(const GString *req)
{
  JsonParser *parser = json_parser_new();
  json_parser_load_from_data(parser, req->str, (gssize)req->len, NULL);
  JsonArray *arr = json_node_get_array(json_parser_get_root(parser));

  for (guint i = 0; i < json_array_get_length(arr); i++)
    {
      JsonObject *ev = json_array_get_object_element(arr, i);
      JsonObject *h = json_object_get_object_member(ev, "headers");
      JsonObjectIter it;
      const char *key;
      JsonNode *v;
      json_object_iter_init(&it, h);
      while (json_object_iter_next(&it, &key, &v))
        touched += strlen(key) + strlen(json_node_get_string(v));
      touched += strlen(json_object_get_string_member(ev, "body"));
    }
  g_object_unref(parser);
}

#endif
#if defined(USE_YAJL)
static int
_y_string(void *ctx, const unsigned char *s, size_t len)
{
  touched += len;
  return 1;
}

static int
_y_key(void *ctx, const unsigned char *s, size_t len)
{
  touched += len;
  return 1;
}

static void
_yajl(const GString *req)
{
  static const yajl_callbacks cb = { .yajl_string = _y_string, .yajl_map_key = _y_key };
  yajl_handle h = yajl_alloc(&cb, NULL, NULL);

  yajl_parse(h, (const unsigned char *)req->str, req->len);
  yajl_complete_parse(h);
  yajl_free(h);
}

#endif

int
main(int argc, char **argv)
{
  GString *req = _request();
  int loops = argc > 2 ? atoi(argv[2]) : 10;
  const char *lib = argc > 1 ? argv[1] : "none";

  for (int i = 0; i < loops; i++)
    {
#if defined(USE_JANSSON)
      if (strcmp(lib, "jansson") == 0)
        _jansson(req);
#elif defined(USE_JSONGLIB)
      if (strcmp(lib, "jsonglib") == 0)
        _jsonglib(req);
#elif defined(USE_YAJL)
      if (strcmp(lib, "yajl") == 0)
        _yajl(req);
#endif
    }
  printf("%s: %d requests of %zu bytes, %zu bytes touched\n", lib, loops, req->len, touched);
  g_string_free(req, TRUE);
  return 0;
}
