"""`fashionsim` with something that is not a command: a clear sentence and an exit code, never a Qt abort."""
from __future__ import annotations

import os
import subprocess
import sys

from .conftest import REPO

DISPLAY_VARS = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")


def headless_env(home) -> dict:
    """A machine without a display, as over ssh or in a container."""
    env = {k: v for k, v in os.environ.items() if k not in DISPLAY_VARS}
    return dict(env, FASHIONSIM_HOME=str(home), PYTHONPATH=str(REPO))


def fashionsim(*args, home, cwd=None):
    return subprocess.run([sys.executable, "-m", "fashionsim_desktop", *map(str, args)], capture_output=True,
                          text=True, env=headless_env(home), cwd=cwd, timeout=120)


def test_a_mistyped_command_is_not_taken_for_a_folder(tmp_path, isolated_home):
    result = fashionsim("pair", home=isolated_home, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "fashionsim: unknown command 'pair' (did you mean 'pairs'?)\n"
    result = fashionsim("thumbnails", home=isolated_home, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("fashionsim: unknown command 'thumbnails' (commands: ")
    assert "index, " in result.stderr and "pairs, " in result.stderr
    assert result.stderr.count("\n") == 1


def test_an_existing_folder_is_still_opened_not_refused(tmp_path, isolated_home):
    (tmp_path / "pair").mkdir()  # a folder named like a command's misspelling is a folder
    result = fashionsim("pair", home=isolated_home, cwd=tmp_path)
    assert "unknown command" not in result.stderr
    assert result.returncode == 1 and "no display is available" in result.stderr


def test_no_display_gives_one_sentence_before_any_qt_import(tmp_path, isolated_home):
    expected = ("fashionsim: no display is available to open the window; use a command such as "
                "`fashionsim index FOLDER` (see fashionsim --help), or run it in a desktop session.\n")
    for args in ((), (tmp_path,)):
        result = fashionsim(*args, home=isolated_home)
        assert (result.returncode, result.stderr, result.stdout) == (1, expected, "")
    probe = ("import sys; from fashionsim_desktop.__main__ import main; code = main([]); "
             "print(code, any(m.startswith('PySide6') for m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            env=headless_env(isolated_home), timeout=120)
    assert result.stdout.split() == ["1", "False"], result.stderr
