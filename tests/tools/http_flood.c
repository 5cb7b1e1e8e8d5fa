/* http_flood.c - load generator for the HTTP source (scripts/bench http).
 *
 *   http-flood PORT EVENTS [CONNECTIONS] [BATCH] [BODY_BYTES]
 *
 * Posts EVENTS events as Flume's JSON (batches of BATCH events, default 1000, bodies of BODY_BYTES, default
 * 100, and two headers) to 127.0.0.1:PORT over CONNECTIONS keep-alive connections (default 4), one thread
 * each, one request in flight per connection; a 503 is sent again. Each connection's request is built once
 * (every batch carries the same bodies: the bench measures the source, not the generator). Prints events,
 * seconds, events/s and the 503 count; exits 1 on any other status or a broken connection. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

typedef struct
{
  int port;
  long requests;
  char *req;
  size_t req_len;
  long busy;
  int failed;
} Worker;

static char *
_build(int id, int batch, int body_bytes, size_t *len)
{
  size_t cap = (size_t)batch * ((size_t)body_bytes + 96) + 256;
  char *body = malloc(cap), *out;
  size_t n = 0;

  body[n++] = '[';
  for (int i = 0; i < batch; i++)
    {
      n += (size_t)snprintf(body + n, cap - n,
                            "%s{\"headers\":{\"host\":\"bench%d\",\"seq\":\"%d\"},\"body\":\"", i ? "," : "",
                            id, i);
      for (int j = 0; j < body_bytes; j++)
        body[n++] = (char)('a' + (i + j) % 26);
      body[n++] = '"';
      body[n++] = '}';
    }
  body[n++] = ']';
  out = malloc(n + 256);
  *len = (size_t)snprintf(out, 256,
                          "POST / HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                          "Content-Length: %zu\r\n\r\n",
                          n);
  memcpy(out + *len, body, n);
  *len += n;
  free(body);
  return out;
}

static int
_send_all(int fd, const char *p, size_t len)
{
  while (len > 0)
    {
      ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return -1;
      p += w;
      len -= (size_t)w;
    }
  return 0;
}

/* Reads one response; returns its status or -1. */
static int
_read_response(int fd, char *buf, size_t cap)
{
  size_t n = 0;
  char *end = NULL;

  while (!end)
    {
      ssize_t r = recv(fd, buf + n, cap - n - 1, 0);
      if (r <= 0)
        return -1;
      n += (size_t)r;
      buf[n] = '\0';
      end = strstr(buf, "\r\n\r\n");
    }
  int status = atoi(buf + 9);
  const char *cl = strcasestr(buf, "content-length:");
  size_t want = (size_t)(end + 4 - buf) + (cl ? (size_t)atol(cl + 15) : 0);
  while (n < want)
    {
      ssize_t r = recv(fd, buf, cap, 0); /* the body is not needed */
      if (r <= 0)
        return -1;
      n += (size_t)r;
    }
  return status;
}

static void *
_run(void *arg)
{
  Worker *w = arg;
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)w->port) };
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  char buf[4096];

  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
    {
      perror("http-flood: connect");
      w->failed = 1;
      return NULL;
    }
  for (long i = 0; i < w->requests;)
    {
      int status = _send_all(fd, w->req, w->req_len) == 0 ? _read_response(fd, buf, sizeof buf) : -1;
      if (status == 200)
        i++;
      else if (status == 503)
        {
          w->busy++;
          usleep(10000);
        }
      else
        {
          fprintf(stderr, "http-flood: status %d\n", status);
          w->failed = 1;
          break;
        }
    }
  close(fd);
  return NULL;
}

int
main(int argc, char **argv)
{
  if (argc < 3)
    {
      fprintf(stderr, "usage: http-flood PORT EVENTS [CONNECTIONS] [BATCH] [BODY_BYTES]\n");
      return 2;
    }
  int port = atoi(argv[1]), conns = argc > 3 ? atoi(argv[3]) : 4, batch = argc > 4 ? atoi(argv[4]) : 1000;
  int body_bytes = argc > 5 ? atoi(argv[5]) : 100;
  long events = atol(argv[2]), requests = (events + batch - 1) / batch, busy = 0;
  Worker *w = calloc((size_t)conns, sizeof *w);
  pthread_t *t = calloc((size_t)conns, sizeof *t);
  struct timespec t0, t1;
  int failed = 0;

  for (int i = 0; i < conns; i++)
    {
      w[i].port = port;
      w[i].requests = requests / conns + (i < requests % conns);
      w[i].req = _build(i, batch, body_bytes, &w[i].req_len);
    }
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < conns; i++)
    pthread_create(&t[i], NULL, _run, &w[i]);
  for (int i = 0; i < conns; i++)
    {
      pthread_join(t[i], NULL);
      busy += w[i].busy;
      failed |= w[i].failed;
      free(w[i].req);
    }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("http-flood: %ld events in %.3f s: %.0f events/s, 503 answers %ld\n", requests * batch, s,
         (double)(requests * batch) / s, busy);
  free(w);
  free(t);
  return failed;
}
