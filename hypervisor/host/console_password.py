"""Where the console's password lives: a yescrypt hash in config/console.toml on the data store.

No data store, no password: the console is then open, as on a box not set up yet. Until the boot has
read the data store, or when it cannot (hypervisor/host/data_store_word.py), a password may exist that
nobody can check: the console stays locked and says why (`locked_because`), except in safe mode, the
way in to repair a broken data store. The file is read strictly, as an answer file is, and the hash is
never quoted back. It is written atomically with mode 600; a file that holds no usable hash (not TOML,
a weak hash) locks nobody out but is reported (`problem`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hypervisor.host import data_store_word
from hypervisor.host.data_store_word import UNREADABLE, WAITING
from hypervisor.host.password import weakness
from hypervisor.settings.atomic import write_atomically
from hypervisor.settings.fields import TableReader
from hypervisor.settings.problems import FileProblems, Problem
from hypervisor.settings.toml_file import parse_toml
from hypervisor.storage import MOUNTPOINT

CONSOLE_CONFIG = MOUNTPOINT / "config" / "console.toml"
IDLE_LOCK_SECONDS = 300          # as ESXi's console: locked again after five idle minutes
SECRETS = ("password_hash", "password")     # never quoted back: a "hash" may be a password typed in
WAITING_TEXT = ("The boot has not read the data store yet. A console password may be kept there: this console "
                "opens, or asks for it, once the boot has.")
SAFE_MODE = "Safe mode opens it: boot the safe-mode entry to repair it from the shell (key s)."


@dataclass(frozen=True)
class ConsoleAccess:
    password_hash: str | None
    idle_lock_seconds: int = IDLE_LOCK_SECONDS
    problem: str | None = None              # reported; locks nobody out
    problems: tuple[Problem, ...] = ()      # every one, for the boot to report; never quoting the hash
    locked_because: str | None = None       # a password may exist but cannot be checked: locked, nothing opens it

    @property
    def locks(self) -> bool:
        return self.password_hash is not None or self.locked_because is not None


def read_access(path: Path = CONSOLE_CONFIG, word_path: Path | None = None) -> ConsoleAccess:
    """What the console's lock needs to know. A problem elsewhere in the file never unlocks the console:
    a usable password_hash is used whatever else is wrong, and a wrong idle_lock_seconds is the default."""
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
        raw = path.read_bytes()
    except FileNotFoundError:
        return ConsoleAccess(None)
    except OSError as error:            # a disk error, not a file's content: the password may be in it
        if safe:
            return ConsoleAccess(None, problem=f"{path} cannot be read ({error.strerror}): this console is open "
                                               "because this is safe mode")
        return ConsoleAccess(None, locked_because=f"{path} cannot be read ({error.strerror}). A console password "
                                                  f"may be kept in it, so this console stays locked. {SAFE_MODE}")
    try:
        data = parse_toml(raw, str(path))
    except FileProblems as error:
        return ConsoleAccess(None, problem=f"{path} cannot be read: the console is not locked",
                             problems=tuple(error.problems))
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
