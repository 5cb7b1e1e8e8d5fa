/* channel_processor.h - a source's path into its channels: interceptors, channel selector, transactions.
 *
 * As Flume's ChannelProcessor: interceptors run first, in list order, on the whole batch; the selector
 * (replicating with selector.optional, or multiplexing with header/mapping/default/optional) groups events
 * per channel; each required channel gets one transaction for the whole batch, committed one after
 * another; optional channels are written afterwards and their failures only logged.
 *
 * Better than Flume: channels never block, so waiting for room (each channel's keep-alive) is asynchronous
 * on the source's event loop, and a retry after FULL re-commits only the required channels that have not
 * committed yet (Flume's client retry duplicates into the channels that had succeeded).
 *
 * Thread: all functions run on the thread that owns the source (the main loop). */
#ifndef RELAY_CHANNEL_PROCESSOR_H_INCLUDED
#define RELAY_CHANNEL_PROCESSOR_H_INCLUDED

#include "relay.h"
#include "options.h"
#include <event2/event.h>

typedef enum
{
  RELAY_PUT_OK = 0,
  RELAY_PUT_FULL,  /* a required channel had no room within its keep-alive (answer FAILED) */
  RELAY_PUT_ERROR, /* a required channel failed otherwise (answer FAILED / error) */
} RelayPutResult;

const char *relay_put_result_name(RelayPutResult result);

/* source: borrowed, for names and counters. base: the source's event loop, used for keep-alive waits. */
RelayChannelProcessor *relay_channel_processor_new(RelaySource *source, struct event_base *base);
void relay_channel_processor_free(RelayChannelProcessor *self);

/* Reads the source's "channels", "selector.*", "interceptors" and "interceptors.*" keys. channels maps names
 * of the agent's surviving channels to RelayChannel*. Unknown channel names are reported and dropped;
 * returns FALSE (source removed) if no required channel is left or a selector/interceptor is invalid. */
gboolean relay_channel_processor_configure(RelayChannelProcessor *self, const RelayComponentConfig *cc,
                                           GHashTable *channels, RelayConfigReport *report);
/* TRUE for the sub-keys configure() reads. */
gboolean relay_channel_processor_knows_key(const char *key);
/* Every channel this processor may write to (borrowed array of RelayChannel*). */
GPtrArray *relay_channel_processor_channels(RelayChannelProcessor *self);

/* One synchronous attempt. events holds references (free func relay_event_unref_notify); interceptors may
 * replace or remove elements. Returns at the first failing required channel. */
RelayPutResult relay_channel_processor_put(RelayChannelProcessor *self, GPtrArray *events);

typedef struct _RelayPutRequest RelayPutRequest;
typedef void (*RelayPutDone)(RelayPutResult result, gpointer user_data);

/* Puts events (takes ownership of the array) waiting asynchronously, up to each full channel's keep-alive,
 * for room. If the outcome is known at once, calls done before returning and returns NULL; otherwise
 * returns a request that completes later on the event loop (done is called exactly once) unless cancelled. */
RelayPutRequest *relay_channel_processor_submit(RelayChannelProcessor *self, GPtrArray *events,
                                                RelayPutDone done, gpointer user_data);
/* Abandons a pending request (the connection went away): done is not called, events are released; channels
 * that had already committed keep their events. */
void relay_put_request_cancel(RelayPutRequest *request);

/* ---- selector types added at run time: the plugins' (issue 17) ---- */
typedef struct
{
  const char *alias;       /* matched case-insensitively */
  const char *flume_class; /* matched exactly; may be NULL */
  /* Builds the selector of the source described by cc from its "selector.*" keys; channels (RelayChannel*,
   * borrowed) is the source's channel list: bit i of a route is channels[i]. NULL after adding to report
   * (the source is then removed). Main thread. */
  gpointer (*create)(gconstpointer data, const RelayComponentConfig *cc, GPtrArray *channels,
                     RelayConfigReport *report);
  /* The route of ev (both masks start at 0). Runs on the thread that owns the source. */
  void (*select)(gpointer instance, const RelayEvent *ev, guint64 *required, guint64 *optional);
  void (*free)(gpointer instance);
  /* TRUE for a sub-key ("header" of "selector.header") the type reads. */
  gboolean (*knows_key)(gconstpointer data, const char *key);
  gconstpointer data;
  /* For --help-components: a line saying what it does (may be NULL) and the keys it reads. */
  const char *description;
  const RelayOption *options;
} RelaySelectorType;

/* Adds a type, kept for the life of the process (main thread, before any source is configured). FALSE when
 * its alias or class name already names a selector type. */
gboolean relay_selector_add_type(const RelaySelectorType *type);
/* TRUE when type names a selector type, built in or added. */
gboolean relay_selector_type_exists(const char *type);
/* Every selector type for --help-components: the built-in ones, then the added ones in the order they were
 * added (an array of RelayTypeHelp to g_array_unref). */
GArray *relay_selector_types_help(void);
/* ---- end of added types ---- */

#endif
