/* zstream.h - one zlib stream per connection direction, as Flume's deflate option uses it.
 *
 * Flume (Netty's JZlibEncoder/Decoder) wraps the whole connection in one zlib (RFC 1950) stream per
 * direction and flushes with Z_SYNC_FLUSH after every pack; there is no negotiation. */
#ifndef RELAY_ZSTREAM_H_INCLUDED
#define RELAY_ZSTREAM_H_INCLUDED

#include "relay.h"
#include <zlib.h>

typedef struct
{
  z_stream z;
  gboolean active;
  gboolean deflating;
} RelayZStream;

void relay_zstream_init_deflate(RelayZStream *self, int level);
void relay_zstream_init_inflate(RelayZStream *self);
/* Compresses len bytes and appends them, sync-flushed, to out. Returns FALSE on a zlib error. */
gboolean relay_zstream_deflate(RelayZStream *self, const void *in, gsize len, GByteArray *out);
/* Decompresses len bytes, appending to out; fails (FALSE, *too_big TRUE) rather than let out grow beyond
 * max_out bytes, and (FALSE, *too_big FALSE) on corrupt input. */
gboolean relay_zstream_inflate(RelayZStream *self, const void *in, gsize len, GByteArray *out, gsize max_out,
                               gboolean *too_big);
void relay_zstream_end(RelayZStream *self);

#endif
