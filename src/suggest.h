/* suggest.h - "did you mean ...?" for configuration names: the closest known name by edit distance. */
#ifndef RELAY_SUGGEST_H_INCLUDED
#define RELAY_SUGGEST_H_INCLUDED

#include "relay.h"

/* Edit distance (with adjacent swaps) between a and b, ASCII case-insensitive; at most limit + 1 (the
 * computation stops early once every path is longer than limit). */
guint relay_suggest_distance(const char *a, const char *b, guint limit);
/* The candidate closest to word (candidates: any number of strings, NULL entries skipped), or NULL when
 * none is close enough to be a likely typo: distance at most 1 for words up to 4 characters, 2 up to 8, 3
 * beyond. Ties go to the first candidate. */
const char *relay_suggest_closest(const char *word, const char *const *candidates, guint n_candidates);

#endif
