/* rpc_client.h - a blocking RPC connection with timeouts, shared by the Avro and Thrift sinks, the client
 * library and relay-send.
 *
 * One client = one TCP connection to one host, one request in flight (the Flume RpcClient model). The wire
 * protocol is a RelayRpcProtocol (client_avro.c, client_thrift.c): it encodes a batch of events into a
 * request and parses the reply. The client connects lazily, enforces connect-timeout and request-timeout
 * with poll(), applies the optional deflate stream, and drops the connection after any failure so the next
 * call starts clean (Flume marks its client dead on any failure).
 *
 * Threads: a client belongs to the thread that uses it (a sink runner, or the caller of the library). */
#ifndef RELAY_RPC_CLIENT_H_INCLUDED
#define RELAY_RPC_CLIENT_H_INCLUDED

#include "relay.h"
#include "event.h"
#include "relay-client.h" /* RelayClientStatus, relay_client_status_name (public) */

typedef struct _RelayTls RelayTls;

typedef enum
{
  RELAY_RPC_NEED_MORE = 0,
  RELAY_RPC_DONE,   /* a complete reply; *status set */
  RELAY_RPC_RESEND, /* the protocol needs the same request sent again (Avro handshake NONE) */
  RELAY_RPC_BAD,    /* malformed reply */
} RelayRpcParse;

typedef struct
{
  const char *name; /* "avro", "thrift" */
  /* Per-connection protocol state (handshake done, serials); created at connect, freed at disconnect. */
  gpointer (*session_new)(gconstpointer protocol_config);
  void (*session_free)(gpointer session);
  /* Appends one request carrying events[0..n) to out. */
  void (*encode_batch)(gpointer session, RelayEvent *const *events, guint n, GByteArray *out);
  /* Parses a reply from buf[0..len); on DONE sets *consumed, *status and, for errors, *detail (new string).
   */
  RelayRpcParse (*parse_reply)(gpointer session, const guint8 *buf, gsize len, gsize *consumed,
                               RelayClientStatus *status, char **detail);
  /* How many of events[0..n) fit in one request (Thrift's frame limit); NULL = all. At least 1. */
  guint (*fit_batch)(gconstpointer protocol_config, RelayEvent *const *events, guint n);
} RelayRpcProtocol;

typedef struct
{
  char *host;
  int port;
  gint64 connect_timeout_ms;
  gint64 request_timeout_ms;
  gint64 batch_size;             /* events per request; larger calls are split */
  gboolean deflate;              /* compression-type = deflate */
  int compression_level;         /* 1..9 */
  gsize max_reply_bytes;         /* bound on a reply (after inflation) */
  const gint *abort_flag;        /* optional, atomic: raised -> calls return ABORTED within ~100 ms */
  gconstpointer protocol_config; /* handed to the protocol's functions */
  RelayTls *tls;                 /* optional (tls.h): TLS with this context (the client takes a reference) */
  gboolean deflate_inside_tls;   /* with tls and deflate: TLS(zlib(..)) (Flume 1.9), else zlib(TLS(..)) */
} RelayRpcClientConfig;

typedef struct _RelayRpcClient RelayRpcClient;

/* Copies cfg (host duplicated). Does not connect. */
RelayRpcClient *relay_rpc_client_new(const RelayRpcProtocol *protocol, const RelayRpcClientConfig *cfg);
void relay_rpc_client_free(RelayRpcClient *self);
/* Sends events in requests of at most batch_size, one after another, each waiting for its reply. Returns
 * OK only if every request was answered OK. On failure, *detail (if not NULL) gets a new message, and the
 * connection is closed. */
RelayClientStatus relay_rpc_client_append_batch(RelayRpcClient *self, RelayEvent *const *events, guint n,
                                                char **detail);
gboolean relay_rpc_client_connect(RelayRpcClient *self, char **detail);
void relay_rpc_client_disconnect(RelayRpcClient *self);
gboolean relay_rpc_client_is_connected(RelayRpcClient *self);
const char *relay_rpc_client_peer(RelayRpcClient *self); /* "host:port" */
/* The reason of the last TLS failure of this client, or -1 if the last failure was not a TLS one
 * (a RelayTlsFailure, for the sink's counters). Reset by each connect. */
int relay_rpc_client_tls_failure(RelayRpcClient *self);
/* Bytes written to the network (compressed size when compressed) since the previous call. */
gint64 relay_rpc_client_take_bytes_sent(RelayRpcClient *self);

#endif
