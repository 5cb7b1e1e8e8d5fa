/* taildir_saver.c - writes the TAILDIR position file on a thread of its own, off the event loop.
 *
 * relay_taildir_pos_save() waits for two fsyncs (the new file, then its directory): milliseconds on a quiet
 * disk, over 100 ms on a busy one. The source would stall its event loop (and every connection on it) that
 * long for each write, so it hands the file's content to this thread and carries on reading; the thread
 * writes it and tells the loop through an event (libevent's event_active, as the file channel's writer
 * does). One write at a time: the source submits the next one only after it was told the previous one
 * ended, so the files are renamed in the order their contents were taken.
 *
 * Threads: new/busy/save/free on the loop that owns the source; the thread only writes files. `todo`,
 * `result`, `ended` and `stop` are under `lock`; `writing` belongs to the loop. */
#include "taildir.h"

#include "log.h"
#include "relay_mutex.h"

#include <event2/event.h>

struct _RelayTaildirSaver
{
  char *path;
  GThread *thread;
  RelayMutex lock;
  RelayCond wake;
  GString *todo;    /* content the thread has not taken yet */
  GError *result;   /* the ended write's error, NULL when it succeeded */
  gboolean ended;   /* a write ended and the loop was not told yet */
  gboolean stop;    /* the thread writes what is left and returns */
  gboolean writing; /* loop: submitted and not reported yet */
  struct event *done_ev;
  RelayTaildirSavedFn done;
  gpointer user_data;
};

static gpointer
_thread_main(gpointer arg)
{
  RelayTaildirSaver *self = arg;

  relay_mutex_lock(&self->lock);
  for (;;)
    {
      while (!self->todo && !self->stop)
        relay_cond_wait(&self->wake, &self->lock);
      GString *content = self->todo;
      if (!content)
        break;
      self->todo = NULL;
      relay_mutex_unlock(&self->lock);
      GError *error = NULL;
      relay_taildir_pos_save(self->path, content, &error);
      g_string_free(content, TRUE);
      relay_mutex_lock(&self->lock);
      self->result = error;
      self->ended = TRUE;
      event_active(self->done_ev, EV_TIMEOUT, 0);
    }
  relay_mutex_unlock(&self->lock);
  return NULL;
}

/* On the loop: the thread ended a write. */
static void
_on_done(evutil_socket_t fd, short what, void *arg)
{
  RelayTaildirSaver *self = arg;

  relay_mutex_lock(&self->lock);
  gboolean ended = self->ended;
  GError *error = self->result;
  self->ended = FALSE;
  self->result = NULL;
  relay_mutex_unlock(&self->lock);
  if (!ended)
    return;
  self->writing = FALSE;
  self->done(error, self->user_data);
  g_clear_error(&error);
}

RelayTaildirSaver *
relay_taildir_saver_new(struct event_base *base, const char *path, RelayTaildirSavedFn done,
                        gpointer user_data)
{
  RelayTaildirSaver *self = g_new0(RelayTaildirSaver, 1);

  self->path = g_strdup(path);
  self->done = done;
  self->user_data = user_data;
  relay_mutex_init(&self->lock);
  relay_cond_init(&self->wake);
  self->done_ev = event_new(base, -1, 0, _on_done, self);
  self->thread = relay_thread_new("taildir-pos", _thread_main, self);
  return self;
}

gboolean
relay_taildir_saver_busy(const RelayTaildirSaver *self)
{
  return self->writing;
}

void
relay_taildir_saver_save(RelayTaildirSaver *self, GString *content)
{
  g_return_if_fail(!self->writing);
  self->writing = TRUE;
  relay_mutex_lock(&self->lock);
  self->todo = content;
  relay_cond_signal(&self->wake);
  relay_mutex_unlock(&self->lock);
}

void
relay_taildir_saver_free(RelayTaildirSaver *self)
{
  if (!self)
    return;
  relay_mutex_lock(&self->lock);
  self->stop = TRUE;
  relay_cond_signal(&self->wake);
  relay_mutex_unlock(&self->lock);
  g_thread_join(self->thread); /* after the write in flight, if any: its `done` is not called */
  event_free(self->done_ev);
  g_clear_error(&self->result);
  relay_cond_clear(&self->wake);
  relay_mutex_clear(&self->lock);
  g_free(self->path);
  g_free(self);
}
