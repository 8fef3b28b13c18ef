#!/usr/bin/python3
"""bench_resolve --json stays valid JSON (and valid UTF-8) whatever its names file is
called: a quote, a backslash and a byte that is not UTF-8 in the path. Resolves only the
numeric 127.0.0.1 through getaddrinfo (no DNS query leaves the process), so it needs no
sandbox."""

import json
import os
import subprocess
import sys
import tempfile

BENCH = sys.argv[1]
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what)


with tempfile.TemporaryDirectory() as tmp:
    names = os.path.join(os.fsencode(tmp), b'na"me\\s\xff.txt')
    with open(names, "wb") as f:
        f.write(b"127.0.0.1\n" * 3)
    out = os.path.join(tmp, "out.json")
    env = {k: v for k, v in os.environ.items() if not k.startswith("UB_DNS_SANDBOX")}
    p = subprocess.run([os.fsencode(BENCH), b"--names-file=" + names, b"--modes=gai-pool",
                        b"--threads=1", b"--repetitions=1", b"--json=" + os.fsencode(out)],
                       capture_output=True, env=env, timeout=60)
    check(p.returncode == 0, f"exit {p.returncode}; stderr {p.stderr!r}")
    doc = None
    try:
        raw = open(out, "rb").read()
        doc = json.loads(raw.decode("utf-8"))  # strict: every byte valid UTF-8
    except (OSError, ValueError) as e:
        check(False, f"--json output is not valid UTF-8 JSON: {e}")
    if doc is not None:
        context = doc.get("context", {})
        written = context.get("names_file", "")
        check(written.endswith('na"me\\s\ufffd.txt'),
              f"names_file {written!r}: quote and backslash kept, the bad byte as U+FFFD")
        check(context.get("benchmark") == "bench_resolve", f"context {context}")
        for key in ["executable", "num_cpus", "git_revision", "build_type", "kernel"]:
            check(key in context, f"context lacks {key}")
        runs = doc.get("benchmarks", [])
        check([b.get("name") for b in runs] == ["resolve/gai-pool/threads:1"], f"runs {runs}")
        check(runs and runs[0].get("iterations") == 3 and runs[0].get("errors") == 0,
              f"run {runs}")

print(f"{len(failures)} failures")
sys.exit(1 if failures else 0)
