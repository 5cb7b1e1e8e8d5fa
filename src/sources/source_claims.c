/* source_claims.c - finding an earlier source of the same agent that claims the same path (see
 * source_claims.h). Thread: main. */
#include "source_claims.h"

#include "agent.h"
#include "props.h"

#include <string.h>

const char *
relay_source_claimed_by(const RelayComponent *self, const RelayComponentConfig *cc, RelaySourceClaimFn claim)
{
  const char *mine = claim(self);
  const char *owner = NULL;

  if (!self->agent || !cc->decl || !mine)
    return NULL;
  char **names = relay_config_split_list(cc->decl->value);
  for (guint i = 0; names && names[i] && !owner && strcmp(names[i], cc->name) != 0; i++)
    {
      RelayComponent *other = relay_agent_find(self->agent, RELAY_KIND_SOURCE, names[i]);
      const char *theirs = other && other != self && other->klass == self->klass ? claim(other) : NULL;
      if (theirs && strcmp(theirs, mine) == 0)
        owner = other->name;
    }
  g_strfreev(names);
  return owner;
}
