/* relay_mutex.h - relayd's mutex and condition variable: POSIX threads behind GLib-like names.
 *
 * Why not GMutex/GCond: on Linux GLib implements them with raw futex system calls, which ThreadSanitizer
 * does not see, so every lock relayd takes would be invisible to it and it would report the data they
 * protect as races (the first TSan run reported one in log.c). pthread mutexes and condition variables are
 * intercepted by TSan (and by helgrind/DRD), so relayd's own locking is checked, not assumed.
 *
 * Same rules as RelayMutex/RelayCond: a zero-filled RelayMutex or RelayCond (a static, or a member of a
 * struct from g_new0) is ready to use, because glibc's PTHREAD_MUTEX_INITIALIZER and PTHREAD_COND_INITIALIZER
 * are all zeros; relay_mutex_init / relay_cond_init exist for the others. Not recursive. Errors of the
 * pthread calls (only possible on misuse: destroying a locked mutex, unlocking one not held) abort, as GLib
 * does. relay_cond_wait_until takes a g_get_monotonic_time() deadline like relay_cond_wait_until; the wait
 * itself runs on CLOCK_REALTIME (the default clock of a zero-filled condition), the remaining time converted
 * once, so a wall-clock jump during a wait makes it end early or late by the jump: callers loop on their
 * predicate and re-check the deadline, as they must for spurious wake-ups anyway. */
#ifndef RELAY_MUTEX_H_INCLUDED
#define RELAY_MUTEX_H_INCLUDED

#include <glib.h>
#include <pthread.h>
#include <errno.h>
#include <time.h>

typedef struct
{
  pthread_mutex_t m;
} RelayMutex;

typedef struct
{
  pthread_cond_t c;
} RelayCond;

#define RELAY_MUTEX_INIT                                                                                     \
  {                                                                                                          \
    PTHREAD_MUTEX_INITIALIZER                                                                                \
  }

#define RELAY_PTHREAD_CHECK(call)                                                                            \
  do                                                                                                         \
    {                                                                                                        \
      int relay_pthread_rc_ = (call);                                                                        \
      if (G_UNLIKELY(relay_pthread_rc_ != 0))                                                                \
        g_error("%s: %s", #call, g_strerror(relay_pthread_rc_));                                             \
    }                                                                                                        \
  while (0)

static inline void
relay_mutex_init(RelayMutex *mutex)
{
  RELAY_PTHREAD_CHECK(pthread_mutex_init(&mutex->m, NULL));
}

static inline void
relay_mutex_clear(RelayMutex *mutex)
{
  RELAY_PTHREAD_CHECK(pthread_mutex_destroy(&mutex->m));
}

static inline void
relay_mutex_lock(RelayMutex *mutex)
{
  RELAY_PTHREAD_CHECK(pthread_mutex_lock(&mutex->m));
}

static inline void
relay_mutex_unlock(RelayMutex *mutex)
{
  RELAY_PTHREAD_CHECK(pthread_mutex_unlock(&mutex->m));
}

static inline void
relay_cond_init(RelayCond *cond)
{
  RELAY_PTHREAD_CHECK(pthread_cond_init(&cond->c, NULL));
}

static inline void
relay_cond_clear(RelayCond *cond)
{
  RELAY_PTHREAD_CHECK(pthread_cond_destroy(&cond->c));
}

static inline void
relay_cond_wait(RelayCond *cond, RelayMutex *mutex)
{
  RELAY_PTHREAD_CHECK(pthread_cond_wait(&cond->c, &mutex->m));
}

static inline void
relay_cond_signal(RelayCond *cond)
{
  RELAY_PTHREAD_CHECK(pthread_cond_signal(&cond->c));
}

static inline void
relay_cond_broadcast(RelayCond *cond)
{
  RELAY_PTHREAD_CHECK(pthread_cond_broadcast(&cond->c));
}

/* Waits until signalled or until the monotonic time end_time (microseconds, g_get_monotonic_time());
 * returns FALSE when the deadline passed. May return TRUE spuriously, like relay_cond_wait_until. */
static inline gboolean
relay_cond_wait_until(RelayCond *cond, RelayMutex *mutex, gint64 end_time)
{
  gint64 left = end_time - g_get_monotonic_time();
  struct timespec ts;

  if (left <= 0)
    return FALSE;
  clock_gettime(CLOCK_REALTIME, &ts);
  gint64 ns = (gint64)ts.tv_nsec + (left % G_USEC_PER_SEC) * 1000;
  ts.tv_sec += (time_t)(left / G_USEC_PER_SEC + ns / 1000000000);
  ts.tv_nsec = (long)(ns % 1000000000);
  int rc = pthread_cond_timedwait(&cond->c, &mutex->m, &ts);
  if (rc != 0 && rc != ETIMEDOUT)
    g_error("pthread_cond_timedwait: %s", g_strerror(rc));
  return rc == 0;
}

#endif
