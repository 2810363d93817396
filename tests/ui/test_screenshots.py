"""The README's screenshots exist and were taken by the current tours
(tools/screenshots.py), and that check fails when they were not."""

import json
import shutil
from pathlib import Path

import pytest
import screenshots as tool  # tools/, on the path of tools/test.sh

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def copy(tmp_path):
    """The files the check reads, in a folder of their own."""
    for relative in (
        "README.rst",
        tool.SCREENSHOT_DIR,
        "static/src/js/tours",
        "tests/ui/test_tour_scenarios.py",
        "tests/portal/test_portal_tour.py",
    ):
        source, target = ROOT / relative, tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy(source, target)
    return tmp_path


def test_readme_screenshots_were_taken_by_the_current_tours():
    assert tool.problems(ROOT) == []
    assert len(tool.readme_images(ROOT)) >= 10


def test_the_copy_passes(copy):
    assert tool.problems(copy) == []


def test_a_missing_image_fails(copy):
    (copy / tool.SCREENSHOT_DIR / "overview.png").unlink()
    assert any(
        "overview.png" in problem and "no such file" in problem
        for problem in tool.problems(copy)
    )


def test_an_image_not_taken_by_a_tour_fails(copy):
    readme = copy / "README.rst"
    readme.write_text(
        readme.read_text() + f"\n.. image:: {tool.SCREENSHOT_DIR}/drawn_by_hand.png\n"
    )
    shutil.copy(
        copy / tool.SCREENSHOT_DIR / "overview.png",
        copy / tool.SCREENSHOT_DIR / "drawn_by_hand.png",
    )
    problems = tool.problems(copy)
    assert any("drawn_by_hand.png: no tour" in problem for problem in problems)
    assert any("drawn_by_hand.png: not taken by any tour" in p for p in problems)


def test_an_image_replaced_by_hand_fails(copy):
    image = copy / tool.SCREENSHOT_DIR / "overview.png"
    image.write_bytes(image.read_bytes() + b"\0")
    assert any(
        "overview.png: the file is not the picture" in problem
        for problem in tool.problems(copy)
    )


def test_a_changed_tour_fails(copy):
    manifest = tool.load_manifest(copy)
    tour_file = copy / manifest["overview.png"]["tour_file"]
    tour_file.write_text(tour_file.read_text().replace("Carrier", "Courier"))
    problems = tool.problems(copy)
    assert any("overview.png: tour" in problem for problem in problems)
    assert not any("warehouse_endpoint.png" in problem for problem in problems)


def test_a_changed_test_fails(copy):
    test = copy / "tests/ui/test_tour_scenarios.py"
    test.write_text(test.read_text() + "\n# another scene\n")
    manifest = json.loads((copy / tool.MANIFEST).read_text())
    taken_by_it = [
        name
        for name, entry in manifest.items()
        if "tests/ui/test_tour_scenarios.py" in entry["sources"]
    ]
    assert taken_by_it
    assert len(tool.problems(copy)) == len(taken_by_it)


def test_a_screenshot_step_removed_from_its_tour_fails(copy):
    manifest = tool.load_manifest(copy)
    tour_file = copy / manifest["overview.png"]["tour_file"]
    tour_file.write_text(tour_file.read_text().replace('"overview"', '"summary"'))
    assert any(
        "overview.png: its tour no longer takes it" in problem
        for problem in tool.problems(copy)
    )
