/* fuzz_syslog.c - libFuzzer target: the syslog sources' TCP framing and message parser (src/sources/
 * syslog_parse.c), with the input as a client's byte stream.
 *
 * Input: the split header of fuzz_common.h, one byte choosing eventSize (10 + 4 * b, so cuts happen), then
 * the stream. It is framed as source_syslog.c frames it (messages taken off the front, the rest of an
 * oversized octet-counted frame skipped, a partial message delivered at the end of the stream), once in the
 * chosen chunks and once in one piece. Checked:
 *  - both feeds give the same messages (framing does not depend on how TCP cut the stream);
 *  - every message lies inside the bytes given and is at most eventSize long, and when the framer asks for
 *    more bytes it holds fewer than eventSize + 11 unframed (a connection's buffer stays bounded);
 *  - each message parses as Flume's SyslogUtils promises: NULL only for "" and "<"; Facility and Severity
 *    first, matching the priority; an Invalid message is its own body; keepFields=all keeps the raw
 *    message; the extra (client) headers come last; and a message whose priority, timestamp and host were
 *    matched, re-parsed from its keepFields=priority,version,timestamp,hostname body, gives the same
 *    headers and body (decode -> encode -> decode);
 *  - multiport_syslogtcp's parser (Flume's SyslogParser, syslog_multiport.c) on the same message: an Invalid
 *    message is its own body with only the status and the extra headers; a parsed one starts with Priority,
 *    Facility and Severity that agree, has a timestamp and a host, and its body is the message's tail. */
#include "fuzz_common.h"

#include "syslog_multiport.h"
#include "syslog_parse.h"

#define FUZZ_NOW_MS G_GINT64_CONSTANT(1781524800000) /* 2026-06-15T12:00:00Z: fixed, for RFC 3164's year */
#define FUZZ_KEEP_FIELDS                                                                                     \
  (RELAY_SYSLOG_KEEP_PRIORITY | RELAY_SYSLOG_KEEP_VERSION | RELAY_SYSLOG_KEEP_TIMESTAMP                      \
   | RELAY_SYSLOG_KEEP_HOSTNAME)

static const RelayHeader _extra[] = {
  { "clientIP", "192.0.2.1", 8, 9 },
  { "port", "514", 4, 3 },
};

static const RelayHeader *
_header(const RelayEvent *ev, const char *key)
{
  for (guint32 i = 0; i < ev->n_headers; i++)
    if (ev->headers[i].key_len == strlen(key) && memcmp(ev->headers[i].key, key, ev->headers[i].key_len) == 0)
      return &ev->headers[i];
  return NULL;
}

static gboolean
_header_is(const RelayEvent *ev, const char *key, const char *value)
{
  const RelayHeader *h = _header(ev, key);
  return h && h->value_len == strlen(value) && memcmp(h->value, value, h->value_len) == 0;
}

static gint64
_header_int(const RelayHeader *h)
{
  char text[32];

  FUZZ_CHECK(h && h->value_len > 0 && h->value_len < sizeof text);
  memcpy(text, h->value, h->value_len);
  text[h->value_len] = '\0';
  return g_ascii_strtoll(text, NULL, 10);
}

/* The event of msg with the parser's extra headers stripped (they are checked to be last). */
static RelayEvent *
_parse(const guint8 *msg, gsize len, guint keep, gboolean incomplete)
{
  const char *status = "unset";
  RelayEvent *ev = relay_syslog_parse(NULL, msg, len, keep, incomplete, FUZZ_NOW_MS, _extra, 2, &status);

  if (!ev)
    {
      FUZZ_CHECK(len == 0 || (len == 1 && msg[0] == '<'));
      return NULL;
    }
  FUZZ_CHECK(ev->n_headers >= 4 && ev->n_headers <= 16);
  for (guint i = 0; i < 2; i++)
    {
      const RelayHeader *got = &ev->headers[ev->n_headers - 2 + i];
      FUZZ_CHECK(got->key_len == _extra[i].key_len && memcmp(got->key, _extra[i].key, got->key_len) == 0);
      FUZZ_CHECK(got->value_len == _extra[i].value_len
                 && memcmp(got->value, _extra[i].value, got->value_len) == 0);
    }
  FUZZ_CHECK(ev->headers[0].key_len == 8 && memcmp(ev->headers[0].key, "Facility", 8) == 0);
  FUZZ_CHECK(ev->headers[1].key_len == 8 && memcmp(ev->headers[1].key, "Severity", 8) == 0);
  FUZZ_CHECK(status == NULL || _header_is(ev, "flume.syslog.status", status));
  FUZZ_CHECK(status != NULL || !_header(ev, "flume.syslog.status"));
  RelayEvent *bare = relay_event_new(ev->headers, ev->n_headers - 2, ev->body, ev->body_len);
  relay_event_unref(ev);
  return bare;
}

/* decode -> keepFields body -> decode gives the same priority, version, timestamp, host and body. */
static void
_check_kept_round_trip(const guint8 *msg, gsize len, const RelayEvent *plain)
{
  if (!_header(plain, "priority") || !_header(plain, "timestamp") || !_header(plain, "host"))
    return; /* a missing stamp or host is kept as "null", which does not parse back */
  RelayEvent *kept = _parse(msg, len, FUZZ_KEEP_FIELDS, FALSE);
  RelayEvent *again = _parse(kept->body, kept->body_len, 0, FALSE);
  FUZZ_CHECK(again && again->n_headers == plain->n_headers);
  gboolean body_is_message = plain->body_len == len; /* nothing after the host: Flume keeps the message */
  for (guint32 i = 0; i < plain->n_headers; i++)
    {
      const RelayHeader *a = &plain->headers[i], *b = &again->headers[i];
      FUZZ_CHECK(a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0);
      FUZZ_CHECK(a->value_len == b->value_len && memcmp(a->value, b->value, a->value_len) == 0);
    }
  FUZZ_CHECK(
      body_is_message
      || (plain->body_len == again->body_len && memcmp(plain->body, again->body, plain->body_len) == 0));
  relay_event_unref(again);
  relay_event_unref(kept);
}

static void
_check_multiport(const guint8 *msg, gsize len, gboolean incomplete)
{
  const char *status = "unset";
  RelayEvent *ev
      = relay_syslog_parse_multiport(NULL, msg, len, 0, incomplete, TRUE, FUZZ_NOW_MS, _extra, 2, &status);

  if (!ev)
    {
      FUZZ_CHECK(len == 0);
      return;
    }
  if (status && strcmp(status, "Invalid") == 0)
    FUZZ_CHECK(ev->n_headers == 3 && ev->body_len == len && memcmp(ev->body, msg, len) == 0);
  else
    {
      FUZZ_CHECK(ev->headers[0].key_len == 8 && memcmp(ev->headers[0].key, "Priority", 8) == 0);
      gint64 pri = _header_int(&ev->headers[0]);
      FUZZ_CHECK(_header_int(_header(ev, "Facility")) == pri / 8
                 && _header_int(_header(ev, "Severity")) == pri % 8);
      FUZZ_CHECK(_header(ev, "timestamp") && _header(ev, "host"));
      FUZZ_CHECK(incomplete == _header_is(ev, "flume.syslog.status", "Incomplete"));
      FUZZ_CHECK(ev->body_len <= len && memcmp(ev->body, msg + len - ev->body_len, ev->body_len) == 0);
    }
  relay_event_unref(ev);
}

static void
_check_message(const guint8 *msg, gsize len, gboolean incomplete)
{
  _check_multiport(msg, len, incomplete);
  RelayEvent *plain = _parse(msg, len, 0, incomplete);
  if (!plain)
    return;
  gboolean invalid = _header_is(plain, "flume.syslog.status", "Invalid");
  const RelayHeader *pri = _header(plain, "priority");
  if (invalid)
    {
      FUZZ_CHECK(!pri && plain->body_len == len && memcmp(plain->body, msg, len) == 0);
      FUZZ_CHECK(_header_is(plain, "Facility", "0") && _header_is(plain, "Severity", "0"));
    }
  else
    {
      FUZZ_CHECK(msg[0] == '<');
      FUZZ_CHECK(incomplete == _header_is(plain, "flume.syslog.status", "Incomplete"));
      if (pri)
        FUZZ_CHECK(_header_int(pri)
                   == _header_int(_header(plain, "Facility")) * 8 + _header_int(_header(plain, "Severity")));
      /* without keepFields the body is the message or its tail */
      FUZZ_CHECK(plain->body_len <= len
                 && memcmp(plain->body, msg + len - plain->body_len, plain->body_len) == 0);
    }
  RelayEvent *all = _parse(msg, len, RELAY_SYSLOG_KEEP_ALL, incomplete);
  FUZZ_CHECK(all->body_len == len && memcmp(all->body, msg, len) == 0);
  FUZZ_CHECK(all->n_headers == plain->n_headers);
  relay_event_unref(all);
  if (!incomplete && !invalid)
    _check_kept_round_trip(msg, len, plain);
  relay_event_unref(plain);
}

typedef struct
{
  GByteArray *in; /* bytes received and not framed yet */
  gsize skip;     /* rest of an oversized octet-counted frame still to discard */
  gsize max_size;
  GChecksum *messages; /* digest of what was framed */
  gboolean check;      /* also check each message's parse (once per input is enough) */
} FuzzConn;

/* Frames what conn holds, as source_syslog.c's _take_messages does (over an exact-size copy, so that ASan
 * sees a read past the end). */
static void
_take(FuzzConn *c, gboolean at_eof)
{
  gsize n = MIN(c->skip, (gsize)c->in->len), len = c->in->len - n, pos = 0;
  guint8 *buf = fuzz_dup_exact(len ? c->in->data + n : (const guint8 *)"", len);
  RelaySyslogFrame f;

  c->skip -= n;
  g_byte_array_remove_range(c->in, 0, (guint)n);
  while (c->skip == 0 && pos < len)
    {
      gboolean found = relay_syslog_frame_next(buf + pos, len - pos, c->max_size, at_eof, &f);
      FUZZ_CHECK(f.consumed <= len - pos);
      if (!found)
        {
          FUZZ_CHECK(at_eof ? f.consumed == len - pos : len - pos - f.consumed < c->max_size + 11);
          pos += f.consumed;
          break;
        }
      FUZZ_CHECK(f.consumed > 0 && f.msg_off + f.msg_len <= f.consumed && f.msg_len <= c->max_size);
      FUZZ_CHECK(f.skip == 0 || (f.consumed == len - pos && f.incomplete));
      guint8 flag = (guint8)f.incomplete;
      guint64 msg_len = f.msg_len;
      g_checksum_update(c->messages, &flag, 1);
      g_checksum_update(c->messages, (const guchar *)&msg_len, sizeof msg_len);
      g_checksum_update(c->messages, buf + pos + f.msg_off, f.msg_len);
      if (c->check)
        {
          guint8 *msg = fuzz_dup_exact(buf + pos + f.msg_off, f.msg_len);
          _check_message(msg, f.msg_len, f.incomplete);
          free(msg);
        }
      pos += f.consumed;
      c->skip = f.skip;
    }
  g_byte_array_remove_range(c->in, 0, (guint)pos);
  free(buf);
}

/* Feeds the stream in the chunks splits gives; returns the digest of the messages framed. */
static char *
_feed(const guint8 *data, gsize size, FuzzSplits *splits, gsize max_size, gboolean check)
{
  FuzzConn c = { g_byte_array_new(), 0, max_size, g_checksum_new(G_CHECKSUM_SHA256), check };
  gsize off = 0;

  while (off < size)
    {
      gsize n = splits ? fuzz_splits_next(splits, size - off) : size - off;
      g_byte_array_append(c.in, data + off, (guint)n);
      off += n;
      _take(&c, FALSE);
    }
  _take(&c, TRUE);
  FUZZ_CHECK(c.in->len == 0);
  char *digest = g_strdup(g_checksum_get_string(c.messages));
  g_checksum_free(c.messages);
  g_byte_array_unref(c.in);
  return digest;
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  FuzzSplits splits;
  gsize off = fuzz_splits_init(&splits, data, size);

  fuzz_init_once();
  if (off >= size)
    return 0;
  gsize max_size = RELAY_SYSLOG_MIN_SIZE + 4 * (gsize)data[off++];
  char *chunked = _feed(data + off, size - off, &splits, max_size, TRUE);
  char *whole = _feed(data + off, size - off, NULL, max_size, FALSE);
  FUZZ_CHECK(strcmp(chunked, whole) == 0);
  g_free(chunked);
  g_free(whole);
  return 0;
}
