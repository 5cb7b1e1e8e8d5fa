/* source_syslog.h - what the syslog TCP and UDP sources share: peer headers, charset check, counting.
 *
 * Main thread (the sources' event loop). */
#ifndef RELAY_SOURCE_SYSLOG_H_INCLUDED
#define RELAY_SOURCE_SYSLOG_H_INCLUDED

#include "relay.h"
#include "event.h"
#include "log.h"
#include "source.h"

#include <sys/socket.h>

#define RELAY_SYSLOG_HOST_MAX 256

/* The client's IP ("127.0.0.1", "::1") and, when want_host, its name as Java's getHostName gives it (a
 * reverse lookup, which may block on DNS; the IP when there is no name). */
void relay_syslog_peer_names(const struct sockaddr *sa, socklen_t sa_len, gboolean want_host,
                             char ip[RELAY_SYSLOG_HOST_MAX], char host[RELAY_SYSLOG_HOST_MAX]);

/* The same from RelayNetConn's "ip:port" / "[ip]:port" text. */
void relay_syslog_peer_names_text(const char *peer, gboolean want_host, char ip[RELAY_SYSLOG_HOST_MAX],
                                  char host[RELAY_SYSLOG_HOST_MAX]);

/* Bodies are the bytes received, so a charset is accepted when it encodes ASCII as ASCII (UTF-8,
 * ISO-8859-*, windows-125x...): Flume's decode and re-encode then gives the same bytes. FALSE with a message
 * (to g_free) for unknown charsets and ones like UTF-16. */
gboolean relay_syslog_charset_ok(const char *charset, char **why);

/* Counts a message Flume marks Invalid or Incomplete (status, from relay_syslog_parse) as EventReadFail and
 * warns, rate-limited. */
void relay_syslog_note_status(RelaySource *source, RelayRateLimit *rl, const char *status,
                              const RelayEvent *ev, const char *peer);

#endif
