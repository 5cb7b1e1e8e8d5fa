/* relayd/plugin.h - the stable C interface between relayd and the plugins it loads from plugins.d.
 *
 * A plugin is a shared library in plugins.d/NAME/lib/ (its own dependencies in plugins.d/NAME/libext/ and
 * plugins.d/NAME/native/, loaded first). It is built against this header alone (pkg-config relayd-plugin) and
 * exports two symbols, both made by RELAYD_PLUGIN_DEFINE(): the interface version it was built for and
 * relayd_plugin_register(), which registers its component classes. relayd refuses, with a line naming the
 * file, a library built for another interface version or lacking either symbol.
 *
 * A class has a short type (matched case-insensitively, as Flume's aliases) and optionally a Flume-style
 * class name (matched exactly), a one-line description and an option table; relayd parses, checks and reports
 * the configuration keys of plugin components exactly as for its own ones (--check, --help-components,
 * unknown keys, batchSize against transactionCapacity) and fills the plugin's configuration struct before
 * configure.
 *
 * Everything relayd owns is opaque and reached through functions (events, batches, transactions, counters),
 * so relayd's internals can change without breaking plugins; any change to this file that is not a pure
 * addition at the end bumps RELAYD_PLUGIN_INTERFACE_VERSION.
 *
 * Threads: configure, start and stop run on relayd's main thread. An event-driven source runs on the main
 * event loop (relayd_source_event_base) and must never block it. A pollable source's process() and
 * committed() run on a thread relayd starts for that source alone; they may block, but for at most about a
 * second at a time, since stopping waits for the call in progress. A sink's process() runs on its sink
 * runner's thread. */
#ifndef RELAYD_PLUGIN_H_INCLUDED
#define RELAYD_PLUGIN_H_INCLUDED

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* C++ plugins see C linkage (as glib's G_BEGIN_DECLS). */
#ifdef __cplusplus
#define RELAYD_PLUGIN_BEGIN_DECLS                                                                            \
  extern "C"                                                                                                 \
  {
#define RELAYD_PLUGIN_END_DECLS }
#else
#define RELAYD_PLUGIN_BEGIN_DECLS
#define RELAYD_PLUGIN_END_DECLS
#endif

RELAYD_PLUGIN_BEGIN_DECLS

#define RELAYD_PLUGIN_INTERFACE_VERSION 1

#if defined(__GNUC__)
#define RELAYD_PLUGIN_EXPORT __attribute__((visibility("default")))
#define RELAYD_PLUGIN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define RELAYD_PLUGIN_EXPORT
#define RELAYD_PLUGIN_PRINTF(f, a)
#endif

typedef struct RelaydRegistrar RelaydRegistrar; /* handed to relayd_plugin_register */
typedef struct RelaydComponent RelaydComponent; /* one configured source or sink */
typedef struct RelaydEvent RelaydEvent;         /* immutable, reference-counted event */
typedef struct RelaydBatch RelaydBatch;         /* a pollable source's batch: one channel transaction */
typedef struct RelaydTxn RelaydTxn;             /* a sink's take transaction */
typedef struct RelaydError RelaydError;         /* where configure/start say what is wrong */
typedef struct RelaydPutRequest RelaydPutRequest;

/* The plugin's entry point, defined by the plugin (RELAYD_PLUGIN_DEFINE declares it): registers its classes.
 * Returns 0, or non-zero to have the whole library refused. Called once, on the main thread, at start. */
RELAYD_PLUGIN_EXPORT int relayd_plugin_register(RelaydRegistrar *registrar);

/* Put once in one source file of the plugin. */
#define RELAYD_PLUGIN_DEFINE()                                                                               \
  RELAYD_PLUGIN_EXPORT extern const uint32_t relayd_plugin_interface_version;                                \
  const uint32_t relayd_plugin_interface_version = RELAYD_PLUGIN_INTERFACE_VERSION

/* ---- option tables ---- */

typedef enum
{
  RELAYD_OPT_INT = 0, /* int64_t field; decimal */
  RELAYD_OPT_BOOL,    /* int field; true/false */
  RELAYD_OPT_STRING,  /* char * field; relayd owns the string (valid until the component is freed) */
  RELAYD_OPT_ENUM,    /* int field: index into choices (matched case-insensitively) */
  RELAYD_OPT_DOUBLE,  /* double field */
} RelaydOptionType;

/* Option flags: REQUIRED, a missing key removes the component; LENIENT, an out-of-range value gives a
 * warning and the default; BATCH_SIZE (INT), the value must not exceed the transactionCapacity of the
 * component's channels; EMPTY_OK, a STRING may be empty. */
#define RELAYD_OPTF_REQUIRED 0x1u
#define RELAYD_OPTF_LENIENT 0x2u
#define RELAYD_OPTF_BATCH_SIZE 0x8u
#define RELAYD_OPTF_EMPTY_OK 0x10u

typedef struct
{
  const char *key; /* Flume-style key, e.g. "batchSize" */
  RelaydOptionType type;
  const char *def;            /* default as text, or NULL (field left zero / NULL) */
  int64_t min, max;           /* INT range, inclusive; ignored when min > max */
  size_t offset;              /* offsetof(YourConfig, field) */
  unsigned flags;             /* RELAYD_OPTF_* */
  const char *const *choices; /* ENUM: NULL-terminated */
  const char *help;           /* one line for --help-components */
} RelaydOption;

/* The last row of every table. */
#define RELAYD_OPTION_END                                                                                    \
  {                                                                                                          \
    NULL, RELAYD_OPT_INT, NULL, 0, 0, 0, 0, NULL, NULL                                                       \
  }

/* ---- component classes ---- */

typedef enum
{
  RELAYD_READY = 0, /* did work; call again at once */
  RELAYD_BACKOFF
  = 1, /* nothing to do: sleep (pollable sources: backoffSleepIncrement, up to maxBackoffSleep) */
  RELAYD_FAILED = 2, /* sinks only: delivery failed, the transaction was rolled back */
} RelaydStatus;

/* Hooks shared by every class. All optional. Return 0 on success; on failure, call relayd_error_set. */
typedef struct
{
  /* Extra checks after relayd filled the configuration struct (relayd_component_config). */
  int (*configure)(RelaydComponent *self, RelaydError *error);
  int (*start)(RelaydComponent *self, RelaydError *error);
  void (*stop)(RelaydComponent *self);
  /* Frees what the plugin attached with relayd_component_set_data (called once, after stop). */
  void (*destroy)(RelaydComponent *self);
} RelaydLifecycle;

typedef struct
{
  const char *type;        /* short type, e.g. "redis_stream" */
  const char *flume_class; /* Flume-style class name, or NULL */
  const char *description; /* one line */
  const RelaydOption *options;
  size_t config_size; /* sizeof the struct the option offsets refer to (0: none) */
  RelaydLifecycle lifecycle;
  /* Pollable sources only (NULL for an event-driven source): reads up to relayd_batch_capacity events into
   * batch and returns READY or BACKOFF. relayd then puts the batch through the channel processor
   * (interceptors, selector, one transaction per channel), retrying the same batch after a backoff while
   * the channels are full, and calls committed() only after the commit. Pollable thread. */
  RelaydStatus (*process)(RelaydComponent *self, RelaydBatch *batch);
  /* Pollable sources, optional: the batch's events are committed to every required channel (save the
   * bookmark now). Pollable thread. */
  void (*committed)(RelaydComponent *self, RelaydBatch *batch);
} RelaydSourceClass;

typedef struct
{
  const char *type, *flume_class, *description;
  const RelaydOption *options;
  size_t config_size;
  RelaydLifecycle lifecycle;
  /* Begins a transaction, takes, delivers, commits or rolls back: READY, BACKOFF (channel empty) or FAILED.
   * Sink runner thread; must return within about 100 ms once relayd_sink_abort_requested is true. */
  RelaydStatus (*process)(RelaydComponent *self);
} RelaydSinkClass;

/* Registration: the class struct (and the strings and table it points to) must stay valid while the library
 * is loaded (a static const struct). Returns 0, or -1 when the type is taken or the class is incomplete (the
 * reason is logged). */
int relayd_register_source(RelaydRegistrar *registrar, const RelaydSourceClass *klass);
int relayd_register_sink(RelaydRegistrar *registrar, const RelaydSinkClass *klass);
/* The interface version of the relayd that loads the plugin. */
uint32_t relayd_interface_version(void);

/* ---- components ---- */

const char *relayd_component_name(const RelaydComponent *self);
/* The configuration struct relayd filled from the option table (config_size bytes). */
void *relayd_component_config(RelaydComponent *self);
void relayd_component_set_data(RelaydComponent *self, void *data);
void *relayd_component_data(const RelaydComponent *self);
/* Sets the message configure/start fail with (printf-style). */
void relayd_error_set(RelaydError *error, const char *fmt, ...) RELAYD_PLUGIN_PRINTF(2, 3);

typedef enum
{
  RELAYD_LOG_ERROR = 0,
  RELAYD_LOG_WARN,
  RELAYD_LOG_INFO,
  RELAYD_LOG_DEBUG,
} RelaydLogLevel;

/* One log line prefixed with the component ("[source:redis_stream:r1]"). Any thread. */
void relayd_log(const RelaydComponent *self, RelaydLogLevel level, const char *fmt, ...)
    RELAYD_PLUGIN_PRINTF(3, 4);

/* Flume's counters. Call only from the thread that runs the component (they have a single writer). */
typedef enum
{
  RELAYD_SOURCE_EVENT_READ_FAIL = 0,     /* EventReadFail */
  RELAYD_SOURCE_GENERIC_PROCESSING_FAIL, /* GenericProcessingFail */
  RELAYD_SOURCE_OPEN_CONNECTIONS,        /* OpenConnectionCount (add -1 on close) */
  RELAYD_SINK_CONNECTION_CREATED = 100,  /* ConnectionCreatedCount */
  RELAYD_SINK_CONNECTION_CLOSED,         /* ConnectionClosedCount */
  RELAYD_SINK_CONNECTION_FAILED,         /* ConnectionFailedCount */
  RELAYD_SINK_EVENT_DRAIN_SUCCESS,       /* EventDrainSuccessCount */
  RELAYD_SINK_EVENT_WRITE_FAIL,          /* EventWriteFail */
} RelaydCounter;
void relayd_counter_add(RelaydComponent *self, RelaydCounter counter, int64_t n);

/* ---- events ---- */

typedef struct
{
  const char *key, *value; /* need not be NUL-terminated */
  uint32_t key_len, value_len;
} RelaydHeader;

/* A new event (one reference) copying the headers and the body. */
RelaydEvent *relayd_event_new(const RelaydHeader *headers, size_t n_headers, const void *body, size_t len);
RelaydEvent *relayd_event_ref(RelaydEvent *ev);
void relayd_event_unref(RelaydEvent *ev);
/* Borrowed from ev (the body is followed by a NUL byte not counted in len). */
const void *relayd_event_body(const RelaydEvent *ev, size_t *len);
size_t relayd_event_header_count(const RelaydEvent *ev);
/* Header i (NUL-terminated key and value, borrowed); returns -1 if i is out of range. */
int relayd_event_header_at(const RelaydEvent *ev, size_t i, const char **key, const char **value);
/* Value of header key, or NULL. */
const char *relayd_event_header(const RelaydEvent *ev, const char *key);
/* A new event equal to ev with header key set to value; takes ownership of ev. */
RelaydEvent *relayd_event_with_header(RelaydEvent *ev, const char *key, const char *value);

/* ---- pollable sources: the batch process() fills ---- */

/* How many events the batch takes (the smallest transactionCapacity of the source's channels). */
size_t relayd_batch_capacity(const RelaydBatch *batch);
size_t relayd_batch_count(const RelaydBatch *batch);
/* Appends ev (takes ownership). Returns 0, or -1 when the batch is full (ev is then released). */
int relayd_batch_add(RelaydBatch *batch, RelaydEvent *ev);
/* A text the plugin attaches to the batch (copied), read back in committed(): e.g. the last entry id. */
void relayd_batch_set_bookmark(RelaydBatch *batch, const char *bookmark);
const char *relayd_batch_bookmark(const RelaydBatch *batch);
/* TRUE (non-zero) once relayd is stopping the source: process() should return soon. */
int relayd_source_stopping(const RelaydComponent *self);

/* ---- event-driven sources (main thread) ---- */

/* The main loop's libevent event_base (struct event_base *), for listeners and timers. */
void *relayd_source_event_base(RelaydComponent *self);

typedef enum
{
  RELAYD_PUT_OK = 0,
  RELAYD_PUT_FULL,  /* a required channel had no room within its keep-alive */
  RELAYD_PUT_ERROR, /* a required channel failed otherwise */
} RelaydPutResult;

typedef void (*RelaydPutDone)(RelaydComponent *self, RelaydPutResult result, void *user_data);

/* Puts n events (takes ownership of the references, not of the array) through the channel processor,
 * waiting asynchronously on the main loop, up to each full channel's keep-alive, for room. done is called
 * exactly once on the main loop (possibly before this returns; then NULL is returned), unless the request
 * is cancelled. Counts EventReceived/EventAccepted. */
RelaydPutRequest *relayd_source_put(RelaydComponent *self, RelaydEvent **events, size_t n, RelaydPutDone done,
                                    void *user_data);
/* Abandons a pending put: done is not called. */
void relayd_put_cancel(RelaydPutRequest *request);

/* ---- sinks (sink runner thread) ---- */

RelaydTxn *relayd_sink_begin(RelaydComponent *self);
/* Takes up to max events; they are borrowed until the transaction ends. Returns the count (0: empty). */
size_t relayd_txn_take(RelaydTxn *txn, RelaydEvent **out, size_t max);
/* 0 on success. */
int relayd_txn_commit(RelaydTxn *txn);
void relayd_txn_rollback(RelaydTxn *txn);
/* Ends the transaction (after commit or rollback). */
void relayd_txn_close(RelaydTxn *txn);
int relayd_sink_abort_requested(const RelaydComponent *self);

/* ---- interceptors and channel selectors ----
 *
 * Added to interface version 1 (a pure addition: plugins built before it load unchanged). A plugin that
 * registers an interceptor or a selector needs a relayd that has this part; an older relayd refuses such a
 * library at load with a line naming the file and the missing relayd_register_interceptor symbol.
 *
 * Both are parts of a source, as in Flume: an interceptor is configured under the source's
 * "interceptors.NAME." keys (type = the class's type or Flume-style class name; the option table's keys
 * follow), a selector under its "selector." keys (selector.type, then the table's keys). Their handle is a
 * RelaydComponent, so relayd_component_name (the interceptor's NAME; the source's name for a selector),
 * relayd_component_config, relayd_component_set_data / relayd_component_data and relayd_log work on it;
 * relayd_counter_add does nothing (Flume has no counters for them). A bad value, a failed configure or an
 * unknown type removes the source, reported with file:line as for built-in interceptors and selectors.
 *
 * Threads: configure and destroy run on the main thread (configure also for relayd --check, so it should
 * not open connections). intercept and select run on the thread that owns the source (the main loop for an
 * event-driven source, which they must not block; a pollable source's own thread), one batch at a time. */

typedef struct
{
  const char *type, *flume_class, *description;
  const RelaydOption *options; /* keys under interceptors.NAME. (RELAYD_OPTF_BATCH_SIZE is refused) */
  size_t config_size;
  /* Optional: checks after relayd filled the configuration struct; may attach data. 0, or non-zero after
   * relayd_error_set. */
  int (*configure)(RelaydComponent *self, RelaydError *error);
  /* Optional: frees what configure attached (called once, also after a failed configure). */
  void (*destroy)(RelaydComponent *self);
  /* Required: Flume's intercept(List<Event>) on a batch before channel selection. The interceptor may
   * replace events[i] (the reference it replaces is its to release: relayd_event_with_header does both)
   * and drop events (releasing them), moving the kept ones to the front in their order; returns how many
   * it kept (at most n). */
  size_t (*intercept)(RelaydComponent *self, RelaydEvent **events, size_t n);
} RelaydInterceptorClass;

typedef struct
{
  const char *type, *flume_class, *description;
  const RelaydOption *options; /* keys under selector. (RELAYD_OPTF_BATCH_SIZE is refused) */
  size_t config_size;
  /* Optional, as for interceptors; the source's channels are known here (relayd_selector_channel_*). */
  int (*configure)(RelaydComponent *self, RelaydError *error);
  void (*destroy)(RelaydComponent *self);
  /* Required: Flume's getRequiredChannels/getOptionalChannels for one event. Bit i of *required and
   * *optional (both 0 on entry) is the source's channel i; required channels get the event in one
   * transaction per batch and channel, optional ones after them, their failures only logged; a channel in
   * both is required. An event with no channel is dropped. */
  void (*select)(RelaydComponent *self, const RelaydEvent *ev, uint64_t *required, uint64_t *optional);
} RelaydSelectorClass;

/* As relayd_register_source: 0, or -1 when the type is taken or the class is incomplete. */
int relayd_register_interceptor(RelaydRegistrar *registrar, const RelaydInterceptorClass *klass);
int relayd_register_selector(RelaydRegistrar *registrar, const RelaydSelectorClass *klass);

/* A selector's channels, in the order of the source's "channels" list (at most 64). */
size_t relayd_selector_channel_count(const RelaydComponent *self);
/* Channel i's name (borrowed), or NULL when i is out of range. */
const char *relayd_selector_channel_name(const RelaydComponent *self, size_t i);
/* The index of the channel named name, or -1. */
int relayd_selector_channel_index(const RelaydComponent *self, const char *name);

/* ---- TCP servers of event-driven sources ----
 *
 * Added to interface version 1 (a pure addition, as the interceptors were: a plugin using it needs a relayd
 * that has it, an older one refuses the library at load naming the missing relayd_register_server_source).
 *
 * relayd's own TCP server, for an event-driven source that accepts connections: the listener and the
 * "listening bind=... port=..." line, max connections (more are closed at once, counted and logged
 * rate-limited), bounded per-connection buffers with backpressure (a connection is not read while its
 * unconsumed input reached max_input, while more than max_output bytes of replies wait, while a put is
 * pending or while the plugin paused it), the memory budget (memory.limit), and TLS with the keys of relayd's
 * own TLS sources. The plugin implements its protocol on the bytes (decrypted with TLS) in three callbacks.
 *
 * A source class registered with relayd_register_server_source (instead of relayd_register_source; it must
 * be event-driven: no process) gets relayd's server TLS keys appended to its option table: ssl, keystore,
 * keystore-password, keystore-type, truststore, truststore-password, truststore-type, include-protocols,
 * exclude-protocols, include-cipher-suites, exclude-cipher-suites, ssl-handshake-timeout, ssl-client-auth,
 * ssl-allowed-subjects and ssl-peer-header. relayd builds the TLS context before the plugin's configure (a
 * bad keystore removes the source, reported with file:line and key), rebuilds it on SIGHUP for new
 * connections, fails TLS connections with one rate-limited line and its TLS error counters, and adds the
 * ssl-peer-header to the events put with relayd_conn_put. It also keeps OpenConnectionCount and the
 * refused-connection and accept-failure counters of the server's connections.
 *
 * Threads: everything here runs on the main loop (start, stop and the callbacks). */

typedef struct RelaydServer RelaydServer;
typedef struct RelaydConn RelaydConn;

typedef struct
{
  /* A connection was accepted: attach the plugin's state with relayd_conn_set_data. Return 0, or non-zero
   * to have it closed at once (closed() is then not called). */
  int (*accepted)(RelaydConn *conn, void *server_data);
  /* Input is buffered: consume what can be consumed (relayd_conn_pullup, relayd_conn_drain). Not called
   * while the connection is paused or closing; called again (from the loop) when it resumes with input
   * left. */
  void (*readable)(RelaydConn *conn, void *conn_data);
  /* The connection is being freed (peer closed, error, relayd_conn_close, server freed): called once, its
   * pending put already cancelled. Release conn_data here; conn must not be used afterwards. */
  void (*closed)(RelaydConn *conn, void *conn_data);
} RelaydConnHandler;

int relayd_register_server_source(RelaydRegistrar *registrar, const RelaydSourceClass *klass);

/* Listens on bind:port (port 0: any free port, see relayd_server_port) for a source registered with
 * relayd_register_server_source; call from start. handler is borrowed (a static table); server_data goes to
 * accepted(). max_input, max_output > 0. Returns NULL after relayd_error_set (address in use, ...). */
RelaydServer *relayd_server_new(RelaydComponent *self, const char *bind, int64_t port,
                                uint32_t max_connections, size_t max_input, size_t max_output,
                                const RelaydConnHandler *handler, void *server_data, RelaydError *error);
/* Closes the listener and every connection (closed() runs for each before it returns); call from stop, not
 * from a callback of this server. NULL is ignored. */
void relayd_server_free(RelaydServer *server);
int relayd_server_port(const RelaydServer *server);

void relayd_conn_set_data(RelaydConn *conn, void *data);
void *relayd_conn_data(const RelaydConn *conn);
/* "ip:port" of the peer (borrowed). */
const char *relayd_conn_peer(const RelaydConn *conn);
/* The client certificate's subject after the TLS handshake, NULL without (borrowed). */
const char *relayd_conn_tls_subject(const RelaydConn *conn);

/* Unconsumed input bytes. */
size_t relayd_conn_input_length(const RelaydConn *conn);
/* The first n input bytes made contiguous (writable in place, e.g. to unmask; valid until the next call on
 * conn), or NULL when fewer than n are buffered. */
unsigned char *relayd_conn_pullup(RelaydConn *conn, size_t n);
/* Consumes the first n input bytes (at most the input length). */
void relayd_conn_drain(RelaydConn *conn, size_t n);
/* Queues bytes to send (copied; encrypted with TLS). Ignored once the connection is closing. */
void relayd_conn_write(RelaydConn *conn, const void *data, size_t len);

/* Stops reading until relayd_conn_resume (the plugin's own reason, independent of relayd's). */
void relayd_conn_pause(RelaydConn *conn);
void relayd_conn_resume(RelaydConn *conn);
/* Non-zero while anything pauses reading (the plugin, a pending put, unsent replies over max_output): a
 * readable() looping over buffered messages should return and wait to be called again. */
int relayd_conn_is_paused(const RelaydConn *conn);

/* Closes the connection from the loop (never inside the call): at once, or with flush after the queued
 * replies are sent (at most 5 s). Repeated calls are harmless. */
void relayd_conn_close(RelaydConn *conn, int flush);
int relayd_conn_is_closing(const RelaydConn *conn);

/* Puts n events (takes the references, not the array) as relayd_source_put does, for the connection: the
 * ssl-peer-header is added when configured, the connection is not read until done has run, and closing the
 * connection cancels the put (done is then not called; the events count as failed). At most one put per
 * connection is pending: a second one before done is refused (returns -1, the events are released). Returns 0
 * (done may already have run). */
int relayd_conn_put(RelaydConn *conn, RelaydEvent **events, size_t n, RelaydPutDone done, void *user_data);

/* More source counters for relayd_counter_add (relayd's own; any protocol error also counts as
 * EventReadFail): connections closed for input over a configured limit, for malformed input, for input left
 * incomplete too long, and bytes received. */
#define RELAYD_SOURCE_PROTOCOL_LIMIT ((RelaydCounter)3)
#define RELAYD_SOURCE_PROTOCOL_MALFORMED ((RelaydCounter)4)
#define RELAYD_SOURCE_PROTOCOL_TIMEOUT ((RelaydCounter)5)
#define RELAYD_SOURCE_BYTES_RECEIVED ((RelaydCounter)6)

RELAYD_PLUGIN_END_DECLS

#endif
