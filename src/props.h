/* props.h - Java properties-file parser (the syntax Flume's configuration files use).
 *
 * Implements java.util.Properties.load() syntax: '#' and '!' comment lines, key/value separated by '=', ':'
 * or whitespace, backslash line continuation (leading whitespace of the next line dropped), escapes
 * \t \n \r \f \uXXXX and \<any>, keys and values trimmed; duplicate keys: the last one wins.
 * Several files may be loaded into one RelayProps (later keys override, as Flume merges --conf-file).
 * Every entry remembers its file and line so later stages can name them in messages. */
#ifndef RELAY_PROPS_H_INCLUDED
#define RELAY_PROPS_H_INCLUDED

#include "relay.h"

struct _RelayProp
{
  char *key;
  char *value;      /* after escapes; after relay_props_resolve(), after ${...} substitution */
  const char *file; /* owned by the RelayProps (shared between entries of one file) */
  guint line;       /* line where the (logical) entry starts, 1-based */
};

RelayProps *relay_props_new(void);
void relay_props_free(RelayProps *self);

/* Loads a file. I/O errors (missing, unreadable) set error and return FALSE. Syntax problems that Flume
 * would silently ignore (key without value, malformed \u escape) are added to report, naming file:line. */
gboolean relay_props_load_file(RelayProps *self, const char *path, RelayConfigReport *report, GError **error);
/* Same, from a string; name is used as the file name in messages. */
void relay_props_load_string(RelayProps *self, const char *name, const char *text, RelayConfigReport *report);

/* Substitutes ${env:VAR} (environment), ${sys:NAME} (reported: unsupported, left as is) and ${key} (another
 * property) in every value. Unresolvable references are reported naming file:line and key and left as is. */
void relay_props_resolve(RelayProps *self, RelayConfigReport *report);

/* The entry for key, or NULL. Borrowed; valid until relay_props_free(). */
const RelayProp *relay_props_get(const RelayProps *self, const char *key);
/* All entries (one per distinct key, the winning one), in order of first appearance. Borrowed. */
const RelayProp *const *relay_props_entries(const RelayProps *self, guint *n_entries);
/* The entries whose key starts with "AGENT.", in the same order (indexed once for all agents; for an agent
 * name holding a dot, all entries: the caller filters by its prefix). Borrowed; valid until the next change.
 */
const RelayProp *const *relay_props_agent_entries(const RelayProps *self, const char *agent,
                                                  guint *n_entries);

/* ---- issue 17: entries built by a program (the embedded agent translates its properties) ----
 * Adds or overwrites key = value (copied; no escapes, empty values allowed) as if read at file:line. */
void relay_props_set(RelayProps *self, const char *file, guint line, const char *key, const char *value);
/* ---- end of issue 17 ---- */

#endif
