/* agent_check.c - what relayd --check can know about starting before it starts anything.
 *
 * After the configuration is built, every component whose class has a check_start hook is asked whether its
 * start would fail for a reason visible now (a listening port already in use, a file_roll directory missing
 * or not writable); each such problem becomes a report line with the component's file:line. Nothing is
 * started and nothing is left open. Runs on the main thread. */
#include "agent_private.h"

#include "component.h"
#include "config.h"

static void
_check_list(GPtrArray *components, RelayKind kind, const RelayAgentConfig *cfg, RelayConfigReport *report)
{
  for (guint i = 0; i < components->len; i++)
    {
      RelayComponent *component = g_ptr_array_index(components, i);
      GError *error = NULL;
      if (!component->klass->check_start || component->klass->check_start(component, &error))
        continue;
      const RelayComponentConfig *cc = relay_agent_config_find(cfg, kind, component->name);
      relay_config_report_add(report, cc ? relay_component_config_where(cc) : NULL, cc ? cc->label : NULL,
                              NULL, "would not start: %s", error->message);
      g_error_free(error);
    }
}

void
relay_agent_check_start(RelayAgent *self, const RelayAgentConfig *cfg, RelayConfigReport *report)
{
  _check_list(self->channels, RELAY_KIND_CHANNEL, cfg, report);
  _check_list(self->sinks, RELAY_KIND_SINK, cfg, report);
  _check_list(self->sources, RELAY_KIND_SOURCE, cfg, report);
}
