/* spooldir_tracker.h - the spooling-directory source's progress record: which file it is reading (path,
 * device, inode, size and mtime at pickup) and the offset up to which every event is committed.
 *
 * One small text file per source in its trackerDir, replaced atomically (write a temporary file, rename it
 * over the old one) after every committed batch, removed when the file is completed. A crash therefore
 * resumes at the last committed batch (the batch in flight is read again: duplicates, never a loss).
 *
 * Threads: the main loop (the source's thread). */
#ifndef RELAY_SPOOLDIR_TRACKER_H_INCLUDED
#define RELAY_SPOOLDIR_TRACKER_H_INCLUDED

#include "relay.h"

#include <sys/types.h>

/* The tracker file's name inside trackerDir. */
#define RELAY_SPOOL_TRACKER_NAME "relayd-spooldir.tracker"

typedef struct
{
  char *path; /* absolute path of the file being read */
  guint64 dev, ino;
  gint64 size;     /* size when it was picked up */
  gint64 mtime_ns; /* mtime when it was picked up */
  gint64 offset;   /* every event before this byte offset is committed */
} RelaySpoolPosition;

/* The record's text (newly allocated) for pos, and back: parse is FALSE (pos cleared) for text that is not a
 * whole record; pos->path is newly allocated. format -> parse gives pos back for any path without a NUL. */
char *relay_spool_tracker_format(const RelaySpoolPosition *pos);
gboolean relay_spool_tracker_parse(const char *text, gsize len, RelaySpoolPosition *pos);
/* Writes pos to tracker_path atomically (temporary file in the same directory, then rename). */
gboolean relay_spool_tracker_write(const char *tracker_path, const RelaySpoolPosition *pos, GError **error);
/* Reads tracker_path. FALSE with *error NULL when there is no tracker; FALSE with an error when it cannot be
 * read or parsed. pos->path is newly allocated. */
gboolean relay_spool_tracker_read(const char *tracker_path, RelaySpoolPosition *pos, GError **error);
/* Removes the tracker (no error when it is missing). */
gboolean relay_spool_tracker_remove(const char *tracker_path, GError **error);
void relay_spool_position_clear(RelaySpoolPosition *pos);

#endif
