/* test_taildir_position.c - unit tests of the TAILDIR position-file codec (src/sources/taildir_position.c)
 * and of the file-group spec and regex (src/sources/taildir_files.c).
 *
 * Parsing: Gson's compact output, pretty-printed JSON, unknown members and nested values skipped, escapes
 * and \u sequences in paths, entries missing a member skipped and counted, malformed text refused, empty
 * text = no entries. Writing: format -> parse round trip, and the atomic save leaves no .tmp behind. The
 * position writer thread (src/sources/taildir_saver.c): a write is reported on the loop, busy until then,
 * errors reported, a write in flight at free still happens (and is not reported). */
#include "taildir.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

static GArray *
_parse(const char *text, guint *skipped)
{
  GError *error = NULL;
  GArray *out = relay_taildir_pos_parse(text, strlen(text), skipped, &error);
  if (!out)
    g_error_free(error);
  return out;
}

static RelayTaildirPos *
_at(GArray *a, guint i)
{
  return &g_array_index(a, RelayTaildirPos, i);
}

static void
test_parse_gson(void **state)
{
  guint skipped = 9;
  GArray *a = _parse("[{\"inode\":2496146,\"pos\":5,\"file\":\"/var/log/a.log\"},"
                     "{\"inode\":18446744073709551,\"pos\":0,\"file\":\"/var/log/b.log\"}]",
                     &skipped);
  (void)state;
  assert_non_null(a);
  assert_int_equal(a->len, 2);
  assert_int_equal(skipped, 0);
  assert_int_equal(_at(a, 0)->inode, 2496146);
  assert_int_equal(_at(a, 0)->pos, 5);
  assert_string_equal(_at(a, 0)->file, "/var/log/a.log");
  assert_int_equal(_at(a, 1)->inode, G_GUINT64_CONSTANT(18446744073709551));
  relay_taildir_pos_array_free(a);
}

/* An inode >= 2^63: relayd writes it unsigned, Flume (a Java long) negative; both read back the same. A
 * position that does not fit a signed 64-bit number is skipped. */
static void
test_parse_large_inodes(void **state)
{
  guint skipped = 0;
  GString *json = g_string_new("[");
  relay_taildir_pos_format_entry(json, G_MAXUINT64, 1, "/u");
  g_string_append(json, ",{\"inode\":-1,\"pos\":2,\"file\":\"/s\"},"
                        "{\"inode\":3,\"pos\":9223372036854775808,\"file\":\"/p\"},"
                        "{\"inode\":18446744073709551616,\"pos\":4,\"file\":\"/o\"}]");
  GArray *a = _parse(json->str, &skipped);
  (void)state;
  assert_non_null(a);
  assert_int_equal(a->len, 2);
  assert_int_equal(skipped, 2);
  assert_true(_at(a, 0)->inode == G_MAXUINT64);
  assert_true(_at(a, 1)->inode == G_MAXUINT64);
  assert_int_equal(_at(a, 1)->pos, 2);
  relay_taildir_pos_array_free(a);
  g_string_free(json, TRUE);
}

static void
test_parse_pretty_unknown_escapes(void **state)
{
  guint skipped = 0;
  GArray *a = _parse(" [\n  { \"extra\" : [1, {\"x\": null}, true, -2.5e3],\n    \"file\" : "
                     "\"/a\\\"b\\\\c\\/d\\u00e9\\ud83d\\ude00\","
                     "\n    \"pos\" : 12 , \"inode\" : 7 }\n ]\n",
                     &skipped);
  (void)state;
  assert_non_null(a);
  assert_int_equal(a->len, 1);
  assert_string_equal(_at(a, 0)->file, "/a\"b\\c/d\xc3\xa9\xf0\x9f\x98\x80");
  assert_int_equal(_at(a, 0)->pos, 12);
  relay_taildir_pos_array_free(a);
}

static void
test_parse_missing_members(void **state)
{
  guint skipped = 0;
  GArray *a = _parse(
      "[{\"inode\":1,\"pos\":2},{\"inode\":3,\"file\":\"/x\"},{\"pos\":-1,\"inode\":4,\"file\":\"/y\"},"
      "{},{\"inode\":5,\"pos\":6,\"file\":\"/z\"}]",
      &skipped);
  (void)state;
  assert_non_null(a);
  assert_int_equal(a->len, 1);
  assert_int_equal(skipped, 4);
  assert_string_equal(_at(a, 0)->file, "/z");
  relay_taildir_pos_array_free(a);
}

static void
test_parse_empty_and_malformed(void **state)
{
  static const char *const bad[] = {
    "{",
    "[",
    "[{]",
    "[{\"inode\":1,}]",
    "[1]x",
    "[{\"file\":\"abc}]",
    "[{\"file\":\"a\\q\"}]",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    "[{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]",
  };
  guint skipped = 0;
  GArray *a = _parse("", &skipped);
  (void)state;
  assert_non_null(a);
  assert_int_equal(a->len, 0);
  relay_taildir_pos_array_free(a);
  a = _parse(" \n", &skipped);
  assert_non_null(a);
  relay_taildir_pos_array_free(a);
  a = _parse("[]", &skipped);
  assert_non_null(a);
  assert_int_equal(a->len, 0);
  relay_taildir_pos_array_free(a);
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++)
    assert_null(_parse(bad[i], &skipped));
}

static void
test_format_round_trip_and_save(void **state)
{
  char *dir = g_dir_make_tmp("taildir-pos-XXXXXX", NULL);
  char *path = g_build_filename(dir, "sub", "pos.json", NULL);
  char *tmp = g_strconcat(path, ".tmp", NULL);
  GString *json = g_string_new("[");
  GError *error = NULL;
  guint skipped = 0;

  (void)state;
  relay_taildir_pos_format_entry(json, 42, 100, "/l\"o\\g\n.log");
  g_string_append_c(json, ',');
  relay_taildir_pos_format_entry(json, 43, 0, "/b.log");
  g_string_append_c(json, ']');
  assert_true(relay_taildir_pos_save(path, json, &error)); /* creates sub/ */
  assert_false(g_file_test(tmp, G_FILE_TEST_EXISTS));
  GArray *a = relay_taildir_pos_load(path, &skipped, &error);
  assert_non_null(a);
  assert_int_equal(a->len, 2);
  assert_int_equal(_at(a, 0)->inode, 42);
  assert_int_equal(_at(a, 0)->pos, 100);
  assert_string_equal(_at(a, 0)->file, "/l\"o\\g\n.log");
  relay_taildir_pos_array_free(a);
  unlink(path);
  a = relay_taildir_pos_load(path, &skipped, &error); /* missing: no entries */
  assert_non_null(a);
  assert_int_equal(a->len, 0);
  relay_taildir_pos_array_free(a);
  g_string_free(json, TRUE);
  char *sub = g_path_get_dirname(path);
  rmdir(sub);
  rmdir(dir);
  g_free(sub);
  g_free(tmp);
  g_free(path);
  g_free(dir);
}

typedef struct
{
  int calls;
  gboolean failed;
} _Saved;

static void
_on_saved(const GError *error, gpointer user_data)
{
  _Saved *saved = user_data;
  saved->calls++;
  saved->failed = error != NULL;
}

/* Runs base until saved->calls is 1 (10 s at most). */
static void
_wait_saved(struct event_base *base, _Saved *saved)
{
  for (int i = 0; i < 10000 && saved->calls == 0; i++)
    {
      event_base_loop(base, EVLOOP_NONBLOCK);
      if (saved->calls == 0)
        g_usleep(1000);
    }
  assert_int_equal(saved->calls, 1);
}

static void
_assert_file(const char *path, const char *text)
{
  char *got = NULL;
  assert_true(g_file_get_contents(path, &got, NULL, NULL));
  assert_string_equal(got, text);
  g_free(got);
}

static void
test_saver(void **state)
{
  char *dir = g_dir_make_tmp("taildir-saver-XXXXXX", NULL);
  char *path = g_build_filename(dir, "pos.json", NULL);
  char *bad = g_build_filename(path, "pos.json", NULL); /* under a regular file: cannot be written */
  struct event_base *base;
  _Saved saved = { 0 }, failed = { 0 }, never = { 0 };

  (void)state;
  evthread_use_pthreads();
  base = event_base_new();
  RelayTaildirSaver *saver = relay_taildir_saver_new(base, path, _on_saved, &saved);
  assert_false(relay_taildir_saver_busy(saver));
  relay_taildir_saver_save(saver, g_string_new("[1]"));
  assert_true(relay_taildir_saver_busy(saver));
  _wait_saved(base, &saved);
  assert_false(saved.failed);
  assert_false(relay_taildir_saver_busy(saver));
  _assert_file(path, "[1]");

  RelayTaildirSaver *broken = relay_taildir_saver_new(base, bad, _on_saved, &failed);
  relay_taildir_saver_save(broken, g_string_new("[2]"));
  _wait_saved(base, &failed);
  assert_true(failed.failed);
  assert_false(relay_taildir_saver_busy(broken));
  relay_taildir_saver_free(broken);

  relay_taildir_saver_free(saver);
  saver = relay_taildir_saver_new(base, path, _on_saved, &never);
  relay_taildir_saver_save(saver, g_string_new("[3]"));
  relay_taildir_saver_free(saver); /* waits for the write */
  _assert_file(path, "[3]");
  event_base_loop(base, EVLOOP_NONBLOCK);
  assert_int_equal(never.calls, 0);
  relay_taildir_saver_free(NULL);

  event_base_free(base);
  unlink(path);
  rmdir(dir);
  g_free(bad);
  g_free(path);
  g_free(dir);
}

static void
test_group_spec(void **state)
{
  GError *error = NULL;
  RelayTailGroup *g = relay_tail_group_new("g", "/var/log/[ab]\\.log", &error);

  (void)state;
  assert_non_null(g);
  assert_string_equal(g->dir, "/var/log");
  assert_true(relay_tail_group_matches(g, "a.log"));
  assert_true(relay_tail_group_matches(g, "b.log"));
  assert_false(relay_tail_group_matches(g, "a.log.1")); /* the whole name must match */
  assert_false(relay_tail_group_matches(g, "xa.log"));
  relay_tail_group_free(g);
  g = relay_tail_group_new("g", "/var/log/c.log.*", &error);
  assert_true(relay_tail_group_matches(g, "c.log.1"));
  assert_true(relay_tail_group_matches(g, "c.log"));
  relay_tail_group_free(g);
  assert_null(relay_tail_group_new("g", "nodir", &error));
  g_clear_error(&error);
  assert_null(relay_tail_group_new("g", "/var/log/", &error));
  g_clear_error(&error);
  assert_null(relay_tail_group_new("g", "/var/log/([a-z", &error));
  g_clear_error(&error);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_parse_gson),
    cmocka_unit_test(test_parse_large_inodes),
    cmocka_unit_test(test_parse_pretty_unknown_escapes),
    cmocka_unit_test(test_parse_missing_members),
    cmocka_unit_test(test_parse_empty_and_malformed),
    cmocka_unit_test(test_format_round_trip_and_save),
    cmocka_unit_test(test_saver),
    cmocka_unit_test(test_group_spec),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
