/* test_sink_file_roll.c - unit tests for the file_roll sink with a real memory channel.
 *
 * process() is called directly on the test thread (no runner): batching, line format, file naming, roll
 * interval, the headers option, configuration errors, and write/open errors that must roll the batch back
 * into the channel. A write error is produced by replacing the sink's open file descriptor with /dev/full
 * (ENOSPC on write, EINVAL on truncate), which works even when the tests run as root. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "channel.h"
#include "component.h"
#include "event.h"
#include "sink.h"

extern const RelayComponentClass relay_channel_memory_class;
extern const RelayComponentClass relay_sink_file_roll_class;

typedef struct
{
  char *dir;
  RelayChannel *channel;
  RelaySink *sink;
} Fixture;

static int
setup(void **state)
{
  static const char *const channel_kv[] = { "capacity", "1000", "transactionCapacity", "100", NULL };
  Fixture *fx = g_new0(Fixture, 1);

  fx->dir = g_dir_make_tmp("relay-file-roll-XXXXXX", NULL);
  assert_non_null(fx->dir);
  fx->channel = (RelayChannel *)relay_component_new(&relay_channel_memory_class, "c1");
  assert_true(relay_component_configure_kv(RELAY_COMPONENT(fx->channel), channel_kv));
  assert_true(relay_component_start(RELAY_COMPONENT(fx->channel), NULL));
  *state = fx;
  return 0;
}

static void
_remove_dir(const char *dir)
{
  GDir *d = g_dir_open(dir, 0, NULL);
  const char *name;

  if (!d)
    return;
  while ((name = g_dir_read_name(d)))
    {
      char *path = g_build_filename(dir, name, NULL);
      g_unlink(path);
      g_free(path);
    }
  g_dir_close(d);
  g_rmdir(dir);
}

static int
teardown(void **state)
{
  Fixture *fx = *state;

  relay_component_free(RELAY_COMPONENT(fx->sink));
  relay_component_free(RELAY_COMPONENT(fx->channel));
  _remove_dir(fx->dir);
  g_free(fx->dir);
  g_free(fx);
  return 0;
}

/* Creates, configures (directory + extra key/value pairs) and starts the sink. */
static void
_make_sink(Fixture *fx, const char *const *extra)
{
  const char *kv[16] = { "sink.directory", fx->dir };
  GError *error = NULL;
  guint n = 2;

  for (guint i = 0; extra && extra[i]; i++)
    {
      assert_true(n < G_N_ELEMENTS(kv) - 1);
      kv[n++] = extra[i];
    }
  fx->sink = (RelaySink *)relay_component_new(&relay_sink_file_roll_class, "k1");
  fx->sink->channel = fx->channel;
  assert_true(relay_component_configure_kv(RELAY_COMPONENT(fx->sink), kv));
  assert_true(relay_component_start(RELAY_COMPONENT(fx->sink), &error));
  assert_null(error);
}

static void
_put(RelayChannel *channel, RelayEvent *ev)
{
  RelayTxn *txn = relay_channel_begin(channel);

  assert_int_equal(relay_txn_put(txn, ev), RELAY_CHANNEL_OK);
  assert_int_equal(relay_txn_commit(txn), RELAY_CHANNEL_OK);
  relay_txn_close(txn);
  relay_event_unref(ev);
}

static void
_put_bodies(RelayChannel *channel, const char *const *bodies)
{
  for (guint i = 0; bodies[i]; i++)
    _put(channel, relay_event_new_simple(bodies[i], NULL));
}

static gint
_compare_names(gconstpointer a, gconstpointer b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* File names in the directory, sorted (the counter is the last part of the name; tests stay below 10). */
static GPtrArray *
_files(const char *dir)
{
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  GDir *d = g_dir_open(dir, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name(d)))
    g_ptr_array_add(names, g_strdup(name));
  if (d)
    g_dir_close(d);
  g_ptr_array_sort(names, _compare_names);
  return names;
}

static char *
_read_file(const char *dir, const char *name)
{
  char *path = g_build_filename(dir, name, NULL);
  char *text = NULL;

  assert_true(g_file_get_contents(path, &text, NULL, NULL));
  g_free(path);
  return text;
}

static void
_assert_single_file(Fixture *fx, const char *pattern, const char *content)
{
  GPtrArray *names = _files(fx->dir);

  assert_int_equal(names->len, 1);
  assert_true(g_regex_match_simple(pattern, g_ptr_array_index(names, 0), 0, 0));
  char *text = _read_file(fx->dir, g_ptr_array_index(names, 0));
  assert_string_equal(text, content);
  g_free(text);
  g_ptr_array_unref(names);
}

/* ---- tests ---- */

static void
test_writes_events_in_order(void **state)
{
  static const char *const bodies[] = { "a", "bb", "ccc", NULL };
  Fixture *fx = *state;

  _make_sink(fx, NULL);
  assert_int_equal(relay_sink_process(fx->sink), RELAY_SINK_BACKOFF); /* empty: no file yet */
  GPtrArray *none = _files(fx->dir);
  assert_int_equal(none->len, 0);
  g_ptr_array_unref(none);
  _put_bodies(fx->channel, bodies);
  assert_int_equal(relay_sink_process(fx->sink), RELAY_SINK_BACKOFF); /* 3 < batchSize 100 */
  _assert_single_file(fx, "^[0-9]{13}-1$", "a\nbb\nccc\n");
  assert_int_equal(relay_channel_size(fx->channel), 0);
  assert_int_equal(fx->sink->counters.event_drain_success, 3);
  assert_int_equal(fx->sink->counters.batch_underflow, 1);
  assert_int_equal(fx->sink->counters.batch_empty, 1);
  assert_int_equal(fx->sink->counters.connection_created, 1);
}

static void
test_batching(void **state)
{
  static const char *const kv[] = { "sink.batchSize", "2", NULL };
  static const char *const bodies[] = { "1", "2", "3", "4", "5", NULL };
  Fixture *fx = *state;

  _make_sink(fx, kv);
  _put_bodies(fx->channel, bodies);
  assert_int_equal(relay_sink_process(fx->sink), RELAY_SINK_READY);
  assert_int_equal(relay_channel_size(fx->channel), 3);
  assert_int_equal(relay_sink_process(fx->sink), RELAY_SINK_READY);
  assert_int_equal(relay_sink_process(fx->sink), RELAY_SINK_BACKOFF);
  assert_int_equal(relay_channel_size(fx->channel), 0);
  _assert_single_file(fx, "^[0-9]+-1$", "1\n2\n3\n4\n5\n");
  assert_int_equal(fx->sink->counters.batch_complete, 2);
  assert_int_equal(fx->sink->counters.batch_underflow, 1);
  assert_int_equal(fx->sink->counters.event_drain_attempt, 5);
}

static void
test_prefix_extension_no_newline(void **state)
{
  static const char *const kv[] = { "sink.pathManager.prefix",
                                    "ev-",
                                    "sink.pathManager.extension",
                                    "log",
                                    "sink.serializer.appendNewline",
                                    "false",
                                    "sink.serializer",
                                    "text",
                                    NULL };
  static const char *const bodies[] = { "a", "", "b", NULL };
  Fixture *fx = *state;

  _make_sink(fx, kv);
  _put_bodies(fx->channel, bodies);
  relay_sink_process(fx->sink);
  _assert_single_file(fx, "^ev-[0-9]+-1\\.log$", "ab");
}

static void
test_headers_option(void **state)
{
  static const char *const kv[] = { "sink.serializer.headers", "true", NULL };
  Fixture *fx = *state;

  _make_sink(fx, kv);
  _put(fx->channel, relay_event_new_simple("x", "a", "1", "b", "two", NULL));
  _put(fx->channel, relay_event_new_simple("y", NULL));
  relay_sink_process(fx->sink);
  _assert_single_file(fx, "-1$", "{a=1, b=two} x\n{} y\n");
}

/* Flume's HEADER_AND_TEXT serializer name selects the same format. */
static void
test_header_and_text_serializer(void **state)
{
  static const char *const kv[] = { "sink.serializer", "HEADER_AND_TEXT", NULL };
  Fixture *fx = *state;

  _make_sink(fx, kv);
  _put(fx->channel, relay_event_new_simple("x", "h", "v", NULL));
  relay_sink_process(fx->sink);
  _assert_single_file(fx, "-1$", "{h=v} x\n");
}

static void
test_roll_interval(void **state)
{
  static const char *const kv[] = { "sink.rollInterval", "1", NULL };
  static const char *const first[] = { "e1", NULL };
  static const char *const second[] = { "e2", NULL };
  Fixture *fx = *state;

  _make_sink(fx, kv);
  _put_bodies(fx->channel, first);
  relay_sink_process(fx->sink);
  relay_sink_process(fx->sink); /* within the interval: same file, nothing new */
  g_usleep(1050 * 1000);
  _put_bodies(fx->channel, second);
  relay_sink_process(fx->sink);

  GPtrArray *names = _files(fx->dir);
  assert_int_equal(names->len, 2);
  const char *name1 = g_ptr_array_index(names, 0), *name2 = g_ptr_array_index(names, 1);
  assert_true(g_str_has_suffix(name1, "-1") && g_str_has_suffix(name2, "-2"));
  assert_int_equal(strcspn(name1, "-"), strcspn(name2, "-")); /* same series start time */
  assert_memory_equal(name1, name2, strcspn(name1, "-"));
  char *text1 = _read_file(fx->dir, name1), *text2 = _read_file(fx->dir, name2);
  assert_string_equal(text1, "e1\n");
  assert_string_equal(text2, "e2\n");
  g_free(text1);
  g_free(text2);
  g_ptr_array_unref(names);
  assert_int_equal(fx->sink->counters.connection_closed, 1);
}

/* The fd number of the file the sink has open in dir, or -1. */
static int
_find_sink_fd(const char *dir)
{
  GDir *d = g_dir_open("/proc/self/fd", 0, NULL);
  const char *name;
  int found = -1;

  while (d && found < 0 && (name = g_dir_read_name(d)))
    {
      char *link = g_strdup_printf("/proc/self/fd/%s", name);
      char *target = g_file_read_link(link, NULL);
      if (target && g_str_has_prefix(target, dir) && target[strlen(dir)] == '/')
        found = atoi(name);
      g_free(target);
      g_free(link);
    }
  if (d)
    g_dir_close(d);
  return found;
}

/* A failed write rolls the batch back into the channel; the sink then recovers with a new file. */
static void
test_write_error_rolls_back(void **state)
{
  static const char *const first[] = { "ok", NULL };
  static const char *const batch[] = { "e1", "e2", NULL };
  Fixture *fx = *state;

  _make_sink(fx, NULL);
  _put_bodies(fx->channel, first);
  relay_sink_process(fx->sink);
  int fd = _find_sink_fd(fx->dir);
  assert_true(fd >= 0);
  int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
  assert_true(full >= 0);
  assert_int_equal(dup2(full, fd), fd);
  close(full);

  _put_bodies(fx->channel, batch);
  assert_int_equal(relay_sink_process(fx->sink), RELAY_SINK_FAILED);
  assert_int_equal(relay_channel_size(fx->channel), 2);
  assert_int_equal(fx->sink->counters.event_write_fail, 2);
  assert_int_equal(fx->sink->counters.connection_closed, 1); /* /dev/full cannot be truncated: closed */

  assert_int_equal(relay_sink_process(fx->sink), RELAY_SINK_BACKOFF);
  assert_int_equal(relay_channel_size(fx->channel), 0);
  GPtrArray *names = _files(fx->dir);
  assert_int_equal(names->len, 2);
  char *text1 = _read_file(fx->dir, g_ptr_array_index(names, 0));
  char *text2 = _read_file(fx->dir, g_ptr_array_index(names, 1));
  assert_string_equal(text1, "ok\n");
  assert_string_equal(text2, "e1\ne2\n");
  g_free(text1);
  g_free(text2);
  g_ptr_array_unref(names);
}

/* The directory disappears after start: the open fails, the events stay in the channel in order. */
static void
test_open_error_rolls_back(void **state)
{
  static const char *const bodies[] = { "e1", "e2", NULL };
  Fixture *fx = *state;

  _make_sink(fx, NULL);
  assert_int_equal(g_rmdir(fx->dir), 0);
  _put_bodies(fx->channel, bodies);
  assert_int_equal(relay_sink_process(fx->sink), RELAY_SINK_FAILED);
  assert_int_equal(relay_channel_size(fx->channel), 2);
  assert_int_equal(fx->sink->counters.connection_failed, 1);

  assert_int_equal(g_mkdir(fx->dir, 0700), 0);
  assert_int_equal(relay_sink_process(fx->sink), RELAY_SINK_BACKOFF);
  _assert_single_file(fx, "-1$", "e1\ne2\n"); /* the failed name is used again */
}

static void
test_start_checks_directory(void **state)
{
  Fixture *fx = *state;
  char *missing = g_build_filename(fx->dir, "missing", NULL);
  char *file = g_build_filename(fx->dir, "plain", NULL);
  const char *kv[] = { "sink.directory", missing, NULL };
  GError *error = NULL;

  assert_true(g_file_set_contents(file, "", 0, NULL));
  fx->sink = (RelaySink *)relay_component_new(&relay_sink_file_roll_class, "k1");
  assert_true(relay_component_configure_kv(RELAY_COMPONENT(fx->sink), kv));
  assert_false(relay_component_start(RELAY_COMPONENT(fx->sink), &error));
  assert_non_null(strstr(error->message, "sink.directory"));
  assert_non_null(strstr(error->message, "No such file"));
  g_clear_error(&error);
  relay_component_free(RELAY_COMPONENT(fx->sink));

  kv[1] = file;
  fx->sink = (RelaySink *)relay_component_new(&relay_sink_file_roll_class, "k1");
  assert_true(relay_component_configure_kv(RELAY_COMPONENT(fx->sink), kv));
  assert_false(relay_component_start(RELAY_COMPONENT(fx->sink), &error));
  assert_non_null(strstr(error->message, "is not a directory"));
  g_clear_error(&error);
  g_free(missing);
  g_free(file);
}

static void
test_configuration_errors(void **state)
{
  static const char *const avro[] = { "sink.directory", "/tmp", "sink.serializer", "avro_event", NULL };
  static const char *const rolltime[] = { "sink.directory", "/tmp", "sink.pathManager", "ROLLTIME", NULL };
  static const char *const no_dir[] = { "sink.rollInterval", "5", NULL };
  static const char *const negative[] = { "sink.directory", "/tmp", "sink.rollInterval", "-1", NULL };
  const char *const *cases[] = { avro, rolltime, no_dir, negative };
  Fixture *fx = *state;

  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
    {
      RelayComponent *sink = relay_component_new(&relay_sink_file_roll_class, "k1");
      assert_false(relay_component_configure_kv(sink, cases[i]));
      relay_component_free(sink);
    }
  fx->sink = NULL;
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_writes_events_in_order, setup, teardown),
    cmocka_unit_test_setup_teardown(test_batching, setup, teardown),
    cmocka_unit_test_setup_teardown(test_prefix_extension_no_newline, setup, teardown),
    cmocka_unit_test_setup_teardown(test_headers_option, setup, teardown),
    cmocka_unit_test_setup_teardown(test_header_and_text_serializer, setup, teardown),
    cmocka_unit_test_setup_teardown(test_roll_interval, setup, teardown),
    cmocka_unit_test_setup_teardown(test_write_error_rolls_back, setup, teardown),
    cmocka_unit_test_setup_teardown(test_open_error_rolls_back, setup, teardown),
    cmocka_unit_test_setup_teardown(test_start_checks_directory, setup, teardown),
    cmocka_unit_test_setup_teardown(test_configuration_errors, setup, teardown),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
