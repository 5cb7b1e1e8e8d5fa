/* test_source_netcat.c - unit tests for the netcat and seq sources and the net.c helpers they stand on.
 *
 * Each test builds a real memory channel, a source and its channel processor from a properties text, starts
 * the source on a real event_base (127.0.0.1, port 0; the port is read from the "listening" log line) and
 * talks to it through plain blocking sockets. The loop is stepped from the test thread (EVLOOP_NONBLOCK
 * between short polls of the client socket), so the test is single-threaded and deterministic. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "channel.h"
#include "channel_processor.h"
#include "component.h"
#include "config.h"
#include "event.h"
#include "log.h"
#include "net.h"
#include "props.h"
#include "source.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/thread.h>

extern const RelayComponentClass relay_source_netcat_class;
extern const RelayComponentClass relay_source_seq_class;
extern const RelayComponentClass relay_channel_memory_class;

#define TOO_LONG_8 "FAILED: Event exceeds the maximum length (8 chars, including newline)\n"
#define FAILED_FULL "FAILED: Unable to put event on required channel: channel full\n"

/* ---- log capture ---- */

static GPtrArray *_log_lines;

static void
_log_handler(RelayLogLevel level, const char *line, gpointer user_data)
{
  g_ptr_array_add(_log_lines, g_strdup(line));
}

static gboolean
_log_contains(const char *needle)
{
  for (guint i = 0; i < _log_lines->len; i++)
    if (strstr(g_ptr_array_index(_log_lines, i), needle))
      return TRUE;
  return FALSE;
}

/* The port of the last "listening" line. */
static guint16
_logged_port(void)
{
  for (guint i = _log_lines->len; i-- > 0;)
    {
      const char *at = strstr(g_ptr_array_index(_log_lines, i), "listening bind=127.0.0.1 port=");
      if (at)
        return (guint16)atoi(at + strlen("listening bind=127.0.0.1 port="));
    }
  return 0;
}

/* ---- fixture: channel c1 <- source r1 ---- */

typedef struct
{
  struct event_base *base;
  RelayChannel *channel;
  RelaySource *source;
  guint16 port;
} Fixture;

static void
_append_props(GString *text, const char *kind, const char *name, const char *type, const char *const *kv)
{
  g_string_append_printf(text, "a.%s = %s\na.%s.%s.type = %s\n", kind, name, kind, name, type);
  for (guint i = 0; kv && kv[i]; i += 2)
    g_string_append_printf(text, "a.%s.%s.%s = %s\n", kind, name, kv[i], kv[i + 1]);
}

static RelayComponent *
_configured(const RelayComponentClass *klass, RelayAgentConfig *cfg, RelayKind kind, const char *name,
            RelayConfigReport *report)
{
  RelayComponent *component = relay_component_new(klass, name);
  RelayComponentConfig *cc = relay_agent_config_find(cfg, kind, name);

  assert_non_null(cc);
  assert_true(relay_component_configure(component, cc, report));
  return component;
}

static void
_print_report(RelayConfigReport *report)
{
  for (guint i = 0; i < report->lines->len; i++)
    print_message("config: %s\n", (const char *)g_ptr_array_index(report->lines, i));
}

/* Builds and starts the pair; source_kv gets "channels = c1" added. */
static Fixture *
_fixture_new(const RelayComponentClass *source_class, const char *const *source_kv,
             const char *const *channel_kv)
{
  Fixture *fx = g_new0(Fixture, 1);
  GString *text = g_string_new("");
  RelayProps *props = relay_props_new();
  RelayConfigReport *report = relay_config_report_new();

  _append_props(text, "channels", "c1", "memory", channel_kv);
  _append_props(text, "sources", "r1", source_class->type, source_kv);
  g_string_append(text, "a.sources.r1.channels = c1\n");
  relay_props_load_string(props, "<test>", text->str, report);
  RelayAgentConfig *cfg = relay_agent_config_new(props, "a", report);
  assert_non_null(cfg);

  fx->base = event_base_new();
  fx->channel
      = (RelayChannel *)_configured(&relay_channel_memory_class, cfg, RELAY_KIND_CHANNEL, "c1", report);
  fx->source = (RelaySource *)_configured(source_class, cfg, RELAY_KIND_SOURCE, "r1", report);
  GHashTable *channels = g_hash_table_new(g_str_hash, g_str_equal);
  g_hash_table_insert(channels, (gpointer) "c1", fx->channel);
  fx->source->cp = relay_channel_processor_new(fx->source, fx->base);
  gboolean cp_ok = relay_channel_processor_configure(
      fx->source->cp, relay_agent_config_find(cfg, RELAY_KIND_SOURCE, "r1"), channels, report);
  _print_report(report);
  assert_true(cp_ok);
  fx->source->base = fx->base;
  assert_true(relay_component_start(RELAY_COMPONENT(fx->channel), NULL));
  assert_true(relay_component_start(RELAY_COMPONENT(fx->source), NULL));
  fx->port = _logged_port();

  g_hash_table_unref(channels);
  relay_agent_config_free(cfg);
  relay_config_report_free(report);
  relay_props_free(props);
  g_string_free(text, TRUE);
  return fx;
}

static void
_fixture_free(Fixture *fx)
{
  RelayChannelProcessor *cp = fx->source->cp;

  relay_component_free(RELAY_COMPONENT(fx->source));
  relay_channel_processor_free(cp);
  relay_component_free(RELAY_COMPONENT(fx->channel));
  event_base_free(fx->base);
  g_free(fx);
}

static void
_pump_ms(Fixture *fx, guint ms)
{
  gint64 end = g_get_monotonic_time() + ms * 1000;

  while (g_get_monotonic_time() < end)
    {
      event_base_loop(fx->base, EVLOOP_NONBLOCK);
      g_usleep(1000);
    }
}

/* Takes up to max events from the channel (one committed transaction); returns their bodies joined by ','. */
static char *
_take(Fixture *fx, guint max)
{
  RelayEvent *events[64];
  RelayTxn *txn = relay_channel_begin(fx->channel);
  guint n = relay_txn_take(txn, events, MIN(max, G_N_ELEMENTS(events)));
  GString *bodies = g_string_new("");

  for (guint i = 0; i < n; i++)
    g_string_append_printf(bodies, "%s%.*s", i ? "," : "", (int)events[i]->body_len, events[i]->body);
  assert_int_equal(relay_txn_commit(txn), RELAY_CHANNEL_OK);
  relay_txn_close(txn);
  return g_string_free(bodies, FALSE);
}

static void
_assert_take(Fixture *fx, guint max, const char *expected)
{
  char *bodies = _take(fx, max);

  assert_string_equal(bodies, expected);
  g_free(bodies);
}

static void
_wait_channel_size(Fixture *fx, guint64 size, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time() + timeout_ms * 1000;

  while (relay_channel_size(fx->channel) != size && g_get_monotonic_time() < end)
    _pump_ms(fx, 1);
  assert_int_equal(relay_channel_size(fx->channel), size);
}

/* ---- clients ---- */

static int
_connect(guint16 port)
{
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
  int fd = socket(AF_INET, SOCK_STREAM, 0);

  assert_true(fd >= 0);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
  return fd;
}

static void
_send(int fd, const char *text)
{
  gsize len = strlen(text);
  assert_int_equal(send(fd, text, len, MSG_NOSIGNAL), (ssize_t)len);
}

typedef struct
{
  GString *data;
  gboolean eof;
} Reply;

/* Steps the loop and reads fd until `lines` newlines arrived, EOF, or timeout_ms. */
static Reply
_recv_lines(Fixture *fx, int fd, guint lines, guint timeout_ms)
{
  Reply reply = { g_string_new(""), FALSE };
  gint64 end = g_get_monotonic_time() + timeout_ms * 1000;
  guint seen = 0;

  while (seen < lines && !reply.eof && g_get_monotonic_time() < end)
    {
      struct pollfd pfd = { .fd = fd, .events = POLLIN };
      char buf[4096];
      event_base_loop(fx->base, EVLOOP_NONBLOCK);
      if (poll(&pfd, 1, 1) <= 0)
        continue;
      ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
        reply.eof = TRUE;
      for (ssize_t i = 0; i < n; i++)
        seen += buf[i] == '\n';
      if (n > 0)
        g_string_append_len(reply.data, buf, n);
    }
  return reply;
}

static void
_expect(Fixture *fx, int fd, const char *expected, gboolean then_eof)
{
  guint lines = 0;

  for (const char *p = expected; *p; p++)
    lines += *p == '\n';
  Reply reply = _recv_lines(fx, fd, lines, 3000);
  if (then_eof && !reply.eof)
    {
      Reply rest = _recv_lines(fx, fd, G_MAXUINT, 3000);
      g_string_append_len(reply.data, rest.data->str, rest.data->len);
      reply.eof = rest.eof;
      g_string_free(rest.data, TRUE);
    }
  assert_string_equal(reply.data->str, expected);
  assert_int_equal(reply.eof, then_eof);
  g_string_free(reply.data, TRUE);
}

/* ---- netcat ---- */

static const char *const _channel_big[] = { "capacity", "1000", "transactionCapacity", "100", NULL };

static int
_setup(void **state)
{
  g_ptr_array_set_size(_log_lines, 0);
  return 0;
}

static void
test_lines_in_order(void **state)
{
  const char *const kv[] = { "bind", "127.0.0.1", "port", "0", NULL };
  Fixture *fx = _fixture_new(&relay_source_netcat_class, kv, _channel_big);
  int fd = _connect(fx->port);

  assert_true(fx->port > 0);
  _send(fd, "a\nb\r\n\nc");
  _expect(fx, fd, "OK\nOK\nOK\n", FALSE);
  _send(fd, "d\n");
  _expect(fx, fd, "OK\n", FALSE);
  _assert_take(fx, 10, "a,b\r,,cd");

  /* 250 pipelined lines: several puts (transactionCapacity 100), replies and events in order. */
  GString *many = g_string_new(""), *oks = g_string_new(""), *bodies = g_string_new("");
  for (int i = 0; i < 250; i++)
    {
      g_string_append_printf(many, "line-%d\n", i);
      g_string_append(oks, "OK\n");
      if (i < 50)
        g_string_append_printf(bodies, "%sline-%d", i ? "," : "", i);
    }
  _send(fd, many->str);
  _expect(fx, fd, oks->str, FALSE);
  assert_int_equal(relay_channel_size(fx->channel), 250);
  _assert_take(fx, 50, bodies->str);
  assert_int_equal(fx->source->counters.event_received, 254);
  assert_int_equal(fx->source->counters.event_accepted, 254);
  assert_int_equal(fx->source->counters.open_connections, 1);

  close(fd);
  _pump_ms(fx, 20);
  assert_int_equal(fx->source->counters.open_connections, 0);
  g_string_free(many, TRUE);
  g_string_free(oks, TRUE);
  g_string_free(bodies, TRUE);
  _fixture_free(fx);
}

static void
test_line_too_long(void **state)
{
  const char *const kv[] = { "bind", "127.0.0.1", "port", "0", "max-line-length", "8", NULL };
  Fixture *fx = _fixture_new(&relay_source_netcat_class, kv, _channel_big);
  int other = _connect(fx->port);
  int fd = _connect(fx->port);

  /* 7 characters + newline fit in 8; 8 + newline do not. */
  _send(fd, "1234567\n12345678\nnever\n");
  _expect(fx, fd, "OK\n" TOO_LONG_8, TRUE);
  close(fd);
  _send(other, "x\n");
  _expect(fx, other, "OK\n", FALSE);

  /* 8 bytes without a newline can no longer become a valid line. */
  fd = _connect(fx->port);
  _send(fd, "12345678");
  _expect(fx, fd, TOO_LONG_8, TRUE);
  close(fd);
  _send(other, "y\n");
  _expect(fx, other, "OK\n", FALSE);

  _assert_take(fx, 10, "1234567,x,y");
  assert_int_equal(fx->source->counters.event_read_fail, 2);
  assert_int_equal(fx->source->counters.protocol_errors[RELAY_PROTO_ERROR_LIMIT], 2);
  assert_true(_log_contains("line too long, closing connection peer=127.0.0.1:"));
  assert_true(_log_contains("limit=8"));
  close(other);
  _fixture_free(fx);
}

static void
test_no_ack(void **state)
{
  const char *const kv[] = { "bind", "127.0.0.1", "port", "0", "ack-every-event", "false", NULL };
  Fixture *fx = _fixture_new(&relay_source_netcat_class, kv, _channel_big);
  int fd = _connect(fx->port);

  _send(fd, "q1\nq2\n");
  _wait_channel_size(fx, 2, 3000);
  Reply reply = _recv_lines(fx, fd, 1, 100);
  assert_string_equal(reply.data->str, "");
  assert_false(reply.eof);
  g_string_free(reply.data, TRUE);
  _assert_take(fx, 10, "q1,q2");
  close(fd);
  _fixture_free(fx);
}

static void
test_channel_full(void **state)
{
  const char *const kv[] = { "bind", "127.0.0.1", "port", "0", NULL };
  const char *const small[] = { "capacity", "2", "transactionCapacity", "2", "keep-alive", "1", NULL };
  Fixture *fx = _fixture_new(&relay_source_netcat_class, kv, small);
  int fd = _connect(fx->port);

  _send(fd, "1\n2\n");
  _expect(fx, fd, "OK\nOK\n", FALSE);

  /* Full: FAILED after keep-alive (1 s), the connection stays open. */
  gint64 t0 = g_get_monotonic_time();
  _send(fd, "3\n");
  _expect(fx, fd, FAILED_FULL, FALSE);
  assert_true(g_get_monotonic_time() - t0 >= 900 * 1000);
  _assert_take(fx, 1, "1");
  _send(fd, "4\n");
  _expect(fx, fd, "OK\n", FALSE);

  /* Full again; room appears while the put waits: OK, well before keep-alive. */
  t0 = g_get_monotonic_time();
  _send(fd, "5\n");
  _pump_ms(fx, 50);
  Reply none = _recv_lines(fx, fd, 1, 10);
  assert_string_equal(none.data->str, "");
  g_string_free(none.data, TRUE);
  _assert_take(fx, 1, "2");
  _expect(fx, fd, "OK\n", FALSE);
  assert_true(g_get_monotonic_time() - t0 < 900 * 1000);
  _assert_take(fx, 2, "4,5");
  assert_int_equal(fx->source->counters.channel_write_fail, 1);
  assert_int_equal(fx->source->counters.event_accepted, 4);

  /* A put still waiting when the source stops is cancelled (no reply, nothing leaks). */
  _send(fd, "6\n7\n");
  _expect(fx, fd, "OK\nOK\n", FALSE);
  _send(fd, "8\n");
  _pump_ms(fx, 30);
  relay_component_stop(RELAY_COMPONENT(fx->source));
  _expect(fx, fd, "", TRUE);
  close(fd);
  _fixture_free(fx);
}

static void
test_max_connections(void **state)
{
  const char *const kv[] = { "bind", "127.0.0.1", "port", "0", "max-connections", "1", NULL };
  Fixture *fx = _fixture_new(&relay_source_netcat_class, kv, _channel_big);
  int first = _connect(fx->port);

  _send(first, "a\n");
  _expect(fx, first, "OK\n", FALSE);
  int second = _connect(fx->port);
  _expect(fx, second, "", TRUE);
  assert_true(_log_contains("refusing connection peer=127.0.0.1:"));
  _send(first, "b\n");
  _expect(fx, first, "OK\n", FALSE);
  close(second);
  close(first);
  _fixture_free(fx);
}

static void
test_port_in_use(void **state)
{
  const char *const kv[] = { "bind", "127.0.0.1", "port", "0", NULL };
  Fixture *fx = _fixture_new(&relay_source_netcat_class, kv, _channel_big);
  char port[8];
  g_snprintf(port, sizeof port, "%u", fx->port);
  const char *const kv2[] = { "bind", "127.0.0.1", "port", port, "channels", "c1", NULL };
  RelayComponent *second = relay_component_new(&relay_source_netcat_class, "r2");
  GError *error = NULL;

  assert_true(relay_component_configure_kv(second, kv2));
  RELAY_SOURCE(second)->cp = fx->source->cp; /* only checked for presence */
  RELAY_SOURCE(second)->base = fx->base;
  assert_false(relay_component_start(second, &error));
  assert_true(g_error_matches(error, RELAY_ERROR, RELAY_ERROR_IO));
  assert_non_null(strstr(error->message, "cannot listen on 127.0.0.1:"));
  g_error_free(error);
  relay_component_free(second);
  _fixture_free(fx);
}

static void
test_encoding(void **state)
{
  RelayComponent *ok = relay_component_new(&relay_source_netcat_class, "r1");
  RelayComponent *bad = relay_component_new(&relay_source_netcat_class, "r2");
  const char *const kv_ok[] = { "bind", "0.0.0.0", "port", "44444", "encoding", "UTF-8", NULL };
  const char *const kv_bad[] = { "bind", "0.0.0.0", "port", "44444", "encoding", "ISO-8859-1", NULL };
  const char *const kv_port[] = { "bind", "0.0.0.0", "port", "65536", NULL };
  RelayComponent *port = relay_component_new(&relay_source_netcat_class, "r3");

  assert_true(relay_component_configure_kv(ok, kv_ok));
  assert_false(relay_component_configure_kv(bad, kv_bad));
  assert_true(_log_contains("'ISO-8859-1' is not supported"));
  assert_false(relay_component_configure_kv(port, kv_port));
  relay_component_free(ok);
  relay_component_free(bad);
  relay_component_free(port);
}

/* ---- net helpers ---- */

static void
test_net_helpers(void **state)
{
  struct sockaddr_storage addr;
  socklen_t len;
  char peer[RELAY_NET_PEER_MAX];
  GError *error = NULL;
  struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(4141) };

  assert_true(relay_net_resolve("127.0.0.1", 5050, &addr, &len, NULL));
  relay_net_format_peer((struct sockaddr *)&addr, len, peer, sizeof peer);
  assert_string_equal(peer, "127.0.0.1:5050");
  assert_true(relay_net_resolve("0.0.0.0", 0, &addr, &len, NULL));
  relay_net_format_peer((struct sockaddr *)&addr, len, peer, sizeof peer);
  assert_string_equal(peer, "0.0.0.0:0");
  assert_true(relay_net_resolve("localhost", 1, &addr, &len, NULL));
  assert_int_equal(addr.ss_family, AF_INET); /* IPv4 first, as Java */

  sin6.sin6_addr.s6_addr[15] = 1;
  relay_net_format_peer((struct sockaddr *)&sin6, sizeof sin6, peer, sizeof peer);
  assert_string_equal(peer, "[::1]:4141");
  relay_net_format_peer(NULL, 0, peer, sizeof peer);
  assert_string_equal(peer, "?");

  assert_false(relay_net_resolve("127.0.0.1", 65536, &addr, &len, &error));
  assert_true(g_error_matches(error, RELAY_ERROR, RELAY_ERROR_CONFIG));
  g_clear_error(&error);
  assert_false(relay_net_resolve("not an address", 1, &addr, &len, &error));
  assert_true(g_error_matches(error, RELAY_ERROR, RELAY_ERROR_CONFIG));
  g_clear_error(&error);
}

/* A server whose readable() answers every input with 8 MiB (more than the kernel buffers on loopback). */
#define BLOB_SIZE (8u * 1024 * 1024)

typedef struct
{
  guint readable_calls, closed;
  RelayNetConn *conn;
  char *blob;
} BlobServer;

static gboolean
_blob_accepted(RelayNetConn *conn, gpointer server_data)
{
  BlobServer *bs = server_data;

  bs->conn = conn;
  relay_net_conn_set_data(conn, bs);
  return TRUE;
}

static void
_blob_readable(RelayNetConn *conn, gpointer conn_data)
{
  BlobServer *bs = conn_data;
  struct evbuffer *input = relay_net_conn_input(conn);

  bs->readable_calls++;
  evbuffer_drain(input, evbuffer_get_length(input));
  relay_net_conn_write(conn, bs->blob, BLOB_SIZE);
}

static void
_blob_closed(RelayNetConn *conn, gpointer conn_data)
{
  BlobServer *bs = conn_data;

  bs->closed++;
}

static const RelayNetHandler _blob_handler = { _blob_accepted, _blob_readable, _blob_closed };

/* Reads until total bytes arrived (stepping the loop). */
static void
_drain_client(Fixture *fx, int fd, gsize total)
{
  gsize got = 0;
  gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
  static char buf[65536];

  while (got < total && g_get_monotonic_time() < end)
    {
      event_base_loop(fx->base, EVLOOP_NONBLOCK);
      ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0)
        got += (gsize)n;
      else
        g_usleep(200);
    }
  assert_int_equal(got, total);
}

static void
test_net_output_backpressure(void **state)
{
  Fixture fx = { .base = event_base_new() };
  BlobServer bs = { .blob = g_malloc0(BLOB_SIZE) };
  RelayNetServerConfig config = { "127.0.0.1", 0, 4, 1024, 4096 };
  RelayNetServer *server = relay_net_server_new(fx.base, "test", &config, &_blob_handler, &bs, NULL);

  assert_non_null(server);
  assert_int_equal(relay_net_server_port(server), _logged_port());
  int fd = _connect(relay_net_server_port(server));
  _send(fd, "a");
  _pump_ms(&fx, 50);
  assert_int_equal(bs.readable_calls, 1);
  assert_true(relay_net_conn_is_paused(bs.conn)); /* megabytes unsent: not read any more */
  _send(fd, "b");
  _pump_ms(&fx, 50);
  assert_int_equal(bs.readable_calls, 1);

  _drain_client(&fx, fd, 2 * BLOB_SIZE); /* once the output drained, "b" is read and answered */
  assert_int_equal(bs.readable_calls, 2);
  assert_int_equal(relay_net_server_n_connections(server), 1);

  int other = _connect(relay_net_server_port(server));
  close(fd);
  _pump_ms(&fx, 30);
  assert_int_equal(bs.closed, 1);
  assert_int_equal(relay_net_server_n_connections(server), 1);
  relay_net_server_free(server); /* closes `other`, closed() runs */
  assert_int_equal(bs.closed, 2);
  close(other);
  g_free(bs.blob);
  event_base_free(fx.base);
}

/* ---- seq ---- */

static void
test_seq(void **state)
{
  const char *const kv[] = { "batchSize", "2", "totalEvents", "5", NULL };
  const char *const small[] = { "capacity", "3", "transactionCapacity", "2", "keep-alive", "0", NULL };
  Fixture *fx = _fixture_new(&relay_source_seq_class, kv, small);

  /* 0,1 fit; 2,3 do not (3 slots): the same batch is retried after 1 s. */
  _wait_channel_size(fx, 2, 1000);
  _pump_ms(fx, 50);
  assert_int_equal(relay_channel_size(fx->channel), 2);
  assert_int_equal(fx->source->counters.channel_write_fail, 1);
  _assert_take(fx, 2, "0,1");
  /* After the retry, 4 follows at once (3 slots again). */
  _wait_channel_size(fx, 3, 2000);
  _assert_take(fx, 2, "2,3");
  _assert_take(fx, 2, "4");
  _pump_ms(fx, 20);
  assert_int_equal(relay_channel_size(fx->channel), 0);
  assert_true(_log_contains("all events generated totalEvents=5"));
  assert_int_equal(fx->source->counters.event_accepted, 5);
  assert_int_equal(fx->source->counters.append_batch_accepted, 3);
  _fixture_free(fx);
}

static void
test_seq_stop_while_waiting(void **state)
{
  const char *const kv[] = { NULL };
  const char *const small[] = { "capacity", "1", "transactionCapacity", "1", "keep-alive", "1", NULL };
  Fixture *fx = _fixture_new(&relay_source_seq_class, kv, small);

  _wait_channel_size(fx, 1, 1000);
  _pump_ms(fx, 30); /* the put of "1" waits for room */
  relay_component_stop(RELAY_COMPONENT(fx->source));
  _assert_take(fx, 5, "0");
  _pump_ms(fx, 20);
  assert_int_equal(relay_channel_size(fx->channel), 0);
  _fixture_free(fx);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(test_lines_in_order, _setup),
    cmocka_unit_test_setup(test_line_too_long, _setup),
    cmocka_unit_test_setup(test_no_ack, _setup),
    cmocka_unit_test_setup(test_channel_full, _setup),
    cmocka_unit_test_setup(test_max_connections, _setup),
    cmocka_unit_test_setup(test_port_in_use, _setup),
    cmocka_unit_test_setup(test_encoding, _setup),
    cmocka_unit_test_setup(test_net_helpers, _setup),
    cmocka_unit_test_setup(test_net_output_backpressure, _setup),
    cmocka_unit_test_setup(test_seq, _setup),
    cmocka_unit_test_setup(test_seq_stop_while_waiting, _setup),
  };

  signal(SIGPIPE, SIG_IGN);
  evthread_use_pthreads();
  _log_lines = g_ptr_array_new_with_free_func(g_free);
  relay_log_set_handler(_log_handler, NULL);
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  relay_log_set_handler(NULL, NULL);
  g_ptr_array_unref(_log_lines);
  return failed;
}
