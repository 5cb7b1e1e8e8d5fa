/* props.c - Java properties-file parser with file:line tracking and ${...} substitution.
 *
 * Follows java.util.Properties.load(): the text is cut into logical lines (comment and blank lines skipped,
 * an odd number of trailing backslashes joins the next physical line with its leading whitespace dropped),
 * each logical line is split into key and value at the first unescaped '=', ':' or whitespace, and escapes
 * are decoded. Keys and values are then trimmed and empty values dropped, as Flume's FlumeConfiguration
 * does. Entries live in an array (first-appearance order) plus a key index; a later duplicate overwrites the
 * value, file and line of the existing entry in place. relay_props_resolve() expands ${env:VAR} and ${key}
 * references with memoisation, a depth limit and cycle detection (values taken from the environment are not
 * scanned again for references). Input sizes are bounded, and so is what substitution adds: per value and
 * over the whole configuration. Runs on the main thread during configuration; a
 * RelayProps is not shared between threads. */
#include "props.h"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <stdio.h>

#define RELAY_PROPS_MAX_FILE_BYTES (16 * 1024 * 1024)
#define RELAY_PROPS_MAX_VALUE_BYTES (1024 * 1024)
#define RELAY_PROPS_MAX_DEPTH 8
/* What ${...} substitution may add over all values together (each value is also held to MAX_VALUE_BYTES):
 * a few references to a large value repeated over many keys cannot make a small file take gigabytes. */
#define RELAY_PROPS_MAX_EXPANDED_BYTES (16 * 1024 * 1024)

struct _RelayProps
{
  GPtrArray *entries; /* RelayProp*, owned, first-appearance order */
  GHashTable *by_key; /* key (owned by the entry) -> RelayProp* */
  GPtrArray *files;   /* char*, file names the entries point to */
  GPtrArray *dropped; /* RelayProp* still in entries but dropped by a later empty value (until compacted) */
  GHashTable
      *by_agent; /* lazily built: "NAME" -> GPtrArray of the entries "NAME.*" in order; NULL if stale */
};

/* A cursor over the text being parsed. */
typedef struct
{
  const char *pos;
  const char *end;
  guint line; /* number of the physical line that starts at pos, 1-based */
} PropsReader;

static void
_prop_free(gpointer data)
{
  RelayProp *prop = data;

  g_free(prop->key);
  g_free(prop->value);
  g_free(prop);
}

RelayProps *
relay_props_new(void)
{
  RelayProps *self = g_new0(RelayProps, 1);

  self->entries = g_ptr_array_new_with_free_func(_prop_free);
  self->by_key = g_hash_table_new(g_str_hash, g_str_equal);
  self->files = g_ptr_array_new_with_free_func(g_free);
  self->dropped = g_ptr_array_new();
  return self;
}

void
relay_props_free(RelayProps *self)
{
  if (!self)
    return;
  g_hash_table_destroy(self->by_key);
  g_ptr_array_unref(self->entries);
  g_ptr_array_unref(self->files);
  g_ptr_array_unref(self->dropped);
  if (self->by_agent)
    g_hash_table_destroy(self->by_agent);
  g_free(self);
}

const RelayProp *
relay_props_get(const RelayProps *self, const char *key)
{
  return g_hash_table_lookup(self->by_key, key);
}

const RelayProp *const *
relay_props_entries(const RelayProps *self, guint *n_entries)
{
  *n_entries = self->entries->len;
  return (const RelayProp *const *)self->entries->pdata;
}

/* Forgets the per-agent index after entries were added or removed. */
static void
_index_stale(RelayProps *self)
{
  if (self->by_agent)
    g_hash_table_destroy(self->by_agent);
  self->by_agent = NULL;
}

/* One pass over the entries, grouping them by the text before their first dot (--check-topology reads
 * thousands of agents from one file: one scan each would be quadratic). */
static GHashTable *
_index_by_agent(RelayProps *self)
{
  if (self->by_agent)
    return self->by_agent;
  self->by_agent = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
  for (guint i = 0; i < self->entries->len; i++)
    {
      RelayProp *prop = g_ptr_array_index(self->entries, i);
      const char *dot = strchr(prop->key, '.');
      if (!dot)
        continue;
      char *agent = g_strndup(prop->key, dot - prop->key);
      GPtrArray *list = g_hash_table_lookup(self->by_agent, agent);
      if (!list)
        g_hash_table_insert(self->by_agent, g_strdup(agent), list = g_ptr_array_new());
      g_ptr_array_add(list, prop);
      g_free(agent);
    }
  return self->by_agent;
}

const RelayProp *const *
relay_props_agent_entries(const RelayProps *self, const char *agent, guint *n_entries)
{
  if (strchr(agent, '.'))
    return relay_props_entries(self, n_entries); /* the caller filters by its prefix */
  /* the index is a cache: building it does not change what the props hold */
  GPtrArray *list = g_hash_table_lookup(_index_by_agent((RelayProps *)self), agent);
  *n_entries = list ? list->len : 0;
  return list ? (const RelayProp *const *)list->pdata : NULL;
}

/* ---- logical lines ---- */

static gboolean
_is_blank(char c)
{
  return c == ' ' || c == '\t' || c == '\f';
}

/* Returns the physical line at the cursor as [*start, *stop) and moves past its terminator (\n, \r\n or \r).
 * FALSE at the end of the text. */
static gboolean
_next_physical_line(PropsReader *reader, const char **start, const char **stop)
{
  const char *p = reader->pos;

  if (p >= reader->end)
    return FALSE;
  *start = p;
  while (p < reader->end && *p != '\n' && *p != '\r')
    p++;
  *stop = p;
  if (p < reader->end && *p == '\r')
    p++;
  if (p < reader->end && *p == '\n' && (p == *stop || p[-1] == '\r'))
    p++;
  reader->pos = p;
  reader->line++;
  return TRUE;
}

static const char *
_skip_blanks(const char *p, const char *stop)
{
  while (p < stop && _is_blank(*p))
    p++;
  return p;
}

/* Appends [start, stop) to buf; returns TRUE when the segment ends with an odd number of backslashes (a
 * continuation), in which case the last backslash is not appended. */
static gboolean
_append_segment(GString *buf, const char *start, const char *stop)
{
  gsize n_backslashes = 0;

  for (const char *p = stop; p > start && p[-1] == '\\'; p--)
    n_backslashes++;
  if (n_backslashes % 2 == 1)
    stop--;
  g_string_append_len(buf, start, stop - start);
  return n_backslashes % 2 == 1;
}

/* Reads the next logical line into buf (raw, escapes not decoded). *first_line is the physical line where it
 * starts. FALSE at the end of the text. */
static gboolean
_next_logical_line(PropsReader *reader, GString *buf, guint *first_line)
{
  const char *start, *stop;

  g_string_truncate(buf, 0);
  do
    {
      if (!_next_physical_line(reader, &start, &stop))
        return FALSE;
      start = _skip_blanks(start, stop);
    }
  while (start == stop || *start == '#' || *start == '!');
  *first_line = reader->line;
  if (!_append_segment(buf, start, stop))
    return TRUE;
  while (_next_physical_line(reader, &start, &stop))
    {
      start = _skip_blanks(start, stop);
      if (!_append_segment(buf, start, stop))
        break;
    }
  return TRUE;
}

/* ---- key/value split and escapes ---- */

/* Splits a raw logical line as Properties.load() does: the key ends at the first unescaped separator; the
 * value starts after blanks and at most one '=' or ':'. */
static void
_split_key_value(const char *line, gsize len, gsize *key_len, gsize *value_start)
{
  gboolean escaped = FALSE, has_separator = FALSE;
  gsize i = 0;

  *value_start = len;
  for (; i < len; i++)
    {
      char c = line[i];
      if (!escaped && (c == '=' || c == ':' || _is_blank(c)))
        {
          *value_start = i + 1;
          has_separator = c == '=' || c == ':';
          break;
        }
      escaped = c == '\\' && !escaped;
    }
  *key_len = i;
  for (gsize v = *value_start; v < len; v++, (*value_start)++)
    {
      char c = line[v];
      if (_is_blank(c))
        continue;
      if (has_separator || (c != '=' && c != ':'))
        break;
      has_separator = TRUE;
    }
}

/* Parses the 4 hex digits of a \u escape at p (after the 'u'); -1 if malformed or out of text. */
static gint
_parse_hex4(const char *p, const char *stop)
{
  gint code = 0;

  if (stop - p < 4)
    return -1;
  for (int i = 0; i < 4; i++)
    {
      gint digit = g_ascii_xdigit_value(p[i]);
      if (digit < 0)
        return -1;
      code = code * 16 + digit;
    }
  return code;
}

/* Decodes a \uXXXX escape (p points after the backslash at 'u'), joining a UTF-16 surrogate pair written as
 * two escapes. Appends UTF-8 to out and returns the position after the escape, or NULL (with *problem) if it
 * is malformed. */
static const char *
_decode_unicode(const char *p, const char *stop, GString *out, const char **problem)
{
  static const char unpaired[] = "\\uXXXX escape with an unpaired UTF-16 surrogate";
  gint code = _parse_hex4(p + 1, stop);

  if (code < 0)
    {
      *problem = "malformed \\uXXXX escape";
      return NULL;
    }
  p += 5;
  if (code >= 0xD800 && code <= 0xDBFF)
    {
      gint low = (stop - p >= 2 && p[0] == '\\' && p[1] == 'u') ? _parse_hex4(p + 2, stop) : -1;
      if (low < 0xDC00 || low > 0xDFFF)
        {
          *problem = unpaired;
          return NULL;
        }
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
      p += 6;
    }
  else if (code >= 0xDC00 && code <= 0xDFFF)
    *problem = unpaired;
  else if (code == 0)
    *problem = "\\u0000 (NUL) is not supported";
  if (*problem)
    return NULL;
  g_string_append_unichar(out, (gunichar)code);
  return p;
}

static char
_simple_escape(char c)
{
  switch (c)
    {
    case 't':
      return '\t';
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 'f':
      return '\f';
    default:
      return c;
    }
}

/* Decodes escapes of [p, stop) into out. FALSE (with *problem) on a malformed \u escape. */
static gboolean
_unescape(const char *p, const char *stop, GString *out, const char **problem)
{
  g_string_truncate(out, 0);
  while (p < stop)
    {
      if (*p != '\\')
        g_string_append_c(out, *p++);
      else if (p + 1 == stop)
        p++; /* a lone trailing backslash (end of text after a continuation) is dropped */
      else if (p[1] == 'u')
        {
          p = _decode_unicode(p + 1, stop, out, problem);
          if (!p)
            return FALSE;
        }
      else
        {
          g_string_append_c(out, _simple_escape(p[1]));
          p += 2;
        }
    }
  return TRUE;
}

/* Java's String.trim(): strips every character <= ' ' at both ends. Returns a new string. */
static char *
_java_trim(const GString *text)
{
  gsize start = 0, stop = text->len;

  while (start < stop && (guchar)text->str[start] <= ' ')
    start++;
  while (stop > start && (guchar)text->str[stop - 1] <= ' ')
    stop--;
  return g_strndup(text->str + start, stop - start);
}

/* ---- storing entries ---- */

static const char *
_intern_file(RelayProps *self, const char *name)
{
  for (guint i = 0; i < self->files->len; i++)
    if (strcmp(g_ptr_array_index(self->files, i), name) == 0)
      return g_ptr_array_index(self->files, i);
  g_ptr_array_add(self->files, g_strdup(name));
  return g_ptr_array_index(self->files, self->files->len - 1);
}

/* Adds or overwrites an entry; takes ownership of key and value. */
static void
_store(RelayProps *self, char *key, char *value, const char *file, guint line)
{
  RelayProp *prop = g_hash_table_lookup(self->by_key, key);

  if (prop)
    {
      g_free(key);
      g_free(prop->value);
    }
  else
    {
      prop = g_new0(RelayProp, 1);
      prop->key = key;
      g_ptr_array_add(self->entries, prop);
      _index_stale(self);
      g_hash_table_insert(self->by_key, prop->key, prop);
    }
  prop->value = value;
  prop->file = file;
  prop->line = line;
}

/* Flume ignores a property with an empty value; since the empty value also replaced any earlier value of
 * the key when the file was loaded, the earlier entry disappears too. */
static void
_drop_empty(RelayProps *self, const RelayProp *where, RelayConfigReport *report)
{
  RelayProp *earlier = g_hash_table_lookup(self->by_key, where->key);

  if (!earlier)
    {
      relay_config_report_add(report, where, NULL, where->key, "empty value, ignored");
      return;
    }
  relay_config_report_add(
      report, where, NULL, where->key,
      "empty value, ignored; it also overrides the value set at %s:%u, which is dropped too", earlier->file,
      earlier->line);
  /* Removed from the array by _compact() at the end of the load: one pass, not a search per empty value. */
  g_hash_table_remove(self->by_key, earlier->key);
  g_ptr_array_add(self->dropped, earlier);
}

/* Takes the entries dropped during a load out of the array, keeping the order of the others. */
static void
_compact(RelayProps *self)
{
  if (self->dropped->len == 0)
    return;
  _index_stale(self);
  GHashTable *gone = g_hash_table_new(g_direct_hash, g_direct_equal);
  guint kept = 0;

  for (guint i = 0; i < self->dropped->len; i++)
    g_hash_table_add(gone, g_ptr_array_index(self->dropped, i));
  for (guint i = 0; i < self->entries->len; i++)
    {
      RelayProp *prop = g_ptr_array_index(self->entries, i);
      if (g_hash_table_contains(gone, prop))
        _prop_free(prop);
      else
        self->entries->pdata[kept++] = prop;
    }
  /* The tail now holds stale pointers: shorten without the free function. */
  g_ptr_array_set_free_func(self->entries, NULL);
  g_ptr_array_set_size(self->entries, kept);
  g_ptr_array_set_free_func(self->entries, _prop_free);
  g_ptr_array_set_size(self->dropped, 0);
  g_hash_table_destroy(gone);
}

/* Replaces invalid UTF-8 in *text (as Java's decoder would) and says so. */
static void
_check_utf8(char **text, const RelayProp *where, const char *what, RelayConfigReport *report)
{
  if (g_utf8_validate(*text, -1, NULL))
    return;
  char *valid = g_utf8_make_valid(*text, -1);
  g_free(*text);
  *text = valid;
  relay_config_report_add(report, where, NULL, where->key, "invalid UTF-8 in the %s, replaced by U+FFFD",
                          what);
}

/* Decodes one raw logical line and stores it (or reports why not). */
static void
_parse_entry(RelayProps *self, const GString *raw, const char *file, guint line, RelayConfigReport *report)
{
  gsize key_len, value_start;
  const char *problem = NULL;
  GString *decoded = g_string_new(NULL);
  RelayProp where = { NULL, NULL, file, line };

  _split_key_value(raw->str, raw->len, &key_len, &value_start);
  if (!_unescape(raw->str, raw->str + key_len, decoded, &problem))
    {
      where.key = g_strndup(raw->str, key_len); /* name the key as written */
      goto out;
    }
  where.key = _java_trim(decoded);
  if (!_unescape(raw->str + value_start, raw->str + raw->len, decoded, &problem))
    goto out;
  where.value = _java_trim(decoded);
  _check_utf8(&where.key, &where, "key", report);
  _check_utf8(&where.value, &where, "value", report);
  if (where.key[0] == '\0')
    problem = "empty key, ignored";
  else if (where.value[0] == '\0')
    _drop_empty(self, &where, report);
  else
    {
      _store(self, where.key, where.value, file, line);
      where.key = where.value = NULL;
    }
out:
  if (problem)
    relay_config_report_add(report, &where, NULL, where.key && where.key[0] ? where.key : NULL, "%s%s",
                            problem, g_str_has_suffix(problem, "ignored") ? "" : "; entry ignored");
  g_free(where.key);
  g_free(where.value);
  g_string_free(decoded, TRUE);
}

static void
_load_text(RelayProps *self, const char *name, const char *text, gsize len, RelayConfigReport *report)
{
  PropsReader reader = { text, text + len, 0 };
  const char *file = _intern_file(self, name);
  GString *raw = g_string_new(NULL);
  guint line;

  while (_next_logical_line(&reader, raw, &line))
    {
      if (memchr(raw->str, '\0', raw->len))
        {
          RelayProp where = { NULL, NULL, file, line };
          relay_config_report_add(report, &where, NULL, NULL, "NUL byte in the line; entry ignored");
          continue;
        }
      _parse_entry(self, raw, file, line, report);
    }
  _compact(self);
  g_string_free(raw, TRUE);
}

void
relay_props_load_string(RelayProps *self, const char *name, const char *text, RelayConfigReport *report)
{
  _load_text(self, name, text, strlen(text), report);
}

/* Reads at most RELAY_PROPS_MAX_FILE_BYTES (works for pipes too, where the size is not known up front). */
static gboolean
_read_bounded(const char *path, GString *text, GError **error)
{
  FILE *file = fopen(path, "rb");
  char chunk[16384];
  size_t n;

  if (!file)
    {
      int saved = errno;
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "%s: %s", path, g_strerror(saved));
      return FALSE;
    }
  while (text->len <= RELAY_PROPS_MAX_FILE_BYTES && (n = fread(chunk, 1, sizeof chunk, file)) > 0)
    g_string_append_len(text, chunk, n);
  int saved = errno;
  gboolean failed = ferror(file);
  fclose(file);
  if (failed)
    g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "%s: %s", path, g_strerror(saved));
  else if (text->len > RELAY_PROPS_MAX_FILE_BYTES)
    g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "%s: larger than %d bytes", path,
                RELAY_PROPS_MAX_FILE_BYTES);
  return !failed && text->len <= RELAY_PROPS_MAX_FILE_BYTES;
}

gboolean
relay_props_load_file(RelayProps *self, const char *path, RelayConfigReport *report, GError **error)
{
  GString *text = g_string_new(NULL);
  gboolean ok = _read_bounded(path, text, error);

  if (ok)
    _load_text(self, path, text->str, text->len, report);
  g_string_free(text, TRUE);
  return ok;
}

/* ---- ${...} substitution ---- */

typedef struct
{
  RelayProps *props;
  RelayConfigReport *report;
  GHashTable *resolved; /* key -> char* (owned): final value */
  GPtrArray *chain;     /* const char* keys being resolved, outermost first */
  gsize expanded;       /* bytes substitution added so far, over all values */
} PropsResolver;

static char *_resolve_prop(PropsResolver *res, const RelayProp *prop);

static char *
_chain_text(PropsResolver *res, const char *closing)
{
  GString *text = g_string_new(NULL);

  for (guint i = 0; i < res->chain->len; i++)
    g_string_append_printf(text, "%s -> ", (const char *)g_ptr_array_index(res->chain, i));
  g_string_append(text, closing);
  return g_string_free(text, FALSE);
}

static gboolean
_in_chain(PropsResolver *res, const char *key)
{
  for (guint i = 0; i < res->chain->len; i++)
    if (strcmp(g_ptr_array_index(res->chain, i), key) == 0)
      return TRUE;
  return FALSE;
}

/* ${key}: the other property's resolved value, or NULL (reported). */
static const char *
_lookup_property(PropsResolver *res, const RelayProp *prop, const char *name)
{
  const RelayProp *target = relay_props_get(res->props, name);

  if (!target)
    {
      if (strchr(name, ':'))
        relay_config_report_add(res->report, prop, NULL, prop->key, "${%s}: unsupported lookup, left as is",
                                name);
      else
        relay_config_report_add(res->report, prop, NULL, prop->key,
                                "${%s}: no such property, left as is (an environment variable is written "
                                "${env:%s})",
                                name, name);
      return NULL;
    }
  if (_in_chain(res, name))
    {
      char *cycle = _chain_text(res, name);
      relay_config_report_add(res->report, prop, NULL, prop->key, "${%s}: reference cycle %s, left as is",
                              name, cycle);
      g_free(cycle);
      return NULL;
    }
  if (res->chain->len > RELAY_PROPS_MAX_DEPTH)
    {
      relay_config_report_add(res->report, prop, NULL, prop->key,
                              "${%s}: references nested deeper than %d, left as is", name,
                              RELAY_PROPS_MAX_DEPTH);
      return NULL;
    }
  return _resolve_prop(res, target);
}

/* The replacement text for ${name} in prop's value, or NULL to leave the reference as is (reported). */
static const char *
_lookup(PropsResolver *res, const RelayProp *prop, const char *name)
{
  const char *value;

  if (g_str_has_prefix(name, "env:"))
    {
      value = name[4] ? g_getenv(name + 4) : NULL;
      if (!value)
        relay_config_report_add(res->report, prop, NULL, prop->key,
                                "${%s}: environment variable '%s' is not set, left as is", name, name + 4);
      return value;
    }
  if (g_str_has_prefix(name, "sys:"))
    {
      relay_config_report_add(res->report, prop, NULL, prop->key,
                              "${%s}: Java system properties are not supported, left as is", name);
      return NULL;
    }
  return _lookup_property(res, prop, name);
}

/* Appends the expansion of one reference "${name}" (ref is the whole reference text). */
static void
_expand_reference(PropsResolver *res, const RelayProp *prop, GString *out, const char *ref, gsize ref_len)
{
  char *name = g_strndup(ref + 2, ref_len - 3);
  const char *value = name[0] ? _lookup(res, prop, name) : NULL;

  gsize len = value ? strlen(value) : 0;

  if (value && out->len + len > RELAY_PROPS_MAX_VALUE_BYTES)
    {
      relay_config_report_add(res->report, prop, NULL, prop->key,
                              "${%s}: value would exceed %d bytes, left as is", name,
                              RELAY_PROPS_MAX_VALUE_BYTES);
      value = NULL;
    }
  else if (value && res->expanded + len > RELAY_PROPS_MAX_EXPANDED_BYTES)
    {
      relay_config_report_add(
          res->report, prop, NULL, prop->key,
          "${%s}: substitutions in the whole configuration would exceed %d bytes, left as "
          "is",
          name, RELAY_PROPS_MAX_EXPANDED_BYTES);
      value = NULL;
    }
  if (value)
    {
      g_string_append(out, value);
      res->expanded += len;
    }
  else
    g_string_append_len(out, ref, ref_len);
  g_free(name);
}

static char *
_substitute(PropsResolver *res, const RelayProp *prop)
{
  GString *out = g_string_new(NULL);
  const char *p = prop->value;

  for (;;)
    {
      const char *ref = strstr(p, "${");
      const char *close = ref ? strchr(ref + 2, '}') : NULL;
      if (!close)
        break;
      g_string_append_len(out, p, ref - p);
      _expand_reference(res, prop, out, ref, close + 1 - ref);
      p = close + 1;
    }
  g_string_append(out, p);
  return g_string_free(out, FALSE);
}

/* The resolved value of prop (memoised; owned by res->resolved). */
static char *
_resolve_prop(PropsResolver *res, const RelayProp *prop)
{
  char *value = g_hash_table_lookup(res->resolved, prop->key);

  if (value)
    return value;
  g_ptr_array_add(res->chain, prop->key);
  value = _substitute(res, prop);
  g_ptr_array_remove_index(res->chain, res->chain->len - 1);
  g_hash_table_insert(res->resolved, prop->key, value);
  return value;
}

void
relay_props_resolve(RelayProps *self, RelayConfigReport *report)
{
  PropsResolver res
      = { self, report, g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free), g_ptr_array_new(), 0 };

  for (guint i = 0; i < self->entries->len; i++)
    _resolve_prop(&res, g_ptr_array_index(self->entries, i));
  for (guint i = 0; i < self->entries->len; i++)
    {
      RelayProp *prop = g_ptr_array_index(self->entries, i);
      g_free(prop->value);
      prop->value = g_hash_table_lookup(res.resolved, prop->key);
      g_hash_table_steal(res.resolved, prop->key);
    }
  g_hash_table_destroy(res.resolved);
  g_ptr_array_unref(res.chain);
}

/* ---- issue 17 ---- */

void
relay_props_set(RelayProps *self, const char *file, guint line, const char *key, const char *value)
{
  _store(self, g_strdup(key), g_strdup(value), _intern_file(self, file), line);
}
