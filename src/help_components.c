/* help_components.c - the component reference, generated from the option tables so it cannot drift.
 *
 * `relayd --help-components [TYPE]` prints every source, channel, sink, sink processor, interceptor and
 * channel selector type (built in, and the plugins' with --plugins-path) with every key of its option table
 * (type, default, range, help); `--markdown` prints the same as the README's
 * "Component reference" section, which tests/integration/test_help_components.sh compares with the README.
 * Keys outside the tables that every component of a kind takes (channels, selector.*, interceptors.* for
 * sources, channel for sinks) are named once per kind. Runs before anything else in main(). */
#include "help_components.h"

#include "channel_processor.h"
#include "component.h"
#include "interceptor.h"
#include "registry.h"
#include "sink_processor.h"

#include <string.h>

/* One class of any kind, seen the same way. */
typedef RelayTypeHelp HelpClass;

typedef struct
{
  const char *title;  /* "Sources" */
  const char *plural; /* "sources": also accepted as TYPE */
  const char *common; /* keys outside the option tables, in Markdown */
  RelayKind kind;     /* RELAY_KIND_SINKGROUP: the sink processors */
  GArray *(*classes)(
      void); /* parts of a source (interceptors, selectors): their own lists, not the registry */
} HelpKind;

static const HelpKind _kinds[] = {
  { "Sources", "sources",
    "Every source also takes `type`, `channels` (required), `selector.type` with `selector.*` and "
    "`interceptors` with `interceptors.*` (see Configuration).",
    RELAY_KIND_SOURCE },
  { "Channels", "channels", "Every channel takes `type`.", RELAY_KIND_CHANNEL },
  { "Sinks", "sinks", "Every sink also takes `type` and `channel` (required).", RELAY_KIND_SINK },
  { "Sink processors", "sinkgroups",
    "Keys of a sink group (`NAME.sinkgroups.G.KEY`): `sinks` (required), `processor.type` and the keys "
    "below.",
    RELAY_KIND_SINKGROUP },
  { "Interceptors", "interceptors",
    "Keys of interceptor I of a source (`NAME.sources.S.interceptors.I.KEY`): `type` (required) and the keys "
    "below. A source runs its interceptors in the order of its `interceptors` list, before its selector.",
    RELAY_KIND_SOURCE, relay_interceptor_types_help },
  { "Channel selectors", "selectors",
    "Keys of a source's channel selector (`NAME.sources.S.selector.KEY`): `type` (default `replicating`) and "
    "the keys below.",
    RELAY_KIND_SOURCE, relay_selector_types_help },
};

/* The classes of a kind, in registry order. */
static GArray *
_classes_of(const HelpKind *help)
{
  RelayKind kind = help->kind;

  if (help->classes)
    return help->classes();
  GArray *out = g_array_new(FALSE, TRUE, sizeof(HelpClass));
  if (kind == RELAY_KIND_SINKGROUP)
    {
      for (const RelaySinkProcessorClass *const *p = relay_registry_all_processors(); *p; p++)
        {
          HelpClass c = { (*p)->type, (*p)->flume_class, NULL, (*p)->options };
          g_array_append_val(out, c);
        }
      return out;
    }
  for (const RelayComponentClass *const *k = relay_registry_all(); *k; k++)
    if ((*k)->kind == kind)
      {
        HelpClass c = { (*k)->type, (*k)->flume_class, (*k)->description, (*k)->options };
        g_array_append_val(out, c);
      }
  return out;
}

static gboolean
_class_matches(const HelpClass *c, const char *type)
{
  return g_ascii_strcasecmp(c->type, type) == 0 || (c->flume_class && strcmp(c->flume_class, type) == 0);
}

/* Markdown table cells: "|" would end the cell. */
static void
_md_cell(GString *out, const char *text)
{
  for (const char *p = text ? text : ""; *p; p++)
    {
      if (*p == '|')
        g_string_append_c(out, '\\');
      g_string_append_c(out, *p);
    }
}

/* ---- --man (issue 15): the same reference as roff for relayd.conf(5) ---- */
/* Appends text escaped for man(7): backslashes and hyphens escaped, Markdown's code quotes dropped, broken at
 * spaces into lines of at most 78 bytes (mandoc's style check), none starting with a control character. */
static void
_man_text(GString *out, const char *text)
{
  GString *esc = g_string_new(NULL);
  gsize line_start = 0, last_space = 0;

  for (const char *p = text ? text : ""; *p; p++)
    {
      if (esc->len == line_start && (*p == '.' || *p == '\''))
        g_string_append(esc, "\\&");
      if (*p == '\\')
        g_string_append(esc, "\\e");
      else if (*p == '-')
        g_string_append(esc, "\\-");
      else if (*p != '`')
        g_string_append_c(esc, *p);
      if (*p == ' ')
        last_space = esc->len - 1;
      if (esc->len - line_start > 78 && last_space > line_start)
        {
          esc->str[last_space] = '\n';
          line_start = last_space + 1;
          if (esc->str[line_start] == '.' || esc->str[line_start] == '\'')
            g_string_insert(esc, (gssize)line_start, "\\&");
        }
    }
  g_string_append_len(out, esc->str, (gssize)esc->len);
  g_string_free(esc, TRUE);
}

static void
_man_row(GString *out, const RelayOption *opt)
{
  char *type = relay_options_type_text(opt);
  char *range = relay_options_range_text(opt);
  gboolean required = (opt->flags & RELAY_OPTF_REQUIRED) && !opt->def;
  char *what = g_strdup_printf("(%s, %s%s%s%s)", type, required ? "required" : "default ",
                               required ? "" : relay_options_default_text(opt), range ? ", range " : "",
                               range ? range : "");
  char *help = g_strdup_printf("%s%s", opt->help ? opt->help : "",
                               (opt->flags & RELAY_OPTF_IGNORED) ? " (no effect)" : "");

  g_string_append(out, ".TP\n.B ");
  _man_text(out, opt->key);
  g_string_append_c(out, '\n');
  _man_text(out, what);
  g_string_append_c(out, '\n');
  _man_text(out, help);
  g_string_append_c(out, '\n');
  g_free(what);
  g_free(help);
  g_free(type);
  g_free(range);
}

static void
_man_class(GString *out, const HelpClass *c)
{
  g_string_append(out, ".SS \"");
  _man_text(out, c->type);
  if (c->flume_class)
    g_string_append_printf(out, " (%s)", c->flume_class);
  g_string_append(out, "\"\n");
  if (c->description)
    {
      _man_text(out, c->description);
      g_string_append(out, ".\n");
    }
  if (!c->options || !c->options->key)
    g_string_append(out, "No keys of its own.\n");
  for (const RelayOption *opt = c->options; opt && opt->key; opt++)
    _man_row(out, opt);
}

/* Every kind as a section: ".SH SOURCES", what all of them take, then one subsection per type. */
static void
_man_print(GString *out)
{
  for (gsize i = 0; i < G_N_ELEMENTS(_kinds); i++)
    {
      GArray *classes = _classes_of(&_kinds[i]);
      char *title = g_ascii_strup(_kinds[i].title, -1);
      g_string_append_printf(out, ".SH \"%s\"\n", title);
      _man_text(out, _kinds[i].common);
      g_string_append_c(out, '\n');
      for (guint j = 0; j < classes->len; j++)
        _man_class(out, &g_array_index(classes, HelpClass, j));
      g_free(title);
      g_array_unref(classes);
    }
}
/* ---- end of --man ---- */

static void
_print_row(GString *out, const RelayOption *opt, gboolean markdown)
{
  char *type = relay_options_type_text(opt);
  char *range = relay_options_range_text(opt);
  gboolean required = (opt->flags & RELAY_OPTF_REQUIRED) != 0;
  const char *def = required && !opt->def ? "required" : relay_options_default_text(opt);
  const char *ignored = (opt->flags & RELAY_OPTF_IGNORED) ? " (no effect)" : "";

  if (markdown)
    {
      g_string_append_printf(out, "| `%s` | ", opt->key);
      _md_cell(out, type);
      g_string_append(out, " | ");
      _md_cell(out, def);
      g_string_append_printf(out, " | %s | ", range ? range : "");
      _md_cell(out, opt->help);
      g_string_append_printf(out, "%s |\n", ignored);
    }
  else
    g_string_append_printf(out, "    %s (%s, %s%s%s%s): %s%s\n", opt->key, type,
                           required && !opt->def ? "" : "default ", def, range ? ", range " : "",
                           range ? range : "", opt->help ? opt->help : "", ignored);
  g_free(type);
  g_free(range);
}

static void
_print_class(GString *out, const HelpClass *c, gboolean markdown)
{
  if (markdown)
    {
      g_string_append_printf(out, "#### `%s`", c->type);
      if (c->flume_class)
        g_string_append_printf(out, " (`%s`)", c->flume_class);
      g_string_append(out, "\n\n");
      if (c->description)
        g_string_append_printf(out, "%s.\n\n", c->description);
      if (!c->options || !c->options->key)
        {
          g_string_append(out, "No keys of its own.\n\n");
          return;
        }
      g_string_append(out, "| key | type | default | range | meaning |\n|---|---|---|---|---|\n");
    }
  else
    {
      g_string_append_printf(out, "  %s", c->type);
      if (c->flume_class)
        g_string_append_printf(out, " (%s)", c->flume_class);
      g_string_append_printf(out, "%s%s\n", c->description ? ": " : "", c->description ? c->description : "");
      if (!c->options || !c->options->key)
        g_string_append(out, "    no keys of its own\n");
    }
  for (const RelayOption *opt = c->options; opt && opt->key; opt++)
    _print_row(out, opt, markdown);
  g_string_append(out, markdown ? "\n" : "");
}

/* Prints the classes of one kind that match type (NULL: all); returns how many. */
static guint
_print_kind(GString *out, const HelpKind *kind, const char *type, gboolean markdown)
{
  GArray *classes = _classes_of(kind);
  gboolean whole_kind = !type || g_ascii_strcasecmp(type, kind->plural) == 0;
  guint printed = 0;

  for (guint i = 0; i < classes->len; i++)
    {
      const HelpClass *c = &g_array_index(classes, HelpClass, i);
      if (!whole_kind && !_class_matches(c, type))
        continue;
      if (printed++ == 0)
        {
          if (markdown)
            g_string_append_printf(out, "### %s\n\n%s\n\n", kind->title, kind->common);
          else
            {
              char **parts
                  = g_strsplit(kind->common, "`", -1); /* Markdown's code quotes, not for a terminal */
              char *common = g_strjoinv("", parts);
              g_string_append_printf(out, "%s%s: %s\n", out->len ? "\n" : "", kind->plural, common);
              g_free(common);
              g_strfreev(parts);
            }
        }
      _print_class(out, c, markdown);
    }
  g_array_unref(classes);
  return printed;
}

gboolean
relay_help_components_print(FILE *out, const char *type, gboolean markdown)
{
  GString *text = g_string_new(NULL);
  guint printed = 0;

  for (gsize i = 0; i < G_N_ELEMENTS(_kinds); i++)
    printed += _print_kind(text, &_kinds[i], type, markdown);
  if (markdown && text->len && text->str[text->len - 1] == '\n' && text->str[text->len - 2] == '\n')
    g_string_truncate(text, text->len - 1); /* one newline at the end */
  fputs(text->str, out);
  g_string_free(text, TRUE);
  return printed > 0;
}

gboolean
relay_help_components_wanted(int argc, char **argv)
{
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--help-components") == 0)
      return TRUE;
  return FALSE;
}

/* "avro, memory, ..." : every alias, for the unknown-TYPE message. */
static char *
_known_types(void)
{
  GString *out = g_string_new(NULL);

  for (gsize i = 0; i < G_N_ELEMENTS(_kinds); i++)
    {
      GArray *classes = _classes_of(&_kinds[i]);
      g_string_append_printf(out, "%s%s:", i ? "; " : "", _kinds[i].plural);
      for (guint j = 0; j < classes->len; j++)
        g_string_append_printf(out, " %s", g_array_index(classes, HelpClass, j).type);
      g_array_unref(classes);
    }
  return g_string_free(out, FALSE);
}

int
relay_help_components_run(int argc, char **argv)
{
  const char *type = NULL;
  gboolean markdown = FALSE, man = FALSE;

  for (int i = 1; i < argc; i++)
    {
      if (strcmp(argv[i], "--help-components") == 0)
        continue;
      if (strcmp(argv[i], "--markdown") == 0)
        markdown = TRUE;
      else if (strcmp(argv[i], "--man") == 0) /* issue 15 */
        man = TRUE;
      else if (argv[i][0] != '-' && !type)
        type = argv[i];
      else
        {
          fprintf(stderr,
                  "relayd: unexpected argument '%s' (usage: relayd --help-components [TYPE] [--markdown | "
                  "--man])\n",
                  argv[i]);
          return 2;
        }
    }
  if (man && (type || markdown))
    {
      fprintf(stderr, "relayd: --man prints every type, as roff for relayd.conf(5); no TYPE or --markdown\n");
      return 2;
    }
  if (man)
    {
      GString *text = g_string_new(NULL);
      _man_print(text);
      fputs(text->str, stdout);
      g_string_free(text, TRUE);
      return 0;
    }
  if (!relay_help_components_print(stdout, type, markdown))
    {
      char *known = _known_types();
      fprintf(stderr, "relayd: unknown component type '%s'; known types: %s\n", type, known);
      g_free(known);
      return 2;
    }
  return 0;
}
