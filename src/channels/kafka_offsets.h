/* kafka_offsets.h - the Kafka channel's offset tracking: which offset of each partition may be committed
 * while several take transactions hold records of the same partitions (issue 18).
 *
 * Each consumer read records, per partition, one run (KafkaRun: the offset after its last record and how
 * many of its records transactions still hold). Runs queue per partition in offset order; the offset to
 * commit is the end of the longest prefix of runs none of whose records is held any more, so a commit never
 * moves past a record another open transaction or the retry list holds. Rolled-back records wait in the
 * retry list (taken first, in their order). A revoked partition leaves the table: its records in the retry
 * list are dropped (the new owner reads them from the committed offset), records still held by open
 * transactions yield no commit, and its runs are freed when the last of them is done.
 *
 * Pure bookkeeping without librdkafka (tests/unit/test_kafka_offsets). Threads: the caller serialises every
 * call (the channel's `lock`). */
#ifndef RELAY_KAFKA_OFFSETS_H_INCLUDED
#define RELAY_KAFKA_OFFSETS_H_INCLUDED

#include <glib.h>

typedef struct _KafkaOffsets KafkaOffsets;
typedef struct _KafkaRun KafkaRun;

/* A record held by a transaction or waiting in the retry list: item is the caller's (the event). */
typedef struct
{
  gpointer item;
  KafkaRun *run;
} KafkaTaken;

/* free_item frees the items of records dropped from the retry list (revoked partitions, kafka_offsets_free).
 */
KafkaOffsets *kafka_offsets_new(GDestroyNotify free_item);
void kafka_offsets_free(KafkaOffsets *o);

/* The record at offset of partition was read; prev is the run of the read's previous record (NULL for the
 * first). Returns the run the record belongs to (prev when it continues it, else a new one). The record
 * counts as done until kafka_offsets_hold (a record skipped as undecodable is committed with its run). */
KafkaRun *kafka_offsets_read(KafkaOffsets *o, KafkaRun *prev, gint32 partition, gint64 offset);
void kafka_offsets_hold(KafkaRun *run);

/* A held record is done (its transaction committed). TRUE with *partition and *offset set when the
 * partition's offset to commit advanced (never for a revoked partition). */
gboolean kafka_offsets_done(KafkaRun *run, gint32 *partition, gint64 *offset);

/* Rolled-back records go to the head of the retry list, in their order (still held). */
void kafka_offsets_rollback(KafkaOffsets *o, const KafkaTaken *takes, guint n);
/* Moves up to max records from the head of the retry list to the end of takes (a GArray of KafkaTaken). */
guint kafka_offsets_retry_take(KafkaOffsets *o, GArray *takes, guint max);
guint kafka_offsets_retry_len(const KafkaOffsets *o);

/* The partition was revoked (see above). */
void kafka_offsets_revoke(KafkaOffsets *o, gint32 partition);

#endif
