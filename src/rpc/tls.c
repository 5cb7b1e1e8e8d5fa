/* tls.c - TLS contexts (Flume's keys, stores, protocol and cipher filters, reload) and memory-BIO TLS
 * connections; see tls.h.
 *
 * Store formats: PKCS12 (what Java's keytool writes by default since Java 9, and `openssl pkcs12 -export`)
 * and PEM (certificate chain and private key in one file for a keystore; CA certificates for a truststore).
 * The format is taken from the file's content; a Java KeyStore (JKS/JCEKS, magic FEEDFEED/CECECECE) is
 * refused with the keytool command converting it. Flume's semantics otherwise
 * (flume-ng-core/src/main/java/org/apache/flume/source/SslContextAwareAbstractSource.java,
 * flume-ng-sdk/src/main/java/org/apache/flume/api/SSLContextAwareAbstractRpcClient.java): the key password
 * is the store password, SSLv3 is never enabled, include lists intersect and exclude lists subtract. */
#include "tls.h"

#include "log.h"
#include "relay_mutex.h"
#include "tls_inbio.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <string.h>

const char *const relay_tls_client_auth_choices[] = { "none", "optional", "required", NULL };
const char *const relay_tls_deflate_order_choices[] = { "deflate-outside-tls", "tls-outside-deflate", NULL };

const char *
relay_tls_failure_name(RelayTlsFailure failure)
{
  static const char *const names[] = {
    "untrusted-certificate", "certificate-expired", "certificate-not-yet-valid", "hostname-mismatch",
    "no-client-certificate", "subject-not-allowed", "plaintext-on-tls-port",     "tls-on-plaintext-port",
    "handshake-timeout",     "rejected-by-peer",    "handshake-failed",
  };
  return failure < RELAY_TLS_FAIL_N ? names[failure] : "?";
}

/* ---------------------------------------------------------------- globals */

typedef struct
{
  const char *property;
  const char *env;
} RelayTlsGlobal;

/* As SSLUtil.initGlobalSSLParameters: each system property falls back to its environment variable. */
static const RelayTlsGlobal _globals[] = {
  { "javax.net.ssl.keyStore", "FLUME_SSL_KEYSTORE_PATH" },
  { "javax.net.ssl.keyStorePassword", "FLUME_SSL_KEYSTORE_PASSWORD" },
  { "javax.net.ssl.keyStoreType", "FLUME_SSL_KEYSTORE_TYPE" },
  { "javax.net.ssl.trustStore", "FLUME_SSL_TRUSTSTORE_PATH" },
  { "javax.net.ssl.trustStorePassword", "FLUME_SSL_TRUSTSTORE_PASSWORD" },
  { "javax.net.ssl.trustStoreType", "FLUME_SSL_TRUSTSTORE_TYPE" },
  { "flume.ssl.include.protocols", "FLUME_SSL_INCLUDE_PROTOCOLS" },
  { "flume.ssl.exclude.protocols", "FLUME_SSL_EXCLUDE_PROTOCOLS" },
  { "flume.ssl.include.cipherSuites", "FLUME_SSL_INCLUDE_CIPHERSUITES" },
  { "flume.ssl.exclude.cipherSuites", "FLUME_SSL_EXCLUDE_CIPHERSUITES" },
  { NULL, NULL },
};

static RelayMutex _globals_lock;
static GHashTable *_system_properties;
static gboolean _startup_failed;

gboolean
relay_tls_set_system_property(const char *key, const char *value)
{
  for (const RelayTlsGlobal *g = _globals; g->property; g++)
    if (strcmp(g->property, key) == 0)
      {
        relay_mutex_lock(&_globals_lock);
        if (!_system_properties)
          _system_properties = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        g_hash_table_replace(_system_properties, g_strdup(key), g_strdup(value));
        relay_mutex_unlock(&_globals_lock);
        return TRUE;
      }
  return FALSE;
}

/* Component value, else -D property, else environment (new string or NULL). */
static char *
_fallback(const char *component_value, const char *property)
{
  if (component_value)
    return g_strdup(component_value);
  char *value = NULL;
  relay_mutex_lock(&_globals_lock);
  if (_system_properties)
    value = g_strdup(g_hash_table_lookup(_system_properties, property));
  relay_mutex_unlock(&_globals_lock);
  if (value)
    return value;
  for (const RelayTlsGlobal *g = _globals; g->property; g++)
    if (strcmp(g->property, property) == 0 && g_getenv(g->env) && *g_getenv(g->env))
      return g_strdup(g_getenv(g->env));
  return NULL;
}

/* Lists: component lists are space-separated, global ones comma-separated; both are accepted. */
static char **
_split(const char *value)
{
  char **parts = g_strsplit_set(value ? value : "", " ,\t", -1);
  GPtrArray *out = g_ptr_array_new();

  for (guint i = 0; parts[i]; i++)
    if (*parts[i])
      g_ptr_array_add(out, g_strdup(parts[i]));
  g_ptr_array_add(out, NULL);
  g_strfreev(parts);
  return (char **)g_ptr_array_free(out, FALSE);
}

static gboolean
_in_list(char **list, const char *a, const char *b)
{
  for (guint i = 0; list && list[i]; i++)
    if ((a && g_ascii_strcasecmp(list[i], a) == 0) || (b && g_ascii_strcasecmp(list[i], b) == 0))
      return TRUE;
  return FALSE;
}

/* ---------------------------------------------------------------- errors */

static void _openssl_error(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Sets error to fmt followed by OpenSSL's reason, if it has one. */
static void
_openssl_error(GError **error, const char *fmt, ...)
{
  va_list ap;
  unsigned long e = ERR_peek_last_error();
  const char *reason = e ? ERR_reason_error_string(e) : NULL;

  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "%s%s%s", msg, reason ? ": " : "",
              reason ? reason : "");
  g_free(msg);
  ERR_clear_error();
}

/* ---------------------------------------------------------------- stores */

typedef enum
{
  _STORE_PEM,
  _STORE_PKCS12,
} RelayStoreFormat;

/* Reads a store file and decides its format from the content. */
static gboolean
_read_store(const char *what, const char *path, const char *declared, GBytes **bytes,
            RelayStoreFormat *format, GError **error)
{
  char *data = NULL;
  gsize len = 0;
  GError *io = NULL;

  if (!g_file_get_contents(path, &data, &len, &io))
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "cannot read %s %s: %s", what, path, io->message);
      g_error_free(io);
      return FALSE;
    }
  static const guint8 jks[] = { 0xfe, 0xed, 0xfe, 0xed }, jceks[] = { 0xce, 0xce, 0xce, 0xce };
  if (len >= 4 && (memcmp(data, jks, 4) == 0 || memcmp(data, jceks, 4) == 0))
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG,
                  "%s %s is a Java KeyStore (JKS), which relayd does not read; convert it to PKCS12 with: "
                  "keytool -importkeystore -srckeystore %s -srcstoretype JKS -destkeystore %s.p12 "
                  "-deststoretype PKCS12",
                  what, path, path, path);
      g_free(data);
      return FALSE;
    }
  *format = g_strstr_len(data, (gssize)len, "-----BEGIN ") ? _STORE_PEM : _STORE_PKCS12;
  if (declared && g_ascii_strcasecmp(declared, "PEM") != 0 && g_ascii_strcasecmp(declared, "PKCS12") != 0
      && g_ascii_strcasecmp(declared, "JKS") != 0)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "%s %s: type %s is not PKCS12 or PEM", what, path,
                  declared);
      g_free(data);
      return FALSE;
    }
  *bytes = g_bytes_new_take(data, len);
  return TRUE;
}

static BIO *
_bio(GBytes *bytes)
{
  gsize len;
  const void *data = g_bytes_get_data(bytes, &len);
  return BIO_new_mem_buf(data, (int)len);
}

typedef struct
{
  X509 *cert;
  EVP_PKEY *key;
  STACK_OF(X509) * chain; /* certificates after the first (PEM) or the PKCS12's CA list */
} RelayStoreContent;

static void
_content_clear(RelayStoreContent *c)
{
  X509_free(c->cert);
  EVP_PKEY_free(c->key);
  sk_X509_pop_free(c->chain, X509_free);
  memset(c, 0, sizeof *c);
}

static gboolean
_load_pem(const char *what, const char *path, GBytes *bytes, const char *password, gboolean want_key,
          RelayStoreContent *c, GError **error)
{
  BIO *bio = _bio(bytes);
  X509 *x;

  c->chain = sk_X509_new_null();
  while ((x = PEM_read_bio_X509(bio, NULL, NULL, (void *)"")))
    {
      if (!c->cert)
        c->cert = x;
      else
        sk_X509_push(c->chain, x);
    }
  ERR_clear_error();
  BIO_free(bio);
  if (!c->cert)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "%s %s holds no certificate", what, path);
      return FALSE;
    }
  if (!want_key)
    return TRUE;
  bio = _bio(bytes);
  /* A NULL callback with a password makes OpenSSL use it and never prompt. */
  c->key = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)(password ? password : ""));
  BIO_free(bio);
  if (!c->key)
    {
      _openssl_error(error, "%s %s: cannot read its private key (missing, or wrong keystore-password)", what,
                     path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
_load_pkcs12(const char *what, const char *path, GBytes *bytes, const char *password, RelayStoreContent *c,
             GError **error)
{
  BIO *bio = _bio(bytes);
  PKCS12 *p12 = d2i_PKCS12_bio(bio, NULL);
  const char *pw = password ? password : "";

  BIO_free(bio);
  if (!p12)
    {
      _openssl_error(error, "%s %s is neither PEM nor PKCS12", what, path);
      return FALSE;
    }
  if (PKCS12_mac_present(p12) && !PKCS12_verify_mac(p12, pw, -1)
      && !(password == NULL && PKCS12_verify_mac(p12, NULL, 0)))
    {
      PKCS12_free(p12);
      ERR_clear_error();
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "%s %s: wrong password", what, path);
      return FALSE;
    }
  gboolean ok = PKCS12_parse(p12, pw, &c->key, &c->cert, &c->chain) == 1;
  PKCS12_free(p12);
  if (!ok)
    _openssl_error(error, "%s %s: cannot decode the PKCS12 store", what, path);
  return ok;
}

static gboolean
_load_store(const char *what, const char *path, const char *password, const char *type, gboolean want_key,
            RelayStoreContent *c, GError **error)
{
  GBytes *bytes = NULL;
  RelayStoreFormat format;

  if (!_read_store(what, path, type, &bytes, &format, error))
    return FALSE;
  gboolean ok = format == _STORE_PEM ? _load_pem(what, path, bytes, password, want_key, c, error)
                                     : _load_pkcs12(what, path, bytes, password, c, error);
  g_bytes_unref(bytes);
  if (ok && want_key && !c->key)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "%s %s holds no private key", what, path);
      ok = FALSE;
    }
  if (ok && !want_key && !c->cert && sk_X509_num(c->chain) == 0)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "%s %s holds no certificate", what, path);
      ok = FALSE;
    }
  return ok;
}

static gboolean
_use_keystore(SSL_CTX *ctx, const RelayTlsOptions *o, GError **error)
{
  RelayStoreContent c = { 0 };

  if (!_load_store("keystore", o->keystore, o->keystore_password, o->keystore_type, TRUE, &c, error))
    {
      _content_clear(&c);
      return FALSE;
    }
  gboolean ok = SSL_CTX_use_certificate(ctx, c.cert) == 1;
  for (int i = 0; ok && i < sk_X509_num(c.chain); i++)
    ok = SSL_CTX_add1_chain_cert(ctx, sk_X509_value(c.chain, i)) == 1;
  if (!ok || SSL_CTX_use_PrivateKey(ctx, c.key) != 1 || SSL_CTX_check_private_key(ctx) != 1)
    {
      _openssl_error(error, "keystore %s: its private key does not match its certificate", o->keystore);
      ok = FALSE;
    }
  if (ok && X509_cmp_current_time(X509_get0_notAfter(c.cert)) < 0)
    relay_warn(NULL, "keystore %s: the certificate has expired; peers will refuse it", o->keystore);
  _content_clear(&c);
  return ok;
}

static void
_trust_cert(SSL_CTX *ctx, X509 *cert, gboolean server)
{
  X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), cert);
  if (server)
    SSL_CTX_add_client_CA(ctx, cert);
}

static gboolean
_use_truststore(SSL_CTX *ctx, const RelayTlsOptions *o, gboolean server, GError **error)
{
  RelayStoreContent c = { 0 };

  if (!_load_store("truststore", o->truststore, o->truststore_password, o->truststore_type, FALSE, &c, error))
    {
      _content_clear(&c);
      return FALSE;
    }
  if (c.cert)
    _trust_cert(ctx, c.cert, server);
  for (int i = 0; i < sk_X509_num(c.chain); i++)
    _trust_cert(ctx, sk_X509_value(c.chain, i), server);
  ERR_clear_error(); /* duplicates in the store are not an error */
  _content_clear(&c);
  return TRUE;
}

/* ---------------------------------------------------------------- protocols and ciphers */

static const struct
{
  const char *name;
  int version;
} _protocols[] = {
  { "TLSv1", TLS1_VERSION },
  { "TLSv1.1", TLS1_1_VERSION },
  { "TLSv1.2", TLS1_2_VERSION },
  { "TLSv1.3", TLS1_3_VERSION },
};

static gboolean
_set_protocols(SSL_CTX *ctx, const RelayTlsOptions *o, GError **error)
{
  char **include = _split(o->include_protocols), **exclude = _split(o->exclude_protocols);
  gboolean enabled[G_N_ELEMENTS(_protocols)];
  gboolean ok = TRUE;

  for (guint i = 0; i < G_N_ELEMENTS(_protocols); i++)
    enabled[i]
        = include[0] ? _in_list(include, _protocols[i].name, NULL) : _protocols[i].version >= TLS1_2_VERSION;
  for (guint i = 0; include[i]; i++)
    {
      gboolean known
          = g_ascii_strcasecmp(include[i], "SSLv3") == 0 || g_ascii_strcasecmp(include[i], "SSLv2Hello") == 0;
      for (guint j = 0; j < G_N_ELEMENTS(_protocols); j++)
        known = known || g_ascii_strcasecmp(include[i], _protocols[j].name) == 0;
      if (!known)
        {
          g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG,
                      "include-protocols: unknown protocol %s (TLSv1, TLSv1.1, TLSv1.2, TLSv1.3)",
                      include[i]);
          ok = FALSE;
        }
    }
  int min = 0, max = 0;
  for (guint i = 0; i < G_N_ELEMENTS(_protocols); i++)
    {
      if (_in_list(exclude, _protocols[i].name, NULL))
        enabled[i] = FALSE;
      if (!enabled[i])
        continue;
      min = min ? min : _protocols[i].version;
      max = _protocols[i].version;
    }
  if (ok && !min)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG,
                  "include/exclude-protocols leave no protocol enabled");
      ok = FALSE;
    }
  if (ok)
    {
      SSL_CTX_set_min_proto_version(ctx, min);
      SSL_CTX_set_max_proto_version(ctx, max);
      static const long no[] = { SSL_OP_NO_TLSv1, SSL_OP_NO_TLSv1_1, SSL_OP_NO_TLSv1_2, SSL_OP_NO_TLSv1_3 };
      for (guint i = 0; i < G_N_ELEMENTS(_protocols); i++)
        if (!enabled[i])
          SSL_CTX_set_options(ctx, no[i]); /* a hole between min and max */
    }
  g_strfreev(include);
  g_strfreev(exclude);
  return ok;
}

/* Enabled = (include ? every cipher OpenSSL offers in include : OpenSSL's defaults) - exclude, matching Java
 * (IANA) names such as TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 as well as OpenSSL names. */
static gboolean
_set_ciphers(SSL_CTX *ctx, const RelayTlsOptions *o, GError **error)
{
  char **include = _split(o->include_cipher_suites), **exclude = _split(o->exclude_cipher_suites);
  GString *tls12 = g_string_new(NULL), *tls13 = g_string_new(NULL);
  gboolean ok = TRUE;

  if (!include[0] && !exclude[0])
    goto out;
  if (include[0])
    {
      SSL_CTX_set_cipher_list(ctx, "ALL"); /* every suite the security level allows */
      SSL_CTX_set_ciphersuites(ctx,
                               "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"
                               "TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256");
    }
  STACK_OF(SSL_CIPHER) *all = SSL_CTX_get_ciphers(ctx);
  for (int i = 0; i < sk_SSL_CIPHER_num(all); i++)
    {
      const SSL_CIPHER *c = sk_SSL_CIPHER_value(all, i);
      const char *std = SSL_CIPHER_standard_name(c), *name = SSL_CIPHER_get_name(c);
      if ((include[0] && !_in_list(include, std, name)) || _in_list(exclude, std, name))
        continue;
      GString *s = strcmp(SSL_CIPHER_get_version(c), "TLSv1.3") == 0 ? tls13 : tls12;
      g_string_append_printf(s, "%s%s", s->len ? ":" : "", name);
    }
  if (tls12->len == 0 && tls13->len == 0)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG,
                  "include/exclude-cipher-suites leave no cipher suite enabled");
      ok = FALSE;
      goto out;
    }
  SSL_CTX_set_ciphersuites(ctx, tls13->str);
  if (tls12->len)
    SSL_CTX_set_cipher_list(ctx, tls12->str);
  else
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION), SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  if (tls13->len == 0)
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
  ERR_clear_error();
out:
  g_string_free(tls12, TRUE);
  g_string_free(tls13, TRUE);
  g_strfreev(include);
  g_strfreev(exclude);
  return ok;
}

/* ---------------------------------------------------------------- contexts */

struct _RelayTls
{
  gint ref;
  gboolean server;
  char *label;
  RelayTlsOptions o; /* resolved copy (globals applied), owned strings */
  char **allowed;    /* ssl-allowed-subjects patterns */
  RelayMutex lock;
  SSL_CTX *ctx;
};

static RelayMutex _registry_lock;
static GList *_registry;

/* Fixes the certificate chain this side sends when the context is built: the keystore's own chain, or else
 * the one completed once from the trusted certificates (without the root, which a peer that trusts it has).
 * Left to OpenSSL, the chain is completed from the trust store on every handshake (a chain verification with
 * a signature check each time: a third of the CPU that mutual TLS adds to a source's handshake, measured with
 * callgrind) and the root is sent along. */
static void
_fix_chain(SSL_CTX *ctx)
{
  STACK_OF(X509) *chain = NULL;

  if (SSL_CTX_get0_chain_certs(ctx, &chain) == 1 && sk_X509_num(chain) <= 0)
    (void)SSL_CTX_build_cert_chain(ctx, SSL_BUILD_CHAIN_FLAG_NO_ROOT | SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR);
  SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
  ERR_clear_error();
}

/* Builds a context from the files. *key names the configuration key the failure concerns. */
static SSL_CTX *
_build_ctx(RelayTls *self, const char **key, GError **error)
{
  const RelayTlsOptions *o = &self->o;
  SSL_CTX *ctx = SSL_CTX_new(self->server ? TLS_server_method() : TLS_client_method());

  *key = "ssl";
  if (!ctx)
    {
      _openssl_error(error, "cannot create a TLS context");
      return NULL;
    }
  gboolean ok = TRUE;
  if (ok && !_set_protocols(ctx, o, error))
    *key = "include-protocols", ok = FALSE;
  if (ok && !_set_ciphers(ctx, o, error))
    *key = "include-cipher-suites", ok = FALSE;
  if (ok && o->keystore && !_use_keystore(ctx, o, error))
    *key = "keystore", ok = FALSE;
  gboolean want_trust = self->server ? o->client_auth != RELAY_TLS_CLIENT_AUTH_NONE : !o->trust_all_certs;
  if (ok && want_trust && o->truststore && !_use_truststore(ctx, o, self->server, error))
    *key = "truststore", ok = FALSE;
  if (!ok)
    {
      SSL_CTX_free(ctx);
      return NULL;
    }
  if (!self->server && want_trust && !o->truststore)
    SSL_CTX_set_default_verify_paths(ctx); /* the system's CAs, as the JDK's cacerts */
  if (o->keystore)
    _fix_chain(ctx);
  int mode = SSL_VERIFY_NONE;
  if (want_trust)
    mode = SSL_VERIFY_PEER
           | (self->server && o->client_auth == RELAY_TLS_CLIENT_AUTH_REQUIRED
                  ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                  : 0);
  SSL_CTX_set_verify(ctx, mode, NULL);
  if (self->server)
    {
      /* No session resumption: every connection is verified against the current certificates. */
      SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
      SSL_CTX_set_num_tickets(ctx, 0);
    }
  return ctx;
}

static void
_resolve_options(RelayTlsOptions *dst, const RelayTlsOptions *src)
{
  *dst = *src;
  dst->keystore = _fallback(src->keystore, "javax.net.ssl.keyStore");
  dst->keystore_password = _fallback(src->keystore_password, "javax.net.ssl.keyStorePassword");
  dst->keystore_type = _fallback(src->keystore_type, "javax.net.ssl.keyStoreType");
  dst->truststore = _fallback(src->truststore, "javax.net.ssl.trustStore");
  dst->truststore_password = _fallback(src->truststore_password, "javax.net.ssl.trustStorePassword");
  dst->truststore_type = _fallback(src->truststore_type, "javax.net.ssl.trustStoreType");
  dst->include_protocols = _fallback(src->include_protocols, "flume.ssl.include.protocols");
  dst->exclude_protocols = _fallback(src->exclude_protocols, "flume.ssl.exclude.protocols");
  dst->include_cipher_suites = _fallback(src->include_cipher_suites, "flume.ssl.include.cipherSuites");
  dst->exclude_cipher_suites = _fallback(src->exclude_cipher_suites, "flume.ssl.exclude.cipherSuites");
  dst->allowed_subjects = g_strdup(src->allowed_subjects);
  dst->peer_header = g_strdup(src->peer_header);
  if (dst->trust_all_certs)
    dst->verify_hostname = FALSE;
}

static void
_clear_options(RelayTlsOptions *o)
{
  g_free(o->keystore);
  g_free(o->keystore_password);
  g_free(o->keystore_type);
  g_free(o->truststore);
  g_free(o->truststore_password);
  g_free(o->truststore_type);
  g_free(o->include_protocols);
  g_free(o->exclude_protocols);
  g_free(o->include_cipher_suites);
  g_free(o->exclude_cipher_suites);
  g_free(o->allowed_subjects);
  g_free(o->peer_header);
}

/* Checks combinations that make no sense. NULL if fine, else the key and a message. */
static const char *
_check_options(const RelayTlsOptions *o, gboolean server, char **why)
{
  if (server && !o->keystore)
    return *why = g_strdup("keystore must be specified when SSL is enabled"), "keystore";
  if (server && o->client_auth != RELAY_TLS_CLIENT_AUTH_NONE && !o->truststore)
    return *why = g_strdup("ssl-client-auth needs a truststore naming the accepted CAs"), "truststore";
  if (server && o->allowed_subjects && o->client_auth == RELAY_TLS_CLIENT_AUTH_NONE)
    return *why = g_strdup("ssl-allowed-subjects needs ssl-client-auth = optional or required"),
           "ssl-allowed-subjects";
  return NULL;
}

RelayTls *
relay_tls_new(const RelayTlsOptions *options, gboolean server, const char *label, const char **bad_key,
              GError **error)
{
  RelayTls *self = g_new0(RelayTls, 1);
  char *why = NULL;

  self->ref = 1;
  self->server = server;
  self->label = g_strdup(label);
  relay_mutex_init(&self->lock);
  _resolve_options(&self->o, options);
  self->allowed = _split(self->o.allowed_subjects);
  *bad_key = _check_options(&self->o, server, &why);
  if (*bad_key)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "%s", why);
      g_free(why);
    }
  else
    self->ctx = _build_ctx(self, bad_key, error);
  if (!self->ctx)
    {
      _startup_failed = TRUE;
      relay_tls_unref(self);
      return NULL;
    }
  relay_mutex_lock(&_registry_lock);
  _registry = g_list_prepend(_registry, self);
  relay_mutex_unlock(&_registry_lock);
  return self;
}

RelayTls *
relay_tls_ref(RelayTls *self)
{
  g_atomic_int_inc(&self->ref);
  return self;
}

void
relay_tls_unref(RelayTls *self)
{
  if (!self || !g_atomic_int_dec_and_test(&self->ref))
    return;
  relay_mutex_lock(&_registry_lock);
  _registry = g_list_remove(_registry, self);
  relay_mutex_unlock(&_registry_lock);
  SSL_CTX_free(self->ctx);
  _clear_options(&self->o);
  g_strfreev(self->allowed);
  relay_mutex_clear(&self->lock);
  g_free(self->label);
  g_free(self);
}

const RelayTlsOptions *
relay_tls_options(RelayTls *self)
{
  return &self->o;
}

gboolean
relay_tls_startup_failed(void)
{
  return _startup_failed;
}

guint
relay_tls_reload_all(void)
{
  guint failed = 0;

  relay_mutex_lock(&_registry_lock);
  for (GList *l = _registry; l; l = l->next)
    {
      RelayTls *self = l->data;
      GError *error = NULL;
      const char *key;
      SSL_CTX *ctx = _build_ctx(self, &key, &error);
      if (!ctx)
        {
          relay_error(self->label, "TLS reload failed, keeping the previous certificates: %s",
                      error->message);
          g_error_free(error);
          failed++;
          continue;
        }
      relay_mutex_lock(&self->lock);
      SSL_CTX *old = self->ctx;
      self->ctx = ctx;
      relay_mutex_unlock(&self->lock);
      SSL_CTX_free(old); /* connections made with it hold their own reference */
      relay_info(self->label, "TLS certificates reloaded%s%s", self->o.keystore ? " keystore=" : "",
                 self->o.keystore ? self->o.keystore : "");
    }
  relay_mutex_unlock(&_registry_lock);
  return failed;
}

SSL *
relay_tls_new_ssl(RelayTls *self)
{
  relay_mutex_lock(&self->lock);
  SSL *ssl = SSL_new(self->ctx);
  relay_mutex_unlock(&self->lock);
  return ssl;
}

/* ---------------------------------------------------------------- connections */

struct _RelayTlsConn
{
  RelayTls *tls;
  SSL *ssl;
  BIO *rbio, *wbio;
  gboolean established;
  RelayTlsFailure failure;
  char *detail;
  char *subject;
};

RelayTlsConn *
relay_tls_conn_new(RelayTls *tls, const char *host)
{
  RelayTlsConn *self = g_new0(RelayTlsConn, 1);

  self->tls = relay_tls_ref(tls);
  relay_mutex_lock(&tls->lock);
  self->ssl = SSL_new(tls->ctx);
  relay_mutex_unlock(&tls->lock);
  self->rbio = relay_tls_inbio_new();
  self->wbio = BIO_new(BIO_s_mem());
  SSL_set_bio(self->ssl, self->rbio, self->wbio);
  self->failure = RELAY_TLS_FAIL_HANDSHAKE;
  if (tls->server)
    {
      SSL_set_accept_state(self->ssl);
      return self;
    }
  SSL_set_connect_state(self->ssl);
  if (!host)
    return self;
  gboolean literal = g_hostname_is_ip_address(host);
  if (!literal)
    SSL_set_tlsext_host_name(self->ssl, host);
  if (tls->o.verify_hostname && !tls->o.trust_all_certs)
    {
      if (literal)
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(self->ssl), host);
      else
        SSL_set1_host(self->ssl, host);
    }
  return self;
}

void
relay_tls_conn_free(RelayTlsConn *self)
{
  if (!self)
    return;
  SSL_free(self->ssl); /* frees the BIOs */
  relay_tls_unref(self->tls);
  g_free(self->detail);
  g_free(self->subject);
  g_free(self);
}

void
relay_tls_conn_feed(RelayTlsConn *self, const guint8 *data, gsize len)
{
  if (len)
    relay_tls_inbio_append(self->rbio, data, len);
}

void
relay_tls_conn_set_failure(RelayTlsConn *self, RelayTlsFailure failure, const char *detail)
{
  self->failure = failure;
  g_free(self->detail);
  self->detail = g_strdup(detail);
}

/* Classifies a failed SSL call. */
static void
_classify(RelayTlsConn *self, int err)
{
  unsigned long e = ERR_peek_last_error();
  int reason = ERR_GET_REASON(e);
  long vr = SSL_get_verify_result(self->ssl);
  gboolean verifying = (SSL_get_verify_mode(self->ssl) & SSL_VERIFY_PEER) != 0;

  if (verifying && vr != X509_V_OK)
    {
      RelayTlsFailure f = RELAY_TLS_FAIL_UNTRUSTED;
      if (vr == X509_V_ERR_CERT_HAS_EXPIRED)
        f = RELAY_TLS_FAIL_EXPIRED;
      else if (vr == X509_V_ERR_CERT_NOT_YET_VALID)
        f = RELAY_TLS_FAIL_NOT_YET_VALID;
      else if (vr == X509_V_ERR_HOSTNAME_MISMATCH || vr == X509_V_ERR_IP_ADDRESS_MISMATCH)
        f = RELAY_TLS_FAIL_HOSTNAME;
      relay_tls_conn_set_failure(self, f, X509_verify_cert_error_string(vr));
    }
  else if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
    relay_tls_conn_set_failure(self, RELAY_TLS_FAIL_NO_PEER_CERT, "the client sent no certificate");
  else if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_HTTP_REQUEST
           || reason == SSL_R_HTTPS_PROXY_REQUEST)
    relay_tls_conn_set_failure(self, RELAY_TLS_FAIL_PLAINTEXT, ERR_reason_error_string(e));
  else if (reason >= SSL_AD_REASON_OFFSET && e)
    relay_tls_conn_set_failure(self, RELAY_TLS_FAIL_PEER_REJECTED, ERR_reason_error_string(e));
  else
    relay_tls_conn_set_failure(self, RELAY_TLS_FAIL_HANDSHAKE,
                               e ? ERR_reason_error_string(e)
                                 : (err == SSL_ERROR_SYSCALL ? "unexpected end of stream" : "TLS error"));
  if (!self->detail)
    relay_tls_conn_set_failure(self, self->failure, "TLS error");
  ERR_clear_error();
}

static void
_note_established(RelayTlsConn *self)
{
  if (self->established || !SSL_is_init_finished(self->ssl))
    return;
  self->established = TRUE;
  X509 *cert = SSL_get0_peer_certificate(self->ssl);
  if (!cert)
    return;
  BIO *bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char *data;
  long len = BIO_get_mem_data(bio, &data);
  self->subject = g_strndup(data, (gsize)len);
  BIO_free(bio);
}

RelayTlsIo
relay_tls_conn_read_into(RelayTlsConn *self, guint8 *buf, gsize cap, gsize *n_read)
{
  *n_read = 0;
  ERR_clear_error();
  for (;;)
    {
      gboolean full = *n_read >= cap;
      if (full && self->established)
        return RELAY_TLS_IO_OK;
      /* Without room only the handshake is advanced. */
      int n = full ? SSL_do_handshake(self->ssl)
                   : SSL_read(self->ssl, buf + *n_read, (int)MIN(cap - *n_read, G_MAXINT));
      _note_established(self);
      if (n > 0)
        {
          *n_read += full ? 0 : (gsize)n;
          continue;
        }
      int err = SSL_get_error(self->ssl, n);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
        return RELAY_TLS_IO_OK;
      if (err == SSL_ERROR_ZERO_RETURN)
        return RELAY_TLS_IO_CLOSED;
      _classify(self, err);
      return RELAY_TLS_IO_FAILED;
    }
}

/* Decrypts straight into out's spare room (no intermediate buffer). */
RelayTlsIo
relay_tls_conn_read(RelayTlsConn *self, GByteArray *out, gsize max_out)
{
  for (;;)
    {
      guint old = out->len;
      gsize room = max_out > old ? max_out - old : 0;
      gsize chunk = MIN(MAX(room, 1), 16384);
      gsize n = 0;
      if (self->established && room == 0)
        return RELAY_TLS_IO_OK;
      g_byte_array_set_size(out, old + (guint)chunk);
      RelayTlsIo io = relay_tls_conn_read_into(self, out->data + old, room ? chunk : 0, &n);
      g_byte_array_set_size(out, old + (guint)n);
      if (io != RELAY_TLS_IO_OK || n < chunk)
        return io;
    }
}

RelayTlsIo
relay_tls_conn_feed_read(RelayTlsConn *self, const guint8 *data, gsize len, GByteArray *out, gsize max_out)
{
  relay_tls_inbio_lend(self->rbio, data, len);
  RelayTlsIo io = relay_tls_conn_read(self, out, max_out);
  relay_tls_inbio_unlend(self->rbio);
  return io;
}

RelayTlsIo
relay_tls_conn_write(RelayTlsConn *self, const guint8 *data, gsize len)
{
  ERR_clear_error();
  while (len > 0)
    {
      int n = SSL_write(self->ssl, data, (int)MIN(len, G_MAXINT));
      if (n <= 0)
        {
          _classify(self, SSL_get_error(self->ssl, n));
          return RELAY_TLS_IO_FAILED;
        }
      data += n;
      len -= (gsize)n;
    }
  return RELAY_TLS_IO_OK;
}

void
relay_tls_conn_take_output(RelayTlsConn *self, GByteArray *out)
{
  size_t pending = BIO_ctrl_pending(self->wbio);

  if (pending == 0)
    return;
  guint old = out->len;
  g_byte_array_set_size(out, old + (guint)pending);
  g_byte_array_set_size(out, old + (guint)relay_tls_conn_take_output_into(self, out->data + old, pending));
}

gsize
relay_tls_conn_output_pending(RelayTlsConn *self)
{
  return BIO_ctrl_pending(self->wbio);
}

gsize
relay_tls_conn_take_output_into(RelayTlsConn *self, guint8 *dst, gsize cap)
{
  int n = cap ? BIO_read(self->wbio, dst, (int)MIN(cap, G_MAXINT)) : 0;
  return (gsize)MAX(n, 0);
}

gsize
relay_tls_conn_peek_output(RelayTlsConn *self, const guint8 **data)
{
  char *ptr = NULL;
  long len = BIO_get_mem_data(self->wbio, &ptr);

  *data = (const guint8 *)ptr;
  return len > 0 ? (gsize)len : 0;
}

void
relay_tls_conn_consume_output(RelayTlsConn *self, gsize n)
{
  guint8 scratch[4096];

  if (n >= BIO_ctrl_pending(self->wbio))
    {
      (void)BIO_reset(self->wbio); /* a read-write memory BIO: emptied */
      return;
    }
  while (n > 0)
    n -= relay_tls_conn_take_output_into(self, scratch, MIN(n, sizeof scratch));
}

gsize
relay_tls_conn_input_pending(RelayTlsConn *self)
{
  return relay_tls_inbio_pending(self->rbio);
}

gboolean
relay_tls_conn_established(RelayTlsConn *self)
{
  return self->established;
}

/* The subject's common name (new string) or NULL. */
static char *
_peer_cn(X509 *cert)
{
  X509_NAME *name = X509_get_subject_name(cert);
  int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0)
    return NULL;
  const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  unsigned char *utf8 = NULL;
  int len = ASN1_STRING_to_UTF8(&utf8, s);
  char *cn = len >= 0 ? g_strndup((const char *)utf8, (gsize)len) : NULL;
  OPENSSL_free(utf8);
  return cn;
}

gboolean
relay_tls_conn_check_peer(RelayTlsConn *self)
{
  if (!self->tls->allowed[0])
    return TRUE;
  X509 *cert = SSL_get0_peer_certificate(self->ssl);
  if (!cert)
    return TRUE; /* ssl-client-auth = optional: a client without a certificate is let in */
  char *cn = _peer_cn(cert);
  gboolean ok = FALSE;
  for (guint i = 0; !ok && cn && self->tls->allowed[i]; i++)
    ok = g_pattern_match_simple(self->tls->allowed[i], cn);
  if (!ok)
    {
      char *detail
          = g_strdup_printf("subject %s is not in ssl-allowed-subjects", self->subject ? self->subject : "?");
      relay_tls_conn_set_failure(self, RELAY_TLS_FAIL_SUBJECT, detail);
      g_free(detail);
    }
  g_free(cn);
  return ok;
}

const char *
relay_tls_conn_peer_subject(RelayTlsConn *self)
{
  return self->subject;
}

RelayTlsFailure
relay_tls_conn_failure(RelayTlsConn *self)
{
  return self->failure;
}

const char *
relay_tls_conn_failure_detail(RelayTlsConn *self)
{
  return self->detail ? self->detail : "TLS error";
}

gboolean
relay_tls_looks_like_client_hello(const guint8 *data, gsize len)
{
  return len >= 2 && data[0] == 0x16 && data[1] == 0x03;
}
