/* fuzz_taildir_position.c - libFuzzer target: the TAILDIR source's position file (src/sources/
 * taildir_position.c), Flume's JSON array of {"inode":N,"pos":N,"file":"..."} objects, with the input as
 * the file's text (left behind by Flume, by an older relayd, cut by a crash, or edited by hand).
 *
 * Checked: every entry kept has a position >= 0 and a non-empty file; kept and skipped entries together are
 * no more than the objects in the text; and parse -> write (as source_taildir.c writes the file) -> parse
 * gives the same entries with none skipped, and writing those again gives the same text. */
#include "fuzz_common.h"

#include "taildir.h"

/* The position file source_taildir.c would write for entries. */
static GString *
_format(const GArray *entries)
{
  GString *json = g_string_new("[");

  for (guint i = 0; i < entries->len; i++)
    {
      const RelayTaildirPos *e = &g_array_index(entries, RelayTaildirPos, i);
      if (i > 0)
        g_string_append_c(json, ',');
      relay_taildir_pos_format_entry(json, e->inode, e->pos, e->file);
    }
  g_string_append_c(json, ']');
  return json;
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  guint skipped = 0, objects = 0;
  GError *error = NULL;

  fuzz_init_once();
  char *text = (char *)fuzz_dup_exact(data, size);
  GArray *entries = relay_taildir_pos_parse(text, size, &skipped, &error);
  FUZZ_CHECK((entries == NULL) == (error != NULL));
  g_clear_error(&error);
  free(text);
  if (!entries)
    return 0;
  for (gsize i = 0; i < size; i++)
    objects += data[i] == '{';
  FUZZ_CHECK(entries->len + skipped <= objects);
  for (guint i = 0; i < entries->len; i++)
    {
      const RelayTaildirPos *e = &g_array_index(entries, RelayTaildirPos, i);
      FUZZ_CHECK(e->pos >= 0 && e->file && e->file[0] != '\0');
    }

  GString *written = _format(entries);
  GArray *again = relay_taildir_pos_parse(written->str, written->len, &skipped, &error);
  FUZZ_CHECK(again && skipped == 0 && again->len == entries->len);
  for (guint i = 0; i < entries->len; i++)
    {
      const RelayTaildirPos *a = &g_array_index(entries, RelayTaildirPos, i);
      const RelayTaildirPos *b = &g_array_index(again, RelayTaildirPos, i);
      FUZZ_CHECK(a->inode == b->inode && a->pos == b->pos && strcmp(a->file, b->file) == 0);
    }
  GString *rewritten = _format(again);
  FUZZ_CHECK(g_string_equal(written, rewritten));
  g_string_free(rewritten, TRUE);
  g_string_free(written, TRUE);
  relay_taildir_pos_array_free(again);
  relay_taildir_pos_array_free(entries);
  return 0;
}
