/* agent_reload.c - live reload of a running agent (issue 14): plan what is kept, build the new graph around
 * the kept objects, stop what went away or changed, start what is new, and swap the sets. See agent_reload.h
 * for the rules. All functions run on the main thread. */
#include "agent_reload.h"

#include "agent_private.h"
#include "channel.h"
#include "channel_processor.h"
#include "log.h"
#include "sink.h"
#include "sink_processor.h"
#include "sink_runner.h"
#include "source.h"

#include <event2/event.h>
#include <string.h>

/* How long a changed sink or group gets to finish the batch in flight before it is aborted (rolled back). */
#define RELAY_RELOAD_GRACE_MS 5000

struct _RelayAgentReuse
{
  RelayAgent *running;
  /* name -> running object to keep (borrowed); for RELAY_KIND_SINKGROUP, runner key (owned) ->
   * RelaySinkRunner*, also for the runners of standalone sinks */
  GHashTable *keep[RELAY_KIND_N];
};

struct _RelayReload
{
  RelayAgent *running, *probe;
  const RelayAgentConfig *old_cfg, *new_cfg;
  RelayAgentReuse reuse;
  GPtrArray *resized; /* RelayChannel*: running channel, then the probe's channel with the new settings */
  GString *what[5];   /* kept, restarted, added, removed, resized: "source r1, sink k1" */
  /* The switch under way (running->reloading): the running runners that go away were asked to stop. */
  GPtrArray *stopping;     /* RelaySinkRunner* of running, borrowed */
  guint n_stopping;        /* of them, the ones whose lanes have not all left yet */
  struct event *finish_ev; /* main loop: the rest of the switch, once n_stopping is 0 */
  RelayAgentReloadDone done;
  gpointer done_data;
  gint64 t0, busy_us; /* when it began; how long it held the main loop */
};

enum
{
  KEPT,
  RESTARTED,
  ADDED,
  REMOVED,
  RESIZED,
};

static char *
_runner_key(gboolean group, const char *name)
{
  return g_strdup_printf("%s:%s", group ? "group" : "sink", name);
}

static gboolean
_is_group(RelaySinkRunner *runner)
{
  return relay_sink_runner_processor(runner)->klass != &relay_sink_processor_default_class;
}

static RelaySinkRunner *
_find_runner(RelayAgent *agent, gboolean group, const char *name)
{
  for (guint i = 0; i < agent->runners->len; i++)
    {
      RelaySinkRunner *runner = g_ptr_array_index(agent->runners, i);
      if (_is_group(runner) == group && strcmp(relay_sink_runner_processor(runner)->name, name) == 0)
        return runner;
    }
  return NULL;
}

/* ---- taking kept objects out of the running agent (called by agent_build.c) ---- */

static GPtrArray *
_list_of(RelayAgent *agent, RelayKind kind)
{
  return kind == RELAY_KIND_SOURCE    ? agent->sources
         : kind == RELAY_KIND_CHANNEL ? agent->channels
                                      : agent->sinks;
}

RelayComponent *
relay_agent_reuse_take(RelayAgent *self, RelayKind kind, const char *name)
{
  guint index;

  if (!self->reuse)
    return NULL;
  RelayAgent *running = self->reuse->running;
  RelayComponent *component = g_hash_table_lookup(self->reuse->keep[kind], name);
  if (!component || !g_ptr_array_find(_list_of(running, kind), component, &index))
    return NULL;
  if (kind == RELAY_KIND_CHANNEL)
    g_hash_table_remove(running->channel_by_name, component->name);
  else if (kind == RELAY_KIND_SINK)
    g_hash_table_remove(running->sink_by_name, component->name);
  g_ptr_array_steal_index(_list_of(running, kind), index);
  return component;
}

RelaySinkRunner *
relay_agent_reuse_take_runner(RelayAgent *self, gboolean group, const char *name)
{
  guint index;

  if (!self->reuse)
    return NULL;
  char *key = _runner_key(group, name);
  RelaySinkRunner *runner = g_hash_table_lookup(self->reuse->keep[RELAY_KIND_SINKGROUP], key);
  g_free(key);
  if (!runner || !g_ptr_array_find(self->reuse->running->runners, runner, &index))
    return NULL;
  g_ptr_array_steal_index(self->reuse->running->runners, index);
  return runner;
}

/* ---- planning: what is kept ---- */

/* The component's resolved properties as one sorted "key=value\n" text, or NULL if it is not configured. */
static char *
_settings(const RelayAgentConfig *cfg, RelayKind kind, const char *name)
{
  const RelayComponentConfig *cc = cfg ? relay_agent_config_find(cfg, kind, name) : NULL;

  if (!cc)
    return NULL;
  GPtrArray *keys = relay_component_config_keys(cc, "");
  GString *text = g_string_new(NULL);
  for (guint i = 0; i < keys->len; i++)
    {
      const char *key = g_ptr_array_index(keys, i);
      g_string_append_printf(text, "%s=%s\n", key, relay_component_config_value(cc, key));
    }
  g_ptr_array_unref(keys);
  return g_string_free(text, FALSE);
}

static gboolean
_same_settings(RelayReload *r, RelayKind kind, const char *name)
{
  char *before = _settings(r->old_cfg, kind, name), *after = _settings(r->new_cfg, kind, name);
  gboolean same = before && after && strcmp(before, after) == 0;

  g_free(before);
  g_free(after);
  return same;
}

static gboolean
_channel_kept(RelayReload *r, RelayChannel *channel)
{
  return g_hash_table_lookup(r->reuse.keep[RELAY_KIND_CHANNEL], channel->super.name) == channel;
}

/* A memory channel holding events must not go away with them: refuse (Flume would lose them). */
static gboolean
_check_dropped_channels(RelayReload *r, GError **error)
{
  for (guint i = 0; i < r->running->channels->len; i++)
    {
      RelayChannel *channel = g_ptr_array_index(r->running->channels, i);
      guint64 held = relay_channel_size(channel);
      if (_channel_kept(r, channel) || channel->durable || held == 0)
        continue;
      gboolean replaced = relay_agent_find(r->probe, RELAY_KIND_CHANNEL, channel->super.name) != NULL;
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG,
                  "channel %s holds %" G_GUINT64_FORMAT " events and would be %s with them; let its sinks "
                  "drain it first",
                  channel->super.name, held, replaced ? "replaced (its type changed)" : "removed");
      return FALSE;
    }
  return TRUE;
}

static gboolean
_plan_channels(RelayReload *r, GError **error)
{
  for (guint i = 0; i < r->probe->channels->len; i++)
    {
      RelayChannel *next = g_ptr_array_index(r->probe->channels, i);
      RelayChannel *old = (RelayChannel *)relay_agent_find(r->running, RELAY_KIND_CHANNEL, next->super.name);
      if (!old)
        continue;
      if (_same_settings(r, RELAY_KIND_CHANNEL, old->super.name))
        g_hash_table_insert(r->reuse.keep[RELAY_KIND_CHANNEL], old->super.name, old);
      else if (old->super.klass == next->super.klass && relay_channel_ops(old)->reconfigure)
        {
          if (!relay_channel_ops(old)->reconfigure(old, next, FALSE, error))
            return FALSE;
          g_hash_table_insert(r->reuse.keep[RELAY_KIND_CHANNEL], old->super.name, old);
          g_ptr_array_add(r->resized, old);
          g_ptr_array_add(r->resized, next);
        }
    }
  return _check_dropped_channels(r, error);
}

static void
_plan_sources(RelayReload *r)
{
  for (guint i = 0; i < r->probe->sources->len; i++)
    {
      const char *name = ((RelayComponent *)g_ptr_array_index(r->probe->sources, i))->name;
      RelaySource *old = (RelaySource *)relay_agent_find(r->running, RELAY_KIND_SOURCE, name);
      if (!old || !_same_settings(r, RELAY_KIND_SOURCE, name))
        continue;
      GPtrArray *used = relay_channel_processor_channels(old->cp);
      gboolean kept = TRUE;
      for (guint j = 0; j < used->len && kept; j++)
        kept = _channel_kept(r, g_ptr_array_index(used, j));
      if (kept)
        g_hash_table_insert(r->reuse.keep[RELAY_KIND_SOURCE], old->super.name, old);
    }
}

/* A runner is kept with its sinks when its group settings, member list and every member are unchanged. */
static void
_plan_runners(RelayReload *r)
{
  for (guint i = 0; i < r->probe->runners->len; i++)
    {
      RelaySinkRunner *next = g_ptr_array_index(r->probe->runners, i);
      RelaySinkProcessor *proc = relay_sink_runner_processor(next);
      gboolean group = _is_group(next);
      RelaySinkRunner *old = _find_runner(r->running, group, proc->name);
      if (!old)
        continue;
      RelaySinkProcessor *old_proc = relay_sink_runner_processor(old);
      gboolean same = (!group || _same_settings(r, RELAY_KIND_SINKGROUP, proc->name))
                      && old_proc->sinks->len == proc->sinks->len;
      for (guint j = 0; same && j < proc->sinks->len; j++)
        {
          RelaySink *was = g_ptr_array_index(old_proc->sinks, j), *is = g_ptr_array_index(proc->sinks, j);
          same = strcmp(was->super.name, is->super.name) == 0
                 && _same_settings(r, RELAY_KIND_SINK, was->super.name) && _channel_kept(r, was->channel);
        }
      if (!same)
        continue;
      g_hash_table_insert(r->reuse.keep[RELAY_KIND_SINKGROUP], _runner_key(group, proc->name), old);
      for (guint j = 0; j < old_proc->sinks->len; j++)
        {
          RelaySink *sink = g_ptr_array_index(old_proc->sinks, j);
          g_hash_table_insert(r->reuse.keep[RELAY_KIND_SINK], sink->super.name, sink);
        }
    }
}

/* ---- what the reload did, for the log ---- */

static void
_note(RelayReload *r, guint what, RelayKind kind, const char *name)
{
  GString *list = r->what[what];

  g_string_append_printf(list, "%s%s %s", list->len ? ", " : "", relay_kind_name(kind), name);
}

static gboolean
_group_kept(RelayReload *r, const char *name)
{
  char *key = _runner_key(TRUE, name);
  gboolean kept = g_hash_table_contains(r->reuse.keep[RELAY_KIND_SINKGROUP], key);

  g_free(key);
  return kept;
}

/* The names of kind's components in agent: components, or for sink groups the groups with a runner. */
static GPtrArray *
_names(RelayAgent *agent, RelayKind kind)
{
  GPtrArray *names = g_ptr_array_new();

  if (kind != RELAY_KIND_SINKGROUP)
    {
      GPtrArray *list = _list_of(agent, kind);
      for (guint i = 0; i < list->len; i++)
        g_ptr_array_add(names, ((RelayComponent *)g_ptr_array_index(list, i))->name);
      return names;
    }
  for (guint i = 0; i < agent->runners->len; i++)
    if (_is_group(g_ptr_array_index(agent->runners, i)))
      g_ptr_array_add(names, relay_sink_runner_processor(g_ptr_array_index(agent->runners, i))->name);
  return names;
}

static gboolean
_has_name(GPtrArray *names, const char *name)
{
  for (guint i = 0; i < names->len; i++)
    if (strcmp(g_ptr_array_index(names, i), name) == 0)
      return TRUE;
  return FALSE;
}

static void
_describe(RelayReload *r)
{
  for (RelayKind kind = 0; kind < RELAY_KIND_N; kind++)
    {
      GPtrArray *before = _names(r->running, kind), *after = _names(r->probe, kind);
      for (guint i = 0; i < after->len; i++)
        {
          const char *name = g_ptr_array_index(after, i);
          gboolean kept = kind == RELAY_KIND_SINKGROUP ? _group_kept(r, name)
                                                       : g_hash_table_contains(r->reuse.keep[kind], name);
          _note(r, kept ? KEPT : _has_name(before, name) ? RESTARTED : ADDED, kind, name);
        }
      for (guint i = 0; i < before->len; i++)
        if (!_has_name(after, g_ptr_array_index(before, i)))
          _note(r, REMOVED, kind, g_ptr_array_index(before, i));
      g_ptr_array_unref(before);
      g_ptr_array_unref(after);
    }
}

/* ---- switching ---- */

static void
_apply_resizes(RelayReload *r)
{
  for (guint i = 0; i + 1 < r->resized->len; i += 2)
    {
      RelayChannel *channel = g_ptr_array_index(r->resized, i), *next = g_ptr_array_index(r->resized, i + 1);
      gint64 was = channel->capacity;
      GError *error = NULL;
      if (!relay_channel_ops(channel)->reconfigure(channel, next, TRUE, &error))
        {
          /* only a source on its own thread could have filled it since the check */
          relay_error(channel->super.log_prefix, "reload: keeping the previous settings: %s", error->message);
          g_error_free(error);
          continue;
        }
      g_string_append_printf(r->what[RESIZED],
                             "%schannel %s capacity %" G_GINT64_FORMAT "->%" G_GINT64_FORMAT,
                             r->what[RESIZED]->len ? ", " : "", channel->super.name, was, channel->capacity);
    }
}

/* What is left in the running agent after the kept objects were taken out: stop it in the usual order. */
static void
_stop_leftovers(RelayAgent *left)
{
  for (guint i = 0; i < left->sources->len; i++)
    relay_component_stop(g_ptr_array_index(left->sources, i));
  for (guint i = 0; i < left->runners->len; i++)
    relay_sink_runner_stop(g_ptr_array_index(left->runners, i), RELAY_RELOAD_GRACE_MS);
  for (guint i = 0; i < left->sinks->len; i++)
    relay_component_stop(g_ptr_array_index(left->sinks, i));
  for (guint i = 0; i < left->channels->len; i++)
    relay_component_stop(g_ptr_array_index(left->channels, i));
}

#define RELAY_SWAP(a, b)                                                                                     \
  do                                                                                                         \
    {                                                                                                        \
      gpointer swap_tmp_ = (a);                                                                              \
      (a) = (b);                                                                                             \
      (b) = swap_tmp_;                                                                                       \
    }                                                                                                        \
  while (0)

/* The running agent object (the monitoring endpoint holds it) takes the new sets; next keeps the old. */
static void
_swap_sets(RelayAgent *running, RelayAgent *next)
{
  RELAY_SWAP(running->channels, next->channels);
  RELAY_SWAP(running->sources, next->sources);
  RELAY_SWAP(running->sinks, next->sinks);
  RELAY_SWAP(running->runners, next->runners);
  RELAY_SWAP(running->channel_by_name, next->channel_by_name);
  RELAY_SWAP(running->sink_by_name, next->sink_by_name);
  RELAY_SWAP(running->down, next->down);
  for (RelayKind kind = 0; kind < RELAY_KIND_SINKGROUP; kind++)
    for (guint i = 0; i < _list_of(running, kind)->len; i++)
      ((RelayComponent *)g_ptr_array_index(_list_of(running, kind), i))->agent = running;
}

/* Builds an agent from cfg around the kept objects (taken out of r->reuse.running). */
static RelayAgent *
_build_around_kept(RelayReload *r, const RelayAgentConfig *cfg)
{
  RelayAgent *built = relay_agent_new(r->running->name, r->running->base);
  RelayConfigReport *again = relay_config_report_new(); /* the probe (or the start) reported it already */

  built->reuse = &r->reuse;
  if (cfg)
    relay_agent_configure(built, cfg, again);
  built->reuse = NULL;
  relay_config_report_free(again);
  return built;
}

/* A new component could not start: the kept objects move back into an agent built from the previous
 * configuration, the new components stop, and the previous ones start again (fresh objects with the
 * previous settings; kept ones never stopped). What cannot start again is logged and listed as down. */
static RelayAgent *
_roll_back(RelayReload *r, RelayAgent *next)
{
  r->reuse.running = next;
  RelayAgent *back = _build_around_kept(r, r->old_cfg);
  GError *error = NULL;

  _stop_leftovers(next);
  for (guint i = 0; i < next->channels->len; i++) /* only a source on its own thread could have put */
    if (relay_channel_size(g_ptr_array_index(next->channels, i)))
      relay_warn(((RelayComponent *)g_ptr_array_index(next->channels, i))->log_prefix,
                 "reload rolled back: the new channel goes away with events=%" G_GUINT64_FORMAT,
                 relay_channel_size(g_ptr_array_index(next->channels, i)));
  relay_agent_free(next);
  back->keep_running = TRUE;
  if (r->old_cfg && !relay_agent_start(back, &error)) /* no old_cfg: it ran without components */
    {
      relay_error(NULL, "reload of agent %s: rolling back: %s", r->running->name, error->message);
      g_error_free(error);
    }
  return back;
}

/* A memory channel being shrunk must still hold what it got since the plan (its sources went on putting while
 * the old runners finished): FALSE (error set) when it no longer fits. */
static gboolean
_check_resizes(RelayReload *r, GError **error)
{
  for (guint i = 0; i + 1 < r->resized->len; i += 2)
    {
      RelayChannel *channel = g_ptr_array_index(r->resized, i), *next = g_ptr_array_index(r->resized, i + 1);
      if (!relay_channel_ops(channel)->reconfigure(channel, next, FALSE, error))
        return FALSE;
    }
  return TRUE;
}

/* Builds the new graph around the kept objects, stops the rest, starts the new, swaps; FALSE (error set) if
 * a new component could not start or a channel to shrink no longer fits, after the previous configuration
 * was restored (_roll_back). */
static gboolean
_switch(RelayReload *r, const RelayAgentConfig *cfg, GError **error)
{
  RelayAgent *next = _build_around_kept(r, cfg);
  GError *local = NULL;

  _stop_leftovers(r->running);
  if (!_check_resizes(r, &local) || !relay_agent_start(next, &local))
    {
      RelayAgent *leftovers = relay_agent_new(r->running->name, r->running->base);
      _swap_sets(r->running, leftovers); /* the stopped previous objects, freed below */
      RelayAgent *back = _roll_back(r, next);
      _swap_sets(r->running, back);
      relay_agent_free(back);
      relay_agent_free(leftovers);
      g_set_error(error, local->domain, local->code,
                  "the new configuration cannot start: %s; the previous configuration was restored",
                  local->message);
      g_error_free(local);
      return FALSE;
    }
  _apply_resizes(r); /* after the start: a rollback has nothing to undo */
  _swap_sets(r->running, next);
  relay_agent_free(next); /* the stopped leftovers */
  return TRUE;
}

static void
_reload_free(RelayReload *r)
{
  for (RelayKind kind = 0; kind < RELAY_KIND_N; kind++)
    g_hash_table_unref(r->reuse.keep[kind]);
  for (guint i = 0; i < G_N_ELEMENTS(r->what); i++)
    g_string_free(r->what[i], TRUE);
  g_ptr_array_unref(r->resized);
  g_ptr_array_unref(r->stopping);
  if (r->finish_ev)
    event_free(r->finish_ev); /* also from its own callback: libevent allows it */
  relay_agent_free(r->probe);
  g_free(r);
}

static const char *
_or_none(GString *list)
{
  return list->len ? list->str : "none";
}

/* The second half of the switch, once the old runners left (main loop), or at once (settle). */
static void
_finish(RelayReload *r)
{
  gint64 t = g_get_monotonic_time();
  GError *error = NULL;

  r->running->reloading = NULL;
  gboolean ok = _switch(r, r->new_cfg, &error);
  r->busy_us += g_get_monotonic_time() - t;
  if (ok)
    relay_info(NULL,
               "reload of agent %s done in %.1f ms (main loop %.1f ms): kept: %s; restarted: %s; added: %s; "
               "removed: %s; resized: %s",
               r->running->name, (g_get_monotonic_time() - r->t0) / 1000.0, r->busy_us / 1000.0,
               _or_none(r->what[KEPT]), _or_none(r->what[RESTARTED]), _or_none(r->what[ADDED]),
               _or_none(r->what[REMOVED]), _or_none(r->what[RESIZED]));
  else
    relay_error(NULL,
                "reload of agent %s rolled back in %.1f ms: would have restarted: %s; added: %s; removed: %s",
                r->running->name, (g_get_monotonic_time() - r->t0) / 1000.0, _or_none(r->what[RESTARTED]),
                _or_none(r->what[ADDED]), _or_none(r->what[REMOVED]));
  r->done(ok, error, r->done_data); /* may begin the next reload: running->reloading is clear */
  g_clear_error(&error);
  _reload_free(r);
}

static void
_on_finish(evutil_socket_t fd, short what, void *arg)
{
  _finish(arg);
}

/* Runs in: the main thread, when the lanes of one old runner have left (sink_runner's stop_async). */
static void
_on_runner_exited(gpointer data)
{
  RelayReload *r = data;

  if (--r->n_stopping == 0)
    event_active(r->finish_ev, 0, 0);
}

static gboolean
_runner_kept(RelayReload *r, RelaySinkRunner *runner)
{
  char *key = _runner_key(_is_group(runner), relay_sink_runner_processor(runner)->name);
  gboolean kept = g_hash_table_lookup(r->reuse.keep[RELAY_KIND_SINKGROUP], key) == runner;

  g_free(key);
  return kept;
}

/* The first half of the switch: the sources that go away stop (the main thread owns them) and the runners
 * that go away are asked to finish their batch in flight, without waiting for them; _finish goes on once
 * every one has left, so no new runner takes from a channel while an old one still does, and no channel is
 * resized or freed under one. The running sets stay whole meanwhile (/health, /metrics). */
static void
_begin_switch(RelayReload *r)
{
  RelayAgent *running = r->running;

  for (guint i = 0; i < running->sources->len; i++)
    {
      RelayComponent *source = g_ptr_array_index(running->sources, i);
      if (g_hash_table_lookup(r->reuse.keep[RELAY_KIND_SOURCE], source->name) != source)
        relay_component_stop(source);
    }
  r->finish_ev = event_new(running->base, -1, 0, _on_finish, r);
  for (guint i = 0; i < running->runners->len; i++)
    {
      RelaySinkRunner *runner = g_ptr_array_index(running->runners, i);
      if (_runner_kept(r, runner)
          || !relay_sink_runner_stop_async(runner, running->base, RELAY_RELOAD_GRACE_MS, _on_runner_exited,
                                           r))
        continue;
      g_ptr_array_add(r->stopping, runner);
      r->n_stopping++;
    }
  running->reloading = r;
  if (r->n_stopping == 0)
    event_active(r->finish_ev, 0, 0);
}

static RelayReload *
_reload_new(RelayAgent *agent, const RelayAgentConfig *old_cfg, const RelayAgentConfig *new_cfg)
{
  RelayReload *r = g_new0(RelayReload, 1);

  r->t0 = g_get_monotonic_time();
  r->running = agent;
  r->old_cfg = old_cfg;
  r->new_cfg = new_cfg;
  r->probe = relay_agent_new(agent->name, agent->base);
  r->resized = g_ptr_array_new();
  r->stopping = g_ptr_array_new();
  for (RelayKind kind = 0; kind < RELAY_KIND_N; kind++)
    r->reuse.keep[kind] = kind == RELAY_KIND_SINKGROUP
                              ? g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL)
                              : g_hash_table_new(g_str_hash, g_str_equal);
  r->reuse.running = agent;
  for (guint i = 0; i < G_N_ELEMENTS(r->what); i++)
    r->what[i] = g_string_new(NULL);
  return r;
}

gboolean
relay_agent_reload(RelayAgent *agent, const RelayAgentConfig *old_cfg, const RelayAgentConfig *new_cfg,
                   RelayConfigReport *report, RelayAgentReloadDone done, gpointer user_data, GError **error)
{
  if (agent->reloading)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_STATE, "a reload of agent %s is under way", agent->name);
      return FALSE;
    }
  RelayReload *r = _reload_new(agent, old_cfg, new_cfg);
  gboolean ok = relay_agent_configure(r->probe, new_cfg, report);
  if (!ok || relay_config_report_count(report))
    g_set_error(error, RELAY_ERROR, RELAY_ERROR_CONFIG, "the new configuration has %u problem(s)%s",
                relay_config_report_count(report), ok ? "" : ", nothing runnable");
  if (!ok || relay_config_report_count(report) || !_plan_channels(r, error))
    {
      _reload_free(r);
      return FALSE;
    }
  _plan_sources(r);
  _plan_runners(r);
  _describe(r);
  r->done = done;
  r->done_data = user_data;
  _begin_switch(r);
  r->busy_us = g_get_monotonic_time() - r->t0;
  return TRUE;
}

void
relay_agent_reload_settle(RelayAgent *agent)
{
  RelayReload *r = agent->reloading;

  if (!r)
    return;
  for (guint i = 0; i < r->stopping->len; i++)
    relay_sink_runner_stop(g_ptr_array_index(r->stopping, i), RELAY_RELOAD_GRACE_MS);
  event_del(r->finish_ev);
  _finish(r);
}
