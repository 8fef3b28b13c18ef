"""What the scripts' tests share: a check that records a failure instead of stopping, and
running a script from scripts/ as a user would (no __pycache__ left in the sources)."""

import os
import subprocess

failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what)
    return condition


def run_script(scripts_dir, script, *args):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    p = subprocess.run([os.path.join(scripts_dir, script), *args], capture_output=True,
                       text=True, timeout=120, env=env)
    print(f"$ {script} {' '.join(args)} -> exit {p.returncode}")
    return p
