/* taildir_files.c - TAILDIR file groups (directory + file-name regex) and tracked files (by inode).
 *
 * A group spec is Flume's "<directory>/<regex>": the directory is literal, the last path component is a
 * regular expression that must match the whole file name (TaildirMatcher.java in
 * flume-ng-sources/flume-taildir-source). A tracked file remembers its device and inode; its descriptor is
 * opened when there is something to read and kept until the file has been idle for idleTimeout, so a file
 * renamed or deleted while open is still read to its end.
 *
 * Thread: main loop. */
#include "taildir.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static gint64
_ns(const struct timespec *ts)
{
  return (gint64)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

gboolean
relay_tail_dir_stamp(const char *dir, struct stat *st, RelayTailDirStamp *stamp)
{
  struct timespec now;

  clock_gettime(CLOCK_REALTIME_COARSE, &now);
  if (stat(dir, st) < 0)
    return FALSE;
  stamp->clock_ns = _ns(&now);
  stamp->mtime_ns = _ns(&st->st_mtim);
  stamp->ctime_ns = _ns(&st->st_ctim);
  stamp->dev = st->st_dev;
  stamp->ino = st->st_ino;
  return TRUE;
}

gboolean
relay_tail_dir_unchanged(const RelayTailDirStamp *before, const RelayTailDirStamp *after)
{
  return before->dev == after->dev && before->ino == after->ino && before->mtime_ns == after->mtime_ns
         && before->ctime_ns == after->ctime_ns && before->mtime_ns < before->clock_ns
         && before->ctime_ns < before->clock_ns;
}

RelayTailGroup *
relay_tail_group_new(const char *name, const char *spec, GError **error)
{
  const char *slash = strrchr(spec, '/');

  if (!slash || slash == spec + strlen(spec) - 1)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "'%s' is not <directory>/<file-name regex>", spec);
      return NULL;
    }
  GRegex *check = g_regex_new(slash + 1, 0, 0, error); /* errors in the user's own terms */
  if (!check)
    return NULL;
  g_regex_unref(check);
  char *anchored = g_strdup_printf("\\A(?:%s)\\z", slash + 1);
  GRegex *regex = g_regex_new(anchored, G_REGEX_OPTIMIZE, 0, error);
  g_free(anchored);
  if (!regex)
    return NULL;
  RelayTailGroup *group = g_new0(RelayTailGroup, 1);
  group->name = g_strdup(name);
  group->dir = slash == spec ? g_strdup("/") : g_strndup(spec, (gsize)(slash - spec));
  group->pattern = g_strdup(slash + 1);
  group->regex = regex;
  group->wd = -1;
  group->rescan = TRUE;
  return group;
}

void
relay_tail_group_free(RelayTailGroup *group)
{
  if (!group)
    return;
  for (guint i = 0; i < group->n_headers; i++)
    {
      g_free((char *)group->headers[i].key);
      g_free((char *)group->headers[i].value);
    }
  g_free(group->headers);
  if (group->regex)
    g_regex_unref(group->regex);
  g_free(group->name);
  g_free(group->dir);
  g_free(group->pattern);
  g_free(group);
}

gboolean
relay_tail_group_matches(const RelayTailGroup *group, const char *name)
{
  return g_regex_match(group->regex, name, 0, NULL);
}

guint
relay_tail_key_hash(gconstpointer key)
{
  const RelayTailKey *k = key;
  guint64 v = (guint64)k->ino * G_GUINT64_CONSTANT(0x9E3779B97F4A7C15) ^ (guint64)k->dev;
  return (guint)(v ^ (v >> 32));
}

gboolean
relay_tail_key_equal(gconstpointer a, gconstpointer b)
{
  const RelayTailKey *x = a, *y = b;
  return x->dev == y->dev && x->ino == y->ino;
}

RelayTailFile *
relay_tail_file_new(RelayTailGroup *group, const char *path, const struct stat *st, gint64 pos)
{
  RelayTailFile *file = g_new0(RelayTailFile, 1);

  file->group = group;
  file->path = g_strdup(path);
  file->dev = st->st_dev;
  file->ino = st->st_ino;
  file->fd = -1;
  file->pos = pos;
  file->size = (gint64)st->st_size;
  file->active_ms = g_get_monotonic_time() / 1000;
  file->link.data = file;
  group->n_files++;
  group->n_unmatched++; /* until a listing finds it under a matching name */
  return file;
}

void
relay_tail_file_close(RelayTailFile *file)
{
  if (file->fd >= 0)
    close(file->fd);
  file->fd = -1;
}

void
relay_tail_file_set_matched(RelayTailFile *file, gboolean matched)
{
  if (file->matched && !matched)
    file->group->n_unmatched++;
  else if (!file->matched && matched)
    file->group->n_unmatched--;
  file->matched = matched;
}

void
relay_tail_file_free(RelayTailFile *file)
{
  if (!file)
    return;
  relay_tail_file_close(file);
  file->group->n_files--;
  relay_tail_file_set_matched(file, TRUE);
  g_free(file->path);
  g_free(file);
}

gboolean
relay_tail_file_open(RelayTailFile *file)
{
  struct stat st;

  if (file->fd >= 0)
    return TRUE;
  int fd = open(file->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return FALSE;
  if (fstat(fd, &st) < 0 || st.st_dev != file->dev || st.st_ino != file->ino)
    {
      close(fd);
      errno = ESTALE; /* the path now names another file */
      return FALSE;
    }
  file->fd = fd;
  return TRUE;
}

char *
relay_tail_file_current_path(const RelayTailFile *file)
{
  char link[64];
  struct stat st;

  if (file->fd < 0)
    return NULL;
  if (fstat(file->fd, &st) == 0 && st.st_nlink == 0)
    return NULL; /* deleted */
  g_snprintf(link, sizeof link, "/proc/self/fd/%d", file->fd);
  char *path = g_file_read_link(link, NULL);
  if (path && (path[0] != '/' || g_str_has_suffix(path, " (deleted)")))
    {
      g_free(path);
      return NULL;
    }
  return path;
}
