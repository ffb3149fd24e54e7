/* SPDX-License-Identifier: MIT */
/*
 * The runbook loader's parameter conversion (runbook_impl.h): a check's
 * `with:` converted, parameter by parameter, by the type in its module's
 * table (module.h): strings, integers, numbers, booleans, durations,
 * sizes, enums, lists, maps and free JSON become module.h's normalised
 * JSON; defaults are filled in; the module's validate() has the last
 * word.  A value that came from ${env:...}, or of a secret parameter, is
 * never quoted in an error.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"
#include "runbook_impl.h"
#include "kit/alloc.h"
#include "kit/strbuf.h"

/* ---- parameter values (module.h's normalised JSON) ---- */

static int scalar_or_error(struct loader *L, const struct yt_node *n, const char *what)
{
	if (n && n->kind == YT_SCALAR && !yt_is_null(n))
		return 0;
	return yt_error(L->err, n, "expected %s, got %s", what, yt_describe(n));
}

/* A scalar's text, interpolated when `interp`. */
static int scalar_text(struct loader *L, const struct yt_node *n, int interp, const char *what,
                       char **out)
{
	if (scalar_or_error(L, n, what) < 0)
		return -1;
	if (interp)
		return rb_interpolate(L, n, n->value, 0, out);
	*out = xstrdup(n->value);
	return 0;
}

static json_t *conv_int(struct loader *L, const struct yt_node *n, int interp)
{
	char *s;
	int64_t v;
	size_t mark = L->nscratch;
	if (scalar_text(L, n, interp, "an integer", &s) < 0)
		return NULL;
	if (yt_parse_int(s, &v) < 0) {
		char *shown = rb_shown_value(L, mark, s);
		yt_error(L->err, n, "expected an integer, got %s", shown);
		free(shown);
		free(s);
		return NULL;
	}
	free(s);
	return json_integer((json_int_t)v);
}

static json_t *conv_number(struct loader *L, const struct yt_node *n, int interp)
{
	char *s, *end;
	int64_t iv;
	size_t mark = L->nscratch;
	if (scalar_text(L, n, interp, "a number", &s) < 0)
		return NULL;
	if (yt_parse_int(s, &iv) == 0) {
		free(s);
		return json_integer((json_int_t)iv);
	}
	errno = 0;
	double d = strtod(s, &end);
	int ok = *s && !*end && errno == 0 && isfinite(d) &&
	         strspn(s, "+-0123456789.eE") == strlen(s);
	if (!ok) {
		char *shown = rb_shown_value(L, mark, s);
		yt_error(L->err, n, "expected a number, got %s", shown);
		free(shown);
		free(s);
		return NULL;
	}
	free(s);
	return json_real(d);
}

static json_t *conv_duration(struct loader *L, const struct yt_node *n, int interp)
{
	char *s;
	int64_t ms, dummy;
	size_t mark = L->nscratch;
	if (scalar_text(L, n, interp, "a duration", &s) < 0)
		return NULL;
	int rc = parse_duration_ms(s, &ms);
	if (rc < 0) {
		char *shown = rb_shown_value(L, mark, s);
		if (rc == GATE_VALUE_TOO_BIG)
			yt_error(L->err, n, "duration %s is over the limit of %s", shown,
			         GATE_DURATION_MAX_TEXT);
		else if (yt_parse_int(s, &dummy) == 0)
			yt_error(L->err, n, "duration %s needs a unit (ms, s, m, h, d)", shown);
		else
			yt_error(L->err, n,
			         "invalid duration %s (expected e.g. 500ms, 90s, 15m, 1h30m, 1d)",
			         shown);
		free(shown);
		free(s);
		return NULL;
	}
	free(s);
	return json_integer((json_int_t)ms);
}

static json_t *conv_size(struct loader *L, const struct yt_node *n, int interp)
{
	char *s;
	uint64_t b;
	size_t mark = L->nscratch;
	if (scalar_text(L, n, interp, "a size", &s) < 0)
		return NULL;
	int rc = parse_size_bytes(s, &b);
	if (rc < 0) {
		char *shown = rb_shown_value(L, mark, s);
		if (rc == GATE_VALUE_TOO_BIG)
			yt_error(L->err, n, "size %s is over the limit of %s", shown,
			         GATE_SIZE_MAX_TEXT);
		else
			yt_error(
				L->err, n,
				"invalid size %s (expected e.g. 512kB, 64MB, 64MiB, 1GiB or bytes)",
				shown);
		free(shown);
		free(s);
		return NULL;
	}
	free(s);
	return json_integer((json_int_t)b);
}

static json_t *conv_enum(struct loader *L, const struct gate_param *p, const struct yt_node *n,
                         int interp)
{
	char *s;
	size_t mark = L->nscratch;
	if (scalar_text(L, n, interp, "a string", &s) < 0)
		return NULL;
	const char *c = p->choices ? p->choices : "";
	size_t len = strlen(s);
	while (*c) {
		size_t l = strcspn(c, "|");
		if (l == len && !strncmp(c, s, len)) {
			free(s);
			return json_stringn(c, l);
		}
		c += l + (c[l] == '|');
	}
	char *shown = rb_shown_value(L, mark, s);
	yt_error(L->err, n, "expected one of %s, got %s", p->choices ? p->choices : "(none)",
	         shown);
	free(shown);
	free(s);
	return NULL;
}

static json_t *conv_string_list(struct loader *L, const struct yt_node *n, int interp)
{
	if (yt_expect(n, YT_SEQUENCE, L->err) < 0)
		return NULL;
	json_t *a = json_array();
	for (size_t i = 0; i < n->nitems; i++) {
		char *s;
		if (scalar_text(L, n->items[i], interp, "a string", &s) < 0) {
			json_decref(a);
			return NULL;
		}
		json_array_append_new(a, json_string(s));
		free(s);
	}
	return a;
}

static json_t *conv_int_list(struct loader *L, const struct yt_node *n, int interp)
{
	if (yt_expect(n, YT_SEQUENCE, L->err) < 0)
		return NULL;
	json_t *a = json_array();
	for (size_t i = 0; i < n->nitems; i++) {
		json_t *v = conv_int(L, n->items[i], interp);
		if (!v) {
			json_decref(a);
			return NULL;
		}
		json_array_append_new(a, v);
	}
	return a;
}

static json_t *conv_string_map(struct loader *L, const struct yt_node *n, int interp)
{
	if (yt_expect(n, YT_MAPPING, L->err) < 0)
		return NULL;
	json_t *o = json_object();
	for (size_t i = 0; i < n->npairs; i++) {
		char *s;
		if (scalar_text(L, n->pairs[i].value, interp, "a string", &s) < 0) {
			json_decref(o);
			return NULL;
		}
		json_object_set_new(o, n->pairs[i].key->value, json_string(s));
		free(s);
	}
	return o;
}

static int is_core_float(const char *s)
{
	/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
	const char *p = s;
	int digits = 0;
	if (*p == '-' || *p == '+')
		p++;
	while (*p >= '0' && *p <= '9')
		p++, digits++;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++, digits++;
	}
	if (!digits)
		return 0;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return !*p;
}

/* Any YAML value to JSON: plain scalars typed by the YAML core schema,
 * quoted (or !!str) ones strings. */
json_t *rb_conv_json(struct loader *L, const struct yt_node *n, int interp)
{
	if (n->kind == YT_SEQUENCE) {
		json_t *a = json_array();
		for (size_t i = 0; i < n->nitems; i++) {
			json_t *v = rb_conv_json(L, n->items[i], interp);
			if (!v) {
				json_decref(a);
				return NULL;
			}
			json_array_append_new(a, v);
		}
		return a;
	}
	if (n->kind == YT_MAPPING) {
		json_t *o = json_object();
		for (size_t i = 0; i < n->npairs; i++) {
			json_t *v = rb_conv_json(L, n->pairs[i].value, interp);
			if (!v) {
				json_decref(o);
				return NULL;
			}
			json_object_set_new(o, n->pairs[i].key->value, v);
		}
		return o;
	}
	if (yt_is_plain(n)) {
		const char *s = n->value;
		int64_t iv;
		if (yt_is_null(n))
			return json_null();
		if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
			return json_true();
		if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
			return json_false();
		if (yt_parse_int(s, &iv) == 0)
			return json_integer((json_int_t)iv);
		if (!strncmp(s, "0x", 2) || !strncmp(s, "0o", 2)) {
			char *end;
			errno = 0;
			unsigned long long u = strtoull(s + 2, &end, s[1] == 'x' ? 16 : 8);
			if (s[2] && !*end && !errno && u <= (unsigned long long)INT64_MAX)
				return json_integer((json_int_t)u);
		}
		if (is_core_float(s)) {
			double d = strtod(s, NULL);
			if (isfinite(d))
				return json_real(d);
		}
		if (!strcmp(s, ".inf") || !strcmp(s, "-.inf") || !strcmp(s, ".nan") ||
		    !strcmp(s, ".NaN") || !strcmp(s, ".Inf") || !strcmp(s, "-.Inf")) {
			yt_error(L->err, n, "'%s' cannot be represented in JSON", s);
			return NULL;
		}
	}
	char *s;
	if (interp) {
		if (rb_interpolate(L, n, n->value, 0, &s) < 0)
			return NULL;
	} else {
		s = xstrdup(n->value);
	}
	json_t *j = json_string(s);
	free(s);
	if (!j)
		yt_error(L->err, n, "string is not valid UTF-8");
	return j;
}

static json_t *conv_param(struct loader *L, const struct gate_param *p, const struct yt_node *n,
                          int interp)
{
	int b;
	char *s;
	json_t *j;
	switch (p->type) {
	case GATE_P_STRING:
		if (scalar_text(L, n, interp, "a string", &s) < 0)
			return NULL;
		j = json_string(s);
		free(s);
		if (!j)
			yt_error(L->err, n, "string is not valid UTF-8");
		return j;
	case GATE_P_INT:
		return conv_int(L, n, interp);
	case GATE_P_BOOL:
		if (yt_get_bool(n, &b, L->err) < 0)
			return NULL;
		return json_boolean(b);
	case GATE_P_DURATION:
		return conv_duration(L, n, interp);
	case GATE_P_SIZE:
		return conv_size(L, n, interp);
	case GATE_P_NUMBER:
		return conv_number(L, n, interp);
	case GATE_P_STRING_LIST:
		return conv_string_list(L, n, interp);
	case GATE_P_STRING_MAP:
		return conv_string_map(L, n, interp);
	case GATE_P_ENUM:
		return conv_enum(L, p, n, interp);
	case GATE_P_JSON:
		return rb_conv_json(L, n, interp);
	case GATE_P_INT_LIST:
		return conv_int_list(L, n, interp);
	default:
		yt_error(L->err, n, "parameter '%s' has an unknown type %d in its module", p->name,
		         (int)p->type);
		return NULL;
	}
}

/* A parameter's default, parsed once per parameter table entry. */
static json_t *default_value(struct loader *L, const struct gate_param *p,
                             const struct rb_param_owner *o, const struct yt_node *at)
{
	for (size_t i = 0; i < L->ndefaults; i++)
		if (L->defaults[i].param == p)
			return json_deep_copy(L->defaults[i].value);
	json_t *v = NULL;
	struct gate_error e = {0};
	if (p->type == GATE_P_STRING || p->type == GATE_P_ENUM) {
		/* Taken verbatim: "" is a fine default for a string. */
		v = json_string(p->default_value);
		if (v && p->type == GATE_P_ENUM) {
			/* Must still be one of the choices. */
			struct yt_node tmp = {0};
			tmp.kind = YT_SCALAR;
			tmp.value = (char *)p->default_value;
			tmp.len = strlen(p->default_value);
			tmp.style = YT_DOUBLE;
			tmp.file = "";
			struct gate_error *saved = L->err;
			L->err = &e;
			json_t *c = conv_enum(L, p, &tmp, 0);
			L->err = saved;
			json_decref(c);
			if (!c) {
				json_decref(v);
				v = NULL;
			}
		}
	} else {
		struct yt_doc d;
		struct gate_error *saved = L->err;
		L->err = &e;
		if (yt_load_string(&d, "", p->default_value, strlen(p->default_value), NULL, &e) ==
		            0 &&
		    d.root)
			v = conv_param(L, p, d.root, 0);
		L->err = saved;
		yt_doc_release(&d);
	}
	if (!v) {
		yt_error(L->err, at, "%s '%s': invalid default '%s' for parameter '%s'%s%s",
		         o->kind, o->name, p->default_value, p->name, e.set ? ": " : "",
		         e.set ? e.msg : "");
		return NULL;
	}
	L->defaults = xrealloc(L->defaults, (L->ndefaults + 1) * sizeof(*L->defaults));
	L->defaults[L->ndefaults].param = p;
	L->defaults[L->ndefaults].value = v;
	L->ndefaults++;
	return json_deep_copy(v);
}

/* A module's validate() message may quote a parameter's value, and so a
 * value from ${env:...}: every such value of the check is masked, and
 * what redact_string() recognises (password=, URI userinfo) too.  A value
 * too short to be masked without garbling the message (shorter than
 * REDACT_MIN_SECRET_LEN) that the message contains hides the whole
 * message: it cannot be told from the module's own words. */
static void mask_module_message(struct loader *L, char *msg, size_t len)
{
	char *red = redact_string(msg);
	for (size_t i = 0; i < L->ncheck_envs; i++) {
		const char *v = L->check_envs[i];
		size_t n = strlen(v);
		if (!n || !strstr(red, v))
			continue;
		if (n < REDACT_MIN_SECRET_LEN) {
			free(red);
			red = xstrdup("invalid value (the module's message is not shown: it may "
			              "quote a value from ${env:...})");
			break;
		}
		struct strbuf sb = STRBUF_INIT;
		const char *p = red, *hit;
		while ((hit = strstr(p, v))) {
			strbuf_add(&sb, p, (size_t)(hit - p));
			strbuf_adds(&sb, "***");
			p = hit + n;
		}
		strbuf_adds(&sb, p);
		free(red);
		red = strbuf_detach(&sb);
	}
	snprintf(msg, len, "%s", red);
	free(red);
}

/* The table's entry for key k, or NULL with "unknown parameter" at k. */
static const struct gate_param *find_param(struct loader *L, const struct rb_param_owner *o,
                                           size_t np, const struct yt_node *k)
{
	const struct gate_param *table = o->params;
	for (size_t j = 0; j < np; j++)
		if (!strcmp(table[j].name, k->value))
			return &table[j];
	const char **cands = xcalloc(np + 1, sizeof(*cands));
	for (size_t j = 0; j < np; j++)
		cands[j] = table[j].name;
	const char *near = yt_closest(k->value, cands, np);
	if (near)
		yt_error(L->err, k, "unknown parameter '%s' for %s '%s'; did you mean '%s'?",
		         k->value, o->kind, o->name, near);
	else
		yt_error(L->err, k, "unknown parameter '%s' for %s '%s'", k->value, o->kind,
		         o->name);
	free(cands);
	return NULL;
}

/* One `with:` entry into out.  The ${env:...} values in a secret
 * parameter (or a string map: HTTP headers) become secrets. */
static int convert_one(struct loader *L, const struct rb_param_owner *o, json_t *out, size_t np,
                       const struct yt_pair *kv)
{
	const struct gate_param *p = find_param(L, o, np, kv->key);
	if (!p)
		return -1;
	rb_scratch_clear(L);
	L->secret_param = (p->flags & GATE_PF_SECRET) != 0;
	json_t *v = conv_param(L, p, kv->value, 1);
	L->secret_param = 0;
	if (!v)
		return -1;
	if ((p->flags & GATE_PF_SECRET) || p->type == GATE_P_STRING_MAP) {
		if (rb_scratch_to_secrets(L, kv->value) < 0) {
			json_decref(v);
			return -1;
		}
	} else {
		rb_scratch_clear(L);
	}
	json_object_set_new(out, p->name, v);
	return 0;
}

/* The parameters `with:` left out: required ones are an error, the others
 * get their defaults. */
static int fill_defaults(struct loader *L, const struct rb_param_owner *o, json_t *out, size_t np,
                         const struct yt_node *at)
{
	for (size_t j = 0; j < np; j++) {
		const struct gate_param *p = &o->params[j];
		if (json_object_get(out, p->name))
			continue;
		if (p->flags & GATE_PF_REQUIRED)
			return yt_error(L->err, at,
			                "%s: missing required parameter '%s' for type '%s'",
			                o->what, p->name, o->name);
		if (!p->default_value)
			continue;
		json_t *v = default_value(L, p, o, at);
		if (!v)
			return -1;
		json_object_set_new(out, p->name, v);
	}
	return 0;
}

/* The module's validate(), its message masked, at the parameter it names
 * (else at `with:`, else at the check). */
static int validate_params(struct loader *L, const struct rb_param_owner *o, json_t *params,
                           const struct yt_node *check, const struct yt_node *with)
{
	const char *param = NULL;
	char msg[512] = "";
	if (o->validate(params, &param, msg, sizeof(msg)) == 0)
		return 0;
	const struct yt_pair *kp = param ? yt_map_find(with, param) : NULL;
	if (!msg[0])
		snprintf(msg, sizeof(msg), "invalid parameters");
	mask_module_message(L, msg, sizeof(msg));
	if (kp)
		return yt_error(L->err, kp->key, "%s: %s: %s", o->what, param, msg);
	return yt_error(L->err, with ? with : check, "%s: %s%s%s", o->what, param ? param : "",
	                param ? ": " : "", msg);
}

int rb_convert_params(struct loader *L, const struct rb_param_owner *o, const struct yt_node *at,
                      const struct yt_node *map, json_t **out)
{
	size_t np = 0;
	while (o->params && o->params[np].name)
		np++;
	*out = json_object();
	strv_free(L->check_envs);
	L->check_envs = NULL;
	L->ncheck_envs = 0;
	for (size_t i = 0; map && i < map->npairs; i++)
		if (convert_one(L, o, *out, np, &map->pairs[i]) < 0)
			return -1;
	if (fill_defaults(L, o, *out, np, at) < 0)
		return -1;
	if (o->validate && validate_params(L, o, *out, at, map) < 0)
		return -1;
	return 0;
}

int rb_convert_with(struct loader *L, struct rb_check *c, const struct yt_node *check,
                    const struct yt_node *with)
{
	char *what = xasprintf("check '%s'", c->id);
	struct rb_param_owner o = {what, "check type", c->ct->name, c->ct->params, c->ct->validate};
	int rc = rb_convert_params(L, &o, check, with, &c->params);
	free(what);
	return rc;
}
