#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Size limits of gate's C code (CONTRIBUTING.md, "Habits").

    scripts/fnlen.py [--max-function N] [--max-file N] [--top N] FILE...

Reports every file over --max-file lines (default 800) and every function
over --max-function lines (default 80), counted from the first line of its
signature to its closing brace.  A function may be longer when the comment
right above its signature starts with `/* long:` and gives the reason.
--top N lists the N longest functions instead (nothing fails).

Functions are found the way the code is written (K&R, Linux braces): a
`{` alone in column 0 opens a function body, a `}` alone in column 0
closes it, and the signature is the run of lines above the `{` back to
the previous declaration, comment, preprocessor line or blank line.

Exit status: 0 when everything is within the limits, 1 otherwise, 64 on
a usage error."""
import argparse
import re
import sys


def signature_start(lines, brace):
    """Index of the first line of the signature whose body opens at brace."""
    j = brace - 1
    while j > 0:
        prev = lines[j - 1]
        if not prev.strip() or prev.rstrip().endswith((";", "}", "*/")):
            break
        if prev.startswith(("#", "/*", " *")):
            break
        j -= 1
    return j


def comment_above(lines, start):
    """The first line of the comment block right above line start, or None."""
    k = start - 1
    if k < 0 or not lines[k].rstrip().endswith("*/"):
        return None
    while k >= 0 and not lines[k].lstrip().startswith("/*"):
        k -= 1
    return lines[k] if k >= 0 else None


def functions(lines):
    """(name, first line index, length in lines, has a /* long: reason)."""
    i = 0
    while i < len(lines):
        if lines[i] != "{" or i == 0:
            i += 1
            continue
        start = signature_start(lines, i)
        end = i
        while end < len(lines) and lines[end] != "}":
            end += 1
        sig = " ".join(lines[start:i])
        m = re.search(r"(\w+)\s*\(", sig)
        above = comment_above(lines, start)
        yield (m.group(1) if m else "?", start, end - start + 1,
               bool(above and above.lstrip().startswith("/* long:")))
        i = end + 1


def main():
    ap = argparse.ArgumentParser(add_help=True, usage=__doc__.split("\n")[2].strip())
    ap.add_argument("--max-function", type=int, default=80)
    ap.add_argument("--max-file", type=int, default=800)
    ap.add_argument("--top", type=int, default=0)
    ap.add_argument("files", nargs="+")
    try:
        a = ap.parse_args()
    except SystemExit as e:
        sys.exit(0 if e.code == 0 else 64)
    bad = 0
    found = []
    for f in a.files:
        with open(f, errors="replace") as fh:
            text = fh.read()
        lines = text.split("\n")
        nlines = len(lines) - (1 if text.endswith("\n") else 0)
        if not a.top and nlines > a.max_file:
            print(f"{f}: {nlines} lines (over {a.max_file})")
            bad = 1
        for name, start, n, reason in functions(lines):
            found.append((n, f, start + 1, name, reason))
            if not a.top and n > a.max_function and not reason:
                print(f"{f}:{start + 1}: {name} {n} lines (over {a.max_function})")
                bad = 1
    if a.top:
        for n, f, line, name, reason in sorted(found, reverse=True)[:a.top]:
            print(f"{n:5d} {f}:{line}: {name}{' (long: reason given)' if reason else ''}")
        return 0
    return bad


if __name__ == "__main__":
    sys.exit(main())
