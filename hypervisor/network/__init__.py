"""The host's own network: settings for xenbr0, DNS, hostname and extra bridges, and the console password.

- `config`    settings as frozen dataclasses; `validate`, and the argv lists that apply them (`to_commands`, `change`)
- `password`  yescrypt hashes of the console password; which hashes an answer file may hold
"""
from hypervisor.network.config import (Addressing, Bridge, Change, NetworkConfig, change, resolv_conf,
                                       to_commands, validate)
from hypervisor.network.password import PasswordError, hash_password, verify, weakness

__all__ = ["Addressing", "Bridge", "Change", "NetworkConfig", "PasswordError", "change", "hash_password",
           "resolv_conf", "to_commands", "validate", "verify", "weakness"]
