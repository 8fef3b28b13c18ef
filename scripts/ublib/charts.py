"""The charts, each from one or more ResultSets, written as PNG and SVG.

Every chart says in its title what was measured, under which load, and on which machine
(from the JSON context), because a chart copied out of its folder must still be readable.
Medians over repetitions, with min-max error bars: with 3-5 repetitions on a noisy 2-core
VM a standard deviation would pretend to a precision the data does not have.
"""

import os

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from .hgrm import read_hgrm  # noqa: E402
from .results import (backend_sort_key, group, machine, summary,  # noqa: E402
                      variant_sort_key)

LINESTYLES = ["-", "--", ":", "-."]
# Filled shapes that stay distinct at 6 pt; a back end gets the next one unused.
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p", "d", "8", "H"]
SPECTRUM_TICKS = [0.0, 0.9, 0.99, 0.999, 0.9999, 0.99999, 0.999999]


class Palette:
    """The same back end (or engine, or variant) gets the same colour in every chart, and
    each back end its own marker, in the order they are first asked for (make_all asks in
    the registry's order), so a back end no chart has heard of still gets its own."""

    def __init__(self):
        self.colours = {}
        self.markers = {}
        self.cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]

    def __call__(self, name):
        if name not in self.colours:
            self.colours[name] = self.cycle[len(self.colours) % len(self.cycle)]
        return self.colours[name]

    def marker(self, backend):
        if backend not in self.markers:
            self.markers[backend] = MARKERS[len(self.markers) % len(MARKERS)]
        return self.markers[backend]


def _title(ax_or_fig, what, sets, load=None):
    first = sets[0]
    lines = [what]
    if load:
        lines.append(load)
    lines.append(machine(first.context(), first.manifest) +
                 (f" (+{len(sets) - 1} more result folders)" if len(sets) > 1 else ""))
    ax_or_fig.suptitle(lines[0] + "\n" + "\n".join(lines[1:]), fontsize=10)


def _save(fig, out_dir, name):
    os.makedirs(out_dir, exist_ok=True)
    png = os.path.join(out_dir, name + ".png")
    fig.savefig(png, dpi=110, bbox_inches="tight")
    fig.savefig(os.path.join(out_dir, name + ".svg"), bbox_inches="tight")
    plt.close(fig)
    return png


def _series_label(backend, set_label, many_sets):
    return f"{backend} ({set_label})" if many_sets else backend


def _window(runs, spread=", bars min-max"):
    ctx = runs[0].context
    # Repetitions of one benchmark in one folder (several folders overlaid do not add up).
    reps = max(len(same) for same in group(runs, lambda r: (os.path.dirname(r.path),
                                                             r.key)).values())
    return (f"{ctx.get('duration', '?')} window after {ctx.get('warmup', '?')} warm-up, "
            f"median of {reps} repetition{'s' if reps != 1 else ''}"
            + (spread if reps > 1 else ""))


def _plain_numbers(axis):
    """1,000 rather than 10^3: readers compare these figures with tables."""
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 10 else f"{v:g}"))


def _clients_axis(ax, clients):
    """Log axis ticked at the measured client counts, written out (1, 10, 1,000)."""
    ax.set_xscale("log")
    ax.set_xticks(clients)
    ax.set_xticklabels([f"{c:,}" for c in clients])
    ax.minorticks_off()
    ax.set_xlabel("concurrent clients (connections)")


def closed_runs(result_set):
    return [r for r in result_set.echo if r.load_model == "closed" and r.variant is None]


def _per_clients_chart(sets, out_dir, name, counter, ylabel, what, palette):
    """One panel per message size: COUNTER vs clients, a line per back end (and folder)."""
    runs_by_set = [(s, [r for r in closed_runs(s) if r.get(counter) is not None])
                   for s in sets]
    all_runs = [r for _, runs in runs_by_set for r in runs]
    if not all_runs:
        return None
    sizes = sorted({r.size for r in all_runs})
    fig, axes = plt.subplots(1, len(sizes), figsize=(4.6 * len(sizes) + 0.6, 4.4),
                             squeeze=False)
    for ax, size in zip(axes[0], sizes):
        for index, (result_set, runs) in enumerate(runs_by_set):
            by_backend = group([r for r in runs if r.size == size], lambda r: r.backend)
            for backend in sorted(by_backend, key=backend_sort_key):
                points = []
                for clients, reps in sorted(group(by_backend[backend],
                                                  lambda r: r.clients).items()):
                    med, lo, hi = summary(r.get(counter) for r in reps)
                    points.append((clients, med, med - lo, hi - med))
                xs, ys, below, above = zip(*points)
                ax.errorbar(xs, ys, yerr=[below, above], capsize=3,
                            color=palette(backend), marker=palette.marker(backend),
                            linestyle=LINESTYLES[index % len(LINESTYLES)],
                            label=_series_label(backend, result_set.label, len(sets) > 1))
        _clients_axis(ax, sorted({r.clients for r in all_runs}))
        ax.set_ylabel(ylabel)
        ax.set_title(f"{size} B messages", fontsize=9)
        ax.set_ylim(bottom=0)
        _plain_numbers(ax.yaxis)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    _title(fig, what, sets, "closed loop, " + _window(all_runs))
    fig.tight_layout()
    return _save(fig, out_dir, name)


def throughput_chart(sets, out_dir, palette):
    return _per_clients_chart(sets, out_dir, "throughput", "rt_per_s", "round trips per second",
                              "Echo throughput vs clients", palette)


def cpu_chart(sets, out_dir, palette):
    return _per_clients_chart(sets, out_dir, "server-cpu", "server_cpu_us_per_echo",
                              "server CPU per echo (µs)",
                              "Server CPU cost per echo vs clients (lower is better)", palette)


def pick_load(sets, clients=None, size=None):
    """The clients/size for the latency charts: as asked, else 100 clients x 64 B when
    measured (the README's comparison point), else the middle of what was measured."""
    runs = [r for s in sets for r in s.echo if r.variant is None]
    if not runs:
        return None, None
    all_clients = sorted({r.clients for r in runs})
    all_sizes = sorted({r.size for r in runs})
    if clients is None:
        clients = 100 if 100 in all_clients else all_clients[len(all_clients) // 2]
    if size is None:
        size = 64 if 64 in all_sizes else all_sizes[0]
    return clients, size


def _spectrum_x(percentile):
    return 1.0 / (1.0 - percentile)


def _spectrum_axis(ax, max_x, log_latency):
    ticks = [p for p in SPECTRUM_TICKS if _spectrum_x(p) <= max_x * 1.01] or [0.0]
    ax.set_xscale("log")
    ax.set_xticks([_spectrum_x(p) for p in ticks])
    ax.set_xticklabels([f"{100 * p:.6g}%" for p in ticks])
    ax.minorticks_off()
    ax.set_xlabel("percentile (log scale of 1/(1-percentile))")
    ax.set_ylabel("round-trip time (µs)")
    if log_latency:
        ax.set_yscale("log")
    _plain_numbers(ax.yaxis)
    ax.grid(True, which="both", alpha=0.3)


def spectrum_charts(sets, out_dir, palette, clients, size, log_latency=True):
    """HdrHistogram-style percentile spectra, one chart per load (closed, each open
    fraction) at CLIENTS x SIZE, a line per back end: the repetition with the median p99
    drawn solid, the others faint, so the spread between repetitions stays visible."""
    charts = []

    def wanted(r):
        return r.variant is None and r.clients == clients and r.size == size and r.hgrm

    runs = [r for s in sets for r in s.echo if wanted(r)]
    for load, load_runs in sorted(group(runs, lambda r: r.load_label).items(),
                                  key=lambda kv: (kv[1][0].load_model != "closed",
                                                  kv[1][0].fraction or 0)):
        fig, ax = plt.subplots(figsize=(8, 5))
        max_x = 10.0
        for index, result_set in enumerate(sets):
            mine = [r for r in result_set.echo if wanted(r) and r.load_label == load]
            for backend, reps in sorted(group(mine, lambda r: r.backend).items(),
                                        key=lambda kv: backend_sort_key(kv[0])):
                reps = sorted(reps, key=lambda r: r.get("p99_us"))
                typical = reps[len(reps) // 2]
                colour = palette(backend)
                style = LINESTYLES[index % len(LINESTYLES)]
                for run in reps:
                    points = [(p, v) for p, v in read_hgrm(run.hgrm) if p < 1.0]
                    if not points:
                        continue
                    xs = [_spectrum_x(p) for p, _ in points]
                    max_x = max(max_x, xs[-1])
                    ax.plot(xs, [v for _, v in points], color=colour, linestyle=style,
                            linewidth=2 if run is typical else 0.8,
                            alpha=1.0 if run is typical else 0.35,
                            label=_series_label(backend, result_set.label, len(sets) > 1)
                            if run is typical else None)
                if typical.load_model == "open":
                    # The .hgrm holds latency from the actual send; the JSON also has it
                    # from the scheduled send (coordinated omission corrected).
                    marks = [(p / 100, typical.get(f"corrected_p{p:g}_us"))
                             for p in (50, 90, 99, 99.9, 99.99)]
                    marks = [(_spectrum_x(p), v) for p, v in marks if v is not None]
                    if marks:
                        ax.plot(*zip(*marks), linestyle="none", marker="x", color=colour,
                                label=_series_label(backend, result_set.label, len(sets) > 1)
                                + " corrected (from scheduled send)")
        _spectrum_axis(ax, max_x, log_latency)
        ax.legend(fontsize=8)
        sample = load_runs[0]
        _title(fig, "Round-trip latency percentile spectrum",
               sets, f"{load}, {clients} clients x {size} B, " +
               _window(load_runs, "; the median-p99 repetition solid, the others faint"))
        fig.tight_layout()
        name = f"latency-c{clients}-s{size}-" + (
            "closed" if sample.load_model == "closed" else
            f"open-{sample.fraction:g}" if sample.fraction is not None else
            f"rate-{sample.rate:.0f}" if sample.load_model == "open" else sample.load_model)
        charts.append((load, _save(fig, out_dir, name)))
    return charts


def latency_vs_load_chart(sets, out_dir, palette, clients, size):
    """Open loop: p99 from the scheduled send (corrected) and from the actual send, against
    the offered load as a share of each back end's closed-loop peak."""
    def wanted(r):
        return (r.variant is None and r.load_model == "open" and r.fraction is not None
                and r.clients == clients and r.size == size)

    runs = [r for s in sets for r in s.echo if wanted(r)]
    if not runs:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for index, result_set in enumerate(sets):
        mine = [r for r in result_set.echo if wanted(r)]
        for backend, reps in sorted(group(mine, lambda r: r.backend).items(),
                                    key=lambda kv: backend_sort_key(kv[0])):
            for counter, style, suffix in (("corrected_p99_us", "-", "p99 corrected"),
                                           ("p99_us", ":", "p99 from actual send")):
                points = []
                for fraction, same in sorted(group(reps, lambda r: r.fraction).items()):
                    stats = summary(r.get(counter) for r in same)
                    if stats:
                        points.append((fraction, stats[0], stats[0] - stats[1],
                                       stats[2] - stats[0]))
                if not points:
                    continue
                xs, ys, below, above = zip(*points)
                ax.errorbar(xs, ys, yerr=[below, above], capsize=3, color=palette(backend),
                            linestyle=style, marker=palette.marker(backend),
                            label=_series_label(backend, result_set.label, len(sets) > 1)
                            + " " + suffix)
    ax.set_xlabel("offered load (% of the back end's closed-loop peak RT/s)")
    ax.set_ylabel("99th percentile round-trip time (µs)")
    ax.set_yscale("log")
    _plain_numbers(ax.yaxis)
    fractions = sorted({r.fraction for r in runs})
    ax.set_xticks(fractions)
    ax.set_xticklabels([f"{f:g}%" for f in fractions])
    ax.set_xlim(min(fractions) - 10, max(fractions) + 10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    _title(fig, "Open-loop tail latency vs offered load", sets,
           f"{clients} clients x {size} B, " + _window(runs))
    fig.tight_layout()
    return _save(fig, out_dir, f"latency-vs-load-c{clients}-s{size}")


def ablation_chart(sets, out_dir, palette):
    """One bar per variant (a technique switched off or on) per configuration: RT/s and server
    CPU per echo, with the ratio to the baseline written on each bar."""
    runs = [r for s in sets for r in s.echo if r.variant is not None]
    if not runs:
        return None
    variants = sorted({r.variant for r in runs}, key=variant_sort_key)
    configs = sorted(group(runs, lambda r: (r.backend, r.clients, r.size, r.load_label)))
    fig, axes = plt.subplots(1, 2, figsize=(max(9, 1.3 * len(variants) * len(configs) + 4),
                                            4.8))
    width = 0.8 / len(configs)
    for ax, counter, ylabel in ((axes[0], "rt_per_s", "round trips per second"),
                                (axes[1], "server_cpu_us_per_echo",
                                 "server CPU per echo (µs, lower is better)")):
        for ci, config in enumerate(configs):
            mine = [r for r in runs if (r.backend, r.clients, r.size, r.load_label) == config]
            stats = {v: summary(r.get(counter) for r in mine if r.variant == v)
                     for v in variants}
            base = next((stats[v][0] for v in variants
                         if variant_sort_key(v)[0] == 0 and stats[v]), None)
            label = f"{config[0]}, {config[1]} clients x {config[2]} B"
            for i, v in enumerate(variants):
                if not stats[v]:
                    continue
                x = i + (ci - (len(configs) - 1) / 2) * width
                med, lo, hi = stats[v]
                # One configuration: a colour per variant; several: a colour per config.
                ax.bar(x, med, width * 0.95, yerr=[[med - lo], [hi - med]], capsize=3,
                       color=palette(label) if len(configs) > 1 else palette("ablation:" + v),
                       label=label)
                label = None
                if base:
                    ax.annotate(f"{med / base:.2f}x", (x, hi), ha="center", va="bottom",
                                fontsize=7, xytext=(0, 2), textcoords="offset points")
        ax.set_xticks(range(len(variants)))
        ax.set_xticklabels(variants, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel(ylabel)
        _plain_numbers(ax.yaxis)
        ax.grid(True, axis="y", alpha=0.3)
        if len(configs) > 1:
            ax.legend(fontsize=7)
    axes[0].set_xlabel("variant (a technique switched off or on; ratio to baseline on bars)")
    axes[1].set_xlabel("variant")
    loads = ", ".join(sorted({f"{c[0]} {c[1]} clients x {c[2]} B, {c[3]}" for c in configs}))
    _title(fig, "Ablation: what each technique buys ("
           + ", ".join(sorted({c[0] for c in configs})) + ")", sets,
           loads + ", " + _window(runs))
    fig.tight_layout()
    return _save(fig, out_dir, "ablation")


def resolve_chart(sets, out_dir, palette):
    runs = [(s, r) for s in sets for r in s.resolve]
    if not runs:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    xlabels = set()
    mixed = len({r.concurrency_name for _, r in runs}) > 1  # threads and in-flight engines
    for index, result_set in enumerate(sets):
        mine = [r for s, r in runs if s is result_set]
        for (engine, cname), reps in sorted(group(mine, lambda r: (r.engine,
                                                                   r.concurrency_name)).items()):
            xlabels.add("threads" if cname == "threads" else "queries in flight")
            for ax, counter in ((axes[0], "names_per_s"), (axes[1], "client_cpu_us_per_name")):
                points = []
                for x, same in sorted(group(reps, lambda r: r.concurrency).items()):
                    stats = summary(r.get(counter) for r in same)
                    if stats:
                        points.append((x, stats[0], stats[0] - stats[1], stats[2] - stats[0]))
                if not points:
                    continue
                xs, ys, below, above = zip(*points)
                ax.errorbar(xs, ys, yerr=[below, above], capsize=3, marker="o",
                            color=palette("resolve:" + engine),
                            linestyle=LINESTYLES[index % len(LINESTYLES)],
                            label=engine + (f" ({cname})" if mixed else "")
                            + (f" ({result_set.label})" if len(sets) > 1 else ""))
    for ax, ylabel in ((axes[0], "names resolved per second"),
                       (axes[1], "client CPU per name (µs, lower is better)")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel(" / ".join(sorted(xlabels)) + " (log scale)")
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=0)
        _plain_numbers(ax.yaxis)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    ctx = runs[0][1].context
    reps = max(r.repetition for _, r in runs) + 1
    names = max(int(r.get("iterations", 0)) for _, r in runs)
    _title(fig, "Bulk name resolution vs concurrency", sets,
           f"{names:,} names ({os.path.basename(str(ctx.get('names_file', '?')))}) in the DNS "
           f"sandbox, median of {reps} repetition{'s' if reps != 1 else ''}"
           + (", bars min-max" if reps > 1 else ""))
    fig.tight_layout()
    return _save(fig, out_dir, "resolve")


def make_all(sets, out_dir, clients=None, size=None, log_latency=True):
    """Every chart the data allows; returns [(caption, png path)]."""
    palette = Palette()
    for backend in sorted({r.backend for s in sets for r in s.echo}, key=backend_sort_key):
        palette(backend)  # fixed order: the best back end gets the first colour and marker
        palette.marker(backend)
    charts = []
    for caption, png in (("Throughput vs clients", throughput_chart(sets, out_dir, palette)),
                         ("Server CPU per echo", cpu_chart(sets, out_dir, palette))):
        if png:
            charts.append((caption, png))
    clients, size = pick_load(sets, clients, size)
    if clients is not None:
        for load, png in spectrum_charts(sets, out_dir, palette, clients, size, log_latency):
            charts.append((f"Latency spectrum, {load}, {clients} clients x {size} B", png))
        png = latency_vs_load_chart(sets, out_dir, palette, clients, size)
        if png:
            charts.append((f"Open-loop p99 vs offered load, {clients} clients x {size} B", png))
    for caption, png in (("Ablation (one technique switched per variant)",
                          ablation_chart(sets, out_dir, palette)),
                         ("Name resolution", resolve_chart(sets, out_dir, palette))):
        if png:
            charts.append((caption, png))
    return charts
