"""The real app in a browser, for measuring and testing it: ``streamlit run app.py`` on a free
loopback port (``AppServer``), and what headless Chromium and Playwright need to drive it.

Used by ``python -m genmodels bench --app``, the end-to-end tests (tests/e2e) and the classroom load
test (tests/load). Imports nothing heavy; Playwright is imported by its callers.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the folder holding app.py
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
# Present once the page's script has finished running (Streamlit marks its root element).
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def memory_mib(pid: int) -> dict[str, int | None]:
    """The process's resident memory now (VmRSS) and at its peak (VmHWM), in MiB (Linux; None
    where /proc cannot tell)."""
    fields = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = round(int(value.split()[0]) / 1024)
    except OSError:
        pass
    return {"rss_mib": fields.get("VmRSS"), "peak_rss_mib": fields.get("VmHWM")}


class AppServer:
    """``streamlit run app.py`` on a free loopback port, offline, its output in ``log``. ``env``
    adds environment variables (GENLAB_MAX_JOBS, ...), ``options`` Streamlit options
    (``{"server.disconnectedSessionTTL": 5}``). Starts at once; ``wait_healthy`` waits for it."""

    def __init__(self, log: Path, env: dict[str, str] | None = None, options: dict | None = None):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(log)
        flags = {"server.headless": "true", "server.address": "127.0.0.1", "server.port": self.port,
                 "browser.gatherUsageStats": "false", **(options or {})}
        environment = {**os.environ, "GENLAB_OFFLINE": "1", "PYTHONPATH": str(ROOT), **(env or {})}
        self.launched = time.monotonic()
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "app.py", *(f"--{k}={v}" for k, v in flags.items())],
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=environment, start_new_session=True)

    def wait_healthy(self, timeout: float = 90) -> float:
        """Wait until the server answers its health check; seconds since it was launched. Raises
        RuntimeError with the end of its log if it exits or does not answer within ``timeout``."""
        while True:
            try:
                if urllib.request.urlopen(self.url + "/_stcore/health", timeout=1).read() == b"ok":
                    return time.monotonic() - self.launched
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() - self.launched > timeout:
                raise RuntimeError("the app did not start:\n" + self.log.read_text()[-3000:])
            time.sleep(0.05)

    def wait_for_log(self, text: str, timeout: float) -> float | None:
        """Wait until ``text`` appears in the server's log; seconds since launch, or None when it
        has not appeared within ``timeout`` seconds from now."""
        deadline = time.monotonic() + timeout
        while text not in self.log.read_text():
            if time.monotonic() > deadline or self.process.poll() is not None:
                return None
            time.sleep(0.2)
        return time.monotonic() - self.launched

    def memory_mib(self) -> dict[str, int | None]:
        return memory_mib(self.process.pid)

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far (Linux)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def tracebacks(self) -> int:
        return self.log.read_text().count("Traceback")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
