"""The one question before a disk that holds something is erased: its name, typed exactly.

The first-boot disk step and the Storage screen both ask it when `check_can_initialise` raises
ConfirmationNeeded (the same rule `xenbox storage init --erase NAME` answers on the command line).
"""
from __future__ import annotations

from hypervisor.storage.disks import Disk
from tui.invalid import Invalid
from tui.widgets.prompt import Prompt


def erase_prompt(disk: Disk, reason: str, what_happens: str, to_do: str, keep: str) -> Prompt:
    """A prompt dismissed with the name typed (disk.name or its path), or None on Escape.
    `what_happens`: "Everything on it will be erased."; `to_do`: "erase it and make it the data store";
    `keep`: "keep the disk as it is"."""
    def typed(text: str) -> str:
        if text not in (disk.name, disk.path):
            raise Invalid(f"that is not {disk.name}: type {disk.name} exactly, or press Escape to {keep}")
        return text
    question = f"{disk.path} ({disk.summary}) {reason}.\n{what_happens}\nType {disk.name} to {to_do}:"
    return Prompt(question, read=typed)
