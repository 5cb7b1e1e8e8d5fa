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
#include "options.h"

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

/* ---- interceptor types added at run time: the plugins' (issue 17) ---- */
typedef struct
{
  const char *alias;       /* matched case-insensitively */
  const char *flume_class; /* matched exactly; may be NULL */
  /* Builds the interceptor <name> of the source described by cc from its "interceptors.<name>.*" keys;
   * NULL after adding to report (the source is then removed). Main thread. */
  gpointer (*create)(gconstpointer data, const RelayComponentConfig *cc, const char *name,
                     RelayConfigReport *report);
  /* As a built-in apply: may replace or remove elements of events, keeping the order of the others. */
  void (*apply)(gpointer instance, GPtrArray *events);
  void (*free)(gpointer instance);
  /* TRUE for a sub-key ("modulus" of "interceptors.<name>.modulus") the type reads. */
  gboolean (*knows_key)(gconstpointer data, const char *key);
  gconstpointer data;
  /* For --help-components: a line saying what it does (may be NULL) and the keys it reads. */
  const char *description;
  const RelayOption *options;
} RelayInterceptorType;

/* Adds a type, kept for the life of the process (main thread, before any chain is built). FALSE when its
 * alias or class name already names an interceptor type. */
gboolean relay_interceptor_add_type(const RelayInterceptorType *type);
/* TRUE when type names an interceptor type, built in or added. */
gboolean relay_interceptor_type_exists(const char *type);
/* Every interceptor type for --help-components: the built-in ones, then the added ones in the order they were
 * added (an array of RelayTypeHelp to g_array_unref). */
GArray *relay_interceptor_types_help(void);
/* ---- end of added types ---- */

#endif
