#!/usr/bin/env python3
"""Usage: python3 rocketmq_no_route.py NAMESRV_ADDR TOPIC

Points a PyPI `rocketmq` 0.4.4 Producer (bundled C++ client, language CPP, version 63) at
NAMESRV_ADDR (a name server with no broker behind it), sends one message to TOPIC with
send_sync and expects the client's own no-route error.

The last line on stdout is exactly one of
  RESULT no-route: <error message>   (exit 0)
  RESULT other: <error>              (exit 1: refused, timeout, parse error, success, bad args)

Why the client log is read: the C++ client raises the very same
"No route info of this topic: ..." for a refused connection, a name server that never answers
and an unparsable route body. So the script only reports no-route when that error comes with
proof in the client's debug log that the name server answered GET_ROUTEINFO_BY_TOPIC with
TOPIC_NOT_EXIST (17) and nothing went wrong on the connection.

The client work runs in a child process (the C++ library can block for 5 s per request and
its shutdown can hang) with HOME pointed at a temporary directory, where the library writes
its logs ($HOME/logs/rocketmq-cpp/<pid>_rocketmq-cpp.log.N). Set INTEROP_KEEP_LOGS=1 to keep
that directory (its path is printed on stderr). Only 127.0.0.1:<port> addresses are accepted.
"""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

TIMEOUT_S = float(os.environ.get("INTEROP_TIMEOUT_S", "20"))
NO_ROUTE_PREFIX = "No route info of this topic: "
TOPIC_NOT_EXIST = 17
ADDR_RE = re.compile(r"^127\.0\.0\.1:\d{1,5}$")
# Debug line the C++ client writes for every decoded response frame, e.g.
# "(debug):code:17, remark:, version:0, opaque:0, flag:1, remark:No topic route ..., headLen:106, bodyLen:0 [Decode:177]"
# The remark is printed raw, so a multi-line remark (RocketMQ's TOPIC_NOT_EXIST remark ends
# with "\nSee <FAQ URL> ...") pushes "[Decode:...]" onto a later line: match the prefix only.
DECODE_RE = re.compile(r"\(debug\):code:(-?\d+), remark:.*?, version:-?\d+, opaque:(-?\d+), flag:(\d+),")
# Log lines that mean the no-route error is really a transport or parse failure.
FAILURE_MARKERS = [
    ("can not connect to server", "connection to the name server failed"),
    ("waitResponse of code", "name server response timed out"),
    ("wait response timeout", "name server response timed out"),
    ("parse json error", "route body could not be parsed"),
    ("go to fault state", "name server transport in fault state"),
]


def emit(kind, text):
    text = " ".join(str(text).split())
    sys.stdout.write("RESULT %s: %s\n" % (kind, text))
    sys.stdout.flush()
    return 0 if kind == "no-route" else 1


# --------------------------------------------------------------------------- child side
def child(addr, topic):
    """Runs the client; prints one JSON line with the outcome, then shuts the producer down."""
    out = {"stage": "import"}
    try:
        from rocketmq.client import Message, Producer
        from rocketmq.ffi import _CLogLevel, dll

        out["stage"] = "start"
        producer = Producer("PG_interop_py_%d" % os.getpid())
        producer.set_namesrv_addr(addr)
        # Debug level makes the library log every decoded response (code, opaque, remark).
        dll.SetProducerLogLevel(producer._handle, _CLogLevel.DEBUG)
        producer.start()
    except Exception as e:  # noqa: BLE001 - report anything
        out.update(ok=False, exc_type=type(e).__name__, error=str(e))
        print(json.dumps(out), flush=True)
        return 0
    out["stage"] = "send"
    try:
        msg = Message(topic)
        msg.set_tags("TagInterop")
        msg.set_keys("interop-no-route")
        msg.set_body("ferrocket interop no-route probe")
        res = producer.send_sync(msg)
        out.update(ok=True, result="status=%s msg_id=%s offset=%s" % (res.status, res.msg_id, res.offset))
    except Exception as e:  # noqa: BLE001
        out.update(ok=False, exc_type=type(e).__name__, error=str(e))
    print(json.dumps(out), flush=True)
    try:
        producer.shutdown()
    except Exception as e:  # noqa: BLE001
        sys.stderr.write("[rocketmq_no_route] shutdown failed: %s\n" % e)
    sys.stderr.flush()
    # Skip interpreter teardown: Producer.__del__ would shut the C++ client down a second time.
    os._exit(0)


# --------------------------------------------------------------------------- parent side
def read_client_logs(home):
    lines = []
    for path in sorted(glob.glob(os.path.join(home, "logs", "rocketmq-cpp", "*"))):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                lines.extend(f.read().splitlines())
        except OSError:
            pass
    return lines


def judge_from_log(lines):
    """Returns None when the log proves a clean TOPIC_NOT_EXIST answer, else a reason string."""
    for line in lines:
        for marker, reason in FAILURE_MARKERS:
            if marker in line:
                return "%s (client log: %s)" % (reason, line.strip()[:300])
    codes = [int(m.group(1)) for m in (DECODE_RE.search(l) for l in lines) if m and m.group(3) == "1"]
    if not codes:
        return "no name server response found in the client log"
    if TOPIC_NOT_EXIST not in codes:
        return "name server never answered TOPIC_NOT_EXIST (response codes seen: %s)" % sorted(set(codes))
    sys.stderr.write("[rocketmq_no_route] name server response codes: %s\n" % codes)
    return None


def parent(addr, topic):
    home = tempfile.mkdtemp(prefix="ferrocket-interop-rocketmq-")
    keep = os.environ.get("INTEROP_KEEP_LOGS") == "1"
    env = dict(os.environ, HOME=home)
    try:
        proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--child", addr, topic],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=home,
            start_new_session=True, text=True)
        timed_out = False
        try:
            out, err = proc.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            timed_out = True
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the child leads its own session
            except ProcessLookupError:
                pass
            out, err = proc.communicate()
        if err:
            sys.stderr.write(err)
        report = None
        for line in out.splitlines():
            if line.startswith("{"):
                try:
                    report = json.loads(line)
                except ValueError:
                    pass
        if report is None:
            if timed_out:
                return emit("other", "timeout: no answer from the rocketmq client within %gs" % TIMEOUT_S)
            return emit("other", "client process died (exit %s) without a result: %s"
                        % (proc.returncode, (err or "").strip()[-300:]))
        if report.get("ok"):
            return emit("other", "unexpected success: %s" % report.get("result"))
        error = report.get("error") or ""
        exc_type = report.get("exc_type")
        if report.get("stage") != "send" or exc_type != "ProducerSendSyncFailed" \
                or not error.startswith(NO_ROUTE_PREFIX + topic):
            return emit("other", "%s at %s: %s" % (exc_type, report.get("stage"), error))
        reason = judge_from_log(read_client_logs(home))
        if reason is not None:
            return emit("other", "%s; but %s" % (error, reason))
        return emit("no-route", error)
    finally:
        if keep:
            sys.stderr.write("[rocketmq_no_route] client logs kept in %s\n" % home)
        else:
            shutil.rmtree(home, ignore_errors=True)


def main(argv):
    if len(argv) == 4 and argv[1] == "--child":
        return child(argv[2], argv[3])
    if len(argv) != 3:
        return emit("other", "usage: rocketmq_no_route.py NAMESRV_ADDR TOPIC")
    addr, topic = argv[1], argv[2]
    if not ADDR_RE.match(addr):
        return emit("other", "refusing non-loopback name server address %r (want 127.0.0.1:PORT)" % addr)
    return parent(addr, topic)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
