/* plugin_parts.c - plugin interceptors and channel selectors: the parts of a source a plugin may provide.
 *
 * An accepted interceptor class becomes a RelayInterceptorType of interceptor.c, a selector class a
 * RelaySelectorType of channel_processor.c, so the channel processor runs them where it runs the built-in
 * ones (Flume's ChannelProcessor: interceptors on the whole batch, then the selector per event). An instance
 * is a RelayPluginPart: a RelayComponent named after the interceptor (or the source, for a selector), with
 * the plugin's configuration struct filled from the option table applied to the keys under
 * "interceptors.<name>." or "selector." (a sub-configuration labelled "sources.r1.interceptors.i1" or
 * "sources.r1.selector", so messages name file:line, that label and the key).
 *
 * Threads: create and free on the main thread; apply and select on the thread that owns the source. */
#include "plugin_private.h"

#include "channel.h"
#include "event.h"
#include "log.h"

#include <string.h>

/* The part's instance, options applied and the plugin's configure called; NULL after a report. */
static RelayPluginPart *
_part_new(const RelayPluginClass *pc, const RelayComponentConfig *cc, const char *name, const char *prefix,
          const char *what, GPtrArray *channels, RelayConfigReport *report)
{
  RelayPluginPart *part = (RelayPluginPart *)relay_component_new(&pc->klass, name);
  char *label = g_strdup_printf("%s.%s", cc->label, what);
  RelayComponentConfig *sub = relay_component_config_sub(cc, prefix, label);

  g_free(part->super.log_prefix);
  part->super.log_prefix = g_strdup_printf("%s:%s:%s.%s", relay_plugin_kind_name(pc->plugin_kind),
                                           pc->klass.type, cc->name, what);
  part->channels = channels;
  part->rl = (RelayRateLimit)RELAY_RATELIMIT_INIT;
  gboolean ok = relay_options_apply(pc->klass.options, part, sub, report)
                && relay_plugin_configure(RELAY_COMPONENT(part), sub, report);
  relay_component_config_free(sub);
  g_free(label);
  if (ok)
    return part;
  relay_component_free(RELAY_COMPONENT(part));
  return NULL;
}

static void
_part_free(gpointer instance)
{
  relay_component_free(instance);
}

static gboolean
_knows_key(gconstpointer data, const char *key)
{
  const RelayPluginClass *pc = data;

  return relay_options_find(pc->klass.options, key) != NULL;
}

/* ---- interceptors ---- */

static gpointer
_interceptor_create(gconstpointer data, const RelayComponentConfig *cc, const char *name,
                    RelayConfigReport *report)
{
  char *prefix = g_strdup_printf("interceptors.%s.", name);
  char *what = g_strdup_printf("interceptors.%s", name);
  RelayPluginPart *part = _part_new(data, cc, name, prefix, what, NULL, report);

  g_free(what);
  g_free(prefix);
  return part;
}

/* The plugin works on the array in place; relayd then drops the slots past the count it returned (their
 * references are the plugin's to have released) and any NULL it left. */
static void
_interceptor_apply(gpointer instance, GPtrArray *events)
{
  RelayPluginPart *part = instance;
  const RelayPluginClass *pc = relay_plugin_class(RELAY_COMPONENT(part));
  size_t kept
      = pc->interceptor.intercept((RelaydComponent *)part, (RelaydEvent **)events->pdata, events->len);
  guint n = 0;

  if (kept > events->len)
    {
      relay_log_ratelimited(&part->rl, RELAY_LOG_ERROR, part->super.log_prefix,
                            "intercept returned %zu for a batch of %u events; treated as %u", kept,
                            events->len, events->len);
      kept = events->len;
    }
  for (guint i = 0; i < kept; i++)
    if (events->pdata[i])
      events->pdata[n++] = events->pdata[i];
  for (guint i = n; i < events->len; i++)
    events->pdata[i] = NULL;
  g_ptr_array_set_size(events, n);
}

/* ---- selectors ---- */

static gpointer
_selector_create(gconstpointer data, const RelayComponentConfig *cc, GPtrArray *channels,
                 RelayConfigReport *report)
{
  return _part_new(data, cc, cc->name, "selector.", "selector", channels, report);
}

static void
_selector_select(gpointer instance, const RelayEvent *ev, guint64 *required, guint64 *optional)
{
  RelayPluginPart *part = instance;
  const RelayPluginClass *pc = relay_plugin_class(RELAY_COMPONENT(part));
  uint64_t req = 0, opt = 0;

  pc->selector.select((RelaydComponent *)part, (const RelaydEvent *)ev, &req, &opt);
  *required = req;
  *optional = opt;
}

static const RelayPluginPart *
_selector(const RelaydComponent *self)
{
  const RelayPluginPart *part = (const RelayPluginPart *)self;

  g_return_val_if_fail(relay_plugin_class(RELAY_COMPONENT(part))->plugin_kind == RELAY_PLUGIN_SELECTOR, NULL);
  return part;
}

size_t
relayd_selector_channel_count(const RelaydComponent *self)
{
  const RelayPluginPart *part = _selector(self);

  return part ? part->channels->len : 0;
}

const char *
relayd_selector_channel_name(const RelaydComponent *self, size_t i)
{
  const RelayPluginPart *part = _selector(self);

  if (!part || i >= part->channels->len)
    return NULL;
  return ((RelayComponent *)g_ptr_array_index(part->channels, i))->name;
}

int
relayd_selector_channel_index(const RelaydComponent *self, const char *name)
{
  const RelayPluginPart *part = _selector(self);

  for (guint i = 0; part && name && i < part->channels->len; i++)
    if (strcmp(((RelayComponent *)g_ptr_array_index(part->channels, i))->name, name) == 0)
      return (int)i;
  return -1;
}

/* ---- classes ---- */

void
relay_plugin_part_class_init(RelayPluginClass *pc, RelayPluginKind kind)
{
  pc->plugin_kind = kind;
  pc->life = &pc->part_life;
  pc->klass.instance_size = sizeof(RelayPluginPart);
  pc->common_offset = G_STRUCT_OFFSET(RelayPluginPart, common);
  pc->klass.free = relay_plugin_free;
}

void
relay_plugin_part_add(RelayPluginClass *pc)
{
  gboolean added;

  if (pc->plugin_kind == RELAY_PLUGIN_INTERCEPTOR)
    {
      pc->added_interceptor = (RelayInterceptorType){ pc->klass.type,
                                                      pc->klass.flume_class,
                                                      _interceptor_create,
                                                      _interceptor_apply,
                                                      _part_free,
                                                      _knows_key,
                                                      pc,
                                                      pc->klass.description,
                                                      pc->klass.options };
      added = relay_interceptor_add_type(&pc->added_interceptor);
    }
  else
    {
      pc->added_selector = (RelaySelectorType){
        pc->klass.type,
        pc->klass.flume_class,
        _selector_create,
        _selector_select,
        _part_free,
        _knows_key,
        pc,
        pc->klass.description,
        pc->klass.options,
      };
      added = relay_selector_add_type(&pc->added_selector);
    }
  g_warn_if_fail(added); /* registration checked the names against every type known then */
}
