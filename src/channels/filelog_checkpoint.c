/* filelog_checkpoint.c - the file channel's checkpoint file: the queue's event locations at a log position.
 *
 * Layout (little-endian; see also channel_file.c): a 64-byte header (magic "RLYFCCKP", version, header
 * size, next sequence number, replay segment and offset, entry count, time written, entry size, CRC-32C of
 * the first 60 bytes), then count entries of 24 bytes (seq u64, segment u64, offset u32, length u32) sorted
 * by seq, then a trailer (CRC-32C of the entries, "CKPE"). It is written to checkpoint.tmp, fdatasync'ed,
 * renamed over checkpoint and the directory fsync'ed, so a crash leaves either the old or the new one.
 * Reading maps the file and validates every field before copying anything. Any thread; no shared state. */
#include "filelog.h"
#include "le_bytes.h"

#include "crc32c.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define RELAY_CHECKPOINT_HEADER 64
#define RELAY_CHECKPOINT_ENTRY 24
#define RELAY_CHECKPOINT_TRAILER 8
#define RELAY_CHECKPOINT_END_MAGIC 0x45504B43u /* "CKPE" */
#define RELAY_CHECKPOINT_CHUNK (64 * 1024)
static const guint8 _checkpoint_magic[8] = { 'R', 'L', 'Y', 'F', 'C', 'C', 'K', 'P' };

/* ---- write ---- */

static void
_encode_header(guint8 *out, const RelayFilelogCheckpoint *cp)
{
  memset(out, 0, RELAY_CHECKPOINT_HEADER);
  memcpy(out, _checkpoint_magic, sizeof _checkpoint_magic);
  relay_le_put32(out + 8, RELAY_FILELOG_VERSION);
  relay_le_put32(out + 12, RELAY_CHECKPOINT_HEADER);
  relay_le_put64(out + 16, cp->next_seq);
  relay_le_put64(out + 24, cp->log_seg);
  relay_le_put64(out + 32, cp->log_off);
  relay_le_put64(out + 40, cp->entries->len);
  relay_le_put64(out + 48, (guint64)g_get_real_time());
  relay_le_put32(out + 56, RELAY_CHECKPOINT_ENTRY);
  relay_le_put32(out + 60, relay_crc32c(0, out, 60));
}

/* Writes the entries in chunks and the trailer from offset RELAY_CHECKPOINT_HEADER. */
static gboolean
_write_entries(int fd, const GArray *entries)
{
  guint8 *buf = g_malloc(RELAY_CHECKPOINT_CHUNK);
  guint64 off = RELAY_CHECKPOINT_HEADER;
  guint32 crc = 0;
  gsize fill = 0;
  gboolean ok = TRUE;

  for (guint i = 0; ok && i <= entries->len; i++)
    {
      if (fill + RELAY_CHECKPOINT_ENTRY > RELAY_CHECKPOINT_CHUNK || (i == entries->len && fill))
        {
          crc = relay_crc32c(crc, buf, fill);
          ok = relay_filelog_pwrite_all(fd, buf, fill, off);
          off += fill;
          fill = 0;
        }
      if (i == entries->len)
        break;
      const RelayFilelogLocation *e = &g_array_index(entries, RelayFilelogLocation, i);
      relay_le_put64(buf + fill, e->seq);
      relay_le_put64(buf + fill + 8, e->seg);
      relay_le_put32(buf + fill + 16, e->off);
      relay_le_put32(buf + fill + 20, e->len);
      fill += RELAY_CHECKPOINT_ENTRY;
    }
  relay_le_put32(buf, crc);
  relay_le_put32(buf + 4, RELAY_CHECKPOINT_END_MAGIC);
  ok = ok && relay_filelog_pwrite_all(fd, buf, RELAY_CHECKPOINT_TRAILER, off);
  g_free(buf);
  return ok;
}

static gboolean
_write_file(const char *path, const RelayFilelogCheckpoint *cp, GError **error)
{
  guint8 header[RELAY_CHECKPOINT_HEADER];
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);

  _encode_header(header, cp);
  if (fd < 0 || !relay_filelog_pwrite_all(fd, header, sizeof header, 0) || !_write_entries(fd, cp->entries)
      || fdatasync(fd) < 0)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "write %s: %s", path, g_strerror(errno));
      if (fd >= 0)
        close(fd);
      return FALSE;
    }
  close(fd);
  return TRUE;
}

gboolean
relay_filelog_checkpoint_write(const char *dir, const RelayFilelogCheckpoint *cp, GError **error)
{
  char *tmp = g_build_filename(dir, RELAY_FILELOG_CHECKPOINT_NAME ".tmp", NULL);
  char *path = g_build_filename(dir, RELAY_FILELOG_CHECKPOINT_NAME, NULL);
  gboolean ok = _write_file(tmp, cp, error);

  if (ok && rename(tmp, path) < 0)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "rename %s: %s", tmp, g_strerror(errno));
      ok = FALSE;
    }
  if (!ok)
    unlink(tmp);
  ok = ok && relay_filelog_sync_dir(dir, error);
  g_free(tmp);
  g_free(path);
  return ok;
}

/* ---- read ---- */

static gboolean
_check_header(const guint8 *map, gsize size, guint64 *count)
{
  if (size < RELAY_CHECKPOINT_HEADER + RELAY_CHECKPOINT_TRAILER
      || memcmp(map, _checkpoint_magic, sizeof _checkpoint_magic) != 0
      || relay_le_get32(map + 60) != relay_crc32c(0, map, 60)
      || relay_le_get32(map + 8) != RELAY_FILELOG_VERSION
      || relay_le_get32(map + 12) != RELAY_CHECKPOINT_HEADER
      || relay_le_get32(map + 56) != RELAY_CHECKPOINT_ENTRY)
    return FALSE;
  *count = relay_le_get64(map + 40);
  return *count <= (size - RELAY_CHECKPOINT_HEADER - RELAY_CHECKPOINT_TRAILER) / RELAY_CHECKPOINT_ENTRY
         && size == RELAY_CHECKPOINT_HEADER + *count * RELAY_CHECKPOINT_ENTRY + RELAY_CHECKPOINT_TRAILER;
}

/* Validates the mapped file and fills cp; FALSE (nothing allocated) if anything is wrong. */
static gboolean
_parse(const guint8 *map, gsize size, RelayFilelogCheckpoint *cp)
{
  guint64 count;

  if (!_check_header(map, size, &count))
    return FALSE;
  const guint8 *entries = map + RELAY_CHECKPOINT_HEADER, *trailer = entries + count * RELAY_CHECKPOINT_ENTRY;
  if (relay_le_get32(trailer + 4) != RELAY_CHECKPOINT_END_MAGIC
      || relay_le_get32(trailer) != relay_crc32c(0, entries, count * RELAY_CHECKPOINT_ENTRY))
    return FALSE;
  cp->next_seq = relay_le_get64(map + 16);
  cp->log_seg = relay_le_get64(map + 24);
  cp->log_off = relay_le_get64(map + 32);

  GArray *out = g_array_sized_new(FALSE, FALSE, sizeof(RelayFilelogLocation), (guint)count);
  for (guint64 i = 0; i < count; i++)
    {
      const guint8 *p = entries + i * RELAY_CHECKPOINT_ENTRY;
      RelayFilelogLocation e
          = { relay_le_get64(p), relay_le_get64(p + 8), relay_le_get32(p + 16), relay_le_get32(p + 20) };
      gboolean sorted = out->len == 0 || g_array_index(out, RelayFilelogLocation, out->len - 1).seq < e.seq;
      if (!sorted || e.seq >= cp->next_seq || e.off < RELAY_FILELOG_SEGMENT_HEADER)
        {
          g_array_free(out, TRUE);
          return FALSE;
        }
      g_array_append_val(out, e);
    }
  cp->entries = out;
  return TRUE;
}

gboolean
relay_filelog_checkpoint_read(const char *dir, RelayFilelogCheckpoint *cp, GError **error)
{
  char *path = g_build_filename(dir, RELAY_FILELOG_CHECKPOINT_NAME, NULL);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  gboolean ok = FALSE;

  cp->entries = NULL;
  if (fd < 0 || fstat(fd, &st) < 0)
    {
      int err = errno;
      g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err), "%s: %s", path, g_strerror(err));
      goto out;
    }
  const guint8 *map = st.st_size > 0 ? mmap(NULL, (gsize)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
  if (map == MAP_FAILED)
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: mmap: %s", path, g_strerror(errno));
  else if (!map || !_parse(map, (gsize)st.st_size, cp))
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: not a valid checkpoint", path);
  else
    ok = TRUE;
  if (map && map != MAP_FAILED)
    munmap((void *)map, (gsize)st.st_size);
out:
  if (fd >= 0)
    close(fd);
  g_free(path);
  return ok;
}

void
relay_filelog_checkpoint_clear(RelayFilelogCheckpoint *cp)
{
  if (cp->entries)
    g_array_free(cp->entries, TRUE);
  cp->entries = NULL;
}
