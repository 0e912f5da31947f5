"""A page opened in headless Chromium through the DevTools protocol over a pipe (no
websocket library, no driver): every network request, console message and exception it
caused, element boxes, and screenshots of page regions.

Chromium runs with the flags that keep it off the network on its own (background
networking, component updates, sync), so every request recorded is one the page made.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--remote-debugging-pipe",
]


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def need_chromium() -> None:
    """Skip the calling test without a browser, or fail it where one is promised (CI installs
    Debian's Chromium and sets ``MSMKIT_BROWSER_REQUIRED``)."""
    import pytest

    if chromium() is None:
        why = "Chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("MSMKIT_BROWSER_REQUIRED"):
            pytest.fail(why)
        pytest.skip(why)


class Page:
    """One Chromium with one tab, driven over fds 3 (commands in) and 4 (replies out)."""

    def __init__(self, width: int = 1280, height: int = 900, timeout: float = 60) -> None:
        binary = chromium()
        assert binary, "no chromium"
        self.profile = tempfile.mkdtemp(prefix="msmkit-chromium-")
        to_child, self._out = os.pipe()
        self._in, from_child = os.pipe()

        def wire() -> None:  # in the child: our pipe ends become its fds 3 and 4
            a, b = os.dup(to_child), os.dup(from_child)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            preexec_fn=wire,
            close_fds=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_child)
        os.close(from_child)
        self.timeout = timeout
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Network", "Runtime", "Log", "Page"):
            self.call(f"{domain}.enable", session=True)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=True,
        )

    # -- protocol
    def call(self, method: str, params: dict | None = None, session: bool = False) -> dict:
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            while b"\0" in self._buf:
                raw, self._buf = self._buf.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self._id:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply.get("result", {})
                self.events.append(reply)
            if time.monotonic() > deadline:
                raise TimeoutError(method)
            chunk = os.read(self._in, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self._buf += chunk

    def open(self, url: str) -> None:
        self.call("Page.navigate", {"url": url}, session=True)
        deadline = time.monotonic() + self.timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"loading {url}")
            self.evaluate("1")
            time.sleep(0.05)

    def evaluate(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=True
        )
        return result.get("result", {}).get("value")

    # -- what happened
    def requests(self) -> list[str]:
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def console_errors(self) -> list[str]:
        out = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                out.append(json.dumps(params.get("exceptionDetails", {}))[:300])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                out.append(json.dumps(params.get("args", []))[:300])
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                out.append(params["entry"].get("text", ""))
        return out

    def boxes(self, selector: str) -> list[dict[str, Any]]:
        """Page-coordinate boxes of the elements matching ``selector``, each named by the
        ``data-figure`` of the figure it is in (else its id)."""
        code = (
            f"Array.from(document.querySelectorAll({json.dumps(selector)})).map(el => {{"
            "const r = el.getBoundingClientRect();"
            "const f = el.closest('[data-figure]');"
            "return {id: f ? f.getAttribute('data-figure') : el.id, x: r.left + scrollX,"
            " y: r.top + scrollY, width: r.width, height: r.height}; })"
        )
        return self.evaluate(code) or []

    def screenshot(self, box: dict[str, Any]) -> Any:
        """A PIL image of one region of the page (scrolled into view as needed)."""
        from PIL import Image

        clip = {k: box[k] for k in ("x", "y", "width", "height")} | {"scale": 1}
        data = self.call(
            "Page.captureScreenshot",
            {"format": "png", "clip": clip, "captureBeyondViewport": True},
            session=True,
        )["data"]
        return Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.call("Browser.close")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._out)
        os.close(self._in)
        shutil.rmtree(self.profile, ignore_errors=True)


def open_page(path: Path, **kwargs: Any) -> Page:
    page = Page(**kwargs)
    page.open(Path(path).resolve().as_uri())
    return page


def ink(image: Any) -> float:
    """Share of pixels that are not (near) white: 0 for a blank region."""
    gray = image.convert("L")
    dark = sum(count for value, count in enumerate(gray.histogram()) if value < 235)
    return dark / (gray.width * gray.height)


def check_report_page(html: Path, figure_ids: list[str]) -> None:
    """Open a report page offline and assert what a reader needs: no request but the page,
    no console error, every figure drawn (sized and inked) and the header not a blank box."""
    page = open_page(html)
    try:
        assert page.requests() == [Path(html).resolve().as_uri()]  # nothing else fetched
        assert page.console_errors() == []
        boxes = page.boxes("figure.fig svg")
        assert sorted(b["id"] for b in boxes) == sorted(figure_ids)
        for box in boxes:
            assert box["width"] > 200 and box["height"] > 100, box
            assert ink(page.screenshot(box)) > 0.02, box["id"]
        header = page.boxes("header")[0]
        assert ink(page.screenshot(header)) < 0.2
    finally:
        page.close()
