/* sink_logger.c - the logger sink: logs each event at info level, one event per transaction (Flume's
 * LoggerSink).
 *
 * The line reads as Flume's EventHelper.dumpEvent output:
 *   Event: { headers:{k1=v1, k2=v2} body: 68 65 6C 6C 6F                                  hello }
 * The body part is a hex dump of at most maxBytesToLog bytes, 16 per row: each byte as " XX", missing bytes
 * of the last row as blanks, then the row's bytes as text with non-printable bytes shown as '.'. The first
 * row has no offset; further rows (maxBytesToLog > 16) follow on the same line, each starting with its
 * 8-digit hex offset, because relayd log messages are single lines. Control characters in headers are
 * escaped as \xNN so a peer cannot forge log lines. Runs on the sink's runner thread; no shared state. */
#include "channel.h"
#include "component.h"
#include "counters.h"
#include "event.h"
#include "log.h"
#include "sink.h"

#define RELAY_LOGGER_ROW_BYTES 16

typedef struct
{
  RelaySink super;
  gint64 max_bytes_to_log;
} RelaySinkLogger;

static void
_append_escaped(GString *out, const char *text)
{
  for (const guchar *p = (const guchar *)text; *p; p++)
    {
      if (*p < 0x20 || *p == 0x7f)
        g_string_append_printf(out, "\\x%02X", *p);
      else
        g_string_append_c(out, (char)*p);
    }
}

static void
_append_headers(GString *out, const RelayEvent *ev)
{
  g_string_append_c(out, '{');
  for (guint32 i = 0; i < ev->n_headers; i++)
    {
      if (i)
        g_string_append(out, ", ");
      _append_escaped(out, ev->headers[i].key);
      g_string_append_c(out, '=');
      _append_escaped(out, ev->headers[i].value);
    }
  g_string_append_c(out, '}');
}

/* One row of up to 16 bytes: " XX" per byte, blanks for missing ones, a space, then the text column. */
static void
_append_hex_row(GString *out, const guint8 *row, gsize n)
{
  for (gsize k = 0; k < RELAY_LOGGER_ROW_BYTES; k++)
    {
      if (k < n)
        g_string_append_printf(out, " %02X", row[k]);
      else
        g_string_append(out, "   ");
    }
  g_string_append_c(out, ' ');
  for (gsize k = 0; k < n; k++)
    g_string_append_c(out, row[k] >= 0x20 && row[k] < 0x7f ? (char)row[k] : '.');
}

static void
_append_body(GString *out, const RelayEvent *ev, gsize max_bytes)
{
  gsize len = MIN((gsize)ev->body_len, max_bytes);

  for (gsize offset = 0; offset < len; offset += RELAY_LOGGER_ROW_BYTES)
    {
      if (offset)
        g_string_append_printf(out, " %08" G_GSIZE_MODIFIER "X", offset);
      _append_hex_row(out, ev->body + offset, MIN(len - offset, (gsize)RELAY_LOGGER_ROW_BYTES));
    }
}

static void
_log_event(RelaySinkLogger *self, const RelayEvent *ev)
{
  GString *line = g_string_sized_new(128);

  g_string_append(line, "Event: { headers:");
  _append_headers(line, ev);
  g_string_append(line, " body:");
  _append_body(line, ev, (gsize)self->max_bytes_to_log);
  g_string_append(line, " }");
  relay_info(self->super.super.log_prefix, "%s", line->str);
  g_string_free(line, TRUE);
}

/* Runs in: the sink's runner thread. */
static RelaySinkStatus
_logger_process(RelaySink *sink)
{
  RelaySinkLogger *self = (RelaySinkLogger *)sink;
  RelayTxn *txn = relay_channel_begin(sink->channel);
  RelayEvent *ev = NULL;
  guint n = relay_txn_take(txn, &ev, 1);

  relay_counter_add(&sink->counters.event_drain_attempt, n);
  if (n && relay_log_enabled(RELAY_LOG_INFO))
    _log_event(self, ev);
  RelayChannelResult result = relay_txn_commit(txn);
  if (result != RELAY_CHANNEL_OK)
    {
      relay_txn_rollback(txn);
      relay_txn_close(txn);
      relay_counter_inc(&sink->counters.channel_read_fail);
      relay_warn(sink->super.log_prefix, "take commit failed, rolled back result=%s",
                 relay_channel_result_name(result));
      return RELAY_SINK_FAILED;
    }
  relay_txn_close(txn);
  if (!n)
    {
      relay_counter_inc(&sink->counters.batch_empty);
      return RELAY_SINK_BACKOFF;
    }
  relay_counter_inc(&sink->counters.batch_complete);
  relay_counter_inc(&sink->counters.event_drain_success);
  return RELAY_SINK_READY;
}

static const RelayOption _logger_options[] = {
  RELAY_OPT_INT_ROW("maxBytesToLog", "16", 0, 65536, RelaySinkLogger, max_bytes_to_log, RELAY_OPTF_LENIENT,
                    "body bytes shown in the hex dump of each logged event"),
  RELAY_OPTION_END,
};

static const RelaySinkOps _logger_ops = {
  .process = _logger_process,
};

const RelayComponentClass relay_sink_logger_class = {
  .kind = RELAY_KIND_SINK,
  .type = "logger",
  .flume_class = "org.apache.flume.sink.LoggerSink",
  .description = "logs every event (headers and a hex dump of the body) at info level",
  .options = _logger_options,
  .instance_size = sizeof(RelaySinkLogger),
  .ops = &_logger_ops,
};
