/* outage_log.c - a repeating failure logged once, then as bounded summaries, then its recovery (see
 * outage_log.h). One owner thread. */
#include "outage_log.h"

#include <stdarg.h>

void
relay_outage_log_init(RelayOutageLog *o, guint summary_interval_s)
{
  *o = (RelayOutageLog){ .summary_interval_s = summary_interval_s ? summary_interval_s : 1 };
}

static double
_seconds(gint64 us)
{
  return (double)us / G_USEC_PER_SEC;
}

gboolean
relay_outage_log_failure(RelayOutageLog *o, RelayLogLevel level, const char *prefix, const char *fmt, ...)
{
  gint64 now = g_get_monotonic_time();
  va_list ap;

  o->failures++;
  o->unlogged++;
  if (!o->failing)
    {
      o->failing = TRUE;
      o->since_us = now;
    }
  else if (now - o->last_line_us < (gint64)o->summary_interval_s * G_USEC_PER_SEC)
    return FALSE;
  va_start(ap, fmt);
  char *message = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  if (o->failures == 1)
    relay_log(level, prefix, "%s; a summary follows every %u s until it recovers", message,
              o->summary_interval_s);
  else
    relay_log(level, prefix,
              "%s; still failing after %.0f s: %" G_GUINT64_FORMAT " failures (%" G_GUINT64_FORMAT
              " since the last line)",
              message, _seconds(now - o->since_us), o->failures, o->unlogged);
  g_free(message);
  o->last_line_us = now;
  o->unlogged = 0;
  return TRUE;
}

gboolean
relay_outage_log_success(RelayOutageLog *o, const char *prefix, const char *fmt, ...)
{
  va_list ap;

  if (!o->failing)
    return FALSE;
  va_start(ap, fmt);
  char *message = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  relay_info(prefix, "%s after %.1f s and %" G_GUINT64_FORMAT " failure%s", message,
             _seconds(g_get_monotonic_time() - o->since_us), o->failures, o->failures == 1 ? "" : "s");
  g_free(message);
  relay_outage_log_init(o, o->summary_interval_s);
  return TRUE;
}

gboolean
relay_outage_log_failing(const RelayOutageLog *o)
{
  return o->failing;
}
