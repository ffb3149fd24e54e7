/* SPDX-License-Identifier: MIT */
/*
 * The state file of maintenance mode (hold_impl.h, gate(1) FILES): what a
 * run turned on, with each item's undo record, written before the item
 * changes anything, so that a run killed with SIGKILL leaves a trace the
 * next `gate check` or `gate run` reports and `gate maintenance resume`
 * undoes.
 *
 * DIR/NAME.state (NAME: the runbook's name) is one JSON document, written
 * whole to DIR/.NAME.state.tmp, fsync'd, renamed over, and the directory
 * fsync'd: a reader sees the old document or the new one.  DIR/NAME.lock
 * is flock'd (LOCK_EX) by the run that may have maintenance on, for as
 * long as it may: a state file whose lock is free was left by a run that
 * ended without turning everything off (the kernel let go of its lock),
 * one whose lock is held belongs to a run in progress.  The lock file is
 * never removed (removing a file others may lock is a race).
 *
 * DIR is created 0700 when absent, must be a directory of this user that
 * nobody else may write (a planted state file would make gate undo what
 * it never did), and is never reached through a symbolic link.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hold_impl.h"
#include "kit/alloc.h"
#include "kit/io.h"
#include "kit/statedir.h"
#include "kit/timefmt.h"

#define STATE_MAX (1024 * 1024)

char *hold_state_dir(void)
{
	return gate_state_dir(1);
}

char *hold_state_path(const char *dir, const char *runbook)
{
	return xasprintf("%s/%s.state", dir, runbook);
}

char *hold_params_hash(const json_t *params)
{
	char *s = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	free(s);
	return xasprintf("%016llx", (unsigned long long)h);
}

/* DIR, created 0700 (with its parents) when absent; -1 with a reason
 * when it is not this user's own directory. */
static int state_dir_ready(struct hold_session *hs, int create)
{
	const char *dir = hs->state_dir;
	struct stat st;
	if (lstat(dir, &st) < 0 && errno == ENOENT && create) {
		gate_state_mkdirs(dir);
	}
	if (lstat(dir, &st) < 0) {
		if (errno == ENOENT && !create)
			return 1;
		/* A runbook with no maintenance only looks for a state file an
		 * older version of it left; a directory this user cannot even
		 * reach ($HOME of another user, kept by setpriv or sudo) holds
		 * none of this user's. */
		if (errno == EACCES && !create && hs->rb->nmaint == 0)
			return 1;
		hold_block(hs, "state directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) {
		hold_block(hs,
		           "state directory %s: must be a directory of this user that no one "
		           "else may write (not a symbolic link)",
		           dir);
		return -1;
	}
	return 0;
}

static char *lock_path(struct hold_session *hs)
{
	return xasprintf("%s/%s.lock", hs->state_dir, hs->rb->name);
}

json_t *hold_state_read(struct hold_session *hs, int *rc)
{
	const char *path = hs->priv->state_path;
	*rc = 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return NULL;
		*rc = -1;
		hold_block(hs, "state file %s: %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	json_error_t je;
	json_t *doc = NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < STATE_MAX)
		doc = json_loadfd(fd, 0, &je);
	close(fd);
	if (!json_is_object(doc) || !json_is_array(json_object_get(doc, "items"))) {
		json_decref(doc);
		*rc = -1;
		hold_block(hs, "state file %s cannot be read: see what it says, then remove it",
		           path);
		return NULL;
	}
	return doc;
}

/* What item n of the state file left: its kind's words ("cluster left
 * paused") when the runbook's item n is still of that kind and its undo
 * was recorded (before that, nothing was changed), else "left on". */
static const char *left_what(struct hold_session *hs, const json_t *it, json_int_t n)
{
	const char *kind = json_string_value(json_object_get(it, "kind"));
	if (n < 0 || (size_t)n >= hs->rb->nmaint || !kind ||
	    json_is_null(json_object_get(it, "undo")))
		return "left on";
	const struct maint_kind *k = hs->rb->maint[n].maint;
	return k && k->left && !strcmp(k->name, kind) ? k->left : "left on";
}

/* One reason per item a state file says is on. */
static void left_over(struct hold_session *hs, const json_t *doc)
{
	char *who = hold_who_text_json(json_object_get(doc, "holder"));
	const char *at = json_string_value(json_object_get(doc, "started_at"));
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(doc, "items"), i, it) {
		const char *label = json_string_value(json_object_get(it, "label"));
		const char *err = json_string_value(json_object_get(it, "end_error"));
		json_int_t n = json_integer_value(json_object_get(it, "index"));
		hold_block(hs,
		           "maintenance item %lld (%s): %s by an interrupted run at %s (%s)%s%s; "
		           "'gate maintenance resume %s' undoes it",
		           (long long)n + 1, label ? label : "?", left_what(hs, it, n),
		           at ? at : "?", who ? who : "an unknown holder",
		           err ? ": turning it off failed: " : "", err ? err : "", hs->rb->name);
	}
	if (json_array_size(json_object_get(doc, "items")) == 0)
		hold_block(hs, "state file %s was left by an interrupted run at %s (%s)",
		           hs->priv->state_path, at ? at : "?", who ? who : "an unknown holder");
	free(who);
}

/* Is the state lock held by a run in progress?  1 yes, 0 no. */
static int state_locked(struct hold_session *hs)
{
	char *lp = lock_path(hs);
	int fd = open(lp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	free(lp);
	if (fd < 0)
		return 0;
	int busy = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return busy;
}

static void in_progress(struct hold_session *hs, const json_t *doc)
{
	char *who = doc ? hold_who_text_json(json_object_get(doc, "holder")) : NULL;
	hold_block(hs, "maintenance in progress: %s (state file %s)",
	           who ? who : "another gate run of this runbook", hs->priv->state_path);
	free(who);
}

int hold_state_look(struct hold_session *hs)
{
	int r = state_dir_ready(hs, 0);
	if (r != 0)
		return r > 0 ? 0 : -1;
	int rc;
	json_t *doc = hold_state_read(hs, &rc);
	if (!doc)
		return rc;
	if (state_locked(hs))
		in_progress(hs, doc);
	else
		left_over(hs, doc);
	json_decref(doc);
	return -1;
}

int hold_state_begin(struct hold_session *hs)
{
	struct hold_private *p = hs->priv;
	if (state_dir_ready(hs, 1) < 0)
		return -1;
	char *lp = lock_path(hs);
	int fd = open(lp, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0600);
	if (fd < 0) {
		hold_block(hs, "state lock %s: %s", lp, strerror(errno));
		free(lp);
		return -1;
	}
	free(lp);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int rc;
		json_t *doc = errno == EWOULDBLOCK ? hold_state_read(hs, &rc) : NULL;
		in_progress(hs, doc);
		json_decref(doc);
		close(fd);
		return -1;
	}
	int rc;
	json_t *doc = hold_state_read(hs, &rc);
	if (doc || rc < 0) {
		if (doc)
			left_over(hs, doc);
		json_decref(doc);
		close(fd);
		return -1;
	}
	p->state_lock_fd = fd;
	char started[64];
	gate_format_time(hs->who.since_ms, started, sizeof(started));
	p->state = json_pack("{s:s, s:s, s:o, s:s, s:[]}", "runbook", hs->rb->name, "runbook_path",
	                     hs->rb->path ? hs->rb->path : "", "holder", hold_who_json(&hs->who),
	                     "started_at", started, "items");
	return 0;
}

void hold_state_end(struct hold_session *hs)
{
	struct hold_private *p = hs->priv;
	if (p->state_lock_fd >= 0)
		close(p->state_lock_fd);
	p->state_lock_fd = -1;
	json_decref(p->state);
	p->state = NULL;
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* The document, whole, in place of the state file: fsync'd before the
 * rename, the directory after. */
static int state_write(struct hold_session *hs)
{
	struct hold_private *p = hs->priv;
	char *text = json_dumps(p->state, JSON_INDENT(2) | JSON_SORT_KEYS);
	char *tmp = xasprintf("%s/.%s.state.tmp", hs->state_dir, hs->rb->name);
	int rc = -1;
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0 && text && write_full(fd, text, strlen(text)) == 0 &&
	    write_full(fd, "\n", 1) == 0 && fsync(fd) == 0 && close(fd) == 0) {
		fd = -1;
		rc = rename(tmp, p->state_path) == 0 && sync_dir(hs->state_dir) == 0 ? 0 : -1;
	}
	if (rc < 0)
		hold_block(hs, "cannot write the state file %s: %s", p->state_path,
		           strerror(errno));
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	free(text);
	return rc;
}

static json_t *state_item(struct hold_session *hs, size_t i, size_t *at)
{
	size_t k;
	json_t *it;
	json_array_foreach(json_object_get(hs->priv->state, "items"), k, it) {
		if (json_integer_value(json_object_get(it, "index")) == (json_int_t)i) {
			*at = k;
			return it;
		}
	}
	return NULL;
}

int hold_state_set(struct hold_session *hs, size_t i, const json_t *undo)
{
	if (!hs->priv->state)
		return -1;
	size_t at;
	json_t *it = state_item(hs, i, &at);
	if (!it) {
		const struct rb_hold *h = &hs->rb->maint[i];
		it = json_pack("{s:I, s:s, s:s, s:o}", "index", (json_int_t)i, "kind",
		               h->maint->name, "label", h->label, "params_hash", json_string(""));
		char *hash = hold_params_hash(h->params);
		json_object_set_new(it, "params_hash", json_string(hash));
		free(hash);
		json_array_append_new(json_object_get(hs->priv->state, "items"), it);
	}
	json_object_set_new(it, "undo", undo ? json_deep_copy(undo) : json_null());
	return state_write(hs);
}

int hold_state_clear(struct hold_session *hs, size_t i, const char *end_error)
{
	struct hold_private *p = hs->priv;
	if (!p->state)
		return -1;
	size_t at;
	json_t *it = state_item(hs, i, &at);
	if (it && end_error)
		json_object_set_new(it, "end_error", json_string(end_error));
	else if (it)
		json_array_remove(json_object_get(p->state, "items"), at);
	if (json_array_size(json_object_get(p->state, "items")) > 0)
		return state_write(hs);
	if (unlink(p->state_path) < 0 && errno != ENOENT) {
		hold_block(hs, "cannot remove the state file %s: %s", p->state_path,
		           strerror(errno));
		return -1;
	}
	sync_dir(hs->state_dir);
	return 0;
}

int hold_state_adopt(struct hold_session *hs)
{
	struct hold_private *p = hs->priv;
	int r = state_dir_ready(hs, 0);
	if (r != 0)
		return r > 0 ? 1 : -1;
	char *lp = lock_path(hs);
	int fd = open(lp, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0600);
	free(lp);
	if (fd < 0) {
		hold_block(hs, "state lock of %s: %s", hs->rb->name, strerror(errno));
		return -1;
	}
	int rc;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		json_t *doc = hold_state_read(hs, &rc);
		in_progress(hs, doc);
		json_decref(doc);
		close(fd);
		return -1;
	}
	json_t *doc = hold_state_read(hs, &rc);
	if (!doc) {
		close(fd);
		return rc < 0 ? -1 : 1;
	}
	p->state_lock_fd = fd;
	p->state = doc;
	return 0;
}
