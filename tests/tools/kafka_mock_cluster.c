/* kafka_mock_cluster.c - a Kafka cluster for the Kafka tests and benchmark: librdkafka's in-process mock
 * cluster (a real Kafka protocol implementation on loopback ports), driven from a test script.
 *
 *   kafka_mock_cluster [-b BROKERS] [TOPIC:PARTITIONS ...]
 *
 * Starts BROKERS brokers (default 3), creates the topics named on the command line, prints the bootstrap
 * servers as one line on stdout, then reads one command per line on stdin and answers each with "ok" or
 * "error: why" on stdout:
 *   topic NAME PARTITIONS      create a topic (replication factor: every broker, at most 3)
 *   down BROKER | up BROKER    stop or start accepting connections on a broker (Kafka's "broker down")
 *   error APIKEY ERR COUNT     the next COUNT requests of APIKEY (0 Produce, 1 Fetch, 3 Metadata, 8
 *                              OffsetCommit) fail with Kafka error code ERR (e.g. 6 NOT_LEADER, 7 TIMEOUT)
 *   leader TOPIC PARTITION BROKER   move a partition's leadership (a leader change)
 *   rtt BROKER MS              delay the broker's responses
 * It runs until stdin reaches its end or SIGTERM/SIGINT arrives.
 *
 * The brokers' sockets get TCP_NODELAY, as Kafka's brokers set it on every connection (librdkafka's mock
 * does not): otherwise a response written while the previous one is unacknowledged waits for the client's
 * delayed ACK (40 ms on Linux), and a producer with several requests on one connection, such as relayd's
 * Kafka sink with a few thousand records over 96 partitions, measured the mock's stalls instead of itself
 * (scripts/bench kafka, issue 18). */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t _stop;

static void
_on_signal(int sig)
{
  (void)sig;
  _stop = 1;
}

static int
_create_topic(rd_kafka_mock_cluster_t *mc, const char *name, int partitions, int brokers)
{
  int replicas = brokers < 3 ? brokers : 3;

  if (partitions < 1
      || rd_kafka_mock_topic_create(mc, name, partitions, replicas) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return -1;
  return 0;
}

/* One command line; returns the answer to print. */
static const char *
_command(rd_kafka_mock_cluster_t *mc, int brokers, char *line)
{
  char name[256];
  int a = 0, b = 0, c = 0;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;

  if (sscanf(line, "topic %255s %d", name, &a) == 2)
    return _create_topic(mc, name, a, brokers) == 0 ? "ok" : "error: topic not created";
  if (sscanf(line, "down %d", &a) == 1)
    err = rd_kafka_mock_broker_set_down(mc, a);
  else if (sscanf(line, "up %d", &a) == 1)
    err = rd_kafka_mock_broker_set_up(mc, a);
  else if (sscanf(line, "error %d %d %d", &a, &b, &c) == 3 && c > 0 && c <= 10000)
    {
      rd_kafka_resp_err_t *errs = calloc((size_t)c, sizeof(*errs));
      for (int i = 0; i < c; i++)
        errs[i] = (rd_kafka_resp_err_t)b;
      rd_kafka_mock_push_request_errors_array(mc, (int16_t)a, (size_t)c, errs);
      free(errs);
    }
  else if (sscanf(line, "leader %255s %d %d", name, &a, &b) == 3)
    err = rd_kafka_mock_partition_set_leader(mc, name, a, b);
  else if (sscanf(line, "rtt %d %d", &a, &b) == 2)
    err = rd_kafka_mock_broker_set_rtt(mc, a, b);
  else
    return "error: unknown command";
  return err == RD_KAFKA_RESP_ERR_NO_ERROR ? "ok" : rd_kafka_err2str(err);
}

/* Sets TCP_NODELAY on every listening socket of this process (the mock brokers', created by
 * rd_kafka_mock_cluster_new()), which the connections they accept inherit on Linux. */
static void
_nodelay_listeners(void)
{
  DIR *dir = opendir("/proc/self/fd");
  struct dirent *de;

  while (dir && (de = readdir(dir)) != NULL)
    {
      int fd = atoi(de->d_name), on = 1, listening = 0;
      socklen_t len = sizeof(listening);
      if (fd > 2 && getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    }
  if (dir)
    closedir(dir);
}

static void
_serve(rd_kafka_mock_cluster_t *mc, int brokers)
{
  char buf[4096];
  size_t used = 0;

  while (!_stop)
    {
      struct pollfd pfd = { .fd = 0, .events = POLLIN };
      if (poll(&pfd, 1, 200) <= 0)
        continue;
      ssize_t n = read(0, buf + used, sizeof(buf) - 1 - used);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return; /* stdin closed */
      used += (size_t)n;
      buf[used] = '\0';
      char *nl;
      while ((nl = strchr(buf, '\n')) != NULL)
        {
          *nl = '\0';
          if (buf[0])
            printf("%s\n", _command(mc, brokers, buf));
          fflush(stdout);
          used -= (size_t)(nl + 1 - buf);
          memmove(buf, nl + 1, used + 1);
        }
      if (used == sizeof(buf) - 1)
        used = 0; /* a line too long: dropped */
    }
}

int
main(int argc, char **argv)
{
  int brokers = 3, first = 1;
  char errstr[512];

  if (argc > 2 && strcmp(argv[1], "-b") == 0)
    {
      brokers = atoi(argv[2]);
      first = 3;
    }
  if (brokers < 1 || brokers > 16)
    {
      fprintf(stderr, "kafka_mock_cluster: -b takes 1..16 brokers\n");
      return 2;
    }
  signal(SIGTERM, _on_signal);
  signal(SIGINT, _on_signal);
  signal(SIGPIPE, SIG_IGN);
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!rk)
    {
      fprintf(stderr, "kafka_mock_cluster: %s\n", errstr);
      return 1;
    }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mc)
    {
      fprintf(stderr, "kafka_mock_cluster: the mock cluster did not start\n");
      rd_kafka_destroy(rk);
      return 1;
    }
  _nodelay_listeners();
  for (int i = first; i < argc; i++)
    {
      char *colon = strrchr(argv[i], ':');
      if (colon)
        *colon = '\0';
      if (!colon || _create_topic(mc, argv[i], atoi(colon + 1), brokers) != 0)
        {
          fprintf(stderr, "kafka_mock_cluster: bad topic argument (TOPIC:PARTITIONS)\n");
          rd_kafka_mock_cluster_destroy(mc);
          rd_kafka_destroy(rk);
          return 2;
        }
    }
  printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);
  _serve(mc, brokers);
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
