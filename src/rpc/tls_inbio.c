/* tls_inbio.c - the read side of a RelayTlsConn: an OpenSSL BIO that hands OpenSSL the received records
 * straight from the owner's receive buffer (a lent window), so they are not first copied into a memory BIO.
 * Bytes OpenSSL does not take before the owner's call returns (a full output, a partial record) are kept in a
 * buffer of the BIO's own and read first next time. See tls_inbio.h. */
#include "tls_inbio.h"

#include <openssl/bio.h>
#include <string.h>

typedef struct
{
  GByteArray *held; /* bytes kept, from held_pos on not read yet */
  gsize held_pos;
  const guint8 *win; /* the lent window, from win_pos on not read yet */
  gsize win_len, win_pos;
} RelayInBio;

static gsize
_pending(const RelayInBio *b)
{
  return (b->held->len - b->held_pos) + (b->win_len - b->win_pos);
}

static int
_read_ex(BIO *bio, char *dst, size_t cap, size_t *n_read)
{
  RelayInBio *b = BIO_get_data(bio);
  gsize n = 0;

  BIO_clear_retry_flags(bio);
  if (b->held_pos < b->held->len)
    {
      n = MIN(cap, b->held->len - b->held_pos);
      memcpy(dst, b->held->data + b->held_pos, n);
      b->held_pos += n;
      if (b->held_pos == b->held->len)
        {
          g_byte_array_set_size(b->held, 0);
          b->held_pos = 0;
        }
    }
  if (n < cap && b->win_pos < b->win_len)
    {
      gsize w = MIN(cap - n, b->win_len - b->win_pos);
      memcpy(dst + n, b->win + b->win_pos, w);
      b->win_pos += w;
      n += w;
    }
  *n_read = n;
  if (n > 0)
    return 1;
  BIO_set_retry_read(bio); /* empty: "want more", not end of stream */
  return 0;
}

static int
_write_ex(BIO *bio, const char *data, size_t len, size_t *written)
{
  (void)bio, (void)data, (void)len;
  *written = 0;
  return 0; /* read-only: OpenSSL writes to the connection's other BIO */
}

static long
_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
  (void)num, (void)ptr;
  switch (cmd)
    {
    case BIO_CTRL_PENDING:
      return (long)MIN(_pending(BIO_get_data(bio)), (gsize)G_MAXLONG);
    case BIO_CTRL_FLUSH:
      return 1;
    default:
      return 0;
    }
}

static int
_create(BIO *bio)
{
  RelayInBio *b = g_new0(RelayInBio, 1);

  b->held = g_byte_array_new();
  BIO_set_data(bio, b);
  BIO_set_init(bio, 1);
  return 1;
}

static int
_destroy(BIO *bio)
{
  RelayInBio *b = BIO_get_data(bio);

  if (b)
    {
      g_byte_array_unref(b->held);
      g_free(b);
    }
  BIO_set_data(bio, NULL);
  return 1;
}

static gpointer
_make_method(gpointer unused)
{
  (void)unused;
  BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "relayd TLS input");
  BIO_meth_set_read_ex(m, _read_ex);
  BIO_meth_set_write_ex(m, _write_ex);
  BIO_meth_set_ctrl(m, _ctrl);
  BIO_meth_set_create(m, _create);
  BIO_meth_set_destroy(m, _destroy);
  return m;
}

BIO *
relay_tls_inbio_new(void)
{
  static GOnce once = G_ONCE_INIT;

  return BIO_new(g_once(&once, _make_method, NULL));
}

/* Appends to the kept bytes, first dropping those already read. */
static void
_hold(RelayInBio *b, const guint8 *data, gsize len)
{
  if (b->held_pos > 0)
    {
      g_byte_array_remove_range(b->held, 0, (guint)b->held_pos);
      b->held_pos = 0;
    }
  g_byte_array_append(b->held, data, (guint)len);
}

void
relay_tls_inbio_append(BIO *bio, const guint8 *data, gsize len)
{
  _hold(BIO_get_data(bio), data, len);
}

void
relay_tls_inbio_lend(BIO *bio, const guint8 *data, gsize len)
{
  RelayInBio *b = BIO_get_data(bio);

  b->win = data;
  b->win_len = len;
  b->win_pos = 0;
}

void
relay_tls_inbio_unlend(BIO *bio)
{
  RelayInBio *b = BIO_get_data(bio);

  if (b->win_pos < b->win_len)
    _hold(b, b->win + b->win_pos, b->win_len - b->win_pos);
  b->win = NULL;
  b->win_len = b->win_pos = 0;
}

gsize
relay_tls_inbio_pending(BIO *bio)
{
  return _pending(BIO_get_data(bio));
}
