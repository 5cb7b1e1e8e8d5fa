/* redis_bookmark.c - where the redis_stream source keeps the id of the last committed entry.
 *
 * Either a file (bookmarkFile), rewritten atomically after every committed batch (written to FILE.tmp,
 * fsync'ed, renamed over FILE, directory fsync'ed, so a crash leaves the old or the new id, never a torn
 * one), or a Redis key (bookmarkKey, default relayd:bookmark:<stream>:<source name>) set with SET on the
 * source's own connection: it is as durable as the Redis server's persistence. The file is the safer choice
 * when Redis runs without persistence. Pollable thread. */
#include "redis_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A valid id: digits, optionally "-" and digits. */
static int
_valid_id(const char *id)
{
  size_t n = strspn(id, "0123456789");

  if (n == 0 || n > 20)
    return 0;
  if (id[n] == '\0')
    return 1;
  return id[n] == '-' && strspn(id + n + 1, "0123456789") == strlen(id + n + 1) && id[n + 1] != '\0';
}

static int
_load_file(RedisStream *st)
{
  char buf[REDIS_ID_MAX];
  FILE *f = fopen(st->cfg->bookmark_file, "r");

  if (!f)
    {
      if (errno == ENOENT)
        return 0;
      relayd_log(st->self, RELAYD_LOG_ERROR, "cannot read bookmarkFile %s: %s", st->cfg->bookmark_file,
                 strerror(errno));
      return -1;
    }
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  buf[strcspn(buf, "\r\n")] = '\0';
  if (!_valid_id(buf))
    {
      relayd_log(st->self, RELAYD_LOG_ERROR, "bookmarkFile %s does not hold a stream entry id",
                 st->cfg->bookmark_file);
      return -1;
    }
  snprintf(st->next_id, sizeof st->next_id, "%s", buf);
  return 1;
}

static int
_load_key(RedisStream *st)
{
  redisReply *reply = redisCommand(st->redis, "GET %s", st->key);
  int rc = -1;

  if (!reply)
    relayd_log(st->self, RELAYD_LOG_WARN, "GET %s failed: %s", st->key, st->redis->errstr);
  else if (reply->type == REDIS_REPLY_NIL)
    rc = 0;
  else if (reply->type == REDIS_REPLY_STRING && reply->len < REDIS_ID_MAX && _valid_id(reply->str))
    {
      snprintf(st->next_id, sizeof st->next_id, "%s", reply->str);
      rc = 1;
    }
  else
    relayd_log(st->self, RELAYD_LOG_ERROR, "bookmark key %s does not hold a stream entry id", st->key);
  if (reply)
    freeReplyObject(reply);
  return rc;
}

int
redis_bookmark_load(RedisStream *st)
{
  int rc = st->cfg->bookmark_file ? _load_file(st) : _load_key(st);

  if (rc == 1)
    snprintf(st->saved_id, sizeof st->saved_id, "%s", st->next_id);
  return rc;
}

static int
_fsync_dir(const char *path)
{
  char *copy = strdup(path);
  int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
  int rc = fd >= 0 && fsync(fd) == 0 ? 0 : -1;

  if (fd >= 0)
    close(fd);
  free(copy);
  return rc;
}

static int
_save_file(RedisStream *st, const char *id)
{
  char tmp[4096], line[REDIS_ID_MAX + 2];
  int len = snprintf(line, sizeof line, "%s\n", id);
  snprintf(tmp, sizeof tmp, "%s.tmp", st->cfg->bookmark_file);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int ok = fd >= 0 && write(fd, line, (size_t)len) == len && fsync(fd) == 0;

  if (fd >= 0 && close(fd) != 0)
    ok = 0;
  ok = ok && rename(tmp, st->cfg->bookmark_file) == 0 && _fsync_dir(st->cfg->bookmark_file) == 0;
  if (!ok)
    relayd_log(st->self, RELAYD_LOG_ERROR, "cannot write bookmarkFile %s: %s", st->cfg->bookmark_file,
               strerror(errno));
  return ok ? 0 : -1;
}

static int
_save_key(RedisStream *st, const char *id)
{
  redisReply *reply = st->redis ? redisCommand(st->redis, "SET %s %s", st->key, id) : NULL;
  int ok = reply && reply->type == REDIS_REPLY_STATUS;

  if (!ok)
    relayd_log(st->self, RELAYD_LOG_WARN, "SET %s %s failed: %s", st->key, id,
               reply && reply->type == REDIS_REPLY_ERROR ? reply->str
               : st->redis                               ? st->redis->errstr
                                                         : "not connected");
  if (reply)
    freeReplyObject(reply);
  return ok ? 0 : -1;
}

int
redis_bookmark_save(RedisStream *st, const char *id)
{
  int rc = st->cfg->bookmark_file ? _save_file(st, id) : _save_key(st, id);

  if (rc == 0)
    snprintf(st->saved_id, sizeof st->saved_id, "%s", id);
  return rc;
}
