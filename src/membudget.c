/* membudget.c - the agent's global memory budget (see membudget.h): two atomics and the key's parser. */
#include "membudget.h"

#include "options.h"
#include "props.h"

#include <string.h>

static gint64 _limit; /* set at start and by a reload (main thread); read by every thread */
static gint64 _used;

void
relay_membudget_set_limit(gint64 limit)
{
  __atomic_store_n(&_limit, MAX(limit, 0), __ATOMIC_RELAXED);
}

gint64
relay_membudget_limit(void)
{
  return __atomic_load_n(&_limit, __ATOMIC_RELAXED);
}

gint64
relay_membudget_used(void)
{
  return __atomic_load_n(&_used, __ATOMIC_RELAXED);
}

void
relay_membudget_add(gint64 n)
{
  __atomic_add_fetch(&_used, n, __ATOMIC_RELAXED);
}

gboolean
relay_membudget_try_add(gint64 n)
{
  gint64 limit = relay_membudget_limit();

  if (limit == 0)
    {
      relay_membudget_add(n);
      return TRUE;
    }
  gint64 used = __atomic_load_n(&_used, __ATOMIC_RELAXED);
  do
    {
      if (used + n > limit)
        return FALSE;
    }
  while (!__atomic_compare_exchange_n(&_used, &used, used + n, TRUE, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
  return TRUE;
}

gboolean
relay_membudget_exhausted(void)
{
  gint64 limit = relay_membudget_limit();

  return limit > 0 && relay_membudget_used() >= limit;
}

gboolean
relay_membudget_parse_size(const char *text, gint64 *out)
{
  char *digits = g_strstrip(g_strdup(text ? text : ""));
  gsize len = strlen(digits);
  gint64 mult = 1, n;

  if (len > 0)
    switch (g_ascii_tolower(digits[len - 1]))
      {
      case 'k':
        mult = 1024;
        break;
      case 'm':
        mult = 1024 * 1024;
        break;
      case 'g':
        mult = 1024 * 1024 * 1024;
        break;
      }
  if (mult > 1)
    digits[len - 1] = '\0';
  gboolean ok = relay_options_parse_int(digits, &n) && n >= 0 && n <= G_MAXINT64 / mult;
  g_free(digits);
  if (ok)
    *out = n * mult;
  return ok;
}

gint64
relay_membudget_read_props(const GPtrArray *entries, RelayConfigReport *report)
{
  gint64 limit = 0, parsed;

  for (guint i = 0; entries && i < entries->len; i++)
    {
      const RelayProp *prop = g_ptr_array_index(entries, i);
      const char *key = strstr(prop->key, ".memory.") + strlen(".memory.");
      if (strcmp(key, "limit") != 0)
        relay_config_report_add(report, prop, "memory", key, "unknown key (limit is); ignored");
      else if (!relay_membudget_parse_size(prop->value, &parsed))
        relay_config_report_add(report, prop, "memory", key,
                                "'%s' is not a size in bytes (a number, optionally with k, m or g); ignored",
                                prop->value);
      else
        limit = parsed;
    }
  return limit;
}

void
relay_membudget_apply_props(const GPtrArray *entries, RelayConfigReport *report)
{
  relay_membudget_set_limit(relay_membudget_read_props(entries, report));
}
