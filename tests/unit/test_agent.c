/* test_agent.c - unit tests for configuration stage 2 (agent_build.c) and the agent's start/stop order. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "agent.h"
#include "channel.h"
#include "config.h"
#include "log.h"
#include "props.h"

#include <event2/event.h>
#include <event2/thread.h>

typedef struct
{
  RelayProps *props;
  RelayConfigReport *report;
  RelayAgentConfig *cfg;
  RelayAgent *agent;
  struct event_base *base;
  gboolean ok;
} Built;

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
  b->ok = b->cfg && relay_agent_configure(b->agent, b->cfg, b->report);
}

static void
_free(Built *b)
{
  relay_agent_free(b->agent);
  if (b->cfg)
    relay_agent_config_free(b->cfg);
  relay_config_report_free(b->report);
  relay_props_free(b->props);
  event_base_free(b->base);
}

/* Asserts that some report line contains every one of the given fragments (NULL-terminated). */
static void
_assert_report(Built *b, ...)
{
  va_list ap;

  for (guint i = 0; i < b->report->lines->len; i++)
    {
      const char *line = g_ptr_array_index(b->report->lines, i);
      gboolean all = TRUE;
      const char *frag;
      va_start(ap, b);
      while ((frag = va_arg(ap, const char *)) != NULL)
        all = all && strstr(line, frag) != NULL;
      va_end(ap);
      if (all)
        return;
    }
  for (guint i = 0; i < b->report->lines->len; i++)
    print_message("report: %s\n", (const char *)g_ptr_array_index(b->report->lines, i));
  fail_msg("no report line has the expected fragments");
}

#define BASE_CONF                                                                                            \
  "a.sources = r1\n"                                                                                         \
  "a.channels = c1\n"                                                                                        \
  "a.sinks = k1\n"                                                                                           \
  "a.sources.r1.type = seq\n"                                                                                \
  "a.sources.r1.channels = c1\n"                                                                             \
  "a.channels.c1.type = memory\n"                                                                            \
  "a.sinks.k1.type = null\n"                                                                                 \
  "a.sinks.k1.channel = c1\n"

static void
test_valid_graph(void **state)
{
  Built b;

  _build(&b, BASE_CONF);
  assert_true(b.ok);
  assert_int_equal(relay_config_report_count(b.report), 0);
  assert_non_null(relay_agent_find(b.agent, RELAY_KIND_SOURCE, "r1"));
  assert_non_null(relay_agent_find(b.agent, RELAY_KIND_CHANNEL, "c1"));
  assert_non_null(relay_agent_find(b.agent, RELAY_KIND_SINK, "k1"));
  _free(&b);
}

static void
test_flume_class_names_and_case(void **state)
{
  Built b;

  _build(&b, "a.sources = r1\na.channels = c1\na.sinks = k1\n"
             "a.sources.r1.type = org.apache.flume.source.SequenceGeneratorSource\n"
             "a.sources.r1.channels = c1\n"
             "a.channels.c1.type = MEMORY\n"
             "a.sinks.k1.type = org.apache.flume.sink.NullSink\n"
             "a.sinks.k1.channel = c1\n");
  assert_true(b.ok);
  assert_int_equal(relay_config_report_count(b.report), 0);
  assert_non_null(relay_agent_find(b.agent, RELAY_KIND_SINK, "k1"));
  _free(&b);
}

static void
test_unknown_type_dropped_rest_runs(void **state)
{
  Built b;

  _build(&b, BASE_CONF "a.sources = r1 r2\na.sources.r2.type = nosuch\na.sources.r2.channels = c1\n");
  assert_true(b.ok);
  _assert_report(&b, "t.conf:", "sources.r2", "type", "unknown source type 'nosuch'", NULL);
  assert_null(relay_agent_find(b.agent, RELAY_KIND_SOURCE, "r2"));
  assert_non_null(relay_agent_find(b.agent, RELAY_KIND_SOURCE, "r1"));
  _free(&b);
}

static void
test_batch_size_above_transaction_capacity(void **state)
{
  Built b;

  _build(&b, BASE_CONF "a.channels.c1.transactionCapacity = 10\na.sinks.k1.batchSize = 50\n");
  _assert_report(&b, "t.conf:10:", "sinks.k1", "batchSize", "larger than transactionCapacity 10", NULL);
  assert_null(relay_agent_find(b.agent, RELAY_KIND_SINK, "k1"));
  assert_true(b.ok); /* the source still runs */
  _free(&b);
}

static void
test_sink_with_unknown_channel(void **state)
{
  Built b;

  _build(&b, BASE_CONF "a.sinks = k1 k2\na.sinks.k2.type = null\na.sinks.k2.channel = nope\n");
  _assert_report(&b, "sinks.k2", "channel", "'nope' is unknown", NULL);
  assert_null(relay_agent_find(b.agent, RELAY_KIND_SINK, "k2"));
  _free(&b);
}

static void
test_unused_channel_dropped(void **state)
{
  Built b;

  _build(&b, BASE_CONF "a.channels = c1 c2\na.channels.c2.type = memory\n");
  assert_true(b.ok);
  _assert_report(&b, "channels.c2", "no source or sink connected", NULL);
  assert_null(relay_agent_find(b.agent, RELAY_KIND_CHANNEL, "c2"));
  _free(&b);
}

static void
test_nothing_runnable(void **state)
{
  Built b;

  _build(&b, "a.sources = r1\na.channels = c1\na.sources.r1.type = nosuch\na.sources.r1.channels = c1\n"
             "a.channels.c1.type = memory\n");
  assert_false(b.ok);
  _assert_report(&b, "nothing runnable", NULL);
  _free(&b);
}

static void
test_sink_groups(void **state)
{
  Built b;

  _build(&b, BASE_CONF "a.sinks = k1 k2\na.sinks.k2.type = null\na.sinks.k2.channel = c1\n"
                       "a.sinkgroups = g1 g2\n"
                       "a.sinkgroups.g1.sinks = k1 k9\na.sinkgroups.g1.processor.type = default\n"
                       "a.sinkgroups.g2.sinks = k1 k2\na.sinkgroups.g2.processor.type = nosuchproc\n");
  _assert_report(&b, "sinkgroups.g1", "sinks", "'k9' is unknown", NULL);
  _assert_report(&b, "sinkgroups.g2", "'k1' already belongs to sink group g1", NULL);
  _assert_report(&b, "sinkgroups.g2", "processor.type", "unknown sink processor 'nosuchproc'", NULL);
  assert_true(b.ok);
  _free(&b);
}

static void
test_start_stop_order(void **state)
{
  Built b;
  GError *error = NULL;

  _build(&b, BASE_CONF "a.sources.r1.totalEvents = 500\na.sources.r1.batchSize = 50\n");
  assert_true(b.ok);
  assert_true(relay_agent_start(b.agent, &error));
  RelayChannel *c1 = (RelayChannel *)relay_agent_find(b.agent, RELAY_KIND_CHANNEL, "c1");
  for (int i = 0; i < 200 && g_atomic_pointer_get(&c1->counters.take_success) < 500; i++)
    {
      event_base_loop(b.base, EVLOOP_NONBLOCK);
      g_usleep(5000);
    }
  relay_agent_stop(b.agent, 1000);
  assert_int_equal(c1->counters.put_success, 500);
  assert_int_equal(c1->counters.take_success, 500);
  _free(&b);
}

/* Issue 19: a file_roll sink whose directory is missing fails the start by default, --check says so in
 * advance, and in keep-running mode the sink is dropped (listed as down) and the rest starts; its channel
 * is then read by nothing and says so. */
#define ROLL_CONF                                                                                            \
  "a.sources = r1\n"                                                                                         \
  "a.channels = c1\n"                                                                                        \
  "a.sinks = k1\n"                                                                                           \
  "a.sources.r1.type = seq\n"                                                                                \
  "a.sources.r1.channels = c1\n"                                                                             \
  "a.channels.c1.type = memory\n"                                                                            \
  "a.sinks.k1.type = file_roll\n"                                                                            \
  "a.sinks.k1.channel = c1\n"                                                                                \
  "a.sinks.k1.sink.directory = /nonexistent/relayd-test-dir\n"

static void
test_start_failure_is_fatal_by_default(void **state)
{
  Built b;
  GError *error = NULL;

  _build(&b, ROLL_CONF);
  assert_true(b.ok);
  relay_agent_check_start(b.agent, b.cfg, b.report);
  _assert_report(&b, "t.conf:7: sinks.k1: would not start: ", "/nonexistent/relayd-test-dir", NULL);
  assert_false(relay_agent_start(b.agent, &error));
  assert_non_null(strstr(error->message, "sink k1 cannot start: "));
  g_error_free(error);
  relay_agent_stop(b.agent, 0);
  _free(&b);
}

static void
test_keep_running_drops_what_cannot_start(void **state)
{
  Built b;
  GError *error = NULL;

  _build(&b, ROLL_CONF);
  relay_agent_set_keep_running(b.agent, TRUE);
  assert_true(relay_agent_start(b.agent, &error));
  assert_null(relay_agent_find(b.agent, RELAY_KIND_SINK, "k1"));
  const GPtrArray *down = relay_agent_down(b.agent);
  assert_int_equal(down->len, 1);
  assert_string_equal(((RelayAgentDown *)g_ptr_array_index(down, 0))->key, "SINK.k1");
  RelayChannel *c1 = (RelayChannel *)relay_agent_find(b.agent, RELAY_KIND_CHANNEL, "c1");
  assert_non_null(c1->unread_reason);
  relay_agent_stop(b.agent, 0);
  _free(&b);
}

/* A channel that sources write to but no running sink reads is reported (a dropped sink, or none at all). */
static void
test_unread_channel_reported(void **state)
{
  Built b;

  _build(&b, "a.sources = r1\na.channels = c1 c2\na.sinks = k1 k2\n"
             "a.sources.r1.type = seq\na.sources.r1.channels = c1 c2\n"
             "a.channels.c1.type = memory\na.channels.c2.type = memory\n"
             "a.sinks.k1.type = null\na.sinks.k1.channel = c1\n"
             "a.sinks.k2.type = nosuch\na.sinks.k2.channel = c2\n");
  assert_true(b.ok);
  _assert_report(&b, "t.conf:7: channels.c2: nothing reads this channel: its sink(s) k2 do not run", NULL);
  RelayChannel *c1 = (RelayChannel *)relay_agent_find(b.agent, RELAY_KIND_CHANNEL, "c1");
  RelayChannel *c2 = (RelayChannel *)relay_agent_find(b.agent, RELAY_KIND_CHANNEL, "c2");
  assert_null(c1->unread_reason);
  assert_non_null(c2->unread_reason);
  _free(&b);

  _build(&b, "a.sources = r1\na.channels = c1\na.sources.r1.type = seq\na.sources.r1.channels = c1\n"
             "a.channels.c1.type = memory\n");
  assert_true(b.ok);
  _assert_report(&b, "channels.c1: nothing reads this channel: no sink is configured on it", NULL);
  _free(&b);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_valid_graph),
    cmocka_unit_test(test_flume_class_names_and_case),
    cmocka_unit_test(test_unknown_type_dropped_rest_runs),
    cmocka_unit_test(test_batch_size_above_transaction_capacity),
    cmocka_unit_test(test_sink_with_unknown_channel),
    cmocka_unit_test(test_unused_channel_dropped),
    cmocka_unit_test(test_nothing_runnable),
    cmocka_unit_test(test_sink_groups),
    cmocka_unit_test(test_start_stop_order),
    cmocka_unit_test(test_start_failure_is_fatal_by_default),
    cmocka_unit_test(test_keep_running_drops_what_cannot_start),
    cmocka_unit_test(test_unread_channel_reported),
  };
  evthread_use_pthreads();
  relay_log_set_level(RELAY_LOG_ERROR);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
