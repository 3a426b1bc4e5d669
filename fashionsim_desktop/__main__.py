"""Entry point: `fashionsim COMMAND ...` runs the CLI; `fashionsim [FOLDER]` opens the window."""
from __future__ import annotations

import difflib
import multiprocessing
import os
import sys

CLI_COMMANDS = {"index", "pairs", "decide", "undo", "keeper", "keeper-policy", "groups", "export", "errors", "search",
                "check", "doctor", "restore", "metadata", "-h", "--help"}
NO_DISPLAY = ("fashionsim: no display is available to open the window; use a command such as "
              "`fashionsim index FOLDER` (see fashionsim --help), or run it in a desktop session.")


def unknown_command(argv: list[str]) -> str | None:
    """A sentence for an argument that is neither a command, an option nor an existing folder: a mistyped
    command (`fashionsim pair`) must not be taken for a folder to open in the window."""
    word = next((a for a in argv if not a.startswith("-")), None)
    if word is None or os.path.exists(word):
        return None
    if os.sep in word or (os.altsep and os.altsep in word):
        return f"fashionsim: there is no folder {word!r} to open"
    commands = sorted(CLI_COMMANDS - {"-h", "--help"})
    close = difflib.get_close_matches(word, commands, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"commands: {', '.join(commands)}"
    return f"fashionsim: unknown command {word!r} ({hint})"


def no_display() -> bool:
    """True on Linux without X11, Wayland or a chosen Qt platform: Qt would abort with a plugin message."""
    return sys.platform.startswith("linux") and not any(
        os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def main(argv: list[str] | None = None) -> int:
    multiprocessing.freeze_support()  # worker processes of a frozen (PyInstaller) app start here
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in CLI_COMMANDS:
        # Imported here, not at the top: every worker process re-imports this module when it starts, and
        # should not pay for the CLI's imports (sqlite-utils alone pulls in pandas when it is installed).
        from .cli import main as cli_main

        return cli_main(argv)
    problem = unknown_command(argv)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if no_display():  # checked before any Qt import
        print(NO_DISPLAY, file=sys.stderr)
        return 1
    try:
        from .ui.app import run_app
    except ImportError as exc:
        print(f"fashionsim: the desktop window is not available ({exc}). "
              f"Use a command: {', '.join(sorted(CLI_COMMANDS - {'-h', '--help'}))}", file=sys.stderr)
        return 1
    return run_app(argv)


if __name__ == "__main__":
    sys.exit(main())
