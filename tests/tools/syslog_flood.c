/* syslog_flood.c - load generator for `scripts/bench syslog`: 100-byte RFC 5424 lines over TCP.
 *
 *   syslog-flood HOST PORT CONNECTIONS LINES
 *
 * Opens CONNECTIONS connections (one thread each) and sends LINES lines in total, '\n'-framed, 100 bytes each
 * with the newline, in 64 KiB writes; then closes them and prints "sent N lines in S s (R lines/s)". */
#include <glib.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LINE_LEN 100
#define LINES_PER_WRITE 655

typedef struct
{
  const char *host, *port;
  long lines;
  int ok;
} Job;

static int
_connect(const char *host, const char *port)
{
  struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;

  if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
    return -1;
  int fd = socket(ai->ai_family, SOCK_STREAM, 0);
  if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0)
    {
      close(fd);
      fd = -1;
    }
  freeaddrinfo(ai);
  return fd;
}

static gboolean
_send_all(int fd, const char *p, size_t len)
{
  while (len > 0)
    {
      ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
      if (n <= 0)
        return FALSE;
      p += n;
      len -= (size_t)n;
    }
  return TRUE;
}

static void *
_run(void *arg)
{
  Job *job = arg;
  static const char head[] = "<134>1 2026-12-02T09:00:00.123Z host.example.com app 1234 - - ";
  char *block = g_malloc((size_t)LINES_PER_WRITE * LINE_LEN);

  for (int i = 0; i < LINES_PER_WRITE; i++)
    {
      char *line = block + (size_t)i * LINE_LEN;
      memset(line, 'x', LINE_LEN);
      memcpy(line, head, sizeof head - 1);
      line[LINE_LEN - 1] = '\n';
    }
  int fd = _connect(job->host, job->port);
  long left = job->lines;
  job->ok = fd >= 0;
  while (job->ok && left > 0)
    {
      long n = MIN(left, LINES_PER_WRITE);
      job->ok = _send_all(fd, block, (size_t)n * LINE_LEN);
      left -= n;
    }
  if (fd >= 0)
    close(fd);
  g_free(block);
  return NULL;
}

int
main(int argc, char **argv)
{
  if (argc != 5)
    {
      fprintf(stderr, "usage: syslog-flood HOST PORT CONNECTIONS LINES\n");
      return 2;
    }
  int conns = atoi(argv[3]);
  long lines = atol(argv[4]);
  if (conns < 1 || lines < 1)
    return 2;
  Job *jobs = g_new0(Job, conns);
  pthread_t *threads = g_new0(pthread_t, conns);
  gint64 t0 = g_get_monotonic_time();
  for (int i = 0; i < conns; i++)
    {
      jobs[i] = (Job){ argv[1], argv[2], lines / conns + (i < lines % conns ? 1 : 0), 0 };
      pthread_create(&threads[i], NULL, _run, &jobs[i]);
    }
  int ok = 1;
  for (int i = 0; i < conns; i++)
    {
      pthread_join(threads[i], NULL);
      ok &= jobs[i].ok;
    }
  double s = (double)(g_get_monotonic_time() - t0) / 1e6;
  printf("sent %ld lines in %.3f s (%.0f lines/s)\n", lines, s, lines / s);
  g_free(jobs);
  g_free(threads);
  return ok ? 0 : 1;
}
