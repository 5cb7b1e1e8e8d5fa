/* membudget.h - the agent's global memory budget, `<agent>.memory.limit` (relayd's own key).
 *
 * One process-wide count of the bytes relayd holds on behalf of peers: events in memory channels and the
 * connection buffers of the network sources (input, inflated input, unsent output). Holders charge what they
 * hold and release it when they let go; charges that may grow memory are refused once the limit is reached,
 * so channels report "full" (sources answer FAILED) and sources stop reading and refuse new connections
 * instead of growing. Limit 0 (the default) means unlimited: bytes are still counted, nothing is refused.
 *
 * Threads: counts are relaxed atomics, so any thread may charge and release (memory channels are charged by
 * sources on the main loop and released by sink threads). The limit is set at start and may change on a
 * reload (a lower limit refuses new charges until enough is released). */
#ifndef RELAY_MEMBUDGET_H_INCLUDED
#define RELAY_MEMBUDGET_H_INCLUDED

#include "relay.h"
#include "config.h"

/* Sets the limit in bytes (0: unlimited). Main thread. */
void relay_membudget_set_limit(gint64 limit);
gint64 relay_membudget_limit(void);
/* Bytes charged now. */
gint64 relay_membudget_used(void);
/* Charges n bytes (n < 0 releases) whatever the limit: for memory that is already held. */
void relay_membudget_add(gint64 n);
/* Charges n >= 0 bytes only if that stays within the limit; FALSE (nothing charged) otherwise. */
gboolean relay_membudget_try_add(gint64 n);
/* TRUE when a limit is set and the charged bytes reached it. */
gboolean relay_membudget_exhausted(void);

/* Parses "<bytes>[k|m|g]" (binary multiples, case-insensitive); FALSE if malformed or negative. */
gboolean relay_membudget_parse_size(const char *text, gint64 *out);
/* Applies the "<agent>.memory.*" entries (const RelayProp*): limit. Problems are report lines naming
 * file:line and key; a bad entry is then ignored. */
void relay_membudget_apply_props(const GPtrArray *entries, RelayConfigReport *report);
/* The limit the entries ask for (0 when no valid memory.limit), without applying it (live reload, issue 14).
 */
gint64 relay_membudget_read_props(const GPtrArray *entries, RelayConfigReport *report);

#endif
