/* monitor_running.c - the monitoring endpoint and summary line that run, started from a RelayMonitorConfig
 * and switched to new settings by a live reload (issue 14): the endpoint restarts only when its own settings
 * changed, and comes back on the previous ones when the new ones cannot listen. Main thread. */
#include "monitor.h"

#include "log.h"

#include <string.h>

static gboolean
_start_endpoint(RelayMonitorRunning *self, const RelayMonitorConfig *cfg, GError **error)
{
  if (!cfg->http)
    return TRUE;
  self->http = relay_monitor_http_start(self->agent, self->base, cfg->bind, cfg->port, self->start_ms, error);
  if (self->http && cfg->tls.ssl && !relay_monitor_http_use_tls(self->http, &cfg->tls, error)) /* issue 13 */
    g_clear_pointer(&self->http, relay_monitor_http_free);
  return self->http != NULL;
}

static void
_start_summary(RelayMonitorRunning *self, const RelayMonitorConfig *cfg)
{
  if (cfg->summary_interval_s > 0)
    self->summary = relay_monitor_summary_start(self->agent, self->base, cfg->summary_interval_s);
}

gboolean
relay_monitor_running_start(RelayMonitorRunning *self, GError **error)
{
  if (!_start_endpoint(self, self->cfg, error))
    return FALSE;
  _start_summary(self, self->cfg);
  return TRUE;
}

static gboolean
_same_endpoint(const RelayMonitorConfig *a, const RelayMonitorConfig *b)
{
  return a->http == b->http
         && (!a->http
             || (strcmp(a->bind, b->bind) == 0 && a->port == b->port && a->tls.ssl == b->tls.ssl
                 && g_strcmp0(a->tls.keystore, b->tls.keystore) == 0
                 && g_strcmp0(a->tls.keystore_password, b->tls.keystore_password) == 0
                 && g_strcmp0(a->tls.keystore_type, b->tls.keystore_type) == 0));
}

/* The endpoint on the running settings again (after a failed or undone switch). */
static void
_restore_endpoint(RelayMonitorRunning *self)
{
  GError *error = NULL;

  g_clear_pointer(&self->http, relay_monitor_http_free);
  if (!_start_endpoint(self, self->cfg, &error))
    {
      relay_error(NULL, "reload: the monitoring endpoint cannot come back on %s:%" G_GINT64_FORMAT ": %s",
                  self->cfg->bind, self->cfg->port, error->message);
      g_error_free(error);
    }
}

gboolean
relay_monitor_running_switch(RelayMonitorRunning *self, const RelayMonitorConfig *next, GError **error)
{
  if (_same_endpoint(self->cfg, next))
    return TRUE;
  g_clear_pointer(&self->http, relay_monitor_http_free); /* first: the new one may want the same port */
  if (_start_endpoint(self, next, error))
    return TRUE;
  g_prefix_error(error, "the monitoring endpoint cannot start on %s:%" G_GINT64_FORMAT ": ", next->bind,
                 next->port);
  _restore_endpoint(self);
  return FALSE;
}

void
relay_monitor_running_finish(RelayMonitorRunning *self, RelayMonitorConfig *next, gboolean commit)
{
  if (!commit)
    {
      if (!_same_endpoint(self->cfg, next))
        _restore_endpoint(self);
      return;
    }
  if (next->summary_interval_s != self->cfg->summary_interval_s)
    {
      g_clear_pointer(&self->summary, relay_monitor_summary_free);
      _start_summary(self, next);
      relay_info(NULL, "reload: summary-interval %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT " s",
                 self->cfg->summary_interval_s, next->summary_interval_s);
    }
  RelayMonitorConfig was = *self->cfg;
  *self->cfg = *next;
  *next = was; /* the caller clears it */
}

void
relay_monitor_running_stop(RelayMonitorRunning *self)
{
  g_clear_pointer(&self->summary, relay_monitor_summary_free);
  g_clear_pointer(&self->http, relay_monitor_http_free);
}
