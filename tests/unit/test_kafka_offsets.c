/* test_kafka_offsets.c - unit tests of the Kafka channel's offset tracking (src/channels/kafka_offsets.c).
 *
 * A commit never moves a partition's offset past a record that another open transaction holds, whichever
 * transaction commits first; rolled-back records are taken again first, in their order, and hold the offset
 * back until committed; a record skipped at read (undecodable) is committed with its run; partitions are
 * independent; a revoked partition drops its records from the retry list, yields no commit for the records
 * transactions still held, and starts afresh when assigned again. */
#include "kafka_offsets.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

static guint _freed;

static void
_free_item(gpointer item)
{
  (void)item;
  _freed++;
}

/* A transaction: the records it holds. */
typedef struct
{
  GArray *takes; /* KafkaTaken */
} Txn;

static Txn
_txn(void)
{
  return (Txn){ g_array_new(FALSE, FALSE, sizeof(KafkaTaken)) };
}

/* One consumer read of records first..last of partition into t (item = the offset + 1). */
static void
_read(KafkaOffsets *o, Txn *t, gint32 partition, gint64 first, gint64 last)
{
  KafkaRun *run = NULL;

  for (gint64 off = first; off <= last; off++)
    {
      run = kafka_offsets_read(o, run, partition, off);
      kafka_offsets_hold(run);
      KafkaTaken taken = { GSIZE_TO_POINTER((gsize)off + 1), run };
      g_array_append_val(t->takes, taken);
    }
}

/* Commits t: returns the offset to commit for partition, or -1 when none. */
static gint64
_commit(Txn *t, gint32 partition)
{
  gint64 result = -1;

  for (guint i = 0; i < t->takes->len; i++)
    {
      gint32 p;
      gint64 off;
      if (kafka_offsets_done(g_array_index(t->takes, KafkaTaken, i).run, &p, &off) && p == partition)
        result = off;
    }
  g_array_set_size(t->takes, 0);
  return result;
}

static void
_rollback(KafkaOffsets *o, Txn *t)
{
  kafka_offsets_rollback(o, (const KafkaTaken *)t->takes->data, t->takes->len);
  g_array_set_size(t->takes, 0);
}

static void
_txn_free(Txn *t)
{
  g_array_free(t->takes, TRUE);
}

static void
test_later_commit_waits(void **state)
{
  KafkaOffsets *o = kafka_offsets_new(_free_item);
  Txn a = _txn(), b = _txn();

  _read(o, &a, 0, 0, 9);
  _read(o, &b, 0, 10, 19);
  assert_int_equal(_commit(&b, 0), -1); /* a still holds 0..9 */
  assert_int_equal(_commit(&a, 0), 20); /* both done: past b's records too */
  _read(o, &a, 0, 20, 24);
  assert_int_equal(_commit(&a, 0), 25);
  _txn_free(&a);
  _txn_free(&b);
  kafka_offsets_free(o);
}

static void
test_rollback_first_and_holds(void **state)
{
  KafkaOffsets *o = kafka_offsets_new(_free_item);
  Txn a = _txn(), b = _txn(), c = _txn(), d = _txn();

  _read(o, &a, 3, 0, 4);
  _read(o, &b, 3, 5, 9);
  _rollback(o, &b);
  _rollback(o, &a); /* the older rollback's records go first */
  assert_int_equal(kafka_offsets_retry_len(o), 10);
  _read(o, &d, 3, 10, 11);
  assert_int_equal(_commit(&d, 3), -1); /* the retry list holds 0..9 */
  assert_int_equal(kafka_offsets_retry_take(o, c.takes, 7), 7);
  for (guint i = 0; i < 7; i++)
    assert_int_equal(GPOINTER_TO_SIZE(g_array_index(c.takes, KafkaTaken, i).item), i + 1);
  assert_int_equal(_commit(&c, 3), 5); /* 0..4 done; 5, 6 too but 7..9 still wait */
  assert_int_equal(kafka_offsets_retry_take(o, c.takes, 100), 3);
  assert_int_equal(GPOINTER_TO_SIZE(g_array_index(c.takes, KafkaTaken, 0).item), 8);
  assert_int_equal(_commit(&c, 3), 12);
  assert_int_equal(kafka_offsets_retry_len(o), 0);
  _txn_free(&a);
  _txn_free(&b);
  _txn_free(&c);
  _txn_free(&d);
  kafka_offsets_free(o);
}

static void
test_skipped_record_committed_with_run(void **state)
{
  KafkaOffsets *o = kafka_offsets_new(_free_item);
  Txn a = _txn();
  KafkaRun *run = kafka_offsets_read(o, NULL, 1, 0);

  kafka_offsets_hold(run);
  KafkaTaken taken = { GSIZE_TO_POINTER(1), run };
  g_array_append_val(a.takes, taken);
  assert_ptr_equal(kafka_offsets_read(o, run, 1, 1), run); /* skipped: read, not held */
  assert_int_equal(_commit(&a, 1), 2);
  _txn_free(&a);
  kafka_offsets_free(o);
}

static void
test_gap_and_partitions(void **state)
{
  KafkaOffsets *o = kafka_offsets_new(_free_item);
  Txn a = _txn(), b = _txn();

  _read(o, &a, 0, 0, 4);
  _read(o, &b, 1, 0, 2);
  assert_int_equal(_commit(&b, 1), 3); /* partition 1 does not wait for partition 0 */
  _read(o, &b, 0, 100, 101);           /* offsets jump (compacted or deleted records): a new run */
  assert_int_equal(_commit(&b, 0), -1);
  assert_int_equal(_commit(&a, 0), 102);
  _txn_free(&a);
  _txn_free(&b);
  kafka_offsets_free(o);
}

static void
test_revoke(void **state)
{
  KafkaOffsets *o = kafka_offsets_new(_free_item);
  Txn a = _txn(), b = _txn(), c = _txn();

  _freed = 0;
  _read(o, &a, 2, 0, 4);
  _read(o, &b, 2, 5, 9);
  _rollback(o, &b);
  _read(o, &c, 5, 0, 1);
  _rollback(o, &c);
  kafka_offsets_revoke(o, 2);
  assert_int_equal(_freed, 5);                     /* partition 2's retry records dropped */
  assert_int_equal(kafka_offsets_retry_len(o), 2); /* partition 5's stay */
  /* assigned again: reading resumes at the committed offset, with fresh runs */
  _read(o, &b, 2, 0, 1);
  assert_int_equal(_commit(&b, 2), 2);
  assert_int_equal(_commit(&a, 2), -1); /* a held records of the revoked assignment: no commit */
  assert_int_equal(kafka_offsets_retry_take(o, c.takes, 10), 2);
  assert_int_equal(_commit(&c, 5), 2);
  kafka_offsets_revoke(o, 7); /* never assigned: nothing */
  _txn_free(&a);
  _txn_free(&b);
  _txn_free(&c);
  kafka_offsets_free(o);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_later_commit_waits),
    cmocka_unit_test(test_rollback_first_and_holds),
    cmocka_unit_test(test_skipped_record_committed_with_run),
    cmocka_unit_test(test_gap_and_partitions),
    cmocka_unit_test(test_revoke),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
