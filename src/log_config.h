/* log_config.h - where relayd logs: --log-target/--log-facility/--log-socket and the agent's log.* keys. */
#ifndef RELAY_LOG_CONFIG_H_INCLUDED
#define RELAY_LOG_CONFIG_H_INCLUDED

#include "config.h"
#include "log.h"

/* What the command line said (NULL / FALSE: not given); the command line wins over the configuration. */
typedef struct
{
  const char *target;   /* stderr, syslog, journal */
  const char *facility; /* daemon, local0..7, ... */
  const char *socket;   /* the datagram socket of syslog or the journal */
  gboolean level_given; /* --log-level or -Dflume.root.logger decided the level */
} RelayLogCli;

/* Checks the command line's values: FALSE with a message naming the option if one is not valid. */
gboolean relay_log_cli_check(const RelayLogCli *cli, char **why);
/* Applies the command line's target (if any); FALSE with error if its socket cannot be created. */
gboolean relay_log_cli_apply(const RelayLogCli *cli, GError **error);
/* Reads the agent's log.target, log.facility, log.socket and log.level (entries from RelayAgentConfig.log),
 * reports bad values and unknown keys with file:line, and, when apply is TRUE, switches the log to what the
 * command line and the configuration together ask for. Main thread. */
void relay_log_config_apply(const GPtrArray *entries, const RelayLogCli *cli, gboolean apply,
                            RelayConfigReport *report);
/* After a reload from the entries `was` (NULL: none) to `now`, both checked already: the level and the
 * target follow `now` as at start, and what `now` no longer sets goes back to its default (info, stderr,
 * facility daemon, the system's socket), except what the command line decided. Logs each change before it
 * is made; a target whose socket cannot be created leaves the log where it was (logged). Main thread. */
void relay_log_config_reload(const GPtrArray *was, const GPtrArray *now, const RelayLogCli *cli);

#endif
