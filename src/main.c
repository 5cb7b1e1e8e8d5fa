/* main.c - the relayd command line: relayd [agent] -n NAME [-f FILE ...] [-c DIR] [--check] [--log-level
 * LEVEL]
 * [--keep-running-on-start-failure] [--no-reload-conf] [--metrics-port PORT] [--metrics-bind ADDR]
 * [--summary-interval SECS] [-Dkey=value ...].
 *
 * Thin by design: parse arguments, load and check the configuration, build the agent, start monitoring, run
 * the main event loop until SIGTERM/SIGINT, stop in order. -Dkey=value are Flume's system properties:
 * flume.monitoring.* and flume.root.logger are used, others are ignored with a warning. Exit codes: 0 clean
 * stop or a clean --check, 1 configuration problems (--check) or nothing runnable or start failure (any
 * component, unless --keep-running-on-start-failure), 2 usage errors. */
#include "relay.h"

#include "agent.h"
#include "config.h"
#include "help_components.h" /* --help-components (issue 19) */
#include "log.h"
#include "log_config.h"
#include "membudget.h" /* issue 16 */
#include "metrics.h"
#include "monitor.h"
#include "props.h"
#include "sd_notify.h" /* systemd notify protocol (issue 15) */
#include "tls.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RELAY_SHUTDOWN_GRACE_MS 5000

typedef struct
{
  char *name;
  char **conf_files; /* -f, repeatable: merged in order, later keys win (as Flume) */
  char *conf_dir;
  char *log_level;
  gboolean check;
  gboolean version;
  int metrics_port;             /* -1: not given */
  char *metrics_bind;           /* NULL: not given */
  int summary_interval;         /* -1: not given */
  GPtrArray *system_properties; /* "key=value" from -D, owned */
  /* ---- issue 19: Flume's command line, start failures ---- */
  gboolean keep_running; /* --keep-running-on-start-failure */
  gboolean no_reload;    /* --no-reload-conf: what relayd does anyway */
  /* ---- issue 15: log targets ---- */
  char *log_target;
  char *log_facility;
  char *log_socket;
} RelayArgs;

static void
_free_args(RelayArgs *args)
{
  g_free(args->name);
  g_strfreev(args->conf_files);
  g_free(args->conf_dir);
  g_free(args->log_level);
  g_free(args->metrics_bind);
  g_free(args->log_target); /* issue 15 */
  g_free(args->log_facility);
  g_free(args->log_socket);
  if (args->system_properties)
    g_ptr_array_unref(args->system_properties);
}

/* Moves every "-Dkey=value" out of argv (GOption does not know them) into args->system_properties. */
static void
_take_system_properties(int *argc, char **argv, RelayArgs *args)
{
  int kept = 1;

  args->system_properties = g_ptr_array_new_with_free_func(g_free);
  for (int i = 1; i < *argc; i++)
    {
      if (strcmp(argv[i], "--") == 0)
        {
          while (i < *argc)
            argv[kept++] = argv[i++];
          break;
        }
      if (g_str_has_prefix(argv[i], "-D") && argv[i][2])
        g_ptr_array_add(args->system_properties, g_strdup(argv[i] + 2));
      else
        argv[kept++] = argv[i];
    }
  *argc = kept;
  argv[kept] = NULL;
}

/* Flume's launcher takes a command first: `flume-ng agent -n a1 ...`. "agent" is accepted (and dropped) so
 * that the same words work; flume-ng's other commands are named with what to use instead. */
static gboolean
_take_flume_verb(int *argc, char **argv)
{
  if (*argc < 2)
    return TRUE;
  if (strcmp(argv[1], "agent") == 0)
    {
      memmove(argv + 1, argv + 2, (size_t)(*argc - 1) * sizeof *argv); /* with the final NULL */
      (*argc)--;
      return TRUE;
    }
  if (strcmp(argv[1], "avro-client") == 0)
    fprintf(stderr, "relayd: 'avro-client' is a flume-ng command; relayd's equivalent is relay-send\n");
  else if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "help") == 0)
    fprintf(stderr, "relayd: '%s' is a flume-ng command; use relayd --%s\n", argv[1], argv[1]);
  else
    return TRUE;
  return FALSE;
}

/* ---- issue 15: log targets ---- */
static RelayLogCli
_log_cli(const RelayArgs *args)
{
  gboolean root_logger = FALSE;

  for (guint i = 0; args->system_properties && i < args->system_properties->len; i++)
    root_logger |= g_str_has_prefix(g_ptr_array_index(args->system_properties, i), "flume.root.logger=");
  RelayLogCli cli
      = { args->log_target, args->log_facility, args->log_socket, args->log_level || root_logger };
  return cli;
}

/* -1 to go on, 2 for a bad value, 1 if the target's socket cannot be created. */
static int
_apply_log_cli(const RelayArgs *args)
{
  RelayLogCli cli = _log_cli(args);
  char *why = NULL;
  GError *error = NULL;

  if (!relay_log_cli_check(&cli, &why))
    {
      fprintf(stderr, "relayd: %s\n", why);
      g_free(why);
      return 2;
    }
  if (!args->check && !relay_log_cli_apply(&cli, &error))
    {
      fprintf(stderr, "relayd: --log-target %s: %s\n", args->log_target, error->message);
      g_error_free(error);
      return 1;
    }
  return -1;
}
/* ---- end of log targets ---- */

static int
_parse_args(int argc, char **argv, RelayArgs *args)
{
  GOptionEntry entries[] = {
    { "name", 'n', 0, G_OPTION_ARG_STRING, &args->name, "name of the agent to run (required)", "NAME" },
    { "conf-file", 'f', 0, G_OPTION_ARG_FILENAME_ARRAY, &args->conf_files,
      "configuration file (Flume properties); repeat to merge several, later keys win", "FILE" },
    { "conf", 'c', 0, G_OPTION_ARG_FILENAME, &args->conf_dir, "directory holding relayd.conf", "DIR" },
    { "check", 0, 0, G_OPTION_ARG_NONE, &args->check, "validate the configuration, print every problem, exit",
      NULL },
    { "log-level", 0, 0, G_OPTION_ARG_STRING, &args->log_level, "error, warn, info (default), debug, trace",
      "LEVEL" },
    { "version", 'V', 0, G_OPTION_ARG_NONE, &args->version, "print the version and exit", NULL },
    { "metrics-port", 0, 0, G_OPTION_ARG_INT, &args->metrics_port,
      "serve /metrics, /prometheus and /health on this port (0: any free port)", "PORT" },
    { "metrics-bind", 0, 0, G_OPTION_ARG_STRING, &args->metrics_bind,
      "address of the metrics endpoint (default 127.0.0.1)", "ADDR" },
    { "summary-interval", 0, 0, G_OPTION_ARG_INT, &args->summary_interval,
      "seconds between summary lines in the log (default 60, 0: off)", "SECS" },
    /* ---- issue 19 ---- */
    { "keep-running-on-start-failure", 0, 0, G_OPTION_ARG_NONE, &args->keep_running,
      "run without a source or standalone sink that cannot start (Flume's behaviour) instead of exiting 1",
      NULL },
    { "no-reload-conf", 0, 0, G_OPTION_ARG_NONE, &args->no_reload,
      "Flume's option; relayd never reloads its configuration while running", NULL },
    /* ---- issue 15: log targets ---- */
    { "log-target", 0, 0, G_OPTION_ARG_STRING, &args->log_target,
      "stderr (default), syslog or journal (also the agent's log.target key)", "TARGET" },
    { "log-facility", 0, 0, G_OPTION_ARG_STRING, &args->log_facility,
      "syslog facility: daemon (default), user, local0 ... local7, ...", "FACILITY" },
    { "log-socket", 0, 0, G_OPTION_ARG_FILENAME, &args->log_socket,
      "datagram socket of syslog or the journal (default /dev/log, /run/systemd/journal/socket)", "PATH" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("- relay Flume events between agents");
  GError *error = NULL;
  RelayLogLevel level;

  args->metrics_port = -1;
  args->summary_interval = -1;
  if (!_take_flume_verb(&argc, argv))
    {
      g_option_context_free(ctx);
      return 2;
    }
  _take_system_properties(&argc, argv, args);
  g_option_context_set_description(ctx, "Flume's -Dflume.monitoring.type=http -Dflume.monitoring.port=PORT "
                                        "and -Dflume.root.logger=LEVEL,... are understood too.\n");
  g_option_context_add_main_entries(ctx, entries, NULL);
  /* ---- --help-components in --help (issue 19; handled in main() before the options are parsed) ---- */
  g_option_context_set_summary(ctx, "relayd --help-components [TYPE] [--markdown] lists every component type "
                                    "with every key, its type, default and range.");
  gboolean ok = g_option_context_parse(ctx, &argc, &argv, &error);
  g_option_context_free(ctx);
  if (!ok)
    {
      fprintf(stderr, "relayd: %s (see relayd --help)\n", error->message);
      g_error_free(error);
      return 2;
    }
  if (args->version)
    return 0;
  if (!args->name || argc > 1)
    {
      char *what = args->name ? g_strdup_printf("unexpected argument '%s'", argv[1])
                              : g_strdup("-n NAME is required");
      fprintf(stderr,
              "relayd: %s (usage: relayd [agent] -n NAME [-f FILE] [-c DIR] [--check] [--log-level LEVEL])\n",
              what);
      g_free(what);
      return 2;
    }
  if (args->log_level && !relay_log_parse_level(args->log_level, &level))
    {
      fprintf(stderr, "relayd: unknown log level '%s' (error, warn, info, debug, trace)\n", args->log_level);
      return 2;
    }
  if (args->metrics_port > 65535 || args->metrics_port < -1 || args->summary_interval < -1
      || args->summary_interval > 86400)
    {
      fprintf(stderr, "relayd: --metrics-port must be 0..65535 and --summary-interval 0..86400\n");
      return 2;
    }
  if (args->log_level)
    relay_log_set_level(level);
  return _apply_log_cli(args);
}

/* -f FILE (every one given); else DIR/relayd.conf for -c DIR; else ./conf/relayd.conf; else
 * $sysconfdir/relayd.conf. A NULL-terminated strv. */
static char **
_config_paths(const RelayArgs *args)
{
  char *one;

  if (args->conf_files && args->conf_files[0])
    return g_strdupv(args->conf_files);
  if (args->conf_dir)
    one = g_build_filename(args->conf_dir, "relayd.conf", NULL);
  else if (g_file_test("conf/relayd.conf", G_FILE_TEST_IS_REGULAR))
    one = g_strdup("conf/relayd.conf");
  else
    one = g_build_filename(RELAY_SYSCONFDIR, "relayd.conf", NULL);
  char **paths = g_new0(char *, 2);
  paths[0] = one;
  return paths;
}

/* Lines saying what Flume options relayd takes differently (stderr, info level). */
static void
_explain_flume_options(const RelayArgs *args)
{
  if (args->conf_dir && args->conf_files && args->conf_files[0])
    relay_info(NULL,
               "-c %s: relayd reads no flume-env.sh or log4j file there; -c only locates relayd.conf "
               "when no -f is given",
               args->conf_dir);
  if (args->no_reload)
    relay_info(NULL, "--no-reload-conf: relayd never reloads its configuration while running (restart it to "
                     "apply a change), so this changes nothing");
}

static void
_print_report(const RelayConfigReport *report, gboolean check)
{
  for (guint i = 0; i < report->lines->len; i++)
    {
      const char *line = g_ptr_array_index(report->lines, i);
      if (check)
        printf("%s\n", line);
      else
        relay_warn("config", "%s", line);
    }
}

static void
_on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
  relay_info(NULL, "received %s, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
  event_base_loopbreak(arg);
}

/* ---- TLS (issue 13): SIGHUP reloads certificates and keys; -D javax.net.ssl.* / flume.ssl.* globals ---- */
static void
_reload_tls(gpointer data)
{
  relay_tls_reload_all();
}

static void
_on_hup(evutil_socket_t sig, short what, void *arg)
{
  relay_info(NULL, "received SIGHUP, reloading TLS certificates");
  char *status = relay_agent_status_line(arg); /* systemd: RELOADING=1 ... READY=1 (issue 15) */
  relay_sd_notify_around_reload(_reload_tls, NULL, status);
  g_free(status);
}

static void
_tls_system_properties(const RelayArgs *args)
{
  for (guint i = 0; i < args->system_properties->len; i++)
    {
      char **kv = g_strsplit(g_ptr_array_index(args->system_properties, i), "=", 2);
      relay_tls_set_system_property(kv[0], kv[1] ? kv[1] : "");
      g_strfreev(kv);
    }
}
/* ---- end TLS ---- */

static void
_on_usr1(evutil_socket_t sig, short what, void *arg)
{
  relay_agent_log_counters(arg);
}

/* Flume's -Dflume.root.logger=LEVEL,APPENDER sets the log level unless --log-level did. */
static void
_apply_root_logger(const RelayArgs *args, const char *value, RelayConfigReport *report)
{
  char *level_text = g_strndup(value, strcspn(value, ","));
  const char *appender = value[strlen(level_text)] == ',' ? value + strlen(level_text) + 1 : NULL;
  RelayLogLevel level;

  if (appender && g_ascii_strcasecmp(appender, "console") != 0)
    relay_info(NULL,
               "-Dflume.root.logger: the appender '%s' is not used; relayd logs to stderr, syslog or the "
               "journal (--log-target, log.target)",
               appender);
  if (!relay_log_parse_level(g_strstrip(level_text), &level))
    relay_config_report_add(report, NULL, "command line", "-Dflume.root.logger",
                            "level '%s' is not one of error, warn, info, debug, trace; ignored", level_text);
  else if (!args->log_level)
    relay_log_set_level(level);
  g_free(level_text);
}

/* Monitoring settings: the agent's monitoring.* keys, then -D system properties, then relayd's options. */
static void
_monitor_config(const RelayArgs *args, const RelayAgentConfig *cfg, RelayConfigReport *report,
                RelayMonitorConfig *mc)
{
  if (cfg)
    relay_monitor_config_apply_props(mc, cfg->monitoring, report);
  for (guint i = 0; i < args->system_properties->len; i++)
    {
      char **kv = g_strsplit(g_ptr_array_index(args->system_properties, i), "=", 2);
      const char *value = kv[1] ? kv[1] : "";
      char *why = NULL;
      if (strcmp(kv[0], "flume.root.logger") == 0)
        _apply_root_logger(args, value, report);
      else if (relay_tls_set_system_property(kv[0], value)) /* TLS (issue 13) */
        ;
      else if (!relay_monitor_config_apply_system_property(mc, kv[0], value, &why))
        relay_config_report_add(report, NULL, "command line", kv[0], "%s; ignored",
                                why ? why : "not a system property relayd uses");
      g_free(why);
      g_strfreev(kv);
    }
  if (args->metrics_port >= 0)
    {
      mc->http = TRUE;
      mc->port = args->metrics_port;
    }
  if (args->metrics_bind)
    {
      g_free(mc->bind);
      mc->bind = g_strdup(args->metrics_bind);
    }
  if (args->summary_interval >= 0)
    mc->summary_interval_s = args->summary_interval;
}

/* Starts the monitoring endpoint and the summary line; FALSE (logged) if the endpoint cannot listen. */
static gboolean
_start_monitoring(const RelayMonitorConfig *mc, RelayAgent *agent, struct event_base *base, gint64 start_ms,
                  RelayMonitorHttp **http, RelayMonitorSummary **summary)
{
  GError *error = NULL;

  if (mc->http && !(*http = relay_monitor_http_start(agent, base, mc->bind, mc->port, start_ms, &error)))
    {
      relay_error(NULL, "cannot start the monitoring endpoint: %s", error->message);
      g_error_free(error);
      return FALSE;
    }
  if (*http && mc->tls.ssl && !relay_monitor_http_use_tls(*http, &mc->tls, &error)) /* HTTPS (issue 13) */
    {
      relay_error(NULL, "cannot start the monitoring endpoint: %s", error->message);
      g_error_free(error);
      return FALSE;
    }
  if (mc->summary_interval_s > 0)
    *summary = relay_monitor_summary_start(agent, base, mc->summary_interval_s);
  return TRUE;
}

static int
_run(RelayAgent *agent, struct event_base *base, gint64 t0, const RelayMonitorConfig *mc, gint64 start_ms)
{
  RelayMonitorHttp *http = NULL;
  RelayMonitorSummary *summary = NULL;
  GError *error = NULL;
  int rc = 1;
  struct event *ev_term = evsignal_new(base, SIGTERM, _on_stop_signal, base);
  struct event *ev_int = evsignal_new(base, SIGINT, _on_stop_signal, base);
  struct event *ev_usr1 = evsignal_new(base, SIGUSR1, _on_usr1, agent);

  evsignal_add(ev_term, NULL);
  evsignal_add(ev_int, NULL);
  evsignal_add(ev_usr1, NULL);
  struct event *ev_hup = evsignal_new(base, SIGHUP, _on_hup, agent); /* TLS (issue 13) */
  evsignal_add(ev_hup, NULL);
  /* The endpoint first: a taken metrics port stops relayd before any source accepts events. */
  if (!_start_monitoring(mc, agent, base, start_ms, &http, &summary))
    goto out;
  if (!relay_agent_start(agent, &error))
    {
      relay_error(NULL, "cannot start agent %s: %s; exiting (see --keep-running-on-start-failure)",
                  relay_agent_name(agent), error->message);
      char *why = g_strdup_printf("cannot start agent %s: %s", relay_agent_name(agent), error->message);
      relay_sd_notify_status(why); /* issue 15: systemctl status says why */
      g_free(why);
      g_error_free(error);
      relay_agent_stop(agent, 0);
      goto out;
    }
  relay_info(NULL, "agent %s ready in %.1f ms", relay_agent_name(agent),
             (g_get_monotonic_time() - t0) / 1000.0);
  char *status = relay_agent_status_line(agent); /* ---- systemd: READY=1, STOPPING=1 (issue 15) ---- */
  relay_sd_notify_ready(status);
  g_free(status);
  event_base_dispatch(base);
  relay_sd_notify_stopping();
  relay_agent_stop(agent, RELAY_SHUTDOWN_GRACE_MS);
  relay_agent_log_counters(agent);
  rc = 0;
out:
  relay_monitor_summary_free(summary);
  relay_monitor_http_free(http);
  event_free(ev_term);
  event_free(ev_int);
  event_free(ev_usr1);
  event_free(ev_hup);
  return rc;
}

/* Loads every configuration file in order (later keys win); FALSE (message on stderr) if one cannot be read.
 */
static gboolean
_load(char **paths, RelayProps *props, RelayConfigReport *report)
{
  for (guint i = 0; paths[i]; i++)
    {
      GError *error = NULL;
      if (!relay_props_load_file(props, paths[i], report, &error))
        {
          fprintf(stderr, "relayd: cannot read configuration %s: %s\n", paths[i], error->message);
          g_error_free(error);
          return FALSE;
        }
    }
  return TRUE;
}

/* Loads, checks and builds; returns the exit code, or -1 to go on running. */
static int
_configure(const RelayArgs *args, RelayProps *props, RelayConfigReport *report, RelayAgent *agent,
           RelayAgentConfig **cfg, RelayMonitorConfig *mc)
{
  char **paths = _config_paths(args);
  char *path = g_strjoinv(",", paths);
  int rc = -1;

  if (!_load(paths, props, report))
    {
      g_strfreev(paths);
      g_free(path);
      return 1;
    }
  relay_info(NULL, "configuration file=%s agent=%s", path, args->name);
  _explain_flume_options(args);
  relay_props_resolve(props, report);
  _tls_system_properties(args); /* TLS (issue 13): before components load their stores */
  *cfg = relay_agent_config_new(props, args->name, report);
  gboolean ok = *cfg && relay_agent_configure(agent, *cfg, report);
  if (ok && args->check)
    relay_agent_check_start(agent, *cfg, report);
  _monitor_config(args, *cfg, report, mc);
  if (*cfg) /* ---- memory budget (issue 16) ---- */
    relay_membudget_apply_props((*cfg)->memory, report);
  if (*cfg) /* ---- log targets (issue 15) ---- */
    {
      RelayLogCli cli = _log_cli(args);
      relay_log_config_apply((*cfg)->log, &cli, !args->check, report);
    }
  relay_config_report_finish(report);
  _print_report(report, args->check);
  if (args->check)
    {
      guint n = relay_config_report_count(report);
      printf("%s: agent %s: %u problem(s)%s\n", path, args->name, n, ok ? "" : ", nothing runnable");
      rc = (n || !ok) ? 1 : 0;
    }
  else if (!ok || relay_tls_startup_failed()) /* TLS (issue 13): a store that cannot load is fatal */
    {
      relay_error(NULL, "agent %s in %s: %s, exiting", args->name, path,
                  ok ? "a TLS keystore or truststore cannot be loaded" : "nothing runnable");
      rc = 1;
    }
  g_strfreev(paths);
  g_free(path);
  return rc;
}

int
main(int argc, char **argv)
{
  gint64 t0 = g_get_monotonic_time();
  gint64 start_ms = g_get_real_time() / 1000;
  RelayArgs args = { 0 };
  /* ---- relayd --help-components [TYPE] [--markdown] (issue 19) ---- */
  if (relay_help_components_wanted(argc, argv))
    return relay_help_components_run(argc, argv);
  /* ---- end of --help-components ---- */
  int rc = _parse_args(argc, argv, &args);

  if (args.version)
    {
      const RelayBuildInfo *build = relay_build_info();
      printf("relayd %s\nbuilt with: compiler=%s glib=%s libevent=%s%s%s\n", build->version, build->compiler,
             build->glib, build->libevent, *build->features ? " features=" : "", build->features);
    }
  if (rc >= 0)
    {
      _free_args(&args);
      return rc;
    }
  signal(SIGPIPE, SIG_IGN);
  evthread_use_pthreads();

  struct event_base *base = event_base_new();
  RelayProps *props = relay_props_new();
  RelayConfigReport *report = relay_config_report_new();
  RelayAgent *agent = relay_agent_new(args.name, base);
  RelayAgentConfig *cfg = NULL;
  RelayMonitorConfig mc;

  relay_monitor_config_init(&mc);
  relay_agent_set_keep_running(agent, args.keep_running);
  relay_sd_notify_init(base); /* issue 15: before any thread or child starts (it unsets NOTIFY_SOCKET) */
  rc = _configure(&args, props, report, agent, &cfg, &mc);
  if (rc < 0)
    rc = _run(agent, base, t0, &mc, start_ms);
  relay_monitor_config_clear(&mc);
  relay_sd_notify_free(); /* issue 15 */
  relay_agent_free(agent);
  if (cfg)
    relay_agent_config_free(cfg);
  relay_config_report_free(report);
  relay_props_free(props);
  event_base_free(base);
  _free_args(&args);
  return rc;
}
