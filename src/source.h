/* source.h - the source base: a component that receives events and hands them to its channel processor.
 *
 * Sources run on the main event loop: start() registers listeners or timers on self->base, stop() removes
 * them, closes connections and cancels pending put requests. The agent sets cp and base before start(). */
#ifndef RELAY_SOURCE_H_INCLUDED
#define RELAY_SOURCE_H_INCLUDED

#include "relay.h"
#include "component.h"
#include "counters.h"
#include "tls.h"
#include <event2/event.h>

/* Why a connection was closed for bad input (relayd's own counters, one per kind). */
typedef enum
{
  RELAY_PROTO_ERROR_LIMIT = 0, /* a size or count over a configured limit */
  RELAY_PROTO_ERROR_MALFORMED, /* bytes that do not decode */
  RELAY_PROTO_ERROR_TIMEOUT,   /* a request left incomplete too long */
  RELAY_PROTO_ERROR_DEFLATE,   /* a corrupt or oversized compressed stream */
  RELAY_PROTO_ERROR_N,
} RelayProtoErrorKind;

typedef struct
{
  /* Flume's SourceCounter names; written on the main thread with relay_counter_* (counters.h). */
  gint64 event_received, event_accepted;
  gint64 append_received, append_accepted;
  gint64 append_batch_received, append_batch_accepted;
  gint64 open_connections;
  gint64 event_read_fail, channel_write_fail, generic_processing_fail;
  /* relayd's own */
  gint64 event_failed;   /* events of requests answered FAILED or abandoned: received = accepted + failed */
  gint64 bytes_received; /* bytes read from the network (compressed size when compressed) */
  gint64 protocol_errors[RELAY_PROTO_ERROR_N]; /* connections closed for bad input, by kind */
  gint64 connections_refused;                  /* over max-connections or refused by ipFilterRules */
  gint64 tls_errors[RELAY_TLS_FAIL_N];         /* connections closed by a TLS failure, by reason */
  gint64 tls_handshakes; /* TLS handshakes completed and accepted (always full: sessions are never resumed) */
  /* resource limits (issue 16) */
  gint64 accept_failures; /* accept() calls that failed (out of descriptors); the listener rested */
  gint64 idle_closed;     /* connections closed after idle-timeout without a request */
  gint64
      memory_refused; /* requests answered FAILED and connections refused because memory.limit was reached */
  /* ---- Kafka (issue 18): Flume's KafkaSourceCounter ---- */
  gint64 kafka_event_get_time_ms; /* source.kafka.event.get.time: ms spent reading records from librdkafka */
  gint64 kafka_commit_time_ms; /* source.kafka.commit.time: ms from issuing offset commits to their result */
  gint64 kafka_empty_count;    /* source.kafka.empty.count: non-blocking reads that found none */
} RelaySourceCounters;

/* ---- labelled gauges a source may add to the monitoring outputs (issue 11: TAILDIR bytes behind per file
 * group) ---- */
typedef void (*RelaySourceGaugeFn)(const char *label, gint64 value, gpointer data);
typedef struct
{
  const char *attr;       /* JSON attributes "<attr>" (the sum) and "<attr>.<label>" */
  const char *family;     /* Prometheus family, one sample per label */
  const char *help;       /* its # HELP text */
  const char *label_name; /* its extra label: <label_name>="<label>" */
  /* Calls fn once per label. Main thread (monitoring snapshots are rendered there). */
  void (*foreach)(const RelaySource *source, RelaySourceGaugeFn fn, gpointer data);
} RelaySourceGauges;

struct _RelaySource
{
  RelayComponent super;
  RelayChannelProcessor *cp; /* owned by the agent */
  struct event_base *base;   /* the main loop; borrowed */
  RelaySourceCounters counters;
  const RelaySourceGauges *gauges; /* NULL: none (issue 11) */
};

#define RELAY_SOURCE(p) ((RelaySource *)(p))

/* Counts one connection closed for bad input; every bad input also counts as Flume's EventReadFail. Main
 * thread. */
static inline void
relay_source_count_protocol_error(RelaySource *self, RelayProtoErrorKind kind)
{
  relay_counter_inc(&self->counters.protocol_errors[kind]);
  relay_counter_inc(&self->counters.event_read_fail);
}

#endif
