"""Appliances: a bundle (a folder, or a .tar of one) holding `appliance.toml` and its images.

- `manifest`   reads and checks appliance.toml into frozen dataclasses; `load_bundle`
- `safe_tar`   unpacks a bundle's tar without letting it write outside its folder
- `xlcfg`      manifest -> xl.cfg for `xl create`, and /etc/xen/*.cfg -> appliance.toml
- `xlsyntax`   the xl.cfg language: settings, disk specs, vif specs, quoting
- `tomlwrite`  writes appliance.toml (tomllib only reads)
- `fields`, `problems`  strict table reading, and errors that list every problem
"""
from hypervisor.appliances.manifest import (Autostart, Boot, Disk, HostLimits, Manifest, Memory, NetworkInterface,
                                            Policy, Vcpus, load_bundle, parse_manifest, parse_manifest_bytes)
from hypervisor.appliances.problems import ManifestError, Problem
from hypervisor.appliances.xlcfg import ImportedAppliance, manifest_from_xl_cfg, parse_xl_cfg, to_xl_cfg

__all__ = ["Autostart", "Boot", "Disk", "HostLimits", "ImportedAppliance", "Manifest", "ManifestError", "Memory",
           "NetworkInterface", "Policy", "Problem", "Vcpus", "load_bundle", "manifest_from_xl_cfg",
           "parse_manifest", "parse_manifest_bytes", "parse_xl_cfg", "to_xl_cfg"]
