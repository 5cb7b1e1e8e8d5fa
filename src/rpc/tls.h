/* tls.h - TLS for every network component (RPC sources and sinks, the client library, and any later TCP
 * or HTTP server): Flume's keys, key and trust stores, SSL_CTX building, reload, and a transport-neutral
 * TLS session over memory buffers.
 *
 * Three layers:
 * - RelayTlsOptions: the configuration keys (Flume's ssl, keystore*, truststore*, trust-all-certs,
 *   include/exclude-protocols, include/exclude-cipher-suites, plus relayd's ssl-client-auth,
 *   ssl-allowed-subjects, ssl-verify-hostname, ssl-peer-header, ssl-handshake-timeout), embedded in a
 *   component and filled by its option table (RELAY_TLS_SERVER_OPTIONS / RELAY_TLS_CLIENT_OPTIONS rows).
 *   Unset keys fall back to Flume's globals: -Djavax.net.ssl.keyStore... / -Dflume.ssl.* then the
 *   FLUME_SSL_* environment variables (flume-ng-sdk/src/main/java/org/apache/flume/util/SSLUtil.java).
 * - RelayTls: the SSL_CTX built from those options, shared by all connections of one component. Every
 *   RelayTls is registered; relay_tls_reload_all() (SIGHUP) builds a new SSL_CTX from the same files for
 *   new connections, established ones keep theirs; a failed reload keeps the old one and logs why.
 * - RelayTlsConn: one TLS connection driven through memory BIOs: the owner feeds the bytes it read from the
 *   network, takes the bytes to send, reads and writes plaintext. It owns no socket and never blocks, so
 *   it fits an event loop (rpc_server), a poll() loop (rpc_client) and any other transport, and lets a
 *   deflate stream sit on either side of TLS (Flume 1.9 and 1.10+ order them differently).
 *
 * Threads: RelayTls may be used from any thread (the SSL_CTX pointer is swapped under a lock); a
 * RelayTlsConn belongs to the thread that drives it. */
#ifndef RELAY_TLS_H_INCLUDED
#define RELAY_TLS_H_INCLUDED

#include "relay.h"
#include "config.h"
#include "options.h"

/* Why a TLS connection failed (one counter per reason, on sources and sinks). */
typedef enum
{
  RELAY_TLS_FAIL_UNTRUSTED = 0, /* the peer's chain does not lead to a trusted CA */
  RELAY_TLS_FAIL_EXPIRED,       /* the peer's certificate has expired */
  RELAY_TLS_FAIL_NOT_YET_VALID, /* the peer's certificate is not valid yet */
  RELAY_TLS_FAIL_HOSTNAME,      /* the server's certificate does not name the host connected to */
  RELAY_TLS_FAIL_NO_PEER_CERT,  /* a client certificate is required and none was sent */
  RELAY_TLS_FAIL_SUBJECT,       /* the client certificate's subject is not in ssl-allowed-subjects */
  RELAY_TLS_FAIL_PLAINTEXT,     /* a plaintext client on a TLS port */
  RELAY_TLS_FAIL_TLS_ON_PLAIN,  /* a TLS client on a plaintext port */
  RELAY_TLS_FAIL_TIMEOUT,       /* the handshake did not complete in time */
  RELAY_TLS_FAIL_PEER_REJECTED, /* the peer refused our certificate (it sent an alert) */
  RELAY_TLS_FAIL_HANDSHAKE,     /* anything else: no common protocol or cipher, malformed records */
  RELAY_TLS_FAIL_N,
} RelayTlsFailure;

/* "untrusted-certificate", "certificate-expired", ... (used in log lines and metric labels). */
const char *relay_tls_failure_name(RelayTlsFailure failure);

typedef enum
{
  RELAY_TLS_CLIENT_AUTH_NONE = 0,
  RELAY_TLS_CLIENT_AUTH_OPTIONAL,
  RELAY_TLS_CLIENT_AUTH_REQUIRED,
} RelayTlsClientAuth;

/* Avro with ssl and deflate: which layer is next to the socket. */
typedef enum
{
  RELAY_TLS_DEFLATE_OUTSIDE = 0, /* wire = zlib(TLS(packs)): Flume 1.10 and later (the default) */
  RELAY_TLS_DEFLATE_INSIDE,      /* wire = TLS(zlib(packs)): Flume 1.9 */
} RelayTlsDeflateOrder;

typedef struct
{
  gboolean ssl;
  char *keystore, *keystore_password, *keystore_type;
  char *truststore, *truststore_password, *truststore_type;
  gboolean trust_all_certs;
  char *include_protocols, *exclude_protocols;
  char *include_cipher_suites, *exclude_cipher_suites;
  int client_auth; /* RelayTlsClientAuth (servers) */
  char *allowed_subjects;
  gboolean verify_hostname; /* clients */
  char *peer_header;
  gint64 handshake_timeout_ms;
  int deflate_order; /* RelayTlsDeflateOrder (Avro) */
} RelayTlsOptions;

extern const char *const relay_tls_client_auth_choices[];
extern const char *const relay_tls_deflate_order_choices[];

#define _RELAY_TLS_COMMON_ROWS(T, f)                                                                         \
  RELAY_OPT_BOOL_ROW("ssl", "false", T, f.ssl, 0, "encrypt connections with TLS"),                           \
      RELAY_OPT_STRING_ROW("keystore", NULL, T, f.keystore, 0,                                               \
                           "PKCS12 or PEM file with this side's certificate chain and private key"),         \
      RELAY_OPT_STRING_ROW("keystore-password", NULL, T, f.keystore_password, RELAY_OPTF_EMPTY_OK,           \
                           "password of the keystore (and of its key)"),                                     \
      RELAY_OPT_STRING_ROW("keystore-type", NULL, T, f.keystore_type, 0,                                     \
                           "PKCS12 or PEM (detected from the file when unset; JKS is refused)"),             \
      RELAY_OPT_STRING_ROW("truststore", NULL, T, f.truststore, 0, "PKCS12 or PEM file of trusted CAs"),     \
      RELAY_OPT_STRING_ROW("truststore-password", NULL, T, f.truststore_password, RELAY_OPTF_EMPTY_OK,       \
                           "password of the truststore"),                                                    \
      RELAY_OPT_STRING_ROW("truststore-type", NULL, T, f.truststore_type, 0,                                 \
                           "PKCS12 or PEM (detected from the file when unset)"),                             \
      RELAY_OPT_STRING_ROW("include-protocols", NULL, T, f.include_protocols, 0,                             \
                           "space-separated TLS versions to allow (default TLSv1.2 TLSv1.3)"),               \
      RELAY_OPT_STRING_ROW("exclude-protocols", NULL, T, f.exclude_protocols, 0,                             \
                           "space-separated TLS versions to refuse (SSLv3 always is)"),                      \
      RELAY_OPT_STRING_ROW("include-cipher-suites", NULL, T, f.include_cipher_suites, 0,                     \
                           "space-separated cipher suites (IANA or OpenSSL names) to allow"),                \
      RELAY_OPT_STRING_ROW("exclude-cipher-suites", NULL, T, f.exclude_cipher_suites, 0,                     \
                           "space-separated cipher suites to refuse"),                                       \
      RELAY_OPT_INT_ROW("ssl-handshake-timeout", "10000", 100, 3600000, T, f.handshake_timeout_ms, 0,        \
                        "ms a TLS handshake may take before the connection is closed")

/* Rows of a TLS server (a source). */
#define RELAY_TLS_SERVER_OPTIONS(T, f)                                                                       \
  _RELAY_TLS_COMMON_ROWS(T, f),                                                                              \
      RELAY_OPT_ENUM_ROW("ssl-client-auth", "none", relay_tls_client_auth_choices, T, f.client_auth, 0,      \
                         "none, optional or required: ask clients for a certificate signed by the "          \
                         "truststore's CAs"),                                                                \
      RELAY_OPT_STRING_ROW("ssl-allowed-subjects", NULL, T, f.allowed_subjects, 0,                           \
                           "comma-separated patterns (* and ?) a client certificate's subject must match"),  \
      RELAY_OPT_STRING_ROW("ssl-peer-header", NULL, T, f.peer_header, 0,                                     \
                           "event header that receives the client certificate's subject")

/* Rows of a TLS client (a sink). */
#define RELAY_TLS_CLIENT_OPTIONS(T, f)                                                                       \
  _RELAY_TLS_COMMON_ROWS(T, f),                                                                              \
      RELAY_OPT_BOOL_ROW("trust-all-certs", "false", T, f.trust_all_certs, 0,                                \
                         "accept any server certificate (no verification at all)"),                          \
      RELAY_OPT_BOOL_ROW("ssl-verify-hostname", "true", T, f.verify_hostname, 0,                             \
                         "check that the server's certificate names the hostname connected to")

/* Row choosing the Avro ssl+deflate layering. */
#define RELAY_TLS_DEFLATE_ORDER_ROW(T, f)                                                                    \
  RELAY_OPT_ENUM_ROW("ssl-deflate-order", "deflate-outside-tls", relay_tls_deflate_order_choices, T,         \
                     f.deflate_order, 0,                                                                     \
                     "with ssl and deflate: deflate-outside-tls (Flume 1.10+) or tls-outside-deflate "       \
                     "(Flume 1.9)")

/* ---- globals (-D system properties and environment) ---- */

/* Records a -D system property if it is one of Flume's TLS globals (javax.net.ssl.keyStore...,
 * flume.ssl.*); FALSE if the key is not one. Call before components are configured. */
gboolean relay_tls_set_system_property(const char *key, const char *value);

/* ---- contexts ---- */

typedef struct _RelayTls RelayTls;

/* Fills unset options from the globals, checks them and loads the stores. On failure returns NULL with
 * *bad_key naming the configuration key concerned and error naming the file and the problem. server: a
 * source's side. label: the log prefix of reload lines. */
RelayTls *relay_tls_new(const RelayTlsOptions *options, gboolean server, const char *label,
                        const char **bad_key, GError **error);
/* The same for a component's configure(): on failure adds one report line and returns NULL (tls_config.c). */
RelayTls *relay_tls_new_for_component(const RelayTlsOptions *options, gboolean server, const char *label,
                                      const RelayComponentConfig *cc, RelayConfigReport *report);
/* A component's configure() in one call: without ssl TRUE and *ctx NULL; with ssl the context is built into
 * *ctx, or a report line is added and FALSE returned. Every TLS source and sink uses this. */
gboolean relay_tls_component_configure(const RelayTlsOptions *options, gboolean server, const char *label,
                                       const RelayComponentConfig *cc, RelayConfigReport *report,
                                       RelayTls **ctx);
RelayTls *relay_tls_ref(RelayTls *self);
void relay_tls_unref(RelayTls *self);
const RelayTlsOptions *relay_tls_options(RelayTls *self);

/* Rebuilds every live context from its files (SIGHUP). Established connections keep their context. Logs
 * one line per context: reloaded, or failed and why (the old one stays). Returns the number that failed. */
guint relay_tls_reload_all(void);
/* TRUE once a context failed to load at start-up (main exits). */
gboolean relay_tls_startup_failed(void);

/* A new SSL object with the current context, for a transport that does its own I/O (libevent's
 * bufferevent_openssl: the monitoring endpoint). */
struct ssl_st *relay_tls_new_ssl(RelayTls *self);

/* ---- connections ---- */

typedef struct _RelayTlsConn RelayTlsConn;

typedef enum
{
  RELAY_TLS_IO_OK = 0, /* progress (or nothing to do yet) */
  RELAY_TLS_IO_CLOSED, /* the peer closed the TLS session cleanly */
  RELAY_TLS_IO_FAILED, /* handshake or record failure: relay_tls_conn_failure() says why */
} RelayTlsIo;

/* host: the name connected to (clients; used for SNI and, unless disabled, hostname verification). */
RelayTlsConn *relay_tls_conn_new(RelayTls *tls, const char *host);
void relay_tls_conn_free(RelayTlsConn *self);
/* Bytes read from the network. */
void relay_tls_conn_feed(RelayTlsConn *self, const guint8 *data, gsize len);
/* Advances the handshake and appends decrypted bytes to out (at most max_out bytes in total in out). */
RelayTlsIo relay_tls_conn_read(RelayTlsConn *self, GByteArray *out, gsize max_out);
/* The same into a caller's buffer: decrypts at most cap bytes straight into buf, *n_read says how many
 * (cap 0 only advances the handshake). */
RelayTlsIo relay_tls_conn_read_into(RelayTlsConn *self, guint8 *buf, gsize cap, gsize *n_read);
/* relay_tls_conn_feed() then relay_tls_conn_read() without copying data first: OpenSSL reads the records
 * straight from data; only what it leaves (a partial record, or records past max_out) is copied and kept. */
RelayTlsIo relay_tls_conn_feed_read(RelayTlsConn *self, const guint8 *data, gsize len, GByteArray *out,
                                    gsize max_out);
/* Bytes fed and not yet decrypted (to bound what an owner feeds). */
gsize relay_tls_conn_input_pending(RelayTlsConn *self);
/* Encrypts len plaintext bytes (the handshake must be complete). */
RelayTlsIo relay_tls_conn_write(RelayTlsConn *self, const guint8 *data, gsize len);
/* Moves the bytes waiting to be sent to the network into out (appended). */
void relay_tls_conn_take_output(RelayTlsConn *self, GByteArray *out);
/* Bytes waiting to be sent, and taking at most cap of them into dst (returns how many): lets an owner
 * move the records straight into its own output buffer. */
gsize relay_tls_conn_output_pending(RelayTlsConn *self);
gsize relay_tls_conn_take_output_into(RelayTlsConn *self, guint8 *dst, gsize cap);
/* The same without a copy: *data points at the waiting records (valid until the next call on self), and
 * relay_tls_conn_consume_output() drops the first n bytes once they were sent. */
gsize relay_tls_conn_peek_output(RelayTlsConn *self, const guint8 **data);
void relay_tls_conn_consume_output(RelayTlsConn *self, gsize n);
gboolean relay_tls_conn_established(RelayTlsConn *self);
/* After the handshake: checks ssl-allowed-subjects. FALSE with the failure set when refused. */
gboolean relay_tls_conn_check_peer(RelayTlsConn *self);
/* The peer certificate's subject (RFC 2253), NULL if none. Borrowed. */
const char *relay_tls_conn_peer_subject(RelayTlsConn *self);
RelayTlsFailure relay_tls_conn_failure(RelayTlsConn *self);
/* Human-readable detail of the failure (borrowed). */
const char *relay_tls_conn_failure_detail(RelayTlsConn *self);
/* Marks the connection failed for a reason found by the owner (timeout, plaintext). */
void relay_tls_conn_set_failure(RelayTlsConn *self, RelayTlsFailure failure, const char *detail);

/* First bytes of a connection: TRUE if they start a TLS ClientHello record (a TLS client). */
gboolean relay_tls_looks_like_client_hello(const guint8 *data, gsize len);

#endif
