"""Where the console's password lives: a yescrypt hash in config/console.toml on the data store.

No data store, no password: the console is then open, as on a box not set up yet. The hash
is written atomically with mode 600; a file that cannot be read, or holds a weak hash, locks
nobody out but is reported (`problem`).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from hypervisor.host.password import weakness
from hypervisor.settings.atomic import write_atomically
from hypervisor.storage import MOUNTPOINT

CONSOLE_CONFIG = MOUNTPOINT / "config" / "console.toml"
IDLE_LOCK_SECONDS = 300          # as ESXi's console: locked again after five idle minutes


@dataclass(frozen=True)
class ConsoleAccess:
    password_hash: str | None
    idle_lock_seconds: int = IDLE_LOCK_SECONDS
    problem: str | None = None


def read_access(path: Path = CONSOLE_CONFIG) -> ConsoleAccess:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return ConsoleAccess(None)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        return ConsoleAccess(None, problem=f"{path} cannot be read ({error}): the console is not locked")
    hashed, idle = data.get("password_hash"), data.get("idle_lock_seconds", IDLE_LOCK_SECONDS)
    if not isinstance(idle, int) or isinstance(idle, bool) or idle < 10:
        idle = IDLE_LOCK_SECONDS
    if not isinstance(hashed, str) or weakness(hashed):
        return ConsoleAccess(None, idle, f"{path} holds no usable password_hash: the console is not locked")
    return ConsoleAccess(hashed, idle)


def store_hash(hashed: str, path: Path = CONSOLE_CONFIG) -> None:
    problem = weakness(hashed)
    if problem:
        raise ValueError(f"the password hash {problem}")
    write_atomically(path, f'# The console password (yescrypt). Change it from the console (key w).\n'
                           f'password_hash = "{hashed}"\n')
    path.chmod(0o600)
