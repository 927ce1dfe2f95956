"""The ``fedquery`` command's entry point: ``fedquery --version`` is answered before the command line's
own imports (click, the output formats, the audit log), which every other command then loads."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from fedquery import __version__

        sys.stdout.write(f"fedquery, version {__version__}\n")  # what click's version option prints
        sys.stdout.flush()
        raise SystemExit(0)
    from fedquery.cli import main as command_line

    command_line()


if __name__ == "__main__":  # python -m fedquery.launch: what the installed ``fedquery`` command runs
    main()
