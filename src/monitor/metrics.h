/* metrics.h - what the monitoring outputs show: every component's counters under Flume's names and as
 * Prometheus families, read from the running agent without locks.
 *
 * A snapshot lists the agent's subjects (sources, channels, sinks and sink groups, each with its name, type,
 * start and stop times and whether it runs) and the configured components that do not run. The const tables
 * of metrics.c describe every counter once: its Flume attribute for the JSON page, its Prometheus family,
 * help text and type, and where its value lives. metrics_format.c renders a snapshot as Flume's JSON, as
 * Prometheus text and as the /health body; the periodic summary line reads the same values.
 *
 * Thread: snapshots are taken on the main thread (they read component state the main thread owns); counter
 * values come from relay_counter_get (counters.h) and may be a few updates behind each other. */
#ifndef RELAY_METRICS_H_INCLUDED
#define RELAY_METRICS_H_INCLUDED

#include "relay.h"
#include "config.h"

typedef enum
{
  RELAY_METRIC_COUNTER = 0, /* only grows while the process runs */
  RELAY_METRIC_GAUGE,       /* goes up and down */
} RelayMetricType;

typedef struct
{
  RelayKind kind; /* source, channel, sink or sink group */
  const char *name;
  const char *type; /* the component's type ("avro", "memory", "failover") */
  gint64 start_time_ms, stop_time_ms;
  gboolean running;
  gconstpointer object; /* RelaySource*, RelayChannel*, RelaySink* or RelaySinkProcessor* (borrowed) */
} RelayMetricSubject;

typedef struct _RelayMetricDef RelayMetricDef;
struct _RelayMetricDef
{
  const char *attr;   /* attribute on Flume's JSON page; NULL: Prometheus only */
  const char *family; /* Prometheus family; NULL: JSON only */
  const char *help;
  RelayMetricType type;
  const char *label;    /* an extra Prometheus label (`kind="limit"`), or NULL */
  gssize offset;        /* of the gint64 in the subject's counters, or -1 when get is set */
  gboolean is_fraction; /* shown with decimals ("12.5") */
  double (*get)(const RelayMetricSubject *subject);
  gboolean (*applies)(const RelayMetricSubject *subject); /* NULL: to every subject of the kind */
};

/* The definitions for one kind, terminated by an entry whose attr and family are both NULL. */
const RelayMetricDef *relay_metric_defs(RelayKind kind);
/* TRUE when def is shown for subject. */
gboolean relay_metric_applies(const RelayMetricDef *def, const RelayMetricSubject *subject);
/* The current value. Any thread that may read subject->object. */
double relay_metric_value(const RelayMetricDef *def, const RelayMetricSubject *subject);
/* The value of the attribute named attr (Flume's name) for subject; 0 if the kind has no such attribute. */
double relay_metric_value_of(const RelayMetricSubject *subject, const char *attr);

typedef struct
{
  const char *agent;
  gint64 now_ms;
  gint64 process_start_ms;
  GArray *subjects;      /* RelayMetricSubject */
  const GPtrArray *down; /* RelayAgentDown* (agent.h), borrowed */
} RelayMetricsSnapshot;

/* Main thread. The snapshot borrows from agent: use and free it before the agent changes. */
RelayMetricsSnapshot *relay_metrics_snapshot(RelayAgent *agent, gint64 process_start_ms);
void relay_metrics_snapshot_free(RelayMetricsSnapshot *snap);
/* TRUE when subject runs and is healthy (a channel: read by a running sink); otherwise FALSE with why (text
 * that lives as long as the subject). */
gboolean relay_metrics_subject_up(const RelayMetricSubject *subject, const char **why);

/* ---- metrics_format.c ---- */

/* Flume's JSON: {"SOURCE.r1":{"EventReceivedCount":"12",...},...} with every value a string. */
void relay_metrics_format_json(const RelayMetricsSnapshot *snap, GString *out);
/* Prometheus text exposition format 0.0.4: # HELP and # TYPE per family, then its samples. */
void relay_metrics_format_prometheus(const RelayMetricsSnapshot *snap, GString *out);
/* The /health body; returns TRUE when every configured component runs (200), FALSE otherwise (503). */
gboolean relay_metrics_format_health(const RelayMetricsSnapshot *snap, GString *out);

/* ---- build_info.c ---- */

typedef struct
{
  const char *version;  /* PACKAGE_VERSION */
  const char *compiler; /* "gcc-12.2.0" */
  const char *glib;     /* runtime versions */
  const char *libevent;
  const char *features; /* "sanitizers=address,undefined" or "" */
} RelayBuildInfo;

const RelayBuildInfo *relay_build_info(void);

#endif
