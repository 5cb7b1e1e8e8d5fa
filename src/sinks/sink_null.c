/* sink_null.c - the null sink: takes up to batchSize events per transaction and discards them (Flume's
 * NullSink), for benchmarks and for draining a channel.
 *
 * As in Flume, a batch smaller than batchSize means the channel ran dry and the sink reports BACKOFF; the
 * runner wakes it again as soon as new data is committed. The take array is allocated once at start.
 * Runs on the sink's runner thread; start/stop/free on the main thread. */
#include "channel.h"
#include "component.h"
#include "counters.h"
#include "log.h"
#include "sink.h"

typedef struct
{
  RelaySink super;
  gint64 batch_size;
  RelayEvent **batch; /* batch_size slots, allocated at start */
} RelaySinkNull;

/* Runs in: the sink's runner thread. */
static RelaySinkStatus
_null_process(RelaySink *sink)
{
  RelaySinkNull *self = (RelaySinkNull *)sink;
  RelayTxn *txn = relay_channel_begin(sink->channel);
  guint n = relay_txn_take(txn, self->batch, (guint)self->batch_size);

  relay_counter_add(&sink->counters.event_drain_attempt, n);
  RelayChannelResult result = relay_txn_commit(txn);
  if (result != RELAY_CHANNEL_OK)
    {
      relay_txn_rollback(txn);
      relay_txn_close(txn);
      relay_counter_inc(&sink->counters.channel_read_fail);
      relay_warn(sink->super.log_prefix, "take commit failed, rolled back result=%s",
                 relay_channel_result_name(result));
      return RELAY_SINK_FAILED;
    }
  relay_txn_close(txn);
  relay_counter_add(&sink->counters.event_drain_success, n);
  if (n == 0)
    relay_counter_inc(&sink->counters.batch_empty);
  else if (n < self->batch_size)
    relay_counter_inc(&sink->counters.batch_underflow);
  else
    relay_counter_inc(&sink->counters.batch_complete);
  return n < self->batch_size ? RELAY_SINK_BACKOFF : RELAY_SINK_READY;
}

static gboolean
_null_start(RelayComponent *component, GError **error)
{
  RelaySinkNull *self = (RelaySinkNull *)component;

  if (!self->batch)
    self->batch = g_new0(RelayEvent *, self->batch_size);
  return TRUE;
}

static void
_null_free(RelayComponent *component)
{
  RelaySinkNull *self = (RelaySinkNull *)component;

  g_free(self->batch);
}

static const RelayOption _null_options[] = {
  RELAY_OPT_INT_ROW("batchSize", "100", 1, 1000000, RelaySinkNull, batch_size, RELAY_OPTF_BATCH_SIZE,
                    "events taken (and discarded) per transaction"),
  RELAY_OPTION_END,
};

static const RelaySinkOps _null_ops = {
  .process = _null_process,
};

const RelayComponentClass relay_sink_null_class = {
  .kind = RELAY_KIND_SINK,
  .type = "null",
  .flume_class = "org.apache.flume.sink.NullSink",
  .description = "takes events from its channel and discards them",
  .options = _null_options,
  .instance_size = sizeof(RelaySinkNull),
  .start = _null_start,
  .free = _null_free,
  .ops = &_null_ops,
};
