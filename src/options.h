/* options.h - declarative option tables: one row per configuration key of a component class.
 *
 * A row names the Flume key, its type, default (as text, parsed like a configured value), range, the
 * offset of the field it fills in the instance struct, flags, and a help line. relay_options_apply() fills
 * an instance from a RelayComponentConfig and reports every bad value with file:line, component and key. */
#ifndef RELAY_OPTIONS_H_INCLUDED
#define RELAY_OPTIONS_H_INCLUDED

#include "relay.h"
#include <stdio.h>

typedef enum
{
  RELAY_OPT_INT,    /* gint64 field; decimal, optional sign */
  RELAY_OPT_BOOL,   /* gboolean field; "true"/"false" case-insensitive, as Java's Boolean.parseBoolean */
  RELAY_OPT_STRING, /* char* field, g_strdup'ed; freed by relay_options_free() */
  RELAY_OPT_ENUM,   /* int field: index into choices (matched case-insensitively) */
  RELAY_OPT_DOUBLE, /* double field */
} RelayOptionType;

typedef enum
{
  RELAY_OPTF_REQUIRED = 1 << 0, /* missing key -> component removed */
  RELAY_OPTF_LENIENT = 1 << 1,  /* out-of-range value -> warning and the default; a value that does not parse
                                 * still removes the component */
  RELAY_OPTF_IGNORED = 1 << 2,  /* accepted for compatibility, has no effect (help says why); noted at info */
  RELAY_OPTF_BATCH_SIZE = 1 << 3, /* value must be <= transactionCapacity of the connected channel(s) */
  RELAY_OPTF_EMPTY_OK = 1 << 4,   /* STRING may be empty */
} RelayOptionFlags;

typedef struct
{
  const char *key;
  RelayOptionType type;
  const char *def; /* default as text; NULL: field left zero/NULL */
  gint64 min, max; /* INT range (inclusive); ignored when min > max */
  gsize offset;    /* offsetof(InstanceStruct, field) */
  guint flags;
  const char *const *choices; /* ENUM: NULL-terminated */
  const char *help;
} RelayOption;

#define RELAY_OPTION_END                                                                                     \
  {                                                                                                          \
    NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL                                                                    \
  }

#define RELAY_OPT_INT_ROW(key, def, min, max, type, field, flags, help)                                      \
  {                                                                                                          \
    key, RELAY_OPT_INT, def, min, max, offsetof(type, field), flags, NULL, help                              \
  }
#define RELAY_OPT_BOOL_ROW(key, def, type, field, flags, help)                                               \
  {                                                                                                          \
    key, RELAY_OPT_BOOL, def, 1, 0, offsetof(type, field), flags, NULL, help                                 \
  }
#define RELAY_OPT_STRING_ROW(key, def, type, field, flags, help)                                             \
  {                                                                                                          \
    key, RELAY_OPT_STRING, def, 1, 0, offsetof(type, field), flags, NULL, help                               \
  }
#define RELAY_OPT_ENUM_ROW(key, def, choices, type, field, flags, help)                                      \
  {                                                                                                          \
    key, RELAY_OPT_ENUM, def, 1, 0, offsetof(type, field), flags, choices, help                              \
  }
#define RELAY_OPT_DOUBLE_ROW(key, def, type, field, flags, help)                                             \
  {                                                                                                          \
    key, RELAY_OPT_DOUBLE, def, 1, 0, offsetof(type, field), flags, NULL, help                               \
  }

/* A configurable type as --help-components shows it (help_components.c): a component class of the registry,
 * a sink processor, an interceptor type or a channel selector type. */
typedef struct
{
  const char *type, *flume_class, *description;
  const RelayOption *options;
} RelayTypeHelp;

/* Sets every field to its default. Called by relay_component_new(). */
void relay_options_set_defaults(const RelayOption *options, gpointer instance);
/* Applies the configured values. Returns FALSE if the component must be removed (missing required key, or
 * a bad value without RELAY_OPTF_LENIENT); every problem is added to report. Does not look at keys that
 * are not in the table (the agent reports unknown keys). */
gboolean relay_options_apply(const RelayOption *options, gpointer instance, const RelayComponentConfig *cc,
                             RelayConfigReport *report);
/* Frees STRING fields. */
void relay_options_free(const RelayOption *options, gpointer instance);
/* The row for key, or NULL. */
const RelayOption *relay_options_find(const RelayOption *options, const char *key);
/* Parses one INT value as the table would; FALSE on syntax error. Exposed for tests. */
gboolean relay_options_parse_int(const char *text, gint64 *out);
/* Prints "  key (type, default X, range a..b): help" lines. */
void relay_options_print_help(const RelayOption *options, FILE *out);
/* Pieces of a row's help for --help-components (help_components.c): "int", "enum none|deflate"; the default
 * as text ("(none)" when there is none); "a..b" for INT rows with a range, else NULL. Strings to g_free. */
char *relay_options_type_text(const RelayOption *opt);
const char *relay_options_default_text(const RelayOption *opt);
char *relay_options_range_text(const RelayOption *opt);

#endif
