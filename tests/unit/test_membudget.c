/* test_membudget.c - unit tests of the agent's memory budget (src/membudget.c): the size parser, charging
 * under a limit and without one, and charges from several threads at once. */
#include "membudget.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

static void
test_parse_size(void **state)
{
  gint64 n = -1;

  assert_true(relay_membudget_parse_size("0", &n));
  assert_int_equal(n, 0);
  assert_true(relay_membudget_parse_size("1234", &n));
  assert_int_equal(n, 1234);
  assert_true(relay_membudget_parse_size("4k", &n));
  assert_int_equal(n, 4096);
  assert_true(relay_membudget_parse_size(" 512M ", &n));
  assert_int_equal(n, 512 * 1024 * 1024);
  assert_true(relay_membudget_parse_size("2g", &n));
  assert_int_equal(n, G_GINT64_CONSTANT(2147483648));
  n = 7;
  assert_false(relay_membudget_parse_size("", &n));
  assert_false(relay_membudget_parse_size("k", &n));
  assert_false(relay_membudget_parse_size("-1", &n));
  assert_false(relay_membudget_parse_size("12x", &n));
  assert_false(relay_membudget_parse_size("lots", &n));
  assert_false(relay_membudget_parse_size("99999999999999999g", &n));
  assert_int_equal(n, 7);
}

static void
test_limit(void **state)
{
  relay_membudget_set_limit(1000);
  assert_false(relay_membudget_exhausted());
  assert_true(relay_membudget_try_add(600));
  assert_false(relay_membudget_try_add(401)); /* would pass the limit: nothing charged */
  assert_int_equal(relay_membudget_used(), 600);
  assert_true(relay_membudget_try_add(400));
  assert_true(relay_membudget_exhausted());
  relay_membudget_add(50); /* memory already held is counted whatever the limit */
  assert_int_equal(relay_membudget_used(), 1050);
  relay_membudget_add(-1050);
  assert_false(relay_membudget_exhausted());
  relay_membudget_set_limit(0); /* unlimited: counted, never refused */
  assert_true(relay_membudget_try_add(G_GINT64_CONSTANT(1) << 40));
  assert_false(relay_membudget_exhausted());
  relay_membudget_add(-(G_GINT64_CONSTANT(1) << 40));
  assert_int_equal(relay_membudget_used(), 0);
}

static gpointer
_charge_release(gpointer arg)
{
  for (int i = 0; i < 100000; i++)
    if (relay_membudget_try_add(3))
      relay_membudget_add(-3);
  return NULL;
}

static void
test_threads(void **state)
{
  GThread *t[4];

  relay_membudget_set_limit(10);
  for (int i = 0; i < 4; i++)
    t[i] = g_thread_new("charge", _charge_release, NULL);
  for (int i = 0; i < 4; i++)
    g_thread_join(t[i]);
  assert_int_equal(relay_membudget_used(), 0);
  relay_membudget_set_limit(0);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_parse_size),
    cmocka_unit_test(test_limit),
    cmocka_unit_test(test_threads),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
