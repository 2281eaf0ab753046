"""Render an HTML file in headless Chromium and report what a reader would see go wrong.

``check_page(path)`` starts Chromium (``--headless --no-sandbox``, background networking and
every other phone-home feature off, a throw-away profile) and drives it over the Chrome DevTools
Protocol on ``--remote-debugging-pipe``: Chromium reads NUL-terminated JSON commands from fd 3
and writes replies and events to fd 4, so no Python package and no open port are needed.

It collects

* console errors: ``console.error``/``console.assert`` calls (``Runtime.consoleAPICalled``),
  uncaught script errors (``Runtime.exceptionThrown``) and browser log entries at level
  ``error`` (``Log.entryAdded``: failed resource loads, CSP violations, ...);
* every ``<img>`` element and the ones that did not load (not ``complete`` or
  ``naturalWidth == 0``), read with one ``Runtime.evaluate`` after the load event (the checker
  script lives only in this module, never in the page);
* a PNG screenshot of the whole page (``Page.captureScreenshot`` beyond the viewport), judged
  blank when every pixel has the same colour.

Everything runs under one deadline and the browser is always killed. ``find_chromium()`` looks
for ``$CHROMIUM``, then ``chromium``, ``chromium-browser``, ``google-chrome`` on PATH;
``require_chromium()`` fails the calling test when none is found and ``$CI`` is set, and skips
it otherwise.
"""

from __future__ import annotations

import base64
import fcntl
import io
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["BrowserError", "PageCheck", "check_page", "find_chromium", "require_chromium"]

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--disable-extensions",
    "--disable-breakpad",
    "--disable-crash-reporter",
    "--disable-client-side-phishing-detection",
    "--disable-domain-reliability",
    "--disable-dev-shm-usage",
    "--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication,"
    "CertificateTransparencyComponentUpdater",
    "--password-store=basic",
    "--use-mock-keychain",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
)

# Runs in the page after the load event; returns one JSON string.
IMAGE_PROBE = """JSON.stringify(Array.from(document.images, img => ({
  ok: img.complete && img.naturalWidth > 0,
  src: (img.currentSrc || img.getAttribute('src') || '').slice(0, 80),
  alt: img.getAttribute('alt') || ''
})))"""


class BrowserError(RuntimeError):
    """Chromium could not be started, answered with an error, or ran past the deadline."""


@dataclass
class PageCheck:
    """What rendering one page showed.

    Attributes
    ----------
    console_errors : list of str
        Console errors, uncaught exceptions and error-level browser log entries, in order.
    images : int
        Number of ``<img>`` elements in the document.
    broken_images : list of str
        One ``"alt | src-prefix"`` line per image that did not load.
    screenshot : bytes
        PNG of the full page.
    width, height : int
        Screenshot size in pixels.
    """

    console_errors: list[str] = field(default_factory=list)
    images: int = 0
    broken_images: list[str] = field(default_factory=list)
    screenshot: bytes = b""
    width: int = 0
    height: int = 0

    @property
    def blank(self) -> bool:
        """True when the screenshot is missing or every pixel has the same colour."""
        return screenshot_is_blank(self.screenshot)

    def problems(self) -> list[str]:
        """Human-readable list of everything wrong; empty for a good page."""
        out = [f"console error: {e}" for e in self.console_errors]
        out += [f"broken image: {b}" for b in self.broken_images]
        if self.blank:
            out.append("screenshot is blank")
        return out


def screenshot_is_blank(png: bytes) -> bool:
    """True when ``png`` is empty or a single colour."""
    if not png:
        return True
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        rgb = im.convert("RGB")
        return all(lo == hi for lo, hi in rgb.getextrema())


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome binary: ``$CHROMIUM`` if set, else the first on PATH."""
    override = os.environ.get("CHROMIUM")
    if override:
        return shutil.which(override) or (override if os.access(override, os.X_OK) else None)
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    """The Chromium binary; fail the test under ``$CI``, skip it elsewhere, when there is none."""
    import pytest

    found = find_chromium()
    if found:
        return found
    msg = ("headless Chromium not found (looked for $CHROMIUM, " + ", ".join(CANDIDATES) + "); "
           "`make test` installs it as root (apt-get install chromium)")
    if os.environ.get("CI"):
        pytest.fail(msg + " -- CI must run the browser tests", pytrace=False)
    pytest.skip(msg)


class _Pipe:
    """CDP over a pair of pipes: commands to Chromium's fd 3, messages from its fd 4."""

    def __init__(self, to_browser: int, from_browser: int, deadline: float):
        self._out = to_browser
        self._deadline = deadline
        self._next_id = 0
        self._inbox: queue.Queue = queue.Queue()
        self.events: list[dict] = []
        self._reader = threading.Thread(target=self._read, args=(from_browser,), daemon=True)
        self._reader.start()

    def _read(self, fd: int) -> None:
        buf = b""
        try:
            while True:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    break
                buf += chunk
                *messages, buf = buf.split(b"\0")
                for raw in messages:
                    if raw:
                        self._inbox.put(json.loads(raw))
        except OSError:
            pass
        finally:
            os.close(fd)
            self._inbox.put(None)

    def _get(self, until: float) -> dict | None:
        left = min(until, self._deadline) - time.monotonic()
        try:
            msg = self._inbox.get(timeout=left) if left > 0 else self._inbox.get_nowait()
        except queue.Empty:
            raise TimeoutError from None
        if msg is None:
            raise BrowserError("Chromium closed the DevTools pipe")
        return msg

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send one command and return its result; events seen meanwhile go to ``events``."""
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self._out, data):]
        while True:
            try:
                reply = self._get(self._deadline)
            except TimeoutError:
                raise BrowserError(f"no answer to {method} before the deadline") from None
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method: str, until: float) -> bool:
        """Wait for event ``method`` (already seen counts); False when ``until`` passes first."""
        if any(e["method"] == method for e in self.events):
            return True
        while True:
            try:
                msg = self._get(until)
            except TimeoutError:
                return False
            if "method" in msg:
                self.events.append(msg)
                if msg["method"] == method:
                    return True

    def drain(self, seconds: float) -> None:
        """Collect events for ``seconds`` more."""
        until = time.monotonic() + seconds
        while True:
            try:
                msg = self._get(until)
            except TimeoutError:
                return
            if "method" in msg:
                self.events.append(msg)


def _console_errors(events: list[dict]) -> list[str]:
    out = []
    for ev in events:
        method, p = ev["method"], ev.get("params", {})
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            args = [str(a.get("value", a.get("description", a.get("type", "")))) for a in p.get("args", [])]
            out.append(f"console.{p['type']}: " + " ".join(args))
        elif method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            out.append("uncaught: " + (d.get("exception", {}).get("description") or d.get("text", "")))
        elif method == "Log.entryAdded":
            entry = p.get("entry", {})
            if entry.get("level") == "error":
                where = f" ({entry['url'][:120]})" if entry.get("url") else ""
                out.append(f"{entry.get('source', 'log')}: {entry.get('text', '')}{where}")
    return out


def _high_fd(fd: int) -> int:
    """A close-on-exec duplicate of ``fd`` numbered 10 or above (out of the way of 3 and 4)."""
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return new


def check_page(html_path: str | os.PathLike, *, width: int = 1280, height: int = 900,
               timeout: float = 60.0, settle: float = 0.2, max_height: int = 20000) -> PageCheck:
    """Render ``html_path`` in headless Chromium and report errors, images and a screenshot.

    Parameters
    ----------
    html_path : path-like
        The HTML file, opened as a ``file://`` URL so that relative images resolve.
    width, height : int
        Viewport size in CSS pixels (device scale factor 1).
    timeout : float
        Hard limit in seconds for the whole check, browser start included.
    settle : float
        Seconds to keep listening for console messages after the load event.
    max_height : int
        The full-page screenshot is cut at this many pixels.

    Returns
    -------
    PageCheck

    Raises
    ------
    BrowserError
        No Chromium, or it failed, or the page did not load before the deadline.
    """
    binary = find_chromium()
    if binary is None:
        raise BrowserError("no Chromium binary found (set $CHROMIUM or install chromium)")
    url = Path(html_path).resolve().as_uri()
    deadline = time.monotonic() + timeout

    cmd_r, cmd_w = os.pipe()     # we write commands, Chromium reads them on fd 3
    msg_r, msg_w = os.pipe()     # Chromium writes on fd 4, we read
    cmd_r, msg_w = _high_fd(cmd_r), _high_fd(msg_w)

    def wire_fds() -> None:      # in the child, before exec: dup2 leaves 3 and 4 inheritable
        os.dup2(cmd_r, 3)
        os.dup2(msg_w, 4)

    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        try:
            proc = subprocess.Popen(
                [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                # close_fds would close 3 and 4 after wire_fds; every other descriptor of ours
                # is close-on-exec (PEP 446), so nothing else leaks into the browser.
                close_fds=False, preexec_fn=wire_fds, start_new_session=True,
            )
        finally:
            os.close(cmd_r)
            os.close(msg_w)
        try:
            return _drive(_Pipe(cmd_w, msg_r, deadline), url, width, height, settle, max_height,
                          deadline)
        finally:
            _stop(proc, cmd_w)


def _stop(proc: subprocess.Popen, cmd_w: int) -> None:
    """Ask Chromium to quit (it reaps its own helpers), then kill whatever is left of its group."""
    try:
        os.write(cmd_w, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
        proc.wait(timeout=3)
    except (OSError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(proc.pid, 9)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    os.close(cmd_w)


def _drive(cdp: _Pipe, url: str, width: int, height: int, settle: float, max_height: int,
           deadline: float) -> PageCheck:
    target = cdp.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    sid = cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for method in ("Page.enable", "Runtime.enable", "Log.enable"):
        cdp.send(method, session=sid)
    cdp.send("Emulation.setDeviceMetricsOverride",
             {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=sid)
    cdp.events.clear()           # about:blank chatter before our page
    nav = cdp.send("Page.navigate", {"url": url}, session=sid)
    if nav.get("errorText"):
        raise BrowserError(f"navigation to {url} failed: {nav['errorText']}")
    if not cdp.wait_for("Page.loadEventFired", deadline):
        raise BrowserError(f"{url} did not finish loading before the deadline")
    cdp.drain(settle)

    probe = cdp.send("Runtime.evaluate", {"expression": IMAGE_PROBE, "returnByValue": True},
                     session=sid)
    if "exceptionDetails" in probe:
        raise BrowserError(f"image probe failed: {probe['exceptionDetails']}")
    imgs = json.loads(probe["result"]["value"])

    size = cdp.send("Page.getLayoutMetrics", session=sid)
    content = size.get("cssContentSize") or size["contentSize"]
    shot_w = max(1, int(round(content["width"])))
    shot_h = max(1, min(int(round(content["height"])), max_height))
    shot = cdp.send("Page.captureScreenshot",
                    {"format": "png", "captureBeyondViewport": True,
                     "clip": {"x": 0, "y": 0, "width": shot_w, "height": shot_h, "scale": 1}},
                    session=sid)
    cdp.drain(0)                 # pick up anything queued while we worked

    return PageCheck(
        console_errors=_console_errors(cdp.events),
        images=len(imgs),
        broken_images=[f"{i['alt']} | {i['src']}" for i in imgs if not i["ok"]],
        screenshot=base64.b64decode(shot["data"]),
        width=shot_w,
        height=shot_h,
    )
