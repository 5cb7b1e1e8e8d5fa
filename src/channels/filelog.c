/* filelog.c - encoding, decoding and validation of the file channel's segments, records and events.
 *
 * Layouts are documented at the top of channel_file.c; the offsets below follow them. Decoders treat the
 * disk as hostile: every length is checked against the bytes available before use, counts are bounded by
 * the payload size before anything is allocated, and each record carries two CRC-32C (header, payload).
 * Segment scans map the file read-only and never write. No shared state: any thread may call these. */
#include "filelog.h"
#include "le_bytes.h"

#include "crc32c.h"
#include "event.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define RELAY_FILELOG_RECORD_MAGIC 0x52434652u /* "RFCR" */
static const guint8 _segment_magic[8] = { 'R', 'L', 'Y', 'F', 'C', 'L', 'O', 'G' };

static gboolean
_all_zero(const guint8 *data, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (data[i])
      return FALSE;
  return TRUE;
}

/* ---- records ---- */

void
relay_filelog_record_header_encode(guint8 *out, const RelayFilelogRecord *rec)
{
  relay_le_put32(out, RELAY_FILELOG_RECORD_MAGIC);
  out[4] = (guint8)rec->type;
  out[5] = 0;
  out[6] = 0;
  out[7] = 0;
  relay_le_put32(out + 8, rec->payload_len);
  relay_le_put32(out + 12, rec->payload_crc);
  relay_le_put64(out + 16, rec->first_seq);
  relay_le_put32(out + 24, rec->count);
  relay_le_put32(out + 28, relay_crc32c(0, out, 28));
}

/* Checks that the payload holds exactly count well-formed entries of the record's type. */
static gboolean
_payload_is_well_formed(const RelayFilelogRecord *rec)
{
  if (rec->type == RELAY_FILELOG_TAKE)
    return (guint64)rec->count * RELAY_FILELOG_TAKE_RUN == rec->payload_len;
  if ((guint64)rec->count * RELAY_FILELOG_EVENT_PREFIX > rec->payload_len)
    return FALSE;

  gsize cursor = 0;
  guint32 rel_off, len, n = 0;
  while (relay_filelog_put_next(rec, &cursor, &rel_off, &len))
    n++;
  return n == rec->count && cursor == rec->payload_len;
}

/* Decodes an intact record header at data (avail bytes): magic, header CRC, known type, zero padding, and
 * a payload length that fits in avail. The payload itself is not looked at. */
static gboolean
_header_decode(const guint8 *data, gsize avail, RelayFilelogRecord *rec)
{
  if (avail < RELAY_FILELOG_RECORD_HEADER || relay_le_get32(data) != RELAY_FILELOG_RECORD_MAGIC
      || relay_le_get32(data + 28) != relay_crc32c(0, data, 28))
    return FALSE;
  rec->type = data[4];
  rec->payload_len = relay_le_get32(data + 8);
  rec->payload_crc = relay_le_get32(data + 12);
  rec->first_seq = relay_le_get64(data + 16);
  rec->count = relay_le_get32(data + 24);
  rec->payload = data + RELAY_FILELOG_RECORD_HEADER;
  if ((rec->type != RELAY_FILELOG_PUT && rec->type != RELAY_FILELOG_TAKE) || data[5] || data[6] || data[7])
    return FALSE;
  return rec->payload_len <= avail - RELAY_FILELOG_RECORD_HEADER;
}

RelayFilelogRecStatus
relay_filelog_record_parse(const guint8 *data, gsize avail, RelayFilelogRecord *rec)
{
  if (avail < RELAY_FILELOG_RECORD_HEADER)
    return _all_zero(data, avail) ? RELAY_FILELOG_REC_END : RELAY_FILELOG_REC_BAD;
  if (relay_le_get32(data) != RELAY_FILELOG_RECORD_MAGIC)
    return _all_zero(data, RELAY_FILELOG_RECORD_HEADER) ? RELAY_FILELOG_REC_END : RELAY_FILELOG_REC_BAD;
  if (!_header_decode(data, avail, rec))
    return RELAY_FILELOG_REC_BAD;
  if (relay_crc32c(0, rec->payload, rec->payload_len) != rec->payload_crc)
    return RELAY_FILELOG_REC_BAD;
  return _payload_is_well_formed(rec) ? RELAY_FILELOG_REC_OK : RELAY_FILELOG_REC_BAD;
}

/* ---- events ---- */

gsize
relay_filelog_event_size(const RelayEvent *ev)
{
  gsize size = RELAY_FILELOG_EVENT_PREFIX + 4 + 4 + ev->body_len;

  for (guint32 i = 0; i < ev->n_headers; i++)
    size += 8 + (gsize)ev->headers[i].key_len + ev->headers[i].value_len;
  return size;
}

guint8 *
relay_filelog_event_encode(guint8 *out, const RelayEvent *ev, gsize size)
{
  guint8 *p = out + RELAY_FILELOG_EVENT_PREFIX;

  relay_le_put32(p, ev->n_headers);
  p += 4;
  for (guint32 i = 0; i < ev->n_headers; i++)
    {
      const RelayHeader *h = &ev->headers[i];
      relay_le_put32(p, h->key_len);
      relay_le_put32(p + 4, h->value_len);
      memcpy(p + 8, h->key, h->key_len);
      memcpy(p + 8 + h->key_len, h->value, h->value_len);
      p += 8 + h->key_len + h->value_len;
    }
  relay_le_put32(p, ev->body_len);
  memcpy(p + 4, ev->body, ev->body_len);
  gsize len = size - RELAY_FILELOG_EVENT_PREFIX;
  relay_le_put32(out, (guint32)len);
  relay_le_put32(out + 4, relay_crc32c(0, out + RELAY_FILELOG_EVENT_PREFIX, len));
  return out + size;
}

/* Fills headers (n entries) with slices of the encoding; returns the offset of the body length or 0. */
static gsize
_decode_headers(const guint8 *enc, gsize len, RelayHeader *headers, guint32 n)
{
  gsize pos = 4;

  for (guint32 i = 0; i < n; i++)
    {
      if (len - pos < 8)
        return 0;
      guint32 klen = relay_le_get32(enc + pos), vlen = relay_le_get32(enc + pos + 4);
      pos += 8;
      if (klen > len - pos || vlen > len - pos - klen)
        return 0;
      headers[i] = (RelayHeader){ (const char *)enc + pos, (const char *)enc + pos + klen, klen, vlen };
      pos += (gsize)klen + vlen;
    }
  return len - pos >= 4 ? pos : 0;
}

RelayEvent *
relay_filelog_event_decode(const guint8 *data, gsize avail)
{
  if (avail < RELAY_FILELOG_EVENT_PREFIX + 8)
    return NULL;
  gsize len = relay_le_get32(data);
  const guint8 *enc = data + RELAY_FILELOG_EVENT_PREFIX;
  if (len < 8 || len > avail - RELAY_FILELOG_EVENT_PREFIX
      || relay_crc32c(0, enc, len) != relay_le_get32(data + 4))
    return NULL;

  guint32 n = relay_le_get32(enc);
  if (n > RELAY_EVENT_MAX_HEADERS || (gsize)n * 8 > len - 8)
    return NULL;
  RelayHeader stack[16];
  RelayHeader *headers = n <= G_N_ELEMENTS(stack) ? stack : g_new(RelayHeader, n);
  RelayEvent *ev = NULL;
  gsize pos = _decode_headers(enc, len, headers, n);
  if (pos)
    {
      guint32 body_len = relay_le_get32(enc + pos);
      if (body_len <= RELAY_EVENT_MAX_BODY && body_len == len - pos - 4)
        ev = relay_event_new(headers, n, enc + pos + 4, body_len);
    }
  if (headers != stack)
    g_free(headers);
  return ev;
}

gboolean
relay_filelog_put_next(const RelayFilelogRecord *rec, gsize *cursor, guint32 *rel_off, guint32 *len)
{
  gsize pos = *cursor;

  if (rec->payload_len - pos < RELAY_FILELOG_EVENT_PREFIX)
    return FALSE;
  guint32 event_len = relay_le_get32(rec->payload + pos);
  if (event_len > rec->payload_len - pos - RELAY_FILELOG_EVENT_PREFIX)
    return FALSE;
  *rel_off = (guint32)pos;
  *len = event_len;
  *cursor = pos + RELAY_FILELOG_EVENT_PREFIX + event_len;
  return TRUE;
}

/* ---- takes ---- */

guint8 *
relay_filelog_take_run_encode(guint8 *out, guint64 first_seq, guint32 n)
{
  relay_le_put64(out, first_seq);
  relay_le_put32(out + 8, n);
  return out + RELAY_FILELOG_TAKE_RUN;
}

void
relay_filelog_take_run(const RelayFilelogRecord *rec, guint32 i, guint64 *first_seq, guint32 *n)
{
  const guint8 *p = rec->payload + (gsize)i * RELAY_FILELOG_TAKE_RUN;
  *first_seq = relay_le_get64(p);
  *n = relay_le_get32(p + 8);
}

/* ---- segments ---- */

char *
relay_filelog_segment_name(guint64 id)
{
  return g_strdup_printf("log-%010" G_GUINT64_FORMAT, id);
}

gboolean
relay_filelog_segment_parse_name(const char *name, guint64 *id)
{
  if (!g_str_has_prefix(name, "log-") || !g_ascii_isdigit(name[4]) || strlen(name) > 24)
    return FALSE;
  for (const char *p = name + 4; *p; p++)
    if (!g_ascii_isdigit(*p))
      return FALSE;
  *id = g_ascii_strtoull(name + 4, NULL, 10);
  return TRUE;
}

void
relay_filelog_segment_header_encode(guint8 *out, guint64 id)
{
  memset(out, 0, RELAY_FILELOG_SEGMENT_HEADER);
  memcpy(out, _segment_magic, sizeof _segment_magic);
  relay_le_put32(out + 8, RELAY_FILELOG_VERSION);
  relay_le_put32(out + 12, RELAY_FILELOG_SEGMENT_HEADER);
  relay_le_put64(out + 16, id);
  relay_le_put64(out + 24, (guint64)g_get_real_time());
  relay_le_put32(out + 60, relay_crc32c(0, out, 60));
}

gboolean
relay_filelog_segment_header_check(const guint8 *data, gsize len, guint64 id)
{
  return len >= RELAY_FILELOG_SEGMENT_HEADER && memcmp(data, _segment_magic, sizeof _segment_magic) == 0
         && relay_le_get32(data + 8) == RELAY_FILELOG_VERSION
         && relay_le_get32(data + 12) == RELAY_FILELOG_SEGMENT_HEADER && relay_le_get64(data + 16) == id
         && relay_le_get32(data + 60) == relay_crc32c(0, data, 60);
}

static gint
_compare_segment_files(gconstpointer a, gconstpointer b)
{
  guint64 x = ((const RelayFilelogSegmentFile *)a)->id, y = ((const RelayFilelogSegmentFile *)b)->id;
  return x < y ? -1 : x > y;
}

static gboolean
_list_dir(const char *dir, GArray *files, GError **error)
{
  GDir *d = g_dir_open(dir, 0, error);
  const char *name;
  guint64 id;

  if (!d)
    return FALSE;
  while ((name = g_dir_read_name(d)) != NULL)
    if (relay_filelog_segment_parse_name(name, &id))
      {
        RelayFilelogSegmentFile file = { id, g_build_filename(dir, name, NULL) };
        g_array_append_val(files, file);
      }
  g_dir_close(d);
  return TRUE;
}

GArray *
relay_filelog_list_segments(char **dirs, GError **error)
{
  GArray *files = g_array_new(FALSE, FALSE, sizeof(RelayFilelogSegmentFile));

  for (guint i = 0; dirs[i]; i++)
    if (!_list_dir(dirs[i], files, error))
      goto fail;
  g_array_sort(files, _compare_segment_files);
  for (guint i = 1; i < files->len; i++)
    {
      RelayFilelogSegmentFile *prev = &g_array_index(files, RelayFilelogSegmentFile, i - 1);
      RelayFilelogSegmentFile *cur = &g_array_index(files, RelayFilelogSegmentFile, i);
      if (prev->id == cur->id)
        {
          g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO,
                      "segment %" G_GUINT64_FORMAT " exists twice: %s and %s", cur->id, prev->path,
                      cur->path);
          goto fail;
        }
    }
  return files;
fail:
  relay_filelog_segment_files_free(files);
  return NULL;
}

void
relay_filelog_segment_files_free(GArray *files)
{
  if (!files)
    return;
  for (guint i = 0; i < files->len; i++)
    g_free(g_array_index(files, RelayFilelogSegmentFile, i).path);
  g_array_free(files, TRUE);
}

/* Non-zero bytes from `from` to the last non-zero byte of data. */
static guint64
_garbage_after(const guint8 *data, guint64 size, guint64 from)
{
  for (guint64 i = size; i > from; i--)
    if (data[i - 1])
      return i - from;
  return 0;
}

/* Offset of the next intact record header at or after from, or size when there is none. */
static guint64
_next_header(const guint8 *map, guint64 size, guint64 from)
{
  static const guint8 magic[4] = { 0x52, 0x46, 0x43, 0x52 }; /* RELAY_FILELOG_RECORD_MAGIC, little-endian */
  RelayFilelogRecord rec;

  while (from + RELAY_FILELOG_RECORD_HEADER <= size)
    {
      const guint8 *hit = memmem(map + from, (gsize)(size - from), magic, sizeof magic);
      if (!hit)
        break;
      from = (guint64)(hit - map);
      if (_header_decode(hit, (gsize)(size - from), &rec))
        return from;
      from++;
    }
  return size;
}

/* A PUT record with an intact header but a damaged payload (at off): passes each event that still checks
 * (its own CRC and structure) to fns->record as a one-event record; returns the number of events lost (all
 * of them when the payload can no longer be split into count events). */
static guint32
_salvage_put(const RelayFilelogRecord *rec, guint64 id, guint64 off, const RelayFilelogScanFns *fns,
             gboolean *stopped)
{
  gsize cursor = 0;
  guint32 rel_off, len, n = 0, lost = 0;

  if ((guint64)rec->count * RELAY_FILELOG_EVENT_PREFIX > rec->payload_len)
    return rec->count;
  while (relay_filelog_put_next(rec, &cursor, &rel_off, &len))
    n++;
  if (n != rec->count || cursor != rec->payload_len)
    return rec->count;
  cursor = 0;
  for (guint32 i = 0; relay_filelog_put_next(rec, &cursor, &rel_off, &len); i++)
    {
      RelayEvent *ev = relay_filelog_event_decode(rec->payload + rel_off, RELAY_FILELOG_EVENT_PREFIX + len);
      if (!ev)
        {
          lost++;
          continue;
        }
      relay_event_unref(ev);
      RelayFilelogRecord one
          = { RELAY_FILELOG_PUT,     1, RELAY_FILELOG_EVENT_PREFIX + len, 0, rec->first_seq + i,
              rec->payload + rel_off };
      if (fns->record && !fns->record(&one, id, (guint32)(off + rel_off), fns->user_data))
        {
          *stopped = TRUE;
          break;
        }
    }
  return lost;
}

/* Handles the damage found at off: where the next record to look at starts (*next), reporting the damaged
 * stretch. FALSE when no valid record header follows and the rest is a torn tail (last segment) or garbage
 * (the caller measures it). */
static gboolean
_skip_damage(const guint8 *map, guint64 size, guint64 id, guint64 off, const RelayFilelogScanFns *fns,
             RelayFilelogScanResult *result, gboolean *stopped, guint64 *next)
{
  RelayFilelogRecord rec;
  RelayFilelogDamage d = { off, 0, FALSE, 0, 0, 0, 0 };
  d.has_header = _header_decode(map + off, (gsize)(size - off), &rec);
  guint64 after = d.has_header ? off + RELAY_FILELOG_RECORD_HEADER + rec.payload_len : off + 1;
  guint64 resume = _next_header(map, size, after);

  if (resume >= size && (!fns->sealed || !d.has_header))
    return FALSE;
  if (d.has_header)
    {
      d.type = rec.type;
      d.first_seq = rec.first_seq;
      d.count = rec.count;
      if (rec.type == RELAY_FILELOG_PUT)
        d.events_lost = _salvage_put(&rec, id, off, fns, stopped);
      resume = after;
      result->end = after;
    }
  d.length = resume - off;
  result->damaged++;
  result->damaged_bytes += d.length;
  if (fns->damage)
    fns->damage(&d, id, fns->user_data);
  *next = resume;
  return !*stopped;
}

static void
_scan_records(const guint8 *map, guint64 size, guint64 id, guint64 from, const RelayFilelogScanFns *fns,
              RelayFilelogScanResult *result, gboolean *stopped)
{
  RelayFilelogRecord rec;
  guint64 off = from;

  result->end = off;
  while (off < size)
    {
      RelayFilelogRecStatus status = relay_filelog_record_parse(map + off, (gsize)(size - off), &rec);
      if (status == RELAY_FILELOG_REC_OK)
        {
          if (fns->record && !fns->record(&rec, id, (guint32)off, fns->user_data))
            {
              *stopped = TRUE;
              break;
            }
          result->records++;
          off += RELAY_FILELOG_RECORD_HEADER + (guint64)rec.payload_len;
          result->end = off;
          continue;
        }
      if (status == RELAY_FILELOG_REC_END && _garbage_after(map, size, off) == 0)
        break;
      if (!_skip_damage(map, size, id, off, fns, result, stopped, &off))
        break;
    }
  result->garbage = _garbage_after(map, size, result->end);
}

gboolean
relay_filelog_segment_scan(const char *path, guint64 id, guint64 from, const RelayFilelogScanFns *fns,
                           RelayFilelogScanResult *result, GError **error)
{
  static const RelayFilelogScanFns none = { NULL, NULL, NULL, FALSE };
  struct stat st;
  int fd = open(path, O_RDONLY | O_CLOEXEC);

  memset(result, 0, sizeof *result);
  fns = fns ? fns : &none;
  if (fd < 0 || fstat(fd, &st) < 0)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "%s: %s", path, g_strerror(errno));
      if (fd >= 0)
        close(fd);
      return FALSE;
    }
  result->size = (guint64)st.st_size;
  from = MAX(from, (guint64)RELAY_FILELOG_SEGMENT_HEADER);
  const guint8 *map = st.st_size > 0 ? mmap(NULL, (gsize)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
  close(fd);
  if (map == MAP_FAILED)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "%s: mmap: %s", path, g_strerror(errno));
      return FALSE;
    }

  gboolean stopped = FALSE;
  /* A damaged header does not make the records behind it unreadable: the id comes from the file name. */
  result->bad_header = !map || !relay_filelog_segment_header_check(map, result->size, id);
  if (from > result->size)
    {
      if (!result->bad_header)
        g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO,
                    "%s: offset %" G_GUINT64_FORMAT " is beyond the end (%" G_GUINT64_FORMAT ")", path, from,
                    result->size);
    }
  else
    _scan_records(map, result->size, id, from, fns, result, &stopped);
  if (stopped)
    g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "%s: replay stopped", path);
  if (map)
    munmap((void *)map, (gsize)st.st_size);
  return !stopped && !(error && *error);
}

/* ---- filesystem helpers ---- */

gboolean
relay_filelog_sync_dir(const char *dir, GError **error)
{
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0 || fsync(fd) < 0)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "fsync directory %s: %s", dir, g_strerror(errno));
      if (fd >= 0)
        close(fd);
      return FALSE;
    }
  close(fd);
  return TRUE;
}

gboolean
relay_filelog_mkdirs(const char *dir, GError **error)
{
  if (g_file_test(dir, G_FILE_TEST_IS_DIR))
    return TRUE;

  char *parent = g_path_get_dirname(dir);
  gboolean ok = strcmp(parent, dir) != 0 && relay_filelog_mkdirs(parent, error);
  if (ok && mkdir(dir, 0750) < 0 && errno != EEXIST)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "mkdir %s: %s", dir, g_strerror(errno));
      ok = FALSE;
    }
  ok = ok && relay_filelog_sync_dir(parent, error);
  g_free(parent);
  return ok;
}

int
relay_filelog_lock_dir(const char *dir, GError **error)
{
  if (!relay_filelog_mkdirs(dir, error))
    return -1;
  char *path = g_build_filename(dir, RELAY_FILELOG_LOCK_NAME, NULL);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);

  if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
    {
      int err = errno;
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "%s: %s", path,
                  err == EWOULDBLOCK ? "directory is in use by another channel or process" : g_strerror(err));
      if (fd >= 0)
        close(fd);
      g_free(path);
      return -1;
    }
  /* The pid is informational; the lock is what matters. Fixed width, written over the old one before the
   * file is cut to it, so that a kill at any point leaves either nothing (a new file) or digits and a
   * newline: what filelog_foreign.c recognises as relayd's. */
  char pid[32];
  int n = g_snprintf(pid, sizeof pid, "%010d\n", (int)getpid());
  if (relay_filelog_pwrite_all(fd, pid, (gsize)n, 0) && ftruncate(fd, n) != 0)
    g_debug("%s: cannot trim the lock file: %s", path, g_strerror(errno));
  g_free(path);
  return fd;
}

void
relay_filelog_unlock_dir(int fd)
{
  if (fd >= 0)
    close(fd); /* releases the flock */
}

gboolean
relay_filelog_pwrite_all(int fd, const void *data, gsize len, guint64 offset)
{
  const guint8 *p = data;

  while (len > 0)
    {
      ssize_t n = pwrite(fd, p, len, (off_t)offset);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          if (n == 0)
            errno = EIO;
          return FALSE;
        }
      p += n;
      len -= (gsize)n;
      offset += (guint64)n;
    }
  return TRUE;
}
