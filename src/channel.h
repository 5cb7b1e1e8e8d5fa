/* channel.h - the channel interface: explicit transactions (begin, put, take, commit, rollback, close).
 *
 * Semantics follow Flume's BasicChannelSemantics: a transaction is OPEN after begin; put/take only while
 * OPEN; commit or rollback completes it; close frees it (closing an OPEN transaction rolls it back and logs
 * a warning, since that is a programming error). A failed commit leaves the transaction OPEN: the caller
 * must roll back, as in Flume. Puts beyond transactionCapacity fail at once (TXN_FULL); "channel full" is
 * detected at commit (FULL). Rollback returns taken events to the head of the channel in their order.
 *
 * Threads & locking: the channel is the only object shared between threads. A transaction belongs to the
 * thread that began it. Channels never block: commit returns FULL instead of waiting keep-alive seconds;
 * waiting is done asynchronously by the channel processor (sources) and by the sink runner (woken by the
 * DATA notification), so no event loop ever blocks on a channel.
 *
 * Ownership: put borrows the caller's reference and the channel takes one of its own. Take lends the
 * channel's reference: the events stay valid until the transaction is committed, rolled back or closed. */
#ifndef RELAY_CHANNEL_H_INCLUDED
#define RELAY_CHANNEL_H_INCLUDED

#include "relay.h"
#include "component.h"
#include "relay_mutex.h"

typedef enum
{
  RELAY_CHANNEL_OK = 0,
  RELAY_CHANNEL_FULL,     /* commit: no room (capacity or byteCapacity); sources answer FAILED */
  RELAY_CHANNEL_TXN_FULL, /* put/take: more than transactionCapacity events in one transaction */
  RELAY_CHANNEL_ERROR,    /* anything else (disk error, illegal mix of puts and takes) */
} RelayChannelResult;

const char *relay_channel_result_name(RelayChannelResult result);

typedef enum
{
  RELAY_TXN_OPEN = 0,
  RELAY_TXN_COMMITTED,
  RELAY_TXN_ROLLED_BACK,
} RelayTxnState;

struct _RelayTxn
{
  RelayChannel *channel;
  RelayTxnState state;
  guint n_puts;
  guint n_put_attempts; /* including failed puts; flushed to the counter at commit/rollback */
  guint n_takes;
};

typedef struct
{
  /* Allocates a transaction (a struct embedding RelayTxn first); state and counts are set by the wrapper. */
  RelayTxn *(*begin)(RelayChannel *self);
  /* Stores ev (the reference is the channel's) in the transaction. TXN_FULL if over transactionCapacity;
   * then the wrapper drops the reference. */
  RelayChannelResult (*put)(RelayTxn *txn, RelayEvent *ev);
  /* Moves up to max events from the head into the transaction; returns the count (0 = empty). Never
   * blocks. Must not take more than transactionCapacity in total (returns fewer). */
  guint (*take)(RelayTxn *txn, RelayEvent **out, guint max);
  RelayChannelResult (*commit)(RelayTxn *txn);
  void (*rollback)(RelayTxn *txn);
  void (*free_txn)(RelayTxn *txn); /* called by close after commit/rollback */
  guint64 (*size)(RelayChannel *self);
  /* ---- live reload (issue 14) ---- */
  /* Optional: takes the settings of `settings` (a configured, never started channel of the same class) in
   * place, keeping the events, so that what is wired to this channel keeps running. FALSE with error (and
   * nothing changed) when the content does not fit the new settings. With apply FALSE only checks. Main
   * thread; other threads may be using the channel. */
  gboolean (*reconfigure)(RelayChannel *self, RelayChannel *settings, gboolean apply, GError **error);
} RelayChannelOps;

typedef enum
{
  RELAY_CHANNEL_NOTIFY_DATA = 1 << 0,  /* a commit added events (wakes sink runners) */
  RELAY_CHANNEL_NOTIFY_SPACE = 1 << 1, /* a commit or rollback freed room (wakes waiting sources) */
} RelayChannelNotifyKind;

/* Runs on the committing thread, outside the channel's locks; must only wake its owner (event_active). */
typedef void (*RelayChannelNotify)(RelayChannel *channel, gpointer user_data);

typedef struct
{
  gint64 put_attempt, put_success, take_attempt, take_success; /* Flume's EventPut/TakeAttempt/SuccessCount */
  /* Durable channels only (Flume's FileChannelCounter): EventPutErrorCount, EventTakeErrorCount,
   * CheckpointWriteErrorCount, CheckpointBackupWriteErrorCount, Unhealthy (0/1: puts refused after a disk
   * write failed). */
  gint64 put_errors, take_errors, checkpoint_write_errors, checkpoint_backup_write_errors;
  gint64 unhealthy;
  /* ---- Kafka channel (issue 18): Flume's KafkaChannelCounter ---- */
  gint64 kafka_event_get_time_ms;  /* channel.kafka.event.get.time: ms reading records */
  gint64 kafka_event_send_time_ms; /* channel.kafka.event.send.time: ms producing puts, awaiting their acks */
  gint64 kafka_commit_time_ms;     /* channel.kafka.commit.time: ms committing offsets of takes */
  gint64 rollback_count;           /* channel.rollback.count: events of rolled-back take transactions */
} RelayChannelCounters;

struct _RelayChannel
{
  RelayComponent super;
  /* Common settings every channel type fills through its option table. */
  gint64 capacity;
  gint64 transaction_capacity;
  gint64 keep_alive_s;           /* how long a source waits for room before answering FAILED */
  RelayChannelCounters counters; /* relay_counter_add_shared / relay_counter_get (counters.h) */
  gboolean durable;              /* set by a channel that keeps the file channel's extra counters */
  gboolean survives_crash;       /* set by a channel whose committed events outlive a crash (file, Kafka) */
  char *unread_reason; /* set by the agent when no running sink reads the channel (shown on /health) */
  RelayMutex notify_lock;
  GArray *notifiers; /* private */
  /* private: callbacks in flight per epoch, so that remove_notify can wait for the ones it may race with */
  RelayCond notify_idle;
  guint notify_running[2]; /* atomic; incremented under notify_lock */
  guint notify_epoch;
  guint notify_removers; /* atomic: removals waiting on notify_idle */
};

#define RELAY_CHANNEL(p) ((RelayChannel *)(p))

static inline const RelayChannelOps *
relay_channel_ops(RelayChannel *self)
{
  return (const RelayChannelOps *)self->super.klass->ops;
}

/* ---- transactions (any thread; a transaction stays on the thread that began it) ---- */
RelayTxn *relay_channel_begin(RelayChannel *self);
RelayChannelResult relay_txn_put(RelayTxn *txn, RelayEvent *ev);
guint relay_txn_take(RelayTxn *txn, RelayEvent **out, guint max);
RelayChannelResult relay_txn_commit(RelayTxn *txn);
void relay_txn_rollback(RelayTxn *txn);
void relay_txn_close(RelayTxn *txn);

guint64 relay_channel_size(RelayChannel *self);

/* ---- notifications ---- */
void relay_channel_add_notify(RelayChannel *self, guint kinds, RelayChannelNotify fn, gpointer user_data);
/* After remove returns, fn is no longer running and will not be called again, so user_data may be freed.
 * Must not be called from inside a notification callback (it would wait for itself). */
void relay_channel_remove_notify(RelayChannel *self, RelayChannelNotify fn, gpointer user_data);
/* Called by channel implementations after a commit/rollback, outside their own locks. */
void relay_channel_notify(RelayChannel *self, RelayChannelNotifyKind kind);

/* Base init/cleanup for channel implementations (the component layer calls them through relay_component_*;
 * exposed for channel files). */
void relay_channel_init_base(RelayChannel *self);
void relay_channel_free_base(RelayChannel *self);

#endif
