/* test_event.c - unit tests for RelayEvent: single-block layout, header lookup, copy-on-modify, refcounts,
 * arenas. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>

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

/* Events of an arena: right content, aligned, several per block, freed in any order before or after the
 * arena (AddressSanitizer checks that every block is freed once, and not while an event uses it). */
static void
test_arena_events(void **state)
{
  RelayEventArena *arena = relay_event_arena_new();
  RelayEvent *events[1000];
  char body[100], value[16];
  memset(body, 'b', sizeof body);

  for (guint i = 0; i < G_N_ELEMENTS(events); i++)
    {
      g_snprintf(value, sizeof value, "%u", i);
      RelayHeader h = { "seq", value, 3, (guint32)strlen(value) };
      events[i] = relay_event_arena_build(arena, &h, 1, body, sizeof body);
      assert_int_equal((guintptr)events[i] % 8, 0);
      assert_true(events[i]->alloc_size >= sizeof(RelayEvent) + sizeof(RelayHeader) + sizeof body);
    }
  assert_non_null(events[0]->block);
  assert_ptr_equal(events[0]->block, events[1]->block);
  assert_ptr_not_equal(events[0]->block, events[G_N_ELEMENTS(events) - 1]->block);
  for (guint i = 0; i < G_N_ELEMENTS(events); i += 2) /* every other event, while the arena lives */
    relay_event_unref(events[i]);
  relay_event_arena_free(arena);
  for (guint i = 1; i < G_N_ELEMENTS(events); i += 2)
    {
      g_snprintf(value, sizeof value, "%u", i);
      assert_string_equal(relay_event_get_header(events[i], "seq"), value);
      assert_memory_equal(events[i]->body, body, sizeof body);
      assert_int_equal(events[i]->body[sizeof body], '\0');
      relay_event_unref(events[i]);
    }
}

/* An event larger than a quarter block gets its own allocation. */
static void
test_arena_large_event(void **state)
{
  RelayEventArena *arena = relay_event_arena_new();
  gsize len = RELAY_EVENT_ARENA_BLOCK / 2;
  char *body = g_malloc0(len);
  RelayEvent *small = relay_event_arena_build(arena, NULL, 0, "x", 1);
  RelayEvent *large = relay_event_arena_build(arena, NULL, 0, body, len);

  assert_non_null(small->block);
  assert_null(large->block);
  assert_int_equal(large->body_len, len);
  relay_event_arena_free(arena);
  relay_event_unref(large);
  relay_event_unref(small);
  g_free(body);
}

/* The events travel through a pipe rather than a GAsyncQueue: GLib's mutexes are futexes ThreadSanitizer
 * does not see, while it does see a pipe's write -> read order. */
static gpointer
_unref_thread(gpointer fds)
{
  RelayEvent *ev;

  while (read(((int *)fds)[0], &ev, sizeof ev) == (ssize_t)sizeof ev && ev)
    relay_event_unref(ev);
  return NULL;
}

/* Another thread frees the events while the arena builds more in the same blocks (the source and a sink). */
static void
test_arena_other_thread_frees(void **state)
{
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  GThread *thread = g_thread_new("unref", _unref_thread, fds);
  RelayEventArena *arena = relay_event_arena_new();
  RelayEvent *end = NULL;

  for (guint i = 0; i < 20000; i++)
    {
      RelayEvent *ev = relay_event_arena_build(arena, NULL, 0, "a line of text", 14);
      assert_int_equal(write(fds[1], &ev, sizeof ev), sizeof ev);
    }
  relay_event_arena_free(arena);
  assert_int_equal(write(fds[1], &end, sizeof end), sizeof end);
  g_thread_join(thread);
  close(fds[0]);
  close(fds[1]);
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
    cmocka_unit_test(test_arena_events),
    cmocka_unit_test(test_arena_large_event),
    cmocka_unit_test(test_arena_other_thread_frees),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
