#!/usr/bin/python3
"""The scripts name no back end: a fourth back end the scripts have never heard of ("fake",
with its own flag, ablation step and ablation load) and a fifth that is unavailable
("gone"), given by a stand-in `echo_server --list-backends --json`, are

- in scripts/sweep's plan (--dry-run: the closed loop counts them, the ablation runs fake's
  step at fake's load as well as io_uring's steps from the registry, "gone" is left out
  with its reason; --no-ablation and its old name --no-uring-ablation drop the ablation);
- in scripts/uring-ablation's variants (--list-variants);
- labelled by scripts/ublib/results.py from each entry's backend_options, and from the
  context's uring_options in older folders (synthetic ones, and those in results/);
- plotted by scripts/plot with a marker and a colour of their own, five back ends at once.

Nothing is measured or timed: no bench_echo runs.

usage: scripts_backends_test.py SCRIPTS_DIR"""

import json
import os
import stat
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import numpy  # noqa: E402

SCRIPTS = os.path.realpath(sys.argv[1])
ROOT = os.path.dirname(SCRIPTS)
sys.path.insert(0, SCRIPTS)
sys.dont_write_bytecode = True  # no __pycache__ in the sources
from ublib import charts, results  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from script_checks import check, failures, run_script  # noqa: E402


def run(script, *args):
    return run_script(SCRIPTS, script, *args)


def flag(name, default, takes_value=False, help_text=""):
    row = dict(name=name, takes_value=takes_value, help=help_text, default=default)
    if not takes_value:
        row["negation"] = "--no-" + name[2:]
    return row


# What echo_server --list-backends --json prints, with two back ends added.
REGISTRY = [
    dict(name="uring", available=True, why_not="", description="io_uring", details="probe",
         flags=[flag("--uring-multishot", True), flag("--uring-sqpoll", False),
                flag("--uring-batch", "256", takes_value=True)],
         ablation=[dict(name="no-multishot", flags=["--no-uring-multishot"]),
                   dict(name="with-sqpoll", flags=["--uring-sqpoll"]),
                   dict(name="no-batch", flags=["--uring-batch=1"])]),
    dict(name="epoll", available=True, why_not="", description="epoll", details="",
         flags=[], ablation=[]),
    dict(name="blocking", available=True, why_not="", description="threads", details="",
         flags=[], ablation=[]),
    dict(name="fake", available=True, why_not="", description="a back end from the future",
         details="", flags=[flag("--fake-turbo", True)],
         ablation=[dict(name="no-turbo", flags=["--no-fake-turbo"])],
         ablation_load=dict(clients=7, size=128)),
    dict(name="gone", available=False, why_not="needs Linux 9.9", description="not here",
         details="", flags=[], ablation=[dict(name="no-x", flags=["--no-gone-x"])]),
]


def fake_build(tmp):
    """A build dir whose cmd/echo_server prints REGISTRY for --list-backends --json."""
    build = os.path.join(tmp, "fake-build")
    os.makedirs(os.path.join(build, "cmd"))
    server = os.path.join(build, "cmd", "echo_server")
    with open(server, "w", encoding="utf-8") as f:
        f.write("#!/usr/bin/python3\nimport sys\n"
                "if sys.argv[1:] != ['--list-backends', '--json']:\n"
                "    sys.exit('fake echo_server: only --list-backends --json')\n"
                f"print({json.dumps(json.dumps(REGISTRY))})\n")
    os.chmod(server, os.stat(server).st_mode | stat.S_IXUSR)
    return build


def test_sweep(build):
    base = ["--dry-run", "--quick", f"--build-dir={build}", "--resolve-names=0"]
    p = run("sweep", *base)
    out = p.stdout
    check(p.returncode == 0, f"sweep --dry-run: exit {p.returncode}; {p.stderr}")
    check("back ends uring, epoll, blocking, fake," in out,
          f"sweep: the plan does not list the four available back ends: {out[:600]!r}")
    check("gone left out: needs Linux 9.9" in out,
          f"sweep: the unavailable back end is not reported with its reason: {out!r}")
    lines = out.splitlines()

    def command(rel):
        return next((l for l in lines if l.strip().startswith(rel + ":")), "")

    fake = command("ablation/fake/no-turbo.r1.json")
    check("--backend=fake --clients=7 --size=128 --no-fake-turbo" in fake,
          f"sweep: no ablation step of fake at its registry load: {fake!r} in {out!r}")
    check("--backend=fake --clients=7 --size=128 --duration"
          in command("ablation/fake/baseline.r1.json"), "sweep: no baseline for fake")
    uring = command("ablation/uring/no-batch.r1.json")
    check("--backend=uring --clients=100 --size=64 --uring-batch=1" in uring,
          f"sweep: io_uring's no-batch step not from the registry at 100 x 64: {uring!r}")
    check("--uring-sqpoll" in command("ablation/uring/with-sqpoll.r1.json"),
          "sweep: io_uring's with-sqpoll step missing")
    check(not any("ablation/gone" in l or "ablation/epoll" in l for l in lines),
          "sweep: ablation of a back end that is unavailable or lists no steps")
    check("closed/c100.json" in out and "--backend=all" in command("closed/c100.json"),
          "sweep: no closed-loop command")
    for off in ("--no-ablation", "--no-uring-ablation"):
        p = run("sweep", *base, off)
        check(p.returncode == 0 and "ablation/" not in p.stdout and "no ablation" in p.stdout,
              f"sweep {off}: {p.returncode} {p.stdout!r} {p.stderr!r}")
    p = run("sweep", *base, "--ablation-load=3:32")
    check("--backend=fake --clients=3 --size=32 --no-fake-turbo" in p.stdout,
          f"sweep --ablation-load=3:32: {p.stdout!r}")
    p = run("sweep", *base, "--ablation-load=fake:5:64")
    check("ablation/fake/no-turbo.r1.json" in p.stdout and "ablation/uring" not in p.stdout,
          f"sweep --ablation-load=fake:5:64 (legacy BACKEND:): {p.stdout!r}")
    p = run("sweep", *base, "--backends=fake,gone,nosuch", "--ablation", "baseline=",
            "--ablation", "deep=--fake-depth=9")
    check(p.returncode == 0 and "back ends fake," in p.stdout
          and "nosuch left out: not in the registry" in p.stdout
          and "--backend=fake --clients=7 --size=128 --fake-depth=9" in p.stdout
          and "ablation/fake/no-turbo" not in p.stdout,
          f"sweep --backends=fake,gone,nosuch --ablation: {p.stdout!r} {p.stderr!r}")
    # A real run must know the back ends first, and stops before any work without them.
    p = run("sweep", "--no-build", f"--build-dir={build}-missing", "--quick")
    check(p.returncode != 0 and "cannot tell which back ends" in p.stderr
          and "Traceback" not in p.stderr, f"sweep without a registry: {p.stderr!r}")


def test_uring_ablation(build):
    p = run("uring-ablation", f"--build={build}", "--list-variants")
    check(p.returncode == 0, f"uring-ablation --list-variants: {p.returncode} {p.stderr!r}")
    out = p.stdout.splitlines()
    check("defaults: --backend=uring" in out and "no-batch: --backend=uring --uring-batch=1"
          in out and "fake back end: --backend=fake" in out
          and not any(l.startswith("gone") for l in out),
          f"uring-ablation: variants not from the registry: {out}")
    p = run("uring-ablation", f"--build={build}", "--list-variants", "--backend=fake",
            "--against=epoll", "--variant=deep=--fake-depth=9")
    check(p.stdout.splitlines() == ["defaults: --backend=fake",
                                    "no-turbo: --backend=fake --no-fake-turbo",
                                    "epoll back end: --backend=epoll",
                                    "deep: --backend=fake --fake-depth=9"],
          f"uring-ablation --backend=fake: {p.stdout!r} {p.stderr!r}")
    p = run("uring-ablation", f"--build={build}", "--list-variants", "--backend=gone")
    check(p.returncode != 0 and "needs Linux 9.9" in p.stderr,
          f"uring-ablation --backend=gone: {p.returncode} {p.stderr!r}")


def echo_file(path, context, entries):
    """A bench_echo JSON file: context plus one entry per (backend, clients, extra)."""
    benchmarks = []
    for i, (backend, clients, extra) in enumerate(entries):
        benchmarks.append(dict(
            name=f"echo/{backend}/clients:{clients}/size:64", run_type="iteration",
            repetition_index=0, backend=backend, clients=clients, size=64,
            rt_per_s=1000.0 * (i + 1) * clients, p50_us=50.0, p99_us=90.0 + i,
            server_cpu_us_per_echo=2.0 + i, **extra))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(dict(context=dict(executable="bench_echo", duration="1s", warmup="0s",
                                    **context), benchmarks=benchmarks), f)


def variants(folder):
    try:
        found = results.load_folder(folder)
    except results.ResultError as e:
        check(False, f"{folder} does not read: {e}")
        return []
    return sorted((r.backend, r.variant) for r in found.echo)


def test_results(tmp):
    # bench_echo now: each entry's backend_options; a back end without settings has none.
    new = os.path.join(tmp, "new")
    for name, opts in (("a", "turbo,depth=4"), ("b", "turbo,depth=4"),
                       ("c", "no-turbo,depth=4"), ("d", "turbo,depth=8")):
        echo_file(os.path.join(new, f"{name}.json"), {"fake_details": "probe"},
                  [("fake", 10, {"backend_options": opts}), ("epoll", 10, {})])
    echo_file(os.path.join(new, "u.json"), {},
              [("uring", 10, {"backend_options": "multishot,no-fixed_files,no-sqpoll"}),
               ("uring", 10, {"backend_options": "multishot,no-fixed_files,sqpoll"}),
               ("uring", 10, {"backend_options": "no-multishot,no-fixed_files,no-sqpoll"}),
               ("uring", 10, {"backend_options": "multishot,no-fixed_files,no-sqpoll"})])
    got = variants(new)
    want = sorted([("fake", "baseline"), ("fake", "baseline"), ("fake", "no-turbo"),
                   ("fake", "depth=8")] + [("epoll", None)] * 4 +
                  [("uring", "baseline"), ("uring", "with-sqpoll"),
                   ("uring", "no-multishot"), ("uring", "baseline")])
    check(got == want, f"results, backend_options: {got}, want {want}")
    parse = getattr(results, "parse_options", lambda text: None)
    parsed = parse("multishot,no-fixed_files,buffers=4096x4096,zc_send>=1")
    check(parsed == {"multishot": "on", "fixed-files": "off", "buffers": "4096x4096",
                     "zc-send": ">=1"}, f"parse_options: {parsed}")

    # Older folders: one uring_options string in the context, recorded on epoll runs too.
    old = os.path.join(tmp, "old")
    for name, opts in (("d0", "multishot,no-sqpoll,batch=64/50us"),
                       ("d1", "multishot,no-sqpoll,batch=64/50us"),
                       ("v0", "no-multishot,no-sqpoll,batch=64/50us"),
                       ("v1", "multishot,no-sqpoll,batch=1/50us")):
        echo_file(os.path.join(old, f"{name}.json"),
                  {"uring_options": opts, "uring_probe": "io_uring on 6.1"},
                  [("uring", 1000, {})])
    echo_file(os.path.join(old, "v2.json"), {"uring_options": "multishot,no-sqpoll,"
                                                               "batch=64/50us"},
              [("epoll", 1000, {})])
    got = variants(old)
    want = sorted([("uring", "baseline"), ("uring", "baseline"), ("uring", "no-multishot"),
                   ("uring", "batch=1/50us"), ("epoll", None)])
    check(got == want, f"results, old uring_options: {got}, want {want}")

    # The ablation layout: the file name is the variant, below ablation/BACKEND/ or not.
    abl = os.path.join(tmp, "abl")
    echo_file(os.path.join(abl, "ablation", "fake", "no-turbo.r1.json"), {},
              [("fake", 7, {"backend_options": "no-turbo"})])
    echo_file(os.path.join(abl, "ablation", "fake", "baseline.r1.json"), {},
              [("fake", 7, {"backend_options": "turbo"})])
    echo_file(os.path.join(abl, "ablation", "no-multishot.r1.json"), {},
              [("uring", 7, {})])
    got = variants(abl)
    check(got == [("fake", "baseline"), ("fake", "no-turbo"), ("uring", "no-multishot")],
          f"results, ablation/ layout: {got}")
    p = run("compare", "--no-stats", new, new)
    check(p.returncode == 0 and "echo/fake/clients:10/size:64/ablation:no-turbo" in p.stdout,
          f"compare of backend_options variants: {p.returncode} {p.stdout!r} {p.stderr!r}")

    # The folders in results/ (older layouts) still read, their variants named by setting.
    real = os.path.join(ROOT, "results", "2026-11-25-uring-ablation")
    if os.path.isdir(real):
        names = {v for b, v in variants(real) if b == "uring"}
        check({"baseline", "no-multishot", "with-sqpoll", "with-fixed-files"} <= names,
              f"results/2026-11-25-uring-ablation: variants {names}")
        check({v for b, v in variants(real) if b == "epoll"} == {None},
              "results/2026-11-25-uring-ablation: epoll runs became variants")
    folders = sorted(os.listdir(os.path.join(ROOT, "results"))) \
        if os.path.isdir(os.path.join(ROOT, "results")) else []
    for folder in folders[:3] + folders[-3:]:  # the oldest and the newest
        path = os.path.join(ROOT, "results", folder)
        if os.path.isdir(path) and "profile" not in folder:
            try:
                results.load_folder(path)
            except results.ResultError as e:
                check(False, f"results/{folder} no longer reads: {e}")


def colour_pixels(image, rgb):
    rgb = numpy.array(rgb) / 255.0
    return int((numpy.abs(image[:, :, :3] - rgb).max(axis=2) < 0.06).sum())


def test_charts(tmp):
    folder = os.path.join(tmp, "five")
    backends = ["uring", "epoll", "blocking", "fake", "zzz"]
    for clients in (1, 10):
        echo_file(os.path.join(folder, "closed", f"c{clients}.json"), {},
                  [(b, clients, {}) for b in backends])
    seen = {}
    save = charts._save

    def recording_save(fig, out_dir, name):
        markers = {}
        for ax in fig.axes:
            for handle, label in zip(*ax.get_legend_handles_labels()):
                line = handle.lines[0] if hasattr(handle, "lines") else handle
                markers[label] = line.get_marker()
        seen[name] = markers
        return save(fig, out_dir, name)

    charts._save = recording_save
    try:
        made = charts.make_all([results.load_folder(folder)], os.path.join(tmp, "plots"))
    finally:
        charts._save = save
    check(len(made) >= 2, f"charts of five back ends: {made}")
    for name in ("throughput", "server-cpu"):
        markers = seen.get(name, {})
        check(sorted(markers) == sorted(backends) and len(set(markers.values())) == 5,
              f"{name}: five back ends want five markers, got {markers}")
    # scripts/plot on the same folder: each back end's colour is on the chart.
    out = os.path.join(tmp, "plots2")
    p = run("plot", folder, f"--out={out}")
    check(p.returncode == 0, f"plot of five back ends: {p.returncode} {p.stderr!r}")
    png = os.path.join(out, "throughput.png")
    if check(os.path.exists(png), f"{png} not written"):
        image = mpimg.imread(png)
        cycle = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
        for backend, colour in zip(backends, cycle):
            rgb = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
            check(colour_pixels(image, rgb) > 30,
                  f"throughput.png: no data in {colour} (back end {backend})")


with tempfile.TemporaryDirectory() as tmp:
    build = fake_build(tmp)
    test_sweep(build)
    test_uring_ablation(build)
    test_results(tmp)
    test_charts(tmp)
print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
