/* test_options.c - unit tests of the declarative option tables (src/options.c).
 *
 * A test component "sources.r1" is built by hand (its properties point at RelayProp entries the test owns,
 * with chosen line numbers), then an option table with one row of every type is applied to it; the tests
 * check field values, return values and the exact report lines. */
#include "config.h"
#include "log.h"
#include "options.h"
#include "props.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

typedef struct
{
  gint64 port;
  gint64 count;
  gboolean flag;
  char *name;
  int mode;
  double ratio;
  char *suffix;
  gint64 capacity;
  gint64 threads;
  char *note;
} TestInstance;

static const char *const _modes[] = { "fast", "safe", "paranoid", NULL };

static const RelayOption _options[] = {
  RELAY_OPT_INT_ROW("port", NULL, 1, 65535, TestInstance, port, RELAY_OPTF_REQUIRED, "listen port"),
  RELAY_OPT_INT_ROW("count", "10", 1, 0, TestInstance, count, 0, "no range"),
  RELAY_OPT_BOOL_ROW("flag", "false", TestInstance, flag, 0, "a switch"),
  RELAY_OPT_STRING_ROW("name", "dflt", TestInstance, name, 0, "a name"),
  RELAY_OPT_ENUM_ROW("mode", "safe", _modes, TestInstance, mode, 0, "a mode"),
  RELAY_OPT_DOUBLE_ROW("ratio", "0.5", TestInstance, ratio, 0, "a ratio"),
  RELAY_OPT_STRING_ROW("suffix", "", TestInstance, suffix, RELAY_OPTF_EMPTY_OK, "may be empty"),
  RELAY_OPT_INT_ROW("capacity", "100", 1, 1000, TestInstance, capacity, RELAY_OPTF_LENIENT, "lenient"),
  RELAY_OPT_INT_ROW("threads", "4", 1, 64, TestInstance, threads, RELAY_OPTF_IGNORED,
                    "Flume 1.10 ignores it"),
  RELAY_OPT_STRING_ROW("note", NULL, TestInstance, note, 0, "no default"),
  RELAY_OPTION_END,
};

typedef struct
{
  RelayComponentConfig cc;
  GPtrArray *owned; /* RelayProp* */
  RelayConfigReport *report;
  TestInstance inst;
  GPtrArray *log_lines;
} Fixture;

static void
_free_prop(gpointer data)
{
  RelayProp *prop = data;

  g_free(prop->key);
  g_free(prop->value);
  g_free(prop);
}

static void
_capture_log(RelayLogLevel level, const char *line, gpointer user_data)
{
  Fixture *fx = user_data;

  g_ptr_array_add(fx->log_lines, g_strdup_printf("%s|%s", relay_log_level_name(level), strstr(line, "[")));
}

/* Sets sub-key key of the test component to value, as if read from t.conf at line. */
static void
_set(Fixture *fx, const char *key, const char *value, guint line)
{
  RelayProp *prop = g_new0(RelayProp, 1);

  prop->key = g_strdup_printf("a.sources.r1.%s", key);
  prop->value = g_strdup(value);
  prop->file = "t.conf";
  prop->line = line;
  g_ptr_array_add(fx->owned, prop);
  g_hash_table_insert(fx->cc.props, g_strdup(key), prop);
}

static int
_setup(void **state)
{
  Fixture *fx = g_new0(Fixture, 1);

  fx->cc.kind = RELAY_KIND_SOURCE;
  fx->cc.name = g_strdup("r1");
  fx->cc.label = g_strdup("sources.r1");
  fx->cc.props = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  fx->owned = g_ptr_array_new_with_free_func(_free_prop);
  fx->report = relay_config_report_new();
  fx->log_lines = g_ptr_array_new_with_free_func(g_free);
  relay_log_set_handler(_capture_log, fx);
  _set(fx, "type", "test", 1);
  relay_options_set_defaults(_options, &fx->inst);
  *state = fx;
  return 0;
}

static int
_teardown(void **state)
{
  Fixture *fx = *state;

  relay_log_set_handler(NULL, NULL);
  relay_options_free(_options, &fx->inst);
  g_hash_table_destroy(fx->cc.props);
  g_ptr_array_unref(fx->owned);
  g_ptr_array_unref(fx->log_lines);
  relay_config_report_free(fx->report);
  g_free(fx->cc.name);
  g_free(fx->cc.label);
  g_free(fx);
  return 0;
}

static gboolean
_apply(Fixture *fx)
{
  return relay_options_apply(_options, &fx->inst, &fx->cc, fx->report);
}

static void
_assert_report(Fixture *fx, ...)
{
  va_list ap;
  guint i = 0;
  const char *expected;

  va_start(ap, fx);
  while ((expected = va_arg(ap, const char *)))
    {
      if (i >= fx->report->lines->len)
        fail_msg("missing report line %u: %s", i, expected);
      assert_string_equal(g_ptr_array_index(fx->report->lines, i), expected);
      i++;
    }
  va_end(ap);
  if (i != fx->report->lines->len)
    fail_msg("unexpected report line: %s", (const char *)g_ptr_array_index(fx->report->lines, i));
}

static void
test_parse_int(void **state)
{
  static const struct
  {
    const char *text;
    gboolean ok;
    gint64 value;
  } cases[] = {
    { "0", TRUE, 0 },
    { "+5", TRUE, 5 },
    { "-5", TRUE, -5 },
    { "007", TRUE, 7 },
    { "9223372036854775807", TRUE, G_MAXINT64 },
    { "-9223372036854775808", TRUE, G_MININT64 },
    { "9223372036854775808", FALSE, 0 },
    { "-9223372036854775809", FALSE, 0 },
    { "99999999999999999999", FALSE, 0 },
    { "", FALSE, 0 },
    { "+", FALSE, 0 },
    { "-", FALSE, 0 },
    { "12a", FALSE, 0 },
    { " 1", FALSE, 0 },
    { "1 ", FALSE, 0 },
    { "0x10", FALSE, 0 },
    { "1.0", FALSE, 0 },
    { "--1", FALSE, 0 },
    { "+-1", FALSE, 0 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
    {
      gint64 value = 12345;
      gboolean ok = relay_options_parse_int(cases[i].text, &value);
      if (ok != cases[i].ok)
        fail_msg("'%s': expected %s", cases[i].text, cases[i].ok ? "success" : "failure");
      assert_int_equal(value, cases[i].ok ? cases[i].value : 12345);
    }
}

static void
test_defaults(void **state)
{
  Fixture *fx = *state;

  assert_int_equal(fx->inst.port, 0);
  assert_int_equal(fx->inst.count, 10);
  assert_false(fx->inst.flag);
  assert_string_equal(fx->inst.name, "dflt");
  assert_int_equal(fx->inst.mode, 1);
  assert_true(fx->inst.ratio == 0.5);
  assert_string_equal(fx->inst.suffix, "");
  assert_int_equal(fx->inst.capacity, 100);
  assert_int_equal(fx->inst.threads, 4);
  assert_null(fx->inst.note);
}

static void
test_every_type(void **state)
{
  Fixture *fx = *state;

  _set(fx, "port", "4141", 2);
  _set(fx, "count", "-3000000000", 3);
  _set(fx, "flag", "TRUE", 4);
  _set(fx, "name", "collector", 5);
  _set(fx, "mode", "PARANOID", 6);
  _set(fx, "ratio", "1.5e3", 7);
  _set(fx, "capacity", "1000", 8);
  _set(fx, "note", "hello", 9);
  assert_true(_apply(fx));
  _assert_report(fx, NULL);
  assert_int_equal(fx->inst.port, 4141);
  assert_int_equal(fx->inst.count, G_GINT64_CONSTANT(-3000000000));
  assert_true(fx->inst.flag);
  assert_string_equal(fx->inst.name, "collector");
  assert_int_equal(fx->inst.mode, 2);
  assert_true(fx->inst.ratio == 1500.0);
  assert_int_equal(fx->inst.capacity, 1000);
  assert_string_equal(fx->inst.note, "hello");
  assert_int_equal(fx->log_lines->len, 0);
}

static void
test_bool_values(void **state)
{
  Fixture *fx = *state;

  _set(fx, "port", "1", 2);
  _set(fx, "flag", "fAlSe", 3);
  fx->inst.flag = TRUE;
  assert_true(_apply(fx));
  assert_false(fx->inst.flag);
  _set(fx, "flag", "yes", 4);
  assert_false(_apply(fx));
  _assert_report(
      fx,
      "t.conf:4: sources.r1: flag: 'yes' is neither true nor false (Flume would silently read it as "
      "false); source r1 removed",
      NULL);
}

static void
test_range_bounds(void **state)
{
  Fixture *fx = *state;

  _set(fx, "port", "65535", 2);
  assert_true(_apply(fx));
  assert_int_equal(fx->inst.port, 65535);
  _set(fx, "port", "1", 2);
  assert_true(_apply(fx));
  assert_int_equal(fx->inst.port, 1);
  _set(fx, "port", "70000", 12);
  assert_false(_apply(fx));
  _set(fx, "port", "0", 13);
  assert_false(_apply(fx));
  _assert_report(fx, "t.conf:12: sources.r1: port: 70000 is out of range 1..65535; source r1 removed",
                 "t.conf:13: sources.r1: port: 0 is out of range 1..65535; source r1 removed", NULL);
}

static void
test_required_missing(void **state)
{
  Fixture *fx = *state;

  assert_false(_apply(fx));
  _assert_report(fx, "t.conf:1: sources.r1: port: required key missing; source r1 removed", NULL);
}

static void
test_strict_errors_all_reported(void **state)
{
  Fixture *fx = *state;

  _set(fx, "port", "41x", 2);
  _set(fx, "count", "9223372036854775808", 3);
  _set(fx, "mode", "slow", 4);
  _set(fx, "ratio", "1.5x", 5);
  _set(fx, "name", "", 6);
  _set(fx, "flag", "true", 7);
  assert_false(_apply(fx));
  _assert_report(fx, "t.conf:2: sources.r1: port: '41x' is not an integer; source r1 removed",
                 "t.conf:3: sources.r1: count: '9223372036854775808' is not an integer; source r1 removed",
                 "t.conf:6: sources.r1: name: empty value; source r1 removed",
                 "t.conf:4: sources.r1: mode: 'slow' is not one of: fast, safe, paranoid; source r1 removed",
                 "t.conf:5: sources.r1: ratio: '1.5x' is not a finite number; source r1 removed", NULL);
  /* rows after the bad ones were still applied; bad rows kept their defaults */
  assert_true(fx->inst.flag);
  assert_int_equal(fx->inst.count, 10);
  assert_int_equal(fx->inst.mode, 1);
  assert_true(fx->inst.ratio == 0.5);
  assert_string_equal(fx->inst.name, "dflt");
}

static void
test_double_rejects_non_finite(void **state)
{
  Fixture *fx = *state;

  _set(fx, "port", "1", 2);
  _set(fx, "ratio", "nan", 3);
  assert_false(_apply(fx));
  _set(fx, "ratio", " 1", 3);
  assert_false(_apply(fx));
  _set(fx, "ratio", "-0.25", 3);
  assert_true(_apply(fx));
  assert_true(fx->inst.ratio == -0.25);
  assert_int_equal(fx->report->lines->len, 2);
}

static void
test_lenient(void **state)
{
  Fixture *fx = *state;

  _set(fx, "port", "1", 2);
  _set(fx, "capacity", "5000", 9);
  assert_true(_apply(fx));
  assert_int_equal(fx->inst.capacity, 100);
  _assert_report(fx, "t.conf:9: sources.r1: capacity: 5000 is out of range 1..1000; using default 100", NULL);
}

/* Issue 19: a lenient row forgives a value out of range, never one that does not parse ("10k" is not 10,000
 * and not the default either): the component is removed, as Flume's NumberFormatException removes it. */
static void
test_lenient_unparsable_removes(void **state)
{
  Fixture *fx = *state;

  _set(fx, "port", "1", 2);
  _set(fx, "capacity", "10k", 10);
  assert_false(_apply(fx));
  _assert_report(fx, "t.conf:10: sources.r1: capacity: '10k' is not an integer; source r1 removed", NULL);
}

static void
test_empty_ok_string(void **state)
{
  Fixture *fx = *state;

  _set(fx, "port", "1", 2);
  _set(fx, "suffix", "", 3);
  assert_true(_apply(fx));
  assert_string_equal(fx->inst.suffix, "");
  _set(fx, "suffix", ".log", 3);
  assert_true(_apply(fx));
  assert_string_equal(fx->inst.suffix, ".log");
  _assert_report(fx, NULL);
}

static void
test_ignored_is_logged(void **state)
{
  Fixture *fx = *state;

  _set(fx, "port", "1", 2);
  _set(fx, "threads", "not-even-a-number", 3);
  assert_true(_apply(fx));
  _assert_report(fx, NULL);
  assert_int_equal(fx->inst.threads, 4);
  assert_int_equal(fx->log_lines->len, 1);
  assert_string_equal(g_ptr_array_index(fx->log_lines, 0),
                      "INFO|[source:test:r1] threads is accepted and has no effect: Flume 1.10 ignores it");
}

static void
test_find(void **state)
{
  assert_ptr_equal(relay_options_find(_options, "mode"), &_options[4]);
  assert_null(relay_options_find(_options, "nope"));
  assert_null(relay_options_find(_options, "Mode"));
}

static void
test_print_help(void **state)
{
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);

  relay_options_print_help(_options, out);
  fclose(out);
  assert_string_equal(text, "  port (int, required, range 1..65535): listen port\n"
                            "  count (int, default 10): no range\n"
                            "  flag (bool, default false): a switch\n"
                            "  name (string, default dflt): a name\n"
                            "  mode (enum fast|safe|paranoid, default safe): a mode\n"
                            "  ratio (double, default 0.5): a ratio\n"
                            "  suffix (string, default \"\"): may be empty\n"
                            "  capacity (int, default 100, range 1..1000): lenient\n"
                            "  threads (int, default 4, range 1..64, no effect): Flume 1.10 ignores it\n"
                            "  note (string): no default\n");
  free(text);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_parse_int),
    cmocka_unit_test_setup_teardown(test_defaults, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_every_type, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_bool_values, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_range_bounds, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_required_missing, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_strict_errors_all_reported, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_double_rejects_non_finite, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_lenient, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_lenient_unparsable_removes, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_empty_ok_string, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_ignored_is_logged, _setup, _teardown),
    cmocka_unit_test(test_find),
    cmocka_unit_test(test_print_help),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
