#!/bin/bash
# notify: webhooks from the real gate run and gate hook run to a local
# receiver that records what it got (tests/servers/httpd.py: GET /__log;
# `?_status=500` makes it fail), and to a listener that accepts and never
# answers (tests/servers/blackhole.py).  A block posts the report with
# event block before gate exits 75; an allow posts allow, then result with
# the command's status; chat posts {"text"}; gate check, run --dry-run and
# lint post nothing; a hung or failing receiver is warned about and
# audited and changes nothing (the command runs, the status is its own,
# the wait is bounded); a secret in a header or a URL's password reaches
# no body, no message, no report and no audit record.
. "$(dirname "$0")/lib/test-lib.sh"
require_cmd ss git

SERVERS="$GATE_SOURCE_DIR/tests/servers"
PY=/usr/bin/python3
T=$TEST_TMP

listening() { ss -Hltn "sport = :$1" | grep -q .; }
start_bg() { # start_bg NAME CMD...: run in the background, kill at exit
	local name=$1; shift
	"$@" >"$T/$name.log" 2>&1 &
	test_cleanup "kill $! 2>/dev/null"
}
HP=$(free_port) && start_bg httpd $PY "$SERVERS/httpd.py" "$HP"
AP=$(free_port) && start_bg accept $PY "$SERVERS/blackhole.py" "$AP" accept "$T/accept.ready"
wait_until 10 listening "$HP" || echo "# the receiver did not start"
wait_until 10 test -s "$T/accept.ready" || echo "# the blackhole did not get ready"

# recv reset | recv log FILE: forget what the receiver got / what it got
# (a JSON list of {method, path, query, headers, body}).
recv() {
	$PY - "$HP" "$@" <<'PY'
import json, sys, urllib.request
port, what = sys.argv[1], sys.argv[2]
base = "http://127.0.0.1:%s" % port
if what == "reset":
    urllib.request.urlopen(urllib.request.Request(base + "/__reset", data=b"", method="POST"))
else:
    log = json.load(urllib.request.urlopen(base + "/__log"))
    json.dump([r for r in log if not r["path"].startswith("/__")], open(sys.argv[3], "w"))
PY
}
# posts FILE PYTHON-EXPR: assert about the list `p` of posts (each with
# its body parsed as `j`); prints the posts when it does not hold.
posts() {
	$PY - "$1" "$2" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
for r in p:
    r["j"] = json.loads(r["body"])
if not eval(sys.argv[2]):
    print("# posts:", json.dumps(p, indent=1)[:4000])
    sys.exit(1)
PY
}

# rb FILE FLAG NOTIFY-YAML: a runbook whose one check passes while FLAG
# exists, with the notify: list given.
rb() {
	write_rb "$1" <<EOF
version: 1
name: notified
checks:
  - id: flag
    type: exec
    hint: touch $2
    with:
      command: [test, -e, "$2"]
      protocol: exit
notify:
$3
EOF
}
U="http://127.0.0.1:$HP"

test_expect_success 'block: one json POST with decision block and the reasons, before exit 75' '
	recv reset &&
	rb rb.yaml "$T/nope" "  - url: $U/hook" &&
	expect_status 75 gate run rb.yaml -- touch ran 2>err &&
	test ! -e ran &&
	recv log got.json &&
	posts got.json "len(p) == 1 and p[0][\"method\"] == \"POST\" and p[0][\"path\"] == \"/hook\"" &&
	posts got.json "p[0][\"headers\"][\"Content-Type\"] == \"application/json\"" &&
	posts got.json "p[0][\"j\"][\"event\"] == \"block\" and p[0][\"j\"][\"decision\"] == \"block\"" &&
	posts got.json "p[0][\"j\"][\"reasons\"][0].startswith(\"flag:\") and p[0][\"j\"][\"runbook\"] == \"notified\"" &&
	posts got.json "p[0][\"j\"][\"mode\"] == \"run\" and p[0][\"j\"][\"host\"] and p[0][\"j\"][\"user\"]" &&
	test_grep -v "notification failed" err
'

test_expect_success 'allow and a command: allow, then result with the exit status and duration' '
	recv reset && touch flag &&
	rb rb.yaml "$T/flag" "  - url: $U/hook" &&
	expect_status 3 gate run -o out.json rb.yaml -- sh -c "touch ran; exit 3" &&
	test -e ran &&
	recv log got.json &&
	posts got.json "[r[\"j\"][\"event\"] for r in p] == [\"allow\", \"result\"]" &&
	posts got.json "p[0][\"j\"][\"decision\"] == \"allow\" and p[0][\"j\"][\"exit_status\"] is None" &&
	posts got.json "p[1][\"j\"][\"result\"][\"exit_status\"] == 3 and p[1][\"j\"][\"result\"][\"signal\"] is None" &&
	posts got.json "p[1][\"j\"][\"exit_status\"] == 3 and p[1][\"j\"][\"result\"][\"duration_ms\"] >= 0" &&
	test "$(json_get out.json ".notifications[1].event")" = result &&
	test "$(json_get out.json ".notifications[1].ok")" = true
'

test_expect_success 'a command killed by a signal: the result names it' '
	recv reset &&
	rb rb.yaml "$T/flag" "  - url: $U/hook
    events: [result]" &&
	expect_status 143 gate run rb.yaml -- sh -c "kill -TERM \$\$" &&
	recv log got.json &&
	posts got.json "len(p) == 1 and p[0][\"j\"][\"result\"][\"signal\"] == \"SIGTERM\""
'

test_expect_success 'events: only the ones asked for are sent' '
	recv reset &&
	rb rb.yaml "$T/flag" "  - url: $U/hook-only-block
    events: [block]" &&
	gate run rb.yaml -- true &&
	recv log got.json &&
	posts got.json "p == []"
'

test_expect_success 'chat: {"text"} with the runbook, the host, the decision and the reasons' '
	recv reset &&
	rb rb.yaml "$T/nope" "  - url: $U/hook-chat
    format: chat" &&
	expect_status 75 gate run rb.yaml -- true &&
	recv log got.json &&
	posts got.json "len(p) == 1 and list(p[0][\"j\"]) == [\"text\"]" &&
	posts got.json "\"notified\" in p[0][\"j\"][\"text\"] and \"blocked\" in p[0][\"j\"][\"text\"]" &&
	posts got.json "\"flag:\" in p[0][\"j\"][\"text\"] and \"$(hostname)\" in p[0][\"j\"][\"text\"]"
'

test_expect_success 'chat: the result says the command and how it ended' '
	recv reset &&
	rb rb.yaml "$T/flag" "  - url: $U/hook-chat
    format: chat" &&
	gate run rb.yaml -- echo "a b" >/dev/null &&
	recv log got.json &&
	posts got.json "len(p) == 2 and \"allowed\" in p[0][\"j\"][\"text\"]" &&
	posts got.json "\"\`echo \x27a b\x27\` exited 0\" in p[1][\"j\"][\"text\"]"
'

test_expect_success 'gate check, gate run --dry-run and gate lint send nothing' '
	recv reset &&
	rb rb.yaml "$T/nope" "  - url: $U/hook" &&
	expect_status 75 gate check rb.yaml >/dev/null &&
	expect_status 75 gate run --dry-run rb.yaml -- true >/dev/null &&
	gate lint rb.yaml >/dev/null &&
	rb rb.yaml "$T/flag" "  - url: $U/hook" &&
	gate check rb.yaml >/dev/null &&
	gate run --dry-run rb.yaml -- true >/dev/null &&
	recv log got.json &&
	posts got.json "p == []"
'

test_expect_success 'a receiver that never answers: bounded wait, the command runs, its status stays' '
	recv reset &&
	rb rb.yaml "$T/flag" "  - url: http://127.0.0.1:$AP/hang
    timeout: 1s
  - url: $U/hook" &&
	t0=$(test_now_ms) &&
	expect_status 4 gate run -o out.json rb.yaml -- sh -c "touch ran; exit 4" 2>err &&
	t1=$(test_now_ms) &&
	test -e ran &&
	# two sends (allow, result), each given up after its 1s timeout
	test $((t1 - t0)) -lt $((2 * 1000 + TEST_SLACK_MS)) &&
	test_grep "notification failed: notify 1 (http://127.0.0.1:$AP/...): allow" err &&
	test_grep "did not answer within 1000 ms" err &&
	test "$(json_get out.json ".notifications[0].ok")" = false &&
	recv log got.json &&
	posts got.json "[r[\"j\"][\"event\"] for r in p] == [\"allow\", \"result\"]"
'

test_expect_success 'a receiver that never answers a block: exit 75 within the timeout' '
	rb rb.yaml "$T/nope" "  - url: http://127.0.0.1:$AP/hang
    timeout: 1s" &&
	t0=$(test_now_ms) &&
	expect_status 75 gate run rb.yaml -- true 2>err &&
	t1=$(test_now_ms) &&
	test $((t1 - t0)) -lt $((1000 + TEST_SLACK_MS)) &&
	test_grep "notification failed" err
'

# A DNS server that never answers (a UDP socket bound and never read, in
# a network namespace of the test's own, named by a resolv.conf bound over
# /etc/resolv.conf there only): the name is still being resolved when the
# POST is given up, and libcurl must not wait out the resolver's retries
# (timeout:30 attempts:2, a minute) before gate exits.
dns_ns_ok() { command -v unshare >/dev/null && unshare -rmn true 2>/dev/null; }
if dns_ns_ok; then
test_expect_success 'a silent DNS server: the block still exits within the notification timeout' '
	rb rb.yaml "$T/nope" "  - url: http://gate-notify-test.example:8080/hook
    timeout: 1s" &&
	printf "nameserver 127.0.0.1\noptions timeout:30 attempts:2\n" >resolv.conf &&
	cat >dns-ns.sh <<-EOF &&
	ip link set lo up && mount --bind "$PWD/resolv.conf" /etc/resolv.conf || exit 99
	$PY -c "import socket, time
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.bind((\"127.0.0.1\", 53))
	open(\"dns.ready\", \"w\").close()
	time.sleep(600)" &
	dns=\$!
	i=0; while [ ! -e dns.ready ] && [ \$i -lt 200 ]; do sleep 0.05; i=\$((i + 1)); done
	"$GATE_BIN" run rb.yaml -- true 2>err; rc=\$?
	kill \$dns; exit \$rc
	EOF
	t0=$(test_now_ms) &&
	expect_status 75 unshare -rmn sh dns-ns.sh &&
	t1=$(test_now_ms) &&
	test -e dns.ready &&
	test $((t1 - t0)) -lt $((1000 + TEST_SLACK_MS)) &&
	test_grep "notification failed: notify 1 (http://gate-notify-test.example:8080/...): block" err
'
else
	test_skip "a silent DNS server: the block still exits within the notification timeout" \
		"unshare -rmn (user, mount and network namespaces) is not available"
fi

test_expect_success 'a 500: reported and audited, nothing else changes' '
	recv reset &&
	rb rb.yaml "$T/flag" "  - url: $U/hook?_status=500" &&
	gate run --audit-log audit.jsonl rb.yaml -- touch ran 2>err &&
	test -e ran &&
	test_grep "notification failed: notify 1 (http://127.0.0.1:$HP/...): allow: 127.0.0.1:$HP answered HTTP 500" err &&
	$PY - audit.jsonl <<-\PY
	import json, sys
	recs = [json.loads(l) for l in open(sys.argv[1])]
	assert [r["record"] for r in recs] == ["decision", "result"], recs
	assert "notifications" not in recs[0], recs[0]
	n = recs[1]["notifications"]
	assert [(x["event"], x["ok"], x["http_status"]) for x in n] == \
	    [("allow", False, 500), ("result", False, 500)], n
	assert recs[1]["exit_status"] == 0
	PY
'

test_expect_success 'a block audit record says how its notification went' '
	rb rb.yaml "$T/nope" "  - url: $U/hook" &&
	expect_status 75 gate run --audit-log audit2.jsonl rb.yaml -- true &&
	test "$(json_get audit2.jsonl ".notifications[0].event")" = block &&
	test "$(json_get audit2.jsonl ".notifications[0].ok")" = true
'

test_expect_success 'secrets in a header and a URL password reach no body, message, report or record' '
	recv reset &&
	export NOTIFY_TOKEN=tok-s3cr3t-value NOTIFY_PW=pw-s3cr3t-value &&
	rb rb.yaml "$T/flag" "  - url: http://hook:\${env:NOTIFY_PW}@127.0.0.1:$HP/hook-key-in-path?_status=500
    headers:
      Authorization: \"Bearer \${env:NOTIFY_TOKEN}\"
  - url: \"\${env:NOTIFY_URL}\"
    format: chat" &&
	export NOTIFY_URL="$U/hook-chat-key-in-path" &&
	gate run -v --audit-log audit3.jsonl -o out3.json rb.yaml -- true >stdout 2>err &&
	recv log got.json &&
	posts got.json "len(p) == 4" &&
	posts got.json "all(r[\"headers\"][\"Authorization\"] == \"Bearer tok-s3cr3t-value\" for r in p if r[\"path\"].startswith(\"/hook-key-in-path\"))" &&
	posts got.json "len([r for r in p if r[\"path\"].startswith(\"/hook-key-in-path\")]) == 2" &&
	for f in stdout err audit3.jsonl out3.json; do
		test_grep -v "s3cr3t" $f && test_grep -v "key-in-path" $f || return 1
	done &&
	posts got.json "all(\"s3cr3t\" not in r[\"body\"] and \"key-in-path\" not in r[\"body\"] for r in p)" &&
	test_grep "http://hook:\*\*\*@127.0.0.1:$HP/..." err
'

test_expect_success 'gate lint refuses a bad notify: item with file:line:column' '
	for bad in "    url: ftp://127.0.0.1/x|:7:5: notify 1: url: expected an http:// or https:// URL" \
		"    url: $U/x\n    evnts: [block]|:8:5: unknown parameter .evnts.*did you mean .events." \
		"    url: $U/x\n    events: [blok]|:8:5: notify 1: events: unknown event .blok." \
		"    url: $U/x\n    events: []|:8:5: notify 1: events: name at least one" \
		"    url: $U/x\n    timeout: 11s|:8:5: notify 1: timeout: .*at most 10s" \
		"    url: $U/x\n    format: slack|:8:13: expected one of json.chat, got .slack." \
		"    url: $U/x\n    headers: {\"a b\": c}|:8:5: notify 1: headers: .a b. is not a header name" \
		"    url: $U/x\n    headers: {A: \"x\\\\ny\"}|:8:5: notify 1: headers: the value of header .A. has a control" \
		"    url: http://:80/x|:7:5: notify 1: url: the URL has no host" \
		"    events: [block]|:7:5: notify 1: missing required parameter .url."; do
		item=${bad%%|*} && where=${bad#*|} &&
		write_rb bad.yaml <<-EOF &&
		version: 1
		name: bad
		checks:
		  - {id: a, type: exec, with: {command: ["true"]}}
		notify:
		  -
		$(printf "$item")
		EOF
		expect_status 78 gate lint bad.yaml 2>err &&
		grep -q "^gate: error: bad.yaml$where" err || { cat bad.yaml err; return 1; }
	done
'

test_expect_success 'gate lint refuses notify: in an included file' '
	write_rb pol.yaml <<-EOF &&
	version: 1
	notify:
	  - url: $U/x
	EOF
	write_rb top.yaml <<-EOF &&
	version: 1
	name: top
	include: [pol.yaml]
	checks:
	  - {id: a, type: exec, with: {command: ["true"]}}
	EOF
	expect_status 78 gate lint top.yaml 2>err &&
	test_grep "pol.yaml:2:1: .notify. is only allowed in the top-level runbook" err
'

# gate hook run: a real repository; the push is judged like gate check,
# and told like gate run.
export GIT_CONFIG_NOSYSTEM=1 HOME=$T/home GIT_TERMINAL_PROMPT=0
mkdir -p "$HOME"
git config --global user.name gate-test
git config --global user.email gate-test@example.invalid
git config --global init.defaultBranch main
WT=$T/work
git init -q --bare "$T/server.git" && git init -q "$WT" && mkdir -p "$WT/.gate"
rb "$WT/deploy.yaml" "$T/hookflag" "  - url: $U/hook
    format: json"
cat >"$WT/.gate/hooks.yaml" <<'EOF'
version: 1
hooks:
  pre-push:
    - refs: ["refs/heads/main"]
      runbook: deploy.yaml
EOF
(cd "$WT" && git add -A && git commit -qm initial && git remote add origin "$T/server.git" &&
	gate hook install >/dev/null) || echo "# the repository could not be set up"

test_expect_success 'gate hook run: a refused push is told (block)' '
	recv reset &&
	test_must_fail_push() { ! (cd "$WT" && git push -q origin main) 2>push.err; } &&
	test_must_fail_push &&
	recv log got.json &&
	posts got.json "len(p) == 1 and p[0][\"j\"][\"event\"] == \"block\" and p[0][\"j\"][\"mode\"] == \"check\""
'

test_expect_success 'gate hook run: an allowed push is told (allow, no result)' '
	recv reset && touch "$T/hookflag" &&
	(cd "$WT" && git push -q origin main) 2>push.err &&
	recv log got.json &&
	posts got.json "[r[\"j\"][\"event\"] for r in p] == [\"allow\"]"
'

test_done
