/* sinkproc_failover.c - the failover sink processor (Flume's FailoverSinkProcessor).
 *
 * Every sink of the group has a priority: processor.priority.<sink>, or, when that is missing or not an
 * integer, -1, -2, ... in configured order (Flume uses its HashMap order). Two sinks with the same priority:
 * the later one is left out of the group and never runs (Flume does the same, with only a warning; relayd
 * reports it with file:line). Live sinks are kept by decreasing priority; the active sink is the first.
 *
 * Each cycle, as Flume's process(): first the failed sinks whose penalty has expired are retried, earliest
 * expiry first; a retried sink that returns READY is live again (and becomes active if its priority is the
 * highest), one that returns BACKOFF stays queued with its penalty unchanged, and in both cases its status
 * ends the cycle; one that fails gets failures + 1 and a new penalty, and the next expired one is tried.
 * Then the active sink runs; if it fails it goes to the failed queue with failures = 1 and the next live
 * sink is tried in the same cycle. No live sink left -> FAILED ("All sinks failed to process"), after
 * which the runner waits 5 s. Penalty: now + min(maxpenalty, 2^failures x 1000 ms): 2 s, 4 s, 8 s, 16 s,
 * then maxpenalty (30 s by default).
 *
 * Threads: configure/free on the main thread; process on the group's runner thread, which alone touches
 * the live and failed lists. */
#include "sink_processor.h"

#include "config.h"
#include "counters.h"
#include "log.h"
#include "props.h"

#include <string.h>

#define FAILOVER_PRIORITY_PREFIX "processor.priority."
#define FAILOVER_PENALTY_UNIT_MS 1000
/* 2^31 s is beyond any maxpenalty (an int of ms); the exponent stops there so the shift cannot overflow. */
#define FAILOVER_MAX_EXPONENT 31

typedef struct
{
  RelaySink *sink;
  gint64 priority;
  guint failures;    /* sequential failures while queued (Flume's sequentialFailures) */
  gint64 refresh_us; /* when it may be retried (relay_sink_processor_now_us() clock) */
  gboolean left_out; /* duplicate priority: never runs */
} FailoverMember;

typedef struct
{
  RelaySinkProcessor super;
  gint64 max_penalty_ms;
  FailoverMember *members; /* one per sink, configured order */
  GPtrArray *live;         /* FailoverMember*, by decreasing priority: [0] is the active sink */
  GPtrArray *failed;       /* FailoverMember*, by increasing refresh_us (earlier failures first on ties) */
  RelayRateLimit failed_rl, recovered_rl, all_failed_rl;
} RelayFailoverProcessor;

static const RelayOption _failover_options[] = {
  RELAY_OPT_INT_ROW("processor.maxpenalty", "30000", 0, G_MAXINT32, RelayFailoverProcessor, max_penalty_ms,
                    RELAY_OPTF_LENIENT,
                    "longest wait (ms) before a failed sink is retried; the wait doubles from 2000 up to it"),
  RELAY_OPTION_END,
};

static gint64
_penalty_ms(const RelayFailoverProcessor *self, guint failures)
{
  guint exponent = MIN(failures, FAILOVER_MAX_EXPONENT);

  return MIN(self->max_penalty_ms, ((gint64)1 << exponent) * FAILOVER_PENALTY_UNIT_MS);
}

/* Inserts member keeping `live` sorted by decreasing priority. */
static void
_add_live(RelayFailoverProcessor *self, FailoverMember *member)
{
  guint pos = 0;

  while (pos < self->live->len
         && ((FailoverMember *)g_ptr_array_index(self->live, pos))->priority > member->priority)
    pos++;
  g_ptr_array_insert(self->live, (gint)pos, member);
}

/* Queues member with a penalty for its failure count (after equal refresh times: FIFO on ties). */
static void
_queue_failed(RelayFailoverProcessor *self, FailoverMember *member)
{
  guint pos = 0;

  while (pos < self->failed->len
         && ((FailoverMember *)g_ptr_array_index(self->failed, pos))->refresh_us <= member->refresh_us)
    pos++;
  g_ptr_array_insert(self->failed, (gint)pos, member);
}

static void
_penalize(RelayFailoverProcessor *self, FailoverMember *member)
{
  gint64 penalty_ms = _penalty_ms(self, member->failures);

  member->refresh_us = relay_sink_processor_now_us() + penalty_ms * G_TIME_SPAN_MILLISECOND;
  _queue_failed(self, member);
  relay_counter_add_shared(&self->super.sink_failures, 1);
  relay_log_ratelimited(
      &self->failed_rl, RELAY_LOG_WARN, self->super.log_prefix,
      "sink failed and has been sent to the failover list sink=%s failures=%u retry_in_ms=%" G_GINT64_FORMAT,
      member->sink->super.name, member->failures, penalty_ms);
}

/* Retries the failed sinks whose penalty expired before `now_us`. TRUE if one of them ended the cycle
 * (its status in *status). Runs in: the runner thread. */
static gboolean
_retry_failed(RelayFailoverProcessor *self, gint64 now_us, RelaySinkStatus *status)
{
  while (self->failed->len && ((FailoverMember *)g_ptr_array_index(self->failed, 0))->refresh_us < now_us)
    {
      FailoverMember *member = g_ptr_array_steal_index(self->failed, 0);
      *status = relay_sink_process(member->sink);
      if (*status == RELAY_SINK_READY)
        {
          _add_live(self, member);
          relay_log_ratelimited(&self->recovered_rl, RELAY_LOG_INFO, self->super.log_prefix,
                                "sink recovered from the failover list sink=%s active=%s",
                                member->sink->super.name,
                                ((FailoverMember *)g_ptr_array_index(self->live, 0))->sink->super.name);
          return TRUE;
        }
      if (*status == RELAY_SINK_BACKOFF)
        {
          _queue_failed(self, member); /* not penalized: it worked but had nothing to do */
          return TRUE;
        }
      member->failures++;
      _penalize(self, member);
    }
  return FALSE;
}

/* Runs in: the runner thread. */
static RelaySinkStatus
_failover_cycle(RelayFailoverProcessor *self)
{
  RelaySinkStatus status;

  if (_retry_failed(self, relay_sink_processor_now_us(), &status))
    return status;
  while (self->live->len)
    {
      FailoverMember *active = g_ptr_array_index(self->live, 0);
      status = relay_sink_process(active->sink);
      if (status != RELAY_SINK_FAILED)
        return status;
      g_ptr_array_remove_index(self->live, 0);
      active->failures = 1;
      _penalize(self, active);
      relay_counter_add_shared(&self->super.failovers, 1);
    }
  relay_log_ratelimited(&self->all_failed_rl, RELAY_LOG_ERROR, self->super.log_prefix,
                        "All sinks failed to process, nothing left to failover to failed=%u",
                        self->failed->len);
  return RELAY_SINK_FAILED;
}

/* Runs in: the runner thread. One cycle, then publishes the active sink for the metrics page. */
static RelaySinkStatus
_failover_process(RelaySinkProcessor *proc)
{
  RelayFailoverProcessor *self = (RelayFailoverProcessor *)proc;
  RelaySinkStatus status = _failover_cycle(self);
  gint active = -1;

  if (self->live->len)
    active = (gint)((FailoverMember *)g_ptr_array_index(self->live, 0) - self->members);
  g_atomic_int_set(&proc->active_sink, active);
  return status;
}

static gboolean
_failover_knows_key(const char *key)
{
  return g_str_has_prefix(key, FAILOVER_PRIORITY_PREFIX);
}

static FailoverMember *
_live_with_priority(RelayFailoverProcessor *self, gint64 priority)
{
  for (guint i = 0; i < self->live->len; i++)
    if (((FailoverMember *)g_ptr_array_index(self->live, i))->priority == priority)
      return g_ptr_array_index(self->live, i);
  return NULL;
}

/* The configured priority of sink i, or the next automatic one (-1, -2, ...) when missing or invalid. */
static gint64
_member_priority(RelayFailoverProcessor *self, const RelayComponentConfig *group, const char *key,
                 gint64 *next_auto, RelayConfigReport *report)
{
  const RelayProp *prop = group ? relay_component_config_get(group, key) : NULL;
  gint64 priority;

  if (prop && relay_options_parse_int(prop->value, &priority) && priority >= G_MININT32
      && priority <= G_MAXINT32)
    return priority;
  priority = --*next_auto;
  if (prop)
    relay_config_report_add(report, prop, group->label, key,
                            "'%s' is not an integer; using priority %" G_GINT64_FORMAT, prop->value,
                            priority);
  return priority;
}

static void
_report_stray_priorities(RelayFailoverProcessor *self, const RelayComponentConfig *group,
                         RelayConfigReport *report)
{
  GPtrArray *keys = relay_component_config_keys(group, FAILOVER_PRIORITY_PREFIX);

  for (guint i = 0; i < keys->len; i++)
    {
      const char *key = g_ptr_array_index(keys, i);
      const char *name = key + strlen(FAILOVER_PRIORITY_PREFIX);
      gboolean found = FALSE;
      for (guint j = 0; j < self->super.sinks->len && !found; j++)
        found = strcmp(((RelaySink *)g_ptr_array_index(self->super.sinks, j))->super.name, name) == 0;
      if (!found)
        relay_config_report_add(report, relay_component_config_get(group, key), group->label, key,
                                "no sink '%s' in this group, ignored", name);
    }
  g_ptr_array_unref(keys);
}

static gboolean
_failover_configure(RelaySinkProcessor *proc, const RelayComponentConfig *group, RelayConfigReport *report)
{
  RelayFailoverProcessor *self = (RelayFailoverProcessor *)proc;
  gint64 next_auto = 0;

  self->members = g_new0(FailoverMember, proc->sinks->len);
  self->live = g_ptr_array_sized_new(proc->sinks->len);
  self->failed = g_ptr_array_sized_new(proc->sinks->len);
  for (guint i = 0; i < proc->sinks->len; i++)
    {
      FailoverMember *member = &self->members[i];
      member->sink = g_ptr_array_index(proc->sinks, i);
      char *key = g_strconcat(FAILOVER_PRIORITY_PREFIX, member->sink->super.name, NULL);
      member->priority = _member_priority(self, group, key, &next_auto, report);
      FailoverMember *same = _live_with_priority(self, member->priority);
      if (same)
        {
          member->left_out = TRUE;
          const RelayProp *where = group ? relay_component_config_get(group, key) : NULL;
          relay_config_report_add(report, where || !group ? where : relay_component_config_where(group),
                                  group ? group->label : proc->log_prefix, key,
                                  "priority %" G_GINT64_FORMAT
                                  " duplicates that of sink %s; sink %s is left out "
                                  "of the group and will not run",
                                  member->priority, same->sink->super.name, member->sink->super.name);
        }
      else
        _add_live(self, member);
      g_free(key);
    }
  if (group)
    _report_stray_priorities(self, group, report);
  self->failed_rl = self->recovered_rl = self->all_failed_rl = (RelayRateLimit)RELAY_RATELIMIT_INIT;
  return TRUE;
}

static void
_failover_free(RelaySinkProcessor *proc)
{
  RelayFailoverProcessor *self = (RelayFailoverProcessor *)proc;

  if (self->live)
    g_ptr_array_unref(self->live);
  if (self->failed)
    g_ptr_array_unref(self->failed);
  g_free(self->members);
}

const RelaySinkProcessorClass relay_sink_processor_failover_class = {
  .type = "failover",
  .flume_class = "org.apache.flume.sink.FailoverSinkProcessor",
  .options = _failover_options,
  .instance_size = sizeof(RelayFailoverProcessor),
  .min_sinks = 1,
  .max_sinks = 0,
  .configure = _failover_configure,
  .process = _failover_process,
  .free = _failover_free,
  .knows_key = _failover_knows_key,
};
