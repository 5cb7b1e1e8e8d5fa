/* spooldir_tracker.c - the spooling-directory source's progress record (see spooldir_tracker.h).
 *
 * Format: one line, "relayd-spooldir 1 <dev> <ino> <size> <mtime_ns> <offset> <path>\n" (the path last, so
 * it may hold spaces). The record is replaced by write + rename, without fsync: the page cache survives a
 * crash of relayd; after a power loss the record may be older or unreadable, and an unreadable record makes
 * the source read the file again from its start (duplicates, not loss).
 *
 * Threads: the main loop. */
#include "spooldir_tracker.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define RELAY_SPOOL_TRACKER_MAGIC "relayd-spooldir 1 "

gboolean
relay_spool_tracker_write(const char *tracker_path, const RelaySpoolPosition *pos, GError **error)
{
  char *tmp = g_strconcat(tracker_path, ".tmp", NULL);
  char *text = g_strdup_printf(RELAY_SPOOL_TRACKER_MAGIC "%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
                                                         " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT
                                                         " %" G_GINT64_FORMAT " %s\n",
                               pos->dev, pos->ino, pos->size, pos->mtime_ns, pos->offset, pos->path);
  gboolean ok = g_file_set_contents_full(tmp, text, -1, G_FILE_SET_CONTENTS_NONE, 0644, error);

  if (ok && rename(tmp, tracker_path) != 0)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "rename %s: %s", tracker_path, g_strerror(errno));
      ok = FALSE;
    }
  g_free(text);
  g_free(tmp);
  return ok;
}

static gboolean
_parse(const char *text, RelaySpoolPosition *pos)
{
  char *end;

  if (!g_str_has_prefix(text, RELAY_SPOOL_TRACKER_MAGIC))
    return FALSE;
  const char *p = text + strlen(RELAY_SPOOL_TRACKER_MAGIC);
  guint64 v[5];
  for (int i = 0; i < 5; i++)
    {
      errno = 0;
      v[i] = g_ascii_strtoull(p, &end, 10);
      if (errno || end == p || *end != ' ')
        return FALSE;
      p = end + 1;
    }
  const char *nl = strchr(p, '\n');
  if (!nl || nl == p || nl[1] != '\0')
    return FALSE;
  pos->dev = v[0];
  pos->ino = v[1];
  pos->size = (gint64)v[2];
  pos->mtime_ns = (gint64)v[3];
  pos->offset = (gint64)v[4];
  pos->path = g_strndup(p, (gsize)(nl - p));
  return pos->offset >= 0 && pos->size >= 0;
}

gboolean
relay_spool_tracker_read(const char *tracker_path, RelaySpoolPosition *pos, GError **error)
{
  char *text = NULL;
  gsize len = 0;
  GError *local = NULL;

  memset(pos, 0, sizeof *pos);
  if (!g_file_get_contents(tracker_path, &text, &len, &local))
    {
      if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_error_free(local);
      else
        g_propagate_error(error, local);
      return FALSE;
    }
  gboolean ok = strlen(text) == len && _parse(text, pos);
  g_free(text);
  if (!ok)
    {
      relay_spool_position_clear(pos);
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "%s: not a relayd spooldir tracker", tracker_path);
    }
  return ok;
}

gboolean
relay_spool_tracker_remove(const char *tracker_path, GError **error)
{
  if (unlink(tracker_path) != 0 && errno != ENOENT)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "remove %s: %s", tracker_path, g_strerror(errno));
      return FALSE;
    }
  return TRUE;
}

void
relay_spool_position_clear(RelaySpoolPosition *pos)
{
  g_clear_pointer(&pos->path, g_free);
}
