/* SPDX-License-Identifier: MIT */
/* Git hooks (hooks.h): the .gate/hooks.yaml loader, what Git says on stdin,
 * which runbooks guard it, and the git plumbing `gate hook` needs. */
#include "hooks.h"
#include "trust.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kit/alloc.h"
#include "kit/spawn.h"
#include "kit/strbuf.h"
#include "wrap.h"
#include "yamltree.h"

int hooks_known(const char *hook)
{
	return hook && (!strcmp(hook, "pre-push") || !strcmp(hook, "pre-receive") ||
	                !strcmp(hook, "update"));
}

int hooks_server_side(const char *hook)
{
	return hook && (!strcmp(hook, "pre-receive") || !strcmp(hook, "update"));
}

int oid_is_zero(const char *oid)
{
	if (!oid || !*oid)
		return 0;
	for (const char *p = oid; *p; p++)
		if (*p != '0')
			return 0;
	return 1;
}

/* SHA-1 (40) or SHA-256 (64) in lowercase hex. */
static int oid_valid(const char *oid)
{
	size_t n = strlen(oid);
	if (n != 40 && n != 64)
		return 0;
	return strspn(oid, "0123456789abcdef") == n;
}

void ref_updates_free(struct ref_update *u, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(u[i].ref);
		free(u[i].old_oid);
		free(u[i].new_oid);
	}
	free(u);
}

/* Split line into exactly want space-separated fields. */
static int split_fields(char *line, char **f, int want)
{
	int n = 0;
	char *save = NULL;
	for (char *t = strtok_r(line, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (n == want)
			return -1;
		f[n++] = t;
	}
	return n == want ? 0 : -1;
}

int hooks_parse_updates(const char *hook, const char *text, struct ref_update **out, size_t *n,
                        struct gate_error *err)
{
	int pre_push = !strcmp(hook, "pre-push");
	*out = NULL;
	*n = 0;
	size_t alloc = 0;
	int lineno = 0;
	for (const char *p = text; p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char *line = xstrndup(p, len);
		p = eol ? eol + 1 : p + len;
		lineno++;
		if (len && line[len - 1] == '\r')
			line[len - 1] = '\0';
		if (!line[strspn(line, " \t")]) {
			free(line);
			continue;
		}
		char *f[4];
		int bad = split_fields(line, f, pre_push ? 4 : 3) < 0;
		struct ref_update u = {0};
		if (!bad && pre_push) {
			/* <local ref> <local oid> <remote ref> <remote oid>: what
			 * changes is the remote ref, from remote oid to local oid. */
			bad = !oid_valid(f[1]) || !oid_valid(f[3]);
			u.ref = xstrdup(f[2]);
			u.new_oid = xstrdup(f[1]);
			u.old_oid = xstrdup(f[3]);
		} else if (!bad) {
			bad = !oid_valid(f[0]) || !oid_valid(f[1]);
			u.old_oid = xstrdup(f[0]);
			u.new_oid = xstrdup(f[1]);
			u.ref = xstrdup(f[2]);
		}
		free(line);
		if (bad || strncmp(u.ref, "refs/", 5)) {
			gate_error_set(
				err, "<stdin>", lineno, 1,
				"cannot understand what git gave the %s hook%s", hook,
				pre_push ? " (want: local-ref local-oid remote-ref remote-oid)"
					 : " (want: old-oid new-oid ref)");
			free(u.ref);
			free(u.old_oid);
			free(u.new_oid);
			ref_updates_free(*out, *n);
			*out = NULL;
			*n = 0;
			return -1;
		}
		if (*n == alloc) {
			alloc = alloc ? alloc * 2 : 8;
			*out = xrealloc(*out, alloc * sizeof(**out));
		}
		(*out)[(*n)++] = u;
	}
	return 0;
}

int hooks_ref_matches(const struct hook_rule *rule, const char *ref)
{
	/* No FNM_PATHNAME: refs/tags/v* covers refs/tags/v1/rc1 too, which is
	 * the careful reading for a gate (guard more, never less). */
	for (size_t i = 0; i < rule->nrefs; i++)
		if (fnmatch(rule->refs[i], ref, 0) == 0)
			return 1;
	return 0;
}

static void match_add_ref(struct hook_match *m, const char *ref)
{
	for (size_t i = 0; i < m->nrefs; i++)
		if (!strcmp(m->refs[i], ref))
			return;
	m->refs = xrealloc(m->refs, (m->nrefs + 2) * sizeof(*m->refs));
	m->refs[m->nrefs++] = xstrdup(ref);
	m->refs[m->nrefs] = NULL;
}

void hooks_match(const struct hook_set *set, const struct ref_update *u, size_t n,
                 struct hook_match **out, size_t *nout)
{
	*out = NULL;
	*nout = 0;
	if (!set)
		return;
	for (size_t r = 0; r < set->nrules; r++) {
		const struct hook_rule *rule = &set->rules[r];
		for (size_t i = 0; i < n; i++) {
			if (oid_is_zero(u[i].new_oid) || !hooks_ref_matches(rule, u[i].ref))
				continue;
			/* One evaluation per runbook, however many rules or
			 * refs name it. */
			struct hook_match *m = NULL;
			for (size_t k = 0; k < *nout; k++)
				if (!strcmp((*out)[k].runbook, rule->runbook))
					m = &(*out)[k];
			if (!m) {
				*out = xrealloc(*out, (*nout + 1) * sizeof(**out));
				m = &(*out)[(*nout)++];
				memset(m, 0, sizeof(*m));
				m->runbook = rule->runbook;
			}
			match_add_ref(m, u[i].ref);
		}
	}
}

void hook_matches_free(struct hook_match *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		strv_free(m[i].refs);
	free(m);
}

char *hooks_runbook_path(const char *top, const char *runbook)
{
	if (runbook[0] == '/' || !top)
		return xstrdup(runbook);
	return xasprintf("%s/%s", top, runbook);
}

static void read_to_end(int fd, struct strbuf *sb)
{
	char buf[4096];
	for (;;) {
		ssize_t k = read(fd, buf, sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		strbuf_add(sb, buf, (size_t)k);
	}
	close(fd);
}

/* git's answer, or why there is none. */
static int git_answer(char *const *argv, int status, char *o, char *e, char **out,
                      struct gate_error *err)
{
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char *nl = strchr(e, '\n');
		if (nl)
			*nl = '\0';
		gate_error_set(err, NULL, 0, 0, "git %s failed%s%s", argv[1] ? argv[1] : "",
		               *e ? ": " : "", e);
		free(o);
		free(e);
		return -1;
	}
	size_t len = strlen(o);
	while (len && (o[len - 1] == '\n' || o[len - 1] == '\r'))
		o[--len] = '\0';
	*out = o;
	free(e);
	return 0;
}

int hooks_git(char *const *argv, char **out, struct gate_error *err)
{
	int opipe[2], epipe[2];
	*out = NULL;
	if (pipe2(opipe, O_CLOEXEC) < 0) {
		gate_error_set(err, NULL, 0, 0, "pipe: %s", strerror(errno));
		return -1;
	}
	if (pipe2(epipe, O_CLOEXEC) < 0) {
		gate_error_set(err, NULL, 0, 0, "pipe: %s", strerror(errno));
		close(opipe[0]);
		close(opipe[1]);
		return -1;
	}
	/* git dies with gate, whatever kills gate; it gets SIGPIPE back
	 * (git push runs the pre-push hook with it ignored). */
	struct spawn_opts so = {.argv = argv,
	                        .in = SPAWN_DEVNULL,
	                        .out = opipe[1],
	                        .err = epipe[1],
	                        .death_signal = SIGKILL,
	                        .keep_ignored = 1,
	                        .reset_signal = SIGPIPE};
	struct spawn sp;
	int started = spawn_start(&sp, &so) == 0;
	close(opipe[1]);
	close(epipe[1]);
	if (!started) {
		if (sp.failed == SPAWN_EXEC)
			gate_error_set(err, NULL, 0, 0, "cannot run %s: %s", argv[0],
			               sp.error == ENOENT ? "not found in PATH"
			                                  : strerror(sp.error));
		else
			gate_error_set(err, NULL, 0, 0, "cannot run %s: %s: %s", argv[0],
			               spawn_step_name(sp.failed), strerror(sp.error));
		close(opipe[0]);
		close(epipe[0]);
		spawn_release(&sp);
		return -1;
	}
	/* git's answers here are a path or a word: read stdout to the end,
	 * then stderr (a few lines at most, well under a pipe buffer). */
	struct strbuf ob = STRBUF_INIT, eb = STRBUF_INIT;
	read_to_end(opipe[0], &ob);
	read_to_end(epipe[0], &eb);
	int waited = spawn_wait(&sp, -1), werr = errno;
	spawn_release(&sp);
	if (waited < 0) {
		gate_error_set(err, NULL, 0, 0, "cannot wait for git: %s", strerror(werr));
		strbuf_release(&ob);
		strbuf_release(&eb);
		return -1;
	}
	return git_answer(argv, sp.status, strbuf_detach(&ob), strbuf_detach(&eb), out, err);
}

char *hooks_script_text(const char *gate, const char *hook, const char *config)
{
	char *q_gate = sh_quote(gate), *q_hook = sh_quote(hook);
	char *q_conf = config ? sh_quote(config) : NULL;
	char *text = xasprintf(
		"#!/bin/sh\n" HOOKS_MARKER ": written by `gate hook install`\n"
		"# Refuses the push while a runbook named in .gate/hooks.yaml blocks.\n"
		"%s"
		"exec %s hook run %s%s%s \"$@\"\n",
		!strcmp(hook, "pre-push") ? "# Bypass in an emergency: git push --no-verify\n" : "",
		q_gate, q_hook, q_conf ? " --config " : "", q_conf ? q_conf : "");
	free(q_gate);
	free(q_hook);
	free(q_conf);
	return text;
}

/* ---- .gate/hooks.yaml ---- */

void hooks_config_release(struct hooks_config *hc)
{
	if (!hc)
		return;
	for (size_t i = 0; i < hc->nsets; i++) {
		struct hook_set *s = &hc->sets[i];
		for (size_t r = 0; r < s->nrules; r++) {
			strv_free(s->rules[r].refs);
			free(s->rules[r].runbook);
		}
		free(s->rules);
		free(s->hook);
	}
	free(hc->sets);
	free(hc->path);
	memset(hc, 0, sizeof(*hc));
}

const struct hook_set *hooks_find(const struct hooks_config *hc, const char *hook)
{
	for (size_t i = 0; i < hc->nsets; i++)
		if (!strcmp(hc->sets[i].hook, hook))
			return &hc->sets[i];
	return NULL;
}

static int load_refs(const struct yt_node *n, struct hook_rule *rule, struct gate_error *err)
{
	/* A single string is accepted as a one-element list: refs: refs/heads/main */
	if (n->kind == YT_SCALAR) {
		const char *s;
		if (yt_get_string(n, &s, err) < 0)
			return -1;
		if (strncmp(s, "refs/", 5))
			return yt_error(err, n,
			                "ref pattern '%s' must start with 'refs/' "
			                "(for a branch: 'refs/heads/%s')",
			                s, s);
		rule->refs = xcalloc(2, sizeof(char *));
		rule->refs[0] = xstrdup(s);
		rule->nrefs = 1;
		return 0;
	}
	if (yt_expect(n, YT_SEQUENCE, err) < 0)
		return -1;
	if (n->nitems == 0)
		return yt_error(err, n,
		                "'refs' is empty: a rule must name at least one ref pattern");
	rule->refs = xcalloc(n->nitems + 1, sizeof(char *));
	for (size_t i = 0; i < n->nitems; i++) {
		const struct yt_node *it = n->items[i];
		const char *s;
		if (yt_expect(it, YT_SCALAR, err) < 0 || yt_get_string(it, &s, err) < 0)
			return -1;
		/* A pattern that cannot match a ref would silently guard nothing. */
		if (strncmp(s, "refs/", 5))
			return yt_error(err, it,
			                "ref pattern '%s' must start with 'refs/' "
			                "(for a branch: 'refs/heads/%s')",
			                s, s);
		rule->refs[rule->nrefs++] = xstrdup(s);
	}
	return 0;
}

static int load_rule(const struct yt_node *n, struct hook_rule *rule, struct gate_error *err)
{
	static const char *const keys[] = {"refs", "runbook", "description", NULL};
	rule->line = n->line;
	rule->col = n->col;
	if (yt_expect(n, YT_MAPPING, err) < 0 || yt_check_keys(n, keys, "a hook rule", err) < 0)
		return -1;
	const struct yt_node *refs = yt_map_require(n, "refs", "a hook rule", err);
	if (!refs || load_refs(refs, rule, err) < 0)
		return -1;
	const struct yt_node *rb = yt_map_require(n, "runbook", "a hook rule", err);
	const char *s;
	if (!rb || yt_expect(rb, YT_SCALAR, err) < 0 || yt_get_string(rb, &s, err) < 0)
		return -1;
	if (!*s)
		return yt_error(err, rb, "'runbook' is empty");
	rule->runbook = xstrdup(s);
	const struct yt_node *d = yt_map_get(n, "description");
	if (d && (yt_expect(d, YT_SCALAR, err) < 0 || yt_get_string(d, &s, err) < 0))
		return -1;
	return 0;
}

static int load_hooks(const struct yt_node *hooks, struct hooks_config *hc, struct gate_error *err)
{
	if (yt_expect(hooks, YT_MAPPING, err) < 0)
		return -1;
	if (hooks->npairs == 0)
		return yt_error(err, hooks, "'hooks' is empty");
	hc->sets = xcalloc(hooks->npairs, sizeof(*hc->sets));
	for (size_t i = 0; i < hooks->npairs; i++) {
		const struct yt_node *k = hooks->pairs[i].key, *v = hooks->pairs[i].value;
		if (!hooks_known(k->value)) {
			static const char *const known[] = {"pre-push", "pre-receive", "update"};
			const char *guess = yt_closest(k->value, known, 3);
			if (guess)
				return yt_error(err, k, "unknown hook '%s'; did you mean '%s'?",
				                k->value, guess);
			return yt_error(err, k,
			                "unknown hook '%s' (gate reads pre-push, "
			                "pre-receive and update)",
			                k->value);
		}
		struct hook_set *set = &hc->sets[hc->nsets++];
		set->hook = xstrdup(k->value);
		if (yt_expect(v, YT_SEQUENCE, err) < 0)
			return -1;
		if (v->nitems == 0)
			return yt_error(err, v, "no rules for hook '%s'", k->value);
		set->rules = xcalloc(v->nitems, sizeof(*set->rules));
		for (size_t r = 0; r < v->nitems; r++) {
			set->nrules++;
			if (load_rule(v->items[r], &set->rules[r], err) < 0)
				return -1;
		}
	}
	return 0;
}

/* 1 when root looks like a hooks config: a mapping with hooks: and no checks:. */
static int is_hooks_doc(const struct yt_node *root)
{
	return root && root->kind == YT_MAPPING && yt_map_get(root, "hooks") &&
	       !yt_map_find(root, "checks");
}

static int load_doc(const struct yt_doc *doc, struct hooks_config *hc, struct gate_error *err)
{
	static const char *const keys[] = {"version", "hooks", NULL};
	const struct yt_node *root = doc->root;
	if (!root) {
		gate_error_set(err, doc->file, 0, 0, "empty file: expected version: 1 and hooks:");
		return -1;
	}
	if (yt_expect(root, YT_MAPPING, err) < 0 ||
	    yt_check_keys(root, keys, "the hooks configuration", err) < 0)
		return -1;
	const struct yt_node *v = yt_map_require(root, "version", "the hooks configuration", err);
	int64_t version;
	if (!v || yt_get_int(v, INT64_MIN, INT64_MAX, &version, err) < 0)
		return -1;
	if (version != 1)
		return yt_error(err, v, "unsupported version %lld (this gate reads version 1)",
		                (long long)version);
	const struct yt_node *hooks = yt_map_require(root, "hooks", "the hooks configuration", err);
	if (!hooks)
		return -1;
	return load_hooks(hooks, hc, err);
}

int hooks_load(struct hooks_config *hc, const char *path, struct gate_error *err)
{
	memset(hc, 0, sizeof(*hc));
	hc->path = xstrdup(path);
	/* Trusted like a runbook (trust.h): whoever can rewrite the rules can
	 * let any push through, so the file is checked on the descriptor that
	 * is then read, and an untrusted one is an error, not a warning. */
	int fd = trust_open(path, err);
	if (fd < 0)
		return -1;
	struct yt_doc doc = {0};
	int r = trust_check_fd(fd, path, TRUST_HOOKS, geteuid(), err);
	if (r == 0)
		r = yt_load_fd(&doc, fd, path, NULL, err);
	close(fd);
	if (r == 0)
		r = load_doc(&doc, hc, err);
	yt_doc_release(&doc);
	return r;
}

/* "pre-receive, update": the hooks hc has no rules for (NULL: none). */
static char *hooks_without_rules(const struct hooks_config *hc)
{
	static const char *const all[] = {"pre-push", "pre-receive", "update"};
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (hooks_find(hc, all[i]))
			continue;
		if (sb.len)
			strbuf_adds(&sb, ", ");
		strbuf_adds(&sb, all[i]);
	}
	if (!sb.len)
		return NULL;
	return strbuf_detach(&sb);
}

int hooks_lint_file(const char *path, struct gate_error *err)
{
	return hooks_lint(path, NULL, err);
}

int hooks_lint(const char *path, char **warning, struct gate_error *err)
{
	struct yt_doc doc = {0};
	struct gate_error perr = {0};
	if (warning)
		*warning = NULL;
	/* A file that does not even parse is not ours to judge: the runbook
	 * loader reports it. */
	if (yt_load_file(&doc, path, NULL, &perr) < 0 || !is_hooks_doc(doc.root)) {
		yt_doc_release(&doc);
		return 0;
	}
	struct hooks_config hc = {0};
	hc.path = xstrdup(path);
	int r = load_doc(&doc, &hc, err) < 0 ? -1 : 1;
	if (r > 0) {
		/* A hook with no section refuses every push: say which. */
		char *none = hooks_without_rules(&hc);
		const struct yt_pair *hooks = yt_map_find(doc.root, "hooks");
		if (none && warning)
			*warning = xasprintf("%s:%d:%d: no rules for %s: a hook installed "
			                     "for %s refuses every push",
			                     path, hooks ? hooks->key->line : 0,
			                     hooks ? hooks->key->col : 0, none,
			                     strchr(none, ',') ? "them" : "it");
		free(none);
	}
	hooks_config_release(&hc);
	yt_doc_release(&doc);
	return r;
}
