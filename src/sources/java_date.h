/* java_date.h - dates read with a Java SimpleDateFormat pattern, as Flume's format.dateFormat gives them.
 *
 * A pattern is compiled once (letters checked: the ones relayd does not read are refused with a message
 * naming them) and then parses texts as java.text.SimpleDateFormat.parse(String) does in its default lenient
 * mode with English names: fields may be preceded by spaces or tabs, a numeric field followed directly by
 * another field takes exactly its letter count of digits (else as many digits as there are), out-of-range
 * values roll over (month 13 is January of the next year), missing fields are those of 1970-01-01
 * 00:00:00.000, the time is local (TZ) unless a zone was read, and text after the date is ignored.
 *
 * Letters read: y (2 digits with y or yy: the century within 80 years before and 20 after now), M and L
 * (numbers, or English names with 3 letters or more), d, H, k, K, h, m, s, S (milliseconds as a number), a,
 * E (English day names, read and not used, as when the day of the month is given), u (read, not used), Z
 * and z (+hhmm, GMT, GMT+h:mm, UTC), X (Z, +hh, +hhmm, +hh:mm by letter count). Refused: G, Y, w, W, D, F
 * (era, week-based fields, day in year) and Java's illegal letters.
 *
 * Immutable after relay_java_date_new(); any thread. */
#ifndef RELAY_JAVA_DATE_H_INCLUDED
#define RELAY_JAVA_DATE_H_INCLUDED

#include "relay.h"

typedef struct _RelayJavaDate RelayJavaDate;

/* Compiles pattern; now_ms fixes the two-digit year window. NULL with error (RELAY_ERROR_CONFIG) naming the
 * letter or quote at fault. */
RelayJavaDate *relay_java_date_new(const char *pattern, gint64 now_ms, GError **error);
void relay_java_date_free(RelayJavaDate *self);

/* TRUE with *ms (epoch milliseconds) when text (len bytes, not NUL-terminated) starts with a date in the
 * pattern. */
gboolean relay_java_date_parse(const RelayJavaDate *self, const char *text, gsize len, gint64 *ms);

#endif
