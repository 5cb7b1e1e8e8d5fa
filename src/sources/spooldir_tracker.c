/* spooldir_tracker.c - the spooling-directory source's progress record (see spooldir_tracker.h).
 *
 * Format: "relayd-spooldir 1 <dev> <ino> <size> <mtime_ns> <offset> <path>\n", decimal numbers (only
 * mtime_ns may be negative); the path is last and runs to the final newline, so it may hold spaces and
 * newlines. The record is replaced by write + rename, without fsync: the page cache survives a
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

char *
relay_spool_tracker_format(const RelaySpoolPosition *pos)
{
  return g_strdup_printf(RELAY_SPOOL_TRACKER_MAGIC "%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
                                                   " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT
                                                   " %" G_GINT64_FORMAT " %s\n",
                         pos->dev, pos->ino, pos->size, pos->mtime_ns, pos->offset, pos->path);
}

gboolean
relay_spool_tracker_write(const char *tracker_path, const RelaySpoolPosition *pos, GError **error)
{
  char *tmp = g_strconcat(tracker_path, ".tmp", NULL);
  char *text = relay_spool_tracker_format(pos);
  /* Without flags GLib (2.74) writes over an existing file without truncating it: a longer .tmp left by a
   * crash between write and rename would leave its tail in the record. */
  (void)unlink(tmp);
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

/* One field and the blank after it: decimal digits only (strtoull would also take blanks and a sign), at
 * most max, with a leading '-' where minus_ok (a modification time before 1970). */
static gboolean
_field(const char **p, const char *end, guint64 max, gboolean minus_ok, guint64 *value, gboolean *minus)
{
  const char *q = *p;
  guint64 v = 0;

  *minus = minus_ok && q < end && *q == '-';
  q += *minus;
  max += *minus; /* down to -2^63 */
  if (q >= end || !g_ascii_isdigit(*q))
    return FALSE;
  for (; q < end && g_ascii_isdigit(*q); q++)
    {
      guint digit = (guint)(*q - '0');
      if (v > (max - digit) / 10)
        return FALSE;
      v = v * 10 + digit;
    }
  if (q >= end || *q != ' ')
    return FALSE;
  *value = v;
  *p = q + 1;
  return TRUE;
}

gboolean
relay_spool_tracker_parse(const char *text, gsize len, RelaySpoolPosition *pos)
{
  gsize magic = strlen(RELAY_SPOOL_TRACKER_MAGIC);
  guint64 v[5];
  gboolean minus[5];

  memset(pos, 0, sizeof *pos);
  if (len < magic || memcmp(text, RELAY_SPOOL_TRACKER_MAGIC, magic) != 0)
    return FALSE;
  const char *p = text + magic, *end = text + len;
  for (int i = 0; i < 5; i++)
    if (!_field(&p, end, i < 2 ? G_MAXUINT64 : (guint64)G_MAXINT64, i == 3, &v[i], &minus[i]))
      return FALSE;
  /* The path runs to the record's last byte, its newline: a file name may hold newlines too. */
  if (end - p < 2 || end[-1] != '\n' || memchr(p, '\0', (gsize)(end - p)))
    return FALSE;
  pos->dev = v[0];
  pos->ino = v[1];
  pos->size = (gint64)v[2];
  pos->mtime_ns = (gint64)(minus[3] ? 0 - v[3] : v[3]);
  pos->offset = (gint64)v[4];
  pos->path = g_strndup(p, (gsize)(end - 1 - p));
  return TRUE;
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
  gboolean ok = relay_spool_tracker_parse(text, len, pos);
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
