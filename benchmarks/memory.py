"""Figure 1b: peak memory (RSS) of a process that constructs a client and submits one job.

Each repetition is a fresh interpreter in the client's own clean venv (figure 2's) that imports the
client, constructs it against the head, submits ``echo hi`` and reports its own peak resident set
size (``VmHWM`` from ``/proc/self/status``, or ``ru_maxrss`` elsewhere), also read right after the
import. Ours and Ray's alternate.
"""

from __future__ import annotations

from functools import partial

from .common import OURS, RAYS, Figure, Summary, Table, Target, interleave, mib, run_json_child
from .install_size import Venvs, venv_python

#: The child: argv = [module, class name, address]. Prints {"import": bytes, "peak": bytes}.
_CHILD = """
import importlib, json, resource, sys

def peak():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

module, name, address = sys.argv[1:4]
cls = getattr(importlib.import_module(module), name)
after_import = peak()
client = cls(address)
client.submit_job(entrypoint="echo hi")
print(json.dumps({"import": after_import, "peak": peak()}))
"""

#: The child for the breakdown: argv = [address, module…, "--", on-demand module…]. Prints the resident
#: size after each step, cumulative: the imports every program makes, the submit, then the modules
#: only some programs load later (packaging, the async client, log following).
_STEPS_CHILD = """
import importlib, json, sys

def rss():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024

address = sys.argv[1]
split = sys.argv.index("--")
modules, on_demand = sys.argv[2:split], sys.argv[split + 1:]
steps = {"bare interpreter": rss()}
for module in modules:
    importlib.import_module(module)
    steps[module] = rss()
from ray_jobs_client import JobSubmissionClient
JobSubmissionClient(address).submit_job(entrypoint="echo hi")
steps["client constructed, one job submitted"] = rss()
for module in on_demand:
    importlib.import_module(module)
    steps[module] = rss()
print(json.dumps(steps))
"""

#: Imported in this order, so that each line adds only what the lines above did not already load.
BREAKDOWN = (
    "ssl",
    "httpx",
    "attrs",
    "ray_jobs_api.models",
    "ray_jobs_client",
)
#: Loaded on first use, after the submit: not part of the peak of a plain sync submit.
ON_DEMAND = (
    "ray_jobs_client.runtime_env",
    "asyncio",
    "httpx_ws",
)
_WHY = {
    "ssl": "OpenSSL, loaded by httpx at import",
    "httpx": "httpx, httpcore, h11, idna, certifi; `http`, `email`, `urllib` from the standard library",
    "asyncio": "on demand: the event loop machinery, for the async client",
    "httpx_ws": "on demand: the log WebSocket (`httpx_ws`, `anyio`, `wsproto`), for following logs",
    "attrs": "attrs, for the generated and public models",
    "ray_jobs_api.models": "the generated models",
    "ray_jobs_client": "our wrapper (and the generated endpoints it imports)",
    "ray_jobs_client.runtime_env": "on demand: runtime_env checks and packaging (`pathspec`, `zipfile`, "
    "`tempfile`), for a submit with a `runtime_env`",
}

TARGET_SHARE = 0.30

CLIENTS = {
    OURS: "ray_jobs_client",
    RAYS: "ray.job_submission",
}


def measure(venvs: Venvs, address: str, repetitions: int) -> Figure:
    """Peak RSS of ``repetitions`` submitting processes per client, interleaved."""
    pythons = {OURS: venv_python(venvs.ours), RAYS: venv_python(venvs.ray)}
    after_import: dict[str, list[float]] = {name: [] for name in CLIENTS}

    def child(name: str) -> float:
        result = run_json_child(_CHILD, CLIENTS[name], "JobSubmissionClient", address, python=pythons[name])
        after_import[name].append(float(result["import"]))
        return float(result["peak"])

    samples = interleave({name: partial(child, name) for name in CLIENTS}, repetitions)
    stats = {name: Summary.of(values) for name, values in samples.items()}
    imports = {name: Summary.of(values) for name, values in after_import.items()}
    rays = stats[RAYS].median
    table = Table(
        ["client", "peak RSS after the import", "peak RSS after construct + submit", "min-max", "vs Ray's"]
    )
    for name, summary in stats.items():
        table.add(
            name,
            mib(imports[name].median),
            mib(summary.median),
            f"{summary.low / 2**20:.1f}-{summary.high / 2**20:.1f} MiB",
            f"{summary.median / rays:.0%}",
        )
    breakdown, steps = _breakdown(venvs, address, runs=3)
    floor = steps["httpx"]
    ours_on_top = steps["ray_jobs_client"] - floor
    submit = steps["client constructed, one job submitted"] - steps["ray_jobs_client"]
    on_demand = steps["httpx_ws"] - steps["client constructed, one job submitted"]
    share = stats[OURS].median / rays
    return Figure(
        title="1b. Peak memory of a process that submits one job",
        method=(
            f"{repetitions} fresh processes per client, alternating, each in the client's own clean venv: "
            'import, construct against the head, `submit_job(entrypoint="echo hi")`, then read the peak '
            "resident set size (`VmHWM`)."
        ),
        tables=[table, breakdown],
        targets=[Target("peak RSS", "≤ 30% of Ray's", f"{share:.0%} of Ray's", share <= TARGET_SHARE)],
        notes=[
            ("**Why we miss the RSS target**: " if share > TARGET_SHARE else "**Where the floor is**: ")
            + f"30% of Ray's peak is {mib(TARGET_SHARE * rays)}, while a bare "
            f"interpreter with OpenSSL (which httpx loads at import) and httpx itself already take "
            f"{mib(floor)} (table above): whatever an httpx-based client adds must fit in the "
            f"difference. On top of that floor, attrs, the generated models and our wrapper add "
            f"{mib(ours_on_top)} and constructing the client and submitting (a connection, a TLS context) "
            f"{mib(submit)}. What only some programs need is already loaded on first use and not in this "
            f"peak: packaging (a `runtime_env`), `asyncio` and the WebSocket stack ({mib(on_demand)} "
            "together). Reaching 30% would take a lighter HTTP stack than httpx."
        ],
    )


def _breakdown(venvs: Venvs, address: str, runs: int) -> tuple[Table, dict[str, float]]:
    """Where our resident size comes from, import by import (median of ``runs`` fresh processes).

    Returns the table and the median resident size after each step (bytes).
    """
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        steps = run_json_child(
            _STEPS_CHILD, address, *BREAKDOWN, "--", *ON_DEMAND, python=venv_python(venvs.ours)
        )
        for step, value in steps.items():
            samples.setdefault(step, []).append(float(value))
    table = Table(
        ["step (cumulative)", "RSS", "added", "what"],
        caption=f"Where our memory goes: resident size after each import, in order (clean venv, median of "
        f"{runs} processes):",
    )
    previous = 0.0
    for step, values in samples.items():
        value = Summary.of(values).median
        label = (
            step
            if step in ("bare interpreter", "client constructed, one job submitted")
            else f"`import {step}`"
        )
        table.add(
            label,
            mib(value),
            "" if not previous else f"+{(value - previous) / 2**20:.1f} MiB",
            _WHY.get(step, ""),
        )
        previous = value
    return table, {step: Summary.of(values).median for step, values in samples.items()}
