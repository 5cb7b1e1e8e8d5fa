/* test_props.c - unit tests of the Java properties parser and ${...} substitution (src/props.c).
 *
 * Each test loads a small text with relay_props_load_string() (file name "t.conf") and checks the exact
 * keys, values, line numbers and report lines. */
#include "config.h"
#include "props.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct
{
  RelayProps *props;
  RelayConfigReport *report;
} Fixture;

static int
_setup(void **state)
{
  Fixture *fx = g_new0(Fixture, 1);

  fx->props = relay_props_new();
  fx->report = relay_config_report_new();
  *state = fx;
  return 0;
}

static int
_teardown(void **state)
{
  Fixture *fx = *state;

  relay_props_free(fx->props);
  relay_config_report_free(fx->report);
  g_free(fx);
  return 0;
}

static void
_load(Fixture *fx, const char *text)
{
  relay_props_load_string(fx->props, "t.conf", text, fx->report);
}

/* Asserts that key has value and starts on line. */
static void
_assert_prop(Fixture *fx, const char *key, const char *value, guint line)
{
  const RelayProp *prop = relay_props_get(fx->props, key);

  if (!prop)
    fail_msg("key '%s' not found", key);
  assert_string_equal(prop->key, key);
  assert_string_equal(prop->value, value);
  assert_int_equal(prop->line, line);
}

/* Asserts the report holds exactly the given lines (NULL-terminated). */
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

static guint
_n_entries(Fixture *fx)
{
  guint n;

  relay_props_entries(fx->props, &n);
  return n;
}

static void
test_separators(void **state)
{
  Fixture *fx = *state;

  _load(fx, "a=1\nb:2\nc 3\nd = 4\ne : 5\nf\t=\t6\ng==7\nh=:8\ni = = 9\nj\f\fx y\n");
  _assert_prop(fx, "a", "1", 1);
  _assert_prop(fx, "b", "2", 2);
  _assert_prop(fx, "c", "3", 3);
  _assert_prop(fx, "d", "4", 4);
  _assert_prop(fx, "e", "5", 5);
  _assert_prop(fx, "f", "6", 6);
  _assert_prop(fx, "g", "=7", 7);
  _assert_prop(fx, "h", ":8", 8);
  _assert_prop(fx, "i", "= 9", 9);
  _assert_prop(fx, "j", "x y", 10);
  assert_int_equal(_n_entries(fx), 10);
  _assert_report(fx, NULL);
}

static void
test_escaped_separators_in_key(void **state)
{
  Fixture *fx = *state;

  _load(fx, "a\\=b = c\nx\\:y:z\nkey\\ with\\ spaces = v w\n\\ lead = t\n");
  _assert_prop(fx, "a=b", "c", 1);
  _assert_prop(fx, "x:y", "z", 2);
  _assert_prop(fx, "key with spaces", "v w", 3);
  _assert_prop(fx, "lead", "t", 4); /* "\ lead" decodes to " lead", then trimmed as Flume does */
  _assert_report(fx, NULL);
}

static void
test_continuation(void **state)
{
  Fixture *fx = *state;

  _load(fx, "a = one \\\n      two \\\n\tthree\n"
            "b = x\\\\\n"
            "c = 3\n"
            "d = y\\\\\\\n   z\n"
            "lo\\\n  ng = v\n"
            "e = cut\\\n"
            "\n"
            "f = 6\n"
            "g = end\\");
  _assert_prop(fx, "a", "one two three", 1);
  _assert_prop(fx, "b", "x\\", 4); /* even number of backslashes: an escaped backslash, no continuation */
  _assert_prop(fx, "c", "3", 5);
  _assert_prop(fx, "d", "y\\z", 6);
  _assert_prop(fx, "long", "v", 8);
  _assert_prop(fx, "e", "cut", 10); /* an empty line ends the continuation */
  _assert_prop(fx, "f", "6", 12);
  _assert_prop(fx, "g", "end", 13); /* continuation at the end of the text */
  assert_int_equal(_n_entries(fx), 8);
  _assert_report(fx, NULL);
}

static void
test_continuation_line_is_not_a_comment(void **state)
{
  Fixture *fx = *state;

  _load(fx, "a = x\\\n  # y\n# c \\\nb = 2\n");
  _assert_prop(fx, "a", "x# y", 1);
  _assert_prop(fx, "b", "2", 4); /* a comment line does not continue */
  assert_int_equal(_n_entries(fx), 2);
}

static void
test_comments_and_blank_lines(void **state)
{
  Fixture *fx = *state;

  _load(fx, "# comment\n   # indented comment\n\t! bang comment\n!x=y\n\n   \n\t\f\na = b # not a comment\n");
  _assert_prop(fx, "a", "b # not a comment", 8);
  assert_int_equal(_n_entries(fx), 1);
  _assert_report(fx, NULL);
}

static void
test_escapes(void **state)
{
  Fixture *fx = *state;

  _load(fx, "t = a\\tb\\nc\\rd\\fe\\qf\\\\g\\\"h\n"
            "u = \\u00e9\\u20AC\\uD83D\\uDE00!\n"
            "\\u006b\\u0065y = k\n"
            "w = \\u0020 x \\t\n");
  _assert_prop(fx, "t",
               "a\tb\nc\rd\fe"
               "qf\\g\"h",
               1);
  _assert_prop(fx, "u", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80!", 2);
  _assert_prop(fx, "key", "k", 3);
  _assert_prop(fx, "w", "x", 4); /* escaped blanks at the ends are trimmed as Flume does */
  _assert_report(fx, NULL);
}

static void
test_malformed_unicode(void **state)
{
  Fixture *fx = *state;

  _load(fx, "a = \\u12G4\nb = \\u12\nc = \\uD83D x\nd = \\uDE00\ne = \\u0000\n\\uZZ = v\nok = 1\n");
  assert_null(relay_props_get(fx->props, "a"));
  assert_null(relay_props_get(fx->props, "e"));
  _assert_prop(fx, "ok", "1", 7);
  assert_int_equal(_n_entries(fx), 1);
  _assert_report(fx, "t.conf:1: a: malformed \\uXXXX escape; entry ignored",
                 "t.conf:2: b: malformed \\uXXXX escape; entry ignored",
                 "t.conf:3: c: \\uXXXX escape with an unpaired UTF-16 surrogate; entry ignored",
                 "t.conf:4: d: \\uXXXX escape with an unpaired UTF-16 surrogate; entry ignored",
                 "t.conf:5: e: \\u0000 (NUL) is not supported; entry ignored",
                 "t.conf:6: \\uZZ: malformed \\uXXXX escape; entry ignored", NULL);
}

static void
test_line_ends(void **state)
{
  Fixture *fx = *state;

  _load(fx, "a=1\r\nb=2\rc=3\n\r\nd=x\\\r\n   y\r\ne=5\r");
  _assert_prop(fx, "a", "1", 1);
  _assert_prop(fx, "b", "2", 2);
  _assert_prop(fx, "c", "3", 3);
  _assert_prop(fx, "d", "xy", 5);
  _assert_prop(fx, "e", "5", 7);
  assert_int_equal(_n_entries(fx), 5);
  _assert_report(fx, NULL);
}

static void
test_duplicates_keep_first_order(void **state)
{
  Fixture *fx = *state;
  guint n;

  _load(fx, "a=1\nb=2\na=3\n");
  const RelayProp *const *entries = relay_props_entries(fx->props, &n);
  assert_int_equal(n, 2);
  assert_string_equal(entries[0]->key, "a");
  assert_string_equal(entries[1]->key, "b");
  _assert_prop(fx, "a", "3", 3);
  _assert_report(fx, NULL);
}

static void
test_empty_value(void **state)
{
  Fixture *fx = *state;

  _load(fx, "a =\nb\nc = \\\n\nd = 4\nd = \n=v\n");
  assert_int_equal(_n_entries(fx), 0);
  _assert_report(
      fx, "t.conf:1: a: empty value, ignored", "t.conf:2: b: empty value, ignored",
      "t.conf:3: c: empty value, ignored",
      "t.conf:6: d: empty value, ignored; it also overrides the value set at t.conf:5, which is dropped too",
      "t.conf:7: empty key, ignored", NULL);
}

/* Entries dropped by a later empty value leave the others in order; 50,000 of them stay fast (the array is
 * compacted once per load instead of searched once per empty value). */
static void
test_empty_value_drops_many(void **state)
{
  Fixture *fx = *state;
  GString *text = g_string_new("first = 1\n");
  guint n;

  for (int i = 0; i < 50000; i++)
    g_string_append_printf(text, "k%d = v\n", i);
  for (int i = 0; i < 50000; i++)
    g_string_append_printf(text, "k%d =\n", i);
  g_string_append(text, "last = 2\nk7 = again\n");
  _load(fx, text->str);
  const RelayProp *const *entries = relay_props_entries(fx->props, &n);
  assert_int_equal(n, 3);
  assert_string_equal(entries[0]->key, "first");
  assert_string_equal(entries[1]->key, "last");
  assert_string_equal(entries[2]->key, "k7");
  _assert_prop(fx, "k7", "again", 100003);
  assert_null(relay_props_get(fx->props, "k8"));
  assert_int_equal(relay_config_report_count(fx->report), 50000);
  g_string_free(text, TRUE);
}

static void
test_several_sources(void **state)
{
  Fixture *fx = *state;

  relay_props_load_string(fx->props, "one.conf", "a = 1\nb = 2\n", fx->report);
  relay_props_load_string(fx->props, "two.conf", "\nb = 3\n", fx->report);
  _assert_prop(fx, "a", "1", 1);
  _assert_prop(fx, "b", "3", 2);
  assert_string_equal(relay_props_get(fx->props, "a")->file, "one.conf");
  assert_string_equal(relay_props_get(fx->props, "b")->file, "two.conf");
}

/* relay_props_agent_entries: the entries of one agent, in file order; the index follows later loads and
 * entries dropped by an empty value (issue 14: --check-topology reads thousands of agents). */
static void
test_agent_entries(void **state)
{
  Fixture *fx = *state;
  guint n;

  _load(fx, "a.sources = r1\nb.sinks = k1\nab.x = 1\na.channels = c1\nnodot = 2\n");
  const RelayProp *const *entries = relay_props_agent_entries(fx->props, "a", &n);
  assert_int_equal(n, 2);
  assert_string_equal(entries[0]->key, "a.sources");
  assert_string_equal(entries[1]->key, "a.channels");
  assert_null(relay_props_agent_entries(fx->props, "c", &n));
  assert_int_equal(n, 0);
  _load(fx, "a.sinks = k2\na.sources =\n");
  entries = relay_props_agent_entries(fx->props, "a", &n);
  assert_int_equal(n, 2);
  assert_string_equal(entries[0]->key, "a.channels");
  assert_string_equal(entries[1]->key, "a.sinks");
  relay_props_set(fx->props, "set", 1, "c.sources", "r9");
  relay_props_agent_entries(fx->props, "c", &n);
  assert_int_equal(n, 1);
  relay_props_agent_entries(fx->props, "a.b", &n); /* a name with a dot: every entry, the caller filters */
  assert_int_equal(n, 6);
}

static void
test_load_file(void **state)
{
  Fixture *fx = *state;
  char *path = NULL;
  GError *error = NULL;
  int fd = g_file_open_tmp("test_props_XXXXXX", &path, NULL);

  assert_true(fd >= 0);
  assert_int_equal(write(fd, "a = 1\nnul = x\0y\nb = 2\n", 22), 22);
  close(fd);
  assert_true(relay_props_load_file(fx->props, path, fx->report, &error));
  assert_null(error);
  _assert_prop(fx, "a", "1", 1);
  _assert_prop(fx, "b", "2", 3);
  assert_string_equal(relay_props_get(fx->props, "a")->file, path);
  char *expected = g_strdup_printf("%s:2: NUL byte in the line; entry ignored", path);
  _assert_report(fx, expected, NULL);
  g_free(expected);
  unlink(path);
  assert_false(relay_props_load_file(fx->props, path, fx->report, &error));
  assert_true(g_error_matches(error, RELAY_ERROR, RELAY_ERROR_IO));
  g_error_free(error);
  g_free(path);
}

static void
test_invalid_utf8_replaced(void **state)
{
  Fixture *fx = *state;

  _load(fx, "a = x\xff y\n");
  _assert_prop(fx, "a", "x\xef\xbf\xbd y", 1);
  _assert_report(fx, "t.conf:1: a: invalid UTF-8 in the value, replaced by U+FFFD", NULL);
}

static void
test_resolve_env(void **state)
{
  Fixture *fx = *state;

  g_setenv("RELAY_TEST_VAR", "val", TRUE);
  g_unsetenv("RELAY_TEST_MISSING");
  _load(fx, "a = ${env:RELAY_TEST_VAR}/x/${env:RELAY_TEST_VAR}\n"
            "b = pre ${env:RELAY_TEST_MISSING} post\n"
            "c = $${env:RELAY_TEST_VAR}\n"
            "d = ${sys:user.home}\n"
            "e = ${env:} ${} ${unterminated\n");
  relay_props_resolve(fx->props, fx->report);
  _assert_prop(fx, "a", "val/x/val", 1);
  _assert_prop(fx, "b", "pre ${env:RELAY_TEST_MISSING} post", 2);
  _assert_prop(fx, "c", "$val", 3);
  _assert_prop(fx, "d", "${sys:user.home}", 4);
  _assert_prop(fx, "e", "${env:} ${} ${unterminated", 5);
  _assert_report(
      fx,
      "t.conf:2: b: ${env:RELAY_TEST_MISSING}: environment variable 'RELAY_TEST_MISSING' is not set, "
      "left as is",
      "t.conf:4: d: ${sys:user.home}: Java system properties are not supported, left as is",
      "t.conf:5: e: ${env:}: environment variable '' is not set, left as is", NULL);
  g_unsetenv("RELAY_TEST_VAR");
}

static void
test_resolve_keys(void **state)
{
  Fixture *fx = *state;

  _load(fx, "path = ${base}/logs\nbase = ${root}/data\nroot = /srv\nmissing = ${nope}\nodd = ${date:yyyy}\n");
  relay_props_resolve(fx->props, fx->report);
  _assert_prop(fx, "path", "/srv/data/logs", 1);
  _assert_prop(fx, "base", "/srv/data", 2);
  _assert_prop(fx, "root", "/srv", 3);
  _assert_prop(fx, "missing", "${nope}", 4);
  _assert_prop(fx, "odd", "${date:yyyy}", 5);
  _assert_report(
      fx,
      "t.conf:4: missing: ${nope}: no such property, left as is (an environment variable is written "
      "${env:nope})",
      "t.conf:5: odd: ${date:yyyy}: unsupported lookup, left as is", NULL);
}

static void
test_resolve_cycles(void **state)
{
  Fixture *fx = *state;

  _load(fx, "x = <${y}>\ny = ${x}\ns = ${s}\n");
  relay_props_resolve(fx->props, fx->report);
  _assert_prop(fx, "x", "<${x}>", 1);
  _assert_prop(fx, "y", "${x}", 2);
  _assert_prop(fx, "s", "${s}", 3);
  _assert_report(fx, "t.conf:2: y: ${x}: reference cycle x -> y -> x, left as is",
                 "t.conf:3: s: ${s}: reference cycle s -> s, left as is", NULL);
}

static void
test_resolve_depth_limit(void **state)
{
  Fixture *fx = *state;
  GString *text = g_string_new(NULL);

  /* k0 -> k1 -> ... -> k8 is 8 nested references (allowed); k9 would be the 9th. */
  for (int i = 0; i < 9; i++)
    g_string_append_printf(text, "k%d = ${k%d}\n", i, i + 1);
  g_string_append(text, "k9 = end\n");
  _load(fx, text->str);
  relay_props_resolve(fx->props, fx->report);
  _assert_prop(fx, "k0", "${k9}", 1);
  _assert_prop(fx, "k8", "${k9}", 9);
  _assert_prop(fx, "k9", "end", 10);
  _assert_report(fx, "t.conf:9: k8: ${k9}: references nested deeper than 8, left as is", NULL);
  g_string_free(text, TRUE);
}

/* Issue 16 fault 5: 400 keys of ${big}${big} with a 500 KB value must not expand to 400 MB. Substitution
 * stops adding bytes at the configuration-wide limit, names file:line:key for what it left, and the report
 * collapses hundreds of lines of the same kind into a few plus a count. */
static void
test_resolve_total_bound(void **state)
{
  Fixture *fx = *state;
  GString *text = g_string_new("big = ");
  guint n_entries;
  gsize total = 0;

  for (int i = 0; i < 500000; i++)
    g_string_append_c(text, 'x');
  g_string_append_c(text, '\n');
  for (int i = 0; i < 400; i++)
    g_string_append_printf(text, "k%d = ${big}${big}\n", i);
  _load(fx, text->str);
  relay_props_resolve(fx->props, fx->report);
  const RelayProp *const *entries = relay_props_entries(fx->props, &n_entries);
  for (guint i = 0; i < n_entries; i++)
    total += strlen(entries[i]->value);
  assert_true(total <= text->len + 16 * 1024 * 1024);
  /* 16 values of 1,000,000 bytes fit; k16 gets one ${big}, k17..k399 none. */
  assert_int_equal(strlen(relay_props_get(fx->props, "k15")->value), 1000000);
  assert_int_equal(strlen(relay_props_get(fx->props, "k16")->value), 500000 + strlen("${big}"));
  assert_string_equal(relay_props_get(fx->props, "k399")->value, "${big}${big}");
  assert_int_equal(relay_config_report_count(fx->report), 1 + 383 * 2);
  relay_config_report_finish(fx->report);
  assert_int_equal(relay_config_report_count(fx->report), 1 + 383 * 2);
  assert_int_equal(fx->report->lines->len, RELAY_CONFIG_REPORT_MAX_ALIKE + 1);
  assert_string_equal(
      g_ptr_array_index(fx->report->lines, 0),
      "t.conf:18: k16: ${big}: substitutions in the whole configuration would exceed 16777216 "
      "bytes, left as is");
  assert_string_equal(g_ptr_array_index(fx->report->lines, RELAY_CONFIG_REPORT_MAX_ALIKE),
                      "... and 747 more problem(s) of this kind, the last: t.conf:401: k399: ${big}: "
                      "substitutions in the whole configuration would exceed 16777216 bytes, left as is");
  g_string_free(text, TRUE);
}

/* Three million unresolved references must not make three million report lines. */
static void
test_report_collapses_alike_lines(void **state)
{
  Fixture *fx = *state;
  GString *text = g_string_new(NULL);

  for (int i = 0; i < 5000; i++)
    g_string_append_printf(text, "k%d = ${nope%d}\n", i, i);
  g_string_append(text, "odd = ${date:yyyy}\n");
  _load(fx, text->str);
  relay_props_resolve(fx->props, fx->report);
  relay_config_report_finish(fx->report);
  assert_int_equal(relay_config_report_count(fx->report), 5001);
  assert_int_equal(fx->report->lines->len, RELAY_CONFIG_REPORT_MAX_ALIKE + 2);
  assert_string_equal(g_ptr_array_index(fx->report->lines, RELAY_CONFIG_REPORT_MAX_ALIKE),
                      "t.conf:5001: odd: ${date:yyyy}: unsupported lookup, left as is");
  assert_string_equal(
      g_ptr_array_index(fx->report->lines, RELAY_CONFIG_REPORT_MAX_ALIKE + 1),
      "... and 4980 more problem(s) of this kind, the last: t.conf:5000: k4999: ${nope4999}: no "
      "such property, left as is (an environment variable is written ${env:nope4999})");
  g_string_free(text, TRUE);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_separators, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_escaped_separators_in_key, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_continuation, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_continuation_line_is_not_a_comment, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_comments_and_blank_lines, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_escapes, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_malformed_unicode, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_line_ends, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_duplicates_keep_first_order, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_empty_value, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_empty_value_drops_many, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_several_sources, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_load_file, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_agent_entries, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_invalid_utf8_replaced, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_resolve_env, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_resolve_keys, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_resolve_cycles, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_resolve_depth_limit, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_resolve_total_bound, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_report_collapses_alike_lines, _setup, _teardown),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
