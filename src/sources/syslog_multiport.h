/* syslog_multiport.h - syslog messages into events as Flume's multiport_syslogtcp source makes them.
 *
 * Flume's MultiportSyslogTCPSource does not use SyslogUtils but SyslogParser (flume-ng-core/src/main/java/
 * org/apache/flume/source/SyslogParser.java), whose headers and rules differ: Priority (the text between
 * '<' and '>'), Facility, Severity, Version ("1" when the message continues with "1 "), timestamp (epoch ms)
 * and host, all capitalised as written here; a message it cannot parse gets only flume.syslog.status =
 * Invalid (no Facility or Severity) and its whole text as the body.
 *
 * Pure function; any thread. */
#ifndef RELAY_SYSLOG_MULTIPORT_H_INCLUDED
#define RELAY_SYSLOG_MULTIPORT_H_INCLUDED

#include "relay.h"
#include "event.h"

/* Parses one message (without its terminator) into a new event, or NULL for an empty message. utf8: the
 * port's charset is UTF-8, so a message that is not valid UTF-8 is Invalid (Flume's decoder refuses it).
 * Other arguments as relay_syslog_parse's. */
RelayEvent *relay_syslog_parse_multiport(RelayEventArena *arena, const guint8 *msg, gsize len, guint keep,
                                         gboolean incomplete, gboolean utf8, gint64 now_ms,
                                         const RelayHeader *extra, guint n_extra, const char **status);

/* Epoch ms of SyslogParser's RFC 3164 stamp (exactly 15 characters, "Mmm dd HH:MM:SS"), read as UTC, or 0
 * when it is not one (as Flume). Exposed for tests. */
gint64 relay_syslog_multiport_3164_time(const char *stamp, gint64 now_ms);

#endif
