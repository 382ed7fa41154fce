"""Handing the console's terminal to a program (the shell, a guest's console) and taking it back, within
the idle lock: while a console password may exist, a program whose terminal has no input for the idle
limit is hung up (hypervisor/runner.py), and the console locks when it is back.
"""
from __future__ import annotations

from typing import Callable, TypeVar

from textual.dom import DOMNode
from textual.message import Message

from hypervisor import runner
from hypervisor.host.console_password import read_access

Result = TypeVar("Result")


class TerminalBack(Message):
    """The console has its terminal again; `left_idle`: the program was hung up for want of input."""

    def __init__(self, left_idle: bool) -> None:
        super().__init__()
        self.left_idle = left_idle


def idle_limit() -> int | None:
    access = read_access()
    return access.idle_lock_seconds if access.locks else None


def hand_over(node: DOMNode, program: Callable[[int | None], Result]) -> Result | None:
    """Suspend the console, run `program(idle_limit)` on its terminal, resume. None when the program was
    hung up. Raises textual.app.SuspendNotSupported where the terminal cannot be handed over."""
    left_idle, result, error = False, None, None
    with node.app.suspend():
        try:                        # caught in here: an exception out of suspend() would not resume it
            result = program(idle_limit())
        except runner.LeftIdle:
            left_idle = True
        except Exception as raised:
            error = raised
    node.post_message(TerminalBack(left_idle))
    if error is not None:
        raise error
    return result
