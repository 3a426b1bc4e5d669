"""The UI-free core and the store never import Qt (checked by importing them, not by reading text)."""
from __future__ import annotations

import pkgutil
import subprocess
import sys

import fashionsim_desktop.core
import fashionsim_desktop.store

from .conftest import REPO


def test_core_and_store_import_without_qt():
    modules = [f"fashionsim_desktop.core.{m.name}" for m in pkgutil.iter_modules(fashionsim_desktop.core.__path__)]
    modules += [f"fashionsim_desktop.store.{m.name}" for m in pkgutil.iter_modules(fashionsim_desktop.store.__path__)]
    modules.append("fashionsim_desktop.cli")
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules) +
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6', 'PyQt'))]\n"
            "print(','.join(bad))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert len(modules) >= 15
    assert result.stdout.strip() == "", f"Qt imported by the core: {result.stdout}"
