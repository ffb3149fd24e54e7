#!/bin/bash
# gate hook: a real Git repository pushing to a real bare repository.
# The runbooks' one check is a real `test -e FILE` (exec type, exit
# protocol); the test toggles the file to make the runbook allow or block.
. "$(dirname "$0")/lib/test-lib.sh"
require_cmd git
cd "$TEST_TMP" || exit 1

export GIT_CONFIG_NOSYSTEM=1 HOME=$TEST_TMP/home GIT_TERMINAL_PROMPT=0
mkdir -p "$HOME"
git config --global user.name gate-test
git config --global user.email gate-test@example.invalid
git config --global init.defaultBranch main
git config --global advice.detachedHead false

SRV=$TEST_TMP/server.git
WT=$TEST_TMP/work
git init -q --bare "$SRV"
git init -q "$WT"

mkrunbook() { # mkrunbook FILE NAME FLAGFILE
	mkdir -p "$(dirname "$1")"
	cat >"$1" <<EOF
version: 1
name: $2
checks:
  - id: $2-ok
    type: exec
    hint: touch $3
    with:
      command: [test, -e, "$3"]
      protocol: exit
EOF
}

mkrunbook "$WT/deploy/production.yaml" production "$TEST_TMP/allow"
mkdir -p "$WT/.gate"
cat >"$WT/.gate/hooks.yaml" <<'EOF'
version: 1
hooks:
  pre-push:
    - refs: ["refs/heads/main", "refs/tags/v*"]
      runbook: deploy/production.yaml
EOF
(cd "$WT" && git add -A && git commit -qm initial && git remote add origin "$SRV")

remote_sha() { git --git-dir="$SRV" rev-parse -q --verify "$1" 2>/dev/null || true; }
local_sha() { git -C "$WT" rev-parse "$1"; }
commit() { (cd "$WT" && echo "$1" >>file && git add file && git commit -qm "$1"); }

test_expect_success 'gate lint accepts the hooks configuration' '
	gate lint "$WT/.gate/hooks.yaml"
'

test_expect_success 'hook install writes pre-push with a marker' '
	(cd "$WT" && gate hook install) >out &&
	test -x "$WT/.git/hooks/pre-push" &&
	grep -q "^# gate-hook v1" "$WT/.git/hooks/pre-push" &&
	test_grep "installed $WT/.git/hooks/pre-push" out
'

test_expect_success 'pre-push refuses main while the runbook blocks (git shows why)' '
	rm -f "$TEST_TMP/allow" &&
	! (cd "$WT" && git push origin main) >out 2>err &&
	test -z "$(remote_sha refs/heads/main)" &&
	test_grep "production-ok" err &&
	test_grep "BLOCKED" err &&
	test_grep "refusing the push of refs/heads/main" err &&
	test_grep "failed to push some refs" err &&
	test_grep -v "production-ok" out
'

test_expect_success 'pre-push lets main through once the runbook allows' '
	touch "$TEST_TMP/allow" &&
	(cd "$WT" && git push --porcelain origin main) >out 2>err &&
	test "$(remote_sha refs/heads/main)" = "$(local_sha main)" &&
	test_grep "ALLOWED" err &&
	test_grep -v "production-ok" out
'

test_expect_success 'a tag matched by the glob refs/tags/v* is refused while blocked' '
	rm -f "$TEST_TMP/allow" &&
	(cd "$WT" && git tag v1.2) &&
	! (cd "$WT" && git push origin v1.2) 2>err &&
	test -z "$(remote_sha refs/tags/v1.2)" &&
	test_grep "refusing the push of refs/tags/v1.2" err
'

test_expect_success 'the same tag goes through when allowed' '
	touch "$TEST_TMP/allow" &&
	(cd "$WT" && git push -q origin v1.2) 2>err &&
	test "$(remote_sha refs/tags/v1.2)" = "$(local_sha v1.2)"
'

test_expect_success 'a ref no rule names passes while blocked' '
	rm -f "$TEST_TMP/allow" &&
	(cd "$WT" && git checkout -qb feature && commit f1 && git push -q origin feature && git tag release-1 && git push -q origin release-1 && git checkout -q main) 2>err &&
	test "$(remote_sha refs/heads/feature)" = "$(local_sha feature)" &&
	test -n "$(remote_sha refs/tags/release-1)"
'

test_expect_success 'a feature branch pushed onto main is judged by the remote ref' '
	! (cd "$WT" && git push origin feature:main) 2>err &&
	test "$(remote_sha refs/heads/main)" = "$(local_sha main)" &&
	test_grep "refusing the push of refs/heads/main" err
'

test_expect_success 'deleting a guarded ref passes while blocked' '
	(cd "$WT" && git push -q origin --delete v1.2) 2>err &&
	test -z "$(remote_sha refs/tags/v1.2)"
'

test_expect_success 'a push of several refs is refused as a whole when one is guarded' '
	commit m2 && (cd "$WT" && git checkout -q feature && commit f2 && git checkout -q main) &&
	! (cd "$WT" && git push origin main feature) 2>err &&
	test "$(remote_sha refs/heads/feature)" != "$(local_sha feature)"
'

test_expect_success 'git push --no-verify is the documented way around' '
	(cd "$WT" && git push -q --no-verify origin main) 2>err &&
	test "$(remote_sha refs/heads/main)" = "$(local_sha main)"
'

test_expect_success 'hook run reads the refs git gives on stdin (by hand)' '
	z=0000000000000000000000000000000000000000 s=$(local_sha main) &&
	(cd "$WT" && echo "refs/heads/main $s refs/heads/main $z" | expect_status 1 gate hook run pre-push origin "$SRV") >out 2>err &&
	(cd "$WT" && echo "refs/heads/x $s refs/heads/x $z" | gate hook run pre-push origin "$SRV") >out 2>err &&
	(cd "$WT" && echo "(delete) $z refs/heads/main $s" | gate hook run pre-push origin "$SRV") >out 2>err &&
	(cd "$WT" && printf "" | gate hook run pre-push origin "$SRV") >out 2>err
'

test_expect_success 'malformed input from git refuses (never waves through)' '
	(cd "$WT" && echo "garbage" | expect_status 1 gate hook run pre-push origin "$SRV") 2>err &&
	test_grep "<stdin>:1:1" err
'

test_expect_success 'each matching runbook is evaluated once per push' '
	s=$(local_sha main) z=0000000000000000000000000000000000000000 &&
	touch "$TEST_TMP/allow" &&
	(cd "$WT" && printf "refs/heads/main $s refs/heads/main $z\nrefs/tags/v9 $s refs/tags/v9 $z\n" |
		gate hook run pre-push origin "$SRV") >out 2>err &&
	test "$(grep -c "checking deploy/production.yaml" err)" = 1 &&
	test_grep "refs/heads/main, refs/tags/v9: checking" err
'

test_expect_success 'an invalid hooks configuration refuses with file:line:col' '
	cp "$WT/.gate/hooks.yaml" saved &&
	sed -i "s/runbook:/runbok:/" "$WT/.gate/hooks.yaml" &&
	! (cd "$WT" && git push origin main) 2>err &&
	test_grep "hooks.yaml:5:7: unknown key .runbok." err &&
	expect_status 78 gate lint "$WT/.gate/hooks.yaml" 2>lint.err &&
	test_grep "hooks.yaml:5:7" lint.err &&
	cp saved "$WT/.gate/hooks.yaml"
'

test_expect_success 'a missing hooks configuration refuses' '
	mv "$WT/.gate/hooks.yaml" saved2 &&
	commit m3 &&
	! (cd "$WT" && git push origin main) 2>err &&
	test_grep "hooks.yaml" err &&
	mv saved2 "$WT/.gate/hooks.yaml"
'

test_expect_success 'hook install refuses to replace a hook it did not write; --force keeps a backup' '
	printf "#!/bin/sh\nexit 0\n" >"$WT/.git/hooks/pre-push" &&
	! (cd "$WT" && gate hook install) 2>err &&
	test_grep "not written by gate" err &&
	grep -q "^exit 0" "$WT/.git/hooks/pre-push" &&
	(cd "$WT" && gate hook install --force) >/dev/null &&
	grep -q "^# gate-hook v1" "$WT/.git/hooks/pre-push" &&
	grep -q "^exit 0" "$WT/.git/hooks/pre-push.gate-backup"
'

test_expect_success 'hook install --force never writes the backup through a symbolic link' '
	printf "#!/bin/sh\nexit 0\n" >"$WT/.git/hooks/pre-push" &&
	rm -f "$WT/.git/hooks/pre-push.gate-backup" &&
	echo precious >victim &&
	ln -s "$TEST_TMP/victim" "$WT/.git/hooks/pre-push.gate-backup" &&
	! (cd "$WT" && gate hook install --force) 2>err &&
	test_grep "pre-push.gate-backup: is a symbolic link" err &&
	test "$(cat victim)" = precious &&
	grep -q "^exit 0" "$WT/.git/hooks/pre-push" &&
	rm "$WT/.git/hooks/pre-push.gate-backup" &&
	(cd "$WT" && gate hook install --force) >/dev/null &&
	grep -q "^# gate-hook v1" "$WT/.git/hooks/pre-push"
'

test_expect_success 'hook install honours core.hooksPath' '
	git clone -q "$SRV" "$TEST_TMP/clone2" &&
	(cd "$TEST_TMP/clone2" && git config core.hooksPath .githooks && gate hook install pre-push) >/dev/null &&
	test -x "$TEST_TMP/clone2/.githooks/pre-push" &&
	test ! -e "$TEST_TMP/clone2/.git/hooks/pre-push" &&
	rm -f "$TEST_TMP/allow" &&
	(cd "$TEST_TMP/clone2" && echo c >c && git add c && git commit -qm c) &&
	! (cd "$TEST_TMP/clone2" && git push origin main) 2>err &&
	test_grep "production-ok" err
'

# --- server side: pre-receive in the bare repository ---
mkrunbook "$SRV/runbooks/production.yaml" server-production "$TEST_TMP/allow-server"
mkdir -p "$SRV/.gate"
cat >"$SRV/.gate/hooks.yaml" <<'EOF'
version: 1
hooks:
  pre-receive:
    - refs: ["refs/heads/production"]
      runbook: runbooks/production.yaml
EOF

test_expect_success 'hook install in a bare repository writes pre-receive' '
	(cd "$SRV" && gate hook install) >out &&
	test -x "$SRV/hooks/pre-receive" && grep -q "hook run .pre-receive." "$SRV/hooks/pre-receive"
'

test_expect_success 'pre-receive refuses server-side while blocked (client sees remote: lines)' '
	rm -f "$TEST_TMP/allow-server" &&
	(cd "$WT" && git branch -f production main) &&
	! (cd "$WT" && git push --no-verify origin production) >out 2>err &&
	test -z "$(remote_sha refs/heads/production)" &&
	test_grep "^remote: .*server-production-ok" err &&
	test_grep "pre-receive hook declined" err
'

test_expect_success 'pre-receive accepts once allowed; other refs always pass' '
	touch "$TEST_TMP/allow-server" &&
	(cd "$WT" && git push -q --no-verify origin production) 2>err &&
	test "$(remote_sha refs/heads/production)" = "$(local_sha production)" &&
	rm -f "$TEST_TMP/allow-server" &&
	(cd "$WT" && git checkout -q feature && commit f3 && git checkout -q main && git push -q --no-verify origin feature) 2>err &&
	test "$(remote_sha refs/heads/feature)" = "$(local_sha feature)"
'

test_expect_success 'hook install --config: the hook reads that file (absolute) instead' '
	mkdir -p "$TEST_TMP/etc" &&
	cat >"$TEST_TMP/etc/hooks.yaml" <<-EOF &&
	version: 1
	hooks:
	  pre-receive:
	    - refs: ["refs/heads/feature"]
	      runbook: runbooks/production.yaml
	EOF
	git init -q --bare "$TEST_TMP/server3.git" &&
	cp -r "$SRV/runbooks" "$TEST_TMP/server3.git/" &&
	(cd "$TEST_TMP/server3.git" && gate hook install --config ../etc/hooks.yaml) >/dev/null &&
	grep -q -- "--config .$TEST_TMP/etc/hooks.yaml." "$TEST_TMP/server3.git/hooks/pre-receive" &&
	rm -f "$TEST_TMP/allow-server" &&
	! (cd "$WT" && git push --no-verify "$TEST_TMP/server3.git" feature) 2>err &&
	test_grep "refusing the push of refs/heads/feature" err &&
	(cd "$WT" && git push -q --no-verify "$TEST_TMP/server3.git" main) 2>err
'

# --- server side, per ref: the update hook ---
SRV2=$TEST_TMP/server2.git
git init -q --bare "$SRV2"
mkrunbook "$SRV2/runbooks/production.yaml" server2-production "$TEST_TMP/allow-server"
mkdir -p "$SRV2/.gate"
cat >"$SRV2/.gate/hooks.yaml" <<'EOF'
version: 1
hooks:
  update:
    - refs: ["refs/heads/production"]
      runbook: runbooks/production.yaml
EOF
remote2_sha() { git --git-dir="$SRV2" rev-parse -q --verify "$1" 2>/dev/null || true; }

test_expect_success 'update hook: only the guarded ref of a push is declined' '
	(cd "$SRV2" && gate hook install update) >/dev/null &&
	test -x "$SRV2/hooks/update" &&
	rm -f "$TEST_TMP/allow-server" &&
	! (cd "$WT" && git push --no-verify "$SRV2" production feature) >out 2>err &&
	test -z "$(remote2_sha refs/heads/production)" &&
	test "$(remote2_sha refs/heads/feature)" = "$(local_sha feature)" &&
	test_grep "^remote: .*server2-production-ok" err &&
	test_grep "hook declined to update refs/heads/production" err
'

test_expect_success 'update hook: allowed, the guarded ref is accepted' '
	touch "$TEST_TMP/allow-server" &&
	(cd "$WT" && git push -q --no-verify "$SRV2" production) 2>err &&
	test "$(remote2_sha refs/heads/production)" = "$(local_sha production)"
'

test_expect_success 'update hook by hand: REF OLD NEW arguments; bad arguments refuse' '
	z=0000000000000000000000000000000000000000 s=$(local_sha main) &&
	rm -f "$TEST_TMP/allow-server" &&
	(cd "$SRV2" && expect_status 1 gate hook run update refs/heads/production $z $s) 2>err &&
	(cd "$SRV2" && gate hook run update refs/heads/other $z $s) 2>err &&
	(cd "$SRV2" && gate hook run update refs/heads/production $s $z) 2>err &&
	(cd "$SRV2" && expect_status 1 gate hook run update refs/heads/production) 2>err
'

# --- a hooks file with no section for the hook that runs ---
SRV4=$TEST_TMP/server4.git
git init -q --bare "$SRV4"
mkrunbook "$SRV4/runbooks/production.yaml" server4-production "$TEST_TMP/allow-server"
mkdir -p "$SRV4/.gate"
cat >"$SRV4/.gate/hooks.yaml" <<'EOF'
version: 1
hooks:
  pre-push:
    - refs: ["refs/heads/production"]
      runbook: runbooks/production.yaml
EOF
remote4_sha() { git --git-dir="$SRV4" rev-parse -q --verify "$1" 2>/dev/null || true; }

test_expect_success 'lint names the hooks that have no rules' '
	gate lint "$SRV4/.gate/hooks.yaml" >out 2>err &&
	test_grep "hooks.yaml: ok (git-hook configuration)" out &&
	test_grep "hooks.yaml:2:1: no rules for pre-receive, update" err
'

test_expect_success 'hook install refuses a hook the configuration has no section for' '
	! (cd "$SRV4" && gate hook install) >out 2>err &&
	test_grep "has no .pre-receive:. section" err &&
	test ! -e "$SRV4/hooks/pre-receive" &&
	! (cd "$SRV4" && gate hook install pre-push update) >out 2>err &&
	test_grep "has no .update:. section" err &&
	test ! -e "$SRV4/hooks/pre-push" && test ! -e "$SRV4/hooks/update"
'

test_expect_success 'pre-receive with only pre-push rules refuses every push, naming the section' '
	touch "$TEST_TMP/allow-server" &&
	mv "$SRV4/.gate/hooks.yaml" "$SRV4/.gate/saved" &&
	(cd "$SRV4" && gate hook install pre-receive update) >/dev/null 2>err &&
	test_grep "does not exist yet" err &&
	mv "$SRV4/.gate/saved" "$SRV4/.gate/hooks.yaml" &&
	! (cd "$WT" && git push --no-verify "$SRV4" feature production) >out 2>err &&
	test -z "$(remote4_sha refs/heads/feature)" &&
	test -z "$(remote4_sha refs/heads/production)" &&
	test_grep "^remote: .*hooks.yaml has no .pre-receive:. section" err &&
	test_grep "pre-receive hook declined" err
'

test_expect_success 'update with no section refuses too (by hand)' '
	z=0000000000000000000000000000000000000000 s=$(local_sha main) &&
	(cd "$SRV4" && expect_status 1 gate hook run update refs/heads/other $z $s) 2>err &&
	test_grep "has no .update:. section" err
'

test_expect_success 'a hooks configuration others may write is refused before its rules are read' '
	z=0000000000000000000000000000000000000000 s=$(local_sha main) &&
	chmod g+w "$SRV4/.gate/hooks.yaml" &&
	(cd "$SRV4" && expect_status 1 gate hook run pre-receive <<-EOF) 2>err &&
	$z $s refs/heads/production
	EOF
	chmod g-w "$SRV4/.gate/hooks.yaml" &&
	test_grep "hooks.yaml.*writable by group" err &&
	test_grep "would let through the pushes" err &&
	test_grep "invalid hooks configuration: refusing" err &&
	! test_grep "no .pre-receive:. section" err
'

# --- the server judges with its own files, never with what is pushed ---
test_expect_success 'a push carrying a looser .gate/hooks.yaml and runbook cannot loosen a bare server' '
	rm -f "$TEST_TMP/allow-server" &&
	(cd "$WT" && git checkout -q -b loosen production) &&
	cat >"$WT/.gate/hooks.yaml" <<-EOF &&
	version: 1
	hooks:
	  pre-receive:
	    - refs: ["refs/heads/nothing"]
	      runbook: runbooks/production.yaml
	EOF
	mkrunbook "$WT/runbooks/production.yaml" server-production / &&
	(cd "$WT" && git add -A && git commit -qm loosen && git checkout -q main) &&
	! (cd "$WT" && git push --no-verify origin loosen:production) >out 2>err &&
	test "$(remote_sha refs/heads/production)" = "$(local_sha production)" &&
	test_grep "^remote: .*server-production-ok" err &&
	test_grep "pre-receive hook declined" err
'

# A server whose work tree pushes update (receive.denyCurrentBranch=
# updateInstead; core.worktree set, as deploy-by-push setups have it, so
# git rev-parse finds the work tree even inside the hook): the server-side
# hooks read the git directory, which no push writes.
SRVW=$TEST_TMP/server-wt
git init -q "$SRVW"
mkrunbook "$SRVW/runbooks/production.yaml" serverwt-production "$TEST_TMP/allow-server"
mkdir -p "$SRVW/.gate"
cat >"$SRVW/.gate/hooks.yaml" <<'EOF'
version: 1
hooks:
  pre-receive:
    - refs: ["refs/heads/production"]
      runbook: runbooks/production.yaml
EOF
(cd "$SRVW" && git add -A && git commit -qm server && git config receive.denyCurrentBranch updateInstead &&
	git config core.worktree "$SRVW")
mkdir -p "$SRVW/.git/.gate" "$SRVW/.git/runbooks"
cp "$SRVW/.gate/hooks.yaml" "$SRVW/.git/.gate/"
cp "$SRVW/runbooks/production.yaml" "$SRVW/.git/runbooks/"

test_expect_success 'a non-bare server: a push that rewrites its work tree cannot loosen pre-receive' '
	(cd "$SRVW" && gate hook install pre-receive) >/dev/null &&
	test -x "$SRVW/.git/hooks/pre-receive" &&
	rm -f "$TEST_TMP/allow-server" &&
	git clone -q "$SRVW" pusher &&
	mkrunbook pusher/runbooks/production.yaml serverwt-production / &&
	(cd pusher && git commit -qam loosen && git push -q origin main) 2>err &&
	grep -q "test, -e, \"/\"" "$SRVW/runbooks/production.yaml" &&
	! (cd pusher && git push origin main:production) >out 2>err &&
	test -z "$(git -C "$SRVW" rev-parse -q --verify refs/heads/production)" &&
	test_grep "^remote: .*serverwt-production-ok" err &&
	touch "$TEST_TMP/allow-server" &&
	(cd pusher && git push -q origin main:production) 2>err &&
	test -n "$(git -C "$SRVW" rev-parse -q --verify refs/heads/production)"
'

test_expect_success 'pre-commit framework mode reads PRE_COMMIT_REMOTE_BRANCH' '
	rm -f "$TEST_TMP/allow" &&
	(cd "$WT" && PRE_COMMIT_REMOTE_BRANCH=refs/heads/main PRE_COMMIT_TO_REF=$(local_sha main) \
		expect_status 1 gate hook run pre-push --pre-commit </dev/null) 2>err &&
	(cd "$WT" && PRE_COMMIT_REMOTE_BRANCH=refs/heads/feature PRE_COMMIT_TO_REF=$(local_sha main) \
		gate hook run pre-push --pre-commit </dev/null) 2>err &&
	touch "$TEST_TMP/allow" &&
	(cd "$WT" && PRE_COMMIT_REMOTE_BRANCH=refs/heads/main PRE_COMMIT_TO_REF=$(local_sha main) \
		gate hook run pre-push --pre-commit </dev/null) 2>err
'

# The real pre-commit framework (Debian's pre-commit package) with this
# tree's .pre-commit-hooks.yaml, from a local hooks repository.
if command -v pre-commit >/dev/null 2>&1; then
	PC=$TEST_TMP/pc
	mkdir -p "$PC/bin" && ln -s "$(readlink -f "$GATE_BIN")" "$PC/bin/gate"
	git init -q "$PC/hooks" && cp "$GATE_SOURCE_DIR/.pre-commit-hooks.yaml" "$PC/hooks/" &&
		(cd "$PC/hooks" && git add . && git commit -qm hooks)
	git clone -q "$SRV" "$PC/wt"
	cat >"$PC/wt/.pre-commit-config.yaml" <<EOF
repos:
  - repo: $PC/hooks
    rev: $(git -C "$PC/hooks" rev-parse HEAD)
    hooks:
      - id: gate
EOF
	export PRE_COMMIT_HOME=$PC/cache
	test_expect_success 'pre-commit framework: install at the pre-push stage' '
		(cd "$PC/wt" && git add .pre-commit-config.yaml && git commit -qm pc && pre-commit install --hook-type pre-push) >out 2>&1 &&
		test_grep "pre-push" out
	'
	test_expect_success 'pre-commit framework: a blocked push to main is refused' '
		rm -f "$TEST_TMP/allow" &&
		! (cd "$PC/wt" && PATH="$PC/bin:$PATH" git push origin main) >out 2>&1 &&
		test_grep "refusing the push of refs/heads/main" out &&
		test "$(remote_sha refs/heads/main)" != "$(git -C "$PC/wt" rev-parse main)"
	'
	test_expect_success 'pre-commit framework: allowed, the push goes through' '
		touch "$TEST_TMP/allow" &&
		(cd "$PC/wt" && PATH="$PC/bin:$PATH" git push -q origin main) >out 2>&1 &&
		test "$(remote_sha refs/heads/main)" = "$(git -C "$PC/wt" rev-parse main)"
	'
else
	test_skip 'pre-commit framework' 'pre-commit is not installed (apt-get install pre-commit)'
fi

test_expect_success 'usage errors exit 64' '
	(cd "$WT" && expect_status 64 gate hook run pre-commit </dev/null) 2>err &&
	(cd "$WT" && expect_status 64 gate hook frob) 2>err &&
	(cd "$WT" && expect_status 64 gate hook install post-merge) 2>err &&
	gate help hook >help && test_grep "git push --no-verify" help &&
	gate hook run --help >help2 && test_cmp help help2
'

test_done
