#!/usr/bin/env python3
"""Usage: python3 rocketmq_produce_consume.py NAMESRV_ADDR TOPIC GROUP [COUNT] [MODE]

Drives PyPI `rocketmq` 0.4.4 (bundled C++ client, language CPP, version 63) against a running
name server and broker and checks that messages flow end to end.

  COUNT  number of counted messages (default 1000). Message i has tag TagC when i % 10 == 9,
         else TagA (even i) or TagB (odd i); key `k-<i>`, user property `idx=<i>`, body `body-<i>`.
  MODE   `cluster` (default): one PushConsumer, CLUSTERING, subscribe(TOPIC, cb, 'TagA || TagB').
         `broadcast`: two PushConsumers with MessageModel.BROADCASTING in the same GROUP, each in
         its own process; each one must receive every TagA/TagB message.

The C++ client has no ConsumeFromWhere: a new group starts at each queue's max offset. So the
script starts the producer, sends one probe (which creates TOPIC on the broker through TBW102),
starts the consumer(s), then keeps sending probes (tag TagA, key `probe-<n>`, not counted) until
a run of PROBE_RUN (8) consecutive probes has reached every consumer. The producer picks queues
round-robin, so such a run has touched every queue of the topic (up to 8 queues), which means every
queue has a position before the counted messages are sent.

Checks: every TagA/TagB message received by every consumer with the right body, tag, key and user
property; duplicates (redeliveries) are tolerated and counted; any TagC handed to a callback fails
the run. (Like the Java client, the C++ client re-checks tags after a pull, so a broker that did
not filter by tag would not show up here; ali_ons_produce_consume.js checks the pull responses.)

The last line on stdout is exactly one of
  RESULT ok: <summary>      (exit 0)
  RESULT fail: <reason>     (exit 1)
Progress goes to stderr. Only 127.0.0.1:<port> addresses are accepted.

Every C++ client runs in a child process of its own (the library may block for seconds per request
and its shutdown can hang), all with HOME pointed at one temporary directory, where the library
writes $HOME/logs/rocketmq-cpp/<pid>_rocketmq-cpp.log.N. On failure the last warning/error lines
of those logs are copied to stderr. INTEROP_KEEP_LOGS=1 keeps the directory; INTEROP_TIMEOUT_S
changes the overall bound (default 120); INTEROP_CLIENT_LOG_LEVEL (FATAL..TRACE) sets the library's
log level (default: DEBUG for consumers, whose logs then show every response with its remark, and
INFO for the producer); error responses found in those logs are listed on stderr, and in the
RESULT line on failure; INTEROP_SEND_RETRIES (default 0) allows extra attempts per
message after a failed send_sync, 500 ms apart; INTEROP_PROBE_TIMEOUT_S (default 60) bounds the
probe phase.
"""
import glob
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

TIMEOUT_S = float(os.environ.get("INTEROP_TIMEOUT_S", "120"))
SEND_RETRIES = int(os.environ.get("INTEROP_SEND_RETRIES", "0"))
# Consumers log at DEBUG by default: it is the only level at which the C++ client writes the
# remark of an error response (e.g. why a heartbeat was refused). The producer logs at INFO.
LOG_LEVEL = os.environ.get("INTEROP_CLIENT_LOG_LEVEL", "").upper()
ADDR_RE = re.compile(r"^127\.0\.0\.1:\d{1,5}$")
PROBE_RUN = 8           # consecutive probes every consumer must see before counted messages go out
PROBE_INTERVAL_S = 0.3  # pause between probes
# Give up probing after this long (the C++ client rebalances every 20 s; a healthy run takes ~3 s).
PROBE_TIMEOUT_S = float(os.environ.get("INTEROP_PROBE_TIMEOUT_S", "60"))
STOP_RESERVE_S = 7.0   # part of the overall bound kept for shutting the clients down
SETTLE_S = 1.0          # after the last expected message: time for late duplicates or TagC
T0 = time.monotonic()


def log(msg):
    sys.stderr.write("[rocketmq_produce_consume +%.1fs] %s\n" % (time.monotonic() - T0, msg))
    sys.stderr.flush()


def emit(ok, text):
    text = " ".join(str(text).split())
    sys.stdout.write("RESULT %s: %s\n" % ("ok" if ok else "fail", text))
    sys.stdout.flush()
    return 0 if ok else 1


def tag_of(i):
    if i % 10 == 9:
        return "TagC"
    return "TagA" if i % 2 == 0 else "TagB"


def _dec(v):
    if v is None:
        return None
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


def _set_log_level(setter, handle, default):
    from rocketmq.ffi import _CLogLevel
    level = getattr(_CLogLevel, LOG_LEVEL or default, getattr(_CLogLevel, default))
    setter(handle, level)


# --------------------------------------------------------------------------- child: consumer
def child_consumer(addr, topic, group, model, name):
    """Prints `STARTED`, then one `MSG <json>` line per delivery; stops on `STOP` or stdin EOF."""
    out_lock = threading.Lock()

    def say(line):
        with out_lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    try:
        from rocketmq.client import PushConsumer
        from rocketmq.ffi import MessageModel, dll
        mm = MessageModel.BROADCASTING if model == "broadcast" else MessageModel.CLUSTERING
        consumer = PushConsumer(group, message_model=mm)
        consumer.set_namesrv_addr(addr)
        if model == "broadcast":
            # Two processes of one group: keep their client ids (ip@instance) apart.
            consumer.set_instance_name("%s_%d" % (name, os.getpid()))
        _set_log_level(dll.SetPushConsumerLogLevel, consumer._handle, "DEBUG")

        def on_message(msg):
            try:
                d = {
                    "topic": msg.topic,
                    "tags": _dec(msg.tags),
                    "keys": _dec(msg.keys),
                    "body": _dec(msg.body),
                    "idx": _dec(msg.get_property("idx")),
                    "queue": msg.queue_id,
                    "offset": msg.queue_offset,
                    "reconsume": msg.reconsume_times,
                }
                say("MSG " + json.dumps(d))
            except Exception as e:  # noqa: BLE001 - never ask for redelivery by accident
                say("ERR callback: %s: %s" % (type(e).__name__, e))

        consumer.subscribe(topic, on_message, "TagA || TagB")
        consumer.start()
    except Exception as e:  # noqa: BLE001
        say("ERR start: %s: %s" % (type(e).__name__, e))
        os._exit(0)
    say("STARTED")
    for line in sys.stdin:
        if line.strip() == "STOP":
            break
    try:
        consumer.shutdown()
    except Exception as e:  # noqa: BLE001
        sys.stderr.write("[%s] shutdown failed: %s\n" % (name, e))
    say("STOPPED")
    sys.stderr.flush()
    # Skip interpreter teardown: __del__ would shut the C++ client down a second time.
    os._exit(0)


# --------------------------------------------------------------------------- child: producer
def child_producer(addr, topic, group):
    """Commands on stdin: `PROBE <n>`, `SEND <from> <to>`, `STOP`. Answers on stdout:
    `PROBED <n> ok|fail <detail>`, `SENT <i>` (every 100), `SENDFAIL <i> <error>`, `DONE <n-sent>`."""
    def say(line):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    try:
        from rocketmq.client import Message, Producer, SendStatus
        from rocketmq.ffi import dll
        producer = Producer("%s_PRODUCER" % group)
        producer.set_namesrv_addr(addr)
        _set_log_level(dll.SetProducerLogLevel, producer._handle, "INFO")
        producer.start()
    except Exception as e:  # noqa: BLE001
        say("ERR start: %s: %s" % (type(e).__name__, e))
        os._exit(0)
    say("STARTED")

    def send(tag, key, body, idx):
        msg = Message(topic)
        msg.set_tags(tag)
        msg.set_keys(key)
        msg.set_body(body)
        if idx is not None:
            msg.set_property("idx", str(idx))
        res = producer.send_sync(msg)
        if res.status != SendStatus.OK:
            raise RuntimeError("send status %s (msg id %s)" % (res.status, res.msg_id))
        return res

    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "STOP":
            break
        if parts[0] == "PROBE":
            n = int(parts[1])
            try:
                res = send("TagA", "probe-%d" % n, "probe-%d" % n, None)
                say("PROBED %d ok %s" % (n, res.msg_id))
            except Exception as e:  # noqa: BLE001
                say("PROBED %d fail %s: %s" % (n, type(e).__name__, e))
        elif parts[0] == "SEND":
            lo, hi = int(parts[1]), int(parts[2])
            done = 0
            retries = 0
            for i in range(lo, hi):
                error = None
                for attempt in range(SEND_RETRIES + 1):
                    if attempt:
                        retries += 1
                        time.sleep(0.5)
                    try:
                        send(tag_of(i), "k-%d" % i, "body-%d" % i, i)
                        error = None
                        break
                    except Exception as e:  # noqa: BLE001
                        error = "%s: %s" % (type(e).__name__, e)
                if error is not None:
                    say("SENDFAIL %d %s" % (i, error))
                    break  # stop at the first message that could not be sent
                done += 1
                if (i + 1) % 100 == 0:
                    say("SENT %d" % (i + 1))
            say("DONE %d %d" % (done, retries))
    try:
        producer.shutdown()
    except Exception as e:  # noqa: BLE001
        sys.stderr.write("[producer] shutdown failed: %s\n" % e)
    say("STOPPED")
    sys.stderr.flush()
    os._exit(0)


# --------------------------------------------------------------------------- parent
class Child:
    def __init__(self, name, argv, env, cwd, events):
        self.name = name
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env, cwd=cwd, start_new_session=True, text=True, bufsize=1)
        self.stderr_tail = []
        threading.Thread(target=self._read_out, args=(events,), daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read_out(self, events):
        for line in self.proc.stdout:
            events.put((self.name, line.rstrip("\n")))
        events.put((self.name, "EOF"))

    def _read_err(self):
        for line in self.proc.stderr:
            self.stderr_tail = (self.stderr_tail + [line.rstrip("\n")])[-20:]
            sys.stderr.write("[%s stderr] %s" % (self.name, line))

    def send(self, line):
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the child leads its own session
        except ProcessLookupError:
            pass


def _client_log_lines(home):
    for path in sorted(glob.glob(os.path.join(home, "logs", "rocketmq-cpp", "*"))):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    yield os.path.basename(path), line.rstrip()
        except OSError:
            pass


def client_log_excerpt(home, limit=30):
    pat = re.compile(r"\((error|warn|warning|fatal)\)|can not connect|timeout|parse json error|exception", re.I)
    lines = ["%s: %s" % (name, line[:300]) for name, line in _client_log_lines(home)
             if pat.search(line) and "session_credentials" not in line]
    return lines[-limit:]


# Debug line the C++ client writes for every decoded response frame, e.g.
# "(debug):code:1, remark:JAVA, version:409, opaque:2, flag:1, remark:invalid body: ..., headLen:194, bodyLen:0 [Decode:177]"
DECODE_RE = re.compile(r"\(debug\):code:(-?\d+), remark:.*?, version:-?\d+, opaque:-?\d+, flag:(\d+), remark:(.*?)(, headLen:\d+|$)")
# Response codes that are part of normal operation: TOPIC_NOT_EXIST (route of %RETRY%<group> before
# the first heartbeat), PULL_NOT_FOUND, PULL_RETRY_IMMEDIATELY, PULL_OFFSET_MOVED, QUERY_NOT_FOUND.
NORMAL_CODES = {0, 17, 19, 20, 21, 22}


def broker_error_responses(home):
    """Distinct (code, remark) of error responses in the clients' debug logs, with counts."""
    seen = {}
    for _, line in _client_log_lines(home):
        m = DECODE_RE.search(line)
        if m and m.group(2) == "1" and int(m.group(1)) not in NORMAL_CODES:
            key = "code=%s %r" % (m.group(1), m.group(3)[:200])
            seen[key] = seen.get(key, 0) + 1
    return ["%dx %s" % (n, k) for k, n in sorted(seen.items(), key=lambda kv: -kv[1])]


class Run:
    def __init__(self, addr, topic, group, count, mode, home):
        self.addr, self.topic, self.group, self.count, self.mode = addr, topic, group, count, mode
        self.home = home
        # Keep STOP_RESERVE_S of the overall bound for stopping the clients.
        self.deadline = T0 + TIMEOUT_S - STOP_RESERVE_S
        self.events = queue.Queue()
        self.expected = {i for i in range(count) if tag_of(i) != "TagC"}
        self.consumer_names = ["consumer1", "consumer2"] if mode == "broadcast" else ["consumer1"]
        self.stats = {n: {"seen": set(), "dups": 0, "tagc": 0, "bad": [], "probes": set(),
                          "deliveries": 0, "reconsumed": 0}
                      for n in self.consumer_names}
        self.children = {}
        self.started = set()
        self.probed = {}      # n -> "ok" / "fail ..."
        self.done = None      # (sent, retries) once the producer finished a SEND
        self.send_failures = []
        self.sent_progress = 0
        self.child_errors = []

    # ---- plumbing
    def spawn(self, name, role_args):
        env = dict(os.environ, HOME=self.home)
        argv = [sys.executable, os.path.abspath(__file__)] + role_args
        self.children[name] = Child(name, argv, env, self.home, self.events)

    def pump(self, timeout):
        """Handles events for up to `timeout` seconds (less if the deadline comes first)."""
        end = min(time.monotonic() + timeout, self.deadline)
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            try:
                name, line = self.events.get(timeout=left)
            except queue.Empty:
                return
            self.handle(name, line)

    def wait_until(self, pred, what):
        while not pred():
            if time.monotonic() >= self.deadline:
                raise TimeoutError("timeout waiting for %s" % (what() if callable(what) else what))
            if self.child_errors:
                raise RuntimeError("; ".join(self.child_errors))
            self.pump(0.1)

    def handle(self, name, line):
        if line.startswith("MSG "):
            self.on_message(name, json.loads(line[4:]))
        elif line == "STARTED":
            self.started.add(name)
            log("%s started" % name)
        elif line.startswith("PROBED "):
            _, n, rest = line.split(" ", 2)
            self.probed[int(n)] = rest
            if not rest.startswith("ok"):
                log("probe %s: %s" % (n, rest))
        elif line.startswith("SENT "):
            self.sent_progress = int(line.split()[1])
            if self.sent_progress % 200 == 0:
                log("sent %d/%d" % (self.sent_progress, self.count))
        elif line.startswith("SENDFAIL "):
            self.send_failures.append(line[9:])
            log("send failed: %s" % line[9:])
        elif line.startswith("DONE "):
            _, sent, retries = line.split()
            self.done = (int(sent), int(retries))
        elif line.startswith("ERR "):
            self.child_errors.append("%s: %s" % (name, line[4:]))
            log("%s: %s" % (name, line[4:]))
        elif line == "EOF":
            if not getattr(self, "stopping", False):
                self.child_errors.append("%s exited unexpectedly (exit %s)" % (name, self.children[name].proc.poll()))
        elif line == "STOPPED":
            pass
        else:
            log("%s: %s" % (name, line))

    def on_message(self, name, d):
        s = self.stats[name]
        s["deliveries"] += 1
        if d.get("reconsume"):
            s["reconsumed"] += 1
        keys, body = d.get("keys") or "", d.get("body") or ""
        m = re.match(r"^probe-(\d+)$", keys)
        if m:
            s["probes"].add(int(m.group(1)))
            return
        if d.get("tags") == "TagC":
            s["tagc"] += 1
        m = re.match(r"^k-(\d+)$", keys) or re.match(r"^body-(\d+)$", body)
        if not m:
            self.bad(s, "unparsable message %s" % json.dumps(d)[:200])
            return
        i = int(m.group(1))
        problems = []
        if d.get("topic") != self.topic:
            problems.append("topic=%s" % d.get("topic"))
        if body != "body-%d" % i:
            problems.append("body=%r" % body[:40])
        if d.get("tags") != tag_of(i):
            problems.append("tags=%s (want %s)" % (d.get("tags"), tag_of(i)))
        if keys != "k-%d" % i:
            problems.append("keys=%s" % keys)
        if d.get("idx") != str(i):
            problems.append("idx=%s" % d.get("idx"))
        if problems:
            self.bad(s, "message %d: %s" % (i, ", ".join(problems)))
        if i not in self.expected:
            return
        if i in s["seen"]:
            s["dups"] += 1
        else:
            s["seen"].add(i)

    @staticmethod
    def bad(s, why):
        s["bad"].append(why)

    def progress(self):
        parts = ["%s: %d/%d received, %d duplicates, %d probes"
                 % (n, len(s["seen"]), len(self.expected), s["dups"], len(s["probes"]))
                 for n, s in self.stats.items()]
        parts.append("sent %d/%d" % (self.done[0] if self.done else self.sent_progress, self.count))
        return "; ".join(parts)

    # ---- scenario
    def probe(self, n):
        self.children["producer"].send("PROBE %d" % n)
        self.wait_until(lambda: n in self.probed, "the answer to probe %d" % n)
        return self.probed[n].startswith("ok")

    def probes_complete(self, ok_probes):
        """True when PROBE_RUN consecutive successfully sent probes reached every consumer."""
        run = 0
        for n in sorted(ok_probes):
            if all(n in self.stats[c]["probes"] for c in self.consumer_names):
                run += 1
                if run >= PROBE_RUN:
                    return True
            else:
                run = 0
        return False

    def run(self):
        self.spawn("producer", ["--producer", self.addr, self.topic, self.group])
        self.wait_until(lambda: "producer" in self.started, "the producer to start")
        # Probe 0 creates the topic (auto-create from TBW102) so consumers find a route at start.
        t = time.monotonic()
        if not self.probe(0):
            raise RuntimeError("first probe failed: %s" % self.probed[0])
        log("probe 0 sent (%.0f ms): topic exists" % ((time.monotonic() - t) * 1000))
        for i, name in enumerate(self.consumer_names):
            self.spawn(name, ["--consumer", self.addr, self.topic, self.group, self.mode, "c%d" % (i + 1)])
        self.wait_until(lambda: all(n in self.started for n in self.consumer_names), "the consumers to start")

        ok_probes = set()
        n = 0
        t_probe = time.monotonic()
        while not self.probes_complete(ok_probes):
            n += 1
            if self.probe(n):
                ok_probes.add(n)
            self.pump(PROBE_INTERVAL_S)
            if time.monotonic() >= min(self.deadline, t_probe + PROBE_TIMEOUT_S):
                raise TimeoutError("no consumer positioned after %.0f s of probing (%d probes sent)"
                                   % (time.monotonic() - t_probe, n))
            if self.child_errors:
                raise RuntimeError("; ".join(self.child_errors))
        log("consumers positioned after %d probes (%.1f s)" % (n, time.monotonic() - t_probe))
        self.n_probes = n

        t_send = time.monotonic()
        self.children["producer"].send("SEND 0 %d" % self.count)
        self.wait_until(lambda: self.done is not None, "the producer to send %d messages" % self.count)
        log("%d sent in %.1f s (%d failed)" % (self.done[0], time.monotonic() - t_send, len(self.send_failures)))
        if self.send_failures:
            raise RuntimeError("%d send(s) failed, first: %s" % (len(self.send_failures), self.send_failures[0]))
        self.wait_until(
            lambda: all(self.expected <= self.stats[c]["seen"] for c in self.consumer_names),
            "all %d TagA/TagB messages at every consumer" % len(self.expected))
        self.consume_s = time.monotonic() - t_send
        self.pump(SETTLE_S)

    def stop_children(self):
        self.stopping = True
        for c in self.children.values():
            c.send("STOP")
        end = time.monotonic() + STOP_RESERVE_S - 1
        for c in self.children.values():
            try:
                c.proc.wait(timeout=max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                log("%s did not stop in time; killing it" % c.name)
        for c in self.children.values():
            c.kill()  # also reaps helper threads of the C++ library if shutdown hung


def parent(addr, topic, group, count, mode):
    home = tempfile.mkdtemp(prefix="ferrocket-interop-rocketmq-")
    keep = os.environ.get("INTEROP_KEEP_LOGS") == "1"
    r = Run(addr, topic, group, count, mode, home)
    failure = None
    try:
        try:
            r.run()
        except (TimeoutError, RuntimeError) as e:
            failure = str(e)
        problems = []
        for n, s in r.stats.items():
            who = "%s " % n if len(r.stats) > 1 else ""
            if s["tagc"]:
                problems.append("%scallback received %d TagC message(s)" % (who, s["tagc"]))
            if s["bad"]:
                problems.append("%s%d malformed message(s), e.g. %s" % (who, len(s["bad"]), "; ".join(s["bad"][:3])))
        r.stop_children()
        elapsed = time.monotonic() - T0
        errors = broker_error_responses(home)
        for line in errors:
            log("error response seen by a client: %s" % line)
        if failure or problems:
            for line in client_log_excerpt(home):
                sys.stderr.write("[client log] %s\n" % line)
            hint = "; error responses seen by the clients: %s" % " | ".join(errors[:3]) if errors else ""
            return emit(False, "; ".join(([failure] if failure else []) + problems) +
                        " (%s; elapsed=%.1fs)%s" % (r.progress(), elapsed, hint))
        per = " ".join(("%s:" % n if len(r.stats) > 1 else "") +
                       "received=%d duplicates=%d" % (len(s["seen"]), s["dups"])
                       for n, s in r.stats.items())
        return emit(True, "mode=%s sent=%d expected=%d %s send_retries=%d probes=%d tagC_sent=%d "
                    "send_and_consume=%.1fs elapsed=%.1fs"
                    % (mode, r.done[0], len(r.expected), per, r.done[1], r.n_probes,
                       count - len(r.expected), r.consume_s, elapsed))
    finally:
        for c in r.children.values():
            c.kill()
        if keep:
            sys.stderr.write("[rocketmq_produce_consume] client logs kept in %s\n" % home)
        else:
            shutil.rmtree(home, ignore_errors=True)


def main(argv):
    if len(argv) >= 2 and argv[1] == "--consumer" and len(argv) == 7:
        return child_consumer(*argv[2:7])
    if len(argv) >= 2 and argv[1] == "--producer" and len(argv) == 5:
        return child_producer(*argv[2:5])
    if not 4 <= len(argv) <= 6:
        return emit(False, "usage: rocketmq_produce_consume.py NAMESRV_ADDR TOPIC GROUP [COUNT] [cluster|broadcast]")
    addr, topic, group = argv[1:4]
    count = argv[4] if len(argv) > 4 else "1000"
    mode = argv[5] if len(argv) > 5 else "cluster"
    if not ADDR_RE.match(addr):
        return emit(False, "refusing non-loopback name server address %r (want 127.0.0.1:PORT)" % addr)
    if not count.isdigit() or int(count) < 1:
        return emit(False, "bad COUNT %r" % count)
    if mode not in ("cluster", "broadcast"):
        return emit(False, "bad MODE %r (want cluster or broadcast)" % mode)
    return parent(addr, topic, group, int(count), mode)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
