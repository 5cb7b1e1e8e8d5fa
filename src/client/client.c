/* client.c - the client library: Flume RpcClient properties, one RpcClient per host, and the single-host,
 * failover and load-balancing strategies (Flume's NettyAvroRpcClient/ThriftRpcClient, FailoverRpcClient and
 * LoadBalancingRpcClient).
 *
 * Failover: calls go to the current host; on failure the next host is tried with the same batch, up to
 * max-attempts hosts per call; the host that worked stays current. Load balance: each call walks the hosts
 * that are not in backoff in selector order (round_robin advances the start by one per call over those
 * hosts, random shuffles them); the first success ends the call; with backoff=true a failing host is skipped
 * for min(maxBackoff, 1000 x 2^failures) ms. Not thread-safe: one client per thread. */
#include "relay-client.h"
#include "tls.h"

#include "rpc_protocols.h"

#include <string.h>

typedef enum
{
  RELAY_STRATEGY_SINGLE,
  RELAY_STRATEGY_FAILOVER,
  RELAY_STRATEGY_LOADBALANCE,
} RelayClientStrategy;

typedef struct
{
  RelayRpcClient *rpc;
  gint64 restore_at_us; /* load balance backoff: skipped until then */
  guint failures;
} RelayClientHost;

struct _RelayClient
{
  RelayClientStrategy strategy;
  GArray *hosts; /* RelayClientHost */
  guint current; /* failover: the host in use */
  guint rr_next; /* load balance round robin start */
  gboolean random_order;
  gboolean backoff;
  gint64 max_backoff_ms;
  guint max_attempts;
  gint64 batch_size;
  RelayThriftClientConfig thrift;
};

static const char *
_prop(GHashTable *props, const char *key, const char *def)
{
  const char *v = g_hash_table_lookup(props, key);
  return v ? v : def;
}

/* Flume: missing or invalid -> default; timeouts below 1000 ms -> default. */
static gint64
_prop_int(GHashTable *props, const char *key, gint64 def, gint64 min)
{
  const char *v = g_hash_table_lookup(props, key);
  char *end = NULL;
  gint64 n = v ? g_ascii_strtoll(v, &end, 10) : def;
  return (!v || *end || end == v || n < min) ? def : n;
}

static gboolean
_parse_hostport(const char *spec, char **host, int *port)
{
  const char *colon = spec ? strrchr(spec, ':') : NULL;
  char *end = NULL;

  if (!colon || colon == spec)
    return FALSE;
  long p = strtol(colon + 1, &end, 10);
  if (*end || p < 1 || p > 65535)
    return FALSE;
  *host = g_strndup(spec, (gsize)(colon - spec));
  *port = (int)p;
  return TRUE;
}

static gboolean
_parse_type(RelayClient *self, GHashTable *props, const RelayRpcProtocol **protocol, GError **error)
{
  const char *type = _prop(props, "client.type", "default");
  const char *rpc = _prop(props, "rpc.protocol", "avro");

  *protocol = g_ascii_strcasecmp(rpc, "thrift") == 0 ? &relay_thrift_rpc_protocol : &relay_avro_rpc_protocol;
  if (g_ascii_strcasecmp(type, "default") == 0 || g_ascii_strcasecmp(type, "thrift") == 0)
    {
      self->strategy = RELAY_STRATEGY_SINGLE;
      *protocol
          = g_ascii_strcasecmp(type, "thrift") == 0 ? &relay_thrift_rpc_protocol : &relay_avro_rpc_protocol;
    }
  else if (g_ascii_strcasecmp(type, "default_failover") == 0)
    self->strategy = RELAY_STRATEGY_FAILOVER;
  else if (g_ascii_strcasecmp(type, "default_loadbalance") == 0)
    self->strategy = RELAY_STRATEGY_LOADBALANCE;
  else
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "client.type: unknown client type '%s'", type);
      return FALSE;
    }
  return TRUE;
}

/* ssl = true: the TLS context from the same keys as the RPC sinks (tls.h). FALSE with error if it cannot be
 * built; *tls stays NULL without ssl. */
static gboolean
_tls_context(GHashTable *props, RelayTls **tls, GError **error)
{
  RelayTlsOptions o = { 0 };
  const char *key = NULL;
  GError *why = NULL;

  *tls = NULL;
  if (g_ascii_strcasecmp(_prop(props, "ssl", "false"), "true") != 0)
    return TRUE;
  o.ssl = TRUE;
  o.keystore = (char *)_prop(props, "keystore", NULL);
  o.keystore_password = (char *)_prop(props, "keystore-password", NULL);
  o.keystore_type = (char *)_prop(props, "keystore-type", NULL);
  o.truststore = (char *)_prop(props, "truststore", NULL);
  o.truststore_password = (char *)_prop(props, "truststore-password", NULL);
  o.truststore_type = (char *)_prop(props, "truststore-type", NULL);
  o.include_protocols = (char *)_prop(props, "include-protocols", NULL);
  o.exclude_protocols = (char *)_prop(props, "exclude-protocols", NULL);
  o.include_cipher_suites = (char *)_prop(props, "include-cipher-suites", NULL);
  o.exclude_cipher_suites = (char *)_prop(props, "exclude-cipher-suites", NULL);
  o.handshake_timeout_ms = _prop_int(props, "ssl-handshake-timeout", 10000, 100);
  o.trust_all_certs = g_ascii_strcasecmp(_prop(props, "trust-all-certs", "false"), "true") == 0;
  o.verify_hostname = g_ascii_strcasecmp(_prop(props, "ssl-verify-hostname", "true"), "false") != 0;
  o.deflate_order
      = g_ascii_strcasecmp(_prop(props, "ssl-deflate-order", "deflate-outside-tls"), "tls-outside-deflate")
                == 0
            ? RELAY_TLS_DEFLATE_INSIDE
            : RELAY_TLS_DEFLATE_OUTSIDE;
  *tls = relay_tls_new(&o, FALSE, "client", &key, &why);
  if (*tls)
    return TRUE;
  g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "%s: %s", key, why->message);
  g_error_free(why);
  return FALSE;
}

static gboolean
_add_hosts(RelayClient *self, GHashTable *props, const RelayRpcProtocol *protocol, GError **error)
{
  char **aliases = g_strsplit_set(_prop(props, "hosts", ""), " \t", -1);
  gboolean ok = TRUE;
  gboolean deflate = g_ascii_strcasecmp(_prop(props, "compression-type", "none"), "deflate") == 0;
  RelayRpcClientConfig cfg = {
    .connect_timeout_ms = _prop_int(props, "connect-timeout", 20000, 1000),
    .request_timeout_ms = _prop_int(props, "request-timeout", 20000, 1000),
    .batch_size = self->batch_size,
    .deflate = deflate && protocol == &relay_avro_rpc_protocol,
    .compression_level = (int)CLAMP(_prop_int(props, "compression-level", 6, 1), 1, 9),
    .protocol_config = protocol == &relay_thrift_rpc_protocol ? &self->thrift : NULL,
  };

  if (!_tls_context(props, &cfg.tls, error))
    {
      g_strfreev(aliases);
      return FALSE;
    }
  if (cfg.tls)
    cfg.deflate_inside_tls = relay_tls_options(cfg.tls)->deflate_order == RELAY_TLS_DEFLATE_INSIDE;

  for (guint i = 0; ok && aliases[i]; i++)
    {
      if (!*aliases[i])
        continue;
      char *key = g_strdup_printf("hosts.%s", aliases[i]);
      RelayClientHost host = { 0 };
      ok = _parse_hostport(g_hash_table_lookup(props, key), &cfg.host, &cfg.port);
      if (!ok)
        g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "%s: expected host:port, got '%s'", key,
                    _prop(props, key, "(missing)"));
      else
        {
          host.rpc = relay_rpc_client_new(protocol, &cfg);
          g_array_append_val(self->hosts, host);
          g_free(cfg.host);
        }
      g_free(key);
    }
  g_strfreev(aliases);
  relay_tls_unref(cfg.tls); /* each host's client holds its own reference */
  if (ok && self->hosts->len == 0)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "hosts: no host configured");
      ok = FALSE;
    }
  return ok;
}

static GHashTable *
_props_table(const char *const *props)
{
  GHashTable *table = g_hash_table_new(g_str_hash, g_str_equal);

  for (guint i = 0; props && props[i] && props[i + 1]; i += 2)
    g_hash_table_insert(table, (gpointer)props[i], (gpointer)props[i + 1]);
  return table;
}

RelayClient *
relay_client_new(const char *const *props, GError **error)
{
  RelayClient *self = g_new0(RelayClient, 1);
  GHashTable *table = _props_table(props);
  const RelayRpcProtocol *protocol = NULL;

  self->hosts = g_array_new(FALSE, TRUE, sizeof(RelayClientHost));
  self->batch_size = _prop_int(table, "batch-size", 100, 1);
  self->thrift.binary = g_ascii_strcasecmp(_prop(table, "protocol", "compact"), "binary") == 0;
  self->thrift.max_frame = 16384000;
  self->random_order = g_ascii_strcasecmp(_prop(table, "host-selector", "round_robin"), "random") == 0;
  self->backoff = g_ascii_strcasecmp(_prop(table, "backoff", "false"), "true") == 0;
  self->max_backoff_ms = _prop_int(table, "maxBackoff", 30000, 1);
  gboolean ok = _parse_type(self, table, &protocol, error) && _add_hosts(self, table, protocol, error);
  self->max_attempts = (guint)_prop_int(table, "max-attempts", self->hosts->len, 1);
  g_hash_table_unref(table);
  if (!ok)
    {
      relay_client_free(self);
      return NULL;
    }
  return self;
}

guint
relay_client_batch_size(RelayClient *self)
{
  return (guint)self->batch_size;
}

static RelayClientHost *
_host(RelayClient *self, guint i)
{
  return &g_array_index(self->hosts, RelayClientHost, i % self->hosts->len);
}

/* A host that failed before another succeeded left a message in *detail: success carries none. */
static RelayClientStatus
_succeeded(char **detail)
{
  if (detail)
    g_clear_pointer(detail, g_free);
  return RELAY_CLIENT_OK;
}

static RelayClientStatus
_failover(RelayClient *self, RelayEvent *const *events, guint n, char **detail)
{
  RelayClientStatus status = RELAY_CLIENT_CONNECT_FAILED;

  for (guint attempt = 0; attempt < self->max_attempts; attempt++)
    {
      status = relay_rpc_client_append_batch(_host(self, self->current)->rpc, events, n, detail);
      if (status == RELAY_CLIENT_OK)
        return _succeeded(detail);
      if (status == RELAY_CLIENT_ABORTED)
        return status;
      self->current = (self->current + 1) % self->hosts->len;
    }
  return status;
}

static void
_note_failure(RelayClient *self, RelayClientHost *host)
{
  if (!self->backoff)
    return;
  host->failures = MIN(host->failures + 1, 16);
  gint64 ms = MIN(self->max_backoff_ms, (gint64)1000 << host->failures);
  host->restore_at_us = g_get_monotonic_time() + ms * 1000;
}

/* Fills order[] with the hosts that are not backed off, in this call's order, and returns how many. As in
 * Flume's RoundRobinOrderSelector the start advances by one per call over the active hosts (so a backed-off
 * host's share is spread over all the others, not given to its successor); random shuffles them. */
static guint
_lb_order(RelayClient *self, guint *order)
{
  guint len = self->hosts->len;
  guint *active = g_newa(guint, len);
  guint n = 0;
  gint64 now = g_get_monotonic_time();

  for (guint i = 0; i < len; i++)
    if (_host(self, i)->restore_at_us <= now)
      active[n++] = i;
  if (n == 0)
    return 0;
  if (self->rr_next >= n)
    self->rr_next = 0;
  guint begin = self->random_order ? 0 : self->rr_next;
  self->rr_next = (self->rr_next + 1) % n;
  for (guint i = 0; i < n; i++)
    order[i] = active[(begin + i) % n];
  for (guint i = 0; self->random_order && i + 1 < n; i++)
    {
      guint j = i + (guint)g_random_int_range(0, (gint32)(n - i));
      guint t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
  return n;
}

static RelayClientStatus
_loadbalance(RelayClient *self, RelayEvent *const *events, guint n, char **detail)
{
  guint *order = g_newa(guint, self->hosts->len);
  guint n_active = _lb_order(self, order);
  RelayClientStatus status = RELAY_CLIENT_CONNECT_FAILED;

  if (n_active == 0 && detail)
    {
      g_free(*detail);
      *detail = g_strdup_printf("all %u hosts are backed off", self->hosts->len);
    }
  for (guint i = 0; i < n_active; i++)
    {
      RelayClientHost *host = _host(self, order[i]);
      status = relay_rpc_client_append_batch(host->rpc, events, n, detail);
      if (status == RELAY_CLIENT_OK)
        {
          host->failures = 0;
          return _succeeded(detail);
        }
      if (status == RELAY_CLIENT_ABORTED)
        return status;
      _note_failure(self, host);
    }
  return status;
}

RelayClientStatus
relay_client_append_batch(RelayClient *self, RelayEvent *const *events, guint n, char **detail)
{
  switch (self->strategy)
    {
    case RELAY_STRATEGY_SINGLE:
      return relay_rpc_client_append_batch(_host(self, 0)->rpc, events, n, detail);
    case RELAY_STRATEGY_FAILOVER:
      return _failover(self, events, n, detail);
    case RELAY_STRATEGY_LOADBALANCE:
      return _loadbalance(self, events, n, detail);
    }
  return RELAY_CLIENT_ERROR;
}

RelayClientStatus
relay_client_append(RelayClient *self, RelayEvent *event, char **detail)
{
  return relay_client_append_batch(self, &event, 1, detail);
}

void
relay_client_free(RelayClient *self)
{
  if (!self)
    return;
  for (guint i = 0; i < self->hosts->len; i++)
    relay_rpc_client_free(g_array_index(self->hosts, RelayClientHost, i).rpc);
  g_array_free(self->hosts, TRUE);
  g_free(self);
}
