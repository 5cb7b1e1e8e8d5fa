/* thrift_proto.h - pure codec for Flume's Thrift RPC: frames, append/appendBatch calls, replies.
 *
 * Flume speaks Thrift over a framed transport (4-byte big-endian length, then one message) with the compact
 * protocol by default or the binary protocol when configured (Flume's ThriftSource.java and
 * ThriftRpcClient.java). This codec works on bytes only: no sockets, no GObject, no global state. The server
 * side delimits frames, decodes a CALL of append/appendBatch straight into RelayEvents (one copy from the
 * frame) and encodes REPLY and TApplicationException messages; the client side encodes CALLs straight from
 * RelayEvent arrays and decodes REPLY/EXCEPTION messages. Every size and count read from the wire is checked
 * against RelayThriftLimits before anything is allocated, unknown struct fields are skipped (newer clients
 * keep working) and malformed input ends in RELAY_THRIFT_ERROR with a reason, never in an abort.
 *
 * Threads: every function is reentrant and may run on any thread; a RelayThriftFrameReader belongs to one
 * connection and must not be shared. */
#ifndef RELAY_THRIFT_PROTO_H_INCLUDED
#define RELAY_THRIFT_PROTO_H_INCLUDED

#include "relay.h"
#include "event.h"

/* Thrift's (and so Flume's) default maximum frame size, in bytes after the 4-byte length. */
#define RELAY_THRIFT_DEFAULT_MAX_FRAME 16384000u
/* Size of the length prefix of a frame. */
#define RELAY_THRIFT_FRAME_HEADER 4u
/* Method names longer than this are rejected (Flume's are "append" and "appendBatch"). */
#define RELAY_THRIFT_MAX_METHOD_NAME 255u
/* Exception messages decoded by relay_thrift_decode_reply() are truncated to this many bytes. */
#define RELAY_THRIFT_MAX_EXCEPTION_MESSAGE 255u

typedef enum
{
  RELAY_THRIFT_COMPACT = 0, /* Flume's default */
  RELAY_THRIFT_BINARY,
} RelayThriftProtocol;

/* Parses Flume's `protocol` value ("compact" or "binary", case-insensitive). */
gboolean relay_thrift_protocol_parse(const char *text, RelayThriftProtocol *protocol);
const char *relay_thrift_protocol_name(RelayThriftProtocol protocol);

typedef enum
{
  RELAY_THRIFT_OK = 0,
  RELAY_THRIFT_NEED_MORE,      /* framing only: the frame is not complete yet */
  RELAY_THRIFT_ERROR,          /* malformed, wrong protocol or over a limit: drop the connection */
  RELAY_THRIFT_UNKNOWN_METHOD, /* a well-formed call of a method Flume does not have: answer an exception */
} RelayThriftResult;

const char *relay_thrift_result_name(RelayThriftResult result);

/* Flume's Status enum (the i32 result of append and appendBatch). */
typedef enum
{
  RELAY_THRIFT_STATUS_OK = 0,
  RELAY_THRIFT_STATUS_FAILED = 1,
  RELAY_THRIFT_STATUS_ERROR = 2,
  RELAY_THRIFT_STATUS_UNKNOWN = 3,
} RelayThriftStatus;

/* Thrift message types. */
typedef enum
{
  RELAY_THRIFT_MSG_CALL = 1,
  RELAY_THRIFT_MSG_REPLY = 2,
  RELAY_THRIFT_MSG_EXCEPTION = 3,
  RELAY_THRIFT_MSG_ONEWAY = 4,
} RelayThriftMessageType;

/* TApplicationException types (field 2 of the exception struct). */
typedef enum
{
  RELAY_THRIFT_EXC_UNKNOWN = 0,
  RELAY_THRIFT_EXC_UNKNOWN_METHOD = 1,
  RELAY_THRIFT_EXC_INVALID_MESSAGE_TYPE = 2,
  RELAY_THRIFT_EXC_WRONG_METHOD_NAME = 3,
  RELAY_THRIFT_EXC_BAD_SEQUENCE_ID = 4,
  RELAY_THRIFT_EXC_MISSING_RESULT = 5,
  RELAY_THRIFT_EXC_INTERNAL_ERROR = 6,
  RELAY_THRIFT_EXC_PROTOCOL_ERROR = 7,
} RelayThriftExceptionType;

typedef enum
{
  RELAY_THRIFT_METHOD_UNKNOWN = 0,
  RELAY_THRIFT_METHOD_APPEND,
  RELAY_THRIFT_METHOD_APPEND_BATCH,
} RelayThriftMethod;

/* "append", "appendBatch" (the wire names), or NULL for RELAY_THRIFT_METHOD_UNKNOWN. */
const char *relay_thrift_method_name(RelayThriftMethod method);

/* Limits applied while decoding; every one is checked before the memory it guards is allocated. */
typedef struct
{
  guint32 max_frame;   /* message bytes after the length prefix; default 16,384,000 */
  guint32 max_events;  /* list size of appendBatch; default 100,000 */
  guint32 max_headers; /* map size per event; default 1,024, at most RELAY_EVENT_MAX_HEADERS */
  guint32 max_string;  /* bytes of a header key or value; default 1 MiB */
  guint32 max_body;    /* bytes of an event body; default 16,384,000, at most RELAY_EVENT_MAX_BODY */
  guint32 max_depth;   /* nesting of skipped unknown fields; default 64 */
} RelayThriftLimits;

/* Fills in the defaults above. */
void relay_thrift_limits_init(RelayThriftLimits *limits);

/* Why decoding stopped, for one `key=value` log line; `reason` is static text. */
typedef struct
{
  const char *reason; /* e.g. "frame size above limit" */
  gint64 value;       /* offending size, count or type byte; -1 when none */
  gint64 limit;       /* limit it broke; -1 when none */
  gsize offset;       /* bytes into the message (or stream, for framing) where it stopped */
} RelayThriftError;

/* ---- framing ---- */

/* Looks at the start of a framed byte stream (data, len; borrowed). Returns NEED_MORE while fewer than 4
 * bytes or fewer than 4 + frame length bytes are present (*frame_len is set as soon as the prefix is known),
 * OK when a whole frame is present (the message is data[4 .. 4 + *frame_len)), and ERROR when the announced
 * length is 0, negative or above max_frame: decided from the 4 prefix bytes alone, so nothing is buffered for
 * it. */
RelayThriftResult relay_thrift_frame_peek(const guint8 *data, gsize len, guint32 max_frame,
                                          guint32 *frame_len, RelayThriftError *err);

/* Incremental frame reader for callers that get bytes in arbitrary pieces. It allocates the frame buffer only
 * after the prefix passed the size check. Zero-initialise with relay_thrift_frame_reader_init(). */
typedef struct
{
  guint32 max_frame;
  guint8 prefix[RELAY_THRIFT_FRAME_HEADER];
  guint prefix_have;
  guint32 frame_len;  /* valid once the prefix is complete */
  guint32 frame_have; /* message bytes received so far */
  guint8 *frame;      /* message bytes; complete when feed() returned OK */
  gboolean complete;
} RelayThriftFrameReader;

void relay_thrift_frame_reader_init(RelayThriftFrameReader *self, guint32 max_frame);
/* Consumes bytes from data (borrowed) until one frame is complete; *consumed says how many were used, the
 * rest belongs to the next frame. OK: self->frame / self->frame_len hold the message until the next feed or
 * clear. NEED_MORE: everything was consumed. ERROR: the frame length is invalid (err says why); the reader
 * stays in that state, the connection should be closed. */
RelayThriftResult relay_thrift_frame_reader_feed(RelayThriftFrameReader *self, const guint8 *data, gsize len,
                                                 gsize *consumed, RelayThriftError *err);
/* Frees the frame buffer and resets to the start of a frame. */
void relay_thrift_frame_reader_clear(RelayThriftFrameReader *self);

/* ---- server side ---- */

typedef struct
{
  RelayThriftMethod method;
  gint32 seqid;
  gboolean oneway;      /* sent as ONEWAY: the client expects no reply */
  gboolean have_header; /* the message header was readable: seqid and method_name are valid */
  guint method_name_len;
  char method_name[RELAY_THRIFT_MAX_METHOD_NAME + 1]; /* NUL-terminated copy; may contain NULs (use _len) */
  GPtrArray *events; /* OK only: new RelayEvent references, owned by the call (freed by _clear) */
} RelayThriftCall;

/* Decodes one message (a frame without its length prefix; borrowed, may be freed once this returns) as a
 * call of append or appendBatch. OK: call->events holds the events (an empty array for an empty
 * appendBatch). UNKNOWN_METHOD: the call was well-formed, call->seqid and call->method_name are set; answer
 * with relay_thrift_encode_exception (RELAY_THRIFT_EXC_UNKNOWN_METHOD) as Thrift servers do. ERROR: err says
 * why (call->have_header tells whether seqid/method_name are known). Never returns NEED_MORE: a short message
 * is an ERROR ("truncated"). Call relay_thrift_call_clear() afterwards in every case. */
RelayThriftResult relay_thrift_decode_call(RelayThriftProtocol protocol, const guint8 *msg, gsize len,
                                           const RelayThriftLimits *limits, RelayThriftCall *call,
                                           RelayThriftError *err);
void relay_thrift_call_clear(RelayThriftCall *call);

/* Appends one whole frame (length prefix included) to out: a REPLY to method_name (method_len bytes, echoed
 * as received) with the request's seqid and result field 0 = status. */
void relay_thrift_encode_reply(RelayThriftProtocol protocol, const char *method_name, gsize method_len,
                               gint32 seqid, RelayThriftStatus status, GByteArray *out);
/* Appends one whole frame to out: an EXCEPTION message carrying a TApplicationException (message, type). */
void relay_thrift_encode_exception(RelayThriftProtocol protocol, const char *method_name, gsize method_len,
                                   gint32 seqid, RelayThriftExceptionType type, const char *message,
                                   GByteArray *out);

/* ---- client side ---- */

/* How many of events[0..n) fit, in order, into one appendBatch frame whose message stays within max_frame
 * bytes (whatever the seqid). 0 means events[0] alone is too big to send. */
guint relay_thrift_batch_fit(RelayThriftProtocol protocol, RelayEvent *const *events, guint n,
                             guint32 max_frame);
/* Message bytes (without the 4-byte prefix) of the appendBatch call relay_thrift_encode_append_batch() would
 * write for these arguments. */
gsize relay_thrift_append_batch_size(RelayThriftProtocol protocol, gint32 seqid, RelayEvent *const *events,
                                     guint n);

/* Append one whole CALL frame to out (events borrowed). The caller keeps the frame within the peer's limit
 * (relay_thrift_batch_fit). */
void relay_thrift_encode_append(RelayThriftProtocol protocol, gint32 seqid, const RelayEvent *event,
                                GByteArray *out);
void relay_thrift_encode_append_batch(RelayThriftProtocol protocol, gint32 seqid, RelayEvent *const *events,
                                      guint n, GByteArray *out);

typedef struct
{
  RelayThriftMessageType type; /* REPLY or EXCEPTION */
  gint32 seqid;
  RelayThriftMethod method; /* UNKNOWN when the name is neither append nor appendBatch */
  gint32 status;            /* REPLY: the Status value as received (a peer may send values outside 0..3) */
  gint32 exception_type;    /* EXCEPTION: RelayThriftExceptionType value as received */
  char exception_message[RELAY_THRIFT_MAX_EXCEPTION_MESSAGE + 1]; /* EXCEPTION: NUL-terminated, truncated */
} RelayThriftReply;

/* Decodes one message (a frame without its length prefix; borrowed) as the answer to a call: OK with the
 * reply filled in, or ERROR (malformed, not a REPLY/EXCEPTION, or a REPLY without field 0). The caller checks
 * reply->seqid and reply->method against what it sent. Allocates nothing. */
RelayThriftResult relay_thrift_decode_reply(RelayThriftProtocol protocol, const guint8 *msg, gsize len,
                                            const RelayThriftLimits *limits, RelayThriftReply *reply,
                                            RelayThriftError *err);

#endif
