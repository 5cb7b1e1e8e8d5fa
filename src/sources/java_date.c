/* java_date.c - a subset of Java's SimpleDateFormat parsing, for Flume's syslog format.dateFormat.
 *
 * Follows java.text.SimpleDateFormat (compile(), parse() and subParse() of OpenJDK 8 to 21): the pattern is
 * a list of fields (runs of one letter) and literal characters ('quoted text', '' for a quote); parse()
 * matches them in order from the start of the text. See java_date.h for the letters read. */
#include "java_date.h"

#include <string.h>
#include <time.h>

#define _MAX_DIGITS 9 /* larger numbers are refused rather than overflowing */
#define _MAX_SECONDS G_GINT64_CONSTANT(1000000000000000) /* about 31 million years */

typedef struct
{
  char letter; /* 0: the literal byte lit */
  guint8 lit;
  guint count;
  gboolean obey_count; /* a field follows directly: take exactly count digits */
} _Item;

struct _RelayJavaDate
{
  GArray *items;     /* _Item */
  int century_start; /* the year 80 years before creation, for two-digit years */
};

typedef struct
{
  gint64 year, month, mday, hour_of_day, hour, min, sec, ms; /* month 1-based; hour_of_day -1: unset */
  gboolean pm, zoned;
  gint64 offset_s;
} _Fields;

static const char *const _months[]
    = { "January",   "February", "March",    "April",    "May", "June", "July", "August",
        "September", "October",  "November", "December", "Jan", "Feb",  "Mar",  "Apr",
        "May",       "Jun",      "Jul",      "Aug",      "Sep", "Oct",  "Nov",  "Dec" };
static const char *const _days[]
    = { "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
        "Sun",    "Mon",    "Tue",     "Wed",       "Thu",      "Fri",    "Sat" };
static const char *const _ampm[] = { "AM", "PM" };

/* ---- compiling ---- */

static gboolean
_letter_ok(char c, GError **error)
{
  static const char *const refused[] = { "G era",           "Y week year",   "w week in year",
                                         "W week in month", "D day in year", "F day of week in month" };

  if (strchr("yMLdHkKhmsSaEuZzX", c))
    return TRUE;
  for (guint i = 0; i < G_N_ELEMENTS(refused); i++)
    if (refused[i][0] == c)
      {
        g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG,
                    "pattern letter '%c' (%s) is not supported by relayd%s", c, refused[i] + 2,
                    c == 'Y' ? " (for the calendar year use y)" : "");
        return FALSE;
      }
  g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "illegal pattern character '%c' (quote text with ')",
              c);
  return FALSE;
}

static void
_add_literal(GArray *items, guint8 c)
{
  _Item item = { .lit = c };
  g_array_append_val(items, item);
}

/* Quoted text from p (after the opening quote); returns the position after the closing quote, or NULL. */
static const char *
_quoted(GArray *items, const char *p)
{
  for (; *p; p++)
    {
      if (*p != '\'')
        _add_literal(items, (guint8)*p);
      else if (p[1] == '\'')
        _add_literal(items, (guint8) * ++p);
      else
        return p + 1;
    }
  return NULL;
}

RelayJavaDate *
relay_java_date_new(const char *pattern, gint64 now_ms, GError **error)
{
  GArray *items = g_array_new(FALSE, TRUE, sizeof(_Item));
  const char *p = pattern;

  while (*p)
    {
      if (*p == '\'' && p[1] == '\'')
        {
          _add_literal(items, '\'');
          p += 2;
        }
      else if (*p == '\'')
        {
          if (!(p = _quoted(items, p + 1)))
            {
              g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "unterminated quote");
              g_array_unref(items);
              return NULL;
            }
        }
      else if (g_ascii_isalpha(*p))
        {
          if (!_letter_ok(*p, error))
            {
              g_array_unref(items);
              return NULL;
            }
          _Item item = { .letter = *p, .count = 0 };
          for (char c = *p; *p == c; p++)
            item.count++;
          if (item.letter == 'X' && item.count > 3)
            {
              g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "invalid ISO 8601 zone: length=%u",
                          item.count);
              g_array_unref(items);
              return NULL;
            }
          g_array_append_val(items, item);
        }
      else
        _add_literal(items, (guint8)*p++);
    }
  for (guint i = 0; i + 1 < items->len; i++)
    g_array_index(items, _Item, i).obey_count = g_array_index(items, _Item, i + 1).letter != 0;
  RelayJavaDate *self = g_new0(RelayJavaDate, 1);
  time_t now = (time_t)(now_ms / 1000);
  struct tm tm;
  localtime_r(&now, &tm);
  self->items = items;
  self->century_start = tm.tm_year + 1900 - 80;
  return self;
}

void
relay_java_date_free(RelayJavaDate *self)
{
  if (!self)
    return;
  g_array_unref(self->items);
  g_free(self);
}

/* ---- parsing ---- */

typedef struct
{
  const char *text;
  gsize len, pos;
} _Cursor;

static gboolean
_number(_Cursor *c, const _Item *item, gint64 *value, gsize *n_digits)
{
  gsize max = item->obey_count ? item->count : _MAX_DIGITS + 1, n = 0;
  gint64 v = 0;

  while (c->pos + n < c->len && n < max && g_ascii_isdigit(c->text[c->pos + n]))
    v = v * 10 + (c->text[c->pos + n++] - '0');
  if (n == 0 || n > _MAX_DIGITS)
    return FALSE;
  c->pos += n;
  *value = v;
  *n_digits = n;
  return TRUE;
}

/* Java's matchString: the longest of names (case-insensitive) at the cursor; its index or -1. */
static int
_name(_Cursor *c, const char *const *names, guint n)
{
  int best = -1;
  gsize best_len = 0;

  for (guint i = 0; i < n; i++)
    {
      gsize l = strlen(names[i]);
      if (l > best_len && c->len - c->pos >= l && g_ascii_strncasecmp(c->text + c->pos, names[i], l) == 0)
        {
          best = (int)i;
          best_len = l;
        }
    }
  c->pos += best_len;
  return best;
}

/* subParseNumericZone: h[h][[:]mm] after a sign; count is X's letter count (0 for Z and z). */
static gboolean
_numeric_zone(_Cursor *c, int sign, guint count, gboolean colon, _Fields *f)
{
  const char *t = c->text;
  gsize i = c->pos;
  int hours, minutes = 0;

  if (i >= c->len || !g_ascii_isdigit(t[i]))
    return FALSE;
  hours = t[i++] - '0';
  if (i < c->len && g_ascii_isdigit(t[i]))
    hours = hours * 10 + (t[i++] - '0');
  else if (count > 0 || !colon)
    return FALSE;
  if (hours > 23)
    return FALSE;
  if (count != 1)
    {
      if (colon && (i >= c->len || t[i++] != ':'))
        return FALSE;
      if (i + 2 > c->len || !g_ascii_isdigit(t[i]) || !g_ascii_isdigit(t[i + 1]))
        return FALSE;
      minutes = (t[i] - '0') * 10 + (t[i + 1] - '0');
      i += 2;
      if (minutes > 59)
        return FALSE;
    }
  c->pos = i;
  f->zoned = TRUE;
  f->offset_s = (gint64)sign * (hours * 60 + minutes) * 60;
  return TRUE;
}

static int
_sign(char c)
{
  return c == '+' ? 1 : c == '-' ? -1 : 0;
}

/* Z and z: +hhmm (RFC 822), GMT[+h:mm], or the name UTC. */
static gboolean
_zone(_Cursor *c, _Fields *f)
{
  int sign = _sign(c->text[c->pos]);

  if (sign)
    {
      c->pos++;
      return _numeric_zone(c, sign, 0, FALSE, f);
    }
  gsize rest = c->len - c->pos;
  if (rest >= 3 && (g_ascii_strncasecmp(c->text + c->pos, "GMT", 3) == 0))
    {
      c->pos += 3;
      sign = c->pos < c->len ? _sign(c->text[c->pos]) : 0;
      f->zoned = TRUE;
      f->offset_s = 0;
      if (!sign)
        return TRUE;
      c->pos++;
      return _numeric_zone(c, sign, 0, TRUE, f);
    }
  if (rest >= 3 && strncmp(c->text + c->pos, "UTC", 3) == 0)
    {
      c->pos += 3;
      f->zoned = TRUE;
      f->offset_s = 0;
      return TRUE;
    }
  return FALSE;
}

/* X: Z, or a sign then hh, hhmm or hh:mm by letter count. */
static gboolean
_iso_zone(_Cursor *c, guint count, _Fields *f)
{
  if (c->text[c->pos] == 'Z')
    {
      c->pos++;
      f->zoned = TRUE;
      f->offset_s = 0;
      return TRUE;
    }
  int sign = _sign(c->text[c->pos]);
  if (!sign)
    return FALSE;
  c->pos++;
  return _numeric_zone(c, sign, count, count == 3, f);
}

static gint64
_two_digit_year(const RelayJavaDate *self, gint64 v)
{
  int start = self->century_start % 100;

  return v + self->century_start / 100 * 100 + (v < start ? 100 : 0);
}

/* One field at the cursor (after blanks, as subParse skips them). */
static gboolean
_field(const RelayJavaDate *self, _Cursor *c, const _Item *item, _Fields *f)
{
  gint64 v = 0;
  gsize n = 0;

  while (c->pos < c->len && (c->text[c->pos] == ' ' || c->text[c->pos] == '\t'))
    c->pos++;
  if (c->pos >= c->len)
    return FALSE;
  switch (item->letter)
    {
    case 'M':
    case 'L':
      if (item->count >= 3)
        {
          int i = _name(c, _months, G_N_ELEMENTS(_months));
          f->month = i % 12 + 1;
          return i >= 0;
        }
      return _number(c, item, &f->month, &n);
    case 'E':
      return _name(c, _days, G_N_ELEMENTS(_days)) >= 0;
    case 'a':
      {
        int i = _name(c, _ampm, G_N_ELEMENTS(_ampm));
        f->pm = i == 1;
        return i >= 0;
      }
    case 'Z':
    case 'z':
      return _zone(c, f);
    case 'X':
      return _iso_zone(c, item->count, f);
    default:
      break;
    }
  if (!_number(c, item, &v, &n))
    return FALSE;
  switch (item->letter)
    {
    case 'y':
      f->year = item->count <= 2 && n == 2 ? _two_digit_year(self, v) : v;
      break;
    case 'd':
      f->mday = v;
      break;
    case 'H':
      f->hour_of_day = v;
      break;
    case 'k':
      f->hour_of_day = v == 24 ? 0 : v;
      break;
    case 'h':
      f->hour = v == 12 ? 0 : v;
      break;
    case 'K':
      f->hour = v;
      break;
    case 'm':
      f->min = v;
      break;
    case 's':
      f->sec = v;
      break;
    case 'S':
      f->ms = v;
      break;
    default: /* u: the day of the week, not used */
      break;
    }
  return TRUE;
}

gboolean
relay_java_date_parse(const RelayJavaDate *self, const char *text, gsize len, gint64 *ms)
{
  _Fields f = { .year = 1970, .month = 1, .mday = 1, .hour_of_day = -1 };
  _Cursor c = { text, len, 0 };

  for (guint i = 0; i < self->items->len; i++)
    {
      const _Item *item = &g_array_index(self->items, _Item, i);
      if (!item->letter)
        {
          if (c.pos >= len || (guint8)text[c.pos] != item->lit)
            return FALSE;
          c.pos++;
        }
      else if (!_field(self, &c, item, &f))
        return FALSE;
    }
  if (c.pos == 0 || f.year > 9999999)
    return FALSE; /* DateFormat.parse(String) fails when nothing was read; far years do not fit in ms */
  struct tm tm = {
    .tm_year = (int)(f.year - 1900),
    .tm_mon = (int)(f.month - 1),
    .tm_mday = (int)f.mday,
    .tm_hour = (int)(f.hour_of_day >= 0 ? f.hour_of_day : f.hour + (f.pm ? 12 : 0)),
    .tm_min = (int)f.min,
    .tm_sec = (int)f.sec,
    .tm_isdst = -1,
  };
  gint64 seconds = f.zoned ? (gint64)timegm(&tm) - f.offset_s : (gint64)mktime(&tm);
  if (seconds < -_MAX_SECONDS || seconds > _MAX_SECONDS)
    return FALSE; /* years far beyond what epoch milliseconds hold */
  *ms = seconds * 1000 + f.ms;
  return TRUE;
}
