/* plugin_loader.c - loads plugin libraries from plugins.d directories and registers their classes.
 *
 * Layout as Flume's bin/flume-ng reads it: plugins.d/NAME/lib/ holds the plugin, plugins.d/NAME/libext/ its
 * library dependencies and plugins.d/NAME/native/ native libraries. Where flume-ng puts libext/ on the class
 * path and native/ on java.library.path, relayd dlopen()s their libraries first with RTLD_GLOBAL, so that the
 * plugin's own DT_NEEDED entries (matched by soname) and symbols resolve to them without LD_LIBRARY_PATH. A
 * plugin library itself is loaded RTLD_NOW | RTLD_LOCAL: a missing symbol is found at once, and plugins
 * cannot see each other's symbols. relayd resolves the plugins' undefined relayd_* symbols from its own
 * executable (exported with a dynamic list, see plugin_api.c).
 *
 * Threads: main thread, once, before the configuration is built. */
#include "plugin_loader.h"

#include "config.h"
#include "log.h"
#include "plugin_private.h"
#include "registry.h"

#include <dlfcn.h>
#include <string.h>

#ifndef RELAY_PLUGINDIR
#define RELAY_PLUGINDIR "/usr/local/lib/relayd/plugins.d"
#endif

char **
relay_plugins_dirs(const char *plugins_path, const char *conf_path)
{
  if (plugins_path)
    return g_strsplit(plugins_path, ":", -1);
  GPtrArray *dirs = g_ptr_array_new();
  if (conf_path)
    {
      char *conf_dir = g_path_get_dirname(conf_path);
      char *abs = g_canonicalize_filename(conf_dir, NULL);
      char *parent = g_path_get_dirname(abs);
      g_ptr_array_add(dirs, g_build_filename(parent, "plugins.d", NULL));
      g_free(parent);
      g_free(abs);
      g_free(conf_dir);
    }
  g_ptr_array_add(dirs, g_strdup(RELAY_PLUGINDIR));
  g_ptr_array_add(dirs, NULL);
  return (char **)g_ptr_array_free(dirs, FALSE);
}

/* g_ptr_array_sort hands pointers to the elements. */
static gint
_cmp_paths(gconstpointer a, gconstpointer b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The entries of dir that look like shared libraries (name ends in .so or holds .so.), sorted, as full paths;
 * an empty array when dir is missing. */
static GPtrArray *
_libraries(const char *dir)
{
  GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
  GDir *d = g_dir_open(dir, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name(d)))
    if (g_str_has_suffix(name, ".so") || strstr(name, ".so."))
      g_ptr_array_add(files, g_build_filename(dir, name, NULL));
  if (d)
    g_dir_close(d);
  g_ptr_array_sort(files, _cmp_paths);
  return files;
}

static void
_refuse(RelayConfigReport *report, const char *file, const char *why)
{
  relay_config_report_add(report, NULL, NULL, NULL, "plugin %s refused: %s", file, why);
}

/* Loads the dependencies in NAME/libext and NAME/native, globally. */
static void
_load_dependencies(const char *plugin_dir, RelayConfigReport *report)
{
  static const char *const subdirs[] = { "libext", "native" };

  for (guint s = 0; s < G_N_ELEMENTS(subdirs); s++)
    {
      char *dir = g_build_filename(plugin_dir, subdirs[s], NULL);
      GPtrArray *files = _libraries(dir);
      for (guint i = 0; i < files->len; i++)
        if (!dlopen(g_ptr_array_index(files, i), RTLD_NOW | RTLD_GLOBAL))
          _refuse(report, g_ptr_array_index(files, i), dlerror());
      g_ptr_array_unref(files);
      g_free(dir);
    }
}

static void
_accept_classes(RelaydRegistrar *registrar)
{
  GString *types = g_string_new(NULL);

  for (guint i = 0; i < registrar->classes->len; i++)
    {
      RelayPluginClass *pc = g_ptr_array_index(registrar->classes, i);
      if (pc->plugin_kind == RELAY_PLUGIN_INTERCEPTOR || pc->plugin_kind == RELAY_PLUGIN_SELECTOR)
        relay_plugin_part_add(pc);
      else
        relay_registry_add_plugin(&pc->klass);
      g_string_append_printf(types, "%s%s %s", i ? ", " : "", relay_plugin_kind_name(pc->plugin_kind),
                             pc->klass.type);
    }
  relay_info("plugins", "loaded %s: %s", registrar->file, types->len ? types->str : "no classes");
  g_string_free(types, TRUE);
  /* The registry keeps the classes for the life of the process. */
  g_ptr_array_set_free_func(registrar->classes, NULL);
}

/* Checks the symbols and runs the registration of one library; FALSE after a report line. */
static gboolean
_register_library(void *handle, const char *file, RelayConfigReport *report)
{
  const uint32_t *version = dlsym(handle, "relayd_plugin_interface_version");
  int (*reg)(RelaydRegistrar *) = (int (*)(RelaydRegistrar *))dlsym(handle, "relayd_plugin_register");
  char *why = NULL;

  if (!version)
    why = g_strdup("no relayd_plugin_interface_version symbol (not built with RELAYD_PLUGIN_DEFINE() of "
                   "relayd/plugin.h)");
  else if (*version != RELAYD_PLUGIN_INTERFACE_VERSION)
    why = g_strdup_printf("built for plugin interface version %u, this relayd has version %u", *version,
                          RELAYD_PLUGIN_INTERFACE_VERSION);
  else if (!reg)
    why = g_strdup("no relayd_plugin_register symbol (the registration function of relayd/plugin.h)");
  if (why)
    {
      _refuse(report, file, why);
      g_free(why);
      return FALSE;
    }
  RelaydRegistrar registrar
      = { file, g_ptr_array_new_with_free_func(relay_plugin_class_free), g_string_new(NULL) };
  int rc = reg(&registrar);
  gboolean ok = rc == 0 && registrar.problems->len == 0;
  if (ok)
    _accept_classes(&registrar);
  else
    {
      char *message = g_strdup_printf("relayd_plugin_register returned %d%s%s", rc,
                                      registrar.problems->len ? ": " : "", registrar.problems->str);
      _refuse(report, file, message);
      g_free(message);
    }
  g_ptr_array_unref(registrar.classes);
  g_string_free(registrar.problems, TRUE);
  return ok;
}

static guint
_load_plugin(const char *plugin_dir, RelayConfigReport *report)
{
  char *lib_dir = g_build_filename(plugin_dir, "lib", NULL);
  GPtrArray *files = _libraries(lib_dir);
  guint refused = 0;

  if (files->len)
    _load_dependencies(plugin_dir, report);
  for (guint i = 0; i < files->len; i++)
    {
      const char *file = g_ptr_array_index(files, i);
      void *handle = dlopen(file, RTLD_NOW | RTLD_LOCAL);
      if (!handle)
        _refuse(report, file, dlerror());
      refused += !handle || !_register_library(handle, file, report);
    }
  g_ptr_array_unref(files);
  g_free(lib_dir);
  return refused;
}

guint
relay_plugins_load(char **dirs, gboolean explicit, RelayConfigReport *report)
{
  guint refused = 0;

  for (guint d = 0; dirs && dirs[d]; d++)
    {
      if (!*dirs[d])
        continue;
      GDir *dir = g_dir_open(dirs[d], 0, NULL);
      if (!dir)
        {
          if (explicit)
            relay_config_report_add(report, NULL, NULL, NULL,
                                    "--plugins-path: %s is not a readable directory", dirs[d]);
          continue;
        }
      GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
      const char *name;
      while ((name = g_dir_read_name(dir)))
        g_ptr_array_add(names, g_build_filename(dirs[d], name, NULL));
      g_dir_close(dir);
      g_ptr_array_sort(names, _cmp_paths);
      for (guint i = 0; i < names->len; i++)
        if (g_file_test(g_ptr_array_index(names, i), G_FILE_TEST_IS_DIR))
          refused += _load_plugin(g_ptr_array_index(names, i), report);
      g_ptr_array_unref(names);
    }
  return refused;
}
