/* test_config.c - unit tests of configuration stage 1 and the problem report (src/config.c).
 *
 * Properties are loaded from strings (file name "t.conf") so that report lines can be compared exactly,
 * line numbers included. */
#include "config.h"
#include "props.h"
#include "suggest.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

typedef struct
{
  RelayProps *props;
  RelayConfigReport *report;
  RelayAgentConfig *cfg;
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

  relay_agent_config_free(fx->cfg);
  relay_props_free(fx->props);
  relay_config_report_free(fx->report);
  g_free(fx);
  return 0;
}

static RelayAgentConfig *
_build(Fixture *fx, const char *agent, const char *text)
{
  relay_props_load_string(fx->props, "t.conf", text, fx->report);
  fx->cfg = relay_agent_config_new(fx->props, agent, fx->report);
  return fx->cfg;
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

/* Asserts the names of the admitted components of one kind (NULL-terminated). */
static void
_assert_components(Fixture *fx, RelayKind kind, ...)
{
  GPtrArray *list = fx->cfg->components[kind];
  va_list ap;
  guint i = 0;
  const char *expected;

  va_start(ap, kind);
  while ((expected = va_arg(ap, const char *)))
    {
      if (i >= list->len)
        fail_msg("missing %s %s", relay_kind_name(kind), expected);
      assert_string_equal(((RelayComponentConfig *)g_ptr_array_index(list, i))->name, expected);
      i++;
    }
  va_end(ap);
  assert_int_equal(i, list->len);
}

static void
test_kind_names(void **state)
{
  assert_string_equal(relay_kind_name(RELAY_KIND_SOURCE), "source");
  assert_string_equal(relay_kind_name(RELAY_KIND_CHANNEL), "channel");
  assert_string_equal(relay_kind_name(RELAY_KIND_SINK), "sink");
  assert_string_equal(relay_kind_name(RELAY_KIND_SINKGROUP), "sinkgroup");
  assert_string_equal(relay_kind_plural(RELAY_KIND_SOURCE), "sources");
  assert_string_equal(relay_kind_plural(RELAY_KIND_CHANNEL), "channels");
  assert_string_equal(relay_kind_plural(RELAY_KIND_SINK), "sinks");
  assert_string_equal(relay_kind_plural(RELAY_KIND_SINKGROUP), "sinkgroups");
}

static void
test_error_quark(void **state)
{
  assert_string_equal(g_quark_to_string(RELAY_ERROR), "relay-error-quark");
  assert_int_equal(RELAY_ERROR, relay_error_quark());
}

static void
test_report_format(void **state)
{
  Fixture *fx = *state;
  char key[] = "a.sources.r1.port", value[] = "70000", k[] = "k", v[] = "v";
  RelayProp where = { key, value, "conf/x.conf", 3 };
  RelayProp nowhere = { k, v, NULL, 0 };

  relay_config_report_add(fx->report, &where, "sources.r1", "port", "%d is out of range 1..%d", 70000, 65535);
  relay_config_report_add(fx->report, &where, NULL, "port", "m1");
  relay_config_report_add(fx->report, &where, "sources.r1", NULL, "m2");
  relay_config_report_add(fx->report, NULL, "sources.r1", "port", "m3");
  relay_config_report_add(fx->report, NULL, NULL, NULL, "m4");
  relay_config_report_add(fx->report, &nowhere, NULL, NULL, "m5");
  assert_int_equal(relay_config_report_count(fx->report), 6);
  _assert_report(fx, "conf/x.conf:3: sources.r1: port: 70000 is out of range 1..65535",
                 "conf/x.conf:3: port: m1", "conf/x.conf:3: sources.r1: m2", "sources.r1: port: m3", "m4",
                 "m5", NULL);
}

/* A key or value quoted in a message may hold control bytes (a properties file can write "\n"): the report
 * line escapes them, so one problem stays one line (found by fuzz_config). */
static void
test_report_escapes_controls(void **state)
{
  Fixture *fx = *state;

  relay_config_report_add(fx->report, NULL, "sources.r1", "port\nx", "'%s' is not an integer",
                          "1\n2\r\t\x01\x7f");
  relay_config_report_add(fx->report, NULL, NULL, NULL, "%s", "");
  _assert_report(fx, "sources.r1: port\\nx: '1\\n2\\r\\t\\x01\\x7f' is not an integer", "(empty message)",
                 NULL);
}

static void
test_split_list(void **state)
{
  char **parts = relay_config_split_list("  c1 c2\t\tc3 \f c4  ");

  assert_int_equal(g_strv_length(parts), 4);
  assert_string_equal(parts[0], "c1");
  assert_string_equal(parts[3], "c4");
  g_strfreev(parts);
  parts = relay_config_split_list("");
  assert_int_equal(g_strv_length(parts), 0);
  g_strfreev(parts);
  parts = relay_config_split_list(NULL);
  assert_int_equal(g_strv_length(parts), 0);
  g_strfreev(parts);
}

static void
test_valid_agent(void **state)
{
  Fixture *fx = *state;
  RelayAgentConfig *cfg = _build(fx, "a1",
                                 "a1.sources = r1\n"
                                 "a1.channels = c1\n"
                                 "a1.sinks = k1\n"
                                 "a1.sources.r1.type = netcat\n"
                                 "a1.sources.r1.selector.type = replicating\n"
                                 "a1.sources.r1.channels = c1\n"
                                 "a1.sources.r1.selector.header = h\n"
                                 "a1.channels.c1.type = memory\n"
                                 "a1.sinks.k1.channel = c1\n"
                                 "a1.sinks.k1.type = logger\n");

  assert_non_null(cfg);
  _assert_report(fx, NULL);
  assert_string_equal(cfg->agent, "a1");
  assert_ptr_equal(cfg->props, fx->props);
  _assert_components(fx, RELAY_KIND_SOURCE, "r1", NULL);
  _assert_components(fx, RELAY_KIND_CHANNEL, "c1", NULL);
  _assert_components(fx, RELAY_KIND_SINK, "k1", NULL);
  _assert_components(fx, RELAY_KIND_SINKGROUP, NULL);
  assert_int_equal(cfg->lists[RELAY_KIND_SINK]->line, 3);
  assert_null(cfg->lists[RELAY_KIND_SINKGROUP]);

  RelayComponentConfig *r1 = relay_agent_config_find(cfg, RELAY_KIND_SOURCE, "r1");
  assert_non_null(r1);
  assert_int_equal(r1->kind, RELAY_KIND_SOURCE);
  assert_string_equal(r1->label, "sources.r1");
  assert_ptr_equal(r1->decl, cfg->lists[RELAY_KIND_SOURCE]);
  assert_string_equal(relay_component_config_value(r1, "channels"), "c1");
  assert_int_equal(relay_component_config_get(r1, "selector.header")->line, 7);
  assert_null(relay_component_config_get(r1, "nope"));
  assert_null(relay_component_config_value(r1, "nope"));
  assert_int_equal(relay_component_config_where(r1)->line, 4);

  GPtrArray *keys = relay_component_config_keys(r1, "");
  assert_int_equal(keys->len, 4);
  assert_string_equal(g_ptr_array_index(keys, 0), "channels");
  assert_string_equal(g_ptr_array_index(keys, 1), "selector.header");
  assert_string_equal(g_ptr_array_index(keys, 2), "selector.type");
  assert_string_equal(g_ptr_array_index(keys, 3), "type");
  g_ptr_array_unref(keys);
  keys = relay_component_config_keys(r1, "selector.");
  assert_int_equal(keys->len, 2);
  assert_string_equal(g_ptr_array_index(keys, 0), "selector.header");
  g_ptr_array_unref(keys);

  assert_null(relay_agent_config_find(cfg, RELAY_KIND_SINK, "r1"));
  assert_null(relay_agent_config_find(cfg, RELAY_KIND_SOURCE, "r2"));
  assert_non_null(relay_agent_config_find(cfg, RELAY_KIND_SINK, "k1"));
}

static void
test_other_agents_ignored(void **state)
{
  Fixture *fx = *state;

  _build(fx, "a1",
         "a2.sources = x\n"
         "a2.bogus = 1\n"
         "a1 = top\n"
         "a1x.sources = r\n"
         "nodot = 1\n"
         "a1.channels = c1\n"
         "a1.channels.c1.type = memory\n");
  assert_non_null(fx->cfg);
  _assert_report(fx, NULL);
  _assert_components(fx, RELAY_KIND_CHANNEL, "c1", NULL);
  _assert_components(fx, RELAY_KIND_SOURCE, NULL);
}

static void
test_no_properties_for_agent(void **state)
{
  Fixture *fx = *state;

  assert_null(_build(fx, "zz", "a1.channels = c1\nzz = 1\nzzz.channels = c\n"));
  _assert_report(fx, "no properties for agent zz; the file defines: a1, zzz", NULL);
}

/* Issue 19: -n with a name the file lacks lists the agents it does define (or says it defines none). */
static void
test_no_agent_lists_defined_ones(void **state)
{
  Fixture *fx = *state;

  assert_null(_build(fx, "colector",
                     "collector.sources = r1\ncollector.sources.r1.type = seq\nedge.sinks = k1\n"
                     "edge.channels = c1\nterminal.sinkgroups = g1\nweird = 1\n"));
  _assert_report(fx, "no properties for agent colector; the file defines: collector, edge, terminal", NULL);
}

static void
test_no_agent_in_file(void **state)
{
  Fixture *fx = *state;

  assert_null(_build(fx, "a", "x = 1\ny.z = 2\n"));
  _assert_report(fx,
                 "no properties for agent a; the file defines no agent (no NAME.sources, NAME.channels or "
                 "NAME.sinks line)",
                 NULL);
}

static void
test_invalid_properties(void **state)
{
  Fixture *fx = *state;

  _build(fx, "a1",
         "a1.channels = c1\n"
         "a1.channels.c1.type = memory\n"
         "a1.foo = bar\n"
         "a1.sources.r1 = oops\n"
         "a1.sources..type = x\n"
         "a1.sources.r3. = y\n"
         "a1.configfilters = f1\n"
         "a1.configfilters.f1.type = env\n"
         "a1.sourcesx.r1.type = z\n");
  _assert_report(fx, "t.conf:3: a1.foo: invalid property, ignored",
                 "t.conf:4: a1.sources.r1: invalid property, ignored",
                 "t.conf:5: a1.sources..type: invalid property, ignored",
                 "t.conf:6: a1.sources.r3.: invalid property, ignored",
                 "t.conf:7: a1.configfilters: config filters are not supported, ignored",
                 "t.conf:8: a1.configfilters.f1.type: config filters are not supported, ignored",
                 "t.conf:9: a1.sourcesx.r1.type: invalid property, ignored", NULL);
  _assert_components(fx, RELAY_KIND_SOURCE, NULL);
  _assert_components(fx, RELAY_KIND_CHANNEL, "c1", NULL);
}

static void
test_listed_and_unlisted(void **state)
{
  Fixture *fx = *state;

  _build(fx, "a1",
         "a1.sources = r1 r2\n"
         "a1.channels = c1 c1 c2 c1\n"
         "a1.sinks = k1\n"
         "a1.sources.r1.type = seq\n"
         "a1.channels.c1.type = memory\n"
         "a1.channels.c2.capacity = 10\n"
         "a1.channels.c2.transactionCapacity = 10\n"
         "a1.sinks.k9.channel = c1\n"
         "a1.sinks.k9.type = null\n"
         "a1.sinks.k1.type = logger\n"
         "a1.sources.r7.type = seq\n");
  _assert_report(fx, "t.conf:1: sources.r2: is listed in a1.sources but has no properties; source r2 removed",
                 "t.conf:2: agent a1: channels: 'c1' is listed more than once; kept once",
                 "t.conf:6: channels.c2: type: missing; channel c2 removed",
                 "t.conf:8: sinks.k9: has properties but is not listed in a1.sinks; ignored",
                 "t.conf:11: sources.r7: has properties but is not listed in a1.sources; ignored", NULL);
  _assert_components(fx, RELAY_KIND_SOURCE, "r1", NULL);
  _assert_components(fx, RELAY_KIND_CHANNEL, "c1", NULL);
  _assert_components(fx, RELAY_KIND_SINK, "k1", NULL);
  assert_null(relay_agent_config_find(fx->cfg, RELAY_KIND_SINK, "k9"));
}

static void
test_sink_groups(void **state)
{
  Fixture *fx = *state;

  _build(fx, "a1",
         "a1.channels = c1\n"
         "a1.channels.c1.type = memory\n"
         "a1.sinkgroups = g1 g2\n"
         "a1.sinkgroups.g1.sinks = k1 k2\n"
         "a1.sinkgroups.g1.processor.type = failover\n"
         "a1.sinkgroups.g2.processor.type = load_balance\n"
         "a1.sinkgroups.g3.sinks = k3\n");
  _assert_report(fx, "t.conf:6: sinkgroups.g2: sinks: missing; sinkgroup g2 removed",
                 "t.conf:7: sinkgroups.g3: has properties but is not listed in a1.sinkgroups; ignored", NULL);
  _assert_components(fx, RELAY_KIND_SINKGROUP, "g1", NULL);
  RelayComponentConfig *g1 = relay_agent_config_find(fx->cfg, RELAY_KIND_SINKGROUP, "g1");
  assert_string_equal(g1->label, "sinkgroups.g1");
  assert_string_equal(relay_component_config_value(g1, "processor.type"), "failover");
  assert_int_equal(relay_component_config_where(g1)->line, 3); /* no type: the list entry */
}

static void
test_missing_channels_list(void **state)
{
  Fixture *fx = *state;

  _build(fx, "a1", "a1.sources = r1\na1.sources.r1.type = seq\na1.channels.c1.type = memory\n");
  assert_non_null(fx->cfg);
  _assert_report(fx, "agent a1: channels: missing: a1.channels lists no channels, the agent cannot run",
                 "t.conf:3: channels.c1: has properties but is not listed in a1.channels; ignored", NULL);
  _assert_components(fx, RELAY_KIND_SOURCE, "r1", NULL);
}

static void
test_where_without_type_or_decl(void **state)
{
  Fixture *fx = *state;
  char key_b[] = "a.sinks.k1.b", key_a[] = "a.sinks.k1.a", one[] = "1", two[] = "2";
  char name[] = "k1", label[] = "sinks.k1";
  RelayProp first = { key_b, one, "t.conf", 4 };
  RelayProp second = { key_a, two, "t.conf", 9 };
  RelayComponentConfig cc = { RELAY_KIND_SINK, name, label, NULL, g_hash_table_new(g_str_hash, g_str_equal) };

  g_hash_table_insert(cc.props, (gpointer) "a", &second);
  g_hash_table_insert(cc.props, (gpointer) "b", &first);
  assert_ptr_equal(relay_component_config_where(&cc), &first);
  g_hash_table_destroy(cc.props);
  (void)fx;
}

/* The "did you mean" helper: case-insensitive, swaps of neighbours count once, far names suggest nothing. */
static void
test_suggest_closest(void **state)
{
  static const char *const keys[] = { "bind", "port", "batchSize", "max-line-length", NULL, "channels" };

  assert_int_equal(relay_suggest_distance("prot", "port", 3), 1);
  assert_int_equal(relay_suggest_distance("batchsize", "batchSize", 3), 0);
  assert_int_equal(relay_suggest_distance("abcdef", "uvwxyz", 2), 3);
  assert_string_equal(relay_suggest_closest("prot", keys, G_N_ELEMENTS(keys)), "port");
  assert_string_equal(relay_suggest_closest("batchsize", keys, G_N_ELEMENTS(keys)), "batchSize");
  assert_string_equal(relay_suggest_closest("max-line-lenght", keys, G_N_ELEMENTS(keys)), "max-line-length");
  assert_string_equal(relay_suggest_closest("chanels", keys, G_N_ELEMENTS(keys)), "channels");
  assert_null(relay_suggest_closest("hostname", keys, G_N_ELEMENTS(keys)));
  assert_null(relay_suggest_closest("xy", keys, G_N_ELEMENTS(keys)));
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_kind_names),
    cmocka_unit_test(test_error_quark),
    cmocka_unit_test_setup_teardown(test_report_format, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_report_escapes_controls, _setup, _teardown),
    cmocka_unit_test(test_split_list),
    cmocka_unit_test_setup_teardown(test_valid_agent, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_other_agents_ignored, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_no_properties_for_agent, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_no_agent_lists_defined_ones, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_no_agent_in_file, _setup, _teardown),
    cmocka_unit_test(test_suggest_closest),
    cmocka_unit_test_setup_teardown(test_invalid_properties, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_listed_and_unlisted, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_sink_groups, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_missing_channels_list, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_where_without_type_or_decl, _setup, _teardown),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
