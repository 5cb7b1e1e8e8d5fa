/* syslog_parse.c - RFC 3164 / RFC 5424 messages into events with Flume's headers; TCP message framing.
 *
 * Follows Flume's SyslogUtils (flume-ng-core/src/main/java/org/apache/flume/source/SyslogUtils.java):
 *  - <PRI> must open the message: 1-3 digits then '>'; anything else makes the whole message data with
 *    Facility=0, Severity=0 and flume.syslog.status=Invalid.
 *  - The text is matched against Flume's RFC 5424 pattern, then its RFC 3164 pattern (Java regular
 *    expressions: \s is [ \t\n\x0B\f\r], \w is [A-Za-z0-9_], '.' stops at line terminators). The first match
 *    gives priority, version, timestamp, host and the body (everything after the host: RFC 5424 APP-NAME,
 *    PROCID, MSGID and structured data stay in the body). No match: the raw message is the body.
 *  - RFC 5424 time: a fraction is cut to 3 digits and read as Java's SimpleDateFormat "ss.S" reads it (".5"
 *    is 5 ms) and then the zone is not read (local time, as Flume's first format parses only a prefix);
 *    without a fraction the zone (Z, +hh:mm) is applied, without a zone the time is local.
 *  - RFC 3164 time: the current UTC year is added, the time is local, then moved one year back if more than
 *    one month in the future or one year forward if more than eleven months in the past. Out-of-range
 *    fields roll over (lenient, as SimpleDateFormat).
 *  - keepFields prepends "<pri>", version, the original stamp and host to the body (a missing stamp or host
 *    prepends "null", as Flume's string concatenation does).
 *
 * Differences from Flume, on purpose: priority and version are reset for every message (Flume keeps them
 * from the previous message of a connection when a message does not match); bodies are the bytes received
 * (Flume decodes and re-encodes them, replacing malformed UTF-8). */
#include "syslog_parse.h"

#include <string.h>
#include <time.h>

/* ---- character classes of Java's regular expressions (one table lookup each) ---- */

enum
{
  _SPACE = 1, /* \s: [ \t\n\x0B\f\r] */
  _DIGIT = 2,
  _WORD = 4, /* \w: [A-Za-z0-9_] */
  _HOST = 8, /* [\w.@-] */
};

#define _WORD_HOST (_WORD | _HOST)
#define _R4(x) x, x, x, x
#define _R8(x) _R4(x), _R4(x)
#define _R16(x) _R8(x), _R8(x)

static const guint8 _class[256] = {
  ['\t'] = _SPACE,
  ['\n'] = _SPACE,
  [0x0b] = _SPACE,
  ['\f'] = _SPACE,
  ['\r'] = _SPACE,
  [' '] = _SPACE,
  ['0'] = _R8(_DIGIT | _WORD_HOST),
  _DIGIT | _WORD_HOST,
  _DIGIT | _WORD_HOST,
  ['A'] = _R16(_WORD_HOST),
  _R8(_WORD_HOST),
  _WORD_HOST,
  _WORD_HOST,
  ['a'] = _R16(_WORD_HOST),
  _R8(_WORD_HOST),
  _WORD_HOST,
  _WORD_HOST,
  ['_'] = _WORD_HOST,
  ['.'] = _HOST,
  ['@'] = _HOST,
  ['-'] = _HOST,
};

static inline gboolean
_is_space(guint8 c)
{
  return _class[c] & _SPACE;
}

static inline gboolean
_is_digit(guint8 c)
{
  return _class[c] & _DIGIT;
}

static inline gboolean
_is_word(guint8 c)
{
  return _class[c] & _WORD;
}

static inline gboolean
_is_host_char(guint8 c)
{
  return _class[c] & _HOST;
}

/* TRUE if [p, end) holds a Java line terminator ('.' does not match it): \n, \r, U+0085, U+2028, U+2029. */
static gboolean
_has_line_terminator(const guint8 *p, const guint8 *end)
{
  gsize len = (gsize)(end - p);
  guint64 high = 0;

  /* The common case, plain ASCII: one pass for bytes >= 0x80, then memchr for '\r' and '\n'. */
  gsize i = 0;
  for (; i + 8 <= len; i += 8)
    {
      guint64 word;
      memcpy(&word, p + i, 8);
      high |= word;
    }
  for (; i < len; i++)
    high |= p[i];
  if (!(high & G_GUINT64_CONSTANT(0x8080808080808080)))
    return memchr(p, '\r', len) || memchr(p, '\n', len);
  for (; p < end; p++)
    {
      if (*p == '\n' || *p == '\r')
        return TRUE;
      if (*p == 0xc2 && p + 1 < end && p[1] == 0x85)
        return TRUE;
      if (*p == 0xe2 && p + 2 < end && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
        return TRUE;
    }
  return FALSE;
}

static int
_num(const guint8 *p, int n)
{
  int v = 0;

  for (int i = 0; i < n; i++)
    v = v * 10 + (p[i] - '0');
  return v;
}

static gboolean
_digits(const guint8 *p, const guint8 *end, int n)
{
  if (end - p < n)
    return FALSE;
  for (int i = 0; i < n; i++)
    if (!_is_digit(p[i]))
      return FALSE;
  return TRUE;
}

/* ---- keepFields ---- */

guint
relay_syslog_keep_fields(const char *text)
{
  static const struct
  {
    const char *name;
    guint bit;
  } fields[] = {
    { "priority", RELAY_SYSLOG_KEEP_PRIORITY },
    { "version", RELAY_SYSLOG_KEEP_VERSION },
    { "timestamp", RELAY_SYSLOG_KEEP_TIMESTAMP },
    { "hostname", RELAY_SYSLOG_KEEP_HOSTNAME },
  };
  guint keep = 0;

  if (!text)
    return 0;
  char *lower = g_ascii_strdown(text, -1);
  g_strstrip(lower);
  if (strcmp(lower, "true") == 0 || strcmp(lower, "all") == 0)
    keep = RELAY_SYSLOG_KEEP_ALL;
  else if (strcmp(lower, "false") != 0 && strcmp(lower, "none") != 0)
    for (guint i = 0; i < G_N_ELEMENTS(fields); i++)
      if (strstr(lower, fields[i].name))
        keep |= fields[i].bit;
  g_free(lower);
  return keep;
}

/* ---- time ---- */

static int
_days_in_month(int year, int mon0)
{
  static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  gboolean leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

  return mon0 == 1 && leap ? 29 : days[mon0];
}

/* Seconds of a local (TZ) wall time; fields out of range roll over, as a lenient Java Calendar. mktime()
 * is slow (it takes a lock and may read the zone file), so the start of the last minute asked for is cached
 * per thread: messages of one second arrive together. */
static gint64
_local_seconds(int year, int mon0, int mday, int hour, int min, int sec)
{
  static __thread struct
  {
    int year, mon0, mday, hour, min;
    gint64 seconds;
    gboolean valid;
  } cache;

  if (cache.valid && cache.year == year && cache.mon0 == mon0 && cache.mday == mday && cache.hour == hour
      && cache.min == min && sec >= 0 && sec < 60)
    return cache.seconds + sec;
  struct tm tm = {
    .tm_year = year - 1900,
    .tm_mon = mon0,
    .tm_mday = mday,
    .tm_hour = hour,
    .tm_min = min,
    .tm_sec = sec,
    .tm_isdst = -1,
  };
  gint64 seconds = (gint64)mktime(&tm);
  if (sec >= 0 && sec < 60)
    {
      cache.year = year;
      cache.mon0 = mon0;
      cache.mday = mday;
      cache.hour = hour;
      cache.min = min;
      cache.seconds = seconds - sec;
      cache.valid = TRUE;
    }
  return seconds;
}

/* Java's Calendar.add(MONTH, months) in local time: the day is clamped to the new month's length. */
static gint64
_add_months(gint64 seconds, int months)
{
  time_t t = (time_t)seconds;
  struct tm tm;

  localtime_r(&t, &tm);
  int mon = tm.tm_mon + months;
  int year = tm.tm_year + 1900 + (mon >= 0 ? mon / 12 : -((11 - mon) / 12));
  mon = ((mon % 12) + 12) % 12;
  return _local_seconds(year, mon, MIN(tm.tm_mday, _days_in_month(year, mon)), tm.tm_hour, tm.tm_min,
                        tm.tm_sec);
}

/* The "YYYY-MM-DDTHH:MM:SS" of a stamp as local and as UTC seconds, each computed once per distinct text and
 * thread (the messages of one second share it). */
typedef struct
{
  char text[19];
  gint64 local, utc;
  gboolean valid, have_local, have_utc;
} _StampCache;

static _StampCache *
_stamp_cache(const guint8 *p)
{
  static __thread _StampCache cache;

  if (!cache.valid || memcmp(cache.text, p, sizeof cache.text) != 0)
    {
      memcpy(cache.text, p, sizeof cache.text);
      cache.valid = TRUE;
      cache.have_local = cache.have_utc = FALSE;
    }
  return &cache;
}

static gint64
_stamp_local(_StampCache *c)
{
  const guint8 *p = (const guint8 *)c->text;

  if (!c->have_local)
    {
      c->local = _local_seconds(_num(p, 4), _num(p + 5, 2) - 1, _num(p + 8, 2), _num(p + 11, 2),
                                _num(p + 14, 2), _num(p + 17, 2));
      c->have_local = TRUE;
    }
  return c->local;
}

static gint64
_stamp_utc(_StampCache *c)
{
  const guint8 *p = (const guint8 *)c->text;

  if (!c->have_utc)
    {
      struct tm tm = { .tm_year = _num(p, 4) - 1900,
                       .tm_mon = _num(p + 5, 2) - 1,
                       .tm_mday = _num(p + 8, 2),
                       .tm_hour = _num(p + 11, 2),
                       .tm_min = _num(p + 14, 2),
                       .tm_sec = _num(p + 17, 2) };
      c->utc = (gint64)timegm(&tm);
      c->have_utc = TRUE;
    }
  return c->utc;
}

gint64
relay_syslog_parse_5424_time(const char *stamp, gsize len)
{
  const guint8 *p = (const guint8 *)stamp, *end = p + len;

  if (len < 19)
    return -1;
  _StampCache *cache = _stamp_cache(p);
  p += 19;
  if (p < end && *p == '.')
    {
      /* "ss.S" reads at most the 3 digits left after Flume's truncation; the rest of the text is not read. */
      int n = 0;
      while (p + 1 + n < end && _is_digit(p[1 + n]) && n < 3)
        n++;
      return _stamp_local(cache) * 1000 + _num(p + 1, n);
    }
  if (p == end)
    return _stamp_local(cache) * 1000;
  /* A zone: Z or +hh:mm (the matcher checked the shape). */
  gint64 utc = _stamp_utc(cache);
  if (*p != 'Z')
    {
      gint64 offset = (_num(p + 1, 2) * 60 + _num(p + 4, 2)) * 60;
      utc -= *p == '-' ? -offset : offset;
    }
  return utc * 1000;
}

/* The UTC year of now_ms, computed once per second and thread. */
static int
_utc_year(gint64 now_ms)
{
  static __thread gint64 second = G_MININT64;
  static __thread int year;

  if (now_ms / 1000 != second)
    {
      time_t now = (time_t)(now_ms / 1000);
      struct tm tm;
      gmtime_r(&now, &tm);
      second = now_ms / 1000;
      year = tm.tm_year + 1900;
    }
  return year;
}

gint64
relay_syslog_parse_3164_time(const char *stamp, gsize len, gint64 now_ms)
{
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  const guint8 *p = (const guint8 *)stamp, *end = p + len;
  int mon = -1;

  for (int i = 0; i < 12; i++)
    if (len >= 3 && memcmp(stamp, months + 3 * i, 3) == 0)
      mon = i;
  if (mon < 0)
    return -1;
  p += 3;
  while (p < end && _is_space(*p))
    p++;
  int mday = 0;
  while (p < end && _is_digit(*p))
    mday = mday * 10 + (*p++ - '0');
  if (end - p != 9)
    return -1;
  gint64 parsed
      = _local_seconds(_utc_year(now_ms), mon, mday, _num(p + 1, 2), _num(p + 4, 2), _num(p + 7, 2));
  /* FLUME-3201: a window of eleven months in the past and one month in the future. A month is at least 28
   * days and eleven at least 334 (less an hour of DST), so most stamps need no calendar arithmetic. */
  gint64 ahead_s = parsed - now_ms / 1000;
  if (ahead_s > 27 * 86400 && parsed * 1000 > now_ms && _add_months(parsed, -1) * 1000 > now_ms)
    parsed = _add_months(parsed, -12);
  else if (ahead_s < -333 * 86400 && parsed * 1000 < now_ms && _add_months(parsed, 11) * 1000 < now_ms)
    parsed = _add_months(parsed, 12);
  return parsed * 1000;
}

/* ---- matching Flume's two patterns ---- */

typedef struct
{
  const guint8 *version, *stamp, *host, *body;
  gsize version_len, stamp_len, host_len, body_len;
} _Match;

/* \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}:\d{2}|Z)? ; backtracking cannot help, so greedy.
 */
static const guint8 *
_match_5424_stamp(const guint8 *p, const guint8 *end)
{
  if (!_digits(p, end, 4) || end - p < 19 || p[4] != '-' || !_digits(p + 5, end, 2) || p[7] != '-'
      || !_digits(p + 8, end, 2) || p[10] != 'T' || !_digits(p + 11, end, 2) || p[13] != ':'
      || !_digits(p + 14, end, 2) || p[16] != ':' || !_digits(p + 17, end, 2))
    return NULL;
  p += 19;
  if (p + 1 < end && *p == '.' && _is_digit(p[1]))
    {
      p++;
      for (int n = 0; n < 6 && p < end && _is_digit(*p); n++)
        p++;
    }
  if (p < end && *p == 'Z')
    p++;
  else if (end - p >= 6 && (*p == '+' || *p == '-') && _digits(p + 1, end, 2) && p[3] == ':'
           && _digits(p + 4, end, 2))
    p += 6;
  return p;
}

/* \s([\w][\w\d.@-]*|-)\s(.*)$ -- host "-" leaves m->host NULL. */
static gboolean
_match_host_body(const guint8 *p, const guint8 *end, gboolean dash_ok, _Match *m)
{
  if (p >= end || !_is_space(*p))
    return FALSE;
  p++;
  const guint8 *host = p;
  if (p < end && _is_word(*p))
    {
      while (p < end && _is_host_char(*p))
        p++;
      m->host = host;
      m->host_len = (gsize)(p - host);
    }
  else if (dash_ok && p < end && *p == '-')
    {
      p++;
      m->host = NULL;
    }
  else
    return FALSE;
  if (p >= end || !_is_space(*p))
    return FALSE;
  p++;
  if (_has_line_terminator(p, end))
    return FALSE;
  m->body = p;
  m->body_len = (gsize)(end - p);
  return TRUE;
}

static gboolean
_match_5424_rest(const guint8 *p, const guint8 *end, _Match *m)
{
  if (p < end && *p == '-')
    {
      m->stamp = NULL;
      p++;
    }
  else
    {
      const guint8 *stamp_end = _match_5424_stamp(p, end);
      if (!stamp_end)
        return FALSE;
      m->stamp = p;
      m->stamp_len = (gsize)(stamp_end - p);
      p = stamp_end;
    }
  return _match_host_body(p, end, TRUE, m);
}

/* [A-Z][a-z][a-z]\s{1,2}\d{1,2}\s\d{2}:\d{2}:\d{2} then \s host \s body. */
static gboolean
_match_3164_rest(const guint8 *p, const guint8 *end, _Match *m)
{
  const guint8 *stamp = p;

  if (end - p < 4 || !(p[0] >= 'A' && p[0] <= 'Z') || !(p[1] >= 'a' && p[1] <= 'z')
      || !(p[2] >= 'a' && p[2] <= 'z') || !_is_space(p[3]))
    return FALSE;
  p += 4;
  if (p < end && _is_space(*p))
    p++;
  if (p >= end || !_is_digit(*p))
    return FALSE;
  p++;
  if (p < end && _is_digit(*p))
    p++;
  if (end - p < 9 || !_is_space(p[0]) || !_digits(p + 1, end, 2) || p[3] != ':' || !_digits(p + 4, end, 2)
      || p[6] != ':' || !_digits(p + 7, end, 2))
    return FALSE;
  p += 9;
  m->stamp = stamp;
  m->stamp_len = (gsize)(p - stamp);
  return _match_host_body(p, end, FALSE, m);
}

/* (\d?)\s? (RFC 5424) or (\d)?\s? (RFC 3164) before the rest, trying the alternatives in the regex's order.
 */
static gboolean
_match_with_version(const guint8 *p, const guint8 *end,
                    gboolean (*rest)(const guint8 *, const guint8 *, _Match *), _Match *m)
{
  for (int with_digit = 1; with_digit >= 0; with_digit--)
    {
      if (with_digit && !(p < end && _is_digit(*p)))
        continue;
      const guint8 *q = p + with_digit;
      m->version = p;
      m->version_len = (gsize)with_digit;
      if (q < end && _is_space(*q) && rest(q + 1, end, m))
        return TRUE;
      if (rest(q, end, m))
        return TRUE;
    }
  return FALSE;
}

/* ---- building the event ---- */

#define _add relay_syslog_header

/* keepFields: "<pri>" version SP stamp SP host SP body (Flume's addFieldsToBody). */
static GString *
_kept_body(guint keep, const char *pri, gsize pri_len, const _Match *m)
{
  GString *s = g_string_sized_new(m->body_len + 64);

  if (keep & RELAY_SYSLOG_KEEP_PRIORITY)
    {
      g_string_append_c(s, '<');
      g_string_append_len(s, pri, (gssize)pri_len);
      g_string_append_c(s, '>');
    }
  if ((keep & RELAY_SYSLOG_KEEP_VERSION) && m->version_len > 0)
    {
      g_string_append_len(s, (const char *)m->version, (gssize)m->version_len);
      g_string_append_c(s, ' ');
    }
  if (keep & RELAY_SYSLOG_KEEP_TIMESTAMP)
    {
      if (m->stamp)
        g_string_append_len(s, (const char *)m->stamp, (gssize)m->stamp_len);
      else
        g_string_append(s, "null");
      g_string_append_c(s, ' ');
    }
  if (keep & RELAY_SYSLOG_KEEP_HOSTNAME)
    {
      if (m->host)
        g_string_append_len(s, (const char *)m->host, (gssize)m->host_len);
      else
        g_string_append(s, "null");
      g_string_append_c(s, ' ');
    }
  g_string_append_len(s, (const char *)m->body, (gssize)m->body_len);
  return s;
}

/* Decimal text of v (>= 0) into out (at least 21 bytes). */
static void
_format_int(char *out, gint64 v)
{
  char tmp[24];
  int n = 0;

  if (v < 0)
    {
      *out++ = '-';
      v = -v;
    }
  do
    tmp[n++] = (char)('0' + v % 10);
  while ((v /= 10) > 0);
  while (n > 0)
    *out++ = tmp[--n];
  *out = '\0';
}

/* Decimal text of 0 <= v < 1000 into out (4 bytes); returns its length. */
static gsize
_format_small(char *out, int v)
{
  gsize n = 0;

  if (v >= 100)
    out[n++] = (char)('0' + v / 100);
  if (v >= 10)
    out[n++] = (char)('0' + v / 10 % 10);
  out[n++] = (char)('0' + v % 10);
  out[n] = '\0';
  return n;
}

/* _format_int for timestamps, remembering the last one per thread (many messages share a millisecond). */
static void
_format_stamp(char *out, gint64 ms)
{
  static __thread gint64 last = -1;
  static __thread char text[24];

  if (ms != last)
    {
      _format_int(text, ms);
      last = ms;
    }
  memcpy(out, text, sizeof text);
}

/* Length of a valid <PRI> (1-3 digits then '>'), 0 if invalid; -1 if the message ends inside it. */
static int
_pri_digits(const guint8 *msg, gsize len)
{
  if (len == 0 || msg[0] != '<')
    return 0;
  for (gsize i = 1; i < len; i++)
    {
      if (msg[i] == '>')
        return (int)i - 1;
      if (!_is_digit(msg[i]) || i > 3)
        return 0;
    }
  return -1;
}

RelayEvent *
relay_syslog_parse(RelayEventArena *arena, const guint8 *msg, gsize len, guint keep, gboolean incomplete,
                   gint64 now_ms, const RelayHeader *extra, guint n_extra, const char **status)
{
  RelaySyslogHeaders h; /* not zeroed: only the first h.n are read */
  _Match m = { 0 };
  char facility[4] = "0", severity[4] = "0", stamp_ms[24];
  gsize facility_len = 1, severity_len = 1;
  const void *body = msg;
  gsize body_len = len;
  GString *kept = NULL;

  int digits = _pri_digits(msg, len);
  gboolean invalid = digits == 0;
  if (digits < 0)
    {
      digits = (int)len - 1; /* "<13" with nothing after: valid priority, no pattern can match */
      if (digits == 0)
        return NULL; /* "<": Flume fails to read a priority */
    }
  if (len == 0)
    return NULL;
  if (status)
    *status = NULL;
  if (!invalid)
    {
      int pri = _num(msg + 1, digits);
      facility_len = _format_small(facility, pri / 8);
      severity_len = _format_small(severity, pri % 8);
    }
  h.n = 0;
  _add(&h, "Facility", facility, facility_len);
  _add(&h, "Severity", severity, severity_len);
  const guint8 *after = msg + digits + 2, *end = msg + len;
  if (!invalid && after <= end
      && (_match_with_version(after, end, _match_5424_rest, &m)
          || _match_with_version(after, end, _match_3164_rest, &m)))
    {
      gboolean is_3164 = m.stamp && m.stamp[0] >= 'A';
      _add(&h, "priority", msg + 1, (gsize)digits);
      if (m.version_len > 0)
        _add(&h, "version", m.version, m.version_len);
      gint64 ms = !m.stamp  ? -1
                  : is_3164 ? relay_syslog_parse_3164_time((const char *)m.stamp, m.stamp_len, now_ms)
                            : relay_syslog_parse_5424_time((const char *)m.stamp, m.stamp_len);
      if (m.stamp && ms != -1)
        {
          _format_stamp(stamp_ms, ms);
          _add(&h, "timestamp", stamp_ms, strlen(stamp_ms));
        }
      if (m.host)
        _add(&h, "host", m.host, m.host_len);
      if (keep && !(keep & RELAY_SYSLOG_KEEP_ALL))
        kept = _kept_body(keep, (const char *)msg + 1, (gsize)digits, &m);
      if (kept && kept->len > 0)
        {
          body = kept->str;
          body_len = kept->len;
        }
      else if (!(keep & RELAY_SYSLOG_KEEP_ALL) && m.body_len > 0)
        {
          body = m.body;
          body_len = m.body_len;
        }
    }
  const char *marked = invalid ? "Invalid" : incomplete ? "Incomplete" : NULL;
  if (marked)
    _add(&h, "flume.syslog.status", marked, strlen(marked));
  if (status)
    *status = marked;
  RelayEvent *ev = relay_syslog_event(arena, &h, extra, n_extra, body, body_len);
  if (kept)
    g_string_free(kept, TRUE);
  return ev;
}

/* ---- framing ---- */

static gboolean
_is_separator(guint8 c)
{
  return c == '\n' || c == '\0';
}

/* RFC 6587 octet counting: "LEN SP" with LEN 1-9 digits, not starting with 0. Returns the header length (LEN
 * and SP), 0 if this is not octet counting, -1 if more bytes are needed to tell. */
static int
_octet_count_header(const guint8 *p, gsize avail, gsize *frame_len)
{
  gsize n = 0, value = 0;

  if (avail == 0 || p[0] < '1' || p[0] > '9')
    return 0;
  while (n < avail && _is_digit(p[n]))
    {
      if (n == 9)
        return 0;
      value = value * 10 + (p[n] - '0');
      n++;
    }
  if (n == avail)
    return -1;
  if (p[n] != ' ')
    return 0;
  *frame_len = value;
  return (int)n + 1;
}

static gboolean
_frame_octet_counted(const guint8 *buf, gsize len, gsize start, int header, gsize frame_len, gsize max_size,
                     gboolean at_eof, RelaySyslogFrame *frame)
{
  gsize msg_off = start + (gsize)header;
  gsize have = len - msg_off;

  frame->msg_off = msg_off;
  if (frame_len > max_size && have >= max_size)
    {
      frame->msg_len = max_size;
      frame->incomplete = TRUE;
      frame->consumed = MIN(len, msg_off + frame_len);
      frame->skip = msg_off + frame_len - frame->consumed;
      return TRUE;
    }
  if (have >= frame_len)
    {
      /* rsyslog's RFC 5424 template ends the message with '\n' inside the frame: not part of it */
      frame->msg_len = frame_len - (buf[msg_off + frame_len - 1] == '\n' ? 1 : 0);
      frame->consumed = msg_off + frame_len;
      return TRUE;
    }
  if (!at_eof)
    return FALSE;
  frame->msg_len = have;
  frame->consumed = len;
  frame->incomplete = TRUE;
  return TRUE;
}

/* Flume's state machine: <PRI> scanning may swallow a '\n' (it makes the message Invalid), then data runs to
 * the next '\n'; max_size bytes without one cut the message (Incomplete). */
static gboolean
_frame_newline(const guint8 *buf, gsize len, gsize start, gsize max_size, gboolean at_eof,
               RelaySyslogFrame *frame)
{
  gsize k = start + 1;

  if (buf[start] == '<')
    {
      gboolean done = FALSE;
      while (k < len && !done)
        {
          guint8 b = buf[k++];
          done = b == '>' || !_is_digit(b) || k - start > 4;
        }
      if (!done && !at_eof)
        return FALSE;
    }
  gsize limit = MIN(len, start + max_size), from = MIN(k, limit);
  const guint8 *nl = memchr(buf + from, '\n', limit - from);
  const guint8 *nul = memchr(buf + from, '\0', (nl ? (gsize)(nl - buf) : limit) - from);
  if (nul)
    nl = nul;
  frame->msg_off = start;
  if (nl)
    {
      frame->msg_len = (gsize)(nl - buf) - start;
      frame->consumed = (gsize)(nl - buf) + 1;
      return TRUE;
    }
  if (len >= start + max_size)
    {
      frame->msg_len = max_size;
      frame->consumed = start + max_size;
      frame->incomplete = TRUE;
      return TRUE;
    }
  if (!at_eof)
    return FALSE;
  frame->msg_len = len - start;
  frame->consumed = len;
  frame->incomplete = TRUE;
  return TRUE;
}

gboolean
relay_syslog_frame_next(const guint8 *buf, gsize len, gsize max_size, gboolean at_eof,
                        RelaySyslogFrame *frame)
{
  gsize start = 0, frame_len = 0;

  memset(frame, 0, sizeof *frame);
  max_size = MAX(max_size, RELAY_SYSLOG_MIN_SIZE);
  while (start < len && _is_separator(buf[start]))
    start++;
  frame->consumed = start;
  if (start == len)
    return FALSE;
  int header = _octet_count_header(buf + start, len - start, &frame_len);
  if (header < 0 && !at_eof)
    return FALSE;
  if (header > 0)
    return _frame_octet_counted(buf, len, start, header, frame_len, max_size, at_eof, frame);
  return _frame_newline(buf, len, start, max_size, at_eof, frame);
}

/* ---- for the other parsers ---- */

int
relay_syslog_pri_digits(const guint8 *msg, gsize len)
{
  return _pri_digits(msg, len);
}

GString *
relay_syslog_kept_body(guint keep, const char *pri, gsize pri_len, const RelaySyslogFields *f)
{
  _Match m = {
    .version = f->version,
    .stamp = f->stamp,
    .host = f->host,
    .body = f->body,
    .version_len = f->version_len,
    .stamp_len = f->stamp_len,
    .host_len = f->host_len,
    .body_len = f->body_len,
  };

  return _kept_body(keep, pri, pri_len, &m);
}
