/* log_target.c - where log lines go besides stderr (issue 15): syslog and the systemd journal.
 *
 * syslog: one datagram per line to /dev/log in the traditional BSD format that glibc's syslog(3) writes
 * ("<PRI>Mmm dd hh:mm:ss relayd[PID]: [component] message", PRI = facility | severity). It is written here
 * rather than with syslog(3) because syslog(3) blocks when the syslog daemon stops reading (relayd logs from
 * its event loop, which must never block) and cannot be pointed at another socket (for a chroot, or a test).
 *
 * journal: systemd-journald's native protocol (systemd's src/journal/journald-native.c): one datagram to
 * /run/systemd/journal/socket of FIELD=value lines (a value holding a newline is sent as FIELD, newline,
 * its length as 64-bit little endian, the bytes, newline). Fields: MESSAGE ("[component] text"), PRIORITY,
 * SYSLOG_IDENTIFIER=relayd, SYSLOG_FACILITY, RELAYD_LEVEL, COMPONENT ("source:netcat:r1") and one field per
 * key=value detail of the message, its key in upper case (peer=... -> PEER=...; a key that would clash with
 * the journal's own fields gets DETAIL_ in front).
 *
 * Both sockets are non-blocking; a line that cannot be sent (nobody listens, the socket is full) goes to
 * stderr, which the service manager keeps too. Called under log.c's lock, from any thread; the target can
 * change while other threads log (a reload): relay_log_set_target() swaps it under that lock. */
#include "log.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define RELAY_SYSLOG_SOCKET "/dev/log"
#define RELAY_JOURNAL_SOCKET "/run/systemd/journal/socket"
#define RELAY_LOG_MAX_MESSAGE (48 * 1024) /* longer messages are cut: a datagram has a size limit */

static int _fd = -1;
static struct sockaddr_un _addr;
static socklen_t _addr_len;
static int _facility = LOG_DAEMON;
static GString *_buf; /* the datagram being built (under log.c's lock) */

/* syslog severities of ERROR, WARN, INFO, DEBUG, TRACE */
static const int _priorities[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG, LOG_DEBUG };

static const char *const _target_names[] = { "stderr", "syslog", "journal" };

const char *
relay_log_target_name(RelayLogTarget target)
{
  return (guint)target < G_N_ELEMENTS(_target_names) ? _target_names[target] : "?";
}

gboolean
relay_log_parse_target(const char *text, RelayLogTarget *target)
{
  for (gsize i = 0; text && i < G_N_ELEMENTS(_target_names); i++)
    if (g_ascii_strcasecmp(text, _target_names[i]) == 0)
      {
        *target = (RelayLogTarget)i;
        return TRUE;
      }
  return FALSE;
}

gboolean
relay_log_parse_facility(const char *text, int *facility)
{
  static const struct
  {
    const char *name;
    int value;
  } names[] = {
    { "kern", LOG_KERN },     { "user", LOG_USER },         { "mail", LOG_MAIL },
    { "daemon", LOG_DAEMON }, { "auth", LOG_AUTH },         { "syslog", LOG_SYSLOG },
    { "lpr", LOG_LPR },       { "news", LOG_NEWS },         { "uucp", LOG_UUCP },
    { "cron", LOG_CRON },     { "authpriv", LOG_AUTHPRIV }, { "ftp", LOG_FTP },
    { "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },     { "local2", LOG_LOCAL2 },
    { "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 },     { "local5", LOG_LOCAL5 },
    { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
  };

  for (gsize i = 0; text && i < G_N_ELEMENTS(names); i++)
    if (g_ascii_strcasecmp(text, names[i].name) == 0)
      {
        *facility = names[i].value;
        return TRUE;
      }
  return FALSE;
}

static int
_priority(RelayLogLevel level)
{
  return _priorities[MIN((guint)level, G_N_ELEMENTS(_priorities) - 1)];
}

static gboolean
_send(void)
{
  return sendto(_fd, _buf->str, _buf->len, MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *)&_addr, _addr_len)
         >= 0;
}

/* body, cut at RELAY_LOG_MAX_MESSAGE bytes */
static void
_append_body(GString *out, const char *body)
{
  g_string_append_len(out, body, (gssize)strnlen(body, RELAY_LOG_MAX_MESSAGE));
}

static gboolean
_write_syslog(RelayLogLevel level, const char *prefix, const char *body)
{
  char stamp[32];
  time_t now = time(NULL);
  struct tm tm;

  localtime_r(&now, &tm);
  strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm);
  g_string_printf(_buf, "<%d>%s relayd[%d]: ", _facility | _priority(level), stamp, (int)getpid());
  _append_body(_buf, body);
  return _send();
}

/* FIELD=value, or the binary form when value holds a newline. */
static void
_journal_field(GString *out, const char *field, const char *value, gssize len)
{
  gsize n = len < 0 ? strlen(value) : (gsize)len;

  if (!memchr(value, '\n', n))
    {
      g_string_append_printf(out, "%s=", field);
      g_string_append_len(out, value, (gssize)n);
      g_string_append_c(out, '\n');
      return;
    }
  guint64 le = GUINT64_TO_LE((guint64)n);
  g_string_append_printf(out, "%s\n", field);
  g_string_append_len(out, (const char *)&le, sizeof le);
  g_string_append_len(out, value, (gssize)n);
  g_string_append_c(out, '\n');
}

/* A journal field name for a detail key: upper case, [A-Z0-9_], not clashing with the journal's fields. */
static char *
_field_name(const char *key, gsize len)
{
  static const char *const reserved[]
      = { "MESSAGE",   "MESSAGE_ID", "PRIORITY",   "CODE_",         "ERRNO",
          "SYSLOG_",   "TID",        "UNIT",       "USER_",         "OBJECT_",
          "COMPONENT", "COREDUMP",   "INVOCATION", "DOCUMENTATION", "RELAYD_LEVEL" };
  GString *name = g_string_sized_new(len + 8);

  for (gsize i = 0; i < len && name->len < 56; i++)
    g_string_append_c(name, g_ascii_isalnum(key[i]) ? g_ascii_toupper(key[i]) : '_');
  for (gsize i = 0; i < G_N_ELEMENTS(reserved); i++)
    if (g_str_has_prefix(name->str, reserved[i]))
      {
        g_string_prepend(name, "DETAIL_");
        break;
      }
  return g_string_free(name, FALSE);
}

/* Where the next " key=" starts in text (a key: a letter, then letters, digits, '_', '.', '-'), or NULL. */
static const char *
_next_detail(const char *text, const char **eq)
{
  for (const char *p = text; (p = strchr(p, ' ')); p++)
    {
      const char *k = p + 1;
      if (!g_ascii_isalpha(*k))
        continue;
      const char *q = k;
      while (g_ascii_isalnum(*q) || *q == '_' || *q == '.' || *q == '-')
        q++;
      if (*q == '=')
        {
          *eq = q;
          return k;
        }
    }
  return NULL;
}

/* One field per key=value of body; a value runs to the next " key=" (or is "quoted"). */
static void
_journal_details(GString *out, const char *body)
{
  char *text = g_strconcat(" ", body, NULL); /* so that a key at the very start is found too */
  const char *eq = NULL, *key;

  if (strlen(text) > RELAY_LOG_MAX_MESSAGE)
    text[RELAY_LOG_MAX_MESSAGE] = '\0';
  key = _next_detail(text, &eq);
  while (key)
    {
      const char *value = eq + 1, *next_eq = NULL;
      const char *next = _next_detail(value, &next_eq);
      const char *end = next ? next - 1 : value + strlen(value);
      if (*value == '"' && end - value >= 2 && end[-1] == '"')
        {
          value++;
          end--;
        }
      char *field = _field_name(key, (gsize)(eq - key));
      _journal_field(out, field, value, end - value);
      g_free(field);
      key = next;
      eq = next_eq;
    }
  g_free(text);
}

static gboolean
_write_journal(RelayLogLevel level, const char *prefix, const char *body)
{
  gsize prefix_len = prefix ? strlen(prefix) + 3 : 0; /* body starts with "[prefix] " */

  g_string_truncate(_buf, 0);
  _journal_field(_buf, "MESSAGE", body, (gssize)strnlen(body, RELAY_LOG_MAX_MESSAGE));
  g_string_append_printf(_buf, "PRIORITY=%d\nSYSLOG_FACILITY=%d\nSYSLOG_IDENTIFIER=relayd\nRELAYD_LEVEL=%s\n",
                         _priority(level), _facility >> 3, relay_log_level_name(level));
  if (prefix)
    _journal_field(_buf, "COMPONENT", prefix, -1);
  _journal_details(_buf, strlen(body) >= prefix_len ? body + prefix_len : body);
  return _send();
}

gboolean
relay_log_set_target(RelayLogTarget target, int facility, const char *socket_path, GError **error)
{
  const char *path = socket_path
                         ? socket_path
                         : (target == RELAY_LOG_TARGET_JOURNAL ? RELAY_JOURNAL_SOCKET : RELAY_SYSLOG_SOCKET);
  int fd = -1;

  if (target != RELAY_LOG_TARGET_STDERR)
    {
      if (strlen(path) >= sizeof _addr.sun_path)
        {
          g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "socket path %s is too long", path);
          return FALSE;
        }
      fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (fd < 0)
        {
          g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "cannot create a socket: %s", g_strerror(errno));
          return FALSE;
        }
      int sndbuf = 8 * 1024 * 1024; /* as large as the kernel allows: long messages fit */
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    }
  relay_log_set_writer(NULL); /* takes the log's lock: no line is being written below */
  if (_fd >= 0)
    close(_fd);
  _fd = fd;
  _facility = facility;
  if (!_buf)
    _buf = g_string_sized_new(512);
  memset(&_addr, 0, sizeof _addr);
  _addr.sun_family = AF_UNIX;
  if (fd >= 0)
    {
      g_strlcpy(_addr.sun_path, path, sizeof _addr.sun_path);
      _addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
    }
  if (target == RELAY_LOG_TARGET_SYSLOG)
    relay_log_set_writer(_write_syslog);
  else if (target == RELAY_LOG_TARGET_JOURNAL)
    relay_log_set_writer(_write_journal);
  return TRUE;
}
