/* fuzz_common.h - helpers shared by the libFuzzer targets in tests/fuzz (built with --enable-fuzzing).
 *
 * A target checks more than "no crash": FUZZ_CHECK aborts (a crash the fuzzer records, with the input) when
 * a property the code promises does not hold, e.g. decode -> encode -> decode giving the same events. Log
 * lines are dropped so the fuzzer's output stays readable. */
#ifndef RELAY_FUZZ_COMMON_H_INCLUDED
#define RELAY_FUZZ_COMMON_H_INCLUDED

#include "event.h"
#include "log.h"
#include "relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

#define FUZZ_CHECK(cond)                                                                                     \
  do                                                                                                         \
    {                                                                                                        \
      if (!(cond))                                                                                           \
        {                                                                                                    \
          fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond);                      \
          abort();                                                                                           \
        }                                                                                                    \
    }                                                                                                        \
  while (0)

static void
fuzz_log_drop(RelayLogLevel level, const char *line, gpointer user_data)
{
  (void)level;
  (void)line;
  (void)user_data;
}

/* Once per process: silence the log. */
static inline void
fuzz_init_once(void)
{
  static gboolean done;
  if (!done)
    {
      relay_log_set_handler(fuzz_log_drop, NULL);
      done = TRUE;
    }
}

/* TRUE if the two events have the same headers (in order) and body. */
static inline gboolean
fuzz_events_equal(const RelayEvent *a, const RelayEvent *b)
{
  if (a->n_headers != b->n_headers || a->body_len != b->body_len || memcmp(a->body, b->body, a->body_len))
    return FALSE;
  for (guint32 i = 0; i < a->n_headers; i++)
    {
      const RelayHeader *x = &a->headers[i], *y = &b->headers[i];
      if (x->key_len != y->key_len || x->value_len != y->value_len || memcmp(x->key, y->key, x->key_len)
          || memcmp(x->value, y->value, x->value_len))
        return FALSE;
    }
  return TRUE;
}

/* A copy of data of exactly size bytes (free() it), never NULL, not even for 0 bytes: ASan reports a read
 * past its end, which the fuzzer's own buffer may not show. */
static inline guint8 *
fuzz_dup_exact(const guint8 *data, gsize size)
{
  guint8 *copy = malloc(size);
  if (!copy)
    abort();
  if (size > 0)
    memcpy(copy, data, size);
  return copy;
}

/* Feeds an event into a running digest of what a decoder produced. */
static inline void
fuzz_digest_event(GChecksum *sum, const RelayEvent *ev)
{
  guint32 n[2] = { ev->n_headers, ev->body_len };
  g_checksum_update(sum, (const guchar *)n, sizeof n);
  for (guint32 i = 0; i < ev->n_headers; i++)
    {
      guint32 l[2] = { ev->headers[i].key_len, ev->headers[i].value_len };
      g_checksum_update(sum, (const guchar *)l, sizeof l);
      g_checksum_update(sum, (const guchar *)ev->headers[i].key, ev->headers[i].key_len);
      g_checksum_update(sum, (const guchar *)ev->headers[i].value, ev->headers[i].value_len);
    }
  g_checksum_update(sum, ev->body, ev->body_len);
}

/* Chunk sizes for feeding a byte stream in pieces: the first input byte says how many of the following
 * bytes are sizes (0-7); a size of 0 means "everything left". Returns the offset where the stream starts. */
typedef struct
{
  guint8 sizes[8];
  guint n;
  guint next;
} FuzzSplits;

static inline gsize
fuzz_splits_init(FuzzSplits *s, const guint8 *data, gsize size)
{
  memset(s, 0, sizeof *s);
  if (size == 0)
    return 0;
  s->n = MIN((gsize)(data[0] & 7), size - 1);
  memcpy(s->sizes, data + 1, s->n);
  return 1 + s->n;
}

/* The next chunk length, at most left. */
static inline gsize
fuzz_splits_next(FuzzSplits *s, gsize left)
{
  if (s->n == 0)
    return left;
  guint8 b = s->sizes[s->next++ % s->n];
  return b == 0 ? left : MIN((gsize)b, left);
}

#endif
