#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Run and judge the cells of the fault matrix (tests/t7000-fault-matrix.sh).

    faultcells.py run CELLS.tsv OUTDIR JOBS
    faultcells.py judge CELLS.tsv OUTDIR MATRIX-FILE

CELLS.tsv, one cell a line, tab-separated:
    ROW COL GROUP TIMEOUT_MS WANT RUNBOOK ENV PATTERN
WANT is "pass" (a control: the same check, healthy) or "block"; ENV is
NAME=VALUE pairs separated by spaces, or "-"; PATTERN a Python regular
expression the check's summary must match (it names the fault), or "-".

run: one `gate check --format json RUNBOOK` per cell, timed on the
monotonic clock from just before the fork to the exit.  The cells of one
GROUP start together (a fault that strikes several sessions at once needs
them all in flight); at most JOBS groups run at a time.  OUTDIR/ROW--COL.
{json,err,rc,ms} are written.

judge: for each cell, one line "ROW--COL<TAB>ok" or "ROW--COL<TAB>what is
wrong" on stdout; the matrix (rows check types, columns faults, cells the
status and ms, or n/a) into MATRIX-FILE.
"""
import json
import os
import re
import subprocess
import sys
import threading
import time

GATE = os.environ.get("GATE_BIN", "gate")


def load(path):
    cells = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            row, col, group, tmo, want, rb, env, pat = line.split("\t")
            cells.append({"row": row, "col": col, "group": group, "timeout_ms": int(tmo),
                          "want": want, "runbook": rb, "pattern": pat,
                          "env": {} if env == "-" else dict(kv.split("=", 1) for kv in env.split(" "))})
    return cells


def key(c):
    return "%s--%s" % (c["row"], c["col"])


def run_one(c, outdir):
    base = os.path.join(outdir, key(c))
    env = dict(os.environ)
    env.update(c["env"])
    with open(base + ".json", "wb") as out, open(base + ".err", "wb") as err:
        t0 = time.monotonic()
        p = subprocess.Popen([GATE, "check", "--format", "json", c["runbook"]],
                             stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        rc = p.wait()
        ms = (time.monotonic() - t0) * 1000
    with open(base + ".rc", "w") as f:
        f.write("%d\n" % rc)
    with open(base + ".ms", "w") as f:
        f.write("%.0f\n" % ms)


def run(cells_path, outdir, jobs):
    cells = load(cells_path)
    groups = {}
    for c in cells:
        groups.setdefault(c["group"], []).append(c)
    sem = threading.Semaphore(jobs)
    threads = []

    def run_group(members):
        try:
            ts = [threading.Thread(target=run_one, args=(c, outdir)) for c in members]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
        finally:
            sem.release()

    for members in groups.values():
        sem.acquire()
        t = threading.Thread(target=run_group, args=(members,))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()


def judge_one(c, outdir):
    """(status for the matrix, ms, problem or None)"""
    base = os.path.join(outdir, key(c))
    try:
        rc = int(open(base + ".rc").read())
        ms = float(open(base + ".ms").read())
    except (OSError, ValueError):
        return "?", 0, "did not run"
    raw = open(base + ".json", "rb").read()
    try:
        rep = json.loads(raw.decode("utf-8"))  # strict: the report must be UTF-8 JSON
    except (UnicodeDecodeError, ValueError) as e:
        return "?", ms, "exit %d, the report is not valid UTF-8 JSON (%s): %r" % (rc, e, raw[:300])
    checks = [ch for ch in rep.get("checks", []) if ch.get("id") == key(c)]
    if len(checks) != 1:
        return "?", ms, "exit %d, check %s not in the report: %r" % (rc, key(c), raw[:300])
    ch = checks[0]
    st, summary = ch.get("status"), ch.get("summary", "")
    said = "status %s, exit %d, %.0f ms: %s" % (st, rc, ms, summary)
    if c["want"] == "pass":
        if st != "pass" or rc != 0 or rep.get("decision") != "allow":
            return st, ms, "control did not pass: " + said
        return st, ms, None
    if st not in ("error", "fail"):
        return st, ms, "FAIL-OPEN: " + said
    if rc != 75 or rep.get("decision") != "block":
        return st, ms, "decision %s, not block (75): %s" % (rep.get("decision"), said)
    reason = "%s: %s" % (key(c), summary)
    if reason not in rep.get("reasons", []):
        return st, ms, "no reason names the check: %r" % rep.get("reasons")
    if c["pattern"] != "-" and not re.search(c["pattern"], summary):
        return st, ms, "the reason does not name the fault (/%s/): %s" % (c["pattern"], said)
    if ms > c["timeout_ms"] + 1000:
        return st, ms, "took %.0f ms, more than the timeout (%d ms) + 1 s: %s" % (
            ms, c["timeout_ms"], said)
    return st, ms, None


def judge(cells_path, outdir, matrix_path):
    cells = load(cells_path)
    rows, cols, got = [], [], {}
    for c in cells:
        if c["row"] not in rows:
            rows.append(c["row"])
        if c["col"] not in cols:
            cols.append(c["col"])
        st, ms, problem = judge_one(c, outdir)
        got[(c["row"], c["col"])] = "%s %.0f" % (st, ms) if st else "? 0"
        print("%s\t%s" % (key(c), "ok" if problem is None else problem.replace("\n", " ")))
    w0 = max(len(r) for r in rows)
    widths = [max(len(col), 10) for col in cols]
    lines = [" ".join([" " * w0] + [col.ljust(w) for col, w in zip(cols, widths)]).rstrip()]
    for r in rows:
        cells_txt = [got.get((r, col), "n/a").ljust(w) for col, w in zip(cols, widths)]
        lines.append(" ".join([r.ljust(w0)] + cells_txt).rstrip())
    with open(matrix_path, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    if sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif sys.argv[1] == "judge":
        judge(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
