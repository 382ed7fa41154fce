"""The host's own network: settings for xenbr0, DNS, hostname and extra bridges.

- `config`    settings as frozen dataclasses; `validate`, and the argv lists that apply them (`to_commands`, `change`)
- `apply`     those settings put on the running host
- `nic`       a network card's link, speed and driver, from sysfs
- `addresses` the host's current addresses, for the overview

The settings kept on the data store are in the answer file's own form: hypervisor.answer.network_settings.

The names below are loaded on first use: the console imports `addresses` every
start, and must not pay for the config module (ipaddress).
"""
import importlib

_HOME = {name: "config" for name in ("Addressing", "Bridge", "Change", "NetworkConfig", "change", "resolv_conf",
                                      "to_commands", "validate")}
__all__ = sorted(_HOME)


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
