/* agent_status.c - the agent's state in one line, for systemd's STATUS= (issue 15). */
#include "agent_private.h"

char *
relay_agent_status_line(RelayAgent *self)
{
  GString *line = g_string_new(NULL);

  g_string_printf(line, "agent %s running: %u source(s), %u channel(s), %u sink(s)", self->name,
                  self->sources->len, self->channels->len, self->sinks->len);
  if (self->down->len)
    g_string_append_printf(line, ", %u down (see /health or the log)", self->down->len);
  return g_string_free(line, FALSE);
}
