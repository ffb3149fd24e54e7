#!/bin/bash
# Record the answers the maintenance kinds read (holds/maint_judge.h) from
# the real servers their scenario tests start (tests/lib/ha.sh,
# tests/lib/alertmanager.sh) into tests/data/recorded/holds/, and seed the
# fuzz corpus fuzz/corpus/hold_maint with the same files.  The unit tests
# (tests/unit/test_hold_maint.c) read these recordings.
#
# Recorded last with Debian 12's packages: Patroni 3.0.2 on etcd 3.4.23
# with PostgreSQL 15, and prometheus-alertmanager 0.25.0.  Needs root
# (PostgreSQL runs as postgres) and what scripts/install-deps.sh installs;
# takes a minute.  Every server is stopped at exit; everything else lives
# in a temporary directory.
#
#   tests/tools/record-holds.sh [patroni|alertmanager]...
#
# patroni/       cluster-unpaused.json   GET /cluster of a healthy cluster
#                config-pause.json       PATCH /config {"pause": true}
#                cluster-paused.json     GET /cluster after it
#                config-pause-again.json the same PATCH once more
#                config-resume.json      PATCH /config {"pause": null}
#                cluster-resumed.json    GET /cluster after it
#                config-not-json.txt     PATCH /config with a body that is
#                                        not JSON (status 400)
#                *.status                each answer's HTTP status
# alertmanager/  silence-created.json    POST /api/v2/silences
#                silence-active.json     GET /api/v2/silence/ID
#                silences-active.json    GET /api/v2/silences (ours active,
#                                        another one too)
#                silence-expired.json    GET /api/v2/silence/ID after DELETE
#                silences-expired.json   GET /api/v2/silences after it
#                delete-expired.txt      DELETE of the expired one
#                delete-unknown.json     DELETE of an unknown ID (500)
#                get-unknown.txt         GET of an unknown ID (404, empty)
#                post-form.json          POST without a JSON type (415)
#                post-no-regex.json      a matcher without isRegex (422)
#                post-ends-before.json   endsAt before startsAt (400)
#                post-empty-matcher.json only a matcher of "" (400)
#                *.status                each answer's HTTP status
set -u
# shellcheck source=tests/lib/test-lib.sh
. "$(dirname "$0")/../lib/test-lib.sh"
R=$GATE_SOURCE_DIR/tests/data/recorded/holds
C=$GATE_SOURCE_DIR/fuzz/corpus/hold_maint
cd "$TEST_TMP" || exit 1
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(patroni alertmanager)
want() { case " ${parts[*]} " in *" $1 "*) return 0 ;; esac; return 1; }
mkdir -p "$C"

# rec FILE CURL-ARGS...: the body into FILE, the status into FILE's .status
rec() {
	local f=$1 st
	shift
	st=$(curl -s -m 10 -o "$f" -w '%{http_code}' "$@")
	echo "$st" >"${f%.*}.status"
	echo "# ${f#"$GATE_SOURCE_DIR"/} ($st, $(wc -c <"$f") bytes)"
}
# seed KIND FILE: a fuzz seed (fuzz/fuzz_hold_maint.c): a matcher, the
# token of the recorded silence, the answer
seed() {
	{ printf '%s\n%%%%\n%s\n%%%%\n' 'severity=~"crit.*"' 0123456789abcdef; cat "$2"; } \
		>"$C/rec-$1-$(basename "${2%.*}")"
}

lacks_pause() { ! ha_body_has "$1/cluster" '"pause": true'; }

if want patroni; then
	. "$GATE_SOURCE_DIR/tests/lib/ha.sh"
	P=$R/patroni
	mkdir -p "$P"
	ha_cluster_up || { echo "the Patroni cluster did not start"; exit 1; }
	U=http://127.0.0.1:$PATRONI_API_2
	rec "$P/cluster-unpaused.json" "$U/cluster"
	rec "$P/config-pause.json" -X PATCH -d '{"pause": true}' "$U/config"
	wait_until 30 ha_body_has "$U/cluster" '"pause": true'
	rec "$P/cluster-paused.json" "$U/cluster"
	rec "$P/config-pause-again.json" -X PATCH -d '{"pause": true}' "$U/config"
	rec "$P/config-resume.json" -X PATCH -d '{"pause": null}' "$U/config"
	wait_until 30 lacks_pause "$U"
	rec "$P/cluster-resumed.json" "$U/cluster"
	rec "$P/config-not-json.txt" -X PATCH -d 'not json' "$U/config"
	for f in cluster-unpaused cluster-paused cluster-resumed; do seed cluster "$P/$f.json"; done
	for f in config-pause config-pause-again config-resume config-not-json; do
		seed config "$P/$f".*[nt]
	done
fi
if want alertmanager; then
	. "$GATE_SOURCE_DIR/tests/lib/alertmanager.sh"
	A=$R/alertmanager
	mkdir -p "$A"
	am_start || exit 1
	now=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
	later=$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%S.000Z)
	m='[{"name":"alertname","value":"FixtureAlwaysFiring","isRegex":false,"isEqual":true},{"name":"severity","value":"crit.*","isRegex":true,"isEqual":true}]'
	body() { printf '{"matchers":%s,"startsAt":"%s","endsAt":"%s","createdBy":"gate root@recorder","comment":"%s"}' "$1" "$2" "$3" "$4"; }
	J=(-H 'Content-Type: application/json')
	ours="gate maintenance: runbook db-upgrade by root@recorder pid 4242 (gate-token 0123456789abcdef); kernel"
	rec "$A/silence-created.json" "${J[@]}" -X POST -d "$(body "$m" "$now" "$later" "$ours")" "$AM_URL/api/v2/silences"
	id=$(sed 's/.*"silenceID":"\([^"]*\)".*/\1/' "$A/silence-created.json")
	curl -s -m 10 "${J[@]}" -X POST -d "$(body '[{"name":"team","value":"web","isRegex":false}]' "$now" "$later" "someone else")" "$AM_URL/api/v2/silences" >/dev/null
	rec "$A/silence-active.json" "$AM_URL/api/v2/silence/$id"
	rec "$A/silences-active.json" "$AM_URL/api/v2/silences"
	rec "$A/delete-active.txt" -X DELETE "$AM_URL/api/v2/silence/$id"
	rec "$A/silence-expired.json" "$AM_URL/api/v2/silence/$id"
	rec "$A/silences-expired.json" "$AM_URL/api/v2/silences"
	rec "$A/delete-expired.txt" -X DELETE "$AM_URL/api/v2/silence/$id"
	rec "$A/delete-unknown.json" -X DELETE "$AM_URL/api/v2/silence/00000000-1111-2222-3333-444444444444"
	rec "$A/get-unknown.txt" "$AM_URL/api/v2/silence/00000000-1111-2222-3333-444444444444"
	rec "$A/post-form.json" -X POST -d "$(body "$m" "$now" "$later" x)" "$AM_URL/api/v2/silences"
	rec "$A/post-no-regex.json" "${J[@]}" -X POST -d "$(body '[{"name":"a","value":"b"}]' "$now" "$later" x)" "$AM_URL/api/v2/silences"
	rec "$A/post-ends-before.json" "${J[@]}" -X POST -d "$(body "$m" "$later" "$now" x)" "$AM_URL/api/v2/silences"
	rec "$A/post-empty-matcher.json" "${J[@]}" -X POST -d "$(body '[{"name":"a","value":"","isRegex":false}]' "$now" "$later" x)" "$AM_URL/api/v2/silences"
	seed silence-id "$A/silence-created.json"
	for f in post-form post-no-regex post-ends-before post-empty-matcher delete-unknown; do seed error "$A/$f.json"; done
	for f in silence-active silence-expired; do seed silence "$A/$f.json"; done
	for f in silences-active silences-expired; do seed silences "$A/$f.json"; done
fi
