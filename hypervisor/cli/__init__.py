"""`xenbox`, the XenBox command line in dom0: `python3 -m hypervisor.cli GROUP COMMAND ...`.

- `main`       the parser and the exit codes; every error the library raises said in one line
- `output`     say() and fail(): the one way a command speaks
- `host`       `xenbox host`: info, shutdown-guests, boot, dmesg, uptime, serial
- `peers`      `xenbox host pair | peers | unpair | peer-listener`: pairing with other XenBox hosts
- `appliance`  `xenbox appliance`: list, start, stop, every xl action, add, import, autostart
- `migration`  `xenbox appliance movable NAME HOST`: could it move to a paired host, and if not why
- `checkpoints` `xenbox appliance checkpoint | checkpoints | checkpoint-restore | checkpoint-delete`
- `storage`    `xenbox storage`: disks, the data store, guest volumes
- `iscsi`      `xenbox storage iscsi`: targets attached at boot
- `pool`       `xenbox storage pool`: pools for appliance disks
- `answer`     `xenbox answer check`

Nothing below the CLI imports it: the console and the library never do.
"""
