/* plugin_server.c - relayd's TCP server (net.h) and TLS (tls.h) for event-driven plugin sources.
 *
 * A source class registered with relayd_register_server_source gets the server TLS rows of tls.h appended to
 * its option table (stored in its RelayPluginSource, not in the plugin's struct), its TLS context built at
 * configure (relay_plugin_server_configure), and may open a RelaydServer: a RelayNetServer whose connections
 * are wrapped in RelaydConn. The wrapper adds what every plugin protocol needs and would otherwise get wrong:
 * OpenConnectionCount, one pending put per connection that pauses reading until it is done and is cancelled
 * when the connection closes, and the ssl-peer-header on the events put.
 *
 * Threads: everything runs on the main loop. */
#include "plugin_private.h"

#include "event.h"
#include "net.h"

#include <event2/buffer.h>

struct RelaydServer
{
  RelayPluginSource *src;
  RelayNetServer *net;
  const RelaydConnHandler *handler;
  void *server_data;
};

struct RelaydConn
{
  RelaydServer *server;
  RelayNetConn *net;
  void *data;
  RelaydPutRequest *pending; /* the connection's put, while done has not run */
  RelaydPutDone done;
  void *done_data;
};

static const RelayOption _server_options[] = {
  RELAY_TLS_SERVER_OPTIONS(RelayPluginSource, tls),
  RELAY_OPTION_END,
};

void
relay_plugin_server_class_init(RelayPluginClass *pc)
{
  pc->server = TRUE;
  pc->klass.options = _server_options; /* appended to the plugin's rows by _register */
}

gboolean
relay_plugin_server_configure(RelayComponent *self, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  RelayPluginSource *src = (RelayPluginSource *)self;

  return relay_tls_component_configure(&src->tls, TRUE, self->log_prefix, cc, report, &src->tls_ctx);
}

void
relay_plugin_server_free(RelayComponent *self)
{
  RelayPluginSource *src = (RelayPluginSource *)self;

  g_clear_pointer(&src->tls_ctx, relay_tls_unref);
}

/* ---- connections ---- */

static gboolean
_on_accepted(RelayNetConn *net, gpointer server_data)
{
  RelaydServer *server = server_data;
  RelaydConn *conn = g_new0(RelaydConn, 1);

  conn->server = server;
  conn->net = net;
  relay_net_conn_set_data(net, conn);
  if (server->handler->accepted && server->handler->accepted(conn, server->server_data) != 0)
    {
      g_free(conn);
      return FALSE;
    }
  relay_counter_inc(&server->src->super.counters.open_connections);
  return TRUE;
}

static void
_on_readable(RelayNetConn *net, gpointer conn_data)
{
  RelaydConn *conn = conn_data;

  (void)net;
  conn->server->handler->readable(conn, conn->data);
}

static void
_on_closed(RelayNetConn *net, gpointer conn_data)
{
  RelaydConn *conn = conn_data;

  (void)net;
  if (conn->pending)
    relayd_put_cancel(conn->pending);
  relay_counter_add(&conn->server->src->super.counters.open_connections, -1);
  if (conn->server->handler->closed)
    conn->server->handler->closed(conn, conn->data);
  g_free(conn);
}

static const RelayNetHandler _handler = {
  .accepted = _on_accepted,
  .readable = _on_readable,
  .closed = _on_closed,
};

/* ---- servers ---- */

RelaydServer *
relayd_server_new(RelaydComponent *self, const char *bind, int64_t port, uint32_t max_connections,
                  size_t max_input, size_t max_output, const RelaydConnHandler *handler, void *server_data,
                  RelaydError *error)
{
  RelayPluginSource *src = (RelayPluginSource *)self;
  RelaydServer *server = g_new0(RelaydServer, 1);
  RelaySourceCounters *counters = &src->super.counters;
  RelayNetServerConfig config = {
    .bind = bind,
    .port = port,
    .max_connections = MAX(max_connections, 1),
    .read_high_watermark = MAX(max_input, 1),
    .write_high_watermark = MAX(max_output, 1),
    .refused_counter = &counters->connections_refused,
    .accept_fail_counter = &counters->accept_failures,
    .memory_counter = &counters->memory_refused,
    .tls = src->tls_ctx,
    .refuse_tls_hello = TRUE,
    .tls_errors = counters->tls_errors,
  };
  GError *err = NULL;

  if (!relay_plugin_class(RELAY_COMPONENT(src))->server || !handler || !handler->readable)
    {
      relayd_error_set(error, "relayd_server_new: the source was not registered with "
                              "relayd_register_server_source, or the handler has no readable()");
      g_free(server);
      return NULL;
    }
  *server = (RelaydServer){ src, NULL, handler, server_data };
  server->net = relay_net_server_new(src->super.base, RELAY_COMPONENT(src)->log_prefix, &config, &_handler,
                                     server, &err);
  if (!server->net)
    {
      relayd_error_set(error, "%s", err->message);
      g_error_free(err);
      g_free(server);
      return NULL;
    }
  return server;
}

void
relayd_server_free(RelaydServer *server)
{
  if (!server)
    return;
  relay_net_server_free(server->net);
  g_free(server);
}

int
relayd_server_port(const RelaydServer *server)
{
  return relay_net_server_port(server->net);
}

void
relayd_conn_set_data(RelaydConn *conn, void *data)
{
  conn->data = data;
}

void *
relayd_conn_data(const RelaydConn *conn)
{
  return conn->data;
}

const char *
relayd_conn_peer(const RelaydConn *conn)
{
  return relay_net_conn_peer(conn->net);
}

const char *
relayd_conn_tls_subject(const RelaydConn *conn)
{
  return relay_net_conn_tls_subject(conn->net);
}

size_t
relayd_conn_input_length(const RelaydConn *conn)
{
  return evbuffer_get_length(relay_net_conn_input(conn->net));
}

unsigned char *
relayd_conn_pullup(RelaydConn *conn, size_t n)
{
  struct evbuffer *input = relay_net_conn_input(conn->net);

  if (evbuffer_get_length(input) < n)
    return NULL;
  return evbuffer_pullup(input, (ev_ssize_t)n);
}

void
relayd_conn_drain(RelaydConn *conn, size_t n)
{
  evbuffer_drain(relay_net_conn_input(conn->net), n);
}

void
relayd_conn_write(RelaydConn *conn, const void *data, size_t len)
{
  relay_net_conn_write(conn->net, data, len);
}

void
relayd_conn_pause(RelaydConn *conn)
{
  relay_net_conn_pause(conn->net, RELAY_NET_PAUSE_OWNER);
}

void
relayd_conn_resume(RelaydConn *conn)
{
  relay_net_conn_resume(conn->net, RELAY_NET_PAUSE_OWNER);
}

int
relayd_conn_is_paused(const RelaydConn *conn)
{
  return relay_net_conn_is_paused(conn->net);
}

void
relayd_conn_close(RelaydConn *conn, int flush)
{
  relay_net_conn_close(conn->net, flush != 0);
}

int
relayd_conn_is_closing(const RelaydConn *conn)
{
  return relay_net_conn_is_closing(conn->net);
}

/* ---- puts ---- */

static void
_on_put_done(RelaydComponent *self, RelaydPutResult result, void *user_data)
{
  RelaydConn *conn = user_data;

  conn->pending = NULL;
  relay_net_conn_resume(conn->net, RELAY_NET_PAUSE_PUT); /* readable() runs from the loop, not in here */
  conn->done(self, result, conn->done_data);
}

/* Adds ssl-peer-header = the client certificate's subject, when both exist. */
static void
_add_peer_header(RelaydConn *conn, RelaydEvent **events, size_t n)
{
  const char *header = conn->server->src->tls.peer_header, *subject = relayd_conn_tls_subject(conn);

  if (!header || !*header || !subject)
    return;
  for (size_t i = 0; i < n; i++)
    events[i] = relayd_event_with_header(events[i], header, subject);
}

int
relayd_conn_put(RelaydConn *conn, RelaydEvent **events, size_t n, RelaydPutDone done, void *user_data)
{
  if (conn->pending || !done)
    {
      for (size_t i = 0; i < n; i++)
        relayd_event_unref(events[i]);
      return -1;
    }
  _add_peer_header(conn, events, n);
  conn->done = done;
  conn->done_data = user_data;
  relay_net_conn_pause(conn->net, RELAY_NET_PAUSE_PUT);
  RelaydPutRequest *req
      = relayd_source_put((RelaydComponent *)conn->server->src, events, n, _on_put_done, conn);
  if (req) /* else done already ran (and may have put again) */
    conn->pending = req;
  return 0;
}
