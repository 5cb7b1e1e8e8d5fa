/* tls_inbio.h - the BIO a RelayTlsConn's SSL reads the received records from (tls_inbio.c).
 *
 * Bytes reach it in two ways: appended (copied and kept until read), or lent (a window of the owner's buffer
 * that OpenSSL reads straight from, with no copy; what is left of it is copied in by
 * relay_tls_inbio_unlend(), which must run before the owner's buffer changes). Kept bytes are read before the
 * window. When empty, a read asks to be retried (more bytes will come), never reports the end of the stream.
 */
#ifndef RELAY_TLS_INBIO_H_INCLUDED
#define RELAY_TLS_INBIO_H_INCLUDED

#include <glib.h>
#include <openssl/bio.h>

BIO *relay_tls_inbio_new(void);
void relay_tls_inbio_append(BIO *bio, const guint8 *data, gsize len);
void relay_tls_inbio_lend(BIO *bio, const guint8 *data, gsize len);
void relay_tls_inbio_unlend(BIO *bio);
/* Bytes not read yet (kept and lent). */
gsize relay_tls_inbio_pending(BIO *bio);

#endif
