#!/usr/bin/python3
"""scripts/plot, compare, report and sweep as a user runs them, on the small result folders
in tests/fixtures: every chart is written as a PNG that decodes, is not blank and shows
the data (the back ends' colours are on it) and as an SVG that parses; compare prints its
table and compare.py's statistics; the report links only images that exist; nothing is
written into the fixtures; and a malformed result file (truncated JSON, a counter that is
not a number, a broken .hgrm, an empty folder) makes each script exit non-zero with one
line naming the file, not a traceback.

usage: plot_scripts_test.py SCRIPTS_DIR FIXTURES_DIR"""

import os
import re
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import numpy  # noqa: E402

SCRIPTS, FIXTURES = sys.argv[1], sys.argv[2]
A, B = os.path.join(FIXTURES, "results-a"), os.path.join(FIXTURES, "results-b")
COMPARE_PY = "/usr/share/benchmark/compare.py"
# matplotlib's default cycle: the first back end drawn is tab:blue, the second tab:orange.
BLUE, ORANGE = (0x1f, 0x77, 0xb4), (0xff, 0x7f, 0x0e)
sys.dont_write_bytecode = True  # no __pycache__ in the sources
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from script_checks import check, failures, run_script  # noqa: E402


def run(script, *args):
    return run_script(SCRIPTS, script, *args)


def colour_pixels(image, rgb):
    """How many pixels are (nearly) this colour: lines and markers, not just text."""
    rgb = numpy.array(rgb) / 255.0
    return int((numpy.abs(image[:, :, :3] - rgb).max(axis=2) < 0.06).sum())


def coloured_pixels(image):
    """Pixels that are neither white, black nor grey (text and axes): the data."""
    rgb = image[:, :, :3]
    return int((rgb.max(axis=2) - rgb.min(axis=2) > 0.3).sum())


def check_png(path, colours=()):
    if not check(os.path.exists(path), f"{path} not written"):
        return
    try:
        image = mpimg.imread(path)
    except Exception as e:  # noqa: BLE001 - any decoding failure is the finding
        check(False, f"{path} does not decode: {e}")
        return
    check(image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100,
          f"{path}: shape {image.shape}")
    check(float(image[:, :, :3].var()) > 0, f"{path} is blank")
    check(coloured_pixels(image) > 200, f"{path}: no data drawn (only text and axes)")
    for rgb in colours:
        check(colour_pixels(image, rgb) > 30, f"{path}: no data drawn in colour {rgb}")
    svg = path[:-4] + ".svg"
    try:
        check(ET.parse(svg).getroot().tag.endswith("svg"), f"{svg}: not SVG")
    except (OSError, ET.ParseError) as e:
        check(False, f"{svg}: {e}")


def check_clear_failure(p, script, needles):
    check(p.returncode == 1, f"{script}: exit {p.returncode}, want 1; stderr {p.stderr!r}")
    check("Traceback" not in p.stderr, f"{script}: a traceback instead of a message: "
                                       f"{p.stderr}")
    lines = p.stderr.strip().splitlines()
    check(len(lines) >= 1 and lines[-1].startswith(f"{script}: ") and
          all(n in lines[-1] for n in needles),
          f"{script}: stderr {p.stderr!r} lacks {needles}")


def snapshot(folder):
    return sorted(os.path.relpath(os.path.join(d, f), folder)
                  for d, _, files in os.walk(folder) for f in files)


before = snapshot(FIXTURES)

# Scripts a user runs directly: executable, Debian's python (it has matplotlib and scipy).
for name in ("sweep", "plot", "compare", "report"):
    path = os.path.join(SCRIPTS, name)
    check(os.access(path, os.X_OK), f"{path} is not executable")
    with open(path, encoding="utf-8") as f:
        check(f.readline().strip() == "#!/usr/bin/python3", f"{path}: shebang")

with tempfile.TemporaryDirectory() as tmp:
    # Two folders overlaid: every chart the fixtures allow.
    out = os.path.join(tmp, "plots")
    p = run("plot", A, B, f"--out={out}")
    check(p.returncode == 0, f"plot: exit {p.returncode}; {p.stderr}")
    for name in ("throughput", "server-cpu", "latency-c10-s64-closed",
                 "latency-c10-s64-open-50", "latency-c10-s64-open-90",
                 "latency-vs-load-c10-s64"):
        check_png(os.path.join(out, name + ".png"), colours=(BLUE, ORANGE))
    for name in ("ablation", "resolve"):
        check_png(os.path.join(out, name + ".png"))
    check("throughput.png" in p.stdout, f"plot does not list what it wrote: {p.stdout!r}")

    # Another load for the spectra; one folder.
    p = run("plot", A, "--clients=1", "--size=1024", f"--out={tmp}/plots2")
    check(p.returncode == 0, f"plot --clients=1 --size=1024: exit {p.returncode}; {p.stderr}")
    check_png(f"{tmp}/plots2/latency-c1-s1024-closed.png", colours=(BLUE, ORANGE))

    # compare: the table on top, then compare.py's statistics.
    p = run("compare", A, B)
    check(p.returncode == 0, f"compare: exit {p.returncode}; {p.stderr}")
    check(re.search(r"echo/epoll/clients:10/size:64/open:50%\s+[\d,]+\s+[\d,]+\s+\d+\.\d+",
                    p.stdout) is not None, f"compare: no old/new/ratio row: {p.stdout[:2000]}")
    check("RT/s old" in p.stdout and "srv µs/echo new" in p.stdout, "compare: table header")
    if os.path.exists(COMPARE_PY):
        check("Comparing" in p.stdout and "_pvalue" in p.stdout,
              f"compare: no compare.py statistics: {p.stdout[-2000:]}")
    p = run("compare", "--no-stats", os.path.join(A, "closed", "c1.json"),
            os.path.join(B, "closed", "c1.json"))
    check(p.returncode == 0 and "echo/blocking/clients:1/size:64" in p.stdout,
          f"compare of two JSON files: exit {p.returncode}; {p.stdout} {p.stderr}")

    # report: Markdown whose images all exist, tables and the manifest.
    report = os.path.join(tmp, "report", "report.md")
    p = run("report", A, f"--out={report}", f"--plots={tmp}/report/plots")
    check(p.returncode == 0, f"report: exit {p.returncode}; {p.stderr}")
    text = open(report, encoding="utf-8").read() if os.path.exists(report) else ""
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    check(len(images) >= 6, f"report links {len(images)} images")
    for image in images:
        check_png(os.path.join(os.path.dirname(report), image))
    for needle in ("## Closed loop", "## Open loop", "## Ablation", "## Name resolution",
                   "## Machine and run manifest", "kernel:", "git:", "| echo/epoll/clients:1/"):
        check(needle in text, f"report lacks {needle!r}")

    # The sweep's plan, without running anything.
    p = run("sweep", "--quick", "--dry-run")
    check(p.returncode == 0 and "clients [1, 100, 1000]" in p.stdout,
          f"sweep --quick --dry-run: exit {p.returncode}; {p.stdout} {p.stderr}")
    p = run("sweep", "--dry-run", "--clients=ten")
    check(p.returncode != 0 and "--clients" in p.stderr, f"sweep --clients=ten: {p.stderr!r}")

    # Malformed results: one clear line naming the file, exit 1, from every script.
    bad = os.path.join(tmp, "bad")
    shutil.copytree(A, bad)
    victim = os.path.join(bad, "closed", "c1.json")
    good = open(victim, encoding="utf-8").read()
    cases = [
        ("truncated JSON", lambda: open(victim, "w").write(good[:400]),
         [victim, "not valid JSON"]),
        ("a counter that is not a number",
         lambda: open(victim, "w").write(re.sub(r'"rt_per_s": [\d.]+', '"rt_per_s": "fast"',
                                                good, count=1)),
         [victim, "rt_per_s", "not a number"]),
        ("no benchmarks list", lambda: open(victim, "w").write('{"context": {}}'),
         [victim, "benchmarks"]),
    ]
    for what, corrupt, needles in cases:
        corrupt()
        print(f"-- {what}")
        check_clear_failure(run("plot", bad, f"--out={tmp}/bad-plots"), "plot", needles)
        check_clear_failure(run("compare", bad, B), "compare", needles)
        check_clear_failure(run("compare", B, bad), "compare", needles)
        check_clear_failure(run("report", bad, f"--out={tmp}/bad-report/r.md",
                                f"--plots={tmp}/bad-report/plots"), "report", needles)
    open(victim, "w").write(good)
    hgrm = os.path.join(bad, "closed", "c10.epoll.c10.s64.r1.hgrm")
    lines = open(hgrm).read().splitlines()
    lines[10] = "not a histogram row"
    open(hgrm, "w").write("\n".join(lines))
    print("-- a broken .hgrm")
    check_clear_failure(run("plot", bad, f"--out={tmp}/bad-plots"), "plot",
                        [hgrm, "line 11"])
    empty = os.path.join(tmp, "empty")
    os.makedirs(empty)
    print("-- an empty folder, a missing one")
    check_clear_failure(run("compare", empty, B), "compare", [empty, "no bench_echo"])
    check_clear_failure(run("plot", os.path.join(tmp, "missing")), "plot",
                        ["missing", "no such file"])

check(snapshot(FIXTURES) == before, "the scripts wrote into tests/fixtures")
print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
