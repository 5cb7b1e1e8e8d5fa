/* sd_notify.h - systemd's service notification protocol (sd_notify(3)), spoken directly: no libsystemd.
 *
 * relay_sd_notify_init() reads NOTIFY_SOCKET (a path, or "@name" for an abstract socket), WATCHDOG_USEC and
 * WATCHDOG_PID, removes them from the environment (commands run by the exec source must not inherit them)
 * and, when WATCHDOG_USEC is set, sends WATCHDOG=1 every WATCHDOG_USEC/2 from a timer on the main loop.
 * Without NOTIFY_SOCKET every call does nothing. Sends are non-blocking datagrams: a full socket loses the
 * message (systemd reads them at once, so it does not happen in practice) and never stalls the loop.
 *
 * Threads: init, the watchdog timer and free run on the main thread; the send functions may be called from
 * any thread (one sendmsg() each on a socket that does not change after init). */
#ifndef RELAY_SD_NOTIFY_H_INCLUDED
#define RELAY_SD_NOTIFY_H_INCLUDED

#include "relay.h"
#include <event2/event.h>

/* Reads the environment and starts the watchdog timer on base; TRUE when a notify socket is in use. */
gboolean relay_sd_notify_init(struct event_base *base);
/* Stops the watchdog timer and closes the socket. */
void relay_sd_notify_free(void);
/* Sends the newline-separated assignments of state ("READY=1\nSTATUS=..."); FALSE if it was not sent
 * (no NOTIFY_SOCKET, or the send failed). */
gboolean relay_sd_notify(const char *state);
/* READY=1 with STATUS=status (one line). */
void relay_sd_notify_ready(const char *status);
/* RELOADING=1 with MONOTONIC_USEC= (systemd 253's reload protocol); call before reloading, then
 * relay_sd_notify_ready() when the reload is done (whether it worked or not). */
void relay_sd_notify_reloading(void);
/* STATUS=status alone (one line), e.g. why the start failed. */
void relay_sd_notify_status(const char *status);
/* STOPPING=1 with a STATUS line. */
void relay_sd_notify_stopping(void);
/* The watchdog interval in microseconds (0: no watchdog). */
guint64 relay_sd_notify_watchdog_usec(void);

/* Wraps the work of a SIGHUP (whatever it reloads): RELOADING=1, reload(data), then READY=1 with
 * STATUS=status_after. For the SIGHUP handler in main.c. */
void relay_sd_notify_around_reload(void (*reload)(gpointer data), gpointer data, const char *status_after);

#endif
