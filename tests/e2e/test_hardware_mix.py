"""Several NICs and disk controllers in one boot (issue 21's hardware matrix under QEMU, real drivers):
`xenbox host hardware --json` names each NIC's driver and each controller with its disk; each disk is in
the Storage listing (`xenbox storage disks --json`) with the same stable id and becomes the data store in turn;
the management NIC is under xenbr0 with a DHCP address from QEMU's user network (10.0.2.x), and so is another
one chosen on the console's Network screen (each NIC has a user network of its own). The rest of the matrix is the slow variant."""
import json

import pytest

from hardware_mix import CONTROLLERS, MORE_CONTROLLERS, MORE_NICS, NICS, mix_devices
from machine import OVERVIEW, Shell, booted, leave_first_boot_for_later, wait_for_console

# xenbr0's DHCP lease: udhcpc runs in the background from the boot on; seconds under TCG when idle.
DHCP_WAIT = "for i in $(seq 90); do ip -4 -o a s xenbr0 | grep -q ' 10.0.2.' && break; sleep 2; done"


def one_line_json(shell: Shell, command: str):
    """A command's JSON printed on one line (a boot message may land among the shell's lines)."""
    said = shell.run(f"{command} | python3 -m json.tool --compact")
    assert shell.status == 0, said
    return json.loads(next(line for line in said.splitlines() if line.startswith(("{", "["))))


def check_the_mix(iso, tmp_path, name: str, nics: dict[str, str], controllers: dict, not_yet: tuple = ()) -> None:
    """`not_yet`: controllers whose driver binds but whose disk Linux has not been seen to find here: the rest
    is checked, then the test is an expected failure while the disk stays missing (a pass once it shows)."""
    with booted(iso, name, nic_models=list(nics), devices=mix_devices(tmp_path, controllers)) as console:
        wait_for_console(console)
        leave_first_boot_for_later(console)
        with Shell(console) as shell:
            shell.run(DHCP_WAIT)
            address = shell.run("ip -4 -o a s xenbr0")
            hardware = one_line_json(shell, "xenbox host hardware --json")
            listed = one_line_json(shell, "xenbox storage disks --json")
            drivers_said = shell.run("dmesg | grep -i -E 'mpt|sas|sym|nvme|scsi' | tail -40")
        # The console's Hardware screen (key h) over the serial line: the management NIC's line, then back.
        console.press("h")
        console.wait_for_screen(r"(?s)VT-x/AMD-V available.*NICs.*carrier, in xenbr0", 180)
        console.press("\x1b")
        console.wait_for_screen(OVERVIEW, 180)
        chosen = choose_another_management_nic(console, hardware["nics"])
        with Shell(console) as shell:
            shell.run(DHCP_WAIT)
            moved_address = shell.run("ip -4 -o a s xenbr0")
            moved = one_line_json(shell, "xenbox host hardware --json")
            data_stores = {disk["stable_id"]: data_store_on(shell, disk["name"]) for disk in hardware["disks"]
                           if any(c.serial in (disk["stable_id"] or "") for c in controllers.values())}

    assert " 10.0.2." in address, address
    found = {nic["driver"]: nic for nic in hardware["nics"]}
    assert set(found) == set(nics.values()), hardware["nics"]
    management = [nic for nic in hardware["nics"] if nic["bridge"] == "xenbr0"]
    # its cable has a peer (pcnet32 leaves operstate "unknown": the carrier is what tells)
    assert len(management) == 1 and management[0]["carrier"] is True, hardware["nics"]
    assert all(nic["mac"] and nic["firmware_state"] == "ok" for nic in hardware["nics"]), hardware["nics"]

    drivers = {c["address"]: c["driver"] for c in hardware["controllers"]}
    storage_ids = {disk["name"]: disk["stable_id"] for disk in listed}
    missing = []
    for label, controller in controllers.items():
        assert controller.driver in drivers.values(), (label, hardware["controllers"])
        disk = next((d for d in hardware["disks"] if d["stable_id"] and controller.serial in d["stable_id"]), None)
        if disk is None and label in not_yet:
            missing.append(label)
            continue
        assert disk is not None, (label, hardware["disks"], drivers_said)
        assert drivers.get(disk["controller"]) == controller.driver, (label, disk, hardware["controllers"])
        assert disk["size"] == 64 << 20, disk
        assert storage_ids.get(disk["name"]) == disk["stable_id"], (label, disk, listed)
    # another NIC chosen as the management NIC on the console's Network screen: under xenbr0, with its own lease
    assert [nic["name"] for nic in moved["nics"] if nic["bridge"] == "xenbr0"] == [chosen], moved["nics"]
    assert " 10.0.2." in moved_address, moved_address
    # each controller's disk became the data store in turn (then taken apart again for the next)
    assert data_stores and all(said == "" for said in data_stores.values()), data_stores
    if missing:
        pytest.xfail(f"no disk behind {', '.join(missing)} (driver bound, no target found):\n{drivers_said}")


def choose_another_management_nic(console, nics: list[dict]) -> str:
    """On the Network screen (key n): i, a NIC not under xenbr0 typed over auto, a to apply, y to keep it."""
    chosen = next(nic["name"] for nic in nics if nic["bridge"] != "xenbr0")
    console.press("n")
    console.wait_for_screen(r"Management interface", 180)
    console.press("i")
    console.wait_for_screen(r"The NIC bridged into xenbr0", 180)
    console.press("\x15", pause=1)                     # Ctrl-U: the "auto" offered goes
    console.type_line(chosen)
    console.wait_for_screen(r"Changes", 180)
    console.press("a")
    console.wait_for_screen(r"The new network settings are in force", 300)
    console.press("y")
    console.wait_for_screen(r"In force until the next boot", 180)      # no data store yet to keep them on
    console.press("\x1b")
    console.wait_for_screen(OVERVIEW, 180)
    return chosen


def data_store_on(shell: Shell, disk: str) -> str:
    """`xenbox storage init` on the disk, its data store checked, then taken apart by hand (XenBox has no command
    for that) so that the next disk can be one: what went wrong, or "" when all did as it should."""
    said = shell.run(f"xenbox storage init {disk}", 600)
    if shell.status != 0:
        return f"init: {said}"
    status = one_line_json(shell, "xenbox storage status --json")
    pvs = shell.run("pvs --noheadings -o pv_name").split()
    problem = "" if f"/dev/{disk}" in pvs and status.get("mounted") else f"not the data store: {status} {pvs}"
    shell.run(f"umount /var/lib/xenbox && vgremove -ff -y xenbox && pvremove -ff -y /dev/{disk} && "
              f"wipefs -q -a /dev/{disk}", 300)
    return problem or ("" if shell.status == 0 else "could not be taken apart again")


def test_three_nics_and_four_disk_controllers_in_one_boot(iso, tmp_path):
    check_the_mix(iso, tmp_path, "hardware-mix", NICS, CONTROLLERS)


@pytest.mark.slow
def test_the_rest_of_the_matrix_in_one_boot(iso, tmp_path):
    # mptsas binds QEMU's mptsas1068 ("ioc0: LSISAS1068 A0 ... Ports=8") but reports no end device, so no
    # disk: seen in three slow boots (2026-12-07). A boot with that controller alone, 30 s after the console:
    # /sys/class/sas_phy has phy-2:0..7, sas_port and sas_end_device are empty, no target under host2; the
    # kernel says nothing more. Not Xen's doing: the same kernel booted bare by QEMU (no Xen, its modules insmodded
    # from the image's squashfs, scsi-id 0 or 1) showed the same eight phys and no end device (2026-12-07), so it
    # lies between QEMU 7.2's mptsas1068 emulation and Linux 6.1's mptsas.
    check_the_mix(iso, tmp_path, "hardware-mix-more", MORE_NICS, MORE_CONTROLLERS, not_yet=("mpt",))
