"""Reading result folders: the bench_echo and bench_resolve JSON files (Google Benchmark
schema), the .hgrm histograms beside them and manifest.txt.

A result folder is whatever scripts/sweep or scripts/bench wrote, e.g.

    results/2026-11-25-153000-vm/
      manifest.txt                        machine, build, revision, commands, timings
      closed/c100.json                    closed loop: every back end x sizes x repetitions
      closed/rtt.epoll.c100.s64.r1.hgrm   one histogram per run (backend, clients, size, rep)
      open-50/epoll.c100.s64.json         open loop at 50% of that back end's closed-loop peak
      ablation/uring/no-multishot.r1.json an ablation: one file per back end, step, repetition
      resolve/*.json                      bench_resolve (names/s per engine and threads)

Nothing here depends on that exact layout: every *.json below the folder is read and
classified by its content; the directory names only add meaning (open-NN: NN% of peak,
ablation/ at any depth: the file name is the variant). Elsewhere, runs of one back end whose
recorded settings differ (each entry's backend_options, or the context's uring_options in
older folders) are variants named by what differs. A JSON object with neither 'context' nor
'benchmarks' (scripts/uring-ablation's pairs.json) is not a result and is listed as
ignored; anything else malformed raises ResultError naming the file, so the scripts can
stop with one clear line instead of drawing a wrong chart.
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
    variant: str = None     # ablation: what differs from the defaults ("baseline": nothing)
    hgrm: str = None
    options: dict = None    # the back end's settings, parse_options() of what the run records

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


def _foreign_json(path):
    """True for a valid JSON object that has neither key of Google Benchmark's layout."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False  # load_json says what is wrong
    return isinstance(doc, dict) and "context" not in doc and "benchmarks" not in doc


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


_SETTING = re.compile(r"(?P<key>[A-Za-z0-9_.-]+?)(?P<rest>(?:[<>!]?=|[<>]).*)?")


def parse_options(text):
    """{setting: value} from a back end's settings string, as bench_echo records it per run
    ('multishot,no-sqpoll,batch=256/100us,zc_send>=1'): a bare X is 'on', no-X 'off', X=V
    the value V, X>=V (any other comparison) the comparison as written. Keys are spelt with
    '-' (fixed_files and fixed-files are one setting), as the ablation steps name them."""
    options = {}
    for token in (t.strip() for t in str(text).split(",")):
        m = _SETTING.fullmatch(token)
        if not token or not m:
            continue
        key, rest = m["key"].replace("_", "-"), m["rest"]
        if rest is None:
            value = "on"
            if key.startswith("no-") and len(key) > 3:
                key, value = key[3:], "off"
        elif rest.startswith("="):
            value = rest[1:]
            value = "on" if value.lower() in _ON else "off" if value.lower() in _OFF else value
        else:
            value = rest
        options[key] = value
    return options


def _recorded_options(backend, context, entry):
    """The settings string a run records: the entry's backend_options (bench_echo now),
    else the context's BACKEND_options (older files: uring_options, one per file)."""
    for text in (entry.get("backend_options"), context.get(f"{backend}_options")):
        if isinstance(text, str) and text.strip():
            return parse_options(text)
    return {}


def _setting_label(key, value):
    if value == "on":
        return "with-" + key
    if value == "off":
        return "no-" + key
    return key + (value if value[:1] in "<>!" else "=" + value)


def _ablation_variant(rel_path):
    """Under an ablation/ folder (scripts/sweep's layout) the file name is the variant:
    NAME.json, or NAME.rK.json when the sweep interleaves repetitions."""
    parts = rel_path.split(os.sep)
    if "ablation" not in parts[:-1]:
        return None
    return re.sub(r"\.r\d+$", "", os.path.splitext(parts[-1])[0])


def _label_option_variants(runs):
    """Runs outside an ablation/ folder whose settings differ within one back end are an
    ablation too, labelled by what differs from that back end's usual settings (the value
    most of its runs have; on a tie 'on', else the first seen): 'no-multishot',
    'with-sqpoll', 'batch=1', joined by '+'; 'baseline' for the usual ones. Settings every
    run of a back end shares make nothing a variant."""
    for backend_runs in group([r for r in runs if r.variant is None and r.options],
                              lambda r: r.backend).values():
        keys = []
        for run in backend_runs:
            keys += [k for k in run.options if k not in keys]
        usual = {}
        for k in keys:
            counts = {}
            for run in backend_runs:
                counts[run.options.get(k)] = counts.get(run.options.get(k), 0) + 1
            if len(counts) > 1:
                top = max(counts.values())
                tied = [v for v in counts if counts[v] == top]
                usual[k] = "on" if "on" in tied else tied[0]
        if not usual:
            continue
        for run in backend_runs:
            parts = [_setting_label(k, run.options[k]) for k in usual
                     if run.options.get(k) is not None and run.options[k] != usual[k]]
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
        if _foreign_json(json_path):
            result.ignored.append((json_path, "not Google Benchmark output (no 'context', "
                                              "no 'benchmarks')"))
            continue
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
                              variant=_ablation_variant(rel),
                              options=_recorded_options(entry["backend"], context, entry))
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
    _label_option_variants(result.echo)
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
