/* monitor_summary.c - the periodic one-line summary of an agent in the log (info level):
 *
 *   summary interval_s=60 in_per_s=1234.5 out_per_s=1230.0 fill=c1:0.4%,c2:0.0% failures=0 down=0
 *
 * in: events the sources acknowledged (EventAcceptedCount), out: events the sinks delivered
 * (EventDrainSuccessCount), both per second over the interval; fill: each channel's ChannelFillPercentage
 * now; failures: new source EventReadFail + ChannelWriteFail + GenericProcessingFail and sink EventWriteFail
 * + ConnectionFailedCount + ChannelReadFail during the interval; down: configured components not running. A
 * timer on the main loop; it reads counters without locks. */
#include "monitor.h"

#include "log.h"
#include "metrics.h"

struct _RelayMonitorSummary
{
  RelayAgent *agent; /* borrowed */
  struct event *timer;
  gint64 interval_s;
  gint64 last_us;
  double last_in, last_out, last_failures;
};

static const char *const _source_failures[]
    = { "EventReadFail", "ChannelWriteFail", "GenericProcessingFail" };
static const char *const _sink_failures[] = { "EventWriteFail", "ConnectionFailedCount", "ChannelReadFail" };

static double
_sum(const RelayMetricSubject *s, const char *const *attrs, guint n)
{
  double sum = 0;
  for (guint i = 0; i < n; i++)
    sum += relay_metric_value_of(s, attrs[i]);
  return sum;
}

/* Totals since start, and the fill part of the line. */
static void
_totals(const RelayMetricsSnapshot *snap, double *in, double *out, double *failures, GString *fill)
{
  *in = *out = *failures = 0;
  for (guint i = 0; i < snap->subjects->len; i++)
    {
      const RelayMetricSubject *s = &g_array_index(snap->subjects, RelayMetricSubject, i);
      switch (s->kind)
        {
        case RELAY_KIND_SOURCE:
          *in += relay_metric_value_of(s, "EventAcceptedCount");
          *failures += _sum(s, _source_failures, G_N_ELEMENTS(_source_failures));
          break;
        case RELAY_KIND_SINK:
          *out += relay_metric_value_of(s, "EventDrainSuccessCount");
          *failures += _sum(s, _sink_failures, G_N_ELEMENTS(_sink_failures));
          break;
        case RELAY_KIND_CHANNEL:
          g_string_append_printf(fill, "%s%s:%.1f%%", fill->len ? "," : "", s->name,
                                 relay_metric_value_of(s, "ChannelFillPercentage"));
          break;
        default:
          break;
        }
    }
}

static void
_on_timer(evutil_socket_t fd, short what, void *arg)
{
  RelayMonitorSummary *self = arg;
  RelayMetricsSnapshot *snap = relay_metrics_snapshot(self->agent, 0);
  GString *fill = g_string_new(NULL);
  double in, out, failures;
  gint64 now = g_get_monotonic_time();
  double seconds = MAX((now - self->last_us) / 1e6, 1e-3);

  _totals(snap, &in, &out, &failures, fill);
  relay_info("monitoring",
             "summary interval_s=%" G_GINT64_FORMAT
             " in_per_s=%.1f out_per_s=%.1f fill=%s failures=%.0f down=%u",
             self->interval_s, (in - self->last_in) / seconds, (out - self->last_out) / seconds,
             fill->len ? fill->str : "-", failures - self->last_failures, snap->down->len);
  self->last_in = in;
  self->last_out = out;
  self->last_failures = failures;
  self->last_us = now;
  g_string_free(fill, TRUE);
  relay_metrics_snapshot_free(snap);
}

RelayMonitorSummary *
relay_monitor_summary_start(RelayAgent *agent, struct event_base *base, gint64 interval_s)
{
  RelayMonitorSummary *self = g_new0(RelayMonitorSummary, 1);
  struct timeval tv = { (time_t)interval_s, 0 };
  RelayMetricsSnapshot *snap = relay_metrics_snapshot(agent, 0);
  GString *ignored = g_string_new(NULL);

  self->agent = agent;
  self->interval_s = interval_s;
  self->last_us = g_get_monotonic_time();
  _totals(snap, &self->last_in, &self->last_out, &self->last_failures, ignored);
  g_string_free(ignored, TRUE);
  relay_metrics_snapshot_free(snap);
  self->timer = event_new(base, -1, EV_PERSIST, _on_timer, self);
  event_add(self->timer, &tv);
  return self;
}

void
relay_monitor_summary_free(RelayMonitorSummary *self)
{
  if (!self)
    return;
  event_free(self->timer);
  g_free(self);
}
