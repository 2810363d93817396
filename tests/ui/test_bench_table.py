"""``make bench`` writes the table of a whole run into readme/BENCHMARKS.rst
between two comment lines, and leaves the prose around them as written."""

import importlib.util
from pathlib import Path

import docutils.core
import docutils.utils

ROOT = Path(__file__).resolve().parents[2]


def _context():
    spec = importlib.util.spec_from_file_location(
        "bench_context", ROOT / "bench" / "context.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_whole_run_rewrites_only_the_figures(tmp_path):
    context = _context()
    readme = tmp_path / "BENCHMARKS.rst"
    original = (ROOT / "readme" / "BENCHMARKS.rst").read_text()
    readme.write_text(original)
    figures = [
        context.Figure(
            "claim query, 1,000,000 / 10,000 queued rows",
            0.97,
            goal="<= 2.00",
            met=True,
        ),
        context.Figure(
            "rate-limit decision p99", 0.61, unit="ms", goal="<= 0.5 ms", met=False
        ),
    ]
    started = (2026, 12, 3, 15, 2, 0, 3, 337, 0)
    context.write_readme(figures, started, 731.4, "2 CPUs (test), load 3.1", readme)
    written = readme.read_text()

    before, _sep, after = original.partition(context.README_START)
    assert written.startswith(before)
    assert written.endswith(after.partition(context.README_END)[2])
    block = written[len(before) :].partition(context.README_END)[0]
    said = " ".join(block.split())
    assert "One ``make bench`` run started 2026-12-03 15:02 UTC, 731 s, on" in said
    assert "2 CPUs (test), load 3.1 at its end." in said
    assert "claim query, 1,000,000 / 10,000 queued rows" in block
    assert "NO" in block.splitlines()[-3]  # the unmet figure's row
    # Still a table that renders, twice over (the markers stay).
    context.write_readme(figures, started, 731.4, "again", readme)
    assert readme.read_text().count(context.README_START) == 1
    docutils.core.publish_doctree(
        readme.read_text(),
        settings_overrides={
            "report_level": docutils.utils.Reporter.INFO_LEVEL + 1,
            "halt_level": docutils.utils.Reporter.WARNING_LEVEL,
        },
    )
