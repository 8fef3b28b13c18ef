"""Summary tables over repetitions, as plain text (terminal) or Markdown (report)."""

from .results import backend_sort_key, group, summary

MODEL_ORDER = {"closed": 0, "open": 1, "stream": 2}


def run_order(run):
    """Closed loop first, then open by offered load, then ablation; within each by size,
    clients, back end (best first)."""
    return (run.variant is not None, run.variant or "", MODEL_ORDER.get(run.load_model, 3),
            run.fraction or 0, run.rate if run.fraction is None else 0, run.size, run.clients,
            backend_sort_key(run.backend))


def echo_rows(result_set):
    """{key: stats} per benchmark key, medians over repetitions (min-max for RT/s)."""
    rows = {}
    ordered = sorted(result_set.echo, key=run_order)
    for key, runs in group(ordered, lambda r: r.key).items():
        def med(counter):
            s = summary(r.get(counter) for r in runs)
            return s[0] if s else None
        rows[key] = {
            "run": runs[0],
            "n": len(runs),
            "rt": summary(r.get("rt_per_s") for r in runs),
            "p50": med("p50_us"), "p99": med("p99_us"), "p999": med("p99.9_us"),
            "cp99": med("corrected_p99_us"), "cp999": med("corrected_p99.9_us"),
            "srv": med("server_cpu_us_per_echo"), "cli": med("client_cpu_us_per_rt"),
            "busy": max((r.get("client_busy", 0) for r in runs), default=0),
            "errors": sum(int(r.get("errors", 0)) for r in runs),
            "offered": runs[0].rate if runs[0].load_model == "open" else None,
        }
    return rows


def resolve_rows(result_set):
    rows = {}
    for key, runs in group(sorted(result_set.resolve, key=lambda r: (r.engine, r.concurrency)),
                           lambda r: (r.engine, r.concurrency_name, r.concurrency)).items():
        rows[key] = {
            "n": len(runs),
            "nps": summary(r.get("names_per_s") for r in runs),
            "p99": summary(r.get("p99_us") for r in runs),
            "cpu": summary(r.get("client_cpu_us_per_name") for r in runs),
            "errors": sum(int(r.get("errors", 0)) for r in runs),
            "mismatches": sum(int(r.get("mismatches", 0)) for r in runs),
        }
    return rows


def num(value, digits=0):
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def ratio(old, new):
    if old is None or new is None or old == 0:
        return "-"
    return f"{new / old:.3f}"


def render(headers, rows, markdown=False):
    """Right-aligned columns except the first; Markdown pipes when asked."""
    rows = [[str(c) for c in row] for row in rows]
    if markdown:
        lines = ["| " + " | ".join(headers) + " |",
                 "|" + "|".join(["---"] + ["---:"] * (len(headers) - 1)) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    def line(cells):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def echo_table(result_set, markdown=False, model=None, ablation=False):
    """The medians of one result folder; MODEL filters closed/open, ABLATION the variants."""
    headers = ["benchmark", "reps", "RT/s", "[min-max]", "p50 µs", "p99 µs", "p99.9 µs",
               "srv µs/echo", "cli µs/rt", "errors"]
    open_loop = model == "open"
    if open_loop:
        headers[2:4] = ["offered RT/s", "RT/s"]
        headers[6:7] = ["p99 µs corr.", "p99.9 µs corr."]
    rows = []
    for key, s in echo_rows(result_set).items():
        run = s["run"]
        if (model and run.load_model != model) or ((run.variant is not None) != ablation):
            continue
        rt = s["rt"]
        name = key + (" (client-bound)" if s["busy"] > 0.9 and run.load_model != "stream"
                      else "")
        if open_loop:
            cells = [name, s["n"], num(s["offered"]), num(rt[0]), num(s["p50"], 1),
                     num(s["p99"], 1), num(s["cp99"], 1), num(s["cp999"], 1)]
        else:
            cells = [name, s["n"], num(rt[0]), f"[{num(rt[1])}-{num(rt[2])}]",
                     num(s["p50"], 1), num(s["p99"], 1), num(s["p999"], 1)]
        rows.append(cells + [num(s["srv"], 2), num(s["cli"], 2), s["errors"]])
    return render(headers, rows, markdown) if rows else ""


def headline_table(result_set, size, markdown=False):
    """Closed loop at one message size: a row per client count, RT/s and server CPU per
    echo per back end (medians), and io_uring's ratios to epoll when both ran."""
    cells = {}
    backends = []
    for s in echo_rows(result_set).values():
        run = s["run"]
        if run.load_model != "closed" or run.variant is not None or run.size != size:
            continue
        cells[(run.clients, run.backend)] = s
        if run.backend not in backends:
            backends.append(run.backend)
    if not cells:
        return ""
    backends.sort(key=backend_sort_key)
    both = "uring" in backends and "epoll" in backends
    headers = ["clients"] + [f"{b} RT/s" for b in backends] + [f"{b} srv µs/echo" for b in backends]
    if both:
        headers += ["uring/epoll RT/s", "epoll/uring CPU"]
    rows = []
    for clients in sorted({c for c, _ in cells}):
        row = [f"{clients:,}"]
        row += [num(cells[(clients, b)]["rt"][0]) + ("*" if cells[(clients, b)]["errors"] else "")
                if (clients, b) in cells else "-" for b in backends]
        row += [num(cells[(clients, b)]["srv"], 2) if (clients, b) in cells else "-"
                for b in backends]
        if both:
            u, e = cells.get((clients, "uring")), cells.get((clients, "epoll"))
            row += [ratio(e["rt"][0], u["rt"][0]) if u and e else "-",
                    ratio(u["srv"], e["srv"]) if u and e else "-"]
        rows.append(row)
    return render(headers, rows, markdown)


def resolve_table(result_set, markdown=False):
    headers = ["engine", "concurrency", "reps", "names/s", "[min-max]", "p99 µs",
               "cpu µs/name", "errors", "mismatches"]
    rows = []
    for (engine, cname, x), s in resolve_rows(result_set).items():
        nps = s["nps"]
        rows.append([engine, f"{cname} {x}", s["n"], num(nps[0]),
                     f"[{num(nps[1])}-{num(nps[2])}]", num(s["p99"] and s["p99"][0], 1),
                     num(s["cpu"] and s["cpu"][0], 1), s["errors"], s["mismatches"]])
    return render(headers, rows, markdown) if rows else ""


def compare_table(old, new, markdown=False):
    """Per benchmark key present in either folder: median RT/s old/new/ratio, server CPU
    per echo and p99 (corrected for open loop, where it is the honest figure)."""
    a, b = echo_rows(old), echo_rows(new)
    keys = list(a) + [k for k in b if k not in a]
    headers = ["benchmark", "RT/s old", "RT/s new", "new/old", "srv µs/echo old",
               "srv µs/echo new", "new/old", "p99 µs old", "p99 µs new", "new/old"]
    rows = []
    for key in keys:
        x, y = a.get(key, {}), b.get(key, {})
        def get(s, field):
            if not s:
                return None
            if field == "rt":
                return s["rt"][0]
            if field == "p99" and s["run"].load_model == "open" and s["cp99"] is not None:
                return s["cp99"]
            return s[field]
        rows.append([key] + [c for field, digits in (("rt", 0), ("srv", 2), ("p99", 1))
                             for c in (num(get(x, field), digits), num(get(y, field), digits),
                                       ratio(get(x, field), get(y, field)))])
    return render(headers, rows, markdown)


def compare_resolve_table(old, new, markdown=False):
    a, b = resolve_rows(old), resolve_rows(new)
    headers = ["engine", "concurrency", "names/s old", "names/s new", "new/old",
               "cpu µs/name old", "cpu µs/name new", "new/old"]
    rows = []
    for key in list(a) + [k for k in b if k not in a]:
        x, y = a.get(key), b.get(key)
        def get(s, field):
            return s[field][0] if s and s[field] else None
        rows.append([key[0], f"{key[1]} {key[2]}"] + [
            c for field, digits in (("nps", 0), ("cpu", 1))
            for c in (num(get(x, field), digits), num(get(y, field), digits),
                      ratio(get(x, field), get(y, field)))])
    return render(headers, rows, markdown) if rows else ""
