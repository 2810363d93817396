"""The screenshots of the documentation and the tours that take them.

The browser tours of tests/ui/test_tour_scenarios.py save pictures of the
screens they go through; README.rst shows them. The manifest beside the
pictures says which tour and step took each one, and from which sources (the
tour, the test that runs it, the screenshot helper), with their digest at the
time. A picture is current while those sources are unchanged:

    python tools/screenshots.py          lists what is wrong; exits 1 if anything

Pictures are (re)taken by running the tours with IG_UPDATE_SCREENSHOTS=1
(``make screenshots``).
"""

import hashlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT_DIR = "static/description/screenshots"
MANIFEST = f"{SCREENSHOT_DIR}/manifest.json"
HELPER = "static/src/js/tours/screenshot.js"

# ``.. image:: path`` and ``.. figure:: path`` in reStructuredText.
_IMAGE_DIRECTIVE = re.compile(r"^\s*\.\. (?:image|figure):: *(\S+)\s*$", re.MULTILINE)
_NAME = re.compile(r"^[a-z0-9_]+\.png$")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def sources_digest(root, sources):
    """One digest of the files ``sources`` (paths relative to ``root``), in
    that order, each with its name, so that moving text between them counts."""
    digest = hashlib.sha256()
    for source in sources:
        digest.update(source.encode() + b"\0")
        digest.update((root / source).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def load_manifest(root=ROOT):
    path = root / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else {}


def readme_images(root=ROOT):
    """The image paths README.rst shows, in order."""
    return _IMAGE_DIRECTIVE.findall((root / "README.rst").read_text())


def problems(root=ROOT):
    """What makes the README's screenshots wrong or stale, as sentences;
    empty when every picture it shows was taken by the current tours."""
    found = []
    manifest = load_manifest(root)
    images = readme_images(root)
    if not images:
        found.append("README.rst shows no screenshot")
    for image in images:
        path = root / image
        if not path.is_file():
            found.append(f"{image}: README.rst shows it, but there is no such file")
            continue
        if not image.startswith(f"{SCREENSHOT_DIR}/"):
            continue
        name = image.removeprefix(f"{SCREENSHOT_DIR}/")
        entry = manifest.get(name)
        if entry is None:
            found.append(f"{image}: no tour is recorded as having taken it")
            continue
        found.extend(f"{image}: {problem}" for problem in _entry_problems(root, entry))
        if entry.get("image_sha256") != sha256(path.read_bytes()):
            found.append(f"{image}: the file is not the picture the tour took")
    for name, entry in manifest.items():
        if not _NAME.match(name):
            found.append(f"manifest: {name!r} is not a screenshot name")
        elif not (root / SCREENSHOT_DIR / name).is_file():
            found.append(f"manifest: {name} is recorded, but the file is missing")
        elif f"{SCREENSHOT_DIR}/{name}" not in images:
            found.append(f"{SCREENSHOT_DIR}/{name}: README.rst does not show it")
        step = re.compile(
            rf'screenshotStep\(\s*"{re.escape(name.removesuffix(".png"))}"'
        )
        if not step.search(_tour_text(root, entry)):
            found.append(f"{name}: its tour no longer takes it")
    for path in sorted((root / SCREENSHOT_DIR).glob("*.png")):
        if path.name not in manifest:
            found.append(f"{SCREENSHOT_DIR}/{path.name}: not taken by any tour")
    return found


def _tour_text(root, entry):
    tour_file = root / entry.get("tour_file", "")
    return tour_file.read_text() if tour_file.is_file() else ""


def _entry_problems(root, entry):
    sources = entry.get("sources") or []
    missing = [source for source in sources if not (root / source).is_file()]
    if missing:
        return [f"its sources are gone: {', '.join(missing)}"]
    required = {entry.get("tour_file"), entry.get("test_file"), HELPER}
    if not required <= set(sources):
        return ["the manifest does not list the tour, its test and the helper"]
    if f'"{entry.get("tour")}"' not in _tour_text(root, entry):
        return [f"{entry.get('tour_file')} does not define tour {entry.get('tour')}"]
    if sources_digest(root, sources) != entry.get("sources_sha256"):
        tour = entry.get("tour")
        return [
            f"tour {tour} or its test changed since it was taken: run make screenshots"
        ]
    return []


def record(root, *, tour, tour_file, test_file, shots):
    """Saves the pictures one run of ``tour`` took (``shots``: name ->
    (step, png bytes)) and their manifest entries; entries of pictures the
    tour no longer takes are removed with their files."""
    manifest = load_manifest(root)
    sources = [tour_file, test_file, HELPER]
    digest = sources_digest(root, sources)
    for name, entry in list(manifest.items()):
        if entry.get("tour") == tour and name.removesuffix(".png") not in shots:
            del manifest[name]
            (root / SCREENSHOT_DIR / name).unlink(missing_ok=True)
    (root / SCREENSHOT_DIR).mkdir(parents=True, exist_ok=True)
    for name, (step, png) in shots.items():
        filename = f"{name}.png"
        (root / SCREENSHOT_DIR / filename).write_bytes(png)
        manifest[filename] = {
            "tour": tour,
            "step": step,
            "tour_file": tour_file,
            "test_file": test_file,
            "sources": sources,
            "sources_sha256": digest,
            "image_sha256": sha256(png),
        }
    text = json.dumps(dict(sorted(manifest.items())), indent=2, sort_keys=True)
    (root / MANIFEST).write_text(text + "\n")


def main():
    found = problems()
    for problem in found:
        print(problem)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
