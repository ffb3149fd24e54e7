#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Plot bench/peers/growth.sh's CSV as an SVG (standard library only).

    plot.py growth.csv growth.svg

Two panels against the number of replicas N (a log2 axis): wall time
(medians, with min-max bars) and peak RSS, for gate check and the floor.
The CSV's comment lines (# ...) become the caption.
"""
import csv
import math
import sys
import textwrap
from xml.sax.saxutils import escape

SERIES = [("gate", "gate check", "#c0392b", ""), ("floor", "floor: one parallel libpq round", "#2471a3", "6,4")]
PANEL_W, PANEL_H, ML, MR, MT, MB = 440, 300, 64, 16, 40, 48


def nice_max(v):
    """The smallest 1/2/2.5/5 x 10^k at or above v."""
    if v <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if m * e >= v:
            return m * e
    return 10 * e


def panel(out, x0, title, ylabel, ns, values, bars):
    """One panel at x0: values[key] = list of y per n; bars[key] = (lo, hi) lists or None."""
    w, h = PANEL_W - ML - MR, PANEL_H - MT - MB
    top = nice_max(max(max(v) for v in values.values() if v) * 1.05)
    if bars:
        top = nice_max(max(max(hi) for lo, hi in bars.values()) * 1.05)
    lo_n, hi_n = math.log2(ns[0]), math.log2(ns[-1])
    span = hi_n - lo_n or 1

    def px(n):
        return x0 + ML + (math.log2(n) - lo_n) / span * w

    def py(v):
        return MT + h - v / top * h

    out.append(f'<text x="{x0 + ML + w / 2}" y="22" text-anchor="middle" font-weight="bold">{escape(title)}</text>')
    out.append(f'<rect x="{x0 + ML}" y="{MT}" width="{w}" height="{h}" fill="none" stroke="#444"/>')
    for i in range(6):
        v = top * i / 5
        y = py(v)
        out.append(f'<line x1="{x0 + ML}" y1="{y:.1f}" x2="{x0 + ML + w}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{x0 + ML - 6}" y="{y + 4:.1f}" text-anchor="end">{v:g}</text>')
    for n in ns:
        x = px(n)
        out.append(f'<line x1="{x:.1f}" y1="{MT + h}" x2="{x:.1f}" y2="{MT + h + 5}" stroke="#444"/>')
        out.append(f'<text x="{x:.1f}" y="{MT + h + 18}" text-anchor="middle">{n}</text>')
    out.append(f'<text x="{x0 + ML + w / 2}" y="{MT + h + 38}" text-anchor="middle">replicas (N)</text>')
    out.append(f'<text transform="translate({x0 + 16},{MT + h / 2}) rotate(-90)" text-anchor="middle">{escape(ylabel)}</text>')
    for key, label, color, dash in SERIES:
        ys = values.get(key)
        if not ys:
            continue
        pts = " ".join(f"{px(n):.1f},{py(v):.1f}" for n, v in zip(ns, ys))
        d = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"{d}/>')
        for i, (n, v) in enumerate(zip(ns, ys)):
            if bars and key in bars:
                lo, hi = bars[key][0][i], bars[key][1][i]
                out.append(f'<line x1="{px(n):.1f}" y1="{py(lo):.1f}" x2="{px(n):.1f}" y2="{py(hi):.1f}" stroke="{color}"/>')
            out.append(f'<circle cx="{px(n):.1f}" cy="{py(v):.1f}" r="3" fill="{color}"/>')
    for i, (key, label, color, dash) in enumerate(SERIES):
        y = MT + 14 + i * 18
        d = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<line x1="{x0 + ML + 10}" y1="{y - 4}" x2="{x0 + ML + 34}" y2="{y - 4}" stroke="{color}" stroke-width="2"{d}/>')
        out.append(f'<text x="{x0 + ML + 40}" y="{y}">{escape(label)}</text>')


def main():
    src, dst = sys.argv[1], sys.argv[2]
    notes, rows = [], []
    with open(src) as f:
        lines = [ln for ln in f if not (ln.startswith("#") and notes.append(ln[1:].strip()) is None)]
    notes = [part for note in notes for part in textwrap.wrap(note, 150)]
    rows = list(csv.DictReader(lines))
    if not rows:
        sys.exit("plot.py: no rows in " + src)
    ns = [int(r["n"]) for r in rows]
    col = lambda k, scale=1.0: [float(r[k]) * scale for r in rows]
    out = []
    panel(out, 0, "Wall time of one judgement", "milliseconds (median, min-max)", ns,
          {"gate": col("gate_ms"), "floor": col("floor_ms")},
          {"gate": (col("gate_ms_min"), col("gate_ms_max")), "floor": (col("floor_ms_min"), col("floor_ms_max"))})
    panel(out, PANEL_W, "Peak resident memory", "MiB (ru_maxrss, median)", ns,
          {"gate": col("gate_rss_kb", 1 / 1024), "floor": col("floor_rss_kb", 1 / 1024)}, None)
    height = PANEL_H + 18 * len(notes) + 8
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * PANEL_W}" height="{height}" '
           f'viewBox="0 0 {2 * PANEL_W} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="100%" height="100%" fill="white"/>'] + out
    for i, note in enumerate(notes):
        svg.append(f'<text x="8" y="{PANEL_H + 12 + 18 * i}" font-size="10" fill="#555">{escape(note)}</text>')
    svg.append("</svg>")
    with open(dst, "w") as f:
        f.write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main()
