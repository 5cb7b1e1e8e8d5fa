/* source_syslog_udp.c - Flume's syslogudp source: one syslog message per UDP datagram.
 *
 * Keys as Flume's SyslogUDPSource (flume-ng-core/src/main/java/org/apache/flume/source/SyslogUDPSource.java):
 * host, port, keepFields, clientIPHeader, clientHostnameHeader. A datagram is one message (up to 64 KiB);
 * leading '\n's are skipped and a '\n' or NUL ends it (the rest of the datagram is ignored, as Flume); an
 * empty datagram counts as EventReadFail. Parsing and headers as syslogtcp (syslog_parse.h), with Flume's
 * format.* custom format tried first (syslog_format.h).
 *
 * UDP cannot push back: the datagrams found readable at once (at most 100, or the channels' smallest
 * transactionCapacity) are put as one batch in one attempt; when the channel is full they are dropped and
 * counted (ChannelWriteFail per batch, relayd's EventFailed per event, a rate-limited warning). Datagrams
 * the kernel drops while relayd is busy are not seen.
 *
 * clientHostnameHeader never blocks the loop: the name comes from /etc/hosts, the cache or an evdns query
 * (rdns.h). The messages of a sender whose name is being looked up wait (at most clientHostnameTimeout ms,
 * then they carry the IP, as when the lookup fails) and are put as one batch when it is known; at most
 * RELAY_SYSLOG_UDP_WAIT_MAX messages wait in all, more go at once with the IP as the name.
 *
 * Threads: everything runs on the main loop. */
#include "relay.h"

#include "channel.h"
#include "channel_processor.h"
#include "counters.h"
#include "event.h"
#include "log.h"
#include "net.h"
#include "source.h"
#include "source_syslog.h"
#include "syslog_format.h"
#include "syslog_parse.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define RELAY_SYSLOG_UDP_MAX 65536
#define RELAY_SYSLOG_UDP_BATCH 100
#define RELAY_SYSLOG_UDP_WAIT_MAX 10000

typedef struct
{
  RelaySource super;
  char *host;
  gint64 port;
  char *keep_fields;
  char *ip_header, *host_header;
  gint64 event_size_ignored;
  RelaySyslogRdnsKeys rdns_keys;
  RelaySyslogFormatKeys format_keys;

  guint keep;
  RelaySyslogFormat *format; /* format.* when format.regex is set */
  RelayRdns *rdns;           /* when clientHostnameHeader is set */
  GHashTable *waiting;       /* ip -> _Waiting: messages of senders whose name is looked up */
  guint n_waiting;           /* messages in them */
  evutil_socket_t fd;
  struct event *ev;
  guint8 *buf; /* RELAY_SYSLOG_UDP_MAX + 1 bytes */
  guint batch_max;
  struct sockaddr_storage last_peer; /* cache for the IP text */
  socklen_t last_peer_len;
  char ip[RELAY_SYSLOG_HOST_MAX], hostname[RELAY_SYSLOG_HOST_MAX];
  RelayRateLimit rl_status, rl_dropped, rl_error;
} SyslogUdpSource;

static const RelayOption _udp_options[] = {
  RELAY_OPT_STRING_ROW("host", "0.0.0.0", SyslogUdpSource, host, 0,
                       "address to listen on (host name, IP literal, 0.0.0.0 for all)"),
  RELAY_OPT_INT_ROW("port", NULL, 0, 65535, SyslogUdpSource, port, RELAY_OPTF_REQUIRED,
                    "UDP port (0: the system chooses; see the 'listening' log line)"),
  RELAY_OPT_STRING_ROW(
      "keepFields", "none", SyslogUdpSource, keep_fields, 0,
      "none, all, or any of priority version timestamp hostname: header fields kept in the body"),
  RELAY_OPT_STRING_ROW("clientIPHeader", NULL, SyslogUdpSource, ip_header, 0,
                       "header that receives the sender's IP address"),
  RELAY_OPT_STRING_ROW("clientHostnameHeader", NULL, SyslogUdpSource, host_header, 0,
                       "header that receives the sender's host name (/etc/hosts or a reverse DNS lookup, "
                       "cached; messages wait for it)"),
  RELAY_SYSLOG_RDNS_ROWS(SyslogUdpSource, rdns_keys),
  RELAY_OPT_INT_ROW("eventSize", NULL, 1, 1000000000, SyslogUdpSource, event_size_ignored, RELAY_OPTF_IGNORED,
                    "Flume's syslogudp does not read it either: a datagram (up to 64 KiB) is one message"),
  RELAY_SYSLOG_FORMAT_ROWS(SyslogUdpSource, format_keys),
  RELAY_OPTION_END,
};

/* The message in a datagram: after leading '\n's, up to the first '\n' or NUL. */
static const guint8 *
_message(const guint8 *buf, gsize len, gsize *msg_len)
{
  gsize start = 0;

  while (start < len && buf[start] == '\n')
    start++;
  gsize end = start;
  while (end < len && buf[end] != '\n' && buf[end] != '\0')
    end++;
  *msg_len = end - start;
  return buf + start;
}

static void
_put(SyslogUdpSource *src, GPtrArray *batch)
{
  guint n = batch->len;
  RelaySourceCounters *counters = &src->super.counters;

  relay_counter_add(&counters->event_received, n);
  RelayPutResult result = relay_channel_processor_put(src->super.cp, batch);
  if (result == RELAY_PUT_OK)
    relay_counter_add(&counters->event_accepted, n);
  else
    {
      relay_counter_add(&counters->event_failed, n);
      relay_log_ratelimited(&src->rl_dropped, RELAY_LOG_WARN, src->super.super.log_prefix,
                            "datagrams dropped (UDP cannot wait) events=%u result=%s", n,
                            relay_put_result_name(result));
    }
}

/* The messages of one sender waiting for its name. */
typedef struct
{
  SyslogUdpSource *src;
  RelayRdnsWaiter waiter;
  char *ip;
  GPtrArray *events; /* built without the host name header */
} _Waiting;

static void
_waiting_free(gpointer data)
{
  _Waiting *w = data;

  relay_rdns_cancel(w->src->rdns, &w->waiter);
  w->src->n_waiting -= w->events->len;
  g_ptr_array_unref(w->events);
  g_free(w->ip);
  g_free(w);
}

static void
_on_name(const char *name, gpointer user_data)
{
  _Waiting *w = user_data;
  SyslogUdpSource *src = w->src;
  GPtrArray *events = w->events;

  for (guint i = 0; i < events->len; i++)
    events->pdata[i] = relay_event_with_header(events->pdata[i], src->host_header, name);
  w->events = g_ptr_array_new();
  src->n_waiting -= events->len;
  g_hash_table_remove(src->waiting, w->ip);
  _put(src, events);
  g_ptr_array_unref(events);
}

/* The messages of ip wait for its name: a new or existing group, or NULL when the name is known now (in
 * src->hostname) or nothing more may wait. */
static _Waiting *
_waiting_for(SyslogUdpSource *src, const char *ip)
{
  _Waiting *w = g_hash_table_lookup(src->waiting, ip);

  if (w || src->n_waiting >= RELAY_SYSLOG_UDP_WAIT_MAX)
    {
      if (!w)
        g_strlcpy(src->hostname, ip, sizeof src->hostname);
      return w;
    }
  w = g_new0(_Waiting, 1);
  w->src = src;
  w->waiter = (RelayRdnsWaiter){ .done = _on_name, .user_data = w };
  const char *name = relay_rdns_lookup(src->rdns, ip, &w->waiter);
  if (name)
    {
      g_strlcpy(src->hostname, name, sizeof src->hostname);
      g_free(w);
      return NULL;
    }
  w->ip = g_strdup(ip);
  w->events = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  g_hash_table_insert(src->waiting, w->ip, w);
  return w;
}

/* Fills extra with the sender's headers; *wait receives the group the message must join (its host name
 * header is added when the name is known), else NULL. */
static guint
_peer_headers(SyslogUdpSource *src, const struct sockaddr_storage *peer, socklen_t peer_len,
              RelayHeader *extra, _Waiting **wait)
{
  gboolean want_ip = src->ip_header && *src->ip_header;
  guint n = 0;

  *wait = NULL;
  if (!want_ip && !src->rdns)
    return 0;
  if (peer_len != src->last_peer_len || memcmp(peer, &src->last_peer, peer_len) != 0)
    {
      relay_syslog_peer_ip((const struct sockaddr *)peer, peer_len, src->ip);
      memcpy(&src->last_peer, peer, peer_len);
      src->last_peer_len = peer_len;
    }
  if (want_ip)
    extra[n++]
        = (RelayHeader){ src->ip_header, src->ip, (guint32)strlen(src->ip_header), (guint32)strlen(src->ip) };
  if (src->rdns && !(*wait = _waiting_for(src, src->ip)))
    extra[n++] = (RelayHeader){ src->host_header, src->hostname, (guint32)strlen(src->host_header),
                                (guint32)strlen(src->hostname) };
  return n;
}

/* Reads what is readable now, up to batch_max datagrams, and puts them as one batch. */
static void
_on_readable(evutil_socket_t fd, short what, void *arg)
{
  SyslogUdpSource *src = arg;
  GPtrArray *batch = g_ptr_array_new_full(16, relay_event_unref_notify);
  gint64 now_ms = g_get_real_time() / 1000;
  char peer_text[RELAY_NET_PEER_MAX];

  (void)what;
  while (batch->len < src->batch_max)
    {
      struct sockaddr_storage peer;
      socklen_t peer_len = sizeof peer;
      ssize_t n = recvfrom(fd, src->buf, RELAY_SYSLOG_UDP_MAX, 0, (struct sockaddr *)&peer, &peer_len);
      if (n < 0)
        {
          if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            relay_log_ratelimited(&src->rl_error, RELAY_LOG_WARN, src->super.super.log_prefix,
                                  "recvfrom failed: %s", g_strerror(errno));
          break;
        }
      relay_counter_add(&src->super.counters.bytes_received, n);
      RelayHeader extra[2];
      _Waiting *wait = NULL;
      guint n_extra = _peer_headers(src, &peer, peer_len, extra, &wait);
      gsize msg_len = 0;
      const guint8 *msg = _message(src->buf, (gsize)n, &msg_len);
      const char *status = NULL;
      gboolean cut = msg_len >= RELAY_SYSLOG_UDP_MAX;
      RelayEvent *ev = src->format ? relay_syslog_format_parse(src->format, msg, msg_len, src->keep, cut,
                                                               extra, n_extra, &status)
                                   : NULL;
      if (!ev)
        ev = relay_syslog_parse(NULL, msg, msg_len, src->keep, cut, now_ms, extra, n_extra, &status);
      if (!ev)
        {
          relay_counter_inc(&src->super.counters.event_read_fail);
          continue;
        }
      if (status)
        {
          relay_net_format_peer((const struct sockaddr *)&peer, peer_len, peer_text, sizeof peer_text);
          relay_syslog_note_status(&src->super, &src->rl_status, status, ev, peer_text);
        }
      if (wait)
        src->n_waiting++;
      g_ptr_array_add(wait ? wait->events : batch, ev);
    }
  if (batch->len > 0)
    _put(src, batch);
  g_ptr_array_unref(batch);
}

static gboolean
_configure(RelayComponent *self, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  SyslogUdpSource *src = (SyslogUdpSource *)self;
  RelayRateLimit limit = RELAY_RATELIMIT_INIT;

  src->rl_status = limit;
  src->rl_dropped = limit;
  src->rl_error = limit;
  src->keep = relay_syslog_keep_fields(src->keep_fields);
  src->fd = -1;
  return relay_syslog_rdns_configure(self, cc, report, &src->rdns_keys)
         && relay_syslog_format_configure(self, cc, report, &src->format_keys, &src->format);
}

static guint
_batch_max(SyslogUdpSource *src)
{
  gint64 max = RELAY_SYSLOG_UDP_BATCH;
  GPtrArray *channels = relay_channel_processor_channels(src->super.cp);

  for (guint i = 0; i < channels->len; i++)
    max = MIN(max, RELAY_CHANNEL(g_ptr_array_index(channels, i))->transaction_capacity);
  return (guint)MAX(max, 1);
}

static gboolean
_bind(SyslogUdpSource *src, GError **error)
{
  struct sockaddr_storage addr;
  socklen_t addr_len;
  int one = 1;

  if (!relay_net_resolve(src->host, src->port, &addr, &addr_len, error))
    return FALSE;
  src->fd = socket(addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (src->fd < 0 || setsockopt(src->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0
      || bind(src->fd, (struct sockaddr *)&addr, addr_len) != 0)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "cannot bind UDP %s:%" G_GINT64_FORMAT ": %s",
                  src->host, src->port, g_strerror(errno));
      return FALSE;
    }
  struct sockaddr_storage bound;
  socklen_t bound_len = sizeof bound;
  guint port = (guint)src->port;
  if (getsockname(src->fd, (struct sockaddr *)&bound, &bound_len) == 0)
    port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                             : ((struct sockaddr_in *)&bound)->sin_port);
  relay_info(src->super.super.log_prefix, "listening bind=%s port=%u", src->host, port);
  return TRUE;
}

static gboolean
_start(RelayComponent *self, GError **error)
{
  SyslogUdpSource *src = (SyslogUdpSource *)self;

  if (!src->super.cp || !src->super.base)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_STATE,
                  "%s: started without channel processor or event loop", self->log_prefix);
      return FALSE;
    }
  if (src->host_header && *src->host_header)
    {
      if (!(src->rdns = relay_syslog_rdns_new(&src->super, &src->rdns_keys, error)))
        return FALSE;
      src->waiting = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, _waiting_free);
    }
  if (!_bind(src, error))
    return FALSE;
  src->batch_max = _batch_max(src);
  src->buf = g_malloc(RELAY_SYSLOG_UDP_MAX + 1);
  src->ev = event_new(src->super.base, src->fd, EV_READ | EV_PERSIST, _on_readable, src);
  event_add(src->ev, NULL);
  return TRUE;
}

static void
_stop(RelayComponent *self)
{
  SyslogUdpSource *src = (SyslogUdpSource *)self;

  if (src->ev)
    event_free(src->ev);
  src->ev = NULL;
  if (src->fd >= 0)
    close(src->fd);
  src->fd = -1;
  g_clear_pointer(&src->buf, g_free);
  if (src->waiting)
    {
      /* Messages still waiting for their sender's name go with the IP. */
      GList *groups = g_hash_table_get_values(src->waiting);
      for (GList *i = groups; i; i = i->next)
        _on_name(((_Waiting *)i->data)->ip, i->data);
      g_list_free(groups);
    }
  g_clear_pointer(&src->waiting, g_hash_table_destroy);
  g_clear_pointer(&src->rdns, relay_rdns_free);
}

static void
_free(RelayComponent *self)
{
  relay_syslog_format_free(((SyslogUdpSource *)self)->format);
}

/* For --check: the port must be free now. */
static gboolean
_check_start(RelayComponent *self, GError **error)
{
  SyslogUdpSource *src = (SyslogUdpSource *)self;
  struct sockaddr_storage addr;
  socklen_t addr_len;

  if (!relay_net_resolve(src->host, src->port, &addr, &addr_len, error))
    return FALSE;
  if (src->port == 0)
    return TRUE;
  int fd = socket(addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  gboolean ok = fd >= 0 && bind(fd, (struct sockaddr *)&addr, addr_len) == 0;
  if (!ok)
    g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "cannot bind UDP %s:%" G_GINT64_FORMAT ": %s", src->host,
                src->port, g_strerror(errno));
  if (fd >= 0)
    close(fd);
  return ok;
}

const RelayComponentClass relay_source_syslogudp_class = {
  .kind = RELAY_KIND_SOURCE,
  .type = "syslogudp",
  .flume_class = "org.apache.flume.source.SyslogUDPSource",
  .description = "syslog messages (RFC 3164, RFC 5424), one per UDP datagram",
  .options = _udp_options,
  .instance_size = sizeof(SyslogUdpSource),
  .configure = _configure,
  .start = _start,
  .free = _free,
  .stop = _stop,
  .check_start = _check_start,
};
