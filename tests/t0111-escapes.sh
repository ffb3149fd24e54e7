#!/bin/bash
# Terminal escape sequences from outside never reach the operator's
# terminal.  A check's tool prints a summary with ANSI colour codes, an
# erase-line and cursor-up, a carriage return followed by a fake
# "ALLOWED" line, C1 controls (U+009B is a CSI, U+0085 a next-line), a
# right-to-left override and an OSC title; its long text and stderr carry
# more.  In every format no ESC, CR, BEL, DEL or C1 byte is printed (on
# stdout or stderr), the decision shown is the real one (BLOCKED), and the
# JUnit file is still well-formed XML.
. "$(dirname "$0")/lib/test-lib.sh"

require_cmd python3 xmllint prove
cd "$TEST_TMP" || exit 1

# A Nagios plugin (CRITICAL) whose every line tries to fool the operator.
cat >evil.sh <<'EOF'
printf 'DISK CRITICAL \033[2K\033[1A\rALLOWED  evil: 2 of 2 blocking checks passed \302\2332J\302\205ALLOWED \342\200\256dekcolb\033]0;owned\007\177 | x=1\n'
printf 'ALLOWED  evil: forged from the long text\n\033[32mPASS\033[0m\r\n'
printf '\033[31mstderr\033[0m\rALLOWED\n' >&2
exit 2
EOF
# The same with protocol exit: the output lands in the details.
cat >evil-exit.sh <<'EOF'
printf '\033[1A\rALLOWED  evil-exit\n\302\233Kok\n'
exit 1
EOF

cat >rb.yaml <<'EOF'
version: 1
name: escapes
checks:
  - id: evil
    type: exec
    hint: "look at \e[8mthe disk"
    with:
      command: ["sh", "evil.sh"]
  - id: evil-exit
    type: exec
    with:
      command: ["sh", "evil-exit.sh"]
      protocol: exit
EOF
chmod 644 rb.yaml

# bad_bytes FILE: print (and fail on) any control a terminal acts on: C0
# other than newline and tab, DEL, C1 as UTF-8 (C2 80-9F), a lone C1
# byte, and the bidi controls and separators.
bad_bytes() {
	python3 - "$1" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read()
bad = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xa8\xa9\xaa-\xae]|\xe2\x81[\xa6-\xa9]")
hits = [m.start() for m in bad.finditer(data)]
try:
    data.decode("utf-8")
except UnicodeDecodeError as e:
    hits.append(e.start)
if hits:
    print("%s: raw control bytes at %s: %r" % (sys.argv[1], hits[:10], data[:400]))
    sys.exit(1)
PY
}

test_expect_success 'the plugin really prints escapes (the test would notice them)' '
	{ sh evil.sh >raw.out 2>raw.err || true; } &&
	! bad_bytes raw.out >/dev/null && ! bad_bytes raw.err >/dev/null
'

for fmt in text json junit tap nagios; do
	test_expect_success "-f $fmt: no raw control byte on stdout or stderr" "
		expect_status \$(test $fmt = nagios && echo 2 || echo 75) gate check -f $fmt rb.yaml >out.$fmt 2>err.$fmt &&
		bad_bytes out.$fmt && bad_bytes err.$fmt
	"
done

test_expect_success "-o FILE: the JSON written to a file has no raw control byte either" '
	expect_status 75 gate check -q -o out.file rb.yaml &&
	test "$(json_get out.file .decision)" = block &&
	bad_bytes out.file
'

test_expect_success 'text: BLOCKED is the only decision line, the escapes are visible' '
	grep -c "^ALLOWED\|^BLOCKED" out.text >n && test "$(cat n)" = 1 &&
	test_grep "^BLOCKED  escapes" out.text &&
	test_grep -F "\\u009b2J\\u0085ALLOWED \\u202edekcolb" out.text &&
	test_grep -F "stderr: \\x1b[31mstderr\\x1b[0m\\x0dALLOWED" out.text &&
	test_grep -F "hint: look at \\x1b[8mthe disk" out.text &&
	test_grep -F "\\x1b[32mPASS\\x1b[0m" out.text
'

test_expect_success 'json: the decision is block, and the values are the real ones' '
	test "$(json_get out.json .decision)" = block &&
	python3 -c "
import json, sys
r = json.load(open(\"out.json\"))
s = [c for c in r[\"checks\"] if c[\"id\"] == \"evil\"][0][\"summary\"]
assert \"\u009b2J\u0085\" in s and \"\u202e\" in s, repr(s)
d = [c for c in r[\"checks\"] if c[\"id\"] == \"evil\"][0][\"details\"]
assert d[\"stderr\"].startswith(\"\x1b[31m\"), repr(d)
"
'

test_expect_success 'junit: well-formed XML, the decision testcase fails' '
	xmllint --noout out.junit &&
	test_grep "<property name=\"decision\" value=\"block\"/>" out.junit &&
	test_grep -F "\\u009b2J" out.junit && test_grep -F "\\x1b[31mstderr" out.junit
'

test_expect_success 'tap: one line per test point, the decision is not ok' '
	grep -c "^\(not \)\?ok " out.tap >n && test "$(cat n)" = 3 &&
	test_grep "^not ok 3 - decision: block$" out.tap &&
	test_grep -v "^ALLOWED" out.tap &&
	expect_status 1 prove --exec cat out.tap >prove.out 2>&1 &&
	test_grep "Failed 3/3 subtests" prove.out
'

test_expect_success 'nagios: one line, CRITICAL, no forged perfdata' '
	test "$(wc -l <out.nagios)" = 1 &&
	test_grep "^GATE CRITICAL - blocked: escapes: " out.nagios &&
	test "$(tr -cd "|" <out.nagios | wc -c)" = 1
'

test_expect_success 'stderr messages that echo outside text are escaped too' '
	expect_status 75 gate run --dry-run --wait 1s --interval 10s rb.yaml -- true >out 2>err &&
	test_grep "attempt 1: blocked" err && bad_bytes err &&
	printf "version: 1\nname: x\n\"bad\\\\e[31mkey\": 1\nchecks: [{id: a, type: exec, with: {command: [\"true\"]}}]\n" >badkey.yaml &&
	chmod 644 badkey.yaml &&
	expect_status 78 gate lint badkey.yaml >out 2>err &&
	test_grep -F "bad\\x1b[31mkey" err && bad_bytes err
'

test_expect_success 'nagios: an invalid runbook named with escapes and a | is one safe line' '
	name=$(printf "bad|x=1\\033[31m.yaml") &&
	printf "version: 1\n" >"$name" && chmod 644 "$name" &&
	expect_status 3 gate check -f nagios "$name" >out 2>err &&
	bad_bytes out && bad_bytes err &&
	test "$(wc -l <out)" = 1 && test "$(tr -cd "|" <out | wc -c)" = 0 &&
	test_grep -F "GATE UNKNOWN - runbook bad/x=1\\x1b[31m.yaml is invalid" out
'

test_done
