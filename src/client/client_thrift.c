/* client_thrift.c - the Thrift wire protocol for rpc_client: appendBatch calls and their replies.
 *
 * Each request is one framed appendBatch CALL with a fresh seqid; the reply must echo that seqid and carry
 * Status OK (0) for success, FAILED (1) is the server's "try again later", anything else (ERROR, UNKNOWN,
 * a TApplicationException) is an error. Batches are cut so every frame stays under the frame limit. */
#include "rpc_protocols.h"

#include "thrift_proto.h"

typedef struct
{
  RelayThriftProtocol protocol;
  guint32 max_frame;
  gint32 seqid;
  RelayThriftLimits limits;
} RelayThriftSession;

static gpointer
_session_new(gconstpointer config)
{
  const RelayThriftClientConfig *cfg = config;
  RelayThriftSession *s = g_new0(RelayThriftSession, 1);

  s->protocol = cfg && cfg->binary ? RELAY_THRIFT_BINARY : RELAY_THRIFT_COMPACT;
  s->max_frame = cfg && cfg->max_frame ? (guint32)cfg->max_frame : RELAY_THRIFT_DEFAULT_MAX_FRAME;
  relay_thrift_limits_init(&s->limits);
  s->limits.max_frame = s->max_frame;
  return s;
}

static void
_session_free(gpointer session)
{
  g_free(session);
}

static void
_encode_batch(gpointer session, RelayEvent *const *events, guint n, GByteArray *out)
{
  RelayThriftSession *s = session;

  s->seqid++;
  relay_thrift_encode_append_batch(s->protocol, s->seqid, events, n, out);
}

static RelayClientStatus
_status_of(const RelayThriftReply *reply, char **detail)
{
  if (reply->type == RELAY_THRIFT_MSG_EXCEPTION)
    {
      *detail = g_strdup_printf("server raised TApplicationException type=%d message=%s",
                                reply->exception_type, reply->exception_message);
      return RELAY_CLIENT_ERROR;
    }
  if (reply->status == RELAY_THRIFT_STATUS_OK)
    return RELAY_CLIENT_OK;
  if (reply->status == RELAY_THRIFT_STATUS_FAILED)
    return RELAY_CLIENT_FAILED;
  *detail = g_strdup_printf("server answered status %d", reply->status);
  return RELAY_CLIENT_ERROR;
}

static RelayRpcParse
_parse_reply(gpointer session, const guint8 *buf, gsize len, gsize *consumed, RelayClientStatus *status,
             char **detail)
{
  RelayThriftSession *s = session;
  RelayThriftError err = { 0 };
  RelayThriftReply reply;
  guint32 frame_len = 0;

  RelayThriftResult r = relay_thrift_frame_peek(buf, len, s->max_frame, &frame_len, &err);
  if (r == RELAY_THRIFT_NEED_MORE)
    return RELAY_RPC_NEED_MORE;
  if (r != RELAY_THRIFT_OK
      || relay_thrift_decode_reply(s->protocol, buf + RELAY_THRIFT_FRAME_HEADER, frame_len, &s->limits,
                                   &reply, &err)
             != RELAY_THRIFT_OK
      || reply.seqid != s->seqid)
    return RELAY_RPC_BAD;
  *consumed = RELAY_THRIFT_FRAME_HEADER + frame_len;
  char *text = NULL;
  *status = _status_of(&reply, &text);
  if (text && detail)
    {
      g_free(*detail);
      *detail = text;
    }
  else
    g_free(text);
  return RELAY_RPC_DONE;
}

static guint
_fit_batch(gconstpointer config, RelayEvent *const *events, guint n)
{
  const RelayThriftClientConfig *cfg = config;
  RelayThriftProtocol protocol = cfg && cfg->binary ? RELAY_THRIFT_BINARY : RELAY_THRIFT_COMPACT;
  guint32 max = cfg && cfg->max_frame ? (guint32)cfg->max_frame : RELAY_THRIFT_DEFAULT_MAX_FRAME;

  return relay_thrift_batch_fit(protocol, events, n, max);
}

const RelayRpcProtocol relay_thrift_rpc_protocol = {
  .name = "thrift",
  .session_new = _session_new,
  .session_free = _session_free,
  .encode_batch = _encode_batch,
  .parse_reply = _parse_reply,
  .fit_batch = _fit_batch,
};
