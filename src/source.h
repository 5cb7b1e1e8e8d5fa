/* source.h - the source base: a component that receives events and hands them to its channel processor.
 *
 * Sources run on the main event loop: start() registers listeners or timers on self->base, stop() removes
 * them, closes connections and cancels pending put requests. The agent sets cp and base before start(). */
#ifndef RELAY_SOURCE_H_INCLUDED
#define RELAY_SOURCE_H_INCLUDED

#include "relay.h"
#include "component.h"
#include <event2/event.h>

typedef struct
{
  /* Flume's SourceCounter names; updated on the main thread, read racily for reporting. */
  gint64 event_received, event_accepted;
  gint64 append_received, append_accepted;
  gint64 append_batch_received, append_batch_accepted;
  gint64 open_connections;
  gint64 event_read_fail, channel_write_fail, generic_processing_fail;
  gint64 protocol_errors; /* connections closed for bad input (relayd's own) */
} RelaySourceCounters;

struct _RelaySource
{
  RelayComponent super;
  RelayChannelProcessor *cp; /* owned by the agent */
  struct event_base *base;   /* the main loop; borrowed */
  RelaySourceCounters counters;
};

#define RELAY_SOURCE(p) ((RelaySource *)(p))

#endif
