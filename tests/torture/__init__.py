"""Power cuts, measured: `make torture` boots XenBox under QEMU, kills QEMU while an operation runs,
boots the same disks again and checks what a person would rely on (see __main__.py).

The machine, its serial console and the dom0 shell are the end-to-end tests' own (tests/e2e).
"""
import sys
from pathlib import Path

E2E = Path(__file__).resolve().parents[1] / "e2e"
if str(E2E) not in sys.path:
    sys.path.insert(0, str(E2E))     # machine.py and serial.py, as the e2e tests import them
