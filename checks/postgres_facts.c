/* SPDX-License-Identifier: MIT */
/* The postgres checks' facts as JSON, both ways (postgres_judge.h): what
 * tests/tools/gate-pgfacts records from real servers, and what the unit
 * tests and the fuzz target read back.  Reading is strict: every field,
 * no other, each of its kind or null. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit/alloc.h"
#include "postgres_judge.h"

#define F(st, name, kind)                              \
	{                                              \
#name, kind, offsetof(struct st, name) \
	}

const struct pg_field pg_walsender_fields[] = {
	F(pg_walsender, application_name, PG_STR), F(pg_walsender, state, PG_STR),
	F(pg_walsender, sync_state, PG_STR),       F(pg_walsender, lag_bytes, PG_INT),
	F(pg_walsender, replay_lag_s, PG_REAL),    F(pg_walsender, caught_up, PG_BOOL),
	F(pg_walsender, reply_age_s, PG_REAL),     F(pg_walsender, pid, PG_INT),
	F(pg_walsender, client_addr, PG_STR),      F(pg_walsender, replay_lsn, PG_STR),
	F(pg_walsender, sent_lsn, PG_STR),         {NULL, 0, 0},
};

const struct pg_field pg_wal_receiver_fields[] = {
	F(pg_wal_receiver, cluster_name, PG_STR),
	F(pg_wal_receiver, receive_lsn, PG_STR),
	F(pg_wal_receiver, replay_lsn, PG_STR),
	F(pg_wal_receiver, replay_bytes, PG_INT),
	F(pg_wal_receiver, pause_state, PG_STR),
	F(pg_wal_receiver, last_xact_replay_age_s, PG_REAL),
	F(pg_wal_receiver, pid, PG_INT),
	F(pg_wal_receiver, status, PG_STR),
	F(pg_wal_receiver, receive_age_s, PG_REAL),
	F(pg_wal_receiver, sender_host, PG_STR),
	F(pg_wal_receiver, sender_port, PG_INT),
	F(pg_wal_receiver, slot_name, PG_STR),
	{NULL, 0, 0},
};

const struct pg_field pg_archiver_stat_fields[] = {
	F(pg_archiver_stat, archive_mode, PG_STR),
	F(pg_archiver_stat, in_recovery, PG_BOOL),
	F(pg_archiver_stat, has_command, PG_BOOL),
	F(pg_archiver_stat, has_library, PG_BOOL),
	F(pg_archiver_stat, archived_count, PG_INT),
	F(pg_archiver_stat, last_archived_wal, PG_STR),
	F(pg_archiver_stat, last_archived_age_s, PG_REAL),
	F(pg_archiver_stat, failed_count, PG_INT),
	F(pg_archiver_stat, last_failed_wal, PG_STR),
	F(pg_archiver_stat, last_failed_age_s, PG_REAL),
	F(pg_archiver_stat, failing, PG_BOOL),
	F(pg_archiver_stat, last_archived_time, PG_STR),
	F(pg_archiver_stat, last_failed_time, PG_STR),
	{NULL, 0, 0},
};

const struct pg_field pg_archive_ready_fields[] = {
	F(pg_archive_ready, count, PG_INT),
	F(pg_archive_ready, oldest_age_s, PG_REAL),
	{NULL, 0, 0},
};

const struct pg_field pg_slot_fields[] = {
	F(pg_slot, slot_name, PG_STR),     F(pg_slot, slot_type, PG_STR),
	F(pg_slot, active, PG_BOOL),       F(pg_slot, wal_status, PG_STR),
	F(pg_slot, safe_wal_size, PG_INT), F(pg_slot, retained_bytes, PG_INT),
	F(pg_slot, active_pid, PG_INT),    {NULL, 0, 0},
};

static const struct pg_field fetched_fields[] = {
	F(pg_fetched, server, PG_STR),      F(pg_fetched, server_version, PG_INT),
	F(pg_fetched, taken_at_ms, PG_INT), F(pg_fetched, error, PG_STR),
	F(pg_fetched, sqlstate, PG_STR),    {NULL, 0, 0},
};

#undef F

#define AT(s, fl, type) ((type *)(void *)((char *)(s) + (fl)->off))

size_t pg_fields_count(const struct pg_field *fl)
{
	size_t n = 0;
	while (fl[n].name)
		n++;
	return n;
}

void pg_fields_clear(void *s, const struct pg_field *fl)
{
	for (; fl->name; fl++)
		switch (fl->kind) {
		case PG_STR:
			*AT(s, fl, char *) = NULL;
			break;
		case PG_INT:
			*AT(s, fl, int64_t) = PG_NULL_INT;
			break;
		case PG_REAL:
			*AT(s, fl, double) = NAN;
			break;
		case PG_BOOL:
			*AT(s, fl, int) = -1;
			break;
		}
}

void pg_fields_free(void *s, const struct pg_field *fl)
{
	for (; fl->name; fl++)
		if (fl->kind == PG_STR) {
			free(*AT(s, fl, char *));
			*AT(s, fl, char *) = NULL;
		}
}

/* Add the fields of s to the object o. */
static void fields_put(json_t *o, const void *s, const struct pg_field *fl)
{
	for (; fl->name; fl++) {
		json_t *v = NULL;
		const char *str;
		int64_t i;
		double d;
		int b;
		switch (fl->kind) {
		case PG_STR:
			v = (str = *AT(s, fl, char *const)) ? json_string(str) : NULL;
			break;
		case PG_INT:
			v = (i = *AT(s, fl, const int64_t)) != PG_NULL_INT ? json_integer(i) : NULL;
			break;
		case PG_REAL:
			v = !isnan(d = *AT(s, fl, const double)) ? json_real(d) : NULL;
			break;
		case PG_BOOL:
			v = (b = *AT(s, fl, const int)) >= 0 ? json_boolean(b) : NULL;
			break;
		}
		json_object_set_new(o, fl->name, v ? v : json_null());
	}
}

/* Read the fields of s from o (each present, of its kind or null); -1
 * with msg when one is not. */
static int fields_get(const json_t *o, void *s, const struct pg_field *fl, char *msg, size_t len)
{
	for (; fl->name; fl++) {
		json_t *v = json_object_get(o, fl->name);
		if (!v) {
			snprintf(msg, len, "facts: %s is missing", fl->name);
			return -1;
		}
		if (json_is_null(v))
			continue;
		int ok = 1;
		switch (fl->kind) {
		case PG_STR:
			if ((ok = json_is_string(v)))
				*AT(s, fl, char *) = xstrdup(json_string_value(v));
			break;
		case PG_INT:
			if ((ok = json_is_integer(v)))
				*AT(s, fl, int64_t) = (int64_t)json_integer_value(v);
			break;
		case PG_REAL:
			if ((ok = json_is_number(v)))
				*AT(s, fl, double) = json_number_value(v);
			break;
		case PG_BOOL:
			if ((ok = json_is_boolean(v)))
				*AT(s, fl, int) = json_is_true(v);
			break;
		}
		if (!ok) {
			snprintf(msg, len, "facts: %s has the wrong type", fl->name);
			return -1;
		}
	}
	return 0;
}

/* Read an object with exactly the fields of fl (plus `extra` keys read
 * elsewhere) into s. */
static int fields_read(const json_t *o, void *s, const struct pg_field *fl, size_t extra, char *msg,
                       size_t len)
{
	if (!json_is_object(o)) {
		snprintf(msg, len, "facts: not an object");
		return -1;
	}
	if (fields_get(o, s, fl, msg, len) < 0)
		return -1;
	if (json_object_size(o) != pg_fields_count(fl) + extra) {
		snprintf(msg, len, "facts: unknown fields");
		return -1;
	}
	return 0;
}

static json_t *section_json(int have, const void *s, const struct pg_field *fl)
{
	if (!have)
		return json_null();
	json_t *o = json_object();
	fields_put(o, s, fl);
	return o;
}

static int section_get(const json_t *doc, const char *key, int *have, void *s,
                       const struct pg_field *fl, char *msg, size_t len)
{
	json_t *o = json_object_get(doc, key);
	*have = 0;
	if (!o) {
		snprintf(msg, len, "facts: %s is missing", key);
		return -1;
	}
	if (json_is_null(o))
		return 0;
	if (fields_read(o, s, fl, 0, msg, len) < 0)
		return -1;
	*have = 1;
	return 0;
}

static json_t *rows_json(int have, const void *rows, size_t n, size_t size,
                         const struct pg_field *fl)
{
	if (!have)
		return json_null();
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, section_json(1, (const char *)rows + i * size, fl));
	return a;
}

static int rows_get(const json_t *doc, const char *key, int *have, void **rows, size_t *n,
                    size_t size, const struct pg_field *fl, char *msg, size_t len)
{
	json_t *a = json_object_get(doc, key), *v;
	size_t i;
	*have = 0;
	if (!a || !(json_is_array(a) || json_is_null(a))) {
		snprintf(msg, len, "facts: %s is %s", key, a ? "not a list" : "missing");
		return -1;
	}
	if (json_is_null(a))
		return 0;
	*rows = xcalloc(json_array_size(a) ? json_array_size(a) : 1, size);
	json_array_foreach(a, i, v) {
		void *row = (char *)*rows + i * size;
		pg_fields_clear(row, fl);
		*n = i + 1;
		if (fields_read(v, row, fl, 0, msg, len) < 0)
			return -1;
	}
	*have = 1;
	return 0;
}

/* A boolean or null into *b (1, 0, -1). */
static int bool_get(const json_t *doc, const char *key, int *b, char *msg, size_t len)
{
	json_t *v = json_object_get(doc, key);
	*b = -1;
	if (v && json_is_boolean(v))
		*b = json_is_true(v);
	else if (!v || !json_is_null(v)) {
		snprintf(msg, len, "facts: %s is %s", key, v ? "not a boolean" : "missing");
		return -1;
	}
	return 0;
}

static int str_get(const json_t *doc, const char *key, char **s, char *msg, size_t len)
{
	json_t *v = json_object_get(doc, key);
	if (v && json_is_string(v))
		*s = xstrdup(json_string_value(v));
	else if (!v || !json_is_null(v)) {
		snprintf(msg, len, "facts: %s is %s", key, v ? "not a string" : "missing");
		return -1;
	}
	return 0;
}

static const char *const type_names[] = {
	[PG_REPLICATION] = "postgres.replication",
	[PG_REPLICA] = "postgres.replica",
	[PG_ARCHIVER] = "postgres.archiver",
	[PG_SLOTS] = "postgres.slots",
};

const char *pg_type_name(enum pg_type t)
{
	return (unsigned)t < 4 ? type_names[t] : "?";
}

struct pg_fetched *pg_facts_fetched(struct pg_facts *pf)
{
	switch (pf->type) {
	case PG_REPLICATION:
		return &pf->u.replication.f;
	case PG_REPLICA:
		return &pf->u.replica.f;
	case PG_ARCHIVER:
		return &pf->u.archiver.f;
	case PG_SLOTS:
		return &pf->u.slots.f;
	}
	abort();
}

json_t *pg_facts_to_json(const struct pg_facts *pf)
{
	json_t *o = json_pack("{s:s}", "type", pg_type_name(pf->type));
	fields_put(o, pg_facts_fetched((struct pg_facts *)pf), fetched_fields);
	const struct pg_replication_facts *rn = &pf->u.replication;
	const struct pg_replica_facts *ra = &pf->u.replica;
	const struct pg_archiver_facts *ar = &pf->u.archiver;
	const struct pg_slots_facts *sl = &pf->u.slots;
	switch (pf->type) {
	case PG_REPLICATION:
		json_object_set_new(o, "in_recovery",
		                    rn->in_recovery < 0 ? json_null()
		                                        : json_boolean(rn->in_recovery));
		json_object_set_new(o, "walsenders",
		                    rows_json(rn->have_rows, rn->rows, rn->n, sizeof(*rn->rows),
		                              pg_walsender_fields));
		json_object_set_new(o, "inactive_slots",
		                    rn->inactive_slots ? json_string(rn->inactive_slots)
		                                       : json_null());
		break;
	case PG_REPLICA:
		json_object_set_new(o, "in_recovery",
		                    ra->in_recovery < 0 ? json_null()
		                                        : json_boolean(ra->in_recovery));
		json_object_set_new(o, "cluster_name",
		                    ra->cluster_name ? json_string(ra->cluster_name) : json_null());
		json_object_set_new(
			o, "receiver",
			section_json(ra->have_receiver, &ra->w, pg_wal_receiver_fields));
		break;
	case PG_ARCHIVER:
		json_object_set_new(o, "archiver",
		                    section_json(ar->have_stat, &ar->s, pg_archiver_stat_fields));
		json_object_set_new(o, "ready",
		                    section_json(ar->have_ready, &ar->r, pg_archive_ready_fields));
		break;
	case PG_SLOTS:
		json_object_set_new(o, "slots",
		                    rows_json(sl->have_slots, sl->rows, sl->n, sizeof(*sl->rows),
		                              pg_slot_fields));
		break;
	}
	return o;
}

void pg_facts_init(struct pg_facts *pf, enum pg_type t)
{
	memset(pf, 0, sizeof(*pf));
	pf->type = t;
	pg_fields_clear(pg_facts_fetched(pf), fetched_fields);
	if (t == PG_REPLICATION) {
		pf->u.replication.in_recovery = -1;
	} else if (t == PG_REPLICA) {
		pf->u.replica.in_recovery = -1;
		pg_fields_clear(&pf->u.replica.w, pg_wal_receiver_fields);
	} else if (t == PG_ARCHIVER) {
		pg_fields_clear(&pf->u.archiver.s, pg_archiver_stat_fields);
		pg_fields_clear(&pf->u.archiver.r, pg_archive_ready_fields);
	}
}

/* The type-specific part of doc into pf. */
static int facts_get(const json_t *doc, struct pg_facts *pf, char *msg, size_t len)
{
	struct pg_replication_facts *rn = &pf->u.replication;
	struct pg_replica_facts *ra = &pf->u.replica;
	struct pg_archiver_facts *ar = &pf->u.archiver;
	struct pg_slots_facts *sl = &pf->u.slots;
	switch (pf->type) {
	case PG_REPLICATION:
		if (bool_get(doc, "in_recovery", &rn->in_recovery, msg, len) < 0 ||
		    rows_get(doc, "walsenders", &rn->have_rows, (void **)&rn->rows, &rn->n,
		             sizeof(*rn->rows), pg_walsender_fields, msg, len) < 0)
			return -1;
		return str_get(doc, "inactive_slots", &rn->inactive_slots, msg, len);
	case PG_REPLICA:
		if (bool_get(doc, "in_recovery", &ra->in_recovery, msg, len) < 0 ||
		    str_get(doc, "cluster_name", &ra->cluster_name, msg, len) < 0)
			return -1;
		return section_get(doc, "receiver", &ra->have_receiver, &ra->w,
		                   pg_wal_receiver_fields, msg, len);
	case PG_ARCHIVER:
		if (section_get(doc, "archiver", &ar->have_stat, &ar->s, pg_archiver_stat_fields,
		                msg, len) < 0)
			return -1;
		return section_get(doc, "ready", &ar->have_ready, &ar->r, pg_archive_ready_fields,
		                   msg, len);
	case PG_SLOTS:
		return rows_get(doc, "slots", &sl->have_slots, (void **)&sl->rows, &sl->n,
		                sizeof(*sl->rows), pg_slot_fields, msg, len);
	}
	return -1;
}

/* No key but "type", the pg_fetched fields and the type's own. */
static int top_exact(const json_t *doc, const struct pg_facts *pf, char *msg, size_t len)
{
	static const size_t own[] = {
		[PG_REPLICATION] = 3,
		[PG_REPLICA] = 3,
		[PG_ARCHIVER] = 2,
		[PG_SLOTS] = 1,
	};
	if (json_object_size(doc) == 1 + pg_fields_count(fetched_fields) + own[pf->type])
		return 0;
	snprintf(msg, len, "facts: unknown fields");
	return -1;
}

/* Did the fetch stop early (a query failed)?  Exactly then it says why. */
static int stopped_early(const struct pg_facts *pf)
{
	const struct pg_replication_facts *rn = &pf->u.replication;
	const struct pg_replica_facts *ra = &pf->u.replica;
	switch (pf->type) {
	case PG_REPLICATION:
		return rn->in_recovery < 0 || (!rn->in_recovery && !rn->have_rows);
	case PG_REPLICA:
		return ra->in_recovery < 0 || (ra->in_recovery && !ra->have_receiver);
	case PG_ARCHIVER:
		return !pf->u.archiver.have_stat || !pf->u.archiver.have_ready;
	case PG_SLOTS:
		return !pf->u.slots.have_slots;
	}
	return 1;
}

static int consistent(struct pg_facts *pf, char *msg, size_t len)
{
	const struct pg_fetched *f = pg_facts_fetched(pf);
	if (!f->error != !stopped_early(pf) || (f->sqlstate && !f->error)) {
		snprintf(msg, len, "facts: the error and what was read disagree");
		return -1;
	}
	return 0;
}

int pg_facts_from_json(const json_t *doc, struct pg_facts *pf, char *msg, size_t len)
{
	const char *type = json_string_value(json_object_get(doc, "type"));
	int t = -1;
	for (int i = 0; type && i < 4; i++)
		if (!strcmp(type, type_names[i]))
			t = i;
	if (t < 0) {
		pg_facts_init(pf, PG_REPLICATION);
		snprintf(msg, len, "facts: not for a postgres check type");
		return -1;
	}
	pg_facts_init(pf, (enum pg_type)t);
	if (fields_get(doc, pg_facts_fetched(pf), fetched_fields, msg, len) < 0 ||
	    facts_get(doc, pf, msg, len) < 0 || top_exact(doc, pf, msg, len) < 0 ||
	    consistent(pf, msg, len) < 0) {
		pg_facts_free(pf);
		pg_facts_init(pf, (enum pg_type)t);
		return -1;
	}
	return 0;
}

void pg_facts_free(struct pg_facts *pf)
{
	pg_fields_free(pg_facts_fetched(pf), fetched_fields);
	switch (pf->type) {
	case PG_REPLICATION:
		for (size_t i = 0; i < pf->u.replication.n; i++)
			pg_fields_free(&pf->u.replication.rows[i], pg_walsender_fields);
		free(pf->u.replication.rows);
		free(pf->u.replication.inactive_slots);
		pf->u.replication.rows = NULL;
		pf->u.replication.n = 0;
		pf->u.replication.inactive_slots = NULL;
		break;
	case PG_REPLICA:
		free(pf->u.replica.cluster_name);
		pf->u.replica.cluster_name = NULL;
		pg_fields_free(&pf->u.replica.w, pg_wal_receiver_fields);
		break;
	case PG_ARCHIVER:
		pg_fields_free(&pf->u.archiver.s, pg_archiver_stat_fields);
		break;
	case PG_SLOTS:
		for (size_t i = 0; i < pf->u.slots.n; i++)
			pg_fields_free(&pf->u.slots.rows[i], pg_slot_fields);
		free(pf->u.slots.rows);
		pf->u.slots.rows = NULL;
		pf->u.slots.n = 0;
		break;
	}
}

void pg_judge(const struct pg_facts *pf, const json_t *params, struct gate_result *res)
{
	switch (pf->type) {
	case PG_REPLICATION:
		pg_replication_judge(&pf->u.replication, params, res);
		return;
	case PG_REPLICA:
		pg_replica_judge(&pf->u.replica, params, res);
		return;
	case PG_ARCHIVER:
		pg_archiver_judge(&pf->u.archiver, params, res);
		return;
	case PG_SLOTS:
		pg_slots_judge(&pf->u.slots, params, res);
		return;
	}
	gate_result_set(res, GATE_ERROR, "facts of an unknown check type");
}

void pg_judge_json(const json_t *doc, const json_t *params, struct gate_result *res)
{
	struct pg_facts pf;
	char msg[GATE_SUMMARY_MAX];
	if (pg_facts_from_json(doc, &pf, msg, sizeof(msg)) < 0)
		gate_result_set(res, GATE_ERROR, "%s", msg);
	else
		pg_judge(&pf, params, res);
	pg_facts_free(&pf);
}
