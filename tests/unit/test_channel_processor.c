/* test_channel_processor.c - unit tests for the source-side put path: selectors (replicating, multiplexing,
 * load_balancing) with Flume's rules, one transaction per channel and batch, FULL handling, interceptors
 * before selection, and submit(): waiting for room on the event loop, keep-alive expiry and cancel.
 *
 * Uses real memory channels; a copy of the memory class with a counting begin() checks the number of
 * transactions. Threads: the waiting tests drain a channel from a second thread, as a sink runner does. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "channel.h"
#include "channel_processor.h"
#include "config.h"
#include "event.h"
#include "props.h"
#include "source.h"

#include <event2/thread.h>

extern const RelayComponentClass relay_channel_memory_class;

/* ---- a memory channel that counts transactions ---- */

static RelayChannelOps counting_ops;
static RelayComponentClass counting_class;
static gint begins;

static RelayTxn *
_counting_begin(RelayChannel *channel)
{
  g_atomic_int_inc(&begins);
  return ((const RelayChannelOps *)relay_channel_memory_class.ops)->begin(channel);
}

static void
_init_counting_class(void)
{
  counting_ops = *(const RelayChannelOps *)relay_channel_memory_class.ops;
  counting_ops.begin = _counting_begin;
  counting_class = relay_channel_memory_class;
  counting_class.ops = &counting_ops;
}

/* ---- fixture ---- */

typedef struct
{
  struct event_base *base;
  RelaySource source;
  GHashTable *channels; /* name -> RelayChannel* (owned) */
  RelayProps *props;
  RelayAgentConfig *cfg;
  RelayConfigReport *report;
  RelayChannelProcessor *cp;
  /* submit results */
  gint done_calls;
  RelayPutResult done_result;
  gint64 done_at_us;
} Fixture;

static void
_channel_free(gpointer channel)
{
  relay_component_free(channel);
}

static int
_setup(void **state)
{
  Fixture *f = g_new0(Fixture, 1);

  f->base = event_base_new();
  f->source.super.name = g_strdup("r1");
  f->source.super.log_prefix = g_strdup("source:test:r1");
  f->source.base = f->base;
  f->channels = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, _channel_free);
  f->props = relay_props_new();
  f->report = relay_config_report_new();
  begins = 0;
  *state = f;
  return 0;
}

static int
_teardown(void **state)
{
  Fixture *f = *state;

  relay_channel_processor_free(f->cp);
  g_hash_table_unref(f->channels);
  if (f->cfg)
    relay_agent_config_free(f->cfg);
  relay_config_report_free(f->report);
  relay_props_free(f->props);
  event_base_free(f->base);
  g_free(f->source.super.name);
  g_free(f->source.super.log_prefix);
  g_free(f);
  return 0;
}

/* A started memory channel (counting begins) named name. */
static RelayChannel *
_channel(Fixture *f, const char *name, const char *capacity, const char *txn_capacity, const char *keep_alive)
{
  RelayComponent *channel = relay_component_new(&counting_class, name);
  const char *kv[]
      = { "capacity", capacity, "transactionCapacity", txn_capacity, "keep-alive", keep_alive, NULL };

  assert_true(relay_component_configure_kv(channel, kv));
  assert_true(relay_component_start(channel, NULL));
  g_hash_table_insert(f->channels, channel->name, channel);
  return RELAY_CHANNEL(channel);
}

static RelayChannel *
_ch(Fixture *f, const char *name)
{
  return g_hash_table_lookup(f->channels, name);
}

/* Configures the processor of source r1 from lines of "<sub-key> = <value>". */
static gboolean
_configure(Fixture *f, const char *lines)
{
  GString *text = g_string_new("a.sources = r1\na.sources.r1.type = seq\na.channels = c1 c2 c3\n"
                               "a.channels.c1.type = memory\na.channels.c2.type = memory\n"
                               "a.channels.c3.type = memory\n");
  char **split = g_strsplit(lines, "\n", -1);

  for (guint i = 0; split[i]; i++)
    if (split[i][0])
      g_string_append_printf(text, "a.sources.r1.%s\n", split[i]);
  g_strfreev(split);
  relay_props_load_string(f->props, "test.conf", text->str, f->report);
  g_string_free(text, TRUE);
  f->cfg = relay_agent_config_new(f->props, "a", f->report);
  assert_non_null(f->cfg);
  const RelayComponentConfig *cc = relay_agent_config_find(f->cfg, RELAY_KIND_SOURCE, "r1");
  assert_non_null(cc);
  f->cp = relay_channel_processor_new(&f->source, NULL); /* as the agent: the loop comes from the source */
  return relay_channel_processor_configure(f->cp, cc, f->channels, f->report);
}

static gboolean
_reported(Fixture *f, const char *needle)
{
  for (guint i = 0; i < f->report->lines->len; i++)
    if (strstr(g_ptr_array_index(f->report->lines, i), needle))
      return TRUE;
  for (guint i = 0; i < f->report->lines->len; i++)
    print_message("report: %s\n", (const char *)g_ptr_array_index(f->report->lines, i));
  return FALSE;
}

/* A batch: "body" or "body:header=value" items separated by spaces (header "state" if no '='). */
static GPtrArray *
_batch(const char *spec)
{
  GPtrArray *events = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  char **items = g_strsplit(spec, " ", -1);

  for (guint i = 0; items[i]; i++)
    {
      char *colon = strchr(items[i], ':');
      if (colon)
        *colon = '\0';
      RelayEvent *ev = colon ? relay_event_new_simple(items[i], "state", colon + 1, NULL)
                             : relay_event_new_simple(items[i], NULL);
      g_ptr_array_add(events, ev);
    }
  g_strfreev(items);
  return events;
}

/* Takes and commits everything in channel; returns the bodies joined with ','. */
static char *
_drain(RelayChannel *channel)
{
  GString *out = g_string_new("");
  RelayEvent *taken[16];
  guint n;

  do
    {
      RelayTxn *txn = relay_channel_begin(channel);
      n = relay_txn_take(txn, taken, G_N_ELEMENTS(taken));
      for (guint i = 0; i < n; i++)
        g_string_append_printf(out, "%s%s", out->len ? "," : "", (const char *)taken[i]->body);
      assert_int_equal(relay_txn_commit(txn), RELAY_CHANNEL_OK);
      relay_txn_close(txn);
    }
  while (n > 0);
  return g_string_free(out, FALSE);
}

#define assert_drained(f, name, expected)                                                                    \
  do                                                                                                         \
    {                                                                                                        \
      char *_got = _drain(_ch(f, name));                                                                     \
      assert_string_equal(_got, expected);                                                                   \
      g_free(_got);                                                                                          \
    }                                                                                                        \
  while (0)

/* Puts events straight into a channel (not through the processor). */
static void
_fill(Fixture *f, const char *name, const char *spec)
{
  GPtrArray *events = _batch(spec);
  RelayTxn *txn = relay_channel_begin(_ch(f, name));

  for (guint i = 0; i < events->len; i++)
    assert_int_equal(relay_txn_put(txn, g_ptr_array_index(events, i)), RELAY_CHANNEL_OK);
  assert_int_equal(relay_txn_commit(txn), RELAY_CHANNEL_OK);
  relay_txn_close(txn);
  g_ptr_array_unref(events);
}

static RelayPutResult
_put(Fixture *f, const char *spec)
{
  GPtrArray *events = _batch(spec);
  RelayPutResult result = relay_channel_processor_put(f->cp, events);

  g_ptr_array_unref(events);
  return result;
}

/* ---- configuration ---- */

static void
test_result_names(void **state)
{
  (void)state;
  assert_string_equal(relay_put_result_name(RELAY_PUT_OK), "OK");
  assert_string_equal(relay_put_result_name(RELAY_PUT_FULL), "FULL");
  assert_string_equal(relay_put_result_name(RELAY_PUT_ERROR), "ERROR");
  assert_string_equal(relay_put_result_name(7), "?");
}

static void
test_knows_key(void **state)
{
  (void)state;
  assert_true(relay_channel_processor_knows_key("channels"));
  assert_true(relay_channel_processor_knows_key("selector.type"));
  assert_true(relay_channel_processor_knows_key("selector.mapping.CA"));
  assert_true(relay_channel_processor_knows_key("selector.optional.CA"));
  assert_true(relay_channel_processor_knows_key("interceptors.i1.type"));
  assert_false(relay_channel_processor_knows_key("selector.bogus"));
  assert_false(relay_channel_processor_knows_key("port"));
}

static void
test_unknown_channels_dropped(void **state)
{
  Fixture *f = *state;

  _channel(f, "c1", "10", "10", "0");
  assert_true(_configure(f, "channels = c9 c1 c1"));
  assert_true(_reported(f, "sources.r1: channels: unknown or removed channel c9 dropped"));
  GPtrArray *channels = relay_channel_processor_channels(f->cp);
  assert_int_equal(channels->len, 1);
  assert_ptr_equal(g_ptr_array_index(channels, 0), _ch(f, "c1"));
}

static void
test_no_channel_left(void **state)
{
  Fixture *f = *state;

  _channel(f, "c1", "10", "10", "0");
  assert_false(_configure(f, "channels = c8 c9"));
  assert_true(_reported(f, "no channel left; source r1 removed"));
}

static void
test_selector_channel_not_listed(void **state)
{
  Fixture *f = *state;

  _channel(f, "c1", "10", "10", "0");
  _channel(f, "c2", "10", "10", "0");
  assert_false(_configure(f, "channels = c1 c7\nselector.type = multiplexing\nselector.mapping.CA = c2\n"
                             "selector.default = c7"));
  assert_true(
      _reported(f, "selector.mapping.CA: channel c2 is not in the source's channels list; source r1"));
  assert_true(_reported(f, "selector.default: channel c7 was dropped (unknown or removed)"));
}

static void
test_selector_type_errors(void **state)
{
  Fixture *f = *state;

  _channel(f, "c1", "10", "10", "0");
  assert_false(_configure(f, "channels = c1\nselector.type = fanout\nselector.header = h"));
  assert_true(_reported(
      f,
      "unknown selector type fanout (known: replicating, multiplexing, load_balancing); source r1 removed"));
}

static void
test_flume_class_name_and_foreign_keys(void **state)
{
  Fixture *f = *state;

  _channel(f, "c1", "10", "10", "0");
  assert_true(
      _configure(f, "channels = c1\nselector.type = org.apache.flume.channel.ReplicatingChannelSelector\n"
                    "selector.header = h"));
  assert_true(_reported(f, "selector.header: not used by selector type replicating, ignored"));
  assert_int_equal(relay_config_report_count(f->report), 1);
}

static void
test_interceptor_error_drops_source(void **state)
{
  Fixture *f = *state;

  _channel(f, "c1", "10", "10", "0");
  assert_false(_configure(f, "channels = c1\ninterceptors = i1\ninterceptors.i1.type = nope"));
  assert_true(_reported(f, "unknown interceptor type nope"));
}

/* ---- routing and transactions ---- */

static void
test_replicating_one_transaction_per_channel(void **state)
{
  Fixture *f = *state;

  _channel(f, "c1", "10", "10", "0");
  _channel(f, "c2", "10", "10", "0");
  assert_true(_configure(f, "channels = c1 c2"));
  assert_int_equal(_put(f, "a b c"), RELAY_PUT_OK);
  assert_int_equal(begins, 2);
  assert_drained(f, "c1", "a,b,c");
  assert_drained(f, "c2", "a,b,c");
}

static void
test_replicating_optional(void **state)
{
  Fixture *f = *state;

  _channel(f, "c1", "10", "10", "0");
  _channel(f, "c2", "10", "10", "0");
  _channel(f, "c3", "1", "1", "0"); /* too small: its failure is ignored */
  assert_true(_configure(f, "channels = c1 c2 c3\nselector.type = REPLICATING\nselector.optional = c3"));
  assert_int_equal(_put(f, "a b"), RELAY_PUT_OK);
  assert_int_equal(begins, 3);
  assert_int_equal(f->source.counters.channel_write_fail, 0);
  assert_drained(f, "c1", "a,b");
  assert_drained(f, "c2", "a,b");
  assert_drained(f, "c3", "");
  assert_int_equal(_put(f, "c"), RELAY_PUT_OK);
  assert_drained(f, "c3", "c");
}

static void
test_multiplexing(void **state)
{
  Fixture *f = *state;

  _channel(f, "c1", "10", "10", "0");
  _channel(f, "c2", "10", "10", "0");
  _channel(f, "c3", "10", "10", "0");
  assert_true(_configure(f, "channels = c1 c2 c3\nselector.type = multiplexing\nselector.header = state\n"
                            "selector.mapping.CA = c1\nselector.mapping.NY = c2 c3\nselector.default = c3\n"
                            "selector.optional.CA = c1 c2\nselector.optional.TX = c3 c2"));
  GPtrArray *events = _batch("ca:CA ny:NY none blank tx:TX az:AZ lower:ca");
  g_ptr_array_index(events, 3) = relay_event_with_header(g_ptr_array_index(events, 3), "state", " \t");
  assert_int_equal(relay_channel_processor_put(f->cp, events), RELAY_PUT_OK);
  g_ptr_array_unref(events);
  /* Required: c1 {ca}, c2 {ny}, c3 {ny none blank tx az lower}; optional: c2 {ca tx} (CA's optional c1 and
   * TX's optional c3 are required for those values, so Flume removes them). */
  assert_int_equal(begins, 4);
  assert_drained(f, "c1", "ca");
  assert_drained(f, "c2", "ny,ca,tx");
  assert_drained(f, "c3", "ny,none,blank,tx,az,lower");
}

static void
test_multiplexing_uniform_batch(void **state)
{
  Fixture *f = *state;

  _channel(f, "c1", "10", "10", "0");
  _channel(f, "c2", "10", "10", "0");
  assert_true(_configure(f, "channels = c1 c2\nselector.type = multiplexing\nselector.header = state\n"
                            "selector.mapping.A = c2\nselector.default = c1"));
  assert_int_equal(_put(f, "x:A y:A"), RELAY_PUT_OK);
  assert_int_equal(_put(f, "z"), RELAY_PUT_OK);
  assert_int_equal(begins, 2);
  assert_drained(f, "c1", "z");
  assert_drained(f, "c2", "x,y");
}

static void
test_multiplexing_without_default_drops(void **state)
{
  Fixture *f = *state;

  _channel(f, "c1", "10", "10", "0");
  assert_true(_configure(f, "channels = c1\nselector.type = multiplexing\nselector.mapping.A = c1"));
  /* default header name flume.selector.header: "state" is not looked at */
  assert_int_equal(_put(f, "x:A"), RELAY_PUT_OK);
  assert_int_equal(begins, 0);
  GPtrArray *events = g_ptr_array_new_with_free_func(relay_event_unref_notify);
  g_ptr_array_add(events, relay_event_new_simple("y", "flume.selector.header", "A", NULL));
  assert_int_equal(relay_channel_processor_put(f->cp, events), RELAY_PUT_OK);
  g_ptr_array_unref(events);
  assert_drained(f, "c1", "y");
}

static void
test_load_balancing_round_robin(void **state)
{
  Fixture *f = *state;

  _channel(f, "c1", "10", "10", "0");
  _channel(f, "c2", "10", "10", "0");
  assert_true(_configure(f, "channels = c1 c2\nselector.type = load_balancing"));
  assert_int_equal(_put(f, "a b c d e"), RELAY_PUT_OK);
  assert_int_equal(begins, 2);
  assert_drained(f, "c1", "a,c,e");
  assert_drained(f, "c2", "b,d");
}

static void
test_interceptors_run_before_selection(void **state)
{
  Fixture *f = *state;

  _channel(f, "c1", "10", "10", "0");
  _channel(f, "c2", "10", "10", "0");
  assert_true(
      _configure(f, "channels = c1 c2\nselector.type = multiplexing\nselector.header = state\n"
                    "selector.mapping.B = c2\nselector.default = c1\n"
                    "interceptors = f s\ninterceptors.f.type = regex_filter\ninterceptors.f.regex = ^k\n"
                    "interceptors.s.type = static\ninterceptors.s.key = state\ninterceptors.s.value = B"));
  assert_int_equal(_put(f, "k1:A drop k2"), RELAY_PUT_OK);
  assert_drained(f, "c1", "k1"); /* static keeps an existing header by default */
  assert_drained(f, "c2", "k2");
}

static void
test_full_required_keeps_committed(void **state)
{
  Fixture *f = *state;

  _channel(f, "c1", "10", "10", "0");
  _channel(f, "c2", "4", "4", "0");
  _channel(f, "c3", "10", "10", "0");
  _fill(f, "c2", "p q");
  assert_true(_configure(f, "channels = c1 c2 c3"));
  begins = 0;
  assert_int_equal(_put(f, "a b c"), RELAY_PUT_FULL);
  assert_int_equal(begins, 2); /* stopped at c2 */
  assert_int_equal(f->source.counters.channel_write_fail, 1);
  assert_drained(f, "c1", "a,b,c");
  assert_drained(f, "c2", "p,q");
  assert_drained(f, "c3", "");
}

static void
test_transaction_capacity(void **state)
{
  Fixture *f = *state;

  _channel(f, "c1", "10", "2", "5");
  assert_true(_configure(f, "channels = c1"));
  assert_int_equal(_put(f, "a b c"), RELAY_PUT_FULL);
  assert_drained(f, "c1", "");
}

static void
test_empty_after_filter(void **state)
{
  Fixture *f = *state;

  _channel(f, "c1", "10", "10", "0");
  assert_true(_configure(f, "channels = c1\ninterceptors = f\ninterceptors.f.type = regex_filter\n"
                            "interceptors.f.regex = nothing"));
  assert_int_equal(_put(f, "a b"), RELAY_PUT_OK);
  assert_int_equal(begins, 0);
}

/* ---- submit ---- */

static void
_on_done(RelayPutResult result, gpointer user_data)
{
  Fixture *f = user_data;

  f->done_calls++;
  f->done_result = result;
  f->done_at_us = g_get_monotonic_time();
}

static void
_on_guard(evutil_socket_t fd, short what, void *arg)
{
  (void)fd;
  (void)what;
  event_base_loopbreak(arg);
}

/* Runs the loop until done was called or timeout_ms passed. */
static void
_run_until_done(Fixture *f, guint timeout_ms)
{
  struct event *guard = evtimer_new(f->base, _on_guard, f->base);
  struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

  evtimer_add(guard, &tv);
  while (f->done_calls == 0 && event_base_loop(f->base, EVLOOP_ONCE) == 0
         && event_base_got_break(f->base) == 0)
    ;
  event_free(guard);
}

typedef struct
{
  RelayChannel *channel;
  guint delay_ms;
  guint take;
} Consumer;

/* Runs in: the consumer thread, as a sink runner. */
static gpointer
_consume(gpointer data)
{
  Consumer *c = data;
  RelayEvent *taken[8];

  g_usleep(c->delay_ms * 1000);
  RelayTxn *txn = relay_channel_begin(c->channel);
  guint n = relay_txn_take(txn, taken, c->take);
  relay_txn_commit(txn);
  relay_txn_close(txn);
  return GUINT_TO_POINTER(n);
}

static void
test_submit_immediate(void **state)
{
  Fixture *f = *state;

  _channel(f, "c1", "10", "10", "1");
  assert_true(_configure(f, "channels = c1"));
  assert_null(relay_channel_processor_submit(f->cp, _batch("a b"), _on_done, f));
  assert_int_equal(f->done_calls, 1);
  assert_int_equal(f->done_result, RELAY_PUT_OK);
  assert_drained(f, "c1", "a,b");
}

static void
test_submit_full_without_keep_alive(void **state)
{
  Fixture *f = *state;

  _channel(f, "c1", "2", "2", "0");
  _fill(f, "c1", "p");
  assert_true(_configure(f, "channels = c1"));
  assert_null(relay_channel_processor_submit(f->cp, _batch("a b"), _on_done, f));
  assert_int_equal(f->done_calls, 1);
  assert_int_equal(f->done_result, RELAY_PUT_FULL);
  assert_int_equal(f->source.counters.channel_write_fail, 1);
}

static void
test_submit_waits_for_consumer(void **state)
{
  Fixture *f = *state;

  _channel(f, "c1", "10", "10", "2");
  _channel(f, "c2", "3", "3", "2");
  _fill(f, "c2", "p q r"); /* full */
  assert_true(_configure(f, "channels = c1 c2"));

  RelayPutRequest *req = relay_channel_processor_submit(f->cp, _batch("a b"), _on_done, f);
  assert_non_null(req);
  assert_int_equal(f->done_calls, 0);
  Consumer consumer = { _ch(f, "c2"), 30, 2 };
  GThread *thread = g_thread_new("consumer", _consume, &consumer);
  _run_until_done(f, 5000);
  assert_int_equal(GPOINTER_TO_UINT(g_thread_join(thread)), 2);
  assert_int_equal(f->done_calls, 1);
  assert_int_equal(f->done_result, RELAY_PUT_OK);
  assert_int_equal(f->source.counters.channel_write_fail, 0);
  assert_drained(f, "c1", "a,b"); /* committed once, not again on the retry */
  assert_drained(f, "c2", "r,a,b");
}

/* After room appeared in c1 the request waits on c2 with c2's own keep-alive; each channel gets the batch
 * once. */
static void
test_submit_moves_between_channels(void **state)
{
  Fixture *f = *state;

  _channel(f, "c1", "1", "1", "2");
  _channel(f, "c2", "1", "1", "2");
  _fill(f, "c1", "p");
  _fill(f, "c2", "q");
  assert_true(_configure(f, "channels = c1 c2"));
  assert_non_null(relay_channel_processor_submit(f->cp, _batch("a"), _on_done, f));
  Consumer first = { _ch(f, "c1"), 20, 1 }, second = { _ch(f, "c2"), 150, 1 };
  GThread *t1 = g_thread_new("consumer1", _consume, &first);
  GThread *t2 = g_thread_new("consumer2", _consume, &second);
  _run_until_done(f, 5000);
  g_thread_join(t1);
  g_thread_join(t2);
  assert_int_equal(f->done_calls, 1);
  assert_int_equal(f->done_result, RELAY_PUT_OK);
  assert_drained(f, "c1", "a");
  assert_drained(f, "c2", "a");
}

/* Two requests waiting on one channel are served oldest first by one wake-up. */
static void
test_submit_waiters_in_order(void **state)
{
  Fixture *f = *state;

  _channel(f, "c1", "2", "2", "2");
  _fill(f, "c1", "p q");
  assert_true(_configure(f, "channels = c1"));
  assert_non_null(relay_channel_processor_submit(f->cp, _batch("a"), _on_done, f));
  assert_non_null(relay_channel_processor_submit(f->cp, _batch("b"), _on_done, f));
  Consumer consumer = { _ch(f, "c1"), 0, 2 };
  g_thread_join(g_thread_new("consumer", _consume, &consumer));
  while (f->done_calls < 2 && event_base_loop(f->base, EVLOOP_ONCE) == 0)
    ;
  assert_int_equal(f->done_result, RELAY_PUT_OK);
  assert_drained(f, "c1", "a,b");
}

/* The SPACE notification wakes the request at once, well before the 100 ms fallback timer. */
static void
test_submit_woken_by_notification(void **state)
{
  Fixture *f = *state;

  _channel(f, "c1", "1", "1", "5");
  _fill(f, "c1", "p");
  assert_true(_configure(f, "channels = c1"));
  gint64 start = g_get_monotonic_time();
  assert_non_null(relay_channel_processor_submit(f->cp, _batch("a"), _on_done, f));
  Consumer consumer = { _ch(f, "c1"), 0, 1 };
  g_thread_join(g_thread_new("consumer", _consume, &consumer));
  event_base_loop(f->base, EVLOOP_NONBLOCK);
  if (g_get_monotonic_time() - start < 90 * 1000) /* otherwise the fallback timer may have run too */
    {
      assert_int_equal(f->done_calls, 1);
      assert_int_equal(f->done_result, RELAY_PUT_OK);
    }
  _run_until_done(f, 2000);
  assert_int_equal(f->done_calls, 1);
  assert_drained(f, "c1", "a");
}

static void
test_submit_keep_alive_expires(void **state)
{
  Fixture *f = *state;

  _channel(f, "c1", "10", "10", "1");
  _channel(f, "c2", "2", "2", "1");
  _fill(f, "c2", "p");
  assert_true(_configure(f, "channels = c1 c2"));
  gint64 start = g_get_monotonic_time();
  assert_non_null(relay_channel_processor_submit(f->cp, _batch("a b"), _on_done, f));
  _run_until_done(f, 5000);
  assert_int_equal(f->done_calls, 1);
  assert_int_equal(f->done_result, RELAY_PUT_FULL);
  gint64 waited_ms = (f->done_at_us - start) / 1000;
  assert_true(waited_ms >= 1000 && waited_ms < 2000);
  assert_int_equal(f->source.counters.channel_write_fail, 1);
  assert_drained(f, "c1", "a,b"); /* committed before c2 was found full: stays */
  assert_drained(f, "c2", "p");
}

static void
test_submit_cancel(void **state)
{
  Fixture *f = *state;

  _channel(f, "c1", "1", "1", "1");
  _fill(f, "c1", "p");
  assert_true(_configure(f, "channels = c1"));
  RelayPutRequest *req = relay_channel_processor_submit(f->cp, _batch("a"), _on_done, f);
  assert_non_null(req);
  relay_put_request_cancel(req);
  assert_drained(f, "c1", "p"); /* room again: a cancelled request must not be retried */
  struct timeval tv = { 0, 150 * 1000 };
  event_base_loopexit(f->base, &tv);
  event_base_dispatch(f->base);
  assert_int_equal(f->done_calls, 0);
  assert_drained(f, "c1", "");
}

/* A request still pending when the processor is freed is released without calling done. */
static void
test_free_with_pending_request(void **state)
{
  Fixture *f = *state;

  _channel(f, "c1", "1", "1", "5");
  _fill(f, "c1", "p");
  assert_true(_configure(f, "channels = c1"));
  assert_non_null(relay_channel_processor_submit(f->cp, _batch("a"), _on_done, f));
  assert_non_null(relay_channel_processor_submit(f->cp, _batch("b"), _on_done, f));
  relay_channel_processor_free(f->cp);
  f->cp = NULL;
  assert_int_equal(f->done_calls, 0);
  assert_drained(f, "c1", "p");
}

#define T(name) cmocka_unit_test_setup_teardown(name, _setup, _teardown)

int
main(void)
{
  evthread_use_pthreads();
  _init_counting_class();
  const struct CMUnitTest tests[] = {
    T(test_result_names),
    T(test_knows_key),
    T(test_unknown_channels_dropped),
    T(test_no_channel_left),
    T(test_selector_channel_not_listed),
    T(test_selector_type_errors),
    T(test_flume_class_name_and_foreign_keys),
    T(test_interceptor_error_drops_source),
    T(test_replicating_one_transaction_per_channel),
    T(test_replicating_optional),
    T(test_multiplexing),
    T(test_multiplexing_uniform_batch),
    T(test_multiplexing_without_default_drops),
    T(test_load_balancing_round_robin),
    T(test_interceptors_run_before_selection),
    T(test_full_required_keeps_committed),
    T(test_transaction_capacity),
    T(test_empty_after_filter),
    T(test_submit_immediate),
    T(test_submit_full_without_keep_alive),
    T(test_submit_waits_for_consumer),
    T(test_submit_moves_between_channels),
    T(test_submit_waiters_in_order),
    T(test_submit_woken_by_notification),
    T(test_submit_keep_alive_expires),
    T(test_submit_cancel),
    T(test_free_with_pending_request),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
