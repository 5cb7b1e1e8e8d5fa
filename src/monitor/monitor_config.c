/* monitor_config.c - monitoring settings from the properties file and from Flume's system properties.
 *
 * Properties file (relayd's own; Flume ignores them with a warning, so the file still runs there):
 *   <agent>.monitoring.type = http          (Flume's monitoring type names: http, prometheus; both serve
 *                                             relayd's endpoint, which has the JSON and the Prometheus pages)
 *   <agent>.monitoring.port = 41414
 *   <agent>.monitoring.bind = 127.0.0.1
 *   <agent>.monitoring.summary-interval = 60 (seconds; 0 turns the summary line off)
 * Command line, as Flume's: -Dflume.monitoring.type=http -Dflume.monitoring.port=34545, plus
 * -Dflume.monitoring.bind=ADDR. Flume's ganglia type and custom classes are refused with a clear message. */
#include "monitor.h"

#include "options.h"
#include "props.h"

#include <string.h>

void
relay_monitor_config_init(RelayMonitorConfig *cfg)
{
  cfg->http = FALSE;
  cfg->bind = g_strdup(RELAY_MONITOR_DEFAULT_BIND);
  cfg->port = RELAY_MONITOR_DEFAULT_PORT;
  cfg->summary_interval_s = RELAY_MONITOR_DEFAULT_SUMMARY_S;
  memset(&cfg->tls, 0, sizeof cfg->tls);
}

void
relay_monitor_config_clear(RelayMonitorConfig *cfg)
{
  g_clear_pointer(&cfg->bind, g_free);
  g_clear_pointer(&cfg->tls.keystore, g_free);
  g_clear_pointer(&cfg->tls.keystore_password, g_free);
  g_clear_pointer(&cfg->tls.keystore_type, g_free);
}

/* HTTPS keys (issue 13). FALSE if key is not one of them. */
static gboolean
_apply_tls(RelayMonitorConfig *cfg, const char *key, const char *value, char **why)
{
  char **field = strcmp(key, "keystore") == 0            ? &cfg->tls.keystore
                 : strcmp(key, "keystore-password") == 0 ? &cfg->tls.keystore_password
                 : strcmp(key, "keystore-type") == 0     ? &cfg->tls.keystore_type
                                                         : NULL;
  if (field)
    {
      g_free(*field);
      *field = g_strdup(value);
      return TRUE;
    }
  if (strcmp(key, "ssl") != 0)
    return FALSE;
  if (g_ascii_strcasecmp(value, "true") == 0 || g_ascii_strcasecmp(value, "false") == 0)
    cfg->tls.ssl = g_ascii_strcasecmp(value, "true") == 0;
  else
    *why = g_strdup_printf("'%s' is not true or false", value);
  return TRUE;
}

/* Applies key (without any prefix) = value; FALSE with *why (new string) if the key is unknown or the value
 * is bad. */
static gboolean
_apply(RelayMonitorConfig *cfg, const char *key, const char *value, char **why)
{
  gint64 n;

  if (strcmp(key, "type") == 0)
    {
      if (g_ascii_strcasecmp(value, "http") == 0 || g_ascii_strcasecmp(value, "prometheus") == 0)
        {
          cfg->http = TRUE;
          return TRUE;
        }
      *why = g_strdup_printf("monitoring type '%s' is not supported (http and prometheus are; both serve "
                             "/metrics as JSON and /prometheus as Prometheus text)",
                             value);
      return FALSE;
    }
  if (strcmp(key, "port") == 0)
    {
      if (relay_options_parse_int(value, &n) && n >= 0 && n <= 65535)
        {
          cfg->port = n;
          return TRUE;
        }
      *why = g_strdup_printf("'%s' is not a port number 0..65535", value);
      return FALSE;
    }
  if (strcmp(key, "bind") == 0)
    {
      if (*value)
        {
          g_free(cfg->bind);
          cfg->bind = g_strdup(value);
          return TRUE;
        }
      *why = g_strdup("empty address");
      return FALSE;
    }
  if (strcmp(key, "summary-interval") == 0)
    {
      if (relay_options_parse_int(value, &n) && n >= 0 && n <= 86400)
        {
          cfg->summary_interval_s = n;
          return TRUE;
        }
      *why = g_strdup_printf("'%s' is not a number of seconds 0..86400", value);
      return FALSE;
    }
  if (_apply_tls(cfg, key, value, why))
    return *why == NULL;
  *why = g_strdup("unknown key (type, port, bind, summary-interval, ssl, keystore, keystore-password and "
                  "keystore-type are)");
  return FALSE;
}

void
relay_monitor_config_apply_props(RelayMonitorConfig *cfg, const GPtrArray *entries, RelayConfigReport *report)
{
  for (guint i = 0; i < entries->len; i++)
    {
      const RelayProp *prop = g_ptr_array_index(entries, i);
      const char *key = strstr(prop->key, ".monitoring.") + strlen(".monitoring.");
      char *why = NULL;
      if (!_apply(cfg, key, prop->value, &why))
        relay_config_report_add(report, prop, "monitoring", key, "%s; ignored", why);
      g_free(why);
    }
}

gboolean
relay_monitor_config_apply_system_property(RelayMonitorConfig *cfg, const char *key, const char *value,
                                           char **why)
{
  if (!g_str_has_prefix(key, "flume.monitoring."))
    return FALSE;
  const char *sub = key + strlen("flume.monitoring.");
  if (strcmp(sub, "type") != 0 && strcmp(sub, "port") != 0 && strcmp(sub, "bind") != 0)
    return FALSE;
  return _apply(cfg, sub, value, why);
}
