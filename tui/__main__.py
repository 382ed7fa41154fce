"""Start the XenBox consoles: python3 -m tui --tty hvc0 --tty tty1."""
from __future__ import annotations

import argparse
import os
import sys


def main() -> int:
    parser = argparse.ArgumentParser(prog="xenbox-console")
    parser.add_argument("--tty", action="append", default=[],
                        help="a terminal to run a console on (hvc0, tty1); repeat for more")
    parser.add_argument("--once", action="store_true",
                        help="run one console on this terminal, with no supervisor to restart it")
    args = parser.parse_args()
    # 16 colours read well on the Linux VGA console and any serial terminal.
    os.environ.setdefault("TEXTUAL_COLOR_SYSTEM", "standard")
    if args.once or not args.tty:
        from tui.terminal import size_terminal
        if os.isatty(0):
            size_terminal(0)
        from tui.app import XenBoxApp
        XenBoxApp(tty=args.tty[0] if args.tty else "").run()
    else:
        from tui.supervisor import main as supervise
        supervise(args.tty)
    return 0


if __name__ == "__main__":
    sys.exit(main())
