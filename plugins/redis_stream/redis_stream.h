/* redis_stream.h - the redis_stream plugin's configuration and state, shared by its two files. */
#ifndef REDIS_STREAM_H_INCLUDED
#define REDIS_STREAM_H_INCLUDED

#include <relayd/plugin.h>

#include <hiredis/hiredis.h>
#include <stdint.h>
#include <time.h>

/* Stream entry ids are "<ms>-<seq>": two 64-bit decimals. */
#define REDIS_ID_MAX 48

typedef struct
{
  char *host;
  int64_t port;
  char *stream;
  int64_t batch_size;
  char *bookmark_file; /* NULL: the bookmark is kept in Redis, under bookmark_key */
  char *bookmark_key;  /* NULL or empty: "relayd:bookmark:<stream>:<source name>" */
  char *start_id;      /* where to start without a bookmark: "0" (all), "$" (only new entries), or an id */
  int64_t block_ms;
  int64_t timeout_ms;
  char *body_field;
  char *id_header; /* "" : no header with the entry id */
} RedisStreamConfig;

typedef struct
{
  RedisStreamConfig *cfg;
  const RelaydComponent *self;
  redisContext *redis;         /* NULL while disconnected; pollable thread */
  char key[512];               /* the bookmark key in Redis */
  char next_id[REDIS_ID_MAX];  /* XREAD from here: the last committed id (or the start) */
  char saved_id[REDIS_ID_MAX]; /* the bookmark last saved ("" : none yet) */
  int have_position;           /* next_id is known (bookmark loaded or start resolved) */
  time_t last_error_log;       /* rate limit of connection error lines */
} RedisStream;

/* redis_bookmark.c. Both run on the pollable thread with st->redis connected (for the Redis key). */
/* Loads the bookmark into st->next_id: 1 if there was one, 0 if none, -1 on error (logged). */
int redis_bookmark_load(RedisStream *st);
/* Saves id as the bookmark: 0, or -1 on error (logged; the next commit tries again). */
int redis_bookmark_save(RedisStream *st, const char *id);

#endif
