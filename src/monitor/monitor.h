/* monitor.h - monitoring of a running agent: the HTTP endpoint (Flume's JSON, Prometheus text, health) and
 * the periodic summary line in the log.
 *
 * Configuration comes from three places, later ones overriding earlier ones: the agent's
 * "<agent>.monitoring.*" keys in the properties file (monitor_config.c), Flume's system properties on the
 * command line (-Dflume.monitoring.type=http -Dflume.monitoring.port=N), and relayd's options
 * (--metrics-port, --metrics-bind, --summary-interval). Both parts run on the main event loop: they only
 * read counters (lock-free) and component state the main thread owns. */
#ifndef RELAY_MONITOR_H_INCLUDED
#define RELAY_MONITOR_H_INCLUDED

#include "relay.h"
#include "config.h"
#include "tls.h"
#include <event2/event.h>

#define RELAY_MONITOR_DEFAULT_PORT 41414 /* Flume's default for flume.monitoring.port */
#define RELAY_MONITOR_DEFAULT_BIND "127.0.0.1"
#define RELAY_MONITOR_DEFAULT_SUMMARY_S 60
#define RELAY_MONITOR_MAX_HEADERS 8192 /* request header bytes; larger requests get 413 */
#define RELAY_MONITOR_TIMEOUT_S 10     /* a client that does not finish its request is dropped */
#define RELAY_MONITOR_MAX_BODY 8192    /* request bodies are read (and ignored) up to this size, else 413 */

typedef struct
{
  gboolean http;             /* serve the endpoint */
  char *bind;                /* owned */
  gint64 port;               /* 0: the OS chooses (tests) */
  gint64 summary_interval_s; /* 0: no summary line */
  RelayTlsOptions tls; /* monitoring.ssl, keystore, keystore-password, keystore-type: HTTPS (issue 13) */
} RelayMonitorConfig;

/* ---- monitor_config.c (main thread) ---- */

void relay_monitor_config_init(RelayMonitorConfig *cfg);
void relay_monitor_config_clear(RelayMonitorConfig *cfg);
/* Applies "<agent>.monitoring.*" entries (const RelayProp*): type, port, bind, summary-interval. Every
 * problem is a report line naming file:line and key; the entry is then ignored. */
void relay_monitor_config_apply_props(RelayMonitorConfig *cfg, const GPtrArray *entries,
                                      RelayConfigReport *report);
/* Applies one Flume system property (-Dflume.monitoring.type=http ...). Returns FALSE for a key relayd does
 * not use; FALSE with *why (new string) for a bad value of one it uses. */
gboolean relay_monitor_config_apply_system_property(RelayMonitorConfig *cfg, const char *key,
                                                    const char *value, char **why);

/* ---- monitor_http.c (main thread) ---- */

typedef struct _RelayMonitorHttp RelayMonitorHttp;

/* Binds and serves GET /metrics, /prometheus, /health and / on base. Logs "listening bind=... port=...".
 * NULL with error (RELAY_ERROR_IO or RELAY_ERROR_CONFIG) if the address cannot be used. */
RelayMonitorHttp *relay_monitor_http_start(RelayAgent *agent, struct event_base *base, const char *bind,
                                           gint64 port, gint64 process_start_ms, GError **error);
void relay_monitor_http_free(RelayMonitorHttp *self);
/* Serves HTTPS instead of HTTP (call right after start, before the loop runs). FALSE with error naming the
 * file when the keystore cannot be loaded. */
gboolean relay_monitor_http_use_tls(RelayMonitorHttp *self, const RelayTlsOptions *options, GError **error);

/* ---- monitor_summary.c (main thread) ---- */

typedef struct _RelayMonitorSummary RelayMonitorSummary;

/* Logs one summary line every interval_s seconds (> 0) at info level. */
RelayMonitorSummary *relay_monitor_summary_start(RelayAgent *agent, struct event_base *base,
                                                 gint64 interval_s);
void relay_monitor_summary_free(RelayMonitorSummary *self);

/* ---- monitor_running.c (main thread): what runs, and its live reload (issue 14) ---- */

typedef struct
{
  RelayMonitorConfig *cfg; /* the settings that run (borrowed; a committed reload swaps its contents) */
  RelayAgent *agent;
  struct event_base *base;
  gint64 start_ms;
  RelayMonitorHttp *http;
  RelayMonitorSummary *summary;
} RelayMonitorRunning;

/* Starts the endpoint (if cfg->http) and the summary line; FALSE with error if the endpoint cannot listen. */
gboolean relay_monitor_running_start(RelayMonitorRunning *self, GError **error);
/* Reload, step 1: moves the endpoint to next's settings when they differ (bind, port, type, HTTPS). FALSE
 * with error when it cannot listen there; the endpoint then runs on the previous settings again. */
gboolean relay_monitor_running_switch(RelayMonitorRunning *self, const RelayMonitorConfig *next,
                                      GError **error);
/* Reload, step 2, after the agent's reload: commit (the summary line follows next's interval and next's
 * settings become the running ones; next receives the previous ones, for the caller to clear) or undo
 * (the endpoint comes back on the previous settings). */
void relay_monitor_running_finish(RelayMonitorRunning *self, RelayMonitorConfig *next, gboolean commit);
void relay_monitor_running_stop(RelayMonitorRunning *self);

#endif
