/* build_info.c - relayd's version and what it was built with, for --version and the metrics pages. */
#include "metrics.h"

#include <event2/event.h>
#include <pthread.h>

static char *
_compiler(void)
{
#if defined(__clang__)
  return g_strdup_printf("clang-%d.%d.%d", __clang_major__, __clang_minor__, __clang_patchlevel__);
#elif defined(__GNUC__)
  return g_strdup_printf("gcc-%d.%d.%d", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#else
  return g_strdup("unknown");
#endif
}

static const char *
_features(void)
{
#if defined(__SANITIZE_ADDRESS__)
  return "sanitizers";
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return "sanitizers";
#else
  return "";
#endif
#else
  return "";
#endif
}

static RelayBuildInfo _info;

static void
_fill_info(void)
{
  _info.version = PACKAGE_VERSION;
  _info.compiler = _compiler();
  _info.glib = g_strdup_printf("%u.%u.%u", glib_major_version, glib_minor_version, glib_micro_version);
  _info.libevent = event_get_version();
  _info.features = _features();
}

/* pthread_once rather than g_once_init_enter: ThreadSanitizer sees its synchronisation. */
const RelayBuildInfo *
relay_build_info(void)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;

  pthread_once(&once, _fill_info);
  return &_info;
}
