/* relay_send.c - relay-send, the equivalent of `flume-ng avro-client`: one event per input line.
 *
 *   relay-send -H host[:port] [-p port] [-F file] [-R headers.properties] [--batch-size N] [--thrift
 *              [--protocol compact|binary]] [--compression deflate] [--failover | --load-balance]
 *              [--retry-timeout S] [--progress] [--ssl [--truststore F | --trust-all-certs] [--keystore F
 *              [--keystore-password P]] [--ssl-deflate-order O]]
 * Lines (newline stripped) become event bodies; headers from -R apply to every event. Batches that the
 * server answers FAILED, or that cannot be delivered, are retried with backoff for up to --retry-timeout
 * seconds (default 30; 0 = no retry); a failed attempt is reported on stderr (at most one line a second) and,
 * at the end, one line counts the failed attempts by status (FAILED=n TIMEOUT=n ...), the batches retried
 * and those never acknowledged. Exit status 0 only if every event was acknowledged. A source that closes
 * the connection on the first request without answering, three times in a row (REJECTED: a protocol or
 * compression-type mismatch), ends the run at once with a line saying what to check (issue 19). */
#include "relay.h"

#include "event.h"
#include "log.h"
#include "props.h"
#include "relay-client.h"

#include <stdio.h>
#include <errno.h>
#include <string.h>

typedef struct
{
  char **hosts;
  gint port;
  char *file;
  char *headers_file;
  gint batch_size;
  gboolean thrift;
  char *protocol;
  char *compression;
  gboolean failover;
  gboolean load_balance;
  gint retry_timeout_s;
  gboolean progress;
  gint request_timeout_ms;
  /* TLS (issue 13) */
  gboolean ssl, trust_all_certs;
  char *truststore, *keystore, *keystore_password, *ssl_deflate_order;
} SendArgs;

static gboolean
_parse_args(int *argc, char ***argv, SendArgs *a)
{
  GOptionEntry entries[] = {
    { "host", 'H', 0, G_OPTION_ARG_STRING_ARRAY, &a->hosts,
      "server host[:port] (repeat for failover/load-balance)", "HOST" },
    { "port", 'p', 0, G_OPTION_ARG_INT, &a->port, "server port for hosts given without one", "PORT" },
    { "filename", 'F', 0, G_OPTION_ARG_FILENAME, &a->file, "read lines from FILE (default stdin)", "FILE" },
    { "headerFile", 'R', 0, G_OPTION_ARG_FILENAME, &a->headers_file,
      "properties file of headers for every event", "FILE" },
    { "batch-size", 'b', 0, G_OPTION_ARG_INT, &a->batch_size, "events per request (default 100)", "N" },
    { "thrift", 0, 0, G_OPTION_ARG_NONE, &a->thrift, "use Thrift RPC instead of Avro", NULL },
    { "protocol", 0, 0, G_OPTION_ARG_STRING, &a->protocol, "Thrift protocol: compact (default) or binary",
      "P" },
    { "compression", 0, 0, G_OPTION_ARG_STRING, &a->compression, "deflate (Avro only)", "TYPE" },
    { "failover", 0, 0, G_OPTION_ARG_NONE, &a->failover, "use the hosts in order, failing over", NULL },
    { "load-balance", 0, 0, G_OPTION_ARG_NONE, &a->load_balance, "spread batches over the hosts", NULL },
    { "retry-timeout", 0, 0, G_OPTION_ARG_INT, &a->retry_timeout_s, "seconds to keep retrying a batch (30)",
      "S" },
    { "request-timeout", 0, 0, G_OPTION_ARG_INT, &a->request_timeout_ms, "ms to wait for each reply (20000)",
      "MS" },
    { "progress", 0, 0, G_OPTION_ARG_NONE, &a->progress, "print a progress line every second", NULL },
    /* TLS (issue 13); unset stores fall back to FLUME_SSL_TRUSTSTORE_PATH, FLUME_SSL_KEYSTORE_PATH, ... */
    { "ssl", 0, 0, G_OPTION_ARG_NONE, &a->ssl, "connect with TLS", NULL },
    { "truststore", 0, 0, G_OPTION_ARG_FILENAME, &a->truststore, "TLS: PEM or PKCS12 file of trusted CAs",
      "FILE" },
    { "trust-all-certs", 0, 0, G_OPTION_ARG_NONE, &a->trust_all_certs, "TLS: do not verify the server",
      NULL },
    { "keystore", 0, 0, G_OPTION_ARG_FILENAME, &a->keystore,
      "TLS: client certificate and key (PEM or PKCS12)", "FILE" },
    { "keystore-password", 0, 0, G_OPTION_ARG_STRING, &a->keystore_password,
      "TLS: keystore password (or FLUME_SSL_KEYSTORE_PASSWORD)", "P" },
    { "ssl-deflate-order", 0, 0, G_OPTION_ARG_STRING, &a->ssl_deflate_order,
      "TLS with deflate: deflate-outside-tls (Flume 1.10+) or tls-outside-deflate (Flume 1.9)", "ORDER" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("- send one event per line to a Flume/relayd RPC source");
  GError *error = NULL;

  g_option_context_add_main_entries(ctx, entries, NULL);
  gboolean ok = g_option_context_parse(ctx, argc, argv, &error);
  g_option_context_free(ctx);
  if (!ok)
    {
      fprintf(stderr, "relay-send: %s\n", error->message);
      g_error_free(error);
      return FALSE;
    }
  if (!a->hosts || (a->failover && a->load_balance))
    {
      fprintf(stderr, "relay-send: %s\n",
              !a->hosts ? "-H HOST is required" : "--failover or --load-balance, not both");
      return FALSE;
    }
  return TRUE;
}

/* Builds the client properties from the arguments. */
static GPtrArray *
_client_props(const SendArgs *a)
{
  GPtrArray *kv = g_ptr_array_new_with_free_func(g_free);
  GString *aliases = g_string_new("");
  const char *type = a->failover       ? "default_failover"
                     : a->load_balance ? "default_loadbalance"
                     : a->thrift       ? "thrift"
                                       : "default";

#define KV(k, v) (g_ptr_array_add(kv, g_strdup(k)), g_ptr_array_add(kv, (v)))
  KV("client.type", g_strdup(type));
  KV("rpc.protocol", g_strdup(a->thrift ? "thrift" : "avro"));
  for (guint i = 0; a->hosts[i]; i++)
    {
      char *key = g_strdup_printf("hosts.h%u", i);
      KV(key,
         strchr(a->hosts[i], ':') ? g_strdup(a->hosts[i]) : g_strdup_printf("%s:%d", a->hosts[i], a->port));
      g_free(key);
      g_string_append_printf(aliases, "%sh%u", i ? " " : "", i);
    }
  KV("hosts", g_string_free(aliases, FALSE));
  KV("batch-size", g_strdup_printf("%d", a->batch_size > 0 ? a->batch_size : 100));
  KV("request-timeout", g_strdup_printf("%d", a->request_timeout_ms > 0 ? a->request_timeout_ms : 20000));
  if (a->protocol)
    KV("protocol", g_strdup(a->protocol));
  if (a->compression)
    KV("compression-type", g_strdup(a->compression));
  if (a->load_balance)
    KV("backoff", g_strdup("true"));
  if (a->ssl)
    KV("ssl", g_strdup("true"));
  if (a->trust_all_certs)
    KV("trust-all-certs", g_strdup("true"));
  if (a->truststore)
    KV("truststore", g_strdup(a->truststore));
  if (a->keystore)
    KV("keystore", g_strdup(a->keystore));
  if (a->keystore_password)
    KV("keystore-password", g_strdup(a->keystore_password));
  if (a->ssl_deflate_order)
    KV("ssl-deflate-order", g_strdup(a->ssl_deflate_order));
#undef KV
  g_ptr_array_add(kv, NULL);
  return kv;
}

static GArray *
_load_headers(const char *path)
{
  GArray *headers = g_array_new(FALSE, FALSE, sizeof(RelayHeader));
  RelayProps *props = relay_props_new();
  GError *error = NULL;
  guint n = 0;

  if (path && !relay_props_load_file(props, path, NULL, &error))
    {
      fprintf(stderr, "relay-send: %s\n", error->message);
      g_error_free(error);
      relay_props_free(props);
      g_array_free(headers, TRUE);
      return NULL;
    }
  const RelayProp *const *entries = relay_props_entries(props, &n);
  for (guint i = 0; i < n; i++)
    {
      RelayHeader h = { g_strdup(entries[i]->key), g_strdup(entries[i]->value),
                        (guint32)strlen(entries[i]->key), (guint32)strlen(entries[i]->value) };
      g_array_append_val(headers, h);
    }
  relay_props_free(props);
  return headers;
}

typedef struct
{
  RelayClient *client;
  gint64 retry_timeout_us;
  guint64 sent, failed_batches, retried_batches;
  guint64 failed_attempts[RELAY_CLIENT_STATUS_COUNT]; /* by status */
  gint64 started_us, last_progress_us, last_retry_note_us;
  gboolean progress;
  guint rejected_in_row; /* consecutive REJECTED attempts (fresh connection closed on its first request) */
  gboolean gave_up;      /* REJECTED too often: a protocol mismatch, retrying cannot help */
} SendState;

/* A source closes a connection whose first request it cannot parse. Once is also what a server going down
 * looks like, so relay-send gives up only when it happens this many times in a row, every time on a fresh
 * connection and without any other outcome in between (a restarting server refuses connections meanwhile,
 * which resets the count). */
#define RELAY_SEND_REJECTED_LIMIT 3

/* Counts a failed attempt and says so on stderr, at most once a second. */
static void
_note_retry(SendState *st, guint n, RelayClientStatus status, const char *detail, gboolean first,
            gint64 delay_ms)
{
  gint64 now = g_get_monotonic_time();

  st->failed_attempts[status]++;
  st->retried_batches += first;
  if (now - st->last_retry_note_us < G_USEC_PER_SEC)
    return;
  st->last_retry_note_us = now;
  fprintf(stderr,
          "relay-send: batch of %u events not acknowledged: %s%s%s; retrying in %" G_GINT64_FORMAT " ms\n", n,
          relay_client_status_name(status), detail ? " " : "", detail ? detail : "", delay_ms);
}

/* Stops the run after repeated REJECTED attempts, saying what to check. Frees detail. */
static gboolean
_give_up(SendState *st, guint n, char *detail)
{
  st->failed_attempts[RELAY_CLIENT_REJECTED]++;
  st->failed_batches++;
  st->gave_up = TRUE;
  fprintf(stderr,
          "relay-send: batch of %u events not acknowledged: REJECTED %s\n"
          "relay-send: giving up: the server closed the connection on the first request %u times in a row "
          "without answering. The client and the source most likely disagree on the protocol: check that "
          "--compression (the source's compression-type) and, for --thrift, --protocol (compact | binary) "
          "match the source's configuration; the source's log names what it received.\n",
          n, detail ? detail : "", RELAY_SEND_REJECTED_LIMIT);
  g_free(detail);
  return FALSE;
}

/* Sends one batch, retrying with backoff (100 ms doubling to 5 s) within the retry timeout. */
static gboolean
_send_batch(SendState *st, GPtrArray *batch)
{
  gint64 deadline = g_get_monotonic_time() + st->retry_timeout_us;
  gint64 delay_ms = 100;

  for (guint attempt = 0;; attempt++)
    {
      char *detail = NULL;
      RelayClientStatus status
          = relay_client_append_batch(st->client, (RelayEvent *const *)batch->pdata, batch->len, &detail);
      st->rejected_in_row = status == RELAY_CLIENT_REJECTED ? st->rejected_in_row + 1 : 0;
      if (st->rejected_in_row >= RELAY_SEND_REJECTED_LIMIT)
        return _give_up(st, batch->len, detail);
      if (status == RELAY_CLIENT_OK)
        {
          g_free(detail); /* NULL: the library clears it on success */
          st->sent += batch->len;
          return TRUE;
        }
      if (g_get_monotonic_time() + delay_ms * 1000 > deadline)
        {
          st->failed_attempts[status]++;
          st->failed_batches++;
          fprintf(stderr, "relay-send: batch of %u events not acknowledged: %s%s%s\n", batch->len,
                  relay_client_status_name(status), detail ? " " : "", detail ? detail : "");
          g_free(detail);
          return FALSE;
        }
      _note_retry(st, batch->len, status, detail, attempt == 0, delay_ms);
      g_free(detail);
      g_usleep((gulong)delay_ms * 1000);
      delay_ms = MIN(delay_ms * 2, 5000);
    }
}

/* After the stream: one line with the failed attempts by status, when there were any. */
static void
_report_failures(const SendState *st)
{
  GString *line = g_string_new("");

  for (int s = RELAY_CLIENT_FAILED; s < RELAY_CLIENT_STATUS_COUNT; s++)
    if (st->failed_attempts[s])
      g_string_append_printf(line, " %s=%" G_GUINT64_FORMAT, relay_client_status_name(s),
                             st->failed_attempts[s]);
  if (line->len)
    fprintf(stderr,
            "relay-send: failed attempts:%s; batches retried=%" G_GUINT64_FORMAT
            " not acknowledged=%" G_GUINT64_FORMAT " events acknowledged=%" G_GUINT64_FORMAT "\n",
            line->str, st->retried_batches, st->failed_batches, st->sent);
  g_string_free(line, TRUE);
}

static void
_progress(SendState *st, gboolean final)
{
  gint64 now = g_get_monotonic_time();
  if (!st->progress || (!final && now - st->last_progress_us < G_USEC_PER_SEC))
    return;
  st->last_progress_us = now;
  double secs = MAX((now - st->started_us) / 1e6, 1e-6);
  fprintf(stderr, "relay-send: sent=%" G_GUINT64_FORMAT " rate=%.0f events/s elapsed=%.1fs\n", st->sent,
          st->sent / secs, secs);
}

static int
_send_stream(SendState *st, FILE *in, GArray *headers, guint batch_size)
{
  GPtrArray *batch = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  gboolean ok = TRUE;

  while ((len = getline(&line, &cap, in)) >= 0)
    {
      if (len > 0 && line[len - 1] == '\n')
        len--;
      g_ptr_array_add(batch, relay_event_new((RelayHeader *)headers->data, headers->len, line, (gsize)len));
      if (batch->len < batch_size)
        continue;
      ok = _send_batch(st, batch) && ok;
      g_ptr_array_set_size(batch, 0);
      _progress(st, FALSE);
      if (st->gave_up)
        break;
    }
  if (batch->len && !st->gave_up)
    ok = _send_batch(st, batch) && ok;
  _progress(st, TRUE);
  free(line);
  g_ptr_array_unref(batch);
  return ok ? 0 : 1;
}

int
main(int argc, char **argv)
{
  SendArgs a = { .port = 41414, .retry_timeout_s = 30 };
  GError *error = NULL;

  if (!_parse_args(&argc, &argv, &a))
    return 2;
  GPtrArray *kv = _client_props(&a);
  RelayClient *client = relay_client_new((const char *const *)kv->pdata, &error);
  g_ptr_array_unref(kv);
  if (!client)
    {
      fprintf(stderr, "relay-send: %s\n", error->message);
      return 2;
    }
  GArray *headers = _load_headers(a.headers_file);
  FILE *in = a.file ? fopen(a.file, "r") : stdin;
  if (!headers || !in)
    {
      if (!in)
        fprintf(stderr, "relay-send: cannot open %s: %s\n", a.file, g_strerror(errno));
      return 2;
    }
  SendState st = { .client = client,
                   .retry_timeout_us = (gint64)a.retry_timeout_s * G_USEC_PER_SEC,
                   .started_us = g_get_monotonic_time(),
                   .progress = a.progress };
  int rc = _send_stream(&st, in, headers, relay_client_batch_size(client));
  _report_failures(&st);
  if (in != stdin)
    fclose(in);
  for (guint i = 0; i < headers->len; i++)
    {
      g_free((char *)g_array_index(headers, RelayHeader, i).key);
      g_free((char *)g_array_index(headers, RelayHeader, i).value);
    }
  g_array_free(headers, TRUE);
  relay_client_free(client);
  g_strfreev(a.hosts);
  g_free(a.file);
  g_free(a.headers_file);
  g_free(a.protocol);
  g_free(a.compression);
  g_free(a.truststore);
  g_free(a.keystore);
  g_free(a.keystore_password);
  g_free(a.ssl_deflate_order);
  return rc;
}
