/* test_channel_file.c - unit tests for the file channel: CRC-32C, record/event/checkpoint formats, commit
 * durability across restarts, full replay, torn tails (every truncation point of a small log), corrupt
 * records, capacities, directory locks, configuration, and disk errors injected by link-time wrapping of
 * pwritev, fdatasync and fstatvfs (see the test's LDFLAGS in Makefile.am).
 *
 * A "crash" is simulated by copying the channel's directories while it runs: every commit that returned
 * is on disk, nothing is checkpointed on close, and a new channel is started on the copy. Directories are
 * created under /dev/shm when it exists, so the many fsyncs stay cheap. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "channel.h"
#include "component.h"
#include "crc32c.h"
#include "event.h"
#include "filelog.h"
#include "log.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>

extern const RelayComponentClass relay_channel_file_class;

/* ---- failure injection (link-time wrapping) ---- */

static gint _fail_writes; /* next N pwritev calls fail with _fail_errno */
static gint _fail_errno = EIO;
static gint _short_writes;  /* next N pwritev calls write only half of the first buffer */
static gint _writes;        /* pwritev calls */
static gint _fail_syncs;    /* next N fdatasync calls fail with EIO */
static gint _syncs;         /* fdatasync calls */
static gint _sync_delay_us; /* each fdatasync sleeps this long (to make groups form) */
static gint _low_space;     /* fstatvfs reports no free space */

ssize_t __real_pwritev(int fd, const struct iovec *iov, int n, off_t off);
ssize_t __wrap_pwritev(int fd, const struct iovec *iov, int n, off_t off);
int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);
int __real_fstatvfs(int fd, struct statvfs *st);
int __wrap_fstatvfs(int fd, struct statvfs *st);

static gboolean
_consume(gint *counter)
{
  gint v;
  do
    {
      v = g_atomic_int_get(counter);
      if (v <= 0)
        return FALSE;
    }
  while (!g_atomic_int_compare_and_exchange(counter, v, v - 1));
  return TRUE;
}

ssize_t
__wrap_pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
  g_atomic_int_inc(&_writes);
  if (_consume(&_fail_writes))
    {
      errno = g_atomic_int_get(&_fail_errno);
      return -1;
    }
  if (n > 0 && iov[0].iov_len > 1 && _consume(&_short_writes))
    {
      struct iovec half = { iov[0].iov_base, iov[0].iov_len / 2 };
      return __real_pwritev(fd, &half, 1, off);
    }
  return __real_pwritev(fd, iov, n, off);
}

int
__wrap_fdatasync(int fd)
{
  g_atomic_int_inc(&_syncs);
  if (g_atomic_int_get(&_sync_delay_us))
    g_usleep((gulong)g_atomic_int_get(&_sync_delay_us));
  if (_consume(&_fail_syncs))
    {
      errno = EIO;
      return -1;
    }
  return __real_fdatasync(fd);
}

int
__wrap_fstatvfs(int fd, struct statvfs *st)
{
  int r = __real_fstatvfs(fd, st);
  if (r == 0 && g_atomic_int_get(&_low_space))
    st->f_bavail = 0;
  return r;
}

/* ---- helpers ---- */

static GPtrArray *_log_lines;

static void
_capture_log(RelayLogLevel level, const char *line, gpointer user_data)
{
  (void)user_data;
  if (level <= RELAY_LOG_INFO)
    g_ptr_array_add(_log_lines, g_strdup(line));
}

static gboolean
_logged(const char *needle)
{
  for (guint i = 0; i < _log_lines->len; i++)
    if (strstr(g_ptr_array_index(_log_lines, i), needle))
      return TRUE;
  return FALSE;
}

static int
_setup(void **state)
{
  const char *base = g_file_test("/dev/shm", G_FILE_TEST_IS_DIR) ? "/dev/shm" : g_get_tmp_dir();
  char *tmpl = g_build_filename(base, "relay-fc-XXXXXX", NULL);

  *state = g_mkdtemp(tmpl);
  _log_lines = g_ptr_array_new_with_free_func(g_free);
  relay_log_set_handler(_capture_log, NULL);
  _fail_writes = _short_writes = _fail_syncs = _sync_delay_us = _low_space = 0;
  _fail_errno = EIO;
  return *state ? 0 : -1;
}

static void
_rm_rf(const char *path)
{
  GDir *dir = g_dir_open(path, 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name(dir)))
    {
      char *child = g_build_filename(path, name, NULL);
      if (g_file_test(child, G_FILE_TEST_IS_DIR))
        _rm_rf(child);
      else
        unlink(child);
      g_free(child);
    }
  if (dir)
    g_dir_close(dir);
  rmdir(path);
}

static int
_teardown(void **state)
{
  relay_log_set_handler(NULL, NULL);
  g_ptr_array_free(_log_lines, TRUE);
  _rm_rf(*state);
  g_free(*state);
  return 0;
}

/* Configures (checkpointDir root/cp, dataDirs root/data, then extra key/value pairs) and starts a channel;
 * NULL if either fails. */
static RelayChannel *
_open_kv(const char *root, const char *const *extra)
{
  char *cp = g_build_filename(root, "cp", NULL), *data = g_build_filename(root, "data", NULL);
  GPtrArray *kv = g_ptr_array_new();
  const char *const base[] = {
    "checkpointDir",        cp,       "dataDirs", data, "capacity", "1000", "transactionCapacity", "100",
    "minimumRequiredSpace", "1048576"
  };

  for (guint i = 0; i < G_N_ELEMENTS(base); i++)
    g_ptr_array_add(kv, (gpointer)base[i]);
  for (guint i = 0; extra && extra[i]; i++)
    g_ptr_array_add(kv, (gpointer)extra[i]);
  g_ptr_array_add(kv, NULL);
  RelayComponent *c = relay_component_new(&relay_channel_file_class, "fc");
  gboolean ok
      = relay_component_configure_kv(c, (const char *const *)kv->pdata) && relay_component_start(c, NULL);
  g_ptr_array_free(kv, TRUE);
  g_free(cp);
  g_free(data);
  if (!ok)
    relay_component_free(c);
  return ok ? RELAY_CHANNEL(c) : NULL;
}

static RelayChannel *
_open(const char *root)
{
  return _open_kv(root, NULL);
}

static void
_close(RelayChannel *ch)
{
  relay_component_free(RELAY_COMPONENT(ch));
}

static RelayEvent *
_event_n(guint n)
{
  char body[32];
  char value[16];
  g_snprintf(body, sizeof body, "event-%u", n);
  g_snprintf(value, sizeof value, "%u", n);
  return relay_event_new_simple(body, "n", value, "host", "h1", NULL);
}

static guint
_number(const RelayEvent *ev)
{
  const char *n = relay_event_get_header(ev, "n");
  assert_non_null(n);
  char body[32];
  g_snprintf(body, sizeof body, "event-%s", n);
  assert_int_equal(ev->body_len, strlen(body));
  assert_memory_equal(ev->body, body, ev->body_len);
  return (guint)atoi(n);
}

static RelayChannelResult
_put_range(RelayChannel *ch, guint first, guint n)
{
  RelayTxn *txn = relay_channel_begin(ch);
  for (guint i = 0; i < n; i++)
    {
      RelayEvent *ev = _event_n(first + i);
      RelayChannelResult r = relay_txn_put(txn, ev);
      relay_event_unref(ev);
      if (r != RELAY_CHANNEL_OK)
        {
          relay_txn_rollback(txn);
          relay_txn_close(txn);
          return r;
        }
    }
  RelayChannelResult result = relay_txn_commit(txn);
  if (result != RELAY_CHANNEL_OK)
    relay_txn_rollback(txn);
  relay_txn_close(txn);
  return result;
}

/* Takes up to max in one committed transaction, checking numbers first, first+1, ...; returns the count. */
static guint
_take_expect(RelayChannel *ch, guint max, guint first)
{
  RelayEvent **out = g_new(RelayEvent *, max);
  RelayTxn *txn = relay_channel_begin(ch);
  guint n = relay_txn_take(txn, out, max);

  for (guint i = 0; i < n; i++)
    assert_int_equal(_number(out[i]), first + i);
  assert_int_equal(relay_txn_commit(txn), RELAY_CHANNEL_OK);
  relay_txn_close(txn);
  g_free(out);
  return n;
}

static void
_copy_tree(const char *from, const char *to)
{
  GDir *dir = g_dir_open(from, 0, NULL);
  const char *name;

  g_mkdir_with_parents(to, 0750);
  while (dir && (name = g_dir_read_name(dir)))
    {
      char *src = g_build_filename(from, name, NULL), *dst = g_build_filename(to, name, NULL);
      if (g_file_test(src, G_FILE_TEST_IS_DIR))
        _copy_tree(src, dst);
      else
        {
          gchar *data;
          gsize len;
          assert_true(g_file_get_contents(src, &data, &len, NULL));
          assert_true(g_file_set_contents(dst, data, (gssize)len, NULL));
          g_free(data);
        }
      g_free(src);
      g_free(dst);
    }
  if (dir)
    g_dir_close(dir);
}

/* The state a crash would leave: a copy of the directories of a running channel. */
static char *
_crash_copy(const char *root, const char *name)
{
  char *copy = g_build_filename(root, name, NULL);
  char *cp = g_build_filename(root, "cp", NULL), *data = g_build_filename(root, "data", NULL);
  char *cp2 = g_build_filename(copy, "cp", NULL), *data2 = g_build_filename(copy, "data", NULL);

  _copy_tree(cp, cp2);
  _copy_tree(data, data2);
  g_free(cp);
  g_free(data);
  g_free(cp2);
  g_free(data2);
  return copy;
}

static guint
_count_segments(const char *root)
{
  char *data = g_build_filename(root, "data", NULL);
  char *dirs[] = { data, NULL };
  GArray *files = relay_filelog_list_segments(dirs, NULL);
  guint n = files ? files->len : 0;
  relay_filelog_segment_files_free(files);
  g_free(data);
  return n;
}

/* ---- formats ---- */

static void
test_crc32c(void **state)
{
  (void)state;
  guint8 buf[1031];

  assert_int_equal(relay_crc32c(0, "123456789", 9), 0xE3069283u);
  assert_int_equal(relay_crc32c_sw(0, "123456789", 9), 0xE3069283u);
  for (guint i = 0; i < sizeof buf; i++)
    buf[i] = (guint8)(i * 31 + 7);
  for (gsize len = 0; len <= sizeof buf; len += 17)
    {
      guint32 whole = relay_crc32c_sw(0, buf, len);
      assert_int_equal(relay_crc32c(0, buf, len), whole);
      assert_int_equal(relay_crc32c(relay_crc32c(0, buf, len / 3), buf + len / 3, len - len / 3), whole);
    }
}

/* Builds a PUT record of events first..first+n-1 in a new buffer. */
static guint8 *
_put_record(guint first, guint n, guint64 seq, gsize *len)
{
  RelayEvent *events[16];
  gsize size = RELAY_FILELOG_RECORD_HEADER;

  for (guint i = 0; i < n; i++)
    {
      events[i] = _event_n(first + i);
      size += relay_filelog_event_size(events[i]);
    }
  guint8 *buf = g_malloc(size), *p = buf + RELAY_FILELOG_RECORD_HEADER;
  for (guint i = 0; i < n; i++)
    {
      p = relay_filelog_event_encode(p, events[i], relay_filelog_event_size(events[i]));
      relay_event_unref(events[i]);
    }
  RelayFilelogRecord rec
      = { RELAY_FILELOG_PUT, n, (guint32)(size - RELAY_FILELOG_RECORD_HEADER), 0, seq, NULL };
  rec.payload_crc = relay_crc32c(0, buf + RELAY_FILELOG_RECORD_HEADER, rec.payload_len);
  relay_filelog_record_header_encode(buf, &rec);
  *len = size;
  return buf;
}

static void
test_record_format(void **state)
{
  (void)state;
  gsize len;
  guint8 *buf = _put_record(5, 3, 42, &len);
  RelayFilelogRecord rec;

  assert_int_equal(relay_filelog_record_parse(buf, len, &rec), RELAY_FILELOG_REC_OK);
  assert_int_equal(rec.type, RELAY_FILELOG_PUT);
  assert_int_equal(rec.count, 3);
  assert_int_equal(rec.first_seq, 42);
  assert_int_equal(rec.payload_len, len - RELAY_FILELOG_RECORD_HEADER);

  gsize cursor = 0;
  guint32 rel_off, elen;
  for (guint i = 0; i < 3; i++)
    {
      assert_true(relay_filelog_put_next(&rec, &cursor, &rel_off, &elen));
      RelayEvent *ev = relay_filelog_event_decode(rec.payload + rel_off, rec.payload_len - rel_off);
      assert_non_null(ev);
      assert_int_equal(_number(ev), 5 + i);
      assert_string_equal(relay_event_get_header(ev, "host"), "h1");
      relay_event_unref(ev);
    }
  assert_false(relay_filelog_put_next(&rec, &cursor, &rel_off, &elen));

  /* Every single-byte corruption is detected; every truncation is not OK. */
  for (gsize i = 0; i < len; i++)
    {
      buf[i] ^= 0x40;
      assert_int_not_equal(relay_filelog_record_parse(buf, len, &rec), RELAY_FILELOG_REC_OK);
      buf[i] ^= 0x40;
    }
  for (gsize cut = 0; cut < len; cut++)
    assert_int_not_equal(relay_filelog_record_parse(buf, cut, &rec), RELAY_FILELOG_REC_OK);
  memset(buf, 0, len);
  assert_int_equal(relay_filelog_record_parse(buf, len, &rec), RELAY_FILELOG_REC_END);
  g_free(buf);
}

static void
test_take_record_format(void **state)
{
  (void)state;
  guint8 buf[RELAY_FILELOG_RECORD_HEADER + 2 * RELAY_FILELOG_TAKE_RUN];
  guint8 *p = relay_filelog_take_run_encode(buf + RELAY_FILELOG_RECORD_HEADER, 10, 3);
  relay_filelog_take_run_encode(p, 20, 1);
  RelayFilelogRecord rec = { RELAY_FILELOG_TAKE, 2, 2 * RELAY_FILELOG_TAKE_RUN, 0, 0, NULL };
  rec.payload_crc = relay_crc32c(0, buf + RELAY_FILELOG_RECORD_HEADER, rec.payload_len);
  relay_filelog_record_header_encode(buf, &rec);

  RelayFilelogRecord parsed;
  guint64 first;
  guint32 n;
  assert_int_equal(relay_filelog_record_parse(buf, sizeof buf, &parsed), RELAY_FILELOG_REC_OK);
  assert_int_equal(parsed.type, RELAY_FILELOG_TAKE);
  relay_filelog_take_run(&parsed, 1, &first, &n);
  assert_int_equal(first, 20);
  assert_int_equal(n, 1);
}

static void
test_event_decode_rejects_malformed(void **state)
{
  (void)state;
  RelayEvent *ev = _event_n(7);
  gsize size = relay_filelog_event_size(ev);
  guint8 *buf = g_malloc(size);

  relay_filelog_event_encode(buf, ev, size);
  for (gsize cut = 0; cut < size; cut++)
    assert_null(relay_filelog_event_decode(buf, cut));
  buf[size - 1] ^= 1;
  assert_null(relay_filelog_event_decode(buf, size));
  buf[size - 1] ^= 1;
  RelayEvent *back = relay_filelog_event_decode(buf, size);
  assert_int_equal(_number(back), 7);
  relay_event_unref(back);
  relay_event_unref(ev);
  g_free(buf);
}

static void
test_checkpoint_format(void **state)
{
  const char *root = *state;
  RelayFilelogCheckpoint cp = { 100, 3, 4096, g_array_new(FALSE, FALSE, sizeof(RelayFilelogLocation)) };
  RelayFilelogCheckpoint back;

  for (guint i = 0; i < 5000; i++)
    {
      RelayFilelogLocation loc = { 10 + i * 2, 1 + i / 1000, 64 + i * 40, 30 };
      g_array_append_val(cp.entries, loc);
    }
  cp.next_seq = 20000;
  assert_true(relay_filelog_checkpoint_write(root, &cp, NULL));
  assert_true(relay_filelog_checkpoint_read(root, &back, NULL));
  assert_int_equal(back.next_seq, 20000);
  assert_int_equal(back.log_seg, 3);
  assert_int_equal(back.log_off, 4096);
  assert_int_equal(back.entries->len, 5000);
  assert_memory_equal(back.entries->data, cp.entries->data, 5000 * sizeof(RelayFilelogLocation));
  relay_filelog_checkpoint_clear(&back);

  /* A flipped byte anywhere makes it unusable. */
  char *path = g_build_filename(root, "checkpoint", NULL);
  gchar *data;
  gsize len;
  assert_true(g_file_get_contents(path, &data, &len, NULL));
  for (gsize i = 0; i < len; i += 997)
    {
      data[i] ^= 0x10;
      assert_true(g_file_set_contents(path, data, (gssize)len, NULL));
      GError *error = NULL;
      assert_false(relay_filelog_checkpoint_read(root, &back, &error));
      assert_null(back.entries);
      g_error_free(error);
      data[i] ^= 0x10;
    }
  g_free(data);
  g_free(path);
  relay_filelog_checkpoint_clear(&cp);
}

/* ---- channel: durability and replay ---- */

static void
test_restart_keeps_events(void **state)
{
  const char *root = *state;
  RelayChannel *ch = _open(root);

  assert_non_null(ch);
  assert_int_equal(_put_range(ch, 0, 5), RELAY_CHANNEL_OK);
  assert_int_equal(_put_range(ch, 5, 5), RELAY_CHANNEL_OK);
  assert_int_equal(_take_expect(ch, 3, 0), 3);
  assert_int_equal(relay_channel_size(ch), 7);
  _close(ch);

  ch = _open(root); /* from the checkpoint written on close */
  assert_non_null(ch);
  assert_true(_logged("from=checkpoint"));
  assert_int_equal(relay_channel_size(ch), 7);
  assert_int_equal(_take_expect(ch, 100, 3), 7);
  _close(ch);
}

static void
test_crash_full_replay(void **state)
{
  const char *root = *state;
  const char *const kv[] = { "eventCacheBytes", "0", NULL }; /* every take reads from disk */
  RelayChannel *ch = _open_kv(root, kv);

  for (guint i = 0; i < 20; i++)
    assert_int_equal(_put_range(ch, i * 10, 10), RELAY_CHANNEL_OK);
  assert_int_equal(_take_expect(ch, 25, 0), 25);
  char *copy = _crash_copy(root, "crash");
  _close(ch);

  ch = _open(copy); /* no checkpoint yet: the whole log is replayed */
  assert_non_null(ch);
  assert_true(_logged("from=log"));
  assert_int_equal(relay_channel_size(ch), 175);
  assert_int_equal(_take_expect(ch, 100, 25), 100);
  assert_int_equal(_take_expect(ch, 100, 125), 75);
  _close(ch);
  g_free(copy);
}

static void
test_crash_checkpoint_plus_tail(void **state)
{
  const char *root = *state;
  RelayChannel *ch = _open(root);

  assert_int_equal(_put_range(ch, 0, 10), RELAY_CHANNEL_OK);
  _close(ch); /* checkpoint on close */
  ch = _open(root);
  assert_int_equal(_put_range(ch, 10, 5), RELAY_CHANNEL_OK);
  assert_int_equal(_take_expect(ch, 2, 0), 2);
  char *copy = _crash_copy(root, "crash");
  _close(ch);

  g_ptr_array_set_size(_log_lines, 0);
  ch = _open(copy);
  assert_true(_logged("from=checkpoint"));
  assert_int_equal(relay_channel_size(ch), 13);
  assert_int_equal(_take_expect(ch, 100, 2), 13);
  _close(ch);
  g_free(copy);
}

/* A transaction that is rolled back leaves no trace; one taken but not committed at the crash is back. */
static void
test_crash_with_open_take(void **state)
{
  const char *root = *state;
  RelayChannel *ch = _open(root);
  RelayEvent *out[4];

  assert_int_equal(_put_range(ch, 0, 6), RELAY_CHANNEL_OK);
  RelayTxn *txn = relay_channel_begin(ch);
  assert_int_equal(relay_txn_take(txn, out, 4), 4);
  char *copy = _crash_copy(root, "crash");
  relay_txn_rollback(txn);
  relay_txn_close(txn);
  _close(ch);

  ch = _open(copy);
  assert_int_equal(relay_channel_size(ch), 6);
  assert_int_equal(_take_expect(ch, 10, 0), 6);
  _close(ch);
  g_free(copy);
}

/* Builds a small log: puts and takes, no checkpoint. Returns the segment path; *ends and *delta describe
 * every record: where it ends and how it changes the event count. */
static char *
_small_log(const char *root, GArray *ends, GArray *delta)
{
  const char *const kv[] = { "checkpointOnClose", "false", NULL };
  RelayChannel *ch = _open_kv(root, kv);

  assert_int_equal(_put_range(ch, 0, 1), RELAY_CHANNEL_OK);
  assert_int_equal(_put_range(ch, 1, 2), RELAY_CHANNEL_OK);
  assert_int_equal(_take_expect(ch, 2, 0), 2);
  assert_int_equal(_put_range(ch, 3, 1), RELAY_CHANNEL_OK);
  assert_int_equal(_take_expect(ch, 1, 2), 1);
  _close(ch);

  gint deltas[] = { 1, 2, -2, 1, -1 };
  char *data = g_build_filename(root, "data", NULL);
  char *dirs[] = { data, NULL };
  GArray *files = relay_filelog_list_segments(dirs, NULL);
  assert_int_equal(files->len, 1);
  char *path = g_strdup(g_array_index(files, RelayFilelogSegmentFile, 0).path);
  relay_filelog_segment_files_free(files);
  g_free(data);

  gchar *content;
  gsize len, off = RELAY_FILELOG_SEGMENT_HEADER;
  RelayFilelogRecord rec;
  assert_true(g_file_get_contents(path, &content, &len, NULL));
  for (guint i = 0; i < G_N_ELEMENTS(deltas); i++)
    {
      assert_int_equal(relay_filelog_record_parse((guint8 *)content + off, len - off, &rec),
                       RELAY_FILELOG_REC_OK);
      off += RELAY_FILELOG_RECORD_HEADER + rec.payload_len;
      g_array_append_val(ends, off);
      g_array_append_val(delta, deltas[i]);
    }
  assert_int_equal(off, len); /* sealed: trimmed to the last record */
  g_free(content);
  return path;
}

static void
test_torn_tail_every_byte(void **state)
{
  const char *root = *state;
  GArray *ends = g_array_new(FALSE, FALSE, sizeof(gsize)), *delta = g_array_new(FALSE, FALSE, sizeof(gint));
  char *segment = _small_log(root, ends, delta);
  gchar *content;
  gsize len;
  char *cp = g_build_filename(root, "cp", NULL);

  assert_true(g_file_get_contents(segment, &content, &len, NULL));
  for (gsize cut = 0; cut <= len; cut++)
    {
      gint expected = 0;
      for (guint r = 0; r < ends->len; r++)
        if (g_array_index(ends, gsize, r) <= cut)
          expected += g_array_index(delta, gint, r);
      _rm_rf(cp); /* no checkpoint: full replay */
      char *data = g_build_filename(root, "data", NULL);
      _rm_rf(data);
      g_mkdir_with_parents(data, 0750);
      assert_true(g_file_set_contents(segment, content, (gssize)cut, NULL));
      RelayChannel *ch = _open(root);
      assert_non_null(ch);
      if ((gint)relay_channel_size(ch) != expected)
        fail_msg("cut at %zu: %d events, expected %d", cut, (int)relay_channel_size(ch), expected);
      _close(ch);
      g_free(data);
    }
  assert_true(_logged("torn tail cut"));
  g_free(content);
  g_free(segment);
  g_free(cp);
  g_array_free(ends, TRUE);
  g_array_free(delta, TRUE);
}

static void
test_bad_crc_skips_record(void **state)
{
  const char *root = *state;
  GArray *ends = g_array_new(FALSE, FALSE, sizeof(gsize)), *delta = g_array_new(FALSE, FALSE, sizeof(gint));
  char *segment = _small_log(root, ends, delta);
  gchar *content;
  gsize len;

  /* Corrupt one payload byte of the second record (put of events 1 and 2), in its first event's length:
   * its events can no longer be delimited, so that record is skipped by the length in its intact header
   * and replay goes on (take 0-1, put 3, take 2): event 3 is left. */
  assert_true(g_file_get_contents(segment, &content, &len, NULL));
  content[g_array_index(ends, gsize, 0) + RELAY_FILELOG_RECORD_HEADER + 3] ^= 0x01;
  assert_true(g_file_set_contents(segment, content, (gssize)len, NULL));
  RelayChannel *ch = _open(root);
  assert_int_equal(relay_channel_size(ch), 1);
  assert_true(_logged("damaged record skipped type=put"));
  assert_true(_logged("events=2 events_lost=2"));
  assert_false(_logged("torn tail cut"));
  assert_int_equal(_take_expect(ch, 10, 3), 1);
  _close(ch);
  g_free(content);
  g_free(segment);
  g_array_free(ends, TRUE);
  g_array_free(delta, TRUE);
}

/* Many small segments; corruption in an older one loses only the damaged event. */
static void
test_segments_roll_and_corrupt_middle(void **state)
{
  const char *root = *state;
  const char *const kv[]
      = { "maxFileSize", "65536", "checkpointOnClose", "false", "capacity", "10000", NULL };
  RelayChannel *ch = _open_kv(root, kv);

  for (guint i = 0; i < 60; i++) /* about 3 KiB per record: several segments */
    assert_int_equal(_put_range(ch, i * 60, 60), RELAY_CHANNEL_OK);
  _close(ch);
  guint segments = _count_segments(root);
  assert_true(segments >= 3);

  char *data = g_build_filename(root, "data", NULL);
  char *dirs[] = { data, NULL };
  GArray *files = relay_filelog_list_segments(dirs, NULL);
  const char *first = g_array_index(files, RelayFilelogSegmentFile, 0).path;
  gchar *content;
  gsize len;
  assert_true(g_file_get_contents(first, &content, &len, NULL));
  content[len - 10] ^= 0x01; /* last record of the first segment */
  assert_true(g_file_set_contents(first, content, (gssize)len, NULL));

  ch = _open(root);
  guint64 size = relay_channel_size(ch);
  assert_int_equal(size, 3599); /* the byte is in the body of the record's last event */
  assert_true(_logged("events=60 events_lost=1"));
  _close(ch);
  g_free(content);
  relay_filelog_segment_files_free(files);
  g_free(data);
}

/* ---- damage in the middle of a log (full replay): only what is damaged is lost ---- */

/* Writes 50 records of 10 events (numbers 0..499) into one segment, no checkpoint; returns the segment path
 * and the offset of record 20 in *rec20. */
static char *
_fifty_records(const char *root, gsize *rec20)
{
  const char *const kv[] = { "checkpointOnClose", "false", NULL };
  RelayChannel *ch = _open_kv(root, kv);

  for (guint i = 0; i < 50; i++)
    assert_int_equal(_put_range(ch, i * 10, 10), RELAY_CHANNEL_OK);
  _close(ch);
  char *data = g_build_filename(root, "data", NULL);
  char *dirs[] = { data, NULL };
  GArray *files = relay_filelog_list_segments(dirs, NULL);
  assert_int_equal(files->len, 1);
  char *path = g_strdup(g_array_index(files, RelayFilelogSegmentFile, 0).path);
  relay_filelog_segment_files_free(files);
  g_free(data);

  gchar *content;
  gsize len, off = RELAY_FILELOG_SEGMENT_HEADER;
  RelayFilelogRecord rec;
  assert_true(g_file_get_contents(path, &content, &len, NULL));
  for (guint i = 0; i < 20; i++)
    {
      assert_int_equal(relay_filelog_record_parse((guint8 *)content + off, len - off, &rec),
                       RELAY_FILELOG_REC_OK);
      off += RELAY_FILELOG_RECORD_HEADER + rec.payload_len;
    }
  *rec20 = off;
  g_free(content);
  return path;
}

static void
_flip_byte(const char *path, gsize at)
{
  gchar *content;
  gsize len;
  assert_true(g_file_get_contents(path, &content, &len, NULL));
  assert_true(at < len);
  content[at] ^= 0x20;
  assert_true(g_file_set_contents(path, content, (gssize)len, NULL));
  g_free(content);
}

/* Takes everything (transactions of up to 100); checks the numbers are 0..n-1 except [gap, gap + gap_len). */
static void
_take_all_except(RelayChannel *ch, guint n, guint gap, guint gap_len)
{
  RelayEvent *out[100];
  guint want = 0, total = 0, got;

  do
    {
      RelayTxn *txn = relay_channel_begin(ch);
      got = relay_txn_take(txn, out, G_N_ELEMENTS(out));
      for (guint i = 0; i < got; i++, want++)
        {
          if (want == gap)
            want += gap_len;
          assert_int_equal(_number(out[i]), want);
        }
      total += got;
      assert_int_equal(relay_txn_commit(txn), RELAY_CHANNEL_OK);
      relay_txn_close(txn);
    }
  while (got > 0);
  assert_int_equal(total, n - gap_len);
}

/* One damaged payload byte (in the body of event 203, the 4th of record 20): only that event is lost. */
static void
test_damaged_payload_loses_only_damaged_event(void **state)
{
  const char *root = *state;
  gsize rec20;
  char *segment = _fifty_records(root, &rec20);
  gchar *content;
  gsize len, cursor = 0;
  guint32 rel_off = 0, elen = 0;
  RelayFilelogRecord rec;

  assert_true(g_file_get_contents(segment, &content, &len, NULL));
  assert_int_equal(relay_filelog_record_parse((guint8 *)content + rec20, len - rec20, &rec),
                   RELAY_FILELOG_REC_OK);
  for (guint i = 0; i < 4; i++)
    assert_true(relay_filelog_put_next(&rec, &cursor, &rel_off, &elen));
  g_free(content);
  _flip_byte(segment, rec20 + RELAY_FILELOG_RECORD_HEADER + rel_off + RELAY_FILELOG_EVENT_PREFIX + elen - 2);

  RelayChannel *ch = _open(root);
  assert_non_null(ch);
  assert_int_equal(relay_channel_size(ch), 499);
  assert_true(_logged("damaged record"));
  assert_true(_logged("events_lost=1"));
  _take_all_except(ch, 500, 203, 1);
  _close(ch);
  g_free(segment);
}

/* A damaged record header: replay resynchronises on the next record; only record 20's events are lost. */
static void
test_damaged_record_header_resyncs(void **state)
{
  const char *root = *state;
  gsize rec20;
  char *segment = _fifty_records(root, &rec20);

  _flip_byte(segment, rec20 + 9); /* the payload length: the header CRC no longer matches */
  RelayChannel *ch = _open(root);
  assert_non_null(ch);
  assert_int_equal(relay_channel_size(ch), 490);
  assert_true(_logged("damaged bytes skipped"));
  _take_all_except(ch, 500, 200, 10);
  _close(ch);
  g_free(segment);
}

/* A damaged segment header no longer drops the segment: its records are still replayed. */
static void
test_damaged_segment_header_keeps_records(void **state)
{
  const char *root = *state;
  gsize rec20;
  char *segment = _fifty_records(root, &rec20);

  _flip_byte(segment, 30); /* creation time: the header CRC no longer matches */
  RelayChannel *ch = _open(root);
  assert_non_null(ch);
  assert_int_equal(relay_channel_size(ch), 500);
  assert_true(_logged("segment header damaged"));
  _take_all_except(ch, 500, 500, 0);
  _close(ch);
  g_free(segment);
}

static void
test_segments_deleted_after_checkpoint(void **state)
{
  const char *root = *state;
  const char *const kv[] = { "maxFileSize", "65536", "capacity", "10000", NULL };
  RelayChannel *ch = _open_kv(root, kv);

  for (guint i = 0; i < 60; i++)
    assert_int_equal(_put_range(ch, i * 60, 60), RELAY_CHANNEL_OK);
  assert_true(_count_segments(root) >= 3);
  for (guint i = 0; i < 36; i++)
    assert_int_equal(_take_expect(ch, 100, i * 100), 100);
  _close(ch); /* the checkpoint on close deletes the segments nothing refers to */
  assert_int_equal(_count_segments(root), 1);

  ch = _open_kv(root, kv);
  assert_int_equal(relay_channel_size(ch), 0);
  _close(ch);
}

/* The checkpoint thread writes a checkpoint every checkpointInterval and deletes unused segments. */
static void
test_periodic_checkpoint(void **state)
{
  const char *root = *state;
  const char *const kv[]
      = { "checkpointInterval", "1000", "maxFileSize", "65536", "capacity", "10000", NULL };
  RelayChannel *ch = _open_kv(root, kv);

  for (guint i = 0; i < 60; i++)
    assert_int_equal(_put_range(ch, i * 60, 60), RELAY_CHANNEL_OK);
  for (guint i = 0; i < 35; i++)
    assert_int_equal(_take_expect(ch, 100, i * 100), 100);
  guint before = _count_segments(root);
  g_usleep(1300 * 1000);
  assert_true(_count_segments(root) < before);
  char *copy = _crash_copy(root, "crash");
  _close(ch);

  g_ptr_array_set_size(_log_lines, 0);
  ch = _open_kv(copy, kv);
  assert_true(_logged("from=checkpoint"));
  assert_int_equal(_take_expect(ch, 100, 3500), 100);
  assert_int_equal(relay_channel_size(ch), 0);
  _close(ch);
  g_free(copy);
}

static void
test_dual_checkpoint_backup_used(void **state)
{
  const char *root = *state;
  char *backup = g_build_filename(root, "backup", NULL);
  const char *const kv[] = { "useDualCheckpoints", "true", "backupCheckpointDir", backup, NULL };
  RelayChannel *ch = _open_kv(root, kv);

  assert_int_equal(_put_range(ch, 0, 4), RELAY_CHANNEL_OK);
  _close(ch);
  /* Damaged after relayd's magic: still relayd's file (one without the magic would be refused as not
   * relayd's, see test_foreign_checkpoint_refused). */
  char *primary = g_build_filename(root, "cp", "checkpoint", NULL);
  assert_true(g_file_set_contents(primary, "RLYFCCKPgarbage", 15, NULL));
  ch = _open_kv(root, kv);
  assert_true(_logged("using the backup checkpoint"));
  assert_int_equal(relay_channel_size(ch), 4);
  _close(ch);
  g_free(primary);
  g_free(backup);
}

/* ---- files relayd did not write (issue 19) ---- */

/* Starts the channel with configure and start separate, so that files can appear in between. */
static RelayComponent *
_configured(const char *root)
{
  char *cp = g_build_filename(root, "cp", NULL), *data = g_build_filename(root, "data", NULL);
  const char *const kv[] = { "checkpointDir", cp, "dataDirs", data, "minimumRequiredSpace", "1048576", NULL };
  RelayComponent *c = relay_component_new(&relay_channel_file_class, "fc");

  assert_true(relay_component_configure_kv(c, kv));
  g_free(cp);
  g_free(data);
  return c;
}

static void
test_foreign_checkpoint_refused(void **state)
{
  const char *root = *state;
  char *cpdir = g_build_filename(root, "cp", NULL);
  char *checkpoint = g_build_filename(cpdir, "checkpoint", NULL);
  char *lock = g_build_filename(cpdir, "in_use.lock", NULL);
  RelayComponent *c = _configured(root);
  GError *error = NULL;
  char *content = NULL;
  gsize len = 0;

  /* Written after configure (the check at start sees it too). */
  assert_int_equal(g_mkdir_with_parents(cpdir, 0750), 0);
  assert_true(g_file_set_contents(checkpoint, "garbage", 7, NULL));
  assert_false(relay_component_start(c, &error));
  assert_non_null(error);
  assert_non_null(strstr(error->message, "checkpointDir"));
  assert_non_null(strstr(error->message, "holds files relayd did not write: checkpoint (names Flume's"));
  assert_non_null(strstr(error->message, "drain that channel with Flume first"));
  g_clear_error(&error);
  assert_true(g_file_get_contents(checkpoint, &content, &len, NULL));
  assert_int_equal(len, 7);
  assert_memory_equal(content, "garbage", 7);
  assert_false(g_file_test(lock, G_FILE_TEST_EXISTS)); /* not even locked */
  relay_component_free(c);
  g_free(content);
  g_free(lock);
  g_free(checkpoint);
  g_free(cpdir);
}

static gboolean
_configure(const char *const *kv)
{
  RelayComponent *c = relay_component_new(&relay_channel_file_class, "fc");
  gboolean ok = relay_component_configure_kv(c, kv);
  relay_component_free(c);
  return ok;
}

/* configure refuses the channel (as --check does), and the data directory's listing says what it found. */
static void
_expect_refused(const char *root, const char *data, const char *found, gboolean flume)
{
  char *cp = g_build_filename(root, "cp", NULL);
  const char *const kv[] = { "checkpointDir", cp, "dataDirs", data, "minimumRequiredSpace", "1048576", NULL };
  gboolean flume_like = !flume;
  char *listing = relay_filelog_foreign_files(data, FALSE, &flume_like, NULL);

  assert_false(_configure(kv));
  assert_non_null(listing);
  assert_string_equal(listing, found);
  assert_int_equal(flume_like, flume);
  g_free(listing);
  g_free(cp);
}

static void
test_foreign_unknown_and_flume_segment_refused(void **state)
{
  const char *root = *state;
  char *data = g_build_filename(root, "data", NULL);
  char *flume_log = g_build_filename(data, "log-3", NULL);
  RelayChannel *ch = _open(root);

  assert_non_null(ch);
  assert_int_equal(_put_range(ch, 0, 3), RELAY_CHANNEL_OK);
  _close(ch);
  assert_true(g_file_set_contents(flume_log, "\0\0\0\3flume", 9, NULL));
  _expect_refused(root, data, "log-3 (names Flume's file channel uses)", TRUE);
  assert_int_equal(unlink(flume_log), 0);

  char *notes = g_build_filename(data, "notes.txt", NULL);
  assert_true(g_file_set_contents(notes, "x", 1, NULL));
  _expect_refused(root, data, "notes.txt (unknown)", FALSE);
  assert_int_equal(unlink(notes), 0);

  /* What a crash leaves of relayd's own files is still relayd's: an empty segment being created. */
  char *empty = g_build_filename(data, "log-0000000099", NULL);
  assert_true(g_file_set_contents(empty, "", 0, NULL));
  ch = _open(root);
  assert_non_null(ch);
  assert_int_equal(relay_channel_size(ch), 3);
  _close(ch);

  /* ... and so is an empty lock file (killed between creating it and writing the pid), unless something
   * foreign lies beside it, when it is listed with it. */
  char *lock = g_build_filename(data, "in_use.lock", NULL);
  assert_true(g_file_set_contents(lock, "", 0, NULL));
  assert_true(g_file_set_contents(notes, "x", 1, NULL));
  _expect_refused(root, data, "in_use.lock (names Flume's file channel uses); notes.txt (unknown)", TRUE);
  assert_int_equal(unlink(notes), 0);
  ch = _open(root);
  assert_non_null(ch);
  assert_int_equal(relay_channel_size(ch), 3);
  _close(ch);
  g_free(lock);
  g_free(empty);
  g_free(notes);
  g_free(flume_log);
  g_free(data);
}

/* ---- capacities, locks, configuration ---- */

static void
test_capacity_and_txn_rules(void **state)
{
  const char *root = *state;
  const char *const kv[] = { "capacity", "5", "transactionCapacity", "3", NULL };
  RelayChannel *ch = _open_kv(root, kv);
  RelayEvent *out[3];

  assert_int_equal(_put_range(ch, 0, 3), RELAY_CHANNEL_OK);
  assert_int_equal(_put_range(ch, 3, 4), RELAY_CHANNEL_TXN_FULL);
  assert_int_equal(_put_range(ch, 3, 3), RELAY_CHANNEL_FULL);
  assert_int_equal(_put_range(ch, 3, 2), RELAY_CHANNEL_OK);

  RelayTxn *txn = relay_channel_begin(ch); /* taking and putting in one transaction is refused */
  assert_int_equal(relay_txn_take(txn, out, 3), 3);
  RelayEvent *ev = _event_n(99);
  assert_int_equal(relay_txn_put(txn, ev), RELAY_CHANNEL_ERROR);
  assert_int_equal(relay_txn_take(txn, out, 3), 0); /* transactionCapacity reached */
  relay_txn_rollback(txn);
  relay_txn_close(txn);
  txn = relay_channel_begin(ch);
  assert_int_equal(relay_txn_put(txn, ev), RELAY_CHANNEL_OK);
  assert_int_equal(relay_txn_take(txn, out, 3), 0);
  relay_txn_rollback(txn);
  relay_txn_close(txn);
  relay_event_unref(ev);
  assert_int_equal(_take_expect(ch, 3, 0), 3);
  assert_int_equal(_put_range(ch, 5, 3), RELAY_CHANNEL_OK);
  _close(ch);
}

static void
test_directory_lock(void **state)
{
  const char *root = *state;
  RelayChannel *ch = _open(root);

  assert_non_null(ch);
  assert_null(_open(root));
  _close(ch);
  ch = _open(root);
  assert_non_null(ch);
  _close(ch);
}

static void
test_configuration(void **state)
{
  const char *root = *state;
  RelayChannel *ch = RELAY_CHANNEL(relay_component_new(&relay_channel_file_class, "fc"));
  char *file = g_build_filename(root, "plain-file", NULL);
  char *a = g_build_filename(root, "a", NULL), *b = g_build_filename(root, "b", NULL);

  assert_int_equal(ch->capacity, 1000000);
  assert_int_equal(ch->transaction_capacity, 10000);
  assert_int_equal(ch->keep_alive_s, 3);
  relay_component_free(RELAY_COMPONENT(ch));

  assert_true(g_file_set_contents(file, "x", 1, NULL));
  const char *const ok[] = { "checkpointDir", a, "dataDirs", b, NULL };
  const char *const txn[]
      = { "checkpointDir", a, "dataDirs", b, "capacity", "10", "transactionCapacity", "20", NULL };
  const char *const unusable[] = { "checkpointDir", a, "dataDirs", file, NULL };
  const char *const same[] = { "checkpointDir", a, "dataDirs", a, NULL };
  const char *const dual[] = { "checkpointDir", a, "dataDirs", b, "useDualCheckpoints", "true", NULL };
  const char *const enc[] = { "checkpointDir", a, "dataDirs", b, "encryption.activeKey", "k", NULL };
  assert_true(_configure(ok));
  assert_false(_configure(txn));
  assert_false(_configure(unusable));
  assert_false(_configure(same));
  assert_false(_configure(dual));
  assert_false(_configure(enc));
  g_free(file);
  g_free(a);
  g_free(b);
}

/* ---- disk errors ---- */

static void
test_write_error_refuses_puts_then_resumes(void **state)
{
  const char *root = *state;
  RelayChannel *ch = _open(root);

  assert_int_equal(_put_range(ch, 0, 3), RELAY_CHANNEL_OK);
  g_atomic_int_set(&_fail_errno, ENOSPC);
  g_atomic_int_set(&_fail_writes, 1);
  assert_int_equal(_put_range(ch, 3, 3), RELAY_CHANNEL_ERROR);
  gint writes = g_atomic_int_get(&_writes);
  assert_int_equal(_put_range(ch, 3, 3), RELAY_CHANNEL_ERROR); /* refused without touching the disk */
  assert_int_equal(g_atomic_int_get(&_writes), writes);
  assert_int_equal(_take_expect(ch, 1, 0), 1); /* takes go on */
  g_usleep(1100 * 1000);
  assert_int_equal(_put_range(ch, 3, 3), RELAY_CHANNEL_OK);
  assert_true(_logged("puts accepted"));
  char *copy = _crash_copy(root, "crash");
  _close(ch);

  ch = _open(copy); /* nothing on disk was damaged; the failed transaction is not there */
  assert_int_equal(relay_channel_size(ch), 5);
  assert_int_equal(_take_expect(ch, 10, 1), 5);
  _close(ch);
  g_free(copy);
}

static void
test_sync_error_fails_commit(void **state)
{
  const char *root = *state;
  RelayChannel *ch = _open(root);

  assert_int_equal(_put_range(ch, 0, 2), RELAY_CHANNEL_OK);
  g_atomic_int_set(&_fail_syncs, 1);
  assert_int_equal(_put_range(ch, 100, 2), RELAY_CHANNEL_ERROR);
  g_usleep(1100 * 1000);
  assert_int_equal(_put_range(ch, 2, 2), RELAY_CHANNEL_OK);
  char *copy = _crash_copy(root, "crash");
  _close(ch);

  ch = _open(copy); /* the record whose sync failed was cut off the segment */
  assert_int_equal(relay_channel_size(ch), 4);
  assert_int_equal(_take_expect(ch, 10, 0), 4);
  _close(ch);
  g_free(copy);
}

static void
test_short_writes_are_completed(void **state)
{
  const char *root = *state;
  RelayChannel *ch = _open(root);

  g_atomic_int_set(&_short_writes, 3);
  for (guint i = 0; i < 4; i++)
    assert_int_equal(_put_range(ch, i * 5, 5), RELAY_CHANNEL_OK);
  char *copy = _crash_copy(root, "crash");
  _close(ch);
  ch = _open(copy);
  assert_int_equal(_take_expect(ch, 100, 0), 20);
  _close(ch);
  g_free(copy);
}

static void
test_low_space_refuses_puts_keeps_takes(void **state)
{
  const char *root = *state;
  RelayChannel *ch = _open(root);

  assert_int_equal(_put_range(ch, 0, 4), RELAY_CHANNEL_OK);
  g_atomic_int_set(&_low_space, 1);
  assert_int_equal(_put_range(ch, 4, 1), RELAY_CHANNEL_ERROR);
  assert_true(_logged("minimumRequiredSpace"));
  assert_int_equal(_take_expect(ch, 2, 0), 2);
  g_atomic_int_set(&_low_space, 0);
  g_usleep(1100 * 1000);
  assert_int_equal(_put_range(ch, 4, 1), RELAY_CHANNEL_OK);
  _close(ch);
  ch = _open(root);
  assert_int_equal(_take_expect(ch, 10, 2), 3);
  _close(ch);
}

/* ---- concurrency: group commit ---- */

#define GC_THREADS 6
#define GC_TXNS 40
#define GC_BATCH 5

static gpointer
_committer(gpointer data)
{
  RelayChannel *ch = ((gpointer *)data)[0];
  guint index = GPOINTER_TO_UINT(((gpointer *)data)[1]);

  for (guint t = 0; t < GC_TXNS; t++)
    if (_put_range(ch, (index * GC_TXNS + t) * GC_BATCH, GC_BATCH) != RELAY_CHANNEL_OK)
      return GINT_TO_POINTER(1);
  return NULL;
}

static void
test_group_commit(void **state)
{
  const char *root = *state;
  const char *const kv[] = { "capacity", "100000", NULL };
  RelayChannel *ch = _open_kv(root, kv);
  GThread *threads[GC_THREADS];
  gpointer args[GC_THREADS][2];

  g_atomic_int_set(&_sync_delay_us, 2000); /* a slow disk: commits queue up behind each sync */
  gint syncs = g_atomic_int_get(&_syncs);
  for (guint i = 0; i < GC_THREADS; i++)
    {
      args[i][0] = ch;
      args[i][1] = GUINT_TO_POINTER(i);
      threads[i] = g_thread_new("gc", _committer, args[i]);
    }
  for (guint i = 0; i < GC_THREADS; i++)
    assert_null(g_thread_join(threads[i]));
  syncs = g_atomic_int_get(&_syncs) - syncs;
  g_atomic_int_set(&_sync_delay_us, 0);
  print_message("group commit: %d commits, %d fdatasync\n", GC_THREADS * GC_TXNS, syncs);
  assert_true(syncs < GC_THREADS * GC_TXNS / 2);

  char *copy = _crash_copy(root, "crash");
  _close(ch);
  ch = _open_kv(copy, kv);
  guint total = GC_THREADS * GC_TXNS * GC_BATCH;
  gint *seen = g_new0(gint, total);
  RelayEvent *out[100];
  assert_int_equal(relay_channel_size(ch), total);
  for (;;)
    {
      RelayTxn *txn = relay_channel_begin(ch);
      guint n = relay_txn_take(txn, out, 100);
      for (guint i = 0; i < n; i++)
        seen[_number(out[i])]++;
      assert_int_equal(relay_txn_commit(txn), RELAY_CHANNEL_OK);
      relay_txn_close(txn);
      if (n == 0)
        break;
    }
  for (guint i = 0; i < total; i++)
    assert_int_equal(seen[i], 1);
  _close(ch);
  g_free(seen);
  g_free(copy);
}

static void
test_no_fsync_per_transaction(void **state)
{
  const char *root = *state;
  const char *const kv[] = { "fsyncPerTransaction", "false", NULL };
  RelayChannel *ch = _open_kv(root, kv);
  gint syncs = g_atomic_int_get(&_syncs);

  for (guint i = 0; i < 10; i++)
    assert_int_equal(_put_range(ch, i, 1), RELAY_CHANNEL_OK);
  assert_true(g_atomic_int_get(&_syncs) - syncs < 3);
  _close(ch);
  ch = _open_kv(root, kv);
  assert_int_equal(_take_expect(ch, 20, 0), 10);
  _close(ch);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_crc32c),
    cmocka_unit_test(test_record_format),
    cmocka_unit_test(test_take_record_format),
    cmocka_unit_test(test_event_decode_rejects_malformed),
    cmocka_unit_test_setup_teardown(test_checkpoint_format, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_restart_keeps_events, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_crash_full_replay, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_crash_checkpoint_plus_tail, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_crash_with_open_take, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_torn_tail_every_byte, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_bad_crc_skips_record, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_segments_roll_and_corrupt_middle, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_damaged_payload_loses_only_damaged_event, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_damaged_record_header_resyncs, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_damaged_segment_header_keeps_records, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_segments_deleted_after_checkpoint, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_periodic_checkpoint, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_dual_checkpoint_backup_used, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_capacity_and_txn_rules, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_directory_lock, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_configuration, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_write_error_refuses_puts_then_resumes, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_sync_error_fails_commit, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_short_writes_are_completed, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_low_space_refuses_puts_keeps_takes, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_group_commit, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_no_fsync_per_transaction, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_foreign_checkpoint_refused, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_foreign_unknown_and_flume_segment_refused, _setup, _teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
