/* taildir.h - the TAILDIR source's internal pieces: position-file codec (taildir_position.c) and file-group
 * tracking (taildir_files.c), shared with source_taildir.c and the unit test.
 *
 * The position file is Flume's: a JSON array of {"inode":N,"pos":N,"file":"/abs/path"} objects, as written
 * by flume-ng-sources/flume-taildir-source/.../ReliableTaildirEventReader.java (Gson). Files are tracked by
 * (device, inode); the position written is the committed offset.
 *
 * Thread: everything here runs on the main loop (the source's thread), except the position writer's own
 * thread (taildir_saver.c). */
#ifndef RELAY_TAILDIR_H_INCLUDED
#define RELAY_TAILDIR_H_INCLUDED

#include "relay.h"
#include "event.h"

#include <sys/stat.h>
#include <sys/types.h>

/* A position file larger than this is refused (bounded parsing): ~2.5 million entries. */
#define RELAY_TAILDIR_POS_MAX_BYTES (256u * 1024 * 1024)

/* ---- taildir_position.c ---- */

typedef struct
{
  guint64 inode;
  gint64 pos;
  char *file;
} RelayTaildirPos;

/* Parses Flume's position JSON. Objects lacking inode, pos or file (or with a negative pos) are skipped and
 * counted in *skipped; unknown members are ignored. Returns an array of RelayTaildirPos (free with
 * relay_taildir_pos_array_free) or NULL with error when the text is not a JSON array of objects. Empty
 * text (Flume truncates the file when nothing matches) is an empty array. */
GArray *relay_taildir_pos_parse(const char *text, gsize len, guint *skipped, GError **error);
void relay_taildir_pos_array_free(GArray *entries);
/* Appends one entry's JSON object (no separator) to out. */
void relay_taildir_pos_format_entry(GString *out, guint64 inode, gint64 pos, const char *file);
/* Reads and parses path; a missing file is an empty array. */
GArray *relay_taildir_pos_load(const char *path, guint *skipped, GError **error);
/* Replaces path with content atomically: writes path.tmp, fsyncs it, renames it over path and fsyncs the
 * directory. Creates missing parent directories first (as Flume does). */
gboolean relay_taildir_pos_save(const char *path, const GString *content, GError **error);

/* ---- taildir_saver.c ---- */

typedef struct _RelayTaildirSaver RelayTaildirSaver;
struct event_base;
/* Runs on the loop when a write ended; error (borrowed) is NULL when the file was replaced. */
typedef void (*RelayTaildirSavedFn)(const GError *error, gpointer user_data);

/* Starts the thread that replaces path with relay_taildir_pos_save. base: the loop that calls the
 * functions below and runs done (libevent must be set up for threads: evthread_use_pthreads). */
RelayTaildirSaver *relay_taildir_saver_new(struct event_base *base, const char *path,
                                           RelayTaildirSavedFn done, gpointer user_data);
/* TRUE from relay_taildir_saver_save until done has run. */
gboolean relay_taildir_saver_busy(const RelayTaildirSaver *self);
/* Hands content (taken) to the thread; the saver must not be busy. */
void relay_taildir_saver_save(RelayTaildirSaver *self, GString *content);
/* Waits for the write in flight (done is not called for it) and stops the thread. NULL is ignored. */
void relay_taildir_saver_free(RelayTaildirSaver *self);

/* ---- taildir_files.c ---- */

typedef struct _RelayTailGroup RelayTailGroup;
typedef struct _RelayTailFile RelayTailFile;

struct _RelayTailGroup
{
  char *name;
  char *dir;            /* literal directory, without the trailing '/' */
  char *pattern;        /* the file-name regex as configured */
  GRegex *regex;        /* anchored at both ends: the whole name must match (Java's Matcher.matches) */
  RelayHeader *headers; /* headers.<g>.<key>; strings owned by the group */
  guint n_headers;
  int wd;        /* inotify watch, -1 when none */
  dev_t dir_dev; /* the directory the watch was added on */
  ino_t dir_ino;
  gboolean rescan;       /* the listing must be read again */
  gint64 dir_mtime_ns;   /* cachePatternMatching: directory mtime at the last listing */
  gint64 last_listing_s; /* wall-clock seconds of the last listing */
  gint64 listed_us;      /* monotonic time when the last listing ended, and what it took */
  gint64 listing_us;
  guint n_files;       /* files of this group being tracked */
  guint n_unmatched;   /* of them, those no longer under a matching name (renamed out, read to the end) */
  gint64 bytes_behind; /* scratch for the BytesBehind gauge (main thread) */
};

struct _RelayTailFile
{
  RelayTailGroup *group;
  char *path; /* last known path */
  dev_t dev;
  ino_t ino;
  int fd;           /* -1 while closed */
  gint64 pos;       /* committed offset: everything before it is in the channels */
  gint64 size;      /* size at the last look */
  gint64 active_ms; /* monotonic ms of the last growth or read */
  gboolean matched; /* found by the last listing under a matching name */
  gboolean flush;   /* idle: emit an unterminated last line */
  gboolean queued;  /* in the source's ready queue (link) */
  gboolean gone;    /* replaced or unreadable: dropped when no longer needed */
  guint seen_gen;   /* listing generation that last found it */
  guint batches;    /* consecutive batches in the current turn (maxBatchCount) */
  GList link;
};

RelayTailGroup *relay_tail_group_new(const char *name, const char *spec, GError **error);
void relay_tail_group_free(RelayTailGroup *group);
/* TRUE when name (a bare file name) matches the group's regex entirely. */
gboolean relay_tail_group_matches(const RelayTailGroup *group, const char *name);

/* Key of the tracked-files table: (device, inode). */
typedef struct
{
  dev_t dev;
  ino_t ino;
} RelayTailKey;

guint relay_tail_key_hash(gconstpointer key);
gboolean relay_tail_key_equal(gconstpointer a, gconstpointer b);

RelayTailFile *relay_tail_file_new(RelayTailGroup *group, const char *path, const struct stat *st,
                                   gint64 pos);
void relay_tail_file_close(RelayTailFile *file);
/* Sets file->matched and keeps its group's n_unmatched in step. */
void relay_tail_file_set_matched(RelayTailFile *file, gboolean matched);
void relay_tail_file_free(RelayTailFile *file);
/* A directory's state before or after a listing. readdir(3) leaves unspecified whether an entry renamed
 * while the directory is read is returned (ext4 misses it under both names when its hash moves behind the
 * cursor), so a listing proves that a file is gone only when the directory did not change while it ran. */
typedef struct
{
  gint64 clock_ns; /* CLOCK_REALTIME_COARSE read just before the stat */
  gint64 mtime_ns;
  gint64 ctime_ns;
  dev_t dev;
  ino_t ino;
} RelayTailDirStamp;

/* Stats dir into *st and fills stamp; FALSE (errno set) when it cannot. */
gboolean relay_tail_dir_stamp(const char *dir, struct stat *st, RelayTailDirStamp *stamp);
/* TRUE when nothing changed the directory between the two stamps. Timestamps come from the kernel's coarse
 * clock: a change within the same tick as the one before `before` would leave them equal, so they must also
 * be older than the clock read before `before`. */
gboolean relay_tail_dir_unchanged(const RelayTailDirStamp *before, const RelayTailDirStamp *after);
/* Opens the file if closed and checks it is still the same inode; FALSE (errno set) otherwise. */
gboolean relay_tail_file_open(RelayTailFile *file);
/* The path the open descriptor refers to now (after renames), or NULL when closed or deleted. */
char *relay_tail_file_current_path(const RelayTailFile *file);

#endif
