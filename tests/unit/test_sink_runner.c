/* test_sink_runner.c - unit tests for the sink runner: READY/BACKOFF/FAILED timing, DATA wake-up, stop.
 *
 * A fake sink class defined here follows a script of statuses and records when it was called (on the runner
 * thread; the test thread waits on a condition). DATA notifications come from real commits on a memory
 * channel. Timings are asserted with tolerances; the whole program takes about 10 s because Flume's waits
 * (1 s, 2 s, 5 s) are fixed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "channel.h"
#include "component.h"
#include "event.h"
#include "log.h"
#include "relay_mutex.h"
#include "sink.h"
#include "sink_processor.h"
#include "sink_runner.h"

#define MAX_CALLS 32
#define MS (G_TIME_SPAN_MILLISECOND)

extern const RelayComponentClass relay_channel_memory_class;

/* ---- the fake sink ---- */

typedef struct
{
  RelayMutex lock;
  RelayCond cond;
  const RelaySinkStatus *script;
  guint script_len;
  RelaySinkStatus after_script;
  gint64 call_us[MAX_CALLS];
  guint calls;
  gint64 busy_ms;     /* each call takes this long */
  gboolean stuck;     /* each call blocks until the abort flag is set */
  gboolean saw_abort; /* a stuck call ended because of the abort flag */
  guint unable_lines; /* "Unable to deliver event" log lines */
  guint saw_exit;     /* stop_async's on_exited calls (test thread) */
} FakeState;

static FakeState fake;

/* Runs in: the runner thread. */
static RelaySinkStatus
_fake_process(RelaySink *sink)
{
  relay_mutex_lock(&fake.lock);
  guint index = fake.calls;
  if (fake.calls < MAX_CALLS)
    fake.call_us[fake.calls++] = g_get_monotonic_time();
  RelaySinkStatus status = index < fake.script_len ? fake.script[index] : fake.after_script;
  gint64 busy_ms = fake.busy_ms;
  gboolean stuck = fake.stuck;
  relay_cond_broadcast(&fake.cond);
  relay_mutex_unlock(&fake.lock);

  if (busy_ms)
    g_usleep(busy_ms * 1000);
  while (stuck && !relay_sink_abort_requested(sink))
    g_usleep(2000);
  if (stuck)
    {
      relay_mutex_lock(&fake.lock);
      fake.saw_abort = TRUE;
      relay_mutex_unlock(&fake.lock);
      return RELAY_SINK_FAILED;
    }
  return status;
}

static const RelaySinkOps _fake_ops = { .process = _fake_process };
static const RelayOption _fake_options[] = { RELAY_OPTION_END };

static const RelayComponentClass fake_sink_class = {
  .kind = RELAY_KIND_SINK,
  .type = "fake",
  .description = "test sink",
  .options = _fake_options,
  .instance_size = sizeof(RelaySink),
  .ops = &_fake_ops,
};

static void
_log_handler(RelayLogLevel level, const char *line, gpointer user_data)
{
  if (!strstr(line, "Unable to deliver event"))
    return;
  relay_mutex_lock(&fake.lock);
  fake.unable_lines++;
  relay_mutex_unlock(&fake.lock);
}

/* ---- fixture ---- */

typedef struct
{
  RelayChannel *channel;
  RelaySink *sink;
  RelaySinkRunner *runner;
} Fixture;

static int
setup(void **state)
{
  static const char *const channel_kv[] = { "capacity", "1000", "transactionCapacity", "100", NULL };
  Fixture *fx = g_new0(Fixture, 1);

  memset(&fake, 0, sizeof fake);
  relay_mutex_init(&fake.lock);
  relay_cond_init(&fake.cond);
  relay_log_set_handler(_log_handler, NULL);

  fx->channel = (RelayChannel *)relay_component_new(&relay_channel_memory_class, "c1");
  assert_true(relay_component_configure_kv(RELAY_COMPONENT(fx->channel), channel_kv));
  assert_true(relay_component_start(RELAY_COMPONENT(fx->channel), NULL));
  fx->sink = (RelaySink *)relay_component_new(&fake_sink_class, "k1");
  fx->sink->channel = fx->channel;

  RelaySinkProcessor *proc
      = relay_sink_processor_new(&relay_sink_processor_default_class, "k1", &fx->sink, 1);
  assert_true(relay_sink_processor_configure(proc, NULL, NULL));
  fx->runner = relay_sink_runner_new(proc);
  *state = fx;
  return 0;
}

static int
teardown(void **state)
{
  Fixture *fx = *state;

  relay_sink_runner_free(fx->runner);
  relay_component_free(RELAY_COMPONENT(fx->sink));
  relay_component_free(RELAY_COMPONENT(fx->channel));
  relay_log_set_handler(NULL, NULL);
  relay_mutex_clear(&fake.lock);
  relay_cond_clear(&fake.cond);
  g_free(fx);
  return 0;
}

static void
_start(Fixture *fx)
{
  GError *error = NULL;

  assert_true(relay_sink_runner_start(fx->runner, &error));
  assert_null(error);
}

/* Waits until the fake was called n times; FALSE after timeout_ms. */
static gboolean
_wait_calls(guint n, gint64 timeout_ms)
{
  gint64 deadline = g_get_monotonic_time() + timeout_ms * MS;
  gboolean ok = TRUE;

  relay_mutex_lock(&fake.lock);
  while (fake.calls < n && ok)
    ok = relay_cond_wait_until(&fake.cond, &fake.lock, deadline);
  ok = fake.calls >= n;
  relay_mutex_unlock(&fake.lock);
  return ok;
}

static guint
_calls(void)
{
  relay_mutex_lock(&fake.lock);
  guint n = fake.calls;
  relay_mutex_unlock(&fake.lock);
  return n;
}

static gint64
_gap_ms(guint i)
{
  return (fake.call_us[i + 1] - fake.call_us[i]) / MS;
}

static void
_commit_one_event(RelayChannel *channel)
{
  RelayEvent *ev = relay_event_new_simple("x", NULL);
  RelayTxn *txn = relay_channel_begin(channel);

  assert_int_equal(relay_txn_put(txn, ev), RELAY_CHANNEL_OK);
  assert_int_equal(relay_txn_commit(txn), RELAY_CHANNEL_OK);
  relay_txn_close(txn);
  relay_event_unref(ev);
}

/* ---- tests ---- */

static void
test_status_names(void **state)
{
  assert_string_equal(relay_sink_status_name(RELAY_SINK_READY), "READY");
  assert_string_equal(relay_sink_status_name(RELAY_SINK_BACKOFF), "BACKOFF");
  assert_string_equal(relay_sink_status_name(RELAY_SINK_FAILED), "FAILED");
}

static void
test_default_processor_needs_one_sink(void **state)
{
  Fixture *fx = *state;
  RelaySink *two[] = { fx->sink, fx->sink };
  RelayConfigReport *report = relay_config_report_new();
  RelaySinkProcessor *proc = relay_sink_processor_new(&relay_sink_processor_default_class, "g1", two, 2);

  assert_string_equal(proc->log_prefix, "sinkgroup:default:g1");
  assert_false(relay_sink_processor_configure(proc, NULL, report));
  assert_int_equal(relay_config_report_count(report), 1);
  relay_sink_processor_free(proc);
  relay_config_report_free(report);
}

/* READY -> at once; BACKOFF -> 1000, 2000 ms; READY resets the count, so the next BACKOFF waits 1000 ms. */
static void
test_ready_backoff_sequence(void **state)
{
  static const RelaySinkStatus script[]
      = { RELAY_SINK_BACKOFF, RELAY_SINK_BACKOFF, RELAY_SINK_READY, RELAY_SINK_READY, RELAY_SINK_BACKOFF };
  static const gint64 expected_gap_ms[] = { 1000, 2000, 0, 0, 1000 };
  Fixture *fx = *state;

  fake.script = script;
  fake.script_len = G_N_ELEMENTS(script);
  fake.after_script = RELAY_SINK_BACKOFF;
  _start(fx);
  assert_true(_wait_calls(6, 6000));
  relay_sink_runner_stop(fx->runner, 1000);
  for (guint i = 0; i < G_N_ELEMENTS(expected_gap_ms); i++)
    {
      gint64 gap = _gap_ms(i);
      assert_in_range(gap, MAX(expected_gap_ms[i] - 5, 0), expected_gap_ms[i] + 250);
    }
  assert_int_equal(_calls(), 6);
}

/* A commit on the sink's channel ends a backoff wait at once. */
static void
test_data_wakes_backoff(void **state)
{
  Fixture *fx = *state;

  fake.after_script = RELAY_SINK_BACKOFF;
  _start(fx);
  assert_true(_wait_calls(1, 1000));
  g_usleep(50 * 1000);
  assert_int_equal(_calls(), 1);
  gint64 committed_us = g_get_monotonic_time();
  _commit_one_event(fx->channel);
  assert_true(_wait_calls(2, 1000));
  gint64 latency_ms = (fake.call_us[1] - committed_us) / MS;
  assert_in_range(latency_ms, 0, 200); /* the backoff timer would be 1000 */
  relay_sink_runner_stop(fx->runner, 1000);
}

/* FAILED -> 5000 ms, logged once, and new data does not cut the wait short. */
static void
test_failed_waits_and_logs(void **state)
{
  static const RelaySinkStatus script[] = { RELAY_SINK_FAILED };
  Fixture *fx = *state;

  fake.script = script;
  fake.script_len = 1;
  fake.after_script = RELAY_SINK_BACKOFF;
  _start(fx);
  assert_true(_wait_calls(1, 1000));
  g_usleep(100 * 1000);
  _commit_one_event(fx->channel);
  assert_true(_wait_calls(2, 6000));
  assert_in_range(_gap_ms(0), 4995, 5400);
  relay_sink_runner_stop(fx->runner, 1000);
  assert_int_equal(fake.unable_lines, 1);
}

/* A stop during a backoff wait returns at once, without aborting anything. */
static void
test_stop_during_backoff_is_prompt(void **state)
{
  Fixture *fx = *state;

  fake.after_script = RELAY_SINK_BACKOFF;
  _start(fx);
  assert_true(_wait_calls(1, 1000));
  g_usleep(20 * 1000);
  gint64 start = g_get_monotonic_time();
  relay_sink_runner_stop(fx->runner, 2000);
  assert_in_range((g_get_monotonic_time() - start) / MS, 0, 200);
  assert_int_equal(_calls(), 1);
  assert_false(relay_sink_abort_requested(fx->sink));
  relay_sink_runner_stop(fx->runner, 2000); /* idempotent */
}

/* A sink that keeps returning READY still sees the stop between two batches. */
static void
test_stop_while_ready_loop(void **state)
{
  Fixture *fx = *state;

  fake.after_script = RELAY_SINK_READY;
  fake.busy_ms = 1;
  _start(fx);
  assert_true(_wait_calls(5, 1000));
  gint64 start = g_get_monotonic_time();
  relay_sink_runner_stop(fx->runner, 2000);
  assert_in_range((g_get_monotonic_time() - start) / MS, 0, 200);
  guint calls = _calls();
  g_usleep(20 * 1000);
  assert_int_equal(_calls(), calls);
  assert_false(relay_sink_abort_requested(fx->sink));
}

/* The batch in flight finishes within the grace period: stop waits for it and sets no abort flag. */
static void
test_stop_waits_for_batch_in_flight(void **state)
{
  Fixture *fx = *state;

  fake.after_script = RELAY_SINK_READY;
  fake.busy_ms = 150;
  _start(fx);
  assert_true(_wait_calls(1, 1000));
  gint64 start = g_get_monotonic_time();
  relay_sink_runner_stop(fx->runner, 2000);
  assert_in_range((g_get_monotonic_time() - start) / MS, 80, 600);
  assert_int_equal(_calls(), 1);
  assert_false(relay_sink_abort_requested(fx->sink));
}

/* A sink stuck in process() gets its abort flag after the grace period, then stop joins. */
static void
test_stop_aborts_stuck_sink(void **state)
{
  Fixture *fx = *state;

  fake.stuck = TRUE;
  _start(fx);
  assert_true(_wait_calls(1, 1000));
  gint64 start = g_get_monotonic_time();
  relay_sink_runner_stop(fx->runner, 200);
  assert_in_range((g_get_monotonic_time() - start) / MS, 195, 700);
  assert_true(relay_sink_abort_requested(fx->sink));
  assert_true(fake.saw_abort);
  assert_int_equal(_calls(), 1);
}

/* ---- stop_async (live reload, issue 14) ---- */

static void
_on_exited(gpointer data)
{
  struct event_base *base = data;

  fake.saw_exit++;
  event_base_loopbreak(base);
}

/* Runs stop_async on a loop of the test's and that loop until on_exited; frees the runner (before the loop,
 * which holds the runner's events). Returns how long the loop ran, in ms. */
static gint64
_stop_async(Fixture *fx, guint grace_ms)
{
  struct event_base *base = event_base_new();

  assert_true(relay_sink_runner_stop_async(fx->runner, base, grace_ms, _on_exited, base));
  assert_int_equal(fake.saw_exit, 0); /* never before the loop runs */
  assert_false(relay_sink_runner_stop_async(fx->runner, base, grace_ms, _on_exited, base)); /* under way */
  gint64 start = g_get_monotonic_time();
  event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY); /* the test's loop has no other event to keep it going */
  gint64 ran_ms = (g_get_monotonic_time() - start) / MS;
  assert_int_equal(fake.saw_exit, 1);
  assert_false(relay_sink_runner_running(fx->runner));
  relay_sink_runner_free(fx->runner);
  fx->runner = NULL;
  event_base_free(base);
  return ran_ms;
}

/* stop_async returns while the batch is in flight; the loop learns when it finished, without an abort. */
static void
test_stop_async_waits_on_the_loop(void **state)
{
  Fixture *fx = *state;

  fake.after_script = RELAY_SINK_READY;
  fake.busy_ms = 150;
  _start(fx);
  assert_true(_wait_calls(1, 1000));
  assert_in_range(_stop_async(fx, 5000), 0, 4000);
  assert_int_equal(_calls(), 1);
  assert_false(relay_sink_abort_requested(fx->sink));
}

/* A stuck sink gets its abort flag from the loop's grace timer, then the loop learns that it left. */
static void
test_stop_async_aborts_stuck_sink(void **state)
{
  Fixture *fx = *state;

  fake.stuck = TRUE;
  _start(fx);
  assert_true(_wait_calls(1, 1000));
  assert_in_range(_stop_async(fx, 200), 150, 4000);
  assert_true(relay_sink_abort_requested(fx->sink));
  assert_true(fake.saw_abort);
}

/* Freeing a started runner stops it; freeing one that never started is fine too. */
static void
test_free_without_stop(void **state)
{
  Fixture *fx = *state;
  RelaySinkProcessor *proc
      = relay_sink_processor_new(&relay_sink_processor_default_class, "k2", &fx->sink, 1);
  RelaySinkRunner *idle = relay_sink_runner_new(proc);

  assert_ptr_equal(relay_sink_runner_processor(idle), proc);
  relay_sink_runner_free(idle);
  fake.after_script = RELAY_SINK_BACKOFF;
  _start(fx);
  assert_true(_wait_calls(1, 1000));
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_status_names),
    cmocka_unit_test_setup_teardown(test_default_processor_needs_one_sink, setup, teardown),
    cmocka_unit_test_setup_teardown(test_ready_backoff_sequence, setup, teardown),
    cmocka_unit_test_setup_teardown(test_data_wakes_backoff, setup, teardown),
    cmocka_unit_test_setup_teardown(test_failed_waits_and_logs, setup, teardown),
    cmocka_unit_test_setup_teardown(test_stop_during_backoff_is_prompt, setup, teardown),
    cmocka_unit_test_setup_teardown(test_stop_while_ready_loop, setup, teardown),
    cmocka_unit_test_setup_teardown(test_stop_waits_for_batch_in_flight, setup, teardown),
    cmocka_unit_test_setup_teardown(test_stop_aborts_stuck_sink, setup, teardown),
    cmocka_unit_test_setup_teardown(test_free_without_stop, setup, teardown),
    cmocka_unit_test_setup_teardown(test_stop_async_waits_on_the_loop, setup, teardown),
    cmocka_unit_test_setup_teardown(test_stop_async_aborts_stuck_sink, setup, teardown),
  };

  evthread_use_pthreads();
  return cmocka_run_group_tests(tests, NULL, NULL);
}
