#!/bin/bash
# Record etcd v3's JSON gateway answers that the etcd lock reads
# (holds/etcd_v3.c) into tests/data/recorded/holds/etcd/, and seed the fuzz
# corpus fuzz/corpus/etcd/ with the same files.  The unit tests
# (tests/unit/test_hold_etcd.c) read these recordings.
#
# Recorded last with Debian 12's etcd-server 3.4.23 (one member, started by
# tests/lib/ha.sh on a free loopback port, stopped at exit; its data lives
# in a temporary directory).  Each file is the body of one POST, exactly as
# etcd sent it; the requests are the ones holds/etcd_v3.c builds.
#
#   tests/tools/record-hold-etcd.sh
#
# grant-a.json, grant-b.json   lease/grant {"TTL":30}: holders A and B
# grant-ttl1.json              lease/grant {"TTL":1}: etcd grants its minimum
# txn-won.json                 kv/txn: slot-0 created for A (absent before)
# txn-lost.json                the same for B: no "succeeded", A read back
# txn-lease-unknown.json       a create naming a lease etcd does not know (404)
# txn-bad-base64.json          a key that is not base64 (400)
# range-two.json, range-empty.json  kv/range over a group: two slots, none
# range-one.json               the group after slot-0 was released
# keepalive.json               lease/keepalive of a live lease
# keepalive-lost.json          the same after the lease was revoked (no TTL)
# timetolive.json              lease/timetolive with keys: A's lease, one key
# timetolive-gone.json         the same after the revoke (TTL -1)
# delete-won.json, delete-lost.json  kv/txn delete if the key's lease is
#                              A's / another
# revoke.json, revoke-unknown.json  lease/revoke of a live and a gone lease
# auth-token.json              auth/authenticate with the right password
# auth-failed.json             with a wrong one
# auth-invalid-token.json      a request with a token etcd does not know
# auth-denied.json             a range outside the user's permissions
# not-etcd.txt                 /v3alpha/ (gone in 3.4): a plain-text 404
set -u
# shellcheck source=tests/lib/test-lib.sh
. "$(dirname "$0")/../lib/test-lib.sh"
. "$GATE_SOURCE_DIR/tests/lib/ha.sh"
R=$GATE_SOURCE_DIR/tests/data/recorded/holds/etcd
C=$GATE_SOURCE_DIR/fuzz/corpus/etcd
mkdir -p "$R" "$C"
ha_etcd_start || { echo "etcd did not start"; exit 1; }
E=$ETCD_URL
b64() { printf %s "$1" | base64 -w0; }
# post PATH BODY FILE [CURL-ARGS...]: one answer's body, byte for byte
post() {
	local path=$1 body=$2 file=$3
	shift 3
	curl -s -m 10 -X POST "$@" -H 'Content-Type: application/json' -d "$body" "$E$path" >"$R/$file"
	echo "# $file: $(head -c 120 "$R/$file")"
}
id_of() { sed -n 's/.*"ID":"\([0-9]*\)".*/\1/p' "$R/$1"; }
WHO_A='{"host":"db1","pid":4242,"runbook":"upgrade-db","since":"2026-11-28T20:31:00Z","user":"ops"}'
WHO_B='{"host":"db2","pid":77,"runbook":"upgrade-db","since":"2026-11-28T20:32:00Z","user":"ops"}'
K0=$(b64 /gate/locks/fleet/slot-0)
K1=$(b64 /gate/locks/fleet/slot-1)
create() {
	printf '{"compare":[{"key":"%s","result":"EQUAL","target":"CREATE","create_revision":"0"}],"success":[{"request_put":{"key":"%s","value":"%s","lease":"%s"}}],"failure":[{"request_range":{"key":"%s"}}]}' \
		"$1" "$1" "$(b64 "$2")" "$3" "$1"
}
GROUP="{\"key\":\"$(b64 /gate/locks/fleet/)\",\"range_end\":\"$(b64 /gate/locks/fleet0)\"}"

post /v3/lease/grant '{"TTL":"30"}' grant-a.json
post /v3/lease/grant '{"TTL":"30"}' grant-b.json
post /v3/lease/grant '{"TTL":"1"}' grant-ttl1.json
LA=$(id_of grant-a.json) LB=$(id_of grant-b.json)
post /v3/kv/range "$GROUP" range-empty.json
post /v3/kv/txn "$(create "$K0" "$WHO_A" "$LA")" txn-won.json
post /v3/kv/txn "$(create "$K0" "$WHO_B" "$LB")" txn-lost.json
post /v3/kv/txn "$(create "$K1" "$WHO_B" 1234567)" txn-lease-unknown.json
post /v3/kv/txn "$(create "@@@" "$WHO_B" "$LB")" txn-bad-base64.json
curl -s -m 10 -X POST -d "$(create "$K1" "$WHO_B" "$LB")" "$E/v3/kv/txn" >/dev/null
post /v3/kv/range "$GROUP" range-two.json
post /v3/lease/keepalive "{\"ID\":\"$LA\"}" keepalive.json
post /v3/lease/timetolive "{\"ID\":\"$LA\",\"keys\":true}" timetolive.json
post /v3/kv/txn "{\"compare\":[{\"key\":\"$K0\",\"result\":\"EQUAL\",\"target\":\"LEASE\",\"lease\":\"$LB\"}],\"success\":[{\"request_delete_range\":{\"key\":\"$K0\"}}]}" delete-lost.json
post /v3/kv/txn "{\"compare\":[{\"key\":\"$K0\",\"result\":\"EQUAL\",\"target\":\"LEASE\",\"lease\":\"$LA\"}],\"success\":[{\"request_delete_range\":{\"key\":\"$K0\"}}]}" delete-won.json
post /v3/kv/range "$GROUP" range-one.json
post /v3/lease/revoke "{\"ID\":\"$LA\"}" revoke.json
post /v3/lease/revoke "{\"ID\":\"$LA\"}" revoke-unknown.json
post /v3/lease/keepalive "{\"ID\":\"$LA\"}" keepalive-lost.json
post /v3/lease/timetolive "{\"ID\":\"$LA\",\"keys\":true}" timetolive-gone.json
post /v3alpha/kv/range "$GROUP" not-etcd.txt

# Login: a user allowed /gate/locks/ only, then auth turned on.
export ETCDCTL_API=3
ctl() { etcdctl --endpoints="$E" "$@" >/dev/null; }
ctl user add root:recordroot && ctl role add gatelocks &&
	ctl role grant-permission gatelocks --prefix=true readwrite /gate/locks/ &&
	ctl user add gate:recordgate && ctl user grant-role gate gatelocks && ctl auth enable ||
	{ echo "cannot turn etcd auth on"; exit 1; }
post /v3/auth/authenticate '{"name":"gate","password":"bad"}' auth-failed.json
post /v3/auth/authenticate '{"name":"gate","password":"recordgate"}' auth-token.json
TOKEN=$(sed -n 's/.*"token":"\([^"]*\)".*/\1/p' "$R/auth-token.json")
post /v3/kv/range "$GROUP" auth-invalid-token.json -H "Authorization: nosuch.1"
post /v3/kv/range "{\"key\":\"$(b64 /other)\"}" auth-denied.json -H "Authorization: $TOKEN"

rm -f "$C"/rec-*
for f in "$R"/*; do cp "$f" "$C/rec-$(basename "$f")"; done
echo "# $(ls "$R" | wc -l) recordings in ${R#"$GATE_SOURCE_DIR"/}, seeds in ${C#"$GATE_SOURCE_DIR"/}"
