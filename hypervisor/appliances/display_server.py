"""websockify, run in this process once its pid is written where display.Websockify looks for it.

    python3 -m hypervisor.appliances.display_server PIDFILE WEBSOCKIFY-OPTIONS...

websockify comes from Debian's python3-websockify, unpacked beside XenBox's own packages
(firmware/display.py); it runs without numpy, which only speeds up unmasking large frames.
"""
from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

from hypervisor.settings.atomic import write_atomically


def main(argv: list[str]) -> None:
    pidfile, *options = argv
    os.umask(0o077)         # its log names the tokens it was given
    warnings.filterwarnings("ignore", message="no 'numpy' module")
    from websockify import websocketproxy
    given = websocketproxy.WebSocketProxy.__init__

    def no_listings(self, *args, **kwargs):     # websockify 0.10 has the setting but no option for it
        given(self, *args, **{**kwargs, "file_only": True})
    websocketproxy.WebSocketProxy.__init__ = no_listings
    write_atomically(Path(pidfile), f"{os.getpid()}\n")
    sys.argv = ["websockify", *options]
    websocketproxy.websockify_init()


if __name__ == "__main__":
    main(sys.argv[1:])
