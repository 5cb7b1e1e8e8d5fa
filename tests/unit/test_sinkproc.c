/* test_sinkproc.c - unit tests for the failover and load_balance sink processors and parallel runner lanes.
 *
 * Fake sinks defined here are switched between modes by the test: READY (returns READY without touching
 * the channel), WORK (takes up to 10 events from the memory channel, optionally stays busy, commits: READY,
 * or BACKOFF when the channel is empty), FAIL (takes a batch and rolls it back: FAILED) and BACKOFF. Every
 * call is recorded in order. The algorithm tests call process() directly with a fake processor clock, so
 * penalties of several seconds take no time; the parallel tests run real runner lanes on the real clock. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include <event2/thread.h>

#include "channel.h"
#include "component.h"
#include "config.h"
#include "event.h"
#include "log.h"
#include "relay_mutex.h"
#include "props.h"
#include "registry.h"
#include "sink.h"
#include "sink_processor.h"
#include "sink_runner.h"

#define MS (G_TIME_SPAN_MILLISECOND)
#define MAX_SINKS 3
#define MAX_SEQ 4096
#define FAKE_BATCH 10

extern const RelayComponentClass relay_channel_memory_class;

/* ---- fake sinks ---- */

typedef enum
{
  FAKE_READY = 0,
  FAKE_WORK,
  FAKE_FAIL,
  FAKE_BACKOFF,
} FakeMode;

typedef struct
{
  RelaySink super;
  guint id;
  FakeMode mode;  /* under fake.lock */
  gint64 busy_ms; /* WORK: each delivering call takes this long */
  guint calls;
  gint64 call_us[8]; /* the first calls' times */
  guint delivered_events;
} FakeSink;

static struct
{
  RelayMutex lock;
  RelayCond cond;
  guint seq[MAX_SEQ]; /* sink ids in call order */
  guint n_seq;
  guint delivered_by[MAX_SEQ]; /* WORK: which sink delivered the n-th batch */
  guint n_delivered;
  guint in_flight, max_in_flight;
  gint64 now_us; /* the fake processor clock */
} fake;

static gint64
_fake_clock(void)
{
  return fake.now_us;
}

static void
_advance_ms(gint64 ms)
{
  fake.now_us += ms * MS;
}

static RelaySinkStatus
_fake_fail(FakeSink *self)
{
  RelayEvent *batch[FAKE_BATCH];
  RelayTxn *txn = relay_channel_begin(self->super.channel);

  relay_txn_take(txn, batch, FAKE_BATCH);
  relay_txn_rollback(txn);
  relay_txn_close(txn);
  return RELAY_SINK_FAILED;
}

static void
_enter_flight(gboolean enter)
{
  relay_mutex_lock(&fake.lock);
  if (enter)
    {
      fake.in_flight++;
      fake.max_in_flight = MAX(fake.max_in_flight, fake.in_flight);
    }
  else
    fake.in_flight--;
  relay_mutex_unlock(&fake.lock);
}

static RelaySinkStatus
_fake_work(FakeSink *self, gint64 busy_ms)
{
  RelayEvent *batch[FAKE_BATCH];
  RelayTxn *txn = relay_channel_begin(self->super.channel);
  guint n = relay_txn_take(txn, batch, FAKE_BATCH);

  if (n == 0)
    {
      relay_txn_commit(txn);
      relay_txn_close(txn);
      return RELAY_SINK_BACKOFF;
    }
  _enter_flight(TRUE);
  if (busy_ms)
    g_usleep(busy_ms * 1000);
  _enter_flight(FALSE);
  assert_int_equal(relay_txn_commit(txn), RELAY_CHANNEL_OK);
  relay_txn_close(txn);
  relay_mutex_lock(&fake.lock);
  self->delivered_events += n;
  if (fake.n_delivered < MAX_SEQ)
    fake.delivered_by[fake.n_delivered++] = self->id;
  relay_cond_broadcast(&fake.cond);
  relay_mutex_unlock(&fake.lock);
  return RELAY_SINK_READY;
}

/* Runs in: a runner lane thread or the test thread. */
static RelaySinkStatus
_fake_process(RelaySink *sink)
{
  FakeSink *self = (FakeSink *)sink;

  relay_mutex_lock(&fake.lock);
  if (self->calls < G_N_ELEMENTS(self->call_us))
    self->call_us[self->calls] = g_get_monotonic_time();
  self->calls++;
  if (fake.n_seq < MAX_SEQ)
    fake.seq[fake.n_seq++] = self->id;
  FakeMode mode = self->mode;
  gint64 busy_ms = self->busy_ms;
  relay_cond_broadcast(&fake.cond);
  relay_mutex_unlock(&fake.lock);

  switch (mode)
    {
    case FAKE_READY:
      return RELAY_SINK_READY;
    case FAKE_WORK:
      return _fake_work(self, busy_ms);
    case FAKE_FAIL:
      return _fake_fail(self);
    case FAKE_BACKOFF:
      break;
    }
  return RELAY_SINK_BACKOFF;
}

static const RelaySinkOps _fake_ops = { .process = _fake_process };
static const RelayOption _fake_options[] = { RELAY_OPTION_END };

static const RelayComponentClass fake_sink_class = {
  .kind = RELAY_KIND_SINK,
  .type = "fake",
  .description = "test sink",
  .options = _fake_options,
  .instance_size = sizeof(FakeSink),
  .ops = &_fake_ops,
};

/* ---- fixture: a memory channel, three fake sinks k0 k1 k2, a group configuration ---- */

typedef struct
{
  RelayChannel *channel;
  FakeSink *sinks[MAX_SINKS];
  RelayProps *props;
  RelayConfigReport *report;
  RelayAgentConfig *cfg;
  RelaySinkProcessor *proc; /* when not owned by runner */
  RelaySinkRunner *runner;
} Fixture;

static void
_log_handler(RelayLogLevel level, const char *line, gpointer user_data)
{
}

static int
setup(void **state)
{
  static const char *const channel_kv[] = { "capacity", "1000", "transactionCapacity", "100", NULL };
  Fixture *fx = g_new0(Fixture, 1);

  memset(&fake, 0, sizeof fake);
  relay_mutex_init(&fake.lock);
  relay_cond_init(&fake.cond);
  fake.now_us = 1000 * G_USEC_PER_SEC;
  relay_log_set_handler(_log_handler, NULL);
  fx->channel = (RelayChannel *)relay_component_new(&relay_channel_memory_class, "c1");
  assert_true(relay_component_configure_kv(RELAY_COMPONENT(fx->channel), channel_kv));
  assert_true(relay_component_start(RELAY_COMPONENT(fx->channel), NULL));
  for (guint i = 0; i < MAX_SINKS; i++)
    {
      char name[8];
      g_snprintf(name, sizeof name, "k%u", i);
      fx->sinks[i] = (FakeSink *)relay_component_new(&fake_sink_class, name);
      fx->sinks[i]->id = i;
      fx->sinks[i]->super.channel = fx->channel;
    }
  fx->report = relay_config_report_new();
  *state = fx;
  return 0;
}

static int
teardown(void **state)
{
  Fixture *fx = *state;

  relay_sink_runner_free(fx->runner);
  relay_sink_processor_free(fx->proc);
  for (guint i = 0; i < MAX_SINKS; i++)
    relay_component_free(RELAY_COMPONENT(fx->sinks[i]));
  relay_component_free(RELAY_COMPONENT(fx->channel));
  if (fx->cfg)
    relay_agent_config_free(fx->cfg);
  if (fx->props)
    relay_props_free(fx->props);
  relay_config_report_free(fx->report);
  relay_sink_processor_set_clock(NULL);
  relay_log_set_handler(NULL, NULL);
  relay_mutex_clear(&fake.lock);
  relay_cond_clear(&fake.cond);
  g_free(fx);
  return 0;
}

/* Builds processor `type` over the first n_sinks fakes with group keys from `keys` ("processor.x = y"
 * lines, prefixed here with "a.sinkgroups.g1."). Returns the result of configure. */
static gboolean
_make(Fixture *fx, const char *type, guint n_sinks, const char *keys)
{
  GString *text = g_string_new("a.channels = c1\na.channels.c1.type = memory\na.sinkgroups = g1\n");
  char **lines = g_strsplit(keys, "\n", -1);
  RelaySink *sinks[MAX_SINKS];

  g_string_append_printf(text, "a.sinkgroups.g1.processor.type = %s\na.sinkgroups.g1.sinks = k0 k1 k2\n",
                         type);
  for (guint i = 0; lines[i]; i++)
    if (*lines[i])
      g_string_append_printf(text, "a.sinkgroups.g1.%s\n", lines[i]);
  g_strfreev(lines);
  fx->props = relay_props_new();
  relay_props_load_string(fx->props, "t.conf", text->str, fx->report);
  g_string_free(text, TRUE);
  fx->cfg = relay_agent_config_new(fx->props, "a", fx->report);
  assert_non_null(fx->cfg);
  for (guint i = 0; i < n_sinks; i++)
    sinks[i] = RELAY_SINK(fx->sinks[i]);
  const RelaySinkProcessorClass *klass = relay_registry_find_processor(type);
  assert_non_null(klass);
  fx->proc = relay_sink_processor_new(klass, "g1", sinks, n_sinks);
  return relay_sink_processor_configure(
      fx->proc, relay_agent_config_find(fx->cfg, RELAY_KIND_SINKGROUP, "g1"), fx->report);
}

static void
_use_fake_clock(void)
{
  relay_sink_processor_set_clock(_fake_clock);
}

static void
_modes(Fixture *fx, FakeMode m0, FakeMode m1, FakeMode m2)
{
  relay_mutex_lock(&fake.lock);
  fx->sinks[0]->mode = m0;
  fx->sinks[1]->mode = m1;
  fx->sinks[2]->mode = m2;
  relay_mutex_unlock(&fake.lock);
}

/* Runs one process() and checks which sinks it called, in order (ids as a string such as "10"). */
static void
_assert_cycle(Fixture *fx, RelaySinkStatus want_status, const char *want_calls)
{
  guint first = fake.n_seq;
  RelaySinkStatus status = relay_sink_processor_process(fx->proc);
  GString *calls = g_string_new(NULL);

  for (guint i = first; i < fake.n_seq; i++)
    g_string_append_c(calls, (char)('0' + fake.seq[i]));
  assert_string_equal(calls->str, want_calls);
  assert_int_equal(status, want_status);
  g_string_free(calls, TRUE);
}

static void
_assert_report_has(Fixture *fx, const char *fragment)
{
  for (guint i = 0; i < fx->report->lines->len; i++)
    if (strstr(g_ptr_array_index(fx->report->lines, i), fragment))
      return;
  for (guint i = 0; i < fx->report->lines->len; i++)
    print_message("report: %s\n", (const char *)g_ptr_array_index(fx->report->lines, i));
  fail_msg("no report line contains '%s'", fragment);
}

static void
_put_events(RelayChannel *channel, guint n)
{
  RelayTxn *txn = relay_channel_begin(channel);

  for (guint i = 0; i < n; i++)
    {
      char body[16];
      g_snprintf(body, sizeof body, "%u", i);
      RelayEvent *ev = relay_event_new_simple(body, NULL);
      assert_int_equal(relay_txn_put(txn, ev), RELAY_CHANNEL_OK);
      relay_event_unref(ev);
    }
  assert_int_equal(relay_txn_commit(txn), RELAY_CHANNEL_OK);
  relay_txn_close(txn);
}

static void
_start_runner(Fixture *fx)
{
  GError *error = NULL;

  fx->runner = relay_sink_runner_new(fx->proc);
  fx->proc = NULL; /* owned by the runner now */
  assert_true(relay_sink_runner_start(fx->runner, &error));
  assert_null(error);
}

/* Waits until the fakes together delivered `events`; FALSE after timeout_ms. */
static gboolean
_wait_delivered(Fixture *fx, guint events, gint64 timeout_ms)
{
  gint64 deadline = g_get_monotonic_time() + timeout_ms * MS;
  gboolean ok = TRUE;
  guint total = 0;

  relay_mutex_lock(&fake.lock);
  for (;;)
    {
      total = 0;
      for (guint i = 0; i < MAX_SINKS; i++)
        total += fx->sinks[i]->delivered_events;
      if (total >= events || !ok)
        break;
      ok = relay_cond_wait_until(&fake.cond, &fake.lock, deadline);
    }
  relay_mutex_unlock(&fake.lock);
  return total >= events;
}

/* Waits until sink i was called at least n times. */
static gboolean
_wait_calls(Fixture *fx, guint i, guint n, gint64 timeout_ms)
{
  gint64 deadline = g_get_monotonic_time() + timeout_ms * MS;
  gboolean ok = TRUE;

  relay_mutex_lock(&fake.lock);
  while (fx->sinks[i]->calls < n && ok)
    ok = relay_cond_wait_until(&fake.cond, &fake.lock, deadline);
  ok = fx->sinks[i]->calls >= n;
  relay_mutex_unlock(&fake.lock);
  return ok;
}

/* ---- failover ---- */

/* Highest priority first; unspecified priorities are -1, -2, ... in configured order; a failing active sink
 * moves to the failed list and the next one is tried in the same cycle; all failed -> FAILED. */
static void
test_failover_order(void **state)
{
  Fixture *fx = *state;

  _use_fake_clock();
  assert_true(_make(fx, "failover", 3, "processor.priority.k0 = 5\nprocessor.priority.k1 = 10\n"));
  assert_int_equal(relay_config_report_count(fx->report), 0);
  _modes(fx, FAKE_READY, FAKE_READY, FAKE_READY);
  _assert_cycle(fx, RELAY_SINK_READY, "1");
  _assert_cycle(fx, RELAY_SINK_READY, "1");
  _modes(fx, FAKE_READY, FAKE_FAIL, FAKE_READY);
  _assert_cycle(fx, RELAY_SINK_READY, "10");
  _assert_cycle(fx, RELAY_SINK_READY, "0");
  _modes(fx, FAKE_FAIL, FAKE_FAIL, FAKE_BACKOFF);
  _assert_cycle(fx, RELAY_SINK_BACKOFF, "02");
  _modes(fx, FAKE_FAIL, FAKE_FAIL, FAKE_FAIL);
  _assert_cycle(fx, RELAY_SINK_FAILED, "2");
  _assert_cycle(fx, RELAY_SINK_FAILED, ""); /* nothing live, no penalty expired */
}

/* Penalty 2 s, 4 s, then capped by maxpenalty (5 s here): a failed sink is retried only after
 * `refresh < now`, and each failed retry doubles its penalty. */
static void
test_failover_penalty_doubles_and_caps(void **state)
{
  static const gint64 penalties_ms[] = { 2000, 4000, 5000, 5000 };
  Fixture *fx = *state;

  _use_fake_clock();
  assert_true(_make(fx, "failover", 2,
                    "processor.priority.k0 = 10\nprocessor.priority.k1 = 1\n"
                    "processor.maxpenalty = 5000\n"));
  _modes(fx, FAKE_FAIL, FAKE_READY, FAKE_READY);
  _assert_cycle(fx, RELAY_SINK_READY, "01");
  for (guint i = 0; i < G_N_ELEMENTS(penalties_ms); i++)
    {
      _advance_ms(penalties_ms[i]);
      _assert_cycle(fx, RELAY_SINK_READY, "1"); /* refresh == now: not yet */
      _advance_ms(1);
      _assert_cycle(fx, RELAY_SINK_READY, "01"); /* retried, failed again, then the live one */
    }
}

/* A recovered higher-priority sink takes over again after its penalty; a retried sink that returns BACKOFF
 * stays failed (not penalized) and is retried on the next cycle. */
static void
test_failover_returns_to_higher_priority(void **state)
{
  Fixture *fx = *state;

  _use_fake_clock();
  assert_true(_make(fx, "failover", 2, "processor.priority.k0 = 10\nprocessor.priority.k1 = 1\n"));
  _modes(fx, FAKE_FAIL, FAKE_READY, FAKE_READY);
  _assert_cycle(fx, RELAY_SINK_READY, "01");
  _modes(fx, FAKE_BACKOFF, FAKE_READY, FAKE_READY);
  _advance_ms(1999);
  _assert_cycle(fx, RELAY_SINK_READY, "1");
  _advance_ms(2);
  _assert_cycle(fx, RELAY_SINK_BACKOFF, "0"); /* retried: alive but idle, ends the cycle */
  _assert_cycle(fx, RELAY_SINK_BACKOFF, "0"); /* still on the failed list, still expired */
  _modes(fx, FAKE_READY, FAKE_READY, FAKE_READY);
  _assert_cycle(fx, RELAY_SINK_READY, "0"); /* READY: live again */
  _assert_cycle(fx, RELAY_SINK_READY, "0"); /* and active */
  _modes(fx, FAKE_FAIL, FAKE_READY, FAKE_READY);
  _assert_cycle(fx, RELAY_SINK_READY, "01"); /* a new failure starts again at 2 s */
  _advance_ms(2001);
  _modes(fx, FAKE_READY, FAKE_READY, FAKE_READY);
  _assert_cycle(fx, RELAY_SINK_READY, "0");
}

/* Duplicate priorities leave a sink out (reported with file:line); a bad priority falls back to the
 * automatic one (as Flume's FailoverSinkProcessor catches it); a priority for a sink outside the group and a
 * maxpenalty out of range are reported. */
static void
test_failover_config_report(void **state)
{
  Fixture *fx = *state;

  _use_fake_clock();
  assert_true(_make(fx, "failover", 3,
                    "processor.priority.k0 = 7\nprocessor.priority.k1 = 7\n"
                    "processor.priority.k2 = high\nprocessor.priority.k9 = 1\n"
                    "processor.maxpenalty = 99999999999\n"));
  assert_int_equal(relay_config_report_count(fx->report), 4);
  _assert_report_has(fx,
                     "t.conf:7: sinkgroups.g1: processor.priority.k1: priority 7 duplicates that of sink k0; "
                     "sink k1 is left out");
  _assert_report_has(fx, "t.conf:8: sinkgroups.g1: processor.priority.k2: 'high' is not an integer; using "
                         "priority -1");
  _assert_report_has(fx, "processor.priority.k9: no sink 'k9' in this group");
  _assert_report_has(fx, "processor.maxpenalty: 99999999999 is out of range");
  _modes(fx, FAKE_FAIL, FAKE_READY, FAKE_READY);
  _assert_cycle(fx, RELAY_SINK_READY, "02"); /* k1 never runs */
  _modes(fx, FAKE_FAIL, FAKE_READY, FAKE_FAIL);
  _assert_cycle(fx, RELAY_SINK_FAILED, "2");
}

/* ---- load_balance, serial (processor.parallel = false): Flume's algorithm ---- */

/* Round robin: the start moves by one per batch; a failing sink's batch goes to the next sink. */
static void
test_lb_round_robin_serial(void **state)
{
  Fixture *fx = *state;

  _use_fake_clock();
  assert_true(_make(fx, "load_balance", 3, "processor.parallel = false\n"));
  assert_int_equal(relay_config_report_count(fx->report), 0);
  assert_false(fx->proc->parallel);
  _modes(fx, FAKE_READY, FAKE_READY, FAKE_READY);
  for (guint i = 0; i < 6; i++)
    {
      char want[2] = { (char)('0' + i % 3), 0 };
      _assert_cycle(fx, RELAY_SINK_READY, want);
    }
  _modes(fx, FAKE_READY, FAKE_FAIL, FAKE_READY);
  _assert_cycle(fx, RELAY_SINK_READY, "0");
  _assert_cycle(fx, RELAY_SINK_READY, "12"); /* without backoff k1 stays in the rotation */
  _assert_cycle(fx, RELAY_SINK_READY, "2");
  _assert_cycle(fx, RELAY_SINK_READY, "0");
  _assert_cycle(fx, RELAY_SINK_READY, "12");
  _modes(fx, FAKE_FAIL, FAKE_FAIL, FAKE_FAIL);
  _assert_cycle(fx, RELAY_SINK_FAILED, "201");
}

/* Backoff: a failed sink is excluded until its restore time (2 s, then 4 s, ...), then tried again; the
 * sequential count restarts when the previous failure is older than the backoff + 1 hour. */
static void
test_lb_backoff_exclusion_and_restore(void **state)
{
  Fixture *fx = *state;

  _use_fake_clock();
  assert_true(_make(fx, "load_balance", 2, "processor.parallel = false\nprocessor.backoff = true\n"));
  _modes(fx, FAKE_FAIL, FAKE_READY, FAKE_READY);
  _assert_cycle(fx, RELAY_SINK_READY, "01"); /* k0 backed off for 2 s */
  _advance_ms(1000);
  _assert_cycle(fx, RELAY_SINK_READY, "1");
  _advance_ms(999);
  _assert_cycle(fx, RELAY_SINK_READY, "1");
  _advance_ms(2);
  _assert_cycle(fx, RELAY_SINK_READY, "01"); /* restored, fails again: 4 s */
  _advance_ms(4000);
  _assert_cycle(fx, RELAY_SINK_READY, "1");
  _advance_ms(1);
  _modes(fx, FAKE_READY, FAKE_READY, FAKE_READY);
  _assert_cycle(fx, RELAY_SINK_READY, "0"); /* k0 back in the rotation */
  _assert_cycle(fx, RELAY_SINK_READY, "1");
  _assert_cycle(fx, RELAY_SINK_READY, "0");
  _modes(fx, FAKE_FAIL, FAKE_READY, FAKE_READY);
  _advance_ms(60 * 60 * 1000 + 5000); /* more than backoff + 1 hour since the last failure */
  _assert_cycle(fx, RELAY_SINK_READY, "1");
  _assert_cycle(fx, RELAY_SINK_READY, "01"); /* the count restarts at 1: 2 s */
  _advance_ms(2001);
  _assert_cycle(fx, RELAY_SINK_READY, "1");
  _assert_cycle(fx, RELAY_SINK_READY, "01"); /* tried again after 2 s (not 8 s); now 4 s */
  _modes(fx, FAKE_FAIL, FAKE_FAIL, FAKE_READY);
  _advance_ms(4001);
  _assert_cycle(fx, RELAY_SINK_FAILED, "10"); /* both back off; none active now */
  _assert_cycle(fx, RELAY_SINK_FAILED, "");
}

/* Random: every sink starts some batches; the order is a permutation of the active sinks. */
static void
test_lb_random_serial(void **state)
{
  Fixture *fx = *state;
  guint first[MAX_SINKS] = { 0 };

  assert_true(_make(fx, "load_balance", 3, "processor.parallel = false\nprocessor.selector = RANDOM\n"));
  _modes(fx, FAKE_READY, FAKE_READY, FAKE_READY);
  for (guint i = 0; i < 300; i++)
    {
      guint at = fake.n_seq;
      assert_int_equal(relay_sink_processor_process(fx->proc), RELAY_SINK_READY);
      first[fake.seq[at]]++;
    }
  for (guint i = 0; i < MAX_SINKS; i++)
    assert_in_range(first[i], 50, 150);
  _modes(fx, FAKE_FAIL, FAKE_FAIL, FAKE_FAIL);
  guint at = fake.n_seq;
  assert_int_equal(relay_sink_processor_process(fx->proc), RELAY_SINK_FAILED);
  assert_int_equal(fake.n_seq - at, 3);
  assert_int_equal(fake.seq[at] + fake.seq[at + 1] + fake.seq[at + 2], 0 + 1 + 2);
}

/* A selector class name is refused (with file:line); keys of the table are accepted. */
static void
test_lb_config(void **state)
{
  Fixture *fx = *state;

  assert_false(_make(fx, "load_balance", 2, "processor.selector = com.example.MySelector\n"));
  _assert_report_has(fx, "t.conf:6: sinkgroups.g1: processor.selector: 'com.example.MySelector' is not "
                         "round_robin or random");
  _assert_report_has(fx, "group g1 removed");
  assert_true(
      relay_options_find(relay_sink_processor_load_balance_class.options, "processor.selector.maxTimeOut"));
  assert_int_equal(relay_sink_processor_load_balance_class.min_sinks, 2);
  assert_int_equal(relay_sink_processor_failover_class.min_sinks, 1);
  assert_ptr_equal(relay_registry_find_processor("org.apache.flume.sink.LoadBalancingSinkProcessor"),
                   &relay_sink_processor_load_balance_class);
  assert_ptr_equal(relay_registry_find_processor("FAILOVER"), &relay_sink_processor_failover_class);
}

/* ---- load_balance, parallel lanes (real clock) ---- */

/* Two slow sinks: two batches in flight at once, and the work takes about half the serial time. */
static void
test_lb_parallel_two_in_flight(void **state)
{
  Fixture *fx = *state;

  assert_true(_make(fx, "load_balance", 2, ""));
  assert_true(fx->proc->parallel);
  _modes(fx, FAKE_WORK, FAKE_WORK, FAKE_WORK);
  fx->sinks[0]->busy_ms = fx->sinks[1]->busy_ms = 200;
  _put_events(fx->channel, 8 * FAKE_BATCH);
  gint64 start = g_get_monotonic_time();
  _start_runner(fx);
  assert_true(_wait_delivered(fx, 8 * FAKE_BATCH, 20000));
  gint64 elapsed_ms = (g_get_monotonic_time() - start) / MS;
  relay_sink_runner_stop(fx->runner, 1000);
  /* Two batches in flight at once is the parallelism; how long it took depends on the machine's load, so
   * only the lower bound (8 batches x 200 ms on 2 lanes) is asserted. */
  assert_int_equal(fake.max_in_flight, 2);
  assert_true(elapsed_ms >= 790);
  assert_true(fx->sinks[0]->delivered_events >= FAKE_BATCH);
  assert_true(fx->sinks[1]->delivered_events >= FAKE_BATCH);
  assert_int_equal(relay_channel_size(fx->channel), 0);
}

/* One large commit while every lane is idle: the first lane that delivers wakes another, so the backlog
 * is worked on in parallel without waiting for the lanes' backoff timers. */
static void
test_lb_parallel_spreads_one_commit(void **state)
{
  Fixture *fx = *state;

  assert_true(_make(fx, "load_balance", 3, ""));
  _modes(fx, FAKE_WORK, FAKE_WORK, FAKE_WORK);
  for (guint i = 0; i < MAX_SINKS; i++)
    fx->sinks[i]->busy_ms = 100;
  _start_runner(fx);
  for (guint i = 0; i < MAX_SINKS; i++)
    assert_true(_wait_calls(fx, i, 1, 5000));
  g_usleep(30 * 1000); /* every lane waits after BACKOFF now (timers: 1 s) */
  gint64 start = g_get_monotonic_time();
  _put_events(fx->channel, 9 * FAKE_BATCH);
  assert_true(_wait_delivered(fx, 9 * FAKE_BATCH, 20000));
  gint64 elapsed_ms = (g_get_monotonic_time() - start) / MS;
  relay_sink_runner_stop(fx->runner, 1000);
  /* All three lanes had a batch in flight at once: had the others waited for their 1 s timers, the first
   * lane would have delivered all nine 100 ms batches alone. The time is asserted from below only. */
  assert_int_equal(fake.max_in_flight, 3);
  assert_true(elapsed_ms >= 300);
}

/* Light load: single events go to the idle lanes in round-robin order. */
static void
test_lb_parallel_round_robin_idle(void **state)
{
  Fixture *fx = *state;

  assert_true(_make(fx, "load_balance", 3, ""));
  _modes(fx, FAKE_WORK, FAKE_WORK, FAKE_WORK);
  _start_runner(fx);
  for (guint i = 0; i < MAX_SINKS; i++)
    assert_true(_wait_calls(fx, i, 1, 5000));
  g_usleep(30 * 1000);
  guint deliveries[MAX_SINKS] = { 0 };
  for (guint i = 0; i < 6; i++)
    {
      _put_events(fx->channel, 1);
      assert_true(_wait_delivered(fx, i + 1, 5000));
      /* Let the lane go back to its BACKOFF wait: each lane made one call at start and, per delivery, the
       * delivering call and the empty one after it (more if a backoff timer fired meanwhile). */
      guint d = fake.delivered_by[i];
      deliveries[d]++;
      assert_true(_wait_calls(fx, d, 1 + 2 * deliveries[d], 5000));
      g_usleep(5 * 1000);
    }
  relay_sink_runner_stop(fx->runner, 1000);
  assert_int_equal(fake.n_delivered, 6);
  for (guint i = 0; i < 6; i++)
    assert_int_equal(fake.delivered_by[i], i % 3);
}

/* Backoff in parallel: the failing sink's lane sleeps until its restore time (2 s) while the other lane
 * delivers everything; then it is tried again. */
static void
test_lb_parallel_backoff_lane_sleeps(void **state)
{
  Fixture *fx = *state;

  assert_true(_make(fx, "load_balance", 2, "processor.backoff = true\n"));
  _modes(fx, FAKE_FAIL, FAKE_WORK, FAKE_WORK);
  _put_events(fx->channel, 5 * FAKE_BATCH);
  _start_runner(fx);
  assert_true(_wait_delivered(fx, 5 * FAKE_BATCH, 20000));
  assert_int_equal(fx->sinks[1]->delivered_events, 5 * FAKE_BATCH);
  assert_true(_wait_calls(fx, 0, 2, 20000));
  gint64 gap_ms = (fx->sinks[0]->call_us[1] - fx->sinks[0]->call_us[0]) / MS;
  relay_sink_runner_stop(fx->runner, 1000);
  /* The failing lane is not called again before its restore time (never early, whatever the load), and
   * then it is (the 20 s bound above is only there to end the test). */
  assert_true(gap_ms >= 2000);
}

/* Every sink failing: nothing leaves the channel; when one recovers, delivery resumes by itself. */
static void
test_all_failing_keeps_events(void **state)
{
  Fixture *fx = *state;

  assert_true(
      _make(fx, "load_balance", 2, "processor.backoff = true\nprocessor.selector.maxTimeOut = 1000\n"));
  _modes(fx, FAKE_FAIL, FAKE_FAIL, FAKE_FAIL);
  _put_events(fx->channel, 25);
  _start_runner(fx);
  assert_true(_wait_calls(fx, 0, 1, 5000));
  assert_true(_wait_calls(fx, 1, 1, 5000));
  g_usleep(100 * 1000);
  assert_int_equal(relay_channel_size(fx->channel), 25);
  _modes(fx, FAKE_FAIL, FAKE_WORK, FAKE_FAIL);
  assert_true(_wait_delivered(fx, 25, 10000)); /* k1 retried after its 1 s backoff */
  relay_sink_runner_stop(fx->runner, 1000);
  assert_int_equal(fx->sinks[1]->delivered_events, 25);
  assert_int_equal(relay_channel_size(fx->channel), 0);
}

/* The same with a failover group on its single runner thread: events stay, nothing is lost at stop. */
static void
test_failover_all_failing_keeps_events(void **state)
{
  Fixture *fx = *state;

  assert_true(_make(fx, "failover", 2, ""));
  _modes(fx, FAKE_FAIL, FAKE_FAIL, FAKE_FAIL);
  _put_events(fx->channel, 25);
  _start_runner(fx);
  assert_true(_wait_calls(fx, 1, 1, 5000));
  g_usleep(50 * 1000);
  relay_sink_runner_stop(fx->runner, 1000);
  assert_int_equal(fx->sinks[0]->calls, 1);
  assert_int_equal(fx->sinks[1]->calls, 1);
  assert_int_equal(relay_channel_size(fx->channel), 25);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_failover_order, setup, teardown),
    cmocka_unit_test_setup_teardown(test_failover_penalty_doubles_and_caps, setup, teardown),
    cmocka_unit_test_setup_teardown(test_failover_returns_to_higher_priority, setup, teardown),
    cmocka_unit_test_setup_teardown(test_failover_config_report, setup, teardown),
    cmocka_unit_test_setup_teardown(test_lb_round_robin_serial, setup, teardown),
    cmocka_unit_test_setup_teardown(test_lb_backoff_exclusion_and_restore, setup, teardown),
    cmocka_unit_test_setup_teardown(test_lb_random_serial, setup, teardown),
    cmocka_unit_test_setup_teardown(test_lb_config, setup, teardown),
    cmocka_unit_test_setup_teardown(test_lb_parallel_two_in_flight, setup, teardown),
    cmocka_unit_test_setup_teardown(test_lb_parallel_spreads_one_commit, setup, teardown),
    cmocka_unit_test_setup_teardown(test_lb_parallel_round_robin_idle, setup, teardown),
    cmocka_unit_test_setup_teardown(test_lb_parallel_backoff_lane_sleeps, setup, teardown),
    cmocka_unit_test_setup_teardown(test_all_failing_keeps_events, setup, teardown),
    cmocka_unit_test_setup_teardown(test_failover_all_failing_keeps_events, setup, teardown),
  };
  evthread_use_pthreads();
  return cmocka_run_group_tests(tests, NULL, NULL);
}
