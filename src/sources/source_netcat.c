/* source_netcat.c - Flume's netcat source: one event per '\n'-terminated line on a TCP connection.
 *
 * Protocol (as Flume's NetcatSource): lines end at '\n' only, so a preceding '\r' stays in the body; the
 * body is the line's bytes without the '\n'. Each event is answered "OK\n" when ack-every-event is true; a
 * failed put is answered "FAILED: <reason>\n" per event whatever ack-every-event says (Flume writes FAILED
 * unconditionally) and the connection stays open. A line longer than max-line-length characters, newline
 * included, is answered "FAILED: Event exceeds the maximum length (N chars, including newline)\n" and the
 * connection is closed after that reply. An unterminated last line is dropped at EOF, as Flume does.
 *
 * Differences from Flume, on purpose:
 *  - Flume runs one transaction per line. relayd puts all complete lines found in the input buffer (at most
 *    the smallest transactionCapacity of the source's channels) as one batch, one transaction per channel,
 *    and still answers one line per event, in order. If that batch fails, every line of it gets FAILED.
 *  - Lengths are counted in bytes, not decoded characters: identical for ASCII, stricter for multi-byte
 *    UTF-8. Bodies are the bytes received (Flume decodes and re-encodes as UTF-8, replacing malformed
 *    input); "encoding" therefore accepts only UTF-8.
 *  - max-connections (relayd's own, default 512, below the usual descriptor limit of 1024) caps concurrent
 *    connections; more are closed at once (ConnectionRefusedCount).
 *
 * Backpressure: while a put waits for channel room (up to the channel's keep-alive) the connection is not
 * read; the input buffer holds at most MAX(max-line-length, 64 KiB) bytes and unsent replies at most 64 KiB
 * before reading stops (net.h).
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

#include <string.h>

#include <event2/buffer.h>

#define RELAY_NETCAT_MAX_LINE_LIMIT (64 * 1024 * 1024)
/* Input bytes buffered per connection before reading stops (at least max-line-length). */
#define RELAY_NETCAT_READ_BUFFER (64 * 1024)
/* Unsent reply bytes per connection before reading stops. */
#define RELAY_NETCAT_WRITE_BUFFER (64 * 1024)
/* Upper bound of lines per put, whatever the channels' transactionCapacity. */
#define RELAY_NETCAT_BATCH_MAX 1000

typedef struct
{
  RelaySource super;
  char *bind;
  gint64 port;
  gint64 max_line_length;
  gboolean ack_every_event;
  char *encoding;
  gint64 max_connections;

  RelayNetServer *server;
  guint batch_max; /* lines per put: the smallest transactionCapacity of the channels, capped */
  RelayRateLimit rl_too_long;
} RelayNetcatSource;

/* Per-connection state. */
typedef struct
{
  RelayNetcatSource *source;
  RelayNetConn *conn;
  RelayPutRequest *pending; /* the put in flight, or NULL */
  guint batch_lines;        /* lines of the put in flight (one reply each) */
  gboolean submitting;      /* inside relay_channel_processor_submit (done may run synchronously) */
} NetcatConn;

typedef enum
{
  _SCAN_NEED_MORE = 0, /* no complete line left */
  _SCAN_BATCH_FULL,    /* batch_max lines taken, more may follow */
  _SCAN_TOO_LONG,      /* the next line exceeds max-line-length */
} _ScanResult;

static const RelayOption _netcat_options[] = {
  RELAY_OPT_STRING_ROW("bind", NULL, RelayNetcatSource, bind, RELAY_OPTF_REQUIRED,
                       "address to listen on (host name, IP literal, 0.0.0.0 for all)"),
  RELAY_OPT_INT_ROW("port", NULL, 0, 65535, RelayNetcatSource, port, RELAY_OPTF_REQUIRED,
                    "TCP port (0: the system chooses; see the 'listening' log line)"),
  RELAY_OPT_INT_ROW("max-line-length", "512", 1, RELAY_NETCAT_MAX_LINE_LIMIT, RelayNetcatSource,
                    max_line_length, 0,
                    "longest accepted line in bytes, newline included; longer lines close the connection"),
  RELAY_OPT_BOOL_ROW("ack-every-event", "true", RelayNetcatSource, ack_every_event, 0,
                     "answer OK for every stored event (FAILED answers are always sent)"),
  RELAY_OPT_STRING_ROW("encoding", "utf-8", RelayNetcatSource, encoding, 0,
                       "character set of the input; only UTF-8 is supported (bodies are the bytes received)"),
  RELAY_OPT_INT_ROW("max-connections", "512", 1, 1000000, RelayNetcatSource, max_connections, 0,
                    "relayd: concurrent connections; more are closed at once with a warning"),
  RELAY_OPTION_END,
};

/* ---- replies ---- */

static const char *
_failure_reason(RelayPutResult result)
{
  return result == RELAY_PUT_FULL ? "Unable to put event on required channel: channel full"
                                  : "Unable to put event on required channel: channel error";
}

static void
_reply_batch(NetcatConn *nc, RelayPutResult result, guint lines)
{
  RelayNetcatSource *src = nc->source;
  RelaySourceCounters *counters = &src->super.counters;

  if (result == RELAY_PUT_OK)
    {
      relay_counter_add(&counters->event_accepted, lines);
      if (!src->ack_every_event)
        return;
      for (guint i = 0; i < lines; i++)
        relay_net_conn_write(nc->conn, "OK\n", 3);
      return;
    }
  /* The channel processor counts ChannelWriteFail and logs the failure (rate-limited). */
  relay_counter_add(&counters->event_failed, lines);
  relay_debug(src->super.super.log_prefix, "answering FAILED peer=%s events=%u result=%s",
              relay_net_conn_peer(nc->conn), lines, relay_put_result_name(result));
  char *line = g_strdup_printf("FAILED: %s\n", _failure_reason(result));
  gsize len = strlen(line);
  for (guint i = 0; i < lines; i++)
    relay_net_conn_write(nc->conn, line, len);
  g_free(line);
}

static void
_reject_too_long(NetcatConn *nc)
{
  RelayNetcatSource *src = nc->source;
  char *line = g_strdup_printf("FAILED: Event exceeds the maximum length (%" G_GINT64_FORMAT
                               " chars, including newline)\n",
                               src->max_line_length);

  relay_source_count_protocol_error(&src->super, RELAY_PROTO_ERROR_LIMIT);
  relay_log_ratelimited(&src->rl_too_long, RELAY_LOG_WARN, src->super.super.log_prefix,
                        "line too long, closing connection peer=%s limit=%" G_GINT64_FORMAT,
                        relay_net_conn_peer(nc->conn), src->max_line_length);
  relay_net_conn_write(nc->conn, line, strlen(line));
  g_free(line);
  relay_net_conn_close(nc->conn, TRUE);
}

/* ---- input ---- */

/* Moves complete lines from input into batch (one event each, body without the '\n'). */
static _ScanResult
_take_lines(NetcatConn *nc, struct evbuffer *input, GPtrArray *batch)
{
  gsize limit = (gsize)nc->source->max_line_length;

  while (batch->len < nc->source->batch_max)
    {
      gsize avail = evbuffer_get_length(input);
      struct evbuffer_ptr end;
      evbuffer_ptr_set(input, &end, MIN(avail, limit), EVBUFFER_PTR_SET);
      struct evbuffer_ptr nl = evbuffer_search_range(input, "\n", 1, NULL, &end);
      if (nl.pos < 0)
        return avail >= limit ? _SCAN_TOO_LONG : _SCAN_NEED_MORE;
      gsize body_len = (gsize)nl.pos;
      const guint8 *line = evbuffer_pullup(input, (ev_ssize_t)body_len + 1);
      g_ptr_array_add(batch, relay_event_new(NULL, 0, line, body_len));
      evbuffer_drain(input, body_len + 1);
      relay_counter_add(&nc->source->super.counters.bytes_received, (gint64)body_len + 1);
    }
  return _SCAN_BATCH_FULL;
}

static void
_on_put_done(RelayPutResult result, gpointer user_data)
{
  NetcatConn *nc = user_data;

  nc->pending = NULL;
  _reply_batch(nc, result, nc->batch_lines);
  nc->batch_lines = 0;
  if (!nc->submitting)
    relay_net_conn_resume(nc->conn, RELAY_NET_PAUSE_PUT);
}

static void
_submit(NetcatConn *nc, GPtrArray *batch)
{
  relay_counter_add(&nc->source->super.counters.event_received, batch->len);
  nc->batch_lines = batch->len;
  nc->submitting = TRUE;
  RelayPutRequest *req = relay_channel_processor_submit(nc->source->super.cp, batch, _on_put_done, nc);
  nc->submitting = FALSE;
  if (req)
    {
      nc->pending = req;
      relay_net_conn_pause(nc->conn, RELAY_NET_PAUSE_PUT);
    }
}

static void
_on_readable(RelayNetConn *conn, gpointer conn_data)
{
  NetcatConn *nc = conn_data;
  struct evbuffer *input = relay_net_conn_input(conn);

  /* Paused: a put is pending or the peer does not read its replies; readable() runs again on resume. */
  while (!relay_net_conn_is_paused(conn) && !relay_net_conn_is_closing(conn))
    {
      GPtrArray *batch = g_ptr_array_new_with_free_func(relay_event_unref_notify);
      _ScanResult scan = _take_lines(nc, input, batch);
      if (batch->len > 0)
        {
          _submit(nc, batch); /* lines after the batch are looked at once it completed */
          continue;
        }
      g_ptr_array_unref(batch);
      if (scan == _SCAN_TOO_LONG)
        _reject_too_long(nc);
      return;
    }
}

/* ---- connections ---- */

static gboolean
_on_accepted(RelayNetConn *conn, gpointer server_data)
{
  RelayNetcatSource *src = server_data;
  NetcatConn *nc = g_new0(NetcatConn, 1);

  nc->source = src;
  nc->conn = conn;
  relay_net_conn_set_data(conn, nc);
  relay_counter_inc(&src->super.counters.open_connections);
  return TRUE;
}

static void
_on_closed(RelayNetConn *conn, gpointer conn_data)
{
  NetcatConn *nc = conn_data;

  if (nc->pending)
    {
      relay_put_request_cancel(nc->pending);
      relay_counter_add(&nc->source->super.counters.event_failed, nc->batch_lines); /* never answered */
    }
  relay_counter_add(&nc->source->super.counters.open_connections, -1);
  g_free(nc);
}

static const RelayNetHandler _netcat_handler = {
  .accepted = _on_accepted,
  .readable = _on_readable,
  .closed = _on_closed,
};

/* ---- lifecycle ---- */

static gboolean
_netcat_configure(RelayComponent *self, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  RelayNetcatSource *src = (RelayNetcatSource *)self;
  RelayRateLimit limit = RELAY_RATELIMIT_INIT;

  src->rl_too_long = limit;
  if (g_ascii_strcasecmp(src->encoding, "utf-8") != 0 && g_ascii_strcasecmp(src->encoding, "utf8") != 0)
    {
      relay_config_report_add(report, relay_component_config_get(cc, "encoding"), cc->label, "encoding",
                              "'%s' is not supported (only UTF-8: bodies are the bytes received); source %s "
                              "removed",
                              src->encoding, self->name);
      return FALSE;
    }
  return TRUE;
}

/* Lines per put: a batch must fit every channel's transactionCapacity, or the put could never succeed. */
static guint
_batch_max(RelayNetcatSource *src)
{
  gint64 max = RELAY_NETCAT_BATCH_MAX;
  GPtrArray *channels = relay_channel_processor_channels(src->super.cp);

  for (guint i = 0; i < channels->len; i++)
    max = MIN(max, RELAY_CHANNEL(g_ptr_array_index(channels, i))->transaction_capacity);
  return (guint)MAX(max, 1);
}

static gboolean
_netcat_start(RelayComponent *self, GError **error)
{
  RelayNetcatSource *src = (RelayNetcatSource *)self;
  RelayNetServerConfig config = {
    .bind = src->bind,
    .port = src->port,
    .max_connections = (guint)src->max_connections,
    .refused_counter = &src->super.counters.connections_refused,
    .accept_fail_counter = &src->super.counters.accept_failures,
    .memory_counter = &src->super.counters.memory_refused,
    .read_high_watermark = MAX((gsize)src->max_line_length, RELAY_NETCAT_READ_BUFFER),
    .write_high_watermark = RELAY_NETCAT_WRITE_BUFFER,
  };

  if (!src->super.cp || !src->super.base)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_STATE,
                  "%s: started without channel processor or event loop", self->log_prefix);
      return FALSE;
    }
  src->batch_max = _batch_max(src);
  src->server
      = relay_net_server_new(src->super.base, self->log_prefix, &config, &_netcat_handler, src, error);
  return src->server != NULL;
}

static void
_netcat_stop(RelayComponent *self)
{
  RelayNetcatSource *src = (RelayNetcatSource *)self;

  relay_net_server_free(src->server); /* cancels every pending put */
  src->server = NULL;
}

/* For --check: the port must be free now (a socket is bound and closed again). */
static gboolean
_check_start(RelayComponent *component, GError **error)
{
  RelayNetcatSource *self = (RelayNetcatSource *)component;

  return relay_net_check_listen(self->bind, self->port, error);
}

const RelayComponentClass relay_source_netcat_class = {
  .kind = RELAY_KIND_SOURCE,
  .type = "netcat",
  .flume_class = "org.apache.flume.source.NetcatSource",
  .description = "one event per line received on a TCP connection (Flume's netcat protocol)",
  .options = _netcat_options,
  .instance_size = sizeof(RelayNetcatSource),
  .configure = _netcat_configure,
  .start = _netcat_start,
  .stop = _netcat_stop,
  .check_start = _check_start,
};
