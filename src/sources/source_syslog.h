/* source_syslog.h - what the syslog TCP and UDP sources share: peer headers, charset check, counting.
 *
 * Main thread (the sources' event loop). */
#ifndef RELAY_SOURCE_SYSLOG_H_INCLUDED
#define RELAY_SOURCE_SYSLOG_H_INCLUDED

#include "relay.h"
#include "event.h"
#include "log.h"
#include "source.h"
#include "rdns.h"

#include <sys/socket.h>

#define RELAY_SYSLOG_HOST_MAX 256

/* The IP part of RelayNetConn's "ip:port" / "[ip]:port" text (RELAY_SYSLOG_HOST_MAX bytes). */
void relay_syslog_peer_text_ip(const char *peer, char ip[RELAY_SYSLOG_HOST_MAX]);

/* clientHostnameHeader's resolver (relayd's keys, in every syslog source): see rdns.h. */
typedef struct
{
  char *nameservers;
  gint64 timeout_ms, cache_size, cache_ttl;
} RelaySyslogRdnsKeys;

/* clang-format off */
#define RELAY_SYSLOG_RDNS_ROWS(type, field)                                                                   \
  RELAY_OPT_STRING_ROW("clientHostnameNameservers", NULL, type, field.nameservers, 0,                         \
                       "relayd: DNS servers (ip[:port], space-separated) for clientHostnameHeader; default: "  \
                       "resolv.conf's"),                                                                      \
  RELAY_OPT_INT_ROW("clientHostnameTimeout", "2000", 1, 600000, type, field.timeout_ms, 0,                    \
                    "relayd: ms a message waits for its sender's name before it goes with the IP instead"),  \
  RELAY_OPT_INT_ROW("clientHostnameCacheSize", "1024", 1, 1000000, type, field.cache_size, 0,                 \
                    "relayd: sender names kept (and most lookups in flight)"),                                \
  RELAY_OPT_INT_ROW("clientHostnameCacheTTL", "300", 0, 604800, type, field.cache_ttl, 0,                     \
                    "relayd: seconds a sender's name (or failed lookup) is kept")
/* clang-format on */

/* Checks clientHostnameNameservers; FALSE after adding a problem to report. */
gboolean relay_syslog_rdns_configure(RelayComponent *self, const RelayComponentConfig *cc,
                                     RelayConfigReport *report, const RelaySyslogRdnsKeys *keys);
/* A new resolver for keys, or NULL with error. */
RelayRdns *relay_syslog_rdns_new(RelaySource *source, const RelaySyslogRdnsKeys *keys, GError **error);

/* The numeric IP text of a peer (RELAY_SYSLOG_HOST_MAX bytes; "" if it has none). */
void relay_syslog_peer_ip(const struct sockaddr *sa, socklen_t sa_len, char ip[RELAY_SYSLOG_HOST_MAX]);

/* Bodies are the bytes received, so a charset is accepted when it encodes ASCII as ASCII (UTF-8,
 * ISO-8859-*, windows-125x...): Flume's decode and re-encode then gives the same bytes. FALSE with a message
 * (to g_free) for unknown charsets and ones like UTF-16. */
gboolean relay_syslog_charset_ok(const char *charset, char **why);

/* Counts a message Flume marks Invalid or Incomplete (status, from relay_syslog_parse) as EventReadFail and
 * warns, rate-limited. */
void relay_syslog_note_status(RelaySource *source, RelayRateLimit *rl, const char *status,
                              const RelayEvent *ev, const char *peer);

#endif
