#!/usr/bin/env bash
# The policy through the real binary, at the real time: windows around now
# (inside, outside with the next opening named, crossing midnight),
# freezes around now (reason and end, overridable or not), warn-severity
# failures that allow, a runbook with no blocking check, and overrides of
# the pseudo-checks.  Times are computed from the clock when the script
# runs, with an hour of margin either side.
. "$(dirname "$0")/lib/test-lib.sh"

require_cmd python3
cd "$TEST_TMP" || exit 1

# hm OFFSET_MIN: UTC "HH:MM" at now + OFFSET_MIN minutes; day NAME likewise.
hm() { date -u -d "@$(( $(date +%s) + $1 * 60 ))" +%H:%M; }
dayname() { date -u -d "@$(( $(date +%s) + $1 * 60 ))" +%a | tr A-Z a-z; }
iso() { date -u -d "@$(( $(date +%s) + $1 * 60 ))" +%Y-%m-%dT%H:%M:%SZ; }

# rb NAME: a runbook with one passing blocking check and the YAML on stdin.
rb() {
	{
		printf 'version: 1\nname: %s\n' "$1"
		cat
		printf 'checks:\n  - id: probe\n    type: exec\n    with:\n      command: ["/bin/true"]\n      protocol: exit\n'
	} >"$1.yaml"
	chmod 644 "$1.yaml"
}

rb inside <<EOF
window:
  - start: "$(hm -60)"
    end: "$(hm 60)"
    timezone: UTC
EOF
# a window that opens in 3 hours, every day: outside now
rb outside <<EOF
window:
  - start: "$(hm 180)"
    end: "$(hm 240)"
    timezone: UTC
EOF
rb outside-ovr <<EOF
window:
  - start: "$(hm 180)"
    end: "$(hm 240)"
    timezone: UTC
    overridable: true
EOF
# the window of yesterday's day name only, 22:00-02:00 style (crossing
# midnight) and not containing now unless now is near its edges: use
# today's day name with a window that started 2 h ago and crosses midnight
rb midnight <<EOF
window:
  - days: [$(dayname -120)]
    start: "$(hm -120)"
    end: "$(hm -180)"
    timezone: UTC
EOF
rb frozen <<EOF
freeze:
  - from: $(iso -60)
    to: $(iso 60)
    reason: incident INC-0202 in progress
EOF
rb frozen-ovr <<EOF
freeze:
  - from: $(iso -60)
    to: $(iso 60)
    reason: soft freeze
    overridable: true
EOF
rb thawed <<EOF
freeze:
  - from: $(iso -120)
    to: $(iso -60)
    reason: over
EOF
cat >warnonly.yaml <<'EOF'
version: 1
name: warnonly
checks:
  - id: disk
    type: exec
    severity: warn
    with:
      command: ["/bin/true"]
      protocol: exit
EOF
chmod 644 warnonly.yaml
cat >warnfail.yaml <<'EOF'
version: 1
name: warnfail
checks:
  - id: probe
    type: exec
    with:
      command: ["/bin/true"]
      protocol: exit
  - id: disk
    type: exec
    severity: warn
    with:
      command: ["/bin/false"]
      protocol: exit
EOF
chmod 644 warnfail.yaml

test_expect_success 'inside a window: allowed, the window pseudo-check passes' '
	gate check -f json inside.yaml >r.json &&
	test "$(json_get r.json .decision)" = allow &&
	test "$(json_get r.json ".checks[?id=window].status")" = pass &&
	test "$(json_get r.json ".checks[?id=window].type")" = window &&
	test "$(json_get r.json .next_window)" = null
'

test_expect_success 'outside every window: blocked, the next opening named' '
	expect_status 75 gate check outside.yaml >out &&
	test_grep "^FAIL  window .*outside every maintenance window; next opens [a-z]\{3\} $(hm 180) UTC (in [23]h[0-9][0-9]m)" out &&
	test_grep "^  - window: outside every maintenance window" out &&
	test_grep "^next window opens " out &&
	expect_status 75 gate check -f json outside.yaml >r.json &&
	json_get r.json .next_window.at | grep -q "T$(hm 180):00Z"
'

test_expect_success 'a window that crossed midnight (or started 2 h ago): inside' '
	gate check -f json midnight.yaml >r.json &&
	test "$(json_get r.json ".checks[?id=window].status")" = pass
'

test_expect_success 'override of the window: refused unless overridable' '
	expect_status 75 gate check --override window --reason "night shift" outside.yaml >out &&
	test_grep "override refused" out &&
	gate check --override window --reason "night shift" outside-ovr.yaml >out &&
	test_grep "^OVRD  window " out &&
	test_grep "^ALLOWED " out
'

test_expect_success 'inside a freeze: blocked, its reason and end shown' '
	expect_status 75 gate check frozen.yaml >out &&
	test_grep "^FAIL  freeze .*inside change freeze \"incident INC-0202 in progress\" until $(iso 60 | cut -c1-15)" out &&
	expect_status 75 gate check --override freeze --reason x frozen.yaml >out &&
	test_grep "override refused" out &&
	gate check --override freeze --reason "cab approved" frozen-ovr.yaml >out &&
	test_grep "^OVRD  freeze " out &&
	gate check -f json thawed.yaml >r.json &&
	test "$(json_get r.json ".checks[?id=freeze].status")" = pass
'

test_expect_success 'warn-severity failures allow; no blocking check blocks' '
	gate check -f json warnfail.yaml >r.json &&
	test "$(json_get r.json .decision)" = allow &&
	test "$(json_get r.json ".warnings[0]")" = "disk: exited 1" &&
	expect_status 75 gate check warnonly.yaml >out &&
	test_grep "no blocking check" out
'

test_done
