/* syslog_format.c - Flume's custom syslog format: format.regex, search/replace and dateFormat (see
 * syslog_format.h).
 *
 * Differences from Flume: a format.search without format.replace (Flume fails on every message with an
 * IndexOutOfBoundsException) and format.search / replace / dateFormat without format.regex (Flume ignores
 * them) are reported by --check; the date is read with English month and day names whatever the locale;
 * priority and version come from the message itself, never from an earlier message of the connection. */
#include "syslog_format.h"

#include "config.h"
#include "java_date.h"
#include "syslog_parse.h"

#include <string.h>

struct _RelaySyslogFormat
{
  GRegex *regex;       /* anchored at both ends: Matcher.matches() */
  GRegex *search;      /* NULL: no search/replace */
  char *replace;       /* GRegex replacement text translated from Java's */
  RelayJavaDate *date; /* NULL: no timestamp header */
};

/* ---- configuration ---- */

/* Java's replacement syntax ($n, ${name}, \x) as GRegex's (\g<n>, \g<name>, x), checked against search's
 * groups as Matcher.appendReplacement() checks it. NULL with error. */
static char *
_java_replacement(const char *java, const GRegex *search, GError **error)
{
  GString *out = g_string_new(NULL);
  int groups = g_regex_get_capture_count(search);

  for (const char *p = java; *p; p++)
    {
      if (*p == '\\')
        {
          if (!*++p)
            {
              g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "character to be escaped is missing");
              break;
            }
          g_string_append(out, *p == '\\' ? "\\\\" : (char[]){ *p, 0 });
        }
      else if (*p == '$' && p[1] == '{')
        {
          const char *end = strchr(p, '}');
          char *name = end ? g_strndup(p + 2, (gsize)(end - p - 2)) : NULL;
          if (!name || g_regex_get_string_number(search, name) < 0)
            g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "no group named %s in format.search",
                        name ? name : "(unterminated ${)");
          else
            g_string_append_printf(out, "\\g<%s>", name);
          g_free(name);
          if (!end || *error)
            break;
          p = end;
        }
      else if (*p == '$')
        {
          if (!g_ascii_isdigit(p[1]) || p[1] - '0' > groups)
            {
              g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG,
                          "illegal group reference $%.1s (format.search has %d groups)", p + 1, groups);
              break;
            }
          int n = *++p - '0';
          while (g_ascii_isdigit(p[1]) && n * 10 + (p[1] - '0') <= groups)
            n = n * 10 + (*++p - '0');
          g_string_append_printf(out, "\\g<%d>", n);
        }
      else
        g_string_append_c(out, *p);
    }
  if (error && *error)
    {
      g_string_free(out, TRUE);
      return NULL;
    }
  return g_string_free(out, FALSE);
}

/* Matcher.matches(): the whole text. The pattern is first compiled alone, for errors in the user's terms. */
static GRegex *
_whole_regex(const char *pattern, GError **error)
{
  GRegex *check = g_regex_new(pattern, 0, 0, error);

  if (!check)
    return NULL;
  g_regex_unref(check);
  char *anchored = g_strdup_printf("\\A(?:%s)\\z", pattern);
  GRegex *regex = g_regex_new(anchored, G_REGEX_OPTIMIZE, 0, error);
  g_free(anchored);
  return regex;
}

static gboolean
_compile(RelaySyslogFormat *fmt, const RelaySyslogFormatKeys *keys, const char **bad_key, GError **error)
{
  *bad_key = "format.regex";
  if (!(fmt->regex = _whole_regex(keys->regex, error)))
    return FALSE;
  *bad_key = "format.search";
  if (keys->search && !keys->replace)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG,
                  "needs format.replace (Flume fails on every message without it)");
      return FALSE;
    }
  if (keys->search && !(fmt->search = g_regex_new(keys->search, G_REGEX_OPTIMIZE, 0, error)))
    return FALSE;
  *bad_key = "format.replace";
  if (fmt->search && !(fmt->replace = _java_replacement(keys->replace, fmt->search, error)))
    return FALSE;
  *bad_key = "format.dateFormat";
  return !keys->date_format
         || (fmt->date = relay_java_date_new(keys->date_format, g_get_real_time() / 1000, error)) != NULL;
}

RelaySyslogFormat *
relay_syslog_format_new(const RelaySyslogFormatKeys *keys, const char **bad_key, GError **error)
{
  RelaySyslogFormat *fmt = g_new0(RelaySyslogFormat, 1);

  if (_compile(fmt, keys, bad_key, error))
    return fmt;
  relay_syslog_format_free(fmt);
  return NULL;
}

gboolean
relay_syslog_format_configure(RelayComponent *self, const RelayComponentConfig *cc, RelayConfigReport *report,
                              const RelaySyslogFormatKeys *keys, RelaySyslogFormat **out)
{
  static const char *const others[] = { "format.search", "format.replace", "format.dateFormat" };
  const char *key = NULL;
  GError *error = NULL;

  *out = NULL;
  if (!keys->regex)
    {
      for (guint i = 0; i < G_N_ELEMENTS(others); i++)
        if (relay_component_config_get(cc, others[i]))
          relay_config_report_add(report, relay_component_config_get(cc, others[i]), cc->label, others[i],
                                  "has no effect without format.regex (as in Flume), ignored");
      return TRUE;
    }
  if ((*out = relay_syslog_format_new(keys, &key, &error)))
    return TRUE;
  relay_config_report_add(report, relay_component_config_get(cc, key), cc->label, key,
                          "%s; source %s removed", error->message, self->name);
  g_error_free(error);
  return FALSE;
}

void
relay_syslog_format_free(RelaySyslogFormat *self)
{
  if (!self)
    return;
  if (self->regex)
    g_regex_unref(self->regex);
  if (self->search)
    g_regex_unref(self->search);
  g_free(self->replace);
  relay_java_date_free(self->date);
  g_free(self);
}

/* ---- parsing ---- */

/* Group n of the match as pointer and length; FALSE when absent (or not in the pattern). */
static gboolean
_group(GMatchInfo *mi, const char *text, int n, const guint8 **p, gsize *len)
{
  int start = -1, end = -1;

  if (!g_match_info_fetch_pos(mi, n, &start, &end) || start < 0)
    return FALSE;
  *p = (const guint8 *)text + start;
  *len = (gsize)(end - start);
  return TRUE;
}

/* The timestamp group through search/replace and dateFormat into decimal epoch ms; FALSE if unreadable. */
static gboolean
_timestamp(const RelaySyslogFormat *self, const guint8 *stamp, gsize len, char out[24])
{
  gint64 ms = 0;
  gboolean ok;

  if (!self->date)
    return FALSE;
  if (self->search)
    {
      char *replaced
          = g_regex_replace(self->search, (const char *)stamp, (gssize)len, 0, self->replace, 0, NULL);
      ok = replaced && relay_java_date_parse(self->date, replaced, strlen(replaced), &ms);
      g_free(replaced);
    }
  else
    ok = relay_java_date_parse(self->date, (const char *)stamp, len, &ms);
  if (ok)
    g_snprintf(out, 24, "%" G_GINT64_FORMAT, ms);
  return ok;
}

#define _add relay_syslog_header

typedef struct
{
  const guint8 *msg; /* the bytes received: the body when group 5 is absent or keepFields is all */
  gsize len;
  const char *text; /* the message as valid UTF-8, which the groups point into */
  int pri;
} _Message;

static RelayEvent *
_event(const RelaySyslogFormat *self, GMatchInfo *mi, const _Message *m, guint keep, gboolean incomplete,
       const RelayHeader *extra, guint n_extra)
{
  RelaySyslogHeaders h = { .n = 0 };
  RelaySyslogFields f = { 0 };
  const char *text = m->text;
  const guint8 *prio = NULL, *body = m->msg;
  gsize prio_len = 0, body_len = m->len;
  int pri = m->pri;
  char facility[12], severity[12], stamp_ms[24];
  GString *kept = NULL;

  g_snprintf(facility, sizeof facility, "%d", pri / 8);
  g_snprintf(severity, sizeof severity, "%d", pri % 8);
  _add(&h, "Facility", facility, strlen(facility));
  _add(&h, "Severity", severity, strlen(severity));
  if (_group(mi, text, 1, &prio, &prio_len) && prio_len > 0)
    _add(&h, "priority", prio, prio_len);
  if (_group(mi, text, 2, &f.version, &f.version_len) && f.version_len > 0)
    _add(&h, "version", f.version, f.version_len);
  if (_group(mi, text, 3, &f.stamp, &f.stamp_len) && _timestamp(self, f.stamp, f.stamp_len, stamp_ms))
    _add(&h, "timestamp", stamp_ms, strlen(stamp_ms));
  if (_group(mi, text, 4, &f.host, &f.host_len) && f.host_len > 0)
    _add(&h, "host", f.host, f.host_len);
  if (incomplete)
    _add(&h, "flume.syslog.status", "Incomplete", strlen("Incomplete"));
  if (_group(mi, text, 5, &f.body, &f.body_len) && !(keep & RELAY_SYSLOG_KEEP_ALL))
    {
      if (keep)
        kept = relay_syslog_kept_body(keep, prio ? (const char *)prio : "null", prio ? prio_len : 4, &f);
      if (kept ? kept->len > 0 : f.body_len > 0)
        {
          body = kept ? (const guint8 *)kept->str : f.body;
          body_len = kept ? kept->len : f.body_len;
        }
    }
  RelayEvent *ev = relay_syslog_event(NULL, &h, extra, n_extra, body, body_len);
  if (kept)
    g_string_free(kept, TRUE);
  return ev;
}

RelayEvent *
relay_syslog_format_parse(const RelaySyslogFormat *self, const guint8 *msg, gsize len, guint keep,
                          gboolean incomplete, const RelayHeader *extra, guint n_extra, const char **status)
{
  int digits = relay_syslog_pri_digits(msg, len);

  if (digits <= 0)
    return NULL;
  _Message m = { msg, len, (const char *)msg, 0 };
  gsize text_len = len;
  char *valid = NULL;
  if (!g_utf8_validate_len(m.text, len, NULL))
    {
      m.text = valid = g_utf8_make_valid(m.text, (gssize)len);
      text_len = strlen(valid);
    }
  GMatchInfo *mi = NULL;
  RelayEvent *ev = NULL;
  if (g_regex_match_full(self->regex, m.text, (gssize)text_len, 0, 0, &mi, NULL))
    {
      for (int i = 1; i <= digits; i++)
        m.pri = m.pri * 10 + (msg[i] - '0');
      ev = _event(self, mi, &m, keep, incomplete, extra, n_extra);
      if (status)
        *status = incomplete ? "Incomplete" : NULL;
    }
  g_match_info_free(mi);
  g_free(valid);
  return ev;
}
