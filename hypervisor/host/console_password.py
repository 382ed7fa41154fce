"""Where the console's password lives: a yescrypt hash in config/console.toml on the data store.

No data store, no password: the console is then open, as on a box not set up yet. The hash
is written atomically with mode 600; a file that cannot be read, or holds a weak hash, locks
nobody out but is reported (`problem`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hypervisor.host.password import weakness
from hypervisor.settings.atomic import write_atomically
from hypervisor.settings.fields import TableReader
from hypervisor.settings.problems import FileProblems, Problem
from hypervisor.settings.toml_file import load_toml
from hypervisor.storage import MOUNTPOINT

CONSOLE_CONFIG = MOUNTPOINT / "config" / "console.toml"
IDLE_LOCK_SECONDS = 300          # as ESXi's console: locked again after five idle minutes
SECRETS = ("password_hash", "password")     # never quoted back: a "hash" may be a password typed in


@dataclass(frozen=True)
class ConsoleAccess:
    password_hash: str | None
    idle_lock_seconds: int = IDLE_LOCK_SECONDS
    problem: str | None = None
    problems: tuple[Problem, ...] = ()      # every one, for the boot to report; never quoting the hash


def read_access(path: Path = CONSOLE_CONFIG) -> ConsoleAccess:
    """Read strictly, as an answer file is. A problem elsewhere in the file never unlocks the console:
    a usable password_hash is used whatever else is wrong, and a wrong idle_lock_seconds is the default."""
    try:
        data = load_toml(path)
    except FileProblems as error:
        return ConsoleAccess(None, problem=f"{path} cannot be read: the console is not locked",
                             problems=tuple(error.problems))
    if data is None:
        return ConsoleAccess(None)
    problems: list[Problem] = []
    doc = TableReader(data, "", problems, secrets=SECRETS)
    hashed = doc.string("password_hash")
    idle = doc.integer("idle_lock_seconds", minimum=10, unit="seconds")
    doc.refuse("password", "is never stored as it is typed: write password_hash = the hash of it instead, "
                           "or set the password from the console (key w)")
    doc.finish()
    if hashed is not None and (weak := weakness(hashed)):
        doc.problem("password_hash", None, weak)
        hashed = None
    idle = IDLE_LOCK_SECONDS if idle is None else idle
    if hashed is None:
        return ConsoleAccess(None, idle, f"{path} holds no usable password_hash: the console is not locked",
                             tuple(problems))
    summary = f"{path} has problems; the console is locked with its password_hash all the same" if problems else None
    return ConsoleAccess(hashed, idle, summary, tuple(problems))


def store_hash(hashed: str, path: Path = CONSOLE_CONFIG) -> None:
    problem = weakness(hashed)
    if problem:
        raise ValueError(f"the password hash {problem}")
    # Mode 600 from its first byte (settings.atomic).
    write_atomically(path, f'# The console password (yescrypt). Change it from the console (key w).\n'
                           f'password_hash = "{hashed}"\n')
