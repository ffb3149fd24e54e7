#!/bin/bash
# The manual pages render without a groff warning and stay in step with
# the binary (commands, options, check types); doc/checks.md has every
# check type and parameter the binary has; nothing in the repository cites
# a document it does not hold; the bash completion completes what the
# binary knows; `cmake --install` installs them.
. "$(dirname "$0")/lib/test-lib.sh"
require_cmd groff
cd "$TEST_TMP" || exit 1

S=$GATE_SOURCE_DIR

for page in gate.1 gate-runbook.5; do
	test_expect_success "$page renders with groff -man -ww without a warning" '
		groff -man -Tutf8 -ww "$S/doc/$page" >out 2>err &&
		test ! -s err && test "$(wc -l <out)" -gt 100
	'
done

test_expect_success 'gate.1 documents every subcommand of `gate help`' '
	gate help | sed -n "/^Commands:/,/^$/p" | awk "NF && !/Commands:/ {print \$1}" >cmds &&
	test "$(wc -l <cmds)" -ge 8 &&
	groff -man -Tutf8 "$S/doc/gate.1" 2>/dev/null | col -b >page &&
	while read -r c; do grep -q "gate $c" page || { echo "gate.1 lacks: gate $c"; exit 1; }; done <cmds
'

test_expect_success 'gate.1 documents every long option of run' '
	gate run --help | grep -o -- "--[a-z][a-z-]*" | sort -u >opts &&
	test "$(wc -l <opts)" -ge 15 &&
	groff -man -Tutf8 "$S/doc/gate.1" 2>/dev/null | col -b >page &&
	while read -r o; do grep -q -- "$o" page || { echo "gate.1 lacks $o"; exit 1; }; done <opts
'

test_expect_success 'gate-runbook.5 lists exactly the check types gate ships' '
	gate checks | awk "{print \$1}" | sort >types.bin &&
	test "$(wc -l <types.bin)" -ge 10 &&
	sed -n "/^\.SH CHECK TYPES/,/^\.SH POLICIES/p" "$S/doc/gate-runbook.5" |
		sed -n "/^\.TP/{n;s/^\.B //p}" | sort >types.man &&
	test_cmp types.bin types.man
'

test_expect_success 'gate-runbook.5 names every policy in policies/' '
	ls "$S/policies" | grep "\.yaml$" | sort >pol.dir &&
	sed -n "/^\.SH POLICIES/,/^\.SH GIT/p" "$S/doc/gate-runbook.5" | sed -n "s/^\.I \(.*\.yaml\)$/\1/p" | sort >pol.man &&
	test_cmp pol.dir pol.man
'

# doc/checks.md against the binary: for every type `gate checks` lists, its
# section ("### `TYPE`") has one table row per parameter of `gate checks
# TYPE`, with the same type, default ("none" for "-") and required flag;
# and nothing more.  Prints each difference.
checks_doc_diff() {
	/usr/bin/python3 - "$GATE_BIN" "$S/doc/checks.md" <<-'PY'
	import re, subprocess, sys
	gate, doc = sys.argv[1], open(sys.argv[2]).read()
	run = lambda *a: subprocess.run([gate, *a], capture_output=True, text=True, check=True).stdout
	types = [l.split()[0] for l in run("checks").splitlines() if l.strip()]
	def binary(t):
	    out = run("checks", t).splitlines()
	    i = out.index("Parameters:")
	    hdr = out[i + 1]
	    at = [hdr.index(w) for w in ("name", "type", "default", "required", "doc")]
	    rows = {}
	    for l in out[i + 2:]:
	        if not l.strip() or l.strip() == "(none)":
	            continue
	        name, ty, dflt, req = (l[at[k]:at[k + 1]].strip() for k in range(4))
	        if ty.startswith("one of "):
	            ty = "one of " + ", ".join(ty[7:].split("|"))
	        rows[name] = (ty, "none" if dflt == "-" else dflt, req)
	    return rows
	def documented(t):
	    m = re.search(r"^### `%s`\n(.*?)(?=^##)" % re.escape(t), doc + "\n## end", re.S | re.M)
	    if not m:
	        return None
	    rows = {}
	    for l in m.group(1).splitlines():
	        cells = [c.strip().replace("`", "") for c in re.split(r"(?<!\\)\|", l)[1:-1]]
	        if len(cells) == 5 and cells[0] not in ("parameter", "---"):
	            rows[cells[0]] = tuple(cells[1:4])
	    return rows
	bad = 0
	for t in types:
	    want, got = binary(t), documented(t)
	    if got is None:
	        print(f"doc/checks.md has no section ### `{t}`"); bad = 1; continue
	    for p in want:
	        if p not in got:
	            print(f"{t}: parameter {p} is not in doc/checks.md"); bad = 1
	        elif got[p] != want[p]:
	            print(f"{t}: {p}: doc/checks.md says {got[p]}, gate checks says {want[p]}"); bad = 1
	    for p in got:
	        if p not in want:
	            print(f"{t}: doc/checks.md documents {p}, which gate does not know"); bad = 1
	documented_types = re.findall(r"^### `([^`]+)`$", doc, re.M)
	for t in documented_types:
	    if t not in types:
	        print(f"doc/checks.md documents type {t}, which gate does not ship"); bad = 1
	sys.exit(bad)
	PY
}

test_expect_success 'doc/checks.md documents exactly the check types gate ships' '
	gate checks | awk "{print \$1}" | sort >types.bin &&
	test "$(wc -l <types.bin)" -ge 10 &&
	sed -n "s/^### \`\([^\`]*\)\`\$/\1/p" "$S/doc/checks.md" | sort >types.doc &&
	test_cmp types.bin types.doc
'

test_expect_success 'doc/checks.md: every parameter, its type, default and required flag, as gate checks TYPE says' '
	checks_doc_diff
'

test_expect_success 'the contract documents link only to files that exist' '
	for d in runbook checks report facts; do test -s "$S/doc/$d.md" || exit 1; done &&
	grep -o "](\./[^)]*)" "$S"/doc/*.md | sed "s/.*](\.\/\([^)]*\))/\1/" | sort -u >links &&
	test -s links &&
	while read -r l; do test -f "$S/doc/$l" || { echo "doc/ links to a missing $l"; exit 1; }; done <links
'

test_expect_success 'nothing tracked cites a document outside the repository' '
	"$S/scripts/lint-source.sh" --citations >cite.out 2>&1 || { cat cite.out; exit 1; }
'

# Drive the completion function the way bash does, without bash-completion.
complete_words() {
	bash -c '
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
		_gate; printf "%s\n" "${COMPREPLY[@]}" | sort
	' sh "$S/doc/gate.bash-completion" "$@"
}
GATE_DIR=$(dirname "$(readlink -f "$GATE_BIN")")
export PATH="$GATE_DIR:$PATH"

test_expect_success 'completion: syntax, and registered for gate' '
	bash -n "$S/doc/gate.bash-completion" &&
	bash -c ". \"$S/doc/gate.bash-completion\" && complete -p gate" | test_grep "_gate" -
'

test_expect_success 'completion: subcommands' '
	complete_words gate "" >out &&
	printf "%s\n" check checks help hook lint lock maintenance rehearse run serve version wrap >want && test_cmp want out &&
	complete_words gate ch >out && printf "%s\n" check checks >want && test_cmp want out
'

test_expect_success 'completion: check types come from `gate checks`' '
	complete_words gate checks "" >out &&
	gate checks | awk "{print \$1}" | sort >want && test_cmp want out &&
	complete_words gate checks postgres.r >out &&
	printf "%s\n" postgres.replica postgres.replication >want && test_cmp want out
'

test_expect_success 'completion: options, formats, hooks, wrap subcommands' '
	complete_words gate run --dry >out && test "$(cat out)" = --dry-run &&
	complete_words gate check -f "" >out && printf "%s\n" json junit nagios tap text >want && test_cmp want out &&
	complete_words gate hook run "" >out && printf "%s\n" pre-push pre-receive update >want && test_cmp want out &&
	complete_words gate wrap "" >out && printf "%s\n" install list remove >want && test_cmp want out &&
	complete_words gate serve --l >out && test "$(cat out)" = --listen &&
	complete_words gate rehearse --st >out && test "$(cat out)" = --state-dir
'

test_expect_success 'completion: --override offers the ids of the runbook, includes too' '
	(cd "$S" && complete_words gate run examples/pg-minor-upgrade.yaml --override "") >out &&
	test_grep -x backup-pgbackrest out && test_grep -x postgres-unit out && test_grep -x window out
'

test_expect_success 'completion: runbook files' '
	mkdir -p d && touch d/a.yaml d/b.yml d/c.txt &&
	complete_words gate lint d/ >out && test_grep -x d/a.yaml out
'

# DESTDIR, not --prefix: the module directory is an absolute path, and the
# test must not create it on the host.
test_expect_success 'cmake --install puts man pages, completion and policies in place' '
	DESTDIR="$TEST_TMP/inst" cmake --install "$GATE_BUILD_DIR" >install.log 2>&1 &&
	share=$(find "$TEST_TMP/inst" -type d -path "*/share/man" | head -n 1) && share=${share%/man} &&
	test -f "$share/man/man1/gate.1" &&
	test -f "$share/man/man5/gate-runbook.5" &&
	test -f "$share/bash-completion/completions/gate" &&
	test -f "$share/gate/policies/pgbackrest-backup.yaml" &&
	MANPATH="$share/man" man -P cat gate-runbook 2>/dev/null | test_grep "GIT HOOK CONFIGURATION" -
'

test_done
