"""Disks plugged in or pulled out, told to a screen as a message: a thread worker waits on the kernel's
uevents (hypervisor/storage/disk_events.py) and posts `DisksChanged` to the screen or step that started it.
The worker stops with its node (a screen popped, the first-boot flow closed)."""
from __future__ import annotations

from typing import Callable

from textual.dom import DOMNode
from textual.message import Message
from textual.worker import Worker, get_current_worker

from hypervisor.storage.disk_events import DiskEvent, DiskEvents

WAIT_SECONDS = 0.5      # how often the worker looks whether it was cancelled


class DisksChanged(Message):
    def __init__(self, events: tuple[DiskEvent, ...]) -> None:
        super().__init__()
        self.events = events

    @property
    def sentence(self) -> str:
        return "Disks changed: " + ", ".join(event.sentence for event in self.events) + "."


def watch_disks(node: DOMNode, events: Callable[[], DiskEvents] = DiskEvents) -> Worker:
    def watch() -> None:
        worker = get_current_worker()
        with events() as disk_events:
            while not worker.is_cancelled:
                found = disk_events.wait(WAIT_SECONDS)
                if found and not worker.is_cancelled:
                    node.post_message(DisksChanged(tuple(found)))
    return node.run_worker(watch, name="disk events", group="disk-events", thread=True, exclusive=True,
                           exit_on_error=False)
