#!/bin/bash
# gate's internal parts (gate/part.h): part-holds.so, part-notify.so and
# part-serve.so beside the families, loaded only when needed.  Each case
# runs a copy of the executable and of the families directory in the
# test's directory (the build tree is never touched), with one part
# removed, made untrusted, corrupt, or replaced by a part of "another
# build" (a small shared object built here with another token, and a
# payload that would crash if it were read: the token is read first).
#  - holds: a runbook with a lock is invalid (78, naming the part), for
#    run, check and lint, and its command does not run: never a run
#    without the lock;
#  - notify: the run goes on and the notification is recorded as failed;
#  - serve: gate serve exits 78 naming the part; its --help needs none;
#  - a runbook without lock or notify, version and --help load no part,
#    and map none of libmicrohttpd, libcurl, libsystemd, libpq, libcrypto;
#  - every symbol a part needs resolves against the executable or the
#    part's own libraries.
. "$(dirname "$0")/lib/test-lib.sh"
require_cmd cc readelf nm ldd

T=$TEST_TMP
cd "$T" || exit 1
EXE=$(readlink -f "$GATE_BIN")
FAM=$(dirname "$(find "$GATE_BUILD_DIR" -path '*/gate/families/part-holds.so' | head -n 1)")
REL=${FAM#"$GATE_BUILD_DIR"/} # lib/gate/families (or lib/<triplet>/...)
mkdir -m 700 "$T/state"
export GATE_STATE_DIR=$T/state

# inst NAME: a copy of bin/gate and the families directory under $T/NAME,
# laid out as in the build tree (the executable finds the families from
# where it is).
inst() {
	mkdir -p "$T/$1/bin" "$T/$1/$REL" &&
	cp "$EXE" "$T/$1/bin/gate" &&
	cp "$FAM"/*.so "$T/$1/$REL/"
}
# foreign NAME PART: part-PART.so of another build into copy NAME.
foreign() {
	cat >"$T/foreign.c" <<-EOF
	struct gate_part { const char *token, *name; const void *payload; };
	__attribute__((visibility("default"))) const struct gate_part gate_part_$2 =
		{"another-build", "$2", (const void *)16};
	EOF
	cc -shared -fPIC -o "$T/$1/$REL/part-$2.so" "$T/foreign.c"
}

write_rb lk.yaml <<EOF
version: 1
name: lk
checks:
  - id: ok
    type: exec
    with: {command: ["true"], protocol: exit}
lock:
  - file: $T/db.lock
EOF
NP=$(free_port) # nothing listens there
write_rb nt.yaml <<EOF
version: 1
name: nt
checks:
  - id: ok
    type: exec
    with: {command: ["true"], protocol: exit}
notify:
  - url: http://127.0.0.1:$NP/hook
EOF
write_pass_rb pass.yaml

test_expect_success 'the intact copy: a lock runbook runs, gate serve --help answers' '
	inst ok &&
	ok/bin/gate run lk.yaml -- touch ran.ok 2>err && test -e ran.ok &&
	ok/bin/gate lint lk.yaml &&
	ok/bin/gate serve --help | test_grep "usage: gate serve" -
'

for fault in missing untrusted corrupt foreign; do
	test_expect_success "part-holds $fault: a runbook with a lock is invalid (78), nothing runs" "
		inst h-$fault &&
		p=h-$fault/$REL/part-holds.so &&
		case $fault in
		missing) rm \$p ;;
		untrusted) chmod g+w \$p ;;
		corrupt) printf 'not an ELF file' >\$p ;;
		foreign) foreign h-$fault holds ;;
		esac &&
		expect_status 78 h-$fault/bin/gate run lk.yaml -- touch ran.$fault 2>err &&
		test ! -e ran.$fault &&
		test_grep \"lk.yaml:[0-9]*:[0-9]*: .lock. needs gate.s part-holds.so\" err &&
		expect_status 78 h-$fault/bin/gate check lk.yaml 2>err.check &&
		test_grep part-holds.so err.check &&
		expect_status 78 h-$fault/bin/gate lint lk.yaml 2>err.lint &&
		test_grep part-holds.so err.lint &&
		h-$fault/bin/gate run pass.yaml -- touch ran.pass.$fault &&
		test -e ran.pass.$fault
	"
done

test_expect_success 'the message says why: missing, untrusted, not an object, another build' '
	expect_status 78 h-missing/bin/gate lint lk.yaml 2>e1 && test_grep "No such file" e1 &&
	expect_status 78 h-untrusted/bin/gate lint lk.yaml 2>e2 && test_grep "writable by" e2 &&
	expect_status 78 h-corrupt/bin/gate lint lk.yaml 2>e3 && test_grep "cannot load" e3 &&
	expect_status 78 h-foreign/bin/gate lint lk.yaml 2>e4 && test_grep "from another build of gate" e4
'

test_expect_success 'part-notify missing or foreign: the run goes on, the notification is recorded as failed' '
	for fault in missing foreign; do
		inst n-$fault &&
		if [ $fault = missing ]; then rm n-$fault/$REL/part-notify.so; else foreign n-$fault notify; fi &&
		n-$fault/bin/gate run --audit-log audit.$fault.jsonl -o out.$fault.json nt.yaml -- touch ran.n.$fault 2>err.$fault &&
		test -e ran.n.$fault &&
		test_grep "notification failed: notify 1 .*part-notify.so" err.$fault &&
		test "$(json_get out.$fault.json ".notifications[0].ok")" = false &&
		json_get out.$fault.json ".notifications[0].error" | test_grep part-notify.so - &&
		test_grep "\"notifications\".*part-notify.so" audit.$fault.jsonl || return 1
	done
'

test_expect_success 'part-serve missing or foreign: gate serve exits 78 naming it; --help needs no part' '
	for fault in missing foreign; do
		inst s-$fault &&
		if [ $fault = missing ]; then rm s-$fault/$REL/part-serve.so; else foreign s-$fault serve; fi &&
		expect_status 78 s-$fault/bin/gate serve --listen 127.0.0.1:$NP pass.yaml 2>err.s.$fault &&
		test_grep "serve: cannot start without gate.s part-serve.so" err.s.$fault &&
		s-$fault/bin/gate serve --help >help.$fault &&
		s-$fault/bin/gate help serve | test_cmp help.$fault - || return 1
	done
'

test_expect_success 'no part is loaded unless needed: every part broken, a plain run is quiet' '
	inst none &&
	for p in holds notify serve; do printf x >none/$REL/part-$p.so; done &&
	none/bin/gate run pass.yaml -- touch ran.none 2>err.none &&
	test -e ran.none && test_grep -v "part-" err.none &&
	none/bin/gate version >/dev/null && none/bin/gate --help >/dev/null &&
	none/bin/gate check pass.yaml >/dev/null 2>err.none2 && test_grep -v "part-" err.none2
'

# The libraries the executable links itself (readelf): none of the
# parts' (nor the check families').
NEEDED=$(readelf -d "$EXE" | sed -n "s/.*Shared library: \[\(.*\)\]/\1/p")
test_expect_success 'version, --help and an exec-only check map none of the parts libraries' '
	for lib in libmicrohttpd libcurl libsystemd libpq libcrypto; do
		! echo "$NEEDED" | grep "^$lib" || return 1
	done &&
	for cmd in "version" "--help" "check pass.yaml"; do
		LD_DEBUG=files ok/bin/gate $cmd >/dev/null 2>ld.txt &&
		for lib in libmicrohttpd libcurl libsystemd libpq libcrypto; do
			test_grep -v "file=$lib" ld.txt || return 1
		done || return 1
	done
'

# A part is linked without the executable (it resolves the core against
# it at dlopen): a symbol neither the executable exports nor one of the
# part's own libraries defines would only show when that part is loaded.
test_expect_success 'every symbol a part needs is exported by the executable or its libraries' '
	nm -D --defined-only "$EXE" | awk "{print \$3}" >exe.syms &&
	for so in "$FAM"/part-*.so; do
		for l in $(ldd "$so" | awk "/=>/ {print \$3}"); do
			nm -D --defined-only "$l" | awk "{print \$3}"
		done >libs.syms &&
		cat exe.syms libs.syms | sed "s/@.*//" | sort -u >have.syms &&
		nm -D --undefined-only "$so" | awk "{print \$2}" | sed "s/@.*//" |
			grep -v "^_\(_gmon_start__\|ITM_\|_cxa_finalize\)" | sort -u |
			comm -23 - have.syms >missing &&
		if test -s missing; then echo "$so:"; cat missing; return 1; fi
	done
'

test_expect_success 'a lock runbook loads a part (dlopen of its descriptor), never those of gate serve' '
	LD_DEBUG=files ok/bin/gate check lk.yaml >/dev/null 2>ld.txt &&
	test_grep "file=/proc/self/fd/[0-9]* .*dynamically loaded" ld.txt &&
	test_grep -v "file=libmicrohttpd" ld.txt
'

test_done
