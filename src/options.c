/* options.c - declarative option tables: defaults, parsing and validation of configured values, help text.
 *
 * Each row describes one Flume key and the instance field it fills (by offset). Values are parsed the way
 * Flume's Context getters parse them (Long.parseLong, Boolean.parseBoolean), except that a boolean other
 * than true/false is an error instead of a silent false. A value that does not parse removes the component;
 * a value out of range removes it too or, for RELAY_OPTF_LENIENT rows, keeps the default; every problem is
 * reported with file:line, component and key, all rows are checked before giving up. Runs on the main thread
 * during configuration. */
#include "options.h"

#include "config.h"
#include "log.h"
#include "props.h"

#include <math.h>
#include <string.h>

static const char *const _type_names[] = { "int", "bool", "string", "enum", "double" };

static gpointer
_field(gpointer instance, const RelayOption *opt)
{
  return (char *)instance + opt->offset;
}

gboolean
relay_options_parse_int(const char *text, gint64 *out)
{
  const char *p = text;
  gboolean negative = *p == '-';
  guint64 limit = negative ? (guint64)G_MAXINT64 + 1 : (guint64)G_MAXINT64;
  guint64 value = 0;

  if (*p == '-' || *p == '+')
    p++;
  if (*p == '\0')
    return FALSE;
  for (; *p; p++)
    {
      if (!g_ascii_isdigit(*p))
        return FALSE;
      guint digit = *p - '0';
      if (value > (limit - digit) / 10)
        return FALSE;
      value = value * 10 + digit;
    }
  *out = negative ? (gint64)(0 - value) : (gint64)value;
  return TRUE;
}

static gboolean
_parse_bool(const char *text, gboolean *out)
{
  if (g_ascii_strcasecmp(text, "true") == 0)
    *out = TRUE;
  else if (g_ascii_strcasecmp(text, "false") == 0)
    *out = FALSE;
  else
    return FALSE;
  return TRUE;
}

static gboolean
_parse_enum(const char *text, const char *const *choices, int *out)
{
  for (int i = 0; choices && choices[i]; i++)
    if (g_ascii_strcasecmp(text, choices[i]) == 0)
      {
        *out = i;
        return TRUE;
      }
  return FALSE;
}

/* A finite number that uses the whole text. */
static gboolean
_parse_double(const char *text, double *out)
{
  char *end = NULL;
  double value;

  if (*text == '\0' || g_ascii_isspace(*text))
    return FALSE;
  value = g_ascii_strtod(text, &end);
  if (*end != '\0' || !isfinite(value))
    return FALSE;
  *out = value;
  return TRUE;
}

static char *
_choices_text(const char *const *choices, const char *separator)
{
  return choices ? g_strjoinv(separator, (char **)choices) : g_strdup("");
}

/* Parses text for row opt and stores it into the instance. Returns NULL on success, else a new message
 * describing the problem (the value is then not stored); *in_range_only is TRUE when the text parsed but the
 * value is out of range (the only problem a RELAY_OPTF_LENIENT row forgives). */
static char *
_parse_into(const RelayOption *opt, gpointer instance, const char *text, gboolean *in_range_only)
{
  gpointer field = _field(instance, opt);
  gint64 i64;

  *in_range_only = FALSE;
  switch (opt->type)
    {
    case RELAY_OPT_INT:
      if (!relay_options_parse_int(text, &i64))
        return g_strdup_printf("'%s' is not an integer", text);
      *in_range_only = TRUE;
      if (opt->min <= opt->max && (i64 < opt->min || i64 > opt->max))
        return g_strdup_printf("%s is out of range %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT, text, opt->min,
                               opt->max);
      *in_range_only = FALSE;
      *(gint64 *)field = i64;
      return NULL;
    case RELAY_OPT_BOOL:
      if (!_parse_bool(text, (gboolean *)field))
        return g_strdup_printf("'%s' is neither true nor false (Flume would silently read it as false)",
                               text);
      return NULL;
    case RELAY_OPT_STRING:
      if (text[0] == '\0' && !(opt->flags & RELAY_OPTF_EMPTY_OK))
        return g_strdup("empty value");
      g_free(*(char **)field);
      *(char **)field = g_strdup(text);
      return NULL;
    case RELAY_OPT_ENUM:
      if (!_parse_enum(text, opt->choices, (int *)field))
        {
          char *choices = _choices_text(opt->choices, ", ");
          char *msg = g_strdup_printf("'%s' is not one of: %s", text, choices);
          g_free(choices);
          return msg;
        }
      return NULL;
    case RELAY_OPT_DOUBLE:
      if (!_parse_double(text, (double *)field))
        return g_strdup_printf("'%s' is not a finite number", text);
      return NULL;
    }
  return g_strdup("unknown option type");
}

/* The field is assumed to hold nothing that needs freeing (a fresh instance). */
static void
_set_zero(const RelayOption *opt, gpointer instance)
{
  gpointer field = _field(instance, opt);

  switch (opt->type)
    {
    case RELAY_OPT_INT:
      *(gint64 *)field = 0;
      break;
    case RELAY_OPT_BOOL:
      *(gboolean *)field = FALSE;
      break;
    case RELAY_OPT_STRING:
      *(char **)field = NULL;
      break;
    case RELAY_OPT_ENUM:
      *(int *)field = 0;
      break;
    case RELAY_OPT_DOUBLE:
      *(double *)field = 0.0;
      break;
    }
}

static void
_set_default(const RelayOption *opt, gpointer instance)
{
  gboolean in_range_only;

  _set_zero(opt, instance);
  if (!opt->def)
    return;
  char *problem = _parse_into(opt, instance, opt->def, &in_range_only);
  if (problem)
    g_critical("option table: default of %s is invalid: %s", opt->key, problem);
  g_free(problem);
}

void
relay_options_set_defaults(const RelayOption *options, gpointer instance)
{
  for (const RelayOption *opt = options; opt && opt->key; opt++)
    _set_default(opt, instance);
}

/* The "[kind:type:name]" log prefix for a component configuration. */
static char *
_log_prefix(const RelayComponentConfig *cc)
{
  const char *type = relay_component_config_value(cc, "type");

  return g_strdup_printf("%s:%s:%s", relay_kind_name(cc->kind), type ? type : "-", cc->name);
}

/* The default as shown in messages and help. */
static const char *
_default_text(const RelayOption *opt)
{
  if (!opt->def)
    return "(none)";
  return opt->def[0] ? opt->def : "\"\"";
}

/* Applies one row; FALSE if the component must be removed. */
static gboolean
_apply_row(const RelayOption *opt, gpointer instance, const RelayComponentConfig *cc,
           RelayConfigReport *report)
{
  const RelayProp *prop = relay_component_config_get(cc, opt->key);

  if (!prop)
    {
      if (!(opt->flags & RELAY_OPTF_REQUIRED))
        return TRUE;
      relay_config_report_add(report, relay_component_config_where(cc), cc->label, opt->key,
                              "required key missing; %s %s removed", relay_kind_name(cc->kind), cc->name);
      return FALSE;
    }
  if (opt->flags & RELAY_OPTF_IGNORED)
    {
      char *prefix = _log_prefix(cc);
      relay_info(prefix, "%s is accepted and has no effect: %s", opt->key, opt->help ? opt->help : "");
      g_free(prefix);
      return TRUE;
    }
  gboolean in_range_only;
  char *problem = _parse_into(opt, instance, prop->value, &in_range_only);
  if (!problem)
    return TRUE;
  /* LENIENT forgives a value out of range (as Flume clamps some); a value that does not parse at all
   * removes the component, as the NumberFormatException of Flume's Context.getInteger/getLong would. */
  gboolean keep = (opt->flags & RELAY_OPTF_LENIENT) && in_range_only;
  if (keep)
    relay_config_report_add(report, prop, cc->label, opt->key, "%s; using default %s", problem,
                            _default_text(opt));
  else
    relay_config_report_add(report, prop, cc->label, opt->key, "%s; %s %s removed", problem,
                            relay_kind_name(cc->kind), cc->name);
  g_free(problem);
  return keep;
}

gboolean
relay_options_apply(const RelayOption *options, gpointer instance, const RelayComponentConfig *cc,
                    RelayConfigReport *report)
{
  gboolean ok = TRUE;

  for (const RelayOption *opt = options; opt && opt->key; opt++)
    ok = _apply_row(opt, instance, cc, report) && ok;
  return ok;
}

void
relay_options_free(const RelayOption *options, gpointer instance)
{
  for (const RelayOption *opt = options; opt && opt->key; opt++)
    if (opt->type == RELAY_OPT_STRING)
      {
        g_free(*(char **)_field(instance, opt));
        *(char **)_field(instance, opt) = NULL;
      }
}

const RelayOption *
relay_options_find(const RelayOption *options, const char *key)
{
  for (const RelayOption *opt = options; opt && opt->key; opt++)
    if (strcmp(opt->key, key) == 0)
      return opt;
  return NULL;
}

static void
_print_row(const RelayOption *opt, FILE *out)
{
  GString *line = g_string_new(NULL);

  g_string_append_printf(line, "  %s (%s", opt->key, _type_names[opt->type]);
  if (opt->type == RELAY_OPT_ENUM && opt->choices)
    {
      char *choices = _choices_text(opt->choices, "|");
      g_string_append_printf(line, " %s", choices);
      g_free(choices);
    }
  if (opt->flags & RELAY_OPTF_REQUIRED)
    g_string_append(line, ", required");
  if (opt->def)
    g_string_append_printf(line, ", default %s", _default_text(opt));
  if (opt->type == RELAY_OPT_INT && opt->min <= opt->max)
    g_string_append_printf(line, ", range %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT, opt->min, opt->max);
  if (opt->flags & RELAY_OPTF_IGNORED)
    g_string_append(line, ", no effect");
  g_string_append_printf(line, "): %s\n", opt->help ? opt->help : "");
  fputs(line->str, out);
  g_string_free(line, TRUE);
}

void
relay_options_print_help(const RelayOption *options, FILE *out)
{
  for (const RelayOption *opt = options; opt && opt->key; opt++)
    _print_row(opt, out);
}

char *
relay_options_type_text(const RelayOption *opt)
{
  if (opt->type == RELAY_OPT_ENUM && opt->choices)
    {
      char *choices = _choices_text(opt->choices, "|");
      char *text = g_strdup_printf("enum %s", choices);
      g_free(choices);
      return text;
    }
  return g_strdup(_type_names[opt->type]);
}

const char *
relay_options_default_text(const RelayOption *opt)
{
  return _default_text(opt);
}

char *
relay_options_range_text(const RelayOption *opt)
{
  if (opt->type != RELAY_OPT_INT || opt->min > opt->max)
    return NULL;
  return g_strdup_printf("%" G_GINT64_FORMAT "..%" G_GINT64_FORMAT, opt->min, opt->max);
}
