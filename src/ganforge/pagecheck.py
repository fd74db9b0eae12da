"""Open a page in headless Chromium and check it: images loaded, no request left the machine.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: the
browser reads JSON commands from fd 3 and writes replies and events to fd 4, each message ended
by a NUL byte), so no websocket library and no browser download are needed; Debian's
``chromium`` package is enough. The browser gets a fresh profile, and its host resolver maps
every name to NOTFOUND, so even a page that tried to fetch something could not reach a network.
"""

from __future__ import annotations

import base64
import contextlib
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
from typing import Any

from ganforge.errors import GanforgeError

LOCAL_SCHEMES = ("data:", "file:", "about:", "blob:", "chrome:", "chrome-error:", "devtools:")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--metrics-recording-only",
    "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--remote-debugging-pipe",
]

_IMAGES_JS = """
(async () => {
  const imgs = Array.from(document.images);
  await Promise.all(imgs.map((i) => i.decode().catch(() => null)));
  return imgs.map((i) => ({alt: i.alt, src: i.currentSrc.slice(0, 60),
                           complete: i.complete, naturalWidth: i.naturalWidth}));
})()
"""


def find_chromium() -> str | None:
    """``$GANFORGE_CHROMIUM``, else the first of chromium / chromium-browser / google-chrome."""
    env = os.environ.get("GANFORGE_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageCheck:
    """What Chromium saw: every request, every <img>, and the problems found."""

    url: str
    requests: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    image_states: list[dict[str, Any]] = field(default_factory=list)
    screenshot: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def images(self) -> int:
        return len(self.image_states)

    @property
    def images_loaded(self) -> int:
        return sum(1 for i in self.image_states if i.get("naturalWidth", 0) > 0)


class _DevTools:
    """A minimal DevTools-protocol client over Chromium's debugging pipe."""

    def __init__(self, binary: str, profile: str):
        cmd_r, cmd_w = os.pipe()  # we write commands, the browser reads fd 3
        res_r, res_w = os.pipe()  # the browser writes fd 4, we read
        # Move the child's ends above 9 so that dup2 onto 3 and 4 cannot clobber them.
        child_r, child_w = _dup_high(cmd_r), _dup_high(res_w)
        os.close(cmd_r)
        os.close(res_w)

        def wire():  # runs in the child between fork and exec
            os.dup2(child_r, 3)
            os.dup2(child_w, 4)

        self.proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,  # fds made by Python are close-on-exec; 3 and 4 are inherited
            preexec_fn=wire,  # noqa: PLW1509
        )
        os.close(child_r)
        os.close(child_w)
        self._out = os.fdopen(cmd_w, "wb", buffering=0)
        self._in = os.fdopen(res_r, "rb", buffering=0)
        self._next_id = 0
        self._replies: dict[int, dict] = {}
        self._cond = threading.Condition()
        self.events: queue.Queue[dict] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = self._in.read(65536)
            except OSError:
                chunk = b""
            if not chunk:
                with self._cond:
                    self._replies[-1] = {"closed": True}
                    self._cond.notify_all()
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    with self._cond:
                        self._replies[msg["id"]] = msg
                        self._cond.notify_all()
                else:
                    self.events.put(msg)

    def call(
        self, method: str, params: dict | None = None, session: str | None = None, timeout=60.0
    ) -> dict:
        self._next_id += 1
        mid = self._next_id
        msg: dict[str, Any] = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self._out.write(json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._cond:
            while mid not in self._replies:
                if -1 in self._replies:
                    raise GanforgeError(f"chromium closed the DevTools pipe during {method}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise GanforgeError(f"chromium did not answer {method} within {timeout:.0f} s")
                self._cond.wait(left)
            reply = self._replies.pop(mid)
        if "error" in reply:
            raise GanforgeError(f"chromium: {method} failed: {reply['error'].get('message')}")
        return reply.get("result", {})

    def close(self) -> None:
        with contextlib.suppress(GanforgeError):
            self.call("Browser.close", timeout=10)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for f in (self._out, self._in):
            with contextlib.suppress(OSError):
                f.close()


def _dup_high(fd: int) -> int:
    import fcntl

    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)


def check_page(
    page: str | Path,
    screenshot: str | Path | None = None,
    width: int = 1200,
    max_height: int = 8000,
    timeout: float = 60.0,
    chromium: str | None = None,
) -> PageCheck:
    """Load ``page`` (a file or URL) in headless Chromium and report what happened.

    Waits for the load event and for every ``<img>`` to decode; records every request the page
    made (``Network.requestWillBeSent``) and flags those not served from the machine itself
    (any scheme but data:, file:, about:, blob:); flags images with ``naturalWidth == 0``.
    With ``screenshot`` a full-page PNG (``width`` CSS pixels wide) is saved there.
    """
    return check_pages([(page, screenshot)], width, max_height, timeout, chromium)[0]


def check_pages(
    pages: list[tuple[str | Path, str | Path | None]],
    width: int = 1200,
    max_height: int = 8000,
    timeout: float = 60.0,
    chromium: str | None = None,
) -> list[PageCheck]:
    """:func:`check_page` for several ``(page, screenshot)`` pairs in one browser session."""
    binary = chromium or find_chromium()
    if binary is None:
        raise GanforgeError(
            "chromium not found: install it (Debian: apt install chromium) or set GANFORGE_CHROMIUM"
        )
    results = []
    with tempfile.TemporaryDirectory(prefix="ganforge-chromium-") as profile:
        tools = _DevTools(binary, profile)
        try:
            for page, screenshot in pages:
                results.append(_check(tools, page, screenshot, width, max_height, timeout))
        finally:
            tools.close()
    return results


def _check(tools, page, screenshot, width: int, max_height: int, timeout: float) -> PageCheck:
    url = page if isinstance(page, str) and "://" in page else Path(page).resolve().as_uri()
    result = PageCheck(url)
    target = tools.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = tools.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"
    ]
    for domain in ("Page.enable", "Network.enable"):
        tools.call(domain, session=session)
    metrics = {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False}
    tools.call("Emulation.setDeviceMetricsOverride", metrics, session=session)
    tools.call("Page.navigate", {"url": url}, session=session)
    _wait_for_load(tools, session, result, timeout)
    states = tools.call(
        "Runtime.evaluate",
        {"expression": _IMAGES_JS, "awaitPromise": True, "returnByValue": True},
        session=session,
        timeout=timeout,
    )
    result.image_states = states.get("result", {}).get("value") or []
    _drain(tools, session, result)
    if screenshot is not None:
        layout = tools.call("Page.getLayoutMetrics", session=session)
        size = layout.get("cssContentSize") or layout.get("contentSize")
        metrics["height"] = int(min(max_height, max(1, size["height"])))
        tools.call("Emulation.setDeviceMetricsOverride", metrics, session=session)
        shot = tools.call(
            "Page.captureScreenshot", {"format": "png"}, session=session, timeout=timeout
        )
        out = Path(screenshot)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(base64.b64decode(shot["data"]))
        result.screenshot = str(out)
        _drain(tools, session, result)
    tools.call("Target.closeTarget", {"targetId": target})
    result.external_requests = [
        u for u in result.requests if not u.lower().startswith(LOCAL_SCHEMES)
    ]
    for state in result.image_states:
        if state.get("naturalWidth", 0) <= 0:
            result.problems.append(f"image {state.get('alt') or state.get('src')!r} did not load")
    for u in result.external_requests:
        result.problems.append(f"request to {u[:80]} would leave the machine")
    return result


def _note(event: dict, session: str, result: PageCheck) -> str | None:
    if event.get("sessionId") != session:
        return None
    method = event.get("method")
    if method == "Network.requestWillBeSent":
        result.requests.append(event["params"]["request"]["url"])
    elif method == "Network.webSocketCreated":
        result.requests.append(event["params"]["url"])
    return method


def _wait_for_load(tools: _DevTools, session: str, result: PageCheck, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise GanforgeError(f"{result.url} did not finish loading within {timeout:.0f} s")
        try:
            event = tools.events.get(timeout=left)
        except queue.Empty:
            continue
        if _note(event, session, result) == "Page.loadEventFired":
            return


def _drain(tools: _DevTools, session: str, result: PageCheck) -> None:
    while True:
        try:
            _note(tools.events.get_nowait(), session, result)
        except queue.Empty:
            return
