/* redis_stream.c - the redis_stream pollable source: reads a Redis stream with XREAD, in batches, and keeps
 * the id of the last committed entry as its bookmark (a plugin built against relayd/plugin.h only).
 *
 * relayd runs process() on the source's own thread. process() connects if needed, then reads up to a batch
 * (batchSize, and no more than the channels' transactionCapacity) of entries after the last committed id,
 * blocking at most blockMs in XREAD, and turns each entry into one event: the bodyField field is the body,
 * every other field a header, and the entry id the idHeader header. relayd puts the batch into the channels
 * and only then calls committed(), which saves the batch's last id as the bookmark (redis_bookmark.c) and
 * moves the read position. So every entry reaches the channels at least once across crashes: a crash after
 * the channel commit and before the bookmark is saved reads that one batch again after the restart.
 *
 * Without a bookmark the source starts at startId: "0" reads the whole stream, "$" only entries added after
 * the first connection (resolved once to the stream's last id, so none is lost between two XREAD calls).
 * A lost connection is logged (at most once a minute), process() returns BACKOFF and relayd sleeps
 * backoffSleepIncrement, up to maxBackoffSleep, before the next try. */
#include "redis_stream.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

RELAYD_PLUGIN_DEFINE();

static const RelaydOption _options[] = {
  { "host", RELAYD_OPT_STRING, "127.0.0.1", 1, 0, offsetof(RedisStreamConfig, host), 0, NULL,
    "Redis server host name or address" },
  { "port", RELAYD_OPT_INT, "6379", 1, 65535, offsetof(RedisStreamConfig, port), 0, NULL,
    "Redis server port" },
  { "stream", RELAYD_OPT_STRING, NULL, 1, 0, offsetof(RedisStreamConfig, stream), RELAYD_OPTF_REQUIRED, NULL,
    "key of the stream to read" },
  { "batchSize", RELAYD_OPT_INT, "100", 1, 100000, offsetof(RedisStreamConfig, batch_size),
    RELAYD_OPTF_BATCH_SIZE, NULL, "entries read per XREAD and put per transaction" },
  { "bookmarkFile", RELAYD_OPT_STRING, NULL, 1, 0, offsetof(RedisStreamConfig, bookmark_file), 0, NULL,
    "file holding the last committed entry id, rewritten atomically after each commit (default: a Redis "
    "key)" },
  { "bookmarkKey", RELAYD_OPT_STRING, NULL, 1, 0, offsetof(RedisStreamConfig, bookmark_key), 0, NULL,
    "Redis key holding the last committed entry id when no bookmarkFile is set (default "
    "relayd:bookmark:<stream>:<source name>)" },
  { "startId", RELAYD_OPT_STRING, "0", 1, 0, offsetof(RedisStreamConfig, start_id), 0, NULL,
    "where to start without a bookmark: 0 (the whole stream), $ (new entries only) or an entry id" },
  { "blockMs", RELAYD_OPT_INT, "500", 0, 1000, offsetof(RedisStreamConfig, block_ms), 0, NULL,
    "longest wait of one XREAD for new entries, ms" },
  { "timeout", RELAYD_OPT_INT, "5000", 100, 60000, offsetof(RedisStreamConfig, timeout_ms), 0, NULL,
    "connect and reply timeout, ms (beyond blockMs)" },
  { "bodyField", RELAYD_OPT_STRING, "body", 1, 0, offsetof(RedisStreamConfig, body_field), 0, NULL,
    "entry field that becomes the event body; the other fields become headers" },
  { "idHeader", RELAYD_OPT_STRING, "redisStreamId", 1, 0, offsetof(RedisStreamConfig, id_header),
    RELAYD_OPTF_EMPTY_OK, NULL, "header that carries the entry id (empty: none)" },
  RELAYD_OPTION_END,
};

/* ---- connection (pollable thread) ---- */

static void
_disconnect(RedisStream *st)
{
  if (st->redis)
    redisFree(st->redis);
  st->redis = NULL;
}

static void
_log_error(RedisStream *st, const char *what, const char *why)
{
  time_t now = time(NULL);

  if (now - st->last_error_log < 60)
    return;
  st->last_error_log = now;
  relayd_log(st->self, RELAYD_LOG_WARN, "%s failed host=%s port=%lld: %s (retrying; logged once a minute)",
             what, st->cfg->host, (long long)st->cfg->port, why);
}

/* The stream's last id, or "0-0" when it is empty: what "$" means, fixed once. 0 or -1. */
static int
_resolve_last_id(RedisStream *st)
{
  redisReply *reply = redisCommand(st->redis, "XREVRANGE %s + - COUNT 1", st->cfg->stream);
  int ok = reply && reply->type == REDIS_REPLY_ARRAY;

  if (ok && reply->elements == 1 && reply->element[0]->type == REDIS_REPLY_ARRAY
      && reply->element[0]->elements == 2 && reply->element[0]->element[0]->type == REDIS_REPLY_STRING)
    snprintf(st->next_id, sizeof st->next_id, "%s", reply->element[0]->element[0]->str);
  else if (ok)
    snprintf(st->next_id, sizeof st->next_id, "0-0");
  if (reply)
    freeReplyObject(reply);
  return ok ? 0 : -1;
}

static int
_position(RedisStream *st)
{
  int rc = redis_bookmark_load(st);

  if (rc < 0)
    return -1;
  if (rc == 0 && strcmp(st->cfg->start_id, "$") == 0)
    rc = _resolve_last_id(st);
  else if (rc == 0)
    snprintf(st->next_id, sizeof st->next_id, "%s", st->cfg->start_id);
  if (rc < 0)
    return -1;
  st->have_position = 1;
  relayd_log(st->self, RELAYD_LOG_INFO, "reading stream %s after id %s (%s)", st->cfg->stream, st->next_id,
             st->saved_id[0] ? "bookmark" : "startId");
  return 0;
}

static int
_connect(RedisStream *st)
{
  struct timeval tv = { st->cfg->timeout_ms / 1000, (st->cfg->timeout_ms % 1000) * 1000 };
  struct timeval cmd = { (st->cfg->timeout_ms + st->cfg->block_ms) / 1000,
                         ((st->cfg->timeout_ms + st->cfg->block_ms) % 1000) * 1000 };

  st->redis = redisConnectWithTimeout(st->cfg->host, (int)st->cfg->port, tv);
  if (!st->redis || st->redis->err)
    {
      _log_error(st, "connect", st->redis ? st->redis->errstr : "out of memory");
      _disconnect(st);
      return -1;
    }
  redisSetTimeout(st->redis, cmd);
  if (!st->have_position && _position(st) < 0)
    {
      _disconnect(st);
      return -1;
    }
  relayd_log(st->self, RELAYD_LOG_INFO, "connected host=%s port=%lld", st->cfg->host,
             (long long)st->cfg->port);
  return 0;
}

/* ---- entries to events ---- */

static RelaydEvent *
_entry_event(RedisStream *st, const redisReply *id, const redisReply *fields)
{
  RelaydHeader headers[64];
  size_t n = 0;
  const char *body = "";
  size_t body_len = 0;

  for (size_t i = 0; i + 1 < fields->elements; i += 2)
    {
      const redisReply *k = fields->element[i], *v = fields->element[i + 1];
      if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
        continue;
      if (strcmp(k->str, st->cfg->body_field) == 0)
        body = v->str, body_len = v->len;
      else if (n < 63)
        headers[n++] = (RelaydHeader){ k->str, v->str, (uint32_t)k->len, (uint32_t)v->len };
    }
  if (*st->cfg->id_header)
    headers[n++] = (RelaydHeader){ st->cfg->id_header, id->str, (uint32_t)strlen(st->cfg->id_header),
                                   (uint32_t)id->len };
  return relayd_event_new(headers, n, body, body_len);
}

/* Adds the entries of an XREAD reply to batch; returns how many. */
static size_t
_add_entries(RedisStream *st, const redisReply *reply, RelaydBatch *batch)
{
  size_t added = 0;

  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 1 || reply->element[0]->elements != 2)
    return 0;
  const redisReply *entries = reply->element[0]->element[1];
  for (size_t i = 0; entries->type == REDIS_REPLY_ARRAY && i < entries->elements; i++)
    {
      const redisReply *entry = entries->element[i];
      if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2
          || entry->element[0]->type != REDIS_REPLY_STRING || entry->element[1]->type != REDIS_REPLY_ARRAY
          || entry->element[0]->len >= REDIS_ID_MAX)
        {
          relayd_counter_add((RelaydComponent *)st->self, RELAYD_SOURCE_EVENT_READ_FAIL, 1);
          continue;
        }
      if (relayd_batch_add(batch, _entry_event(st, entry->element[0], entry->element[1])) == 0)
        added++;
      relayd_batch_set_bookmark(batch, entry->element[0]->str);
    }
  return added;
}

/* ---- the pollable source ---- */

/* Runs in: the source's pollable thread. */
static RelaydStatus
_process(RelaydComponent *self, RelaydBatch *batch)
{
  RedisStream *st = relayd_component_data(self);
  size_t count = relayd_batch_capacity(batch);

  if (count > (size_t)st->cfg->batch_size)
    count = (size_t)st->cfg->batch_size;
  if (!st->redis && _connect(st) < 0)
    return RELAYD_BACKOFF;
  char n[24], block[24];
  snprintf(n, sizeof n, "%zu", count);
  snprintf(block, sizeof block, "%lld", (long long)st->cfg->block_ms);
  redisReply *reply = redisCommand(st->redis, "XREAD COUNT %s BLOCK %s STREAMS %s %s", n, block,
                                   st->cfg->stream, st->next_id);
  if (!reply)
    {
      _log_error(st, "XREAD", st->redis->errstr);
      _disconnect(st);
      return RELAYD_BACKOFF;
    }
  if (reply->type == REDIS_REPLY_ERROR)
    {
      _log_error(st, "XREAD", reply->str);
      freeReplyObject(reply);
      return RELAYD_BACKOFF;
    }
  _add_entries(st, reply, batch);
  freeReplyObject(reply);
  /* An empty read already waited blockMs in XREAD: no extra backoff. */
  return RELAYD_READY;
}

/* Runs in: the pollable thread, after the batch is in every required channel. */
static void
_committed(RelaydComponent *self, RelaydBatch *batch)
{
  RedisStream *st = relayd_component_data(self);
  const char *id = relayd_batch_bookmark(batch);

  if (!id)
    return;
  snprintf(st->next_id, sizeof st->next_id, "%s", id);
  redis_bookmark_save(st, id);
}

static int
_configure(RelaydComponent *self, RelaydError *error)
{
  RedisStreamConfig *cfg = relayd_component_config(self);

  if (cfg->bookmark_file && cfg->bookmark_key)
    {
      relayd_error_set(error, "bookmarkFile and bookmarkKey are both set; set one");
      return -1;
    }
  if (strcmp(cfg->start_id, "$") != 0 && strspn(cfg->start_id, "0123456789-") != strlen(cfg->start_id))
    {
      relayd_error_set(error, "startId %s is not 0, $ or a stream entry id", cfg->start_id);
      return -1;
    }
  return 0;
}

static int
_start(RelaydComponent *self, RelaydError *error)
{
  RedisStreamConfig *cfg = relayd_component_config(self);
  RedisStream *st = calloc(1, sizeof *st);

  if (!st)
    {
      relayd_error_set(error, "out of memory");
      return -1;
    }
  st->cfg = cfg;
  st->self = self;
  if (cfg->bookmark_key && *cfg->bookmark_key)
    snprintf(st->key, sizeof st->key, "%s", cfg->bookmark_key);
  else
    snprintf(st->key, sizeof st->key, "relayd:bookmark:%s:%s", cfg->stream, relayd_component_name(self));
  relayd_component_set_data(self, st);
  relayd_log(self, RELAYD_LOG_INFO, "stream=%s bookmark=%s%s batchSize=%lld", cfg->stream,
             cfg->bookmark_file ? "file:" : "key:", cfg->bookmark_file ? cfg->bookmark_file : st->key,
             (long long)cfg->batch_size);
  return 0;
}

static void
_destroy(RelaydComponent *self)
{
  RedisStream *st = relayd_component_data(self);

  if (!st)
    return;
  _disconnect(st);
  free(st);
  relayd_component_set_data(self, NULL);
}

static const RelaydSourceClass _redis_stream_class = {
  .type = "redis_stream",
  .flume_class = "org.relayd.source.RedisStreamSource",
  .description = "reads a Redis stream with XREAD in batches; the last committed entry id is its bookmark",
  .options = _options,
  .config_size = sizeof(RedisStreamConfig),
  .lifecycle = { .configure = _configure, .start = _start, .destroy = _destroy },
  .process = _process,
  .committed = _committed,
};

int
relayd_plugin_register(RelaydRegistrar *registrar)
{
  return relayd_register_source(registrar, &_redis_stream_class);
}
