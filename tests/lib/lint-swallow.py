#!/usr/bin/python3
"""Find `|| true` and `|| :` that can swallow a failing assertion.

    lint-swallow.py FILE...   -> FILE:LINE: ... for each, exit 1 if any

A test body runs under `set -e`, but bash does not stop on a failure inside
an && / || list except at its last command.  In

    check x && rc_is x 75 && gate check x.yaml >out || true && grep y out

the `|| true` turns a failing `check` or `rc_is` into success and the test
passes (t1040's wrong-password case once did).  `|| true` is fine when it
guards one command standing alone (`gate check x.yaml >out || true` on its
own line, or grouped: `{ gate check x.yaml >out || true; } && ...`); it is
an error when the list it ends or continues holds any other && or ||.

The shell is not parsed, only tokenised enough for test scripts: test
bodies (single-quoted) are checked on their own, other '...' strings and
comments are set aside; a logical line is joined across lines ending in
&& || | or \\, the contents of "..." strings, $(...) and { ...; } groups
are set aside (a group's own list is checked), and the rest is cut at `;`,
`then`, `do`, `else` and newlines.  Used by tests/lib/test-lib.sh on
every script it runs, and by tests/t0000-test-lib.sh.
"""
import re
import sys

# `|| true`, `|| :`, and `|| test $? = N` (which lets a wrong status 0 through)
SWALLOW = re.compile(r"\|\|\s*(true|:|test \$\? (=|-eq) \d+)(?=\s|;|\)|\}|$)")


def unquote(s):
    """Set aside "..." strings."""
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', s)


def strip_groups(s):
    """Drop "..." strings, then innermost $(...) and { ...; } groups that
    themselves hold a swallow (their own list is checked separately)."""
    s = unquote(s)
    while True:
        t = re.sub(r"\$\([^()]*\)", "$__", s)
        t = re.sub(r"\{\s[^{}]*;\s*\}", "{}", t)
        if t == s:
            return s
        s = t


def groups(s):
    """The bodies of $(...) and { ...; } groups, innermost first."""
    s = unquote(s)
    out = []
    while True:
        found = False
        for pat, rep in ((r"\$\(([^()]*)\)", "$__"), (r"\{\s([^{}]*;)\s*\}", "{}")):
            m = re.search(pat, s)
            if m:
                out.append(m.group(1))
                s = s[:m.start()] + rep + s[m.end():]
                found = True
                break
        if not found:
            return out


def bad_lists(text):
    for seg in re.split(r";|\bthen\b|\bdo\b|\belse\b|\n", text):
        if not SWALLOW.search(seg):
            continue
        rest = SWALLOW.sub(" ", seg, count=1)
        if "&&" in rest or "||" in rest:
            yield seg.strip()


def split_bodies(text, first_line=1):
    """Cut a script into its top level and its test bodies.

    A body is a single-quoted word that spans lines or is the last argument
    of a one-line test_expect_success; adjacent quoted pieces of one word
    (the '"'"' idiom) are joined.  Other single-quoted strings are set
    aside.  Returns [(first line number, shell text)], top level first."""
    top, bodies = [], []
    i, n = 0, len(text)
    line = first_line
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:
            top.append(text[i:i + 2])
            line += text[i:i + 2].count("\n")
            i += 2
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            top.append(text[i:j + 1])
            line += text[i:j + 1].count("\n")
            i = j + 1
        elif c == "'":
            start_line = line
            word = []
            while i < n and text[i] in "'\"":
                q = text[i]
                j = text.find(q, i + 1)
                if j < 0:
                    j = n
                piece = text[i + 1:j]
                word.append(piece if q == "'" else "X")
                line += text[i:j + 1].count("\n")
                i = j + 1
            content = "".join(word)
            before = "".join(top).rsplit("\n", 1)[-1]
            if "\n" in content or re.match(r"\s*test_expect_success\s+(''|\"[^\"]*\")\s+$", before):
                bodies.append((start_line, content))
                top.append("'BODY'")
            else:
                top.append("''")
        elif c == "#" and (i == 0 or text[i - 1] in " \t\n;"):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        else:
            if c == "\n":
                line += 1
            top.append(c)
            i += 1
    return [(first_line, "".join(top))] + bodies


def lint_text(first_line, text):
    bad = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        start = i
        logical = lines[i]
        while re.search(r"(&&|\|\||\||\\)\s*$", lines[i]) and i + 1 < len(lines):
            i += 1
            logical = re.sub(r"\\\s*$", " ", logical) + " " + lines[i]
        i += 1
        for t in [strip_groups(logical)] + groups(logical):
            for seg in bad_lists(t):
                bad.append((first_line + start, seg))
    return bad


def lint(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    bad = []
    for first, chunk in split_bodies(text):
        bad += lint_text(first, chunk)
    return sorted(set(bad))


def main(argv):
    rc = 0
    for path in argv[1:]:
        for line, seg in lint(path):
            print(f"{path}:{line}: `|| true` in a list with other && / || "
                  f"swallows the failures before it: {seg[:160]}")
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
