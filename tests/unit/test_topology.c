/* test_topology.c - unit tests of relayd --check-topology's matching (src/topology_hosts.c) and of hops
 * read from configurations (src/topology_model.c, topology_check.c). No DNS: names are compared as written
 * and numeric addresses as parsed (resolve = FALSE), so the results do not depend on the machine. */
#include "config.h"
#include "topology.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

static void
test_reaches(void **state)
{
  RelayTopoHosts *hosts = relay_topo_hosts_new(FALSE);

  /* Agents of unknown host run on this machine: loopback and wildcard binds are reached. */
  assert_true(relay_topo_reaches(hosts, NULL, "127.0.0.1", NULL, "127.0.0.1"));
  assert_true(relay_topo_reaches(hosts, NULL, "127.0.0.1", NULL, "0.0.0.0"));
  assert_true(relay_topo_reaches(hosts, NULL, "localhost", NULL, "127.0.0.1"));
  assert_true(relay_topo_reaches(hosts, NULL, "::1", NULL, "::"));
  assert_false(relay_topo_reaches(hosts, NULL, "127.0.0.2", NULL, "127.0.0.1"));
  /* Loopback reaches only the sender's own machine. */
  assert_false(relay_topo_reaches(hosts, "10.1.0.1", "127.0.0.1", "10.1.0.2", "0.0.0.0"));
  assert_true(relay_topo_reaches(hosts, "10.1.0.2", "127.0.0.1", "10.1.0.2", "127.0.0.1"));
  /* A wildcard bind is reached through the agent's host, as written (case-insensitive) or as an address. */
  assert_true(relay_topo_reaches(hosts, NULL, "collector1.example", "Collector1.example", "0.0.0.0"));
  assert_true(relay_topo_reaches(hosts, "10.1.0.1", "10.1.0.2", "10.1.0.2", "0.0.0.0"));
  assert_false(relay_topo_reaches(hosts, NULL, "collector2.example", "collector1.example", "0.0.0.0"));
  /* A specific bind is reached by its own address only. */
  assert_true(relay_topo_reaches(hosts, NULL, "10.1.0.2", "collector1.example", "10.1.0.2"));
  assert_false(relay_topo_reaches(hosts, NULL, "10.1.0.3", "collector1.example", "10.1.0.2"));
  /* IPv6 written two ways. */
  assert_true(relay_topo_reaches(hosts, NULL, "fd00::1", "fd00:0:0::1", "0.0.0.0"));
  relay_topo_hosts_free(hosts);
}

static void
test_binds_overlap(void **state)
{
  RelayTopoHosts *hosts = relay_topo_hosts_new(FALSE);

  assert_true(relay_topo_binds_overlap(hosts, NULL, "0.0.0.0", NULL, "127.0.0.1"));
  assert_true(relay_topo_binds_overlap(hosts, NULL, "127.0.0.1", NULL, "localhost"));
  assert_false(relay_topo_binds_overlap(hosts, NULL, "127.0.0.1", NULL, "10.1.0.9"));
  assert_false(relay_topo_binds_overlap(hosts, "h1.example", "0.0.0.0", "h2.example", "0.0.0.0"));
  assert_true(relay_topo_binds_overlap(hosts, "h1.example", "0.0.0.0", "H1.example", "10.1.0.9"));
  relay_topo_hosts_free(hosts);
}

/* Checks text (file name "t.conf") and returns the report (free it). */
static RelayConfigReport *
_check(const char *text, const char *host)
{
  RelayTopology *topo = relay_topology_new(FALSE);
  RelayConfigReport *report = relay_config_report_new();

  if (host)
    assert_true(relay_topology_set_host(topo, host));
  relay_topology_add_string(topo, "t.conf", text, report);
  relay_topology_link(topo, report);
  relay_topology_check(topo, report);
  relay_topology_free(topo);
  return report;
}

static const char _two_tiers[] = "a.sources = r\n"
                                 "a.channels = c\n"
                                 "a.sinks = k\n"
                                 "a.sources.r.type = seq\n"
                                 "a.sources.r.channels = c\n"
                                 "a.channels.c.type = memory\n"
                                 "a.channels.c.transactionCapacity = 500\n"
                                 "a.sinks.k.type = avro\n"
                                 "a.sinks.k.channel = c\n"
                                 "a.sinks.k.hostname = 10.1.0.2\n"
                                 "a.sinks.k.port = 4141\n"
                                 "a.sinks.k.batch-size = 200\n"
                                 "b.sources = r\n"
                                 "b.channels = c\n"
                                 "b.sinks = k\n"
                                 "b.sources.r.type = avro\n"
                                 "b.sources.r.bind = 0.0.0.0\n"
                                 "b.sources.r.port = 4141\n"
                                 "b.sources.r.channels = c\n"
                                 "b.channels.c.type = memory\n"
                                 "b.sinks.k.type = null\n"
                                 "b.sinks.k.channel = c\n";

/* Where b runs decides whether a's sink reaches it; the default transactionCapacity (100) is the
 * memory channel's option-table default. */
static void
test_hop_by_host(void **state)
{
  RelayConfigReport *report = _check(_two_tiers, NULL);

  assert_int_equal(relay_config_report_count(report), 1);
  assert_string_equal(
      g_ptr_array_index(report->lines, 0),
      "t.conf:10: a.sinks.k: hostname: 10.1.0.2:4141 (sent from this machine) matches no source "
      "of the topology: b.sources.r (t.conf:16) binds 0.0.0.0:4141 on this machine (where an "
      "agent runs elsewhere, say so with --host AGENT=HOST)");
  relay_config_report_free(report);

  report = _check(_two_tiers, "b=10.1.0.2");
  assert_int_equal(relay_config_report_count(report), 1);
  assert_string_equal(
      g_ptr_array_index(report->lines, 0),
      "t.conf:12: a.sinks.k: batch-size: 200 is larger than transactionCapacity 100 of "
      "b.channels.c (t.conf:20), which its target b.sources.r puts every received batch into; "
      "every batch would be refused");
  relay_config_report_free(report);

  /* The host as a key of the file. */
  char *text
      = g_strconcat(_two_tiers, "topology.host.b = 10.1.0.2\nb.channels.c.transactionCapacity = 200\n", NULL);
  report = _check(text, NULL);
  assert_int_equal(relay_config_report_count(report), 0);
  relay_config_report_free(report);
  g_free(text);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_reaches),
    cmocka_unit_test(test_binds_overlap),
    cmocka_unit_test(test_hop_by_host),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
