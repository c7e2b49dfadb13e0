#!/usr/bin/env python3
"""Usage: python3 rocketmq_consume_only.py NAMESRV_ADDR TOPIC GROUP [COUNT]

A PyPI `rocketmq` 0.4.4 (C++ client) PushConsumer, CLUSTERING, subscribed 'TagA || TagB', for
messages another client sent before (tests/interop_ha.rs: ali_ons_produce_only.js's messages,
read from a slave while the master is stopped). Message i has tag TagC when i % 10 == 9, else
TagA (even i) or TagB (odd i), and body `body-<i>`. A new GROUP starts at offset 0 while the
queues still begin at 0 (the broker answers QUERY_CONSUMER_OFFSET with 0, as RocketMQ does).

Checks: every TagA/TagB message received with the right tag; duplicates tolerated and counted;
any TagC handed to the callback fails the run. The last line on stdout is exactly one of
  RESULT ok: <summary>      (exit 0)
  RESULT fail: <reason>     (exit 1)
The process ends with os._exit, without shutting the library down (its shutdown can hang).
Set HOME to a temp dir: the library writes $HOME/logs. INTEROP_TIMEOUT_S bounds the wait
(default 60). Only 127.0.0.1:<port> addresses are accepted.
"""
import os
import re
import sys
import threading
import time

TIMEOUT_S = float(os.environ.get("INTEROP_TIMEOUT_S", "60"))


def finish(ok, text):
    sys.stdout.write("RESULT %s: %s\n" % ("ok" if ok else "fail", " ".join(str(text).split())))
    sys.stdout.flush()
    os._exit(0 if ok else 1)


def tag_of(i):
    if i % 10 == 9:
        return "TagC"
    return "TagA" if i % 2 == 0 else "TagB"


def main():
    args = sys.argv[1:]
    if len(args) not in (3, 4):
        finish(False, "usage: rocketmq_consume_only.py NAMESRV_ADDR TOPIC GROUP [COUNT]")
    addr, topic, group = args[:3]
    count = int(args[3]) if len(args) == 4 else 100
    if not re.match(r"^127\.0\.0\.1:\d{1,5}$", addr):
        finish(False, "refusing non-loopback name server address %r" % addr)
    from rocketmq.client import PushConsumer

    expected = {i for i in range(count) if tag_of(i) != "TagC"}
    seen = set()
    lock = threading.Lock()
    stats = {"duplicates": 0, "bad": []}

    def on_message(msg):
        body = msg.body.decode("utf-8", "replace") if msg.body else ""
        tags = msg.tags.decode() if isinstance(msg.tags, bytes) else msg.tags
        m = re.match(r"^body-(\d+)$", body)
        with lock:
            if not m or tag_of(int(m.group(1))) != tags:
                if len(stats["bad"]) < 5:
                    stats["bad"].append("tags=%s body=%s" % (tags, body[:40]))
                return
            i = int(m.group(1))
            if i in seen:
                stats["duplicates"] += 1
            seen.add(i)

    consumer = PushConsumer(group)
    consumer.set_namesrv_addr(addr)
    consumer.subscribe(topic, on_message, "TagA || TagB")
    consumer.start()
    sys.stderr.write("[rocketmq_consume_only] consumer started (group %s, topic %s)\n" % (group, topic))
    t0 = time.time()
    while time.time() - t0 < TIMEOUT_S:
        with lock:
            if expected <= seen:
                break
        time.sleep(0.05)
    time.sleep(1)
    with lock:
        summary = "expected=%d received=%d duplicates=%d elapsed=%.1fs" % (
            len(expected), len(seen & expected), stats["duplicates"], time.time() - t0)
        if stats["bad"]:
            finish(False, "malformed or TagC: %s (%s)" % ("; ".join(stats["bad"]), summary))
        if not expected <= seen:
            finish(False, "timeout: %s" % summary)
    finish(True, summary)


if __name__ == "__main__":
    main()
