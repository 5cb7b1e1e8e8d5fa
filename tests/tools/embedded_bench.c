/* embedded_bench.c - put throughput of the embedded agent (scripts/bench embedded).
 *
 *   embedded_bench THREADS BATCH EVENTS_PER_THREAD
 *
 * One agent: memory channel (capacity 100000, transactionCapacity >= BATCH) -> null sink (batchSize 1000).
 * THREADS threads each put EVENTS_PER_THREAD events of 100-byte bodies (no headers) in puts of BATCH events
 * (BATCH 1: relay_embedded_put). Prints the events per second from the first put until the sink has taken
 * the last event (the channel is empty), and the CPU seconds of the process per million events. */
#define _DEFAULT_SOURCE
#include "embedded.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static RelayEmbeddedAgent *agent;
static size_t batch;
static size_t per_thread;

static double
now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
putter(void *arg)
{
  static const char body[100]
      = "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456";
  RelayEmbeddedEvent *events = calloc(batch, sizeof *events);
  (void)arg;
  for (size_t i = 0; i < batch; i++)
    {
      events[i].body = body;
      events[i].body_len = sizeof body;
    }
  for (size_t done = 0; done < per_thread; done += batch)
    {
      RelayEmbeddedStatus st;
      while ((st = batch == 1 ? relay_embedded_put(agent, events)
                              : relay_embedded_put_batch(agent, events, batch))
             == RELAY_EMBEDDED_ERR_FULL)
        ;
      if (st != RELAY_EMBEDDED_OK)
        {
          fprintf(stderr, "put: %s\n", relay_embedded_last_error());
          exit(1);
        }
    }
  free(events);
  return NULL;
}

int
main(int argc, char **argv)
{
  if (argc != 4)
    {
      fprintf(stderr, "usage: embedded_bench THREADS BATCH EVENTS_PER_THREAD\n");
      return 2;
    }
  int threads = atoi(argv[1]);
  batch = (size_t)atol(argv[2]);
  per_thread = (size_t)atol(argv[3]) / batch * batch;
  char txn[32];
  snprintf(txn, sizeof txn, "%zu", batch < 1000 ? 1000 : batch);
  const char *conf[] = { "channel.type",
                         "memory",
                         "channel.capacity",
                         "100000",
                         "channel.transactionCapacity",
                         txn,
                         "sinks",
                         "k1",
                         "k1.type",
                         "null",
                         "k1.batchSize",
                         "1000",
                         "processor.type",
                         "default",
                         NULL };
  agent = relay_embedded_new("bench");
  if (relay_embedded_configure(agent, conf) != RELAY_EMBEDDED_OK
      || relay_embedded_start(agent) != RELAY_EMBEDDED_OK)
    {
      fprintf(stderr, "%s\n", relay_embedded_last_error());
      return 1;
    }
  pthread_t tids[64];
  double t0 = now_s();
  for (int i = 0; i < threads && i < 64; i++)
    pthread_create(&tids[i], NULL, putter, NULL);
  for (int i = 0; i < threads && i < 64; i++)
    pthread_join(tids[i], NULL);
  while (relay_embedded_channel_size(agent) > 0)
    usleep(1000);
  double elapsed = now_s() - t0;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec
               + (double)ru.ru_stime.tv_usec / 1e6;
  double total = (double)per_thread * threads;
  printf("threads=%d batch=%zu events=%.0f seconds=%.3f events_per_s=%.0f cpu_s_per_million=%.3f\n", threads,
         batch, total, elapsed, total / elapsed, cpu / (total / 1e6));
  relay_embedded_stop(agent, 5000, NULL);
  relay_embedded_free(agent);
  return 0;
}
