/* SPDX-License-Identifier: MIT */
/*
 * The order of a run (gate/hold.c) and the state file (gate/hold_state.c,
 * gate/hold_admin.c), with a lock kind and a maintenance kind defined in
 * this file.  They are not mocks of a server: they stand for no server at
 * all; they only write down which call came when (and look at the state
 * file from inside begin), so that the sequencing itself is tested:
 *
 *  - the order of the calls, from the first lock to the last release;
 *  - a failure half way undoes what was done, in reverse, and nothing runs;
 *  - end is called after the command, whether it succeeded or failed;
 *  - the state file holds the item before begin changes anything, and
 *    its undo record once begin recorded it;
 *  - a state file left over blocks the dry run and the next run, and
 *    resume ends the item from its recorded undo and removes the file;
 *  - a busy lock blocks with the holder's text, and the locks taken
 *    before it are let go.
 *
 * The kinds end to end against real servers: tests/t8*.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hold_run.h"
#include "kit/alloc.h"
#include "kit/strbuf.h"

static struct strbuf calls; /* "take a,take b,..." */
static char state_dir[64];
static char state_path[128];
static int exec_status;
static int recheck_blocks;

__attribute__((format(printf, 1, 2))) static void called(const char *fmt, ...)
{
	va_list ap;
	char buf[256];
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	strbuf_addf(&calls, "%s%s", calls.len ? "," : "", buf);
}

/* ---- a lock kind: {t: NAME}; "busy..." is held by someone else,
 * "err..." cannot be taken ---- */

static const struct gate_param t_params[] = {
	{"t", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL, "name"},
	{NULL, 0, 0, NULL, NULL, NULL},
};

static void t_take(const json_t *params, const struct hold_who *who, int64_t deadline_ms,
                   void **handle, struct hold_result *res)
{
	const char *n = gate_param_str(params, "t");
	called("take %s", n);
	if (!strncmp(n, "busy", 4)) {
		struct hold_who other = {"other", "ann", "db9", 42, 0};
		res->state = HOLD_BUSY;
		res->holder = hold_who_text(&other);
		return;
	}
	if (!strncmp(n, "err", 3)) {
		res->state = HOLD_ERROR;
		res->message = xstrdup("no answer");
		return;
	}
	assert_string_equal(who->runbook, "t-hold");
	*handle = xstrdup(n);
	res->state = HOLD_TAKEN;
}

static void t_probe(const json_t *params, int64_t deadline_ms, struct hold_result *res)
{
	called("probe %s", gate_param_str(params, "t"));
	res->state = HOLD_TAKEN;
}

static int t_release(void *handle, char *msg, size_t msglen)
{
	called("release %s", (char *)handle);
	free(handle);
	return 0;
}

static const struct lock_kind t_lock = {"t",     "test lock", t_params, NULL,      t_take,
                                        t_probe, NULL,        NULL,     t_release, NULL};

/* The same, kept alive every 20 ms; the third keepalive says it is lost. */
static volatile int keepalives, lost_said;

static int64_t k_every(const json_t *params)
{
	return 20;
}

static int k_keepalive(void *handle, char *msg, size_t msglen)
{
	if (++keepalives < 3)
		return 0;
	snprintf(msg, msglen, "lease expired");
	return -1;
}

static const struct lock_kind k_lock = {"t",     "kept lock", t_params,    NULL,      t_take,
                                        t_probe, k_every,     k_keepalive, t_release, NULL};

/* ---- a maintenance kind: {m: NAME, fail: BOOL} ---- */

static const struct gate_param m_params[] = {
	{"m", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL, "name"},
	{"fail", GATE_P_BOOL, 0, "false", NULL, "begin fails"},
	{NULL, 0, 0, NULL, NULL, NULL},
};

static json_t *state_file(void)
{
	return json_load_file(state_path, 0, NULL);
}

/* The state file's undo record of the item named n (json null: recorded
 * before begin; NULL: the item is not in the file). */
static json_t *state_undo(const char *n)
{
	json_t *doc = state_file(), *it, *found = NULL;
	size_t i;
	json_array_foreach(json_object_get(doc, "items"), i, it)
		if (strstr(json_string_value(json_object_get(it, "label")), n))
			found = json_incref(json_object_get(it, "undo"));
	json_decref(doc);
	return found;
}

static void m_begin(const json_t *params, const struct hold_who *who, int64_t deadline_ms,
                    hold_record_fn record, void *ctx, json_t **undo, struct hold_result *res)
{
	const char *n = gate_param_str(params, "m");
	called("begin %s", n);
	json_t *u = state_undo(n);
	assert_non_null(u); /* in the state file before anything changes */
	assert_true(json_is_null(u));
	json_decref(u);
	if (gate_param_bool(params, "fail", 0)) {
		res->state = HOLD_ERROR;
		res->message = xstrdup("refused");
		return;
	}
	json_t *rec = json_pack("{s:s}", "undo", n);
	assert_int_equal(record(ctx, rec), 0);
	u = state_undo(n);
	assert_true(json_equal(u, rec)); /* recorded, then changed */
	json_decref(u);
	called("change %s", n);
	*undo = rec;
	res->state = HOLD_TAKEN;
}

static void m_end(const json_t *params, const json_t *undo, int64_t deadline_ms,
                  struct hold_result *res)
{
	called("end %s %s", gate_param_str(params, "m"),
	       json_string_value(json_object_get(undo, "undo")));
	res->state = HOLD_TAKEN;
}

static void m_describe(const json_t *params, int64_t deadline_ms, struct hold_result *res)
{
	called("describe %s", gate_param_str(params, "m"));
	res->state = HOLD_TAKEN;
}

static const struct maint_kind m_maint = {
	"m", "test maintenance", m_params, NULL, m_describe, m_begin, m_end, "m left on"};

/* ---- the steps the CLI would hand in ---- */

static int s_recheck(void *ctx, struct hold_session *hs)
{
	called("recheck");
	if (recheck_blocks)
		hold_block(hs, "recheck: db: replica stopped");
	return recheck_blocks ? -1 : 0;
}

static int s_confirm(void *ctx, struct hold_session *hs, char *how, size_t len)
{
	called("confirm");
	snprintf(how, len, "test");
	return 0;
}

static int s_decided(void *ctx, struct hold_session *hs)
{
	called("decided %s", hs->nreasons ? "block" : "allow");
	return 1;
}

static int s_exec(void *ctx)
{
	called("exec");
	return exec_status;
}

static void s_finished(void *ctx, struct hold_session *hs)
{
	called("finished");
}

static void s_lost(void *ctx, const struct rb_hold *lock, const char *msg)
{
	assert_string_equal(msg, "lease expired");
	lost_said = 1;
}

/* The command runs until the lock is said lost (or 10 s). */
static int s_exec_until_lost(void *ctx)
{
	called("exec");
	for (int i = 0; i < 1000 && !lost_said; i++)
		usleep(10 * 1000);
	return 0;
}

static const struct hold_steps steps = {
	NULL, NULL, s_recheck, s_confirm, s_decided, s_exec, s_finished, NULL, NULL,
};

/* ---- a runbook with those ---- */

static struct runbook rb;

static void add_lock(const char *n)
{
	rb.locks = xrealloc(rb.locks, (rb.nlocks + 1) * sizeof(*rb.locks));
	rb.locks[rb.nlocks++] = (struct rb_hold){
		&t_lock, NULL, json_pack("{s:s}", "t", n), xasprintf("t %s", n), {0}};
}

static void add_maint(const char *n, int fail)
{
	rb.maint = xrealloc(rb.maint, (rb.nmaint + 1) * sizeof(*rb.maint));
	rb.maint[rb.nmaint++] = (struct rb_hold){NULL,
	                                         &m_maint,
	                                         json_pack("{s:s, s:b}", "m", n, "fail", fail),
	                                         xasprintf("m %s", n),
	                                         {0}};
}

static char *recheck_ids[] = {"db", NULL};

static int setup(void **state)
{
	memset(&rb, 0, sizeof(rb));
	rb.name = "t-hold";
	rb.path = "t-hold.yaml";
	strbuf_release(&calls);
	exec_status = 0;
	recheck_blocks = 0;
	snprintf(state_dir, sizeof(state_dir), "/tmp/gate-test-hold.XXXXXX");
	assert_non_null(mkdtemp(state_dir));
	snprintf(state_path, sizeof(state_path), "%s/t-hold.state", state_dir);
	return 0;
}

static int teardown(void **state)
{
	for (size_t i = 0; i < rb.nlocks; i++) {
		json_decref(rb.locks[i].params);
		free(rb.locks[i].label);
	}
	for (size_t i = 0; i < rb.nmaint; i++) {
		json_decref(rb.maint[i].params);
		free(rb.maint[i].label);
	}
	free(rb.locks);
	free(rb.maint);
	char *cmd = xasprintf("rm -rf '%s'", state_dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	strbuf_release(&calls);
	return 0;
}

static int run(struct hold_session *hs)
{
	hold_session_init(hs, &rb, "ann", "db1", state_dir);
	return hold_run(hs, &steps);
}

static void test_order(void **state)
{
	add_lock("a");
	add_lock("b");
	add_maint("x", 0);
	add_maint("y", 0);
	rb.recheck = recheck_ids;
	rb.confirm = RB_CONFIRM_HOSTNAME;
	struct hold_session hs;
	assert_int_equal(run(&hs), 1);
	assert_string_equal(calls.buf, "take a,take b,recheck,confirm,begin x,change x,begin y,"
	                               "change y,decided allow,exec,end y y,end x x,finished,"
	                               "release b,release a");
	assert_int_equal(hs.status, 0);
	assert_null(hs.reasons);
	assert_int_equal(access(state_path, F_OK), -1); /* removed: all is off */
	hold_session_release(&hs);
}

static void test_end_after_failed_command(void **state)
{
	add_lock("a");
	add_maint("x", 0);
	exec_status = 3;
	struct hold_session hs;
	assert_int_equal(run(&hs), 1);
	assert_int_equal(hs.status, 3);
	assert_string_equal(calls.buf, "take a,begin x,change x,decided allow,exec,end x x,"
	                               "finished,release a");
	hold_session_release(&hs);
}

static void test_undo_half_way(void **state)
{
	add_lock("a");
	add_lock("b");
	add_maint("x", 0);
	add_maint("y", 1);
	struct hold_session hs;
	assert_int_equal(run(&hs), 0);
	assert_string_equal(calls.buf, "take a,take b,begin x,change x,begin y,end x x,"
	                               "release b,release a,decided block");
	assert_string_equal(hs.reasons[0], "maintenance item 2 (m y): refused");
	assert_int_equal(access(state_path, F_OK), -1);
	hold_session_release(&hs);
}

static void test_busy_lock(void **state)
{
	add_lock("a");
	add_lock("busy");
	add_maint("x", 0);
	struct hold_session hs;
	assert_int_equal(run(&hs), 0);
	assert_string_equal(calls.buf, "take a,take busy,release a,decided block");
	assert_string_equal(hs.reasons[0], "maintenance in progress: other by ann@db9 pid 42 "
	                                   "since 1970-01-01T00:00:00Z (lock 2: t busy)");
	hold_session_release(&hs);
}

static void test_lock_error_and_recheck(void **state)
{
	add_lock("err");
	struct hold_session hs;
	assert_int_equal(run(&hs), 0);
	assert_string_equal(hs.reasons[0], "lock 1 (t err): no answer");
	hold_session_release(&hs);

	strbuf_release(&calls);
	rb.locks[0].params = (json_decref(rb.locks[0].params), json_pack("{s:s}", "t", "a"));
	rb.recheck = recheck_ids;
	recheck_blocks = 1;
	assert_int_equal(run(&hs), 0);
	assert_string_equal(calls.buf, "take a,recheck,release a,decided block");
	assert_string_equal(hs.reasons[0], "recheck: db: replica stopped");
	hold_session_release(&hs);
}

/* The state file as a SIGKILL during the command leaves it. */
static char *saved_state;

static int s_exec_copy(void *ctx)
{
	called("exec");
	FILE *f = fopen(state_path, "r");
	assert_non_null(f);
	saved_state = xcalloc(1, 65536);
	assert_true(fread(saved_state, 1, 65535, f) > 0);
	fclose(f);
	return 0;
}

static void test_resume(void **state)
{
	add_maint("x", 0);
	add_maint("y", 0);
	struct hold_steps st = steps;
	st.exec = s_exec_copy;
	struct hold_session hs;
	hold_session_init(&hs, &rb, "ann", "db1", state_dir);
	assert_int_equal(hold_run(&hs, &st), 1);
	hold_session_release(&hs);
	FILE *f = fopen(state_path, "w");
	fputs(saved_state, f);
	fclose(f);
	free(saved_state);

	/* the dry run and the next run see it, and do nothing */
	strbuf_release(&calls);
	hold_session_init(&hs, &rb, "bob", "db1", state_dir);
	assert_int_equal(hold_check(&hs), -1);
	assert_non_null(strstr(hs.reasons[0], "maintenance item 1 (m x): m left on by an "
	                                      "interrupted run at "));
	assert_non_null(strstr(hs.reasons[1], "'gate maintenance resume t-hold' undoes it"));
	hold_session_release(&hs);
	assert_int_equal(run(&hs), 0);
	assert_non_null(strstr(hs.reasons[0], "left on by an interrupted run"));
	hold_session_release(&hs);
	assert_string_equal(calls.buf, "describe x,describe y,decided block");

	/* resume ends both, in reverse, from the recorded undo */
	strbuf_release(&calls);
	hold_session_init(&hs, &rb, "bob", "db1", state_dir);
	assert_int_equal(hold_resume(&hs), 0);
	assert_string_equal(calls.buf, "end y y,end x x");
	assert_int_equal(access(state_path, F_OK), -1);
	hold_session_release(&hs);
	hold_session_init(&hs, &rb, "bob", "db1", state_dir);
	assert_int_equal(hold_resume(&hs), 1); /* nothing left */
	hold_session_release(&hs);
}

static void test_keepalive_lost(void **state)
{
	add_lock("a");
	rb.locks[0].lock = &k_lock;
	keepalives = lost_said = 0;
	struct hold_steps st = steps;
	st.exec = s_exec_until_lost;
	st.lost = s_lost;
	struct hold_session hs;
	hold_session_init(&hs, &rb, "ann", "db1", state_dir);
	assert_int_equal(hold_run(&hs, &st), 1);
	assert_true(lost_said);
	assert_int_equal(keepalives, 3); /* none after it was lost */
	json_t *e = json_array_get(json_object_get(hs.report, "locks"), 0);
	assert_string_equal(json_string_value(json_object_get(e, "lost")), "lease expired");
	assert_string_equal(calls.buf, "take a,decided allow,exec,finished,release a");
	hold_session_release(&hs);
}

static void test_dry_run_takes_nothing(void **state)
{
	add_lock("a");
	add_maint("x", 0);
	struct hold_session hs;
	hold_session_init(&hs, &rb, "ann", "db1", state_dir);
	assert_int_equal(hold_check(&hs), 0);
	assert_string_equal(calls.buf, "probe a,describe x");
	hold_session_release(&hs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_end_after_failed_command, setup, teardown),
		cmocka_unit_test_setup_teardown(test_undo_half_way, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_error_and_recheck, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run_takes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keepalive_lost, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
