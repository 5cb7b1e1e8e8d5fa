/* test_metrics.c - unit tests for the metrics tables and renderings (metrics.c, metrics_format.c), the
 * /health verdict and the monitoring configuration (monitor_config.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "agent.h"
#include "channel.h"
#include "config.h"
#include "counters.h"
#include "event.h"
#include "metrics.h"
#include "monitor.h"
#include "props.h"
#include "sink.h"
#include "source.h"

#include <event2/event.h>

typedef struct
{
  RelayProps *props;
  RelayConfigReport *report;
  RelayAgentConfig *cfg;
  RelayAgent *agent;
  struct event_base *base;
} Built;

#define CONF                                                                                                 \
  "a.sources = r1\n"                                                                                         \
  "a.channels = c1\n"                                                                                        \
  "a.sinks = k1 k2 k3\n"                                                                                     \
  "a.sinkgroups = g1\n"                                                                                      \
  "a.sources.r1.type = seq\n"                                                                                \
  "a.sources.r1.totalEvents = 0\n"                                                                           \
  "a.sources.r1.channels = c1\n"                                                                             \
  "a.channels.c1.type = memory\n"                                                                            \
  "a.channels.c1.capacity = 200\n"                                                                           \
  "a.channels.c1.transactionCapacity = 100\n"                                                                \
  "a.sinks.k1.type = null\n"                                                                                 \
  "a.sinks.k1.channel = c1\n"                                                                                \
  "a.sinks.k2.type = null\n"                                                                                 \
  "a.sinks.k2.channel = c1\n"                                                                                \
  "a.sinks.k3.type = null\n"                                                                                 \
  "a.sinks.k3.channel = nowhere\n"                                                                           \
  "a.sinkgroups.g1.sinks = k1 k2\n"                                                                          \
  "a.sinkgroups.g1.processor.type = failover\n"                                                              \
  "a.monitoring.type = http\n"                                                                               \
  "a.monitoring.port = 0\n"

static void
_build(Built *b, const char *text)
{
  memset(b, 0, sizeof *b);
  b->props = relay_props_new();
  b->report = relay_config_report_new();
  relay_props_load_string(b->props, "t.conf", text, b->report);
  b->cfg = relay_agent_config_new(b->props, "a", b->report);
  b->base = event_base_new();
  b->agent = relay_agent_new("a", b->base);
  gboolean ok = relay_agent_configure(b->agent, b->cfg, b->report);
  for (guint i = 0; !ok && i < b->report->lines->len; i++)
    print_message("report: %s\n", (const char *)g_ptr_array_index(b->report->lines, i));
  assert_true(ok);
}

static void
_free(Built *b)
{
  relay_agent_free(b->agent);
  relay_agent_config_free(b->cfg);
  relay_config_report_free(b->report);
  relay_props_free(b->props);
  event_base_free(b->base);
}

static char *
_render(Built *b, void (*format)(const RelayMetricsSnapshot *, GString *))
{
  RelayMetricsSnapshot *snap = relay_metrics_snapshot(b->agent, 1000);
  GString *out = g_string_new(NULL);
  format(snap, out);
  relay_metrics_snapshot_free(snap);
  return g_string_free(out, FALSE);
}

/* Flume's shape: "TYPE.name" keys, every value a string (no bare number anywhere). */
static void
test_json_shape(void **state)
{
  Built b;
  _build(&b, CONF);
  RelaySource *r1 = RELAY_SOURCE(relay_agent_find(b.agent, RELAY_KIND_SOURCE, "r1"));
  relay_counter_add(&r1->counters.event_received, 12);
  relay_counter_add(&r1->counters.event_accepted, 10);
  relay_counter_add(&r1->counters.event_failed, 2);
  char *json = _render(&b, relay_metrics_format_json);

  assert_non_null(strstr(json, "\"SOURCE.r1\":{\"EventReceivedCount\":\"12\",\"EventAcceptedCount\":\"10\""));
  assert_non_null(strstr(json, "\"EventFailedCount\":\"2\""));
  assert_non_null(strstr(json, "\"CHANNEL.c1\":{\"ChannelSize\":\"0\",\"ChannelCapacity\":\"200\","
                               "\"ChannelFillPercentage\":\"0.0\""));
  assert_non_null(strstr(json, "\"SINK.k1\":{\"ConnectionCreatedCount\":\"0\""));
  assert_non_null(strstr(json, "\"SINK_PROCESSOR.g1\":{\"SinkFailureCount\":\"0\""));
  assert_non_null(strstr(json, "\"ActiveSink\":\"\""));
  assert_non_null(strstr(json, "\"Type\":\"SOURCE\""));
  assert_non_null(strstr(json, "\"StopTime\":\"0\""));
  assert_non_null(strstr(json, "\"OTHER.relayd\":{\"Type\":\"OTHER\",\"Agent\":\"a\""));
  assert_null(strstr(json, "SINK.k3")); /* dropped: not a running component */
  for (const char *p = json; (p = strstr(p, "\":")) != NULL; p += 2)
    assert_true(p[2] == '"' || p[2] == '{');
  assert_int_equal(json[0], '{');
  assert_int_equal(json[strlen(json) - 2], '}');
  g_free(json);
  _free(&b);
}

/* Every family's # HELP and # TYPE come once, before its samples; counters end in _total. */
static void
test_prometheus_families(void **state)
{
  Built b;
  _build(&b, CONF);
  char *text = _render(&b, relay_metrics_format_prometheus);
  char **lines = g_strsplit(text, "\n", -1);
  GHashTable *typed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  char *current = NULL;

  for (guint i = 0; lines[i] && *lines[i]; i++)
    {
      char **f = g_strsplit(lines[i], " ", 4);
      if (g_str_has_prefix(lines[i], "# TYPE "))
        {
          assert_false(g_hash_table_contains(typed, f[2])); /* once */
          if (strcmp(f[3], "counter") == 0)
            assert_true(g_str_has_suffix(f[2], "_total"));
          g_hash_table_insert(typed, g_strdup(f[2]), g_strdup(f[3]));
          g_free(current);
          current = g_strdup(f[2]);
        }
      else if (!g_str_has_prefix(lines[i], "# HELP "))
        {
          char *family = g_strndup(lines[i], strcspn(lines[i], "{ "));
          assert_non_null(current);
          assert_string_equal(family, current); /* samples follow their own header */
          g_free(family);
        }
      g_strfreev(f);
    }
  assert_non_null(strstr(text,
                         "relayd_source_protocol_errors_total{agent=\"a\",component=\"r1\",type=\"seq\","
                         "kind=\"malformed\"} 0\n"));
  assert_non_null(
      strstr(text, "relayd_channel_fill_percent{agent=\"a\",component=\"c1\",type=\"memory\"} 0\n"));
  assert_non_null(
      strstr(text, "relayd_sinkgroup_failovers_total{agent=\"a\",component=\"g1\",type=\"failover\"}"));
  assert_non_null(strstr(text, "relayd_components_down{agent=\"a\"} 1\n"));
  g_free(current);
  g_hash_table_unref(typed);
  g_strfreev(lines);
  g_free(text);
  _free(&b);
}

/* Not started, and a dropped sink: 503 material, each with its reason. */
static void
test_health(void **state)
{
  Built b;
  _build(&b, CONF);
  RelayMetricsSnapshot *snap = relay_metrics_snapshot(b.agent, 0);
  GString *out = g_string_new(NULL);

  assert_false(relay_metrics_format_health(snap, out));
  assert_non_null(strstr(out->str, "\"status\":\"DOWN\""));
  assert_non_null(strstr(out->str, "\"SOURCE.r1\":\"not started\""));
  assert_non_null(strstr(out->str, "\"SINK.k3\":\"t.conf:"));
  assert_non_null(strstr(out->str, "nowhere"));
  relay_metrics_snapshot_free(snap);
  g_string_free(out, TRUE);
  _free(&b);
}

static void
test_fill_percentage(void **state)
{
  Built b;
  _build(&b, CONF);
  RelayChannel *c1 = RELAY_CHANNEL(relay_agent_find(b.agent, RELAY_KIND_CHANNEL, "c1"));
  GError *error = NULL;
  assert_true(relay_component_start(RELAY_COMPONENT(c1), &error));
  RelayTxn *txn = relay_channel_begin(c1);
  for (int i = 0; i < 3; i++)
    {
      RelayEvent *ev = relay_event_new(NULL, 0, "x", 1);
      assert_int_equal(relay_txn_put(txn, ev), RELAY_CHANNEL_OK);
      relay_event_unref(ev);
    }
  assert_int_equal(relay_txn_commit(txn), RELAY_CHANNEL_OK);
  relay_txn_close(txn);
  char *json = _render(&b, relay_metrics_format_json);
  assert_non_null(
      strstr(json, "\"ChannelSize\":\"3\",\"ChannelCapacity\":\"200\",\"ChannelFillPercentage\":\"1.5\","
                   "\"EventPutAttemptCount\":\"3\",\"EventPutSuccessCount\":\"3\""));
  g_free(json);
  _free(&b);
}

static void
test_monitor_config(void **state)
{
  Built b;
  RelayMonitorConfig mc;
  char *why = NULL;

  _build(&b,
         CONF "a.monitoring.bind = 0.0.0.0\na.monitoring.summary-interval = -3\na.monitoring.colour = red\n");
  relay_monitor_config_init(&mc);
  assert_false(mc.http);
  assert_int_equal(mc.port, 41414);
  relay_monitor_config_apply_props(&mc, b.cfg->monitoring, b.report);
  assert_true(mc.http);
  assert_int_equal(mc.port, 0);
  assert_string_equal(mc.bind, "0.0.0.0");
  assert_int_equal(mc.summary_interval_s, 60); /* the bad value was reported and ignored */
  gboolean seen_interval = FALSE, seen_unknown = FALSE;
  for (guint i = 0; i < b.report->lines->len; i++)
    {
      const char *line = g_ptr_array_index(b.report->lines, i);
      seen_interval |= strstr(line, "t.conf:22: monitoring: summary-interval:") != NULL;
      seen_unknown |= strstr(line, "colour: unknown key") != NULL;
    }
  assert_true(seen_interval && seen_unknown);

  assert_true(relay_monitor_config_apply_system_property(&mc, "flume.monitoring.port", "34545", &why));
  assert_int_equal(mc.port, 34545);
  assert_false(relay_monitor_config_apply_system_property(&mc, "flume.monitoring.type", "ganglia", &why));
  assert_non_null(why);
  g_free(why);
  why = NULL;
  assert_false(relay_monitor_config_apply_system_property(&mc, "java.io.tmpdir", "/tmp", &why));
  assert_null(why);
  relay_monitor_config_clear(&mc);
  _free(&b);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_json_shape),     cmocka_unit_test(test_prometheus_families),
    cmocka_unit_test(test_health),         cmocka_unit_test(test_fill_percentage),
    cmocka_unit_test(test_monitor_config),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
