"""Figure 6: hashing and zipping a local ``working_dir``, ours vs Ray's, time and memory.

The input is a deterministic mixed tree generated once into ``<work dir>/tree``: many small files
(1-8 KiB of seeded random bytes, in nested folders) and a few big ones (tens of MiB). Each repetition
is a fresh interpreter in the client's own clean venv (figure 2's) that computes the package URI and
then writes the zip to a new temporary file:

* ours: ``ray_jobs_client.packaging.get_uri_for_directory`` + ``write_directory_zip``;
* Ray's: ``ray._private.runtime_env.packaging.get_uri_for_directory`` + ``create_package``.

Time is measured inside the child around the two calls. Memory is the growth of the resident set
during the calls (peak ``VmHWM`` after resetting it through ``/proc/self/clear_refs``, minus the
resident size before), and, in one extra run per client with ``tracemalloc`` on (which slows
Python down, so it is not timed), the peak of Python allocations while hashing and while zipping.
The tree exceeds the server's
100 MiB upload limit on purpose: this figure is local only.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from .common import OURS, RAYS, Figure, Log, Summary, Table, Target, interleave, mib, ratio, run_json_child
from .install_size import Venvs, venv_python

#: argv = [implementation, tree, destination zip, "trace" or "time"]; prints one JSON object.
_CHILD = """
import json, os, sys, time
implementation, tree, dest, mode = sys.argv[1:5]

def status(field):
    with open("/proc/self/status") as lines:
        for line in lines:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)

if implementation == "ours":
    from ray_jobs_client.packaging import get_uri_for_directory, write_directory_zip

    def package_uri():
        return get_uri_for_directory(tree)

    def write_zip():
        with open(dest, "wb") as out:
            write_directory_zip(tree, out)
else:
    from pathlib import Path
    from ray._private.runtime_env.packaging import create_package, get_uri_for_directory

    def package_uri():
        return get_uri_for_directory(tree, include_gitignore=True)

    def write_zip():
        create_package(tree, Path(dest), include_gitignore=True)

if os.path.exists(dest):
    os.remove(dest)
rss_before = status("VmRSS")
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")  # reset VmHWM to the current RSS
if mode == "trace":
    import tracemalloc
    tracemalloc.start()
start = time.perf_counter()
uri = package_uri()
hashed = time.perf_counter()
traced_hash = None
if mode == "trace":
    traced_hash = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
write_zip()
zipped = time.perf_counter()
traced_zip = tracemalloc.get_traced_memory()[1] if mode == "trace" else None
print(json.dumps({
    "hash": hashed - start, "zip": zipped - hashed, "uri": uri, "size": os.path.getsize(dest),
    "rss_growth": status("VmHWM") - rss_before, "traced_hash": traced_hash, "traced_zip": traced_zip,
}))
os.remove(dest)
"""

IMPLEMENTATIONS = {OURS: "ours", RAYS: "ray"}

#: Python allocations allowed for streaming: a few 1 MiB read buffers…
CHUNK_ALLOWANCE = 4 * 2**20
#: …plus, while zipping, the per-entry bookkeeping of the zip's central directory.
ENTRY_ALLOWANCE = 1024


@dataclass(frozen=True)
class TreeSpec:
    """What to generate: ``small_files`` of ``small_min``-``small_max`` bytes and some big files."""

    small_files: int = 20_000
    small_min: int = 1024
    small_max: int = 8192
    files_per_folder: int = 100
    big_files: tuple[int, ...] = (25 * 2**20, 35 * 2**20, 50 * 2**20)
    seed: int = 20240601

    def scaled(self, factor: float) -> TreeSpec:
        """A smaller tree of the same shape (for quick development runs)."""
        return TreeSpec(
            small_files=max(10, int(self.small_files * factor)),
            big_files=tuple(max(2**20, int(size * factor)) for size in self.big_files),
            seed=self.seed,
        )


def ensure_tree(work_dir: Path, spec: TreeSpec, log: Log) -> tuple[Path, int, int]:
    """Generate the tree once per spec; return its path, total bytes and file count."""
    tree = work_dir / "tree"
    marker = work_dir / "tree.json"  # beside the tree, not in it: it must not change the hash
    wanted = json.dumps(asdict(spec))
    if not (tree.is_dir() and marker.exists() and marker.read_text() == wanted):
        log(f"generating the packaging tree ({spec.small_files} small files, {len(spec.big_files)} big ones)")
        shutil.rmtree(tree, ignore_errors=True)
        marker.unlink(missing_ok=True)
        _generate(tree, spec)
        marker.write_text(wanted)
    files = [path for path in tree.rglob("*") if path.is_file()]
    return tree, sum(path.stat().st_size for path in files), len(files)


def _generate(tree: Path, spec: TreeSpec) -> None:
    rng = random.Random(spec.seed)
    for index in range(spec.small_files):
        folder = index // spec.files_per_folder
        path = tree / "src" / f"pkg{folder // 20:03d}" / f"mod{folder % 20:02d}" / f"file{index:05d}.dat"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(rng.randint(spec.small_min, spec.small_max)))
    data = tree / "data"
    data.mkdir(parents=True, exist_ok=True)
    for index, size in enumerate(spec.big_files):
        with (data / f"blob{index}.bin").open("wb") as out:
            left = size
            while left:
                chunk = min(left, 4 * 2**20)
                out.write(rng.randbytes(chunk))
                left -= chunk


def measure(venvs: Venvs, work_dir: Path, spec: TreeSpec, repetitions: int, log: Log) -> Figure:
    """Time and memory of both implementations on the generated tree, interleaved."""
    tree, total, files = ensure_tree(work_dir, spec, log)
    scratch = work_dir / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    pythons = {OURS: venv_python(venvs.ours), RAYS: venv_python(venvs.ray)}
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in IMPLEMENTATIONS}

    def child(name: str, mode: str) -> dict[str, Any]:
        dest = scratch / f"{IMPLEMENTATIONS[name]}.zip"
        args = (IMPLEMENTATIONS[name], str(tree.absolute()), str(dest.absolute()), mode)
        return run_json_child(_CHILD, *args, python=pythons[name], timeout=600)

    def timed(name: str) -> float:
        result = child(name, "time")
        results[name].append(result)
        return float(result["hash"]) + float(result["zip"])

    for name in IMPLEMENTATIONS:  # warm-up: the page cache holds the tree for every measured run
        child(name, "time")
    samples = interleave({name: partial(timed, name) for name in IMPLEMENTATIONS}, repetitions)
    traced = {name: child(name, "trace") for name in IMPLEMENTATIONS}

    stats = {name: Summary.of(values) for name, values in samples.items()}
    table = Table(
        [
            "implementation",
            "hash (s)",
            "zip (s)",
            "total (s)",
            "total min-max (s)",
            "vs Ray's",
            "RSS growth",
            "Python peak: hashing",
            "Python peak: zipping",
        ]
    )
    for name, summary in stats.items():
        runs = results[name]
        table.add(
            name,
            f"{Summary.of(_floats(runs, 'hash')).median:.2f}",
            f"{Summary.of(_floats(runs, 'zip')).median:.2f}",
            f"{summary.median:.2f}",
            summary.range(1, 2),
            ratio(summary.median, stats[RAYS].median),
            mib(max(_floats(runs, "rss_growth"))),
            mib(float(traced[name]["traced_hash"])),
            mib(float(traced[name]["traced_zip"])),
        )
    uris = {str(run["uri"]) for runs in results.values() for run in runs}
    sizes = {int(run["size"]) for runs in results.values() for run in runs}
    same = len(uris) == 1 and len(sizes) == 1
    hashing_peak = float(traced[OURS]["traced_hash"])
    zipping_peak = float(traced[OURS]["traced_zip"])
    per_entry = max(0.0, zipping_peak - hashing_peak) / files
    bounded = hashing_peak <= CHUNK_ALLOWANCE and zipping_peak <= CHUNK_ALLOWANCE + ENTRY_ALLOWANCE * files
    return Figure(
        title="6. Packaging a working_dir: hashing and zipping",
        method=(
            f"A {mib(total)} tree of {files} files ({spec.small_files} of "
            f"{spec.small_min // 1024}-{spec.small_max // 1024} KiB, {len(spec.big_files)} of "
            + ", ".join(mib(size) for size in spec.big_files)
            + f"), page cache warm; {repetitions} fresh processes per implementation, alternating. "
            + "RSS growth is the worst run's."
        ),
        tables=[table],
        targets=[
            Target(
                "packaging time",
                "≤ Ray's",
                f"{stats[OURS].median:.2f} s vs Ray's {stats[RAYS].median:.2f} s",
                stats[OURS].median <= stats[RAYS].median,
            ),
            Target(
                "packaging memory",
                f"bounded by the chunk size, not by the {mib(total)} of data (Python peak ≤ "
                f"{mib(CHUNK_ALLOWANCE)} hashing, plus ≤ {ENTRY_ALLOWANCE // 1024} KiB per zip entry "
                "zipping)",
                f"{mib(hashing_peak)} hashing, {mib(zipping_peak)} zipping",
                bounded,
            ),
        ],
        notes=[
            "Both implementations produced the same URI and the same zip size: "
            + (f"`{uris.pop()}`, {mib(sizes.pop())}." if same else f"**no**: {uris}, {sizes}."),
            f"Memory: files are read in 1 MiB chunks, for hashing and for zipping. Zipping adds about "
            f"{per_entry / 1024:.2f} KiB per file ({files} here): Python's `zipfile` keeps one `ZipInfo` per "
            "entry until it writes the central directory at the end, as Ray's zipping does too. The file "
            "contents themselves are streamed, so the peak does not grow with the size of the files.",
        ],
    )


def _floats(runs: list[dict[str, Any]], key: str) -> list[float]:
    return [float(run[key]) for run in runs]
