/* SPDX-License-Identifier: MIT */
/* POST to etcd v3's JSON gateway, endpoint after endpoint (etcd_client.h). */
#include "etcd_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks/http_fetch.h"
#include "etcd_v3.h"
#include "kit/alloc.h"
#include "kit/clock.h"
#include "kit/strbuf.h"

/* A gateway answer is a few hundred bytes per key; a group has few. */
#define ETCD_MAX_BODY (4u * 1024 * 1024)

static char *dup_param(const json_t *params, const char *name)
{
	const char *s = json_string_value(json_object_get(params, name));
	return s ? xstrdup(s) : NULL;
}

void etcd_client_init(struct etcd_client *c, const json_t *params)
{
	memset(c, 0, sizeof(*c));
	json_t *urls = json_object_get(params, "etcd");
	size_t i;
	json_t *u;
	c->urls = xcalloc(json_array_size(urls) + 1, sizeof(char *));
	json_array_foreach(urls, i, u) {
		if (json_is_string(u))
			c->urls[c->nurls++] = xstrdup(json_string_value(u));
	}
	c->ca_file = dup_param(params, "ca_file");
	c->cert_file = dup_param(params, "cert_file");
	c->key_file = dup_param(params, "key_file");
	c->user = dup_param(params, "user");
	c->password = dup_param(params, "password");
}

static void wipe_free(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

/* Wipe a secret string member of a JSON object before it is freed. */
static void wipe_member(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);
	if (json_is_string(v))
		explicit_bzero((char *)json_string_value(v), json_string_length(v));
}

void etcd_client_release(struct etcd_client *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nurls; i++)
		free(c->urls[i]);
	free(c->urls);
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	free(c->user);
	wipe_free(c->password);
	wipe_free(c->token);
	memset(c, 0, sizeof(*c));
}

/* What one endpoint gave. */
enum one_result { ONE_SKIP = -1, ONE_OK = 0, ONE_REFUSED = 1 };

/* POST text to url + path before deadline.  SKIP (with why in err) when the
 * endpoint gave nothing usable. */
static enum one_result post_one(const struct etcd_client *c, const char *url, const char *path,
                                const char *text, int64_t deadline, json_t **answer, int *code,
                                char *err, size_t errlen)
{
	char *full = http_join_url(url, path);
	json_t *hdrs = json_pack("{s:s}", "Content-Type", "application/json");
	if (c->token)
		json_object_set_new(hdrs, "Authorization", json_string(c->token));
	struct http_request rq = {
		.url = full,
		.method = "POST",
		.headers = hdrs,
		.body = text,
		.tls_verify = 1,
		.ca_file = c->ca_file,
		.max_body = ETCD_MAX_BODY,
		.deadline_ms = deadline,
		.cert_file = c->cert_file,
		.key_file = c->key_file,
	};
	struct http_response rs;
	enum one_result ret = ONE_SKIP;
	*answer = NULL;
	if (http_fetch(&rq, &rs) < 0) {
		snprintf(err, errlen, "%s", rs.err);
		goto out;
	}
	json_t *doc = json_loadb(rs.body, rs.body_len, 0, NULL);
	char msg[256];
	if (doc && etcd_answer_error(doc, code, msg, sizeof(msg))) {
		snprintf(err, errlen, "status %ld: %s", rs.status, msg);
		*answer = doc;
		ret = ONE_REFUSED;
	} else if (doc && rs.status == 200) {
		*answer = doc;
		ret = ONE_OK;
	} else {
		snprintf(err, errlen, "status %ld with %s", rs.status,
		         doc ? "JSON that is not an etcd answer" : "a body that is not JSON");
		json_decref(doc);
	}
out:
	/* The token lived on in the header object and curl's copy (wiped
	 * by http_fetch). */
	wipe_member(hdrs, "Authorization");
	json_decref(hdrs);
	free(full);
	http_response_release(&rs);
	return ret;
}

/* Each endpoint in turn, from c->first; what is left of the deadline is
 * shared among those not yet tried. */
static enum etcd_call_result post_any(struct etcd_client *c, const char *path, const char *text,
                                      int64_t deadline_ms, json_t **answer, int *code, char *err,
                                      size_t errlen)
{
	struct strbuf why = {0};
	enum etcd_call_result ret = ETCD_CALL_FAILED;
	for (size_t k = 0; k < c->nurls; k++) {
		size_t i = (c->first + k) % c->nurls;
		int64_t now = gate_mono_ms(), left = deadline_ms - now;
		int64_t mine = now + left / (int64_t)(c->nurls - k);
		char one[512] = "";
		enum one_result r = left > 0 ? post_one(c, c->urls[i], path, text, mine, answer,
		                                        code, one, sizeof(one))
		                             : ONE_SKIP;
		if (left <= 0)
			snprintf(one, sizeof(one), "no time left");
		char *shown = url_redact_password(c->urls[i]);
		if (r != ONE_SKIP) {
			c->first = i;
			ret = r == ONE_OK ? ETCD_CALL_OK : ETCD_CALL_REFUSED;
			snprintf(err, errlen, "etcd at %s: %s", shown, one);
			free(shown);
			break;
		}
		strbuf_addf(&why, "%s%s: %s", why.len ? "; " : "", shown, one);
		free(shown);
	}
	if (ret == ETCD_CALL_FAILED)
		snprintf(err, errlen, "no etcd endpoint answered: %s",
		         c->nurls ? why.buf : "none given");
	strbuf_release(&why);
	return ret;
}

static enum etcd_call_result authenticate(struct etcd_client *c, int64_t deadline_ms, char *err,
                                          size_t errlen)
{
	json_t *body = etcd_req_auth(c->user, c->password ? c->password : "");
	char *text = json_dumps(body, JSON_COMPACT);
	json_t *doc = NULL;
	int code = 0;
	wipe_free(c->token);
	c->token = NULL;
	enum etcd_call_result r = post_any(c, "/v3/auth/authenticate", text, deadline_ms, &doc,
	                                   &code, err, errlen);
	if (r == ETCD_CALL_OK && etcd_parse_auth(doc, &c->token, err, errlen) < 0)
		r = ETCD_CALL_FAILED;
	else if (r == ETCD_CALL_REFUSED) {
		char why[384];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "login as %s refused: %s", c->user, why);
	}
	json_decref(doc);
	wipe_free(text);
	wipe_member(body, "password");
	json_decref(body);
	return r;
}

enum etcd_call_result etcd_call(struct etcd_client *c, const char *path, const json_t *body,
                                int64_t deadline_ms, json_t **answer, int *code, char *err,
                                size_t errlen)
{
	char *text = json_dumps(body, JSON_COMPACT);
	enum etcd_call_result r = ETCD_CALL_OK;
	*answer = NULL;
	*code = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (c->user && !c->token) {
			r = authenticate(c, deadline_ms, err, errlen);
			if (r != ETCD_CALL_OK)
				break;
		}
		r = post_any(c, path, text, deadline_ms, answer, code, err, errlen);
		/* A token expires (etcd's simple tokens after 5 minutes unused):
		 * log in again once. */
		if (r != ETCD_CALL_REFUSED || *code != ETCD_CODE_UNAUTHENTICATED || !c->user)
			break;
		json_decref(*answer);
		*answer = NULL;
		wipe_free(c->token);
		c->token = NULL;
	}
	if (r != ETCD_CALL_OK) {
		json_decref(*answer);
		*answer = NULL;
	}
	free(text);
	return r;
}
