/* topology_hosts.c - which host names of a topology designate the same machine (relayd --check-topology).
 *
 * Names are compared as written (case-insensitive) and as resolved: getaddrinfo() once per name (cached),
 * numeric addresses without any lookup. An agent whose host is not known runs on this machine, whose
 * addresses are the loopback ones, getifaddrs()'s and those of its host name. A source bound to 0.0.0.0 (or
 * ::) listens on every address of its machine; a loopback name reaches only the machine of the sender.
 * Single-threaded (the command line's thread). */
#include "topology.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

struct _RelayTopoHosts
{
  gboolean resolve;
  GHashTable *cache; /* lower-case name -> GPtrArray of numeric address strings (owned) */
  GPtrArray *local;  /* numeric addresses of this machine */
  char *local_name;  /* g_get_host_name() */
};

static void
_free_array(gpointer data)
{
  g_ptr_array_unref(data);
}

static void
_add_unique(GPtrArray *addrs, char *addr)
{
  for (guint i = 0; i < addrs->len; i++)
    if (strcmp(g_ptr_array_index(addrs, i), addr) == 0)
      {
        g_free(addr);
        return;
      }
  g_ptr_array_add(addrs, addr);
}

static char *
_numeric(const struct sockaddr *sa, socklen_t len)
{
  char text[NI_MAXHOST];

  if (getnameinfo(sa, len, text, sizeof text, NULL, 0, NI_NUMERICHOST) != 0)
    return NULL;
  return g_strdup(text);
}

/* getaddrinfo() of name (numeric only unless resolving): its addresses, possibly none. */
static GPtrArray *
_lookup(RelayTopoHosts *self, const char *name)
{
  GPtrArray *addrs = g_ptr_array_new_with_free_func(g_free);
  struct addrinfo hints = { 0 }, *res = NULL;

  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = self->resolve ? 0 : AI_NUMERICHOST;
  if (g_ascii_strcasecmp(name, "localhost") == 0) /* whatever the resolver says */
    {
      g_ptr_array_add(addrs, g_strdup("127.0.0.1"));
      g_ptr_array_add(addrs, g_strdup("::1"));
      return addrs;
    }
  if (getaddrinfo(name, NULL, &hints, &res) != 0)
    return addrs;
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
    {
      char *addr = _numeric(ai->ai_addr, ai->ai_addrlen);
      if (addr)
        _add_unique(addrs, addr);
    }
  freeaddrinfo(res);
  return addrs;
}

static const GPtrArray *
_addrs(RelayTopoHosts *self, const char *name)
{
  char *key = g_ascii_strdown(name, -1);
  GPtrArray *addrs = g_hash_table_lookup(self->cache, key);

  if (addrs)
    {
      g_free(key);
      return addrs;
    }
  addrs = _lookup(self, name);
  g_hash_table_insert(self->cache, key, addrs);
  return addrs;
}

static void
_local_addrs(RelayTopoHosts *self)
{
  struct ifaddrs *ifs = NULL;

  self->local = g_ptr_array_new_with_free_func(g_free);
  if (getifaddrs(&ifs) == 0)
    {
      for (struct ifaddrs *i = ifs; i; i = i->ifa_next)
        {
          if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
            continue;
          socklen_t len
              = i->ifa_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
          char *addr = _numeric(i->ifa_addr, len);
          if (addr)
            _add_unique(self->local, addr);
        }
      freeifaddrs(ifs);
    }
  self->local_name = g_strdup(g_get_host_name());
  const GPtrArray *named = _addrs(self, self->local_name);
  for (guint i = 0; i < named->len; i++)
    _add_unique(self->local, g_strdup(g_ptr_array_index(named, i)));
}

RelayTopoHosts *
relay_topo_hosts_new(gboolean resolve)
{
  RelayTopoHosts *self = g_new0(RelayTopoHosts, 1);

  self->resolve = resolve;
  self->cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, _free_array);
  _local_addrs(self);
  return self;
}

void
relay_topo_hosts_free(RelayTopoHosts *self)
{
  if (!self)
    return;
  g_hash_table_destroy(self->cache);
  g_ptr_array_unref(self->local);
  g_free(self->local_name);
  g_free(self);
}

gboolean
relay_topo_is_wildcard(const char *bind)
{
  static const char *const any[] = { "0.0.0.0", "::", "0:0:0:0:0:0:0:0", "*", "[::]", NULL };

  return !bind || !bind[0] || g_strv_contains(any, bind);
}

static gboolean
_is_loopback_addr(const char *addr)
{
  return g_str_has_prefix(addr, "127.") || strcmp(addr, "::1") == 0;
}

gboolean
relay_topo_is_loopback(RelayTopoHosts *self, const char *name)
{
  if (g_ascii_strcasecmp(name, "localhost") == 0 || _is_loopback_addr(name))
    return TRUE;
  const GPtrArray *addrs = _addrs(self, name);
  for (guint i = 0; i < addrs->len; i++)
    if (!_is_loopback_addr(g_ptr_array_index(addrs, i)))
      return FALSE;
  return addrs->len > 0;
}

static gboolean
_intersect(const GPtrArray *a, const GPtrArray *b)
{
  for (guint i = 0; i < a->len; i++)
    for (guint j = 0; j < b->len; j++)
      if (strcmp(g_ptr_array_index(a, i), g_ptr_array_index(b, j)) == 0)
        return TRUE;
  return FALSE;
}

gboolean
relay_topo_same_name(RelayTopoHosts *self, const char *a, const char *b)
{
  if (g_ascii_strcasecmp(a, b) == 0)
    return TRUE;
  return _intersect(_addrs(self, a), _addrs(self, b));
}

/* name designates this machine. */
static gboolean
_is_local(RelayTopoHosts *self, const char *name)
{
  return relay_topo_is_loopback(self, name) || g_ascii_strcasecmp(name, self->local_name) == 0
         || _intersect(_addrs(self, name), self->local);
}

gboolean
relay_topo_same_machine(RelayTopoHosts *self, const char *host_a, const char *host_b)
{
  if (!host_a && !host_b)
    return TRUE;
  if (!host_a || !host_b)
    return _is_local(self, host_a ? host_a : host_b);
  return relay_topo_same_name(self, host_a, host_b);
}

/* name, sent from an agent on sender_host, designates the machine host (NULL: this machine). */
static gboolean
_designates(RelayTopoHosts *self, const char *sender_host, const char *name, const char *host)
{
  if (relay_topo_is_loopback(self, name))
    return relay_topo_same_machine(self, sender_host, host);
  return host ? relay_topo_same_name(self, name, host) : _is_local(self, name);
}

gboolean
relay_topo_reaches(RelayTopoHosts *self, const char *sink_host, const char *hostname, const char *source_host,
                   const char *bind)
{
  if (relay_topo_is_wildcard(bind))
    return _designates(self, sink_host, hostname, source_host);
  if (!relay_topo_same_name(self, hostname, bind))
    return FALSE;
  if (relay_topo_is_loopback(self, bind))
    return relay_topo_same_machine(self, sink_host, source_host);
  return TRUE;
}

gboolean
relay_topo_binds_overlap(RelayTopoHosts *self, const char *host_a, const char *bind_a, const char *host_b,
                         const char *bind_b)
{
  if (!relay_topo_same_machine(self, host_a, host_b))
    return FALSE;
  return relay_topo_is_wildcard(bind_a) || relay_topo_is_wildcard(bind_b)
         || relay_topo_same_name(self, bind_a, bind_b);
}
