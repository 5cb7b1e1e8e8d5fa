/* channel_memory.c - the memory channel (Flume's MemoryChannel): a bounded in-memory queue of events.
 *
 * The queue is a ring buffer of RelayEvent* that grows by doubling up to capacity, so a put or take never
 * allocates per event. Puts stay in their transaction (no lock per put) until commit; commit takes the
 * channel lock once, checks room for the transaction's net puts and appends them in order. Takes move up to
 * max events from the head per call under one lock acquisition; the taken events keep occupying capacity
 * (count and bytes) until their transaction commits, as in Flume, so a rollback can always push them back
 * to the head in their original order.
 *
 * Differences from Flume: nothing blocks (FULL at once instead of waiting keep-alive, see channel.h), and
 * byteCapacity counts each event's whole allocation (headers, body and bookkeeping: RelayEvent.alloc_size),
 * not only the body in 100-byte slots, because that is the memory the channel really holds. The same bytes
 * are charged to the agent's memory budget (membudget.h) at commit: a commit that would pass
 * `<agent>.memory.limit` is FULL like one that would pass byteCapacity.
 *
 * Threads & locking: `lock` guards the ring and the held counters; transactions are private to the thread
 * that began them. Notifications are sent after the lock is released: DATA after a commit that added events
 * or a rollback that returned taken events to the head, SPACE after a commit that freed room.
 *
 * Cheap puts (issue 17): a commit sends DATA only when a take happened since the last DATA (`data_quiet` is
 * set by a commit that sent DATA and cleared by every take, all under `lock`; FALSE at first). A consumer
 * only waits for DATA after a process() cycle that took, so the first commit after its last take wakes it,
 * and the commits that follow while it has not taken again need no wake-up: under load, one notification per
 * sink batch instead of one per put. A finished transaction is kept for the next begin on the same thread
 * (one per thread, in a GPrivate), with its arrays, so a put transaction allocates nothing but its events. */
#include "channel.h"

#include "event.h"
#include "log.h"
#include "relay_mutex.h"
#include "membudget.h"
#include "options.h"

#include <string.h>
#include <unistd.h>

#define RELAY_MEMORY_RING_MIN 64
/* A finished transaction is kept for its thread's next begin unless it held more events than this. */
#define RELAY_MEMORY_TXN_CACHE_MAX 4096

typedef struct
{
  RelayChannel super;
  gint64 byte_capacity_buffer_pct;
  gint64 byte_capacity; /* configured; 0 = unlimited */

  RelayMutex lock; /* zero-initialised by relay_component_new, which relay_mutex.h allows */
  RelayEvent **ring;
  guint64 ring_size, head, count; /* count = events in the ring */
  guint64 held;                   /* ring + taken by open transactions */
  guint64 held_bytes;             /* alloc_size of the held events */
  gboolean data_quiet;            /* no take since the last DATA notification */
} RelayMemoryChannel;

typedef struct
{
  RelayTxn super;
  GPtrArray *puts;  /* RelayEvent*, the channel's references, in put order */
  GPtrArray *takes; /* RelayEvent*, lent from the ring, in take order */
  guint64 put_bytes, take_bytes;
} RelayMemoryTxn;

#define MEMORY(p) ((RelayMemoryChannel *)(p))
#define MEMORY_TXN(p) ((RelayMemoryTxn *)(p))

/* ---- ring (caller holds lock) ---- */

/* Makes room for `need` events; need never exceeds capacity (see the accounting above). */
static void
_ring_reserve(RelayMemoryChannel *self, guint64 need)
{
  if (need <= self->ring_size)
    return;
  guint64 size = MAX(self->ring_size, RELAY_MEMORY_RING_MIN);
  while (size < need)
    size *= 2;
  size = MAX(MIN(size, (guint64)self->super.capacity), need);

  RelayEvent **ring = g_new(RelayEvent *, size);
  for (guint64 i = 0; i < self->count; i++)
    ring[i] = self->ring[(self->head + i) % self->ring_size];
  g_free(self->ring);
  self->ring = ring;
  self->ring_size = size;
  self->head = 0;
}

static void
_ring_push_tail(RelayMemoryChannel *self, RelayEvent **events, guint n)
{
  for (guint i = 0; i < n; i++)
    self->ring[(self->head + self->count + i) % self->ring_size] = events[i];
  self->count += n;
}

static void
_ring_push_head(RelayMemoryChannel *self, RelayEvent **events, guint n)
{
  self->head = (self->head + self->ring_size - n % self->ring_size) % self->ring_size;
  for (guint i = 0; i < n; i++)
    self->ring[(self->head + i) % self->ring_size] = events[i];
  self->count += n;
}

static guint
_ring_pop_head(RelayMemoryChannel *self, RelayEvent **out, guint max)
{
  guint n = (guint)MIN((guint64)max, self->count);

  for (guint i = 0; i < n; i++)
    out[i] = self->ring[(self->head + i) % self->ring_size];
  if (n)
    self->head = (self->head + n) % self->ring_size;
  self->count -= n;
  return n;
}

/* ---- transactions ---- */

static void
_txn_destroy(gpointer data)
{
  RelayMemoryTxn *mt = data;

  if (mt->puts)
    g_ptr_array_free(mt->puts, TRUE);
  if (mt->takes)
    g_ptr_array_free(mt->takes, TRUE);
  g_free(mt);
}

/* This thread's finished transaction, if any (its arrays are empty). */
static GPrivate _txn_cache = G_PRIVATE_INIT(_txn_destroy);

static RelayTxn *
_memory_begin(RelayChannel *channel)
{
  RelayMemoryTxn *mt = g_private_get(&_txn_cache);

  (void)channel;
  if (!mt)
    return (RelayTxn *)g_new0(RelayMemoryTxn, 1);
  g_private_set(&_txn_cache, NULL); /* taken out while in use: a nested begin allocates */
  mt->put_bytes = mt->take_bytes = 0;
  return &mt->super;
}

static RelayChannelResult
_memory_put(RelayTxn *txn, RelayEvent *ev)
{
  RelayMemoryTxn *mt = MEMORY_TXN(txn);

  if ((gint64)txn->n_puts >= __atomic_load_n(&txn->channel->transaction_capacity, __ATOMIC_RELAXED))
    return RELAY_CHANNEL_TXN_FULL;
  if (!mt->puts)
    mt->puts = g_ptr_array_new();
  g_ptr_array_add(mt->puts, ev);
  mt->put_bytes += ev->alloc_size;
  return RELAY_CHANNEL_OK;
}

static guint
_memory_take(RelayTxn *txn, RelayEvent **out, guint max)
{
  RelayMemoryChannel *self = MEMORY(txn->channel);
  RelayMemoryTxn *mt = MEMORY_TXN(txn);
  /* atomic: a reload may change it while a sink runner takes (_memory_reconfigure) */
  gint64 room = __atomic_load_n(&self->super.transaction_capacity, __ATOMIC_RELAXED) - (gint64)txn->n_takes;

  if (room <= 0)
    return 0;
  relay_mutex_lock(&self->lock);
  guint n = _ring_pop_head(self, out, (guint)MIN((gint64)max, room));
  self->data_quiet = FALSE;
  relay_mutex_unlock(&self->lock);

  if (n && !mt->takes)
    mt->takes = g_ptr_array_sized_new(n);
  for (guint i = 0; i < n; i++)
    {
      g_ptr_array_add(mt->takes, out[i]);
      mt->take_bytes += out[i]->alloc_size;
    }
  return n;
}

static guint64
_byte_limit(RelayMemoryChannel *self)
{
  guint64 capacity = (guint64)self->byte_capacity, keep = (guint64)(100 - self->byte_capacity_buffer_pct);
  return capacity / 100 * keep + capacity % 100 * keep / 100;
}

/* Caller holds lock. Room for the transaction's net puts, by count and by bytes. */
static gboolean
_has_room(RelayMemoryChannel *self, RelayMemoryTxn *mt, guint n_puts, guint n_takes)
{
  if (n_puts > n_takes && self->held + (n_puts - n_takes) > (guint64)self->super.capacity)
    return FALSE;
  if (self->byte_capacity > 0 && mt->put_bytes > mt->take_bytes
      && self->held_bytes + (mt->put_bytes - mt->take_bytes) > _byte_limit(self))
    return FALSE;
  return TRUE;
}

static void
_release_events(GPtrArray *events)
{
  if (!events)
    return;
  for (guint i = 0; i < events->len; i++)
    relay_event_unref(g_ptr_array_index(events, i));
  g_ptr_array_set_size(events, 0);
}

static RelayChannelResult
_memory_commit(RelayTxn *txn)
{
  RelayMemoryChannel *self = MEMORY(txn->channel);
  RelayMemoryTxn *mt = MEMORY_TXN(txn);
  guint n_puts = mt->puts ? mt->puts->len : 0, n_takes = mt->takes ? mt->takes->len : 0;

  if (n_puts == 0 && n_takes == 0)
    return RELAY_CHANNEL_OK;
  relay_mutex_lock(&self->lock);
  gint64 delta = (gint64)mt->put_bytes - (gint64)mt->take_bytes;
  if (!_has_room(self, mt, n_puts, n_takes) || (delta > 0 && !relay_membudget_try_add(delta)))
    {
      relay_mutex_unlock(&self->lock);
      return RELAY_CHANNEL_FULL; /* no room in the channel or in the agent's memory.limit */
    }
  if (delta < 0)
    relay_membudget_add(delta);
  _ring_reserve(self, self->count + n_puts);
  if (n_puts)
    _ring_push_tail(self, (RelayEvent **)mt->puts->pdata, n_puts);
  self->held = self->held + n_puts - n_takes;
  self->held_bytes = self->held_bytes + mt->put_bytes - mt->take_bytes;
  gboolean wake = n_puts && !self->data_quiet;
  if (wake)
    self->data_quiet = TRUE;
  relay_mutex_unlock(&self->lock);

  gboolean freed = n_takes > n_puts || mt->take_bytes > mt->put_bytes;
  if (mt->puts)
    g_ptr_array_set_size(mt->puts, 0); /* the references now belong to the ring */
  _release_events(mt->takes);
  if (wake)
    relay_channel_notify(txn->channel, RELAY_CHANNEL_NOTIFY_DATA);
  if (freed)
    relay_channel_notify(txn->channel, RELAY_CHANNEL_NOTIFY_SPACE);
  return RELAY_CHANNEL_OK;
}

static void
_memory_rollback(RelayTxn *txn)
{
  RelayMemoryChannel *self = MEMORY(txn->channel);
  RelayMemoryTxn *mt = MEMORY_TXN(txn);
  guint n_takes = mt->takes ? mt->takes->len : 0;

  if (n_takes)
    {
      /* The taken events still count in held, so the ring has room for them: count + n <= held. */
      relay_mutex_lock(&self->lock);
      _ring_reserve(self, self->count + n_takes);
      _ring_push_head(self, (RelayEvent **)mt->takes->pdata, n_takes);
      relay_mutex_unlock(&self->lock);
      g_ptr_array_set_size(mt->takes, 0);
    }
  _release_events(mt->puts);
  if (n_takes)
    relay_channel_notify(txn->channel, RELAY_CHANNEL_NOTIFY_DATA);
}

/* The transaction is committed or rolled back: its arrays are empty. */
static void
_memory_free_txn(RelayTxn *txn)
{
  if (MAX(txn->n_puts, txn->n_takes) > RELAY_MEMORY_TXN_CACHE_MAX || g_private_get(&_txn_cache))
    _txn_destroy(txn);
  else
    g_private_set(&_txn_cache, txn);
}

static guint64
_memory_size(RelayChannel *channel)
{
  RelayMemoryChannel *self = MEMORY(channel);

  relay_mutex_lock(&self->lock);
  guint64 count = self->count;
  relay_mutex_unlock(&self->lock);
  return count;
}

/* ---- component ---- */

/* Flume's default is 80% of the JVM heap; ours is 80% of physical memory. */
static gint64
_default_byte_capacity(void)
{
  long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);

  if (pages <= 0 || page_size <= 0)
    return 0;
  return (gint64)pages / 10 * 8 * page_size;
}

static gboolean
_memory_configure(RelayComponent *component, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  RelayMemoryChannel *self = MEMORY(component);
  const char *byte_capacity = relay_component_config_value(cc, "byteCapacity");
  gint64 parsed;

  if (!byte_capacity || !relay_options_parse_int(byte_capacity, &parsed) || parsed < 0)
    self->byte_capacity = _default_byte_capacity();
  if (self->super.transaction_capacity > self->super.capacity)
    {
      const RelayProp *where = relay_component_config_get(cc, "transactionCapacity");
      relay_config_report_add(report, where ? where : relay_component_config_where(cc), cc->label,
                              "transactionCapacity",
                              "transactionCapacity %" G_GINT64_FORMAT
                              " is higher than capacity %" G_GINT64_FORMAT "; channel %s removed",
                              self->super.transaction_capacity, self->super.capacity, component->name);
      return FALSE;
    }
  return TRUE;
}

static void
_memory_free(RelayComponent *component)
{
  RelayMemoryChannel *self = MEMORY(component);

  for (guint64 i = 0; i < self->count; i++)
    relay_event_unref(self->ring[(self->head + i) % self->ring_size]);
  relay_membudget_add(-(gint64)self->held_bytes);
  g_free(self->ring);
  relay_mutex_clear(&self->lock);
}

/* ---- live reload (issue 14): a resize keeps the events when the new capacity holds them ---- */
static gboolean
_memory_reconfigure(RelayChannel *channel, RelayChannel *settings, gboolean apply, GError **error)
{
  RelayMemoryChannel *self = MEMORY(channel), *next = MEMORY(settings);
  gboolean fits;

  relay_mutex_lock(&self->lock);
  fits = self->held <= (guint64)next->super.capacity
         && (next->byte_capacity == 0 || self->held_bytes <= _byte_limit(next));
  if (!fits)
    g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG,
                "channel %s holds %" G_GUINT64_FORMAT " events (%" G_GUINT64_FORMAT
                " bytes), more than the new capacity %" G_GINT64_FORMAT " (byteCapacity %" G_GINT64_FORMAT
                ") can hold",
                channel->super.name, self->held, self->held_bytes, next->super.capacity, next->byte_capacity);
  else if (apply)
    {
      self->super.capacity = next->super.capacity; /* read under lock by commit and _ring_reserve */
      self->byte_capacity = next->byte_capacity;
      self->byte_capacity_buffer_pct = next->byte_capacity_buffer_pct;
      __atomic_store_n(&self->super.transaction_capacity, next->super.transaction_capacity, __ATOMIC_RELAXED);
      self->super.keep_alive_s = next->super.keep_alive_s; /* read on the main thread only */
    }
  relay_mutex_unlock(&self->lock);
  return fits;
}

static const RelayChannelOps _memory_ops = {
  .reconfigure = _memory_reconfigure,
  .begin = _memory_begin,
  .put = _memory_put,
  .take = _memory_take,
  .commit = _memory_commit,
  .rollback = _memory_rollback,
  .free_txn = _memory_free_txn,
  .size = _memory_size,
};

static const RelayOption _memory_options[] = {
  RELAY_OPT_INT_ROW("capacity", "100", 1, G_MAXINT32, RelayMemoryChannel, super.capacity, RELAY_OPTF_LENIENT,
                    "maximum number of events in the channel"),
  RELAY_OPT_INT_ROW("transactionCapacity", "100", 1, G_MAXINT32, RelayMemoryChannel,
                    super.transaction_capacity, RELAY_OPTF_LENIENT,
                    "maximum events put or taken in one transaction (<= capacity)"),
  RELAY_OPT_INT_ROW("keep-alive", "3", 0, 86400, RelayMemoryChannel, super.keep_alive_s, RELAY_OPTF_LENIENT,
                    "seconds a source waits for room before answering FAILED"),
  RELAY_OPT_INT_ROW("byteCapacityBufferPercentage", "20", 0, 100, RelayMemoryChannel,
                    byte_capacity_buffer_pct, RELAY_OPTF_LENIENT,
                    "share of byteCapacity kept free as headroom"),
  RELAY_OPT_INT_ROW("byteCapacity", NULL, 0, G_MAXINT64, RelayMemoryChannel, byte_capacity,
                    RELAY_OPTF_LENIENT,
                    "bytes of events held (whole events, not only bodies); default 80% of physical memory, "
                    "0 = unlimited"),
  RELAY_OPTION_END,
};

const RelayComponentClass relay_channel_memory_class = {
  .kind = RELAY_KIND_CHANNEL,
  .type = "memory",
  .flume_class = "org.apache.flume.channel.MemoryChannel",
  .description = "bounded in-memory queue; fast, loses its events if the process dies",
  .options = _memory_options,
  .instance_size = sizeof(RelayMemoryChannel),
  .configure = _memory_configure,
  .free = _memory_free,
  .ops = &_memory_ops,
};
