/* SPDX-License-Identifier: MIT */
/* The wrapped command, started the one way gate starts a process
 * (kit/spawn.h): all signals blocked around the fork; in the child
 * handlers back to SIG_DFL (what the user ignored stays ignored), the
 * mask restored, every fd above 2 close-on-exec, then execvp.  An exec
 * failure travels back as errno over a CLOEXEC pipe, so the parent can
 * tell "not found" from "not executable" without guessing from the
 * status.  Should gate die while the command runs, even of SIGKILL, the
 * command gets SIGTERM (PR_SET_PDEATHSIG), as if gate had forwarded it;
 * the kernel clears that when the command is a setuid or setgid program
 * (sudo), which then outlives a killed gate. */
#include "exec.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kit/clock.h"
#include "kit/spawn.h"

/* The signals a person or a supervisor uses to stop a maintenance
 * command: gate passes them on instead of dying and orphaning it. */
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define NFORWARDED (sizeof(forwarded) / sizeof(forwarded[0]))

static volatile sig_atomic_t child_pid;

/* The core limit gate was started with, for the wrapped command. */
static struct rlimit start_core_limit;
static int have_start_core_limit;

int exec_forbid_core_dumps(void)
{
	struct rlimit rl;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || getrlimit(RLIMIT_CORE, &rl) < 0)
		return -1;
	start_core_limit = rl;
	have_start_core_limit = 1;
	/* Only the soft limit: the hard one stays, so that the command can
	 * be given its limit back without privileges. */
	rl.rlim_cur = 0;
	return setrlimit(RLIMIT_CORE, &rl);
}

static void forward_signal(int sig, siginfo_t *si, void *uctx)
{
	(void)uctx;
	/* A signal from the terminal (Ctrl-C, Ctrl-\) already reached the
	 * command, which shares our foreground process group: sending it a
	 * second time would cancel twice (sudo makes the same distinction). */
	if (si && si->si_code == SI_KERNEL)
		return;
	if (child_pid > 0)
		kill((pid_t)child_pid, sig);
}

/* A wait status as a shell reports it. */
static int shell_status(const struct spawn *sp, int waited)
{
	if (waited < 0)
		return 127; /* cannot happen for our own child: stay closed */
	if (WIFEXITED(sp->status))
		return WEXITSTATUS(sp->status);
	if (WIFSIGNALED(sp->status))
		return 128 + WTERMSIG(sp->status);
	return 127;
}

int exec_command(char *const *argv, int *exec_errno, double *duration_ms)
{
	int64_t t0 = gate_mono_ms();
	int dummy_errno;
	if (!exec_errno)
		exec_errno = &dummy_errno;
	*exec_errno = 0;
	if (duration_ms)
		*duration_ms = 0;
	if (!argv || !argv[0] || !argv[0][0]) {
		*exec_errno = ENOENT;
		return 127;
	}

	sigset_t all, oldmask;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &oldmask);

	/* Forwarding handlers, installed while everything is blocked; a
	 * signal the caller ignores stays ignored (for us and the command). */
	struct sigaction fwd, old[NFORWARDED];
	int installed[NFORWARDED] = {0};
	memset(&fwd, 0, sizeof(fwd));
	fwd.sa_sigaction = forward_signal;
	fwd.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&fwd.sa_mask);
	for (size_t i = 0; i < NFORWARDED; i++) {
		if (sigaction(forwarded[i], NULL, &old[i]) == 0 && old[i].sa_handler != SIG_IGN &&
		    sigaction(forwarded[i], &fwd, NULL) == 0)
			installed[i] = 1;
	}

	/* Not SIGKILL: what a person or a supervisor stopping gate would
	 * have sent on; the command may clean up.  Its core limit is the
	 * user's (the exec makes it dumpable again by itself). */
	struct spawn_opts so = {
		.argv = argv,
		.in = SPAWN_INHERIT,
		.out = SPAWN_INHERIT,
		.err = SPAWN_INHERIT,
		.death_signal = SIGTERM,
		.keep_ignored = 1,
		.mask = &oldmask,
		.core_limit = have_start_core_limit ? &start_core_limit : NULL,
	};
	struct spawn sp;
	int status;
	if (spawn_start(&sp, &so) < 0) {
		*exec_errno = sp.error;
		status = sp.error == ENOENT ? 127 : 126;
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
	} else {
		child_pid = sp.pid;
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
		status = shell_status(&sp, spawn_wait(&sp, -1));
	}
	spawn_release(&sp);

	sigprocmask(SIG_SETMASK, &all, NULL);
	child_pid = 0;
	for (size_t i = 0; i < NFORWARDED; i++)
		if (installed[i])
			sigaction(forwarded[i], &old[i], NULL);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);

	if (duration_ms)
		*duration_ms = (double)(gate_mono_ms() - t0);
	return status;
}
