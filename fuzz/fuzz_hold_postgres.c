/* SPDX-License-Identifier: MIT */
/* The postgres lock kind's readers (holds/lock_postgres_judge.c) on any
 * bytes: the holders query's answer, as the server gives it (the seeds:
 * tests/data/recorded/holds/postgres/holders-*.json, copied to
 * corpus/hold_postgres/), and application_name read back as a holder.
 * Promises: an answer that is not a JSON array of rows is an error with a
 * message and no holder; free means no holder, busy always names one; a
 * holder text read back has a runbook, a user and a host, and writing it
 * again gives text that fits the 63 bytes and reads back to the same pid
 * and time. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "holds/lock_postgres_judge.h"

static void check_judge(const char *s)
{
	char *holder, *message;
	json_t *details;
	enum hold_state st = pglock_judge_holders(s, &holder, &message, &details);
	if (st == HOLD_ERROR && (!message || holder || details))
		abort();
	if (st == HOLD_TAKEN && (holder || message || !json_is_array(details)))
		abort();
	if (st == HOLD_BUSY && (!holder || !*holder || message))
		abort();
	free(holder);
	free(message);
	json_decref(details);
}

static void check_appname(const char *s)
{
	struct hold_who w;
	char *buf;
	if (pglock_appname_parse(s, &w, &buf) < 0)
		return;
	if (!*w.runbook || !*w.user || !*w.host || w.pid < 0)
		abort();
	char *again = pglock_appname(&w), *buf2;
	struct hold_who r;
	if (strlen(again) > PGLOCK_APPNAME_MAX || pglock_appname_parse(again, &r, &buf2) < 0 ||
	    r.pid != w.pid || r.since_ms != w.since_ms)
		abort();
	free(buf2);
	free(again);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_judge(s);
	check_appname(s);
	free(s);
	return 0;
}
