/* main.c - the relayd command line: relayd -n NAME [-f FILE] [-c DIR] [--check] [--log-level LEVEL].
 *
 * Thin by design: parse arguments, load and check the configuration, build the agent, run the main event
 * loop until SIGTERM/SIGINT, stop in order. Exit codes: 0 clean stop or a clean --check, 1 configuration
 * problems (--check) or nothing runnable or start failure, 2 usage errors. */
#include "relay.h"

#include "agent.h"
#include "config.h"
#include "log.h"
#include "props.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define RELAY_SHUTDOWN_GRACE_MS 5000

typedef struct
{
  char *name;
  char *conf_file;
  char *conf_dir;
  char *log_level;
  gboolean check;
  gboolean version;
} RelayArgs;

static void
_free_args(RelayArgs *args)
{
  g_free(args->name);
  g_free(args->conf_file);
  g_free(args->conf_dir);
  g_free(args->log_level);
}

static int
_parse_args(int argc, char **argv, RelayArgs *args)
{
  GOptionEntry entries[] = {
    { "name", 'n', 0, G_OPTION_ARG_STRING, &args->name, "name of the agent to run (required)", "NAME" },
    { "conf-file", 'f', 0, G_OPTION_ARG_FILENAME, &args->conf_file, "configuration file (Flume properties)",
      "FILE" },
    { "conf", 'c', 0, G_OPTION_ARG_FILENAME, &args->conf_dir, "directory holding relayd.conf", "DIR" },
    { "check", 0, 0, G_OPTION_ARG_NONE, &args->check, "validate the configuration, print every problem, exit",
      NULL },
    { "log-level", 0, 0, G_OPTION_ARG_STRING, &args->log_level, "error, warn, info (default), debug, trace",
      "LEVEL" },
    { "version", 'V', 0, G_OPTION_ARG_NONE, &args->version, "print the version and exit", NULL },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("- relay Flume events between agents");
  GError *error = NULL;
  RelayLogLevel level;

  g_option_context_add_main_entries(ctx, entries, NULL);
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
      fprintf(stderr, "relayd: %s (usage: relayd -n NAME [-f FILE] [-c DIR] [--check] [--log-level LEVEL])\n",
              args->name ? "unexpected argument" : "-n NAME is required");
      return 2;
    }
  if (args->log_level && !relay_log_parse_level(args->log_level, &level))
    {
      fprintf(stderr, "relayd: unknown log level '%s' (error, warn, info, debug, trace)\n", args->log_level);
      return 2;
    }
  if (args->log_level)
    relay_log_set_level(level);
  return -1;
}

/* -f FILE; else DIR/relayd.conf for -c DIR; else ./conf/relayd.conf; else $sysconfdir/relayd.conf. */
static char *
_config_path(const RelayArgs *args)
{
  if (args->conf_file)
    return g_strdup(args->conf_file);
  if (args->conf_dir)
    return g_build_filename(args->conf_dir, "relayd.conf", NULL);
  if (g_file_test("conf/relayd.conf", G_FILE_TEST_IS_REGULAR))
    return g_strdup("conf/relayd.conf");
  return g_build_filename(RELAY_SYSCONFDIR, "relayd.conf", NULL);
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

static void
_on_usr1(evutil_socket_t sig, short what, void *arg)
{
  relay_agent_log_counters(arg);
}

static int
_run(RelayAgent *agent, struct event_base *base, gint64 t0)
{
  GError *error = NULL;
  struct event *ev_term = evsignal_new(base, SIGTERM, _on_stop_signal, base);
  struct event *ev_int = evsignal_new(base, SIGINT, _on_stop_signal, base);
  struct event *ev_usr1 = evsignal_new(base, SIGUSR1, _on_usr1, agent);

  evsignal_add(ev_term, NULL);
  evsignal_add(ev_int, NULL);
  evsignal_add(ev_usr1, NULL);
  if (!relay_agent_start(agent, &error))
    {
      relay_error(NULL, "cannot start agent %s: %s", relay_agent_name(agent), error->message);
      g_error_free(error);
      relay_agent_stop(agent, 0);
      return 1;
    }
  relay_info(NULL, "agent %s ready in %.1f ms", relay_agent_name(agent),
             (g_get_monotonic_time() - t0) / 1000.0);
  event_base_dispatch(base);
  relay_agent_stop(agent, RELAY_SHUTDOWN_GRACE_MS);
  relay_agent_log_counters(agent);
  event_free(ev_term);
  event_free(ev_int);
  event_free(ev_usr1);
  return 0;
}

/* Loads, checks and builds; returns the exit code, or -1 to go on running. */
static int
_configure(const RelayArgs *args, RelayProps *props, RelayConfigReport *report, RelayAgent *agent,
           RelayAgentConfig **cfg)
{
  char *path = _config_path(args);
  GError *error = NULL;
  int rc = -1;

  if (!relay_props_load_file(props, path, report, &error))
    {
      fprintf(stderr, "relayd: cannot read configuration %s: %s\n", path, error->message);
      g_error_free(error);
      g_free(path);
      return 1;
    }
  relay_props_resolve(props, report);
  *cfg = relay_agent_config_new(props, args->name, report);
  gboolean ok = *cfg && relay_agent_configure(agent, *cfg, report);
  _print_report(report, args->check);
  if (args->check)
    {
      guint n = relay_config_report_count(report);
      printf("%s: agent %s: %u problem(s)%s\n", path, args->name, n, ok ? "" : ", nothing runnable");
      rc = (n || !ok) ? 1 : 0;
    }
  else if (!ok)
    {
      relay_error(NULL, "agent %s in %s: nothing runnable, exiting", args->name, path);
      rc = 1;
    }
  g_free(path);
  return rc;
}

int
main(int argc, char **argv)
{
  gint64 t0 = g_get_monotonic_time();
  RelayArgs args = { 0 };
  int rc = _parse_args(argc, argv, &args);

  if (args.version)
    printf("relayd %s\n", PACKAGE_VERSION);
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

  rc = _configure(&args, props, report, agent, &cfg);
  if (rc < 0)
    rc = _run(agent, base, t0);
  relay_agent_free(agent);
  if (cfg)
    relay_agent_config_free(cfg);
  relay_config_report_free(report);
  relay_props_free(props);
  event_base_free(base);
  _free_args(&args);
  return rc;
}
