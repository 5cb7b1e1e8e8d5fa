/* channel.c - the channel base: transaction state machine, Flume counters and the notification list.
 *
 * The public relay_txn_* wrappers check the transaction state before calling the implementation's ops, so
 * a programming error (put on a committed transaction, take after rollback) is reported with g_critical and
 * a harmless return value instead of corrupting a channel. They also keep the per-transaction counts and
 * Flume's channel counters: attempts are counted per call, successes at commit.
 *
 * Threads & locking: the wrappers run on the thread that owns the transaction; counters are updated with
 * atomics. The notification list is guarded by notify_lock: relay_channel_notify copies the matching
 * entries under the lock and calls them outside it, so a callback may take any lock. Each call registers
 * itself in the current epoch's counter; relay_channel_remove_notify switches the epoch and waits until the
 * calls of the previous epoch have returned, so new notifications never delay a removal and the owner may
 * free its user data as soon as removal returns. A call takes the lock once: it leaves its epoch with an
 * atomic decrement and takes the lock again only to wake a waiting removal (notify_removers, read after the
 * decrement; the removal counts itself before it reads the epoch's counter, so one of the two sees the
 * other). */
#include "channel.h"

#include "counters.h"
#include "event.h"
#include "log.h"

typedef struct
{
  guint kinds;
  RelayChannelNotify fn;
  gpointer user_data;
} RelayNotifyEntry;

/* Notifications are copied to the stack; a channel rarely has more than a few listeners. */
#define RELAY_NOTIFY_STACK 16

static const char *const _result_names[] = { "OK", "FULL", "TXN_FULL", "ERROR" };

const char *
relay_channel_result_name(RelayChannelResult result)
{
  return (guint)result < G_N_ELEMENTS(_result_names) ? _result_names[result] : "?";
}

/* Put attempts are counted per transaction and added once, at its end. */
static void
_flush_put_attempts(RelayTxn *txn)
{
  if (txn->n_put_attempts)
    relay_counter_add_shared(&txn->channel->counters.put_attempt, txn->n_put_attempts);
  txn->n_put_attempts = 0;
}

static gboolean
_txn_is_open(RelayTxn *txn, const char *what)
{
  if (txn->state == RELAY_TXN_OPEN)
    return TRUE;
  g_critical("%s: %s on a transaction that is not open (state %d)", txn->channel->super.log_prefix, what,
             txn->state);
  return FALSE;
}

/* ---- transactions ---- */

RelayTxn *
relay_channel_begin(RelayChannel *self)
{
  g_return_val_if_fail(self != NULL, NULL);
  RelayTxn *txn = relay_channel_ops(self)->begin(self);

  txn->channel = self;
  txn->state = RELAY_TXN_OPEN;
  txn->n_puts = 0;
  txn->n_put_attempts = 0;
  txn->n_takes = 0;
  return txn;
}

RelayChannelResult
relay_txn_put(RelayTxn *txn, RelayEvent *ev)
{
  g_return_val_if_fail(txn != NULL && ev != NULL, RELAY_CHANNEL_ERROR);
  if (!_txn_is_open(txn, "put"))
    return RELAY_CHANNEL_ERROR;

  RelayChannel *channel = txn->channel;
  txn->n_put_attempts++; /* added to the channel's counter once per transaction */
  RelayChannelResult result = relay_channel_ops(channel)->put(txn, relay_event_ref(ev));
  if (result != RELAY_CHANNEL_OK)
    relay_event_unref(ev);
  else
    txn->n_puts++;
  return result;
}

guint
relay_txn_take(RelayTxn *txn, RelayEvent **out, guint max)
{
  g_return_val_if_fail(txn != NULL && out != NULL, 0);
  if (!_txn_is_open(txn, "take") || max == 0)
    return 0;

  RelayChannel *channel = txn->channel;
  guint n = relay_channel_ops(channel)->take(txn, out, max);
  txn->n_takes += n;
  /* As Flume's sinks calling take() once per event: every event is an attempt, plus the one that found
   * the channel empty. */
  relay_counter_add_shared(&channel->counters.take_attempt, n + (n < max ? 1 : 0));
  return n;
}

RelayChannelResult
relay_txn_commit(RelayTxn *txn)
{
  g_return_val_if_fail(txn != NULL, RELAY_CHANNEL_ERROR);
  if (!_txn_is_open(txn, "commit"))
    return RELAY_CHANNEL_ERROR;

  RelayChannel *channel = txn->channel;
  RelayChannelResult result = relay_channel_ops(channel)->commit(txn);
  if (result != RELAY_CHANNEL_OK)
    return result; /* stays OPEN: the caller rolls back */
  txn->state = RELAY_TXN_COMMITTED;
  _flush_put_attempts(txn);
  if (txn->n_puts)
    relay_counter_add_shared(&channel->counters.put_success, txn->n_puts);
  if (txn->n_takes)
    relay_counter_add_shared(&channel->counters.take_success, txn->n_takes);
  return RELAY_CHANNEL_OK;
}

void
relay_txn_rollback(RelayTxn *txn)
{
  g_return_if_fail(txn != NULL);
  if (!_txn_is_open(txn, "rollback"))
    return;
  relay_channel_ops(txn->channel)->rollback(txn);
  txn->state = RELAY_TXN_ROLLED_BACK;
  _flush_put_attempts(txn);
}

void
relay_txn_close(RelayTxn *txn)
{
  if (!txn)
    return;
  if (txn->state == RELAY_TXN_OPEN)
    {
      relay_warn(txn->channel->super.log_prefix,
                 "transaction closed while open, rolled back puts=%u takes=%u", txn->n_puts, txn->n_takes);
      relay_txn_rollback(txn);
    }
  relay_channel_ops(txn->channel)->free_txn(txn);
}

guint64
relay_channel_size(RelayChannel *self)
{
  g_return_val_if_fail(self != NULL, 0);
  return relay_channel_ops(self)->size(self);
}

/* ---- notifications ---- */

void
relay_channel_add_notify(RelayChannel *self, guint kinds, RelayChannelNotify fn, gpointer user_data)
{
  g_return_if_fail(self != NULL && fn != NULL);
  RelayNotifyEntry entry = { kinds, fn, user_data };

  relay_mutex_lock(&self->notify_lock);
  g_array_append_val(self->notifiers, entry);
  relay_mutex_unlock(&self->notify_lock);
}

void
relay_channel_remove_notify(RelayChannel *self, RelayChannelNotify fn, gpointer user_data)
{
  g_return_if_fail(self != NULL);
  relay_mutex_lock(&self->notify_lock);
  for (guint i = 0; i < self->notifiers->len; i++)
    {
      RelayNotifyEntry *entry = &g_array_index(self->notifiers, RelayNotifyEntry, i);
      if (entry->fn == fn && entry->user_data == user_data)
        {
          g_array_remove_index(self->notifiers, i);
          break;
        }
    }
  /* Calls that copied the entry before its removal run in the current epoch: start a new one and wait. */
  guint old = self->notify_epoch;
  self->notify_epoch ^= 1;
  __atomic_add_fetch(&self->notify_removers, 1, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&self->notify_running[old], __ATOMIC_SEQ_CST) > 0)
    relay_cond_wait(&self->notify_idle, &self->notify_lock);
  __atomic_sub_fetch(&self->notify_removers, 1, __ATOMIC_SEQ_CST);
  relay_mutex_unlock(&self->notify_lock);
}

/* Copies the entries interested in kind into out (up to max); returns how many matched in total. */
static guint
_copy_matching(RelayChannel *self, RelayChannelNotifyKind kind, RelayNotifyEntry *out, guint max)
{
  guint n = 0;

  for (guint i = 0; i < self->notifiers->len; i++)
    {
      RelayNotifyEntry *entry = &g_array_index(self->notifiers, RelayNotifyEntry, i);
      if (entry->kinds & kind)
        {
          if (n < max)
            out[n] = *entry;
          n++;
        }
    }
  return n;
}

/* Runs in: any thread that completed a transaction. */
void
relay_channel_notify(RelayChannel *self, RelayChannelNotifyKind kind)
{
  RelayNotifyEntry stack[RELAY_NOTIFY_STACK];
  RelayNotifyEntry *entries = stack;

  relay_mutex_lock(&self->notify_lock);
  guint n = _copy_matching(self, kind, stack, RELAY_NOTIFY_STACK);
  if (n > RELAY_NOTIFY_STACK)
    {
      entries = g_new(RelayNotifyEntry, n);
      _copy_matching(self, kind, entries, n);
    }
  if (n == 0)
    {
      relay_mutex_unlock(&self->notify_lock);
      return;
    }
  guint epoch = self->notify_epoch;
  __atomic_add_fetch(&self->notify_running[epoch], 1, __ATOMIC_SEQ_CST);
  relay_mutex_unlock(&self->notify_lock);

  for (guint i = 0; i < n; i++)
    entries[i].fn(self, entries[i].user_data);

  if (__atomic_sub_fetch(&self->notify_running[epoch], 1, __ATOMIC_SEQ_CST) == 0
      && __atomic_load_n(&self->notify_removers, __ATOMIC_SEQ_CST) > 0)
    {
      relay_mutex_lock(&self->notify_lock);
      relay_cond_broadcast(&self->notify_idle);
      relay_mutex_unlock(&self->notify_lock);
    }
  if (entries != stack)
    g_free(entries);
}

/* ---- base lifecycle ---- */

void
relay_channel_init_base(RelayChannel *self)
{
  relay_mutex_init(&self->notify_lock);
  relay_cond_init(&self->notify_idle);
  self->notifiers = g_array_new(FALSE, FALSE, sizeof(RelayNotifyEntry));
}

void
relay_channel_free_base(RelayChannel *self)
{
  if (self->notifiers)
    g_array_free(self->notifiers, TRUE);
  self->notifiers = NULL;
  g_clear_pointer(&self->unread_reason, g_free);
  relay_cond_clear(&self->notify_idle);
  relay_mutex_clear(&self->notify_lock);
}
