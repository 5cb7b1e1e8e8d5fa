/* client_avro.c - the Avro wire protocol for rpc_client: appendBatch requests, handshake, replies.
 *
 * The first request on a connection carries a handshake with our protocol text already included, so a
 * Flume (Java) server answers BOTH or CLIENT in one round trip; a NONE answer (the call was not executed)
 * makes rpc_client resend the same batch. After a successful handshake no handshake bytes are sent on that
 * connection again (Avro's stateful Netty transport rule). Replies are matched by serial. */
#include "avro_proto.h"
#include "rpc_protocols.h"

#include <string.h>

typedef struct
{
  gboolean established;
  gboolean have_server_hash;
  guint8 server_hash[RELAY_AVRO_HASH_LEN];
  gint32 serial;
  RelayAvroLimits limits;
  RelayAvroFrame frame;
  RelayAvroDecoder *decoder;
} RelayAvroClientSession;

static gpointer
_session_new(gconstpointer config)
{
  RelayAvroClientSession *s = g_new0(RelayAvroClientSession, 1);

  relay_avro_limits_init(&s->limits);
  relay_avro_frame_init(&s->frame);
  s->decoder = relay_avro_decoder_new(&s->limits);
  return s;
}

static void
_session_free(gpointer session)
{
  RelayAvroClientSession *s = session;

  relay_avro_frame_clear(&s->frame);
  relay_avro_decoder_free(s->decoder);
  g_free(s);
}

static void
_encode_batch(gpointer session, RelayEvent *const *events, guint n, GByteArray *out)
{
  RelayAvroClientSession *s = session;
  RelayAvroHandshakeRequest hs;

  s->serial++;
  if (!s->established)
    relay_avro_handshake_request_init(&hs, s->have_server_hash ? s->server_hash : NULL, TRUE);
  relay_avro_encode_request(out, s->serial, s->established ? NULL : &hs, RELAY_AVRO_MSG_APPEND_BATCH, events,
                            n);
}

/* Applies the handshake part of a reply; returns RESEND for NONE, BAD for an incompatible server. */
static RelayRpcParse
_apply_handshake(RelayAvroClientSession *s, const RelayAvroResponse *resp)
{
  RelayAvroError err;

  if (!resp->has_handshake)
    return s->established ? RELAY_RPC_DONE : RELAY_RPC_BAD;
  if (!relay_avro_handshake_check_response(&resp->handshake, &err))
    return RELAY_RPC_BAD;
  if (resp->handshake.has_server_hash)
    {
      memcpy(s->server_hash, resp->handshake.server_hash, RELAY_AVRO_HASH_LEN);
      s->have_server_hash = TRUE;
    }
  if (resp->handshake.match == RELAY_AVRO_MATCH_NONE)
    return RELAY_RPC_RESEND;
  s->established = TRUE;
  return RELAY_RPC_DONE;
}

static RelayClientStatus
_status_of(const RelayAvroResponse *resp, char **detail)
{
  if (resp->is_error)
    {
      if (detail)
        {
          g_free(*detail);
          *detail = g_strdup_printf("server error: %.*s", (int)MIN(resp->error_len, 512), resp->error);
        }
      return RELAY_CLIENT_ERROR;
    }
  if (resp->status == RELAY_AVRO_STATUS_OK)
    return RELAY_CLIENT_OK;
  return resp->status == RELAY_AVRO_STATUS_FAILED ? RELAY_CLIENT_FAILED : RELAY_CLIENT_ERROR;
}

static RelayRpcParse
_parse_reply(gpointer session, const guint8 *buf, gsize len, gsize *consumed, RelayClientStatus *status,
             char **detail)
{
  RelayAvroClientSession *s = session;
  RelayAvroResponse resp;

  RelayAvroResult r = relay_avro_frame_parse(buf, len, &s->limits, &s->frame);
  if (r == RELAY_AVRO_NEED_MORE)
    return RELAY_RPC_NEED_MORE;
  if (r != RELAY_AVRO_OK || s->frame.serial != s->serial)
    return RELAY_RPC_BAD;
  *consumed = s->frame.consumed;
  relay_avro_decoder_begin(s->decoder, s->frame.slices, s->frame.n_slices);
  if (relay_avro_decode_response(s->decoder, !s->established, &resp) != RELAY_AVRO_OK)
    return RELAY_RPC_BAD;
  RelayRpcParse parse = _apply_handshake(s, &resp);
  if (parse != RELAY_RPC_DONE)
    return parse;
  if (!resp.has_result)
    return RELAY_RPC_BAD;
  *status = _status_of(&resp, detail);
  return RELAY_RPC_DONE;
}

const RelayRpcProtocol relay_avro_rpc_protocol = {
  .name = "avro",
  .session_new = _session_new,
  .session_free = _session_free,
  .encode_batch = _encode_batch,
  .parse_reply = _parse_reply,
  .fit_batch = NULL,
};
