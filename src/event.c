/* event.c - RelayEvent construction in a single allocation (or an arena's block), refcounting and header
 * lookup.
 *
 * Block layout: [RelayEvent][RelayHeader x n][key\0 value\0 ...][body][\0]. One g_malloc per event (or a
 * slice of an arena block), one copy of every byte; the pointers inside the block make the event
 * self-contained, so it can be handed to any thread and freed when the last reference goes. */
#include "event.h"

#include <string.h>

static gsize
_block_size(const RelayHeader *headers, guint n_headers, gsize body_len)
{
  gsize size = sizeof(RelayEvent) + n_headers * sizeof(RelayHeader) + body_len + 1;

  for (guint i = 0; i < n_headers; i++)
    size += headers[i].key_len + headers[i].value_len + 2;
  return size;
}

/* Header strings are short: up to 16 bytes are copied with two overlapping fixed-size moves instead of a
 * memcpy call (this is the per-event hot path of every decoder). */
static inline void
_copy_short(char *dst, const char *src, guint32 len)
{
  if (len >= 8)
    {
      guint64 a, b;
      memcpy(&a, src, 8);
      memcpy(&b, src + len - 8, 8);
      memcpy(dst, &a, 8);
      memcpy(dst + len - 8, &b, 8);
    }
  else if (len >= 4)
    {
      guint32 a, b;
      memcpy(&a, src, 4);
      memcpy(&b, src + len - 4, 4);
      memcpy(dst, &a, 4);
      memcpy(dst + len - 4, &b, 4);
    }
  else
    for (guint32 i = 0; i < len; i++)
      dst[i] = src[i];
}

static inline __attribute__((always_inline)) char *
_copy_string(char *dst, const char *src, guint32 len)
{
  if (len <= 16)
    _copy_short(dst, src, len);
  else
    memcpy(dst, src, len);
  dst[len] = '\0';
  return dst + len + 1;
}

/* Lays out an event of size bytes (_block_size) at mem. */
static RelayEvent *
_fill(void *mem, gsize size, RelayEventBlock *block, const RelayHeader *headers, guint n_headers,
      const void *body, gsize body_len)
{
  RelayEvent *ev = mem;
  RelayHeader *dst_headers = (RelayHeader *)(ev + 1);
  char *cursor = (char *)(dst_headers + n_headers);

  ev->refcount = 1;
  ev->n_headers = n_headers;
  ev->body_len = (guint32)body_len;
  ev->alloc_size = (guint32)MIN(size, G_MAXUINT32);
  ev->headers = dst_headers;
  ev->block = block;
  for (guint i = 0; i < n_headers; i++)
    {
      dst_headers[i].key = cursor;
      dst_headers[i].key_len = headers[i].key_len;
      cursor = _copy_string(cursor, headers[i].key, headers[i].key_len);
      dst_headers[i].value = cursor;
      dst_headers[i].value_len = headers[i].value_len;
      cursor = _copy_string(cursor, headers[i].value, headers[i].value_len);
    }
  ev->body = (const guint8 *)cursor;
  _copy_string(cursor, body, (guint32)body_len);
  return ev;
}

RelayEvent *
relay_event_new(const RelayHeader *headers, guint n_headers, const void *body, gsize body_len)
{
  g_return_val_if_fail(n_headers <= RELAY_EVENT_MAX_HEADERS && body_len <= RELAY_EVENT_MAX_BODY, NULL);
  gsize size = _block_size(headers, n_headers, body_len);
  return _fill(g_malloc(size), size, NULL, headers, n_headers, body, body_len);
}

RelayEvent *
relay_event_new_simple(const char *body, ...)
{
  GArray *headers = g_array_new(FALSE, FALSE, sizeof(RelayHeader));
  va_list ap;
  const char *key;

  va_start(ap, body);
  while ((key = va_arg(ap, const char *)) != NULL)
    {
      const char *value = va_arg(ap, const char *);
      RelayHeader h = { key, value, (guint32)strlen(key), (guint32)strlen(value) };
      g_array_append_val(headers, h);
    }
  va_end(ap);
  RelayEvent *ev = relay_event_new((RelayHeader *)headers->data, headers->len, body, strlen(body));
  g_array_free(headers, TRUE);
  return ev;
}

static gint
_find_header(const RelayEvent *ev, const char *key)
{
  gsize len = strlen(key);

  /* lengths first: most keys differ in length, and a match needs no second strlen */
  for (guint32 i = 0; i < ev->n_headers; i++)
    if (ev->headers[i].key_len == len && memcmp(ev->headers[i].key, key, len) == 0)
      return (gint)i;
  return -1;
}

const char *
relay_event_get_header(const RelayEvent *ev, const char *key)
{
  gint i = _find_header(ev, key);
  return i < 0 ? NULL : ev->headers[i].value;
}

RelayEvent *
relay_event_with_header(RelayEvent *ev, const char *key, const char *value)
{
  gint found = _find_header(ev, key);
  guint n = ev->n_headers + (found < 0 ? 1 : 0);
  RelayHeader *headers = g_new(RelayHeader, n);

  memcpy(headers, ev->headers, ev->n_headers * sizeof(RelayHeader));
  RelayHeader *slot = &headers[found < 0 ? (gint)ev->n_headers : found];
  slot->key = key;
  slot->key_len = (guint32)strlen(key);
  slot->value = value;
  slot->value_len = (guint32)strlen(value);
  RelayEvent *copy = relay_event_new(headers, n, ev->body, ev->body_len);
  g_free(headers);
  relay_event_unref(ev);
  return copy;
}

RelayEvent *
relay_event_without_header(RelayEvent *ev, const char *key)
{
  gint found = _find_header(ev, key);
  if (found < 0)
    return ev;

  RelayHeader *headers = g_new(RelayHeader, ev->n_headers);
  guint n = 0;
  for (guint32 i = 0; i < ev->n_headers; i++)
    if ((gint)i != found)
      headers[n++] = ev->headers[i];
  RelayEvent *copy = relay_event_new(headers, n, ev->body, ev->body_len);
  g_free(headers);
  relay_event_unref(ev);
  return copy;
}

static void _block_release(RelayEventBlock *block, gint n);

void
relay_event_unref(RelayEvent *ev)
{
  if (!ev || !g_atomic_int_dec_and_test(&ev->refcount))
    return;
  if (ev->block)
    _block_release(ev->block, 1);
  else
    g_free(ev);
}

void
relay_event_unref_notify(gpointer ev)
{
  relay_event_unref(ev);
}

/* ---- arena ---- */

/* A block's count starts at _BLOCK_BIAS instead of being raised per event (that would be an atomic
 * operation per event on a line that the freeing thread writes too): while the arena fills the block, the
 * count stays above zero whatever the events' owners free; when the arena moves on, it subtracts the bias
 * less the number of events it built, and whoever brings the count to zero frees the block. */
#define _BLOCK_BIAS (1 << 30)

struct _RelayEventBlock
{
  gint count; /* atomic: _BLOCK_BIAS + events built - events freed, until the arena moves on */
  guint32 used, n_built;
  guint8 data[] __attribute__((aligned(8)));
};

struct _RelayEventArena
{
  RelayEventBlock *current;
};

static void
_block_release(RelayEventBlock *block, gint n)
{
  if (g_atomic_int_add(&block->count, -n) == n)
    g_free(block);
}

static void
_arena_retire(RelayEventArena *arena)
{
  RelayEventBlock *block = arena->current;

  arena->current = NULL;
  if (block)
    _block_release(block, _BLOCK_BIAS - (gint)block->n_built);
}

#define _BLOCK_ROOM (RELAY_EVENT_ARENA_BLOCK - sizeof(RelayEventBlock))

RelayEventArena *
relay_event_arena_new(void)
{
  return g_new0(RelayEventArena, 1);
}

RelayEvent *
relay_event_arena_build(RelayEventArena *arena, const RelayHeader *headers, guint n_headers, const void *body,
                        gsize body_len)
{
  g_return_val_if_fail(n_headers <= RELAY_EVENT_MAX_HEADERS && body_len <= RELAY_EVENT_MAX_BODY, NULL);
  gsize size = (_block_size(headers, n_headers, body_len) + 7) & ~(gsize)7;

  if (size > _BLOCK_ROOM / 4)
    return relay_event_new(headers, n_headers, body, body_len);
  RelayEventBlock *block = arena->current;
  if (!block || block->used + size > _BLOCK_ROOM)
    {
      _arena_retire(arena);
      block = arena->current = g_malloc(RELAY_EVENT_ARENA_BLOCK);
      block->count = _BLOCK_BIAS;
      block->used = block->n_built = 0;
    }
  RelayEvent *ev = _fill(block->data + block->used, size, block, headers, n_headers, body, body_len);
  block->used += (guint32)size;
  block->n_built++;
  return ev;
}

void
relay_event_arena_free(RelayEventArena *arena)
{
  if (!arena)
    return;
  _arena_retire(arena);
  g_free(arena);
}
