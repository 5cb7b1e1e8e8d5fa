/* sd_notify.c - systemd's notification protocol without libsystemd (see sd_notify.h).
 *
 * The protocol (systemd's src/libsystemd/sd-daemon/sd-daemon.c, man sd_notify(3)): one AF_UNIX datagram
 * per notification, holding newline-separated VAR=value assignments, sent to the socket named by
 * NOTIFY_SOCKET; a leading '@' names an abstract socket (the '@' becomes a NUL byte). */
#include "sd_notify.h"

#include "log.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int _fd = -1;
static struct sockaddr_un _addr;
static socklen_t _addr_len;
static guint64 _watchdog_usec;
static struct event *_watchdog_ev;

/* Fills _addr from NOTIFY_SOCKET; FALSE (logged) if it is not a usable socket name. */
static gboolean
_parse_address(const char *name)
{
  gsize len = strlen(name);

  memset(&_addr, 0, sizeof _addr);
  _addr.sun_family = AF_UNIX;
  if ((name[0] != '/' && name[0] != '@') || len < 2 || len >= sizeof _addr.sun_path)
    {
      relay_warn(NULL, "NOTIFY_SOCKET=%s is neither an absolute path nor an abstract name (@...); ignored",
                 name);
      return FALSE;
    }
  memcpy(_addr.sun_path, name, len);
  if (name[0] == '@')
    _addr.sun_path[0] = '\0';
  /* an abstract name is exactly len bytes long; a path includes its terminating NUL */
  _addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (name[0] == '@' ? 0 : 1));
  return TRUE;
}

/* WATCHDOG_USEC applies to us only when WATCHDOG_PID is unset or our pid (systemd's sd_watchdog_enabled). */
static guint64
_parse_watchdog(void)
{
  const char *usec = g_getenv("WATCHDOG_USEC");
  const char *pid = g_getenv("WATCHDOG_PID");
  guint64 value;

  if (!usec || !g_ascii_string_to_unsigned(usec, 10, 1, G_MAXUINT64 / 2, &value, NULL))
    return 0;
  if (pid)
    {
      guint64 p;
      if (!g_ascii_string_to_unsigned(pid, 10, 1, G_MAXINT32, &p, NULL) || (pid_t)p != getpid())
        return 0;
    }
  return value;
}

/* Main thread: the watchdog timer. */
static void
_on_watchdog(evutil_socket_t fd, short what, void *arg)
{
  relay_sd_notify("WATCHDOG=1");
}

gboolean
relay_sd_notify_init(struct event_base *base)
{
  const char *name = g_getenv("NOTIFY_SOCKET");

  if (name && _parse_address(name))
    _fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (name && _fd >= 0)
    _watchdog_usec = _parse_watchdog();
  g_unsetenv("NOTIFY_SOCKET"); /* before any thread or child exists */
  g_unsetenv("WATCHDOG_USEC");
  g_unsetenv("WATCHDOG_PID");
  if (_fd < 0)
    return FALSE;
  if (_watchdog_usec)
    {
      guint64 half = _watchdog_usec / 2;
      struct timeval tv = { (time_t)(half / G_USEC_PER_SEC), (suseconds_t)(half % G_USEC_PER_SEC) };
      _watchdog_ev = event_new(base, -1, EV_PERSIST, _on_watchdog, NULL);
      event_add(_watchdog_ev, &tv);
      relay_info(NULL, "systemd watchdog: WATCHDOG=1 every %" G_GUINT64_FORMAT " ms", half / 1000);
    }
  return TRUE;
}

void
relay_sd_notify_free(void)
{
  if (_watchdog_ev)
    event_free(_watchdog_ev);
  _watchdog_ev = NULL;
  if (_fd >= 0)
    close(_fd);
  _fd = -1;
  _watchdog_usec = 0;
}

guint64
relay_sd_notify_watchdog_usec(void)
{
  return _watchdog_usec;
}

gboolean
relay_sd_notify(const char *state)
{
  static RelayRateLimit rl = RELAY_RATELIMIT_INIT;

  if (_fd < 0)
    return FALSE;
  if (sendto(_fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&_addr, _addr_len) >= 0)
    return TRUE;
  relay_log_ratelimited(&rl, RELAY_LOG_WARN, NULL, "cannot notify systemd: %s", g_strerror(errno));
  return FALSE;
}

/* STATUS= takes one line: newlines would start another assignment. */
static char *
_status_line(const char *prefix, const char *status)
{
  char *line = g_strdup_printf("%sSTATUS=%s", prefix, status ? status : "");

  for (char *p = line + strlen(prefix); *p; p++)
    if (*p == '\n' || *p == '\r')
      *p = ' ';
  return line;
}

void
relay_sd_notify_ready(const char *status)
{
  char *msg = _status_line("READY=1\n", status);

  relay_sd_notify(msg);
  g_free(msg);
}

void
relay_sd_notify_status(const char *status)
{
  char *msg = _status_line("", status);

  relay_sd_notify(msg);
  g_free(msg);
}

void
relay_sd_notify_reloading(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  guint64 usec = (guint64)ts.tv_sec * G_USEC_PER_SEC + (guint64)ts.tv_nsec / 1000;
  char *msg = g_strdup_printf("RELOADING=1\nMONOTONIC_USEC=%" G_GUINT64_FORMAT "\nSTATUS=reloading", usec);
  relay_sd_notify(msg);
  g_free(msg);
}

void
relay_sd_notify_stopping(void)
{
  relay_sd_notify("STOPPING=1\nSTATUS=stopping");
}

void
relay_sd_notify_around_reload(void (*reload)(gpointer data), gpointer data, const char *status_after)
{
  relay_sd_notify_reloading();
  reload(data);
  relay_sd_notify_ready(status_after);
}
