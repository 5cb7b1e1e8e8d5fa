/* outage_log.h - a failure that repeats until it recovers (a next hop that is down), logged once when it
 * starts, then as a summary at a bounded rate, and once when it ends.
 *
 * A sink retries every few seconds for as long as its next hop is down; logging every attempt fills the
 * log with one line per retry even when there is nothing to deliver. With a RelayOutageLog the first
 * failure is logged (saying that a summary follows), further failures only count, and at most one summary
 * line per summary interval says how long it has been failing and how often; the first success afterwards
 * logs the recovery with the outage's duration and failure count. Not thread-safe: one owner thread (a
 * sink runner lane). */
#ifndef RELAY_OUTAGE_LOG_H_INCLUDED
#define RELAY_OUTAGE_LOG_H_INCLUDED

#include "relay.h"
#include "log.h"

#define RELAY_OUTAGE_SUMMARY_S 60 /* default seconds between summary lines */

typedef struct
{
  guint summary_interval_s;
  gboolean failing;
  gint64 since_us;     /* monotonic time of the outage's first failure */
  gint64 last_line_us; /* monotonic time of its last line */
  guint64 failures;    /* failures of this outage */
  guint64 unlogged;    /* failures since its last line */
} RelayOutageLog;

void relay_outage_log_init(RelayOutageLog *o, guint summary_interval_s);
/* Records a failure. The first of an outage is logged as "<message>, a summary follows every N s until it
 * recovers"; later ones at most once per interval as "<message>, still failing after N s: F failures (U
 * since the last line)". Returns TRUE when it logged a line. */
gboolean relay_outage_log_failure(RelayOutageLog *o, RelayLogLevel level, const char *prefix, const char *fmt,
                                  ...) G_GNUC_PRINTF(4, 5);
/* Records a success. Ends an outage with one INFO line "<message> after N s and F failures" and returns
 * TRUE; does nothing (FALSE) when nothing was failing. */
gboolean relay_outage_log_success(RelayOutageLog *o, const char *prefix, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
/* Whether an outage is running. */
gboolean relay_outage_log_failing(const RelayOutageLog *o);

#endif
