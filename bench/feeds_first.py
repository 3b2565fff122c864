"""Feeds before print: how long until a release's feeds are public, against the whole release
with its printed directories, measured in the same build ("publish now" at 1,000 listings),
and the peak RSS of the build's process and of the largest process it started (the renderers
and assemblers of the print).

    PYTHONPATH=$PWD .venv/bin/python bench/feeds_first.py [--size 1000] [--repeat 1]

Creates and drops its own database (registry_bench_<pid>) on 127.0.0.1:5432. The release's
feeds are public at the builder's last feed step, "release <n> is current" (`current` has
switched; checked below), so the ratio is what a downstream site waits, against what it
waited when the release went public only after its PDFs."""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from publish import change_one_listing, demo_app, grow_to  # noqa: E402 - the generator of bench/publish.py


def peak_mb() -> int:
    """This process's peak RSS since `reset_peak()` (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return 0


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # Linux: VmHWM starts again from VmRSS


def children_peak_mb() -> int:
    """The peak RSS of the largest process this one started (and waited for) so far."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024  # kilobytes


def one_release(app, root: Path) -> tuple[float, float, int]:
    from models import db
    from tasks.publishing.builder import build_release, current_number

    marks: dict[str, float] = {}

    def progress(step: int, total: int, label: str) -> None:
        if label.endswith("is current") and "feeds" not in marks:  # the feeds' last step
            marks["feeds"] = time.perf_counter()
            marks["current"] = current_number(root)

    with app.app_context():
        change_one_listing()
        reset_peak()
        t = time.perf_counter()
        result = build_release("manual", progress=progress)
        total = time.perf_counter() - t
        assert result.status == "published", result
        assert marks["current"] == result.number, "the feeds were not current when print began"
        assert (root / "releases" / str(result.number) / "print.json").exists()
        db.session.remove()
    return marks["feeds"] - t, total, result.number


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="releases after one change each (the median is reported; the machine is noisy)",
    )
    args = ap.parse_args()
    from models import db

    with demo_app() as app:
        app.config["PUBLISH_PDFS"] = True
        with app.app_context():
            count = grow_to(args.size)
            db.session.remove()
        root = Path(app.config["RELEASES_DIR"])
        first_feeds, first_total, _ = one_release(app, root)  # every PDF rendered
        first_peak, first_children = peak_mb(), children_peak_mb()
        after = []  # after one change each: unchanged PDFs reused
        peak = 0
        for _ in range(max(1, args.repeat)):
            after.append(one_release(app, root)[:2])
            peak = max(peak, peak_mb())
        children = children_peak_mb()
        feeds, total = (
            statistics.median(f for f, _ in after),
            statistics.median(t for _, t in after),
        )
        print(
            f"{count} listings, first release: feeds public after {first_feeds:6.2f} s, "
            f"whole release {first_total:6.2f} s -> feeds/whole {first_feeds / first_total:5.2f}"
        )
        print(
            f"{count} listings, after one change (median of {len(after)}): feeds public after "
            f"{feeds:6.2f} s, whole release {total:6.2f} s -> feeds/whole {feeds / total:5.2f}"
        )
        if len(after) > 1:
            print(
                "    releases after one change: "
                + ", ".join(f"{t:.2f}" for _, t in sorted(after, key=lambda a: a[1]))
                + " s"
            )
        print(
            f"{count} listings, peak RSS: first release: the build {first_peak} MB, its "
            f"largest child {first_children} MB; after one change: the build {peak} MB, the "
            f"largest child of both releases {children} MB"
        )
        print(
            f"{count} listings: the release after one change took "
            f"{100 * total / first_total:.1f} % of a full release"
        )


if __name__ == "__main__":
    sys.exit(main())
