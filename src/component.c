/* component.c - the component lifecycle shared by every source, channel and sink.
 *
 * Allocation with option defaults, configuration (option table, class checks, unknown-key report),
 * start/stop/free with state checks so that the agent's ordered start and stop can call them blindly.
 * All functions run on the main thread. */
#include "component.h"

#include "channel.h"
#include "channel_processor.h"
#include "log.h"
#include "props.h"
#include "suggest.h"

#include <string.h>

RelayComponent *
relay_component_new(const RelayComponentClass *klass, const char *name)
{
  g_assert(klass->instance_size >= sizeof(RelayComponent));
  RelayComponent *self = g_malloc0(klass->instance_size);

  self->klass = klass;
  self->name = g_strdup(name);
  self->log_prefix = g_strdup_printf("%s:%s:%s", relay_kind_name(klass->kind), klass->type, name);
  self->state = RELAY_STATE_NEW;
  if (klass->kind == RELAY_KIND_CHANNEL)
    relay_channel_init_base((RelayChannel *)self);
  relay_options_set_defaults(klass->options, self);
  return self;
}

/* Keys every component of a kind may carry, handled by the agent rather than the class. */
static gboolean
_is_common_key(RelayKind kind, const char *key)
{
  if (strcmp(key, "type") == 0)
    return TRUE;
  switch (kind)
    {
    case RELAY_KIND_SOURCE:
      return relay_channel_processor_knows_key(key);
    case RELAY_KIND_SINK:
      return strcmp(key, "channel") == 0;
    case RELAY_KIND_CHANNEL:
    case RELAY_KIND_SINKGROUP:
    case RELAY_KIND_N:
      break;
    }
  return FALSE;
}

/* The keys a component of klass is known to read, for "did you mean" (borrowed strings). */
static GPtrArray *
_known_keys(const RelayComponentClass *klass)
{
  static const char *const source_keys[] = { "channels", "selector.type", "interceptors", NULL };
  static const char *const sink_keys[] = { "channel", NULL };
  GPtrArray *known = g_ptr_array_new();

  g_ptr_array_add(known, (gpointer) "type");
  for (const RelayOption *opt = klass->options; opt && opt->key; opt++)
    g_ptr_array_add(known, (gpointer)opt->key);
  for (const char *const *k = klass->kind == RELAY_KIND_SOURCE ? source_keys
                              : klass->kind == RELAY_KIND_SINK ? sink_keys
                                                               : NULL;
       k && *k; k++)
    g_ptr_array_add(known, (gpointer)*k);
  return known;
}

static void
_report_unknown_keys(RelayComponent *self, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  GPtrArray *keys = relay_component_config_keys(cc, "");
  GPtrArray *known = NULL;

  for (guint i = 0; i < keys->len; i++)
    {
      const char *key = g_ptr_array_index(keys, i);
      if (relay_options_find(self->klass->options, key) || _is_common_key(self->klass->kind, key)
          || (self->klass->knows_key && self->klass->knows_key(key)))
        continue;
      if (!known)
        known = _known_keys(self->klass);
      const char *closest = relay_suggest_closest(key, (const char *const *)known->pdata, known->len);
      if (closest)
        relay_config_report_add(report, relay_component_config_get(cc, key), cc->label, key,
                                "unknown key for type %s, ignored (did you mean %s?)", self->klass->type,
                                closest);
      else
        relay_config_report_add(report, relay_component_config_get(cc, key), cc->label, key,
                                "unknown key for type %s, ignored", self->klass->type);
    }
  if (known)
    g_ptr_array_unref(known);
  g_ptr_array_unref(keys);
}

gboolean
relay_component_configure(RelayComponent *self, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  g_return_val_if_fail(self->state == RELAY_STATE_NEW, FALSE);
  _report_unknown_keys(self, cc, report);
  if (!relay_options_apply(self->klass->options, self, cc, report))
    return FALSE;
  if (self->klass->configure && !self->klass->configure(self, cc, report))
    return FALSE;
  self->state = RELAY_STATE_CONFIGURED;
  return TRUE;
}

gboolean
relay_component_configure_kv(RelayComponent *self, const char *const *kv)
{
  RelayProps *props = relay_props_new();
  RelayConfigReport *report = relay_config_report_new();
  const char *kinds = relay_kind_plural(self->klass->kind);
  GString *text = g_string_new("");

  g_string_append_printf(text, "a.%s = %s\n", kinds, self->name);
  g_string_append_printf(text, "a.%s.%s.type = %s\n", kinds, self->name, self->klass->type);
  for (guint i = 0; kv && kv[i] && kv[i + 1]; i += 2)
    g_string_append_printf(text, "a.%s.%s.%s = %s\n", kinds, self->name, kv[i], kv[i + 1]);
  relay_props_load_string(props, "<kv>", text->str, report);

  RelayAgentConfig *cfg = relay_agent_config_new(props, "a", report);
  RelayComponentConfig *cc = cfg ? relay_agent_config_find(cfg, self->klass->kind, self->name) : NULL;
  gboolean ok = cc && relay_component_configure(self, cc, report);

  /* Only this component's problems: the synthetic agent around it has no channels list, for instance. */
  char *label = g_strdup_printf("%s.%s", kinds, self->name);
  for (guint i = 0; i < report->lines->len; i++)
    if (strstr(g_ptr_array_index(report->lines, i), label))
      relay_warn(self->log_prefix, "%s", (const char *)g_ptr_array_index(report->lines, i));
  g_free(label);
  if (cfg)
    relay_agent_config_free(cfg);
  relay_config_report_free(report);
  relay_props_free(props);
  g_string_free(text, TRUE);
  return ok;
}

gboolean
relay_component_start(RelayComponent *self, GError **error)
{
  if (self->state == RELAY_STATE_STARTED)
    return TRUE;
  if (self->state != RELAY_STATE_CONFIGURED && self->state != RELAY_STATE_STOPPED)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_STATE, "%s: start called before configure",
                  self->log_prefix);
      return FALSE;
    }
  if (self->klass->start && !self->klass->start(self, error))
    return FALSE;
  self->state = RELAY_STATE_STARTED;
  self->start_time_ms = g_get_real_time() / 1000;
  self->stop_time_ms = 0;
  return TRUE;
}

void
relay_component_stop(RelayComponent *self)
{
  if (self->state != RELAY_STATE_STARTED)
    return;
  if (self->klass->stop)
    self->klass->stop(self);
  self->state = RELAY_STATE_STOPPED;
  self->stop_time_ms = g_get_real_time() / 1000;
}

void
relay_component_free(RelayComponent *self)
{
  if (!self)
    return;
  relay_component_stop(self);
  if (self->klass->free)
    self->klass->free(self);
  relay_options_free(self->klass->options, self);
  if (self->klass->kind == RELAY_KIND_CHANNEL)
    relay_channel_free_base((RelayChannel *)self);
  g_free(self->log_prefix);
  g_free(self->name);
  g_free(self);
}
