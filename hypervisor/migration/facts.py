"""What a host offers a guest moving to it, as a paired peer asks for it (the `facts` request).

`gather` reads it here: Xen (version, CPU features, free memory, HVM), the bridges, the NFS pools
that are mounted now (by share), the iSCSI LUNs it sees (every stable id of each), the appliances it
has. `to_message` and `from_message` carry it over the peers' channel; a field of the wrong kind from
a peer is refused, not guessed.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class HostFacts:
    name: str
    build: str
    xen_version: str            # 4.17.7
    hw_caps: str                # the CPU's feature words, hex, colon-separated (`xl info` hw_caps)
    free_memory_mib: int
    hvm: bool                   # HVM and PVH guests can run (VT-x/AMD-V with HAP)
    bridges: tuple[str, ...]
    nfs_shares: tuple[str, ...]         # normal_share() of each NFS pool mounted now
    iscsi_luns: tuple[str, ...]         # stable ids of the iSCSI LUNs seen now
    appliances: tuple[str, ...]


class BadFacts(ValueError):
    pass


def to_message(facts: HostFacts) -> dict:
    return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(facts).items()}


def from_message(message: dict) -> HostFacts:
    values = {}
    for field in fields(HostFacts):
        value = message.get(field.name)
        if field.type == "tuple[str, ...]":
            if not (isinstance(value, list) and all(isinstance(item, str) for item in value)):
                raise BadFacts(f"the peer's {field.name} is not a list of names")
            value = tuple(value)
        elif field.type == "int":
            if not isinstance(value, int) or isinstance(value, bool):
                raise BadFacts(f"the peer's {field.name} is not a number")
        elif field.type == "bool":
            if not isinstance(value, bool):
                raise BadFacts(f"the peer's {field.name} is not true or false")
        elif not isinstance(value, str):
            raise BadFacts(f"the peer's {field.name} is not text")
        values[field.name] = value
    return HostFacts(**values)
