/* source_spooldir.c - Flume's spooling-directory source: files dropped whole into a directory become
 * events; each file is renamed with fileSuffix (or deleted) once every event of it is committed.
 *
 * As Flume's SpoolDirectorySource and ReliableSpoolingFileEventReader
 * (flume-ng-core/src/main/java/org/apache/flume/source/SpoolDirectorySource.java,
 * flume-ng-core/src/main/java/org/apache/flume/client/avro/ReliableSpoolingFileEventReader.java): one file at
 * a time, picked by consumeOrder among the candidates (spooldir_scan.c), read by the LINE or BLOB
 * deserializer (spooldir_reader.c) in batches of batchSize events, each batch put in one transaction per
 * channel; the directory is scanned again pollDelay ms after it was found empty; a full channel makes the
 * source put the same batch again after a backoff of 250 ms doubling up to maxBackoff, and nothing more is
 * read meanwhile.
 *
 * Progress: after every committed batch the offset of the next unread byte is written to a small tracker
 * file in trackerDir (spooldir_tracker.c), replaced atomically. After a crash the source resumes that file
 * at that offset: the batch that was in flight is read and delivered again (at least once, duplicates
 * bounded by one batch), nothing is lost. The file is renamed (or deleted) only after its last batch is
 * committed, then the tracker is removed.
 *
 * Differences from Flume, on purpose:
 *  - A file that changed after it was picked up (size or mtime differ at its end), a file whose name is
 *    re-used (<name><fileSuffix> exists already, checked when picked up and again when completed), or a
 *    file that does not decode (decodeErrorPolicy = FAIL) is logged with the reason and set aside: renamed
 *    to <name>.SETASIDE (or, if that fails, skipped until restart), and the source goes on with the other
 *    files. Flume stops the whole source until it is restarted.
 *  - The tracker is relayd's own small text file (Flume keeps an Avro file .flumespool-main.meta); Flume's
 *    meta file is not read. trackingPolicy (tracker_dir) and the AVRO deserializer are not supported.
 *  - A crash after the last commit of a file but before its rename does not re-emit anything (Flume emits
 *    one empty event then).
 *
 * Counters: EventReceivedCount, EventAcceptedCount, AppendBatchReceivedCount, AppendBatchAcceptedCount,
 * ChannelWriteFail (by the channel processor), EventReadFail (read or decode errors), GenericProcessingFail
 * (files set aside), BytesReceived (bytes of the files consumed).
 *
 * Threads: everything runs on the main loop; file reads are bounded by one batch per loop iteration. */
#include "relay.h"

#include "channel_processor.h"
#include "counters.h"
#include "event.h"
#include "log.h"
#include "props.h"
#include "source.h"
#include "source_claims.h"
#include "source_retry.h"
#include "spooldir_reader.h"
#include "spooldir_scan.h"
#include "spooldir_tracker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RELAY_SPOOL_BACKOFF_FIRST_MS 250
/* Candidates set aside in one tick before the source yields to the loop. */
#define RELAY_SPOOL_PICKS_PER_TICK 16

static const char *const _delete_policies[] = { "never", "immediate", NULL };
static const char *const _orders[] = { "oldest", "youngest", "random", NULL };
static const char *const _decode_policies[] = { "FAIL", "REPLACE", "IGNORE", NULL };
static const char *const _tracking_policies[] = { "rename", "tracker_dir", NULL };

typedef struct
{
  RelaySource super;
  char *spool_dir;
  char *file_suffix;
  int delete_policy; /* 0 never, 1 immediate */
  gboolean file_header;
  char *file_header_key;
  gboolean basename_header;
  char *basename_header_key;
  char *include_pattern;
  char *ignore_pattern;
  char *tracker_dir;
  int consume_order;
  gboolean recursive;
  gint64 poll_delay_ms;
  gint64 max_backoff_ms;
  gint64 batch_size;
  char *input_charset;
  int decode_policy;
  char *deserializer;
  gint64 max_line_length;
  char *output_charset;
  gint64 max_blob_length;
  int tracking_policy;
  gint64 buffer_max_line_length;

  char *dir_abs;      /* spoolDir, absolute */
  char *tracker_abs;  /* trackerDir, absolute */
  char *tracker_path; /* the tracker file */
  RelaySpoolScan scan;
  RelaySpoolReaderConfig reader_config;
  GHashTable *skip; /* "dev:ino" of files that could not be renamed aside */

  RelaySpoolPosition cur; /* the file being read (cur.path NULL: none) */
  RelaySpoolReader *reader;
  RelayHeader headers[2];
  guint n_headers;
  char *error_after_batch; /* a read error to act on once the batch before it is committed */

  GPtrArray *in_flight; /* the batch being put (own references) */
  gint64 in_flight_end; /* file offset just after it */
  RelayPutRequest *pending;
  struct event *tick; /* one-shot: read and put the next batch, or scan */
  RelayRetry retry;   /* put in_flight again */
  RelayRateLimit rl_io;
} RelaySpoolSource;

static const RelayOption _spool_options[] = {
  RELAY_OPT_STRING_ROW("spoolDir", NULL, RelaySpoolSource, spool_dir, RELAY_OPTF_REQUIRED,
                       "the directory files are dropped into"),
  RELAY_OPT_STRING_ROW("fileSuffix", ".COMPLETED", RelaySpoolSource, file_suffix, 0,
                       "appended to a file's name once all its events are committed"),
  RELAY_OPT_ENUM_ROW("deletePolicy", "never", _delete_policies, RelaySpoolSource, delete_policy, 0,
                     "never (rename with fileSuffix) or immediate (delete once committed)"),
  RELAY_OPT_BOOL_ROW("fileHeader", "false", RelaySpoolSource, file_header, 0,
                     "add the file's absolute path as a header"),
  RELAY_OPT_STRING_ROW("fileHeaderKey", "file", RelaySpoolSource, file_header_key, 0, "its header name"),
  RELAY_OPT_BOOL_ROW("basenameHeader", "false", RelaySpoolSource, basename_header, 0,
                     "add the file's name as a header"),
  RELAY_OPT_STRING_ROW("basenameHeaderKey", "basename", RelaySpoolSource, basename_header_key, 0,
                       "its header name"),
  RELAY_OPT_STRING_ROW("includePattern", "^.*$", RelaySpoolSource, include_pattern, 0,
                       "regular expression a file name must match (whole name)"),
  RELAY_OPT_STRING_ROW("ignorePattern", "^$", RelaySpoolSource, ignore_pattern, 0,
                       "regular expression of names to skip (wins over includePattern)"),
  RELAY_OPT_STRING_ROW("trackerDir", ".flumespool", RelaySpoolSource, tracker_dir, 0,
                       "directory of the progress tracker (relative: inside spoolDir)"),
  RELAY_OPT_ENUM_ROW("consumeOrder", "oldest", _orders, RelaySpoolSource, consume_order, 0,
                     "oldest, youngest (by modification time) or random"),
  RELAY_OPT_BOOL_ROW("recursiveDirectorySearch", "false", RelaySpoolSource, recursive, 0,
                     "also consume files in sub-directories"),
  RELAY_OPT_INT_ROW("pollDelay", "500", 1, G_MAXINT32, RelaySpoolSource, poll_delay_ms, 0,
                    "ms between scans of an empty directory"),
  RELAY_OPT_INT_ROW("maxBackoff", "4000", 1, G_MAXINT32, RelaySpoolSource, max_backoff_ms, 0,
                    "longest wait in ms before putting a batch again after a full channel"),
  RELAY_OPT_INT_ROW("batchSize", "100", 1, G_MAXINT32, RelaySpoolSource, batch_size, RELAY_OPTF_BATCH_SIZE,
                    "events per put (at most the channels' transactionCapacity)"),
  RELAY_OPT_STRING_ROW("inputCharset", "UTF-8", RelaySpoolSource, input_charset, 0,
                       "character set of the files (ASCII-compatible)"),
  RELAY_OPT_ENUM_ROW("decodeErrorPolicy", "FAIL", _decode_policies, RelaySpoolSource, decode_policy, 0,
                     "FAIL (set the file aside), REPLACE (U+FFFD) or IGNORE bytes that do not decode"),
  RELAY_OPT_STRING_ROW("deserializer", "LINE", RelaySpoolSource, deserializer, 0,
                       "LINE, or BLOB (also Flume's BlobDeserializer$Builder class name)"),
  RELAY_OPT_INT_ROW("deserializer.maxLineLength", "2048", 1, 64 * 1024 * 1024, RelaySpoolSource,
                    max_line_length, 0, "LINE: bytes per event; longer lines are cut"),
  RELAY_OPT_STRING_ROW("deserializer.outputCharset", "UTF-8", RelaySpoolSource, output_charset, 0,
                       "LINE: character set of the bodies"),
  RELAY_OPT_INT_ROW("deserializer.maxBlobLength", "100000000", 1, RELAY_EVENT_MAX_BODY, RelaySpoolSource,
                    max_blob_length, 0, "BLOB: bytes per event; longer files are cut"),
  RELAY_OPT_ENUM_ROW("trackingPolicy", "rename", _tracking_policies, RelaySpoolSource, tracking_policy, 0,
                     "rename (the only one supported; tracker_dir is refused)"),
  RELAY_OPT_INT_ROW("bufferMaxLineLength", NULL, 1, 64 * 1024 * 1024, RelaySpoolSource,
                    buffer_max_line_length, 0, "deprecated: deserializer.maxLineLength when that is not set"),
  RELAY_OPTION_END,
};

#define BLOB_BUILDER "org.apache.flume.sink.solr.morphline.BlobDeserializer$Builder"

static const char *
_prefix(RelaySpoolSource *src)
{
  return src->super.super.log_prefix;
}

/* ---- files ---- */

/* rename(from, to) that fails with EEXIST instead of replacing to. */
static int
_rename_noreplace(const char *from, const char *to)
{
  if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
    return 0;
  if (errno != EINVAL && errno != ENOSYS)
    return -1;
  if (link(from, to) != 0) /* file systems without RENAME_NOREPLACE */
    return -1;
  return unlink(from);
}

static void
_close_file(RelaySpoolSource *src)
{
  GError *error = NULL;

  relay_spool_reader_free(src->reader);
  src->reader = NULL;
  if (!relay_spool_tracker_remove(src->tracker_path, &error))
    {
      relay_log_ratelimited(&src->rl_io, RELAY_LOG_WARN, _prefix(src), "%s", error->message);
      g_error_free(error);
    }
  relay_spool_position_clear(&src->cur);
  g_clear_pointer(&src->error_after_batch, g_free);
}

/* Moves the current file out of the way: renamed to <name>.SETASIDE, or remembered as skipped. */
static void
_set_aside(RelaySpoolSource *src, const char *reason)
{
  char *to = g_strconcat(src->cur.path, RELAY_SPOOL_SETASIDE_SUFFIX, NULL);

  relay_counter_inc(&src->super.counters.generic_processing_fail);
  if (_rename_noreplace(src->cur.path, to) != 0 && errno == EEXIST)
    {
      g_free(to);
      to = g_strdup_printf("%s-%" G_GINT64_FORMAT "%s", src->cur.path, g_get_real_time() / 1000,
                           RELAY_SPOOL_SETASIDE_SUFFIX);
      if (_rename_noreplace(src->cur.path, to) != 0)
        g_clear_pointer(&to, g_free);
    }
  else if (access(to, F_OK) != 0)
    g_clear_pointer(&to, g_free);
  if (to)
    relay_warn(_prefix(src),
               "file set aside: %s; renamed to %s; the other files go on file=%s offset=%" G_GINT64_FORMAT,
               reason, to, src->cur.path, src->cur.offset);
  else
    {
      g_hash_table_add(src->skip, relay_spool_file_key(src->cur.dev, src->cur.ino));
      relay_warn(_prefix(src),
                 "file set aside: %s; it could not be renamed (%s) and is skipped until relayd restarts; the "
                 "other files go on file=%s",
                 reason, g_strerror(errno), src->cur.path);
    }
  g_free(to);
  _close_file(src);
}

static gint64
_mtime_ns(const struct stat *st)
{
  return (gint64)st->st_mtim.tv_sec * G_GINT64_CONSTANT(1000000000) + st->st_mtim.tv_nsec;
}

/* Every event of the current file is committed: check it did not change, then rename or delete it. */
static void
_complete_file(RelaySpoolSource *src)
{
  struct stat st;
  char *reason = NULL;

  if (stat(src->cur.path, &st) != 0 || (guint64)st.st_ino != src->cur.ino
      || (guint64)st.st_dev != src->cur.dev)
    {
      relay_warn(_prefix(src), "file disappeared or was replaced while being read file=%s", src->cur.path);
      _close_file(src);
      return;
    }
  if (st.st_size != src->cur.size)
    reason = g_strdup_printf("the file changed size after it was picked up (%" G_GINT64_FORMAT
                             " -> %" G_GINT64_FORMAT " bytes)",
                             src->cur.size, (gint64)st.st_size);
  else if (_mtime_ns(&st) != src->cur.mtime_ns)
    reason = g_strdup("the file was modified after it was picked up");
  if (reason)
    {
      _set_aside(src, reason);
      g_free(reason);
      return;
    }
  if (src->delete_policy == 1)
    {
      if (unlink(src->cur.path) != 0)
        relay_warn(_prefix(src), "cannot delete completed file %s: %s", src->cur.path, g_strerror(errno));
      else
        relay_info(_prefix(src), "file completed and deleted file=%s", src->cur.path);
      _close_file(src);
      return;
    }
  char *to = g_strconcat(src->cur.path, src->file_suffix, NULL);
  if (_rename_noreplace(src->cur.path, to) == 0)
    {
      relay_info(_prefix(src), "file completed file=%s renamed=%s", src->cur.path, to);
      _close_file(src);
    }
  else if (errno == EEXIST)
    {
      char *why
          = g_strdup_printf("its events were delivered but %s exists already (a file name was re-used)", to);
      _set_aside(src, why);
      g_free(why);
    }
  else
    {
      relay_warn(_prefix(src), "cannot rename completed file %s to %s: %s; skipped until restart",
                 src->cur.path, to, g_strerror(errno));
      g_hash_table_add(src->skip, relay_spool_file_key(src->cur.dev, src->cur.ino));
      _close_file(src);
    }
  g_free(to);
}

static void
_set_headers(RelaySpoolSource *src)
{
  src->n_headers = 0;
  if (src->file_header)
    {
      RelayHeader h = { src->file_header_key, src->cur.path, (guint32)strlen(src->file_header_key),
                        (guint32)strlen(src->cur.path) };
      src->headers[src->n_headers++] = h;
    }
  if (src->basename_header)
    {
      const char *base = strrchr(src->cur.path, '/');
      base = base ? base + 1 : src->cur.path;
      RelayHeader h = { src->basename_header_key, base, (guint32)strlen(src->basename_header_key),
                        (guint32)strlen(base) };
      src->headers[src->n_headers++] = h;
    }
}

/* Opens cur (path, identity and pickup size/mtime set) at cur.offset. */
static gboolean
_open_cur(RelaySpoolSource *src)
{
  GError *error = NULL;

  src->reader
      = relay_spool_reader_open(src->cur.path, src->cur.offset, src->cur.size, &src->reader_config, &error);
  if (!src->reader)
    {
      relay_counter_inc(&src->super.counters.event_read_fail);
      _set_aside(src, error->message);
      g_error_free(error);
      return FALSE;
    }
  _set_headers(src);
  relay_info(_prefix(src), "reading file=%s offset=%" G_GINT64_FORMAT " size=%" G_GINT64_FORMAT,
             src->cur.path, src->cur.offset, src->cur.size);
  return TRUE;
}

typedef enum
{
  _PICK_NONE = 0, /* no candidate: scan again after pollDelay */
  _PICK_OPENED,
  _PICK_AGAIN, /* every candidate looked at was set aside: look again at once */
} _PickResult;

/* Picks the next candidate and opens it. */
static _PickResult
_pick_file(RelaySpoolSource *src)
{
  for (int i = 0; i < RELAY_SPOOL_PICKS_PER_TICK; i++)
    {
      char *path = relay_spool_scan_next(&src->scan);
      struct stat st;
      if (!path)
        return _PICK_NONE;
      if (stat(path, &st) != 0)
        {
          g_free(path);
          continue;
        }
      src->cur.path = path;
      src->cur.dev = (guint64)st.st_dev;
      src->cur.ino = (guint64)st.st_ino;
      src->cur.size = (gint64)st.st_size;
      src->cur.mtime_ns = _mtime_ns(&st);
      src->cur.offset = 0;
      char *completed = g_strconcat(path, src->file_suffix, NULL);
      gboolean collision = src->delete_policy == 0 && access(completed, F_OK) == 0;
      if (collision)
        {
          char *why
              = g_strdup_printf("%s exists already (a file name was re-used); nothing was read", completed);
          _set_aside(src, why);
          g_free(why);
        }
      g_free(completed);
      if (!collision && _open_cur(src))
        return _PICK_OPENED;
    }
  return _PICK_AGAIN;
}

/* At start: the file a tracker names, if it is still there and the same file. */
static void
_resume_from_tracker(RelaySpoolSource *src)
{
  GError *error = NULL;
  RelaySpoolPosition pos;
  struct stat st;

  if (!relay_spool_tracker_read(src->tracker_path, &pos, &error))
    {
      if (error)
        {
          relay_warn(_prefix(src), "%s; ignored (the file it named will be read again from its start)",
                     error->message);
          g_error_free(error);
          relay_spool_tracker_remove(src->tracker_path, NULL);
        }
      return;
    }
  if (stat(pos.path, &st) != 0 || (guint64)st.st_dev != pos.dev || (guint64)st.st_ino != pos.ino
      || st.st_size < pos.offset)
    {
      relay_info(_prefix(src), "tracker names a file that is gone or was replaced; ignored file=%s",
                 pos.path);
      relay_spool_position_clear(&pos);
      relay_spool_tracker_remove(src->tracker_path, NULL);
      return;
    }
  src->cur = pos;
  relay_info(_prefix(src), "resuming after a restart file=%s offset=%" G_GINT64_FORMAT, pos.path, pos.offset);
  _open_cur(src);
}

/* ---- batches ---- */

static void
_on_put_done(RelayPutResult result, gpointer user_data)
{
  RelaySpoolSource *src = user_data;
  RelaySourceCounters *counters = &src->super.counters;

  src->pending = NULL;
  if (result != RELAY_PUT_OK)
    {
      /* The channel processor counted ChannelWriteFail and logged (rate-limited). */
      guint wait_ms = relay_retry_arm(&src->retry);
      relay_debug(_prefix(src), "put failed, retrying result=%s events=%u backoff_ms=%u",
                  relay_put_result_name(result), src->in_flight->len, wait_ms);
      return;
    }
  relay_retry_reset(&src->retry);
  relay_counter_add(&counters->event_accepted, src->in_flight->len);
  relay_counter_inc(&counters->append_batch_accepted);
  relay_counter_add(&counters->bytes_received, src->in_flight_end - src->cur.offset);
  g_ptr_array_set_size(src->in_flight, 0);
  src->cur.offset = src->in_flight_end;
  GError *error = NULL;
  if (!relay_spool_tracker_write(src->tracker_path, &src->cur, &error))
    {
      relay_log_ratelimited(&src->rl_io, RELAY_LOG_WARN, _prefix(src),
                            "cannot record progress (a restart would deliver this file's events again): %s",
                            error->message);
      g_error_free(error);
    }
  if (src->error_after_batch)
    {
      char *reason = g_steal_pointer(&src->error_after_batch);
      _set_aside(src, reason);
      g_free(reason);
    }
  event_active(src->tick, EV_TIMEOUT, 0);
}

static void
_submit(RelaySpoolSource *src)
{
  src->pending = relay_source_submit_copy(&src->super, src->in_flight, _on_put_done, src);
}

static void
_on_retry(evutil_socket_t fd, short what, void *arg)
{
  _submit(arg);
}

static void
_on_tick(evutil_socket_t fd, short what, void *arg)
{
  RelaySpoolSource *src = arg;
  GError *error = NULL;

  if (src->pending || src->in_flight->len)
    return;
  _PickResult pick = src->reader ? _PICK_OPENED : _pick_file(src);
  if (pick != _PICK_OPENED)
    {
      relay_evtimer_add_ms(src->tick, pick == _PICK_AGAIN ? 0 : src->poll_delay_ms);
      return;
    }
  RelaySpoolReadResult result = relay_spool_reader_read(src->reader, (guint)src->batch_size, src->headers,
                                                        src->n_headers, src->in_flight, &error);
  if (result == RELAY_SPOOL_READ_ERROR)
    relay_counter_inc(&src->super.counters.event_read_fail);
  if (src->in_flight->len)
    {
      if (error)
        src->error_after_batch = g_strdup(error->message);
      g_clear_error(&error);
      src->in_flight_end = relay_spool_reader_offset(src->reader);
      relay_counter_add(&src->super.counters.event_received, src->in_flight->len);
      _submit(src);
      return;
    }
  if (error)
    {
      _set_aside(src, error->message);
      g_error_free(error);
    }
  else
    _complete_file(src);
  event_active(src->tick, EV_TIMEOUT, 0);
}

/* ---- configuration ---- */

static gboolean
_report(const RelayComponentConfig *cc, RelayConfigReport *report, const char *key, char *text)
{
  relay_config_report_add(report, key ? relay_component_config_get(cc, key) : NULL, cc->label, key,
                          "%s; source %s removed", text, cc->name);
  g_free(text);
  return FALSE;
}

static gboolean
_check_dirs(RelaySpoolSource *src, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  struct stat st;

  src->dir_abs = g_canonicalize_filename(src->spool_dir, NULL);
  src->tracker_abs = g_canonicalize_filename(src->tracker_dir, src->dir_abs);
  src->tracker_path = g_build_filename(src->tracker_abs, RELAY_SPOOL_TRACKER_NAME, NULL);
  if (stat(src->dir_abs, &st) != 0)
    return _report(cc, report, "spoolDir", g_strdup_printf("%s: %s", src->dir_abs, g_strerror(errno)));
  if (!S_ISDIR(st.st_mode))
    return _report(cc, report, "spoolDir", g_strdup_printf("%s is not a directory", src->dir_abs));
  if (access(src->dir_abs, R_OK | W_OK | X_OK) != 0)
    return _report(cc, report, "spoolDir",
                   g_strdup_printf("%s cannot be read and modified by this user (files are renamed or "
                                   "deleted there): %s",
                                   src->dir_abs, g_strerror(errno)));
  if (stat(src->tracker_abs, &st) == 0
      && (!S_ISDIR(st.st_mode) || access(src->tracker_abs, R_OK | W_OK | X_OK) != 0))
    return _report(cc, report, "trackerDir",
                   g_strdup_printf("%s is not a directory this user can write", src->tracker_abs));
  return TRUE;
}

static gboolean
_check_patterns(RelaySpoolSource *src, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  GError *error = NULL;
  gboolean ok = TRUE;

  src->scan.include = relay_spool_regex_new(src->include_pattern, &error);
  if (!src->scan.include)
    {
      ok = _report(cc, report, "includePattern", g_strdup(error->message));
      g_clear_error(&error);
    }
  src->scan.ignore = relay_spool_regex_new(src->ignore_pattern, &error);
  if (!src->scan.ignore)
    {
      ok = _report(cc, report, "ignorePattern", g_strdup(error->message));
      g_clear_error(&error);
    }
  return ok;
}

static gboolean
_check_deserializer(RelaySpoolSource *src, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  gboolean ok = TRUE;

  if (g_ascii_strcasecmp(src->deserializer, "LINE") == 0)
    src->reader_config.kind = RELAY_SPOOL_LINE;
  else if (g_ascii_strcasecmp(src->deserializer, "BLOB") == 0 || strcmp(src->deserializer, BLOB_BUILDER) == 0)
    src->reader_config.kind = RELAY_SPOOL_BLOB;
  else
    ok = _report(cc, report, "deserializer",
                 g_strdup_printf("'%s' is not supported (LINE or BLOB)", src->deserializer));
  if (!relay_spool_charset_usable(src->input_charset))
    ok = _report(cc, report, "inputCharset",
                 g_strdup_printf("'%s' is unknown or not ASCII-compatible", src->input_charset));
  if (!relay_spool_charset_usable(src->output_charset))
    ok = _report(cc, report, "deserializer.outputCharset",
                 g_strdup_printf("'%s' is unknown or not ASCII-compatible", src->output_charset));
  if (src->buffer_max_line_length > 0 && !relay_component_config_get(cc, "deserializer.maxLineLength"))
    src->max_line_length = src->buffer_max_line_length; /* as Flume copies the deprecated key */
  if (src->tracking_policy != 0)
    ok = _report(
        cc, report, "trackingPolicy",
        g_strdup("tracker_dir is not supported (completed files are renamed with fileSuffix or deleted)"));
  src->reader_config.max_line = src->max_line_length;
  src->reader_config.max_blob = src->max_blob_length;
  src->reader_config.input_charset = src->input_charset;
  src->reader_config.output_charset = src->output_charset;
  src->reader_config.policy = (RelaySpoolDecodePolicy)src->decode_policy;
  return ok;
}

static const char *
_dir_claim(const RelayComponent *source)
{
  return ((const RelaySpoolSource *)source)->dir_abs;
}

static const char *
_tracker_claim(const RelayComponent *source)
{
  return ((const RelaySpoolSource *)source)->tracker_path;
}

/* Two spooldir sources of one agent must not share a spool directory or a tracker. */
static gboolean
_check_not_shared(RelaySpoolSource *src, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  const char *owner = relay_source_claimed_by(RELAY_COMPONENT(src), cc, _dir_claim);

  if (owner)
    return _report(cc, report, "spoolDir",
                   g_strdup_printf("%s is also the spool directory of source %s", src->dir_abs, owner));
  owner = relay_source_claimed_by(RELAY_COMPONENT(src), cc, _tracker_claim);
  if (owner)
    return _report(cc, report, "trackerDir",
                   g_strdup_printf("%s is also the tracker directory of source %s", src->tracker_abs, owner));
  return TRUE;
}

static gboolean
_spool_configure(RelayComponent *self, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  RelaySpoolSource *src = (RelaySpoolSource *)self;
  RelayRateLimit limit = RELAY_RATELIMIT_INIT;
  gboolean ok;

  src->rl_io = limit;
  ok = _check_dirs(src, cc, report);
  ok = _check_patterns(src, cc, report) && ok;
  ok = _check_deserializer(src, cc, report) && ok;
  if (src->file_suffix[0] == '\0')
    ok = _report(cc, report, "fileSuffix", g_strdup("must not be empty"));
  if (ok)
    ok = _check_not_shared(src, cc, report);
  src->skip = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  src->scan.dir = src->dir_abs;
  src->scan.file_suffix = src->file_suffix;
  src->scan.recursive = src->recursive;
  src->scan.order = (RelaySpoolOrder)src->consume_order;
  src->scan.skip = src->skip;
  src->scan.tracker_dir = src->tracker_abs;
  return ok;
}

/* ---- lifecycle ---- */

static gboolean
_spool_start(RelayComponent *self, GError **error)
{
  RelaySpoolSource *src = (RelaySpoolSource *)self;

  if (!src->super.cp || !src->super.base)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_STATE,
                  "%s: started without channel processor or event loop", self->log_prefix);
      return FALSE;
    }
  if (g_mkdir_with_parents(src->tracker_abs, 0755) != 0)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "%s: cannot create trackerDir %s: %s", self->log_prefix,
                  src->tracker_abs, g_strerror(errno));
      return FALSE;
    }
  src->in_flight = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  src->tick = evtimer_new(src->super.base, _on_tick, src);
  relay_retry_init(&src->retry, src->super.base, _on_retry, src, RELAY_SPOOL_BACKOFF_FIRST_MS,
                   (guint)src->max_backoff_ms);
  _resume_from_tracker(src);
  event_active(src->tick, EV_TIMEOUT, 0);
  relay_info(self->log_prefix, "watching spoolDir=%s trackerDir=%s", src->dir_abs, src->tracker_abs);
  return TRUE;
}

static void
_spool_stop(RelayComponent *self)
{
  RelaySpoolSource *src = (RelaySpoolSource *)self;

  if (src->pending)
    relay_put_request_cancel(src->pending); /* not recorded: read again after a restart */
  src->pending = NULL;
  g_clear_pointer(&src->tick, event_free);
  relay_retry_clear(&src->retry);
  g_clear_pointer(&src->in_flight, g_ptr_array_unref);
  relay_spool_reader_free(src->reader);
  src->reader = NULL;
  relay_spool_position_clear(&src->cur); /* the tracker stays for the next start */
  g_clear_pointer(&src->error_after_batch, g_free);
}

static void
_spool_free(RelayComponent *self)
{
  RelaySpoolSource *src = (RelaySpoolSource *)self;

  g_clear_pointer(&src->scan.include, g_regex_unref);
  g_clear_pointer(&src->scan.ignore, g_regex_unref);
  g_clear_pointer(&src->skip, g_hash_table_unref);
  g_free(src->dir_abs);
  g_free(src->tracker_abs);
  g_free(src->tracker_path);
}

const RelayComponentClass relay_source_spooldir_class = {
  .kind = RELAY_KIND_SOURCE,
  .type = "spooldir",
  .flume_class = "org.apache.flume.source.SpoolDirectorySource",
  .description = "events from files dropped whole into a directory; each renamed once committed",
  .options = _spool_options,
  .instance_size = sizeof(RelaySpoolSource),
  .configure = _spool_configure,
  .start = _spool_start,
  .stop = _spool_stop,
  .free = _spool_free,
};
