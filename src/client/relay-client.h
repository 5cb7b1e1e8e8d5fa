/* relay-client.h - relayd's C client library: send Flume events over Avro or Thrift RPC.
 *
 * Created from properties named as Flume's RpcClient properties:
 *   client.type          default (Avro) | thrift | default_failover | default_loadbalance
 *   hosts                space-separated host aliases; hosts.<alias> = host:port
 *   batch-size           events per request (100); larger append_batch calls are split
 *   connect-timeout, request-timeout   ms (20000; values below 1000 mean 20000, as in Flume)
 *   compression-type     none | deflate (Avro); compression-level 1..9 (6)
 *   protocol             compact | binary (Thrift; default compact)
 *   rpc.protocol         avro | thrift: the wire protocol under default_failover / default_loadbalance
 *                        (relayd's own key; Flume's failover and load-balancing clients are Avro only)
 *   max-attempts         failover: hosts tried per call (default: the number of hosts)
 *   host-selector        load balance: round_robin | random; backoff true|false; maxBackoff ms (30000)
 *   ssl                  true: TLS, with the TLS keys of the RPC sinks: truststore, truststore-password,
 *                        truststore-type, trust-all-certs, keystore, keystore-password, keystore-type (a
 *                        client certificate), include/exclude-protocols, include/exclude-cipher-suites,
 *                        ssl-verify-hostname (true), ssl-handshake-timeout (ms, 10000) and
 *                        ssl-deflate-order (deflate-outside-tls | tls-outside-deflate)
 *
 * A client is used by one thread at a time. Events are built with relay_event_new() (event.h).
 *
 * Installed headers: relay-client.h, event.h and relay.h under $(includedir)/relayd; compile and link with
 * `pkg-config --cflags --libs relay-client` (shared library) or `pkg-config --static ...` (static). */
#ifndef RELAY_CLIENT_H_INCLUDED
#define RELAY_CLIENT_H_INCLUDED

#include "event.h"

/* What a call returned. */
typedef enum
{
  RELAY_CLIENT_OK = 0,
  RELAY_CLIENT_FAILED,         /* the server answered FAILED (e.g. its channel is full) */
  RELAY_CLIENT_ERROR,          /* the server answered with an error, or broke the protocol */
  RELAY_CLIENT_TIMEOUT,        /* no complete reply within request-timeout */
  RELAY_CLIENT_CONNECT_FAILED, /* could not connect within connect-timeout */
  RELAY_CLIENT_IO,             /* the connection failed while sending or receiving */
  RELAY_CLIENT_ABORTED,        /* the abort flag was raised (shutdown) */
  RELAY_CLIENT_REJECTED,       /* the server closed a fresh connection on its first request without any reply:
                                  most likely the client and the source disagree on the protocol (Thrift
                                  compact | binary) or compression-type; see relay_send.c for how it is used */
} RelayClientStatus;
#define RELAY_CLIENT_STATUS_COUNT (RELAY_CLIENT_REJECTED + 1)

/* "OK", "FAILED", ... (static strings). */
const char *relay_client_status_name(RelayClientStatus status);

typedef struct _RelayClient RelayClient;

/* props: NULL-terminated list key, value, key, value, ... Returns NULL with error on a bad property. */
RelayClient *relay_client_new(const char *const *props, GError **error);
/* Ownership: append and append_batch borrow the events. They read them during the call only and neither
 * take nor drop a reference, whatever the result, so the caller still owns its references afterwards:
 * release each with relay_event_unref() when done (after OK, or after giving up on resending them). The
 * events array itself is not kept either. On failure *detail (when detail is not NULL) receives a message
 * to be freed with g_free(). */

/* Sends one event; OK only once the server committed it. */
RelayClientStatus relay_client_append(RelayClient *self, RelayEvent *event, char **detail);
/* Sends events in requests of batch-size; OK only if all were committed. On failure some earlier requests
 * may have been committed (at-least-once: resend the whole batch). */
RelayClientStatus relay_client_append_batch(RelayClient *self, RelayEvent *const *events, guint n,
                                            char **detail);
/* The batch-size property. */
guint relay_client_batch_size(RelayClient *self);
void relay_client_free(RelayClient *self);

#endif
