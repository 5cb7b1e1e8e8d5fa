/* rpc_protocols.h - the client-side wire protocols available to rpc_client (Avro and Thrift). */
#ifndef RELAY_RPC_PROTOCOLS_H_INCLUDED
#define RELAY_RPC_PROTOCOLS_H_INCLUDED

#include "rpc_client.h"

/* Avro (Netty framing + handshake, Flume's AvroSourceProtocol); protocol_config unused (NULL). */
extern const RelayRpcProtocol relay_avro_rpc_protocol;

/* Thrift (framed, ThriftSourceProtocol); protocol_config is a RelayThriftClientConfig. */
typedef struct
{
  gboolean binary; /* binary protocol instead of compact */
  gsize max_frame; /* frame size limit (Flume/Thrift default 16384000) */
} RelayThriftClientConfig;
extern const RelayRpcProtocol relay_thrift_rpc_protocol;

#endif
