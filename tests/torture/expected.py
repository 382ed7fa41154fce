"""What must be true of a host after a cut: what was acknowledged before it, and what may or may not be."""
from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Appliance:
    """One of the test's own appliances: its disk.img is whole, one of these images."""
    checksums: tuple[str, ...]      # sha256 of each version it may hold (two while a --replace is unacknowledged)
    required: bool                  # acknowledged: it must be there


@dataclass(frozen=True)
class Expected:
    data_store: bool | None = None              # True: there, and it mounts; None: if there, it mounts
    passwords: tuple[str, ...] = ()             # any one of these unlocks the console
    password_required: bool = False            # a password was acknowledged: the console must be locked
    appliances: dict[str, Appliance] = field(default_factory=dict)
    addresses: tuple[str, ...] = ()             # xenbr0's IPv4 is one of these (none: not checked)

    def with_appliance(self, name: str, appliance: Appliance) -> "Expected":
        return replace(self, appliances={**self.appliances, name: appliance})
