/* relay_flood.c - load generator for scripts/bench: N connections sending numbered batches over Avro or
 * Thrift.
 *
 *   relay-flood -H host:port [--thrift] [--connections N] [--events TOTAL] [--batch N] [--body BYTES]
 *               [--truststore CA.pem [--keystore CLIENT.pem]]   (TLS, hostname verified)
 * Every event has a 100-byte (default) body and two headers; each connection builds one batch of events
 * (bodies start with a sequence number) and sends it again and again, so its CPU goes to encoding and I/O.
 * Each connection is one thread with its own client; a batch answered FAILED is retried after 10 ms.
 * Prints one line: events, seconds, events/s, MB/s of bodies, and this process's CPU seconds. */
#include "relay.h"

#include "event.h"
#include "relay-client.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

typedef struct
{
  const char *host;
  gboolean thrift;
  const char *truststore, *keystore; /* TLS when truststore is set */
  gint64 first, count;               /* this thread's sequence numbers */
  gint batch, body;
  gint64 sent;
  gboolean failed;
} FloodJob;

static RelayEvent *
_make_event(gint64 seq, gint body_len)
{
  char *body = g_malloc(body_len + 1);
  int n = g_snprintf(body, body_len + 1, "%" G_GINT64_FORMAT " ", seq);
  memset(body + n, 'x', body_len > n ? body_len - n : 0);
  RelayHeader headers[2] = { { "host", "bench-host-01", 4, 13 }, { "timestamp", "1700000000000", 9, 13 } };
  RelayEvent *ev = relay_event_new(headers, 2, body, (gsize)MAX(body_len, n));
  g_free(body);
  return ev;
}

static gpointer
_flood(gpointer data)
{
  FloodJob *job = data;
  char batch_size[16];
  g_snprintf(batch_size, sizeof batch_size, "%d", job->batch);
  const char *props[] = { "client.type",
                          job->thrift ? "thrift" : "default",
                          "hosts",
                          "h1",
                          "hosts.h1",
                          job->host,
                          "batch-size",
                          batch_size,
                          "request-timeout",
                          "60000",
                          job->truststore ? "ssl" : NULL,
                          "true",
                          "truststore",
                          job->truststore,
                          job->keystore ? "keystore" : NULL,
                          job->keystore,
                          NULL };
  GError *error = NULL;
  RelayClient *client = relay_client_new(props, &error);
  RelayEvent **events = g_new(RelayEvent *, job->batch);

  if (!client)
    {
      fprintf(stderr, "relay-flood: %s\n", error->message);
      job->failed = TRUE;
      return NULL;
    }
  /* One batch is built once and sent again and again: the generator should spend its CPU on the wire. */
  for (gint i = 0; i < job->batch; i++)
    events[i] = _make_event(job->first + i, job->body);
  for (gint64 done = 0; done < job->count;)
    {
      guint n = (guint)MIN(job->batch, job->count - done);
      RelayClientStatus status;
      while ((status = relay_client_append_batch(client, events, n, NULL)) != RELAY_CLIENT_OK)
        {
          if (status != RELAY_CLIENT_FAILED && status != RELAY_CLIENT_CONNECT_FAILED)
            fprintf(stderr, "relay-flood: %s, retrying\n", relay_client_status_name(status));
          g_usleep(10000);
        }
      done += n;
      job->sent = done;
    }
  for (gint i = 0; i < job->batch; i++)
    relay_event_unref(events[i]);
  g_free(events);
  relay_client_free(client);
  return NULL;
}

int
main(int argc, char **argv)
{
  char *host = NULL;
  gboolean thrift = FALSE;
  gint connections = 4, batch = 1000, body = 100;
  gint64 total = 1000000;
  char *truststore = NULL, *keystore = NULL;
  GOptionEntry entries[] = {
    { "truststore", 0, 0, G_OPTION_ARG_FILENAME, &truststore, "TLS: CA file (enables TLS)", "FILE" },
    { "keystore", 0, 0, G_OPTION_ARG_FILENAME, &keystore, "TLS: client certificate and key", "FILE" },
    { "host", 'H', 0, G_OPTION_ARG_STRING, &host, "host:port", "HOST" },
    { "thrift", 0, 0, G_OPTION_ARG_NONE, &thrift, "Thrift compact instead of Avro", NULL },
    { "connections", 'c', 0, G_OPTION_ARG_INT, &connections, "parallel connections (4)", "N" },
    { "events", 'n', 0, G_OPTION_ARG_INT64, &total, "events in all (1000000)", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "events per batch (1000)", "N" },
    { "body", 0, 0, G_OPTION_ARG_INT, &body, "body bytes (100)", "N" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("- relayd load generator");
  g_option_context_add_main_entries(ctx, entries, NULL);
  if (!g_option_context_parse(ctx, &argc, &argv, NULL) || !host || connections < 1 || batch < 1)
    {
      fprintf(stderr, "usage: relay-flood -H host:port [--thrift] [-c N] [-n N] [-b N] [--body N] "
                      "[--truststore F [--keystore F]]\n");
      return 2;
    }
  g_option_context_free(ctx);

  FloodJob *jobs = g_new0(FloodJob, connections);
  GThread **threads = g_new(GThread *, connections);
  gint64 t0 = g_get_monotonic_time();
  for (gint i = 0; i < connections; i++)
    {
      jobs[i] = (FloodJob){ host,
                            thrift,
                            truststore,
                            keystore,
                            total * i / connections,
                            total * (i + 1) / connections - total * i / connections,
                            batch,
                            body,
                            0,
                            FALSE };
      threads[i] = g_thread_new("flood", _flood, &jobs[i]);
    }
  gboolean failed = FALSE;
  for (gint i = 0; i < connections; i++)
    {
      g_thread_join(threads[i]);
      failed |= jobs[i].failed;
    }
  double secs = (g_get_monotonic_time() - t0) / 1e6;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  printf("events=%" G_GINT64_FORMAT " seconds=%.3f events_per_s=%.0f body_MB_per_s=%.1f flood_cpu_s=%.2f\n",
         total, secs, total / secs, total * (double)body / secs / 1e6, cpu);
  g_free(jobs);
  g_free(threads);
  g_free(host);
  return failed ? 1 : 0;
}
