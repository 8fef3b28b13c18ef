#!/usr/bin/python3
"""echo_server and echo_client as a user runs them: bad flags, bad addresses, a port in
use and an unknown back end give a one-line error and exit code 2; the client verifies
echoes and fails (exit 1) on a dead server, a duplicated echo or a server that does not
close; SIGTERM stops the server with a summary."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time

SERVER, CLIENT = sys.argv[1], sys.argv[2]
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what)


def run(*args, timeout=20):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)


def expect_usage_error(args, needle, timeout=20):
    try:
        p = run(*args, timeout=timeout)
    except subprocess.TimeoutExpired:
        check(False, f"{args}: still running after {timeout} s, want exit 2 at once")
        return
    check(p.returncode == 2, f"{args}: exit {p.returncode}, want 2 (stderr: {p.stderr!r})")
    check(needle in p.stderr, f"{args}: stderr {p.stderr!r} lacks {needle!r}")
    check(len(p.stderr.splitlines()) == 1, f"{args}: stderr {p.stderr!r} is not one line")
    check("Traceback" not in p.stderr and "terminate" not in p.stderr, f"{args}: crashed")


def start_server(*extra):
    proc = subprocess.Popen([SERVER, "--listen=127.0.0.1:0", *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    check(line.startswith("listening on 127.0.0.1:"), f"server banner {line!r}")
    port = int(line.split()[2].rsplit(":", 1)[1])
    return proc, port


def stop_server(proc):
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    check(proc.returncode == 0, f"server exit {proc.returncode} after SIGTERM: {err!r}")
    return out


# Bad usage, every tool: exit 2 and a message.
expect_usage_error([SERVER, "--no-such-flag"], "--no-such-flag")
expect_usage_error([SERVER, "--listen=1.2.3:80"], "bad address '1.2.3:80'")
expect_usage_error([SERVER, "--listen=:99999"], "port must be a number from 0 to 65535")
expect_usage_error([SERVER, "--listen="], "--listen")
expect_usage_error([SERVER, "--backend=nosuch"], "unknown back end 'nosuch'")
expect_usage_error([SERVER, "--threads=-3"], "--threads")
expect_usage_error([CLIENT, "--count=0"], "--count")
# Negative values of unsigned flags: CLI11 would wrap "-1" in a size_t to 2^64 - 1 ("no
# cap"), and the server would start. Refused before any back end starts, whichever it is.
for backend in ["blocking", "epoll", "uring"]:
    expect_usage_error([SERVER, "--listen=127.0.0.1:0", f"--backend={backend}",
                        "--max-connections=-1"], "--max-connections", timeout=5)
for flag in ["--buffer-size", "--threads", "--backlog"]:
    expect_usage_error([SERVER, "--listen=127.0.0.1:0", f"{flag}=-1"], flag, timeout=5)
for flag in ["--seed", "--size", "--chunk", "--count"]:
    expect_usage_error([CLIENT, "--connect=127.0.0.1:1", f"{flag}=-1"], flag, timeout=5)
expect_usage_error([CLIENT, "--connect=nohost"], "missing port")
expect_usage_error([CLIENT, "--frobnicate"], "--frobnicate")
# Timeouts that would become 0 ms, NaN or an overflowing integer of milliseconds.
for bad in ["nan", "inf", "0", "-1", "0.0001", "1e300", "1000001"]:
    expect_usage_error([CLIENT, "--connect=127.0.0.1:1", f"--timeout={bad}"], "--timeout")

# --list-backends names every back end with its availability.
p = run(SERVER, "--list-backends")
check(p.returncode == 0 and "blocking" in p.stdout and "available" in p.stdout,
      f"--list-backends: {p.stdout!r}")

# A port in use: exit 2, a one-line error naming the address.
holder = socket.socket()
holder.bind(("127.0.0.1", 0))
holder.listen(1)
taken = holder.getsockname()[1]
expect_usage_error([SERVER, f"--listen=127.0.0.1:{taken}"], "Address already in use")
holder.close()

# The client against our server: verified echoes, random payloads, several round trips.
proc, port = start_server("--backend=blocking")
p = run(CLIENT, f"--connect=127.0.0.1:{port}")
check(p.returncode == 0, f"client exit {p.returncode}: {p.stderr!r}")
check("received b'This is the mess'" in p.stdout, f"client output {p.stdout!r}")
p = run(CLIENT, f"--connect=127.0.0.1:{port}", "--size=1000000", "--count=5", "-q")
check(p.returncode == 0 and "5 round trips of 1000000 bytes verified" in p.stdout,
      f"client --size: {p.returncode} {p.stdout!r} {p.stderr!r}")
p = run(CLIENT, f"--connect=127.0.0.1:{port}", "--message=it's \"quoted\"\n\x01")
check(p.returncode == 0 and "sending b'it\\'s \"quoted\"\\n\\x01'" in p.stdout,
      f"python-style repr: {p.stdout!r}")
summary = stop_server(proc)
check("stopped by SIGTERM: 3 connections" in summary, f"server summary {summary!r}")

# A server that closes without echoing: the client says so and exits 1.
mute = socket.socket()
mute.bind(("127.0.0.1", 0))
mute.listen(1)
mute_port = mute.getsockname()[1]
client = subprocess.Popen([CLIENT, f"--connect=127.0.0.1:{mute_port}", "--timeout=5"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
conn, _ = mute.accept()
conn.recv(100)
conn.close()
out, err = client.communicate(timeout=10)
check(client.returncode == 1 and "closed the connection" in err,
      f"client vs closing server: {client.returncode} {err!r}")
mute.close()

# A server that never answers: the client times out and exits 1.
silent = socket.socket()
silent.bind(("127.0.0.1", 0))
silent.listen(1)
p = run(CLIENT, f"--connect=127.0.0.1:{silent.getsockname()[1]}", "--timeout=0.5")
check(p.returncode == 1 and "timed out" in p.stderr, f"client vs silent server: {p.stderr!r}")
silent.close()

# Nobody listening: exit 1 with the reason, also at either end of the --timeout range (1 ms
# is time enough to be refused, not a timeout).
for timeout in ["5", "0.001", "1e6"]:
    p = run(CLIENT, f"--connect=127.0.0.1:{mute_port}", f"--timeout={timeout}")
    check(p.returncode == 1 and "Connection refused" in p.stderr,
          f"refused, --timeout={timeout}: {p.stderr!r}")


def serve_one(handler):
    """Serves one connection with handler(conn) on a thread; returns the port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(20)

    def run_handler():
        with listener:
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(20)
                try:
                    handler(conn)
                except OSError:
                    pass  # the client gave up first: its exit and message are what we check

    threading.Thread(target=run_handler, daemon=True).start()
    return listener.getsockname()[1]


def recv_exactly(conn, size):
    data = b""
    while len(data) < size:
        got = conn.recv(size - len(data))
        if not got:
            return None
        data += got
    return data


def echo_twice(size):
    """Echoes each `size`-byte message, then a copy of it a moment later (apart from the
    echo, as in the reported bug, where it passed for the next round's echo), and closes
    at the client's EOF."""
    def handler(conn):
        while (data := recv_exactly(conn, size)) is not None:
            conn.sendall(data)
            time.sleep(0.05)
            conn.sendall(data)
    return handler


# A server that sends every echo twice: the copies are left over after the last round.
port = serve_one(echo_twice(42))
p = run(CLIENT, f"--connect=127.0.0.1:{port}", "--count=3", "-q")
check(p.returncode == 1 and "126 unexpected bytes after the last echo" in p.stderr
      and "verified" not in p.stdout, f"client vs doubling server: {p.returncode} "
      f"{p.stdout!r} {p.stderr!r}")

# With --size every round sends new bytes, so the copy fails the very next round.
port = serve_one(echo_twice(1000))
p = run(CLIENT, f"--connect=127.0.0.1:{port}", "--size=1000", "--count=3", "-q")
check(p.returncode == 1 and "echo mismatch at byte 0" in p.stderr,
      f"client --size vs doubling server: {p.returncode} {p.stdout!r} {p.stderr!r}")


# One byte more than the echo, in the same send: named, and printed as received.
def echo_plus_one(conn):
    conn.sendall(recv_exactly(conn, 42) + b"!")
    recv_exactly(conn, 1)  # the client's EOF


port = serve_one(echo_plus_one)
p = run(CLIENT, f"--connect=127.0.0.1:{port}")
check(p.returncode == 1 and "1 unexpected byte after the last echo" in p.stderr
      and "received b'!'" in p.stdout,
      f"client vs echo plus one: {p.returncode} {p.stdout!r} {p.stderr!r}")


# A server that echoes but does not close at the client's EOF: a timeout, exit 1.
def echo_then_hold(conn):
    conn.sendall(recv_exactly(conn, 42))
    recv_exactly(conn, 1)  # the client's EOF
    time.sleep(3)


port = serve_one(echo_then_hold)
p = run(CLIENT, f"--connect=127.0.0.1:{port}", "--timeout=0.5", "-q")
check(p.returncode == 1 and "timed out waiting for the server to close" in p.stderr,
      f"client vs server that holds: {p.returncode} {p.stdout!r} {p.stderr!r}")


# A server that trickles the echo back one byte every 1.5 s (9 s for 6 bytes): --timeout
# bounds the whole echo, so the client gives up after about 2 s, not after 9 (a timeout
# restarted by every recv never fires). The bound below is generous on purpose.
trickle_done = threading.Event()
trickle = socket.socket()
trickle.bind(("127.0.0.1", 0))
trickle.listen(1)
trickle.settimeout(20)


def trickle_echo():
    with trickle:
        try:
            conn, _ = trickle.accept()
        except OSError:
            return
        with conn:
            try:
                data = recv_exactly(conn, 6)
                for i in range(len(data or b"")):
                    if trickle_done.wait(1.5):
                        return  # the client has finished: stop at once
                    conn.sendall(data[i:i + 1])
                recv_exactly(conn, 1)  # the client's EOF
            except OSError:
                pass  # the client gave up first


trickle_thread = threading.Thread(target=trickle_echo, daemon=True)
trickle_thread.start()
start = time.monotonic()
p = run(CLIENT, f"--connect=127.0.0.1:{trickle.getsockname()[1]}", "--message=abcdef",
        "--timeout=2")
elapsed = time.monotonic() - start
trickle_done.set()
trickle_thread.join(timeout=10)
check(p.returncode == 1 and "timed out" in p.stderr and "of 6 bytes echoed" in p.stderr,
      f"client vs trickling server: {p.returncode} {p.stdout!r} {p.stderr!r}")
check(elapsed < 6, f"client vs trickling server: took {elapsed:.1f} s, want about 2")
check(not trickle_thread.is_alive(), "trickling server still running")

print(f"{len(failures)} failures")
sys.exit(1 if failures else 0)
