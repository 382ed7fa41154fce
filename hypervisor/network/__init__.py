"""The host's own network: settings for xenbr0, DNS, hostname and extra bridges, and the console password.

- `config`    settings as frozen dataclasses; `validate`, and the argv lists that apply them (`to_commands`, `change`)
- `password`  yescrypt hashes of the console password; which hashes an answer file may hold
- `addresses` the host's current addresses, for the overview

The names below are loaded on first use: the console imports `addresses` every
start, and must not pay for the config and password modules (crypt, ipaddress).
"""
import importlib

_HOME = {name: "config" for name in ("Addressing", "Bridge", "Change", "NetworkConfig", "change", "resolv_conf",
                                      "to_commands", "validate")}
_HOME.update({name: "password" for name in ("PasswordError", "hash_password", "verify", "weakness")})
__all__ = sorted(_HOME)


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
