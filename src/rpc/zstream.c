/* zstream.c - zlib stream helpers for the deflate option of the Avro RPC source, sink and client. */
#include "zstream.h"

#include <string.h>

void
relay_zstream_init_deflate(RelayZStream *self, int level)
{
  memset(self, 0, sizeof *self);
  if (deflateInit(&self->z, level) != Z_OK)
    g_error("deflateInit failed"); /* only fails for a bad level or OOM: options bound the level */
  self->active = TRUE;
  self->deflating = TRUE;
}

void
relay_zstream_init_inflate(RelayZStream *self)
{
  memset(self, 0, sizeof *self);
  if (inflateInit(&self->z) != Z_OK)
    g_error("inflateInit failed");
  self->active = TRUE;
}

gboolean
relay_zstream_deflate(RelayZStream *self, const void *in, gsize len, GByteArray *out)
{
  self->z.next_in = (Bytef *)in;
  self->z.avail_in = (uInt)len;
  do
    {
      gsize room = deflateBound(&self->z, self->z.avail_in) + 64;
      gsize old = out->len;
      g_byte_array_set_size(out, old + room);
      self->z.next_out = out->data + old;
      self->z.avail_out = (uInt)room;
      int rc = deflate(&self->z, Z_SYNC_FLUSH);
      g_byte_array_set_size(out, old + room - self->z.avail_out);
      if (rc != Z_OK && rc != Z_BUF_ERROR)
        return FALSE;
    }
  while (self->z.avail_in > 0 || self->z.avail_out == 0);
  return TRUE;
}

gboolean
relay_zstream_inflate(RelayZStream *self, const void *in, gsize len, GByteArray *out, gsize max_out,
                      gboolean *too_big)
{
  *too_big = FALSE;
  self->z.next_in = (Bytef *)in;
  self->z.avail_in = (uInt)len;
  while (self->z.avail_in > 0)
    {
      gsize room = MAX(len * 4, 16384);
      gsize old = out->len;
      if (old + room > max_out)
        room = max_out > old ? max_out - old : 0;
      if (room == 0)
        {
          *too_big = TRUE;
          return FALSE;
        }
      g_byte_array_set_size(out, old + room);
      self->z.next_out = out->data + old;
      self->z.avail_out = (uInt)room;
      int rc = inflate(&self->z, Z_SYNC_FLUSH);
      g_byte_array_set_size(out, old + room - self->z.avail_out);
      if (rc == Z_STREAM_END)
        return self->z.avail_in == 0;
      if (rc != Z_OK && rc != Z_BUF_ERROR)
        return FALSE;
      if (rc == Z_BUF_ERROR && self->z.avail_out > 0)
        break; /* needs more input */
    }
  return TRUE;
}

void
relay_zstream_end(RelayZStream *self)
{
  if (!self->active)
    return;
  if (self->deflating)
    deflateEnd(&self->z);
  else
    inflateEnd(&self->z);
  self->active = FALSE;
}
