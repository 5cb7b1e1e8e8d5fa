/* metrics_format.c - renders a metrics snapshot as Flume's JSON, as Prometheus text and as the /health body.
 *
 * JSON follows Flume's HTTPMetricsServer: one object keyed "<TYPE>.<name>" whose values map attribute names
 * to strings ("12", "0.0", "true"). relayd adds its own attributes next to Flume's and one "OTHER.relayd"
 * group with the build information, in the same shape. Prometheus text follows exposition format 0.0.4:
 * families in table order, each with # HELP and # TYPE before its samples. */
#include "metrics.h"

#include "agent.h"
#include "channel.h"
#include "sink.h"
#include "sink_processor.h"
#include "source.h"

#include <math.h>
#include <string.h>

static const char *const _kind_labels[] = { "source", "channel", "sink", "sinkgroup" };

/* ---- JSON ---- */

static void
_json_string(GString *out, const char *text)
{
  g_string_append_c(out, '"');
  for (const guchar *p = (const guchar *)text; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_printf(out, "\\%c", *p);
      else if (*p < 0x20)
        g_string_append_printf(out, "\\u%04x", *p);
      else
        g_string_append_c(out, (char)*p);
    }
  g_string_append_c(out, '"');
}

static void
_json_pair(GString *out, gboolean *first, const char *key, const char *value)
{
  if (!*first)
    g_string_append_c(out, ',');
  *first = FALSE;
  _json_string(out, key);
  g_string_append_c(out, ':');
  _json_string(out, value);
}

static void
_json_int(GString *out, gboolean *first, const char *key, gint64 value)
{
  char buf[32];
  g_snprintf(buf, sizeof buf, "%" G_GINT64_FORMAT, value);
  _json_pair(out, first, key, buf);
}

/* Like Java's Double.toString for the values relayd produces: "0.0", "12.5", "33.333333333333336". */
static void
_format_fraction(char *buf, gsize size, double value)
{
  if (value == floor(value) && fabs(value) < 1e15)
    g_snprintf(buf, size, "%.1f", value);
  else
    g_ascii_dtostr(buf, (gint)size, value);
}

/* ---- a source's labelled gauges (issue 11) ---- */
typedef struct
{
  GString *out;
  gboolean *first;
  const RelaySourceGauges *gauges;
  gint64 sum;
  const RelayMetricsSnapshot *snap;
  const RelayMetricSubject *subject;
} _GaugeWalk;

static void _json_int(GString *out, gboolean *first, const char *key, gint64 value);
static void _prom_labels(GString *out, const RelayMetricsSnapshot *snap, const RelayMetricSubject *s,
                         const char *extra);
static void _prom_label_value(GString *out, const char *text);

static void
_json_gauge(const char *label, gint64 value, gpointer data)
{
  _GaugeWalk *w = data;
  char *key = g_strdup_printf("%s.%s", w->gauges->attr, label);
  _json_int(w->out, w->first, key, value);
  g_free(key);
  w->sum += value;
}

static void
_json_source_gauges(GString *out, gboolean *first, const RelayMetricSubject *s)
{
  const RelaySource *source = s->kind == RELAY_KIND_SOURCE ? s->object : NULL;

  if (!source || !source->gauges || !s->running)
    return;
  _GaugeWalk w = { out, first, source->gauges, 0, NULL, s };
  source->gauges->foreach (source, _json_gauge, &w);
  _json_int(out, first, source->gauges->attr, w.sum);
}

static void
_prom_gauge(const char *label, gint64 value, gpointer data)
{
  _GaugeWalk *w = data;
  GString *extra = g_string_new(NULL);

  g_string_append_printf(extra, "%s=\"", w->gauges->label_name);
  _prom_label_value(extra, label);
  g_string_append_c(extra, '"');
  g_string_append(w->out, w->gauges->family);
  _prom_labels(w->out, w->snap, w->subject, extra->str);
  g_string_append_printf(w->out, " %" G_GINT64_FORMAT "\n", value);
  g_string_free(extra, TRUE);
}

/* One family per distinct gauge table, samples of every running source that has it. */
static void
_prom_source_gauges(GString *out, const RelayMetricsSnapshot *snap)
{
  GPtrArray *done = g_ptr_array_new();

  for (guint i = 0; i < snap->subjects->len; i++)
    {
      const RelayMetricSubject *s = &g_array_index(snap->subjects, RelayMetricSubject, i);
      const RelaySourceGauges *g
          = s->kind == RELAY_KIND_SOURCE ? ((const RelaySource *)s->object)->gauges : NULL;
      if (!g || g_ptr_array_find(done, g, NULL))
        continue;
      g_ptr_array_add(done, (gpointer)g);
      g_string_append_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", g->family, g->help, g->family);
      for (guint j = i; j < snap->subjects->len; j++)
        {
          const RelayMetricSubject *t = &g_array_index(snap->subjects, RelayMetricSubject, j);
          const RelaySource *source = t->object;
          if (t->kind != RELAY_KIND_SOURCE || !t->running || source->gauges != g)
            continue;
          _GaugeWalk w = { out, NULL, g, 0, snap, t };
          g->foreach (source, _prom_gauge, &w);
        }
    }
  g_ptr_array_unref(done);
}

static void
_json_subject_extras(GString *out, gboolean *first, const RelayMetricSubject *s)
{
  _json_source_gauges(out, first, s);
  if (s->kind == RELAY_KIND_CHANNEL && ((const RelayChannel *)s->object)->durable)
    _json_pair(out, first, "Open", s->running ? "true" : "false");
  if (s->kind == RELAY_KIND_SINKGROUP && strcmp(s->type, "failover") == 0)
    {
      const RelaySinkProcessor *proc = s->object;
      gint active = g_atomic_int_get(&proc->active_sink);
      const RelaySink *sink = active >= 0 ? g_ptr_array_index(proc->sinks, active) : NULL;
      _json_pair(out, first, "ActiveSink", sink ? sink->super.name : "");
    }
}

static void
_json_subject(GString *out, const RelayMetricSubject *s)
{
  gboolean first = TRUE;
  char buf[64];

  char *key = g_strdup_printf("%s.%s", relay_kind_metrics_type(s->kind), s->name);
  _json_string(out, key);
  g_free(key);
  g_string_append(out, ":{");
  for (const RelayMetricDef *def = relay_metric_defs(s->kind); def->attr || def->family; def++)
    {
      if (!def->attr || !relay_metric_applies(def, s))
        continue;
      double value = relay_metric_value(def, s);
      if (def->is_fraction)
        _format_fraction(buf, sizeof buf, value);
      else
        g_snprintf(buf, sizeof buf, "%" G_GINT64_FORMAT, (gint64)value);
      _json_pair(out, &first, def->attr, buf);
    }
  _json_subject_extras(out, &first, s);
  _json_int(out, &first, "StartTime", s->start_time_ms);
  _json_int(out, &first, "StopTime", s->running ? 0 : s->stop_time_ms);
  _json_pair(out, &first, "Type", relay_kind_metrics_type(s->kind));
  _json_pair(out, &first, "ComponentType", s->type);
  g_string_append_c(out, '}');
}

static void
_json_build(GString *out, const RelayMetricsSnapshot *snap)
{
  const RelayBuildInfo *build = relay_build_info();
  gboolean first = TRUE;

  g_string_append(out, "\"OTHER.relayd\":{");
  _json_pair(out, &first, "Type", "OTHER");
  _json_pair(out, &first, "Agent", snap->agent);
  _json_pair(out, &first, "Version", build->version);
  _json_int(out, &first, "StartTime", snap->process_start_ms);
  _json_pair(out, &first, "BuildCompiler", build->compiler);
  _json_pair(out, &first, "BuildGlib", build->glib);
  _json_pair(out, &first, "BuildLibevent", build->libevent);
  _json_pair(out, &first, "BuildFeatures", build->features);
  g_string_append_c(out, '}');
}

void
relay_metrics_format_json(const RelayMetricsSnapshot *snap, GString *out)
{
  g_string_append_c(out, '{');
  for (guint i = 0; i < snap->subjects->len; i++)
    {
      _json_subject(out, &g_array_index(snap->subjects, RelayMetricSubject, i));
      g_string_append_c(out, ',');
    }
  _json_build(out, snap);
  g_string_append(out, "}\n");
}

/* ---- Prometheus ---- */

static void
_prom_label_value(GString *out, const char *text)
{
  for (const char *p = text; *p; p++)
    {
      if (*p == '\\' || *p == '"')
        g_string_append_c(out, '\\');
      if (*p == '\n')
        g_string_append(out, "\\n");
      else
        g_string_append_c(out, *p);
    }
}

static void
_prom_header(GString *out, const char *family, const char *help, RelayMetricType type)
{
  g_string_append_printf(out, "# HELP %s %s\n# TYPE %s %s\n", family, help, family,
                         type == RELAY_METRIC_COUNTER ? "counter" : "gauge");
}

static void
_prom_labels(GString *out, const RelayMetricsSnapshot *snap, const RelayMetricSubject *s, const char *extra)
{
  g_string_append(out, "{agent=\"");
  _prom_label_value(out, snap->agent);
  g_string_append(out, "\",component=\"");
  _prom_label_value(out, s->name);
  g_string_append(out, "\",type=\"");
  _prom_label_value(out, s->type);
  g_string_append_c(out, '"');
  if (extra)
    g_string_append_printf(out, ",%s", extra);
  g_string_append_c(out, '}');
}

static void
_prom_value(GString *out, double value, gboolean fraction)
{
  if (fraction)
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      g_string_append_printf(out, " %s\n", g_ascii_dtostr(buf, sizeof buf, value));
    }
  else
    g_string_append_printf(out, " %" G_GINT64_FORMAT "\n", (gint64)value);
}

/* Milliseconds since the epoch as seconds with exactly three decimals (no binary-fraction noise). */
static void
_prom_seconds(GString *out, gint64 ms)
{
  g_string_append_printf(out, " %" G_GINT64_FORMAT ".%03d\n", ms / 1000, (int)(ms % 1000));
}

/* One def's samples over every subject of its kind; the header first when the family starts here. */
static void
_prom_def(GString *out, const RelayMetricsSnapshot *snap, RelayKind kind, const RelayMetricDef *def,
          const char **open_family)
{
  for (guint i = 0; i < snap->subjects->len; i++)
    {
      const RelayMetricSubject *s = &g_array_index(snap->subjects, RelayMetricSubject, i);
      if (s->kind != kind || !relay_metric_applies(def, s))
        continue;
      if (!*open_family || strcmp(*open_family, def->family) != 0)
        {
          _prom_header(out, def->family, def->help, def->type);
          *open_family = def->family;
        }
      g_string_append(out, def->family);
      _prom_labels(out, snap, s, def->label);
      _prom_value(out, relay_metric_value(def, s), def->is_fraction);
    }
}

/* Families every subject has: up and start time, with a kind label. */
static void
_prom_common(GString *out, const RelayMetricsSnapshot *snap)
{
  const char *up = "relayd_component_up", *start = "relayd_component_start_time_seconds";

  if (!snap->subjects->len)
    return;
  for (int pass = 0; pass < 2; pass++)
    {
      if (pass == 0)
        _prom_header(out, up, "1 while the component runs (and, for a durable channel, is healthy)",
                     RELAY_METRIC_GAUGE);
      else
        _prom_header(out, start, "When the component last started (Unix time)", RELAY_METRIC_GAUGE);
      for (guint i = 0; i < snap->subjects->len; i++)
        {
          const RelayMetricSubject *s = &g_array_index(snap->subjects, RelayMetricSubject, i);
          const char *why;
          char extra[32];
          g_snprintf(extra, sizeof extra, "kind=\"%s\"", _kind_labels[s->kind]);
          g_string_append(out, pass == 0 ? up : start);
          _prom_labels(out, snap, s, extra);
          if (pass == 0)
            _prom_value(out, relay_metrics_subject_up(s, &why) ? 1 : 0, FALSE);
          else
            _prom_seconds(out, s->start_time_ms);
        }
    }
}

static void
_prom_build(GString *out, const RelayMetricsSnapshot *snap)
{
  const RelayBuildInfo *build = relay_build_info();

  _prom_header(out, "relayd_build_info", "relayd's version and build (always 1)", RELAY_METRIC_GAUGE);
  g_string_append(out, "relayd_build_info{agent=\"");
  _prom_label_value(out, snap->agent);
  g_string_append_printf(out, "\",version=\"%s\",compiler=\"", build->version);
  _prom_label_value(out, build->compiler);
  g_string_append_printf(out, "\",glib=\"%s\",libevent=\"%s\",features=\"", build->glib, build->libevent);
  _prom_label_value(out, build->features);
  g_string_append(out, "\"} 1\n");
  _prom_header(out, "relayd_start_time_seconds", "When the process started (Unix time)", RELAY_METRIC_GAUGE);
  g_string_append(out, "relayd_start_time_seconds{agent=\"");
  _prom_label_value(out, snap->agent);
  g_string_append(out, "\"}");
  _prom_seconds(out, snap->process_start_ms);
  g_string_append(out, "# HELP relayd_components_down Configured components that do not run\n"
                       "# TYPE relayd_components_down gauge\nrelayd_components_down{agent=\"");
  _prom_label_value(out, snap->agent);
  g_string_append_printf(out, "\"} %u\n", snap->down->len);
}

void
relay_metrics_format_prometheus(const RelayMetricsSnapshot *snap, GString *out)
{
  for (RelayKind kind = 0; kind < RELAY_KIND_N; kind++)
    {
      const char *open_family = NULL;
      for (const RelayMetricDef *def = relay_metric_defs(kind); def->attr || def->family; def++)
        if (def->family)
          _prom_def(out, snap, kind, def, &open_family);
    }
  _prom_source_gauges(out, snap); /* issue 11 */
  _prom_common(out, snap);
  _prom_build(out, snap);
}

/* ---- /health ---- */

gboolean
relay_metrics_format_health(const RelayMetricsSnapshot *snap, GString *out)
{
  GString *up = g_string_new(NULL), *down = g_string_new(NULL);
  gboolean first_up = TRUE, first_down = TRUE;

  for (guint i = 0; i < snap->subjects->len; i++)
    {
      const RelayMetricSubject *s = &g_array_index(snap->subjects, RelayMetricSubject, i);
      char *key = g_strdup_printf("%s.%s", relay_kind_metrics_type(s->kind), s->name);
      const char *why;
      if (relay_metrics_subject_up(s, &why))
        _json_pair(up, &first_up, key, "UP");
      else
        _json_pair(down, &first_down, key, why);
      g_free(key);
    }
  for (guint i = 0; i < snap->down->len; i++)
    {
      const RelayAgentDown *d = g_ptr_array_index(snap->down, i);
      _json_pair(down, &first_down, d->key, d->reason);
    }
  gboolean healthy = first_down;
  g_string_append_printf(out, "{\"status\":\"%s\",\"agent\":", healthy ? "UP" : "DOWN");
  _json_string(out, snap->agent);
  g_string_append_printf(out, ",\"components\":{%s},\"down\":{%s}}\n", up->str, down->str);
  g_string_free(up, TRUE);
  g_string_free(down, TRUE);
  return healthy;
}
