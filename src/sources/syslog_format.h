/* syslog_format.h - Flume's custom syslog format (format.regex, format.search, format.replace,
 * format.dateFormat of syslogtcp and syslogudp), tried before the RFC 5424 and RFC 3164 patterns.
 *
 * As Flume's SyslogUtils.addFormats() and formatHeaders() (flume-ng-core/src/main/java/org/apache/flume/
 * source/SyslogUtils.java): a message with a valid <PRI> is matched as a whole against format.regex (Java's
 * Matcher.matches()); its groups are, by position, 1 priority, 2 version, 3 timestamp, 4 host, 5 body.
 * format.search / format.replace are applied to the timestamp text (String.replaceAll, Java's $n group
 * references), then format.dateFormat (a SimpleDateFormat pattern, java_date.h) reads it as epoch ms; no
 * dateFormat or a text it cannot read gives no timestamp header. Facility and Severity come from the <PRI>,
 * keepFields works as for the standard patterns. The regular expression is PCRE (GRegex), which agrees with
 * java.util.regex for common patterns; a message that is not valid UTF-8 is matched (and its groups taken)
 * with invalid sequences replaced by U+FFFD, as Java's decoding does.
 *
 * Immutable after relay_syslog_format_new(); any thread. */
#ifndef RELAY_SYSLOG_FORMAT_H_INCLUDED
#define RELAY_SYSLOG_FORMAT_H_INCLUDED

#include "relay.h"
#include "event.h"
#include "options.h"
#include "component.h"

typedef struct
{
  char *regex, *search, *replace, *date_format;
} RelaySyslogFormatKeys;

/* clang-format off */
#define RELAY_SYSLOG_FORMAT_ROWS(type, field)                                                                 \
  RELAY_OPT_STRING_ROW("format.regex", NULL, type, field.regex, 0,                                            \
                       "custom format tried before RFC 5424 and 3164: a regular expression the whole "         \
                       "message must match; groups 1-5: priority, version, timestamp, host, body"),           \
  RELAY_OPT_STRING_ROW("format.search", NULL, type, field.search, 0,                                          \
                       "regular expression replaced in the timestamp group before it is read (with "           \
                       "format.replace)"),                                                                    \
  RELAY_OPT_STRING_ROW("format.replace", NULL, type, field.replace, 0,                                        \
                       "replacement for format.search ($1 is its first group, as Java's replaceAll)"),         \
  RELAY_OPT_STRING_ROW("format.dateFormat", NULL, type, field.date_format, 0,                                 \
                       "Java SimpleDateFormat pattern of the timestamp group (yyyy MM MMM dd HH mm ss SSS Z " \
                       "X ...); without it no timestamp header")
/* clang-format on */

typedef struct _RelaySyslogFormat RelaySyslogFormat;

/* Compiles keys (format.regex set); NULL with error and *bad_key naming the key at fault. */
RelaySyslogFormat *relay_syslog_format_new(const RelaySyslogFormatKeys *keys, const char **bad_key,
                                           GError **error);
/* Compiles the keys of component cc; *out is NULL when format.regex is not set. FALSE after adding a problem
 * naming the key at fault to report (the source is removed). */
gboolean relay_syslog_format_configure(RelayComponent *self, const RelayComponentConfig *cc,
                                       RelayConfigReport *report, const RelaySyslogFormatKeys *keys,
                                       RelaySyslogFormat **out);
void relay_syslog_format_free(RelaySyslogFormat *self);

/* A new event for msg when it has a valid <PRI> and matches the format, else NULL (the caller then parses it
 * with relay_syslog_parse). Arguments as relay_syslog_parse's; status receives "Incomplete" or NULL. */
RelayEvent *relay_syslog_format_parse(const RelaySyslogFormat *self, const guint8 *msg, gsize len, guint keep,
                                      gboolean incomplete, const RelayHeader *extra, guint n_extra,
                                      const char **status);

#endif
