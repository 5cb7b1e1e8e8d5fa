/* net.h - TCP server helpers for sources: listening sockets, accepted connections, limits, backpressure.
 *
 * Two layers. The low layer resolves "bind"/"port" (a host name, an IPv4/IPv6 literal or 0.0.0.0; port 0
 * lets the OS choose, for tests), creates an evconnlistener on the main event_base (SO_REUSEADDR, backlog
 * 1024) and logs the one line integration tests grep for: "listening bind=<bind> port=<bound port>". The
 * HTTP source uses only this layer (evhttp_bind_listener takes the listener).
 *
 * The upper layer, RelayNetServer, owns the listener and every accepted connection (RelayNetConn, a
 * bufferevent with TCP_NODELAY and SO_KEEPALIVE): it refuses connections above max_connections (closed at
 * once, rate-limited warning), stops reading a connection whose input buffer reached read_high_watermark or
 * whose output buffer grew above write_high_watermark (a peer that does not read its replies), lets the
 * owner pause reading while a channel put is pending, and closes connections deferred, so any callback may
 * close its own connection. Buffered bytes (input and output) are charged to the memory budget
 * (membudget.h); while it is exhausted connections are not read and new ones are refused. With a RelayTls
 * in the config every connection is TLS (tls.c's memory-BIO sessions; see RelayNetServerConfig). The protocol
 * (netcat, Avro, Thrift) lives in the owner's callbacks.
 *
 * Threads: everything runs on the thread of the event_base (the main loop). */
#ifndef RELAY_NET_H_INCLUDED
#define RELAY_NET_H_INCLUDED

#include "relay.h"
#include "tls.h"
#include <event2/event.h>
#include <event2/listener.h>
#include <sys/socket.h>

/* "ip:port" or "[ipv6]:port", NUL included. */
#define RELAY_NET_PEER_MAX 64
/* listen(2) backlog of every listener. */
#define RELAY_NET_BACKLOG 1024

/* ---- low layer ---- */

/* Resolves bind (host name or literal) and port (0..65535) for a passive socket: the first IPv4 address if
 * the name has one (as Java's InetAddress.getByName), else the first address. May block on DNS: start-up
 * only. FALSE with RELAY_ERROR_CONFIG if the name does not resolve or the port is out of range. */
gboolean relay_net_resolve(const char *bind, gint64 port, struct sockaddr_storage *addr, socklen_t *addr_len,
                           GError **error);

/* Resolves, binds and listens. cb may be NULL (the listener stays idle until evconnlistener_set_cb, e.g.
 * by evhttp_bind_listener). Logs "listening bind=... port=..." at info under log_prefix. Returns a new
 * listener that owns its socket, or NULL with RELAY_ERROR_IO (address in use, permission). */
struct evconnlistener *relay_net_listen(struct event_base *base, const char *log_prefix, const char *bind,
                                        gint64 port, evconnlistener_cb cb, gpointer cb_arg, GError **error);

/* The locally bound port of a listener (the OS's choice when port 0 was asked for); 0 on error. */
guint16 relay_net_listener_port(struct evconnlistener *listener);

/* Sets TCP_NODELAY and SO_KEEPALIVE on an accepted socket (failures are ignored: not fatal). */
void relay_net_tune_socket(evutil_socket_t fd);

/* Formats sa as "ip:port" ("[ip]:port" for IPv6) into buf (RELAY_NET_PEER_MAX bytes); "?" if unknown. */
void relay_net_format_peer(const struct sockaddr *sa, socklen_t sa_len, char *buf, gsize buf_size);

/* Moves the TLS records waiting in tconn straight into out (one copy, no intermediate buffer). */
struct evbuffer;
void relay_net_tls_take_output(RelayTlsConn *tconn, struct evbuffer *out);

/* ---- listener back-off (every listener of the process uses it) ----
 *
 * When accept() fails for lack of resources (EMFILE, ENFILE, ENOBUFS, ENOMEM), a level-triggered listener
 * stays readable and libevent would retry (and log) in a tight loop. A guard installs the listener's error
 * callback: the listener is disabled, retried every RELAY_NET_ACCEPT_RETRY_S seconds on a timer, and one
 * warning per RELAY_NET_ACCEPT_LOG_S seconds says how many accepts failed since the previous one; *counter
 * (may be NULL; a relaxed-atomic counter of the owner) counts every failure. Accepting resumes by itself
 * once descriptors are free again. Main loop only. */
#define RELAY_NET_ACCEPT_RETRY_S 1
#define RELAY_NET_ACCEPT_LOG_S 10

typedef struct _RelayNetAcceptGuard RelayNetAcceptGuard;

/* Guards listener (borrowed; free the guard before the listener). log_prefix is copied. */
RelayNetAcceptGuard *relay_net_accept_guard_new(struct evconnlistener *listener, const char *log_prefix,
                                                gint64 *counter);
void relay_net_accept_guard_free(RelayNetAcceptGuard *guard);
/* Accept failures so far. */
guint64 relay_net_accept_guard_failures(RelayNetAcceptGuard *guard);

/* Warns (once, at start) when max_connections leaves fewer than RELAY_NET_FD_RESERVE descriptors of the
 * process's limit (RLIMIT_NOFILE) for everything else: accepts would then pause when descriptors run out. */
#define RELAY_NET_FD_RESERVE 64
void relay_net_check_fd_limit(const char *log_prefix, guint max_connections);

/* ---- upper layer: server and connections ---- */

typedef struct _RelayNetServer RelayNetServer;
typedef struct _RelayNetConn RelayNetConn;

typedef struct
{
  /* A connection was accepted; conn is ready. Set per-connection state with relay_net_conn_set_data().
   * Return FALSE to refuse it (closed without calling closed()). */
  gboolean (*accepted)(RelayNetConn *conn, gpointer server_data);
  /* Input is buffered: consume what can be consumed from relay_net_conn_input(). Also called (deferred)
   * after relay_net_conn_resume() when unconsumed input is left. Not called while paused or closing. */
  void (*readable)(RelayNetConn *conn, gpointer conn_data);
  /* The connection is being freed (peer closed, error, relay_net_conn_close, server freed). Called once;
   * release conn_data and cancel pending work here. The connection must not be used afterwards. */
  void (*closed)(RelayNetConn *conn, gpointer conn_data);
} RelayNetHandler;

typedef struct
{
  const char *bind;
  gint64 port;                 /* 0..65535; 0 = the OS chooses (relay_net_server_port tells) */
  guint max_connections;       /* > 0; further connections are accepted and closed at once */
  gsize read_high_watermark;   /* > 0; reading stops while this many input bytes are unconsumed */
  gsize write_high_watermark;  /* > 0; reading stops while more output than this is queued, resumes at half */
  gint64 *refused_counter;     /* may be NULL: counts connections closed at once (max-connections, memory) */
  gint64 *accept_fail_counter; /* may be NULL: counts failed accept() calls (see the listener back-off) */
  gint64 *memory_counter;      /* may be NULL: counts connections refused because memory.limit was reached */
  /* TLS (tls.h). With tls every connection is TLS: relay_net_conn_input() holds the decrypted bytes and
   * replies are encrypted (only after the handshake, which is the only time readable() can have run). With
   * refuse_tls_hello a plaintext server closes a connection that starts with a TLS ClientHello. A failure
   * (the first bytes are not TLS, handshake, certificate, subject, ssl-handshake-timeout) closes the
   * connection with one rate-limited line per reason and tls_errors[reason] (RELAY_TLS_FAIL_N counters,
   * may be NULL) incremented. */
  RelayTls *tls; /* may be NULL; the server takes a reference */
  gboolean refuse_tls_hello;
  gint64 *tls_errors;
  gint64 *tls_handshakes; /* may be NULL: counts handshakes completed and accepted */
} RelayNetServerConfig;

/* Why reading is paused; reading resumes when no bit is left. */
typedef enum
{
  RELAY_NET_PAUSE_PUT = 1 << 0,   /* the owner waits for a channel put */
  RELAY_NET_PAUSE_OWNER = 1 << 1, /* any other owner reason */
} RelayNetPause;

/* Listens (see relay_net_listen). handler is borrowed (a static table), server_data is passed to
 * accepted(). Returns NULL with error if the socket cannot be bound. */
RelayNetServer *relay_net_server_new(struct event_base *base, const char *log_prefix,
                                     const RelayNetServerConfig *config, const RelayNetHandler *handler,
                                     gpointer server_data, GError **error);
/* Closes the listener and every connection (closed() runs for each, before this returns). Must not be
 * called from inside one of this server's callbacks. NULL is ignored. */
void relay_net_server_free(RelayNetServer *self);
guint16 relay_net_server_port(RelayNetServer *self);
guint relay_net_server_n_connections(RelayNetServer *self);

const char *relay_net_conn_peer(RelayNetConn *conn);
gpointer relay_net_conn_get_data(RelayNetConn *conn);
void relay_net_conn_set_data(RelayNetConn *conn, gpointer conn_data);
RelayNetServer *relay_net_conn_server(RelayNetConn *conn);

/* The client certificate's subject once the TLS handshake is done (NULL without TLS or certificate). */
const char *relay_net_conn_tls_subject(RelayNetConn *conn);

/* The input buffer (borrowed; the decrypted bytes with TLS): the owner drains what it consumed. */
struct evbuffer *relay_net_conn_input(RelayNetConn *conn);
/* Queues a reply (copied). Ignored once the connection is being freed. */
void relay_net_conn_write(RelayNetConn *conn, const void *data, gsize len);
/* Queues a reply by moving all of buf's data (no copy). */
void relay_net_conn_write_buffer(RelayNetConn *conn, struct evbuffer *buf);

/* Stops reading until reason is cleared by relay_net_conn_resume(). */
void relay_net_conn_pause(RelayNetConn *conn, RelayNetPause reason);
/* TRUE while anything pauses reading (the owner, or unsent output above write_high_watermark): a readable()
 * that loops over buffered requests should stop and wait to be called again. */
gboolean relay_net_conn_is_paused(RelayNetConn *conn);
/* Clears reason; when nothing else pauses the connection, reading restarts and, if input is buffered,
 * readable() runs again from the loop (never from inside this call). */
void relay_net_conn_resume(RelayNetConn *conn, RelayNetPause reason);

/* Stops reading and frees the connection from the loop (never inside this call): at once when flush is
 * FALSE, after the queued output was written (at most 5 s) when TRUE. Safe from any callback; repeated
 * calls are harmless (a later flush=FALSE shortens a flush). */
void relay_net_conn_close(RelayNetConn *conn, gboolean flush);
gboolean relay_net_conn_is_closing(RelayNetConn *conn);

/* ---- issue 19: --check ---- */

/* For relayd --check: TRUE if host:port could be listened on now (a socket is bound, listened and closed
 * again); FALSE with RELAY_ERROR_IO naming the address and the reason (in use, permission), or the resolve
 * error. Port 0 is always TRUE. Main thread, before anything starts. */
gboolean relay_net_check_listen(const char *host, gint64 port, GError **error);

#endif
