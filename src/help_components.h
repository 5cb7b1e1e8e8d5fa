/* help_components.h - `relayd --help-components [TYPE] [--markdown]`: every component type and its keys. */
#ifndef RELAY_HELP_COMPONENTS_H_INCLUDED
#define RELAY_HELP_COMPONENTS_H_INCLUDED

#include "relay.h"
#include <stdio.h>

/* TRUE when argv holds --help-components (main() then hands the command line over). */
gboolean relay_help_components_wanted(int argc, char **argv);
/* Parses "--help-components [TYPE] [--markdown]", prints to stdout; returns the exit status (2: usage or an
 * unknown TYPE, named on stderr with the known ones). */
int relay_help_components_run(int argc, char **argv);
/* Prints the reference: every kind, class and option row (TYPE: only classes whose alias or Flume class is
 * TYPE, or the kind TYPE names, e.g. "sinks"). FALSE if TYPE matched nothing. */
gboolean relay_help_components_print(FILE *out, const char *type, gboolean markdown);

#endif
