/* test_spooldir.c - unit tests for the spooling-directory source's parts: the LINE and BLOB readers (cuts,
 * offsets, decode policies), the tracker file, whole-name patterns and candidate order; and the exec
 * source's argument vector (Flume's whitespace split). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec_child.h"
#include "spooldir_reader.h"
#include "spooldir_scan.h"
#include "spooldir_tracker.h"

static char *
_tmpdir(void)
{
  return g_dir_make_tmp("relayd-test-spool-XXXXXX", NULL);
}

static void
_rm_rf(char *dir)
{
  char *cmd = g_strdup_printf("rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
  g_free(cmd);
  g_free(dir);
}

static char *
_write(const char *dir, const char *name, const char *data, gssize len)
{
  char *path = g_build_filename(dir, name, NULL);
  assert_true(g_file_set_contents(path, data, len, NULL));
  return path;
}

static RelaySpoolReaderConfig
_line_config(gint64 max_line, RelaySpoolDecodePolicy policy)
{
  RelaySpoolReaderConfig c = { RELAY_SPOOL_LINE, max_line, 100, "UTF-8", "UTF-8", policy };
  return c;
}

/* Reads the whole file; returns the bodies joined by '|'. */
static char *
_read_all(const char *path, gint64 offset, const RelaySpoolReaderConfig *config, guint batch,
          RelaySpoolReadResult *last, gint64 *end_offset)
{
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  RelaySpoolReader *r = relay_spool_reader_open(path, offset, st.st_size, config, NULL);
  GString *joined = g_string_new(NULL);
  GError *error = NULL;
  RelaySpoolReadResult res;

  assert_non_null(r);
  do
    {
      GPtrArray *out = g_ptr_array_new_with_free_func(relay_event_unref_notify);
      res = relay_spool_reader_read(r, batch, NULL, 0, out, &error);
      assert_true(out->len <= batch);
      for (guint i = 0; i < out->len; i++)
        {
          RelayEvent *ev = g_ptr_array_index(out, i);
          g_string_append_len(joined, (const char *)ev->body, ev->body_len);
          g_string_append_c(joined, '|');
        }
      g_ptr_array_unref(out);
    }
  while (res == RELAY_SPOOL_READ_EVENTS);
  g_clear_error(&error);
  *last = res;
  *end_offset = relay_spool_reader_offset(r);
  relay_spool_reader_free(r);
  return g_string_free(joined, FALSE);
}

static void
test_line_reader(void **state)
{
  char *dir = _tmpdir();
  char *path = _write(dir, "a", "one\ntwo\r\n\nlong-line-here\nlast", -1);
  RelaySpoolReaderConfig c = _line_config(8, RELAY_SPOOL_DECODE_FAIL);
  RelaySpoolReadResult last;
  gint64 end;

  char *got = _read_all(path, 0, &c, 2, &last, &end);
  /* '\r' stays (only '\n' ends a line), a long line is cut into 8-byte events, the last line counts. */
  assert_string_equal(got, "one|two\r||long-lin|e-here|last|");
  assert_int_equal(last, RELAY_SPOOL_READ_EOF);
  assert_int_equal(end, (gint64)strlen("one\ntwo\r\n\nlong-line-here\nlast"));
  g_free(got);
  /* Resuming at an offset (after "one\n") gives the rest. */
  got = _read_all(path, 4, &c, 100, &last, &end);
  assert_string_equal(got, "two\r||long-lin|e-here|last|");
  g_free(got);
  g_free(path);
  _rm_rf(dir);
}

static void
test_line_reader_offsets_per_batch(void **state)
{
  char *dir = _tmpdir();
  char *path = _write(dir, "a", "aa\nbbb\ncccc\n", -1);
  RelaySpoolReaderConfig c = _line_config(2048, RELAY_SPOOL_DECODE_FAIL);
  RelaySpoolReader *r = relay_spool_reader_open(path, 0, 12, &c, NULL);
  GPtrArray *out = g_ptr_array_new_with_free_func(relay_event_unref_notify);

  assert_int_equal(relay_spool_reader_read(r, 2, NULL, 0, out, NULL), RELAY_SPOOL_READ_EVENTS);
  assert_int_equal(out->len, 2);
  assert_int_equal(relay_spool_reader_offset(r), 7); /* just after "bbb\n" */
  g_ptr_array_set_size(out, 0);
  assert_int_equal(relay_spool_reader_read(r, 2, NULL, 0, out, NULL), RELAY_SPOOL_READ_EVENTS);
  assert_int_equal(out->len, 1);
  assert_int_equal(relay_spool_reader_offset(r), 12);
  g_ptr_array_set_size(out, 0);
  assert_int_equal(relay_spool_reader_read(r, 2, NULL, 0, out, NULL), RELAY_SPOOL_READ_EOF);
  g_ptr_array_unref(out);
  relay_spool_reader_free(r);
  g_free(path);
  _rm_rf(dir);
}

static void
test_decode_policies(void **state)
{
  char *dir = _tmpdir();
  char *path = _write(dir, "a", "ok\nb\xffz\nafter\n", -1);
  RelaySpoolReadResult last;
  gint64 end;

  RelaySpoolReaderConfig c = _line_config(2048, RELAY_SPOOL_DECODE_REPLACE);
  char *got = _read_all(path, 0, &c, 100, &last, &end);
  assert_string_equal(got, "ok|b\xEF\xBF\xBDz|after|");
  g_free(got);
  c = _line_config(2048, RELAY_SPOOL_DECODE_IGNORE);
  got = _read_all(path, 0, &c, 100, &last, &end);
  assert_string_equal(got, "ok|bz|after|");
  g_free(got);
  /* FAIL: the lines before the bad one are returned, then an error; the offset stays before the bad line. */
  c = _line_config(2048, RELAY_SPOOL_DECODE_FAIL);
  got = _read_all(path, 0, &c, 100, &last, &end);
  assert_string_equal(got, "ok|");
  assert_int_equal(last, RELAY_SPOOL_READ_ERROR);
  assert_int_equal(end, 3);
  g_free(got);
  /* Latin-1 input is decoded and written as UTF-8. */
  char *latin = _write(dir, "l", "caf\xe9\n", -1);
  RelaySpoolReaderConfig lc = { RELAY_SPOOL_LINE, 2048, 100, "ISO-8859-1", "UTF-8", RELAY_SPOOL_DECODE_FAIL };
  got = _read_all(latin, 0, &lc, 100, &last, &end);
  assert_string_equal(got, "caf\xc3\xa9|");
  g_free(got);
  g_free(latin);
  g_free(path);
  _rm_rf(dir);
}

static void
test_blob_and_empty(void **state)
{
  char *dir = _tmpdir();
  char *path = _write(dir, "b", "0123456789abc", -1);
  RelaySpoolReaderConfig c = { RELAY_SPOOL_BLOB, 2048, 5, "UTF-8", "UTF-8", RELAY_SPOOL_DECODE_FAIL };
  RelaySpoolReadResult last;
  gint64 end;

  char *got = _read_all(path, 0, &c, 100, &last, &end);
  assert_string_equal(got, "01234|56789|abc|");
  assert_int_equal(end, 13);
  g_free(got);
  char *empty = _write(dir, "e", "", 0);
  c.kind = RELAY_SPOOL_LINE;
  got = _read_all(empty, 0, &c, 100, &last, &end);
  assert_string_equal(got, "|"); /* one empty event, as Flume */
  g_free(got);
  g_free(empty);
  g_free(path);
  _rm_rf(dir);
}

static void
test_tracker(void **state)
{
  char *dir = _tmpdir();
  char *tracker = g_build_filename(dir, RELAY_SPOOL_TRACKER_NAME, NULL);
  char spool_path[] = "/spool/a file.log";
  RelaySpoolPosition pos = { spool_path, 2049, 123456, 1000, 1700000000123456789, 640 }, got;
  GError *error = NULL;

  assert_false(relay_spool_tracker_read(tracker, &got, &error));
  assert_null(error); /* none yet */
  /* a longer temporary record left by a crash between write and rename: GLib wrote over it without
   * truncating, and its tail made the new record unreadable */
  char *stale = g_strconcat(tracker, ".tmp", NULL);
  assert_true(g_file_set_contents(
      stale, "relayd-spooldir 1 1 2 3 4 5 /a/much/longer/path/than/this/one.log\n", -1, NULL));
  g_free(stale);
  assert_true(relay_spool_tracker_write(tracker, &pos, NULL));
  assert_true(relay_spool_tracker_read(tracker, &got, NULL));
  assert_string_equal(got.path, pos.path);
  assert_int_equal(got.dev, 2049);
  assert_int_equal(got.ino, 123456);
  assert_int_equal(got.size, 1000);
  assert_int_equal(got.mtime_ns, 1700000000123456789);
  assert_int_equal(got.offset, 640);
  relay_spool_position_clear(&got);
  assert_true(g_file_set_contents(tracker, "relayd-spooldir 1 1 2 x", -1, NULL));
  assert_false(relay_spool_tracker_read(tracker, &got, &error));
  assert_non_null(error);
  g_clear_error(&error);
  assert_true(relay_spool_tracker_remove(tracker, NULL));
  assert_true(relay_spool_tracker_remove(tracker, NULL)); /* gone already: fine */
  g_free(tracker);
  _rm_rf(dir);
}

/* The record's text round-trips paths with newlines and times before 1970, and refuses numbers that are
 * not plain decimal (strtoull took " 5", "+5" and "-1" as 2^64 - 1) or that do not fit. */
static void
test_tracker_text(void **state)
{
  char spool_path[] = "/spool/two\nlines\n.log";
  RelaySpoolPosition pos = { spool_path, G_MAXUINT64, 7, 10, -1500000000, 3 }, got;
  char *text = relay_spool_tracker_format(&pos);

  assert_true(relay_spool_tracker_parse(text, strlen(text), &got));
  assert_string_equal(got.path, spool_path);
  assert_true(got.dev == G_MAXUINT64);
  assert_int_equal(got.mtime_ns, -1500000000);
  assert_int_equal(got.offset, 3);
  relay_spool_position_clear(&got);
  assert_false(relay_spool_tracker_parse(text, strlen(text) - 1, &got)); /* cut before its newline */
  assert_null(got.path);
  g_free(text);
  const char *bad[] = {
    "relayd-spooldir 1  1 2 3 4 5 /a\n",
    "relayd-spooldir 1 +1 2 3 4 5 /a\n",
    "relayd-spooldir 1 1 2 -3 4 5 /a\n",
    "relayd-spooldir 1 1 2 3 4 -5 /a\n",
    "relayd-spooldir 1 18446744073709551616 2 3 4 5 /a\n",
    "relayd-spooldir 1 1 2 9223372036854775808 4 5 /a\n",
    "relayd-spooldir 1 1 2 3 4 5 \n",
    "relayd-spooldir 2 1 2 3 4 5 /a\n",
  };
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++)
    {
      assert_false(relay_spool_tracker_parse(bad[i], strlen(bad[i]), &got));
      assert_null(got.path);
    }
}

static void
test_scan(void **state)
{
  char *dir = _tmpdir();
  const char *names[] = { "b.log", "a.log", "c.log.COMPLETED", ".hidden", "d.log.SETASIDE", "x.tmp", NULL };
  for (int i = 0; names[i]; i++)
    g_free(_write(dir, names[i], "x\n", -1));
  char *sub = g_build_filename(dir, "sub", NULL);
  assert_int_equal(mkdir(sub, 0755), 0);
  g_free(_write(sub, "z.log", "x\n", -1));
  RelaySpoolScan scan = { dir,
                          ".COMPLETED",
                          relay_spool_regex_new("^.*\\.log$", NULL),
                          relay_spool_regex_new("^$", NULL),
                          FALSE,
                          RELAY_SPOOL_ORDER_OLDEST,
                          NULL,
                          NULL };
  char *a = g_build_filename(dir, "a.log", NULL), *b = g_build_filename(dir, "b.log", NULL);
  struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };
  assert_int_equal(utimensat(AT_FDCWD, b, old, 0), 0);

  char *next = relay_spool_scan_next(&scan);
  assert_string_equal(next, b); /* the oldest */
  g_free(next);
  scan.order = RELAY_SPOOL_ORDER_YOUNGEST;
  next = relay_spool_scan_next(&scan);
  assert_string_equal(next, a);
  g_free(next);
  /* Whole-name match: "x.log.tmp" style names and the ignore pattern. */
  assert_false(g_regex_match(scan.include, "a.log.tmp", 0, NULL));
  g_regex_unref(scan.ignore);
  scan.ignore = relay_spool_regex_new("[ab]\\.log", NULL);
  scan.recursive = TRUE;
  next = relay_spool_scan_next(&scan);
  assert_non_null(next);
  assert_true(g_str_has_suffix(next, "/sub/z.log"));
  g_free(next);
  g_regex_unref(scan.include);
  g_regex_unref(scan.ignore);
  g_free(a);
  g_free(b);
  g_free(sub);
  _rm_rf(dir);
}

static void
test_exec_argv(void **state)
{
  char **argv = relay_exec_argv(NULL, "  tail  -F /var/log/x ");
  assert_int_equal(g_strv_length(argv), 3);
  assert_string_equal(argv[0], "tail");
  assert_string_equal(argv[2], "/var/log/x");
  g_strfreev(argv);
  argv = relay_exec_argv("/bin/sh -c", "echo a | wc -l");
  assert_int_equal(g_strv_length(argv), 3);
  assert_string_equal(argv[2], "echo a | wc -l");
  g_strfreev(argv);
  assert_null(relay_exec_argv(NULL, "   "));
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_line_reader),
    cmocka_unit_test(test_line_reader_offsets_per_batch),
    cmocka_unit_test(test_decode_policies),
    cmocka_unit_test(test_blob_and_empty),
    cmocka_unit_test(test_tracker),
    cmocka_unit_test(test_tracker_text),
    cmocka_unit_test(test_scan),
    cmocka_unit_test(test_exec_argv),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
