"""Entry point: `fashionsim COMMAND ...` runs the CLI; `fashionsim [FOLDER]` opens the window."""
from __future__ import annotations

import multiprocessing
import sys

CLI_COMMANDS = {"index", "pairs", "decide", "undo", "keeper", "groups", "export", "errors", "search", "-h", "--help"}


def main(argv: list[str] | None = None) -> int:
    multiprocessing.freeze_support()  # worker processes of a frozen (PyInstaller) app start here
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in CLI_COMMANDS:
        # Imported here, not at the top: every worker process re-imports this module when it starts, and
        # should not pay for the CLI's imports (sqlite-utils alone pulls in pandas when it is installed).
        from .cli import main as cli_main

        return cli_main(argv)
    try:
        from .ui.app import run_app
    except ImportError as exc:
        print(f"fashionsim: the desktop window is not available ({exc}). "
              f"Use a command: {', '.join(sorted(CLI_COMMANDS - {'-h', '--help'}))}", file=sys.stderr)
        return 1
    return run_app(argv)


if __name__ == "__main__":
    sys.exit(main())
