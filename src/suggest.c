/* suggest.c - the closest known name to a misspelt one, for "did you mean ...?" in configuration messages.
 *
 * Edit distance with adjacent transpositions (optimal string alignment: insert, delete, substitute, swap two
 * neighbours, each 1) over bytes with ASCII case folded, so "batchsize" is next to "batchSize" and "prot"
 * next to "port". Names are short (keys, types): three rows of at most 64 + 1 entries; longer names are not
 * compared. Pure functions, any thread. */
#include "suggest.h"

#include <string.h>

#define SUGGEST_MAX_LEN 64

static gboolean
_same(char a, char b)
{
  return g_ascii_tolower(a) == g_ascii_tolower(b);
}

guint
relay_suggest_distance(const char *a, const char *b, guint limit)
{
  gsize la = strlen(a), lb = strlen(b);
  guint rows[3][SUGGEST_MAX_LEN + 1];
  guint *before = rows[0], *prev = rows[1], *cur = rows[2];

  if (la > SUGGEST_MAX_LEN || lb > SUGGEST_MAX_LEN)
    return limit + 1;
  if ((la > lb ? la - lb : lb - la) > limit)
    return limit + 1;
  for (gsize j = 0; j <= lb; j++)
    prev[j] = (guint)j;
  for (gsize i = 1; i <= la; i++)
    {
      guint best = cur[0] = (guint)i;
      for (gsize j = 1; j <= lb; j++)
        {
          guint cost = _same(a[i - 1], b[j - 1]) ? 0 : 1;
          cur[j] = MIN(MIN(prev[j] + 1, cur[j - 1] + 1), prev[j - 1] + cost);
          if (i > 1 && j > 1 && _same(a[i - 1], b[j - 2]) && _same(a[i - 2], b[j - 1]))
            cur[j] = MIN(cur[j], before[j - 2] + 1); /* two neighbours swapped: "prot" for "port" */
          best = MIN(best, cur[j]);
        }
      if (best > limit)
        return limit + 1;
      guint *spare = before;
      before = prev;
      prev = cur;
      cur = spare;
    }
  return MIN(prev[lb], limit + 1);
}

const char *
relay_suggest_closest(const char *word, const char *const *candidates, guint n_candidates)
{
  gsize len = strlen(word);
  guint limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
  const char *best = NULL;
  guint best_distance = limit + 1;

  for (guint i = 0; i < n_candidates; i++)
    {
      if (!candidates[i] || strcmp(candidates[i], word) == 0)
        continue;
      guint d = relay_suggest_distance(word, candidates[i], limit);
      if (d < best_distance)
        {
          best = candidates[i];
          best_distance = d;
        }
    }
  return best;
}
