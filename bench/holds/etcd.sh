#!/bin/bash
# Benchmark: the etcd lock (holds/lock_etcd.c) against a real one-member
# etcd (tests/lib/ha.sh on a free loopback port, stopped at exit), driven by
# tests/tools/gate-hold:
#   - take: from starting gate-hold to its "take" answer (process start,
#     libcurl set-up, lease grant, the create transaction), RUNS times;
#   - release: from closing its stdin to its exit (the delete transaction,
#     the lease revoke, exit), the same runs;
#   - a holder killed with SIGKILL: from the kill to the slot's key being
#     gone (polled every 50 ms), for each TTL given, KILLS times;
#   - probe: a whole gate-hold run that reads the group once (what
#     starting the process and libcurl costs besides the requests).
#
#   bench/holds/etcd.sh [RUNS] [KILLS] [TTL_S...]   (defaults: 21 3 3 10)
# Needs the build (GATE_BUILD_DIR, default build/) and etcd-server.
set -u
RUNS=${1:-21}
KILLS=${2:-3}
shift 2 2>/dev/null
TTLS=("$@")
[ ${#TTLS[@]} -gt 0 ] || TTLS=(3 10)
. "$(dirname "$0")/../../tests/lib/test-lib.sh"
. "$GATE_SOURCE_DIR/tests/lib/ha.sh"
ha_etcd_start || { echo "etcd did not start"; exit 1; }
echo "# etcd $(etcd --version | sed -n 's/etcd Version: //p') at $ETCD_URL, $(nproc) cores," \
	"load $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$GATE_TOOLS_DIR/gate-hold" "$ETCD_URL" "$RUNS" "$KILLS" "${TTLS[@]}" <<'PY'
import base64, json, os, signal, statistics, subprocess, sys, time, urllib.request

hold, url, runs, kills, ttls = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:]

def params(group, ttl_s):
    return json.dumps({"etcd": [url], "group": group, "slots": 1, "ttl": ttl_s * 1000})

def key_there(key):
    body = json.dumps({"key": base64.b64encode(key.encode()).decode(), "count_only": True}).encode()
    with urllib.request.urlopen(urllib.request.Request(url + "/v3/kv/range", body), timeout=2) as r:
        return "count" in json.load(r)

def start(group, ttl_s):
    t0 = time.monotonic()
    p = subprocess.Popen([hold, "lock", "etcd", params(group, ttl_s), "take", "-1"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    took = (time.monotonic() - t0) * 1000
    if '"state":"taken"' not in line:
        sys.exit("not taken: " + line)
    return p, took

def fmt(xs):
    return "median %6.1f ms  min %6.1f  max %6.1f  (%d runs)" % (
        statistics.median(xs), min(xs), max(xs), len(xs))

take, release = [], []
for i in range(runs):
    p, took = start("bench", 30)
    t0 = time.monotonic()
    p.stdin.close()
    out = p.stdout.read()
    p.wait()
    release.append((time.monotonic() - t0) * 1000)
    take.append(took)
    if '"state":"taken","step":"release"' not in out:
        sys.exit("release failed: " + out)
probe = []
for i in range(runs):
    t0 = time.monotonic()
    subprocess.run([hold, "lock", "etcd", params("bench", 30), "probe"], stdout=subprocess.DEVNULL,
                   check=True)
    probe.append((time.monotonic() - t0) * 1000)
print("take    (gate-hold start to taken)  " + fmt(take))
print("release (stdin closed to exit)      " + fmt(release))
print("probe   (whole gate-hold run)       " + fmt(probe) + ": one read, the process's share")

for ttl in ttls:
    freed = []
    for i in range(kills):
        p, _ = start("kill", int(ttl))
        time.sleep(0.5)  # let at least one keepalive pass on short TTLs
        t0 = time.monotonic()
        p.send_signal(signal.SIGKILL)
        p.wait()
        while key_there("/gate/locks/kill/slot-0"):
            time.sleep(0.05)
        freed.append((time.monotonic() - t0) * 1000)
    print("SIGKILL to slot freed, ttl %3ss     %s   runs: %s" % (
        ttl, fmt(freed), " ".join("%.0f" % x for x in freed)))
PY
