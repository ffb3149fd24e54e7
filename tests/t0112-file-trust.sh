#!/bin/bash
# Runbooks, the policies they include and check modules are trusted the
# way doas and sudo trust their configuration.  As root: a file, or the
# directory it sits in, that is not owned by root or is writable by group
# or others is refused (78) by run, run --dry-run and check, and lint only
# warns; a module is checked before it is opened (its constructor never
# runs).  As another user: the owner must be root or that user.
. "$(dirname "$0")/lib/test-lib.sh"
require_cmd cc pkg-config setpriv

if [ "$(id -u)" != 0 ]; then
	test_skip 'file trust as root' 'needs root (chown, setpriv)'
	test_done
fi
cd "$TEST_TMP" || exit 1

NOBODY=$(id -u nobody)
# write_rb FILE: a runbook with one passing check, mode 0644.
write_rb() {
	cat >"$1" <<'EOF'
version: 1
name: trust
checks:
  - id: ok
    type: exec
    with:
      command: ["true"]
      protocol: exit
EOF
	chmod 644 "$1"
}

write_rb good.yaml
test_expect_success 'a root-owned 0644 runbook in a 0755 directory is accepted' '
	expect_status 0 gate check good.yaml >out 2>err &&
	expect_status 0 gate run good.yaml -- touch ran && test -e ran && rm ran
'

write_rb gw.yaml && chmod 664 gw.yaml
test_expect_success 'a group-writable runbook: run, run --dry-run and check refuse (78)' '
	expect_status 78 gate run gw.yaml -- touch ran 2>err && test ! -e ran &&
	test_grep "error: gw.yaml: writable by group (mode 0664).*chmod go-w gw.yaml" err &&
	expect_status 78 gate run --dry-run gw.yaml -- true 2>err &&
	test_grep "gw.yaml: writable by group" err &&
	expect_status 78 gate check gw.yaml >out 2>err &&
	test_grep "gw.yaml: writable by group" err &&
	test_grep -v "ALLOWED\|BLOCKED" out
'

test_expect_success '... lint warns and exits 0' '
	expect_status 0 gate lint gw.yaml >out 2>err &&
	test_grep "warning: gw.yaml: writable by group (mode 0664)" err &&
	test_grep "gw.yaml: ok" out
'

write_rb theirs.yaml && chown nobody theirs.yaml
test_expect_success 'a runbook owned by an unprivileged user is refused, naming the fix' '
	expect_status 78 gate run theirs.yaml -- touch ran 2>err && test ! -e ran &&
	test_grep "theirs.yaml: owned by uid $NOBODY, not root; gate runs as root and would run the checks it names: chown root theirs.yaml" err &&
	expect_status 78 gate check theirs.yaml 2>err &&
	expect_status 0 gate lint theirs.yaml 2>err &&
	test_grep "warning: theirs.yaml: owned by uid $NOBODY" err
'

write_rb both.yaml && chown nobody both.yaml && chmod 666 both.yaml
test_expect_success 'owner and mode wrong: both named, both fixed by the command shown' '
	expect_status 78 gate check both.yaml 2>err &&
	test_grep "owned by uid $NOBODY, not root and writable by group and others (mode 0666).*chown root both.yaml && chmod go-w both.yaml" err
'

mkdir inc
cat >inc/top.yaml <<'EOF'
version: 1
name: inc
include: [policy.yaml]
checks:
  - id: top
    type: exec
    with: {command: ["true"], protocol: exit}
EOF
cat >inc/policy.yaml <<'EOF'
checks:
  - id: from-policy
    type: exec
    with: {command: ["true"], protocol: exit}
EOF
chmod 644 inc/top.yaml inc/policy.yaml
test_expect_success 'an included policy owned by nobody is refused, by its name' '
	expect_status 0 gate check inc/top.yaml >out &&
	chown nobody inc/policy.yaml &&
	expect_status 78 gate check inc/top.yaml 2>err &&
	test_grep "error: inc/policy.yaml: owned by uid $NOBODY, not root" err &&
	chown root inc/policy.yaml
'

mkdir -m 1777 sticky && write_rb sticky/rb.yaml
mkdir -m 775 groupdir && write_rb groupdir/rb.yaml
mkdir theirdir && write_rb theirdir/rb.yaml && chown nobody theirdir
test_expect_success 'the directory counts: world-writable (even sticky), group-writable, not root'"'"'s' '
	expect_status 78 gate check sticky/rb.yaml 2>err &&
	test_grep "sticky/rb.yaml: its directory sticky is writable by group and others (mode 1777).*chmod go-w sticky" err &&
	expect_status 78 gate check groupdir/rb.yaml 2>err &&
	test_grep "its directory groupdir is writable by group (mode 0775)" err &&
	expect_status 78 gate check theirdir/rb.yaml 2>err &&
	test_grep "its directory theirdir is owned by uid $NOBODY, not root.*chown root theirdir" err
'

mkdir safe
test_expect_success 'a symbolic link: the directory of the file it leads to counts too' '
	ln -s ../sticky/rb.yaml safe/link.yaml &&
	expect_status 78 gate check safe/link.yaml 2>err &&
	test_grep "safe/link.yaml: its directory .*sticky is writable by group and others" err &&
	ln -s ../good.yaml sticky/link.yaml &&
	expect_status 78 gate check sticky/link.yaml 2>err &&
	test_grep "its directory sticky is writable by group and others" err &&
	ln -s ../good.yaml safe/ok.yaml &&
	expect_status 0 gate check safe/ok.yaml >out
'

# A module whose constructor leaves a marker: proof of whether it was
# ever opened.
cat >mod.c <<EOF
#include <stdio.h>
#include "gate/module.h"
__attribute__((constructor)) static void opened(void)
{
	FILE *f = fopen("$TEST_TMP/constructor-ran", "w");
	if (f)
		fclose(f);
}
static void run(const json_t *p, const struct gate_run_env *e, struct gate_result *r)
{
	(void)p;
	(void)e;
	gate_result_set(r, GATE_PASS, "trusted module");
}
static const struct gate_check_type types[] = {
	{"trust.mod", "s", NULL, NULL, NULL, run},
};
GATE_EXPORT const struct gate_module gate_module = {GATE_ABI_VERSION, "trust", "1.0", types, 1};
EOF
cat >modrb.yaml <<'EOF'
version: 1
name: modrb
checks:
  - id: m
    type: trust.mod
EOF
chmod 644 modrb.yaml
mkdir mods
test_expect_success 'the test module builds' '
	cc -shared -fPIC -fvisibility=hidden -I"$GATE_SOURCE_DIR" $(pkg-config --cflags jansson) \
		-o mods/trust.so mod.c &&
	chmod 755 mods/trust.so
'

test_expect_success 'a group-writable module: 78, and its constructor never ran' '
	chmod 775 mods/trust.so &&
	expect_status 78 gate check --module-path mods modrb.yaml >out 2>err &&
	test ! -e constructor-ran &&
	test_grep "mods/trust.so: not loaded: writable by group (mode 0775); gate runs as root and would run its code as soon as it is loaded: chmod go-w mods/trust.so" err &&
	test_grep "error: mods/trust.so is in the module path and not trusted" err &&
	expect_status 78 gate run --module-path mods good.yaml -- touch ran 2>err &&
	test ! -e ran && test ! -e constructor-ran &&
	expect_status 78 gate lint --module-path mods modrb.yaml >out 2>err &&
	test_grep "warning: module .*trust.so: not loaded" err &&
	test ! -e constructor-ran &&
	chmod 755 mods/trust.so
'

test_expect_success 'a module in a world-writable directory: 78, constructor never ran' '
	chmod 1777 mods &&
	expect_status 78 gate check --module-path mods modrb.yaml >out 2>err &&
	test ! -e constructor-ran &&
	test_grep "its directory mods is writable by group and others (mode 1777)" err &&
	GATE_MODULE_PATH=$TEST_TMP/mods expect_status 78 gate check -q modrb.yaml >out 2>err &&
	test ! -e constructor-ran &&
	test_grep "error: module .*trust.so: not loaded" err &&
	chmod 755 mods
'

test_expect_success 'a module owned by nobody: 78, constructor never ran' '
	chown nobody mods/trust.so &&
	expect_status 78 gate check --module-path mods modrb.yaml >out 2>err &&
	test ! -e constructor-ran &&
	test_grep "owned by uid $NOBODY, not root" err &&
	chown root mods/trust.so
'

test_expect_success 'the same module, trusted, loads (the marker test can tell)' '
	expect_status 0 gate check --module-path mods modrb.yaml >out 2>err &&
	test -e constructor-ran && test_grep "trusted module" out
'

# Not root: the owner must be root or the user gate runs as.
mkdir -m 755 nb && chown nobody nb
write_rb nb/mine.yaml && chown nobody nb/mine.yaml
write_rb nb/roots.yaml
write_rb nb/daemons.yaml && chown daemon nb/daemons.yaml
as_nobody() { setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$@"; }
# nobody runs a copy: the build tree may be where only root can reach
NOBODY_GATE=$(gate_copy "$TEST_TMP/inst") || exit 1
test_expect_success 'as nobody: its own runbook and a root-owned one are accepted' '
	as_nobody "$NOBODY_GATE" check nb/mine.yaml >out 2>err &&
	as_nobody "$NOBODY_GATE" check nb/roots.yaml >out 2>err
'

test_expect_success 'as nobody: a runbook owned by another user is refused' '
	expect_status 78 as_nobody "$NOBODY_GATE" check nb/daemons.yaml >out 2>err &&
	test_grep "nb/daemons.yaml: owned by uid $(id -u daemon), neither root nor you (uid $NOBODY)" err &&
	expect_status 78 as_nobody "$NOBODY_GATE" run nb/daemons.yaml -- true 2>err
'

test_done
