"""Entry point of the frozen app (both executables): the CLI for a command, otherwise the window."""
import sys

from fashionsim_desktop.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
