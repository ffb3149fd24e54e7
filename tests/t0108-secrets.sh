#!/usr/bin/env bash
# Secrets never reach a report or an audit record: the runner redacts what
# a check says (conninfo passwords), and gate registers values that came
# from ${env:...} into the runbook (here the exec check's env map) so that
# they are masked wherever they show up, however many there are; one too
# short to be masked is refused (78).  No loader error echoes a value from
# ${env:...}.  gate and its check processes cannot be dumped.
. "$(dirname "$0")/lib/test-lib.sh"
require_cmd cc pkg-config

cd "$TEST_TMP" || exit 1

cat >leak.yaml <<'EOF'
version: 1
name: leak
checks:
  - id: says-conninfo
    type: exec
    with:
      command: ["sh", "-c", "echo 'CRITICAL - cannot connect: host=db1 password=hunter2pw user=gate'; exit 2"]
  - id: says-token
    type: exec
    with:
      command: ["sh", "-c", "echo \"CRITICAL - token $API_TOKEN refused\"; exit 2"]
      env:
        API_TOKEN: "${env:GATE_TEST_TOKEN}"
EOF
chmod 644 leak.yaml

test_expect_success 'control: a token written literally (not from ${env:}) is shown' '
	sed "s/\"\${env:GATE_TEST_TOKEN}\"/tok-7f3a9c1e/" leak.yaml >literal.yaml && chmod 644 literal.yaml &&
	test_grep -v "env:GATE" literal.yaml &&
	expect_status 75 gate check -f json literal.yaml >out.json &&
	test_grep "token tok-7f3a9c1e refused" out.json
'

test_expect_success 'text, JSON, -o and the audit file never show them' '
	export GATE_TEST_TOKEN=tok-7f3a9c1e &&
	expect_status 75 gate check leak.yaml >text 2>err &&
	expect_status 75 gate check -f json -o rep.json --audit-log audit.jsonl leak.yaml >out.json 2>>err &&
	for f in text out.json rep.json audit.jsonl err; do
		test_grep -v "hunter2pw" $f && test_grep -v "tok-7f3a9c1e" $f || return 1
	done &&
	test_grep "password=\*\*\*" out.json &&
	test_grep "token \*\*\* refused" out.json
'

# A loader error quotes the value it refuses, unless the value came from
# ${env:...}: "invalid duration" printed the password.
cat >envdur.yaml <<'EOF2'
version: 1
name: envdur
checks:
  - id: dump
    type: backup.file
    with:
      path: /nonexistent/*.dump
      max_age: "${env:DB_PASSWORD}"
EOF2
chmod 644 envdur.yaml

test_expect_success 'a loader error never shows a value from ${env:...}' '
	export DB_PASSWORD=hunter2-db-pw &&
	expect_status 78 gate lint envdur.yaml 2>err &&
	test_grep "envdur.yaml:8:16: invalid duration .\*\*\*. (value from \${env:DB_PASSWORD})" err &&
	expect_status 78 gate check -f json envdur.yaml >out 2>>err &&
	test_grep -v "hunter2-db-pw" err && test_grep -v "hunter2-db-pw" out
'

# More than 64 secrets: the 65th and later were silently not masked.
{
	printf 'version: 1\nname: many\nchecks:\n  - id: says-all\n    type: exec\n    with:\n'
	printf '      command: ["sh", "-c", "echo CRITICAL - tokens; env | grep ^T0108_ | sort; exit 2"]\n'
	printf '      env:\n'
	for i in $(seq 1 80); do printf '        T0108_%02d: "${env:GATE_T0108_%02d}"\n' "$i" "$i"; done
} >many.yaml
chmod 644 many.yaml
for i in $(seq 1 80); do export "GATE_T0108_$(printf %02d "$i")=tok-$(printf %02d "$i")-9c1e"; done

test_expect_success 'eighty secrets: every one is masked' '
	expect_status 75 gate check -v -f json many.yaml >out.json 2>err &&
	expect_status 75 gate check -v many.yaml >text 2>>err &&
	test_grep "T0108_80=\*\*\*" out.json &&
	test_grep "T0108_01=\*\*\*" out.json &&
	for f in out.json text err; do
		test_grep -v "tok-[0-9][0-9]-9c1e" $f || return 1
	done
'

# A secret reports cannot mask is refused at load time, not skipped.
test_expect_success 'a secret of 3 characters, or an empty one: 78, never run unmasked' '
	export GATE_TEST_TOKEN=abc &&
	expect_status 78 gate check leak.yaml >out 2>err &&
	test_grep "leak.yaml:13:20: the value of \${env:GATE_TEST_TOKEN} would be a secret, but it has only 3 characters" err &&
	test_grep -v "token abc refused" out &&
	export GATE_TEST_TOKEN= &&
	expect_status 78 gate lint leak.yaml 2>err &&
	test_grep "leak.yaml:13:20: \${env:GATE_TEST_TOKEN} is empty" err
'

# gate and its check children hold expanded parameters: they cannot be
# dumped, and the tools checks run start with a core limit of 0.  A test
# module reports what its check process sees; another crashes.  The wrapped
# command gets the limit gate was started with.
mkdir probe
cat >probe.c <<'EOF2'
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <gate/module.h>

static const struct gate_param none[] = {{NULL, 0, 0, NULL, NULL, NULL}};

static void flags_run(const json_t *params, const struct gate_run_env *env,
                      struct gate_result *res)
{
	struct rlimit rl;
	getrlimit(RLIMIT_CORE, &rl);
	gate_result_set(res, GATE_PASS, "dumpable=%d core=%s", prctl(PR_GET_DUMPABLE),
	                rl.rlim_cur == 0 ? "0" : "not 0");
}

static void crash_run(const json_t *params, const struct gate_run_env *env,
                      struct gate_result *res)
{
	raise(SIGSEGV);
}

static const struct gate_check_type types[] = {
	{"probe.flags", "what a check process is allowed", NULL, none, NULL, flags_run},
	{"probe.crash", "crash", NULL, none, NULL, crash_run},
};
GATE_MODULE_DEFINE("probe", "1", types);
EOF2
cat >probe.yaml <<'EOF2'
version: 1
name: probe
checks:
  - id: flags
    type: probe.flags
  - id: tool
    type: exec
    with:
      command: ["sh", "-c", "echo \"OK - tool core $(ulimit -c)\""]
EOF2
cat >crash.yaml <<'EOF2'
version: 1
name: crash
checks:
  - id: crashes
    type: probe.crash
    with: {}
EOF2
chmod 644 probe.yaml crash.yaml

test_expect_success 'a check process is not dumpable, its tools have a core limit of 0' '
	cc -std=c17 -shared -fPIC -I"$GATE_SOURCE_DIR" $(pkg-config --cflags jansson) \
		-o probe/probe.so probe.c &&
	(ulimit -S -c "$(ulimit -H -c)" && gate check -f json --module-path probe probe.yaml >out.json) &&
	test "$(json_get out.json .checks[0].summary)" = "dumpable=0 core=0" &&
	test "$(json_get out.json .checks[1].summary)" = "OK - tool core 0"
'

# (An ASan build lowers its own core limit to 0 at start unless told not to.)
test_expect_success 'the wrapped command gets the core limit gate was started with' '
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}disable_coredump=0" &&
	hard=$(ulimit -H -c) &&
	(ulimit -S -c "$hard" && gate run --module-path probe probe.yaml -- bash -c "ulimit -c >limit") &&
	test "$(cat limit)" = "$hard" &&
	if test "$hard" = unlimited || test "$hard" -ge 1234; then
		(ulimit -S -c 1234 && gate run --module-path probe probe.yaml -- bash -c "ulimit -c >limit") &&
		test "$(cat limit)" = 1234
	fi
'

# A crashing check leaves no core file, even with the soft core limit
# raised to the hard one (unlimited here).
# /proc/sys/kernel/core_pattern is global: it is only read, never changed,
# and a core is provoked only where the kernel writes it into the crashing
# process's own directory (a relative pattern), here a scratch directory;
# a control crash shows that a core would be written there.
test_expect_success 'a crashing check leaves no core file' '
	pattern=$(cat /proc/sys/kernel/core_pattern) &&
	case $pattern in
	"|"* | /*)
		say "core_pattern is $pattern: no core is provoked; the flags are asserted above" ;;
	*)
		mkdir control crashdir &&
		expect_status 139 sh -c "cd control && ulimit -S -c \$(ulimit -H -c) && exec sh -c \"kill -SEGV \\\$\\\$\"" &&
		ls control >control.list &&
		if test -s control.list; then
			expect_status 75 sh -c "cd crashdir && ulimit -S -c \$(ulimit -H -c) && exec \"\$GATE_BIN\" check -f json --module-path ../probe ../crash.yaml" >out.json &&
			test "$(json_get out.json .checks[0].summary)" = "module crashed: killed by signal 11 (SIGSEGV)" &&
			ls -A crashdir >crash.list &&
			test_cmp /dev/null crash.list
		else
			say "no core is written here even without gate; the flags are asserted above"
		fi ;;
	esac
'

test_done
