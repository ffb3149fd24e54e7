/* SPDX-License-Identifier: MIT */
/* The records of restore rehearsals (rehearsal.h). */
#include "rehearsal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "module.h"
#include "outfile.h"
#include "redact.h"
#include "kit/alloc.h"
#include "kit/statedir.h"
#include "kit/timefmt.h"

const char *rehearsal_outcome(const struct check_result *r, int interrupted)
{
	if (interrupted)
		return "interrupted";
	switch (r->raw_status) {
	case CHECK_PASS:
		return "pass";
	case CHECK_FAIL:
		return "fail";
	default:
		return "error";
	}
}

/* The check's parameters as a report would show them: a secret one as
 * "***", every other string redacted (a password in a conninfo). */
static json_t *source_of(const struct rb_check *c)
{
	json_t *src = c->params ? json_deep_copy(c->params) : json_object();
	for (const struct gate_param *p = c->ct ? c->ct->params : NULL; p && p->name; p++)
		if ((p->flags & GATE_PF_SECRET) && json_object_get(src, p->name))
			json_object_set_new(src, p->name, json_string("***"));
	redact_json(src);
	return src;
}

/* details.rehearsal[key] when it is of the expected kind, else dflt. */
static json_t *member(const json_t *reh, const char *key, int (*ok)(const json_t *), json_t *dflt)
{
	json_t *v = json_object_get(reh, key);
	if (v && ok(v)) {
		json_decref(dflt);
		return json_deep_copy(v);
	}
	return dflt;
}

static int is_object(const json_t *v)
{
	return json_is_object(v);
}

static int is_array(const json_t *v)
{
	return json_is_array(v);
}

json_t *rehearsal_record(const struct check_result *r, const struct rb_check *c,
                         const struct rehearsal_run *run, int interrupted)
{
	char started[40];
	gate_format_time(run->started_ms, started, sizeof(started));
	const json_t *reh = json_object_get(r->details, "rehearsal");
	json_t *rec = json_object();
	json_object_set_new(rec, "record_version", json_integer(REHEARSAL_RECORD_VERSION));
	json_object_set_new(rec, "gate_version", json_string(GATE_VERSION));
	json_object_set_new(rec, "host", json_string(run->host ? run->host : ""));
	json_object_set_new(rec, "runbook", json_string(run->runbook ? run->runbook : ""));
	json_object_set_new(rec, "check", json_string(r->id));
	json_object_set_new(rec, "type", json_string(r->type ? r->type : ""));
	json_object_set_new(rec, "source", source_of(c));
	json_object_set_new(rec, "started", json_string(started));
	json_object_set_new(rec, "duration_ms", json_integer((json_int_t)r->duration_ms));
	json_object_set_new(rec, "outcome", json_string(rehearsal_outcome(r, interrupted)));
	json_object_set_new(rec, "summary", json_string(r->summary ? r->summary : ""));
	/* an interrupted rehearsal names the backup when the type knew it */
	json_object_set_new(rec, "backup", member(reh, "backup", is_object, json_null()));
	json_object_set_new(rec, "probes", member(reh, "probes", is_array, json_array()));
	json_object_set_new(rec, "phases_ms", member(reh, "phases_ms", is_object, json_object()));
	/* Everything from a module was redacted by the runner already; the
	 * runbook path and host are ours. */
	return rec;
}

char *rehearsal_file_name(int64_t started_ms, const char *check_id)
{
	time_t s = (time_t)(started_ms / 1000);
	struct tm tm;
	char when[32] = "00000000T000000";
	if (gmtime_r(&s, &tm))
		strftime(when, sizeof(when), "%Y%m%dT%H%M%S", &tm);
	char *id = xstrdup(check_id ? check_id : "");
	for (char *p = id; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
		            *p))
			*p = '_';
	char *name = xasprintf("%s.%03dZ-%s.json", when, (int)(started_ms % 1000), id);
	free(id);
	return name;
}

int rehearsal_dir_ready(const char *dir, struct gate_error *err)
{
	struct stat st;
	if (lstat(dir, &st) < 0 && errno == ENOENT) {
		gate_state_mkdirs(dir);
	}
	if (lstat(dir, &st) < 0) {
		gate_error_set(err, dir, 0, 0, "%s", strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) {
		gate_error_set(err, dir, 0, 0,
		               "must be a directory of this user that no one else may write (not "
		               "a symbolic link)");
		return -1;
	}
	return 0;
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

int rehearsal_write(const char *dir, const json_t *rec, int64_t started_ms, char **path_out,
                    struct gate_error *err)
{
	if (path_out)
		*path_out = NULL;
	if (rehearsal_dir_ready(dir, err) < 0)
		return -1;
	char *name = rehearsal_file_name(started_ms,
	                                 json_string_value(json_object_get(rec, "check")));
	char *path = xasprintf("%s/%s", dir, name);
	free(name);
	char *text = json_dumps(rec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	char *data = xasprintf("%s\n", text ? text : "{}");
	free(text);
	int rc = -1;
	char *tmp = outfile_check(path, err) == 0
	                    ? outfile_write_beside(path, data, strlen(data), 0600, err)
	                    : NULL;
	if (tmp && rename(tmp, path) < 0)
		gate_error_set(err, path, 0, 0, "%s", strerror(errno));
	else if (tmp && sync_dir(dir) < 0)
		gate_error_set(err, dir, 0, 0, "cannot sync the directory: %s", strerror(errno));
	else if (tmp)
		rc = 0;
	if (tmp && rc < 0)
		unlink(tmp);
	free(tmp);
	free(data);
	if (rc == 0 && path_out)
		*path_out = path;
	else
		free(path);
	return rc;
}
