/* relayd_fcdump.c - relayd-fcdump: prints a file channel's checkpoint, segments and pending event count.
 *
 * Usage: relayd-fcdump CHECKPOINT_DIR DATA_DIR[,DATA_DIR...]
 * Read-only: it never writes, truncates or locks anything, so it may be run next to a live channel (the
 * figures are then a snapshot that may be slightly behind). The pending count replays like the channel
 * does at start: checkpoint entries plus the PUT records after its position, minus the TAKE records. */
#include "filelog.h"

#include <stdio.h>
#include <string.h>

typedef struct
{
  GHashTable *live; /* seq (guint64*) -> TRUE */
  guint64 puts, takes, records;
} RelayDump;

static gboolean
_on_record(const RelayFilelogRecord *rec, guint64 seg, guint32 offset, gpointer data)
{
  RelayDump *dump = data;

  (void)seg;
  (void)offset;
  dump->records++;
  for (guint32 i = 0; i < rec->count; i++)
    {
      guint64 first = rec->first_seq + i;
      guint32 n = 1;
      if (rec->type == RELAY_FILELOG_TAKE)
        relay_filelog_take_run(rec, i, &first, &n);
      for (guint64 seq = first; seq < first + n; seq++)
        {
          if (rec->type == RELAY_FILELOG_PUT)
            g_hash_table_add(dump->live, g_memdup2(&seq, sizeof seq));
          else
            g_hash_table_remove(dump->live, &seq);
        }
      if (rec->type == RELAY_FILELOG_PUT)
        dump->puts++;
      else
        dump->takes += n;
    }
  return TRUE;
}

static gboolean
_print_checkpoint(const char *dir, RelayFilelogCheckpoint *cp)
{
  GError *error = NULL;

  if (!relay_filelog_checkpoint_read(dir, cp, &error))
    {
      printf("checkpoint: none usable (%s): full replay\n", error->message);
      g_error_free(error);
      return FALSE;
    }
  printf("checkpoint: %s/%s next_seq=%" G_GUINT64_FORMAT " position=segment %" G_GUINT64_FORMAT
         " offset %" G_GUINT64_FORMAT " events=%u\n",
         dir, RELAY_FILELOG_CHECKPOINT_NAME, cp->next_seq, cp->log_seg, cp->log_off, cp->entries->len);
  return TRUE;
}

/* Scans every segment for the listing; replays (counts) those at or after the checkpoint position. */
static void
_dump_segments(GArray *files, const RelayFilelogCheckpoint *cp, gboolean have_cp, RelayDump *dump)
{
  for (guint i = 0; i < files->len; i++)
    {
      const RelayFilelogSegmentFile *file = &g_array_index(files, RelayFilelogSegmentFile, i);
      gboolean replay = !have_cp || file->id >= cp->log_seg;
      guint64 from = have_cp && file->id == cp->log_seg ? cp->log_off : 0;
      RelayFilelogScanResult res;
      GError *error = NULL;
      RelayDump counts = { dump->live, 0, 0, 0 };

      RelayFilelogScanFns fns = { replay ? _on_record : NULL, NULL, &counts, i + 1 < files->len };
      if (!relay_filelog_segment_scan(file->path, file->id, replay ? from : 0, &fns, &res, &error))
        {
          printf("segment %" G_GUINT64_FORMAT " %s: %s\n", file->id, file->path, error->message);
          g_error_free(error);
          continue;
        }
      printf("segment %" G_GUINT64_FORMAT " %s size=%" G_GUINT64_FORMAT " end=%" G_GUINT64_FORMAT
             " garbage=%" G_GUINT64_FORMAT " damaged=%" G_GUINT64_FORMAT " damaged_bytes=%" G_GUINT64_FORMAT
             "%s",
             file->id, file->path, res.size, res.end, res.garbage, res.damaged, res.damaged_bytes,
             res.bad_header ? " BAD-HEADER" : "");
      if (replay)
        printf(" replayed: records=%" G_GUINT64_FORMAT " puts=%" G_GUINT64_FORMAT " takes=%" G_GUINT64_FORMAT
               "\n",
               counts.records, counts.puts, counts.takes);
      else
        printf(" (before the checkpoint)\n");
      dump->records += counts.records;
      dump->puts += counts.puts;
      dump->takes += counts.takes;
    }
}

int
main(int argc, char **argv)
{
  if (argc != 3)
    {
      fprintf(stderr, "usage: %s CHECKPOINT_DIR DATA_DIR[,DATA_DIR...]\n", argv[0]);
      return 2;
    }
  char **dirs = g_strsplit(argv[2], ",", -1);
  GError *error = NULL;
  GArray *files = relay_filelog_list_segments(dirs, &error);
  if (!files)
    {
      fprintf(stderr, "%s\n", error->message);
      g_error_free(error);
      g_strfreev(dirs);
      return 1;
    }

  RelayFilelogCheckpoint cp = { 0, 0, 0, NULL };
  RelayDump dump = { g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL), 0, 0, 0 };
  gboolean have_cp = _print_checkpoint(argv[1], &cp);
  for (guint i = 0; have_cp && i < cp.entries->len; i++)
    g_hash_table_add(dump.live,
                     g_memdup2(&g_array_index(cp.entries, RelayFilelogLocation, i).seq, sizeof(guint64)));
  _dump_segments(files, &cp, have_cp, &dump);
  printf("pending events: %u\n", g_hash_table_size(dump.live));

  g_hash_table_destroy(dump.live);
  relay_filelog_checkpoint_clear(&cp);
  relay_filelog_segment_files_free(files);
  g_strfreev(dirs);
  return 0;
}
