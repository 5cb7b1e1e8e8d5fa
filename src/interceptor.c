/* interceptor.c - Flume's built-in interceptors and the chain that runs them on a source's batches.
 *
 * Each type is a row in _types: its alias and Flume builder class, the keys it reads, a configure
 * function (reads "interceptors.<name>.<key>", compiles regexes, resolves the host once) and an apply
 * function over the whole batch. Events are immutable: header changes replace the array element with a
 * copy (relay_event_with_header, or one relay_event_new for remove_header), filters drop the element's
 * reference and compact the array in place. Settings are read-only after configuration.
 *
 * Differences from Flume: the timestamp interceptor reads the clock once per batch (Flume once per event);
 * regex_filter decodes the body as UTF-8 (invalid sequences become U+FFFD, as Java's decoder does) and uses
 * GRegex (PCRE) syntax, which agrees with java.util.regex for common patterns. */
#include "interceptor.h"

#include "event.h"
#include "log.h"
#include "options.h"

#include <netdb.h>
#include <string.h>
#include <sys/socket.h>

typedef struct _Interceptor Interceptor;

/* Configuration context of one interceptor. */
typedef struct
{
  const RelayComponentConfig *cc;
  RelayConfigReport *report;
  const char *log_prefix;
  const char *name;
  char *prefix;               /* "interceptors.<name>." */
  const RelayOption *options; /* the type's keys and their defaults */
} _Ctx;

typedef struct
{
  const char *alias;       /* matched case-insensitively */
  const char *flume_class; /* matched exactly */
  const char *description;
  const RelayOption *options; /* sub-keys read besides "type", with their defaults (see _setting) */
  gboolean (*configure)(Interceptor *self, _Ctx *ctx);
  void (*apply)(Interceptor *self, GPtrArray *events);
} _Type;

struct _Interceptor
{
  const _Type *type;
  char *header;      /* timestamp headerName, host hostHeader, static key */
  char *value;       /* static value; host address or name (NULL: not resolved, header not set) */
  gboolean preserve; /* preserveExisting */
  gboolean exclude;  /* regex_filter excludeEvents */
  GRegex *regex;     /* regex_filter regex; remove_header matching (anchored at both ends) */
  char *with_name;   /* remove_header withName */
  GHashTable *names; /* remove_header fromList (set) */
  /* an added type's interceptor (type is then NULL) */
  const RelayInterceptorType *added;
  gpointer instance;
};

struct _RelayInterceptorChain
{
  GPtrArray *interceptors; /* Interceptor*, in list order */
};

/* ---- configuration helpers ---- */

static char *
_full_key(_Ctx *ctx, const char *key)
{
  return g_strconcat(ctx->prefix, key, NULL);
}

static const char *
_value(_Ctx *ctx, const char *key, const char *def)
{
  char *full = _full_key(ctx, key);
  const char *value = relay_component_config_value(ctx->cc, full);

  g_free(full);
  return value ? value : def;
}

static void G_GNUC_PRINTF(3, 4) _report(_Ctx *ctx, const char *key, const char *fmt, ...)
{
  char *full = _full_key(ctx, key);
  const RelayProp *where = relay_component_config_get(ctx->cc, full);
  va_list ap;

  va_start(ap, fmt);
  char *message = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  relay_config_report_add(ctx->report, where ? where : relay_component_config_where(ctx->cc), ctx->cc->label,
                          full, "%s", message);
  g_free(message);
  g_free(full);
}

/* The configured value of key, or the default of its row in the type's option table. */
static const char *
_setting(_Ctx *ctx, const char *key)
{
  const RelayOption *opt = relay_options_find(ctx->options, key);

  g_return_val_if_fail(opt != NULL, NULL);
  return _value(ctx, key, opt->def);
}

/* Java's Boolean.parseBoolean: "true" in any case is true, anything else false (reported). */
static gboolean
_bool(_Ctx *ctx, const char *key)
{
  const char *value = _value(ctx, key, NULL);

  if (!value)
    {
      const char *def = _setting(ctx, key);
      return def && g_ascii_strcasecmp(def, "true") == 0;
    }
  if (g_ascii_strcasecmp(value, "true") == 0)
    return TRUE;
  if (g_ascii_strcasecmp(value, "false") != 0)
    _report(ctx, key, "%s is not true or false, read as false (as Flume does)", value);
  return FALSE;
}

static GRegex *
_regex(_Ctx *ctx, const char *key, const char *pattern)
{
  GError *error = NULL;
  GRegex *regex = g_regex_new(pattern, G_REGEX_OPTIMIZE, 0, &error);

  if (!regex)
    {
      _report(ctx, key, "invalid regular expression %s: %s; source %s removed", pattern, error->message,
              ctx->cc->name);
      g_error_free(error);
    }
  return regex;
}

/* ---- header setters: timestamp, host, static ---- */

static void
_set_header_all(GPtrArray *events, const char *header, const char *value, gboolean preserve)
{
  for (guint i = 0; i < events->len; i++)
    {
      RelayEvent *ev = g_ptr_array_index(events, i);
      if (preserve && relay_event_get_header(ev, header))
        continue;
      events->pdata[i] = relay_event_with_header(ev, header, value);
    }
}

static gboolean
_timestamp_configure(Interceptor *self, _Ctx *ctx)
{
  self->header = g_strdup(_setting(ctx, "headerName"));
  self->preserve = _bool(ctx, "preserveExisting");
  return TRUE;
}

static void
_timestamp_apply(Interceptor *self, GPtrArray *events)
{
  char millis[24];

  g_snprintf(millis, sizeof millis, "%" G_GINT64_FORMAT, g_get_real_time() / 1000);
  _set_header_all(events, self->header, millis, self->preserve);
}

/* As Java's InetAddress.getLocalHost(): the first address of the host name (IPv4 preferred), shown as
 * an address or as its reverse-resolved name (the address itself when that fails). NULL if unresolvable. */
static char *
_resolve_local_host(gboolean use_ip)
{
  const struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
  struct addrinfo *list = NULL;
  char text[NI_MAXHOST];

  if (getaddrinfo(g_get_host_name(), NULL, &hints, &list) != 0 || !list)
    return NULL;
  const struct addrinfo *pick = list;
  for (const struct addrinfo *ai = list; ai; ai = ai->ai_next)
    if (ai->ai_family == AF_INET)
      {
        pick = ai;
        break;
      }
  int rc
      = getnameinfo(pick->ai_addr, pick->ai_addrlen, text, sizeof text, NULL, 0, use_ip ? NI_NUMERICHOST : 0);
  freeaddrinfo(list);
  return rc == 0 ? g_strdup(text) : NULL;
}

static gboolean
_host_configure(Interceptor *self, _Ctx *ctx)
{
  gboolean use_ip = _bool(ctx, "useIP");

  self->header = g_strdup(_setting(ctx, "hostHeader"));
  self->preserve = _bool(ctx, "preserveExisting");
  self->value = _resolve_local_host(use_ip);
  if (!self->value)
    relay_warn(ctx->log_prefix,
               "interceptor %s: cannot resolve the local host, header %s will not be set host=%s", ctx->name,
               self->header, g_get_host_name());
  return TRUE;
}

static void
_host_apply(Interceptor *self, GPtrArray *events)
{
  if (self->value)
    _set_header_all(events, self->header, self->value, self->preserve);
}

static gboolean
_static_configure(Interceptor *self, _Ctx *ctx)
{
  self->header = g_strdup(_setting(ctx, "key"));
  self->value = g_strdup(_setting(ctx, "value"));
  self->preserve = _bool(ctx, "preserveExisting");
  return TRUE;
}

static void
_static_apply(Interceptor *self, GPtrArray *events)
{
  _set_header_all(events, self->header, self->value, self->preserve);
}

/* ---- regex_filter ---- */

static gboolean
_regex_filter_configure(Interceptor *self, _Ctx *ctx)
{
  self->exclude = _bool(ctx, "excludeEvents");
  self->regex = _regex(ctx, "regex", _setting(ctx, "regex"));
  return self->regex != NULL;
}

/* find() on the body as text. Only a body that is not valid UTF-8 is copied. */
static gboolean
_body_matches(GRegex *regex, const RelayEvent *ev)
{
  const char *text = (const char *)ev->body;

  if (g_utf8_validate_len(text, ev->body_len, NULL))
    return g_regex_match_full(regex, text, ev->body_len, 0, 0, NULL, NULL);
  char *valid = g_utf8_make_valid(text, ev->body_len);
  gboolean found = g_regex_match(regex, valid, 0, NULL);
  g_free(valid);
  return found;
}

/* Drops elements [kept, len) after their references were moved or released. */
static void
_truncate(GPtrArray *events, guint kept)
{
  for (guint i = kept; i < events->len; i++)
    events->pdata[i] = NULL;
  g_ptr_array_set_size(events, kept);
}

static void
_regex_filter_apply(Interceptor *self, GPtrArray *events)
{
  guint kept = 0;

  for (guint i = 0; i < events->len; i++)
    {
      RelayEvent *ev = g_ptr_array_index(events, i);
      if (_body_matches(self->regex, ev) != self->exclude)
        events->pdata[kept++] = ev;
      else
        relay_event_unref(ev);
    }
  _truncate(events, kept);
}

/* ---- remove_header ---- */

static gboolean
_remove_header_list(Interceptor *self, _Ctx *ctx, const char *list)
{
  GRegex *separator = _regex(ctx, "fromListSeparator", _setting(ctx, "fromListSeparator"));

  if (!separator)
    return FALSE;
  char **names = g_regex_split(separator, list, 0);
  self->names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; names[i]; i++)
    if (names[i][0])
      g_hash_table_add(self->names, g_strdup(names[i]));
  g_strfreev(names);
  g_regex_unref(separator);
  return TRUE;
}

static gboolean
_remove_header_configure(Interceptor *self, _Ctx *ctx)
{
  const char *list = _setting(ctx, "fromList");
  const char *matching = _setting(ctx, "matching");

  self->with_name = g_strdup(_setting(ctx, "withName"));
  if (list && !_remove_header_list(self, ctx, list))
    return FALSE;
  if (!matching)
    return TRUE;
  /* Java's Matcher.matches(): the whole name must match. */
  char *anchored = g_strdup_printf("^(?:%s)\\z", matching);
  self->regex = _regex(ctx, "matching", anchored);
  g_free(anchored);
  return self->regex != NULL;
}

static gboolean
_header_removed(Interceptor *self, const RelayHeader *header)
{
  return (self->with_name && strcmp(header->key, self->with_name) == 0)
         || (self->names && g_hash_table_contains(self->names, header->key))
         || (self->regex && g_regex_match_full(self->regex, header->key, header->key_len, 0, 0, NULL, NULL));
}

/* Returns ev, or a copy without the removed headers (one copy however many are removed). */
static RelayEvent *
_remove_headers(Interceptor *self, RelayEvent *ev)
{
  RelayHeader *kept = NULL;
  guint n_kept = 0;

  for (guint32 h = 0; h < ev->n_headers; h++)
    {
      gboolean removed = _header_removed(self, &ev->headers[h]);
      if (removed && !kept)
        {
          kept = g_new(RelayHeader, ev->n_headers);
          memcpy(kept, ev->headers, h * sizeof(RelayHeader));
          n_kept = h;
        }
      else if (!removed && kept)
        kept[n_kept++] = ev->headers[h];
    }
  if (!kept)
    return ev;
  RelayEvent *copy = relay_event_new(kept, n_kept, ev->body, ev->body_len);
  g_free(kept);
  relay_event_unref(ev);
  return copy;
}

static void
_remove_header_apply(Interceptor *self, GPtrArray *events)
{
  for (guint i = 0; i < events->len; i++)
    events->pdata[i] = _remove_headers(self, g_ptr_array_index(events, i));
}

/* ---- types and the chain ---- */

/* The keys of each type: what --help-components shows, what _report_stray_keys accepts, and the defaults
 * _setting and _bool fall back to. The configure functions read the values themselves, with Flume's parsing,
 * so the rows fill no field (offset 0). */
#define _KEY(key, type, def, help)                                                                           \
  {                                                                                                          \
    key, type, def, 1, 0, 0, 0, NULL, help                                                                   \
  }
#define _PRESERVE(def)                                                                                       \
  _KEY("preserveExisting", RELAY_OPT_BOOL, def, "keep the header of an event that already has it")

static const RelayOption _timestamp_options[] = {
  _KEY("headerName", RELAY_OPT_STRING, "timestamp", "header that receives the time in ms since the epoch"),
  _PRESERVE("false"),
  RELAY_OPTION_END,
};
static const RelayOption _host_options[] = {
  _KEY("hostHeader", RELAY_OPT_STRING, "host", "header that receives the host"),
  _KEY("useIP", RELAY_OPT_BOOL, "true", "the host's IP address (true) or its name (false)"),
  _PRESERVE("false"),
  RELAY_OPTION_END,
};
static const RelayOption _static_options[] = {
  _KEY("key", RELAY_OPT_STRING, "key", "header name"),
  _KEY("value", RELAY_OPT_STRING, "value", "header value"),
  _PRESERVE("true"),
  RELAY_OPTION_END,
};
static const RelayOption _regex_filter_options[] = {
  _KEY("regex", RELAY_OPT_STRING, ".*", "regular expression searched in the body (as UTF-8 text)"),
  _KEY("excludeEvents", RELAY_OPT_BOOL, "false", "drop the matching events instead of keeping only them"),
  RELAY_OPTION_END,
};
static const RelayOption _remove_header_options[] = {
  _KEY("withName", RELAY_OPT_STRING, NULL, "name of a header to remove"),
  _KEY("fromList", RELAY_OPT_STRING, NULL, "list of header names to remove"),
  _KEY("fromListSeparator", RELAY_OPT_STRING, "\\s*,\\s*", "regular expression separating fromList's names"),
  _KEY("matching", RELAY_OPT_STRING, NULL, "regular expression: remove the headers whose whole name matches"),
  RELAY_OPTION_END,
};

static const _Type _types[] = {
  { "timestamp", "org.apache.flume.interceptor.TimestampInterceptor$Builder",
    "sets a header to the time of interception", _timestamp_options, _timestamp_configure, _timestamp_apply },
  { "host", "org.apache.flume.interceptor.HostInterceptor$Builder",
    "sets a header to this host's address or name", _host_options, _host_configure, _host_apply },
  { "static", "org.apache.flume.interceptor.StaticInterceptor$Builder", "sets a fixed header",
    _static_options, _static_configure, _static_apply },
  { "regex_filter", "org.apache.flume.interceptor.RegexFilteringInterceptor$Builder",
    "keeps (or drops) the events whose body matches a regular expression", _regex_filter_options,
    _regex_filter_configure, _regex_filter_apply },
  { "remove_header", "org.apache.flume.interceptor.RemoveHeaderInterceptor$Builder",
    "removes headers by name, list of names or regular expression", _remove_header_options,
    _remove_header_configure, _remove_header_apply },
};

/* Flume types relayd does not implement: named in the error instead of "unknown". */
static const char *const _unsupported[] = {
  "regex_extractor",
  "search_replace",
  "org.apache.flume.interceptor.RegexExtractorInterceptor$Builder",
  "org.apache.flume.interceptor.SearchAndReplaceInterceptor$Builder",
  "org.apache.flume.sink.solr.morphline.UUIDInterceptor$Builder",
  NULL,
};

static const _Type *
_find_type(const char *type)
{
  for (gsize i = 0; i < G_N_ELEMENTS(_types); i++)
    if (g_ascii_strcasecmp(type, _types[i].alias) == 0 || strcmp(type, _types[i].flume_class) == 0)
      return &_types[i];
  return NULL;
}

static GPtrArray *_added; /* const RelayInterceptorType*, added by plugins at start (main thread) */

static const RelayInterceptorType *
_find_added(const char *type)
{
  for (guint i = 0; _added && i < _added->len; i++)
    {
      const RelayInterceptorType *t = g_ptr_array_index(_added, i);
      if (g_ascii_strcasecmp(type, t->alias) == 0 || (t->flume_class && strcmp(type, t->flume_class) == 0))
        return t;
    }
  return NULL;
}

gboolean
relay_interceptor_type_exists(const char *type)
{
  return _find_type(type) || _find_added(type);
}

gboolean
relay_interceptor_add_type(const RelayInterceptorType *type)
{
  if (relay_interceptor_type_exists(type->alias)
      || (type->flume_class && relay_interceptor_type_exists(type->flume_class)))
    return FALSE;
  if (!_added)
    _added = g_ptr_array_new();
  g_ptr_array_add(_added, (gpointer)type);
  return TRUE;
}

/* "timestamp, host, ..." with the added types. */
static char *
_known_types(void)
{
  GString *known = g_string_new(NULL);

  for (guint i = 0; i < G_N_ELEMENTS(_types); i++)
    g_string_append_printf(known, "%s%s", i ? ", " : "", _types[i].alias);
  for (guint i = 0; _added && i < _added->len; i++)
    g_string_append_printf(known, ", %s",
                           ((const RelayInterceptorType *)g_ptr_array_index(_added, i))->alias);
  return g_string_free(known, FALSE);
}

GArray *
relay_interceptor_types_help(void)
{
  GArray *out = g_array_new(FALSE, TRUE, sizeof(RelayTypeHelp));

  for (guint i = 0; i < G_N_ELEMENTS(_types); i++)
    {
      RelayTypeHelp help
          = { _types[i].alias, _types[i].flume_class, _types[i].description, _types[i].options };
      g_array_append_val(out, help);
    }
  for (guint i = 0; _added && i < _added->len; i++)
    {
      const RelayInterceptorType *t = g_ptr_array_index(_added, i);
      RelayTypeHelp help = { t->alias, t->flume_class, t->description, t->options };
      g_array_append_val(out, help);
    }
  return out;
}

static gboolean
_is_unsupported(const char *type)
{
  for (guint i = 0; _unsupported[i]; i++)
    if (g_ascii_strcasecmp(type, _unsupported[i]) == 0)
      return TRUE;
  return FALSE;
}

static void
_interceptor_free(gpointer data)
{
  Interceptor *self = data;

  if (self->added)
    self->added->free(self->instance);
  g_free(self->header);
  g_free(self->value);
  g_free(self->with_name);
  if (self->regex)
    g_regex_unref(self->regex);
  if (self->names)
    g_hash_table_unref(self->names);
  g_free(self);
}

static Interceptor *
_added_new(const RelayInterceptorType *added, _Ctx *ctx)
{
  gpointer instance = added->create(added->data, ctx->cc, ctx->name, ctx->report);

  if (!instance)
    return NULL;
  Interceptor *self = g_new0(Interceptor, 1);
  self->added = added;
  self->instance = instance;
  return self;
}

static Interceptor *
_interceptor_new(_Ctx *ctx)
{
  const char *type_name = _value(ctx, "type", NULL);
  const _Type *type = type_name ? _find_type(type_name) : NULL;
  const RelayInterceptorType *added = type_name && !type ? _find_added(type_name) : NULL;

  if (added)
    return _added_new(added, ctx);
  if (!type)
    {
      if (!type_name)
        _report(ctx, "type", "interceptor %s has no type; source %s removed", ctx->name, ctx->cc->name);
      else
        {
          char *known = _known_types();
          _report(ctx, "type", "%s interceptor type %s (known: %s); source %s removed",
                  _is_unsupported(type_name) ? "unsupported" : "unknown", type_name, known, ctx->cc->name);
          g_free(known);
        }
      return NULL;
    }
  Interceptor *self = g_new0(Interceptor, 1);
  self->type = type;
  ctx->options = type->options;
  if (!type->configure(self, ctx))
    {
      _interceptor_free(self);
      return NULL;
    }
  return self;
}

/* The listed interceptor whose keys start with key's "interceptors.<name>." prefix, or NULL. */
static const char *
_owner(char **names, const char *key)
{
  const char *rest = key + strlen("interceptors.");

  for (guint i = 0; names && names[i]; i++)
    {
      gsize len = strlen(names[i]);
      if (strncmp(rest, names[i], len) == 0 && rest[len] == '.')
        return names[i];
    }
  return NULL;
}

/* Reports keys of unlisted interceptors and keys an interceptor's type does not read (Flume ignores both). */
static void
_report_stray_keys(const RelayComponentConfig *cc, char **names, RelayConfigReport *report)
{
  GPtrArray *keys = relay_component_config_keys(cc, "interceptors.");

  for (guint i = 0; i < keys->len; i++)
    {
      const char *key = g_ptr_array_index(keys, i);
      const char *owner = _owner(names, key);
      const RelayProp *where = relay_component_config_get(cc, key);
      if (!owner)
        {
          relay_config_report_add(report, where, cc->label, key,
                                  "not a key of a listed interceptor, ignored");
          continue;
        }
      const char *sub = key + strlen("interceptors.") + strlen(owner) + 1;
      char *type_key = g_strdup_printf("interceptors.%s.type", owner);
      const char *type_name = relay_component_config_value(cc, type_key);
      const _Type *type = type_name ? _find_type(type_name) : NULL;
      const RelayInterceptorType *added = type_name && !type ? _find_added(type_name) : NULL;
      g_free(type_key);
      gboolean known = strcmp(sub, "type") == 0 || (type && relay_options_find(type->options, sub))
                       || (added && added->knows_key(added->data, sub)) || (!type && !added);
      if (!known)
        relay_config_report_add(report, where, cc->label, key, "unknown key for interceptor type %s, ignored",
                                type ? type->alias : added->alias);
    }
  g_ptr_array_unref(keys);
}

RelayInterceptorChain *
relay_interceptor_chain_new(const RelayComponentConfig *cc, const char *log_prefix, RelayConfigReport *report)
{
  const char *list = relay_component_config_value(cc, "interceptors");
  char **names = list ? relay_config_split_list(list) : NULL;
  RelayInterceptorChain *self = g_new0(RelayInterceptorChain, 1);
  gboolean ok = TRUE;

  self->interceptors = g_ptr_array_new_with_free_func(_interceptor_free);
  if (names && g_strv_length(names) > RELAY_INTERCEPTORS_MAX)
    {
      relay_config_report_add(report, relay_component_config_get(cc, "interceptors"), cc->label,
                              "interceptors", "more than %d interceptors; source %s removed",
                              RELAY_INTERCEPTORS_MAX, cc->name);
      ok = FALSE;
    }
  for (guint i = 0; names && names[i]; i++)
    {
      _Ctx ctx = { cc, report, log_prefix, names[i], g_strdup_printf("interceptors.%s.", names[i]), NULL };
      Interceptor *interceptor = _interceptor_new(&ctx);
      g_free(ctx.prefix);
      if (interceptor)
        g_ptr_array_add(self->interceptors, interceptor);
      ok = ok && interceptor != NULL;
    }
  _report_stray_keys(cc, names, report);
  g_strfreev(names);
  if (!ok)
    {
      relay_interceptor_chain_free(self);
      return NULL;
    }
  return self;
}

void
relay_interceptor_chain_free(RelayInterceptorChain *self)
{
  if (!self)
    return;
  g_ptr_array_unref(self->interceptors);
  g_free(self);
}

guint
relay_interceptor_chain_length(const RelayInterceptorChain *self)
{
  return self->interceptors->len;
}

void
relay_interceptor_chain_apply(RelayInterceptorChain *self, GPtrArray *events)
{
  for (guint i = 0; i < self->interceptors->len && events->len > 0; i++)
    {
      Interceptor *interceptor = g_ptr_array_index(self->interceptors, i);
      if (interceptor->added)
        interceptor->added->apply(interceptor->instance, events);
      else
        interceptor->type->apply(interceptor, events);
    }
}

gboolean
relay_interceptor_knows_key(const char *key)
{
  return strcmp(key, "interceptors") == 0 || g_str_has_prefix(key, "interceptors.");
}
