/* avro_proto.h - pure codec for Flume's Avro RPC: Netty pack framing, IPC handshake, append/appendBatch.
 *
 * Bytes in, bytes or events out; no sockets, no event loop, no logging. The Avro source, the Avro sink and
 * the client library build on it.
 *
 * Wire layers (Flume's flume-ng-sdk/src/main/avro/flume.avdl over Avro's NettyTransportCodec.java):
 *   pack     = int32 serial, int32 buffer count, per buffer int32 length + bytes (all big-endian). This is
 *              Avro's Java Netty framing, NOT the spec's zero-terminated framing. The message is the
 *              concatenation of the buffers; boundaries carry no meaning.
 *   request  = [HandshakeRequest until the connection is established] + metadata map<bytes> + message name
 *              + parameters ("append": one AvroFlumeEvent, "appendBatch": array, "": a handshake ping).
 *   response = [HandshakeResponse in reply to a request that carried one] + metadata + error flag
 *              + Status (flag 0) or error string as union ["string"] (flag 1).
 *
 * Decoding: relay_avro_frame_parse() finds a complete pack in contiguous input and resumes where it stopped
 * when called again with more input (each length is looked at once, so 1-byte fragments cost O(n)). It
 * returns the message as slices pointing into the input. A RelayAvroDecoder then reads the message
 * straight from those slices, without concatenating them: Java clients split every request into 8 KiB
 * buffers, so concatenating would copy each batch once more. A string that straddles a buffer boundary
 * (about one per 8 KiB) is gathered into a small per-decoder spill area; everything else is borrowed from
 * the input. Events are built with relay_event_new() from borrowed header/body slices: one copy per event.
 * Every count and length is checked against RelayAvroLimits, and against the bytes actually left in the
 * message, before anything is allocated. Worst case memory for a decoded batch: each header costs a
 * RelayHeader (24 bytes) + 2 NULs for 2 wire bytes, so events of empty headers amplify the pack about 13x;
 * ordinary events (100-byte body, 2 headers) take about 1.5x their wire size.
 *
 * Encoding: requests and replies are written as a pack of exactly one buffer (peers accept any split).
 * The size is computed first, then the pack is written in one pass into a GByteArray or straight into
 * reserved evbuffer space (one copy of each event into the output buffer).
 *
 * Handshake: relayd's protocol text is the compact JSON of idl/flume.avpr (no "doc"), MD5
 * 30da54059df72d9584b867d5202e2069. Flume's released builds hash 86aadae2... (Flume 1.9-1.11) and
 * 8076c537... (unreleased 1.11.1); both are known as compatible so Flume clients need one round trip. An
 * unknown client hash with protocol text is resolved by parsing the text (relay_avro_protocol_check); it
 * is never a matter of hash equality alone.
 *
 * Server use, per complete pack: relay_avro_frame_parse -> relay_avro_decoder_begin(frame slices) -> while
 * the connection is not established: relay_avro_decode_handshake_request + relay_avro_handshake_resolve
 * (ERROR: close; NONE: relay_avro_encode_handshake_reply and stop) -> relay_avro_decode_call -> PING:
 * handshake reply; UNKNOWN: relay_avro_encode_error_reply; APPEND/APPEND_BATCH: relay_avro_decode_events,
 * put into the channels, relay_avro_encode_status_reply with the same serial (and the handshake response
 * if the request carried one; BOTH/CLIENT establish the connection). Client use mirrors it with
 * relay_avro_encode_request[_evbuffer] and relay_avro_decode_response.
 *
 * Threads: the codec functions keep no global state; a RelayAvroFrame, RelayAvroDecoder or
 * RelayAvroHandshakeCache belongs to one thread at a time (a connection on the main loop, or a sink
 * runner thread). */
#ifndef RELAY_AVRO_PROTO_H_INCLUDED
#define RELAY_AVRO_PROTO_H_INCLUDED

#include "relay.h"
#include "event.h"

struct evbuffer;

#define RELAY_AVRO_HASH_LEN 16

/* Defaults: generous enough for anything Flume clients send in practice (Java splits into 8 KiB buffers,
 * so 64 MiB is 8192 buffers; Flume batch sizes are 100 to 10000). */
#define RELAY_AVRO_DEFAULT_MAX_PACK_BYTES (64u * 1024 * 1024)
#define RELAY_AVRO_DEFAULT_MAX_BUFFERS 16384u
#define RELAY_AVRO_DEFAULT_MAX_BATCH_EVENTS 100000u
#define RELAY_AVRO_DEFAULT_MAX_HEADERS 1024u
#define RELAY_AVRO_DEFAULT_MAX_HEADER_BYTES (1024u * 1024)
#define RELAY_AVRO_DEFAULT_MAX_BODY_BYTES (64u * 1024 * 1024)
#define RELAY_AVRO_DEFAULT_MAX_TEXT_BYTES (64u * 1024)

typedef struct
{
  guint32 max_pack_bytes;   /* a whole pack on the wire: 8 + 4 per buffer + buffer bytes */
  guint32 max_buffers;      /* buffers in one pack */
  guint32 max_batch_events; /* events in one appendBatch */
  guint32 max_headers;      /* headers per event (at most RELAY_EVENT_MAX_HEADERS); also metadata entries */
  guint32 max_header_bytes; /* one header key or value; also metadata keys and values */
  guint32 max_body_bytes;   /* one event body (at most RELAY_EVENT_MAX_BODY) */
  guint32 max_text_bytes;   /* handshake protocol text, error message text */
} RelayAvroLimits;

/* Fills limits with the RELAY_AVRO_DEFAULT_* values. */
void relay_avro_limits_init(RelayAvroLimits *limits);

typedef enum
{
  RELAY_AVRO_NEED_MORE = 0, /* framing only: the pack is not complete yet */
  RELAY_AVRO_OK,
  RELAY_AVRO_ERROR, /* malformed or over a limit: close the connection (see RelayAvroError) */
} RelayAvroResult;

/* Why decoding failed: what is a static string ("buffer count above limit"); value is the offending
 * number (a length, a count) and limit the limit it broke, each RELAY_AVRO_NO_VALUE when not applicable. */
#define RELAY_AVRO_NO_VALUE G_MININT64
typedef struct
{
  const char *what;
  gint64 value;
  gint64 limit;
} RelayAvroError;

/* Formats err as "what value=V limit=L" (parts that do not apply left out) into buf; returns buf. */
const char *relay_avro_error_format(const RelayAvroError *err, char *buf, gsize size);

/* ---- framing ---- */

typedef struct
{
  const guint8 *data; /* borrowed from the input passed to relay_avro_frame_parse() */
  guint32 len;
  guint32 offset; /* of data within the pack */
} RelayAvroSlice;

/* An incremental pack parser and its result. Initialise with relay_avro_frame_init(); fields below the
 * comment "private" are the parser's. */
typedef struct
{
  /* After RELAY_AVRO_OK: */
  gint32 serial;
  guint32 n_buffers;            /* buffers announced (and present) in the pack */
  guint32 n_slices;             /* non-empty buffers; zero-length buffers are dropped */
  const RelayAvroSlice *slices; /* n_slices, pointing into the last input; valid until the next call */
  gsize message_len;            /* sum of buffer lengths */
  gsize consumed;               /* bytes of the pack: drain them from the input before the next call */
  /* After RELAY_AVRO_NEED_MORE: input length that allows progress (do not call again with less). */
  gsize need;
  /* After RELAY_AVRO_ERROR: */
  RelayAvroError error;

  /* private */
  GArray *_slices;
  gsize _offset;
  guint32 _seen;
  gboolean _have_header;
  gboolean _done;
} RelayAvroFrame;

void relay_avro_frame_init(RelayAvroFrame *frame);
void relay_avro_frame_clear(RelayAvroFrame *frame);
/* Forgets a partly parsed pack (the input was discarded). */
void relay_avro_frame_reset(RelayAvroFrame *frame);

/* Parses the pack at the start of buf[0..len). Call again with the same bytes plus more after NEED_MORE
 * (the input may have moved: only offsets are remembered). After OK the next call starts a new pack, so
 * the caller drains frame->consumed bytes first. A count of 0 buffers is an error (a Netty-4 server never
 * completes such a pack, so no peer sends one). Negative counts and lengths, a count above max_buffers and
 * a pack above max_pack_bytes are errors, detected from the length fields before any allocation or before
 * the bytes arrive. Memory: a slice array reused across packs, grown up to max_buffers entries. */
RelayAvroResult relay_avro_frame_parse(const guint8 *buf, gsize len, const RelayAvroLimits *limits,
                                       RelayAvroFrame *frame);

/* Appends a pack made of the given buffers (n >= 1; zero-length buffers allowed). */
void relay_avro_pack_append(GByteArray *out, gint32 serial, const RelayAvroSlice *buffers, guint n);

/* ---- handshake ---- */

typedef enum
{
  RELAY_AVRO_MATCH_BOTH = 0,
  RELAY_AVRO_MATCH_CLIENT = 1,
  RELAY_AVRO_MATCH_NONE = 2,
} RelayAvroMatch;

typedef struct
{
  guint8 client_hash[RELAY_AVRO_HASH_LEN];
  const char *client_protocol; /* NULL = null branch; not NUL-terminated; borrowed */
  gsize client_protocol_len;
  guint8 server_hash[RELAY_AVRO_HASH_LEN];
  /* meta is skipped when decoding and always null when encoding (Flume uses no RPC plugins) */
} RelayAvroHandshakeRequest;

typedef struct
{
  RelayAvroMatch match;
  const char *server_protocol; /* NULL = null branch; not NUL-terminated; borrowed */
  gsize server_protocol_len;
  gboolean has_server_hash;
  guint8 server_hash[RELAY_AVRO_HASH_LEN];
} RelayAvroHandshakeResponse;

/* relayd's protocol: the compact JSON text of idl/flume.avpr and its MD5. Static storage. */
const char *relay_avro_protocol_text(gsize *len);
const guint8 *relay_avro_protocol_hash(void);

/* TRUE if text is an Avro protocol JSON compatible with ours: full name
 * org.apache.flume.source.avro.AvroSourceProtocol; record AvroFlumeEvent with fields headers (map of
 * string) then body (bytes); enum Status whose first symbols are OK, FAILED; messages append(AvroFlumeEvent)
 * and/or appendBatch(array<AvroFlumeEvent>) returning Status, two-way. Named types are matched by their
 * simple name, other messages are ignored. On FALSE, err says what differs. Bounded by the text length;
 * not for the hot path (runs once per unknown peer protocol). */
gboolean relay_avro_protocol_check(const char *text, gsize len, RelayAvroError *err);

/* Server side: the protocol hashes known to be compatible with ours (built in: ours, Flume 1.9-1.11's
 * 86aadae2c45474c0fe93ffd0f2350a65 and 1.11.1-SNAPSHOT's 8076c53714e01f6e2c1deb9544e7b1fe), plus up to 32
 * learned ones whose text checked compatible and hashed to the announced clientHash. One per source;
 * owned by the source's thread. */
typedef struct _RelayAvroHandshakeCache RelayAvroHandshakeCache;

RelayAvroHandshakeCache *relay_avro_handshake_cache_new(void);
void relay_avro_handshake_cache_free(RelayAvroHandshakeCache *self);

/* Resolves a client's handshake as Avro's Java Responder does: the client is known if its hash is, or if
 * its protocol text checks compatible; then BOTH if serverHash is our hash, else CLIENT; unknown without
 * text: NONE (the call must not be executed; the client resends with its text). CLIENT and NONE carry our
 * protocol and hash. Returns ERROR (err filled) when the client's text is incompatible: answer nothing and
 * close, as a client would otherwise resend forever. reply borrows static storage. */
RelayAvroResult relay_avro_handshake_resolve(RelayAvroHandshakeCache *self,
                                             const RelayAvroHandshakeRequest *request,
                                             RelayAvroHandshakeResponse *reply, RelayAvroError *err);

/* Client side: our hash as clientHash, serverHash = server_hash (the hash a previous handshake with this
 * peer returned) or, when NULL, ours as a guess; our protocol text included when with_protocol (recommended
 * for the first request: a Java server then answers BOTH or CLIENT in one round trip). */
void relay_avro_handshake_request_init(RelayAvroHandshakeRequest *request, const guint8 *server_hash,
                                       gboolean with_protocol);

/* Client side: TRUE if the server's protocol text in response (when present) is compatible with ours. The
 * caller then acts on response->match: BOTH/CLIENT = established (remember server_hash for this peer),
 * NONE = not executed, resend with our protocol and the returned hash. */
gboolean relay_avro_handshake_check_response(const RelayAvroHandshakeResponse *response, RelayAvroError *err);

/* ---- message decoding ---- */

typedef enum
{
  RELAY_AVRO_MSG_PING = 0, /* empty name: handshake ping, answer with the handshake only */
  RELAY_AVRO_MSG_APPEND,
  RELAY_AVRO_MSG_APPEND_BATCH,
  RELAY_AVRO_MSG_UNKNOWN, /* answer with an error response */
} RelayAvroMessage;

typedef enum
{
  RELAY_AVRO_STATUS_OK = 0,
  RELAY_AVRO_STATUS_FAILED = 1,
  RELAY_AVRO_STATUS_UNKNOWN = 2,
} RelayAvroStatus;

const char *relay_avro_status_name(RelayAvroStatus status);
const char *relay_avro_match_name(RelayAvroMatch match);

typedef struct
{
  RelayAvroMessage message;
  const char *name; /* borrowed, not NUL-terminated (for error replies and logs) */
  gsize name_len;
} RelayAvroCall;

typedef struct
{
  gboolean has_handshake;
  RelayAvroHandshakeResponse handshake;
  gboolean has_result; /* FALSE: handshake only (a NONE answer, or a ping reply) */
  gboolean is_error;
  RelayAvroStatus status; /* when !is_error */
  const char *error;      /* when is_error: borrowed, not NUL-terminated */
  gsize error_len;
} RelayAvroResponse;

/* Reads messages from the slices of a pack. Holds a copy of the limits, a reusable header array (up to
 * max_headers entries) and the spill area for strings that straddle buffers. */
typedef struct _RelayAvroDecoder RelayAvroDecoder;

RelayAvroDecoder *relay_avro_decoder_new(const RelayAvroLimits *limits);
void relay_avro_decoder_free(RelayAvroDecoder *self);

/* Starts reading the message made of slices (borrowed; they and the bytes they point to must stay valid
 * while decoding). Strings returned by the decode functions borrow from the slices or the spill area and
 * stay valid until the next begin. */
void relay_avro_decoder_begin(RelayAvroDecoder *self, const RelayAvroSlice *slices, guint n_slices);
/* Bytes of the message not read yet. */
gsize relay_avro_decoder_remaining(const RelayAvroDecoder *self);
/* The reason of the last RELAY_AVRO_ERROR. */
const RelayAvroError *relay_avro_decoder_error(const RelayAvroDecoder *self);

/* Each returns OK or ERROR (never NEED_MORE); on ERROR the message is unusable. */
RelayAvroResult relay_avro_decode_handshake_request(RelayAvroDecoder *self, RelayAvroHandshakeRequest *out);
/* Request metadata (skipped) and message name. */
RelayAvroResult relay_avro_decode_call(RelayAvroDecoder *self, RelayAvroCall *out);
/* Parameters of append (one event) or appendBatch (any number up to max_batch_events), appended to events
 * as new references; the message must end there. events must own its elements (free func
 * relay_event_unref_notify): on ERROR the events added by this call are removed again. */
RelayAvroResult relay_avro_decode_events(RelayAvroDecoder *self, RelayAvroMessage message, GPtrArray *events);
/* Client side: a whole response message; expect_handshake while the connection is not established. */
RelayAvroResult relay_avro_decode_response(RelayAvroDecoder *self, gboolean expect_handshake,
                                           RelayAvroResponse *out);

/* ---- message encoding (each appends one whole pack of one buffer) ---- */

/* Server replies; handshake is NULL once the connection is established. */
void relay_avro_encode_status_reply(GByteArray *out, gint32 serial,
                                    const RelayAvroHandshakeResponse *handshake, RelayAvroStatus status);
/* An error response (flag 1, union ["string"] branch 0); message is NUL-terminated, truncated to 64 KiB. */
void relay_avro_encode_error_reply(GByteArray *out, gint32 serial,
                                   const RelayAvroHandshakeResponse *handshake, const char *message);
/* Handshake only: the answer to a NONE handshake or to a ping (handshake NULL: an empty message). */
void relay_avro_encode_handshake_reply(GByteArray *out, gint32 serial,
                                       const RelayAvroHandshakeResponse *handshake);

/* Client requests: append (n_events == 1), appendBatch (any n_events) or ping (n_events == 0); handshake
 * is NULL once the connection is established. Events are borrowed. Returns FALSE, appending nothing, if
 * the message would not fit in one buffer (2 GiB). */
gboolean relay_avro_encode_request(GByteArray *out, gint32 serial, const RelayAvroHandshakeRequest *handshake,
                                   RelayAvroMessage message, RelayEvent *const *events, guint n_events);
/* The same, written into space reserved at the end of an evbuffer (no intermediate buffer). Returns FALSE
 * if the message is too large or the evbuffer refused the space. */
gboolean relay_avro_encode_request_evbuffer(struct evbuffer *out, gint32 serial,
                                            const RelayAvroHandshakeRequest *handshake,
                                            RelayAvroMessage message, RelayEvent *const *events,
                                            guint n_events);

/* ---- one AvroFlumeEvent as a bare Avro datum (issue 18: Kafka's useFlumeEventFormat/parseAsFlumeEvent) ----
 * Flume's Kafka components write a record value as the binary datum of AvroFlumeEvent alone: no pack, no
 * container, no schema. */
/* Bytes of ev's datum. */
gsize relay_avro_event_datum_size(const RelayEvent *ev);
/* Writes ev's datum at out (relay_avro_event_datum_size bytes free); returns the end. */
guint8 *relay_avro_event_datum_put(guint8 *out, const RelayEvent *ev);
/* Decodes one datum that must fill data[0..len) exactly; a new event (refcount 1) or NULL (err filled) when
 * the bytes are not one AvroFlumeEvent within limits. */
RelayEvent *relay_avro_event_datum_decode(RelayAvroDecoder *self, const guint8 *data, gsize len,
                                          RelayAvroError *err);

#endif
