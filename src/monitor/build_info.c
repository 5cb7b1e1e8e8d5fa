/* build_info.c - relayd's version and what it was built with, for --version and the metrics pages. */
#include "metrics.h"

#include <event2/event.h>

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

const RelayBuildInfo *
relay_build_info(void)
{
  static RelayBuildInfo info;
  static gsize once = 0;

  if (g_once_init_enter(&once))
    {
      info.version = PACKAGE_VERSION;
      info.compiler = _compiler();
      info.glib = g_strdup_printf("%u.%u.%u", glib_major_version, glib_minor_version, glib_micro_version);
      info.libevent = event_get_version();
      info.features = _features();
      g_once_init_leave(&once, 1);
    }
  return &info;
}
