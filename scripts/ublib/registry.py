"""The echo back ends as the build knows them: `echo_server --list-backends --json`.

The scripts name no back end and scrape no help text: which back ends exist, which are
available here (and why not), their flags and their ablation steps all come from that
JSON, one object per back end in the registry's order (best first):

    {"name", "available", "why_not", "description", "details",
     "flags": [{"name", "takes_value", "help", "negation", "default"}],
     "ablation": [{"name", "flags": [...]}],
     "ablation_load": {"clients": N, "size": BYTES}}      (optional)

`ablation_load` is the load a back end wants its ablation measured at; without it the
scripts use DEFAULT_ABLATION_LOAD.
"""

import json
import os
import subprocess
from dataclasses import dataclass, field

# 100 connections x 64 B: the README's comparison point, where per-echo overheads (what the
# ablation switches change) dominate and the kernel's copy cost does not.
DEFAULT_ABLATION_LOAD = (100, 64)


class RegistryError(Exception):
    """The registry could not be read; str() says from where and why."""


@dataclass
class Backend:
    name: str
    available: bool
    why_not: str = ""
    description: str = ""
    details: str = ""
    flags: list = field(default_factory=list)
    ablation: list = field(default_factory=list)  # [(step name, [flags])]
    ablation_load: tuple = None                   # (clients, size) or None

    def load(self):
        """(clients, size) for this back end's ablation."""
        return self.ablation_load or DEFAULT_ABLATION_LOAD


def parse(text, source="echo_server --list-backends --json"):
    """[Backend] from the JSON text, in its order; RegistryError when it is not that."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise RegistryError(f"{source}: not valid JSON ({e.msg}, line {e.lineno})") from None
    if isinstance(doc, dict) and isinstance(doc.get("backends"), list):
        doc = doc["backends"]  # tolerate a wrapping object
    if not isinstance(doc, list):
        raise RegistryError(f"{source}: want a list of back ends")
    backends = []
    for i, row in enumerate(doc):
        if not isinstance(row, dict) or not isinstance(row.get("name"), str) or not row["name"]:
            raise RegistryError(f"{source}: entry {i} has no name")
        steps = []
        for step in row.get("ablation") or []:
            flags = step.get("flags") if isinstance(step, dict) else None
            if not isinstance(step.get("name") if isinstance(step, dict) else None, str) or \
                    not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
                raise RegistryError(f"{source}: {row['name']}: ablation step {step!r} is not "
                                    "{name, flags: [strings]}")
            steps.append((step["name"], list(flags)))
        load = row.get("ablation_load")
        if load is not None:
            try:
                load = (int(load["clients"]), int(load["size"]))
            except (TypeError, KeyError, ValueError):
                raise RegistryError(f"{source}: {row['name']}: ablation_load {load!r} is not "
                                    "{clients, size}") from None
        backends.append(Backend(name=row["name"], available=bool(row.get("available")),
                                why_not=str(row.get("why_not") or ""),
                                description=str(row.get("description") or ""),
                                details=str(row.get("details") or ""),
                                flags=list(row.get("flags") or []), ablation=steps,
                                ablation_load=load))
    if not backends:
        raise RegistryError(f"{source}: no back ends listed")
    return backends


def load(echo_server):
    """Runs ECHO_SERVER --list-backends --json; RegistryError when it cannot."""
    if not os.access(echo_server, os.X_OK):
        raise RegistryError(f"{echo_server}: not built")
    try:
        p = subprocess.run([echo_server, "--list-backends", "--json"], capture_output=True,
                           text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as e:
        raise RegistryError(f"{echo_server} --list-backends --json: {e}") from None
    if p.returncode != 0:
        raise RegistryError(f"{echo_server} --list-backends --json: exit {p.returncode}: "
                            f"{p.stderr.strip()[:300]}")
    return parse(p.stdout, f"{echo_server} --list-backends --json")


def select(backends, spec):
    """The back ends SPEC names (a comma list, or 'all'), split into (available,
    [(name, why not)]): 'all' is every back end the registry lists; a name it does not
    list is unavailable with that reason."""
    by_name = {b.name: b for b in backends}
    names = [b.name for b in backends] if spec == "all" else \
        [n.strip() for n in spec.split(",") if n.strip()]
    available, unavailable = [], []
    for name in names:
        b = by_name.get(name)
        if b is None:
            unavailable.append((name, "not in the registry (known: "
                                      + ", ".join(by_name) + ")"))
        elif not b.available:
            unavailable.append((name, b.why_not or "unavailable"))
        elif b not in available:
            available.append(b)
    return available, unavailable
