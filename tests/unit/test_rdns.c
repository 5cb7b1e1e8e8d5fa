/* test_rdns.c - unit tests for the non-blocking reverse DNS resolver (rdns.c).
 *
 * A DNS server on a loopback UDP port of the same event loop (libevent's evdns server) answers PTR questions:
 * 127.0.0.2 is "two.example", 127.0.0.4 does not exist, 127.0.0.3 never gets an answer. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "rdns.h"

#include <arpa/inet.h>
#include <string.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/dns_struct.h>
#include <event2/event.h>

typedef struct
{
  struct event_base *base;
  evutil_socket_t fd;
  struct evdns_server_port *server;
  char nameserver[64];
  guint queries;
  char hosts_path[64];
} Fixture;

typedef struct
{
  RelayRdnsWaiter waiter;
  Fixture *fx;
  char name[256];
  guint calls;
  gint64 at_us;
} Waiter;

static void
_on_question(struct evdns_server_request *req, void *arg)
{
  Fixture *fx = arg;
  const char *q = req->nquestions == 1 ? req->questions[0]->name : "";

  fx->queries++;
  if (g_ascii_strcasecmp(q, "2.0.0.127.in-addr.arpa") == 0)
    {
      evdns_server_request_add_ptr_reply(req, NULL, q, "two.example", 60);
      evdns_server_request_respond(req, 0);
    }
  else if (g_ascii_strcasecmp(q, "3.0.0.127.in-addr.arpa") == 0)
    evdns_server_request_drop(req);
  else
    evdns_server_request_respond(req, DNS_ERR_NOTEXIST);
}

static int
_setup(void **state)
{
  Fixture *fx = g_new0(Fixture, 1);
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t len = sizeof sin;

  fx->base = event_base_new();
  fx->fd = socket(AF_INET, SOCK_DGRAM, 0);
  assert_int_equal(bind(fx->fd, (struct sockaddr *)&sin, sizeof sin), 0);
  assert_int_equal(getsockname(fx->fd, (struct sockaddr *)&sin, &len), 0);
  evutil_make_socket_nonblocking(fx->fd);
  fx->server = evdns_add_server_port_with_base(fx->base, fx->fd, 0, _on_question, fx);
  g_snprintf(fx->nameserver, sizeof fx->nameserver, "127.0.0.1:%u", ntohs(sin.sin_port));
  g_strlcpy(fx->hosts_path, "/tmp/test_rdns_hostsXXXXXX", sizeof fx->hosts_path);
  int hfd = g_mkstemp(fx->hosts_path);
  const char hosts[] = "# comment\n10.1.2.3\tfromhosts alias # x\n10.1.2.3 second\n::1 six\n\nbad line\n";
  assert_int_equal(write(hfd, hosts, sizeof hosts - 1), (ssize_t)(sizeof hosts - 1));
  close(hfd);
  *state = fx;
  return 0;
}

static int
_teardown(void **state)
{
  Fixture *fx = *state;

  evdns_close_server_port(fx->server);
  evutil_closesocket(fx->fd);
  event_base_free(fx->base);
  unlink(fx->hosts_path);
  g_free(fx);
  return 0;
}

static RelayRdns *
_rdns(Fixture *fx, gint64 timeout_ms, guint cache_size, gint64 ttl_s)
{
  RelayRdnsConfig config = {
    .nameservers = fx->nameserver,
    .timeout_ms = timeout_ms,
    .cache_size = cache_size,
    .ttl_s = ttl_s,
    .hosts_file = fx->hosts_path,
  };
  GError *error = NULL;
  RelayRdns *rdns = relay_rdns_new(fx->base, "[test]", &config, &error);

  assert_null(error);
  assert_non_null(rdns);
  return rdns;
}

static void
_on_done(const char *name, gpointer user_data)
{
  Waiter *w = user_data;

  g_strlcpy(w->name, name, sizeof w->name);
  w->calls++;
  w->at_us = g_get_monotonic_time();
}

static void
_waiter_init(Waiter *w, Fixture *fx)
{
  memset(w, 0, sizeof *w);
  w->fx = fx;
  w->waiter.done = _on_done;
  w->waiter.user_data = w;
}

/* Runs the loop until every waiter was called (at most 10 s). */
static void
_run_until(Fixture *fx, Waiter **ws, guint n)
{
  gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
  gboolean all = FALSE;

  while (!all && g_get_monotonic_time() < deadline)
    {
      event_base_loop(fx->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
      g_usleep(1000);
      all = TRUE;
      for (guint i = 0; i < n; i++)
        all = all && ws[i]->calls > 0;
    }
  assert_true(all);
}

static void
test_hosts_file(void **state)
{
  Fixture *fx = *state;
  RelayRdns *rdns = _rdns(fx, 1000, 16, 60);
  Waiter w;

  _waiter_init(&w, fx);
  assert_string_equal(relay_rdns_lookup(rdns, "10.1.2.3", &w.waiter), "fromhosts");
  assert_string_equal(relay_rdns_lookup(rdns, "::1", &w.waiter), "six");
  assert_int_equal(fx->queries, 0);
  relay_rdns_free(rdns);
}

static void
test_answer_is_cached(void **state)
{
  Fixture *fx = *state;
  RelayRdns *rdns = _rdns(fx, 5000, 16, 60);
  Waiter a, b;
  Waiter *ws[] = { &a, &b };
  RelayRdnsStats stats;

  _waiter_init(&a, fx);
  _waiter_init(&b, fx);
  assert_null(relay_rdns_lookup(rdns, "127.0.0.2", &a.waiter));
  assert_null(relay_rdns_lookup(rdns, "127.0.0.2", &b.waiter)); /* joins the lookup in flight */
  _run_until(fx, ws, 2);
  assert_string_equal(a.name, "two.example");
  assert_string_equal(b.name, "two.example");
  assert_int_equal(fx->queries, 1);
  assert_string_equal(relay_rdns_lookup(rdns, "127.0.0.2", &a.waiter), "two.example");
  assert_int_equal(fx->queries, 1);
  relay_rdns_stats(rdns, &stats);
  assert_int_equal(stats.queries, 1);
  assert_int_equal(stats.hits, 1);
  relay_rdns_free(rdns);
}

static void
test_failure_gives_ip(void **state)
{
  Fixture *fx = *state;
  RelayRdns *rdns = _rdns(fx, 5000, 16, 60);
  Waiter a;
  Waiter *ws[] = { &a };

  _waiter_init(&a, fx);
  assert_null(relay_rdns_lookup(rdns, "127.0.0.4", &a.waiter));
  _run_until(fx, ws, 1);
  assert_string_equal(a.name, "127.0.0.4");
  assert_string_equal(relay_rdns_lookup(rdns, "127.0.0.4", &a.waiter), "127.0.0.4"); /* cached too */
  assert_int_equal(fx->queries, 1);
  relay_rdns_free(rdns);
}

/* A sender whose lookup gets no answer waits timeout_ms, and meanwhile others are answered. */
static void
test_timeout_does_not_stall_others(void **state)
{
  Fixture *fx = *state;
  RelayRdns *rdns = _rdns(fx, 1500, 16, 60);
  Waiter slow, fast;
  Waiter *ws[] = { &slow, &fast };
  gint64 start = g_get_monotonic_time();
  RelayRdnsStats stats;

  _waiter_init(&slow, fx);
  _waiter_init(&fast, fx);
  assert_null(relay_rdns_lookup(rdns, "127.0.0.3", &slow.waiter));
  assert_null(relay_rdns_lookup(rdns, "127.0.0.2", &fast.waiter));
  _run_until(fx, ws, 2);
  assert_string_equal(slow.name, "127.0.0.3");
  assert_string_equal(fast.name, "two.example");
  assert_true(fast.at_us < slow.at_us);
  assert_true(slow.at_us - start >= 1400 * 1000);
  assert_int_equal(slow.calls, 1);
  /* Past its deadline the lookup in flight does not make new waiters wait. */
  Waiter late;
  _waiter_init(&late, fx);
  const char *name = relay_rdns_lookup(rdns, "127.0.0.3", &late.waiter);
  assert_non_null(name);
  assert_string_equal(name, "127.0.0.3");
  relay_rdns_stats(rdns, &stats);
  assert_int_equal(stats.timeouts, 1);
  relay_rdns_free(rdns); /* with the lookup still in flight: no call, nothing leaked */
  assert_int_equal(slow.calls, 1);
}

static void
test_cancel(void **state)
{
  Fixture *fx = *state;
  RelayRdns *rdns = _rdns(fx, 5000, 16, 60);
  Waiter a, b;
  Waiter *ws[] = { &b };

  _waiter_init(&a, fx);
  _waiter_init(&b, fx);
  assert_null(relay_rdns_lookup(rdns, "127.0.0.2", &a.waiter));
  assert_null(relay_rdns_lookup(rdns, "127.0.0.2", &b.waiter));
  relay_rdns_cancel(rdns, &a.waiter);
  relay_rdns_cancel(rdns, &a.waiter); /* harmless */
  _run_until(fx, ws, 1);
  assert_int_equal(a.calls, 0);
  assert_int_equal(b.calls, 1);
  relay_rdns_free(rdns);
}

static void
test_cache_bounds(void **state)
{
  Fixture *fx = *state;
  Waiter a, b;
  Waiter *wa[] = { &a }, *wb[] = { &b };

  /* TTL 0: nothing is kept. */
  RelayRdns *rdns = _rdns(fx, 5000, 16, 0);
  _waiter_init(&a, fx);
  assert_null(relay_rdns_lookup(rdns, "127.0.0.2", &a.waiter));
  _run_until(fx, wa, 1);
  _waiter_init(&a, fx);
  assert_null(relay_rdns_lookup(rdns, "127.0.0.2", &a.waiter));
  _run_until(fx, wa, 1);
  assert_int_equal(fx->queries, 2);
  relay_rdns_free(rdns);

  /* One entry: the older name goes. */
  rdns = _rdns(fx, 5000, 1, 60);
  _waiter_init(&a, fx);
  assert_null(relay_rdns_lookup(rdns, "127.0.0.2", &a.waiter));
  _run_until(fx, wa, 1);
  _waiter_init(&b, fx);
  assert_null(relay_rdns_lookup(rdns, "127.0.0.4", &b.waiter));
  _run_until(fx, wb, 1);
  _waiter_init(&a, fx);
  assert_null(relay_rdns_lookup(rdns, "127.0.0.2", &a.waiter));
  _run_until(fx, wa, 1);
  assert_int_equal(fx->queries, 5);
  /* One lookup in flight at most: another address is named by its IP at once. */
  _waiter_init(&a, fx);
  _waiter_init(&b, fx);
  assert_null(relay_rdns_lookup(rdns, "127.0.0.3", &a.waiter));
  assert_string_equal(relay_rdns_lookup(rdns, "127.0.0.9", &b.waiter), "127.0.0.9");
  relay_rdns_free(rdns);
}

static void
test_nameservers_check(void **state)
{
  char *why = NULL;

  (void)state;
  assert_true(relay_rdns_nameservers_ok("127.0.0.1:5353 ::1 [::1]:53", &why));
  assert_true(relay_rdns_nameservers_ok(NULL, &why));
  assert_false(relay_rdns_nameservers_ok("127.0.0.1 dns.example", &why));
  assert_non_null(strstr(why, "'dns.example'"));
  g_free(why);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_hosts_file, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_answer_is_cached, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_failure_gives_ip, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_timeout_does_not_stall_others, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_cancel, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_cache_bounds, _setup, _teardown),
    cmocka_unit_test(test_nameservers_check),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
