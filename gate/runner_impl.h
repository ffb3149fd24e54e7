/* SPDX-License-Identifier: MIT */
/* Private to the runner (runner.c, runner_host.c): its state, and what
 * the shared-child path (runner_host.c) borrows from the one-child-per-
 * attempt path. */
#ifndef GATE_RUNNER_IMPL_H
#define GATE_RUNNER_IMPL_H

#include <poll.h>
#include <signal.h>
#include <stdint.h>

#include "eval.h"
#include "kit/spawn.h"
#include "kit/strbuf.h"
#include "runner.h"

/* A child that writes more than this is broken (or hostile). */
#define RUNNER_MAX_OUTPUT (1024 * 1024)
/* What a check prints itself (stdout and stderr: a module's diagnostics,
 * a library's notices) is kept in the result's details, redacted and,
 * like every text from outside, escaped when printed; never passed raw to
 * gate's terminal.  Beyond this much, the rest is read and dropped. */
#define RUNNER_MAX_STDERR (16 * 1024)

/* Drain what a child printed on *fd into sb (at most RUNNER_MAX_STDERR)
 * without waiting for more: a tool it left in the background may hold the
 * pipe open.  At EOF, or with eof set, *fd is closed and set to -1.  1
 * when some of it did not fit. */
int runner_drain(int *fd, struct strbuf *sb, int eof);
#define RUNNER_PROGRESS_MS 250
/* What a check child gets when gate dies.  Not SIGKILL: the child must
 * take its process group (the tools it started, and theirs) along, so it
 * needs a handler.  Not SIGTERM: a module may ignore that (and a tool's
 * `kill 0` sends it); no module has a reason to touch a real-time one. */
#define RUNNER_DEATH_SIGNAL (SIGRTMIN + 1)

enum job_state { JOB_PENDING, JOB_RUNNING, JOB_DONE };

struct job {
	size_t idx; /* index into rb->checks and ev->results */
	enum job_state state;
	int64_t not_before; /* PENDING: a retry may start then (mono ms) */
	int attempts;
	int64_t first_start; /* mono ms of the first attempt */
	/* RUNNING */
	struct spawn sp;   /* the child: pid, pidfd (-1 once reaped), status */
	int fd;            /* read end of the result pipe, -1 at EOF */
	int efd;           /* read end of the child's stdout+stderr, or -1 */
	struct strbuf err; /* what came through efd (at most RUNNER_MAX_STDERR) */
	int err_cut;       /* more came than was kept */
	struct strbuf out;
	int overflow;
	int64_t start, deadline;
	int deadline_is_overall; /* the attempt was cut by the overall deadline */
	/* RUNNING as one thread of a shared child (runner_host.c), which
	 * then owns the process (sp unused, efd -1), or NULL. */
	struct host *host;
};

struct runner {
	struct eval *ev;
	const struct runbook *rb;
	const struct runner_opts *opts;
	struct job *jobs;
	size_t njobs;
	size_t running, done;
	int64_t t0, overall_deadline;
	int64_t timeout_ms; /* the overall budget */
	int64_t next_progress;
	int saturated;      /* out of fds/processes: start more only after one ends */
	int sigfd;          /* signalfd of the stop signals, or -1 */
	sigset_t stop;      /* the signals read through sigfd */
	sigset_t oldmask;   /* the caller's signal mask */
	struct host *hosts; /* the shared children running (runner_host.c) */
};

/* runner.c, for runner_host.c */
void runner_set_result(struct runner *r, struct job *j, enum check_status st, const char *summary,
                       json_t *details);
/* pipe2 or fork failed for j (runner.c's cannot_start). */
void runner_cannot_start(struct runner *r, struct job *j, const char *what, int err);
/* j's attempt begins: attempts, start, deadline, buffers reset. */
void runner_attempt_begin(struct runner *r, struct job *j, int64_t now);
/* The result as one JSON document on wfd; 0 when it was written. */
int runner_child_send(int wfd, struct gate_result *res);
/* In a check child: close the runner's descriptors that are not its own. */
void runner_child_close(struct runner *r);
/* Is what j's attempt sent exactly one well-formed result? */
int runner_output_ok(const struct job *j);
/* Judge what j's attempt sent, given how its process ended. */
void runner_judge_output(struct runner *r, struct job *j, const struct spawn *sp);
void runner_attempt_over(struct runner *r, struct job *j, int64_t now);

/* runner_host.c: the checks of a module whose `run` may share a process
 * (ABI 1.2, GATE_MF_THREADED_RUN) start together in one child, a thread
 * each; every check keeps its own result pipe, deadline and result. */
/* Start j, and the jobs that can share its child, if sharing applies: 1;
 * else 0 (start j alone). */
int host_start(struct runner *r, struct job *j, int64_t now, size_t limit);
/* j (host job) sent EOF: judge it when what it sent, or how the child
 * ended, says enough. */
void host_finish_if_over(struct runner *r, struct job *j, int64_t now);
/* j's attempt is over (judged or timed out): it leaves its host, which is
 * killed, reaped and freed when its last job leaves. */
void host_job_over(struct runner *r, struct job *j);
/* poll() entries for the hosts' pidfds and output; and their events. */
size_t host_poll_fds(struct runner *r, struct pollfd *pfds);
void host_events(struct runner *r, const struct pollfd *pfds, size_t n);
/* Stop signal: kill every host's group; then, once the caller has closed
 * their jobs' pipes, reap and free them all (also the runner's last word). */
void host_kill_all(struct runner *r);
void host_reap_all(struct runner *r);
/* In a check child: close what the hosts hold. */
void host_child_close(struct runner *r);
size_t host_count(const struct runner *r);

#endif
