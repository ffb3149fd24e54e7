#!/bin/bash
# Record the fuzz targets' seed corpora from the real servers and tools the
# scenario tests start (tests/lib/*.sh): PostgreSQL 15 + pgBackRest 2.45
# (info, verify, repo-ls), pg_basebackup + pg_verifybackup, pg_restore
# (through tests/tools/record-backup.sh), the Monitoring Plugins, and
# (through tests/tools/record-http.sh) Prometheus, a Patroni 3.0.2 cluster
# on etcd and the tests' own HTTP server.  Writes
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

# The backup checks' answers are recorded with the table tests' own
# (tests/data/recorded/backup/), and seed the corpora from there.
if want pgbackrest || want basebackup; then
	w=(); want pgbackrest && w+=(pgbackrest); want basebackup && w+=(basebackup file)
	bash "$GATE_SOURCE_DIR/tests/tools/record-backup.sh" "${w[@]}" || exit 1
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
