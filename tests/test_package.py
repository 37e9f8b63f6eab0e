"""The package's promises about itself: no UI import in the core, no work at import time."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_importing_genmodels_imports_no_streamlit_and_does_no_io(tmp_path):
    code = (
        "import sys, builtins\n"
        "opened = []\n"
        "real_open = builtins.open\n"
        "builtins.open = lambda *a, **k: (opened.append(a[0]), real_open(*a, **k))[1]\n"
        "import genmodels, genmodels.registry, genmodels.training, genmodels.jobs, genmodels.checkpoints\n"
        "import genmodels.data, genmodels.cli, genmodels.images, genmodels.metrics\n"
        "assert 'streamlit' not in sys.modules, 'streamlit imported'\n"
        "assert 'torchvision' not in sys.modules, 'torchvision imported at import time'\n"
        "data = [p for p in map(str, opened) if not p.endswith('.py') and not p.startswith('/proc/')]\n"
        "assert not data, data\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                            env={"PYTHONPATH": str(ROOT), "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written (no caches, no downloads)


def test_no_module_outside_ui_imports_streamlit():
    for path in (ROOT / "genmodels").rglob("*.py"):
        if "ui" in path.relative_to(ROOT / "genmodels").parts:
            continue
        assert "import streamlit" not in path.read_text(), path
