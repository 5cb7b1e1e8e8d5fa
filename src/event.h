/* event.h - RelayEvent: an immutable, refcounted event (string headers + byte body) in one allocation.
 *
 * An event is built once, by copying the decoder's borrowed header and body slices into a single block
 * (struct, header array, NUL-terminated strings, body), its own or a slice of an arena's block. After that
 * every hop passes references: a channel put takes its own reference, a take lends the channel's reference to
 * the transaction. Events are immutable once built, so any thread may read one it holds a reference to. */
#ifndef RELAY_EVENT_H_INCLUDED
#define RELAY_EVENT_H_INCLUDED

#include "relay.h"

/* Limits that bound what any decoder may build (each decoder also has its own, configurable, limits). */
#define RELAY_EVENT_MAX_HEADERS 65535
#define RELAY_EVENT_MAX_BODY (256u * 1024 * 1024)

typedef struct
{
  const char *key; /* NUL-terminated inside the event block (or borrowed, when used as builder input) */
  const char *value;
  guint32 key_len;
  guint32 value_len;
} RelayHeader;

typedef struct _RelayEventBlock RelayEventBlock;

struct _RelayEvent
{
  gint refcount; /* atomic */
  guint32 n_headers;
  guint32 body_len;
  guint32 alloc_size; /* bytes of the event's memory, for byte-capacity accounting */
  RelayHeader *headers;
  const guint8 *body;     /* body_len bytes, followed by a NUL byte not counted in body_len (text helpers) */
  RelayEventBlock *block; /* private: the arena block the event lives in (NULL: its own allocation) */
};

/* Builds a new event (refcount 1) by copying n_headers headers (key/value with explicit lengths; the strings
 * need not be NUL-terminated) and the body. Header keys and values must not contain NUL bytes for
 * relay_event_get_header() to see them whole, but are stored verbatim. Never fails (glib aborts on OOM). */
RelayEvent *relay_event_new(const RelayHeader *headers, guint n_headers, const void *body, gsize body_len);

/* Convenience for tests and simple sources: NULL-terminated key, value, key, value, ... list. */
RelayEvent *relay_event_new_simple(const char *body, ...) G_GNUC_NULL_TERMINATED;

/* Returns a new event equal to ev with header key set to value (replaced if present, appended if not).
 * Takes ownership of the caller's reference to ev. Used by interceptors; copies once. */
RelayEvent *relay_event_with_header(RelayEvent *ev, const char *key, const char *value);
/* Returns a new event without header key (or ev itself if it had none). Takes ownership of ev's reference. */
RelayEvent *relay_event_without_header(RelayEvent *ev, const char *key);

static inline RelayEvent *
relay_event_ref(RelayEvent *ev)
{
  g_atomic_int_inc(&ev->refcount);
  return ev;
}

void relay_event_unref(RelayEvent *ev);

/* Returns the value of header key (NUL-terminated, borrowed from ev), or NULL. Linear scan: events carry few
 * headers. */
const char *relay_event_get_header(const RelayEvent *ev, const char *key);

/* GDestroyNotify-compatible unref for GPtrArray of events. */
void relay_event_unref_notify(gpointer ev);

/* ---- arena: many events built into shared blocks ----
 *
 * A source that builds events by the thousand (syslog lines) builds them with an arena: events are laid out
 * one after the other in blocks of RELAY_EVENT_ARENA_BLOCK bytes, so a block costs one malloc and one free
 * instead of one per event (and the sink thread that frees events does not fight the source's thread for
 * the allocator's lock). The events are ordinary events (refcounted, any thread may hold them); a block is
 * freed when its last event is freed and the arena has moved on to a new block. A long-lived event pins its
 * whole block: at most RELAY_EVENT_ARENA_BLOCK bytes, when every other event of its block is gone (a
 * channel's byteCapacity counts only the event's own alloc_size). An event larger than a quarter block gets
 * its own allocation, as relay_event_new. The arena itself belongs to one thread. */
#define RELAY_EVENT_ARENA_BLOCK (16 * 1024)

typedef struct _RelayEventArena RelayEventArena;

RelayEventArena *relay_event_arena_new(void);
/* As relay_event_new, into the arena's current block. */
RelayEvent *relay_event_arena_build(RelayEventArena *arena, const RelayHeader *headers, guint n_headers,
                                    const void *body, gsize body_len);
/* The events built stay valid; the current block is freed with its last event. */
void relay_event_arena_free(RelayEventArena *arena);

#endif
