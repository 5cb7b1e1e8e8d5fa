/* log_config.c - chooses the log target from the command line and the agent's log.* keys (issue 15).
 *
 *   collector.log.target = journal   # stderr (default), syslog, journal
 *   collector.log.facility = local3  # syslog facility (default daemon), also the journal's SYSLOG_FACILITY
 *   collector.log.socket = /dev/log  # the datagram socket (default /dev/log or the journal's)
 *   collector.log.level = warn       # error, warn, info (default), debug, trace
 *
 * --log-target, --log-facility, --log-socket and --log-level (or -Dflume.root.logger) win over these keys,
 * as relayd's options win over monitoring.* keys. A reload applies the keys again (relay_log_config_reload):
 * a removed key goes back to its default (stderr, daemon, info). */
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
  RelayLogLevel level;
  gboolean has_level; /* log.level is set and the command line did not decide the level */
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
  choice->level = RELAY_LOG_INFO;
  choice->has_level = FALSE;
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
_apply_entry(const RelayProp *prop, const char *key, const RelayLogCli *cli, LogChoice *choice,
             RelayConfigReport *report)
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
      else if (!cli->level_given)
        {
          choice->level = level;
          choice->has_level = TRUE;
        }
    }
  else
    relay_config_report_add(report, prop, "log", key,
                            "unknown key (target, facility, socket, level are); ignored");
}

/* What the command line and the log.* entries together ask for; bad values go to report. */
static void
_choose(const GPtrArray *entries, const RelayLogCli *cli, LogChoice *choice, RelayConfigReport *report)
{
  _cli_choice(cli, choice);
  for (guint i = 0; entries && i < entries->len; i++)
    {
      const RelayProp *prop = g_ptr_array_index(entries, i);
      const char *key = strstr(prop->key, ".log.") + strlen(".log.");
      _apply_entry(prop, key, cli, choice, report);
    }
}

void
relay_log_config_apply(const GPtrArray *entries, const RelayLogCli *cli, gboolean apply,
                       RelayConfigReport *report)
{
  LogChoice choice;
  GError *error = NULL;

  _choose(entries, cli, &choice, report);
  if (apply && choice.has_level)
    relay_log_set_level(choice.level);
  if (!apply || !choice.changed)
    return;
  if (!relay_log_set_target(choice.target, choice.facility, choice.socket, &error))
    {
      relay_config_report_add(report, NULL, "log", "target", "%s; logging to stderr", error->message);
      g_error_free(error);
    }
}

static gboolean
_same_target(const LogChoice *a, const LogChoice *b)
{
  return a->target == b->target && a->facility == b->facility && g_strcmp0(a->socket, b->socket) == 0;
}

void
relay_log_config_reload(const GPtrArray *was, const GPtrArray *now, const RelayLogCli *cli)
{
  RelayConfigReport *checked = relay_config_report_new(); /* both were checked before */
  LogChoice before, after;
  GError *error = NULL;

  _choose(was, cli, &before, checked);
  _choose(now, cli, &after, checked);
  relay_config_report_free(checked);
  if (!cli->level_given && after.level != relay_log_get_level())
    {
      relay_info(NULL, "reload: log.level %s -> %s", relay_log_level_name(relay_log_get_level()),
                 relay_log_level_name(after.level));
      relay_log_set_level(after.level);
    }
  if (_same_target(&before, &after))
    return;
  relay_info(NULL,
             "reload: logging to %s from now on (log.target %s -> %s, facility %d -> %d, socket %s -> %s)",
             relay_log_target_name(after.target), relay_log_target_name(before.target),
             relay_log_target_name(after.target), before.facility >> 3, after.facility >> 3,
             before.socket ? before.socket : "default", after.socket ? after.socket : "default");
  if (!relay_log_set_target(after.target, after.facility, after.socket, &error))
    {
      relay_error(NULL, "reload: cannot log to %s: %s; the log stays where it was",
                  relay_log_target_name(after.target), error->message);
      g_error_free(error);
    }
}
