#!/usr/bin/python3
"""The seed's own Python programs (shared/seed/socket-tutorial.md, sections 3 and 4), run
unchanged against ours: its echo client against echo_server, our echo_client against its
echo server. Both use localhost:10000, as the seed hard-codes it."""

import re
import socket
import subprocess
import sys
import time

SERVER, CLIENT, SEED = sys.argv[1], sys.argv[2], sys.argv[3]
PYTHON = "/usr/bin/python3"


def skip(why):
    print("SKIP:", why)
    sys.exit(77)


try:
    text = open(SEED, encoding="utf-8").read()
except OSError as e:
    skip(f"seed tutorial not found at {SEED}: {e}")

# The section's first ```python block is the program, the next plain block its output.
def section(title_marker):
    body = text[text.index(title_marker):]
    program = re.search(r"```python\n(.*?)```", body, re.S).group(1)
    return program, body


server_program, _ = section("#### 3.")
client_program, client_body = section("#### 4.")
expected_client = re.search(r"客户端：\s*```w?\n(.*?)```", client_body, re.S).group(1).splitlines()


def port_free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


if not port_free(10000):
    skip("port 10000 (hard-coded in the seed) is in use on this machine")

failures = []

# 1. The seed's client against our server.
server = subprocess.Popen([SERVER, "--backend=blocking", "--listen=localhost:10000"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
try:
    banner = server.stdout.readline()
    if not banner.startswith("listening on 127.0.0.1:10000"):
        failures.append(f"echo_server banner: {banner!r} {server.stderr.read()!r}")
    else:
        seed = subprocess.run([PYTHON, "-c", client_program], capture_output=True, text=True,
                              timeout=20)
        if seed.returncode != 0 or seed.stdout.splitlines() != expected_client:
            failures.append(f"seed client vs echo_server: exit {seed.returncode}\n"
                            f"got:  {seed.stdout.splitlines()}\nwant: {expected_client}\n"
                            f"stderr: {seed.stderr}")
        else:
            print("ok: the seed's client against echo_server printed:", *seed.stdout.splitlines(),
                  sep="\n  ")
finally:
    server.terminate()
    server.wait(timeout=10)

# 2. Our client against the seed's server (which serves forever: we end it by PID).
seed_server = subprocess.Popen([PYTHON, "-u", "-c", server_program], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
try:
    first = seed_server.stdout.readline()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # bound: the seed prints before it binds
        try:
            socket.create_connection(("127.0.0.1", 10000), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    ours = subprocess.run([CLIENT], capture_output=True, text=True, timeout=20)
    if ours.returncode != 0 or ours.stdout.splitlines() != expected_client:
        failures.append(f"echo_client vs seed server: exit {ours.returncode}\n"
                        f"got:  {ours.stdout.splitlines()}\nwant: {expected_client}\n"
                        f"stderr: {ours.stderr}")
    else:
        print("ok: echo_client against the seed's server printed:", *ours.stdout.splitlines(),
              sep="\n  ")
finally:
    seed_server.kill()
    seed_server.wait(timeout=10)

for f in failures:
    print("FAIL:", f)
print(f"{len(failures)} failures")
sys.exit(1 if failures else 0)
