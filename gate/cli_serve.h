/* SPDX-License-Identifier: MIT */
/*
 * `gate serve` (gate(1), SERVE): the runbooks' decisions over HTTP.  CLI
 * layer: it prints (its log, on stderr) and links libmicrohttpd and
 * libsystemd, which the core never does.
 *
 * It is gate's part part-serve.so (gate/part.h), loaded by gate/cli_part.c
 * (which keeps the help text) when gate serve runs.
 *
 *   gate/cli_serve.c       the command: options, the signal loop, reloads
 *   gate/cli_serve_eval.c  the runbooks: snapshots, the cache, evaluations
 *   gate/cli_serve_http.c  libmicrohttpd: the endpoints
 *   gate/cli_serve_sd.c    systemd: socket activation, sd_notify, watchdog
 *   gate/serve_metrics.c   (core) the Prometheus exposition
 */
#ifndef GATE_CLI_SERVE_H
#define GATE_CLI_SERVE_H

#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>

#include "kit/strbuf.h"

#define SERVE_DEFAULT_LISTEN "127.0.0.1:9741"

/* gate serve --help (gate/cli_part.c, in the executable). */
extern const char cli_serve_help[];
/* ---- gate/cli_serve.c ---- */
/* The command, in the part (gate/cli_serve_part.c): the exit status. */
int serve_command(int argc, char **argv);

/* One validated copy of a runbook's files, which the evaluations read:
 * what a reload that failed leaves being served.  Removed with its last
 * reference. */
struct serve_snap {
	char *dir;  /* its directory under serve.snap_root */
	char *path; /* the runbook's copy: what `gate check` is given */
	int refs;
};

/* How an evaluation ended. */
struct serve_result {
	int allow;
	char *report;   /* the JSON report (runbook_path as given), or NULL */
	json_t *json;   /* the same, parsed, or NULL */
	char *error;    /* without a report: why, else NULL */
	int64_t end_ms; /* gate_mono_ms() when it ended */
	double at_s;    /* and as the wall clock */
	double duration_s;
	unsigned gen; /* the load generation it evaluated */
};

struct serve_rb {
	char *name; /* the file name without .yaml or .yml: the URL's NAME */
	char *path; /* as given */
	/* Below: under serve.lock. */
	struct serve_snap *snap; /* the last valid version; NULL: never valid */
	int valid;               /* the last load succeeded */
	char *load_error;        /* why it failed, or NULL */
	int64_t timeout_ms;      /* the valid version's `timeout` */
	unsigned gen;            /* bumped by every load: the cache is dropped */
	int running;
	struct serve_result res; /* the last evaluation's; res.end_ms 0: none */
	int have_res;
	pthread_cond_t done; /* broadcast when an evaluation ends */
	uint64_t evaluations, failures, reload_failures;
	char *last_stderr; /* the last evaluation's stderr, logged when it changes */
};

struct serve {
	pthread_mutex_t lock;
	struct serve_rb *rbs;
	size_t nrbs;
	int64_t min_interval_ms;
	char *snap_root;  /* a private directory of snapshots */
	unsigned snap_no; /* the next snapshot's number */
	char *self;       /* this program (/proc/self/exe resolved) */
	int stopping;
	int cancel[2]; /* written once when stopping: evaluations are killed */
	int flights;   /* evaluation threads alive */
	pthread_cond_t idle;
};

/* ---- gate/cli_serve_eval.c ---- */

/* The table of runbooks (names checked: 0, or -1 after the message),
 * the snapshot directory, the cancel pipe. */
int serve_init(struct serve *sv, char **paths, size_t n, int64_t min_interval_ms);
/* (Re)load every runbook: a valid one replaces the served version and
 * drops its cache; an invalid one keeps the last valid version, counted
 * and logged.  Returns the number that failed. */
size_t serve_load_all(struct serve *sv);
/* Start an evaluation of every runbook whose cache is stale (none is
 * waited for).  With the lock held. */
void serve_kick_stale_locked(struct serve *sv);
/* Kill every evaluation and wait (bounded) for their threads. */
void serve_stop(struct serve *sv);
void serve_release(struct serve *sv);
struct serve_rb *serve_find(struct serve *sv, const char *name);

/* What a request gets: a result of an evaluation of rb that is fresh
 * (within the minimum interval, of the current load) or that ended after
 * the request came, waiting for one to end (single-flight: one at a time
 * per runbook) no longer than the runbook's deadline.  Fills *out with
 * copies (serve_answer_release); 0, or -1 with out->reason set (never
 * valid, stopping, or the wait passed its bound). */
struct serve_answer {
	int allow;
	char *report; /* NULL: none */
	char *reason; /* the first reason of a block, or why there is no report */
};
int serve_answer(struct serve *sv, struct serve_rb *rb, struct serve_answer *out);
void serve_answer_release(struct serve_answer *a);

/* The exposition of /metrics; kicks stale evaluations (not waited for). */
char *serve_metrics_text(struct serve *sv);

/* ---- gate/cli_serve_http.c ---- */

struct MHD_Daemon;
/* Start libmicrohttpd on listen_fd (>= 0: socket activation) or addr. */
struct MHD_Daemon *serve_http_start(struct serve *sv, int listen_fd, const struct sockaddr *addr,
                                    socklen_t addrlen);
void serve_http_stop(struct MHD_Daemon *d);
/* The socket it listens on (for the watchdog's probe). */
int serve_http_listen_fd(struct MHD_Daemon *d);

/* ---- gate/cli_serve_sd.c ---- */

/* The socket systemd passed (sd_listen_fds): its descriptor, -1 when
 * none, -2 after an error message (more than one, not a TCP listener). */
int serve_sd_listen_fd(void);
/* sd_notify(3) of a state text; quiet when not under systemd. */
void serve_sd_notify(const char *state);
/* RELOADING=1 with MONOTONIC_USEC, as Type=notify-reload wants. */
void serve_sd_reloading(void);
/* When systemd asked for a watchdog: a thread that sends WATCHDOG=1 every
 * half WATCHDOG_USEC, each time after a GET /healthz to the listening
 * socket answered 200 (a server that stopped answering is restarted).
 * 1 started, 0 not asked for, -1 it could not start. */
int serve_sd_watchdog_start(struct serve *sv, int listen_fd);
/* Stop it (it ends with sv->stopping: its wait is on the cancel pipe). */
void serve_sd_watchdog_join(void);

#endif
