#!/bin/bash
# gate wrap: a wrapper installed into a directory that comes first in PATH
# puts the plain command name behind a runbook.  The "real" command is a
# small script that records its arguments; the runbook's one check is a
# real `test -e FILE` (exec type, exit protocol) that the test toggles.
. "$(dirname "$0")/lib/test-lib.sh"
cd "$TEST_TMP" || exit 1

GATE_ABS=$(readlink -f "$GATE_BIN")
W=$TEST_TMP/bin      # where wrappers go (first in PATH)
R=$TEST_TMP/real     # where the real commands live
mkdir -p "$W" "$R" "$TEST_TMP/rb"

cat >"$R/mycmd" <<EOF
#!/bin/sh
# the real command: records that it ran, and with which arguments
printf '%s\n' "\$@" >"$TEST_TMP/ran"
exit \${MYCMD_EXIT:-0}
EOF
chmod 755 "$R/mycmd"
printf '#!/bin/sh\necho other\n' >"$R/other"
chmod 755 "$R/other"

cat >"$TEST_TMP/rb/maint.yaml" <<EOF
version: 1
name: wrap-test
checks:
  - id: allow-file
    type: exec
    hint: touch $TEST_TMP/allow
    with:
      command: [test, -e, "$TEST_TMP/allow"]
      protocol: exit
EOF

export PATH="$W:$R:$PATH"

test_expect_success 'install writes an executable wrapper with a marker' '
	(cd "$TEST_TMP/rb" && gate wrap install mycmd --runbook maint.yaml --dir "$W") >out &&
	test -x "$W/mycmd" &&
	test "$(stat -c %a "$W/mycmd")" = 755 &&
	head -n 1 "$W/mycmd" | grep -qx "#!/bin/sh" &&
	grep -qx "# gate-wrapper v1: runbook=$TEST_TMP/rb/maint.yaml real=$R/mycmd" "$W/mycmd" &&
	grep -q "exec .$GATE_ABS. run .$TEST_TMP/rb/maint.yaml. -- .$R/mycmd. \"\$@\"" "$W/mycmd" &&
	test_grep "runs $R/mycmd only when $TEST_TMP/rb/maint.yaml allows" out
'

test_expect_success 'the plain name now resolves to the wrapper' '
	test "$(command -v mycmd)" = "$W/mycmd"
'

test_expect_success 'blocked: the real command never runs, status 75' '
	rm -f "$TEST_TMP/allow" "$TEST_TMP/ran" &&
	expect_status 75 mycmd a b >out 2>err &&
	test ! -e "$TEST_TMP/ran" &&
	cat out err | test_grep allow-file -
'

test_expect_success 'allowed: the real command runs with its arguments and exit status' '
	touch "$TEST_TMP/allow" && rm -f "$TEST_TMP/ran" &&
	MYCMD_EXIT=3 expect_status 3 mycmd "two words" "*" "" >out 2>err &&
	printf "%s\n" "two words" "*" "" >want &&
	test_cmp want "$TEST_TMP/ran"
'

test_expect_success 'allowed and exit 0: status 0' '
	rm -f "$TEST_TMP/ran" &&
	mycmd x >out 2>err && test "$(cat "$TEST_TMP/ran")" = x
'

test_expect_success 'the wrapper works from any directory (absolute paths)' '
	rm -f "$TEST_TMP/ran" && (cd / && mycmd y >/dev/null 2>&1) && test "$(cat "$TEST_TMP/ran")" = y
'

test_expect_success 'list shows the wrapper, its runbook and the real command' '
	gate wrap list --dir "$W" >out &&
	printf "mycmd\t%s\t%s\n" "$TEST_TMP/rb/maint.yaml" "$R/mycmd" >want &&
	test_cmp want out
'

test_expect_success 'install refuses to overwrite a file gate did not write' '
	printf "#!/bin/sh\necho mine\n" >"$W/other" && chmod 755 "$W/other" &&
	cp "$W/other" before &&
	expect_status 1 gate wrap install other --runbook "$TEST_TMP/rb/maint.yaml" --dir "$W" 2>err &&
	test_grep "not written by gate" err &&
	test_cmp before "$W/other"
'

test_expect_success 'list ignores files that are not wrappers' '
	gate wrap list --dir "$W" >out && test "$(wc -l <out)" = 1 && test_grep -v "^other" out
'

test_expect_success 'remove refuses a file gate did not write' '
	expect_status 1 gate wrap remove other --dir "$W" 2>err &&
	test_grep "not a gate wrapper" err && test -f "$W/other"
'

test_expect_success 'install refuses to wrap gate itself (by name and by identity)' '
	expect_status 1 gate wrap install gate --runbook "$TEST_TMP/rb/maint.yaml" --dir "$W" 2>err &&
	test_grep "gate itself" err &&
	ln -s "$GATE_ABS" "$R/gatealias" &&
	expect_status 1 gate wrap install gatealias --runbook "$TEST_TMP/rb/maint.yaml" --dir "$W" 2>err &&
	test_grep "gate itself" err && test ! -e "$W/gatealias"
'

test_expect_success 'install refuses a missing runbook, a missing directory, a command not in PATH' '
	expect_status 1 gate wrap install mycmd --runbook "$TEST_TMP/rb/maint.yaml" --dir "$TEST_TMP/no-dir" 2>err &&
	test_grep "not a directory" err &&
	expect_status 1 gate wrap install mycmd --runbook "$TEST_TMP/nope.yaml" --dir "$W" 2>err &&
	test_grep "runbook not found" err &&
	expect_status 1 gate wrap install no-such-cmd --runbook "$TEST_TMP/rb/maint.yaml" --dir "$W" 2>err &&
	test_grep "not found in PATH" err
'

test_expect_success 'install refuses a runbook gate run would reject (78), writes nothing' '
	sed "s/protocol: exit/protocl: exit/" "$TEST_TMP/rb/maint.yaml" >"$TEST_TMP/rb/typo.yaml" &&
	expect_status 78 gate wrap install other --runbook "$TEST_TMP/rb/typo.yaml" --dir "$TEST_TMP/bin2x" 2>err &&
	test_grep -E "typo.yaml:[0-9]+:[0-9]+: unknown" err &&
	cp "$TEST_TMP/rb/maint.yaml" "$TEST_TMP/rb/loose.yaml" && chmod 666 "$TEST_TMP/rb/loose.yaml" &&
	mkdir -p "$TEST_TMP/bin4" &&
	expect_status 78 gate wrap install other --runbook "$TEST_TMP/rb/loose.yaml" --dir "$TEST_TMP/bin4" 2>err &&
	test ! -e "$TEST_TMP/bin4/other"
'

test_expect_success 'a symlinked real command keeps its name (systemctl-style dispatch on argv[0])' '
	printf "#!/bin/sh\nbasename \"\$0\" >\"%s/ran\"\n" "$TEST_TMP" >"$R/multicall" && chmod 755 "$R/multicall" &&
	ln -s multicall "$R/reboot-ish" &&
	gate wrap install reboot-ish --runbook "$TEST_TMP/rb/maint.yaml" --dir "$W" >/dev/null 2>&1 &&
	grep -q "real=$R/reboot-ish\$" "$W/reboot-ish" &&
	touch "$TEST_TMP/allow" && rm -f "$TEST_TMP/ran" &&
	reboot-ish >/dev/null 2>&1 && test "$(cat "$TEST_TMP/ran")" = reboot-ish &&
	gate wrap remove reboot-ish --dir "$W" >/dev/null
'

test_expect_success 'usage errors exit 64' '
	expect_status 64 gate wrap install mycmd --dir "$W" 2>err &&
	expect_status 64 gate wrap frobnicate 2>err &&
	expect_status 64 gate wrap 2>err &&
	gate help wrap >help && test_grep "The way around a wrapper" help &&
	gate wrap install --help >help2 && test_cmp help help2
'

test_expect_success 'resolving skips other gate wrappers on PATH' '
	mkdir -p "$TEST_TMP/bin2" &&
	gate wrap install mycmd --runbook "$TEST_TMP/rb/maint.yaml" --dir "$TEST_TMP/bin2" --real "$R/mycmd" >/dev/null &&
	mkdir -p "$TEST_TMP/bin3" &&
	PATH="$TEST_TMP/bin2:$W:$R:/usr/bin:/bin" gate wrap install mycmd --runbook "$TEST_TMP/rb/maint.yaml" --dir "$TEST_TMP/bin3" >/dev/null 2>&1 &&
	grep -q "real=$R/mycmd\$" "$TEST_TMP/bin3/mycmd"
'

test_expect_success 'install warns when the wrapper directory does not come first' '
	PATH="$R:$W:/usr/bin:/bin" gate wrap install mycmd --runbook "$TEST_TMP/rb/maint.yaml" --dir "$W" >/dev/null 2>err &&
	test_grep "comes after $R" err
'

test_expect_success 'reinstalling with another runbook updates the wrapper' '
	cp "$TEST_TMP/rb/maint.yaml" "$TEST_TMP/rb/other.yaml" &&
	gate wrap install mycmd --runbook "$TEST_TMP/rb/other.yaml" --dir "$W" >/dev/null 2>&1 &&
	grep -q "runbook=$TEST_TMP/rb/other.yaml real=$R/mycmd" "$W/mycmd"
'

test_expect_success 'remove deletes the wrapper; the plain name runs the real command again' '
	gate wrap remove mycmd --dir "$W" >out &&
	test ! -e "$W/mycmd" &&
	rm -f "$TEST_TMP/allow" "$TEST_TMP/ran" &&
	mycmd direct && test "$(cat "$TEST_TMP/ran")" = direct
'

test_expect_success 'bypass: the real path always works (documented way around)' '
	gate wrap install mycmd --runbook "$TEST_TMP/rb/maint.yaml" --dir "$W" >/dev/null 2>&1 &&
	rm -f "$TEST_TMP/allow" "$TEST_TMP/ran" &&
	expect_status 75 mycmd z >/dev/null 2>&1 && test ! -e "$TEST_TMP/ran" &&
	"$R/mycmd" z && test "$(cat "$TEST_TMP/ran")" = z
'

test_done
