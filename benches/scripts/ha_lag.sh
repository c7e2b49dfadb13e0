#!/bin/bash
# Replication lag under load: a master with brokerRole ROLE (ASYNC_MASTER or SYNC_MASTER) and
# a slave, release binaries from $BIN (default target/release; `cargo build --release --bins`),
# mqbench with 32 threads for 20 s, and the master's rocketmq_ha_slave_behind_bytes read every
# 0.25 s. Ports 19876, 20911-20922, 25557-25558 on 127.0.0.1.
# Usage: benches/scripts/ha_lag.sh ROLE
set -u
BIN=${BIN:-target/release}
ROLE=$1
D=$(mktemp -d /tmp/lag.XXXX)
echo "(metricsAddr: None, kvConfigPath: \"$D/kv.json\")" > $D/ns.ron
echo "(brokerName: \"lag-ha\", brokerRole: $ROLE, brokerIP1: \"127.0.0.1\", listenIp: \"127.0.0.1\", listenPort: 20911, metricsAddr: Some(\"127.0.0.1:25557\"), store: (storePathRootDir: \"$D/m\", diskFullRatio: 100))" > $D/m.ron
echo "(brokerName: \"lag-ha\", brokerRole: SLAVE, brokerId: 1, brokerIP1: \"127.0.0.1\", listenIp: \"127.0.0.1\", listenPort: 20921, metricsAddr: Some(\"127.0.0.1:25558\"), store: (storePathRootDir: \"$D/s\", diskFullRatio: 100))" > $D/s.ron
$BIN/mqnamesrv -c $D/ns.ron --listen 127.0.0.1:19876 2>$D/ns.log & NS=$!
sleep 1
$BIN/mqbroker -c $D/m.ron -n 127.0.0.1:19876 2>$D/m.log & M=$!
$BIN/mqbroker -c $D/s.ron -n 127.0.0.1:19876 2>$D/s.log & S=$!
sleep 4
( for i in $(seq 1 100); do curl -s 127.0.0.1:25557/metrics | awk '/^rocketmq_ha_slave_behind_bytes/{print $NF}'; sleep 0.25; done > $D/samples ) &
P=$!
$BIN/mqbench produce -n 127.0.0.1:19876 -t LagHa -w 32 -s 1024 -d 20 2>/dev/null | grep -E "SUMMARY"
wait $P
sort -n $D/samples | awk '{a[NR]=$1} END {print "samples",NR,"median",a[int(NR/2)+1],"p90",a[int(NR*0.9)],"max",a[NR]}'
kill $M $S $NS 2>/dev/null; wait 2>/dev/null
rm -rf $D
