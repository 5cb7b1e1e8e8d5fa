/* plugin_example.c - a relayd plugin built out of tree by test_plugins.sh, against the installed
 * relayd/plugin.h.
 *
 * Registers an event-driven source, example_burst (puts bodies 0..count-1 from the main loop in batches of 10
 * with relayd_source_put, each batch after the previous one was committed), a pollable source, example_seq
 * (bodies 0..totalEvents-1 in batches; the last committed number is its bookmark, kept in bookmarkFile and
 * read again at start), a sink, example_file (appends each body, optionally a space and the value of header
 * withHeader, and a newline to path), an interceptor, example_mod (sets header to prefix and the body's
 * number modulo modulus, and drops the events whose remainder is drop) and a channel selector,
 * example_route (an event goes to the channel its header names, else to the default channel). The body
 * suffix comes from exdep_suffix() in a library the test puts in the plugin's libext/ directory, so loading
 * it proves that libext/ is loaded first. Compiled with -DEXAMPLE_WRONG_VERSION it claims another interface
 * version; with -DEXAMPLE_NO_REGISTER it lacks relayd_plugin_register; with -DEXAMPLE_REGISTER_FAILS its
 * registration returns 7; with -DEXAMPLE_DUPLICATE it registers types relayd already has: relayd must
 * refuse all four. */
#include <relayd/plugin.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *exdep_suffix(void); /* libext/libexdep.so */

#ifdef EXAMPLE_WRONG_VERSION
RELAYD_PLUGIN_EXPORT extern const uint32_t relayd_plugin_interface_version;
const uint32_t relayd_plugin_interface_version = RELAYD_PLUGIN_INTERFACE_VERSION + 1;
#else
RELAYD_PLUGIN_DEFINE();
#endif

typedef struct
{
  int64_t total, batch_size;
  char *bookmark_file;
} SeqConfig;

typedef struct
{
  int64_t next;
} SeqState;

static const RelaydOption _seq_options[] = {
  { "totalEvents", RELAYD_OPT_INT, "1000", 0, 1000000000, offsetof(SeqConfig, total), 0, NULL,
    "events to make" },
  { "batchSize", RELAYD_OPT_INT, "10", 1, 100000, offsetof(SeqConfig, batch_size), RELAYD_OPTF_BATCH_SIZE,
    NULL, "events per batch" },
  { "bookmarkFile", RELAYD_OPT_STRING, NULL, 1, 0, offsetof(SeqConfig, bookmark_file), RELAYD_OPTF_REQUIRED,
    NULL, "where the next number to make is kept" },
  RELAYD_OPTION_END,
};

static int
_seq_start(RelaydComponent *self, RelaydError *error)
{
  SeqConfig *cfg = relayd_component_config(self);
  SeqState *st = calloc(1, sizeof *st);
  FILE *f = fopen(cfg->bookmark_file, "r");

  (void)error;
  if (f && fscanf(f, "%ld", (long *)&st->next) != 1)
    st->next = 0;
  if (f)
    fclose(f);
  relayd_component_set_data(self, st);
  relayd_log(self, RELAYD_LOG_INFO, "example_seq starts at %lld", (long long)st->next);
  return 0;
}

static RelaydStatus
_seq_process(RelaydComponent *self, RelaydBatch *batch)
{
  SeqConfig *cfg = relayd_component_config(self);
  SeqState *st = relayd_component_data(self);
  int64_t n = st->next;
  char body[64], mark[32];

  while (n < cfg->total && (int64_t)relayd_batch_count(batch) < cfg->batch_size)
    {
      int len = snprintf(body, sizeof body, "%lld%s", (long long)n++, exdep_suffix());
      RelaydHeader h = { "example", "yes", 7, 3 };
      if (relayd_batch_add(batch, relayd_event_new(&h, 1, body, (size_t)len)) != 0)
        break;
    }
  snprintf(mark, sizeof mark, "%lld", (long long)n);
  relayd_batch_set_bookmark(batch, mark);
  return relayd_batch_count(batch) ? RELAYD_READY : RELAYD_BACKOFF;
}

static void
_seq_committed(RelaydComponent *self, RelaydBatch *batch)
{
  SeqConfig *cfg = relayd_component_config(self);
  SeqState *st = relayd_component_data(self);
  FILE *f = fopen(cfg->bookmark_file, "w");

  st->next = atoll(relayd_batch_bookmark(batch));
  if (f)
    {
      fprintf(f, "%lld\n", (long long)st->next);
      fclose(f);
    }
}

static void
_free_data(RelaydComponent *self)
{
  free(relayd_component_data(self));
}

static const RelaydSourceClass _seq_class = {
  .type = "example_seq",
  .flume_class = "org.example.ExampleSeqSource",
  .description = "numbers with a bookmark (test plugin)",
  .options = _seq_options,
  .config_size = sizeof(SeqConfig),
  .lifecycle = { .start = _seq_start, .destroy = _free_data },
  .process = _seq_process,
  .committed = _seq_committed,
};

typedef struct
{
  char *path;
  int64_t batch_size;
  char *with_header;
} FileConfig;

static const RelaydOption _file_options[] = {
  { "path", RELAYD_OPT_STRING, NULL, 1, 0, offsetof(FileConfig, path), RELAYD_OPTF_REQUIRED, NULL,
    "output file" },
  { "withHeader", RELAYD_OPT_STRING, NULL, 1, 0, offsetof(FileConfig, with_header), 0, NULL,
    "a header whose value follows the body on each line" },
  { "batchSize", RELAYD_OPT_INT, "100", 1, 100000, offsetof(FileConfig, batch_size), RELAYD_OPTF_BATCH_SIZE,
    NULL, "events per transaction" },
  RELAYD_OPTION_END,
};

static int
_file_configure(RelaydComponent *self, RelaydError *error)
{
  FileConfig *cfg = relayd_component_config(self);

  if (cfg->path[0] != '/')
    {
      relayd_error_set(error, "path %s is not absolute", cfg->path);
      return -1;
    }
  return 0;
}

static RelaydStatus
_file_process(RelaydComponent *self)
{
  FileConfig *cfg = relayd_component_config(self);
  RelaydEvent *events[1000];
  RelaydTxn *txn = relayd_sink_begin(self);
  size_t n = relayd_txn_take(txn, events, cfg->batch_size < 1000 ? (size_t)cfg->batch_size : 1000);
  FILE *f = n ? fopen(cfg->path, "a") : NULL;
  int ok = n == 0 || f != NULL;

  for (size_t i = 0; f && i < n; i++)
    {
      size_t len;
      const void *body = relayd_event_body(events[i], &len);
      const char *value = cfg->with_header ? relayd_event_header(events[i], cfg->with_header) : NULL;
      ok = ok && relayd_event_header(events[i], "example") && fwrite(body, 1, len, f) == len
           && (!cfg->with_header || fprintf(f, " %s", value ? value : "-") > 0) && fputc('\n', f) != EOF;
    }
  if (f && fclose(f) != 0)
    ok = 0;
  if (ok && relayd_txn_commit(txn) == 0)
    {
      relayd_txn_close(txn);
      return n ? RELAYD_READY : RELAYD_BACKOFF;
    }
  relayd_txn_rollback(txn);
  relayd_txn_close(txn);
  relayd_counter_add(self, RELAYD_SINK_EVENT_WRITE_FAIL, (int64_t)n);
  return RELAYD_FAILED;
}

static const RelaydSinkClass _file_class = {
  .type = "example_file",
  .flume_class = "org.example.ExampleFileSink",
  .description = "appends bodies to a file (test plugin)",
  .options = _file_options,
  .config_size = sizeof(FileConfig),
  .lifecycle = { .configure = _file_configure },
  .process = _file_process,
};

/* ---- example_burst: event-driven, on the main loop ---- */

typedef struct
{
  int64_t count;
} BurstConfig;

typedef struct
{
  int64_t next;
  RelaydPutRequest *pending;
} BurstState;

static const RelaydOption _burst_options[] = {
  { "count", RELAYD_OPT_INT, "100", 0, 1000000, offsetof(BurstConfig, count), 0, NULL, "events to put" },
  RELAYD_OPTION_END,
};

static void _burst_next(RelaydComponent *self);

/* Main loop. A failed put (channel full) puts the same numbers again. */
static void
_burst_done(RelaydComponent *self, RelaydPutResult result, void *user_data)
{
  BurstState *st = relayd_component_data(self);

  (void)user_data;
  st->pending = NULL;
  if (result == RELAYD_PUT_OK)
    st->next += 10;
  _burst_next(self);
}

static void
_burst_next(RelaydComponent *self)
{
  BurstConfig *cfg = relayd_component_config(self);
  BurstState *st = relayd_component_data(self);
  RelaydEvent *events[10];
  size_t n = 0;
  char body[32];

  while (n < 10 && st->next + (int64_t)n < cfg->count)
    {
      int len = snprintf(body, sizeof body, "%lld", (long long)(st->next + (int64_t)n));
      RelaydHeader h = { "example", "burst", 7, 5 };
      events[n++] = relayd_event_new(&h, 1, body, (size_t)len);
    }
  if (n)
    st->pending = relayd_source_put(self, events, n, _burst_done, NULL);
}

static int
_burst_start(RelaydComponent *self, RelaydError *error)
{
  BurstState *st = calloc(1, sizeof *st);

  if (!relayd_source_event_base(self))
    {
      relayd_error_set(error, "no event loop");
      free(st);
      return -1;
    }
  relayd_component_set_data(self, st);
  _burst_next(self);
  return 0;
}

static void
_burst_stop(RelaydComponent *self)
{
  BurstState *st = relayd_component_data(self);

  relayd_put_cancel(st->pending);
  st->pending = NULL;
}

static const RelaydSourceClass _burst_class = {
  .type = "example_burst",
  .description = "puts numbers from the main loop (test plugin)",
  .options = _burst_options,
  .config_size = sizeof(BurstConfig),
  .lifecycle = { .start = _burst_start, .stop = _burst_stop, .destroy = _free_data },
};

/* ---- example_mod: an interceptor that sets a header and drops events ---- */

typedef struct
{
  char *header, *prefix;
  int64_t modulus, drop;
} ModConfig;

static const RelaydOption _mod_options[] = {
  { "header", RELAYD_OPT_STRING, NULL, 1, 0, offsetof(ModConfig, header), RELAYD_OPTF_REQUIRED, NULL,
    "header set to prefix and the remainder" },
  { "prefix", RELAYD_OPT_STRING, "", 1, 0, offsetof(ModConfig, prefix), RELAYD_OPTF_EMPTY_OK, NULL,
    "text before the remainder" },
  { "modulus", RELAYD_OPT_INT, "2", 1, 1000, offsetof(ModConfig, modulus), 0, NULL, "divisor" },
  { "drop", RELAYD_OPT_INT, "-1", -1, 999, offsetof(ModConfig, drop), 0, NULL,
    "remainder of the events to drop (-1: none)" },
  RELAYD_OPTION_END,
};

static int
_mod_configure(RelaydComponent *self, RelaydError *error)
{
  ModConfig *cfg = relayd_component_config(self);

  if (cfg->drop >= cfg->modulus)
    {
      relayd_error_set(error, "drop %lld is not below modulus %lld", (long long)cfg->drop,
                       (long long)cfg->modulus);
      return -1;
    }
  return 0;
}

static size_t
_mod_intercept(RelaydComponent *self, RelaydEvent **events, size_t n)
{
  ModConfig *cfg = relayd_component_config(self);
  size_t kept = 0;
  char value[64];

  for (size_t i = 0; i < n; i++)
    {
      long long rem = atoll(relayd_event_body(events[i], NULL)) % cfg->modulus;
      if (rem == cfg->drop)
        {
          relayd_event_unref(events[i]);
          continue;
        }
      snprintf(value, sizeof value, "%s%lld", cfg->prefix, rem);
      events[kept++] = relayd_event_with_header(events[i], cfg->header, value);
    }
  return kept;
}

static const RelaydInterceptorClass _mod_class = {
  .type = "example_mod",
  .flume_class = "org.example.ExampleModInterceptor$Builder",
  .description = "sets a header to the body modulo a number, drops a remainder (test plugin)",
  .options = _mod_options,
  .config_size = sizeof(ModConfig),
  .configure = _mod_configure,
  .intercept = _mod_intercept,
};

/* ---- example_route: a channel selector routing by a header ---- */

typedef struct
{
  char *header, *fallback;
} RouteConfig;

typedef struct
{
  int fallback; /* channel index */
} RouteState;

static const RelaydOption _route_options[] = {
  { "header", RELAYD_OPT_STRING, NULL, 1, 0, offsetof(RouteConfig, header), RELAYD_OPTF_REQUIRED, NULL,
    "header naming the channel" },
  { "default", RELAYD_OPT_STRING, NULL, 1, 0, offsetof(RouteConfig, fallback), RELAYD_OPTF_REQUIRED, NULL,
    "channel of the other events" },
  RELAYD_OPTION_END,
};

static int
_route_configure(RelaydComponent *self, RelaydError *error)
{
  RouteConfig *cfg = relayd_component_config(self);
  int index = relayd_selector_channel_index(self, cfg->fallback);
  RouteState *st;

  if (index < 0)
    {
      relayd_error_set(error, "default channel %s is not one of the %zu channels of source %s", cfg->fallback,
                       relayd_selector_channel_count(self), relayd_component_name(self));
      return -1;
    }
  st = calloc(1, sizeof *st);
  st->fallback = index;
  relayd_component_set_data(self, st);
  return 0;
}

static void
_route_select(RelaydComponent *self, const RelaydEvent *ev, uint64_t *required, uint64_t *optional)
{
  RouteConfig *cfg = relayd_component_config(self);
  RouteState *st = relayd_component_data(self);
  int index = relayd_selector_channel_index(self, relayd_event_header(ev, cfg->header));

  (void)optional;
  *required = (uint64_t)1 << (index >= 0 ? index : st->fallback);
}

static const RelaydSelectorClass _route_class = {
  .type = "example_route",
  .description = "routes by a header naming the channel (test plugin)",
  .options = _route_options,
  .config_size = sizeof(RouteConfig),
  .configure = _route_configure,
  .destroy = _free_data,
  .select = _route_select,
};

#ifdef EXAMPLE_DUPLICATE
static const RelaydSinkClass _dup_sink_class = { .type = "null", .process = _file_process };
static const RelaydInterceptorClass _dup_interceptor_class
    = { .type = "Timestamp", .intercept = _mod_intercept };
#endif

#ifndef EXAMPLE_NO_REGISTER
int
relayd_plugin_register(RelaydRegistrar *registrar)
{
  if (relayd_interface_version() != RELAYD_PLUGIN_INTERFACE_VERSION)
    return -1;
#ifdef EXAMPLE_REGISTER_FAILS
  return 7;
#endif
#ifdef EXAMPLE_DUPLICATE
  relayd_register_sink(registrar, &_dup_sink_class);
  relayd_register_interceptor(registrar, &_dup_interceptor_class);
#endif
  return relayd_register_source(registrar, &_seq_class) || relayd_register_sink(registrar, &_file_class)
         || relayd_register_source(registrar, &_burst_class)
         || relayd_register_interceptor(registrar, &_mod_class)
         || relayd_register_selector(registrar, &_route_class);
}
#endif
