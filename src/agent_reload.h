/* agent_reload.h - live reload of a running agent (issue 14): only what changed restarts.
 *
 * The new configuration is first built whole into a probe agent that never starts (the checks --check
 * makes); any problem refuses the reload and the running agent is untouched. Then each component's resolved
 * settings (its properties after ${...} substitution) and wiring are compared with the running one:
 * - a channel with the same settings is kept; a channel of the same class that can take new settings in place
 *   (the memory channel: RelayChannelOps.reconfigure) is resized and kept with its events, or the reload is
 *   refused when its content does not fit; other changed channels are stopped and started anew (a file
 *   channel reopens its directories). A memory channel holding events is never dropped: such a reload is
 *   refused;
 * - a source is kept when its settings are the same and its channels are kept;
 * - a sink group (or a standalone sink's runner) is kept when its settings, its member list and every member
 *   sink (settings and channel) are the same; its sinks are kept with it.
 * What is not kept stops in the usual order (sources, then sink runners, which finish the batch in flight
 * and roll back the rest, then sinks, then channels) and the new components start (channels, sinks and
 * runners, sources). Kept components are the same objects: connections, threads and counters go on.
 * The switch is transactional: when a new or changed component cannot start (a port in use, a directory
 * that is missing), the new components stop, the previous ones are built again from the previous
 * configuration and started (kept ones never stopped), and the reload fails; memory channels are resized
 * only once everything started.
 * The switch does not hold the main loop while the old sink runners finish their batch in flight: the
 * sources that go away stop, the runners that go away are asked to stop, and the main loop goes on serving
 * the kept sources; once every old runner has left (its last lane wakes the main loop), the rest of the
 * switch runs there. Until then the running sets stay whole, no new runner takes from a channel an old one
 * still drains, and no channel is resized or freed under one (a channel to shrink that filled up meanwhile
 * rolls the reload back). Main thread. */
#ifndef RELAY_AGENT_RELOAD_H_INCLUDED
#define RELAY_AGENT_RELOAD_H_INCLUDED

#include "relay.h"
#include "config.h"

/* How a reload ended: ok when the new set runs; otherwise error says why and the previous configuration runs
 * (a previous component that cannot start again is logged and listed as down). */
typedef void (*RelayAgentReloadDone)(gboolean ok, const GError *error, gpointer user_data);

/* Reloads `agent` (running with old_cfg, or with no component when old_cfg is NULL) to new_cfg; both must
 * live until done runs. report receives the problems of new_cfg (the caller logs them). FALSE (error set,
 * done never called) when the reload is refused and nothing changed, or another one is under way. TRUE when
 * the switch began: done(ok) then runs on the main loop (not before this returns). The log says what was
 * kept, restarted, added, removed and resized, how long it took and how long it held the main loop. */
gboolean relay_agent_reload(RelayAgent *agent, const RelayAgentConfig *old_cfg,
                            const RelayAgentConfig *new_cfg, RelayConfigReport *report,
                            RelayAgentReloadDone done, gpointer user_data, GError **error);

/* Finishes a reload under way at once (done runs before this returns), waiting for the old runners within
 * their grace period: before the agent stops. Nothing when none is under way. Main thread. */
void relay_agent_reload_settle(RelayAgent *agent);

#endif
