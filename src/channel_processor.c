/* channel_processor.c - a source's path into its channels: interceptors, selector, one transaction per
 * channel.
 *
 * Configuration turns the selector into routes: a route is a pair of bit masks over the source's channel
 * list (required, optional), so a source has at most RELAY_CP_MAX_CHANNELS channels. Replicating has one
 * route; multiplexing has one per configured header value plus the default route; load_balancing picks one
 * required channel per event. A batch becomes a plan: when every event has the same route (always for
 * replicating) each channel simply gets the caller's array; otherwise one array of borrowed pointers is
 * filled per channel (one allocation per channel and batch). Required channels are written first, in
 * channel-list order, one transaction each; the first failure stops the attempt and the channels committed
 * before it stay committed (as Flume). Optional channels are written only after every required one
 * committed, in separate transactions; their failures are logged and ignored.
 *
 * Waiting for room (submit): when a required channel answers FULL at commit, the request remembers which
 * required channels it has committed, waits on that channel (SPACE notification plus a 100 ms fallback
 * timer) until the channel's keep-alive deadline, and then retries only the channels not committed yet, so
 * a success after waiting never duplicates events into the channels that had succeeded.
 *
 * Threads & locking: everything runs on the source's thread (the main loop) except _on_channel_space, which
 * a channel calls on whichever thread freed room; it only reads an atomic waiter count and calls
 * event_active() on the target's pre-created event. A channel's wake event and notification are set up the
 * first time a request waits on it and removed in free (remove_notify waits for callbacks in flight, so the
 * event can be freed right after). */
#include "channel_processor.h"

#include "channel.h"
#include "counters.h"
#include "event.h"
#include "interceptor.h"
#include "log.h"
#include "options.h"
#include "source.h"

#include <string.h>

/* Channels per source: routes are 64-bit masks over the source's channel list. */
#define RELAY_CP_MAX_CHANNELS 64
/* A waiting request retries at least this often, in case a wake-up was missed. */
#define RELAY_CP_RETRY_US (100 * 1000)
#define RELAY_CP_DEFAULT_HEADER "flume.selector.header"

typedef enum
{
  _SELECTOR_REPLICATING,
  _SELECTOR_MULTIPLEXING,
  _SELECTOR_LOAD_BALANCING,
  _SELECTOR_ADDED, /* a plugin's (RelaySelectorType) */
} _SelectorKind;

typedef struct
{
  guint64 required; /* bit i: channel i of the source's list */
  guint64 optional; /* never overlaps required */
} _Route;

/* A channel as seen by the requests waiting for room in it. */
typedef struct
{
  RelayChannelProcessor *cp;
  RelayChannel *channel;
  struct event *wake; /* created on first wait; activated from _on_channel_space (any thread) */
  gint waiters;       /* atomic: length of `waiting`, read by _on_channel_space */
  GQueue waiting;     /* RelayPutRequest, linked through their `link`, oldest first */
} _Target;

struct _RelayChannelProcessor
{
  RelaySource *source;
  struct event_base *base; /* may be NULL at configure time; source->base is used then */
  const char *log_prefix;
  RelayInterceptorChain *interceptors;
  GPtrArray *channels; /* RelayChannel*, borrowed, in "channels" order without duplicates */
  _Target *targets;    /* one per channel */
  _SelectorKind kind;
  _Route fixed;       /* replicating: the route; multiplexing: the default route */
  char *header;       /* multiplexing: selector.header */
  GHashTable *routes; /* multiplexing: header value -> _Route* (both owned) */
  gboolean lb_random; /* load_balancing: random instead of round_robin */
  guint lb_next;
  const RelaySelectorType *added; /* _SELECTOR_ADDED: the type and its instance */
  gpointer added_instance;
  RelayRateLimit rl_required, rl_optional;
};

/* A batch grouped per channel. A channel's array is set only when its bit is in built_required or
 * built_optional (the arrays are not cleared: a plan is on every put's path); without it, the channel gets
 * the whole batch. */
typedef struct
{
  GPtrArray *events;
  guint64 required, optional; /* channels that get something */
  guint64 built_required, built_optional;
  GPtrArray *required_batch[RELAY_CP_MAX_CHANNELS];
  GPtrArray *optional_batch[RELAY_CP_MAX_CHANNELS];
} _Plan;

struct _RelayPutRequest
{
  RelayChannelProcessor *cp;
  _Plan plan;        /* plan.events is owned */
  guint64 committed; /* required channels done */
  _Target *target;   /* the channel waited on; non-NULL iff link is in target->waiting */
  GList link;
  struct event *timer;
  gint64 deadline_us; /* monotonic */
  RelayPutDone done;
  gpointer user_data;
};

static const char *const _put_result_names[] = { "OK", "FULL", "ERROR" };

const char *
relay_put_result_name(RelayPutResult result)
{
  return (guint)result < G_N_ELEMENTS(_put_result_names) ? _put_result_names[result] : "?";
}

static inline guint64
_bit(guint index)
{
  return G_GUINT64_CONSTANT(1) << index;
}

static RelayPutResult
_put_result(RelayChannelResult result)
{
  switch (result)
    {
    case RELAY_CHANNEL_OK:
      return RELAY_PUT_OK;
    case RELAY_CHANNEL_FULL:
    case RELAY_CHANNEL_TXN_FULL:
      return RELAY_PUT_FULL;
    case RELAY_CHANNEL_ERROR:
      break;
    }
  return RELAY_PUT_ERROR;
}

static RelayChannel *
_channel(RelayChannelProcessor *self, guint index)
{
  return g_ptr_array_index(self->channels, index);
}

static struct event_base *
_loop(RelayChannelProcessor *self)
{
  return self->base ? self->base : self->source->base;
}

/* ---- configuration: channels ---- */

static const RelayProp *
_where(const RelayComponentConfig *cc, const char *key)
{
  const RelayProp *prop = key ? relay_component_config_get(cc, key) : NULL;
  return prop ? prop : relay_component_config_where(cc);
}

static gint
_channel_index(RelayChannelProcessor *self, const char *name)
{
  for (guint i = 0; i < self->channels->len; i++)
    if (strcmp(_channel(self, i)->super.name, name) == 0)
      return (gint)i;
  return -1;
}

static gboolean
_add_channel(RelayChannelProcessor *self, const RelayComponentConfig *cc, GHashTable *channels,
             const char *name, RelayConfigReport *report)
{
  RelayChannel *channel = g_hash_table_lookup(channels, name);

  if (!channel)
    {
      relay_config_report_add(report, _where(cc, "channels"), cc->label, "channels",
                              "unknown or removed channel %s dropped", name);
      return TRUE;
    }
  if (_channel_index(self, name) >= 0)
    return TRUE; /* listed twice: Flume keeps a set */
  if (self->channels->len == RELAY_CP_MAX_CHANNELS)
    {
      relay_config_report_add(report, _where(cc, "channels"), cc->label, "channels",
                              "more than %d channels; source %s removed", RELAY_CP_MAX_CHANNELS, cc->name);
      return FALSE;
    }
  g_ptr_array_add(self->channels, channel);
  return TRUE;
}

static gboolean
_configure_channels(RelayChannelProcessor *self, const RelayComponentConfig *cc, GHashTable *channels,
                    RelayConfigReport *report)
{
  const char *list = relay_component_config_value(cc, "channels");
  char **names = list ? relay_config_split_list(list) : NULL;
  gboolean ok = TRUE;

  for (guint i = 0; ok && names && names[i]; i++)
    ok = _add_channel(self, cc, channels, names[i], report);
  g_strfreev(names);
  if (ok && self->channels->len == 0)
    {
      relay_config_report_add(report, _where(cc, "channels"), cc->label, "channels", "%s; source %s removed",
                              list ? "no channel left" : "no channels configured", cc->name);
      ok = FALSE;
    }
  self->targets = g_new0(_Target, self->channels->len);
  for (guint i = 0; i < self->channels->len; i++)
    {
      self->targets[i].cp = self;
      self->targets[i].channel = _channel(self, i);
    }
  return ok;
}

/* ---- configuration: selector ---- */

static gboolean
_in_channels_list(const RelayComponentConfig *cc, const char *name)
{
  const char *list = relay_component_config_value(cc, "channels");
  char **names = list ? relay_config_split_list(list) : NULL;
  gboolean found = names && g_strv_contains((const char *const *)names, name);

  g_strfreev(names);
  return found;
}

/* Turns the channel names of key into a mask; every name must be one of the source's surviving channels
 * (Flume's selectors throw otherwise, which removes the source). */
static gboolean
_names_mask(RelayChannelProcessor *self, const RelayComponentConfig *cc, const char *key, guint64 *mask,
            RelayConfigReport *report)
{
  const char *value = relay_component_config_value(cc, key);
  char **names = value ? relay_config_split_list(value) : NULL;
  gboolean ok = TRUE;

  *mask = 0;
  for (guint i = 0; names && names[i]; i++)
    {
      gint index = _channel_index(self, names[i]);
      if (index >= 0)
        {
          *mask |= _bit((guint)index);
          continue;
        }
      relay_config_report_add(report, _where(cc, key), cc->label, key, "channel %s %s; source %s removed",
                              names[i],
                              _in_channels_list(cc, names[i]) ? "was dropped (unknown or removed)"
                                                              : "is not in the source's channels list",
                              cc->name);
      ok = FALSE;
    }
  g_strfreev(names);
  return ok;
}

static gboolean
_configure_replicating(RelayChannelProcessor *self, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  guint n = self->channels->len;
  guint64 all = n == RELAY_CP_MAX_CHANNELS ? G_MAXUINT64 : _bit(n) - 1;
  guint64 optional;

  if (!_names_mask(self, cc, "selector.optional", &optional, report))
    return FALSE;
  self->fixed.required = all & ~optional;
  self->fixed.optional = optional;
  return TRUE;
}

/* The route of a configured header value; starts as "default channels required, nothing optional". */
static _Route *
_route_for_value(RelayChannelProcessor *self, const char *value)
{
  _Route *route = g_hash_table_lookup(self->routes, value);

  if (!route)
    {
      route = g_new(_Route, 1);
      route->required = self->fixed.required;
      route->optional = 0;
      g_hash_table_insert(self->routes, g_strdup(value), route);
    }
  return route;
}

/* selector.mapping.<value> = channels (at least one) or selector.optional.<value> = channels. */
static gboolean
_configure_value_lists(RelayChannelProcessor *self, const RelayComponentConfig *cc, const char *prefix,
                       gboolean optional, RelayConfigReport *report)
{
  GPtrArray *keys = relay_component_config_keys(cc, prefix);
  gboolean ok = TRUE;

  for (guint i = 0; i < keys->len; i++)
    {
      const char *key = g_ptr_array_index(keys, i);
      const char *value = key + strlen(prefix);
      guint64 mask;
      if (!_names_mask(self, cc, key, &mask, report))
        ok = FALSE;
      else if (!optional && mask == 0)
        {
          relay_config_report_add(report, _where(cc, key), cc->label, key,
                                  "no channel for header value %s; source %s removed", value, cc->name);
          ok = FALSE;
        }
      else if (!optional)
        _route_for_value(self, value)->required = mask;
      else
        {
          _Route *route = _route_for_value(self, value);
          route->optional = mask & ~route->required; /* Flume: required wins */
        }
    }
  g_ptr_array_unref(keys);
  return ok;
}

static gboolean
_configure_multiplexing(RelayChannelProcessor *self, const RelayComponentConfig *cc,
                        RelayConfigReport *report)
{
  const char *header = relay_component_config_value(cc, "selector.header");

  self->header = g_strdup(header ? header : RELAY_CP_DEFAULT_HEADER);
  self->routes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  gboolean ok = _names_mask(self, cc, "selector.default", &self->fixed.required, report);
  /* Mappings first: the optional lists subtract the channels required for the same value. */
  ok = _configure_value_lists(self, cc, "selector.mapping.", FALSE, report) && ok;
  return _configure_value_lists(self, cc, "selector.optional.", TRUE, report) && ok;
}

static gboolean
_configure_load_balancing(RelayChannelProcessor *self, const RelayComponentConfig *cc,
                          RelayConfigReport *report)
{
  const char *policy = relay_component_config_value(cc, "selector.policy");

  if (!policy || g_ascii_strcasecmp(policy, "round_robin") == 0)
    return TRUE;
  if (g_ascii_strcasecmp(policy, "random") == 0)
    {
      self->lb_random = TRUE;
      return TRUE;
    }
  relay_config_report_add(report, _where(cc, "selector.policy"), cc->label, "selector.policy",
                          "invalid policy %s (round_robin or random); source %s removed", policy, cc->name);
  return FALSE;
}

/* The keys of each selector type, under "selector.", for --help-components; the configure functions above
 * read them (rows fill no field: offset 0). */
#define _KEY(key, type, def, choices, help)                                                                  \
  {                                                                                                          \
    key, type, def, 1, 0, 0, 0, choices, help                                                                \
  }
static const RelayOption _replicating_options[] = {
  _KEY("optional", RELAY_OPT_STRING, NULL, NULL, "channels whose put failures are only logged"),
  RELAY_OPTION_END,
};
static const RelayOption _multiplexing_options[] = {
  _KEY("header", RELAY_OPT_STRING, RELAY_CP_DEFAULT_HEADER, NULL, "header whose value picks the channels"),
  _KEY("mapping.VALUE", RELAY_OPT_STRING, NULL, NULL,
       "required channels of the events whose header is VALUE"),
  _KEY("optional.VALUE", RELAY_OPT_STRING, NULL, NULL,
       "optional channels of the events whose header is VALUE"),
  _KEY("default", RELAY_OPT_STRING, NULL, NULL, "required channels of the events no mapping matches"),
  RELAY_OPTION_END,
};
static const char *const _lb_policies[] = { "round_robin", "random", NULL };
static const RelayOption _load_balancing_options[] = {
  _KEY("policy", RELAY_OPT_ENUM, "round_robin", _lb_policies, "how each event's one channel is picked"),
  RELAY_OPTION_END,
};
#undef _KEY

/* In _SelectorKind order (indexed by kind for messages). */
static const struct
{
  const char *alias;
  const char *flume_class;
  _SelectorKind kind;
  const char *description;
  const RelayOption *options;
} _selectors[] = {
  { "replicating", "org.apache.flume.channel.ReplicatingChannelSelector", _SELECTOR_REPLICATING,
    "every event to every channel (the default)", _replicating_options },
  { "multiplexing", "org.apache.flume.channel.MultiplexingChannelSelector", _SELECTOR_MULTIPLEXING,
    "channels chosen by the value of a header", _multiplexing_options },
  { "load_balancing", "org.apache.flume.channel.LoadBalancingChannelSelector", _SELECTOR_LOAD_BALANCING,
    "each event to one of the channels, in turn or at random", _load_balancing_options },
};

static GPtrArray *_added; /* const RelaySelectorType*, added by plugins at start (main thread) */

static const RelaySelectorType *
_find_added(const char *type)
{
  for (guint i = 0; _added && i < _added->len; i++)
    {
      const RelaySelectorType *t = g_ptr_array_index(_added, i);
      if (g_ascii_strcasecmp(type, t->alias) == 0 || (t->flume_class && strcmp(type, t->flume_class) == 0))
        return t;
    }
  return NULL;
}

static gboolean
_builtin_kind(const char *type, _SelectorKind *kind)
{
  for (gsize i = 0; i < G_N_ELEMENTS(_selectors); i++)
    if (g_ascii_strcasecmp(type, _selectors[i].alias) == 0 || strcmp(type, _selectors[i].flume_class) == 0)
      {
        *kind = _selectors[i].kind;
        return TRUE;
      }
  return FALSE;
}

gboolean
relay_selector_type_exists(const char *type)
{
  _SelectorKind kind;

  return _builtin_kind(type, &kind) || _find_added(type);
}

gboolean
relay_selector_add_type(const RelaySelectorType *type)
{
  if (relay_selector_type_exists(type->alias)
      || (type->flume_class && relay_selector_type_exists(type->flume_class)))
    return FALSE;
  if (!_added)
    _added = g_ptr_array_new();
  g_ptr_array_add(_added, (gpointer)type);
  return TRUE;
}

GArray *
relay_selector_types_help(void)
{
  GArray *out = g_array_new(FALSE, TRUE, sizeof(RelayTypeHelp));

  for (guint i = 0; i < G_N_ELEMENTS(_selectors); i++)
    {
      RelayTypeHelp help = { _selectors[i].alias, _selectors[i].flume_class, _selectors[i].description,
                             _selectors[i].options };
      g_array_append_val(out, help);
    }
  for (guint i = 0; _added && i < _added->len; i++)
    {
      const RelaySelectorType *t = g_ptr_array_index(_added, i);
      RelayTypeHelp help = { t->alias, t->flume_class, t->description, t->options };
      g_array_append_val(out, help);
    }
  return out;
}

static gboolean
_selector_kind(RelayChannelProcessor *self, const char *type)
{
  self->kind = _SELECTOR_REPLICATING;
  if (!type || _builtin_kind(type, &self->kind))
    return TRUE;
  self->added = _find_added(type);
  self->kind = _SELECTOR_ADDED;
  return self->added != NULL;
}

static const char *
_selector_alias(RelayChannelProcessor *self)
{
  return self->kind == _SELECTOR_ADDED ? self->added->alias : _selectors[self->kind].alias;
}

static gboolean
_selector_uses_key(RelayChannelProcessor *self, const char *key)
{
  if (strcmp(key, "selector.type") == 0)
    return TRUE;
  switch (self->kind)
    {
    case _SELECTOR_REPLICATING:
      return strcmp(key, "selector.optional") == 0;
    case _SELECTOR_MULTIPLEXING:
      return strcmp(key, "selector.header") == 0 || strcmp(key, "selector.default") == 0
             || g_str_has_prefix(key, "selector.mapping.") || g_str_has_prefix(key, "selector.optional.");
    case _SELECTOR_LOAD_BALANCING:
      return strcmp(key, "selector.policy") == 0;
    case _SELECTOR_ADDED:
      return g_str_has_prefix(key, "selector.")
             && self->added->knows_key(self->added->data, key + strlen("selector."));
    }
  return FALSE;
}

/* Keys of another selector type are reported (unknown "selector.*" keys are reported by the component). */
static void
_report_foreign_selector_keys(RelayChannelProcessor *self, const RelayComponentConfig *cc,
                              RelayConfigReport *report)
{
  GPtrArray *keys = relay_component_config_keys(cc, "selector.");

  for (guint i = 0; i < keys->len; i++)
    {
      const char *key = g_ptr_array_index(keys, i);
      if (relay_channel_processor_knows_key(key) && !_selector_uses_key(self, key))
        relay_config_report_add(report, _where(cc, key), cc->label, key,
                                "not used by selector type %s, ignored", _selector_alias(self));
    }
  g_ptr_array_unref(keys);
}

static gboolean
_configure_selector(RelayChannelProcessor *self, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  const char *type = relay_component_config_value(cc, "selector.type");

  if (!_selector_kind(self, type))
    {
      GString *known = g_string_new("replicating, multiplexing, load_balancing");
      for (guint i = 0; _added && i < _added->len; i++)
        g_string_append_printf(known, ", %s",
                               ((const RelaySelectorType *)g_ptr_array_index(_added, i))->alias);
      relay_config_report_add(report, _where(cc, "selector.type"), cc->label, "selector.type",
                              "unknown selector type %s (known: %s); source %s removed", type, known->str,
                              cc->name);
      g_string_free(known, TRUE);
      return FALSE;
    }
  _report_foreign_selector_keys(self, cc, report);
  switch (self->kind)
    {
    case _SELECTOR_REPLICATING:
      return _configure_replicating(self, cc, report);
    case _SELECTOR_MULTIPLEXING:
      return _configure_multiplexing(self, cc, report);
    case _SELECTOR_LOAD_BALANCING:
      return _configure_load_balancing(self, cc, report);
    case _SELECTOR_ADDED:
      self->added_instance = self->added->create(self->added->data, cc, self->channels, report);
      return self->added_instance != NULL;
    }
  return FALSE;
}

/* ---- public: life cycle and configuration ---- */

RelayChannelProcessor *
relay_channel_processor_new(RelaySource *source, struct event_base *base)
{
  g_return_val_if_fail(source != NULL, NULL);
  RelayChannelProcessor *self = g_new0(RelayChannelProcessor, 1);
  const RelayRateLimit limit = RELAY_RATELIMIT_INIT;

  self->source = source;
  self->base = base;
  self->log_prefix = source->super.log_prefix;
  self->channels = g_ptr_array_new();
  self->rl_required = limit;
  self->rl_optional = limit;
  return self;
}

gboolean
relay_channel_processor_configure(RelayChannelProcessor *self, const RelayComponentConfig *cc,
                                  GHashTable *channels, RelayConfigReport *report)
{
  g_return_val_if_fail(self->targets == NULL && self->interceptors == NULL, FALSE);
  gboolean ok = _configure_channels(self, cc, channels, report) && _configure_selector(self, cc, report);

  /* Built even after a selector error, so that every problem is reported at once. */
  self->interceptors = relay_interceptor_chain_new(cc, self->log_prefix, report);
  return ok && self->interceptors != NULL;
}

gboolean
relay_channel_processor_knows_key(const char *key)
{
  static const char *const keys[] = { "channels",        "selector.type",    "selector.optional",
                                      "selector.header", "selector.default", "selector.policy" };

  for (gsize i = 0; i < G_N_ELEMENTS(keys); i++)
    if (strcmp(key, keys[i]) == 0)
      return TRUE;
  for (guint i = 0; _added && i < _added->len && g_str_has_prefix(key, "selector."); i++)
    {
      const RelaySelectorType *t = g_ptr_array_index(_added, i);
      if (t->knows_key(t->data, key + strlen("selector.")))
        return TRUE;
    }
  return g_str_has_prefix(key, "selector.mapping.") || g_str_has_prefix(key, "selector.optional.")
         || relay_interceptor_knows_key(key);
}

GPtrArray *
relay_channel_processor_channels(RelayChannelProcessor *self)
{
  return self->channels;
}

/* ---- routing: events to channels ---- */

static gboolean
_is_blank(const char *text)
{
  for (; *text; text++)
    if ((guchar)*text > ' ') /* Java's String.trim() */
      return FALSE;
  return TRUE;
}

/* An added selector's masks, limited to the source's channels (required wins over optional). */
static _Route
_added_route(RelayChannelProcessor *self, const RelayEvent *ev)
{
  guint n = self->channels->len;
  guint64 all = n == RELAY_CP_MAX_CHANNELS ? G_MAXUINT64 : _bit(n) - 1;
  guint64 required = 0, optional = 0;

  self->added->select(self->added_instance, ev, &required, &optional);
  required &= all;
  return (_Route){ required, optional & all & ~required };
}

static _Route
_route_of(RelayChannelProcessor *self, const RelayEvent *ev)
{
  if (self->kind == _SELECTOR_REPLICATING)
    return self->fixed;
  if (self->kind == _SELECTOR_ADDED)
    return _added_route(self, ev);
  if (self->kind == _SELECTOR_LOAD_BALANCING)
    {
      guint n = self->channels->len;
      guint index = self->lb_random ? (guint)g_random_int_range(0, (gint32)n) : self->lb_next;
      self->lb_next = (self->lb_next + 1) % n;
      return (_Route){ _bit(index), 0 };
    }
  /* Multiplexing: a missing or blank header, or an unmapped value, takes the default route. */
  const char *value = relay_event_get_header(ev, self->header);
  const _Route *route = value && !_is_blank(value) ? g_hash_table_lookup(self->routes, value) : NULL;
  return route ? *route : self->fixed;
}

static gboolean
_route_equal(_Route a, _Route b)
{
  return a.required == b.required && a.optional == b.optional;
}

static void
_batch_append(GPtrArray **batches, guint64 *built, guint index, RelayEvent *ev, guint reserve)
{
  if (!(*built & _bit(index)))
    {
      batches[index] = g_ptr_array_sized_new(reserve);
      *built |= _bit(index);
    }
  g_ptr_array_add(batches[index], ev);
}

static void
_plan_add(_Plan *plan, guint n_channels, _Route route, RelayEvent *ev)
{
  plan->required |= route.required;
  plan->optional |= route.optional;
  for (guint j = 0; j < n_channels; j++)
    {
      if (route.required & _bit(j))
        _batch_append(plan->required_batch, &plan->built_required, j, ev, plan->events->len);
      else if (route.optional & _bit(j))
        _batch_append(plan->optional_batch, &plan->built_optional, j, ev, plan->events->len);
    }
}

/* Groups events per channel. When all events share one route, no per-channel array is built. */
static void
_plan_build(RelayChannelProcessor *self, _Plan *plan, GPtrArray *events)
{
  plan->events = events;
  plan->required = plan->optional = plan->built_required = plan->built_optional = 0;
  if (events->len == 0 || self->channels->len == 0)
    return;

  RelayEvent **ev = (RelayEvent **)events->pdata;
  _Route first = _route_of(self, ev[0]), route = first;
  guint i = 1;
  while (i < events->len && _route_equal(route = _route_of(self, ev[i]), first))
    i++;
  if (i == events->len)
    {
      plan->required = first.required;
      plan->optional = first.optional;
      return;
    }
  guint n = self->channels->len;
  for (guint k = 0; k < i; k++)
    _plan_add(plan, n, first, ev[k]);
  _plan_add(plan, n, route, ev[i]);
  for (guint k = i + 1; k < events->len; k++)
    _plan_add(plan, n, _route_of(self, ev[k]), ev[k]);
}

static GPtrArray *
_plan_batch(_Plan *plan, guint index, gboolean required)
{
  if (required)
    return (plan->built_required & _bit(index)) ? plan->required_batch[index] : plan->events;
  return (plan->built_optional & _bit(index)) ? plan->optional_batch[index] : plan->events;
}

/* Frees the per-channel arrays, not plan->events. */
static void
_plan_clear(_Plan *plan)
{
  for (guint j = 0; j < RELAY_CP_MAX_CHANNELS && (plan->built_required | plan->built_optional) >> j; j++)
    {
      if (plan->built_required & _bit(j))
        g_ptr_array_unref(plan->required_batch[j]);
      if (plan->built_optional & _bit(j))
        g_ptr_array_unref(plan->optional_batch[j]);
    }
  plan->built_required = plan->built_optional = 0;
}

/* ---- writing ---- */

/* One transaction for the whole batch: begin, put all, commit; rolled back on any failure. */
static RelayChannelResult
_write_batch(RelayChannel *channel, GPtrArray *batch)
{
  RelayTxn *txn = relay_channel_begin(channel);
  RelayChannelResult result = RELAY_CHANNEL_OK;

  for (guint i = 0; i < batch->len && result == RELAY_CHANNEL_OK; i++)
    result = relay_txn_put(txn, g_ptr_array_index(batch, i));
  if (result == RELAY_CHANNEL_OK)
    result = relay_txn_commit(txn);
  if (result != RELAY_CHANNEL_OK)
    relay_txn_rollback(txn);
  relay_txn_close(txn);
  return result;
}

/* Writes the required channels not in *committed, in list order; stops at the first failure (its index in
 * *failed). */
static RelayChannelResult
_put_required(RelayChannelProcessor *self, _Plan *plan, guint64 *committed, guint *failed)
{
  for (guint j = 0; j < self->channels->len; j++)
    {
      if (!(plan->required & _bit(j)) || (*committed & _bit(j)))
        continue;
      RelayChannelResult result = _write_batch(_channel(self, j), _plan_batch(plan, j, TRUE));
      if (result != RELAY_CHANNEL_OK)
        {
          *failed = j;
          return result;
        }
      *committed |= _bit(j);
    }
  return RELAY_CHANNEL_OK;
}

static void
_put_optional(RelayChannelProcessor *self, _Plan *plan)
{
  for (guint j = 0; j < self->channels->len; j++)
    {
      if (!(plan->optional & _bit(j)))
        continue;
      GPtrArray *batch = _plan_batch(plan, j, FALSE);
      RelayChannelResult result = _write_batch(_channel(self, j), batch);
      if (result != RELAY_CHANNEL_OK)
        relay_log_ratelimited(&self->rl_optional, RELAY_LOG_WARN, self->log_prefix,
                              "put to optional channel failed, ignored channel=%s result=%s events=%u",
                              _channel(self, j)->super.name, relay_channel_result_name(result), batch->len);
    }
}

/* After the last attempt: optional channels on success, counters and a log line on failure. */
static void
_finish_attempt(RelayChannelProcessor *self, _Plan *plan, RelayChannelResult result, guint failed)
{
  if (result == RELAY_CHANNEL_OK)
    {
      _put_optional(self, plan);
      return;
    }
  RelayChannel *channel = _channel(self, failed);
  relay_counter_inc(&self->source->counters.channel_write_fail);
  relay_log_ratelimited(
      &self->rl_required, RELAY_LOG_WARN, self->log_prefix,
      "put to required channel failed channel=%s result=%s events=%u capacity=%" G_GINT64_FORMAT
      " transactionCapacity=%" G_GINT64_FORMAT " keep_alive_s=%" G_GINT64_FORMAT,
      channel->super.name, relay_channel_result_name(result), _plan_batch(plan, failed, TRUE)->len,
      channel->capacity, channel->transaction_capacity, channel->keep_alive_s);
}

RelayPutResult
relay_channel_processor_put(RelayChannelProcessor *self, GPtrArray *events)
{
  _Plan plan;
  guint64 committed = 0;
  guint failed = 0;

  if (self->interceptors)
    relay_interceptor_chain_apply(self->interceptors, events);
  _plan_build(self, &plan, events);
  RelayChannelResult result = _put_required(self, &plan, &committed, &failed);
  _finish_attempt(self, &plan, result, failed);
  _plan_clear(&plan);
  return _put_result(result);
}

/* ---- waiting for room ---- */

/* Runs in: the thread whose commit freed room in channel (a sink runner). Only wakes the main loop. */
static void
_on_channel_space(RelayChannel *channel, gpointer user_data)
{
  _Target *target = user_data;

  (void)channel;
  if (g_atomic_int_get(&target->waiters) > 0)
    event_active(target->wake, EV_READ, 0);
}

static void _on_target_wake(evutil_socket_t fd, short what, void *arg);

static _Target *
_target_prepare(RelayChannelProcessor *self, guint index)
{
  _Target *target = &self->targets[index];

  if (!target->wake)
    {
      target->wake = event_new(_loop(self), -1, 0, _on_target_wake, target);
      relay_channel_add_notify(target->channel, RELAY_CHANNEL_NOTIFY_SPACE, _on_channel_space, target);
    }
  return target;
}

static void
_target_clear(_Target *target)
{
  if (!target->wake)
    return;
  relay_channel_remove_notify(target->channel, _on_channel_space, target);
  event_free(target->wake);
  target->wake = NULL;
}

static void
_request_unlink(RelayPutRequest *req)
{
  if (!req->target)
    return;
  g_queue_unlink(&req->target->waiting, &req->link);
  g_atomic_int_add(&req->target->waiters, -1);
  req->target = NULL;
}

static void
_request_free(RelayPutRequest *req)
{
  _request_unlink(req);
  if (req->timer)
    event_free(req->timer);
  _plan_clear(&req->plan);
  g_ptr_array_unref(req->plan.events);
  g_free(req);
}

static void
_request_complete(RelayPutRequest *req, RelayChannelResult result, guint failed)
{
  RelayPutDone done = req->done;
  gpointer user_data = req->user_data;

  _finish_attempt(req->cp, &req->plan, result, failed);
  _request_free(req);
  done(_put_result(result), user_data);
}

/* Whether a request (NULL: a new one) that found channel index FULL should wait for room. */
static gboolean
_should_wait(RelayChannelProcessor *self, RelayPutRequest *req, guint index, gint64 now)
{
  if (req && req->target == &self->targets[index])
    return now < req->deadline_us;
  return _channel(self, index)->keep_alive_s > 0 && _loop(self) != NULL;
}

static void _on_request_timer(evutil_socket_t fd, short what, void *arg);

/* Queues req (last) on channel index; a new channel starts a new keep-alive deadline. */
static void
_request_wait(RelayPutRequest *req, guint index, gint64 now)
{
  _Target *target = _target_prepare(req->cp, index);

  if (req->target != target)
    {
      _request_unlink(req);
      req->target = target;
      req->deadline_us = now + target->channel->keep_alive_s * G_USEC_PER_SEC;
      g_atomic_int_add(&target->waiters, 1);
    }
  else
    g_queue_unlink(&target->waiting, &req->link);
  g_queue_push_tail_link(&target->waiting, &req->link);

  gint64 wait_us = MIN(req->deadline_us - now, RELAY_CP_RETRY_US);
  struct timeval tv = { .tv_sec = wait_us / G_USEC_PER_SEC, .tv_usec = wait_us % G_USEC_PER_SEC };
  if (!req->timer)
    req->timer = evtimer_new(_loop(req->cp), _on_request_timer, req);
  evtimer_add(req->timer, &tv);
}

/* Retries the required channels not committed yet. Returns TRUE if req still waits on the same channel. */
static gboolean
_request_retry(RelayPutRequest *req)
{
  _Target *before = req->target;
  guint failed = 0;
  RelayChannelResult result = _put_required(req->cp, &req->plan, &req->committed, &failed);
  gint64 now = g_get_monotonic_time();

  if (result == RELAY_CHANNEL_FULL && _should_wait(req->cp, req, failed, now))
    {
      _request_wait(req, failed, now);
      return req->target == before;
    }
  _request_complete(req, result, failed);
  return FALSE;
}

/* Room appeared: waiting requests retry, oldest first, until one finds the channel full again (the others
 * keep their place and their 100 ms timers). */
static void
_on_target_wake(evutil_socket_t fd, short what, void *arg)
{
  _Target *target = arg;
  guint n = target->waiting.length;

  (void)fd;
  (void)what;
  while (n-- > 0 && target->waiting.head)
    if (_request_retry(target->waiting.head->data))
      break;
}

static void
_on_request_timer(evutil_socket_t fd, short what, void *arg)
{
  (void)fd;
  (void)what;
  _request_retry(arg);
}

RelayPutRequest *
relay_channel_processor_submit(RelayChannelProcessor *self, GPtrArray *events, RelayPutDone done,
                               gpointer user_data)
{
  _Plan plan;
  guint64 committed = 0;
  guint failed = 0;

  if (self->interceptors)
    relay_interceptor_chain_apply(self->interceptors, events);
  _plan_build(self, &plan, events);
  RelayChannelResult result = _put_required(self, &plan, &committed, &failed);
  gint64 now = g_get_monotonic_time();
  if (result == RELAY_CHANNEL_FULL && _should_wait(self, NULL, failed, now))
    {
      RelayPutRequest *req = g_new0(RelayPutRequest, 1);
      req->cp = self;
      req->plan = plan;
      req->committed = committed;
      req->done = done;
      req->user_data = user_data;
      req->link.data = req;
      _request_wait(req, failed, now);
      return req;
    }
  _finish_attempt(self, &plan, result, failed);
  _plan_clear(&plan);
  g_ptr_array_unref(events);
  done(_put_result(result), user_data);
  return NULL;
}

void
relay_put_request_cancel(RelayPutRequest *request)
{
  if (request)
    _request_free(request);
}

void
relay_channel_processor_free(RelayChannelProcessor *self)
{
  if (!self)
    return;
  for (guint i = 0; self->targets && i < self->channels->len; i++)
    {
      _Target *target = &self->targets[i];
      if (target->waiting.length)
        relay_warn(self->log_prefix, "pending puts abandoned channel=%s requests=%u",
                   target->channel->super.name, target->waiting.length);
      while (target->waiting.head)
        _request_free(target->waiting.head->data);
      _target_clear(target);
    }
  g_free(self->targets);
  if (self->added_instance) /* before the channels: the plugin's destroy may still ask for them */
    self->added->free(self->added_instance);
  g_ptr_array_unref(self->channels);
  if (self->interceptors)
    relay_interceptor_chain_free(self->interceptors);
  if (self->routes)
    g_hash_table_unref(self->routes);
  g_free(self->header);
  g_free(self);
}
