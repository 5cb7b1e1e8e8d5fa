/* fuzz_filelog.c - libFuzzer target: the file channel's on-disk decoders, as recovery uses them after a
 * crash (src/channels/filelog.c, filelog_checkpoint.c, the replay in channel_file_recover.c).
 *
 * Input: byte 0 = flags, bytes 1-2 = checkpoint length (little-endian, taken modulo what is left), then the
 * checkpoint file, then segment file log-0000000001. Flags ask the target to repair CRCs before writing the
 * files (bit 0 segment header, bit 1 every record and event it can walk, bit 2 checkpoint header and
 * trailer), so the fuzzer explores what lies behind the CRCs instead of stopping at them.
 *
 * Checks beyond "no crash": the segment scan (with damage skipping) reports records and damaged stretches
 * inside the file, in increasing order and without overlap; every event of a valid PUT that decodes
 * re-encodes to exactly its bytes; a checkpoint that reads back is sorted and, written again and re-read,
 * gives the same content. */
#include "fuzz_common.h"

#include "crc32c.h"
#include "filelog.h"
#include "le_bytes.h"

#include <unistd.h>

typedef struct
{
  guint64 size;
  guint64 next;   /* nothing may be reported before this offset */
  guint64 events; /* decoded */
} FuzzScan;

static void
_check_event(const guint8 *prefix, guint32 len)
{
  RelayEvent *ev = relay_filelog_event_decode(prefix, RELAY_FILELOG_EVENT_PREFIX + len);
  if (!ev)
    return;
  gsize size = relay_filelog_event_size(ev);
  FUZZ_CHECK(size == RELAY_FILELOG_EVENT_PREFIX + len);
  guint8 *out = g_malloc(size);
  FUZZ_CHECK(relay_filelog_event_encode(out, ev, size) == out + size);
  FUZZ_CHECK(memcmp(out, prefix, size) == 0);
  g_free(out);
  relay_event_unref(ev);
}

static gboolean
_on_record(const RelayFilelogRecord *rec, guint64 seg, guint32 offset, gpointer data)
{
  FuzzScan *s = data;
  gsize cursor = 0;
  guint32 rel_off, len;

  /* where the payload lies in the file (for an event salvaged from a damaged record, the event itself) */
  guint64 at = (guint64)offset + RELAY_FILELOG_RECORD_HEADER;
  FUZZ_CHECK(seg == 1 && at >= s->next && at + rec->payload_len <= s->size);
  s->next = at + rec->payload_len;
  if (rec->type == RELAY_FILELOG_TAKE)
    {
      for (guint32 i = 0; i < rec->count; i++)
        {
          guint64 first;
          guint32 n;
          relay_filelog_take_run(rec, i, &first, &n);
        }
      return TRUE;
    }
  while (relay_filelog_put_next(rec, &cursor, &rel_off, &len))
    {
      _check_event(rec->payload + rel_off, len);
      s->events++;
    }
  FUZZ_CHECK(cursor == rec->payload_len);
  return TRUE;
}

static void
_on_damage(const RelayFilelogDamage *d, guint64 seg, gpointer data)
{
  FuzzScan *s = data;

  FUZZ_CHECK(seg == 1 && d->length > 0 && d->offset + d->length <= s->size);
  /* salvaged events of this stretch were reported just before, inside it */
  FUZZ_CHECK(d->offset + d->length >= s->next);
  FUZZ_CHECK(!d->has_header || d->type != RELAY_FILELOG_PUT || d->events_lost <= d->count);
  s->next = d->offset + d->length;
}

/* ---- CRC repair, so the fuzzer gets past the checksums ---- */

static void
_fix_records(guint8 *seg, gsize size)
{
  for (gsize off = RELAY_FILELOG_SEGMENT_HEADER; off + RELAY_FILELOG_RECORD_HEADER <= size;)
    {
      guint8 *h = seg + off, *payload = h + RELAY_FILELOG_RECORD_HEADER;
      guint32 plen = relay_le_get32(h + 8);
      if (relay_le_get32(h) != 0x52434652u || plen > size - off - RELAY_FILELOG_RECORD_HEADER)
        return;
      for (gsize p = 0; h[4] == RELAY_FILELOG_PUT && plen - p >= RELAY_FILELOG_EVENT_PREFIX;)
        {
          guint32 elen = relay_le_get32(payload + p);
          if (elen > plen - p - RELAY_FILELOG_EVENT_PREFIX)
            break;
          relay_le_put32(payload + p + 4, relay_crc32c(0, payload + p + RELAY_FILELOG_EVENT_PREFIX, elen));
          p += RELAY_FILELOG_EVENT_PREFIX + elen;
        }
      relay_le_put32(h + 12, relay_crc32c(0, payload, plen));
      relay_le_put32(h + 28, relay_crc32c(0, h, 28));
      off += RELAY_FILELOG_RECORD_HEADER + plen;
    }
}

static void
_fix_checkpoint(guint8 *cp, gsize size)
{
  if (size < 64 + 8)
    return;
  relay_le_put32(cp + 60, relay_crc32c(0, cp, 60));
  relay_le_put32(cp + size - 8, relay_crc32c(0, cp + 64, size - 72));
}

/* ---- files ---- */

static const char *
_dir(void)
{
  static char *dir;
  if (!dir)
    {
      const char *base = g_file_test("/dev/shm", G_FILE_TEST_IS_DIR) ? "/dev/shm" : g_get_tmp_dir();
      dir = g_strdup_printf("%s/relay-fuzz-filelog-%d", base, (int)getpid());
      g_mkdir_with_parents(dir, 0700);
    }
  return dir;
}

static void
_check_checkpoint(const char *dir)
{
  RelayFilelogCheckpoint cp = { 0, 0, 0, NULL }, again = { 0, 0, 0, NULL };

  if (!relay_filelog_checkpoint_read(dir, &cp, NULL))
    {
      FUZZ_CHECK(cp.entries == NULL);
      return;
    }
  for (guint i = 1; i < cp.entries->len; i++)
    FUZZ_CHECK(g_array_index(cp.entries, RelayFilelogLocation, i - 1).seq
               < g_array_index(cp.entries, RelayFilelogLocation, i).seq);
  char *copy = g_build_filename(dir, "copy", NULL);
  g_mkdir_with_parents(copy, 0700);
  FUZZ_CHECK(relay_filelog_checkpoint_write(copy, &cp, NULL));
  FUZZ_CHECK(relay_filelog_checkpoint_read(copy, &again, NULL));
  FUZZ_CHECK(again.next_seq == cp.next_seq && again.log_seg == cp.log_seg && again.log_off == cp.log_off);
  FUZZ_CHECK(again.entries->len == cp.entries->len);
  FUZZ_CHECK(cp.entries->len == 0
             || memcmp(again.entries->data, cp.entries->data, cp.entries->len * sizeof(RelayFilelogLocation))
                    == 0);
  relay_filelog_checkpoint_clear(&again);
  relay_filelog_checkpoint_clear(&cp);
  g_free(copy);
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  fuzz_init_once();
  if (size < 3)
    return 0;
  guint8 flags = data[0];
  gsize rest = size - 3, cp_len = rest ? (gsize)(data[1] | data[2] << 8) % (rest + 1) : 0;
  guint8 *cp = g_malloc(cp_len + 1), *seg = g_malloc(rest - cp_len + 1); /* never NULL, even if empty */
  gsize seg_len = rest - cp_len;
  memcpy(cp, data + 3, cp_len);
  memcpy(seg, data + 3 + cp_len, seg_len);
  const char *dir = _dir();
  char *cp_path = g_build_filename(dir, RELAY_FILELOG_CHECKPOINT_NAME, NULL);
  char *seg_path = g_build_filename(dir, "log-0000000001", NULL);

  if ((flags & 1) && seg_len >= RELAY_FILELOG_SEGMENT_HEADER)
    relay_le_put32(seg + 60, relay_crc32c(0, seg, 60));
  if (flags & 2)
    _fix_records(seg, seg_len);
  if (flags & 4)
    _fix_checkpoint(cp, cp_len);
  FUZZ_CHECK(g_file_set_contents(cp_path, (const char *)cp, (gssize)cp_len, NULL));
  FUZZ_CHECK(g_file_set_contents(seg_path, (const char *)seg, (gssize)seg_len, NULL));

  _check_checkpoint(dir);
  FuzzScan s = { seg_len, RELAY_FILELOG_SEGMENT_HEADER, 0 };
  RelayFilelogScanFns fns = { _on_record, _on_damage, &s, (flags & 8) != 0 };
  RelayFilelogScanResult res;
  guint64 from = (flags & 16) && seg_len > 64 ? 64 + data[1] % (seg_len - 64) : 0;
  s.next = MAX(from, (guint64)RELAY_FILELOG_SEGMENT_HEADER);
  gboolean ok = relay_filelog_segment_scan(seg_path, 1, from, &fns, &res, NULL);
  FUZZ_CHECK(ok || from > seg_len);
  FUZZ_CHECK(res.size == seg_len && res.damaged_bytes <= seg_len);
  FUZZ_CHECK(seg_len < RELAY_FILELOG_SEGMENT_HEADER || res.end <= seg_len);
  FUZZ_CHECK(res.garbage <= seg_len);

  g_free(cp);
  g_free(seg);
  g_free(cp_path);
  g_free(seg_path);
  return 0;
}
