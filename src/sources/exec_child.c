/* exec_child.c - spawning, reaping and terminating the exec source's command (see exec_child.h).
 *
 * posix_spawnp with POSIX_SPAWN_SETPGROUP puts the child in a process group of its own, so stop can signal
 * the command and whatever it started (a shell's children, a pipeline) at once. relayd ignores SIGPIPE and
 * handles TERM/INT/USR1; the child gets every signal back at its default and an empty mask, so a command
 * writing to a closed pipe dies as it would from a terminal. Every descriptor of relayd is closed in the
 * child (closefrom after the dup2s), so listening sockets and channel files do not leak into it.
 *
 * Threads: the main loop only. */
#include "exec_child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Poll period while waiting for the group to go after SIGTERM. */
#define RELAY_EXEC_TERM_POLL_US (10 * 1000)

char **
relay_exec_argv(const char *shell, const char *command)
{
  GPtrArray *argv = g_ptr_array_new();
  char **words = g_regex_split_simple("\\s+", shell ? shell : command, 0, 0);

  for (guint i = 0; words[i]; i++)
    if (words[i][0])
      g_ptr_array_add(argv, g_strdup(words[i]));
  g_strfreev(words);
  if (shell && argv->len > 0)
    g_ptr_array_add(argv, g_strdup(command));
  if (argv->len == 0)
    {
      g_ptr_array_free(argv, TRUE);
      return NULL;
    }
  g_ptr_array_add(argv, NULL);
  return (char **)g_ptr_array_free(argv, FALSE);
}

static gboolean
_pipe(int fds[2], GError **error)
{
  if (pipe2(fds, O_CLOEXEC) != 0)
    {
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "pipe: %s", g_strerror(errno));
      return FALSE;
    }
  fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  return TRUE;
}

static void
_close_pair(int fds[2])
{
  if (fds[0] >= 0)
    close(fds[0]);
  if (fds[1] >= 0)
    close(fds[1]);
}

static void
_spawn_attr(posix_spawnattr_t *attr)
{
  sigset_t all, none;

  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_init(attr);
  posix_spawnattr_setflags(attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(attr, 0);
  posix_spawnattr_setsigdefault(attr, &all);
  posix_spawnattr_setsigmask(attr, &none);
}

static void
_spawn_actions(posix_spawn_file_actions_t *actions, int out_w, int err_w)
{
  posix_spawn_file_actions_init(actions);
  posix_spawn_file_actions_addopen(actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(actions, out_w, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(actions, err_w, STDERR_FILENO);
#ifdef __GLIBC__
#if __GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34)
  posix_spawn_file_actions_addclosefrom_np(actions, 3);
#endif
#endif
}

gboolean
relay_exec_child_spawn(char **argv, RelayExecChild *child, GError **error)
{
  int out[2] = { -1, -1 }, err[2] = { -1, -1 };
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;

  memset(child, 0, sizeof *child);
  child->out_fd = child->err_fd = -1;
  if (!_pipe(out, error) || !_pipe(err, error))
    {
      _close_pair(out);
      _close_pair(err);
      return FALSE;
    }
  _spawn_attr(&attr);
  _spawn_actions(&actions, out[1], err[1]);
  int rc = posix_spawnp(&child->pid, argv[0], &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(out[1]);
  close(err[1]);
  if (rc != 0)
    {
      close(out[0]);
      close(err[0]);
      child->pid = 0;
      g_set_error(error, RELAY_ERROR, RELAY_ERROR_IO, "cannot run %s: %s", argv[0], g_strerror(rc));
      return FALSE;
    }
  child->out_fd = out[0];
  child->err_fd = err[0];
  return TRUE;
}

gboolean
relay_exec_child_poll(RelayExecChild *child)
{
  if (child->pid == 0 || child->reaped)
    return TRUE;
  pid_t r = waitpid(child->pid, &child->status, WNOHANG);
  if (r == child->pid || (r < 0 && errno == ECHILD))
    child->reaped = TRUE;
  return child->reaped;
}

static gboolean
_group_alive(pid_t pgid)
{
  return kill(-pgid, 0) == 0 || errno == EPERM;
}

gboolean
relay_exec_child_terminate(RelayExecChild *child, guint grace_ms)
{
  gint64 deadline = g_get_monotonic_time() + (gint64)grace_ms * 1000;
  gboolean killed = FALSE;

  if (child->pid == 0)
    return FALSE;
  kill(-child->pid, SIGTERM);
  while (!(relay_exec_child_poll(child) && !_group_alive(child->pid)) && g_get_monotonic_time() < deadline)
    g_usleep(RELAY_EXEC_TERM_POLL_US);
  if (!child->reaped || _group_alive(child->pid))
    {
      killed = kill(-child->pid, SIGKILL) == 0;
      if (!child->reaped && waitpid(child->pid, &child->status, 0) >= 0)
        child->reaped = TRUE;
    }
  child->reaped = TRUE;
  return killed;
}

void
relay_exec_child_close_pipes(RelayExecChild *child)
{
  if (child->out_fd >= 0)
    close(child->out_fd);
  if (child->err_fd >= 0)
    close(child->err_fd);
  child->out_fd = child->err_fd = -1;
}

char *
relay_exec_status_text(int status)
{
  if (WIFEXITED(status))
    return g_strdup_printf("exit status %d", WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return g_strdup_printf("killed by signal %d", WTERMSIG(status));
  return g_strdup_printf("status 0x%x", status);
}
