/* relayd/embedded.h - an agent inside the application: put events, a channel holds them, avro or thrift
 * sinks (failover, load balancing) forward them. The C counterpart of Flume's EmbeddedAgent
 * (flume-ng-embedded-agent/src/main/java/org/apache/flume/agent/embedded/EmbeddedAgent.java).
 *
 *   RelayEmbeddedAgent *agent = relay_embedded_new("myagent");
 *   const char *conf[] = { "channel.type", "memory", "sinks", "k1 k2", "k1.type", "avro",
 *                          "k1.hostname", "collector1", "k1.port", "4141", "k2.type", "avro",
 *                          "k2.hostname", "collector2", "k2.port", "4141", "processor.type", "failover",
 *                          NULL };
 *   relay_embedded_configure(agent, conf);
 *   relay_embedded_start(agent);
 *   RelayEmbeddedEvent ev = { "hello", 5, NULL, 0 };
 *   if (relay_embedded_put(agent, &ev) != RELAY_EMBEDDED_OK)
 *     fprintf(stderr, "%s\n", relay_embedded_last_error());
 *   relay_embedded_stop(agent, 5000, NULL);
 *   relay_embedded_free(agent);
 *
 * Configuration keys are Flume's embedded-agent keys: channel.type (memory or file) and channel.<key>,
 * sinks (a whitespace-separated list), <sink>.type (avro or thrift) and <sink>.<key>, processor.type
 * (default, failover or load_balance) and processor.<key>, source.interceptors and source.interceptors.*,
 * optional source.type = embedded. Every key has the meaning it has in a relayd configuration file.
 *
 * Threads: put and put_batch may be called from any number of threads at once. The other calls change the
 * agent's state and must not run concurrently with each other (put may run beside them: it fails with
 * RELAY_EMBEDDED_ERR_STATE while the agent is not started). The library runs its own threads (one per sink
 * runner, and the file channel's); it needs no event loop from the caller, installs no signal handler
 * (its threads block SIGPIPE) and keeps no state shared between agents: several agents may run in one
 * process. The log callback is called from the library's threads and from the caller's thread; lines of
 * all agents are serialised, and the callback must not call back into the library. */
#ifndef RELAYD_EMBEDDED_H_INCLUDED
#define RELAYD_EMBEDDED_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define RELAY_EMBEDDED_BEGIN_DECLS                                                                           \
  extern "C"                                                                                                 \
  {
#define RELAY_EMBEDDED_END_DECLS }
#else
#define RELAY_EMBEDDED_BEGIN_DECLS
#define RELAY_EMBEDDED_END_DECLS
#endif

RELAY_EMBEDDED_BEGIN_DECLS

/* The interface version of this header; relay_embedded_version() is the library's. Calls are added in
 * minor versions only; a major version changes or removes calls (and the soname). */
#define RELAY_EMBEDDED_VERSION_MAJOR 0
#define RELAY_EMBEDDED_VERSION_MINOR 1
#define RELAY_EMBEDDED_VERSION ((RELAY_EMBEDDED_VERSION_MAJOR << 16) | RELAY_EMBEDDED_VERSION_MINOR)

typedef struct RelayEmbeddedAgent RelayEmbeddedAgent;

typedef enum
{
  RELAY_EMBEDDED_OK = 0,
  RELAY_EMBEDDED_ERR_INVALID,     /* a bad argument (NULL agent or name, a body pointer missing) */
  RELAY_EMBEDDED_ERR_STATE,       /* wrong state: configure while started, put unless started, ... */
  RELAY_EMBEDDED_ERR_CONFIG,      /* the configuration was refused; the message lists every problem */
  RELAY_EMBEDDED_ERR_START,       /* a component could not start (a file channel directory, ...) */
  RELAY_EMBEDDED_ERR_FULL,        /* the channel stayed full for its keep-alive; nothing was put */
  RELAY_EMBEDDED_ERR_TOO_LARGE,   /* more events than the channel's transactionCapacity; nothing was put */
  RELAY_EMBEDDED_ERR_CHANNEL,     /* the channel failed otherwise (a disk error); nothing was put */
  RELAY_EMBEDDED_ERR_UNDELIVERED, /* stop: events were left in the channel when the time was up */
} RelayEmbeddedStatus;

typedef struct
{
  const char *key; /* NUL-terminated */
  const char *value;
} RelayEmbeddedHeader;

/* An event as the application holds it; the library copies what it needs during the call, so the caller
 * keeps ownership of everything, whatever the outcome. */
typedef struct
{
  const void *body;
  size_t body_len;
  const RelayEmbeddedHeader *headers; /* may be NULL when n_headers is 0 */
  size_t n_headers;
} RelayEmbeddedEvent;

typedef enum
{
  RELAY_EMBEDDED_LOG_ERROR = 0,
  RELAY_EMBEDDED_LOG_WARN,
  RELAY_EMBEDDED_LOG_INFO,
  RELAY_EMBEDDED_LOG_DEBUG,
  RELAY_EMBEDDED_LOG_TRACE,
} RelayEmbeddedLogLevel;

/* line: one formatted line without a trailing newline ("2026-12-02T09:00:00.000Z WARN  [sink:avro:k1] ..."),
 * level: a RelayEmbeddedLogLevel. */
typedef void (*RelayEmbeddedLogFn)(int level, const char *line, void *user_data);

/* RELAY_EMBEDDED_VERSION of the library that is running. */
unsigned relay_embedded_version(void);
/* "OK", "FULL", ... */
const char *relay_embedded_status_name(RelayEmbeddedStatus status);
/* The message of the last call that failed on the calling thread (per thread, as errno); "" if none. Valid
 * until the thread's next failing call. */
const char *relay_embedded_last_error(void);

/* A new agent in state NEW, or NULL (last_error says why) when name is NULL or empty. */
RelayEmbeddedAgent *relay_embedded_new(const char *name);
/* Stops the agent if started (relay_embedded_stop with 5000 ms) and frees it. NULL is ignored. */
void relay_embedded_free(RelayEmbeddedAgent *agent);
/* Where this agent's lines go (fn NULL: stderr) and the most detailed level written (default INFO). Call
 * before configure; not while started. */
RelayEmbeddedStatus relay_embedded_set_log(RelayEmbeddedAgent *agent, RelayEmbeddedLogFn fn, void *user_data,
                                           int level);

/* Configures from key, value, key, value, ..., NULL (Flume's configure(Map)). Replaces any earlier
 * configuration. Any problem refuses the whole configuration (ERR_CONFIG, every problem in the message).
 * Not while started. */
RelayEmbeddedStatus relay_embedded_configure(RelayEmbeddedAgent *agent, const char *const *key_values);
/* The same from the text of a properties file (keys without an agent prefix: "channel.type = memory"). */
RelayEmbeddedStatus relay_embedded_configure_text(RelayEmbeddedAgent *agent, const char *properties);

/* Starts the channel, the sinks and their runner. After a stop, starts again: a file channel then delivers
 * what the previous run left. */
RelayEmbeddedStatus relay_embedded_start(RelayEmbeddedAgent *agent);

/* Runs the interceptors and puts the event(s) into the channel in one transaction; returns after the
 * commit (with a file channel: after the commit is on disk). When the channel is full, waits up to the
 * channel's keep-alive for room and then returns ERR_FULL with nothing put. Any thread. */
RelayEmbeddedStatus relay_embedded_put(RelayEmbeddedAgent *agent, const RelayEmbeddedEvent *event);
RelayEmbeddedStatus relay_embedded_put_batch(RelayEmbeddedAgent *agent, const RelayEmbeddedEvent *events,
                                             size_t n_events);

/* Stops accepting puts, lets the sinks deliver what they can for up to timeout_ms, then stops them. *left
 * (may be NULL) receives the number of events still in the channel: a memory channel loses them, a file
 * channel keeps them for the next start. Returns OK when nothing was left, else ERR_UNDELIVERED with a
 * message saying how many and where they are. */
RelayEmbeddedStatus relay_embedded_stop(RelayEmbeddedAgent *agent, unsigned timeout_ms, uint64_t *left);

/* Events in the channel now (0 unless started). Any thread. */
uint64_t relay_embedded_channel_size(RelayEmbeddedAgent *agent);

RELAY_EMBEDDED_END_DECLS

#endif
