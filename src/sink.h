/* sink.h - the sink base: a component that takes events from one channel and delivers them.
 *
 * process() runs on the sink runner's thread (one per standalone sink or sink group), may block for bounded
 * times (network I/O with timeouts), and must check relay_sink_abort_requested() at least every 100 ms
 * while blocked so shutdown stays bounded. It begins a transaction, takes up to its batch size, delivers,
 * commits on success or rolls back on failure, and reports READY, BACKOFF or FAILED. start()/stop() run on
 * the main thread before the runner starts and after it has ended. */
#ifndef RELAY_SINK_H_INCLUDED
#define RELAY_SINK_H_INCLUDED

#include "relay.h"
#include "component.h"
#include "tls.h"

typedef enum
{
  RELAY_SINK_READY = 0, /* delivered a batch; call again */
  RELAY_SINK_BACKOFF,   /* nothing to do (channel empty): wait for data or the backoff timer */
  RELAY_SINK_FAILED,    /* delivery failed, batch rolled back: the processor may try another sink */
} RelaySinkStatus;

const char *relay_sink_status_name(RelaySinkStatus status);

typedef struct
{
  RelaySinkStatus (*process)(RelaySink *self);
} RelaySinkOps;

typedef struct
{
  /* Flume's SinkCounter names; written by the sink's runner lane with relay_counter_* (counters.h). */
  gint64 connection_created, connection_closed, connection_failed;
  gint64 batch_empty, batch_underflow, batch_complete;
  gint64 event_drain_attempt, event_drain_success;
  gint64 event_write_fail, channel_read_fail;
  gint64 bytes_sent;                   /* relayd's own: bytes written to the next hop or the file */
  gint64 tls_errors[RELAY_TLS_FAIL_N]; /* relayd's own: TLS connections that failed, by reason */
  /* ---- Kafka (issue 18): Flume's KafkaSinkCounter ---- */
  gint64 kafka_event_send_time_ms; /* channel.kafka.event.send.time: ms spent producing and awaiting acks */
  gint64 rollback_count;           /* channel.rollback.count: batches rolled back after a failed delivery */
} RelaySinkCounters;

struct _RelaySink
{
  RelayComponent super;
  RelayChannel *channel; /* borrowed; set by the agent before start */
  RelaySinkCounters counters;
  gint abort_requested; /* atomic; set by the runner's stop after the grace period */
};

#define RELAY_SINK(p) ((RelaySink *)(p))

/* Runs in: the sink's runner thread. */
RelaySinkStatus relay_sink_process(RelaySink *self);

static inline gboolean
relay_sink_abort_requested(RelaySink *self)
{
  return g_atomic_int_get(&self->abort_requested) != 0;
}

#endif
