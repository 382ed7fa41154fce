"""Reading back the storage settings kept on the data store (config/pools.toml, config/iscsi.toml),
written by hypervisor.settings.atomic: a broken file is named with the copy beside it to restore."""
from __future__ import annotations

import tomllib
from pathlib import Path

from hypervisor.storage import StorageError


def read_toml(path: Path) -> dict:
    """A TOML file written so: {} when there is none; a broken one is named with the copy to restore."""
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise StorageError(f"{path} cannot be read ({error}): fix it, or restore {path.name}.prev beside it") from error
