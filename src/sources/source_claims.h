/* source_claims.h - sources that need a file or directory of their own (TAILDIR's position file, spooldir's
 * spool directory and tracker): finding the source of the same agent, configured before this one, that
 * claims the same path. Looking in the agent being configured, not in a process-wide table, lets a live
 * reload build its probe agent while the running agent still holds the same paths.
 *
 * Thread: main (configuration). */
#ifndef RELAY_SOURCE_CLAIMS_H_INCLUDED
#define RELAY_SOURCE_CLAIMS_H_INCLUDED

#include "relay.h"
#include "component.h"
#include "config.h"

/* The path a source claims (absolute, canonical), or NULL. */
typedef const char *(*RelaySourceClaimFn)(const RelayComponent *source);

/* The name of a source of self's class and agent, listed before self in the <agent>.sources entry that
 * declared it and configured already, whose claim(other) equals claim(self); NULL when there is none. */
const char *relay_source_claimed_by(const RelayComponent *self, const RelayComponentConfig *cc,
                                    RelaySourceClaimFn claim);

#endif
