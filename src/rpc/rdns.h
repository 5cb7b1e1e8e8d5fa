/* rdns.h - reverse DNS names of peers without blocking the loop: /etc/hosts, then evdns, with a bounded
 * cache.
 *
 * A lookup answers at once from /etc/hosts (read once, as the system resolver reads it first) or from the
 * cache; otherwise it asks the DNS servers (resolv.conf's, or the ones configured) with libevent's evdns and
 * the waiter is called back from the loop when the answer comes, or with the IP text after timeout_ms,
 * whichever is first. A failed or timed-out lookup names the peer by its IP, as getnameinfo() does. Answers
 * (failures included) are cached for ttl_s seconds, at most cache_size of them (the oldest go first); at most
 * cache_size lookups are in flight, and a peer beyond that is named by its IP at once.
 *
 * Threads: everything runs on the thread of the event_base (the main loop). */
#ifndef RELAY_RDNS_H_INCLUDED
#define RELAY_RDNS_H_INCLUDED

#include "relay.h"

#include <event2/event.h>

typedef struct _RelayRdns RelayRdns;

typedef struct
{
  const char *nameservers; /* NULL or "": resolv.conf's; else "ip[:port] ..." (whitespace-separated) */
  gint64 timeout_ms;       /* > 0: longest wait for an answer */
  guint cache_size;        /* > 0 */
  gint64 ttl_s;            /* >= 0: how long an answer is used (0: not cached) */
  const char *hosts_file;  /* NULL: /etc/hosts */
} RelayRdnsConfig;

/* The name (borrowed, valid during the call only) for the waiter; called from the loop. */
typedef void (*RelayRdnsDone)(const char *name, gpointer user_data);

/* A pending request, embedded in its owner's struct (zeroed before first use). */
typedef struct
{
  RelayRdnsDone done;
  gpointer user_data;
  gpointer lookup; /* private: the lookup waited for, NULL when idle */
  GList link;      /* private */
} RelayRdnsWaiter;

/* Checks a nameservers list as relay_rdns_new() reads it; FALSE with a message (to g_free) naming the bad
 * entry. */
gboolean relay_rdns_nameservers_ok(const char *nameservers, char **why);

/* Returns a new resolver on base (which must outlive it), or NULL with error (no usable nameserver). */
RelayRdns *relay_rdns_new(struct event_base *base, const char *log_prefix, const RelayRdnsConfig *config,
                          GError **error);
/* Frees the resolver; waiters still pending are dropped without a call. NULL is ignored. */
void relay_rdns_free(RelayRdns *self);

/* The name of ip (numeric text, as getnameinfo(NI_NUMERICHOST) writes it) if known now: returned, borrowed
 * until the next call into the resolver. Otherwise NULL, and waiter->done(name, waiter->user_data) runs later
 * from the loop (never inside this call); waiter must not be pending already and stays pending until then or
 * until relay_rdns_cancel(). */
const char *relay_rdns_lookup(RelayRdns *self, const char *ip, RelayRdnsWaiter *waiter);
/* Forgets a pending waiter (no call). Harmless when it is not pending. */
void relay_rdns_cancel(RelayRdns *self, RelayRdnsWaiter *waiter);

/* Counters for tests and logs: lookups sent to DNS, answers from the cache or hosts, timeouts. */
typedef struct
{
  guint64 queries, hits, timeouts, failures;
} RelayRdnsStats;
void relay_rdns_stats(const RelayRdns *self, RelayRdnsStats *stats);

#endif
