/* inotify_fail.c - an LD_PRELOAD shim for tests: makes inotify unavailable to the process it is loaded in,
 * so the polling fallback of the TAILDIR source can be tested without any hook in relayd itself.
 *
 * RELAY_INOTIFY_FAIL=init:  inotify_init() and inotify_init1() fail with EMFILE (the per-user limit of
 *                           inotify instances, fs.inotify.max_user_instances, is reached).
 * RELAY_INOTIFY_FAIL=watch: inotify_add_watch() fails with ENOSPC (fs.inotify.max_user_watches is reached).
 * Unset or anything else: the calls go to the C library. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>

static int
_failing(const char *what)
{
  const char *mode = getenv("RELAY_INOTIFY_FAIL");
  return mode && strcmp(mode, what) == 0;
}

static void *
_next(const char *name)
{
  return dlsym(RTLD_NEXT, name);
}

int
inotify_init(void)
{
  if (_failing("init"))
    {
      errno = EMFILE;
      return -1;
    }
  int (*real)(void) = (int (*)(void))_next("inotify_init");
  return real();
}

int
inotify_init1(int flags)
{
  if (_failing("init"))
    {
      errno = EMFILE;
      return -1;
    }
  int (*real)(int) = (int (*)(int))_next("inotify_init1");
  return real(flags);
}

int
inotify_add_watch(int fd, const char *pathname, uint32_t mask)
{
  if (_failing("watch"))
    {
      errno = ENOSPC;
      return -1;
    }
  int (*real)(int, const char *, uint32_t) = (int (*)(int, const char *, uint32_t))_next("inotify_add_watch");
  return real(fd, pathname, mask);
}
