/* test_interceptor.c - unit tests for the interceptor chain: every type, its defaults, Flume aliases and
 * class names, order, filtering, and configuration errors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "config.h"
#include "event.h"
#include "interceptor.h"
#include "props.h"

typedef struct
{
  RelayProps *props;
  RelayAgentConfig *cfg;
  RelayConfigReport *report;
  RelayInterceptorChain *chain;
  GPtrArray *events;
} Fixture;

static int
_setup(void **state)
{
  Fixture *f = g_new0(Fixture, 1);

  f->props = relay_props_new();
  f->report = relay_config_report_new();
  f->events = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  *state = f;
  return 0;
}

static int
_teardown(void **state)
{
  Fixture *f = *state;

  relay_interceptor_chain_free(f->chain);
  if (f->cfg)
    relay_agent_config_free(f->cfg);
  relay_config_report_free(f->report);
  relay_props_free(f->props);
  g_ptr_array_unref(f->events);
  g_free(f);
  return 0;
}

/* Builds the chain of source r1 from lines of "<sub-key> = <value>". */
static RelayInterceptorChain *
_chain(Fixture *f, const char *lines)
{
  GString *text = g_string_new("a.sources = r1\na.channels = c1\na.channels.c1.type = memory\n"
                               "a.sources.r1.type = seq\na.sources.r1.channels = c1\n");
  char **split = g_strsplit(lines, "\n", -1);

  for (guint i = 0; split[i]; i++)
    if (split[i][0])
      g_string_append_printf(text, "a.sources.r1.%s\n", split[i]);
  g_strfreev(split);
  relay_props_load_string(f->props, "test.conf", text->str, f->report);
  g_string_free(text, TRUE);
  f->cfg = relay_agent_config_new(f->props, "a", f->report);
  assert_non_null(f->cfg);
  const RelayComponentConfig *cc = relay_agent_config_find(f->cfg, RELAY_KIND_SOURCE, "r1");
  assert_non_null(cc);
  f->chain = relay_interceptor_chain_new(cc, "source:seq:r1", f->report);
  return f->chain;
}

static gboolean
_reported(Fixture *f, const char *needle)
{
  for (guint i = 0; i < f->report->lines->len; i++)
    if (strstr(g_ptr_array_index(f->report->lines, i), needle))
      return TRUE;
  for (guint i = 0; i < f->report->lines->len; i++)
    print_message("report: %s\n", (const char *)g_ptr_array_index(f->report->lines, i));
  return FALSE;
}

static RelayEvent *
_ev(Fixture *f, guint i)
{
  return g_ptr_array_index(f->events, i);
}

static void
_add(Fixture *f, RelayEvent *ev)
{
  g_ptr_array_add(f->events, ev);
}

static void
test_no_interceptors(void **state)
{
  Fixture *f = *state;

  assert_non_null(_chain(f, ""));
  assert_int_equal(relay_interceptor_chain_length(f->chain), 0);
  _add(f, relay_event_new_simple("x", NULL));
  RelayEvent *before = _ev(f, 0);
  relay_interceptor_chain_apply(f->chain, f->events);
  assert_ptr_equal(_ev(f, 0), before);
  assert_int_equal(relay_config_report_count(f->report), 0);
}

static void
test_timestamp(void **state)
{
  Fixture *f = *state;

  assert_non_null(_chain(f, "interceptors = ts\ninterceptors.ts.type = timestamp"));
  _add(f, relay_event_new_simple("a", NULL));
  _add(f, relay_event_new_simple("b", "timestamp", "1", NULL));
  gint64 before = g_get_real_time() / 1000;
  relay_interceptor_chain_apply(f->chain, f->events);
  gint64 after = g_get_real_time() / 1000;
  for (guint i = 0; i < 2; i++)
    {
      gint64 millis = g_ascii_strtoll(relay_event_get_header(_ev(f, i), "timestamp"), NULL, 10);
      assert_true(millis >= before && millis <= after);
    }
  assert_int_equal(_ev(f, 1)->n_headers, 1); /* replaced, not appended */
}

static void
test_timestamp_preserve_and_header_name(void **state)
{
  Fixture *f = *state;

  assert_non_null(_chain(f, "interceptors = ts\ninterceptors.ts.type = TIMESTAMP\n"
                            "interceptors.ts.headerName = ts\ninterceptors.ts.preserveExisting = TRUE"));
  _add(f, relay_event_new_simple("a", "ts", "42", NULL));
  _add(f, relay_event_new_simple("b", NULL));
  relay_interceptor_chain_apply(f->chain, f->events);
  assert_string_equal(relay_event_get_header(_ev(f, 0), "ts"), "42");
  assert_non_null(relay_event_get_header(_ev(f, 1), "ts"));
  assert_null(relay_event_get_header(_ev(f, 1), "timestamp"));
}

static void
test_host_ip(void **state)
{
  Fixture *f = *state;

  assert_non_null(_chain(f, "interceptors = h\n"
                            "interceptors.h.type = org.apache.flume.interceptor.HostInterceptor$Builder\n"
                            "interceptors.h.hostHeader = origin"));
  _add(f, relay_event_new_simple("a", "origin", "old", NULL));
  relay_interceptor_chain_apply(f->chain, f->events);
  const char *origin = relay_event_get_header(_ev(f, 0), "origin");
  if (origin) /* NULL only when this machine cannot resolve its own name */
    assert_true(g_hostname_is_ip_address(origin));
}

static void
test_host_preserve(void **state)
{
  Fixture *f = *state;

  assert_non_null(_chain(f, "interceptors = h\ninterceptors.h.type = host\n"
                            "interceptors.h.useIP = false\ninterceptors.h.preserveExisting = true"));
  _add(f, relay_event_new_simple("a", "host", "keep", NULL));
  relay_interceptor_chain_apply(f->chain, f->events);
  assert_string_equal(relay_event_get_header(_ev(f, 0), "host"), "keep");
}

static void
test_static_defaults_preserve(void **state)
{
  Fixture *f = *state;

  assert_non_null(_chain(f, "interceptors = s\ninterceptors.s.type = static"));
  _add(f, relay_event_new_simple("a", NULL));
  _add(f, relay_event_new_simple("b", "key", "mine", NULL));
  relay_interceptor_chain_apply(f->chain, f->events);
  assert_string_equal(relay_event_get_header(_ev(f, 0), "key"), "value");
  assert_string_equal(relay_event_get_header(_ev(f, 1), "key"), "mine");
}

static void
test_static_overwrite(void **state)
{
  Fixture *f = *state;

  assert_non_null(_chain(
      f, "interceptors = s\ninterceptors.s.type = org.apache.flume.interceptor.StaticInterceptor$Builder\n"
         "interceptors.s.key = dc\ninterceptors.s.value = east\n"
         "interceptors.s.preserveExisting = false"));
  _add(f, relay_event_new_simple("b", "dc", "west", "x", "y", NULL));
  relay_interceptor_chain_apply(f->chain, f->events);
  assert_string_equal(relay_event_get_header(_ev(f, 0), "dc"), "east");
  assert_string_equal(relay_event_get_header(_ev(f, 0), "x"), "y");
  assert_memory_equal(_ev(f, 0)->body, "b", 1);
}

static void
test_regex_filter_include(void **state)
{
  Fixture *f = *state;

  assert_non_null(_chain(f, "interceptors = r\ninterceptors.r.type = REGEX_FILTER\n"
                            "interceptors.r.regex = (WARN|ERROR)"));
  const char *bodies[] = { "INFO a", "an ERROR b", "WARN c", "debug" };
  for (guint i = 0; i < G_N_ELEMENTS(bodies); i++)
    _add(f, relay_event_new_simple(bodies[i], NULL));
  relay_interceptor_chain_apply(f->chain, f->events);
  assert_int_equal(f->events->len, 2);
  assert_string_equal((const char *)_ev(f, 0)->body, "an ERROR b");
  assert_string_equal((const char *)_ev(f, 1)->body, "WARN c");
}

static void
test_regex_filter_exclude_and_binary(void **state)
{
  Fixture *f = *state;
  const guint8 binary[] = { 0xff, 'x', 0x00, 'y' }; /* invalid UTF-8 and a NUL: still searched as text */

  assert_non_null(_chain(f, "interceptors = r\ninterceptors.r.type = regex_filter\n"
                            "interceptors.r.regex = y$\ninterceptors.r.excludeEvents = true"));
  _add(f, relay_event_new(NULL, 0, binary, sizeof binary));
  _add(f, relay_event_new_simple("keep", NULL));
  _add(f, relay_event_new_simple("drop y", NULL));
  relay_interceptor_chain_apply(f->chain, f->events);
  assert_int_equal(f->events->len, 1);
  assert_string_equal((const char *)_ev(f, 0)->body, "keep");
}

static void
test_regex_filter_default_keeps_all(void **state)
{
  Fixture *f = *state;

  assert_non_null(_chain(f, "interceptors = r\ninterceptors.r.type = regex_filter"));
  _add(f, relay_event_new_simple("", NULL));
  _add(f, relay_event_new_simple("x", NULL));
  relay_interceptor_chain_apply(f->chain, f->events);
  assert_int_equal(f->events->len, 2);
}

static void
test_remove_header(void **state)
{
  Fixture *f = *state;

  assert_non_null(_chain(f, "interceptors = rm\ninterceptors.rm.type = remove_header\n"
                            "interceptors.rm.withName = a\n"
                            "interceptors.rm.fromList = b ,c,  d\n"
                            "interceptors.rm.matching = tmp_[0-9]+"));
  _add(f, relay_event_new_simple("x", "a", "1", "b", "2", "keep", "3", "c", "4", "tmp_12", "5", "tmp_12x",
                                 "6", "d", "7", NULL));
  _add(f, relay_event_new_simple("y", "keep", "1", NULL));
  RelayEvent *untouched = _ev(f, 1);
  relay_interceptor_chain_apply(f->chain, f->events);
  RelayEvent *ev = _ev(f, 0);
  assert_int_equal(ev->n_headers, 2);
  assert_string_equal(ev->headers[0].key, "keep");
  assert_string_equal(ev->headers[1].key, "tmp_12x"); /* matching must match the whole name */
  assert_memory_equal(ev->body, "x", 1);
  assert_ptr_equal(_ev(f, 1), untouched); /* nothing removed: no copy */
}

static void
test_remove_header_separator(void **state)
{
  Fixture *f = *state;

  assert_non_null(_chain(f, "interceptors = rm\ninterceptors.rm.type = REMOVE_HEADER\n"
                            "interceptors.rm.fromList = a|b\ninterceptors.rm.fromListSeparator = \\\\|"));
  _add(f, relay_event_new_simple("x", "a", "1", "b", "2", "a|b", "3", NULL));
  relay_interceptor_chain_apply(f->chain, f->events);
  assert_int_equal(_ev(f, 0)->n_headers, 1);
  assert_string_equal(_ev(f, 0)->headers[0].key, "a|b");
}

static void
test_chain_order(void **state)
{
  Fixture *f = *state;

  assert_non_null(
      _chain(f, "interceptors = s rm s2\n"
                "interceptors.s.type = static\ninterceptors.s.key = k\ninterceptors.s.value = 1\n"
                "interceptors.rm.type = remove_header\ninterceptors.rm.withName = k\n"
                "interceptors.s2.type = static\ninterceptors.s2.key = j\ninterceptors.s2.value = 2"));
  assert_int_equal(relay_interceptor_chain_length(f->chain), 3);
  _add(f, relay_event_new_simple("x", NULL));
  relay_interceptor_chain_apply(f->chain, f->events);
  assert_null(relay_event_get_header(_ev(f, 0), "k"));
  assert_string_equal(relay_event_get_header(_ev(f, 0), "j"), "2");
}

static void
test_unknown_type(void **state)
{
  Fixture *f = *state;

  assert_null(_chain(f, "interceptors = i1\ninterceptors.i1.type = org.example.Custom$Builder"));
  assert_true(_reported(
      f, "unknown interceptor type org.example.Custom$Builder (known: timestamp, host, static, regex_filter, "
         "remove_header); source r1 removed"));
}

static void
test_unsupported_and_missing_type(void **state)
{
  Fixture *f = *state;

  assert_null(_chain(f, "interceptors = i1 i2\ninterceptors.i1.type = regex_extractor\n"
                        "interceptors.i2.headerName = x"));
  assert_true(_reported(f, "unsupported interceptor type regex_extractor"));
  assert_true(_reported(f, "interceptor i2 has no type; source r1 removed"));
}

static void
test_invalid_regex(void **state)
{
  Fixture *f = *state;

  assert_null(
      _chain(f, "interceptors = r\ninterceptors.r.type = regex_filter\ninterceptors.r.regex = (open"));
  assert_true(_reported(f, "interceptors.r.regex: invalid regular expression (open"));
}

static void
test_stray_keys_and_bad_boolean(void **state)
{
  Fixture *f = *state;

  assert_non_null(_chain(f, "interceptors = s\ninterceptors.s.type = static\ninterceptors.s.bogus = 1\n"
                            "interceptors.s.preserveExisting = yes\ninterceptors.t.type = host"));
  assert_true(_reported(f, "interceptors.s.bogus: unknown key for interceptor type static, ignored"));
  assert_true(_reported(f, "interceptors.t.type: not a key of a listed interceptor, ignored"));
  assert_true(_reported(f, "yes is not true or false"));
  assert_int_equal(relay_config_report_count(f->report), 3);
  _add(f, relay_event_new_simple("x", "key", "old", NULL));
  relay_interceptor_chain_apply(f->chain, f->events);
  assert_string_equal(relay_event_get_header(_ev(f, 0), "key"), "value"); /* "yes" read as false */
}

static void
test_knows_key(void **state)
{
  (void)state;
  assert_true(relay_interceptor_knows_key("interceptors"));
  assert_true(relay_interceptor_knows_key("interceptors.i1.type"));
  assert_false(relay_interceptor_knows_key("interceptorsx"));
  assert_false(relay_interceptor_knows_key("selector.type"));
}

#define T(name) cmocka_unit_test_setup_teardown(name, _setup, _teardown)

int
main(void)
{
  const struct CMUnitTest tests[] = {
    T(test_no_interceptors),
    T(test_timestamp),
    T(test_timestamp_preserve_and_header_name),
    T(test_host_ip),
    T(test_host_preserve),
    T(test_static_defaults_preserve),
    T(test_static_overwrite),
    T(test_regex_filter_include),
    T(test_regex_filter_exclude_and_binary),
    T(test_regex_filter_default_keeps_all),
    T(test_remove_header),
    T(test_remove_header_separator),
    T(test_chain_order),
    T(test_unknown_type),
    T(test_unsupported_and_missing_type),
    T(test_invalid_regex),
    T(test_stray_keys_and_bad_boolean),
    T(test_knows_key),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
