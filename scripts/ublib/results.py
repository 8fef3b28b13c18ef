"""Reading result folders: the bench_echo and bench_resolve JSON files (Google Benchmark
schema), the .hgrm histograms beside them and manifest.txt.

A result folder is whatever scripts/sweep or scripts/bench wrote, e.g.

    results/2026-11-25-153000-vm/
      manifest.txt                        machine, build, revision, commands, timings
      closed/c100.json                    closed loop: every back end x sizes x repetitions
      closed/rtt.epoll.c100.s64.r1.hgrm   one histogram per run (backend, clients, size, rep)
      open-50/epoll.c100.s64.json         open loop at 50% of that back end's closed-loop peak
      ablation/no-multishot.json          io_uring ablation: one file per technique switched off
      resolve/*.json                      bench_resolve (names/s per engine and threads)

Nothing here depends on that exact layout: every *.json below the folder is read and
classified by its content; the directory names only add meaning (open-NN: NN% of peak,
ablation/: the file name is the variant). Anything malformed raises ResultError naming the
file, so the scripts can stop with one clear line instead of drawing a wrong chart.
"""

import json
import os
import re
import statistics
from dataclasses import dataclass, field


class ResultError(Exception):
    """A result file that cannot be used; str() is 'PATH: what is wrong'."""

    def __init__(self, path, message):
        super().__init__(f"{path}: {message}")
        self.path = path


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass
class EchoRun:
    """One bench_echo measurement: a back end x clients x size x repetition."""
    path: str
    context: dict
    entry: dict
    backend: str
    clients: int
    size: int
    repetition: int
    load_model: str
    pipeline: int
    rate: float
    fraction: float = None  # open loop: percent of the closed-loop peak (from open-NN/)
    variant: str = None     # io_uring ablation: which technique is off ("baseline": none)
    hgrm: str = None

    def get(self, counter, default=None):
        value = self.entry.get(counter, default)
        return value if _number(value) else default

    @property
    def key(self):
        """bench_echo's benchmark name plus what makes the load different, so closed, open
        and ablation runs of the same back end/clients/size never merge."""
        name = f"echo/{self.backend}/clients:{self.clients}/size:{self.size}"
        if self.load_model == "open":
            name += f"/open:{self.fraction:g}%" if self.fraction is not None \
                else f"/rate:{self.rate:.0f}"
        elif self.load_model == "stream":
            name += "/stream"
        elif self.pipeline != 1:
            name += f"/pipeline:{self.pipeline}"
        if self.variant is not None:
            name += f"/ablation:{self.variant}"
        return name

    @property
    def load_label(self):
        if self.load_model == "open":
            if self.fraction is not None:
                return f"open loop at {self.fraction:g}% of peak"
            return f"open loop at {self.rate:,.0f} RT/s"
        if self.load_model == "stream":
            return "stream"
        return "closed loop" + (f", pipeline {self.pipeline}" if self.pipeline != 1 else "")


@dataclass
class ResolveRun:
    """One bench_resolve measurement: an engine (mode) x concurrency x repetition."""
    path: str
    context: dict
    entry: dict
    engine: str
    concurrency_name: str  # "threads" or "in_flight"
    concurrency: int
    repetition: int

    def get(self, counter, default=None):
        value = self.entry.get(counter, default)
        return value if _number(value) else default


@dataclass
class ResultSet:
    root: str
    label: str
    echo: list = field(default_factory=list)
    resolve: list = field(default_factory=list)
    manifest: list = field(default_factory=list)  # [(key, value)] in file order
    manifest_text: str = ""
    json_files: list = field(default_factory=list)
    hgrm_files: list = field(default_factory=list)
    ignored: list = field(default_factory=list)   # [(path, why)]

    def context(self):
        """The machine context for titles: a plain closed-loop run's file when there is
        one (an ablation file may carry variant keys), else any echo, else resolve file."""
        plain = [r for r in self.echo if r.variant is None and r.load_model == "closed"]
        for run in plain + self.echo + self.resolve:
            return run.context
        return {}

    def context_path(self):
        plain = [r for r in self.echo if r.variant is None and r.load_model == "closed"]
        for run in plain + self.echo + self.resolve:
            return run.path
        return None


def load_json(path):
    """Returns (context, benchmarks) of a Google Benchmark JSON file."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except json.JSONDecodeError as e:
        raise ResultError(path, f"not valid JSON (line {e.lineno}, column {e.colno}: "
                                f"{e.msg})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ResultError(path, f"cannot read: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        raise ResultError(path, "not Google Benchmark JSON: no 'benchmarks' list")
    context = doc.get("context", {})
    if not isinstance(context, dict):
        raise ResultError(path, "'context' is not an object")
    for i, entry in enumerate(doc["benchmarks"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ResultError(path, f"benchmarks[{i}] is not an object with a 'name'")
    return context, doc["benchmarks"]


def _require(path, i, entry, fields):
    for name, kind in fields:
        value = entry.get(name)
        ok = isinstance(value, str) if kind is str else _number(value)
        if not ok:
            what = "missing" if value is None else \
                f"is {value!r}, not a {'string' if kind is str else 'number'}"
            raise ResultError(path, f"benchmarks[{i}] ({entry['name']}): '{name}' {what}")


ECHO_FIELDS = [("backend", str), ("clients", float), ("size", float), ("rt_per_s", float),
               ("p50_us", float), ("p99_us", float)]
RESOLVE_FIELDS = [("names_per_s", float)]
BASELINE_NAMES = ("baseline", "all", "all-on", "default", "full", "none-off")
_OFF = {"off", "false", "no", "0", "none", "disabled"}
_ON = {"on", "true", "yes", "1", "enabled"}
_HGRM = re.compile(r"^(?P<prefix>.*)\.(?P<backend>[^.]+)\.c(?P<clients>\d+)\.s(?P<size>\d+)"
                   r"\.r(?P<rep>\d+)\.hgrm$")


def _kind(context, benchmarks):
    names = [b["name"] for b in benchmarks]
    if context.get("executable") == "bench_echo" or (names and
                                                     all(n.startswith("echo/") for n in names)):
        return "echo"
    if context.get("benchmark") == "bench_resolve" or (names and all(n.startswith("resolve/")
                                                                     for n in names)):
        return "resolve"
    return None


def _uring_options(run):
    """The io_uring technique switches recorded in a run: scalar keys starting 'uring'."""
    options = {**run.context, **run.entry}
    return {k: str(v).strip().lower() for k, v in options.items()
            if k.lower().startswith("uring") and isinstance(v, (str, int, float, bool))}


def _ablation_variant(rel_path):
    """Under an ablation/ folder (scripts/sweep's layout) the file name is the variant:
    NAME.json, or NAME.rK.json when the sweep interleaves repetitions."""
    parts = rel_path.split(os.sep)
    if "ablation" not in parts[:-1]:
        return None
    return re.sub(r"\.r\d+$", "", os.path.splitext(parts[-1])[0])


def _label_uring_variants(runs):
    """Runs elsewhere whose io_uring switches differ from each other are an ablation too,
    labelled by what differs ('no-multishot', 'baseline' when all are on). Switches that
    every run shares (bench_echo may record them in every file) make nothing a variant."""
    runs = [r for r in runs if r.variant is None and _uring_options(r)]
    options = [_uring_options(r) for r in runs]
    keys = sorted({k for o in options for k in o})
    differing = [k for k in keys if len({o.get(k) for o in options}) > 1]
    for run, o in zip(runs, options):
        if not differing:
            return
        parts = []
        for k in differing:
            short = re.sub(r"^uring[-_]?", "", k, flags=re.I)
            value = o.get(k)
            if value in _OFF:
                parts.append("no-" + short)
            elif value not in _ON:
                parts.append(f"{short}={value}")
        run.variant = "+".join(parts) or "baseline"


def _fraction(rel_path):
    folder = os.path.basename(os.path.dirname(rel_path))
    m = re.fullmatch(r"open-(\d+(?:\.\d+)?)", folder)
    return float(m.group(1)) if m else None


def _hgrm_index(files):
    index = {}
    for path in files:
        m = _HGRM.match(os.path.basename(path))
        if m:
            key = (os.path.dirname(path), m["backend"], int(m["clients"]), int(m["size"]),
                   int(m["rep"]))
            index.setdefault(key, []).append((m["prefix"], path))
    return index


def _find_hgrm(index, json_path, run, single):
    """bench_echo names histograms STEM.BACKEND.cC.sS.rR.hgrm, or exactly the --hgrm path
    when a run is alone; prefer the JSON's own stem, accept any unambiguous prefix (as
    scripts/bench's bench_echo.json + rtt.*.hgrm)."""
    folder, stem = os.path.dirname(json_path), os.path.splitext(os.path.basename(json_path))[0]
    candidates = index.get((folder, run.backend, run.clients, run.size, run.repetition + 1), [])
    for prefix, path in candidates:
        if prefix == stem:
            return path
    if len(candidates) == 1:
        return candidates[0][1]
    if single and os.path.exists(os.path.join(folder, stem + ".hgrm")):
        return os.path.join(folder, stem + ".hgrm")
    return None


def _read_manifest(path):
    pairs, text = [], ""
    if os.path.exists(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for line in text.splitlines():
            key, sep, value = line.partition(":")
            if sep and key.strip() and not key.startswith(" "):
                pairs.append((key.strip(), value.strip()))
    return pairs, text


def load_folder(path):
    """Reads one result folder (or one JSON file) into a ResultSet."""
    if not os.path.exists(path):
        raise ResultError(path, "no such file or directory")
    root = os.path.dirname(path) if os.path.isfile(path) else path
    result = ResultSet(root=root, label=os.path.basename(os.path.realpath(path)))
    if os.path.isfile(path):
        json_files, hgrm_files = [path], []
    else:
        json_files, hgrm_files = [], []
        for folder, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d != "plots")  # our own output
            for name in sorted(files):
                full = os.path.join(folder, name)
                if name.endswith(".json"):
                    json_files.append(full)
                elif name.endswith(".hgrm"):
                    hgrm_files.append(full)
        result.manifest, result.manifest_text = _read_manifest(os.path.join(path,
                                                                            "manifest.txt"))
    result.json_files, result.hgrm_files = json_files, hgrm_files
    index = _hgrm_index(hgrm_files)
    for json_path in json_files:
        context, benchmarks = load_json(json_path)
        kind = _kind(context, benchmarks)
        rel = os.path.relpath(json_path, root)
        benchmarks = [b for b in benchmarks if b.get("run_type", "iteration") == "iteration"]
        if kind == "echo":
            for i, entry in enumerate(benchmarks):
                _require(json_path, i, entry, ECHO_FIELDS)
                model = entry.get("load_model", context.get("load_model", "closed"))
                run = EchoRun(path=json_path, context=context, entry=entry,
                              backend=entry["backend"], clients=int(entry["clients"]),
                              size=int(entry["size"]),
                              repetition=int(entry.get("repetition_index", 0)),
                              load_model=model,
                              pipeline=int(context.get("pipeline", 1)) if _number(
                                  context.get("pipeline", 1)) else 1,
                              rate=float(context.get("rate", 0)) if _number(
                                  context.get("rate", 0)) else 0.0,
                              fraction=_fraction(rel) if model == "open" else None,
                              variant=_ablation_variant(rel))
                run.hgrm = _find_hgrm(index, json_path, run, len(benchmarks) == 1)
                result.echo.append(run)
        elif kind == "resolve":
            for i, entry in enumerate(benchmarks):
                _require(json_path, i, entry, RESOLVE_FIELDS)
                engine = entry.get("engine", entry.get("mode"))
                if not isinstance(engine, str):
                    engine = entry["name"].split("/")[1] if "/" in entry["name"] else "resolve"
                # c-ares style engines are limited by queries in flight, pools by threads.
                cname = "in_flight" if _number(entry.get("in_flight")) else "threads"
                if not _number(entry.get(cname)):
                    raise ResultError(json_path, f"benchmarks[{i}] ({entry['name']}): "
                                                 f"'threads' missing")
                result.resolve.append(ResolveRun(
                    path=json_path, context=context, entry=entry, engine=engine,
                    concurrency_name=cname, concurrency=int(entry[cname]),
                    repetition=int(entry.get("repetition_index", 0))))
        else:
            result.ignored.append((json_path, "neither bench_echo nor bench_resolve output"))
    if not result.echo and not result.resolve:
        raise ResultError(path, "no bench_echo or bench_resolve results (*.json) found")
    _label_uring_variants(result.echo)
    return result


def summary(values):
    """(median, min, max) of the values that exist; None when there are none."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def group(runs, key):
    """{key(run): [runs]} in first-seen order."""
    groups = {}
    for run in runs:
        groups.setdefault(key(run), []).append(run)
    return groups


BACKEND_ORDER = ("uring", "epoll", "blocking")


def backend_sort_key(name):
    """Best first, as the registry lists them; unknown names after, alphabetically."""
    return (BACKEND_ORDER.index(name) if name in BACKEND_ORDER else len(BACKEND_ORDER), name)


def variant_sort_key(name):
    return (0 if name in BASELINE_NAMES else 1, name)


def machine(context, manifest=()):
    """One line saying where the figures come from: host, CPU, kernel, liburing, build."""
    m = dict(manifest)
    parts = []
    host = context.get("host_name") or m.get("host")
    cpu = context.get("cpu_model") or m.get("cpu")
    cpus = context.get("num_cpus")
    if host:
        parts.append(str(host))
    if cpu:
        parts.append(f"{cpu}" + (f" x{cpus}" if cpus and " x " not in str(cpu) else ""))
    kernel = context.get("kernel") or m.get("kernel")
    if kernel:
        parts.append(f"Linux {kernel}" if not str(kernel).startswith("Linux") else str(kernel))
    if context.get("liburing_version") not in (None, ""):
        parts.append(f"liburing {context['liburing_version']}")
    if context.get("build_type"):
        parts.append(f"{context['build_type']} build")
    if context.get("git_revision"):
        parts.append(f"rev {context['git_revision']}")
    return ", ".join(parts) or "unknown machine"


def run_tool(tool, main):
    """Runs MAIN(); a ResultError becomes one line on stderr and exit status 1, so scripts
    and meson tests see a clear message rather than a traceback."""
    import sys
    try:
        sys.exit(main())
    except ResultError as e:
        print(f"{tool}: {e}", file=sys.stderr)
        sys.exit(1)
