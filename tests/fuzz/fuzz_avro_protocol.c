/* fuzz_avro_protocol.c - libFuzzer target: the Avro protocol JSON check (relay_avro_protocol_check) and the
 * handshake resolution that uses it, with the input as a client's protocol text.
 *
 * Checks beyond "no crash": the text is accepted by the handshake exactly when the check accepts it; an
 * accepted text announced with its own MD5 is remembered, so the same hash without text is known afterwards
 * (and a rejected one is not); our own protocol text always checks compatible. */
#include "fuzz_common.h"

#include "avro_proto.h"

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  RelayAvroError err;
  RelayAvroHandshakeRequest req;
  RelayAvroHandshakeResponse reply;
  gsize our_len;
  const char *ours = relay_avro_protocol_text(&our_len);
  gsize hash_len = RELAY_AVRO_HASH_LEN;

  fuzz_init_once();
  FUZZ_CHECK(relay_avro_protocol_check(ours, our_len, &err));
  gboolean compatible = relay_avro_protocol_check((const char *)data, size, &err);

  RelayAvroHandshakeCache *cache = relay_avro_handshake_cache_new();
  GChecksum *md5 = g_checksum_new(G_CHECKSUM_MD5);
  memset(&req, 0, sizeof req);
  g_checksum_update(md5, data, size);
  g_checksum_get_digest(md5, req.client_hash, &hash_len);
  g_checksum_free(md5);
  memcpy(req.server_hash, relay_avro_protocol_hash(), RELAY_AVRO_HASH_LEN);
  req.client_protocol = (const char *)data;
  req.client_protocol_len = size;
  RelayAvroResult r = relay_avro_handshake_resolve(cache, &req, &reply, &err);
  gboolean builtin = memcmp(req.client_hash, relay_avro_protocol_hash(), RELAY_AVRO_HASH_LEN) == 0;
  FUZZ_CHECK(builtin || (r == RELAY_AVRO_OK) == compatible);
  FUZZ_CHECK(r != RELAY_AVRO_OK || reply.match == RELAY_AVRO_MATCH_BOTH);

  req.client_protocol = NULL; /* the same client again, hash only */
  req.client_protocol_len = 0;
  r = relay_avro_handshake_resolve(cache, &req, &reply, &err);
  FUZZ_CHECK(r == RELAY_AVRO_OK);
  FUZZ_CHECK(builtin || (reply.match == RELAY_AVRO_MATCH_BOTH) == compatible);
  FUZZ_CHECK(reply.match != RELAY_AVRO_MATCH_NONE || reply.server_protocol);
  relay_avro_handshake_cache_free(cache);
  return 0;
}
