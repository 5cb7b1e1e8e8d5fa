/* channel_file_recover.c - the file channel's start-up replay: checkpoint plus log tail, or the whole log.
 *
 * The checkpoint (or, with useDualCheckpoints, its backup when the primary is unusable) gives the queue as
 * a seq-sorted array of event locations and the log position it reflects; the records from that position
 * on are replayed: PUT records append locations, TAKE records mark them taken. Without a usable checkpoint
 * every segment is replayed from the oldest, which is correct because segments are only ever deleted as a
 * prefix (see channel_file.c). Damage loses only what is damaged: a record whose header is intact but whose
 * payload is not is skipped by its length (keeping the events of a PUT that still pass their own CRC), a
 * damaged header is skipped up to the next intact record header, and a damaged segment header does not
 * stop the scan of its records. Each skipped stretch is logged with what it held when that is known
 * (type, sequence numbers, events lost). Damage after which no valid record follows in the last segment is
 * a torn tail (a crash during a write) and the file is cut there. A log line says where and how many bytes.
 *
 * Runs in: the main thread, from start(), before the writer and checkpoint threads exist; it still takes
 * the channel lock where it publishes the result, for the benefit of readers of `count`. */
#include "channel_file_private.h"

#include "event.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct
{
  RelayFileChannel *self;
  GArray *entries; /* RelayFileEntry sorted by seq; loc.len == 0 marks a taken one */
  guint64 next_seq;
  guint64 records;
  const char *path;                            /* of the segment being scanned */
  guint64 damaged, damaged_bytes, events_lost; /* damage skipped so far */
} RelayReplay;

/* Index of the first entry with seq >= seq. */
static guint
_lower_bound(GArray *entries, guint64 seq)
{
  guint lo = 0, hi = entries->len;

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      if (g_array_index(entries, RelayFileEntry, mid).loc.seq < seq)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

static void
_insert(GArray *entries, const RelayFileEntry *entry)
{
  if (entries->len == 0 || g_array_index(entries, RelayFileEntry, entries->len - 1).loc.seq < entry->loc.seq)
    {
      g_array_append_val(entries, *entry);
      return;
    }
  guint i = _lower_bound(entries, entry->loc.seq); /* not expected: the log is written in seq order */
  if (i == entries->len || g_array_index(entries, RelayFileEntry, i).loc.seq != entry->loc.seq)
    g_array_insert_val(entries, i, *entry);
}

static void
_replay_put(RelayReplay *r, const RelayFilelogRecord *rec, guint64 seg, guint32 offset)
{
  gsize cursor = 0;
  guint32 rel_off, len;
  guint64 seq = rec->first_seq;

  while (relay_filelog_put_next(rec, &cursor, &rel_off, &len))
    {
      RelayFileEntry entry = { { seq++, seg, offset + RELAY_FILELOG_RECORD_HEADER + rel_off, len }, NULL };
      _insert(r->entries, &entry);
    }
  r->next_seq = MAX(r->next_seq, seq);
}

/* Marks every entry whose seq is in one of the record's runs; bounded by the entries, not by the counts
 * read from disk. Seqs that are not there were taken before the checkpoint or never committed. */
static void
_replay_take(RelayReplay *r, const RelayFilelogRecord *rec)
{
  for (guint32 run = 0; run < rec->count; run++)
    {
      guint64 first, end;
      guint32 n;
      relay_filelog_take_run(rec, run, &first, &n);
      end = first + n < first ? G_MAXUINT64 : first + n;
      for (guint i = _lower_bound(r->entries, first); i < r->entries->len; i++)
        {
          RelayFileEntry *e = &g_array_index(r->entries, RelayFileEntry, i);
          if (e->loc.seq >= end)
            break;
          e->loc.len = 0;
        }
    }
}

static gboolean
_on_record(const RelayFilelogRecord *rec, guint64 seg, guint32 offset, gpointer data)
{
  RelayReplay *r = data;

  if (rec->type == RELAY_FILELOG_PUT)
    _replay_put(r, rec, seg, offset);
  else
    _replay_take(r, rec);
  r->records++;
  return TRUE;
}

/* Logs one damaged stretch exactly: where, how long, and what it held when its header says so. */
static void
_on_damage(const RelayFilelogDamage *d, guint64 seg, gpointer data)
{
  RelayReplay *r = data;
  const char *prefix = r->self->super.super.log_prefix;

  r->damaged++;
  r->damaged_bytes += d->length;
  if (!d->has_header)
    relay_error(prefix,
                "damaged bytes skipped (record header unreadable, content unknown) segment=%s "
                "offset=%" G_GUINT64_FORMAT " bytes=%" G_GUINT64_FORMAT,
                r->path, d->offset, d->length);
  else if (d->type == RELAY_FILELOG_PUT)
    {
      r->events_lost += d->events_lost;
      relay_error(prefix,
                  "damaged record skipped type=put segment=%s offset=%" G_GUINT64_FORMAT
                  " bytes=%" G_GUINT64_FORMAT " first_seq=%" G_GUINT64_FORMAT " events=%u events_lost=%u",
                  r->path, d->offset, d->length, d->first_seq, d->count, d->events_lost);
    }
  else
    relay_error(prefix,
                "damaged record skipped type=take segment=%s offset=%" G_GUINT64_FORMAT
                " bytes=%" G_GUINT64_FORMAT " runs=%u (the events it took may be delivered again)",
                r->path, d->offset, d->length, d->count);
  (void)seg;
}

/* ---- checkpoint ---- */

static const RelayFilelogSegmentFile *
_find_file(GArray *files, guint64 id)
{
  for (guint i = 0; i < files->len; i++)
    if (g_array_index(files, RelayFilelogSegmentFile, i).id == id)
      return &g_array_index(files, RelayFilelogSegmentFile, i);
  return NULL;
}

/* Reads the checkpoint in dir and checks that the log position it names exists. */
static gboolean
_read_checkpoint(const char *dir, GArray *files, RelayFilelogCheckpoint *cp, GError **error)
{
  if (!relay_filelog_checkpoint_read(dir, cp, error))
    return FALSE;
  const RelayFilelogSegmentFile *file = _find_file(files, cp->log_seg);
  struct stat st;
  if (file && stat(file->path, &st) == 0 && cp->log_off <= (guint64)st.st_size
      && cp->log_off >= RELAY_FILELOG_SEGMENT_HEADER)
    return TRUE;
  g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO,
              "%s: checkpoint names segment %" G_GUINT64_FORMAT " offset %" G_GUINT64_FORMAT
              " which does not exist",
              dir, cp->log_seg, cp->log_off);
  relay_filelog_checkpoint_clear(cp);
  return FALSE;
}

static gboolean
_load_checkpoint(RelayFileChannel *self, GArray *files, RelayFilelogCheckpoint *cp)
{
  const char *prefix = self->super.super.log_prefix;
  GError *error = NULL;

  if (_read_checkpoint(self->checkpoint_dir, files, cp, &error))
    return TRUE;
  gboolean missing = g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  if (!missing || files->len > 0)
    relay_warn(prefix, "checkpoint unusable: %s", error->message);
  g_clear_error(&error);
  if (self->backup_dir && _read_checkpoint(self->backup_dir, files, cp, &error))
    {
      relay_warn(prefix, "using the backup checkpoint dir=%s", self->backup_dir);
      return TRUE;
    }
  if (error)
    {
      if (files->len > 0)
        relay_warn(prefix, "backup checkpoint unusable: %s", error->message);
      g_clear_error(&error);
    }
  if (files->len > 0)
    relay_warn(prefix, "no usable checkpoint: full replay of %u segments", files->len);
  return FALSE;
}

/* ---- scanning ---- */

/* Logs and handles what a scan found after the segment's last good record. Returns FALSE if the segment
 * must be left out (bad header). */
static gboolean
_handle_tail(RelayFileChannel *self, const RelayFilelogSegmentFile *file, const RelayFilelogScanResult *res,
             gboolean last)
{
  const char *prefix = self->super.super.log_prefix;

  if (res->bad_header && res->records == 0 && res->damaged == 0)
    {
      /* A crash while a segment was being created leaves at most a partial header: nothing to lose. */
      gboolean interrupted = last && res->size <= RELAY_FILELOG_SEGMENT_HEADER;
      relay_log(interrupted ? RELAY_LOG_WARN : RELAY_LOG_ERROR, prefix,
                "segment has no valid header and no records, %s segment=%s size=%" G_GUINT64_FORMAT,
                interrupted ? "removed (interrupted creation)" : "ignored", file->path, res->size);
      if (interrupted)
        unlink(file->path);
      return FALSE;
    }
  if (res->bad_header)
    relay_error(
        prefix,
        "segment header damaged, its records replayed all the same segment=%s records=%" G_GUINT64_FORMAT,
        file->path, res->records);
  if (res->garbage && last)
    relay_warn(prefix,
               "torn tail cut at the last good record segment=%s offset=%" G_GUINT64_FORMAT
               " dropped_bytes=%" G_GUINT64_FORMAT,
               file->path, res->end, res->garbage);
  else if (res->garbage)
    relay_error(prefix,
                "corrupt record, no valid record follows: rest of segment skipped segment=%s "
                "offset=%" G_GUINT64_FORMAT " skipped_bytes=%" G_GUINT64_FORMAT,
                file->path, res->end, res->garbage);
  if (last && res->size > res->end && truncate(file->path, (off_t)res->end) < 0)
    relay_warn(prefix, "cannot cut segment=%s: %s", file->path, g_strerror(errno));
  return TRUE;
}

/* Replays the segments from position (seg, off); marks the segments to keep in `keep`. */
static gboolean
_replay_log(RelayFileChannel *self, GArray *files, guint64 seg, guint64 off, RelayReplay *r, gboolean *keep,
            GError **error)
{
  for (guint i = 0; i < files->len; i++)
    {
      const RelayFilelogSegmentFile *file = &g_array_index(files, RelayFilelogSegmentFile, i);
      RelayFilelogScanResult res;
      RelayFilelogScanFns fns = { _on_record, _on_damage, r, i + 1 < files->len };
      keep[i] = TRUE;
      if (file->id < seg)
        continue;
      r->path = file->path;
      if (!relay_filelog_segment_scan(file->path, file->id, file->id == seg ? off : 0, &fns, &res, error))
        return FALSE;
      keep[i] = _handle_tail(self, file, &res, i + 1 == files->len);
    }
  return TRUE;
}

/* ---- publishing the result ---- */

static void
_build_segments(RelayFileChannel *self, GArray *files, const gboolean *keep)
{
  for (guint i = 0; i < files->len; i++)
    if (keep[i])
      {
        RelayFilelogSegmentFile *file = &g_array_index(files, RelayFilelogSegmentFile, i);
        RelayFileSegment seg = { file->id, file->path, -1, 0 };
        file->path = NULL; /* moved */
        g_array_append_val(self->segments, seg);
      }
}

/* Drops taken entries and those whose segment is gone; counts live events per segment; fills the ring. */
static guint64
_publish_entries(RelayFileChannel *self, GArray *entries)
{
  guint64 lost = 0;

  relay_mutex_lock(&self->lock);
  relay_file_channel_ring_reserve(self, entries->len);
  for (guint i = 0; i < entries->len; i++)
    {
      RelayFileEntry *e = &g_array_index(entries, RelayFileEntry, i);
      RelayFileSegment *seg = e->loc.len ? relay_file_channel_segment(self, e->loc.seg) : NULL;
      if (!seg)
        {
          lost += e->loc.len ? 1 : 0;
          continue;
        }
      seg->live++;
      self->ring[self->count++] = *e;
    }
  self->head = 0;
  self->held = self->count;
  relay_mutex_unlock(&self->lock);
  return lost;
}

static GArray *
_entries_from_checkpoint(const RelayFilelogCheckpoint *cp)
{
  guint n = cp->entries ? cp->entries->len : 0;
  GArray *entries = g_array_sized_new(FALSE, FALSE, sizeof(RelayFileEntry), MAX(n, 16));

  for (guint i = 0; i < n; i++)
    {
      RelayFileEntry e = { g_array_index(cp->entries, RelayFilelogLocation, i), NULL };
      g_array_append_val(entries, e);
    }
  return entries;
}

gboolean
relay_file_channel_recover(RelayFileChannel *self, guint64 *first_new_segment, GError **error)
{
  gint64 started = g_get_monotonic_time();
  GArray *files = relay_filelog_list_segments(self->data_dirs, error);
  if (!files)
    return FALSE;

  RelayFilelogCheckpoint cp = { 0, 0, 0, NULL };
  gboolean have_cp = _load_checkpoint(self, files, &cp);
  RelayReplay r = { self, _entries_from_checkpoint(&cp), have_cp ? cp.next_seq : 1, 0, NULL, 0, 0, 0 };
  gboolean *keep = g_new0(gboolean, files->len + 1);
  gboolean ok = _replay_log(self, files, have_cp ? cp.log_seg : 0, have_cp ? cp.log_off : 0, &r, keep, error);

  if (ok)
    {
      guint64 last_id = files->len ? g_array_index(files, RelayFilelogSegmentFile, files->len - 1).id : 0;
      *first_new_segment = MAX(last_id, have_cp ? cp.log_seg : 0) + 1;
      _build_segments(self, files, keep);
      guint64 lost = _publish_entries(self, r.entries);
      self->next_seq = r.next_seq;
      if (lost)
        relay_error(self->super.super.log_prefix, "events in missing segments lost=%" G_GUINT64_FORMAT, lost);
      if (r.damaged)
        relay_error(self->super.super.log_prefix,
                    "replay skipped damage stretches=%" G_GUINT64_FORMAT " bytes=%" G_GUINT64_FORMAT
                    " events_lost=%" G_GUINT64_FORMAT " (plus any in stretches of unknown content)",
                    r.damaged, r.damaged_bytes, r.events_lost);
      relay_info(self->super.super.log_prefix,
                 "recovered events=%" G_GUINT64_FORMAT " from=%s records_replayed=%" G_GUINT64_FORMAT
                 " segments=%u ms=%" G_GINT64_FORMAT,
                 self->count, have_cp ? "checkpoint" : "log", r.records, self->segments->len,
                 (g_get_monotonic_time() - started) / 1000);
    }
  g_free(keep);
  g_array_free(r.entries, TRUE);
  relay_filelog_checkpoint_clear(&cp);
  relay_filelog_segment_files_free(files);
  return ok;
}
