/* filelog_foreign.c - finds files in a file channel's directories that relayd did not write.
 *
 * relayd never modifies or removes a file it did not write. Its defaults are Flume's paths
 * (~/.flume/file-channel/...) and Flume uses some of the same names (checkpoint, log-N, in_use.lock), so a
 * collector switched over from Flume would otherwise take Flume's checkpoint for a damaged one of its own
 * and overwrite it, and skip Flume's data files as damaged segments. Before a channel locks or reads a
 * directory, this module lists every entry that is not provably relayd's:
 *
 *   checkpoint directories  checkpoint (starts with "RLYFCCKP"), checkpoint.tmp (empty or starting with
 *                           it: a checkpoint being written), in_use.lock
 *   data directories        log-NNNNNNNNNN (ten or more digits, zero-padded; starts with "RLYFCLOG", or
 *                           is a segment whose creation a crash interrupted: at most a header of zeros or
 *                           of the magic's first bytes), in_use.lock
 *   both                    lost+found (a file system's root)
 *
 * relayd's in_use.lock holds the pid of the process that locked it ("0000001234\n"); Flume's is empty
 * (Flume's Log.java locks an empty in_use.lock and deletes it on exit). An empty in_use.lock is also what
 * relayd leaves when it is killed between creating the file and writing its pid, so an empty one is listed
 * only beside other foreign files: alone (or beside relayd's own files) it is no evidence of Flume. Flume's
 * own names (flume-ng-channels/ flume-file-channel/src/main/java/org/apache/flume/channel/file/Log.java,
 * LogFileV3.java, EventQueueBackingStoreFile.java, Serialization.java): checkpoint, checkpoint.meta,
 * inflightputs, inflighttakes, queueset/, backupComplete, log-N and log-N.meta (N not zero-padded),
 * in_use.lock. Read-only; any thread. */
#include "filelog.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RELAY_FOREIGN_LIST_MAX 8 /* names listed in the message; the rest are counted */

static const guint8 _segment_magic[8] = { 'R', 'L', 'Y', 'F', 'C', 'L', 'O', 'G' };
static const guint8 _checkpoint_magic[8] = { 'R', 'L', 'Y', 'F', 'C', 'C', 'K', 'P' };

static gint
_compare_names(gconstpointer a, gconstpointer b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Reads up to len bytes from the start of dir/name; returns the count, or -1. */
static gssize
_read_head(const char *dir, const char *name, guint8 *buf, gsize len, struct stat *st)
{
  char *path = g_build_filename(dir, name, NULL);
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  gssize n = -1;

  g_free(path);
  if (fd < 0)
    return -1;
  if (fstat(fd, st) == 0 && S_ISREG(st->st_mode))
    n = pread(fd, buf, len, 0);
  close(fd);
  return n;
}

/* A file that starts with magic, or (when allow_partial) is no longer than one header and holds either
 * the magic's first bytes or only zeros: what an interrupted creation of relayd's own file leaves. */
static gboolean
_has_magic(const char *dir, const char *name, const guint8 *magic, gboolean allow_partial)
{
  guint8 head[RELAY_FILELOG_SEGMENT_HEADER];
  struct stat st;
  gssize n = _read_head(dir, name, head, sizeof head, &st);

  if (n < 0)
    return FALSE;
  if (n >= 8 && memcmp(head, magic, 8) == 0)
    return TRUE;
  if (!allow_partial || st.st_size > RELAY_FILELOG_SEGMENT_HEADER)
    return FALSE;
  if (memcmp(head, magic, (gsize)MIN(n, 8)) == 0)
    return TRUE;
  for (gssize i = 0; i < n; i++)
    if (head[i])
      return FALSE;
  return TRUE;
}

/* An in_use.lock with nothing in it (Flume's, or relayd's killed before it wrote its pid). */
static gboolean
_is_empty_lock(const char *dir, const char *name)
{
  guint8 head[1];
  struct stat st;
  return strcmp(name, RELAY_FILELOG_LOCK_NAME) == 0 && _read_head(dir, name, head, sizeof head, &st) == 0;
}

/* relayd's lock file: a decimal pid and a newline. */
static gboolean
_is_relayd_lock(const char *dir)
{
  guint8 head[32];
  struct stat st;
  gssize n = _read_head(dir, RELAY_FILELOG_LOCK_NAME, head, sizeof head, &st);

  if (n < 2 || n == (gssize)sizeof head || head[n - 1] != '\n')
    return FALSE;
  for (gssize i = 0; i < n - 1; i++)
    if (!g_ascii_isdigit(head[i]))
      return FALSE;
  return TRUE;
}

/* relayd's segment name: "log-" and at least ten digits (relay_filelog_segment_name pads to ten). */
static gboolean
_is_segment_name(const char *name)
{
  guint64 id;
  return relay_filelog_segment_parse_name(name, &id) && strlen(name) >= 14;
}

static gboolean
_is_relayd_entry(const char *dir, const char *name, gboolean checkpoint_dir)
{
  if (strcmp(name, "lost+found") == 0)
    return TRUE;
  if (strcmp(name, RELAY_FILELOG_LOCK_NAME) == 0)
    return _is_relayd_lock(dir);
  if (checkpoint_dir && strcmp(name, RELAY_FILELOG_CHECKPOINT_NAME) == 0)
    return _has_magic(dir, name, _checkpoint_magic, FALSE);
  if (checkpoint_dir && strcmp(name, RELAY_FILELOG_CHECKPOINT_NAME ".tmp") == 0)
    return _has_magic(dir, name, _checkpoint_magic, TRUE);
  if (!checkpoint_dir && _is_segment_name(name))
    return _has_magic(dir, name, _segment_magic, TRUE);
  return FALSE;
}

/* Whether name is one Flume's file channel uses. */
static gboolean
_is_flume_name(const char *name)
{
  static const char *const fixed[]
      = { "checkpoint", "checkpoint.meta", "inflightputs",         "inflighttakes",
          "queueset",   "backupComplete",  RELAY_FILELOG_LOCK_NAME };
  for (guint i = 0; i < G_N_ELEMENTS(fixed); i++)
    if (strcmp(name, fixed[i]) == 0)
      return TRUE;
  if (!g_str_has_prefix(name, "log-") || !g_ascii_isdigit(name[4]))
    return FALSE;
  const char *p = name + 4;
  while (g_ascii_isdigit(*p))
    p++;
  return *p == '\0' || strcmp(p, ".meta") == 0;
}

char *
relay_filelog_foreign_files(const char *dir, gboolean checkpoint_dir, gboolean *flume_like, GError **error)
{
  GError *open_error = NULL;
  GDir *d = g_dir_open(dir, 0, &open_error);
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  const char *name;
  gboolean empty_lock = FALSE;

  *flume_like = FALSE;
  if (!d)
    {
      gboolean missing = g_error_matches(open_error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
      g_ptr_array_unref(names);
      if (missing)
        {
          g_error_free(open_error);
          return NULL; /* created empty at start */
        }
      g_propagate_error(error, open_error);
      return NULL;
    }
  while ((name = g_dir_read_name(d)) != NULL)
    if (_is_empty_lock(dir, name))
      empty_lock = TRUE;
    else if (!_is_relayd_entry(dir, name, checkpoint_dir))
      g_ptr_array_add(names, g_strdup(name));
  g_dir_close(d);
  if (empty_lock && names->len > 0)
    g_ptr_array_add(names, g_strdup(RELAY_FILELOG_LOCK_NAME));
  if (names->len == 0)
    {
      g_ptr_array_unref(names);
      return NULL;
    }
  g_ptr_array_sort(names, _compare_names);
  GString *flume = g_string_new(NULL), *unknown = g_string_new(NULL);
  for (guint i = 0; i < names->len; i++)
    {
      const char *n = g_ptr_array_index(names, i);
      GString *list = _is_flume_name(n) ? flume : unknown;
      if (i >= RELAY_FOREIGN_LIST_MAX)
        continue;
      char *path = g_build_filename(dir, n, NULL);
      g_string_append_printf(list, "%s%s%s", list->len ? ", " : "", n,
                             g_file_test(path, G_FILE_TEST_IS_DIR) ? "/" : "");
      g_free(path);
    }
  *flume_like = flume->len > 0;
  GString *out = g_string_new(NULL);
  if (flume->len)
    g_string_append_printf(out, "%s (names Flume's file channel uses)", flume->str);
  if (unknown->len)
    g_string_append_printf(out, "%s%s (unknown)", out->len ? "; " : "", unknown->str);
  if (names->len > RELAY_FOREIGN_LIST_MAX)
    g_string_append_printf(out, " and %u more", names->len - RELAY_FOREIGN_LIST_MAX);
  g_string_free(flume, TRUE);
  g_string_free(unknown, TRUE);
  g_ptr_array_unref(names);
  return g_string_free(out, FALSE);
}
