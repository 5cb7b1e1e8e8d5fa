/* tls_handshake_flood.c - load generator for `scripts/bench tls`: new TLS connections from parallel clients.
 *
 *   tls-handshake-flood HOST PORT CLIENTS SECONDS [CA.pem [CLIENT.pem]]
 *
 * CLIENTS threads each open connection after connection for SECONDS: TCP connect, a full TLS handshake (no
 * session tickets, no session cache: never resumed), close_notify, then wait for the server to close, so a
 * counted handshake is one the server processed to the end and at most CLIENTS are in flight. With CA.pem
 * the server's certificate is verified (and its name: 127.0.0.1); with CLIENT.pem (certificate chain and
 * key) a client certificate is presented. Prints "handshakes=N failures=F seconds=S per_s=R"; exits 1 if no
 * handshake succeeded. */
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct
{
  SSL_CTX *ctx;
  const char *host, *port;
  double deadline;
  long handshakes, failures;
} Job;

static double
_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
_connect(const char *host, const char *port)
{
  struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
  int one = 1;

  if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
    return -1;
  int fd = socket(ai->ai_family, SOCK_STREAM, 0);
  if (fd >= 0)
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0)
    {
      close(fd);
      fd = -1;
    }
  freeaddrinfo(ai);
  return fd;
}

/* One connection: TRUE if the handshake completed and the server then closed after our close_notify. */
static int
_one(Job *job)
{
  int fd = _connect(job->host, job->port);
  if (fd < 0)
    {
      usleep(10000); /* refused or out of ports: do not spin */
      return 0;
    }
  SSL *ssl = SSL_new(job->ctx);
  SSL_set_fd(ssl, fd);
  SSL_set1_host(ssl, job->host);
  int ok = SSL_connect(ssl) == 1;
  if (ok)
    {
      char buf[256];
      SSL_shutdown(ssl);
      shutdown(fd, SHUT_WR);
      /* The server reads our Finished (TLS 1.3: it may still refuse our certificate here) before it sees
       * the close_notify and closes; an alert instead fails SSL_read with an SSL error. */
      int n;
      while ((n = SSL_read(ssl, buf, sizeof buf)) > 0)
        ;
      int err = SSL_get_error(ssl, n);
      ok = err == SSL_ERROR_ZERO_RETURN && ERR_peek_error() == 0;
    }
  ERR_clear_error();
  SSL_free(ssl);
  close(fd);
  return ok;
}

static void *
_run(void *arg)
{
  Job *job = arg;

  while (_now() < job->deadline)
    {
      if (_one(job))
        job->handshakes++;
      else
        job->failures++;
    }
  return NULL;
}

static SSL_CTX *
_context(const char *ca, const char *client)
{
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  /* the server closes without a close_notify of its own */
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (ca)
    {
      if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
        return NULL;
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
  if (client
      && (SSL_CTX_use_certificate_chain_file(ctx, client) != 1
          || SSL_CTX_use_PrivateKey_file(ctx, client, SSL_FILETYPE_PEM) != 1))
    return NULL;
  return ctx;
}

int
main(int argc, char **argv)
{
  if (argc < 5 || argc > 7)
    {
      fprintf(stderr, "usage: %s HOST PORT CLIENTS SECONDS [CA.pem [CLIENT.pem]]\n", argv[0]);
      return 2;
    }
  int clients = atoi(argv[3]);
  double seconds = atof(argv[4]);
  SSL_CTX *ctx = _context(argc > 5 ? argv[5] : NULL, argc > 6 ? argv[6] : NULL);
  if (!ctx || clients < 1 || clients > 1024 || seconds <= 0)
    {
      fprintf(stderr, "%s: bad arguments or unreadable CA/client file\n", argv[0]);
      ERR_print_errors_fp(stderr);
      return 2;
    }
  Job *jobs = calloc((size_t)clients, sizeof *jobs);
  pthread_t *threads = calloc((size_t)clients, sizeof *threads);
  double start = _now();
  for (int i = 0; i < clients; i++)
    {
      jobs[i] = (Job){ .ctx = ctx, .host = argv[1], .port = argv[2], .deadline = start + seconds };
      pthread_create(&threads[i], NULL, _run, &jobs[i]);
    }
  long handshakes = 0, failures = 0;
  for (int i = 0; i < clients; i++)
    {
      pthread_join(threads[i], NULL);
      handshakes += jobs[i].handshakes;
      failures += jobs[i].failures;
    }
  double elapsed = _now() - start;
  printf("handshakes=%ld failures=%ld seconds=%.2f per_s=%.0f\n", handshakes, failures, elapsed,
         (double)handshakes / elapsed);
  SSL_CTX_free(ctx);
  free(jobs);
  free(threads);
  return handshakes > 0 ? 0 : 1;
}
