/* source_syslog.c - Flume's syslogtcp and multiport_syslogtcp sources: syslog messages over TCP.
 *
 * Keys and defaults as Flume's SyslogTcpSource and MultiportSyslogTCPSource (flume-ng-core/src/main/java/
 * org/apache/flume/source/): host, port (syslogtcp) or ports (multiport, a whitespace-separated list),
 * eventSize (2500), keepFields (none), clientIPHeader, clientHostnameHeader, and for multiport batchSize
 * (100), readBufferBytes (also spelled readBufferSize, as Flume's user guide does), charset.default and
 * charset.port.<port>, portHeader. syslogtcp parses messages as Flume's SyslogUtils does (syslog_parse.h),
 * after Flume's format.* custom format (syslog_format.h); multiport as Flume's SyslogParser does, with its
 * own headers (syslog_multiport.h).
 *
 * Framing: '\n' as Flume, and also RFC 6587 octet counting ("LEN SP MSG", detected per message by a leading
 * non-zero digit) and NUL (Python's SysLogHandler), which Flume does not know. A message over eventSize
 * bytes is cut there (flume.syslog.status=Incomplete); the rest of a '\n'-framed message becomes the next
 * message, as in Flume, while the rest of an octet-counted frame is skipped. A partial message left when
 * the peer closes is delivered, marked Incomplete.
 *
 * Differences from Flume, on purpose:
 *  - The messages found in one read are put as one batch (at most batchSize, also for syslogtcp), one
 *    transaction per channel.
 *  - Backpressure instead of loss: while a put waits for channel room, or is retried after the channel
 *    stayed full (every 100 ms), the connection is not read, so the sender's TCP window closes. Flume drops
 *    the event and counts ChannelWriteFail; relayd counts ChannelWriteFail per failed attempt and delivers
 *    the batch later. A connection buffers at most MAX(readBufferBytes, 2 * eventSize + 16, 64 KiB) bytes.
 *  - Invalid and Incomplete messages are delivered (as Flume) and also counted as EventReadFail with a
 *    rate-limited warning. Nothing a peer sends closes its connection; max-connections (relayd's own,
 *    default 512) refuses more connections with a counter and a rate-limited warning (net.c).
 *  - A port of multiport_syslogtcp that cannot be bound fails the start (Flume logs it and runs without).
 *  - Bodies are the bytes received; a charset must encode ASCII as ASCII (see relay_syslog_charset_ok).
 *  - clientHostnameHeader never blocks the loop (Flume's getHostName blocks its thread): the name comes from
 *    /etc/hosts, the cache or an evdns query (rdns.h); a new connection is not read until its name is known,
 *    at most clientHostnameTimeout ms, after which it is named by its IP (as when the lookup fails).
 *  - TLS (relayd's own, the keys of every TLS source, tls.h): RFC 5425 syslog over TLS, octet-counted or
 *    '\n'-framed, as rsyslog's gtls/ossl drivers and syslog-ng send it; with ssl-client-auth, ssl-allowed-
 *    subjects and ssl-peer-header. Every port of multiport_syslogtcp is TLS then. A plaintext port closes a
 *    client that starts a TLS handshake (counted as tls-on-plaintext-port) instead of storing it as garbage.
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
#include "syslog_multiport.h"
#include "syslog_parse.h"

#include <netdb.h>
#include <string.h>

#include <event2/buffer.h>

#define RELAY_SYSLOG_READ_BUFFER (64 * 1024)
#define RELAY_SYSLOG_MAX_EVENT_SIZE (64 * 1024 * 1024)
#define RELAY_SYSLOG_RETRY_MS 100

typedef struct _SyslogTcpSource SyslogTcpSource;

/* One listening port (multiport has several). */
typedef struct
{
  SyslogTcpSource *source;
  RelayNetServer *server;
  gint64 port; /* configured */
  char *charset;
  gboolean utf8;     /* invalid UTF-8 makes a message Invalid (multiport, as Flume's decoder) */
  char port_text[8]; /* the bound port, for portHeader */
} SyslogPort;

struct _SyslogTcpSource
{
  RelaySource super;
  char *host;
  gint64 port;
  char *ports;
  gint64 event_size;
  char *keep_fields;
  char *ip_header, *host_header, *port_header;
  gint64 batch_size;
  gint64 read_buffer, read_buffer_ug;
  char *charset_default;
  gint64 num_processors;
  gint64 max_connections;
  RelaySyslogRdnsKeys rdns_keys;
  RelayTlsOptions tls;
  RelaySyslogFormatKeys format_keys;

  RelayTls *tls_ctx;
  RelaySyslogFormat *format; /* syslogtcp's format.* when format.regex is set */
  RelayEventArena *arena;    /* every connection's events (main loop) */
  guint keep;
  RelayRdns *rdns;      /* when clientHostnameHeader is set */
  GPtrArray *listeners; /* SyslogPort* */
  guint batch_max;
  RelayRateLimit rl_status, rl_eof_lost;
};

typedef struct
{
  SyslogTcpSource *source;
  SyslogPort *port;
  RelayNetConn *conn;
  RelayPutRequest *pending;
  GPtrArray *retained; /* references to the events in flight, put again after FULL */
  struct event *retry;
  gsize skip; /* bytes of an oversized octet-counted frame still to discard */
  gboolean submitting;
  gboolean put_paused;      /* reading is paused for the batch in sc->retained */
  gboolean peer_header_set; /* ssl-peer-header was looked at (after the handshake) */
  RelayHeader extra[4];
  guint n_extra;
  RelayRdnsWaiter waiter; /* reading waits for the peer's name */
  char ip[RELAY_SYSLOG_HOST_MAX], hostname[RELAY_SYSLOG_HOST_MAX];
} SyslogConn;

/* clang-format off */
#define _COMMON_ROWS                                                                                          \
  RELAY_OPT_STRING_ROW("host", "0.0.0.0", SyslogTcpSource, host, 0,                                           \
                       "address to listen on (host name, IP literal, 0.0.0.0 for all)"),                      \
  RELAY_OPT_INT_ROW("eventSize", "2500", 1, RELAY_SYSLOG_MAX_EVENT_SIZE, SyslogTcpSource, event_size, 0,      \
                    "longest message in bytes (at least 10); longer ones are cut and marked Incomplete"),     \
  RELAY_OPT_STRING_ROW("keepFields", "none", SyslogTcpSource, keep_fields, 0,                                 \
                       "none, all, or any of priority version timestamp hostname: header fields kept in the " \
                       "body"),                                                                               \
  RELAY_OPT_STRING_ROW("clientIPHeader", NULL, SyslogTcpSource, ip_header, 0,                                 \
                       "header that receives the client's IP address"),                                      \
  RELAY_OPT_STRING_ROW("clientHostnameHeader", NULL, SyslogTcpSource, host_header, 0,                         \
                       "header that receives the client's host name (/etc/hosts or a reverse DNS lookup, "    \
                       "cached; the connection is read once it is known)"),                                   \
  RELAY_SYSLOG_RDNS_ROWS(SyslogTcpSource, rdns_keys),                                                         \
  RELAY_OPT_INT_ROW("max-connections", "512", 1, 1000000, SyslogTcpSource, max_connections, 0,                \
                    "relayd: concurrent connections; more are closed at once with a warning"),        \
  RELAY_TLS_SERVER_OPTIONS(SyslogTcpSource, tls)
/* clang-format on */

static const RelayOption _tcp_options[] = {
  _COMMON_ROWS,
  RELAY_OPT_INT_ROW("port", NULL, 0, 65535, SyslogTcpSource, port, RELAY_OPTF_REQUIRED,
                    "TCP port (0: the system chooses; see the 'listening' log line)"),
  RELAY_OPT_INT_ROW("batchSize", "100", 1, 100000, SyslogTcpSource, batch_size, RELAY_OPTF_BATCH_SIZE,
                    "relayd: most messages put in one transaction (Flume's syslogtcp puts one at a time)"),
  RELAY_SYSLOG_FORMAT_ROWS(SyslogTcpSource, format_keys),
  RELAY_OPTION_END,
};

static const RelayOption _multiport_options[] = {
  _COMMON_ROWS,
  RELAY_OPT_STRING_ROW("ports", NULL, SyslogTcpSource, ports, RELAY_OPTF_REQUIRED,
                       "TCP ports, separated by spaces (0: the system chooses)"),
  RELAY_OPT_INT_ROW("batchSize", "100", 1, 100000, SyslogTcpSource, batch_size, RELAY_OPTF_BATCH_SIZE,
                    "most messages put in one transaction"),
  RELAY_OPT_INT_ROW(
      "readBufferBytes", "1024", 1, RELAY_SYSLOG_MAX_EVENT_SIZE, SyslogTcpSource, read_buffer, 0,
      "bytes buffered per connection before reading pauses (at least 64 KiB and twice eventSize)"),
  RELAY_OPT_INT_ROW("readBufferSize", NULL, 1, RELAY_SYSLOG_MAX_EVENT_SIZE, SyslogTcpSource, read_buffer_ug,
                    0, "the user guide's name of readBufferBytes (which wins when both are set)"),
  RELAY_OPT_STRING_ROW("charset.default", "UTF-8", SyslogTcpSource, charset_default, 0,
                       "character set of the messages (one that encodes ASCII as ASCII; bodies are the bytes "
                       "received); charset.port.<port> sets it per port"),
  RELAY_OPT_STRING_ROW("portHeader", NULL, SyslogTcpSource, port_header, 0,
                       "header that receives the local port the message arrived on"),
  RELAY_OPT_INT_ROW("numProcessors", NULL, 1, 1024, SyslogTcpSource, num_processors, RELAY_OPTF_IGNORED,
                    "Flume's Mina processor threads; relayd reads every connection on its event loop"),
  RELAY_OPTION_END,
};

/* ---- shared helpers (also used by the UDP source) ---- */

void
relay_syslog_peer_ip(const struct sockaddr *sa, socklen_t sa_len, char ip[RELAY_SYSLOG_HOST_MAX])
{
  if (getnameinfo(sa, sa_len, ip, RELAY_SYSLOG_HOST_MAX, NULL, 0, NI_NUMERICHOST) != 0)
    ip[0] = '\0';
}

void
relay_syslog_peer_text_ip(const char *peer, char ip[RELAY_SYSLOG_HOST_MAX])
{
  const char *colon = strrchr(peer, ':');
  gsize len = colon ? (gsize)(colon - peer) : strlen(peer);

  if (len >= 2 && peer[0] == '[' && peer[len - 1] == ']')
    {
      peer++;
      len -= 2;
    }
  g_strlcpy(ip, peer, MIN(len + 1, RELAY_SYSLOG_HOST_MAX));
}

gboolean
relay_syslog_rdns_configure(RelayComponent *self, const RelayComponentConfig *cc, RelayConfigReport *report,
                            const RelaySyslogRdnsKeys *keys)
{
  char *why = NULL;

  if (relay_rdns_nameservers_ok(keys->nameservers, &why))
    return TRUE;
  relay_config_report_add(report, relay_component_config_get(cc, "clientHostnameNameservers"), cc->label,
                          "clientHostnameNameservers", "%s; source %s removed", why, self->name);
  g_free(why);
  return FALSE;
}

RelayRdns *
relay_syslog_rdns_new(RelaySource *source, const RelaySyslogRdnsKeys *keys, GError **error)
{
  RelayRdnsConfig config = {
    .nameservers = keys->nameservers,
    .timeout_ms = keys->timeout_ms,
    .cache_size = (guint)keys->cache_size,
    .ttl_s = keys->cache_ttl,
  };

  return relay_rdns_new(source->base, source->super.log_prefix, &config, error);
}

gboolean
relay_syslog_charset_ok(const char *charset, char **why)
{
  static const char sample[] = "<13>1 2026-01-01T00:00:00.0Z host.example_1 app - - [a@1 b=\"c\"] text";
  GError *error = NULL;
  gsize written = 0;
  char *out = g_convert(sample, -1, charset, "UTF-8", NULL, &written, &error);

  if (!out)
    {
      *why = g_strdup_printf("unknown or unusable character set '%s' (%s)", charset, error->message);
      g_error_free(error);
      return FALSE;
    }
  gboolean same = written == strlen(sample) && memcmp(out, sample, written) == 0;
  g_free(out);
  if (!same)
    *why = g_strdup_printf(
        "character set '%s' does not encode ASCII as ASCII (e.g. UTF-16), which relayd does "
        "not support: bodies are the bytes received",
        charset);
  return same;
}

void
relay_syslog_note_status(RelaySource *source, RelayRateLimit *rl, const char *status, const RelayEvent *ev,
                         const char *peer)
{
  relay_counter_inc(&source->counters.event_read_fail);
  relay_log_ratelimited(rl, RELAY_LOG_WARN, source->super.log_prefix,
                        "message marked %s (delivered) peer=%s bytes=%u", status, peer, ev->body_len);
}

/* ---- input ---- */

static void _submit(SyslogConn *sc);

/* syslogtcp: format.* first, then Flume's SyslogUtils patterns; multiport: Flume's SyslogParser. */
static RelayEvent *
_parse(SyslogConn *sc, const guint8 *msg, gsize len, gboolean incomplete, gint64 now_ms, const char **status)
{
  SyslogTcpSource *src = sc->source;
  RelayEvent *ev = NULL;

  if (src->ports)
    return relay_syslog_parse_multiport(src->arena, msg, len, src->keep, incomplete, sc->port->utf8, now_ms,
                                        sc->extra, sc->n_extra, status);
  if (src->format)
    ev = relay_syslog_format_parse(src->format, msg, len, src->keep, incomplete, sc->extra, sc->n_extra,
                                   status);
  return ev ? ev
            : relay_syslog_parse(src->arena, msg, len, src->keep, incomplete, now_ms, sc->extra, sc->n_extra,
                                 status);
}

static void
_add_event(SyslogConn *sc, const guint8 *msg, gsize len, gboolean incomplete, gint64 now_ms)
{
  SyslogTcpSource *src = sc->source;
  const char *status = NULL;
  RelayEvent *ev = _parse(sc, msg, len, incomplete, now_ms, &status);

  if (!ev)
    {
      relay_counter_inc(&src->super.counters.event_read_fail);
      return;
    }
  if (status)
    relay_syslog_note_status(&src->super, &src->rl_status, status, ev, relay_net_conn_peer(sc->conn));
  g_ptr_array_add(sc->retained, ev);
}

/* Discards what is left of an oversized octet-counted frame; FALSE if more is to come. */
static gboolean
_skip(SyslogConn *sc, struct evbuffer *input)
{
  gsize n = MIN(sc->skip, evbuffer_get_length(input));

  evbuffer_drain(input, n);
  sc->skip -= n;
  return sc->skip == 0;
}

/* Moves up to batch_max messages from input into sc->retained. */
static void
_take_messages(SyslogConn *sc, struct evbuffer *input, gboolean at_eof)
{
  SyslogTcpSource *src = sc->source;
  gint64 now_ms = g_get_real_time() / 1000;
  gsize len = evbuffer_get_length(input), pos = 0;
  const guint8 *buf = len ? evbuffer_pullup(input, -1) : NULL;
  RelaySyslogFrame f;

  while (sc->retained->len < src->batch_max && pos < len
         && relay_syslog_frame_next(buf + pos, len - pos, (gsize)src->event_size, at_eof, &f))
    {
      _add_event(sc, buf + pos + f.msg_off, f.msg_len, f.incomplete, now_ms);
      pos += f.consumed;
      if (f.skip)
        {
          sc->skip = f.skip;
          break;
        }
    }
  if (sc->retained->len < src->batch_max && pos < len && !sc->skip)
    pos += f.consumed; /* separators before an unfinished message */
  relay_counter_add(&src->super.counters.bytes_received, (gint64)pos);
  evbuffer_drain(input, pos);
}

/* Reading stops only while a batch waits: for room in a channel (pending) or for the retry timer (retained
 * kept). A batch put at once leaves reading on (no pause and resume per batch). */
static void
_update_pause(SyslogConn *sc)
{
  gboolean wait = sc->pending || sc->retained->len > 0;

  if (wait == sc->put_paused)
    return;
  sc->put_paused = wait;
  if (wait)
    relay_net_conn_pause(sc->conn, RELAY_NET_PAUSE_PUT);
  else
    relay_net_conn_resume(sc->conn, RELAY_NET_PAUSE_PUT);
}

static void
_on_put_done(RelayPutResult result, gpointer user_data)
{
  SyslogConn *sc = user_data;
  SyslogTcpSource *src = sc->source;

  sc->pending = NULL;
  if (result == RELAY_PUT_FULL)
    {
      /* Counted and logged by the channel processor; keep the connection paused and try again. */
      struct timeval tv = { 0, RELAY_SYSLOG_RETRY_MS * 1000 };
      evtimer_add(sc->retry, &tv);
      return;
    }
  if (result == RELAY_PUT_OK)
    relay_counter_add(&src->super.counters.event_accepted, sc->retained->len);
  else
    relay_counter_add(&src->super.counters.event_failed, sc->retained->len);
  g_ptr_array_set_size(sc->retained, 0);
  if (!sc->submitting)
    _update_pause(sc);
}

static gpointer
_ref_copy(gconstpointer ev, gpointer unused)
{
  (void)unused;
  return relay_event_ref((RelayEvent *)ev);
}

static void
_submit(SyslogConn *sc)
{
  GPtrArray *batch = g_ptr_array_new_full(sc->retained->len, relay_event_unref_notify);

  g_ptr_array_extend(batch, sc->retained, _ref_copy, NULL);
  sc->submitting = TRUE;
  sc->pending = relay_channel_processor_submit(sc->source->super.cp, batch, _on_put_done, sc);
  sc->submitting = FALSE;
  _update_pause(sc);
}

static void
_on_retry(evutil_socket_t fd, short what, void *arg)
{
  (void)fd;
  (void)what;
  _submit(arg);
}

/* ssl-peer-header: the client certificate's subject, known once the handshake is done (before any input). */
static void
_add_peer_header(SyslogConn *sc)
{
  const char *header = sc->source->tls.peer_header, *subject = relay_net_conn_tls_subject(sc->conn);

  sc->peer_header_set = TRUE;
  if (header && *header && subject)
    sc->extra[sc->n_extra++]
        = (RelayHeader){ header, subject, (guint32)strlen(header), (guint32)strlen(subject) };
}

static void
_on_readable(RelayNetConn *conn, gpointer conn_data)
{
  SyslogConn *sc = conn_data;
  struct evbuffer *input = relay_net_conn_input(conn);

  if (!sc->peer_header_set)
    _add_peer_header(sc);
  while (!relay_net_conn_is_paused(conn) && !relay_net_conn_is_closing(conn))
    {
      if (sc->skip && !_skip(sc, input))
        return;
      _take_messages(sc, input, FALSE);
      if (sc->retained->len == 0)
        {
          if (sc->skip && evbuffer_get_length(input) > 0)
            continue;
          return;
        }
      relay_counter_add(&sc->source->super.counters.event_received, sc->retained->len);
      _submit(sc);
    }
}

/* ---- connections ---- */

/* The headers every message of the connection gets (once the host name is known). */
static void
_set_extra(SyslogConn *sc)
{
  SyslogTcpSource *src = sc->source;

  sc->n_extra = 0;
  if (src->ip_header && *src->ip_header)
    sc->extra[sc->n_extra++]
        = (RelayHeader){ src->ip_header, sc->ip, (guint32)strlen(src->ip_header), (guint32)strlen(sc->ip) };
  if (src->rdns)
    sc->extra[sc->n_extra++]
        = (RelayHeader){ src->host_header, sc->hostname, (guint32)strlen(src->host_header),
                         (guint32)strlen(sc->hostname) };
  if (src->port_header && *src->port_header)
    sc->extra[sc->n_extra++]
        = (RelayHeader){ src->port_header, sc->port->port_text, (guint32)strlen(src->port_header),
                         (guint32)strlen(sc->port->port_text) };
}

static void
_on_name(const char *name, gpointer user_data)
{
  SyslogConn *sc = user_data;

  g_strlcpy(sc->hostname, name, sizeof sc->hostname);
  _set_extra(sc);
  relay_net_conn_resume(sc->conn, RELAY_NET_PAUSE_OWNER);
}

static gboolean
_on_accepted(RelayNetConn *conn, gpointer server_data)
{
  SyslogPort *port = server_data;
  SyslogTcpSource *src = port->source;
  SyslogConn *sc = g_new0(SyslogConn, 1);

  sc->source = src;
  sc->port = port;
  sc->conn = conn;
  sc->retained = g_ptr_array_new_full(src->batch_max, relay_event_unref_notify);
  sc->retry = evtimer_new(src->super.base, _on_retry, sc);
  relay_syslog_peer_text_ip(relay_net_conn_peer(conn), sc->ip);
  sc->waiter = (RelayRdnsWaiter){ .done = _on_name, .user_data = sc };
  const char *name = src->rdns ? relay_rdns_lookup(src->rdns, sc->ip, &sc->waiter) : "";
  if (name)
    g_strlcpy(sc->hostname, name, sizeof sc->hostname);
  else
    relay_net_conn_pause(conn, RELAY_NET_PAUSE_OWNER);
  _set_extra(sc);
  relay_net_conn_set_data(conn, sc);
  relay_counter_inc(&src->super.counters.open_connections);
  return TRUE;
}

/* The peer closed (or the source stops): a message left without its terminator is delivered, Incomplete, in
 * one attempt (nothing can wait any more). */
static void _put_once(SyslogConn *sc);

static void
_flush_at_close(SyslogConn *sc)
{
  struct evbuffer *input = relay_net_conn_input(sc->conn);

  if (!sc->peer_header_set) /* the first records came with the peer's close: no readable call before */
    _add_peer_header(sc);

  while (TRUE)
    {
      if (sc->skip && !_skip(sc, input))
        return;
      if (evbuffer_get_length(input) == 0)
        return;
      _take_messages(sc, input, TRUE);
      if (sc->retained->len == 0)
        return;
      _put_once(sc);
    }
}

static void
_put_once(SyslogConn *sc)
{
  SyslogTcpSource *src = sc->source;
  guint n = sc->retained->len;
  relay_counter_add(&src->super.counters.event_received, n);
  GPtrArray *batch = sc->retained;
  sc->retained = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  if (relay_channel_processor_put(src->super.cp, batch) == RELAY_PUT_OK)
    relay_counter_add(&src->super.counters.event_accepted, n);
  else
    {
      relay_counter_add(&src->super.counters.event_failed, n);
      relay_log_ratelimited(&src->rl_eof_lost, RELAY_LOG_WARN, src->super.super.log_prefix,
                            "last message of a closed connection lost: channel full peer=%s",
                            relay_net_conn_peer(sc->conn));
    }
  g_ptr_array_unref(batch);
}

static void
_on_closed(RelayNetConn *conn, gpointer conn_data)
{
  SyslogConn *sc = conn_data;
  SyslogTcpSource *src = sc->source;

  (void)conn;
  if (src->rdns)
    relay_rdns_cancel(src->rdns, &sc->waiter);
  if (sc->pending)
    relay_put_request_cancel(sc->pending);
  if (sc->pending || evtimer_pending(sc->retry, NULL))
    relay_counter_add(&src->super.counters.event_failed, sc->retained->len); /* the source stops */
  else
    _flush_at_close(sc);
  event_free(sc->retry);
  g_ptr_array_unref(sc->retained);
  relay_counter_add(&src->super.counters.open_connections, -1);
  g_free(sc);
}

static const RelayNetHandler _syslog_handler = {
  .accepted = _on_accepted,
  .readable = _on_readable,
  .closed = _on_closed,
};

/* ---- lifecycle ---- */

static gboolean
_report_charset(RelayComponent *self, const RelayComponentConfig *cc, RelayConfigReport *report,
                const char *key, const char *charset)
{
  char *why = NULL;

  if (relay_syslog_charset_ok(charset, &why))
    return TRUE;
  relay_config_report_add(report, relay_component_config_get(cc, key), cc->label, key,
                          "%s; source %s removed", why, self->name);
  g_free(why);
  return FALSE;
}

static SyslogPort *
_port_new(SyslogTcpSource *src, gint64 port, const char *charset)
{
  SyslogPort *p = g_new0(SyslogPort, 1);

  p->source = src;
  p->port = port;
  p->charset = g_strdup(charset);
  p->utf8 = g_ascii_strcasecmp(charset, "UTF-8") == 0 || g_ascii_strcasecmp(charset, "UTF8") == 0;
  return p;
}

static void
_port_free(gpointer data)
{
  SyslogPort *p = data;

  relay_net_server_free(p->server);
  g_free(p->charset);
  g_free(p);
}

/* Multiport: "ports" and charset.port.<port>; every charset.port key must name a configured port. */
static gboolean
_configure_ports(SyslogTcpSource *src, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  RelayComponent *self = RELAY_COMPONENT(src);
  char **ports = relay_config_split_list(src->ports);
  gboolean ok = ports[0] != NULL;

  if (!ok)
    relay_config_report_add(report, relay_component_config_get(cc, "ports"), cc->label, "ports",
                            "no port given; source %s removed", self->name);
  for (guint i = 0; ok && ports[i]; i++)
    {
      gint64 port = -1;
      if (!relay_options_parse_int(ports[i], &port) || port < 0 || port > 65535)
        {
          relay_config_report_add(report, relay_component_config_get(cc, "ports"), cc->label, "ports",
                                  "'%s' is not a port (0..65535); source %s removed", ports[i], self->name);
          ok = FALSE;
          break;
        }
      char *key = g_strdup_printf("charset.port.%s", ports[i]);
      const char *charset = relay_component_config_value(cc, key);
      ok = _report_charset(self, cc, report, charset ? key : "charset.default",
                           charset ? charset : src->charset_default);
      g_free(key);
      g_ptr_array_add(src->listeners, _port_new(src, port, charset ? charset : src->charset_default));
    }
  GPtrArray *keys = relay_component_config_keys(cc, "charset.port.");
  for (guint i = 0; ok && i < keys->len; i++)
    {
      const char *key = g_ptr_array_index(keys, i);
      if (!g_strv_contains((const char *const *)ports, key + strlen("charset.port.")))
        relay_config_report_add(report, relay_component_config_get(cc, key), cc->label, key,
                                "port %s is not in ports, ignored", key + strlen("charset.port."));
    }
  g_ptr_array_unref(keys);
  g_strfreev(ports);
  return ok;
}

static gboolean
_configure(RelayComponent *self, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  SyslogTcpSource *src = (SyslogTcpSource *)self;
  RelayRateLimit limit = RELAY_RATELIMIT_INIT;

  src->rl_status = limit;
  src->rl_eof_lost = limit;
  src->keep = relay_syslog_keep_fields(src->keep_fields);
  src->event_size = MAX(src->event_size, RELAY_SYSLOG_MIN_SIZE); /* Flume's MIN_SIZE, silently */
  src->listeners = g_ptr_array_new_with_free_func(_port_free);
  if (!relay_syslog_rdns_configure(self, cc, report, &src->rdns_keys)
      || !relay_tls_component_configure(&src->tls, TRUE, self->log_prefix, cc, report, &src->tls_ctx))
    return FALSE;
  if (!src->ports)
    {
      g_ptr_array_add(src->listeners, _port_new(src, src->port, "UTF-8"));
      return relay_syslog_format_configure(self, cc, report, &src->format_keys, &src->format);
    }
  if (relay_component_config_get(cc, "readBufferSize") && !relay_component_config_get(cc, "readBufferBytes"))
    src->read_buffer = src->read_buffer_ug;
  return _configure_ports(src, cc, report);
}

static gboolean
_knows_key(const char *key)
{
  return g_str_has_prefix(key, "charset.port.");
}

static guint
_batch_max(SyslogTcpSource *src)
{
  gint64 max = src->batch_size;
  GPtrArray *channels = relay_channel_processor_channels(src->super.cp);

  for (guint i = 0; i < channels->len; i++)
    max = MIN(max, RELAY_CHANNEL(g_ptr_array_index(channels, i))->transaction_capacity);
  return (guint)MAX(max, 1);
}

static gboolean
_start(RelayComponent *self, GError **error)
{
  SyslogTcpSource *src = (SyslogTcpSource *)self;
  RelayNetServerConfig config = {
    .bind = src->host,
    .max_connections = (guint)src->max_connections,
    .refused_counter = &src->super.counters.connections_refused,
    .accept_fail_counter = &src->super.counters.accept_failures,
    .memory_counter = &src->super.counters.memory_refused,
    .read_high_watermark
    = MAX(MAX((gsize)src->read_buffer, 2 * (gsize)src->event_size + 16), RELAY_SYSLOG_READ_BUFFER),
    .write_high_watermark = RELAY_SYSLOG_READ_BUFFER,
    .tls = src->tls_ctx,
    .refuse_tls_hello = TRUE,
    .tls_errors = src->super.counters.tls_errors,
    .tls_handshakes = &src->super.counters.tls_handshakes,
  };

  if (!src->super.cp || !src->super.base)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_STATE,
                  "%s: started without channel processor or event loop", self->log_prefix);
      return FALSE;
    }
  src->batch_max = _batch_max(src);
  src->arena = relay_event_arena_new();
  if (src->host_header && *src->host_header
      && !(src->rdns = relay_syslog_rdns_new(&src->super, &src->rdns_keys, error)))
    return FALSE;
  for (guint i = 0; i < src->listeners->len; i++)
    {
      SyslogPort *p = g_ptr_array_index(src->listeners, i);
      config.port = p->port;
      p->server
          = relay_net_server_new(src->super.base, self->log_prefix, &config, &_syslog_handler, p, error);
      if (!p->server)
        return FALSE;
      g_snprintf(p->port_text, sizeof p->port_text, "%u", relay_net_server_port(p->server));
    }
  return TRUE;
}

static void
_stop(RelayComponent *self)
{
  SyslogTcpSource *src = (SyslogTcpSource *)self;

  for (guint i = 0; src->listeners && i < src->listeners->len; i++)
    {
      SyslogPort *p = g_ptr_array_index(src->listeners, i);
      relay_net_server_free(p->server); /* cancels every pending put and name lookup */
      p->server = NULL;
    }
  g_clear_pointer(&src->rdns, relay_rdns_free);
  g_clear_pointer(&src->arena, relay_event_arena_free);
}

static void
_free(RelayComponent *self)
{
  SyslogTcpSource *src = (SyslogTcpSource *)self;

  g_clear_pointer(&src->rdns, relay_rdns_free);
  relay_syslog_format_free(src->format);
  g_clear_pointer(&src->arena, relay_event_arena_free);
  if (src->listeners)
    g_ptr_array_unref(src->listeners);
  relay_tls_unref(src->tls_ctx);
}

static gboolean
_check_start(RelayComponent *self, GError **error)
{
  SyslogTcpSource *src = (SyslogTcpSource *)self;

  for (guint i = 0; i < src->listeners->len; i++)
    if (!relay_net_check_listen(src->host, ((SyslogPort *)g_ptr_array_index(src->listeners, i))->port, error))
      return FALSE;
  return TRUE;
}

const RelayComponentClass relay_source_syslogtcp_class = {
  .kind = RELAY_KIND_SOURCE,
  .type = "syslogtcp",
  .flume_class = "org.apache.flume.source.SyslogTcpSource",
  .description = "syslog messages (RFC 3164, RFC 5424) over TCP, '\\n'-framed or octet-counted",
  .options = _tcp_options,
  .instance_size = sizeof(SyslogTcpSource),
  .configure = _configure,
  .start = _start,
  .stop = _stop,
  .free = _free,
  .check_start = _check_start,
};

const RelayComponentClass relay_source_multiport_syslogtcp_class = {
  .kind = RELAY_KIND_SOURCE,
  .type = "multiport_syslogtcp",
  .flume_class = "org.apache.flume.source.MultiportSyslogTCPSource",
  .description = "syslog messages over TCP on several ports, with per-port charsets and a port header",
  .options = _multiport_options,
  .instance_size = sizeof(SyslogTcpSource),
  .configure = _configure,
  .knows_key = _knows_key,
  .start = _start,
  .stop = _stop,
  .free = _free,
  .check_start = _check_start,
};
