/* interceptor.h - a source's interceptor chain: Flume's timestamp, host, static, regex_filter, remove_header.
 *
 * The chain is built from the source's "interceptors" list (run in list order) and the
 * "interceptors.<name>.<key>" properties, with Flume's type aliases (case-insensitive) and builder class
 * names (exact). Interceptors run on a whole batch before channel selection; since events are immutable, an
 * interceptor that changes headers replaces the array element with a modified copy, and a filter removes
 * elements (their references are dropped).
 *
 * Thread: built on the main thread during configuration; applied on the thread that owns the source. A chain
 * keeps no per-batch state, so it is only read after configuration. */
#ifndef RELAY_INTERCEPTOR_H_INCLUDED
#define RELAY_INTERCEPTOR_H_INCLUDED

#include "relay.h"
#include "config.h"

/* Upper bound on interceptors per source (each one copies every event it modifies). */
#define RELAY_INTERCEPTORS_MAX 32

typedef struct _RelayInterceptorChain RelayInterceptorChain;

/* Builds the chain of the source described by cc (an empty chain when "interceptors" is absent). Returns
 * NULL after adding to report when an interceptor has no type, an unknown type or an invalid setting (the
 * source must then be removed). log_prefix names the source in log lines written while building. */
RelayInterceptorChain *relay_interceptor_chain_new(const RelayComponentConfig *cc, const char *log_prefix,
                                                   RelayConfigReport *report);
void relay_interceptor_chain_free(RelayInterceptorChain *self);

/* Number of interceptors (0: apply is a no-op). */
guint relay_interceptor_chain_length(const RelayInterceptorChain *self);

/* Runs every interceptor, in order, on events (RelayEvent* references, free func relay_event_unref_notify):
 * elements may be replaced by modified copies or removed; the order of the others is kept. */
void relay_interceptor_chain_apply(RelayInterceptorChain *self, GPtrArray *events);

/* TRUE for "interceptors" and every "interceptors.<...>" sub-key (checked in detail by the chain). */
gboolean relay_interceptor_knows_key(const char *key);

#endif
