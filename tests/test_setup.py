"""The setup step of `make run` / `make test` (scripts/setup.py) on a fake fresh machine.

Each test runs the real script in a subprocess with a clean environment: an empty system root
(GENLAB_SYSTEM_ROOT: no Debian dataset, no /usr/bin/chromium, no fonts), an empty download cache
and Playwright folder, and on PATH only stub tools written here (apt-get, sudo) that record their
arguments and, for `install`, lay down the package's files under the fake root as dpkg would.
Stub `torchvision` and `playwright` packages on PYTHONPATH play the downloads. Nothing reaches the
network and nothing touches the machine.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from genmodels.sources.fetch import how_to_get
from genmodels.sources.local import IDX_FILES
from tests.support import browser

ROOT = Path(__file__).resolve().parents[1]
SETUP = ROOT / "scripts" / "setup.py"
IDX_NAMES = [f"{stem}.gz" for stem in IDX_FILES.values()]

APT_GET = r"""#!/bin/sh
# Stub apt-get: record the call; with APT_FAILS set fail as a stale package list does; else
# "install" puts each package's files under the fake system root.
echo "apt-get $*" >> "$STUB_LOG"
if [ -n "$APT_FAILS" ] && [ "$1" = install ]; then echo "E: Unable to locate package" >&2; exit 100; fi
[ "$1" = install ] || exit 0
for package in "$@"; do
  case "$package" in
    chromium)
      mkdir -p "$GENLAB_SYSTEM_ROOT/usr/bin"
      printf '#!/bin/sh\n' > "$GENLAB_SYSTEM_ROOT/usr/bin/chromium"
      chmod +x "$GENLAB_SYSTEM_ROOT/usr/bin/chromium";;
    dataset-fashion-mnist)
      folder="$GENLAB_SYSTEM_ROOT/usr/share/datasets/fashion-mnist"
      mkdir -p "$folder"
      for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        : > "$folder/$f.gz"
      done;;
    fonts-noto-cjk)
      mkdir -p "$GENLAB_SYSTEM_ROOT/usr/share/fonts/opentype/noto"
      : > "$GENLAB_SYSTEM_ROOT/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";;
  esac
done
"""
# Stub sudo (used when the tests do not run as root): record the call, run the command.
SUDO = """#!/bin/sh
echo "sudo $*" >> "$STUB_LOG"
[ "$1" = -n ] && shift
exec "$@"
"""
TORCHVISION_DATASETS = """import os
from pathlib import Path


class FashionMNIST:  # stub: records the call and writes the split's two IDX files where torchvision would
    def __init__(self, root, train, download):
        with open(os.environ["STUB_LOG"], "a") as log:
            log.write(f"torchvision FashionMNIST root={root} train={train} download={download}\\n")
        if os.environ.get("DOWNLOAD_FAILS"):
            raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")
        raw = Path(root) / "FashionMNIST" / "raw"
        raw.mkdir(parents=True, exist_ok=True)
        for kind in ("images-idx3", "labels-idx1"):
            (raw / f"{'train' if train else 't10k'}-{kind}-ubyte").write_bytes(b"")
"""
PLAYWRIGHT_MAIN = """import os
import sys
from pathlib import Path

with open(os.environ["STUB_LOG"], "a") as log:
    log.write("playwright " + " ".join(sys.argv[1:]) + "\\n")
chrome = Path(os.environ["PLAYWRIGHT_BROWSERS_PATH"]) / "chromium-1248" / "chrome-linux64" / "chrome"
chrome.parent.mkdir(parents=True)
chrome.write_text("#!/bin/sh\\n")
chrome.chmod(0o755)
"""


class Machine:
    """A fake fresh machine in ``tmp``: run scripts/setup.py on it and read what the stubs saw."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.root = tmp / "root"  # the system root: empty, as before any apt-get install
        self.project = tmp / "project"  # the folder the app runs in: no ./data
        self.cache = tmp / "cache"
        self.log = tmp / "stubs.log"
        self.tools = tmp / "tools"
        self.python_stubs = tmp / "python-stubs"
        for folder in (self.root, self.project, self.tools, self.python_stubs, tmp / "home"):
            folder.mkdir()
        self.env = {"PATH": str(self.tools), "HOME": str(tmp / "home"), "LANG": "C.UTF-8", "GENLAB_OFFLINE": "1",
                    "GENLAB_SYSTEM_ROOT": str(self.root), "GENLAB_CACHE": str(self.cache),
                    "PLAYWRIGHT_BROWSERS_PATH": str(tmp / "playwright"), "STUB_LOG": str(self.log)}

    def tool(self, name: str, script: str) -> None:
        path = self.tools / name
        path.write_text(script)
        path.chmod(0o755)

    def with_apt(self) -> "Machine":
        """apt-get (and sudo, for a non-root run) as stubs; the real system's tools after them."""
        self.tool("apt-get", APT_GET)
        self.tool("sudo", SUDO)
        self.env["PATH"] = f"{self.tools}:/usr/bin:/bin"
        return self

    def python_stub(self, relative: str, text: str) -> None:
        path = self.python_stubs / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        self.env["PYTHONPATH"] = str(self.python_stubs)

    def with_dataset(self) -> Path:
        folder = self.tmp / "mine" / "fashion-mnist"
        folder.mkdir(parents=True)
        for name in IDX_NAMES:
            (folder / name).write_bytes(b"")
        self.env["GENLAB_DATA"] = str(self.tmp / "mine")
        return folder

    def with_browser_and_fonts(self) -> Path:
        chromium = self.root / "usr" / "bin" / "chromium"
        chromium.parent.mkdir(parents=True)
        chromium.write_text("#!/bin/sh\n")
        chromium.chmod(0o755)
        fonts = self.root / "usr" / "share" / "fonts" / "opentype" / "noto"
        fonts.mkdir(parents=True)
        (fonts / "NotoSansCJK-Regular.ttc").write_bytes(b"")
        return chromium

    def setup(self, target: str, **env) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(SETUP), "--for", target], cwd=self.project, capture_output=True,
                              text=True, timeout=120, env={**self.env, **env})

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def apt_installs(self) -> list[str]:
        return [c.split()[-1] for c in self.calls() if c.startswith("apt-get install")]


@pytest.fixture
def machine(tmp_path):
    return Machine(tmp_path)


def test_everything_found_needs_no_tool_and_says_where(machine):
    data = machine.with_dataset()
    chromium = machine.with_browser_and_fonts()
    machine.with_apt()
    done = machine.setup("test")
    assert done.returncode == 0, done.stdout + done.stderr
    assert str(data) in done.stdout and str(chromium) in done.stdout
    assert machine.calls() == []  # neither apt-get nor sudo, not even to ask


def test_online_it_downloads_through_torchvision_into_the_cache(machine):
    machine.with_apt()
    machine.python_stub("torchvision/__init__.py", "")
    machine.python_stub("torchvision/datasets.py", TORCHVISION_DATASETS)
    done = machine.setup("run", GENLAB_OFFLINE="0")
    assert done.returncode == 0, done.stdout + done.stderr
    downloads = machine.cache / "downloads"
    assert machine.calls() == [f"torchvision FashionMNIST root={downloads} train={train} download=True"
                               for train in (True, False)]
    assert "downloading it through torchvision" in done.stdout
    assert f"in {downloads / 'FashionMNIST' / 'raw'}" in done.stdout  # found there afterwards


def test_offline_it_installs_the_debian_packages_saying_what_and_why(machine):
    machine.with_apt()
    done = machine.setup("test")
    assert done.returncode == 0, done.stdout + done.stderr
    assert machine.apt_installs() == ["dataset-fashion-mnist", "chromium", "fonts-noto-cjk"]
    assert all("install -y -q --no-install-recommends" in c for c in machine.calls() if "apt-get install" in c)
    for package in ("dataset-fashion-mnist", "chromium", "fonts-noto-cjk"):
        assert f"Installing {package} (" in done.stdout
    assert str(machine.root / "usr" / "bin" / "chromium") in done.stdout  # the installed one is used
    again = machine.setup("test")  # idempotent: now everything is here
    assert again.returncode == 0 and len(machine.apt_installs()) == 3


def test_a_failed_download_falls_back_to_the_package(machine):
    machine.with_apt()
    machine.python_stub("torchvision/__init__.py", "")
    machine.python_stub("torchvision/datasets.py", TORCHVISION_DATASETS)
    done = machine.setup("run", GENLAB_OFFLINE="0", DOWNLOAD_FAILS="1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "The download failed" in done.stdout
    assert machine.apt_installs() == ["dataset-fashion-mnist"]


def test_without_apt_and_offline_it_prints_the_commands_and_make_run_goes_on(machine):
    done = machine.setup("run")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "    sudo apt-get install dataset-fashion-mnist" in done.stdout
    assert all(name in done.stdout for name in IDX_NAMES)
    assert f"{machine.project / 'data' / 'fashion-mnist'}/" in done.stdout  # where to copy them


def test_without_apt_and_offline_make_test_stops_naming_the_commands(machine):
    done = machine.setup("test")
    assert done.returncode == 1
    assert "    sudo apt-get install chromium" in done.stdout
    assert f"{sys.executable} -m playwright install chromium" in done.stdout
    assert "sudo apt-get install fonts-noto-cjk" in done.stdout
    assert "make test stops here" in done.stdout.splitlines()[-1]


def test_when_apt_get_fails_it_updates_once_then_gives_the_commands(machine):
    machine.with_apt()
    machine.with_dataset()
    machine.with_browser_and_fonts()
    (machine.root / "usr" / "bin" / "chromium").unlink()
    done = machine.setup("test", APT_FAILS="1")
    assert done.returncode == 1
    apt_calls = [c for c in machine.calls() if c.startswith("apt-get")]
    assert [c.split()[1] for c in apt_calls] == ["install", "update", "install"]
    assert "    sudo apt-get install chromium" in done.stdout


def test_online_without_apt_it_installs_playwrights_chromium(machine):
    machine.with_dataset()
    machine.with_browser_and_fonts()
    (machine.root / "usr" / "bin" / "chromium").unlink()
    machine.python_stub("playwright/__init__.py", "")
    machine.python_stub("playwright/__main__.py", PLAYWRIGHT_MAIN)
    done = machine.setup("test", GENLAB_OFFLINE="0")
    assert done.returncode == 0, done.stdout + done.stderr
    assert machine.calls() == ["playwright install chromium"]
    assert str(machine.tmp / "playwright" / "chromium-1248" / "chrome-linux64" / "chrome") in done.stdout


def test_a_chromium_variable_pointing_nowhere_is_reported_not_papered_over(machine):
    machine.with_apt()
    machine.with_dataset()
    machine.with_browser_and_fonts()
    done = machine.setup("test", CHROMIUM=str(machine.tmp / "nowhere" / "chrome"))
    assert done.returncode == 1
    assert f"CHROMIUM={machine.tmp / 'nowhere' / 'chrome'} is not an executable file" in done.stdout
    assert "chromium" not in machine.apt_installs()


def test_the_fetch_verb_is_the_setup_steps_data_part(machine):
    done = subprocess.run([sys.executable, "-m", "genmodels", "fetch"], cwd=machine.project, capture_output=True,
                          text=True, timeout=120, env={**machine.env, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 1
    assert "    sudo apt-get install dataset-fashion-mnist" in done.stdout


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_chromium_path_prefers_chromium_then_debian_then_playwrights_newest(tmp_path, monkeypatch):
    monkeypatch.delenv("CHROMIUM", raising=False)
    monkeypatch.setenv("GENLAB_SYSTEM_ROOT", str(tmp_path / "root"))
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "pw"))
    assert browser.chromium_path() is None
    executable(tmp_path / "pw" / "chromium-1100" / "chrome-linux" / "chrome")
    newest = executable(tmp_path / "pw" / "chromium-1248" / "chrome-linux64" / "chrome")
    assert browser.chromium_path() == newest
    debian = executable(tmp_path / "root" / "usr" / "bin" / "chromium")
    assert browser.chromium_path() == debian
    mine = executable(tmp_path / "mine" / "chrome")
    monkeypatch.setenv("CHROMIUM", str(mine))
    assert browser.chromium_path() == mine
    monkeypatch.setenv("CHROMIUM", str(tmp_path / "missing"))
    assert browser.chromium_path() is None  # a wrong $CHROMIUM is not replaced by another browser


@pytest.mark.parametrize("page", ["autoencoders", "denoising", "vae_explorer", "gan_studio"])
def test_a_lesson_without_its_data_says_what_to_run(tmp_path, monkeypatch, page):
    from tests.conftest import app_on

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GENLAB_SYSTEM_ROOT", str(tmp_path / "root"))
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GENLAB_DATA", raising=False)
    monkeypatch.delenv("LANGUAGE", raising=False)
    app = app_on(f"pages/{page}.py")
    shown = " ".join(block.value for block in app.info)
    assert "sudo apt-get install dataset-fashion-mnist" in shown
    assert str(how_to_get("fashion-mnist")) in shown

