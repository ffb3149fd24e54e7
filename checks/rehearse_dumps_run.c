/* SPDX-License-Identifier: MIT */
/* The steps basebackup.restore and dump.restore share (rehearse_dumps.h):
 * the scratch server's options, reading parts of the backup's files, its
 * size, starting the server and judging why it did not start, the probes,
 * and the end (stop, remove, the pass summary). */
#include "rehearse_dumps.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup.h"
#include "gate/module.h"
#include "kit/clock.h"
#include "lib/pgscratch.h"

void rd_scratch_opts(const json_t *params, const struct gate_run_env *env, struct pgscratch_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->parent_dir = gate_param_str(params, "scratch_dir");
	if (!o->parent_dir)
		o->parent_dir = "/var/tmp";
	o->user = gate_param_str(params, "user");
	if (!o->user)
		o->user = "postgres";
	o->bindir = gate_param_str(params, "pg_bindir");
	o->deadline_ms = gate_mono_ms() + bk_budget_ms(env);
}

long rd_read_part(const char *path, char *buf, size_t n, int from_start)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (!from_start && fstat(fd, &st) == 0 && (uint64_t)st.st_size > n &&
	    lseek(fd, st.st_size - (off_t)n, SEEK_SET) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	return (long)got;
}

static uint64_t walked;

static int add_file(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)p;
	(void)f;
	if (flag == FTW_F && S_ISREG(st->st_mode))
		walked += (uint64_t)st->st_size;
	return 0;
}

uint64_t rd_tree_bytes(const char *dir)
{
	walked = 0;
	nftw(dir, add_file, 16, 0);
	return walked;
}

int rd_start(struct pgscratch *s, const char *const *extra, const char *what, json_t *rehearsal,
             struct gate_result *res)
{
	char msg[GATE_SUMMARY_MAX];
	int64_t t = gate_mono_ms();
	int rc = pgscratch_start(s, extra, msg, sizeof(msg));
	rd_phase(rehearsal, "start", gate_mono_ms() - t);
	if (rc == 0)
		return 0;
	/* the server stopped by itself: what it restored is not a database */
	if (!strncmp(msg, "did not reach a consistent state", 32) ||
	    !strncmp(msg, "did not start", 13))
		gate_result_set(res, GATE_FAIL, "%s %s", what, msg);
	else
		gate_result_set(res, GATE_ERROR, "%s: scratch server: %s", what, msg);
	return -1;
}

int rd_probes(struct pgscratch *s, const json_t *probes, json_t *rehearsal, struct gate_result *res)
{
	if (!probes || json_array_size(probes) == 0)
		return 0;
	char msg[GATE_SUMMARY_MAX] = "";
	json_t *out = NULL;
	int64_t t = gate_mono_ms();
	int nfail = pgscratch_probes(s, probes, &out, msg, sizeof(msg));
	rd_phase(rehearsal, "probes", gate_mono_ms() - t);
	if (out)
		json_object_set_new(rehearsal, "probes", out);
	if (nfail < 0) {
		gate_result_set(res, GATE_ERROR, "probes: %s", msg[0] ? msg : "did not run");
		return -1;
	}
	if (nfail > 0) {
		/* Fail closed: a failed probe without a message still fails. */
		if (nfail == 1)
			gate_result_set(res, GATE_FAIL, "%s", msg[0] ? msg : "a probe failed");
		else
			gate_result_set(res, GATE_FAIL, "%s (+%d more failed probe%s)",
			                msg[0] ? msg : "a probe failed", nfail - 1,
			                nfail == 2 ? "" : "s");
	}
	return nfail;
}

void rd_finish(struct pgscratch *s, json_t *rehearsal, int ok, const char *what, int64_t t0_ms,
               size_t nprobes, struct gate_result *res)
{
	int64_t t = gate_mono_ms();
	int64_t restored_ms = t - t0_ms;
	pgscratch_destroy(s);
	int64_t took = gate_mono_ms() - t;
	if (s->stop_ms >= 0 && s->cleanup_ms >= 0) {
		rd_phase(rehearsal, "stop", s->stop_ms);
		rd_phase(rehearsal, "cleanup", s->cleanup_ms);
	} else {
		rd_phase(rehearsal, "cleanup", took);
	}
	if (!ok)
		return;
	gate_result_set(res, GATE_PASS, "%s restored in %.1f s; %zu probe%s passed", what,
	                (double)restored_ms / 1000.0, nprobes, nprobes == 1 ? "" : "s");
}

/* ---- validation ---- */

int rd_validate_common(const json_t *params, const char **param, char *msg, size_t msglen)
{
	static const char *const nonempty[] = {"path", "wal_path", "scratch_dir", "user",
	                                       "pg_bindir"};
	for (size_t i = 0; i < sizeof(nonempty) / sizeof(nonempty[0]); i++) {
		const char *v = gate_param_str(params, nonempty[i]);
		if (v && !*v) {
			*param = nonempty[i];
			snprintf(msg, msglen, "must not be empty");
			return -1;
		}
	}
	static const char *const absolute[] = {"scratch_dir", "pg_bindir"};
	for (size_t i = 0; i < 2; i++) {
		const char *v = gate_param_str(params, absolute[i]);
		if (v && v[0] != '/') {
			*param = absolute[i];
			snprintf(msg, msglen, "must be an absolute path");
			return -1;
		}
	}
	const json_t *probes = json_object_get(params, "probes");
	if (probes && pgscratch_probes_validate(probes, msg, msglen)) {
		*param = "probes";
		return -1;
	}
	return 0;
}
