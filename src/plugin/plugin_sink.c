/* plugin_sink.c - plugin sinks: the plugin's process() behind relayd's sink interface (sink.h).
 *
 * The sink runner calls process() on its own thread, exactly as for a built-in sink; the plugin begins a
 * transaction on the sink's channel with relayd_sink_begin(), takes, delivers, commits or rolls back, and
 * returns READY, BACKOFF or FAILED, which map one to one onto relayd's sink statuses. Taking counts
 * EventDrainAttempt and the batch counters (BatchEmpty, BatchUnderflow, BatchComplete against the number
 * asked for), committing counts EventDrainSuccess, so a plugin sink's counters match a built-in one's.
 *
 * Threads: start/stop on the main thread; process() and the transaction functions on the runner thread. */
#include "plugin_private.h"

#include "channel.h"
#include "counters.h"

/* A RelaydTxn is the channel's RelayTxn; the sink is found again through this side struct. */
typedef struct
{
  RelaySink *sink;
  RelayTxn *txn;
  guint taken;
} _SinkTxn;

RelaydTxn *
relayd_sink_begin(RelaydComponent *self)
{
  RelaySink *sink = (RelaySink *)self;
  _SinkTxn *st = g_new0(_SinkTxn, 1);

  st->sink = sink;
  st->txn = relay_channel_begin(sink->channel);
  return (RelaydTxn *)st;
}

size_t
relayd_txn_take(RelaydTxn *txn, RelaydEvent **out, size_t max)
{
  _SinkTxn *st = (_SinkTxn *)txn;
  RelaySinkCounters *counters = &st->sink->counters;
  guint n = relay_txn_take(st->txn, (RelayEvent **)out, (guint)MIN(max, G_MAXUINT32));

  relay_counter_add(&counters->event_drain_attempt, n);
  relay_counter_inc(n == 0    ? &counters->batch_empty
                    : n < max ? &counters->batch_underflow
                              : &counters->batch_complete);
  st->taken += n;
  return n;
}

int
relayd_txn_commit(RelaydTxn *txn)
{
  _SinkTxn *st = (_SinkTxn *)txn;

  if (relay_txn_commit(st->txn) != RELAY_CHANNEL_OK)
    return -1;
  relay_counter_add(&st->sink->counters.event_drain_success, st->taken);
  return 0;
}

void
relayd_txn_rollback(RelaydTxn *txn)
{
  relay_txn_rollback(((_SinkTxn *)txn)->txn);
}

void
relayd_txn_close(RelaydTxn *txn)
{
  _SinkTxn *st = (_SinkTxn *)txn;

  relay_txn_close(st->txn);
  g_free(st);
}

int
relayd_sink_abort_requested(const RelaydComponent *self)
{
  return relay_sink_abort_requested((RelaySink *)self);
}

/* Runs in: the sink's runner thread. */
static RelaySinkStatus
_sink_process(RelaySink *self)
{
  const RelayPluginClass *pc = relay_plugin_class(RELAY_COMPONENT(self));

  switch (pc->sink.process((RelaydComponent *)self))
    {
    case RELAYD_READY:
      return RELAY_SINK_READY;
    case RELAYD_BACKOFF:
      return RELAY_SINK_BACKOFF;
    default:
      return RELAY_SINK_FAILED;
    }
}

static const RelaySinkOps _sink_ops = { _sink_process };

static void
_sink_stop(RelayComponent *self)
{
  relay_plugin_call_stop(self);
}

void
relay_plugin_sink_class_init(RelayPluginClass *pc)
{
  pc->plugin_kind = RELAY_PLUGIN_SINK;
  pc->klass.instance_size = sizeof(RelayPluginSink);
  pc->common_offset = G_STRUCT_OFFSET(RelayPluginSink, common);
  pc->klass.start = relay_plugin_call_start;
  pc->klass.stop = _sink_stop;
  pc->klass.free = relay_plugin_free;
  pc->klass.ops = &_sink_ops;
}
