#!/usr/bin/env bash
# Durations are at most 365d and sizes at most 1 PiB, wherever they come
# from: a runbook (78 at file:line:col, and nothing runs), a --var, or the
# command line (64).  `timeout: 106751991167d` used to be accepted and
# then overflow every deadline (UBSan aborted; the normal build dropped the
# deadline).  Products of capped values do not overflow either.
. "$(dirname "$0")/lib/test-lib.sh"

cd "$TEST_TMP" || exit 1

write_rb huge.yaml <<'EOF'
version: 1
name: huge
timeout: 106751991167d
checks:
  - id: quick
    type: exec
    with:
      command: ["true"]
      protocol: exit
EOF

write_rb year.yaml <<'EOF'
version: 1
name: year
timeout: 365d
checks:
  - id: quick
    type: exec
    timeout: 364d24h
    retry_delay: 8760h
    with:
      command: ["true"]
      protocol: exit
EOF

write_rb vars.yaml <<'EOF'
version: 1
name: vars
vars:
  age: 24h
  size: 1MiB
checks:
  - id: dump
    type: backup.file
    with:
      path: /nonexistent/*.dump
      max_age: "${age}"
      min_size: "${size}"
EOF

test_expect_success 'a timeout of 106751991167d: 78 at its position, the command never runs' '
	expect_status 78 gate lint huge.yaml 2>err &&
	test_grep "huge.yaml:3:10: duration .106751991167d. is over the limit of 365d" err &&
	expect_status 78 gate run huge.yaml -- touch ran 2>err &&
	test_grep "huge.yaml:3:10: duration .106751991167d. is over the limit of 365d" err &&
	test ! -e ran
'

test_expect_success 'exactly a year, however written, is accepted and runs' '
	gate lint year.yaml &&
	gate run year.yaml -- touch ran && test -e ran
'

test_expect_success 'a year and a millisecond in a check: 78' '
	sed "s/timeout: 364d24h/timeout: 364d24h1ms/" year.yaml >over.yaml && chmod 644 over.yaml &&
	expect_status 78 gate lint over.yaml 2>err &&
	test_grep "over.yaml:7:14: duration .364d24h1ms. is over the limit of 365d" err
'

test_expect_success 'durations and sizes from --var are capped too' '
	gate lint vars.yaml &&
	expect_status 78 gate lint --var age=366d vars.yaml 2>err &&
	test_grep "vars.yaml:11:16: duration .366d. is over the limit of 365d" err &&
	expect_status 78 gate check --var age=99999999999999999999999999d vars.yaml 2>err &&
	test_grep "vars.yaml:11:16: duration .99999999999999999999999999d. is over the limit" err &&
	expect_status 78 gate lint --var size=1025TiB vars.yaml 2>err &&
	test_grep "vars.yaml:12:17: size .1025TiB. is over the limit of 1024TiB" err &&
	gate lint --var size=1024TiB --var age=365d vars.yaml
'

test_expect_success '--timeout, --wait and --interval over a year: 64' '
	expect_status 64 gate check --timeout 366d year.yaml 2>err &&
	test_grep "timeout .366d. is over the limit of 365d" err &&
	expect_status 64 gate run --wait 9999999999999999999999d year.yaml -- touch ran2 2>err &&
	test_grep "wait .9999999999999999999999d. is over the limit of 365d" err &&
	expect_status 64 gate run --wait 1m --interval 106751991167d year.yaml -- touch ran2 2>err &&
	test_grep "interval .106751991167d. is over the limit of 365d" err &&
	test ! -e ran2 &&
	gate check --timeout 365d year.yaml >/dev/null
'

# samples x sample_interval wrapped around to a negative number, and the
# check went on as if the samples fitted in its timeout.
write_rb samples.yaml <<'EOF'
version: 1
name: samples
checks:
  - id: repl
    type: postgres.replication
    timeout: 5s
    with:
      conninfo: "host=/nonexistent-gate-t0109 connect_timeout=2"
      samples: 9223372036854775807
      sample_interval: 365d
EOF

test_expect_success 'samples x sample_interval does not overflow' '
	expect_status 75 gate check -f json samples.yaml >out.json &&
	json_get out.json .checks[0].summary >summary &&
	test_grep "9223372036854775807 samples 31536000000 ms apart do not fit" summary
'

test_done
