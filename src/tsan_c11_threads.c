/* tsan_c11_threads.c - ISO C11 threads (<threads.h>) on top of pthreads, linked into relayd and the tools
 * that use librdkafka in ThreadSanitizer builds only (configure --enable-sanitizers=thread).
 *
 * Why: Debian's librdkafka starts its threads with thrd_create and locks with mtx_* / cnd_* / call_once from
 * glibc. glibc implements those by calling its own pthread functions internally, which ThreadSanitizer does
 * not intercept: a thread started that way has no TSan state (TSan's allocator crashes on its first malloc)
 * and the locks are invisible (every access ordered by them is reported as a race). Defined here, in the
 * executable, these symbols interpose on glibc's for librdkafka too (the dynamic linker looks in the
 * executable first; an unversioned definition satisfies librdkafka's versioned references such as
 * thrd_create@GLIBC_2.34), and the pthread calls below go through TSan's interceptors, so TSan sees every
 * thread start, join, lock, wait and one-time initialisation of librdkafka.
 * Check: `nm -D build-tsan/src/relayd | grep -w thrd_create` shows T (defined, exported).
 *
 * glibc's mtx_t, cnd_t and once_flag have the size and alignment of pthread_mutex_t, pthread_cond_t and
 * pthread_once_t, and thrd_t is pthread_t: glibc's own implementation casts them the same way. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

_Static_assert(sizeof(mtx_t) >= sizeof(pthread_mutex_t), "mtx_t holds a pthread_mutex_t");
_Static_assert(sizeof(cnd_t) >= sizeof(pthread_cond_t), "cnd_t holds a pthread_cond_t");
_Static_assert(sizeof(once_flag) >= sizeof(pthread_once_t), "once_flag holds a pthread_once_t");
_Static_assert(sizeof(thrd_t) == sizeof(pthread_t), "thrd_t is a pthread_t");

#define MTX(m) ((pthread_mutex_t *)(void *)(m))
#define CND(c) ((pthread_cond_t *)(void *)(c))

/* C11's result codes from a pthread error number (glibc's mapping). */
static int
_result(int err)
{
  switch (err)
    {
    case 0:
      return thrd_success;
    case ETIMEDOUT:
      return thrd_timedout;
    case EBUSY:
      return thrd_busy;
    case ENOMEM:
      return thrd_nomem;
    default:
      return thrd_error;
    }
}

/* ---- threads ---- */

typedef struct
{
  thrd_start_t func;
  void *arg;
} ThrdStart;

static void *
_thrd_main(void *p)
{
  ThrdStart start = *(ThrdStart *)p;

  free(p);
  return (void *)(intptr_t)start.func(start.arg);
}

int
thrd_create(thrd_t *thr, thrd_start_t func, void *arg)
{
  ThrdStart *start = malloc(sizeof *start);

  if (!start)
    return thrd_nomem;
  start->func = func;
  start->arg = arg;
  int err = pthread_create((pthread_t *)thr, NULL, _thrd_main, start);
  if (err)
    free(start);
  return _result(err);
}

int
thrd_join(thrd_t thr, int *res)
{
  void *ret = NULL;
  int err = pthread_join((pthread_t)thr, &ret);

  if (!err && res)
    *res = (int)(intptr_t)ret;
  return _result(err);
}

int
thrd_detach(thrd_t thr)
{
  return _result(pthread_detach((pthread_t)thr));
}

_Noreturn void
thrd_exit(int res)
{
  pthread_exit((void *)(intptr_t)res);
}

/* ---- mutexes ---- */

int
mtx_init(mtx_t *mtx, int type)
{
  pthread_mutexattr_t attr;

  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, type & mtx_recursive ? PTHREAD_MUTEX_RECURSIVE : PTHREAD_MUTEX_NORMAL);
  int err = pthread_mutex_init(MTX(mtx), &attr);
  pthread_mutexattr_destroy(&attr);
  return _result(err);
}

int
mtx_lock(mtx_t *mtx)
{
  return _result(pthread_mutex_lock(MTX(mtx)));
}

int
mtx_trylock(mtx_t *mtx)
{
  return _result(pthread_mutex_trylock(MTX(mtx)));
}

int
mtx_timedlock(mtx_t *restrict mtx, const struct timespec *restrict ts)
{
  return _result(pthread_mutex_timedlock(MTX(mtx), ts));
}

int
mtx_unlock(mtx_t *mtx)
{
  return _result(pthread_mutex_unlock(MTX(mtx)));
}

void
mtx_destroy(mtx_t *mtx)
{
  pthread_mutex_destroy(MTX(mtx));
}

/* ---- condition variables (CLOCK_REALTIME deadlines, as C11 says) ---- */

int
cnd_init(cnd_t *cond)
{
  return _result(pthread_cond_init(CND(cond), NULL));
}

int
cnd_signal(cnd_t *cond)
{
  return _result(pthread_cond_signal(CND(cond)));
}

int
cnd_broadcast(cnd_t *cond)
{
  return _result(pthread_cond_broadcast(CND(cond)));
}

int
cnd_wait(cnd_t *cond, mtx_t *mtx)
{
  return _result(pthread_cond_wait(CND(cond), MTX(mtx)));
}

int
cnd_timedwait(cnd_t *restrict cond, mtx_t *restrict mtx, const struct timespec *restrict ts)
{
  return _result(pthread_cond_timedwait(CND(cond), MTX(mtx), ts));
}

void
cnd_destroy(cnd_t *cond)
{
  pthread_cond_destroy(CND(cond));
}

/* ---- one-time initialisation ---- */

void
call_once(once_flag *flag, void (*func)(void))
{
  pthread_once((pthread_once_t *)(void *)flag, func);
}
