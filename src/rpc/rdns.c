/* rdns.c - reverse DNS names of peers without blocking the loop: /etc/hosts, then evdns, with a bounded
 * cache.
 *
 * One _Lookup per address asked for and not known: every waiter for that address joins it. The evdns
 * request carries the lookup's id, not its address: evdns may deliver an answer it had already scheduled
 * after the resolver (and the lookup) were freed, and an id that is no longer in _live is simply ignored.
 * The timer gives the waiters the IP at timeout_ms; the lookup then stays until evdns answers or gives up
 * (its own timeout and attempts), and its answer still goes to the cache for the next message.
 *
 * Threads: everything runs on the thread of the event_base (the main loop). */
#include "rdns.h"

#include "config.h"
#include "log.h"

#include <arpa/inet.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/util.h>

#define _HOSTS_MAX_BYTES (4 * 1024 * 1024)

typedef struct
{
  char *ip, *name;
  gint64 expires; /* monotonic us */
  GList link;     /* in RelayRdns.entries, oldest first */
} _Entry;

typedef struct
{
  RelayRdns *rdns;
  guint id;
  char *ip;
  GQueue waiters; /* RelayRdnsWaiter, by their link */
  struct event *timer;
  gboolean expired; /* the timer fired: the waiters went with the IP */
} _Lookup;

struct _RelayRdns
{
  struct event_base *base;
  struct evdns_base *dns;
  char *log_prefix;
  gint64 timeout_ms, ttl_us;
  guint cache_size;
  GHashTable *hosts;    /* ip -> name, from the hosts file */
  GHashTable *cache;    /* ip -> _Entry */
  GQueue entries;       /* _Entry, by their link */
  GHashTable *inflight; /* ip -> _Lookup */
  RelayRdnsStats stats;
};

/* id -> _Lookup of every resolver (main loop only). */
static GHashTable *_live;
static guint _next_id;

/* ---- configuration ---- */

gboolean
relay_rdns_nameservers_ok(const char *nameservers, char **why)
{
  char **list = relay_config_split_list(nameservers ? nameservers : "");
  gboolean ok = TRUE;

  for (guint i = 0; ok && list[i]; i++)
    {
      struct sockaddr_storage ss;
      int len = sizeof ss;
      ok = evutil_parse_sockaddr_port(list[i], (struct sockaddr *)&ss, &len) == 0;
      if (!ok)
        *why = g_strdup_printf("'%s' is not an IP address with an optional :port", list[i]);
    }
  g_strfreev(list);
  return ok;
}

/* ip text as inet_ntop writes it (so "::1" and "0::1" are one key), or NULL if it is not an address. */
static char *
_normal_ip(const char *text)
{
  guint8 addr[16];
  char out[INET6_ADDRSTRLEN];

  if (inet_pton(AF_INET, text, addr) == 1)
    return g_strdup(inet_ntop(AF_INET, addr, out, sizeof out));
  if (inet_pton(AF_INET6, text, addr) == 1)
    return g_strdup(inet_ntop(AF_INET6, addr, out, sizeof out));
  return NULL;
}

/* The first name of the first line of each address, as the system resolver answers from the hosts file. */
static GHashTable *
_load_hosts(const char *path)
{
  GHashTable *hosts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  char *text = NULL;
  gsize len = 0;

  if (!g_file_get_contents(path, &text, &len, NULL) || len > _HOSTS_MAX_BYTES)
    {
      g_free(text);
      return hosts;
    }
  char **lines = g_strsplit(text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      char *hash = strchr(lines[i], '#');
      if (hash)
        *hash = '\0';
      char **words = g_strsplit_set(g_strstrip(lines[i]), " \t", -1);
      guint n = 0;
      for (guint w = 0; words[w]; w++)
        if (*words[w])
          words[n++] = words[w];
      char *ip = n >= 2 ? _normal_ip(words[0]) : NULL;
      if (ip && !g_hash_table_contains(hosts, ip))
        g_hash_table_insert(hosts, ip, g_strdup(words[1]));
      else
        g_free(ip);
      words[n] = NULL; /* the moved-over words are freed below through their first slot */
      g_strfreev(words);
    }
  g_strfreev(lines);
  g_free(text);
  return hosts;
}

static gboolean
_add_nameservers(RelayRdns *self, const char *nameservers, GError **error)
{
  char **list = relay_config_split_list(nameservers);
  gboolean ok = TRUE;

  for (guint i = 0; ok && list[i]; i++)
    if (evdns_base_nameserver_ip_add(self->dns, list[i]) != 0)
      {
        g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "cannot use nameserver '%s'", list[i]);
        ok = FALSE;
      }
  g_strfreev(list);
  return ok;
}

RelayRdns *
relay_rdns_new(struct event_base *base, const char *log_prefix, const RelayRdnsConfig *config, GError **error)
{
  RelayRdns *self = g_new0(RelayRdns, 1);
  gboolean own_servers = config->nameservers && *config->nameservers;

  self->base = base;
  self->log_prefix = g_strdup(log_prefix);
  self->timeout_ms = MAX(config->timeout_ms, 1);
  self->ttl_us = config->ttl_s * G_USEC_PER_SEC;
  self->cache_size = MAX(config->cache_size, 1);
  self->hosts = _load_hosts(config->hosts_file ? config->hosts_file : "/etc/hosts");
  self->cache = g_hash_table_new(g_str_hash, g_str_equal);
  self->inflight = g_hash_table_new(g_str_hash, g_str_equal);
  g_queue_init(&self->entries);
  self->dns = evdns_base_new(base, (own_servers ? 0 : EVDNS_BASE_INITIALIZE_NAMESERVERS)
                                       | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
  if (!self->dns)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "cannot set up the DNS resolver");
      relay_rdns_free(self);
      return NULL;
    }
  if (own_servers && !_add_nameservers(self, config->nameservers, error))
    {
      relay_rdns_free(self);
      return NULL;
    }
  if (!_live)
    _live = g_hash_table_new(g_direct_hash, g_direct_equal);
  return self;
}

/* ---- the cache ---- */

static void
_entry_free(RelayRdns *self, _Entry *e)
{
  g_queue_unlink(&self->entries, &e->link);
  g_hash_table_remove(self->cache, e->ip);
  g_free(e->ip);
  g_free(e->name);
  g_free(e);
}

static void
_cache_put(RelayRdns *self, const char *ip, const char *name)
{
  gint64 now = g_get_monotonic_time();
  _Entry *old = g_hash_table_lookup(self->cache, ip);

  if (old)
    _entry_free(self, old);
  if (self->ttl_us <= 0)
    return;
  while (
      self->entries.head
      && (self->entries.length >= self->cache_size || ((_Entry *)self->entries.head->data)->expires <= now))
    _entry_free(self, self->entries.head->data);
  _Entry *e = g_new0(_Entry, 1);
  e->ip = g_strdup(ip);
  e->name = g_strdup(name);
  e->expires = now + self->ttl_us;
  e->link.data = e;
  g_queue_push_tail_link(&self->entries, &e->link);
  g_hash_table_insert(self->cache, e->ip, e);
}

static const char *
_cache_get(RelayRdns *self, const char *ip)
{
  const char *name = g_hash_table_lookup(self->hosts, ip);
  _Entry *e = name ? NULL : g_hash_table_lookup(self->cache, ip);

  if (e && e->expires <= g_get_monotonic_time())
    {
      _entry_free(self, e);
      e = NULL;
    }
  return name ? name : e ? e->name : NULL;
}

/* ---- lookups ---- */

static void
_lookup_free(_Lookup *l)
{
  g_hash_table_remove(_live, GUINT_TO_POINTER(l->id));
  if (l->rdns)
    g_hash_table_remove(l->rdns->inflight, l->ip);
  event_free(l->timer);
  g_free(l->ip);
  g_free(l);
}

/* Calls and forgets every waiter; a waiter's callback may start or cancel other lookups. */
static void
_answer_waiters(_Lookup *l, const char *name)
{
  GList *link;

  while ((link = g_queue_pop_head_link(&l->waiters)))
    {
      RelayRdnsWaiter *w = link->data;
      w->lookup = NULL;
      w->done(name, w->user_data);
    }
}

static void
_on_timeout(evutil_socket_t fd, short what, void *arg)
{
  _Lookup *l = arg;

  (void)fd;
  (void)what;
  l->expired = TRUE;
  l->rdns->stats.timeouts++;
  relay_debug(l->rdns->log_prefix, "reverse lookup timed out ip=%s after_ms=%" G_GINT64_FORMAT, l->ip,
              l->rdns->timeout_ms);
  _answer_waiters(l, l->ip);
}

static void
_on_answer(int result, char type, int count, int ttl, void *addresses, void *arg)
{
  _Lookup *l = _live ? g_hash_table_lookup(_live, arg) : NULL;

  (void)ttl;
  if (!l)
    return; /* its resolver is gone */
  RelayRdns *self = l->rdns;
  /* For DNS_PTR, addresses points to the name's pointer. */
  const char *ptr
      = result == DNS_ERR_NONE && type == DNS_PTR && count > 0 && addresses ? *(char **)addresses : NULL;
  const char *name = ptr && *ptr ? ptr : l->ip;
  if (name == l->ip)
    self->stats.failures++;
  _cache_put(self, l->ip, name);
  if (!l->expired)
    _answer_waiters(l, name);
  _lookup_free(l);
}

static struct evdns_request *
_send(RelayRdns *self, _Lookup *l)
{
  struct in_addr v4;
  struct in6_addr v6;
  gpointer id = GUINT_TO_POINTER(l->id);

  if (inet_pton(AF_INET, l->ip, &v4) == 1)
    return evdns_base_resolve_reverse(self->dns, &v4, DNS_QUERY_NO_SEARCH, _on_answer, id);
  if (inet_pton(AF_INET6, l->ip, &v6) == 1)
    return evdns_base_resolve_reverse_ipv6(self->dns, &v6, DNS_QUERY_NO_SEARCH, _on_answer, id);
  return NULL;
}

/* A new lookup for ip, or NULL (not an address, too many in flight, evdns refused). */
static _Lookup *
_lookup_new(RelayRdns *self, const char *ip)
{
  if (g_hash_table_size(self->inflight) >= self->cache_size)
    return NULL;
  _Lookup *l = g_new0(_Lookup, 1);
  l->rdns = self;
  l->ip = g_strdup(ip);
  do
    l->id = ++_next_id;
  while (l->id == 0 || g_hash_table_contains(_live, GUINT_TO_POINTER(l->id)));
  l->timer = evtimer_new(self->base, _on_timeout, l);
  g_hash_table_insert(_live, GUINT_TO_POINTER(l->id), l);
  g_hash_table_insert(self->inflight, l->ip, l);
  if (!_send(self, l))
    {
      _lookup_free(l);
      return NULL;
    }
  struct timeval tv = { self->timeout_ms / 1000, (self->timeout_ms % 1000) * 1000 };
  evtimer_add(l->timer, &tv);
  self->stats.queries++;
  return l;
}

const char *
relay_rdns_lookup(RelayRdns *self, const char *ip, RelayRdnsWaiter *waiter)
{
  const char *name = _cache_get(self, ip);

  g_return_val_if_fail(waiter->lookup == NULL, ip);
  if (name)
    {
      self->stats.hits++;
      return name;
    }
  _Lookup *l = g_hash_table_lookup(self->inflight, ip);
  if (!l)
    l = _lookup_new(self, ip);
  if (!l || l->expired)
    return ip;
  waiter->lookup = l;
  waiter->link.data = waiter;
  g_queue_push_tail_link(&l->waiters, &waiter->link);
  return NULL;
}

void
relay_rdns_cancel(RelayRdns *self, RelayRdnsWaiter *waiter)
{
  _Lookup *l = waiter->lookup;

  (void)self;
  if (!l)
    return;
  g_queue_unlink(&l->waiters, &waiter->link);
  waiter->lookup = NULL;
}

void
relay_rdns_stats(const RelayRdns *self, RelayRdnsStats *stats)
{
  *stats = self->stats;
}

void
relay_rdns_free(RelayRdns *self)
{
  if (!self)
    return;
  if (self->dns)
    evdns_base_free(self->dns, 0); /* no callbacks; answers already scheduled find no id */
  GList *lookups = g_hash_table_get_values(self->inflight);
  for (GList *i = lookups; i; i = i->next)
    {
      _Lookup *l = i->data;
      GList *link;
      while ((link = g_queue_pop_head_link(&l->waiters)))
        ((RelayRdnsWaiter *)link->data)->lookup = NULL;
      l->rdns = NULL;
      _lookup_free(l);
    }
  g_list_free(lookups);
  while (self->entries.head)
    _entry_free(self, self->entries.head->data);
  g_hash_table_destroy(self->inflight);
  g_hash_table_destroy(self->cache);
  g_hash_table_destroy(self->hosts);
  g_free(self->log_prefix);
  g_free(self);
}
