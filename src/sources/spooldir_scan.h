/* spooldir_scan.h - picking the next file of a spooling directory: Flume's candidate rules and
 * consumeOrder.
 *
 * A candidate is a regular file whose name does not start with '.', does not end with fileSuffix or with
 * RELAY_SPOOL_SETASIDE_SUFFIX, matches includePattern and does not match ignorePattern (Java's matches():
 * the whole name), and is not in the caller's skip set. Sub-directories are walked only when recursive,
 * never those starting with '.' or matching ignorePattern, nor the trackerDir. Order: oldest or youngest
 * mtime (ties: the smaller path), or random.
 *
 * Threads: the main loop. */
#ifndef RELAY_SPOOLDIR_SCAN_H_INCLUDED
#define RELAY_SPOOLDIR_SCAN_H_INCLUDED

#include "relay.h"

/* Files the source could not complete are renamed to <name> + this suffix and never picked again. */
#define RELAY_SPOOL_SETASIDE_SUFFIX ".SETASIDE"

typedef enum
{
  RELAY_SPOOL_ORDER_OLDEST = 0,
  RELAY_SPOOL_ORDER_YOUNGEST,
  RELAY_SPOOL_ORDER_RANDOM,
} RelaySpoolOrder;

typedef struct
{
  const char *dir;
  const char *file_suffix;
  GRegex *include; /* compiled by relay_spool_regex_new */
  GRegex *ignore;
  gboolean recursive;
  RelaySpoolOrder order;
  GHashTable *skip;        /* "dev:ino" strings of files set aside in place (may be NULL) */
  const char *tracker_dir; /* never walked, even when it is a sub-directory without a leading '.' */
} RelaySpoolScan;

/* Compiles a Java-style pattern for whole-name matching; NULL and *error on a bad pattern. */
GRegex *relay_spool_regex_new(const char *pattern, GError **error);
/* The next file to read (newly allocated absolute path), or NULL when there is none. */
char *relay_spool_scan_next(const RelaySpoolScan *scan);
/* "dev:ino" of a file, as used in the skip set. */
char *relay_spool_file_key(guint64 dev, guint64 ino);

#endif
