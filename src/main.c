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
#include "agent_reload.h" /* live reload (issue 14) */
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
#include "topology.h"      /* --check-topology, --dot (issue 14) */
#include "plugin_loader.h" /* issue 17 */

#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RELAY_SHUTDOWN_GRACE_MS 5000
#define RELAY_CALLED_FROM_SERVICE "flume.called.from.service" /* issue 14: see _called_from_service */

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
  gboolean no_reload;    /* --no-reload-conf: no polling of the configuration files (issue 14) */
  int poll_interval;     /* -i/--poll-interval seconds (issue 14); -1: not given (Flume's 30) */
  /* ---- plugins (issue 17) ---- */
  char *plugins_path; /* --plugins-path DIR[:DIR...]: replaces the default plugins.d directories */
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
  g_free(args->plugins_path); /* issue 17 */
  g_free(args->log_target);   /* issue 15 */
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
  gboolean topology_listed = FALSE; /* issue 14 */
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
      "do not poll the configuration files for changes (SIGHUP still reloads)", NULL },
    /* ---- live reload (issue 14) ---- */
    { "poll-interval", 'i', 0, G_OPTION_ARG_INT, &args->poll_interval,
      "seconds between checks of the configuration files for a change to reload (default 30, 0: off)",
      "SECS" },
    /* ---- issue 14: listed for --help; main() hands these command lines to topology_cli.c ---- */
    { "check-topology", 0, 0, G_OPTION_ARG_NONE, &topology_listed,
      "check the hops between every agent of FILE... (see relayd --check-topology --help)", NULL },
    { "dot", 0, 0, G_OPTION_ARG_NONE, &topology_listed, "print the agents of FILE... as a Graphviz graph",
      NULL },
    /* ---- plugins (issue 17) ---- */
    { "plugins-path", 0, 0, G_OPTION_ARG_STRING, &args->plugins_path,
      "colon-separated plugins.d directories to load plugins from (default: the plugins.d beside the "
      "configuration's directory, and " RELAY_PLUGINDIR ")",
      "DIR[:DIR...]" },
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
  args->poll_interval = -1; /* issue 14 */
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
      || args->summary_interval > 86400 || args->poll_interval < -1 || args->poll_interval > 86400)
    {
      fprintf(stderr, "relayd: --metrics-port must be 0..65535, --summary-interval and --poll-interval "
                      "0..86400\n");
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
  if (args->no_reload) /* issue 14 */
    relay_info(NULL, "--no-reload-conf: the configuration files are not polled for changes (SIGHUP still "
                     "reloads them)");
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

/* ---- live reload (issue 14): SIGHUP or a changed configuration file reloads the agent ---- */
typedef struct
{
  const RelayArgs *args;
  RelayAgent *agent;
  RelayProps **props;     /* the running configuration's, replaced by a reload */
  RelayAgentConfig **cfg; /* the same */
  char **paths;           /* the configuration files */
  GArray *stamps;         /* RelayFileStamp per path, as last loaded */
  struct event *poll;
  RelayMonitorRunning *monitoring; /* the endpoint and summary line, switched by a reload */
  /* The reload under way (between RELOADING=1 and READY=1): the agent's switch ends on the main loop. */
  gboolean busy;
  const char *again;      /* why the next reload was asked for while one was under way, or NULL */
  gboolean stopping;      /* relayd stops: no reload begins any more */
  RelayProps *next_props; /* the new configuration while under way */
  RelayAgentConfig *next_cfg;
  RelayMonitorConfig next_mc;
  gint64 next_limit;
} RelayReloader;

typedef struct
{
  gint64 mtime_ns, size, inode;
} RelayFileStamp;

static RelayReloader _reloader;

static RelayFileStamp
_file_stamp(const char *path)
{
  struct stat st;
  RelayFileStamp stamp = { -1, -1, -1 };

  if (stat(path, &st) == 0)
    {
      stamp.mtime_ns = (gint64)st.st_mtim.tv_sec * G_GINT64_CONSTANT(1000000000) + st.st_mtim.tv_nsec;
      stamp.size = st.st_size;
      stamp.inode = (gint64)st.st_ino;
    }
  return stamp;
}

/* Records the files' stamps; TRUE if one differs from the last recorded. */
static gboolean
_stamp_files(RelayReloader *rl)
{
  gboolean changed = FALSE;

  for (guint i = 0; rl->paths[i]; i++)
    {
      RelayFileStamp now = _file_stamp(rl->paths[i]);
      RelayFileStamp *was = &g_array_index(rl->stamps, RelayFileStamp, i);
      changed = changed || memcmp(&now, was, sizeof now) != 0;
      *was = now;
    }
  return changed;
}

static gboolean
_reload_load(RelayReloader *rl, RelayProps *props, RelayConfigReport *report, GError **error)
{
  for (guint i = 0; rl->paths[i]; i++)
    if (!relay_props_load_file(props, rl->paths[i], report, error))
      {
        g_prefix_error(error, "cannot read %s: ", rl->paths[i]);
        return FALSE;
      }
  relay_props_resolve(props, report);
  return TRUE;
}

static void _monitor_config(const RelayArgs *args, const RelayAgentConfig *cfg, RelayConfigReport *report,
                            RelayConfigReport *cli_report, RelayMonitorConfig *mc);

static void _reload_end(RelayReloader *rl, gboolean ok, const GError *error);

/* The agent's switch ended (agent_reload.h): the settings around it follow, then the reload ends. */
static void
_on_agent_reloaded(gboolean ok, const GError *error, gpointer data)
{
  RelayReloader *rl = data;

  relay_monitor_running_finish(rl->monitoring, &rl->next_mc, ok);
  if (ok) /* the log.* keys: level and target (issue 15's) follow the new configuration */
    {
      RelayLogCli cli = _log_cli(rl->args);
      relay_log_config_reload(*rl->cfg ? (*rl->cfg)->log : NULL, rl->next_cfg->log, &cli);
    }
  if (ok && rl->next_limit != relay_membudget_limit())
    {
      relay_info(NULL, "reload: memory.limit %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT " bytes (0: none)",
                 relay_membudget_limit(), rl->next_limit);
      relay_membudget_set_limit(rl->next_limit);
    }
  _reload_end(rl, ok, error);
}

/* Begins reloading the agent and the settings around it: the monitoring endpoint and summary line
 * (monitoring.*, then -D, then options, as at start), memory.limit and the log.* keys; the endpoint moves
 * first and comes back when the agent's reload fails. FALSE (error set) when refused; otherwise
 * _on_agent_reloaded ends it. */
static gboolean
_reload_begin(RelayReloader *rl, RelayConfigReport *report, GError **error)
{
  RelayAgentConfig *cfg = rl->next_cfg;
  RelayConfigReport *cli_report = relay_config_report_new();

  _monitor_config(rl->args, cfg, report, cli_report, &rl->next_mc);
  relay_config_report_free(cli_report);
  rl->next_limit = relay_membudget_read_props(cfg->memory, report);
  RelayLogCli cli = _log_cli(rl->args);
  relay_log_config_apply(cfg->log, &cli, FALSE, report); /* checked; applied by _on_agent_reloaded */
  gboolean ok = relay_config_report_count(report) == 0;
  if (!ok)
    g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "the new configuration has %u problem(s)",
                relay_config_report_count(report));
  ok = ok && relay_monitor_running_switch(rl->monitoring, &rl->next_mc, error);
  ok = ok && relay_agent_reload(rl->agent, *rl->cfg, cfg, report, _on_agent_reloaded, rl, error);
  if (!ok)
    relay_monitor_running_finish(rl->monitoring, &rl->next_mc, FALSE);
  return ok;
}

/* The one place where a reload begins, after systemd's RELOADING=1. Loads the files, validates the whole
 * configuration and begins reloading the agent (agent_reload.h) and the monitoring; on any problem logs
 * every problem with file:line and keeps the running configuration (a new component that cannot start
 * rolls the reload back). A reload asked for while one is under way runs after it. Main thread. */
static void
_reload_configuration(RelayReloader *rl, const char *why)
{
  if (rl->busy || rl->stopping)
    {
      if (!rl->stopping)
        relay_info(NULL, "%s: a reload is under way; reloading again after it", why);
      rl->again = rl->stopping ? NULL : why;
      return;
    }
  rl->busy = TRUE;
  relay_sd_notify_reloading(); /* systemd: RELOADING=1 (issue 15) */
  rl->next_props = relay_props_new();
  rl->next_cfg = NULL;
  relay_monitor_config_init(&rl->next_mc);
  RelayConfigReport *report = relay_config_report_new();
  GError *error = NULL;

  relay_info(NULL, "%s: reloading the configuration of agent %s", why, rl->args->name);
  _stamp_files(rl);
  gboolean ok = _reload_load(rl, rl->next_props, report, &error);
  if (ok && !(rl->next_cfg = relay_agent_config_new(rl->next_props, rl->args->name, report)))
    g_set_error(&error, RELAY_ERROR, RELAY_ERROR_CONFIG, "the new configuration has no agent %s",
                rl->args->name);
  ok = rl->next_cfg && _reload_begin(rl, report, &error);
  relay_config_report_finish(report);
  for (guint i = 0; i < report->lines->len; i++)
    relay_error("config", "%s", (const char *)g_ptr_array_index(report->lines, i));
  relay_config_report_free(report);
  if (!ok)
    _reload_end(rl, FALSE, error);
  g_clear_error(&error);
}

/* The one place where a reload ends, before systemd's READY=1: the new configuration replaces the running
 * one, or is dropped. Then reloads the TLS certificates of what runs, and begins the reload asked for
 * meanwhile. */
static void
_reload_end(RelayReloader *rl, gboolean ok, const GError *error)
{
  if (!ok)
    {
      relay_error(NULL, "configuration reload refused, the running configuration stays: %s", error->message);
      if (rl->next_cfg)
        relay_agent_config_free(rl->next_cfg);
      relay_props_free(rl->next_props);
    }
  else
    {
      relay_agent_config_free(*rl->cfg);
      relay_props_free(*rl->props);
      *rl->cfg = rl->next_cfg;
      *rl->props = rl->next_props;
    }
  rl->next_cfg = NULL;
  rl->next_props = NULL;
  relay_monitor_config_clear(&rl->next_mc);
  relay_info(NULL, "reloading TLS certificates"); /* TLS (issue 13) */
  relay_tls_reload_all();
  char *status = relay_agent_status_line(rl->agent); /* systemd: READY=1 and the new status (issue 15) */
  relay_sd_notify_ready(status);
  g_free(status);
  rl->busy = FALSE;
  const char *again = rl->again;
  rl->again = NULL;
  if (again)
    _reload_configuration(rl, again);
}

/* relayd stops: a reload under way finishes first (its READY=1 before STOPPING=1), and none begins after. */
static void
_reloader_settle(RelayReloader *rl)
{
  rl->stopping = TRUE;
  rl->again = NULL;
  if (rl->agent)
    relay_agent_reload_settle(rl->agent);
}

static void
_on_poll(evutil_socket_t fd, short what, void *arg)
{
  if (_stamp_files(arg))
    _reload_configuration(arg, "configuration file changed");
}

static void
_on_hup(evutil_socket_t sig, short what, void *arg)
{
  _reload_configuration(arg, "received SIGHUP");
}

/* Polls the files every -i seconds (30 by default, as Flume's -i/--poll-interval and --no-reload-conf in
 * flume-ng-node/src/main/java/org/apache/flume/node/Application.java) unless --no-reload-conf or -i 0. A file
 * counts as changed when its mtime, size or inode differs (Flume compares lastModified). */
static void
_reloader_start(RelayReloader *rl, struct event_base *base)
{
  int interval = rl->args->poll_interval >= 0 ? rl->args->poll_interval : 30;

  if (rl->args->no_reload || interval == 0)
    return;
  struct timeval tv = { interval, 0 };
  rl->poll = event_new(base, -1, EV_PERSIST, _on_poll, rl);
  event_add(rl->poll, &tv);
}

static void
_reloader_clear(RelayReloader *rl)
{
  if (rl->poll)
    event_free(rl->poll);
  g_strfreev(rl->paths);
  if (rl->stamps)
    g_array_unref(rl->stamps);
}
/* ---- end of live reload ---- */

/* ---- TLS (issue 13): -D javax.net.ssl.* / flume.ssl.* globals (SIGHUP: _reload_configuration) ---- */

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

/* Monitoring settings: the agent's monitoring.* keys, then -D system properties, then relayd's options.
 * Problems of the keys go to report, those of the command line to cli_report (a reload passes a scratch
 * one: the command line was reported at start and must not refuse every reload). */
static void
_monitor_config(const RelayArgs *args, const RelayAgentConfig *cfg, RelayConfigReport *report,
                RelayConfigReport *cli_report, RelayMonitorConfig *mc)
{
  if (cfg)
    relay_monitor_config_apply_props(mc, cfg->monitoring, report);
  for (guint i = 0; i < args->system_properties->len; i++)
    {
      char **kv = g_strsplit(g_ptr_array_index(args->system_properties, i), "=", 2);
      const char *value = kv[1] ? kv[1] : "";
      char *why = NULL;
      if (strcmp(kv[0], "flume.root.logger") == 0)
        _apply_root_logger(args, value, cli_report);
      else if (relay_tls_set_system_property(kv[0], value)) /* TLS (issue 13) */
        ;
      else if (strcmp(kv[0], RELAY_CALLED_FROM_SERVICE) == 0) /* issue 14: _configure */
        ;
      else if (!relay_monitor_config_apply_system_property(mc, kv[0], value, &why))
        relay_config_report_add(cli_report, NULL, "command line", kv[0], "%s; ignored",
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
_start_monitoring(RelayMonitorRunning *monitoring)
{
  GError *error = NULL;

  if (relay_monitor_running_start(monitoring, &error))
    return TRUE;
  relay_error(NULL, "cannot start the monitoring endpoint: %s", error->message);
  g_error_free(error);
  return FALSE;
}

static int
_run(RelayAgent *agent, struct event_base *base, gint64 t0, RelayMonitorConfig *mc, gint64 start_ms)
{
  RelayMonitorRunning monitoring = { mc, agent, base, start_ms, NULL, NULL };
  GError *error = NULL;
  int rc = 1;
  struct event *ev_term = evsignal_new(base, SIGTERM, _on_stop_signal, base);
  struct event *ev_int = evsignal_new(base, SIGINT, _on_stop_signal, base);
  struct event *ev_usr1 = evsignal_new(base, SIGUSR1, _on_usr1, agent);

  evsignal_add(ev_term, NULL);
  evsignal_add(ev_int, NULL);
  evsignal_add(ev_usr1, NULL);
  struct event *ev_hup = evsignal_new(base, SIGHUP, _on_hup, &_reloader); /* issues 13 and 14 */
  evsignal_add(ev_hup, NULL);
  _reloader_start(&_reloader, base); /* issue 14 */
  _reloader.monitoring = &monitoring;
  /* The endpoint first: a taken metrics port stops relayd before any source accepts events. */
  if (!_start_monitoring(&monitoring))
    goto out;
  if (!*_reloader.cfg) /* -Dflume.called.from.service without a configuration yet (issue 14) */
    relay_warn(NULL, "agent %s runs without components until its configuration appears",
               relay_agent_name(agent));
  else if (!relay_agent_start(agent, &error))
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
  _reloader_settle(&_reloader); /* issue 14 */
  relay_sd_notify_stopping();
  relay_agent_stop(agent, RELAY_SHUTDOWN_GRACE_MS);
  relay_agent_log_counters(agent);
  rc = 0;
out:
  relay_monitor_running_stop(&monitoring);
  _reloader.monitoring = NULL;
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

/* ---- -Dflume.called.from.service (issue 14): as Flume's Application
 * (flume-ng-node/src/main/java/org/apache/ flume/node/Application.java,
 * Constants.SYSPROP_CALLED_FROM_SERVICE), a missing configuration file does not stop the start: the agent
 * runs without components until a reload (the file poll or SIGHUP) finds it. Here the same holds for a file
 * without the agent. ---- */
static gboolean
_called_from_service(const RelayArgs *args)
{
  for (guint i = 0; i < args->system_properties->len; i++)
    {
      const char *property = g_ptr_array_index(args->system_properties, i);
      char after = g_str_has_prefix(property, RELAY_CALLED_FROM_SERVICE)
                       ? property[strlen(RELAY_CALLED_FROM_SERVICE)]
                       : '.';
      if (after == '\0' || after == '=') /* Flume needs no value: -Dflume.called.from.service is enough */
        return TRUE;
    }
  return FALSE;
}

/* TRUE when relayd is to run without a configuration (logged), FALSE when that means exit 1. */
static gboolean
_wait_for_configuration(const RelayArgs *args, const char *path)
{
  if (args->check || !_called_from_service(args))
    return FALSE;
  int interval = args->no_reload ? 0 : args->poll_interval >= 0 ? args->poll_interval : 30;
  char *how = interval ? g_strdup_printf("checked every %d s, or SIGHUP", interval) : g_strdup("SIGHUP");
  relay_warn(NULL,
             "-D" RELAY_CALLED_FROM_SERVICE ": no configuration for agent %s in %s yet; waiting for it (%s)",
             args->name, path, how);
  g_free(how);
  return TRUE;
}
/* ---- end of -Dflume.called.from.service ---- */

/* Loads, checks and builds; returns the exit code, or -1 to go on running. */
static int
_configure(const RelayArgs *args, RelayProps *props, RelayConfigReport *report, RelayAgent *agent,
           RelayAgentConfig **cfg, RelayMonitorConfig *mc)
{
  char **paths = _config_paths(args);
  char *path = g_strjoinv(",", paths);
  int rc = -1;

  /* ---- live reload (issue 14): the files' stamps before they are read, so no change is missed ---- */
  _reloader.args = args;
  _reloader.paths = g_strdupv(paths);
  _reloader.stamps = g_array_new(FALSE, TRUE, sizeof(RelayFileStamp));
  g_array_set_size(_reloader.stamps, g_strv_length(paths));
  _stamp_files(&_reloader);

  gboolean loaded = _load(paths, props, report);
  if (!loaded && !_wait_for_configuration(args, path)) /* issue 14: -Dflume.called.from.service */
    {
      g_strfreev(paths);
      g_free(path);
      return 1;
    }
  relay_info(NULL, "configuration file=%s agent=%s", path, args->name);
  /* ---- plugins (issue 17): their classes must be registered before the components are built ---- */
  char **plugin_dirs = relay_plugins_dirs(args->plugins_path, paths[0]);
  relay_plugins_load(plugin_dirs, args->plugins_path != NULL, report);
  g_strfreev(plugin_dirs);
  _explain_flume_options(args);
  relay_props_resolve(props, report);
  _tls_system_properties(args); /* TLS (issue 13): before components load their stores */
  *cfg = loaded ? relay_agent_config_new(props, args->name, report) : NULL;
  gboolean waiting = !loaded || (!*cfg && _wait_for_configuration(args, path)); /* issue 14 */
  gboolean ok = *cfg && relay_agent_configure(agent, *cfg, report);
  if (ok && args->check)
    relay_agent_check_start(agent, *cfg, report);
  _monitor_config(args, *cfg, report, report, mc);
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
  else if ((!ok && !waiting)
           || relay_tls_startup_failed()) /* TLS (issue 13): a store that cannot load is fatal */
    {
      relay_error(NULL, "agent %s in %s: %s, exiting", args->name, path,
                  ok ? "a TLS keystore or truststore cannot be loaded" : "nothing runnable");
      rc = 1;
    }
  g_strfreev(paths);
  g_free(path);
  return rc;
}

/* ---- plugins (issue 17): relayd --help-components --plugins-path DIR[:DIR...] shows the plugins' classes
 * too (only from an explicit --plugins-path, so that the README's reference stays the built-in one). Loads
 * them, prints refusals on stderr, and returns argc with the option taken out of argv. ---- */
static int
_help_plugins(int argc, char **argv)
{
  for (int i = 1; i < argc; i++)
    {
      gboolean split = strcmp(argv[i], "--plugins-path") == 0 && i + 1 < argc;
      if (!split && !g_str_has_prefix(argv[i], "--plugins-path="))
        continue;
      const char *path = split ? argv[i + 1] : argv[i] + strlen("--plugins-path=");
      RelayConfigReport *report = relay_config_report_new();
      char **dirs = relay_plugins_dirs(path, NULL);
      relay_plugins_load(dirs, TRUE, report);
      for (guint l = 0; l < report->lines->len; l++)
        fprintf(stderr, "relayd: %s\n", (const char *)g_ptr_array_index(report->lines, l));
      g_strfreev(dirs);
      relay_config_report_free(report);
      int n = split ? 2 : 1;
      memmove(&argv[i], &argv[i + n], (size_t)(argc - i - n + 1) * sizeof *argv);
      return argc - n;
    }
  return argc;
}

int
main(int argc, char **argv)
{
  gint64 t0 = g_get_monotonic_time();
  gint64 start_ms = g_get_real_time() / 1000;
  RelayArgs args = { 0 };
  /* ---- relayd --help-components [TYPE] [--markdown] (issue 19) ---- */
  if (relay_help_components_wanted(argc, argv))
    return relay_help_components_run(_help_plugins(argc, argv), argv); /* plugins: issue 17 */
  /* ---- end of --help-components ---- */
  if (relay_topology_wanted(argc, argv)) /* ---- --check-topology, --dot (issue 14) ---- */
    return relay_topology_main(argc, argv);
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
  _reloader.agent = agent; /* ---- live reload (issue 14) ---- */
  _reloader.props = &props;
  _reloader.cfg = &cfg;
  if (rc < 0)
    rc = _run(agent, base, t0, &mc, start_ms);
  _reloader_clear(&_reloader); /* issue 14 */
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
