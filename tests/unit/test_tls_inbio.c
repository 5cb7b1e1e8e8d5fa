/* test_tls_inbio.c - unit tests of the read side of a TLS connection (src/rpc/tls_inbio.c through
 * relay_tls_conn_feed_read in src/rpc/tls.c), with a real client and server RelayTlsConn pair in memory.
 *
 * The received bytes are lent to OpenSSL straight from the caller's buffer; what OpenSSL does not take before
 * feed_read returns (the output is full, or a record arrived behind the one being read) must be copied and
 * read first next time. Every buffer lent here is filled with garbage and freed as soon as feed_read returns,
 * so a BIO that kept a pointer into it instead of a copy reads garbage (a bad record MAC) or, under ASan, a
 * freed block. The certificate is made here (ECDSA P-256, self-signed) and written to a temporary PEM file.
 */
#include "tls.h"

#include <glib/gstdio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#define RECORD 1000 /* plaintext bytes per SSL_write: one record each */

typedef struct
{
  char *dir, *pem;
  RelayTls *server_tls, *client_tls;
  RelayTlsConn *server, *client;
  GByteArray *got; /* what the server decrypted so far */
} Pair;

/* Writes a self-signed ECDSA P-256 certificate for localhost and its key into one PEM file. */
static void
_write_keystore(const char *path)
{
  EVP_PKEY *key = EVP_EC_gen("P-256");
  X509 *cert = X509_new();
  FILE *f = fopen(path, "w");

  assert_non_null(key);
  assert_non_null(f);
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                             (const unsigned char *)"localhost", -1, -1, 0);
  X509_set_issuer_name(cert, X509_get_subject_name(cert));
  X509_set_pubkey(cert, key);
  assert_true(X509_sign(cert, key, EVP_sha256()) > 0);
  assert_int_equal(PEM_write_X509(f, cert), 1);
  assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
  fclose(f);
  X509_free(cert);
  EVP_PKEY_free(key);
}

static RelayTls *
_tls(Pair *p, gboolean server)
{
  RelayTlsOptions o = { 0 };
  const char *bad_key = NULL;
  GError *error = NULL;

  o.ssl = TRUE;
  o.handshake_timeout_ms = 10000;
  if (server)
    o.keystore = p->pem;
  else
    o.trust_all_certs = TRUE; /* verification is not what is tested here */
  RelayTls *tls = relay_tls_new(&o, server, server ? "server" : "client", &bad_key, &error);
  if (!tls)
    fail_msg("relay_tls_new: %s: %s", bad_key, error->message);
  return tls;
}

/* Lends a copy of data to conn's feed_read, then fills the copy with garbage and frees it. */
static RelayTlsIo
_feed_read(RelayTlsConn *conn, const guint8 *data, gsize len, GByteArray *out, gsize max_out)
{
  guint8 *copy = g_malloc(len + 1);

  if (len)
    memcpy(copy, data, len);
  RelayTlsIo io = relay_tls_conn_feed_read(conn, copy, len, out, max_out);

  memset(copy, 0x5a, len);
  g_free(copy);
  return io;
}

/* Moves what from has to send into to (a whole flight at once), decrypting into out. */
static RelayTlsIo
_shuttle(RelayTlsConn *from, RelayTlsConn *to, GByteArray *out, gsize max_out)
{
  GByteArray *wire = g_byte_array_new();

  relay_tls_conn_take_output(from, wire);
  RelayTlsIo io = _feed_read(to, wire->data, wire->len, out, max_out);
  g_byte_array_unref(wire);
  return io;
}

static int
_setup(void **state)
{
  Pair *p = g_new0(Pair, 1);
  GByteArray *sink = g_byte_array_new();

  p->dir = g_dir_make_tmp("test_tls_inbio-XXXXXX", NULL);
  assert_non_null(p->dir);
  p->pem = g_build_filename(p->dir, "server.pem", NULL);
  _write_keystore(p->pem);
  p->server_tls = _tls(p, TRUE);
  p->client_tls = _tls(p, FALSE);
  p->server = relay_tls_conn_new(p->server_tls, NULL);
  p->client = relay_tls_conn_new(p->client_tls, "localhost");
  p->got = g_byte_array_new();
  /* The client's first read starts the handshake; the flights go back and forth until both are done. */
  assert_int_equal(relay_tls_conn_read(p->client, sink, 65536), RELAY_TLS_IO_OK);
  for (int i = 0; i < 10 && !(relay_tls_conn_established(p->client) && relay_tls_conn_established(p->server));
       i++)
    {
      assert_int_equal(_shuttle(p->client, p->server, sink, 65536), RELAY_TLS_IO_OK);
      assert_int_equal(_shuttle(p->server, p->client, sink, 65536), RELAY_TLS_IO_OK);
    }
  assert_true(relay_tls_conn_established(p->client) && relay_tls_conn_established(p->server));
  assert_int_equal(sink->len, 0);
  assert_int_equal(relay_tls_conn_input_pending(p->server), 0);
  g_byte_array_unref(sink);
  *state = p;
  return 0;
}

static int
_teardown(void **state)
{
  Pair *p = *state;

  relay_tls_conn_free(p->server);
  relay_tls_conn_free(p->client);
  relay_tls_unref(p->server_tls);
  relay_tls_unref(p->client_tls);
  g_unlink(p->pem);
  g_rmdir(p->dir);
  g_free(p->pem);
  g_free(p->dir);
  g_byte_array_unref(p->got);
  g_free(p);
  return 0;
}

/* The client encrypts records first..first+n-1 (record i is RECORD bytes of 'A' + i % 26); returns the wire
 * bytes. */
static GByteArray *
_records(Pair *p, int first, int n)
{
  guint8 plain[RECORD];
  GByteArray *wire = g_byte_array_new();

  for (int i = first; i < first + n; i++)
    {
      memset(plain, 'A' + i % 26, sizeof plain);
      assert_int_equal(relay_tls_conn_write(p->client, plain, sizeof plain), RELAY_TLS_IO_OK);
    }
  relay_tls_conn_take_output(p->client, wire);
  assert_true(wire->len > (guint)(n * RECORD));
  return wire;
}

/* The server decrypted exactly records 0..n-1, in order. */
static void
_assert_got(Pair *p, int n)
{
  assert_int_equal(p->got->len, n * RECORD);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < RECORD; j++)
      if (p->got->data[i * RECORD + j] != 'A' + i % 26)
        fail_msg("byte %d of record %d is %#x", j, i, p->got->data[i * RECORD + j]);
}

/* A full output stops the read after the first record: the two records behind it are kept (copied out of the
 * lent buffer, which is gone) and read, in order, once there is room; nothing is kept after that. */
static void
test_keeps_what_openssl_left(void **state)
{
  Pair *p = *state;
  GByteArray *wire = _records(p, 0, 3);
  gsize record_wire = wire->len / 3;

  assert_int_equal(_feed_read(p->server, wire->data, wire->len, p->got, RECORD), RELAY_TLS_IO_OK);
  _assert_got(p, 1);
  assert_int_equal(relay_tls_conn_input_pending(p->server), wire->len - record_wire);
  assert_int_equal(_feed_read(p->server, NULL, 0, p->got, 3 * RECORD), RELAY_TLS_IO_OK);
  _assert_got(p, 3);
  assert_int_equal(relay_tls_conn_input_pending(p->server), 0);
  g_byte_array_unref(wire);
}

/* Kept bytes come before a new lent buffer: records 1 and 2 are kept, record 3 arrives in a new buffer while
 * the output has room for one record only, then for everything. */
static void
test_kept_bytes_come_first(void **state)
{
  Pair *p = *state;
  GByteArray *first = _records(p, 0, 3), *second = _records(p, 3, 2);

  assert_int_equal(_feed_read(p->server, first->data, first->len, p->got, RECORD), RELAY_TLS_IO_OK);
  _assert_got(p, 1);
  assert_int_equal(_feed_read(p->server, second->data, second->len, p->got, 2 * RECORD), RELAY_TLS_IO_OK);
  _assert_got(p, 2); /* record 1, from the kept bytes; record 2 and the new buffer are kept */
  assert_int_equal(relay_tls_conn_input_pending(p->server), first->len / 3 + second->len);
  assert_int_equal(_feed_read(p->server, NULL, 0, p->got, 10 * RECORD), RELAY_TLS_IO_OK);
  _assert_got(p, 5);
  assert_int_equal(relay_tls_conn_input_pending(p->server), 0);
  g_byte_array_unref(first);
  g_byte_array_unref(second);
}

/* Records cut every 7 bytes, each piece lent on its own, while the output grows by one record every 200
 * pieces: pieces pile up behind the record being read and are kept, and everything arrives in order. */
static void
test_pieces(void **state)
{
  Pair *p = *state;
  GByteArray *wire = _records(p, 0, 8);
  gsize max_out = RECORD, kept_most = 0;

  for (gsize off = 0; off < wire->len; off += 7)
    {
      assert_int_equal(_feed_read(p->server, wire->data + off, MIN(7, wire->len - off), p->got, max_out),
                       RELAY_TLS_IO_OK);
      kept_most = MAX(kept_most, relay_tls_conn_input_pending(p->server));
      if (off % (7 * 200) == 0)
        max_out += RECORD; /* room for one more record every 1400 bytes: the reader lags behind */
    }
  assert_true(kept_most > RECORD);
  while (p->got->len < 8 * RECORD && relay_tls_conn_input_pending(p->server) > 0)
    {
      assert_int_equal(_feed_read(p->server, NULL, 0, p->got, max_out), RELAY_TLS_IO_OK);
      max_out += RECORD;
    }
  _assert_got(p, 8);
  assert_int_equal(relay_tls_conn_input_pending(p->server), 0);
  g_byte_array_unref(wire);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_keeps_what_openssl_left, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_kept_bytes_come_first, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_pieces, _setup, _teardown),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
