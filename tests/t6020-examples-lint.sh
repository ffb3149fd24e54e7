#!/bin/bash
# Every example and policy shipped in the tree passes `gate lint`, and lint
# is not a rubber stamp: a one-letter typo in a copy of each fails.
. "$(dirname "$0")/lib/test-lib.sh"

S=$GATE_SOURCE_DIR
files=$(cd "$S" && ls policies/*.yaml examples/*.yaml examples/*/*.yaml \
	examples/git-hooks/deploy/runbooks/*.yaml 2>/dev/null | sort -u)
cd "$TEST_TMP" || exit 1

# A policy with only a window or a freeze is a fragment, not a runbook
# (doc/runbook.md: checks are required): it is linted the way it is used,
# included from a runbook, and its pseudo-check must show in the report.
including() { # including POLICY > runbook
	printf 'version: 1\nname: uses-policy\ninclude:\n  - %s\nchecks:\n  - id: local\n    type: exec\n    with: {command: ["true"], protocol: exit}\n' "$1"
}
for f in $files; do
	if grep -q "^checks:" "$S/$f"; then
		test_expect_success "lint $f" '
			gate lint "$S/$f"
		'
	else
		pseudo=$(sed -n "s/^\(window\|freeze\):.*/\1/p" "$S/$f")
		test_expect_success "lint $f (included from a runbook; adds the $pseudo pseudo-check)" '
			including "$S/$f" >uses.yaml &&
			gate lint uses.yaml &&
			{ gate check -f json uses.yaml >report.json 2>/dev/null || true; } &&
			test "$(json_get report.json ".checks[?id=$pseudo].type")" = "$pseudo"
		'
	fi
done

# Every shipped policy lints on its own too, as a user checks an installed
# one (gate lint /usr/share/gate/policies/*.yaml); one with only a window
# or a freeze is recognised as a policy, and run and check still refuse it.
for f in $(cd "$S" && ls policies/*.yaml); do
	test_expect_success "lint $f on its own" '
		gate lint "$S/$f" >out &&
		if grep -q "^checks:" "$S/$f"; then
			test_grep "ok ([0-9]* checks\?)" out
		else
			test_grep "ok (policy to include: 0 checks, \(window\|freeze\))" out &&
			expect_status 78 gate check "$S/$f" 2>err &&
			test_grep "missing .checks. in the runbook" err
		fi
	'
done
test_expect_success 'every policy at once, as the README shows' '
	gate lint "$S"/policies/*.yaml
'

test_expect_success 'lint examples/git-hooks/.gate/hooks.yaml (a hooks configuration)' '
	gate lint "$S/examples/git-hooks/.gate/hooks.yaml"
'

test_expect_success 'there is a policy for each common case' '
	for p in pgbackrest-backup basebackup-verified replicas-healthy archiving-healthy \
	         no-critical-alerts weekend-night-window year-end-freeze; do
		test -f "$S/policies/$p.yaml" || { echo "missing policies/$p.yaml"; exit 1; }
	done
'

test_expect_success 'all policies can be included together (unique ids)' '
	{
		echo "version: 1"
		echo "name: all-policies"
		echo "include:"
		for p in "$S"/policies/*.yaml; do echo "  - $p"; done
		echo "checks:"
		echo "  - {id: local, type: exec, with: {command: [\"true\"], protocol: exit}}"
	} >all.yaml &&
	gate lint all.yaml
'

# A typo in a parameter name of each example runbook (the first with:
# parameter) must make lint fail with 78 and a file:line:col.
for f in examples/pg-minor-upgrade.yaml examples/pg-major-upgrade.yaml examples/os-reboot.yaml \
	examples/schema-migration.yaml examples/demo/runbook.yaml policies/pgbackrest-backup.yaml; do
	test_expect_success "a typo in $f is caught" '
		mkdir -p "$TEST_TMP/typo/$(dirname "$f")" && cp -r "$S/policies" "$TEST_TMP/typo/" &&
		awk "/^    with:/ {w=1; print; next} w==1 && /^      [a-z_]+:/ {sub(/:/, \"x:\"); w=2} {print}" \
			"$S/$f" >"$TEST_TMP/typo/$f" &&
		! cmp -s "$S/$f" "$TEST_TMP/typo/$f" &&
		expect_status 78 gate lint "$TEST_TMP/typo/$f" 2>err &&
		test_grep -E "$f:[0-9]+:[0-9]+: " err
	'
done

test_expect_success 'a typo in the hooks configuration is caught with line:col' '
	sed "s/    - refs:/    - rfs:/" "$S/examples/git-hooks/.gate/hooks.yaml" >hooks.yaml &&
	expect_status 78 gate lint hooks.yaml 2>err &&
	test_grep -E "hooks.yaml:[0-9]+:[0-9]+: unknown key .rfs." err
'

if command -v systemd-analyze >/dev/null 2>&1; then
	test_expect_success 'the systemd example units pass systemd-analyze verify' '
		mkdir -p units &&
		sed "s|/usr/local/bin/gate|$(readlink -f "$GATE_BIN")|" "$S/examples/systemd/pg-vacuum.service" >units/pg-vacuum.service &&
		cp "$S/examples/systemd/pg-vacuum.timer" units/ &&
		grep -q "^ExecStartPre=.* check .*/pg-vacuum.yaml" units/pg-vacuum.service &&
		# verify runs a manager that touches /run/systemd/systemd-units-load:
		# give it a private /run/systemd so the host is left as it was
		unshare --mount --propagation private -- sh -c "mount -t tmpfs tmpfs /run/systemd &&
			cd units && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify ./pg-vacuum.service ./pg-vacuum.timer"
	'
else
	test_skip 'the systemd example units pass systemd-analyze verify' 'no systemd-analyze'
fi

test_done
