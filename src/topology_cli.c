/* topology_cli.c - the command line of `relayd --check-topology [--dot] [--host AGENT=HOST]... FILE...`.
 *
 * main() hands the command line over when it holds --check-topology or --dot. Without FILE, the file --check
 * would read (conf/relayd.conf in a source tree, else $sysconfdir/relayd.conf). The problems are printed one
 * per line as --check prints them, then a summary line; with --dot the graph goes to stdout and the problems
 * and summary to stderr. Exit status as --check: 0 clean, 1 problems or an unreadable file, 2 usage. */
#include "topology.h"

#include "log.h"

#include <stdio.h>
#include <string.h>

typedef struct
{
  gboolean check;
  gboolean dot;
  gboolean no_resolve;
  char **hosts;
  char **files;
  char *log_level;
} TopoArgs;

gboolean
relay_topology_wanted(int argc, char **argv)
{
  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
    if (strcmp(argv[i], "--check-topology") == 0 || strcmp(argv[i], "--dot") == 0)
      return TRUE;
  return FALSE;
}

static void
_args_clear(TopoArgs *args)
{
  g_strfreev(args->hosts);
  g_strfreev(args->files);
  g_free(args->log_level);
}

/* Adds path unless given already (its agents would be counted twice, each taking its own ports). */
static void
_add_file(GPtrArray *files, const char *path)
{
  for (guint i = 0; i < files->len; i++)
    if (strcmp(g_ptr_array_index(files, i), path) == 0)
      return;
  g_ptr_array_add(files, g_strdup(path));
}

/* Parses the command line into args; -1 to go on, else the exit status. */
static int
_parse(int argc, char **argv, TopoArgs *args)
{
  GOptionEntry entries[] = {
    { "check-topology", 0, 0, G_OPTION_ARG_NONE, &args->check,
      "check the hops between every agent of FILE...: print every problem, exit", NULL },
    { "dot", 0, 0, G_OPTION_ARG_NONE, &args->dot,
      "print the topology as a Graphviz graph (problems on stderr)", NULL },
    { "host", 0, 0, G_OPTION_ARG_STRING_ARRAY, &args->hosts,
      "agent AGENT runs on HOST (repeatable; else topology.host.AGENT in its file, else this machine)",
      "AGENT=HOST" },
    { "no-resolve", 0, 0, G_OPTION_ARG_NONE, &args->no_resolve, "compare host names as written only (no DNS)",
      NULL },
    { "conf-file", 'f', 0, G_OPTION_ARG_FILENAME_ARRAY, &args->files, "a configuration file (as FILE)",
      "FILE" },
    { "log-level", 0, 0, G_OPTION_ARG_STRING, &args->log_level, "error, warn, info (default), debug, trace",
      "LEVEL" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("[FILE...] - check the hops between agents");
  GError *error = NULL;
  RelayLogLevel level;

  g_option_context_add_main_entries(ctx, entries, NULL);
  gboolean ok = g_option_context_parse(ctx, &argc, &argv, &error);
  g_option_context_free(ctx);
  if (!ok)
    {
      fprintf(stderr, "relayd: %s (usage: relayd --check-topology [--dot] [--host AGENT=HOST]... FILE...)\n",
              error->message);
      g_error_free(error);
      return 2;
    }
  if (args->log_level && !relay_log_parse_level(args->log_level, &level))
    {
      fprintf(stderr, "relayd: unknown log level '%s' (error, warn, info, debug, trace)\n", args->log_level);
      return 2;
    }
  if (args->log_level)
    relay_log_set_level(level);
  GPtrArray *files = g_ptr_array_new();
  for (guint i = 0; args->files && args->files[i]; i++)
    _add_file(files, args->files[i]);
  for (int i = 1; i < argc; i++)
    _add_file(files, argv[i]);
  if (!files->len)
    g_ptr_array_add(files, g_file_test("conf/relayd.conf", G_FILE_TEST_IS_REGULAR)
                               ? g_strdup("conf/relayd.conf")
                               : g_build_filename(RELAY_SYSCONFDIR, "relayd.conf", NULL));
  g_ptr_array_add(files, NULL);
  g_strfreev(args->files);
  args->files = (char **)g_ptr_array_free(files, FALSE);
  return -1;
}

/* Loads every file and every --host; the exit status on a failure, else -1. */
static int
_load(const TopoArgs *args, RelayTopology *topo, RelayConfigReport *report)
{
  for (guint i = 0; args->hosts && args->hosts[i]; i++)
    if (!relay_topology_set_host(topo, args->hosts[i]))
      {
        fprintf(stderr, "relayd: --host %s: expected AGENT=HOST\n", args->hosts[i]);
        return 2;
      }
  for (guint i = 0; args->files[i]; i++)
    {
      GError *error = NULL;
      if (!relay_topology_add_file(topo, args->files[i], report, &error))
        {
          fprintf(stderr, "relayd: cannot read configuration %s: %s\n", args->files[i], error->message);
          g_error_free(error);
          return 1;
        }
    }
  return -1;
}

int
relay_topology_main(int argc, char **argv)
{
  TopoArgs args = { 0 };
  int rc = _parse(argc, argv, &args);
  RelayTopology *topo = NULL;
  RelayConfigReport *report = NULL;

  if (rc >= 0)
    goto out;
  topo = relay_topology_new(!args.no_resolve);
  report = relay_config_report_new();
  rc = _load(&args, topo, report);
  if (rc >= 0)
    goto out;
  relay_topology_link(topo, report);
  relay_topology_check(topo, report);
  relay_config_report_finish(report);
  FILE *lines = args.dot ? stderr : stdout;
  if (args.dot)
    relay_topology_print_dot(topo, stdout);
  for (guint i = 0; i < report->lines->len; i++)
    fprintf(lines, "%s\n", (const char *)g_ptr_array_index(report->lines, i));
  char *files = g_strjoinv(",", args.files);
  guint n = relay_config_report_count(report);
  fprintf(lines, "%s: topology of %u agent(s), %u hop(s): %u problem(s)\n", files, topo->agents->len,
          topo->n_hops, n);
  g_free(files);
  rc = n ? 1 : 0;
out:
  relay_config_report_free(report);
  relay_topology_free(topo);
  _args_clear(&args);
  return rc;
}
