/* plugin_loader.h - finds and loads plugins from Flume's plugins.d layout at start. */
#ifndef RELAY_PLUGIN_LOADER_H_INCLUDED
#define RELAY_PLUGIN_LOADER_H_INCLUDED

#include "relay.h"

/* The plugins.d directories to search, in order (a NULL-terminated strv to g_strfreev): the directories of
 * plugins_path (colon-separated, Flume's --plugins-path) if given, else the defaults: the plugins.d beside
 * the directory of the first configuration file (as $FLUME_HOME/plugins.d is beside $FLUME_HOME/conf) and
 * $libdir/relayd/plugins.d. */
char **relay_plugins_dirs(const char *plugins_path, const char *conf_path);

/* Loads every plugin found in dirs: for each plugins.d/NAME (in name order), the libraries of NAME/libext/
 * and NAME/native/ (its dependencies, loaded first and globally), then each NAME/lib/ *.so, which must export
 * the interface version and registration symbol of relayd/plugin.h. A library that cannot be loaded, was
 * built for another interface version, lacks a symbol, or whose registration fails, is refused with a report
 * line naming the file, and none of its classes is registered. A directory of dirs that does not exist is
 * skipped, unless explicit (given with --plugins-path): then it is reported. Returns the number of libraries
 * refused. Main thread, before the configuration is built; a library stays loaded until the process exits. */
guint relay_plugins_load(char **dirs, gboolean explicit, RelayConfigReport *report);

#endif
