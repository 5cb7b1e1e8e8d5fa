/* embedded_put_prog.c - test_embedded.sh's application: built against the installed relayd/embedded.h with
 * nothing but `pkg-config --cflags --libs relay-embedded`.
 *
 *   embedded_put_prog failover PORT_A PORT_B N
 *       failover group k1 -> PORT_A (priority 10), k2 -> PORT_B (priority 5); 8 lanes put the numbers
 *       0..N-1 (even lanes in batches of 100, odd lanes one by one), each lane through 10 threads one after
 *       the other (a thread exits after its share, a new one takes over): the first half, then "HALF" on
 *       stdout and a line read from stdin (the test kills collector A meanwhile), then the rest; stop with
 *       15 s to deliver. Prints "STOP status=... left=...".
 *   embedded_put_prog full DEAD_PORT
 *       two agents at once (memory channel capacity 100, keep-alive 1 s, sink to a port nobody listens on):
 *       state and configuration errors, a batch over transactionCapacity, 100 events fill the channel, the
 *       next put returns FULL after the keep-alive; each agent's log lines reach its own callback.
 *   embedded_put_prog file DIR PORT N
 *       file channel in DIR, sink to PORT (nothing listens yet): N events put (batches of 100), stop after 1
 * s says they are left; "STOPPED left=..." and a line read from stdin (the test starts the collector); start
 * again, stop with 15 s: nothing left. Exit status 0 when every expectation held; each failure prints "FAIL
 * ...". */
#define _POSIX_C_SOURCE 200809L
#include <relayd/embedded.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define THREADS 8

static int failures;
static int batches_only; /* file mode: every thread puts batches (a single put is one sync each) */

#define EXPECT(cond, ...)                                                                                    \
  do                                                                                                         \
    {                                                                                                        \
      if (!(cond))                                                                                           \
        {                                                                                                    \
          printf("FAIL line %d: ", __LINE__);                                                                \
          printf(__VA_ARGS__);                                                                               \
          printf(" (last error: %s)\n", relay_embedded_last_error());                                        \
          fflush(stdout);                                                                                    \
          failures++;                                                                                        \
        }                                                                                                    \
    }                                                                                                        \
  while (0)

static double
now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
log_cb(int level, const char *line, void *user_data)
{
  fprintf(stderr, "[cb %s] %d %s\n", (const char *)user_data, level, line);
}

static void
wait_line(void)
{
  char buf[64];
  if (!fgets(buf, sizeof buf, stdin))
    exit(3);
}

/* ---- failover ---- */

typedef struct
{
  RelayEmbeddedAgent *agent;
  int thread;
  long from, to; /* numbers n in [from, to) with n % THREADS == thread */
  int rounds;    /* put_lane: threads one after the other */
} PutJob;

static void *
put_numbers(void *arg)
{
  PutJob *job = arg;
  char bodies[100][24];
  RelayEmbeddedEvent events[100];
  RelayEmbeddedHeader header = { "thread", job->thread % 2 ? "single" : "batch" };
  int n = 0;

  for (long i = job->from; i < job->to; i++)
    {
      if (i % THREADS != job->thread)
        continue;
      events[n].body_len = (size_t)snprintf(bodies[n], sizeof bodies[n], "%ld", i);
      events[n].body = bodies[n];
      events[n].headers = &header;
      events[n].n_headers = 1;
      n++;
      if (n == 100 || (job->thread % 2 && !batches_only && n == 1))
        {
          RelayEmbeddedStatus st = n == 1 ? relay_embedded_put(job->agent, events)
                                          : relay_embedded_put_batch(job->agent, events, (size_t)n);
          EXPECT(st == RELAY_EMBEDDED_OK, "put of %d events: %s", n, relay_embedded_status_name(st));
          n = 0;
        }
    }
  if (n)
    EXPECT(relay_embedded_put_batch(job->agent, events, (size_t)n) == RELAY_EMBEDDED_OK, "last batch");
  return NULL;
}

/* One lane of put_range: its numbers are put by `rounds` threads one after the other, each starting when the
 * previous one has exited, so threads exit between puts (with their cached batch array and channel
 * transaction) and new ones start putting while the other lanes' threads are in the middle of their puts. */
static void *
put_lane(void *arg)
{
  PutJob *lane = arg;
  long step = (lane->to - lane->from + lane->rounds - 1) / lane->rounds;

  for (long from = lane->from; from < lane->to; from += step)
    {
      PutJob job = *lane;
      pthread_t tid;
      job.from = from;
      job.to = from + step < lane->to ? from + step : lane->to;
      EXPECT(pthread_create(&tid, NULL, put_numbers, &job) == 0, "pthread_create");
      pthread_join(tid, NULL);
    }
  return NULL;
}

static void
put_range(RelayEmbeddedAgent *agent, long from, long to, int rounds)
{
  pthread_t tids[THREADS];
  PutJob jobs[THREADS];

  for (int t = 0; t < THREADS; t++)
    {
      jobs[t] = (PutJob){ agent, t, from, to, rounds };
      pthread_create(&tids[t], NULL, put_lane, &jobs[t]);
    }
  for (int t = 0; t < THREADS; t++)
    pthread_join(tids[t], NULL);
}

static int
run_failover(const char *port_a, const char *port_b, long n)
{
  const char *conf[] = { "channel.type",
                         "memory",
                         "channel.capacity",
                         "20000",
                         "channel.transactionCapacity",
                         "1000",
                         "sinks",
                         "k1 k2",
                         "k1.type",
                         "avro",
                         "k1.hostname",
                         "127.0.0.1",
                         "k1.port",
                         port_a,
                         "k1.batch-size",
                         "1000",
                         "k2.type",
                         "avro",
                         "k2.hostname",
                         "127.0.0.1",
                         "k2.port",
                         port_b,
                         "k2.batch-size",
                         "1000",
                         "processor.type",
                         "failover",
                         "processor.priority.k1",
                         "10",
                         "processor.priority.k2",
                         "5",
                         "processor.maxpenalty",
                         "10000",
                         "source.interceptors",
                         "i1",
                         "source.interceptors.i1.type",
                         "static",
                         "source.interceptors.i1.key",
                         "app",
                         "source.interceptors.i1.value",
                         "embedded-c",
                         NULL };
  RelayEmbeddedAgent *agent = relay_embedded_new("failover-test");
  uint64_t left = 99;

  relay_embedded_set_log(agent, log_cb, "failover", RELAY_EMBEDDED_LOG_INFO);
  EXPECT(relay_embedded_configure(agent, conf) == RELAY_EMBEDDED_OK, "configure");
  EXPECT(relay_embedded_start(agent) == RELAY_EMBEDDED_OK, "start");
  put_range(agent, 0, n / 2, 10);
  printf("HALF\n");
  fflush(stdout);
  wait_line();
  put_range(agent, n / 2, n, 10);
  RelayEmbeddedStatus st = relay_embedded_stop(agent, 15000, &left);
  printf("STOP status=%s left=%llu\n", relay_embedded_status_name(st), (unsigned long long)left);
  EXPECT(st == RELAY_EMBEDDED_OK && left == 0, "stop delivered everything");
  relay_embedded_free(agent);
  return failures ? 1 : 0;
}

/* ---- full channel, errors, two agents ---- */

static RelayEmbeddedAgent *
small_agent(const char *name, const char *port)
{
  const char *conf[] = { "channel.type",
                         "memory",
                         "channel.capacity",
                         "100",
                         "channel.transactionCapacity",
                         "100",
                         "channel.keep-alive",
                         "1",
                         "sinks",
                         "k1",
                         "k1.type",
                         "avro",
                         "k1.hostname",
                         "127.0.0.1",
                         "k1.port",
                         port,
                         "processor.type",
                         "default",
                         NULL };
  RelayEmbeddedAgent *agent = relay_embedded_new(name);
  RelayEmbeddedEvent ev = { "x", 1, NULL, 0 };

  relay_embedded_set_log(agent, log_cb, (void *)name, RELAY_EMBEDDED_LOG_INFO);
  EXPECT(relay_embedded_start(agent) == RELAY_EMBEDDED_ERR_STATE, "start before configure");
  EXPECT(strstr(relay_embedded_last_error(), "Cannot be started before being configured"), "its message");
  EXPECT(relay_embedded_put(agent, &ev) == RELAY_EMBEDDED_ERR_STATE, "put before start");
  EXPECT(relay_embedded_configure(agent, conf) == RELAY_EMBEDDED_OK, "configure");
  EXPECT(relay_embedded_start(agent) == RELAY_EMBEDDED_OK, "start");
  EXPECT(relay_embedded_configure(agent, conf) == RELAY_EMBEDDED_ERR_STATE, "configure while started");
  return agent;
}

static void
check_config_errors(void)
{
  const char *bad[]
      = { "channel.type", "jdbc", "sinks",          "k1 channel", "k1.type", "logger", "k1.hostname", "h",
          "k1.prot",      "4141", "processor.typo", "x",          "colour",  "blue",   NULL };
  RelayEmbeddedAgent *agent = relay_embedded_new("bad");

  EXPECT(relay_embedded_configure(agent, bad) == RELAY_EMBEDDED_ERR_CONFIG, "bad configuration refused");
  const char *msg = relay_embedded_last_error();
  printf("CONFIG-ERROR %s\n", msg);
  EXPECT(strstr(msg, "jdbc") && strstr(msg, "'channel' cannot be a sink name") && strstr(msg, "logger")
             && strstr(msg, "colour") && strstr(msg, "processor.type") && strstr(msg, "embedded agent bad:"),
         "every problem named");
  relay_embedded_free(agent);
  EXPECT(relay_embedded_new("") == NULL, "empty name refused");
}

static int
run_full(const char *port)
{
  RelayEmbeddedAgent *a = small_agent("agent-a", port);
  RelayEmbeddedAgent *b = small_agent("agent-b", port);
  RelayEmbeddedEvent events[101];

  check_config_errors();
  for (int i = 0; i < 101; i++)
    events[i] = (RelayEmbeddedEvent){ "full", 4, NULL, 0 };
  EXPECT(relay_embedded_put_batch(a, events, 101) == RELAY_EMBEDDED_ERR_TOO_LARGE,
         "over transactionCapacity");
  EXPECT(relay_embedded_put_batch(a, events, 100) == RELAY_EMBEDDED_OK, "fill agent-a");
  EXPECT(relay_embedded_put_batch(b, events, 50) == RELAY_EMBEDDED_OK, "half-fill agent-b");
  double t0 = now_s();
  RelayEmbeddedStatus st = relay_embedded_put(a, events);
  double waited = now_s() - t0;
  printf("FULL status=%s waited=%.2f message=%s\n", relay_embedded_status_name(st), waited,
         relay_embedded_last_error());
  EXPECT(st == RELAY_EMBEDDED_ERR_FULL, "put on a full channel");
  EXPECT(waited >= 0.9 && waited < 10, "waited the keep-alive (%.2f s)", waited);
  EXPECT(strstr(relay_embedded_last_error(), "keep-alive 1 s"), "message names the keep-alive");
  EXPECT(relay_embedded_put_batch(b, events, 50) == RELAY_EMBEDDED_OK, "agent-b unaffected");
  EXPECT(relay_embedded_channel_size(a) == 100 && relay_embedded_channel_size(b) == 100, "sizes");
  uint64_t left = 0;
  st = relay_embedded_stop(a, 200, &left);
  printf("STOP-A status=%s left=%llu message=%s\n", relay_embedded_status_name(st), (unsigned long long)left,
         relay_embedded_last_error());
  EXPECT(st == RELAY_EMBEDDED_ERR_UNDELIVERED && left == 100, "memory channel: stop says what is lost");
  EXPECT(relay_embedded_stop(a, 200, &left) == RELAY_EMBEDDED_ERR_STATE, "stop when stopped");
  EXPECT(relay_embedded_stop(b, 200, &left) == RELAY_EMBEDDED_ERR_UNDELIVERED && left == 100, "stop agent-b");
  relay_embedded_free(a);
  relay_embedded_free(b);
  return failures ? 1 : 0;
}

/* ---- file channel: stop, start again ---- */

static int
run_file(const char *dir, const char *port, long n)
{
  char checkpoint[512], data[512];
  snprintf(checkpoint, sizeof checkpoint, "%s/checkpoint", dir);
  snprintf(data, sizeof data, "%s/data", dir);
  const char *conf[] = { "channel.type",
                         "file",
                         "channel.checkpointDir",
                         checkpoint,
                         "channel.dataDirs",
                         data,
                         "channel.capacity",
                         "1000000",
                         "sinks",
                         "k1",
                         "k1.type",
                         "thrift",
                         "k1.hostname",
                         "127.0.0.1",
                         "k1.port",
                         port,
                         "processor.type",
                         "default",
                         NULL };
  RelayEmbeddedAgent *agent = relay_embedded_new("file-test");
  uint64_t left = 0;

  batches_only = 1;
  relay_embedded_set_log(agent, log_cb, "file", RELAY_EMBEDDED_LOG_WARN);
  EXPECT(relay_embedded_configure(agent, conf) == RELAY_EMBEDDED_OK, "configure");
  EXPECT(relay_embedded_start(agent) == RELAY_EMBEDDED_OK, "start");
  put_range(agent, 0, n, 1);
  RelayEmbeddedStatus st = relay_embedded_stop(agent, 1000, &left);
  printf("STOPPED status=%s left=%llu message=%s\n", relay_embedded_status_name(st), (unsigned long long)left,
         relay_embedded_last_error());
  fflush(stdout);
  EXPECT(st == RELAY_EMBEDDED_ERR_UNDELIVERED && left == (uint64_t)n, "file channel keeps what is left");
  EXPECT(strstr(relay_embedded_last_error(), "next start"), "message says the next start delivers them");
  wait_line();
  EXPECT(relay_embedded_start(agent) == RELAY_EMBEDDED_OK, "start again");
  st = relay_embedded_stop(agent, 15000, &left);
  printf("STOP status=%s left=%llu\n", relay_embedded_status_name(st), (unsigned long long)left);
  EXPECT(st == RELAY_EMBEDDED_OK && left == 0, "second run delivered everything");
  relay_embedded_free(agent);
  return failures ? 1 : 0;
}

int
main(int argc, char **argv)
{
  if (relay_embedded_version() >> 16 != RELAY_EMBEDDED_VERSION_MAJOR)
    {
      printf("FAIL version mismatch\n");
      return 1;
    }
  if (argc == 5 && strcmp(argv[1], "failover") == 0)
    return run_failover(argv[2], argv[3], atol(argv[4]));
  if (argc == 3 && strcmp(argv[1], "full") == 0)
    return run_full(argv[2]);
  if (argc == 5 && strcmp(argv[1], "file") == 0)
    return run_file(argv[2], argv[3], atol(argv[4]));
  fprintf(stderr, "usage: see the first comment of embedded_put_prog.c\n");
  return 2;
}
