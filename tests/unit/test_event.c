/* test_event.c - unit tests for RelayEvent: single-block layout, header lookup, copy-on-modify, refcounts. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "event.h"

static void
test_new_copies_slices(void **state)
{
  char key[] = { 'h', 'o', 's', 't', 'X' }; /* not NUL-terminated: only key_len bytes count */
  char value[] = { 'h', '1', 'Y' };
  RelayHeader h = { key, value, 4, 2 };
  char body[] = "hi there";
  RelayEvent *ev = relay_event_new(&h, 1, body, 2);

  key[0] = 'Z';
  body[0] = 'Z';
  assert_int_equal(ev->n_headers, 1);
  assert_string_equal(ev->headers[0].key, "host");
  assert_string_equal(ev->headers[0].value, "h1");
  assert_int_equal(ev->body_len, 2);
  assert_memory_equal(ev->body, "hi", 2);
  assert_int_equal(ev->body[2], '\0');
  assert_true(ev->alloc_size >= sizeof(RelayEvent) + 2 + 5 + 3);
  relay_event_unref(ev);
}

static void
test_get_header(void **state)
{
  RelayEvent *ev = relay_event_new_simple("body", "a", "1", "b", "", NULL);

  assert_string_equal(relay_event_get_header(ev, "a"), "1");
  assert_string_equal(relay_event_get_header(ev, "b"), "");
  assert_null(relay_event_get_header(ev, "c"));
  relay_event_unref(ev);
}

static void
test_with_header_replaces_and_appends(void **state)
{
  RelayEvent *ev = relay_event_new_simple("x", "a", "1", NULL);

  ev = relay_event_with_header(ev, "a", "2");
  assert_int_equal(ev->n_headers, 1);
  assert_string_equal(relay_event_get_header(ev, "a"), "2");
  ev = relay_event_with_header(ev, "b", "3");
  assert_int_equal(ev->n_headers, 2);
  assert_string_equal(relay_event_get_header(ev, "b"), "3");
  assert_memory_equal(ev->body, "x", 1);
  relay_event_unref(ev);
}

static void
test_without_header(void **state)
{
  RelayEvent *ev = relay_event_new_simple("x", "a", "1", "b", "2", NULL);
  RelayEvent *same = relay_event_without_header(ev, "zz");

  assert_ptr_equal(same, ev);
  ev = relay_event_without_header(ev, "a");
  assert_int_equal(ev->n_headers, 1);
  assert_null(relay_event_get_header(ev, "a"));
  assert_string_equal(relay_event_get_header(ev, "b"), "2");
  relay_event_unref(ev);
}

static void
test_refcount(void **state)
{
  RelayEvent *ev = relay_event_new(NULL, 0, "", 0);

  assert_int_equal(ev->body_len, 0);
  relay_event_ref(ev);
  assert_int_equal(ev->refcount, 2);
  relay_event_unref(ev);
  assert_int_equal(ev->refcount, 1);
  relay_event_unref(ev); /* freed: AddressSanitizer checks there is no leak and no double free */
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_new_copies_slices),
    cmocka_unit_test(test_get_header),
    cmocka_unit_test(test_with_header_replaces_and_appends),
    cmocka_unit_test(test_without_header),
    cmocka_unit_test(test_refcount),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
