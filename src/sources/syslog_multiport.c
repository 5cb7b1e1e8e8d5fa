/* syslog_multiport.c - Flume's SyslogParser: the headers and rules of multiport_syslogtcp (see
 * syslog_multiport.h).
 *
 * SyslogParser.parseMessage(): '<', the priority up to the first '>' (at most 5 characters, a Java int),
 * then "1 " as the version, then the timestamp: "-" (the current time), an RFC 3164 stamp when the next
 * character is A-Z (15 characters, read as UTC; unreadable gives 0), else an RFC 5424 stamp up to the next
 * space (more than 19 characters: the date and time read as UTC, a fraction scaled to milliseconds, then
 * Z or +hh:mm). The host is the next space-delimited token and the body the rest, with keepFields' fields
 * in front; no rest, or keepFields = all, makes the whole message the body.
 *
 * Differences from Flume, on purpose: an RFC 3164 stamp is placed in a window of eleven months before and
 * one month after now, as syslogtcp does (Flume's SyslogParser moves any stamp more than one month old a
 * year forward); a fraction that ends the message makes it Invalid (Flume's parser fails with an exception
 * that loses the rest of the read); bodies are the bytes received. */
#include "syslog_multiport.h"

#include "syslog_parse.h"

#include <string.h>
#include <time.h>

typedef struct
{
  const char *msg;
  gsize len;
  int pri;
  gsize pri_len;
  RelaySyslogFields f;
  gint64 ts;
} _Parsed;

static gint64
_utc(int year, int mon0, int mday, int hour, int min, int sec)
{
  struct tm tm = {
    .tm_year = year - 1900, .tm_mon = mon0, .tm_mday = mday, .tm_hour = hour, .tm_min = min, .tm_sec = sec
  };

  return (gint64)timegm(&tm);
}

static gboolean
_digits(const char *p, int n, int *value)
{
  *value = 0;
  for (int i = 0; i < n; i++)
    {
      if (!g_ascii_isdigit(p[i]))
        return FALSE;
      *value = *value * 10 + (p[i] - '0');
    }
  return TRUE;
}

/* hh:mm:ss at p (8 characters) in range. */
static gboolean
_time_of_day(const char *p, int *h, int *m, int *s)
{
  return _digits(p, 2, h) && p[2] == ':' && _digits(p + 3, 2, m) && p[5] == ':' && _digits(p + 6, 2, s)
         && *h < 24 && *m < 60 && *s < 60;
}

/* java.time's SMART resolution: a day past the end of the month is the month's last day. */
static int
_clamp_day(int year, int mon0, int mday)
{
  return MIN(mday, (int)g_date_get_days_in_month((GDateMonth)(mon0 + 1), (GDateYear)CLAMP(year, 1, 65535)));
}

gint64
relay_syslog_multiport_3164_time(const char *stamp, gint64 now_ms)
{
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  char text[16];
  int mon0 = -1, mday = 0, h, m, s, n = 0;

  /* TWO_SPACES.replaceFirst(" "): the text is then "Mmm d HH:mm:ss" */
  memcpy(text, stamp, 15);
  text[15] = '\0';
  char *two = strstr(text, "  ");
  if (two)
    memmove(two, two + 1, strlen(two));
  for (int i = 0; i < 12; i++)
    if (strncmp(text, months + 3 * i, 3) == 0)
      mon0 = i;
  if (mon0 < 0 || text[3] != ' ')
    return 0;
  while (g_ascii_isdigit(text[4 + n]) && n < 2)
    mday = mday * 10 + (text[4 + n++] - '0');
  const char *rest = text + 4 + n;
  if (n == 0 || mday < 1 || mday > 31 || strlen(rest) != 9 || rest[0] != ' '
      || !_time_of_day(rest + 1, &h, &m, &s))
    return 0;
  time_t now = (time_t)(now_ms / 1000);
  struct tm tm;
  gmtime_r(&now, &tm);
  int year = tm.tm_year + 1900, day = _clamp_day(year, mon0, mday);
  gint64 t = _utc(year, mon0, day, h, m, s);
  if (t * 1000 > now_ms && _utc(year, mon0 - 1, day, h, m, s) * 1000 > now_ms)
    t = _utc(year - 1, mon0, _clamp_day(year - 1, mon0, mday), h, m, s);
  else if (t * 1000 < now_ms && _utc(year, mon0 + 11, day, h, m, s) * 1000 < now_ms)
    t = _utc(year + 1, mon0, _clamp_day(year + 1, mon0, mday), h, m, s);
  return t * 1000;
}

/* SyslogParser.parseRfc5424Date(); FALSE where it throws. */
static gboolean
_5424_time(const char *p, gsize len, gint64 *ms)
{
  int y, mo, d, h, mi, s;
  gsize i = 19;

  if (len <= 19 || !_digits(p, 4, &y) || p[4] != '-' || !_digits(p + 5, 2, &mo) || p[7] != '-'
      || !_digits(p + 8, 2, &d) || p[10] != 'T' || !_time_of_day(p + 11, &h, &mi, &s) || mo < 1 || mo > 12
      || d < 1 || d > 31)
    return FALSE;
  *ms = _utc(y, mo - 1, _clamp_day(y, mo - 1, d), h, mi, s) * 1000;
  if (p[i] == '.')
    {
      gsize n = 0;
      gint64 frac = 0;
      while (i + 1 + n < len && g_ascii_isdigit(p[i + 1 + n]))
        {
          if (n < 18) /* more digits are refused below; 18 cannot overflow */
            frac = frac * 10 + (p[i + 1 + n] - '0');
          n++;
        }
      if (n == 0 || n > 18 || i + 1 + n >= len)
        return FALSE;
      for (gsize k = n; k > 3; k--)
        frac /= 10;
      for (gsize k = n; k < 3; k++)
        frac *= 10;
      *ms += frac;
      i += 1 + n;
    }
  if (p[i] == '+' || p[i] == '-')
    {
      int oh, om;
      if (len <= i + 5 || !_digits(p + i + 1, 2, &oh) || p[i + 3] != ':' || !_digits(p + i + 4, 2, &om))
        return FALSE;
      *ms -= (p[i] == '+' ? 1 : -1) * (gint64)(oh * 60 + om) * 60000;
    }
  return TRUE;
}

/* Integer.parseInt of the priority text. */
static gboolean
_java_int(const char *p, gsize len, int *value)
{
  gsize i = len > 0 && (p[0] == '+' || p[0] == '-') ? 1 : 0;
  int v = 0;

  if (i == len)
    return FALSE;
  for (gsize k = i; k < len; k++)
    {
      if (!g_ascii_isdigit(p[k]))
        return FALSE;
      v = v * 10 + (p[k] - '0');
    }
  *value = p[0] == '-' ? -v : v;
  return TRUE;
}

static const char *
_space(const char *msg, gsize from, gsize len)
{
  return from < len ? memchr(msg + from, ' ', len - from) : NULL;
}

/* The timestamp at cur; FALSE where SyslogParser throws. */
static gboolean
_timestamp(_Parsed *p, gsize *cur, gint64 now_ms)
{
  const char *msg = p->msg;
  gsize c = *cur;

  p->f.stamp = (const guint8 *)msg + c;
  if (msg[c] == '-')
    {
      p->f.stamp_len = 1;
      p->ts = now_ms;
      *cur = c + 2;
      return p->len > c + 2;
    }
  if (msg[c] >= 'A' && msg[c] <= 'Z')
    {
      if (p->len <= c + 15)
        return FALSE;
      p->f.stamp_len = 15;
      p->ts = relay_syslog_multiport_3164_time(msg + c, now_ms);
      *cur = c + 16;
      return TRUE;
    }
  const char *sp = _space(msg, c, p->len);
  if (!sp)
    return FALSE;
  p->f.stamp_len = (gsize)(sp - (msg + c));
  *cur = (gsize)(sp - msg) + 1;
  return _5424_time(msg + c, p->f.stamp_len, &p->ts);
}

static gboolean
_parse(_Parsed *p, gint64 now_ms)
{
  const char *msg = p->msg, *gt = memchr(msg, '>', p->len);

  if (msg[0] != '<' || !gt || gt - msg > 6 || !_java_int(msg + 1, (gsize)(gt - msg) - 1, &p->pri))
    return FALSE;
  p->pri_len = (gsize)(gt - msg) - 1;
  gsize cur = p->pri_len + 2;
  if (p->len <= cur)
    return FALSE;
  if (p->len > cur + 2 && msg[cur] == '1' && msg[cur + 1] == ' ')
    {
      p->f.version = (const guint8 *)msg + cur;
      p->f.version_len = 1;
      cur += 2;
    }
  if (!_timestamp(p, &cur, now_ms))
    return FALSE;
  const char *sp = _space(msg, cur, p->len);
  if (!sp)
    return FALSE;
  p->f.host = (const guint8 *)msg + cur;
  p->f.host_len = (gsize)(sp - (msg + cur));
  p->f.body = (const guint8 *)sp + 1;
  p->f.body_len = p->len - (gsize)(sp + 1 - msg);
  return TRUE;
}

static RelayEvent *
_event(RelayEventArena *arena, const _Parsed *p, guint keep, gboolean incomplete, const RelayHeader *extra,
       guint n_extra)
{
  RelaySyslogHeaders h = { .n = 0 };
  char facility[12], severity[12], ts[24];
  const void *body = p->msg;
  gsize body_len = p->len;
  GString *kept = NULL;

  g_snprintf(facility, sizeof facility, "%d", p->pri / 8);
  g_snprintf(severity, sizeof severity, "%d", p->pri % 8);
  g_snprintf(ts, sizeof ts, "%" G_GINT64_FORMAT, p->ts);
  relay_syslog_header(&h, "Priority", p->msg + 1, p->pri_len);
  relay_syslog_header(&h, "Facility", facility, strlen(facility));
  relay_syslog_header(&h, "Severity", severity, strlen(severity));
  if (p->f.version)
    relay_syslog_header(&h, "Version", p->f.version, 1);
  relay_syslog_header(&h, "timestamp", ts, strlen(ts));
  relay_syslog_header(&h, "host", p->f.host, p->f.host_len);
  if (incomplete)
    relay_syslog_header(&h, "flume.syslog.status", "Incomplete", strlen("Incomplete"));
  if (p->f.body_len > 0 && !(keep & RELAY_SYSLOG_KEEP_ALL))
    {
      kept = keep ? relay_syslog_kept_body(keep, p->msg + 1, p->pri_len, &p->f) : NULL;
      body = kept ? (const void *)kept->str : p->f.body;
      body_len = kept ? kept->len : p->f.body_len;
    }
  RelayEvent *ev = relay_syslog_event(arena, &h, extra, n_extra, body, body_len);
  if (kept)
    g_string_free(kept, TRUE);
  return ev;
}

RelayEvent *
relay_syslog_parse_multiport(RelayEventArena *arena, const guint8 *msg, gsize len, guint keep,
                             gboolean incomplete, gboolean utf8, gint64 now_ms, const RelayHeader *extra,
                             guint n_extra, const char **status)
{
  _Parsed p = { .msg = (const char *)msg, .len = len };

  if (len == 0)
    return NULL;
  if ((!utf8 || g_utf8_validate_len(p.msg, len, NULL)) && _parse(&p, now_ms))
    {
      *status = incomplete ? "Incomplete" : NULL;
      return _event(arena, &p, keep, incomplete, extra, n_extra);
    }
  RelaySyslogHeaders h = { .n = 0 };
  relay_syslog_header(&h, "flume.syslog.status", "Invalid", strlen("Invalid"));
  *status = "Invalid";
  return relay_syslog_event(arena, &h, extra, n_extra, msg, len);
}
