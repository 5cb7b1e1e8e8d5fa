/* sinkproc_load_balance.c - the load_balance sink processor (Flume's LoadBalancingSinkProcessor), parallel.
 *
 * Flume's algorithm, kept as is: a selector orders the active sinks, round_robin (the start advances by one
 * per batch over the active sinks) or random (a random permutation); the sinks are tried in that order until
 * one does not fail. With processor.backoff = true a failing sink is excluded until its restore time: its
 * sequential-failure count goes up by one (at most 16) when its previous failure was less than the previous
 * backoff + 1 hour ago, else restarts at 1, and restore = now + min(selector.maxTimeOut, 2^count x 1000 ms)
 * (2 s, 4 s, 8 s, 16 s, then 30 s by default; maxTimeOut 0 means 30000 as in Flume). There is no reset on
 * success. Without backoff a failing sink stays in the rotation and a failed batch goes to the next sink.
 *
 * Parallel delivery (processor.parallel = true, the default; a relayd extension): Flume runs the whole group
 * on one thread, so a load_balance group delivers one batch at a time and adds no throughput. Here the
 * runner gives every sink its own lane (thread, event loop, connection, transaction; sink_runner.c) and each
 * lane runs process_sink() for its sink only, so up to one batch per sink is in flight. How Flume's
 * semantics map onto lanes:
 *   - The unit of balancing is still one batch (one transaction of one sink), and per-event guarantees are
 *     those of a single sink: a batch leaves the channel only after its sink delivered it.
 *   - Selector: when new events are committed, the runner wakes one idle lane (one whose sink found the
 *     channel empty) chosen by pick_idle(): round_robin takes the first idle sink at or after a cursor that
 *     then moves past it, random picks uniformly among the idle sinks. So under light load batches rotate
 *     over the sinks exactly as with Flume; under full load no lane is idle, every sink takes the next
 *     batch as soon as it finished the previous one, and each sink's share follows its speed instead of
 *     strict alternation (a slow collector no longer holds back the others).
 *   - A failed sink's share goes to the others: its batch is rolled back to the channel head and taken by
 *     the next lane that looks, while the failed lane waits before trying again.
 *   - Backoff timings are Flume's (above). A backed-off sink's lane sleeps until exactly its restore time
 *     (the runner's FAILED wait, which new data does not cut short), so a dead sink is not retried before
 *     its backoff expires. Without backoff a failing lane waits the runner's usual 5 s (Flume's SinkRunner
 *     wait after a failure) instead of being retried on every batch of the group.
 *   - All sinks failing: every lane waits; the events stay in the channel.
 * processor.parallel = false runs Flume's serial process() on one thread, exactly as Flume.
 *
 * Threads & locking: configure/free on the main thread. Serial: process() on the runner thread owns
 * everything. Parallel: members[i] (failure state) is touched only by lane i; pick_idle() runs under the
 * runner's lock and alone uses `next_idle` and `pick_rand`. */
#include "sink_processor.h"

#include "config.h"
#include "counters.h"
#include "log.h"

#include <string.h>

#define LB_BACKOFF_UNIT_MS 1000
#define LB_MAX_SEQUENTIAL_FAILS 16              /* Flume's EXP_BACKOFF_COUNTER_LIMIT */
#define LB_SEQUENTIAL_RANGE_MS (60 * 60 * 1000) /* Flume's CONSIDER_SEQUENTIAL_RANGE: 1 hour */
#define LB_DEFAULT_MAX_TIMEOUT_MS 30000

typedef enum
{
  LB_ROUND_ROBIN = 0,
  LB_RANDOM,
} LbSelector;

typedef struct
{
  RelaySink *sink;
  guint sequential_fails;
  gboolean has_failed;
  gint64 last_fail_us;
  gint64 restore_us; /* excluded until then (backoff only) */
  RelayRateLimit backoff_rl;
} LbMember;

typedef struct
{
  RelaySinkProcessor super;
  char *selector_name;
  gboolean backoff;
  gint64 max_timeout_ms;
  gboolean parallel_option;
  LbSelector selector;
  LbMember *members; /* one per sink, configured order */
  /* Serial process() only. */
  guint next_head;
  GRand *rand;
  guint *active; /* scratch: indices of the sinks not backed off */
  guint *order;  /* the active sinks in selector order */
  RelayRateLimit all_failed_rl;
  /* pick_idle() only (under the runner's lock). */
  guint next_idle;
  GRand *pick_rand;
} RelayLoadBalanceProcessor;

static const RelayOption _lb_options[] = {
  RELAY_OPT_STRING_ROW("processor.selector", "round_robin", RelayLoadBalanceProcessor, selector_name, 0,
                       "round_robin or random (custom selector classes are not supported)"),
  RELAY_OPT_BOOL_ROW("processor.backoff", "false", RelayLoadBalanceProcessor, backoff, 0,
                     "exclude a failed sink for an exponentially growing time"),
  RELAY_OPT_INT_ROW("processor.selector.maxTimeOut", "30000", 0, G_MAXINT32, RelayLoadBalanceProcessor,
                    max_timeout_ms, 0, "longest backoff in ms (0: 30000)"),
  RELAY_OPT_BOOL_ROW("processor.parallel", "true", RelayLoadBalanceProcessor, parallel_option, 0,
                     "relayd: one thread and connection per sink, batches in parallel (false: Flume's one "
                     "thread for the group)"),
  RELAY_OPTION_END,
};

static gint64
_backoff_ms(const RelayLoadBalanceProcessor *self, guint count)
{
  return MIN(self->max_timeout_ms, ((gint64)1 << count) * LB_BACKOFF_UNIT_MS);
}

/* Flume's OrderSelector.informFailure. Runs in: the thread that ran the sink. */
static void
_inform_failure(RelayLoadBalanceProcessor *self, LbMember *member)
{
  gint64 now_us = relay_sink_processor_now_us();
  gint64 allowed_ms = _backoff_ms(self, member->sequential_fails) + LB_SEQUENTIAL_RANGE_MS;

  if (!self->backoff)
    return;
  if (member->has_failed && now_us - member->last_fail_us < allowed_ms * G_TIME_SPAN_MILLISECOND)
    member->sequential_fails = MIN(member->sequential_fails + 1, LB_MAX_SEQUENTIAL_FAILS);
  else
    member->sequential_fails = 1;
  member->has_failed = TRUE;
  member->last_fail_us = now_us;
  gint64 backoff_ms = _backoff_ms(self, member->sequential_fails);
  member->restore_us = now_us + backoff_ms * G_TIME_SPAN_MILLISECOND;
  relay_log_ratelimited(&member->backoff_rl, RELAY_LOG_WARN, self->super.log_prefix,
                        "sink backed off sink=%s failures=%u backoff_ms=%" G_GINT64_FORMAT,
                        member->sink->super.name, member->sequential_fails, backoff_ms);
}

/* Fills self->order with the active sinks in selector order; returns how many. Runs in: the runner thread. */
static guint
_serial_order(RelayLoadBalanceProcessor *self)
{
  gint64 now_us = relay_sink_processor_now_us();
  guint n = 0;

  for (guint i = 0; i < self->super.sinks->len; i++)
    if (!self->backoff || self->members[i].restore_us < now_us)
      self->active[n++] = i;
  if (n == 0)
    return 0;
  if (self->selector == LB_RANDOM)
    {
      memcpy(self->order, self->active, n * sizeof *self->order);
      for (guint i = n - 1; i > 0; i--)
        {
          guint j = (guint)g_rand_int_range(self->rand, 0, (gint32)i + 1);
          guint tmp = self->order[i];
          self->order[i] = self->order[j];
          self->order[j] = tmp;
        }
      return n;
    }
  if (self->next_head >= n)
    self->next_head = 0;
  guint begin = self->next_head++;
  if (self->next_head == n)
    self->next_head = 0;
  for (guint i = 0; i < n; i++)
    self->order[i] = self->active[(begin + i) % n];
  return n;
}

/* Flume's process(): one batch, sinks tried in selector order until one does not fail.
 * Runs in: the runner thread (processor.parallel = false). */
static RelaySinkStatus
_lb_process(RelaySinkProcessor *proc)
{
  RelayLoadBalanceProcessor *self = (RelayLoadBalanceProcessor *)proc;
  guint n = _serial_order(self);

  for (guint i = 0; i < n; i++)
    {
      LbMember *member = &self->members[self->order[i]];
      RelaySinkStatus status = relay_sink_process(member->sink);
      if (status != RELAY_SINK_FAILED)
        return status;
      relay_counter_add_shared(&proc->sink_failures, 1);
      _inform_failure(self, member);
    }
  relay_log_ratelimited(&self->all_failed_rl, RELAY_LOG_ERROR, proc->log_prefix,
                        "All configured sinks have failed active=%u", n);
  return RELAY_SINK_FAILED;
}

/* One batch on sink `index` alone. Runs in: the lane thread of that sink. */
static RelaySinkStatus
_lb_process_sink(RelaySinkProcessor *proc, guint index, gint64 *retry_ms)
{
  RelayLoadBalanceProcessor *self = (RelayLoadBalanceProcessor *)proc;
  LbMember *member = &self->members[index];
  RelaySinkStatus status = relay_sink_process(member->sink);

  if (status == RELAY_SINK_FAILED)
    relay_counter_add_shared(&proc->sink_failures, 1);
  if (status == RELAY_SINK_FAILED && self->backoff)
    {
      _inform_failure(self, member);
      gint64 left_us = member->restore_us - relay_sink_processor_now_us();
      *retry_ms = MAX(left_us, 0) / G_TIME_SPAN_MILLISECOND + 1; /* rounded up: never before restore */
    }
  return status;
}

/* Which idle lane takes new data. Runs in: a committing or lane thread, under the runner's lock. */
static guint
_lb_pick_idle(RelaySinkProcessor *proc, const guint *idle, guint n_idle)
{
  RelayLoadBalanceProcessor *self = (RelayLoadBalanceProcessor *)proc;

  if (self->selector == LB_RANDOM)
    return (guint)g_rand_int_range(self->pick_rand, 0, (gint32)n_idle);
  guint pos = 0;
  while (pos < n_idle && idle[pos] < self->next_idle)
    pos++;
  if (pos == n_idle)
    pos = 0;
  self->next_idle = (idle[pos] + 1) % proc->sinks->len;
  return pos;
}

static gboolean
_parse_selector(RelayLoadBalanceProcessor *self, const RelayComponentConfig *group, RelayConfigReport *report)
{
  if (g_ascii_strcasecmp(self->selector_name, "round_robin") == 0)
    self->selector = LB_ROUND_ROBIN;
  else if (g_ascii_strcasecmp(self->selector_name, "random") == 0)
    self->selector = LB_RANDOM;
  else
    {
      relay_config_report_add(
          report, group ? relay_component_config_get(group, "processor.selector") : NULL,
          group ? group->label : self->super.log_prefix, "processor.selector",
          "'%s' is not round_robin or random (custom selector classes are not supported); "
          "group %s removed",
          self->selector_name, self->super.name);
      return FALSE;
    }
  return TRUE;
}

static gboolean
_lb_configure(RelaySinkProcessor *proc, const RelayComponentConfig *group, RelayConfigReport *report)
{
  RelayLoadBalanceProcessor *self = (RelayLoadBalanceProcessor *)proc;
  guint n = proc->sinks->len;

  if (!_parse_selector(self, group, report))
    return FALSE;
  if (self->max_timeout_ms == 0)
    self->max_timeout_ms = LB_DEFAULT_MAX_TIMEOUT_MS;
  self->members = g_new0(LbMember, n);
  for (guint i = 0; i < n; i++)
    {
      self->members[i].sink = g_ptr_array_index(proc->sinks, i);
      self->members[i].backoff_rl = (RelayRateLimit)RELAY_RATELIMIT_INIT;
    }
  self->active = g_new0(guint, n);
  self->order = g_new0(guint, n);
  self->rand = g_rand_new();
  self->pick_rand = g_rand_new();
  self->all_failed_rl = (RelayRateLimit)RELAY_RATELIMIT_INIT;
  proc->parallel = self->parallel_option;
  return TRUE;
}

static void
_lb_free(RelaySinkProcessor *proc)
{
  RelayLoadBalanceProcessor *self = (RelayLoadBalanceProcessor *)proc;

  g_free(self->members);
  g_free(self->active);
  g_free(self->order);
  if (self->rand)
    g_rand_free(self->rand);
  if (self->pick_rand)
    g_rand_free(self->pick_rand);
}

const RelaySinkProcessorClass relay_sink_processor_load_balance_class = {
  .type = "load_balance",
  .flume_class = "org.apache.flume.sink.LoadBalancingSinkProcessor",
  .options = _lb_options,
  .instance_size = sizeof(RelayLoadBalanceProcessor),
  .min_sinks = 2,
  .max_sinks = 0,
  .configure = _lb_configure,
  .process = _lb_process,
  .free = _lb_free,
  .process_sink = _lb_process_sink,
  .pick_idle = _lb_pick_idle,
};
