#!/bin/bash
# Record the fuzz targets' seed corpora from the real servers and tools the
# scenario tests start (tests/lib/*.sh): PostgreSQL 15 + pgBackRest 2.45
# (info, verify, repo-ls), pg_basebackup + pg_verifybackup, the Monitoring
# Plugins, and (through tests/tools/record-http.sh) Prometheus, a Patroni
# 3.0.2 cluster on etcd and the tests' own HTTP server.  Writes
# fuzz/corpus/<target>/rec-*; everything else lives in a temporary directory
# and every server is stopped at exit.  Needs root (servers run as postgres)
# and what scripts/install-deps.sh installs.  Takes a few minutes.
#
#   fuzz/record-seeds.sh [runbooks|git|pgbackrest|basebackup|prometheus|patroni|nagios|http]...
#
# runbooks needs no server: it takes the runbooks and hooks files the
# scenario scripts write (their here-documents, $VARS left as written).
# git records what real git writes on the stdin of pre-push and
# pre-receive hooks, after examples/git-hooks/.gate/hooks.yaml.
#
# Multi-part seeds separate their parts with a line "%%" (fuzz/README.md).
set -u
# shellcheck source=tests/lib/test-lib.sh
. "$(dirname "$0")/../tests/lib/test-lib.sh"
. "$GATE_SOURCE_DIR/tests/lib/pg.sh"
test_cleanup pg_stop_all
C=$GATE_SOURCE_DIR/fuzz/corpus
T=$TEST_TMP
cd "$T" || exit 1
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(runbooks git pgbackrest basebackup prometheus patroni nagios http)
want() { case " ${parts[*]} " in *" $1 "*) return 0 ;; esac; return 1; }
# seed TARGET NAME PART...: write the parts joined by "\n%%\n"
seed() {
	local target=$1 name=$2 i=0 p
	shift 2
	mkdir -p "$C/$target"
	{
		for p in "$@"; do
			[ $i -gt 0 ] && printf '\n%%%%\n'
			cat "$p"
			i=$((i + 1))
		done
	} >"$C/$target/rec-$name"
	echo "# $target/rec-$name ($(wc -c <"$C/$target/rec-$name") bytes)"
}
put() { printf '%s' "$2" >"$1"; }

if want runbooks; then
	rm -f "$C"/runbook/test-t*.yaml "$C"/hooks/test-t*.yaml
	/usr/bin/python3 - "$GATE_SOURCE_DIR" "$C/runbook" "$C/hooks" <<'PY'
import re, sys, os, glob
src, out_rb, out_hooks = sys.argv[1:4]
os.makedirs(out_rb, exist_ok=True); os.makedirs(out_hooks, exist_ok=True)
n_rb = n_h = 0
for path in sorted(glob.glob(os.path.join(src, 'tests', 't[0-9]*.sh'))):
    name = os.path.basename(path)[:5]
    lines = open(path).read().split('\n')
    rb_type = None
    i = 0; k = 0
    while i < len(lines):
        l = lines[i]
        m = re.search(r'RB_TYPE=(\S+)', l)
        if m: rb_type = m.group(1).strip('"')
        m = re.search(r"<<(-?)\s*['\"]?(\w+)['\"]?", l)
        if not m or l.lstrip().startswith('#'):
            i += 1; continue
        strip, tag = m.group(1) == '-', m.group(2)
        body = []; i += 1
        while i < len(lines) and (lines[i].lstrip('\t') if strip else lines[i]) != tag:
            body.append(lines[i].lstrip('\t') if strip else lines[i]); i += 1
        i += 1
        text = '\n'.join(body) + '\n'
        hm = re.search(r'(?:^|[\s;(&|])(runbook|write_rb)\s+(\S+)', l)
        if hm and hm.group(1) == 'runbook':
            text = 'version: 1\nname: %s\nchecks:\n' % hm.group(2) + text
        elif hm and hm.group(1) == 'write_rb' and rb_type:
            text = ('version: 1\nname: %s\nchecks:\n  - id: b\n    type: %s\n    timeout: 60s\n    with:\n' % (name, rb_type)
                    + ''.join('      ' + b + '\n' for b in body))
        if re.search(r'^hooks:', text, re.M):
            k += 1; n_h += 1
            open(os.path.join(out_hooks, 'test-%s-%d.yaml' % (name, k)), 'w').write(text)
        elif re.search(r'^(checks|version):', text, re.M):
            k += 1; n_rb += 1
            open(os.path.join(out_rb, 'test-%s-%d.yaml' % (name, k)), 'w').write(text)
print('# %d runbooks, %d hooks files from tests/' % (n_rb, n_h))
PY
fi

if want git; then
	export GIT_CONFIG_NOSYSTEM=1 HOME=$T
	git init -q --bare srv.git
	git init -q -b main work
	printf '#!/bin/sh\ncat >%s/pre-receive.stdin\n' "$T" >srv.git/hooks/pre-receive
	chmod +x srv.git/hooks/pre-receive
	printf '#!/bin/sh\ncat >%s/pre-push.stdin\n' "$T" >work/.git/hooks/pre-push
	chmod +x work/.git/hooks/pre-push
	(cd work && git -c user.name=f -c user.email=f@f commit -q --allow-empty -m one &&
		git tag v1.2 && git -c user.name=f -c user.email=f@f commit -q --allow-empty -m two &&
		git checkout -q -b production &&
		git push -q ../srv.git main production v1.2 2>/dev/null)
	seed hooks example-pre-push "$GATE_SOURCE_DIR/examples/git-hooks/.gate/hooks.yaml" pre-push.stdin
	seed hooks example-pre-receive "$GATE_SOURCE_DIR/examples/git-hooks/.gate/hooks.yaml" pre-receive.stdin
	(cd work && git push -q ../srv.git :production 2>/dev/null)
	seed hooks example-delete "$GATE_SOURCE_DIR/examples/git-hooks/.gate/hooks.yaml" pre-receive.stdin
fi

if want pgbackrest || want basebackup; then
	pg_primary_start primary || exit 1
	runuser -u postgres -- "$PGBIN/pgbench" -h 127.0.0.1 -p "$(pg_port primary)" -U postgres -i -s 1 -q postgres >/dev/null 2>&1
fi

if want pgbackrest; then
	. "$GATE_SOURCE_DIR/tests/lib/pgbackrest.sh"
	pgbr_setup primary || { echo "pgbackrest setup failed"; exit 1; }
	pgbr_backup full || exit 1
	pg_psql primary "insert into pgbench_history select 1,1,1,1,now() from generate_series(1,1000)" >/dev/null
	pgbr_backup incr || exit 1
	label=$(pgbr_last_label)
	# as the check calls it (checks/backup_pgbackrest.c)
	q() { pgbr --log-level-file=off --log-level-console=off "$@"; }
	ls_json() {
		(cd "$PGBR_DIR" && runuser -u postgres -- pgbackrest --config="$PGBR_CONF" \
			--log-level-file=off --log-level-console=off --log-level-stderr=warn \
			--output=json repo-ls "$1")
	}
	q --log-level-stderr=warn --output=json info >info.json
	seed pgbackrest_info healthy info.json
	(cd "$PGBR_DIR" && runuser -u postgres -- pgbackrest --config="$PGBR_CONF" \
		--log-level-file=off --log-level-console=off --output=json info) >info-all.json
	seed pgbackrest_info all-stanzas info-all.json
	PGBR_STANZA=nope q --log-level-stderr=warn --output=json info >info-nope.json 2>/dev/null
	seed pgbackrest_info missing-stanza info-nope.json
	verify() { q --log-level-stderr=info --output=text --verbose verify >v.out 2>v.err; put v.label "$label"; }
	verify
	seed pgbackrest_verify ok v.label v.out v.err
	archid=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["archive"][0]["id"])' info.json)
	ls_json "archive/demo/$archid/0000000100000000" >ls.json
	seed pgbackrest_repo_ls wal-dir ls.json
	# the whole check's conversation, for fuzz_pgbackrest_info
	seed pgbackrest_info check-ok info.json v.out v.err ls.json
	ls_json "backup/demo" >ls-backup.json
	seed pgbackrest_repo_ls backup-dir ls-backup.json
	ls_json "archive/demo/$archid/00000001000000FF" >ls-none.json 2>/dev/null
	seed pgbackrest_repo_ls no-dir ls-none.json
	# a flipped byte in a file of the newest backup
	f=$(find "$PGBR_REPO/backup/demo/$label/pg_data" -name '*.gz' -printf '%s %p\n' | sort -n | tail -n 1 | cut -d' ' -f2)
	flip_byte "$f"
	verify
	seed pgbackrest_verify checksum v.label v.out v.err
	seed pgbackrest_info check-checksum info.json v.out v.err ls.json
	flip_byte "$f"
	# a file of the backup removed
	mv "$f" "$T/aside.gz"
	verify
	seed pgbackrest_verify file-missing v.label v.out v.err
	mv "$T/aside.gz" "$f"
	# a WAL segment of the archive removed
	w=$(find "$PGBR_REPO/archive/demo/$archid/0000000100000000/" -name '0*' ! -name '*.backup' -printf '%f\n' | sort | sed -n 2p)
	mv "$PGBR_REPO/archive/demo/$archid/0000000100000000/$w" "$T/aside.wal"
	verify
	seed pgbackrest_verify wal-missing v.label v.out v.err
	ls_json "archive/demo/$archid/0000000100000000" >ls.json
	seed pgbackrest_repo_ls wal-missing ls.json
	seed pgbackrest_info check-wal-missing info.json v.out v.err ls.json
	mv "$T/aside.wal" "$PGBR_REPO/archive/demo/$archid/0000000100000000/$w"
	# a backup's info read with the stanza's db gone from backup.info: verify on another stanza
	PGBR_STANZA=nope q --log-level-stderr=info --output=text --verbose verify >v.out 2>v.err
	seed pgbackrest_verify missing-stanza v.label v.out v.err
fi

if want basebackup; then
	mkdir -p bb && chown postgres:postgres bb
	bb() { runuser -u postgres -- "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$(pg_port primary)" -U postgres -D "$T/bb/$1" -X stream -c fast; }
	vb() { local rc=0; runuser -u postgres -- "$PGBIN/pg_verifybackup" -- "$T/bb/$1" >vb.out 2>vb.err || rc=$?; put vb.rc "$rc"; }
	bb base1 || exit 1
	seed backup_label base1 "bb/base1/backup_label"
	vb base1
	seed verifybackup ok vb.rc vb.out vb.err
	rel=$(pg_psql primary "select pg_relation_filepath('pgbench_accounts')")
	flip_byte "bb/base1/$rel"
	vb base1
	seed verifybackup checksum vb.rc vb.out vb.err
	flip_byte "bb/base1/$rel"
	mv "bb/base1/$rel" "$T/aside.rel"
	echo x >"bb/base1/extra-file"
	vb base1
	seed verifybackup missing-extra vb.rc vb.out vb.err
	mv "$T/aside.rel" "bb/base1/$rel"
	rm -f "bb/base1/extra-file"
	seg=$(find bb/base1/pg_wal -name '[0-9A-F]*' -printf '%f\n' | grep -E '^[0-9A-F]{24}$' | sort | head -n 1)
	mv "bb/base1/pg_wal/$seg" "$T/aside.seg"
	vb base1
	seed verifybackup wal-missing vb.rc vb.out vb.err
	mv "$T/aside.seg" "bb/base1/pg_wal/$seg"
	mv bb/base1/backup_manifest "$T/aside.manifest"
	vb base1
	seed verifybackup no-manifest vb.rc vb.out vb.err
	mv "$T/aside.manifest" bb/base1/backup_manifest
fi

if want prometheus || want patroni || want http; then
	# The http family's answers are recorded, with their own seeds, by
	# tests/tools/record-http.sh (into tests/data/recorded/http/ too, where
	# the judges' unit tests read them).
	hp=()
	for p in prometheus patroni http; do want $p && hp+=("$p"); done
	bash "$GATE_SOURCE_DIR/tests/tools/record-http.sh" "${hp[@]}" || exit 1
fi

if want nagios; then
	P=/usr/lib/nagios/plugins
	plug() { local name=$1; shift; "$@" >plug.out 2>/dev/null; seed nagios "$name" plug.out; }
	plug dummy-ok "$P/check_dummy" 0 "all good"
	plug dummy-warning "$P/check_dummy" 1 "getting full"
	plug dummy-critical "$P/check_dummy" 2 "on fire"
	plug dummy-unknown "$P/check_dummy" 3 "cannot tell"
	plug disk "$P/check_disk" -w 20% -c 10% -p /
	plug disk-all "$P/check_disk" -w 20% -c 10% -l -x /dev/shm -A
	plug disk-critical "$P/check_disk" -w 100% -c 100% -p /
	plug load "$P/check_load" -r -w 100,100,100 -c 200,200,200
	plug procs "$P/check_procs" -w 1000 -c 2000
	plug procs-metric "$P/check_procs" -m VSZ -w 1000000 -c 2000000
	plug users "$P/check_users" -w 10 -c 20
	plug swap "$P/check_swap" -w 50% -c 10%
	port=$(free_port)
	plug tcp-closed "$P/check_tcp" -H 127.0.0.1 -p "$port" -t 5
	plug file-age "$P/check_file_age" -w 60 -c 120 -f /etc/hostname
	plug dummy-usage "$P/check_dummy"
fi

echo "done"
