/* exec_child.h - a command run by the exec source: spawned in its own process group with its stdout and
 * stderr on pipes, signalled as a group, reaped without blocking, and terminated (TERM, grace, KILL) at stop.
 *
 * Threads: the main loop (the exec source's thread) only. */
#ifndef RELAY_EXEC_CHILD_H_INCLUDED
#define RELAY_EXEC_CHILD_H_INCLUDED

#include "relay.h"

#include <sys/types.h>

typedef struct
{
  pid_t pid;  /* also the process group id; 0: none */
  int out_fd; /* read end of the child's stdout, non-blocking, close-on-exec; -1 when closed */
  int err_fd; /* read end of its stderr, likewise */
  gboolean reaped;
  int status; /* waitpid status once reaped */
} RelayExecChild;

/* The argument vector Flume's ExecSource builds: without shell, command split on whitespace (no quoting);
 * with shell, shell split on whitespace plus the whole command as one last argument. NULL when empty. */
char **relay_exec_argv(const char *shell, const char *command);

/* Starts argv[0] (searched in PATH) with stdin from /dev/null, in a new process group, with default signal
 * dispositions and an empty signal mask, and no other descriptor inherited. */
gboolean relay_exec_child_spawn(char **argv, RelayExecChild *child, GError **error);

/* Reaps the child if it has exited (never blocks). TRUE once reaped. */
gboolean relay_exec_child_poll(RelayExecChild *child);

/* Sends SIGTERM to the child's process group, waits up to grace_ms for the child to exit and the group to be
 * empty, then sends SIGKILL to the group and reaps the child. Blocks the caller for at most grace_ms plus the
 * time the kernel takes to kill; used at stop only. Returns TRUE when SIGKILL was needed. */
gboolean relay_exec_child_terminate(RelayExecChild *child, guint grace_ms);

/* Closes both pipe ends that are still open. */
void relay_exec_child_close_pipes(RelayExecChild *child);

/* "exit status 3", "killed by signal 9" (static buffer is not used: returns a new string). */
char *relay_exec_status_text(int status);

#endif
