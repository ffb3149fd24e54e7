#!/usr/bin/env bash
# Nothing gate started outlives it.  A check's tool (and what the tool
# started), the wrapped command and git are gone once gate has ended,
# whether gate was stopped by SIGTERM or SIGINT or killed by SIGKILL, in
# `gate check`, `gate run` and `gate hook run`; and a check leaves nothing
# behind when it ends or times out.  Every process is recognised by a
# marker of its own (a `sleep` with a unique duration); a case waits until
# it is seen running before it signals gate.
. "$(dirname "$0")/lib/test-lib.sh"
require_cmd pgrep env

cd "$TEST_TMP" || exit 1

# A marker no other process on the machine has: "4242.<digits>" is a
# valid duration for sleep.
n=0
new_mark() { n=$((n + 1)); MARK="4242.$$0$n"; }
running() { pgrep -f "^sleep $1\$" >/dev/null; }
gone() { ! pgrep -f "$1" >/dev/null; }
# all_gone MARK: within 10 s, nothing with MARK runs (else say what does).
all_gone() {
	wait_until 10 gone "$1" && return 0
	echo "still running:"; pgrep -af "$1"; return 1
}
# Whatever a failing case left behind: by pid, found by its own marker.
test_cleanup 'for p in $(pgrep -f "4242\\.$$0"); do kill -9 "$p"; done'

# runbook FILE MARK SHAPE: one exec check of sleep MARK, run directly
# (tool) or by a shell that started it in the background (grandchild).
runbook() {
	local cmd
	case $3 in
	tool) cmd="[\"sleep\", \"$2\"]" ;;
	grandchild) cmd="[\"sh\", \"-c\", \"sleep $2 & wait\"]" ;;
	esac
	cat >"$1" <<EOF
version: 1
name: orphans
timeout: 120s
checks:
  - id: quick
    type: exec
    with:
      command: ["true"]
      protocol: exit
  - id: slow
    type: exec
    timeout: 100s
    with:
      command: $cmd
      protocol: exit
EOF
	chmod 644 "$1"
}

# gate in the background with SIGINT and SIGQUIT at their defaults (bash
# ignores them in background jobs of a script).
bg_gate() { env --default-signal=INT,QUIT "$GATE_BIN" "$@" </dev/null >/dev/null 2>&1 & }

declare -A want_rc=([TERM]=143 [INT]=130 [KILL]=137)

for sig in TERM INT KILL; do
	for mode in check run; do
		for shape in tool grandchild; do
			new_mark
			runbook "$mode-$sig-$shape.yaml" "$MARK" "$shape"
			if [ $mode = run ]; then args="run -q $mode-$sig-$shape.yaml -- true"
			else args="check -q $mode-$sig-$shape.yaml"; fi
			test_expect_success "gate $mode, SIG$sig while a check's $shape runs: nothing is left" '
				bg_gate '"$args"'
				gpid=$! &&
				test_cleanup "kill -9 $gpid" &&
				wait_until 20 running '"$MARK"' &&
				kill -'"$sig"' $gpid &&
				rc=0 && wait $gpid || rc=$? &&
				test $rc = '"${want_rc[$sig]}"' &&
				all_gone '"$MARK"'
			'
		done
	done
done

write_pass_rb pass.yaml

new_mark
test_expect_success 'gate run killed by SIGKILL: the wrapped command gets SIGTERM' '
	bg_gate run -q pass.yaml -- sleep '"$MARK"'
	gpid=$! &&
	test_cleanup "kill -9 $gpid" &&
	wait_until 20 running '"$MARK"' &&
	kill -KILL $gpid &&
	rc=0 && wait $gpid || rc=$? &&
	test $rc = 137 &&
	all_gone '"$MARK"'
'

new_mark
cat >leftover.yaml <<EOF
version: 1
name: leftover
checks:
  - id: bg
    type: exec
    with:
      command: ["sh", "-c", "sleep $MARK >/dev/null 2>&1 & echo started"]
      protocol: exit
EOF
chmod 644 leftover.yaml
test_expect_success 'a check that ends leaves nothing running behind it' '
	gate check -q leftover.yaml >/dev/null &&
	all_gone '"$MARK"'
'

new_mark
cat >timeout.yaml <<EOF
version: 1
name: timeout
checks:
  - id: slow
    type: exec
    timeout: 1s
    with:
      command: ["sh", "-c", "sleep $MARK & wait"]
      protocol: exit
EOF
chmod 644 timeout.yaml
test_expect_success 'a check that times out leaves nothing running behind it' '
	expect_status 75 gate check -q timeout.yaml >/dev/null &&
	all_gone '"$MARK"'
'

# git, as `gate hook run` calls it to find the repository: a stand-in
# that sleeps with a marker.
mkdir -p fakebin
for sig in TERM KILL; do
	new_mark
	printf '#!/bin/sh\nexec sleep %s\n' "$MARK" >fakebin/git
	chmod 755 fakebin/git
	test_expect_success "gate hook run, SIG$sig while git runs: git is gone" '
		PATH=$TEST_TMP/fakebin:$PATH bg_gate hook run pre-push origin url
		gpid=$! &&
		test_cleanup "kill -9 $gpid" &&
		wait_until 20 running '"$MARK"' &&
		kill -'"$sig"' $gpid &&
		rc=0 && wait $gpid || rc=$? &&
		test $rc = '"${want_rc[$sig]}"' &&
		all_gone '"$MARK"'
	'
done

test_done
