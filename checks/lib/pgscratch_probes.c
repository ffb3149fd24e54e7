/* SPDX-License-Identifier: MIT */
/* The probes of a rehearsal, run on the scratch server (pgscratch.h):
 * each in its own read-only transaction over the server's socket, its
 * value judged by pgscratch_judge.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "kit/alloc.h"
#include "lib/pgconn.h"
#include "pgscratch_int.h"

/* The connection for database db: the open one when it is that
 * database's and still good, else a new one.  0, or -1 with c->err. */
static int connect_db(struct pgscratch *s, struct pgconn *c, char **cur_db, const char *db)
{
	if (c->conn && *cur_db && !strcmp(*cur_db, db) && PQstatus(c->conn) == CONNECTION_OK)
		return 0;
	pgconn_close(c);
	free(*cur_db);
	*cur_db = xstrdup(db);
	char *ci = pgscratch_conninfo(s, db);
	int r = pgconn_open(c, ci, pgs_budget_end(s));
	free(ci);
	if (r < 0)
		pgconn_close(c); /* c->err stays */
	return r;
}

/* pgconn's message without its "where: " (the socket's path). */
static const char *bare(const struct pgconn *c)
{
	size_t n = strlen(c->where);
	if (n && !strncmp(c->err, c->where, n) && !strncmp(c->err + n, ": ", 2))
		return c->err + n + 2;
	return c->err;
}

/* One probe: its result object; 1 when it passed. */
static int run_one(struct pgscratch *s, const json_t *p, size_t i, const char *dflt_db,
                   struct pgconn *c, char **cur_db, json_t *res, char *why, size_t whylen)
{
	const char *sql = json_string_value(json_object_get(p, "sql"));
	const char *db = json_string_value(json_object_get(p, "database"));
	json_t *name = json_object_get(p, "name");
	(void)i;
	json_object_set_new(res, "name", name ? json_incref(name) : json_null());
	json_object_set_new(res, "sql", json_string(sql ? sql : ""));
	json_object_set_new(res, "expect", pgscratch_probe_expect(p));
	if (connect_db(s, c, cur_db, db ? db : dflt_db) < 0) {
		snprintf(why, whylen, "cannot connect to database %s: %s", db ? db : dflt_db,
		         bare(c));
		json_object_set_new(res, "value", json_null());
		json_object_set_new(res, "error", json_string(why));
		return 0;
	}
	PGresult *r = pgconn_query(c, sql);
	if (!r) {
		snprintf(why, whylen, "%s", bare(c));
		json_object_set_new(res, "value", json_null());
		json_object_set_new(res, "error", json_string(why));
		return 0;
	}
	json_t *v = NULL;
	if (PQnfields(r) > 0 && PQntuples(r) > 0)
		v = pgscratch_probe_value(pgconn_val(r, 0, 0), (unsigned)PQftype(r, 0));
	PQclear(r);
	int ok = pgscratch_probe_judge(p, v, why, whylen);
	json_object_set_new(res, "value", v ? v : json_null());
	if (!ok)
		json_object_set_new(res, "error", json_string(why));
	return ok;
}

int pgscratch_probes_db(struct pgscratch *s, const json_t *probes, const char *default_db,
                        json_t **out, char *msg, size_t msglen)
{
	*out = json_array();
	struct pgconn c;
	memset(&c, 0, sizeof(c));
	char *cur_db = NULL;
	int failed = 0;
	size_t i;
	const json_t *p;
	json_array_foreach(probes, i, p) {
		json_t *res = json_object();
		char why[400] = "";
		int ok = run_one(s, p, i, default_db ? default_db : "postgres", &c, &cur_db, res,
		                 why, sizeof(why));
		json_object_set_new(res, "ok", json_boolean(ok));
		json_array_append_new(*out, res);
		if (!ok && failed++ == 0) {
			char label[200];
			pgscratch_probe_label(p, i, label, sizeof(label));
			snprintf(msg, msglen, "%s: %s", label, why);
		}
	}
	pgconn_close(&c);
	free(cur_db);
	return failed;
}

int pgscratch_probes(struct pgscratch *s, const json_t *probes, json_t **out, char *msg,
                     size_t msglen)
{
	return pgscratch_probes_db(s, probes, NULL, out, msg, msglen);
}
