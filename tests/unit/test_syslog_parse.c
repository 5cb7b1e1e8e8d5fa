/* test_syslog_parse.c - unit tests for the syslog parser and TCP framer (syslog_parse.c).
 *
 * Cases mirror Flume's TestSyslogUtils (flume-ng-core/src/test/java/org/apache/flume/source/
 * TestSyslogUtils.java): the expected headers are what Flume's SyslogUtils produces for the same bytes.
 * Also Flume's format.* custom format (syslog_format.c) with its SimpleDateFormat patterns (java_date.c), and
 * multiport_syslogtcp's parser (syslog_multiport.c, Flume's SyslogParser). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "event.h"
#include "java_date.h"
#include "syslog_format.h"
#include "syslog_multiport.h"
#include "syslog_parse.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 2026-12-02T09:00:00Z */
#define NOW_MS G_GINT64_CONSTANT(1796202000000)

/* Most cases build into an arena, as the TCP source does (the others into their own allocation). */
static RelayEventArena *_arena;

static int
_arena_setup(void **state)
{
  _arena = relay_event_arena_new();
  return 0;
}

static int
_arena_teardown(void **state)
{
  relay_event_arena_free(_arena);
  return 0;
}

static RelayEvent *
_parse(const char *msg, guint keep)
{
  return relay_syslog_parse(_arena, (const guint8 *)msg, strlen(msg), keep, FALSE, NOW_MS, NULL, 0, NULL);
}

static void
_assert_header(const RelayEvent *ev, const char *key, const char *value)
{
  const char *got = relay_event_get_header(ev, key);
  if (!value)
    {
      assert_null(got);
      return;
    }
  assert_non_null(got);
  assert_string_equal(got, value);
}

static void
_assert_body(const RelayEvent *ev, const char *body)
{
  assert_int_equal(ev->body_len, strlen(body));
  assert_memory_equal(ev->body, body, ev->body_len);
}

static void
_set_tz(const char *tz)
{
  setenv("TZ", tz, 1);
  tzset();
}

static void
test_rfc5424_zones(void **state)
{
  (void)state;
  _set_tz("UTC");
  /* TestHeader0: +08:00 without version */
  RelayEvent *ev = _parse("<10>2012-04-13T11:11:11+08:00 ubuntu-11.cloudera.com some msg", 0);
  _assert_header(ev, "Facility", "1");
  _assert_header(ev, "Severity", "2");
  _assert_header(ev, "priority", "10");
  _assert_header(ev, "version", NULL);
  _assert_header(ev, "timestamp", "1334286671000");
  _assert_header(ev, "host", "ubuntu-11.cloudera.com");
  _assert_header(ev, "flume.syslog.status", NULL);
  _assert_body(ev, "some msg");
  relay_event_unref(ev);
  /* TestHeader2: Z */
  ev = _parse("<10>1 2012-04-13T11:11:11Z ubuntu-11.cloudera.com some msg", 0);
  _assert_header(ev, "version", "1");
  _assert_header(ev, "timestamp", "1334315471000");
  relay_event_unref(ev);
  /* TestHeader4/5: null stamp, null host */
  ev = _parse("<10>1 - - some msg", 0);
  _assert_header(ev, "timestamp", NULL);
  _assert_header(ev, "host", NULL);
  _assert_body(ev, "some msg");
  relay_event_unref(ev);
  /* Local time without a zone: TZ=UTC-8 is eight hours east. */
  _set_tz("UTC-8");
  ev = _parse("<10>1 2012-04-13T11:11:11 h some msg", 0);
  _assert_header(ev, "timestamp", "1334286671000");
  relay_event_unref(ev);
  /* TestHeader11: with a fraction Flume cuts it to 3 digits and reads local time, ignoring the zone. */
  ev = _parse("<10>2014-10-03T17:20:01.123456-07:00 h some msg", 0);
  _assert_header(ev, "timestamp", "1412328001123");
  relay_event_unref(ev);
  /* ".5" is 5 ms for SimpleDateFormat's "S" */
  _set_tz("UTC");
  ev = _parse("<10>1 2012-04-13T11:11:11.5Z h some msg", 0);
  _assert_header(ev, "timestamp", "1334315471005");
  relay_event_unref(ev);
  /* 7 fraction digits match neither pattern: raw body, no timestamp, but a valid priority */
  ev = _parse("<10>1 2012-04-13T11:11:11.1234567Z h some msg", 0);
  _assert_header(ev, "timestamp", NULL);
  _assert_header(ev, "priority", NULL);
  _assert_header(ev, "Facility", "1");
  _assert_header(ev, "flume.syslog.status", NULL);
  _assert_body(ev, "<10>1 2012-04-13T11:11:11.1234567Z h some msg");
  relay_event_unref(ev);
}

static void
test_rfc5424_structured_data(void **state)
{
  (void)state;
  _set_tz("UTC");
  const char *msg = "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
                    "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\"] An application event";
  RelayEvent *ev = _parse(msg, 0);
  _assert_header(ev, "Facility", "20");
  _assert_header(ev, "Severity", "5");
  _assert_header(ev, "timestamp", "1065910455003");
  _assert_header(ev, "host", "mymachine.example.com");
  _assert_body(ev, "evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\"] An application "
                   "event");
  relay_event_unref(ev);
  ev = _parse(msg, relay_syslog_keep_fields("all"));
  _assert_header(ev, "host", "mymachine.example.com");
  _assert_body(ev, msg);
  relay_event_unref(ev);
  ev = _parse(msg, relay_syslog_keep_fields("priority version timestamp hostname"));
  _assert_body(ev, msg);
  relay_event_unref(ev);
  ev = _parse("<13>1 - - x", relay_syslog_keep_fields("timestamp,hostname"));
  _assert_body(ev, "null null x"); /* Flume concatenates the null fields */
  relay_event_unref(ev);
}

static void
test_rfc3164(void **state)
{
  (void)state;
  _set_tz("UTC");
  RelayEvent *ev = _parse("<34>Oct 11 22:14:15 mymachine su: 'su root' failed", 0);
  _assert_header(ev, "Facility", "4");
  _assert_header(ev, "Severity", "2");
  _assert_header(ev, "timestamp", "1791756855000"); /* 2026-10-11T22:14:15Z */
  _assert_header(ev, "host", "mymachine");
  _assert_body(ev, "su: 'su root' failed");
  relay_event_unref(ev);
  /* single-digit day with two spaces; TestRfc3164HeaderApacheLogWithNulls */
  ev = _parse("<10>Dec  2 08:00:00 h - hyphen_null_breaks_5424_pattern [07/Jun/2012:14:46:44 -0600]", 0);
  _assert_header(ev, "timestamp", "1796198400000");
  _assert_body(ev, "- hyphen_null_breaks_5424_pattern [07/Jun/2012:14:46:44 -0600]");
  relay_event_unref(ev);
  ev = _parse("<10>Dec  2 08:00:00 h x", relay_syslog_keep_fields("timestamp"));
  _assert_body(ev, "Dec  2 08:00:00 x");
  relay_event_unref(ev);
}

static void
test_rfc3164_year(void **state)
{
  (void)state;
  _set_tz("UTC");
  /* now is 2026-12-02: January is one month ahead at most -> next year's? No: Jan 2026 is 11 months past. */
  assert_int_equal(relay_syslog_parse_3164_time("Jan  5 00:00:00", 15, NOW_MS), 1767571200000); /* 2026 */
  /* More than 11 months in the past rolls forward a year: Dec 1 2026 is just past, fine. */
  assert_int_equal(relay_syslog_parse_3164_time("Dec  1 00:00:00", 15, NOW_MS), 1796083200000);
  /* Now in early January: a December stamp is from the previous year. 2027-01-02T00:00:00Z */
  gint64 jan = G_GINT64_CONSTANT(1798848000000);
  assert_int_equal(relay_syslog_parse_3164_time("Dec 31 23:00:00", 15, jan), 1798758000000); /* 2026-12-31 */
  /* Lenient: Feb 30 rolls into March */
  assert_int_equal(relay_syslog_parse_3164_time("Feb 30 00:00:00", 15, NOW_MS),
                   relay_syslog_parse_3164_time("Mar  2 00:00:00", 15, NOW_MS));
  assert_int_equal(relay_syslog_parse_3164_time("Foo  2 00:00:00", 15, NOW_MS), -1);
}

static void
test_invalid(void **state)
{
  (void)state;
  const char *bad[] = { "<10F> bad bad data", "hi guys! <10> bad bad data", "<> bad bad data",
                        "<123123123123123123123123123123> bad bad data" };
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++)
    {
      RelayEvent *ev = _parse(bad[i], 0);
      _assert_header(ev, "Facility", "0");
      _assert_header(ev, "Severity", "0");
      _assert_header(ev, "flume.syslog.status", "Invalid");
      _assert_header(ev, "priority", NULL);
      _assert_body(ev, bad[i]);
      relay_event_unref(ev);
    }
  /* testExtractGoodEvent: a valid priority but no pattern: raw body, no status */
  RelayEvent *ev = _parse("<10>Good good good data", 0);
  _assert_header(ev, "Facility", "1");
  _assert_header(ev, "Severity", "2");
  _assert_header(ev, "flume.syslog.status", NULL);
  _assert_body(ev, "<10>Good good good data");
  relay_event_unref(ev);
  ev = relay_syslog_parse(NULL, (const guint8 *)"<13>1 - h cut", 13, 0, TRUE, NOW_MS, NULL, 0, NULL);
  _assert_header(ev, "flume.syslog.status", "Incomplete");
  _assert_header(ev, "host", "h");
  relay_event_unref(ev);
  assert_null(_parse("", 0));
  assert_null(_parse("<", 0));
  ev = _parse("<13", 0);
  _assert_header(ev, "Severity", "5");
  relay_event_unref(ev);
  RelayHeader extra = { .key = "ip", .value = "127.0.0.1", .key_len = 2, .value_len = 9 };
  ev = relay_syslog_parse(NULL, (const guint8 *)"x", 1, 0, FALSE, NOW_MS, &extra, 1, NULL);
  _assert_header(ev, "ip", "127.0.0.1");
  relay_event_unref(ev);
}

static void
test_keep_fields_text(void **state)
{
  (void)state;
  assert_int_equal(relay_syslog_keep_fields("none"), 0);
  assert_int_equal(relay_syslog_keep_fields(" FALSE "), 0);
  assert_int_equal(relay_syslog_keep_fields("true"), RELAY_SYSLOG_KEEP_ALL);
  assert_int_equal(relay_syslog_keep_fields("All"), RELAY_SYSLOG_KEEP_ALL);
  assert_int_equal(relay_syslog_keep_fields("hostname,priority"),
                   RELAY_SYSLOG_KEEP_HOSTNAME | RELAY_SYSLOG_KEEP_PRIORITY);
}

/* Frames every message of a stream into "[status]msg|" pieces. */
static char *
_frames(const char *stream, gsize len, gsize max, gboolean eof)
{
  GString *out = g_string_new("");
  gsize pos = 0;
  RelaySyslogFrame f;

  while (relay_syslog_frame_next((const guint8 *)stream + pos, len - pos, max, eof, &f))
    {
      g_string_append_printf(out, "%s%.*s|", f.incomplete ? "[I]" : "", (int)f.msg_len,
                             stream + pos + f.msg_off);
      pos += f.consumed;
      if (f.skip)
        g_string_append_printf(out, "skip%zu|", f.skip);
    }
  g_string_append_printf(out, "rest=%zu", len - pos - f.consumed);
  return g_string_free(out, FALSE);
}

static void
_assert_frames(const char *stream, gsize max, gboolean eof, const char *expected)
{
  char *got = _frames(stream, strlen(stream), max, eof);
  assert_string_equal(got, expected);
  g_free(got);
}

static void
test_framing(void **state)
{
  (void)state;
  _assert_frames("<1>a\n<2>b\n\n\n<3>c", 100, FALSE, "<1>a|<2>b|rest=4");
  _assert_frames("<1>a\n<2>b\n\n\n<3>c", 100, TRUE, "<1>a|<2>b|[I]<3>c|rest=0");
  /* octet counting and newline framing mixed on one stream */
  _assert_frames("5 <1>ab<2>x\n10 <3>1 - h m\n<4>y\n", 100, FALSE, "<1>ab|<2>x|<3>1 - h m|<4>y|rest=0");
  _assert_frames("12 <1>a", 100, FALSE, "rest=7");
  /* a '\n' ending an octet-counted frame (rsyslog's RFC 5424 template) is not part of the message */
  _assert_frames("5 <1>a\n3 <2>", 100, FALSE, "<1>a|<2>|rest=0");
  _assert_frames("12", 100, FALSE, "rest=2");
  /* a digit not followed by "LEN SP" is a (bad) newline-framed message */
  _assert_frames("12x\n", 100, FALSE, "12x|rest=0");
  /* NUL ends a message (Python's SysLogHandler over TCP) */
  _assert_frames("<1>a", 100, FALSE, "rest=4");
  char *nul = _frames("<1>a\0<2>b\0", 10, 100, FALSE);
  assert_string_equal(nul, "<1>a|<2>b|rest=0");
  g_free(nul);
  /* over max: cut (Incomplete), the rest is the next message */
  _assert_frames("<1>abcdefghijkl\n", 10, FALSE, "[I]<1>abcdefg|hijkl|rest=0");
  /* a message of exactly max bytes is Incomplete, as Flume (the '\n' is then skipped) */
  _assert_frames("<1>abcdefg\n<2>x\n", 10, FALSE, "[I]<1>abcdefg|<2>x|rest=0");
  /* an oversized octet-counted frame: cut, and the rest of the frame skipped */
  _assert_frames("15 <1>abcdefghijkl", 10, FALSE, "[I]<1>abcdefg|rest=0");
  _assert_frames("30 <1>abcdefghijkl", 10, FALSE, "[I]<1>abcdefg|skip15|rest=0");
  /* Flume's <PRI> scan swallows a '\n' (the message is Invalid) */
  _assert_frames("<1\nab\n", 100, FALSE, "<1\nab|rest=0");
  _assert_frames("<12", 100, FALSE, "rest=3");
}

static gint64
_date(const char *pattern, const char *text)
{
  GError *error = NULL;
  RelayJavaDate *d = relay_java_date_new(pattern, NOW_MS, &error);
  gint64 ms = -1;

  assert_non_null(d);
  if (!relay_java_date_parse(d, text, strlen(text), &ms))
    ms = -1;
  relay_java_date_free(d);
  return ms;
}

static void
_assert_date_refused(const char *pattern, const char *why)
{
  GError *error = NULL;

  assert_null(relay_java_date_new(pattern, NOW_MS, &error));
  assert_non_null(strstr(error->message, why));
  g_error_free(error);
}

static void
test_java_date(void **state)
{
  (void)state;
  _set_tz("UTC");
  /* trailing text is not read, as DateFormat.parse(String) */
  assert_int_equal(_date("yyyy-MM-dd HH:mm:ss", "2026-12-02 09:00:00 and more"), NOW_MS);
  /* blanks before a field are skipped (the two spaces of a single-digit day) */
  assert_int_equal(_date("MMM d HH:mm:ss yyyy", "Dec  2 09:00:00 2026"), NOW_MS);
  assert_int_equal(_date("MMMM dd HH:mm:ss yyyy", "december 02 09:00:00 2026"), NOW_MS);
  /* abutting fields take their letter count of digits */
  assert_int_equal(_date("yyyyMMddHHmmssSSS", "20261202090000123"), NOW_MS + 123);
  assert_int_equal(_date("dd/MMM/yyyy:HH:mm:ss Z", "02/Dec/2026:10:00:00 +0100"), NOW_MS);
  assert_int_equal(_date("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "2026-12-02T11:00:00.000+02:00"), NOW_MS);
  assert_int_equal(_date("yyyy-MM-dd'T'HH:mm:ssX", "2026-12-02T09:00:00Z"), NOW_MS);
  assert_int_equal(_date("yyyy-MM-dd HH:mm:ss z", "2026-12-02 08:00:00 GMT-1:00"), NOW_MS);
  assert_int_equal(_date("EEE MMM dd hh:mm:ss a yyyy", "Wed Dec 02 09:00:00 AM 2026"), NOW_MS);
  assert_int_equal(_date("EEE MMM dd hh:mm:ss a yyyy", "Wed Dec 02 12:00:00 AM 2026"), NOW_MS - 9 * 3600000);
  assert_int_equal(_date("yy-MM-dd", "26-12-02"), NOW_MS - 9 * 3600000);
  assert_int_equal(_date("''yyyy'' MM dd HH", "'2026' 12 02 09"), NOW_MS);
  /* lenient: month 13 is January of the next year; missing fields are 1970-01-01's */
  assert_int_equal(_date("yyyy-MM-dd", "2025-13-02"), _date("yyyy-MM-dd", "2026-01-02"));
  assert_int_equal(_date("HH:mm:ss", "00:00:01"), 1000);
  assert_int_equal(_date("yyyy-MM-dd", "2026/12/02"), -1);
  assert_int_equal(_date("yyyy-MM-dd HH:mm:ss Z", "2026-12-02 09:00:00 CET"), -1);
  /* local time is relayd's TZ */
  _set_tz("Europe/Paris");
  assert_int_equal(_date("yyyy-MM-dd HH:mm:ss", "2026-12-02 10:00:00"), NOW_MS);
  _set_tz("UTC");
  _assert_date_refused("YYYY-MM-dd", "week year");
  _assert_date_refused("yyyy-MM-dd D", "day in year");
  _assert_date_refused("yyyy-MM-dd q", "illegal pattern character 'q'");
  _assert_date_refused("yyyy 'T", "unterminated quote");
  _assert_date_refused("XXXX", "length=4");
}

static RelaySyslogFormat *
_format(const char *regex, const char *search, const char *replace, const char *date)
{
  RelaySyslogFormatKeys keys = { (char *)regex, (char *)search, (char *)replace, (char *)date };
  const char *key = NULL;
  GError *error = NULL;
  RelaySyslogFormat *fmt = relay_syslog_format_new(&keys, &key, &error);

  assert_non_null(fmt);
  return fmt;
}

static void
_assert_format_refused(const char *regex, const char *search, const char *replace, const char *date,
                       const char *bad_key)
{
  RelaySyslogFormatKeys keys = { (char *)regex, (char *)search, (char *)replace, (char *)date };
  const char *key = NULL;
  GError *error = NULL;

  assert_null(relay_syslog_format_new(&keys, &key, &error));
  assert_string_equal(key, bad_key);
  g_error_free(error);
}

static RelayEvent *
_custom(const RelaySyslogFormat *fmt, const char *msg, guint keep, gboolean incomplete)
{
  return relay_syslog_format_parse(fmt, (const guint8 *)msg, strlen(msg), keep, incomplete, NULL, 0, NULL);
}

static void
test_custom_format(void **state)
{
  (void)state;
  _set_tz("UTC");
  RelaySyslogFormat *fmt = _format("<(\\d{1,3})>()(\\S+ \\S+) (\\S+): (.*)", "(\\d+)/(\\d+)/(\\d+)",
                                   "$1-$2-$3", "yyyy-MM-dd HH:mm:ss");
  RelayEvent *ev = _custom(fmt, "<13>2026/12/02 09:00:00 myhost: hello there", 0, FALSE);
  _assert_header(ev, "Facility", "1");
  _assert_header(ev, "Severity", "5");
  _assert_header(ev, "priority", "13");
  _assert_header(ev, "version", NULL);
  _assert_header(ev, "timestamp", "1796202000000");
  _assert_header(ev, "host", "myhost");
  _assert_header(ev, "flume.syslog.status", NULL);
  _assert_body(ev, "hello there");
  relay_event_unref(ev);
  ev = _custom(fmt, "<13>2026/12/02 09:00:00 myhost: hello", relay_syslog_keep_fields("hostname"), TRUE);
  _assert_body(ev, "myhost hello");
  _assert_header(ev, "flume.syslog.status", "Incomplete");
  relay_event_unref(ev);
  ev = _custom(fmt, "<13>2026/12/02 09:00:00 myhost: hello", relay_syslog_keep_fields("all"), FALSE);
  _assert_body(ev, "<13>2026/12/02 09:00:00 myhost: hello");
  relay_event_unref(ev);
  /* an unreadable date: no timestamp, the rest as usual */
  ev = _custom(fmt, "<13>2026/xx/02 09:00:00 myhost: hello", 0, FALSE);
  _assert_header(ev, "timestamp", NULL);
  _assert_header(ev, "host", "myhost");
  relay_event_unref(ev);
  /* the whole message must match; no valid <PRI>: the standard parser's business */
  assert_null(_custom(fmt, "<13>1 - h app - - - x", 0, FALSE));
  assert_null(_custom(fmt, "<1234>2026/12/02 09:00:00 myhost: hello", 0, FALSE));
  /* invalid UTF-8 is matched with U+FFFD, as Java decodes it */
  ev = _custom(fmt, "<13>2026/12/02 09:00:00 myhost: caf\xe9", 0, FALSE);
  _assert_body(ev, "caf\xef\xbf\xbd");
  relay_event_unref(ev);
  relay_syslog_format_free(fmt);
  /* fewer groups: no host, the raw message as the body; no dateFormat: no timestamp */
  fmt = _format("<(\\d+)>(\\d) (\\S+) .*", NULL, NULL, NULL);
  ev = _custom(fmt, "<165>1 2026-12-02 x", 0, FALSE);
  _assert_header(ev, "version", "1");
  _assert_header(ev, "timestamp", NULL);
  _assert_header(ev, "host", NULL);
  _assert_body(ev, "<165>1 2026-12-02 x");
  relay_event_unref(ev);
  relay_syslog_format_free(fmt);
  _assert_format_refused("<(\\d+", NULL, NULL, NULL, "format.regex");
  _assert_format_refused(".*", "a", NULL, NULL, "format.search");
  _assert_format_refused(".*", "(a)", "$2", NULL, "format.replace");
  _assert_format_refused(".*", "(a)", "x\\", NULL, "format.replace");
  _assert_format_refused(".*", NULL, NULL, "YYYY", "format.dateFormat");
}

static RelayEvent *
_multiport(const char *msg, guint keep, gboolean utf8)
{
  const char *status = NULL;
  return relay_syslog_parse_multiport(NULL, (const guint8 *)msg, strlen(msg), keep, FALSE, utf8, NOW_MS, NULL,
                                      0, &status);
}

static void
test_multiport(void **state)
{
  (void)state;
  _set_tz("Europe/Paris"); /* Flume's SyslogParser reads every stamp as UTC */
  RelayEvent *ev = _multiport("<13>1 2026-12-02T09:00:00.5Z host app - - - msg", 0, TRUE);
  _assert_header(ev, "Priority", "13");
  _assert_header(ev, "Facility", "1");
  _assert_header(ev, "Severity", "5");
  _assert_header(ev, "Version", "1");
  _assert_header(ev, "priority", NULL);
  _assert_header(ev, "version", NULL);
  _assert_header(ev, "timestamp", "1796202000500");
  _assert_header(ev, "host", "host");
  _assert_body(ev, "app - - - msg");
  relay_event_unref(ev);
  ev = _multiport("<13>1 2026-12-02T10:00:00.123456+01:00 h x", relay_syslog_keep_fields("priority hostname"),
                  TRUE);
  _assert_header(ev, "timestamp", "1796202000123");
  _assert_body(ev, "<13>h x");
  relay_event_unref(ev);
  ev = _multiport("<34>Oct 11 22:14:15 mymachine su: failed", 0, TRUE);
  _assert_header(ev, "Facility", "4");
  _assert_header(ev, "Version", NULL);
  _assert_header(ev, "timestamp", "1791756855000");
  _assert_header(ev, "host", "mymachine");
  _assert_body(ev, "su: failed");
  relay_event_unref(ev);
  ev = _multiport("<13>- h ", 0, TRUE); /* no body: the whole message */
  _assert_header(ev, "timestamp", "1796202000000");
  _assert_header(ev, "host", "h");
  _assert_body(ev, "<13>- h ");
  relay_event_unref(ev);
  const char *bad[] = { "no priority",
                        "<13>",
                        "<abc>x y z",
                        "<13>1 2026-12-02T09:00:00.123 h x",
                        "<13>2026-12-02T09:00:00 hostonly",
                        "<1234567>x y",
                        "<13>- h caf\xe9" };
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++)
    {
      ev = _multiport(bad[i], 0, TRUE);
      _assert_header(ev, "flume.syslog.status", "Invalid");
      _assert_header(ev, "Facility", NULL);
      _assert_header(ev, "Priority", NULL);
      _assert_body(ev, bad[i]);
      relay_event_unref(ev);
    }
  ev = _multiport("<13>- h caf\xe9", 0, FALSE); /* ISO-8859-1 port: fine */
  _assert_header(ev, "host", "h");
  relay_event_unref(ev);
  assert_int_equal(relay_syslog_multiport_3164_time("Jan  5 00:00:00", NOW_MS), 1767571200000);
  assert_int_equal(relay_syslog_multiport_3164_time("Foo  5 00:00:00", NOW_MS), 0);
  assert_int_equal(relay_syslog_multiport_3164_time("Jan 35 00:00:00", NOW_MS), 0);
  _set_tz("UTC");
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rfc5424_zones), cmocka_unit_test(test_rfc5424_structured_data),
    cmocka_unit_test(test_rfc3164),       cmocka_unit_test(test_rfc3164_year),
    cmocka_unit_test(test_invalid),       cmocka_unit_test(test_keep_fields_text),
    cmocka_unit_test(test_framing),       cmocka_unit_test(test_java_date),
    cmocka_unit_test(test_custom_format), cmocka_unit_test(test_multiport),
  };
  return cmocka_run_group_tests(tests, _arena_setup, _arena_teardown);
}
