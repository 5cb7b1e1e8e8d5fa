/* plugin_api.c - the functions relayd/plugin.h promises: registration, components, logging, counters, events.
 *
 * These are the only relayd symbols a plugin links against: relayd is linked with a dynamic list
 * (src/plugin/relayd-plugin.sym) that exports exactly them. Handles are relayd's own objects behind opaque
 * types (a RelaydComponent is a RelayComponent of a plugin class, a RelaydEvent a RelayEvent), so these
 * functions only translate. Registration also turns a plugin's class struct into a RelayComponentClass with
 * a translated option table. */
#include "plugin_private.h"

#include "channel.h"
#include "counters.h"
#include "event.h"
#include "log.h"
#include "registry.h"

#include <string.h>

struct RelaydError
{
  char *message;
};

uint32_t
relayd_interface_version(void)
{
  return RELAYD_PLUGIN_INTERFACE_VERSION;
}

/* ---- option tables ---- */

static const RelayOptionType _opt_types[] = {
  [RELAYD_OPT_INT] = RELAY_OPT_INT,       [RELAYD_OPT_BOOL] = RELAY_OPT_BOOL,
  [RELAYD_OPT_STRING] = RELAY_OPT_STRING, [RELAYD_OPT_ENUM] = RELAY_OPT_ENUM,
  [RELAYD_OPT_DOUBLE] = RELAY_OPT_DOUBLE,
};
static const gsize _opt_sizes[] = {
  [RELAYD_OPT_INT] = sizeof(int64_t),   [RELAYD_OPT_BOOL] = sizeof(int),
  [RELAYD_OPT_STRING] = sizeof(char *), [RELAYD_OPT_ENUM] = sizeof(int),
  [RELAYD_OPT_DOUBLE] = sizeof(double),
};

static gboolean
_translate_row(const RelaydOption *in, gsize config_size, gsize config_offset, RelayOption *out, char **why)
{
  const unsigned known
      = RELAYD_OPTF_REQUIRED | RELAYD_OPTF_LENIENT | RELAYD_OPTF_BATCH_SIZE | RELAYD_OPTF_EMPTY_OK;

  if ((unsigned)in->type >= G_N_ELEMENTS(_opt_types) || in->offset + _opt_sizes[in->type] > config_size
      || (in->flags & ~known) || (in->type == RELAYD_OPT_ENUM && !in->choices)
      || ((in->flags & RELAYD_OPTF_BATCH_SIZE) && in->type != RELAYD_OPT_INT))
    {
      *why = g_strdup_printf(
          "option %s: bad type, flags or offset (outside the %zu-byte configuration struct)", in->key,
          (size_t)config_size);
      return FALSE;
    }
  *out = (RelayOption){
    in->key,     _opt_types[in->type],    in->def, in->min, in->max, config_offset + in->offset, 0,
    in->choices, in->help ? in->help : ""
  };
  /* The flag values are relayd's own (options.h); named one by one so that either side may change. */
  out->flags = ((in->flags & RELAYD_OPTF_REQUIRED) ? RELAY_OPTF_REQUIRED : 0)
               | ((in->flags & RELAYD_OPTF_LENIENT) ? RELAY_OPTF_LENIENT : 0)
               | ((in->flags & RELAYD_OPTF_BATCH_SIZE) ? RELAY_OPTF_BATCH_SIZE : 0)
               | ((in->flags & RELAYD_OPTF_EMPTY_OK) ? RELAY_OPTF_EMPTY_OK : 0);
  return TRUE;
}

RelayOption *
relay_plugin_options_translate(const RelaydOption *options, gsize config_size, gsize config_offset,
                               const RelayOption *extra, char **why)
{
  guint n = 0, n_extra = 0;

  while (options && options[n].key)
    n++;
  while (extra && extra[n_extra].key)
    n_extra++;
  RelayOption *out = g_new0(RelayOption, n + n_extra + 1);
  for (guint i = 0; i < n; i++)
    if (!_translate_row(&options[i], config_size, config_offset, &out[i], why))
      {
        g_free(out);
        return NULL;
      }
  for (guint i = 0; i < n_extra; i++)
    out[n + i] = extra[i];
  return out;
}

/* ---- registration ---- */

void
relay_plugin_class_free(gpointer data)
{
  RelayPluginClass *pc = data;

  g_free(pc->file);
  g_free(pc->options);
  g_free(pc);
}

static RelayKind
_kind(RelayPluginKind plugin_kind)
{
  return plugin_kind == RELAY_PLUGIN_SINK ? RELAY_KIND_SINK : RELAY_KIND_SOURCE;
}

/* Types are unique per namespace: sources (both kinds), sinks, interceptors, selectors. */
static RelayPluginKind
_namespace(RelayPluginKind plugin_kind)
{
  return plugin_kind == RELAY_PLUGIN_POLLABLE_SOURCE ? RELAY_PLUGIN_SOURCE : plugin_kind;
}

const char *
relay_plugin_kind_name(RelayPluginKind kind)
{
  static const char *const names[] = { "source", "source", "sink", "interceptor", "selector" };

  return (guint)kind < G_N_ELEMENTS(names) ? names[kind] : "?";
}

/* TRUE when name (a type or class name) already names a class of pc's namespace, built in or a plugin's. */
static gboolean
_taken(RelaydRegistrar *registrar, RelayPluginKind kind, const char *name)
{
  gboolean taken = kind == RELAY_PLUGIN_INTERCEPTOR ? relay_interceptor_type_exists(name)
                   : kind == RELAY_PLUGIN_SELECTOR  ? relay_selector_type_exists(name)
                                                    : relay_registry_find(_kind(kind), name) != NULL;

  for (guint i = 0; !taken && i < registrar->classes->len; i++)
    {
      const RelayPluginClass *other = g_ptr_array_index(registrar->classes, i);
      taken = _namespace(other->plugin_kind) == _namespace(kind)
              && (g_ascii_strcasecmp(other->klass.type, name) == 0
                  || (other->klass.flume_class && strcmp(other->klass.flume_class, name) == 0));
    }
  return taken;
}

/* FALSE (and a problem noted) when the type or class name is taken, by relayd or a plugin. */
static gboolean
_name_free(RelaydRegistrar *registrar, RelayPluginKind kind, const char *type, const char *flume_class)
{
  const char *taken = _taken(registrar, kind, type)                           ? type
                      : (flume_class && _taken(registrar, kind, flume_class)) ? flume_class
                                                                              : NULL;

  if (taken)
    g_string_append_printf(registrar->problems, "%s%s type '%s' is already provided",
                           registrar->problems->len ? "; " : "", relay_plugin_kind_name(kind), taken);
  return taken == NULL;
}

static int
_register(RelaydRegistrar *registrar, RelayPluginClass *pc, const char *type, const char *flume_class,
          const char *description, const RelaydOption *options, gsize config_size, const RelayOption *extra)
{
  char *why = NULL;

  pc->file = g_strdup(registrar->file);
  pc->klass.kind = _kind(pc->plugin_kind);
  pc->klass.type = type;
  pc->klass.flume_class = flume_class;
  pc->klass.description = description ? description : "";
  pc->config_offset = (pc->klass.instance_size + 15) & ~(gsize)15;
  pc->klass.instance_size = pc->config_offset + config_size;
  pc->options = relay_plugin_options_translate(options, config_size, pc->config_offset, extra, &why);
  pc->klass.options = pc->options;
  pc->klass.configure = relay_plugin_configure;
  if (!type || !*type || !pc->options || !_name_free(registrar, pc->plugin_kind, type, flume_class))
    {
      if (!type || !*type || why)
        g_string_append_printf(registrar->problems, "%sclass '%s': %s", registrar->problems->len ? "; " : "",
                               type ? type : "(null)", why ? why : "no type");
      g_free(why);
      relay_plugin_class_free(pc);
      return -1;
    }
  g_ptr_array_add(registrar->classes, pc);
  return 0;
}

int
relayd_register_source(RelaydRegistrar *registrar, const RelaydSourceClass *klass)
{
  RelayPluginClass *pc = g_new0(RelayPluginClass, 1);

  pc->source = *klass;
  pc->life = &pc->source.lifecycle;
  relay_plugin_source_class_init(pc, klass->process != NULL);
  return _register(registrar, pc, klass->type, klass->flume_class, klass->description, klass->options,
                   klass->config_size, pc->klass.options);
}

int
relayd_register_server_source(RelaydRegistrar *registrar, const RelaydSourceClass *klass)
{
  RelayPluginClass *pc;

  if (klass->process)
    {
      g_string_append_printf(registrar->problems,
                             "%sserver source '%s' has a process function (only "
                             "event-driven sources serve connections)",
                             registrar->problems->len ? "; " : "", klass->type ? klass->type : "(null)");
      return -1;
    }
  pc = g_new0(RelayPluginClass, 1);
  pc->source = *klass;
  pc->life = &pc->source.lifecycle;
  relay_plugin_source_class_init(pc, FALSE);
  relay_plugin_server_class_init(pc);
  return _register(registrar, pc, klass->type, klass->flume_class, klass->description, klass->options,
                   klass->config_size, pc->klass.options);
}

int
relayd_register_sink(RelaydRegistrar *registrar, const RelaydSinkClass *klass)
{
  RelayPluginClass *pc = g_new0(RelayPluginClass, 1);

  if (!klass->process)
    {
      g_string_append_printf(registrar->problems, "%ssink '%s' has no process function",
                             registrar->problems->len ? "; " : "", klass->type ? klass->type : "(null)");
      g_free(pc);
      return -1;
    }
  pc->sink = *klass;
  pc->life = &pc->sink.lifecycle;
  relay_plugin_sink_class_init(pc);
  return _register(registrar, pc, klass->type, klass->flume_class, klass->description, klass->options,
                   klass->config_size, NULL);
}

/* Interceptors and selectors have no batch size: their tables may not use RELAYD_OPTF_BATCH_SIZE. */
static gboolean
_part_options_ok(RelaydRegistrar *registrar, const char *type, const RelaydOption *options, gboolean has_fn)
{
  const char *why = !has_fn ? "has no intercept or select function" : NULL;

  for (guint i = 0; !why && options && options[i].key; i++)
    if (options[i].flags & RELAYD_OPTF_BATCH_SIZE)
      why = "uses RELAYD_OPTF_BATCH_SIZE, which only sources and sinks may";
  if (why)
    g_string_append_printf(registrar->problems, "%sclass '%s' %s", registrar->problems->len ? "; " : "",
                           type ? type : "(null)", why);
  return why == NULL;
}

int
relayd_register_interceptor(RelaydRegistrar *registrar, const RelaydInterceptorClass *klass)
{
  if (!_part_options_ok(registrar, klass->type, klass->options, klass->intercept != NULL))
    return -1;
  RelayPluginClass *pc = g_new0(RelayPluginClass, 1);
  pc->interceptor = *klass;
  pc->part_life = (RelaydLifecycle){ klass->configure, NULL, NULL, klass->destroy };
  relay_plugin_part_class_init(pc, RELAY_PLUGIN_INTERCEPTOR);
  return _register(registrar, pc, klass->type, klass->flume_class, klass->description, klass->options,
                   klass->config_size, NULL);
}

int
relayd_register_selector(RelaydRegistrar *registrar, const RelaydSelectorClass *klass)
{
  if (!_part_options_ok(registrar, klass->type, klass->options, klass->select != NULL))
    return -1;
  RelayPluginClass *pc = g_new0(RelayPluginClass, 1);
  pc->selector = *klass;
  pc->part_life = (RelaydLifecycle){ klass->configure, NULL, NULL, klass->destroy };
  relay_plugin_part_class_init(pc, RELAY_PLUGIN_SELECTOR);
  return _register(registrar, pc, klass->type, klass->flume_class, klass->description, klass->options,
                   klass->config_size, NULL);
}

/* ---- lifecycle glue (main thread) ---- */

static char *
_take_message(RelaydError *error, const char *what)
{
  return error->message ? error->message : g_strdup_printf("%s failed (the plugin gave no reason)", what);
}

gboolean
relay_plugin_configure(RelayComponent *self, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  const RelayPluginClass *pc = relay_plugin_class(self);
  RelaydError error = { NULL };

  if (pc->server && !relay_plugin_server_configure(self, cc, report))
    return FALSE;
  if (!pc->life->configure || pc->life->configure((RelaydComponent *)self, &error) == 0)
    return TRUE;
  char *message = _take_message(&error, "configure");
  relay_config_report_add(report, relay_component_config_where(cc), cc->label, NULL, "%s; %s %s removed",
                          message, relay_kind_name(cc->kind), cc->name);
  g_free(message);
  return FALSE;
}

gboolean
relay_plugin_call_start(RelayComponent *self, GError **error)
{
  const RelayPluginClass *pc = relay_plugin_class(self);
  RelaydError e = { NULL };

  if (!pc->life->start || pc->life->start((RelaydComponent *)self, &e) == 0)
    return TRUE;
  char *message = _take_message(&e, "start");
  g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "%s: %s", self->log_prefix, message);
  g_free(message);
  return FALSE;
}

void
relay_plugin_call_stop(RelayComponent *self)
{
  const RelayPluginClass *pc = relay_plugin_class(self);

  if (pc->life->stop)
    pc->life->stop((RelaydComponent *)self);
}

void
relay_plugin_free(RelayComponent *self)
{
  const RelayPluginClass *pc = relay_plugin_class(self);

  if (pc->life->destroy)
    pc->life->destroy((RelaydComponent *)self);
  if (pc->server)
    relay_plugin_server_free(self);
}

/* ---- components ---- */

const char *
relayd_component_name(const RelaydComponent *self)
{
  return ((const RelayComponent *)self)->name;
}

void *
relayd_component_config(RelaydComponent *self)
{
  return (char *)self + relay_plugin_class((RelayComponent *)self)->config_offset;
}

void
relayd_component_set_data(RelaydComponent *self, void *data)
{
  relay_plugin_common((RelayComponent *)self)->data = data;
}

void *
relayd_component_data(const RelaydComponent *self)
{
  return relay_plugin_common((const RelayComponent *)self)->data;
}

void
relayd_error_set(RelaydError *error, const char *fmt, ...)
{
  va_list ap;

  if (!error)
    return;
  g_free(error->message);
  va_start(ap, fmt);
  error->message = g_strdup_vprintf(fmt, ap);
  va_end(ap);
}

void
relayd_log(const RelaydComponent *self, RelaydLogLevel level, const char *fmt, ...)
{
  static const RelayLogLevel levels[] = { RELAY_LOG_ERROR, RELAY_LOG_WARN, RELAY_LOG_INFO, RELAY_LOG_DEBUG };
  RelayLogLevel lv = (unsigned)level < G_N_ELEMENTS(levels) ? levels[level] : RELAY_LOG_DEBUG;
  va_list ap;

  if (!relay_log_enabled(lv))
    return;
  va_start(ap, fmt);
  relay_logv(lv, self ? ((const RelayComponent *)self)->log_prefix : "plugin", fmt, ap);
  va_end(ap);
}

static gint64 *
_counter(RelayComponent *self, RelaydCounter counter)
{
  RelayPluginKind pk = relay_plugin_class(self)->plugin_kind;
  RelaySourceCounters *sc = pk == RELAY_PLUGIN_SOURCE || pk == RELAY_PLUGIN_POLLABLE_SOURCE
                                ? &((RelaySource *)self)->counters
                                : NULL;
  RelaySinkCounters *kc = pk == RELAY_PLUGIN_SINK ? &((RelaySink *)self)->counters : NULL;

  switch ((int)counter)
    {
    case RELAYD_SOURCE_EVENT_READ_FAIL:
      return sc ? &sc->event_read_fail : NULL;
    case RELAYD_SOURCE_GENERIC_PROCESSING_FAIL:
      return sc ? &sc->generic_processing_fail : NULL;
    case RELAYD_SOURCE_OPEN_CONNECTIONS:
      return sc ? &sc->open_connections : NULL;
    case RELAYD_SOURCE_PROTOCOL_LIMIT:
      return sc ? &sc->protocol_errors[RELAY_PROTO_ERROR_LIMIT] : NULL;
    case RELAYD_SOURCE_PROTOCOL_MALFORMED:
      return sc ? &sc->protocol_errors[RELAY_PROTO_ERROR_MALFORMED] : NULL;
    case RELAYD_SOURCE_PROTOCOL_TIMEOUT:
      return sc ? &sc->protocol_errors[RELAY_PROTO_ERROR_TIMEOUT] : NULL;
    case RELAYD_SOURCE_BYTES_RECEIVED:
      return sc ? &sc->bytes_received : NULL;
    case RELAYD_SINK_CONNECTION_CREATED:
      return kc ? &kc->connection_created : NULL;
    case RELAYD_SINK_CONNECTION_CLOSED:
      return kc ? &kc->connection_closed : NULL;
    case RELAYD_SINK_CONNECTION_FAILED:
      return kc ? &kc->connection_failed : NULL;
    case RELAYD_SINK_EVENT_DRAIN_SUCCESS:
      return kc ? &kc->event_drain_success : NULL;
    case RELAYD_SINK_EVENT_WRITE_FAIL:
      return kc ? &kc->event_write_fail : NULL;
    }
  return NULL;
}

void
relayd_counter_add(RelaydComponent *self, RelaydCounter counter, int64_t n)
{
  gint64 *c = _counter((RelayComponent *)self, counter);

  if (c)
    relay_counter_add(c, n);
  /* every protocol error is also Flume's EventReadFail */
  if (c && counter >= RELAYD_SOURCE_PROTOCOL_LIMIT && counter <= RELAYD_SOURCE_PROTOCOL_TIMEOUT)
    relayd_counter_add(self, RELAYD_SOURCE_EVENT_READ_FAIL, n);
}

/* ---- events ---- */

RelaydEvent *
relayd_event_new(const RelaydHeader *headers, size_t n_headers, const void *body, size_t len)
{
  RelayHeader *h = n_headers ? g_new(RelayHeader, n_headers) : NULL;

  if (n_headers > RELAY_EVENT_MAX_HEADERS || len > RELAY_EVENT_MAX_BODY)
    {
      g_free(h);
      return NULL;
    }
  for (size_t i = 0; i < n_headers; i++)
    h[i] = (RelayHeader){ headers[i].key, headers[i].value, headers[i].key_len, headers[i].value_len };
  RelayEvent *ev = relay_event_new(h, (guint)n_headers, body, len);
  g_free(h);
  return (RelaydEvent *)ev;
}

RelaydEvent *
relayd_event_ref(RelaydEvent *ev)
{
  return (RelaydEvent *)relay_event_ref((RelayEvent *)ev);
}

void
relayd_event_unref(RelaydEvent *ev)
{
  if (ev)
    relay_event_unref((RelayEvent *)ev);
}

const void *
relayd_event_body(const RelaydEvent *ev, size_t *len)
{
  const RelayEvent *e = (const RelayEvent *)ev;

  if (len)
    *len = e->body_len;
  return e->body;
}

size_t
relayd_event_header_count(const RelaydEvent *ev)
{
  return ((const RelayEvent *)ev)->n_headers;
}

int
relayd_event_header_at(const RelaydEvent *ev, size_t i, const char **key, const char **value)
{
  const RelayEvent *e = (const RelayEvent *)ev;

  if (i >= e->n_headers)
    return -1;
  *key = e->headers[i].key;
  *value = e->headers[i].value;
  return 0;
}

const char *
relayd_event_header(const RelaydEvent *ev, const char *key)
{
  return relay_event_get_header((const RelayEvent *)ev, key);
}

RelaydEvent *
relayd_event_with_header(RelaydEvent *ev, const char *key, const char *value)
{
  return (RelaydEvent *)relay_event_with_header((RelayEvent *)ev, key, value);
}
