"""Where the console's password lives: a yescrypt hash in config/console.toml on the data store.

No data store, no password: the console is then open, as on a box not set up yet. Until the boot has
read the data store, or when it cannot (hypervisor/host/data_store_word.py), a password may exist that
nobody can check: the console stays locked and says why (`locked_because`), except in safe mode, the
way in to repair a broken data store. The hash is written atomically with mode 600; a file that holds
no usable hash (not TOML, a weak hash) locks nobody out but is reported (`problem`).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from hypervisor.host import data_store_word
from hypervisor.host.data_store_word import UNREADABLE, WAITING
from hypervisor.host.password import weakness
from hypervisor.settings.atomic import write_atomically
from hypervisor.storage import MOUNTPOINT

CONSOLE_CONFIG = MOUNTPOINT / "config" / "console.toml"
IDLE_LOCK_SECONDS = 300          # as ESXi's console: locked again after five idle minutes
WAITING_TEXT = ("The boot has not read the data store yet. A console password may be kept there: this console "
                "opens, or asks for it, once the boot has.")
SAFE_MODE = "Safe mode opens it: boot the safe-mode entry to repair it from the shell (key s)."


@dataclass(frozen=True)
class ConsoleAccess:
    password_hash: str | None
    idle_lock_seconds: int = IDLE_LOCK_SECONDS
    problem: str | None = None          # reported; locks nobody out
    locked_because: str | None = None   # a password may exist but cannot be checked: locked, nothing opens it

    @property
    def locks(self) -> bool:
        return self.password_hash is not None or self.locked_because is not None


def read_access(path: Path = CONSOLE_CONFIG, word_path: Path | None = None) -> ConsoleAccess:
    word = data_store_word.heard(word_path)
    safe = word is not None and word.safe
    if word is not None and word.state == WAITING:
        return ConsoleAccess(None, locked_because=WAITING_TEXT)
    if word is not None and word.state == UNREADABLE:
        cannot = f"The data store cannot be read: {word.reason}"
        if safe:
            return ConsoleAccess(None, problem=f"{cannot}. This console is open because this is safe mode.")
        return ConsoleAccess(None, locked_because=f"{cannot}. A console password may be kept on it, so this "
                                                  f"console stays locked. {SAFE_MODE}")
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return ConsoleAccess(None)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        return ConsoleAccess(None, problem=f"{path} cannot be read ({error}): the console is not locked")
    except OSError as error:            # a disk error, not a file's content: the password may be in it
        if safe:
            return ConsoleAccess(None, problem=f"{path} cannot be read ({error.strerror}): this console is open "
                                               "because this is safe mode")
        return ConsoleAccess(None, locked_because=f"{path} cannot be read ({error.strerror}). A console password "
                                                  f"may be kept in it, so this console stays locked. {SAFE_MODE}")
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
