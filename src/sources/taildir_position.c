/* taildir_position.c - the TAILDIR position file: Flume's JSON array of {"inode","pos","file"} objects.
 *
 * Parsing is a small bounded recursive-descent JSON reader: it accepts any JSON value inside an object
 * (unknown members are skipped, nesting at most 32 deep) and needs only integers and strings for the three
 * members Flume writes (flume-ng-sources/flume-taildir-source/.../ReliableTaildirEventReader.java,
 * loadPositionFile). Writing is atomic (write, fsync, rename, fsync the directory) where Flume truncates and
 * rewrites in place. */
#include "taildir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _MAX_DEPTH 32

typedef struct
{
  const char *p, *end;
  GError **error;
} _Json;

static gboolean
_fail(_Json *j, const char *what)
{
  g_set_error(j->error, RELAY_ERROR, RELAY_ERROR_CONFIG, "invalid JSON: %s", what);
  return FALSE;
}

static void
_ws(_Json *j)
{
  while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
    j->p++;
}

static gboolean
_expect(_Json *j, char c)
{
  _ws(j);
  if (j->p >= j->end || *j->p != c)
    return _fail(j, "unexpected character");
  j->p++;
  return TRUE;
}

static int
_hex(char c)
{
  return g_ascii_xdigit_value(c);
}

/* Reads a JSON string into out (may be NULL to skip); \uXXXX (with surrogate pairs) becomes UTF-8. */
static gboolean
_string(_Json *j, GString *out)
{
  if (!_expect(j, '"'))
    return FALSE;
  while (j->p < j->end && *j->p != '"')
    {
      char c = *j->p++;
      if ((guchar)c < 0x20)
        return _fail(j, "control character in string");
      if (c != '\\')
        {
          if (out)
            g_string_append_c(out, c);
          continue;
        }
      if (j->p >= j->end)
        break;
      c = *j->p++;
      const char *simple = strchr("\"\\/bfnrt", c);
      if (simple && c)
        {
          static const char map[] = "\"\\/\b\f\n\r\t";
          if (out)
            g_string_append_c(out, map[simple - "\"\\/bfnrt"]);
          continue;
        }
      if (c != 'u' || j->end - j->p < 4)
        return _fail(j, "bad escape");
      gunichar u = 0;
      for (int i = 0; i < 4; i++)
        {
          int h = _hex(*j->p++);
          if (h < 0)
            return _fail(j, "bad \\u escape");
          u = u << 4 | (gunichar)h;
        }
      if (u >= 0xD800 && u < 0xDC00 && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u')
        {
          gunichar lo = 0;
          gboolean ok = TRUE;
          for (int i = 2; i < 6 && ok; i++)
            {
              ok = _hex(j->p[i]) >= 0;
              lo = lo << 4 | (gunichar)MAX(_hex(j->p[i]), 0);
            }
          if (ok && lo >= 0xDC00 && lo < 0xE000)
            {
              u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
              j->p += 6;
            }
        }
      if (out)
        g_string_append_unichar(out, u);
    }
  if (j->p >= j->end)
    return _fail(j, "unterminated string");
  j->p++;
  return TRUE;
}

/* A JSON number; *integer is set when it is a plain integer that fits in 64 bits: a negative one as a
 * gint64, a positive one as a guint64 cast to gint64 (an inode >= 2^63, which relayd writes unsigned and
 * Flume's Java long writes negative, reads the same both ways). */
static gboolean
_number(_Json *j, gint64 *value, gboolean *integer)
{
  const char *start = j->p;
  if (j->p < j->end && *j->p == '-')
    j->p++;
  while (j->p < j->end && g_ascii_isdigit(*j->p))
    j->p++;
  gboolean plain = j->p > start && g_ascii_isdigit(j->p[-1]);
  while (j->p < j->end && (g_ascii_isdigit(*j->p) || strchr(".eE+-", *j->p)))
    plain = FALSE, j->p++;
  if (j->p == start)
    return _fail(j, "bad value");
  *integer = FALSE;
  if (plain && j->p - start < 21)
    {
      char buf[24];
      memcpy(buf, start, (gsize)(j->p - start));
      buf[j->p - start] = '\0';
      errno = 0;
      char *endp;
      *value = buf[0] == '-' ? g_ascii_strtoll(buf, &endp, 10) : (gint64)g_ascii_strtoull(buf, &endp, 10);
      *integer = errno == 0 && *endp == '\0';
    }
  return TRUE;
}

static gboolean _skip_value(_Json *j, int depth);

static gboolean
_skip_container(_Json *j, int depth, char close)
{
  j->p++;
  _ws(j);
  if (j->p < j->end && *j->p == close)
    return j->p++, TRUE;
  for (;;)
    {
      if (close == '}' && (!_string(j, NULL) || !_expect(j, ':')))
        return FALSE;
      if (!_skip_value(j, depth + 1))
        return FALSE;
      _ws(j);
      if (j->p < j->end && *j->p == ',')
        {
          j->p++;
          continue;
        }
      return _expect(j, close);
    }
}

static gboolean
_skip_value(_Json *j, int depth)
{
  _ws(j);
  if (depth > _MAX_DEPTH)
    return _fail(j, "nested too deep");
  if (j->p >= j->end)
    return _fail(j, "unexpected end");
  switch (*j->p)
    {
    case '"':
      return _string(j, NULL);
    case '{':
      return _skip_container(j, depth, '}');
    case '[':
      return _skip_container(j, depth, ']');
    default:
      break;
    }
  for (const char *const *w = (const char *const[]){ "true", "false", "null", NULL }; *w; w++)
    if ((gsize)(j->end - j->p) >= strlen(*w) && strncmp(j->p, *w, strlen(*w)) == 0)
      return j->p += strlen(*w), TRUE;
  gint64 v;
  gboolean integer;
  return _number(j, &v, &integer);
}

typedef struct
{
  gboolean has_inode, has_pos, has_file;
  RelayTaildirPos entry;
} _Entry;

static gboolean
_member(_Json *j, _Entry *e)
{
  GString *key = g_string_new(NULL);
  gboolean ok = _string(j, key) && _expect(j, ':');
  _ws(j);
  if (ok && (strcmp(key->str, "inode") == 0 || strcmp(key->str, "pos") == 0) && j->p < j->end
      && (*j->p == '-' || g_ascii_isdigit(*j->p)))
    {
      gint64 v = 0;
      gboolean integer = FALSE;
      ok = _number(j, &v, &integer);
      if (ok && integer && key->str[0] == 'i')
        {
          e->has_inode = TRUE;
          e->entry.inode = (guint64)v;
        }
      else if (ok && integer && v >= 0)
        {
          e->has_pos = TRUE;
          e->entry.pos = v;
        }
    }
  else if (ok && strcmp(key->str, "file") == 0 && j->p < j->end && *j->p == '"')
    {
      GString *file = g_string_new(NULL);
      ok = _string(j, file);
      g_free(e->entry.file);
      e->entry.file = g_string_free(file, !ok);
      e->has_file = ok && e->entry.file[0] != '\0';
    }
  else if (ok)
    ok = _skip_value(j, 2);
  g_string_free(key, TRUE);
  return ok;
}

static gboolean
_object(_Json *j, GArray *out, guint *skipped)
{
  _Entry e = { 0 };
  gboolean ok = _expect(j, '{');

  _ws(j);
  if (ok && j->p < j->end && *j->p == '}')
    j->p++;
  else
    while (ok)
      {
        ok = _member(j, &e);
        _ws(j);
        if (ok && j->p < j->end && *j->p == ',')
          {
            j->p++;
            continue;
          }
        ok = ok && _expect(j, '}');
        break;
      }
  if (ok && e.has_inode && e.has_pos && e.has_file)
    g_array_append_val(out, e.entry);
  else
    {
      g_free(e.entry.file);
      if (ok)
        (*skipped)++;
    }
  return ok;
}

GArray *
relay_taildir_pos_parse(const char *text, gsize len, guint *skipped, GError **error)
{
  _Json j = { text, text + len, error };
  GArray *out = g_array_new(FALSE, TRUE, sizeof(RelayTaildirPos));
  gboolean ok = TRUE;
  guint dummy = 0;

  skipped = skipped ? skipped : &dummy;
  *skipped = 0;
  _ws(&j);
  if (j.p == j.end)
    return out;
  ok = _expect(&j, '[');
  _ws(&j);
  if (ok && j.p < j.end && *j.p == ']')
    j.p++;
  else
    while (ok)
      {
        ok = _object(&j, out, skipped);
        _ws(&j);
        if (ok && j.p < j.end && *j.p == ',')
          {
            j.p++;
            continue;
          }
        ok = ok && _expect(&j, ']');
        break;
      }
  _ws(&j);
  if (ok && j.p != j.end)
    ok = _fail(&j, "trailing data after the array");
  if (!ok)
    {
      relay_taildir_pos_array_free(out);
      return NULL;
    }
  return out;
}

void
relay_taildir_pos_array_free(GArray *entries)
{
  if (!entries)
    return;
  for (guint i = 0; i < entries->len; i++)
    g_free(g_array_index(entries, RelayTaildirPos, i).file);
  g_array_free(entries, TRUE);
}

static void
_json_escape(GString *out, const char *s)
{
  g_string_append_c(out, '"');
  for (; *s; s++)
    {
      guchar c = (guchar)*s;
      if (c == '"' || c == '\\')
        g_string_append_c(out, '\\'), g_string_append_c(out, (char)c);
      else if (c < 0x20)
        g_string_append_printf(out, "\\u%04x", c);
      else
        g_string_append_c(out, (char)c);
    }
  g_string_append_c(out, '"');
}

void
relay_taildir_pos_format_entry(GString *out, guint64 inode, gint64 pos, const char *file)
{
  g_string_append_printf(
      out, "{\"inode\":%" G_GUINT64_FORMAT ",\"pos\":%" G_GINT64_FORMAT ",\"file\":", inode, pos);
  _json_escape(out, file);
  g_string_append_c(out, '}');
}

GArray *
relay_taildir_pos_load(const char *path, guint *skipped, GError **error)
{
  char *text = NULL;
  gsize len = 0;
  struct stat st;

  if (stat(path, &st) < 0 && errno == ENOENT)
    return g_array_new(FALSE, TRUE, sizeof(RelayTaildirPos));
  if (stat(path, &st) == 0 && (guint64)st.st_size > RELAY_TAILDIR_POS_MAX_BYTES)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "%s: larger than %u bytes", path,
                  RELAY_TAILDIR_POS_MAX_BYTES);
      return NULL;
    }
  if (!g_file_get_contents(path, &text, &len, error))
    return NULL;
  GArray *out = relay_taildir_pos_parse(text, len, skipped, error);
  g_free(text);
  return out;
}

static gboolean
_write_all(int fd, const char *data, gsize len)
{
  while (len > 0)
    {
      ssize_t n = write(fd, data, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      len -= (gsize)n;
    }
  return TRUE;
}

static gboolean
_fsync_dir(const char *dir)
{
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return FALSE;
  int rc = fsync(fd);
  close(fd);
  return rc == 0;
}

gboolean
relay_taildir_pos_save(const char *path, const GString *content, GError **error)
{
  char *dir = g_path_get_dirname(path);
  char *tmp = g_strconcat(path, ".tmp", NULL);
  const char *step = "mkdir", *what = dir;
  gboolean ok = g_mkdir_with_parents(dir, 0755) == 0;
  int err = errno;

  if (ok)
    {
      step = "write", what = tmp;
      int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      ok = fd >= 0 && _write_all(fd, content->str, content->len) && (step = "fsync", fsync(fd) == 0);
      err = errno;
      if (fd >= 0)
        close(fd);
    }
  if (ok)
    {
      step = "rename", what = path;
      ok = rename(tmp, path) == 0;
      err = errno;
    }
  if (ok)
    {
      step = "fsync directory", what = dir;
      ok = _fsync_dir(dir);
      err = errno;
    }
  if (!ok)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "%s %s: %s", step, what, g_strerror(err));
      unlink(tmp);
    }
  g_free(tmp);
  g_free(dir);
  return ok;
}
