/* fuzz_spooldir_tracker.c - libFuzzer target: the spooling-directory source's progress record (src/sources/
 * spooldir_tracker.c), read back after a crash, a power loss that cut it, or an edit by hand.
 *
 * The first byte chooses what the rest is:
 *  - even: the record's text. It is read from a file as the source reads it, which must agree with parsing
 *    it in memory; a record read gives the same position after format -> parse, and formats to the same
 *    text again.
 *  - odd: a position (five 8-byte numbers, then the path) as the source would write it; the record written
 *    to the file (atomic write + rename, over a longer temporary file left by a crash) must read back equal,
 *    whatever bytes the path holds (a NUL ends it, as in a C string). */
#include "fuzz_common.h"

#include "spooldir_tracker.h"

#include <unistd.h>

static char *_tracker; /* a file in a private temporary directory */

static void
_cleanup(void)
{
  char *dir = g_path_get_dirname(_tracker);
  char *tmp = g_strconcat(_tracker, ".tmp", NULL);
  unlink(_tracker);
  unlink(tmp);
  rmdir(dir);
  g_free(tmp);
  g_free(dir);
}

static void
_init(void)
{
  if (_tracker)
    return;
  fuzz_init_once();
  char *dir = g_dir_make_tmp("fuzz-spooldir-XXXXXX", NULL);
  FUZZ_CHECK(dir);
  _tracker = g_build_filename(dir, RELAY_SPOOL_TRACKER_NAME, NULL);
  g_free(dir);
  atexit(_cleanup);
}

/* Replaces path's content (without fsync: this is about bytes, not crashes). GLib's NONE flags alone would
 * write over the old content without truncating it. */
static void
_write_file(const char *path, const char *text, gsize size)
{
  (void)unlink(path);
  FUZZ_CHECK(g_file_set_contents_full(path, text, (gssize)size, G_FILE_SET_CONTENTS_NONE, 0644, NULL));
}

static gboolean
_same(const RelaySpoolPosition *a, const RelaySpoolPosition *b)
{
  return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime_ns == b->mtime_ns
         && a->offset == b->offset && strcmp(a->path, b->path) == 0;
}

/* The record's text in data: the file and the memory readers agree; a record read round-trips. */
static void
_read_text(const guint8 *data, gsize size)
{
  RelaySpoolPosition pos, from_file, again;
  GError *error = NULL;
  char *text = (char *)fuzz_dup_exact(data, size);
  gboolean ok = relay_spool_tracker_parse(text, size, &pos);

  FUZZ_CHECK(ok == (pos.path != NULL));
  _write_file(_tracker, text, size);
  gboolean read = relay_spool_tracker_read(_tracker, &from_file, &error);
  FUZZ_CHECK(read == ok && (read || error));
  g_clear_error(&error);
  free(text);
  if (!ok)
    return;
  FUZZ_CHECK(_same(&pos, &from_file));
  FUZZ_CHECK(pos.size >= 0 && pos.offset >= 0 && pos.path[0] != '\0');
  char *formatted = relay_spool_tracker_format(&pos);
  FUZZ_CHECK(relay_spool_tracker_parse(formatted, strlen(formatted), &again) && _same(&pos, &again));
  char *reformatted = relay_spool_tracker_format(&again);
  FUZZ_CHECK(strcmp(formatted, reformatted) == 0);
  g_free(reformatted);
  g_free(formatted);
  relay_spool_position_clear(&again);
  relay_spool_position_clear(&from_file);
  relay_spool_position_clear(&pos);
}

/* A position the source could hold, from data: written, it reads back equal. */
static void
_write_position(const guint8 *data, gsize size)
{
  guint64 v[5] = { 0 };
  gsize fixed = MIN(size, sizeof v);
  RelaySpoolPosition pos, got;
  GError *error = NULL;

  memcpy(v, data, fixed);
  pos.dev = v[0];
  pos.ino = v[1];
  pos.size = (gint64)(v[2] >> 1); /* sizes and offsets are >= 0, a time may be negative */
  pos.mtime_ns = (gint64)v[3];
  pos.offset = (gint64)(v[4] >> 1);
  pos.path = g_strndup((const char *)data + fixed, size - fixed);
  if (pos.path[0] == '\0')
    {
      g_free(pos.path);
      return; /* the source always has a path */
    }
  /* a longer temporary record left by a crash between write and rename must not leak into the new one */
  char *stale = g_strconcat(_tracker, ".tmp", NULL);
  char filler[512];
  memset(filler, 'x', sizeof filler);
  _write_file(stale, filler, sizeof filler);
  g_free(stale);
  FUZZ_CHECK(relay_spool_tracker_write(_tracker, &pos, &error));
  FUZZ_CHECK(relay_spool_tracker_read(_tracker, &got, &error));
  FUZZ_CHECK(_same(&pos, &got));
  relay_spool_position_clear(&got);
  g_free(pos.path);
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  _init();
  if (size == 0)
    return 0;
  if (data[0] & 1)
    _write_position(data + 1, size - 1);
  else
    _read_text(data + 1, size - 1);
  return 0;
}
