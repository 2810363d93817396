"""Browser tours that take the documentation's screenshots.

A tour step made with ``screenshotStep(name, trigger, content)``
(static/src/js/tours/screenshot.js) calls a function the test adds to the
page through the Chrome DevTools protocol; the test takes the picture, then
lets the tour go on. Every run checks that the tour took exactly the
pictures the manifest records for it; with ``IG_UPDATE_SCREENSHOTS=1`` the
pictures and the manifest are written instead (``make screenshots``).
"""

import base64
import inspect
import io
import json
import os
from pathlib import Path
from unittest.mock import patch

import screenshots as screenshots_tool  # tools/, on the path of tools/test.sh
from PIL import Image

from odoo.tests import HttpCase
from odoo.tests.common import ChromeBrowser

ROOT = Path(__file__).resolve().parents[2]
BINDING = "integrationGatewayScreenshot"
DONE = "integrationGatewayScreenshotTaken"
# The documentation's pictures: wide enough for a form and its chatter.
BROWSER_SIZE = "1366x768"


def _compact_png(png):
    # Screens have few colours: a palette keeps the repository small with
    # no visible loss.
    image = Image.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
        out, format="PNG", optimize=True
    )
    return out.getvalue()


class _ScreenshotBrowser(ChromeBrowser):
    """Odoo's test browser, with the page function that takes a picture."""

    def __init__(self, test_case, *args, **kwargs):
        super().__init__(test_case, *args, **kwargs)
        self.shots = test_case._integration_shots
        self._handlers["Runtime.bindingCalled"] = self._handle_screenshot
        self._websocket_request("Runtime.addBinding", params={"name": BINDING})

    def _handle_screenshot(self, name, payload, **_params):
        # Called on the thread reading the browser's events: nothing here
        # may wait for an answer, hence the callbacks.
        if name != BINDING:
            return
        request = json.loads(payload)
        future = self._websocket_send(
            "Page.captureScreenshot", params={"format": "png"}, with_future=True
        )

        def taken(done):
            try:
                png = base64.b64decode(done.result()["data"])
                self.shots[request["name"]] = (request["step"], png)
            finally:
                self._websocket_send(
                    "Runtime.evaluate",
                    params={"expression": f"window.{DONE} && window.{DONE}()"},
                )

        future.add_done_callback(taken)


class ScreenshotTourCase(HttpCase):
    """An HttpCase whose tours take the documentation's screenshots.

    ``start_screenshot_tour(url, tour, tour_file)`` runs a tour defined in
    ``static/src/js/tours/<tour_file>`` and returns the pictures it took
    (name -> PNG bytes).
    """

    browser_size = BROWSER_SIZE

    def start_screenshot_tour(self, url, tour, tour_file, **kwargs):
        self._integration_shots = {}
        kwargs.setdefault("login", "admin")
        kwargs.setdefault("timeout", 120)
        with patch("odoo.tests.common.ChromeBrowser", _ScreenshotBrowser):
            self.start_tour(url, tour, **kwargs)
        shots = dict(self._integration_shots)
        tour_path = f"static/src/js/tours/{tour_file}"
        test_path = (
            Path(inspect.getfile(type(self))).resolve().relative_to(ROOT).as_posix()
        )
        if os.environ.get("IG_UPDATE_SCREENSHOTS"):
            screenshots_tool.record(
                ROOT,
                tour=tour,
                tour_file=tour_path,
                test_file=test_path,
                shots={
                    name: (step, _compact_png(png))
                    for name, (step, png) in shots.items()
                },
            )
        else:
            recorded = {
                name.removesuffix(".png")
                for name, entry in screenshots_tool.load_manifest(ROOT).items()
                if entry["tour"] == tour
            }
            self.assertEqual(
                set(shots),
                recorded,
                f"tour {tour} took other screenshots than those of the manifest: "
                "run make screenshots",
            )
        for name, (_step, png) in shots.items():
            with Image.open(io.BytesIO(png)) as image:
                self.assertEqual(
                    "x".join(map(str, image.size)), BROWSER_SIZE, f"screenshot {name}"
                )
        return {name: png for name, (_step, png) in shots.items()}
