/* syslog_parse.h - syslog messages (RFC 3164, RFC 5424) into events with Flume's headers, and TCP framing.
 *
 * The parser reproduces Flume's SyslogUtils (flume-ng-core/src/main/java/org/apache/flume/source/
 * SyslogUtils.java): headers Facility and Severity (always; 0 and 0 for an invalid priority), priority,
 * version, timestamp (epoch ms) and host when matched, flume.syslog.status = Invalid (no valid <PRI>) or
 * Incomplete (cut at eventSize); the body is the text after the host (with the keepFields prefix) or the raw
 * message when nothing matched or keepFields is all. Invalid and incomplete messages are events like others.
 *
 * The framer splits a TCP byte stream into messages: '\n'-terminated as Flume (a NUL byte also ends a
 * message, as Python's SysLogHandler frames TCP), or RFC 6587 octet-counted ("LEN SP MSG"), detected per
 * message by a leading non-zero digit.
 *
 * Pure functions; any thread. */
#ifndef RELAY_SYSLOG_PARSE_H_INCLUDED
#define RELAY_SYSLOG_PARSE_H_INCLUDED

#include "relay.h"
#include "event.h"

/* Flume's SyslogUtils.MIN_SIZE and DEFAULT_SIZE. */
#define RELAY_SYSLOG_MIN_SIZE 10
#define RELAY_SYSLOG_DEFAULT_SIZE 2500

/* keepFields as Flume's SyslogUtils.chooseFieldsToKeep(). */
enum
{
  RELAY_SYSLOG_KEEP_PRIORITY = 1 << 0,
  RELAY_SYSLOG_KEEP_VERSION = 1 << 1,
  RELAY_SYSLOG_KEEP_TIMESTAMP = 1 << 2,
  RELAY_SYSLOG_KEEP_HOSTNAME = 1 << 3,
  RELAY_SYSLOG_KEEP_ALL = 1 << 4, /* the raw message is the body */
};

/* "none"/"false" -> 0, "all"/"true" -> KEEP_ALL, else the fields whose names occur in text (case-insensitive,
 * substring test as Flume). */
guint relay_syslog_keep_fields(const char *text);

/* Parses one message (without its terminator) into a new event, built in arena (NULL: its own allocation,
 * relay_event_new). keep: relay_syslog_keep_fields() bits.
 * incomplete: the message was cut (status Incomplete unless Invalid). now_ms: the wall clock, for the RFC
 * 3164 year. extra: headers appended as given (client address, port). Returns NULL for input Flume cannot
 * build an event from (empty, or "<" with no digits): the caller counts a read failure. status (may be NULL)
 * receives "Invalid", "Incomplete" or NULL, the flume.syslog.status header's value. */
RelayEvent *relay_syslog_parse(RelayEventArena *arena, const guint8 *msg, gsize len, guint keep,
                               gboolean incomplete, gint64 now_ms, const RelayHeader *extra, guint n_extra,
                               const char **status);

/* Epoch ms of an RFC 5424 stamp as Flume reads it, or -1. Exposed for tests. */
gint64 relay_syslog_parse_5424_time(const char *stamp, gsize len);
/* Epoch ms of an RFC 3164 stamp ("Mmm dd HH:MM:SS") as Flume reads it, relative to now_ms, or -1. */
gint64 relay_syslog_parse_3164_time(const char *stamp, gsize len, gint64 now_ms);

typedef struct
{
  gsize msg_off, msg_len; /* the message inside the scanned bytes */
  gsize consumed;         /* bytes to drain (also set when nothing was found: skipped separators) */
  gsize skip;             /* bytes after consumed that belong to an oversized octet-counted frame */
  gboolean incomplete;    /* cut at max_size, or by the end of the stream */
} RelaySyslogFrame;

/* Finds the next message in buf. max_size: eventSize (at least RELAY_SYSLOG_MIN_SIZE). at_eof: no more bytes
 * will come, so a partial message is returned (incomplete). TRUE with *frame filled when a message was
 * found; FALSE when more bytes are needed (frame->consumed may still be > 0). */
gboolean relay_syslog_frame_next(const guint8 *buf, gsize len, gsize max_size, gboolean at_eof,
                                 RelaySyslogFrame *frame);

/* ---- for the other parsers of syslog messages (custom formats, multiport) ---- */

/* The headers of one syslog event being built, pointing into the message and the caller's buffers. Every
 * parser of this source (standard, custom format, multiport) builds its event through these. */
#define RELAY_SYSLOG_MAX_HEADERS 16
typedef struct
{
  RelayHeader headers[RELAY_SYSLOG_MAX_HEADERS];
  guint n;
} RelaySyslogHeaders;

/* Adds a header; past RELAY_SYSLOG_MAX_HEADERS it is dropped. */
static inline void
relay_syslog_headers_add(RelaySyslogHeaders *h, const char *key, gsize key_len, const void *value,
                         gsize value_len)
{
  if (h->n < RELAY_SYSLOG_MAX_HEADERS)
    h->headers[h->n++] = (RelayHeader){
      .key = key, .value = value, .key_len = (guint32)key_len, .value_len = (guint32)value_len
    };
}
/* key: a string literal */
#define relay_syslog_header(h, key, value, value_len)                                                        \
  relay_syslog_headers_add(h, key, sizeof key - 1, value, value_len)

/* Appends the source's own headers (clientIPHeader, portHeader, ...) and builds the event: in arena when
 * there is one (the main loop's syslogtcp connections), else with its own allocation. */
static inline RelayEvent *
relay_syslog_event(RelayEventArena *arena, RelaySyslogHeaders *h, const RelayHeader *extra, guint n_extra,
                   const void *body, gsize body_len)
{
  for (guint i = 0; i < n_extra && h->n < RELAY_SYSLOG_MAX_HEADERS; i++)
    h->headers[h->n++] = extra[i];
  return arena ? relay_event_arena_build(arena, h->headers, h->n, body, body_len)
               : relay_event_new(h->headers, h->n, body, body_len);
}

/* The parts of a matched message (NULL / 0 when absent). */
typedef struct
{
  const guint8 *version, *stamp, *host, *body;
  gsize version_len, stamp_len, host_len, body_len;
} RelaySyslogFields;

/* Digits of a valid <PRI> (1-3 digits then '>') at the start of msg, 0 if invalid, -1 if msg ends inside it.
 */
int relay_syslog_pri_digits(const guint8 *msg, gsize len);
/* The body keepFields asks for: "<pri>" version SP stamp SP host SP body (Flume's addFieldsToBody; a missing
 * stamp or host is "null"). Returns a new string. */
GString *relay_syslog_kept_body(guint keep, const char *pri, gsize pri_len, const RelaySyslogFields *f);

#endif
