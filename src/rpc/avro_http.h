/* avro_http.h - Avro's HTTP transport for the Avro source (transport = http): request parsing, replies.
 *
 * Avro's specification defines, besides the Netty framing Flume uses, a stateless HTTP transport: each call
 * is one POST whose body (Content-Type avro/binary) is the framed message - buffers of int32 big-endian
 * length + bytes, ended by a zero-length buffer - with a handshake in every request; the reply is a 200
 * response whose body is framed the same way. Stock Avro RPC clients use it (python3-avro's
 * avro.ipc.HTTPTransceiver, Java's org.apache.avro.ipc.HttpTransceiver). Pure codec: bytes in, slices or
 * bytes out, no sockets; the source feeds it through relayd's RPC server, which bounds and times requests.
 *
 * Accepted: "POST <any path> HTTP/1.1" (or 1.0) with Content-Length or Transfer-Encoding: chunked (Node's
 * http.request, which avsc's HTTP channels use, streams chunked),
 * at most RELAY_AVRO_HTTP_MAX_HEADER_BYTES of request line and headers, keep-alive connections (several
 * requests in turn; "Connection: close" is honoured by the reply's header and the client's close).
 * Every count and length is checked against the limits before the body is used. Thread: the caller's. */
#ifndef RELAY_AVRO_HTTP_H_INCLUDED
#define RELAY_AVRO_HTTP_H_INCLUDED

#include "avro_proto.h"

#define RELAY_AVRO_HTTP_MAX_HEADER_BYTES 8192

typedef struct
{
  /* After RELAY_AVRO_OK: the message as slices into the input, the bytes of the whole request, and whether
   * the client asked to close after the reply. */
  const RelayAvroSlice *slices;
  guint32 n_slices;
  gsize consumed;
  gboolean close;
  /* After RELAY_AVRO_ERROR: the HTTP status to answer with (400, 405, 411, 413, 431, 501) and why. */
  int status;
  RelayAvroError error;
  /* private: the request being received. _header_len 0: its head is not complete yet. Offsets, not
   * pointers: the input may move between calls. */
  gsize _header_len, _content_length;
  gboolean _close, _chunked, _in_trailer;
  gsize _chunk_pos; /* chunked: where the next chunk-size (or trailer) line starts */
  gsize _body_len;  /* chunked: data bytes so far */
  GArray *_segs;    /* RelayAvroSlice with offset = position in the input: the body's pieces */
  GArray *_slices;
} RelayAvroHttp;

void relay_avro_http_init(RelayAvroHttp *self);
void relay_avro_http_clear(RelayAvroHttp *self);
/* Parses the request at buf[0..len); call again with the same bytes plus more after NEED_MORE. After OK the
 * next call starts a new request (drain `consumed` bytes first). */
RelayAvroResult relay_avro_http_parse(RelayAvroHttp *self, const guint8 *buf, gsize len,
                                      const RelayAvroLimits *limits);
/* Appends a 200 response carrying the message of a one-buffer Netty pack (what the relay_avro_encode_*
 * reply functions write: serial, count 1, length, message). */
void relay_avro_http_reply_from_pack(GByteArray *out, const guint8 *pack, gsize pack_len, gboolean close);
/* Appends an error response with a one-line text body; the connection is closed after it. */
void relay_avro_http_error_reply(GByteArray *out, int status, const char *text);

#endif
