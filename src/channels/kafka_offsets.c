/* kafka_offsets.c - the Kafka channel's offset tracking (issue 18). See kafka_offsets.h. */
#include "kafka_offsets.h"

typedef struct _KafkaPart KafkaPart;

struct _KafkaRun
{
  KafkaPart *part;
  gint64 end; /* offset after the run's last record */
  guint pending;
};

/* One assigned partition, or a revoked one still referenced by held records. */
struct _KafkaPart
{
  gint32 partition;
  gboolean revoked;
  GQueue runs; /* KafkaRun*, head = oldest */
  gint64 committed;
};

struct _KafkaOffsets
{
  GHashTable *parts; /* partition -> KafkaPart* (assigned, not revoked) */
  GArray *retry;     /* KafkaTaken */
  GDestroyNotify free_item;
};

static void
_part_free(KafkaPart *part)
{
  g_queue_clear_full(&part->runs, g_free);
  g_free(part);
}

KafkaOffsets *
kafka_offsets_new(GDestroyNotify free_item)
{
  KafkaOffsets *o = g_new0(KafkaOffsets, 1);

  o->parts = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)_part_free);
  o->retry = g_array_new(FALSE, FALSE, sizeof(KafkaTaken));
  o->free_item = free_item;
  return o;
}

/* Only when no transaction holds records any more (the channel stopped): revoked parts are gone. */
void
kafka_offsets_free(KafkaOffsets *o)
{
  if (!o)
    return;
  for (guint i = 0; i < o->retry->len; i++)
    o->free_item(g_array_index(o->retry, KafkaTaken, i).item);
  g_array_free(o->retry, TRUE);
  g_hash_table_destroy(o->parts);
  g_free(o);
}

static KafkaPart *
_part(KafkaOffsets *o, gint32 partition)
{
  KafkaPart *part = g_hash_table_lookup(o->parts, GINT_TO_POINTER(partition));

  if (part)
    return part;
  part = g_new0(KafkaPart, 1);
  part->partition = partition;
  part->committed = -1;
  g_queue_init(&part->runs);
  g_hash_table_insert(o->parts, GINT_TO_POINTER(partition), part);
  return part;
}

KafkaRun *
kafka_offsets_read(KafkaOffsets *o, KafkaRun *prev, gint32 partition, gint64 offset)
{
  KafkaPart *part = _part(o, partition);
  KafkaRun *run = prev;

  if (!run || run->part != part || run->end != offset)
    {
      run = g_new0(KafkaRun, 1);
      run->part = part;
      g_queue_push_tail(&part->runs, run);
    }
  run->end = offset + 1;
  return run;
}

void
kafka_offsets_hold(KafkaRun *run)
{
  run->pending++;
}

/* Pops the finished runs at the head; returns the offset after the last one popped, or -1. A revoked
 * partition whose last run finished is freed. */
static gint64
_part_advance(KafkaPart *part)
{
  gint64 pos = -1;

  for (KafkaRun *run; (run = g_queue_peek_head(&part->runs)) && run->pending == 0;)
    {
      pos = run->end;
      g_free(g_queue_pop_head(&part->runs));
    }
  if (part->revoked && g_queue_is_empty(&part->runs))
    {
      _part_free(part);
      return -1;
    }
  return pos;
}

gboolean
kafka_offsets_done(KafkaRun *run, gint32 *partition, gint64 *offset)
{
  KafkaPart *part = run->part;
  gboolean revoked = part->revoked;

  g_assert(run->pending > 0);
  *partition = part->partition;
  run->pending--;
  gint64 pos = _part_advance(part); /* may free a revoked part (and run) */
  if (revoked || pos < 0 || pos <= part->committed)
    return FALSE;
  part->committed = pos;
  *offset = pos;
  return TRUE;
}

void
kafka_offsets_rollback(KafkaOffsets *o, const KafkaTaken *takes, guint n)
{
  g_array_prepend_vals(o->retry, takes, n);
}

guint
kafka_offsets_retry_take(KafkaOffsets *o, GArray *takes, guint max)
{
  guint n = MIN(max, o->retry->len);

  g_array_append_vals(takes, o->retry->data, n);
  g_array_remove_range(o->retry, 0, n);
  return n;
}

guint
kafka_offsets_retry_len(const KafkaOffsets *o)
{
  return o->retry->len;
}

void
kafka_offsets_revoke(KafkaOffsets *o, gint32 partition)
{
  KafkaPart *part = g_hash_table_lookup(o->parts, GINT_TO_POINTER(partition));
  guint kept = 0;

  if (!part)
    return;
  g_hash_table_steal(o->parts, GINT_TO_POINTER(partition));
  part->revoked = TRUE;
  for (guint i = 0; i < o->retry->len; i++)
    {
      KafkaTaken *t = &g_array_index(o->retry, KafkaTaken, i);
      if (t->run->part != part)
        {
          g_array_index(o->retry, KafkaTaken, kept++) = *t;
          continue;
        }
      o->free_item(t->item);
      t->run->pending--;
    }
  g_array_set_size(o->retry, kept);
  _part_advance(part); /* frees it unless open transactions still hold its records */
}
