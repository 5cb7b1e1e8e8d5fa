/* test_help_components.c - unit tests of the component reference (src/help_components.c).
 *
 * The reference is generated from the registry's option tables; these tests walk the same tables and check
 * that every class and every key is in both renderings, that a TYPE selects what it names, and that Markdown
 * table cells keep their columns. */
#include "component.h"
#include "help_components.h"
#include "registry.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

/* The reference for type (NULL: all) as a new string; *found gets the print function's result. */
static char *
_render(const char *type, gboolean markdown, gboolean *found)
{
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);

  *found = relay_help_components_print(out, type, markdown);
  fclose(out);
  return text;
}

static void
test_every_key_of_every_class(void **state)
{
  gboolean found;
  char *md = _render(NULL, TRUE, &found);
  char *text = _render(NULL, FALSE, &found);

  assert_true(found);
  for (const RelayComponentClass *const *k = relay_registry_all(); *k; k++)
    {
      char *heading = g_strdup_printf("#### `%s` (`%s`)", (*k)->type, (*k)->flume_class);
      assert_non_null(strstr(md, heading));
      g_free(heading);
      for (const RelayOption *opt = (*k)->options; opt && opt->key; opt++)
        {
          char *cell = g_strdup_printf("| `%s` |", opt->key);
          char *line = g_strdup_printf("    %s (", opt->key);
          assert_non_null(strstr(md, cell));
          assert_non_null(strstr(text, line));
          g_free(cell);
          g_free(line);
        }
    }
  for (const RelaySinkProcessorClass *const *p = relay_registry_all_processors(); *p; p++)
    for (const RelayOption *opt = (*p)->options; opt && opt->key; opt++)
      {
        char *cell = g_strdup_printf("| `%s` |", opt->key);
        assert_non_null(strstr(md, cell));
        g_free(cell);
      }
  free(md);
  free(text);
}

static void
test_type_selects(void **state)
{
  gboolean found;
  char *text = _render("memory", FALSE, &found);

  assert_true(found);
  assert_non_null(strstr(text, "capacity (int, default 100, range 1..2147483647)"));
  assert_null(strstr(text, "netcat"));
  free(text);

  text = _render("org.apache.flume.sink.AvroSink", FALSE, &found); /* Flume's class name: the sink only */
  assert_true(found);
  assert_non_null(strstr(text, "hostname (string, required)"));
  assert_null(strstr(text, "sources:"));
  free(text);

  text = _render("sinkgroups", FALSE, &found);
  assert_true(found);
  assert_non_null(strstr(text, "processor.maxpenalty (int, default 30000"));
  assert_null(strstr(text, "memory"));
  free(text);

  text = _render("nosuch", FALSE, &found);
  assert_false(found);
  free(text);
}

static void
test_markdown_cells_escape_pipes(void **state)
{
  gboolean found;
  char *md = _render("avro", TRUE, &found);

  assert_true(found);
  /* an enum's choices are written with "|": escaped, so the row keeps its five columns */
  assert_non_null(strstr(md, "| `transport` | enum netty\\|http | netty |  | "));
  free(md);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_every_key_of_every_class),
    cmocka_unit_test(test_type_selects),
    cmocka_unit_test(test_markdown_cells_escape_pipes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
