#!/bin/bash
# SPDX-License-Identifier: MIT
# The habits of gate's source, checked (CONTRIBUTING.md, "Habits"):
#
#   --format     every tracked .c/.h under gate/ kit/ checks/ holds/ tests/unit/ tests/tools/
#                fuzz/ examples/ is formatted as .clang-format says
#                (clang-format --dry-run --Werror)
#   --files      no file under gate/ kit/ checks/ holds/ is over 800 lines
#   --functions  no function under gate/ kit/ checks/ holds/ is over 80 lines,
#                unless the comment right above its signature starts with
#                `/* long:` and gives the reason (scripts/fnlen.py)
#   --citations  nothing tracked points at a document outside the
#                repository: the contract is doc/runbook.md, doc/checks.md,
#                doc/report.md, doc/facts.md, gate(1) and gate-runbook(5)
#
#   scripts/lint-source.sh                  every part
#   scripts/lint-source.sh --files --functions
#
# Prints what is wrong, part by part; exit 0 when every part asked for
# passes, 1 when one does not, 64 on a usage error.
set -u
cd "$(dirname "$0")/.." || exit 1

usage() {
	echo "usage: scripts/lint-source.sh [--format] [--files] [--functions] [--citations]" >&2
	exit 64
}

parts=()
for a in "$@"; do
	case "$a" in
	--format | --files | --functions | --citations) parts+=("${a#--}") ;;
	-h | --help) sed -n '3,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) usage ;;
	esac
done
[ ${#parts[@]} -gt 0 ] || parts=(format files functions citations)

# tracked PATTERN...: the files git tracks that match the pathspecs (all
# files under the directories when this is not a git checkout).
tracked() {
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files -- "$@"
	else
		local p
		for p in "$@"; do
			find ${p%%/*} -type f -path "$p" 2>/dev/null
		done | sort -u
	fi
}

c_sources() { tracked "$@" | grep -E '\.[ch]$'; }

part_format() {
	local cf
	cf=$(command -v clang-format-14 || command -v clang-format) || {
		echo "clang-format is not installed (scripts/install-deps.sh installs it)"
		return 1
	}
	local files
	mapfile -t files < <(c_sources 'gate/*' 'kit/*' 'checks/*' 'holds/*' 'notify/*' 'tests/unit/*' 'tests/tools/*' 'fuzz/*' 'examples/*')
	[ ${#files[@]} -gt 0 ] || return 0
	# One line per file that would change, then clang-format's own report.
	local out rc=0
	out=$("$cf" --style=file --dry-run --Werror "${files[@]}" 2>&1) || rc=1
	if [ $rc -ne 0 ]; then
		printf '%s\n' "$out" | sed -n 's/^\([^:]*\.[ch]\):[0-9]*:[0-9]*: error: .*/\1/p' |
			sort | uniq -c | awk '{print $2 ": " $1 " place(s) not formatted as .clang-format says"}'
		echo "(clang-format -i FILE formats one; 'clang-format --dry-run FILE' shows where)"
	fi
	return $rc
}

part_files() {
	local f n rc=0
	while read -r f; do
		n=$(wc -l <"$f")
		if [ "$n" -gt 800 ]; then
			echo "$f: $n lines (over 800)"
			rc=1
		fi
	done < <(tracked 'gate/*' 'kit/*' 'checks/*' 'holds/*' 'notify/*')
	return $rc
}

part_functions() {
	local files
	mapfile -t files < <(c_sources 'gate/*' 'kit/*' 'checks/*' 'holds/*' 'notify/*')
	[ ${#files[@]} -gt 0 ] || return 0
	/usr/bin/python3 scripts/fnlen.py --max-file 1000000 "${files[@]}"
}

# What a citation of an outside document looks like: the shared contract,
# notes and style anchors the project grew from, by directory or by name.
# A bare NAME.md for runbook, checks, report or cli is one too; the
# project's own are cited as doc/NAME.md (inside doc/, ./NAME.md).  Each
# word is written with a bracket so that this file does not match itself.
CITATION_RE='share[d]/|\.\./share[d]\b|(^|[^a-z])spe[c]/|(^|[^a-z-])note[s]/|fixtures(-ha|-round2)?\.m[d]|anchor[s]-|STYL[E]\.md|(^|[^A-Za-z0-9._/-])/wor[k]/|(^|[^/a-z])(report|cli|checks|runbook)\.m[d]'

part_citations() {
	local out
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		out=$(git grep -n -I -i -E "$CITATION_RE" -- . 2>/dev/null)
	else
		out=$(grep -rn -I -i -E --exclude-dir='build*' --exclude-dir=.git "$CITATION_RE" . 2>/dev/null)
	fi
	[ -z "$out" ] && return 0
	printf '%s\n' "$out"
	echo "(cite doc/runbook.md, doc/checks.md, doc/report.md, doc/facts.md, gate(1) or"
	echo " gate-runbook(5) instead, or say the fact itself: a clone has nothing else)"
	return 1
}

fail=0
for p in "${parts[@]}"; do
	echo "== $p"
	if "part_$p"; then
		echo "ok"
	else
		echo "FAILED: $p"
		fail=1
	fi
done
exit $fail
