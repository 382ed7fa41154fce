"""Start the XenBox console on the terminal given (python3 -m tui --tty hvc0)."""
from __future__ import annotations

import argparse
import os
import sys

from tui.terminal import size_terminal


def main() -> int:
    parser = argparse.ArgumentParser(prog="xenbox-console")
    parser.add_argument("--tty", default="", help="the terminal this console runs on (tty1, hvc0)")
    parser.add_argument("--once", action="store_true", help="run one console, with no supervisor to restart it")
    args = parser.parse_args()
    if os.isatty(0):
        size_terminal(0)
    # 16 colours read well on the Linux VGA console and any serial terminal.
    os.environ.setdefault("TEXTUAL_COLOR_SYSTEM", "standard")
    if args.once:
        from tui.app import XenBoxApp   # after sizing: Textual reads the size on import of the driver
        XenBoxApp(tty=args.tty).run()
    else:
        from tui.supervisor import main as supervise
        supervise(args.tty)
    return 0


if __name__ == "__main__":
    sys.exit(main())
