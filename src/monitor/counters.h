/* counters.h - lock-free updates and reads of the per-component counters (Flume's counter names).
 *
 * Every counter has one writing thread, except the channel's and a parallel sink group's: a source's are
 * written on the main loop, a sink's by its runner lane. Single-writer counters use a relaxed atomic load
 * and store (plain moves on x86-64 and arm64, no lock prefix); counters several threads update use a relaxed
 * atomic add. Readers on any thread (the metrics page, the summary line, SIGUSR1) use relay_counter_get and
 * may see a counter a few updates behind its neighbours; none of this takes a lock. */
#ifndef RELAY_COUNTERS_H_INCLUDED
#define RELAY_COUNTERS_H_INCLUDED

#include "relay.h"

/* Single writer: only the counter's owning thread may call these. */
static inline void
relay_counter_add(gint64 *counter, gint64 n)
{
  __atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static inline void
relay_counter_inc(gint64 *counter)
{
  relay_counter_add(counter, 1);
}

static inline void
relay_counter_set(gint64 *counter, gint64 value)
{
  __atomic_store_n(counter, value, __ATOMIC_RELAXED);
}

/* Several writers: any thread. */
static inline void
relay_counter_add_shared(gint64 *counter, gint64 n)
{
  __atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

/* Any thread. */
static inline gint64
relay_counter_get(const gint64 *counter)
{
  return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

#endif
