"""XenBox's hypervisor library in dom0, and the `xenbox` command line over it.

Its layers, top to bottom (checked by import-linter: .importlinter); a package imports only from
those below it, and `|` marks siblings that never import each other:

    cli | (the console, tui/)      the front ends
    boot                           what dom0 does at boot
    answer                         answer files: parse, fetch, apply
    appliances                     bundles, manifests, the catalog, starting guests
    host                           dom0 itself: its summary, the console password, its messages
    storage | network              disks, LVM, iSCSI, NFS, pools | bridges, addresses
    settings                       problems, strict field reading, TOML and atomic writes
    xen                            xl, Xen's bindings and daemons, domains and their parsers
    runner                         the one way a program is started

Parsing is kept in pure functions that take text and return dataclasses, so tests can feed them
real captured output; every program goes through `hypervisor.runner` (tests/unit/test_one_runner.py).
"""
