#!/bin/bash
# One mqbench produce run against a fresh standalone ferrocket (name server and broker in
# one process) on private loopback ports, with the broker's CPU per message read from
# /metrics (mqbench --metrics) and its RssAnon at the end of the run.
#
#   benches/scripts/produce_cpu.sh BIN_DIR ASYNC_FLUSH|SYNC_FLUSH THREADS SECONDS [mqbench args]
#
# BIN_DIR holds `ferrocket` and `mqbench` (target/release, or a copy of an older build's
# for interleaved comparisons). The store lives in a temp dir under target/ (the disk being
# measured) and is removed afterwards. Prints mqbench's SUMMARY and BROKER lines.
set -u
BIN=$1 FLUSH=$2 THREADS=$3 SECONDS_=$4
shift 4
DIR=$(mktemp -d "$(dirname "$0")/../../target/produce_cpu.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
cat >"$DIR/ferrocket.ron" <<RON
(
    metricsAddr: Some("127.0.0.1:37557"),
    namesrv: (listenAddr: "127.0.0.1:37876", metricsAddr: None, kvConfigPath: "$DIR/kv.json"),
    broker: (
        brokerClusterName: "DefaultCluster",
        brokerName: "broker-bench",
        namesrvAddr: "127.0.0.1:37876",
        brokerIP1: "127.0.0.1",
        listenIp: "127.0.0.1",
        listenPort: 37911,
        metricsAddr: None,
        store: (storePathRootDir: "$DIR/store", flushDiskType: $FLUSH, diskFullRatio: 100),
    ),
)
RON
"$BIN/ferrocket" -c "$DIR/ferrocket.ron" >"$DIR/ferrocket.log" 2>&1 &
PID=$!
for _ in $(seq 1 200); do
    (echo >/dev/tcp/127.0.0.1/37911) 2>/dev/null && break
    sleep 0.05
done
sleep 1.5 # the broker's first registration with the name server
"$BIN/mqbench" produce -n 127.0.0.1:37876 -w "$THREADS" -d "$SECONDS_" --report-interval 1000 \
    --metrics 127.0.0.1:37557 "$@" 2>&1 | grep -E 'SUMMARY|BROKER|rror'
grep RssAnon "/proc/$PID/status"
kill "$PID"
wait "$PID" 2>/dev/null
