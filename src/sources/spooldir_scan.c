/* spooldir_scan.c - picking the next file of a spooling directory (see spooldir_scan.h), as Flume's
 * ReliableSpoolingFileEventReader.getNextFile (flume-ng-core/src/main/java/org/apache/flume/client/avro/).
 *
 * Every call walks the directory again (Flume does so for oldest/youngest too); a directory of many
 * thousands of files costs one readdir and one stat per entry per completed file.
 *
 * Threads: the main loop. */
#include "spooldir_scan.h"

#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

typedef struct
{
  char *path;
  gint64 mtime_ns;
  guint n; /* candidates seen: for a uniform random pick */
} _Best;

GRegex *
relay_spool_regex_new(const char *pattern, GError **error)
{
  char *whole = g_strdup_printf("(?:%s)$", pattern);
  GRegex *re = g_regex_new(whole, G_REGEX_ANCHORED | G_REGEX_DOLLAR_ENDONLY, 0, error);
  g_free(whole);
  return re;
}

char *
relay_spool_file_key(guint64 dev, guint64 ino)
{
  return g_strdup_printf("%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT, dev, ino);
}

static gboolean
_matches(GRegex *re, const char *name)
{
  return g_regex_match(re, name, 0, NULL);
}

static gboolean
_skipped(const RelaySpoolScan *scan, const struct stat *st)
{
  if (!scan->skip || g_hash_table_size(scan->skip) == 0)
    return FALSE;
  char *key = relay_spool_file_key((guint64)st->st_dev, (guint64)st->st_ino);
  gboolean found = g_hash_table_contains(scan->skip, key);
  g_free(key);
  return found;
}

static gboolean
_is_candidate_name(const RelaySpoolScan *scan, const char *name)
{
  return name[0] != '.' && !g_str_has_suffix(name, scan->file_suffix)
         && !g_str_has_suffix(name, RELAY_SPOOL_SETASIDE_SUFFIX) && _matches(scan->include, name)
         && !_matches(scan->ignore, name);
}

static void
_consider(const RelaySpoolScan *scan, _Best *best, const char *path, const struct stat *st)
{
  gint64 mtime = (gint64)st->st_mtim.tv_sec * G_GINT64_CONSTANT(1000000000) + st->st_mtim.tv_nsec;
  gboolean better;

  best->n++;
  if (!best->path)
    better = TRUE;
  else if (scan->order == RELAY_SPOOL_ORDER_RANDOM)
    better = g_random_int_range(0, (gint32)best->n) == 0;
  else if (mtime != best->mtime_ns)
    better = scan->order == RELAY_SPOOL_ORDER_OLDEST ? mtime < best->mtime_ns : mtime > best->mtime_ns;
  else
    better = strcmp(path, best->path) < 0;
  if (!better)
    return;
  g_free(best->path);
  best->path = g_strdup(path);
  best->mtime_ns = mtime;
}

static void
_walk(const RelaySpoolScan *scan, const char *dir, _Best *best, guint depth)
{
  DIR *d = opendir(dir);
  struct dirent *de;

  if (!d)
    return;
  while ((de = readdir(d)))
    {
      const char *name = de->d_name;
      struct stat st;
      if (name[0] == '.')
        continue;
      char *path = g_build_filename(dir, name, NULL);
      if (stat(path, &st) == 0)
        {
          if (S_ISDIR(st.st_mode))
            {
              if (scan->recursive && depth < 64 && !_matches(scan->ignore, name)
                  && g_strcmp0(path, scan->tracker_dir) != 0)
                _walk(scan, path, best, depth + 1);
            }
          else if (S_ISREG(st.st_mode) && _is_candidate_name(scan, name) && !_skipped(scan, &st))
            _consider(scan, best, path, &st);
        }
      g_free(path);
    }
  closedir(d);
}

char *
relay_spool_scan_next(const RelaySpoolScan *scan)
{
  _Best best = { 0 };

  _walk(scan, scan->dir, &best, 0);
  return best.path;
}
