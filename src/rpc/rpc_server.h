/* rpc_server.h - the connection engine shared by the Avro and Thrift RPC sources.
 *
 * It accepts connections on the main event loop, reads each connection into one contiguous buffer (so a
 * protocol decodes requests in place and copies every event byte exactly once, into the RelayEvent),
 * optionally through an inflating zlib stream, hands each decoded request to the source's channel processor,
 * and writes the reply only after the channel transactions committed (or failed). Requests on one
 * connection are handled strictly in order: while one waits for channel room the connection is not read,
 * which is how backpressure reaches the client's socket. Bounded everywhere: request size (the protocol's
 * limits), read buffer, unsent output (a client that stops reading stops being read), connection count.
 * A protocol violation, or a request not complete partial_timeout_ms after its first byte (a deadline: a
 * trickle of bytes does not extend it), closes that connection with one rate-limited log line and a
 * counter; so does a connection without a request for idle_timeout_ms. The read buffer shrinks back after
 * a large request; inflated bytes of all connections of the source together stay under
 * max_inflated_bytes. Connection buffers are charged to the agent's memory budget (membudget.h): when it is
 * exhausted, buffered requests are answered FAILED, connections stop being read and new ones are refused.
 * The listener rests when accept() fails (net.h's back-off).
 * Thread: everything runs on the main event loop. */
#ifndef RELAY_RPC_SERVER_H_INCLUDED
#define RELAY_RPC_SERVER_H_INCLUDED

#include "relay.h"
#include "channel_processor.h"
#include "source.h"
#include "options.h"
#include "tls.h"

typedef enum
{
  RELAY_RPC_REQ_NEED_MORE = 0, /* no complete request yet */
  RELAY_RPC_REQ_EVENTS,        /* events to store; reply after the put completes */
  RELAY_RPC_REQ_REPLY, /* answer at once with the bytes in `reply` (handshake-only, ping, unknown method) */
  RELAY_RPC_REQ_ERROR, /* protocol violation: log `error`, close (after sending `reply` if not empty) */
} RelayRpcRequestKind;

typedef struct
{
  RelayRpcRequestKind kind;
  gsize consumed;      /* bytes of input the request used (EVENTS, REPLY, ERROR with reply) */
  GPtrArray *events;   /* EVENTS: new references; the server takes ownership */
  gboolean is_batch;   /* EVENTS: appendBatch (TRUE) or append (FALSE), for counters */
  gpointer reply_ctx;  /* EVENTS: what the protocol needs to build the reply (serial, seqid); freed by
                          encode_reply */
  GByteArray *reply;   /* REPLY/ERROR: bytes to send (server-owned scratch; protocol appends) */
  char *error;         /* ERROR: reason "what=... limit=..." (new string) */
  gboolean over_limit; /* ERROR: a configured limit was exceeded (else the input was malformed) */
} RelayRpcRequest;

typedef struct
{
  const char *name;
  gpointer (*session_new)(gconstpointer config); /* per connection */
  void (*session_free)(gpointer session);
  /* Parses the next request at buf[0..len). */
  void (*parse_request)(gpointer session, const guint8 *buf, gsize len, RelayRpcRequest *out);
  /* Appends the reply for a completed put to out; frees reply_ctx. */
  void (*encode_reply)(gpointer session, gpointer reply_ctx, RelayPutResult result, GByteArray *out);
  /* Frees reply_ctx without replying (connection closed while the put was pending). */
  void (*free_reply_ctx)(gpointer reply_ctx);
  /* Optional. For a protocol error in a connection's first request: what the first bytes say about a likely
   * configuration mismatch ("the client speaks the binary protocol: set ..."), or NULL. Static string. */
  const char *(*mismatch_hint)(gconstpointer protocol_config, const guint8 *first, gsize len);
} RelayRpcServerProtocol;

typedef struct
{
  const char *bind;
  int port;                /* 0 = let the system choose (tests); read back with relay_rpc_server_port */
  gsize max_request_bytes; /* read buffer bound; the protocol enforces its own finer limits */
  gsize max_output_bytes;  /* unsent reply bytes above which the connection stops being read */
  guint max_connections;
  gboolean deflate; /* compression-type = deflate: both directions are one zlib stream each */
  int compression_level;
  char *ip_filter_rules;    /* Flume ipFilterRules ("allow:ip:127.*,deny:name:*"), NULL = no filter */
  guint partial_timeout_ms; /* a started request must complete within this long (0: 30000) */
  guint idle_timeout_ms;    /* close a connection without a request for this long (0: never) */
  gsize max_inflated_bytes; /* inflated bytes buffered by all connections together (0: unlimited) */
  gconstpointer protocol_config;
  RelayTls *tls;               /* optional (tls.h): every connection is TLS (the server takes a reference) */
  gboolean deflate_inside_tls; /* with tls and deflate: TLS(zlib(..)) (Flume 1.9), else zlib(TLS(..)) */
} RelayRpcServerConfig;

/* The connection limits every source on this engine (avro, thrift, http) takes as keys, with the same
 * defaults: a source embeds one and lists RELAY_RPC_CONN_LIMIT_OPTIONS(Type, field) in its option table. */
typedef struct
{
  gint64 max_connections;
  gint64 incomplete_request_timeout_ms;
  gint64 idle_timeout_s;
} RelayRpcConnLimits;

#define RELAY_RPC_CONN_LIMIT_OPTIONS(type, field)                                                            \
  RELAY_OPT_INT_ROW("max-connections", "512", 1, 1000000, type, field.max_connections, 0,                    \
                    "concurrent client connections; more are closed at once (keep below ulimit -n)"),        \
      RELAY_OPT_INT_ROW("incomplete-request-timeout", "30000", 100, 3600000, type,                           \
                        field.incomplete_request_timeout_ms, 0,                                              \
                        "ms from a request's first byte until it must be complete, else the connection is "  \
                        "closed"),                                                                           \
      RELAY_OPT_INT_ROW("idle-timeout", "300", 0, 86400, type, field.idle_timeout_s, 0,                      \
                        "seconds a connection may stay without a request before it is closed (0: never)")

/* Copies limits into cfg's max_connections, partial_timeout_ms and idle_timeout_ms. */
static inline void
relay_rpc_conn_limits_apply(RelayRpcServerConfig *cfg, const RelayRpcConnLimits *limits)
{
  cfg->max_connections = (guint)limits->max_connections;
  cfg->partial_timeout_ms = (guint)limits->incomplete_request_timeout_ms;
  cfg->idle_timeout_ms = (guint)limits->idle_timeout_s * 1000;
}

typedef struct _RelayRpcServer RelayRpcServer;

RelayRpcServer *relay_rpc_server_new(RelaySource *source, const RelayRpcServerProtocol *protocol,
                                     const RelayRpcServerConfig *cfg);
/* Binds and listens; logs "listening bind=... port=...". */
gboolean relay_rpc_server_start(RelayRpcServer *self, GError **error);
/* Closes the listener and every connection, cancelling pending puts (their clients get no reply and retry).
 */
void relay_rpc_server_stop(RelayRpcServer *self);
void relay_rpc_server_free(RelayRpcServer *self);
int relay_rpc_server_port(RelayRpcServer *self);

/* Validates Flume ipFilterRules syntax; FALSE with a message in *why (new string). */
gboolean relay_ip_filter_rules_valid(const char *rules, char **why);

#endif
