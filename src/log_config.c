/* log_config.c - chooses the log target from the command line and the agent's log.* keys (issue 15).
 *
 *   collector.log.target = journal   # stderr (default), syslog, journal
 *   collector.log.facility = local3  # syslog facility (default daemon), also the journal's SYSLOG_FACILITY
 *   collector.log.socket = /dev/log  # the datagram socket (default /dev/log or the journal's)
 *   collector.log.level = warn       # error, warn, info (default), debug, trace
 *
 * --log-target, --log-facility, --log-socket and --log-level (or -Dflume.root.logger) win over these keys,
 * as relayd's options win over monitoring.* keys. */
#include "log_config.h"

#include "props.h"

#include <string.h>
#include <syslog.h>

typedef struct
{
  RelayLogTarget target;
  int facility;
  const char *socket;
  gboolean changed; /* the configuration asked for something the command line did not */
} LogChoice;

gboolean
relay_log_cli_check(const RelayLogCli *cli, char **why)
{
  RelayLogTarget target;
  int facility;

  if (cli->target && !relay_log_parse_target(cli->target, &target))
    *why = g_strdup_printf("unknown --log-target '%s' (stderr, syslog, journal)", cli->target);
  else if (cli->facility && !relay_log_parse_facility(cli->facility, &facility))
    *why = g_strdup_printf("unknown --log-facility '%s' (daemon, user, local0 ... local7, ...)",
                           cli->facility);
  else
    return TRUE;
  return FALSE;
}

static void
_cli_choice(const RelayLogCli *cli, LogChoice *choice)
{
  choice->target = RELAY_LOG_TARGET_STDERR;
  choice->facility = LOG_DAEMON;
  choice->socket = cli->socket;
  choice->changed = FALSE;
  if (cli->target)
    relay_log_parse_target(cli->target, &choice->target);
  if (cli->facility)
    relay_log_parse_facility(cli->facility, &choice->facility);
}

gboolean
relay_log_cli_apply(const RelayLogCli *cli, GError **error)
{
  LogChoice choice;

  if (!cli->target)
    return TRUE;
  _cli_choice(cli, &choice);
  return relay_log_set_target(choice.target, choice.facility, choice.socket, error);
}

/* One log.KEY entry: taken into choice unless the command line decided it; bad values are reported. */
static void
_apply_entry(const RelayProp *prop, const char *key, const RelayLogCli *cli, gboolean apply,
             LogChoice *choice, RelayConfigReport *report)
{
  RelayLogLevel level;

  if (strcmp(key, "target") == 0)
    {
      RelayLogTarget target;
      if (!relay_log_parse_target(prop->value, &target))
        relay_config_report_add(report, prop, "log", key,
                                "'%s' is not one of stderr, syslog, journal; ignored", prop->value);
      else if (!cli->target)
        {
          choice->target = target;
          choice->changed = TRUE;
        }
    }
  else if (strcmp(key, "facility") == 0)
    {
      int facility;
      if (!relay_log_parse_facility(prop->value, &facility))
        relay_config_report_add(
            report, prop, "log", key,
            "'%s' is not a syslog facility (daemon, user, local0 ... local7, ...); ignored", prop->value);
      else if (!cli->facility)
        {
          choice->facility = facility;
          choice->changed = TRUE;
        }
    }
  else if (strcmp(key, "socket") == 0)
    {
      if (prop->value[0] != '/')
        relay_config_report_add(report, prop, "log", key, "'%s' is not an absolute path; ignored",
                                prop->value);
      else if (!cli->socket)
        {
          choice->socket = prop->value;
          choice->changed = TRUE;
        }
    }
  else if (strcmp(key, "level") == 0)
    {
      if (!relay_log_parse_level(prop->value, &level))
        relay_config_report_add(report, prop, "log", key,
                                "'%s' is not one of error, warn, info, debug, trace; ignored", prop->value);
      else if (apply && !cli->level_given)
        relay_log_set_level(level);
    }
  else
    relay_config_report_add(report, prop, "log", key,
                            "unknown key (target, facility, socket, level are); ignored");
}

void
relay_log_config_apply(const GPtrArray *entries, const RelayLogCli *cli, gboolean apply,
                       RelayConfigReport *report)
{
  LogChoice choice;
  GError *error = NULL;

  _cli_choice(cli, &choice);
  for (guint i = 0; entries && i < entries->len; i++)
    {
      const RelayProp *prop = g_ptr_array_index(entries, i);
      const char *key = strstr(prop->key, ".log.") + strlen(".log.");
      _apply_entry(prop, key, cli, apply, &choice, report);
    }
  if (!apply || !choice.changed)
    return;
  if (!relay_log_set_target(choice.target, choice.facility, choice.socket, &error))
    {
      relay_config_report_add(report, NULL, "log", "target", "%s; logging to stderr", error->message);
      g_error_free(error);
    }
}
