/* test_outage_log.c - unit tests for src/outage_log.c: a repeating failure is logged once, then at most one
 * summary per interval (with the counts), then its recovery once (issue 19).
 *
 * The summary interval is 1 s here; the bounds below hold however slowly the machine runs, because a slower
 * machine only spaces the failures further apart. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "log.h"
#include "outage_log.h"

static GPtrArray *_lines;

static void
_capture(RelayLogLevel level, const char *line, gpointer user_data)
{
  g_ptr_array_add(_lines, g_strdup_printf("%s %s", relay_log_level_name(level), line));
}

static guint
_count(const char *needle)
{
  guint n = 0;
  for (guint i = 0; i < _lines->len; i++)
    if (strstr(g_ptr_array_index(_lines, i), needle))
      n++;
  return n;
}

static int
_setup(void **state)
{
  _lines = g_ptr_array_new_with_free_func(g_free);
  relay_log_set_handler(_capture, NULL);
  relay_log_set_level(RELAY_LOG_INFO);
  return 0;
}

static int
_teardown(void **state)
{
  relay_log_set_handler(NULL, NULL);
  g_ptr_array_unref(_lines);
  return 0;
}

static void
test_once_then_summaries_then_recovery(void **state)
{
  RelayOutageLog o;
  gint64 start = g_get_monotonic_time();
  guint failures = 0;

  relay_outage_log_init(&o, 1);
  assert_false(relay_outage_log_success(&o, "sink:x:k1", "connected")); /* nothing was failing */
  assert_int_equal(_lines->len, 0);
  while (g_get_monotonic_time() - start < 2500 * G_TIME_SPAN_MILLISECOND)
    {
      relay_outage_log_failure(&o, RELAY_LOG_WARN, "sink:x:k1", "cannot connect to h:1");
      failures++;
      g_usleep(50 * 1000);
    }
  gint64 elapsed_s = (g_get_monotonic_time() - start) / G_USEC_PER_SEC;
  assert_true(relay_outage_log_failing(&o));
  assert_int_equal(_count("cannot connect to h:1; a summary follows every 1 s until it recovers"), 1);
  guint summaries = _count("cannot connect to h:1; still failing after ");
  assert_in_range(summaries, 1, (guint)elapsed_s + 1);
  assert_int_equal(_lines->len, 1 + summaries);
  assert_non_null(strstr(g_ptr_array_index(_lines, 0), "WARN"));
  assert_non_null(strstr(g_ptr_array_index(_lines, 1), " failures ("));

  char *recovered = g_strdup_printf("connected again peer=h:1 after ");
  assert_true(relay_outage_log_success(&o, "sink:x:k1", "connected again peer=h:1"));
  assert_int_equal(_count(recovered), 1);
  char *count = g_strdup_printf(" and %u failures", failures);
  assert_non_null(strstr(g_ptr_array_index(_lines, _lines->len - 1), count));
  assert_non_null(strstr(g_ptr_array_index(_lines, _lines->len - 1), "INFO"));
  assert_false(relay_outage_log_failing(&o));
  assert_false(relay_outage_log_success(&o, "sink:x:k1", "connected again"));

  /* The next outage is logged from its start again. */
  relay_outage_log_failure(&o, RELAY_LOG_WARN, "sink:x:k1", "cannot connect to h:1");
  assert_int_equal(_count("cannot connect to h:1; a summary follows every 1 s"), 2);
  g_free(count);
  g_free(recovered);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_once_then_summaries_then_recovery, _setup, _teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
