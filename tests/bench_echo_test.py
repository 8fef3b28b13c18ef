#!/usr/bin/python3
"""bench_echo as a user runs it: bad flag values are usage errors (exit 2); a tiny run of
every back end is error-free and writes valid Google Benchmark JSON that Debian's
compare.py reads and .hgrm files; open loop reports corrected percentiles; and a server
that corrupts echoes, stalls in stream mode or sends more after the last reply makes
bench_echo count the errors, say so loudly and exit non-zero."""

import glob
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time

BENCH = sys.argv[1]
COMPARE = "/usr/share/benchmark/compare.py"
# ".1" (no unit, no leading 0) must still make valid JSON: the context quotes it.
TINY = ["--clients=4", "--duration=0.2s", "--warmup=.1"]
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what)


def run(*args, timeout=120):
    return subprocess.run([BENCH, *args], capture_output=True, text=True, timeout=timeout)


# Bad flag values: exit 2 with a message naming the problem.
for args, needle in [(["--clients=abc"], "--clients"),
                     (["--backend=kqueue"], "unknown back end 'kqueue'"),
                     (["--duration=soon"], "--duration"),
                     (["--size=0"], "--size"),
                     (["--mode=open"], "--rate"),
                     (["--client-cpus=99"], "--client-cpus"),
                     (["--connect=1.2.3:4"], "--connect"),
                     (["--client-engine=kqueue"], "--client-engine"),
                     (["--repetitions=0"], "--repetitions"),
                     (["--cpu-dma-latency-us=-1"], "--cpu-dma-latency-us"),
                     (["--rate=3e9", "--clients=1"], "--rate"),  # under 1 ns per send
                     (["--rate=nan"], "--rate"),
                     (["--mode=stream", "--rate=5"], "--rate"),
                     (["--pipeline=4096", "--size=67108864"], "--pipeline x --size"),
                     (["--clients=100000", "--size=65536"], "--clients x --pipeline x --size"),
                     (["--duration=10us"], "--duration")]:
    p = run(*args)
    check(p.returncode == 2, f"{args}: exit {p.returncode}, want 2; stderr {p.stderr!r}")
    check(needle in p.stderr, f"{args}: stderr {p.stderr!r} lacks {needle!r}")

# Refused before any work starts (the default 5 s window never opens), in one short line.
for args, needle in [(["--json=/nonexistent/dir/x.json"], "--json"),
                     (["--hgrm=/nonexistent/dir/x"], "--hgrm"),
                     (["--hgrm=/nonexistent/dir/x", "--clients=1,2"], "--hgrm"),
                     (["--reply-timeout=0"], "--reply-timeout"),
                     (["--reply-timeout=0s"], "--reply-timeout"),
                     (["--reply-timeout=-1s"], "--reply-timeout"),
                     (["--rate=-1"], "--rate"),
                     (["--rate=-inf"], "--rate"),
                     (["--rate=inf"], "--rate"),
                     (["--rate=1e300"], "--rate")]:
    began = time.monotonic()
    p = run("--backend=all", *args)
    took = time.monotonic() - began
    check(p.returncode == 2, f"{args}: exit {p.returncode}, want 2; stderr {p.stderr!r}")
    check(needle in p.stderr, f"{args}: stderr {p.stderr!r} lacks {needle!r}")
    lines = p.stderr.strip().splitlines()
    check(len(lines) == 1 and len(lines[0]) < 160, f"{args}: not one short line: {p.stderr!r}")
    check(took < 3, f"{args}: refused after {took:.1f} s, not before the run")
for args in [["--rate=-1"], ["--rate=inf"]]:
    p = run(*args)
    check("from 0 to" in p.stderr, f"{args}: the allowed range is not said: {p.stderr!r}")

# An existing results file keeps its contents when the run is refused.
with tempfile.TemporaryDirectory() as tmp:
    kept = os.path.join(tmp, "kept.json")
    with open(kept, "w") as f:
        f.write("earlier results\n")
    p = run(f"--json={kept}", "--hgrm=/nonexistent/dir/x")
    check(p.returncode == 2, f"--json=existing --hgrm=bad: exit {p.returncode}, want 2")
    check(open(kept).read() == "earlier results\n", "an existing --json file was clobbered")
    check(os.listdir(tmp) == ["kept.json"], f"probe files left behind: {os.listdir(tmp)}")

with tempfile.TemporaryDirectory() as tmp:
    # Every available back end, one run each, JSON and histograms written.
    first = os.path.join(tmp, "first.json")
    p = run("--backend=all", *TINY, f"--json={first}", f"--hgrm={tmp}/rtt.hgrm")
    check(p.returncode == 0, f"--backend=all: exit {p.returncode}; {p.stderr}")
    print(p.stdout)
    listed = subprocess.run([os.path.join(os.path.dirname(BENCH), "..", "cmd", "echo_server"),
                             "--list-backends"], capture_output=True, text=True).stdout
    available = [l.split()[0] for l in listed.splitlines() if l.split()[1:2] == ["available"]]
    check(len(available) >= 2, f"expected several available back ends: {listed!r}")
    try:
        doc = json.load(open(first))
    except (OSError, ValueError) as e:
        doc = {"context": {}, "benchmarks": []}
        check(False, f"JSON output unreadable: {e}")
    names = [b["name"] for b in doc["benchmarks"]]
    check(names == [f"echo/{b}/clients:4/size:64" for b in available], f"names {names}")
    for key in ["kernel", "cpu_model", "num_cpus", "git_revision", "build_type", "load_model",
                "server_cpus", "client_cpus", "client_engine", "liburing_version"]:
        check(key in doc["context"], f"context lacks {key}")
    for b in doc["benchmarks"]:
        check(b["errors"] == 0 and b["iterations"] > 0, f"{b['name']}: {b['errors']} errors, "
              f"{b['iterations']} round trips")
        for counter in ["rt_per_s", "p50_us", "p99_us", "p99.99_us", "max_us",
                        "server_cpu_us_per_echo", "client_cpu_us_per_rt"]:
            check(counter in b, f"{b['name']} lacks {counter}")
        # A handful of threads cannot inflate the kernel's CPU clocks: the thread clocks are
        # kept, and are within what the server's CPUs could give.
        check(b.get("server_cpu_source") == "thread cpu clocks",
              f"{b['name']}: server_cpu_source {b.get('server_cpu_source')!r}")
        hgrm = os.path.join(tmp, f"rtt.{b['backend']}.c4.s64.r1.hgrm")
        check(os.path.exists(hgrm) and "Percentile" in open(hgrm).read(), f"no {hgrm}")

    check(doc["context"].get("cpu_idle") == "default idle states",
          f"context cpu_idle {doc['context'].get('cpu_idle')!r}, want the default")

    # --cpu-dma-latency-us=0: the PM QoS request is held during the run (idle CPUs enter
    # the POLL state, which they never do otherwise here) and recorded in the context.
    if os.access("/dev/cpu_dma_latency", os.W_OK):
        def idle_entries():
            """(entries into the POLL state, entries into any deeper state), all CPUs."""
            poll = deeper = 0
            for cpu in range(os.cpu_count()):
                for state in glob.glob(f"/sys/devices/system/cpu/cpu{cpu}/cpuidle/state*"):
                    n = int(open(os.path.join(state, "usage")).read())
                    if state.endswith("state0"):
                        poll += n
                    else:
                        deeper += n
            return poll, deeper
        before = idle_entries()
        polled = os.path.join(tmp, "polled.json")
        p = run("--backend=epoll", *TINY, "--cpu-dma-latency-us=0", f"--json={polled}")
        check(p.returncode == 0, f"--cpu-dma-latency-us=0: exit {p.returncode}; {p.stderr}")
        check("idle CPUs poll" in p.stdout, f"--cpu-dma-latency-us=0 not announced: {p.stdout}")
        if p.returncode == 0:
            idle = json.load(open(polled))["context"].get("cpu_idle", "")
            check("idle CPUs poll" in idle, f"context cpu_idle {idle!r}")
        if os.path.exists("/sys/devices/system/cpu/cpu0/cpuidle/state0/usage"):
            after = idle_entries()
            if after == before:
                # Other tests kept every CPU busy for the whole run: no idle entry to judge.
                print("note: no CPU went idle during the --cpu-dma-latency-us=0 run")
            else:
                check(after[0] > before[0], "CPUs went idle during the run, none into the POLL "
                      f"state (POLL entries {before[0]} -> {after[0]}, deeper {before[1]} -> "
                      f"{after[1]})")
    else:
        print("skipped --cpu-dma-latency-us=0: /dev/cpu_dma_latency is not writable here")

    # compare.py (Debian's libbenchmark-tools) diffs two runs.
    second = os.path.join(tmp, "second.json")
    p = run("--backend=all", *TINY, f"--json={second}")
    check(p.returncode == 0, f"second run: {p.stderr}")
    if os.path.exists(COMPARE):
        c = subprocess.run(["/usr/bin/python3", COMPARE, "benchmarks", first, second],
                           capture_output=True, text=True, timeout=120)
        check(c.returncode == 0 and "echo/" in c.stdout, f"compare.py: {c.stdout} {c.stderr}")
    else:
        check(False, f"{COMPARE} missing: scripts/bootstrap installs libbenchmark-tools")

    # Open loop: corrected (from the scheduled send) and uncorrected percentiles.
    openj = os.path.join(tmp, "open.json")
    p = run("--backend=epoll", "--rate=2000", *TINY, f"--json={openj}")
    check(p.returncode == 0 and "corrected" in p.stdout, f"open loop: {p.stdout} {p.stderr}")
    if p.returncode == 0:
        b = json.load(open(openj))["benchmarks"][0]
        check("corrected_p99_us" in b and b["load_model"] == "open", f"open loop JSON {b}")

    # Stream mode and several client threads with the epoll client engine.
    p = run("--backend=epoll", "--mode=stream", "--size=16384", "--client-threads=2",
            "--client-engine=epoll", *TINY)
    check(p.returncode == 0, f"stream: {p.stderr}")

    # More client threads than connections: one thread runs, and the busy share is its own.
    onej = os.path.join(tmp, "one.json")
    p = run("--backend=epoll", "--clients=1", "--client-threads=2", "--duration=0.2s",
            "--warmup=.1", f"--json={onej}")
    check(p.returncode == 0, f"--client-threads=2 --clients=1: {p.stderr}")
    if p.returncode == 0:
        b = json.load(open(onej))["benchmarks"][0]
        check(b["threads"] == 1, f"--client-threads=2 --clients=1 ran {b['threads']} threads")

# A server that never answers (a listener nobody accepts from: the kernel completes the
# handshakes): a run that measured nothing must say so and fail, not print zeros.
silent = socket.socket()
silent.bind(("127.0.0.1", 0))
silent.listen(8)
p = run(f"--connect=127.0.0.1:{silent.getsockname()[1]}", "--clients=1", "--duration=0.2s",
        "--warmup=0s", "--reply-timeout=0.3s", "--no-pin")
silent.close()
check(p.returncode == 1, f"silent server: exit {p.returncode}, want 1")
check("MEASURED NO ROUND TRIP" in p.stderr, f"silent server: stderr {p.stderr!r}")

def fault_server(handler):
    """A listener on 127.0.0.1 running handler(conn, stop) per connection in a thread.
    Returns (port, stop): set stop to end it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    stop = threading.Event()

    def accept_loop():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                continue
            threading.Thread(target=handler, args=(conn, stop), daemon=True).start()
        listener.close()

    threading.Thread(target=accept_loop, daemon=True).start()
    return listener.getsockname()[1], stop


def readable(conn, seconds):
    return bool(select.select([conn], [], [], seconds)[0])


def received(conn, stop):
    """Yields what conn receives until stop is set or the peer's EOF, which comes last as
    b""."""
    while not stop.is_set():
        if not readable(conn, 0.2):
            continue
        data = conn.recv(65536)
        yield data
        if not data:
            return


# A server that corrupts one echoed byte in 10,000: bench_echo must notice and fail.
def corrupting_echo(conn, stop):
    echoed = 0
    conn.settimeout(0.2)
    while not stop.is_set():
        try:
            data = bytearray(conn.recv(65536))
        except socket.timeout:
            continue
        except OSError:
            break
        if not data:
            break
        for i in range(len(data)):
            if (echoed + i) % 10000 == 9999:
                data[i] ^= 0x01
        echoed += len(data)
        try:
            conn.sendall(data)
        except OSError:
            break
    conn.close()


port, stop = fault_server(corrupting_echo)
p = run(f"--connect=127.0.0.1:{port}", "--clients=2", "--duration=0.5s", "--warmup=0.1s",
        "--no-pin")
stop.set()
check(p.returncode == 1, f"corrupting server: exit {p.returncode}, want 1")
check("ERRORS" in p.stderr and "mismatch" in p.stderr and "differs" in p.stderr,
      f"corrupting server: stderr {p.stderr!r}")


# Servers that misbehave only where a run used not to look: in stream mode once the echo
# stops partway or at the very end, and after the last reply. Blocking sends: the client
# reads until it closes, and then a send fails.
def stalling_echo(conn, stop):
    """Echoes the first 1 MiB, then reads on and echoes nothing."""
    left = 1 << 20
    try:
        for data in received(conn, stop):
            if data and left > 0:
                conn.sendall(data[:left])
                left -= min(left, len(data))
    except OSError:
        pass
    conn.close()


def tail_corrupting_echo(conn, stop):
    """Echoes each chunk once the next arrives; after 50 ms without input, the held chunk
    with its last byte flipped: only the end of a run, once the client stops, goes bad."""
    held = b""
    try:
        while not stop.is_set():
            if not readable(conn, 0.05):
                if held:
                    conn.sendall(held[:-1] + bytes([held[-1] ^ 1]))
                    held = b""
                continue
            data = conn.recv(65536)
            if not data:
                break
            conn.sendall(held)
            held = data
    except OSError:
        pass
    conn.close()


def resending_echo(conn, stop):
    """Echoes faithfully, but 100 ms after its input stops (idle, or at EOF) sends its last
    echo again, once, and closes a half-closed connection only after that."""
    last = b""
    try:
        while not stop.is_set():
            data = conn.recv(65536) if readable(conn, 0.1) else None
            if data:
                conn.sendall(data)
                last = data
                continue
            if data == b"":
                time.sleep(0.1)
            if last:
                conn.sendall(last)
                last = b""
            if data == b"":
                break
    except OSError:
        pass
    conn.close()


def lingering_echo(conn, stop):
    """Echoes faithfully but never closes a half-closed connection (TCP allows it)."""
    try:
        for data in received(conn, stop):
            if data:
                conn.sendall(data)
            else:
                stop.wait(30)
    except OSError:
        pass
    conn.close()


STREAM = ["--mode=stream", "--size=16384"]
for engine in ["epoll", "uring"]:
    for handler, args, want, needles in [
            (stalling_echo, STREAM + ["--reply-timeout=0.3s"], 1, ["late", "bytes unechoed"]),
            (tail_corrupting_echo, STREAM, 1, ["mismatch", "differs"]),
            (resending_echo, [], 1, ["mismatch", "differs"]),
            (lingering_echo, [], 0, [])]:
        what = f"{handler.__name__}, --client-engine={engine}"
        port, stop = fault_server(handler)
        began = time.monotonic()
        p = run(f"--connect=127.0.0.1:{port}", "--clients=2", "--duration=0.3s", "--warmup=0s",
                "--no-pin", f"--client-engine={engine}", *args)
        took = time.monotonic() - began
        stop.set()
        if engine == "uring" and p.returncode == 2 and "unavailable" in p.stderr:
            print(f"skipped {what}: {p.stderr.strip()}")
            break
        check(p.returncode == want, f"{what}: exit {p.returncode}, want {want}; {p.stderr!r}")
        for needle in needles:
            check(needle in p.stderr, f"{what}: stderr {p.stderr!r} lacks {needle!r}")
        # Waiting for the server's EOF is bounded well below --reply-timeout's 5 s.
        check(took < 4, f"{what}: took {took:.1f} s")

print(f"{len(failures)} failures")
sys.exit(1 if failures else 0)
