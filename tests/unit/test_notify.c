/* SPDX-License-Identifier: MIT */
/* Notifications (gate/notify.h) from hand-built evaluations: the json
 * body is the report plus event, user, host (and result); the chat body is
 * {"text"} with the runbook, the host, the decision and the reasons or the
 * command's end, Slack's markup escaped, cut to its bound; secrets are
 * masked in both; the send through a recording transport picks the items
 * of the event, and what became of them goes into ev->notifications and
 * the failure lines with the URL as the transport shows it, masked, and no
 * header. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "notify.h"
#include "policy.h"
#include "redact.h"
#include "kit/alloc.h"
#include "kit/strbuf.h"

struct fx {
	struct runbook rb;
	struct rb_check checks[8];
	struct rb_notify notify[3];
	char *command[4];
	char *headers[2];
	struct eval ev;
	struct window_facts wf;
};

static const struct notify_who who = {"alice", "db1.example"};

/* nfail of the 8 checks fail with summary `why` (the rest pass). */
static void fx_init(struct fx *f, int nfail, const char *why, enum eval_mode mode)
{
	static const char *const ids[] = {"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7"};
	memset(f, 0, sizeof(*f));
	f->command[0] = "sh";
	f->command[1] = "-c";
	f->command[2] = "exit 3";
	f->rb.name = "pg-upgrade";
	f->rb.path = "pg-upgrade.yaml";
	f->rb.command = f->command;
	f->rb.checks = f->checks;
	f->rb.nchecks = 8;
	for (int i = 0; i < 8; i++)
		f->checks[i] = (struct rb_check){.id = (char *)ids[i], .type = "exec"};
	f->headers[0] = "Authorization: Bearer hdr-secret-1";
	f->notify[0] = (struct rb_notify){
		"https://hooks.example/a/KEYKEY", NOTIFY_EVENTS_ALL, 0, 5000, f->headers, {0}};
	f->notify[1] = (struct rb_notify){"https://u:pw-secret-2@chat.example/hooks/KEY2",
	                                  NOTIFY_EVENT_BIT(NOTIFY_BLOCK),
	                                  1,
	                                  5000,
	                                  NULL,
	                                  {0}};
	f->notify[2] = (struct rb_notify){
		"http://127.0.0.1:9/x", NOTIFY_EVENT_BIT(NOTIFY_RESULT), 1, 1000, NULL, {0}};
	f->rb.notify = f->notify;
	f->rb.nnotify = 3;
	eval_init(&f->ev, &f->rb, mode);
	f->ev.command = strv_dup(f->command);
	for (int i = 0; i < 8; i++) {
		struct check_result *r = &f->ev.results[i];
		r->status = r->raw_status = i < nfail ? CHECK_FAIL : CHECK_PASS;
		r->summary = xstrdup(i < nfail ? why : "ok");
		r->details = json_object();
		r->attempts = 1;
	}
	policy_decide(&f->ev, &f->wf);
}

static json_t *body_json(const struct eval *ev, enum notify_event e, int chat)
{
	char *s = notify_body(ev, e, chat, &who);
	json_t *j = json_loads(s, 0, NULL);
	assert_non_null(j);
	free(s);
	return j;
}

static void test_json_block(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, 2, "replica db2 is 'catchup'", EVAL_MODE_RUN);
	assert_false(f.ev.allow);
	f.ev.notifications = json_array(); /* earlier outcomes never go out */
	json_t *j = body_json(&f.ev, NOTIFY_BLOCK, 0);
	assert_string_equal(json_string_value(json_object_get(j, "event")), "block");
	assert_string_equal(json_string_value(json_object_get(j, "decision")), "block");
	assert_string_equal(json_string_value(json_object_get(j, "runbook")), "pg-upgrade");
	assert_string_equal(json_string_value(json_object_get(j, "user")), "alice");
	assert_string_equal(json_string_value(json_object_get(j, "host")), "db1.example");
	assert_int_equal(json_array_size(json_object_get(j, "reasons")), 2);
	assert_int_equal(json_array_size(json_object_get(j, "checks")), 8);
	assert_null(json_object_get(j, "notifications"));
	assert_null(json_object_get(j, "result"));
	json_decref(j);
	eval_release(&f.ev);
}

static void test_json_result(void **state)
{
	(void)state;
	static const struct {
		int status;
		const char *signal;
	} rows[] = {{0, NULL}, {3, NULL}, {128, NULL}, {130, "SIGINT"}, {143, "SIGTERM"}};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct fx f;
		fx_init(&f, 0, "", EVAL_MODE_RUN);
		assert_true(f.ev.allow);
		f.ev.have_exit_status = 1;
		f.ev.exit_status = rows[i].status;
		f.ev.command_duration_ms = 1234.5;
		json_t *j = body_json(&f.ev, NOTIFY_RESULT, 0);
		json_t *r = json_object_get(j, "result");
		assert_string_equal(json_string_value(json_object_get(j, "event")), "result");
		assert_int_equal(json_integer_value(json_object_get(r, "exit_status")),
		                 rows[i].status);
		if (rows[i].signal)
			assert_string_equal(json_string_value(json_object_get(r, "signal")),
			                    rows[i].signal);
		else
			assert_true(json_is_null(json_object_get(r, "signal")));
		assert_true(json_real_value(json_object_get(r, "duration_ms")) == 1234.5);
		json_decref(j);
		eval_release(&f.ev);
	}
}

static char *chat(const struct eval *ev, enum notify_event e)
{
	json_t *j = body_json(ev, e, 1);
	assert_int_equal(json_object_size(j), 1);
	char *t = xstrdup(json_string_value(json_object_get(j, "text")));
	json_decref(j);
	return t;
}

static void test_chat_texts(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, 1, "lag 40s", EVAL_MODE_RUN);
	char *t = chat(&f.ev, NOTIFY_BLOCK);
	assert_string_equal(t, "gate: pg-upgrade on db1.example is blocked (alice)\nc0: lag 40s");
	free(t);
	eval_release(&f.ev);

	fx_init(&f, 0, "", EVAL_MODE_RUN);
	t = chat(&f.ev, NOTIFY_ALLOW);
	assert_string_equal(t, "gate: pg-upgrade on db1.example is allowed (alice): running "
	                       "`sh -c 'exit 3'`");
	free(t);
	f.ev.have_exit_status = 1;
	f.ev.exit_status = 143;
	f.ev.command_duration_ms = 2000;
	t = chat(&f.ev, NOTIFY_RESULT);
	assert_string_equal(t, "gate: pg-upgrade on db1.example: `sh -c 'exit 3'` ended by "
	                       "SIGTERM (status 143) after 2s");
	free(t);
	f.ev.exit_status = 0;
	t = chat(&f.ev, NOTIFY_RESULT);
	assert_non_null(strstr(t, "` exited 0 after 2s"));
	free(t);
	eval_release(&f.ev);

	/* a hook's evaluation runs nothing: no "running" */
	fx_init(&f, 0, "", EVAL_MODE_CHECK);
	t = chat(&f.ev, NOTIFY_ALLOW);
	assert_string_equal(t, "gate: pg-upgrade on db1.example is allowed (alice)");
	free(t);
	eval_release(&f.ev);
}

static void test_chat_escapes_and_bounds(void **state)
{
	(void)state;
	struct fx f;
	/* Slack markup and a newline in a check's words stay words */
	fx_init(&f, 8, "<!channel> a&b > c\nsecond line", EVAL_MODE_RUN);
	char *t = chat(&f.ev, NOTIFY_BLOCK);
	assert_null(strstr(t, "<!channel>"));
	assert_non_null(strstr(t, "c0: &lt;!channel&gt; a&amp;b &gt; c second line"));
	assert_non_null(strstr(t, "; and 3 more"));
	assert_null(strstr(t, "c5:"));
	assert_int_equal(strchr(t, '\n') - t, strlen("gate: pg-upgrade on db1.example is "
	                                             "blocked (alice)"));
	assert_null(strchr(strchr(t, '\n') + 1, '\n'));
	free(t);
	eval_release(&f.ev);

	char *huge = xcalloc(1, 20000);
	memset(huge, 'x', 19999);
	fx_init(&f, 8, huge, EVAL_MODE_RUN);
	t = chat(&f.ev, NOTIFY_BLOCK);
	assert_true(strlen(t) <= NOTIFY_CHAT_MAX);
	free(t);
	free(huge);
	eval_release(&f.ev);
}

static void test_secrets_masked(void **state)
{
	(void)state;
	assert_int_equal(redact_register_secret("tok-9f8e7d"), 0);
	struct fx f;
	fx_init(&f, 1, "token tok-9f8e7d refused by db1 password=hunter2", EVAL_MODE_RUN);
	for (int c = 0; c <= 1; c++) {
		char *s = notify_body(&f.ev, NOTIFY_BLOCK, c, &who);
		assert_null(strstr(s, "tok-9f8e7d"));
		assert_null(strstr(s, "hunter2"));
		assert_non_null(strstr(s, "***"));
		free(s);
	}
	eval_release(&f.ev);
	redact_reset();
}

/* ---- a recording transport ---- */

static struct {
	size_t calls, n;
	char urls[4][128];
	char bodies[4][8192];
	int64_t timeouts[4];
	int headers[4];
} rec;

static char *raw_url(const char *url)
{
	return xstrdup(url); /* the core masks what it knows on top */
}

static void rec_send(const struct notify_msg *m, size_t n, int64_t deadline_ms,
                     struct notify_outcome *out)
{
	(void)deadline_ms;
	rec.calls++;
	rec.n = n;
	for (size_t i = 0; i < n && i < 4; i++) {
		snprintf(rec.urls[i], sizeof(rec.urls[i]), "%s", m[i].url);
		snprintf(rec.bodies[i], sizeof(rec.bodies[i]), "%.*s", (int)m[i].len, m[i].body);
		rec.timeouts[i] = m[i].timeout_ms;
		rec.headers[i] = m[i].headers && m[i].headers[0];
		memset(&out[i], 0, sizeof(out[i]));
		if (strstr(m[i].url, "chat.example")) {
			out[i].http_status = 500;
			snprintf(out[i].error, sizeof(out[i].error), "answered HTTP 500");
		} else {
			out[i].ok = 1;
			out[i].http_status = 204;
		}
		out[i].duration_ms = 12.5;
	}
}

static const struct notify_transport recorder = {"recorder", raw_url, rec_send};

static void test_send_picks_and_records(void **state)
{
	(void)state;
	assert_int_equal(redact_register_secret("KEYKEY"), 0);
	memset(&rec, 0, sizeof(rec));
	struct fx f;
	fx_init(&f, 1, "lag", EVAL_MODE_RUN);
	char **failed = NULL;
	int n = notify_send(&recorder, &f.ev, NOTIFY_BLOCK, &who, &failed);
	assert_int_equal(n, 1);
	assert_int_equal(rec.calls, 1);
	assert_int_equal(rec.n, 2); /* items 1 and 2 ask for block, 3 does not */
	assert_string_equal(rec.urls[0], "https://hooks.example/a/KEYKEY");
	assert_int_equal(rec.headers[0], 1);
	assert_int_equal(rec.timeouts[0], 5000);
	assert_non_null(strstr(rec.bodies[0], "\"event\":\"block\""));
	assert_non_null(strstr(rec.bodies[1], "\"text\":"));
	assert_non_null(failed);
	assert_string_equal(failed[0], "notify 2 (https://u:***@chat.example/hooks/KEY2): block: "
	                               "answered HTTP 500");
	assert_null(failed[1]);
	strv_free(failed);

	json_t *nn = f.ev.notifications;
	assert_int_equal(json_array_size(nn), 2);
	json_t *a = json_array_get(nn, 0), *b = json_array_get(nn, 1);
	assert_int_equal(json_integer_value(json_object_get(a, "notify")), 1);
	assert_true(json_is_true(json_object_get(a, "ok")));
	assert_true(json_is_null(json_object_get(a, "error")));
	assert_string_equal(json_string_value(json_object_get(a, "url")),
	                    "https://hooks.example/a/***");
	assert_int_equal(json_integer_value(json_object_get(b, "http_status")), 500);
	assert_string_equal(json_string_value(json_object_get(b, "event")), "block");

	/* the next event appends; nothing asks for allow but item 1 */
	memset(&rec, 0, sizeof(rec));
	assert_int_equal(notify_send(&recorder, &f.ev, NOTIFY_ALLOW, &who, NULL), 0);
	assert_int_equal(rec.n, 1);
	assert_int_equal(json_array_size(f.ev.notifications), 3);
	char *dump = json_dumps(f.ev.notifications, 0);
	assert_null(strstr(dump, "hdr-secret-1"));
	assert_null(strstr(dump, "pw-secret-2"));
	free(dump);
	eval_release(&f.ev);
	redact_reset();
}

static void test_nothing_to_send(void **state)
{
	(void)state;
	memset(&rec, 0, sizeof(rec));
	struct fx f;
	fx_init(&f, 0, "", EVAL_MODE_RUN);
	f.rb.nnotify = 0;
	char **failed = (char **)&rec; /* must be reset to NULL */
	assert_null(notify_start(&recorder, &f.ev, NOTIFY_BLOCK, &who));
	assert_int_equal(notify_send(&recorder, &f.ev, NOTIFY_RESULT, &who, &failed), 0);
	assert_null(failed);
	assert_int_equal(rec.calls, 0);
	assert_null(f.ev.notifications);
	assert_null(notify_event_name((enum notify_event)7));
	eval_release(&f.ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_block),
		cmocka_unit_test(test_json_result),
		cmocka_unit_test(test_chat_texts),
		cmocka_unit_test(test_chat_escapes_and_bounds),
		cmocka_unit_test(test_secrets_masked),
		cmocka_unit_test(test_send_picks_and_records),
		cmocka_unit_test(test_nothing_to_send),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
