/* test_channel_memory.c - unit tests for the channel base (state machine, notifications, counters) and
 * the memory channel (order, rollback, transaction and channel capacity, byte capacity, configuration).
 *
 * The contention test moves 200,000 numbered events from 4 producer threads to 3 consumer threads through a
 * capacity-1000 channel, with consumers rolling back at random, and checks every number is taken and
 * committed exactly once. Producers wait for SPACE and consumers for DATA notifications. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>

#include "channel.h"
#include "component.h"
#include "event.h"
#include "log.h"
#include "relay_mutex.h"

extern const RelayComponentClass relay_channel_memory_class;

/* ---- helpers ---- */

static RelayEvent *
_event_n(guint32 n)
{
  return relay_event_new(NULL, 0, &n, sizeof n);
}

static guint32
_number(const RelayEvent *ev)
{
  guint32 n;
  memcpy(&n, ev->body, sizeof n);
  return n;
}

static RelayChannel *
_channel(gint64 capacity, gint64 txn_capacity)
{
  RelayChannel *ch = RELAY_CHANNEL(relay_component_new(&relay_channel_memory_class, "c1"));
  ch->capacity = capacity;
  ch->transaction_capacity = txn_capacity;
  return ch;
}

static void
_free(RelayChannel *ch)
{
  relay_component_free(RELAY_COMPONENT(ch));
}

/* Commits one transaction putting numbers first..first+n-1. */
static RelayChannelResult
_put_range(RelayChannel *ch, guint32 first, guint n)
{
  RelayTxn *txn = relay_channel_begin(ch);
  for (guint i = 0; i < n; i++)
    {
      RelayEvent *ev = _event_n(first + i);
      assert_int_equal(relay_txn_put(txn, ev), RELAY_CHANNEL_OK);
      relay_event_unref(ev);
    }
  RelayChannelResult result = relay_txn_commit(txn);
  if (result != RELAY_CHANNEL_OK)
    relay_txn_rollback(txn);
  relay_txn_close(txn);
  return result;
}

/* Takes up to max events in one committed transaction and checks they are first, first+1, ... */
static void
_take_expect(RelayChannel *ch, guint max, guint32 first, guint expected)
{
  RelayEvent **out = g_new(RelayEvent *, max);
  RelayTxn *txn = relay_channel_begin(ch);
  guint n = relay_txn_take(txn, out, max);

  assert_int_equal(n, expected);
  for (guint i = 0; i < n; i++)
    assert_int_equal(_number(out[i]), first + i);
  assert_int_equal(relay_txn_commit(txn), RELAY_CHANNEL_OK);
  relay_txn_close(txn);
  g_free(out);
}

static guint _log_warnings;
static guint _criticals;

static void
_log_counter(RelayLogLevel level, const char *line, gpointer user_data)
{
  (void)line;
  (void)user_data;
  if (level <= RELAY_LOG_WARN)
    _log_warnings++;
}

static void
_glib_counter(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer user_data)
{
  (void)domain;
  (void)message;
  (void)user_data;
  if (level & G_LOG_LEVEL_CRITICAL)
    _criticals++;
}

/* ---- order, rollback ---- */

static void
test_put_take_commit_order(void **state)
{
  (void)state;
  RelayChannel *ch = _channel(100, 100);

  assert_int_equal(_put_range(ch, 0, 5), RELAY_CHANNEL_OK);
  assert_int_equal(_put_range(ch, 5, 5), RELAY_CHANNEL_OK);
  assert_int_equal(relay_channel_size(ch), 10);
  _take_expect(ch, 4, 0, 4);
  _take_expect(ch, 100, 4, 6);
  _take_expect(ch, 100, 0, 0);
  assert_int_equal(relay_channel_size(ch), 0);
  _free(ch);
}

static void
test_rollback_returns_to_head_in_order(void **state)
{
  (void)state;
  RelayChannel *ch = _channel(100, 100);
  RelayEvent *out[10];

  assert_int_equal(_put_range(ch, 0, 10), RELAY_CHANNEL_OK);
  RelayTxn *txn = relay_channel_begin(ch);
  assert_int_equal(relay_txn_take(txn, out, 3), 3);
  assert_int_equal(relay_txn_take(txn, out + 3, 2), 2);
  assert_int_equal(relay_channel_size(ch), 5);
  relay_txn_rollback(txn);
  relay_txn_close(txn);
  assert_int_equal(relay_channel_size(ch), 10);
  _take_expect(ch, 10, 0, 10);
  _free(ch);
}

/* The ring wraps and must grow during a rollback: 64 taken, 64 more committed, then the 64 pushed back. */
static void
test_rollback_grows_ring(void **state)
{
  (void)state;
  RelayChannel *ch = _channel(1000, 100);
  RelayEvent *out[64];

  assert_int_equal(_put_range(ch, 1000, 40), RELAY_CHANNEL_OK);
  _take_expect(ch, 40, 1000, 40); /* moves the head so the ring wraps below */
  assert_int_equal(_put_range(ch, 0, 64), RELAY_CHANNEL_OK);
  RelayTxn *txn = relay_channel_begin(ch);
  assert_int_equal(relay_txn_take(txn, out, 64), 64);
  assert_int_equal(_put_range(ch, 64, 64), RELAY_CHANNEL_OK);
  assert_int_equal(_put_range(ch, 128, 64), RELAY_CHANNEL_OK);
  relay_txn_rollback(txn);
  relay_txn_close(txn);
  assert_int_equal(relay_channel_size(ch), 192);
  _take_expect(ch, 100, 0, 100);
  _take_expect(ch, 100, 100, 92);
  _free(ch);
}

static void
test_rollback_releases_puts(void **state)
{
  (void)state;
  RelayChannel *ch = _channel(100, 100);
  RelayEvent *ev = _event_n(7);
  RelayTxn *txn = relay_channel_begin(ch);

  assert_int_equal(relay_txn_put(txn, ev), RELAY_CHANNEL_OK);
  assert_int_equal(ev->refcount, 2);
  relay_txn_rollback(txn);
  relay_txn_close(txn);
  assert_int_equal(ev->refcount, 1);
  assert_int_equal(relay_channel_size(ch), 0);
  relay_event_unref(ev);
  _free(ch);
}

/* ---- capacities ---- */

static void
test_txn_full(void **state)
{
  (void)state;
  RelayChannel *ch = _channel(10, 3);
  RelayEvent *ev = _event_n(3);
  RelayEvent *out[10];
  RelayTxn *txn = relay_channel_begin(ch);

  for (guint32 i = 0; i < 3; i++)
    {
      RelayEvent *e = _event_n(i);
      assert_int_equal(relay_txn_put(txn, e), RELAY_CHANNEL_OK);
      relay_event_unref(e);
    }
  assert_int_equal(relay_txn_put(txn, ev), RELAY_CHANNEL_TXN_FULL);
  assert_int_equal(ev->refcount, 1); /* the wrapper dropped the channel's reference */
  assert_int_equal(txn->n_puts, 3);
  assert_int_equal(relay_txn_commit(txn), RELAY_CHANNEL_OK);
  relay_txn_close(txn);
  assert_int_equal(_put_range(ch, 3, 3), RELAY_CHANNEL_OK);

  txn = relay_channel_begin(ch); /* takes are bounded by transactionCapacity too */
  assert_int_equal(relay_txn_take(txn, out, 10), 3);
  assert_int_equal(relay_txn_take(txn, out, 10), 0);
  relay_txn_rollback(txn);
  relay_txn_close(txn);
  relay_event_unref(ev);
  _free(ch);
}

static void
test_full_at_commit_count(void **state)
{
  (void)state;
  RelayChannel *ch = _channel(5, 5);
  RelayEvent *out[5];

  assert_int_equal(_put_range(ch, 0, 4), RELAY_CHANNEL_OK);
  RelayTxn *txn = relay_channel_begin(ch);
  for (guint32 i = 0; i < 2; i++)
    {
      RelayEvent *e = _event_n(10 + i);
      assert_int_equal(relay_txn_put(txn, e), RELAY_CHANNEL_OK);
      relay_event_unref(e);
    }
  assert_int_equal(relay_txn_commit(txn), RELAY_CHANNEL_FULL);
  assert_int_equal(txn->state, RELAY_TXN_OPEN); /* a failed commit leaves it open */
  relay_txn_rollback(txn);
  relay_txn_close(txn);
  assert_int_equal(relay_channel_size(ch), 4);

  /* Taken but uncommitted events keep their room (Flume): still full until the take commits. */
  RelayTxn *take = relay_channel_begin(ch);
  assert_int_equal(relay_txn_take(take, out, 4), 4);
  assert_int_equal(_put_range(ch, 20, 2), RELAY_CHANNEL_FULL);
  assert_int_equal(_put_range(ch, 20, 1), RELAY_CHANNEL_OK);
  assert_int_equal(relay_txn_commit(take), RELAY_CHANNEL_OK);
  relay_txn_close(take);
  assert_int_equal(_put_range(ch, 21, 4), RELAY_CHANNEL_OK);
  assert_int_equal(relay_channel_size(ch), 5);
  _take_expect(ch, 5, 20, 5);
  _free(ch);
}

/* A transaction that takes as many as it puts needs no room, even in a full channel. */
static void
test_net_puts_in_full_channel(void **state)
{
  (void)state;
  RelayChannel *ch = _channel(3, 3);
  RelayEvent *out[3];

  assert_int_equal(_put_range(ch, 0, 3), RELAY_CHANNEL_OK);
  RelayTxn *txn = relay_channel_begin(ch);
  assert_int_equal(relay_txn_take(txn, out, 2), 2);
  for (guint32 i = 0; i < 2; i++)
    {
      RelayEvent *e = _event_n(3 + i);
      assert_int_equal(relay_txn_put(txn, e), RELAY_CHANNEL_OK);
      relay_event_unref(e);
    }
  assert_int_equal(relay_txn_commit(txn), RELAY_CHANNEL_OK);
  relay_txn_close(txn);
  _take_expect(ch, 3, 2, 3);
  _free(ch);
}

static void
test_full_at_commit_bytes(void **state)
{
  (void)state;
  RelayChannel *ch = _channel(1000, 100);
  RelayEvent *probe = _event_n(0);
  guint32 size = probe->alloc_size;
  relay_event_unref(probe);

  /* byteCapacity 10 events, 20 % headroom: room for exactly 8 whole events. */
  const RelayOption *row = relay_options_find(relay_channel_memory_class.options, "byteCapacity");
  assert_non_null(row);
  gint64 *byte_capacity = (gint64 *)((char *)ch + row->offset);
  assert_int_equal(*byte_capacity, 0); /* not configured: unlimited */
  *byte_capacity = (gint64)size * 10;
  const RelayOption *pct
      = relay_options_find(relay_channel_memory_class.options, "byteCapacityBufferPercentage");
  assert_int_equal(*(gint64 *)((char *)ch + pct->offset), 20);

  assert_int_equal(_put_range(ch, 0, 7), RELAY_CHANNEL_OK);
  assert_int_equal(_put_range(ch, 7, 2), RELAY_CHANNEL_FULL);
  assert_int_equal(_put_range(ch, 7, 1), RELAY_CHANNEL_OK);
  assert_int_equal(_put_range(ch, 8, 1), RELAY_CHANNEL_FULL);
  _take_expect(ch, 3, 0, 3);
  assert_int_equal(_put_range(ch, 8, 3), RELAY_CHANNEL_OK);
  assert_int_equal(relay_channel_size(ch), 8);
  _free(ch);
}

/* ---- configuration ---- */

static void
test_defaults(void **state)
{
  (void)state;
  RelayChannel *ch = RELAY_CHANNEL(relay_component_new(&relay_channel_memory_class, "c1"));

  assert_int_equal(ch->capacity, 100);
  assert_int_equal(ch->transaction_capacity, 100);
  assert_int_equal(ch->keep_alive_s, 3);
  assert_true(relay_component_configure_kv(RELAY_COMPONENT(ch), NULL));
  const RelayOption *row = relay_options_find(relay_channel_memory_class.options, "byteCapacity");
  gint64 expected = (gint64)sysconf(_SC_PHYS_PAGES) / 10 * 8 * sysconf(_SC_PAGESIZE);
  assert_int_equal(*(gint64 *)((char *)ch + row->offset), expected);
  _free(ch);
}

static void
test_configure_values(void **state)
{
  (void)state;
  RelayChannel *ch = RELAY_CHANNEL(relay_component_new(&relay_channel_memory_class, "c1"));
  const char *const kv[]
      = { "capacity", "5000", "transactionCapacity", "500", "keep-alive", "7", "byteCapacity", "0", NULL };

  assert_true(relay_component_configure_kv(RELAY_COMPONENT(ch), kv));
  assert_int_equal(ch->capacity, 5000);
  assert_int_equal(ch->transaction_capacity, 500);
  assert_int_equal(ch->keep_alive_s, 7);
  const RelayOption *row = relay_options_find(relay_channel_memory_class.options, "byteCapacity");
  assert_int_equal(*(gint64 *)((char *)ch + row->offset), 0);
  _free(ch);
}

static void
test_txn_capacity_above_capacity_rejected(void **state)
{
  (void)state;
  RelayChannel *ch = RELAY_CHANNEL(relay_component_new(&relay_channel_memory_class, "c1"));
  const char *const kv[] = { "capacity", "100", "transactionCapacity", "200", NULL };

  _log_warnings = 0;
  relay_log_set_handler(_log_counter, NULL);
  assert_false(relay_component_configure_kv(RELAY_COMPONENT(ch), kv));
  relay_log_set_handler(NULL, NULL);
  assert_int_equal(_log_warnings, 1);
  _free(ch);
}

/* ---- state machine and counters ---- */

static void
test_illegal_calls_are_refused(void **state)
{
  (void)state;
  RelayChannel *ch = _channel(10, 10);
  RelayEvent *ev = _event_n(1);
  RelayEvent *out[1];
  GLogFunc old = g_log_set_default_handler(_glib_counter, NULL);

  _criticals = 0;
  RelayTxn *txn = relay_channel_begin(ch);
  assert_int_equal(relay_txn_commit(txn), RELAY_CHANNEL_OK);
  assert_int_equal(relay_txn_put(txn, ev), RELAY_CHANNEL_ERROR);
  assert_int_equal(ev->refcount, 1);
  assert_int_equal(relay_txn_take(txn, out, 1), 0);
  assert_int_equal(relay_txn_commit(txn), RELAY_CHANNEL_ERROR);
  relay_txn_rollback(txn);
  assert_int_equal(txn->state, RELAY_TXN_COMMITTED);
  relay_txn_close(txn);
  assert_int_equal(_criticals, 4);
  g_log_set_default_handler(old, NULL);
  relay_event_unref(ev);
  _free(ch);
}

static void
test_close_open_txn_rolls_back(void **state)
{
  (void)state;
  RelayChannel *ch = _channel(10, 10);
  RelayEvent *out[2];

  assert_int_equal(_put_range(ch, 0, 2), RELAY_CHANNEL_OK);
  RelayTxn *txn = relay_channel_begin(ch);
  assert_int_equal(relay_txn_take(txn, out, 2), 2);
  _log_warnings = 0;
  relay_log_set_handler(_log_counter, NULL);
  relay_txn_close(txn);
  relay_log_set_handler(NULL, NULL);
  assert_int_equal(_log_warnings, 1);
  _take_expect(ch, 2, 0, 2);
  _free(ch);
}

static void
test_counters(void **state)
{
  (void)state;
  RelayChannel *ch = _channel(10, 10);
  RelayEvent *out[10];

  assert_int_equal(_put_range(ch, 0, 3), RELAY_CHANNEL_OK);
  RelayTxn *txn = relay_channel_begin(ch);
  assert_int_equal(relay_txn_take(txn, out, 2), 2);
  relay_txn_rollback(txn);
  relay_txn_close(txn);
  _take_expect(ch, 10, 0, 3);
  assert_int_equal(ch->counters.put_attempt, 3);
  assert_int_equal(ch->counters.put_success, 3);
  assert_int_equal(ch->counters.take_attempt, 2 + 4); /* 2 found; 3 found + the empty one */
  assert_int_equal(ch->counters.take_success, 3);
  _free(ch);
}

/* ---- notifications ---- */

typedef struct
{
  guint data, space;
} Seen;

static void
_on_data(RelayChannel *ch, gpointer user_data)
{
  (void)ch;
  ((Seen *)user_data)->data++;
}

static void
_on_space(RelayChannel *ch, gpointer user_data)
{
  (void)ch;
  ((Seen *)user_data)->space++;
}

static void
test_notifications(void **state)
{
  (void)state;
  RelayChannel *ch = _channel(10, 10);
  Seen seen = { 0, 0 };
  RelayEvent *out[10];

  relay_channel_add_notify(ch, RELAY_CHANNEL_NOTIFY_DATA, _on_data, &seen);
  relay_channel_add_notify(ch, RELAY_CHANNEL_NOTIFY_SPACE, _on_space, &seen);
  assert_int_equal(_put_range(ch, 0, 3), RELAY_CHANNEL_OK);
  assert_int_equal(seen.data, 1);
  assert_int_equal(seen.space, 0);

  RelayTxn *txn = relay_channel_begin(ch);
  assert_int_equal(relay_txn_take(txn, out, 2), 2);
  relay_txn_rollback(txn); /* events are back: DATA; no room was freed */
  relay_txn_close(txn);
  assert_int_equal(seen.data, 2);
  assert_int_equal(seen.space, 0);

  _take_expect(ch, 2, 0, 2);
  assert_int_equal(seen.data, 2);
  assert_int_equal(seen.space, 1);

  relay_channel_remove_notify(ch, _on_data, &seen);
  assert_int_equal(_put_range(ch, 3, 1), RELAY_CHANNEL_OK);
  assert_int_equal(seen.data, 2);
  relay_channel_remove_notify(ch, _on_space, &seen);
  _take_expect(ch, 10, 2, 2);
  assert_int_equal(seen.space, 1);
  _free(ch);
}

/* Issue 17: DATA once per take. Consumers wait only after a take, so the commits that follow the first one
 * after a take need not wake anybody again. */
static void
test_data_once_per_take(void **state)
{
  (void)state;
  RelayChannel *ch = _channel(10, 10);
  Seen seen = { 0, 0 };

  relay_channel_add_notify(ch, RELAY_CHANNEL_NOTIFY_DATA, _on_data, &seen);
  assert_int_equal(_put_range(ch, 0, 1), RELAY_CHANNEL_OK);
  assert_int_equal(_put_range(ch, 1, 1), RELAY_CHANNEL_OK);
  assert_int_equal(_put_range(ch, 2, 1), RELAY_CHANNEL_OK);
  assert_int_equal(seen.data, 1);
  _take_expect(ch, 1, 0, 1);
  assert_int_equal(_put_range(ch, 3, 2), RELAY_CHANNEL_OK);
  assert_int_equal(_put_range(ch, 5, 1), RELAY_CHANNEL_OK);
  assert_int_equal(seen.data, 2);
  _take_expect(ch, 10, 1, 5); /* drains: the consumer would wait now */
  _take_expect(ch, 10, 6, 0);
  assert_int_equal(_put_range(ch, 6, 1), RELAY_CHANNEL_OK);
  assert_int_equal(seen.data, 3);
  /* a transaction kept for the thread's next begin starts empty */
  RelayTxn *txn = relay_channel_begin(ch);
  relay_txn_rollback(txn);
  relay_txn_close(txn);
  _take_expect(ch, 10, 6, 1);
  relay_channel_remove_notify(ch, _on_data, &seen);
  _free(ch);
}

/* More listeners than the stack copy holds. */
static void
test_many_notifiers(void **state)
{
  (void)state;
  RelayChannel *ch = _channel(10, 10);
  Seen seen[40];

  memset(seen, 0, sizeof seen);
  for (guint i = 0; i < G_N_ELEMENTS(seen); i++)
    relay_channel_add_notify(ch, RELAY_CHANNEL_NOTIFY_DATA | RELAY_CHANNEL_NOTIFY_SPACE, _on_data, &seen[i]);
  assert_int_equal(_put_range(ch, 0, 1), RELAY_CHANNEL_OK);
  for (guint i = 0; i < G_N_ELEMENTS(seen); i++)
    assert_int_equal(seen[i].data, 1);
  _free(ch);
}

/* ---- contention ---- */

#define CT_EVENTS 200000
#define CT_PRODUCERS 4
#define CT_CONSUMERS 3
#define CT_BATCH 100

typedef struct
{
  RelayMutex lock;
  RelayCond cond;
  guint seq;
} Signal;

typedef struct
{
  RelayChannel *ch;
  Signal data, space;
  gint taken;            /* committed takes, atomic */
  gint fulls, rollbacks; /* atomic: proof that the paths under test ran */
  gint errors; /* unexpected results in worker threads (cmocka asserts only work on the main thread) */
  gint *seen;  /* per number, atomic */
} Contention;

typedef struct
{
  Contention *ct;
  guint index;
} Worker;

static void
_signal_fire(RelayChannel *ch, gpointer user_data)
{
  (void)ch;
  Signal *s = user_data;
  relay_mutex_lock(&s->lock);
  s->seq++;
  relay_cond_broadcast(&s->cond);
  relay_mutex_unlock(&s->lock);
}

static guint
_signal_seq(Signal *s)
{
  relay_mutex_lock(&s->lock);
  guint seq = s->seq;
  relay_mutex_unlock(&s->lock);
  return seq;
}

/* Waits for a notification after seq, at most 2 ms (a fallback, notifications should arrive first). */
static void
_signal_wait(Signal *s, guint seq)
{
  gint64 deadline = g_get_monotonic_time() + 2000;
  relay_mutex_lock(&s->lock);
  while (s->seq == seq)
    if (!relay_cond_wait_until(&s->cond, &s->lock, deadline))
      break;
  relay_mutex_unlock(&s->lock);
}

static gboolean
_produce_batch(Contention *ct, RelayEvent **batch, guint n)
{
  guint seq = _signal_seq(&ct->space);
  RelayTxn *txn = relay_channel_begin(ct->ch);
  for (guint i = 0; i < n; i++)
    if (relay_txn_put(txn, batch[i]) != RELAY_CHANNEL_OK)
      g_atomic_int_inc(&ct->errors);
  RelayChannelResult result = relay_txn_commit(txn);
  if (result != RELAY_CHANNEL_OK)
    {
      g_atomic_int_inc(result == RELAY_CHANNEL_FULL ? &ct->fulls : &ct->errors);
      relay_txn_rollback(txn);
      _signal_wait(&ct->space, seq);
    }
  relay_txn_close(txn);
  return result == RELAY_CHANNEL_OK;
}

static gpointer
_producer(gpointer data)
{
  Worker *w = data;
  GRand *rand = g_rand_new_with_seed(w->index + 1);
  guint32 next = w->index * (CT_EVENTS / CT_PRODUCERS), end = next + CT_EVENTS / CT_PRODUCERS;
  RelayEvent *batch[CT_BATCH];

  while (next < end)
    {
      guint want = (guint)g_rand_int_range(rand, 1, CT_BATCH + 1); /* not inside MIN: evaluated twice */
      guint n = MIN(want, end - next);
      for (guint i = 0; i < n; i++)
        batch[i] = _event_n(next + i);
      while (!_produce_batch(w->ct, batch, n))
        ;
      for (guint i = 0; i < n; i++)
        relay_event_unref(batch[i]);
      next += n;
    }
  g_rand_free(rand);
  return NULL;
}

static void
_consume_batch(Contention *ct, GRand *rand)
{
  RelayEvent *out[CT_BATCH];
  guint32 numbers[CT_BATCH];
  guint seq = _signal_seq(&ct->data);
  RelayTxn *txn = relay_channel_begin(ct->ch);
  guint n = relay_txn_take(txn, out, (guint)g_rand_int_range(rand, 1, CT_BATCH + 1));

  for (guint i = 0; i < n; i++)
    numbers[i] = _number(out[i]);
  if (n > 0 && g_rand_int_range(rand, 0, 10) == 0)
    {
      relay_txn_rollback(txn);
      g_atomic_int_inc(&ct->rollbacks);
    }
  else
    {
      if (relay_txn_commit(txn) != RELAY_CHANNEL_OK)
        g_atomic_int_inc(&ct->errors);
      for (guint i = 0; i < n; i++)
        g_atomic_int_inc(&ct->seen[numbers[i]]);
      g_atomic_int_add(&ct->taken, (gint)n);
    }
  relay_txn_close(txn);
  if (n == 0)
    _signal_wait(&ct->data, seq);
}

static gpointer
_consumer(gpointer data)
{
  Worker *w = data;
  GRand *rand = g_rand_new_with_seed(100 + w->index);

  while (g_atomic_int_get(&w->ct->taken) < CT_EVENTS)
    _consume_batch(w->ct, rand);
  g_rand_free(rand);
  return NULL;
}

static void
test_contention(void **state)
{
  (void)state;
  Contention ct = { 0 };
  GThread *threads[CT_PRODUCERS + CT_CONSUMERS];
  Worker workers[CT_PRODUCERS + CT_CONSUMERS];

  ct.ch = _channel(1000, CT_BATCH);
  ct.seen = g_new0(gint, CT_EVENTS);
  relay_mutex_init(&ct.data.lock);
  relay_cond_init(&ct.data.cond);
  relay_mutex_init(&ct.space.lock);
  relay_cond_init(&ct.space.cond);
  relay_channel_add_notify(ct.ch, RELAY_CHANNEL_NOTIFY_DATA, _signal_fire, &ct.data);
  relay_channel_add_notify(ct.ch, RELAY_CHANNEL_NOTIFY_SPACE, _signal_fire, &ct.space);
  for (guint i = 0; i < G_N_ELEMENTS(threads); i++)
    {
      workers[i].ct = &ct;
      workers[i].index = i < CT_PRODUCERS ? i : i - CT_PRODUCERS;
      threads[i] = g_thread_new("ct", i < CT_PRODUCERS ? _producer : _consumer, &workers[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS(threads); i++)
    g_thread_join(threads[i]);

  for (guint i = 0; i < CT_EVENTS; i++)
    if (ct.seen[i] != 1)
      fail_msg("event %u taken %d times", i, ct.seen[i]);
  assert_int_equal(ct.errors, 0);
  assert_true(ct.rollbacks > 0);
  print_message("contention: %d FULL commits, %d rollbacks\n", ct.fulls, ct.rollbacks);
  assert_int_equal(ct.taken, CT_EVENTS);
  assert_int_equal(relay_channel_size(ct.ch), 0);
  assert_int_equal(ct.ch->counters.put_success, CT_EVENTS);
  assert_int_equal(ct.ch->counters.take_success, CT_EVENTS);
  relay_channel_remove_notify(ct.ch, _signal_fire, &ct.data);
  relay_channel_remove_notify(ct.ch, _signal_fire, &ct.space);
  _free(ct.ch);
  g_free(ct.seen);
  relay_mutex_clear(&ct.data.lock);
  relay_cond_clear(&ct.data.cond);
  relay_mutex_clear(&ct.space.lock);
  relay_cond_clear(&ct.space.cond);
}

/* ---- live reload (issue 14): resize in place ---- */
static void
test_reconfigure_keeps_events(void **state)
{
  RelayChannel *ch = _channel(100, 10), *bigger = _channel(200, 20), *smaller = _channel(5, 5);
  GError *error = NULL;

  (void)state;
  assert_int_equal(_put_range(ch, 0, 10), RELAY_CHANNEL_OK);
  assert_int_equal(_put_range(ch, 10, 10), RELAY_CHANNEL_OK);
  /* a capacity below the 20 events held is refused and changes nothing */
  assert_false(relay_channel_ops(ch)->reconfigure(ch, smaller, TRUE, &error));
  assert_non_null(strstr(error->message, "holds 20 events"));
  g_clear_error(&error);
  assert_int_equal(ch->capacity, 100);
  /* a check alone changes nothing either */
  assert_true(relay_channel_ops(ch)->reconfigure(ch, bigger, FALSE, NULL));
  assert_int_equal(ch->capacity, 100);
  assert_true(relay_channel_ops(ch)->reconfigure(ch, bigger, TRUE, NULL));
  assert_int_equal(ch->capacity, 200);
  assert_int_equal(ch->transaction_capacity, 20);
  assert_int_equal(relay_channel_size(ch), 20);
  assert_int_equal(_put_range(ch, 20, 20), RELAY_CHANNEL_OK); /* the new transactionCapacity */
  _take_expect(ch, 20, 0, 20);
  _take_expect(ch, 20, 20, 20);
  _free(ch);
  _free(bigger);
  _free(smaller);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_put_take_commit_order),
    cmocka_unit_test(test_rollback_returns_to_head_in_order),
    cmocka_unit_test(test_rollback_grows_ring),
    cmocka_unit_test(test_rollback_releases_puts),
    cmocka_unit_test(test_txn_full),
    cmocka_unit_test(test_full_at_commit_count),
    cmocka_unit_test(test_net_puts_in_full_channel),
    cmocka_unit_test(test_full_at_commit_bytes),
    cmocka_unit_test(test_defaults),
    cmocka_unit_test(test_configure_values),
    cmocka_unit_test(test_txn_capacity_above_capacity_rejected),
    cmocka_unit_test(test_illegal_calls_are_refused),
    cmocka_unit_test(test_close_open_txn_rolls_back),
    cmocka_unit_test(test_counters),
    cmocka_unit_test(test_notifications),
    cmocka_unit_test(test_many_notifiers),
    cmocka_unit_test(test_data_once_per_take), /* issue 17 */
    cmocka_unit_test(test_contention),
    cmocka_unit_test(test_reconfigure_keeps_events), /* issue 14 */
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
