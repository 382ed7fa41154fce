"""Appliances on a booted host: autostart, HTTP over the guest bridge, and the lifecycle driven from the console.
The host also has a disk such as an operator brings on a USB stick (vda: ext4 and FAT partitions), mounted
from the console's shell once the appliance serves.

One machine serves every test here, in order: each step leaves the guest as the next expects.
"""
import json
import re

import pytest

from machine import OVERVIEW, Shell, booted, leave_first_boot_for_later, wait_for_console
from stick import KINDS, note, stick_image

GUEST_LOG = "/var/log/xen/console/guest-sample-web.log"
APPLIANCE_START = 600       # boot + xl create + the guest's own boot, under TCG on a busy machine


@pytest.fixture(scope="module")
def console(iso, tmp_path_factory):
    stick = stick_image(tmp_path_factory.mktemp("stick"))
    with booted(iso, "appliances", disks=[stick]) as console:
        wait_for_console(console)
        leave_first_boot_for_later(console)
        yield console


def guest_page(console, path="/"):
    """Fetch a page from the sample appliance, from dom0, over xenbr0."""
    with Shell(console) as shell:
        shell.run(f"until grep -q 'serving http' {GUEST_LOG} 2>/dev/null; do sleep 2; done", APPLIANCE_START)
        address = shell.run(f"grep -o 'http://[0-9.]*' {GUEST_LOG} | tail -1").strip()
        assert re.fullmatch(r"http://10\.0\.2\.\d+", address), f"the guest said no address: {address!r}"
        # Not `wget -T`: busybox 1.35's wget crashes on that option (seen in dom0).
        return shell.run(f"timeout 30 wget -q -O- {address}{path}", 60)


def open_appliances(console):
    console.press("a")
    # Generous limits here and below: on a 2-core CI host two emulated machines share the CPU,
    # and a screen that takes 5 s when idle has been seen to take a minute. Speed is `make bench`'s.
    console.wait_for_screen(r"o Restore", 90)      # the Appliances screen's footer
    console.wait_for_screen(r"sample-web", 90)


def row(state: str, mib: str = r"\S+") -> str:
    """The sample's line in the appliances table: Name State ID vCPU MiB. Not a notification
    such as "sample-web paused", which says a job ended before the table shows it."""
    return rf"sample-web +{state} +\S+ +\S+ +{mib} "


def prompt_shows(console, question):
    """Until the prompt asking `question` is open: keys typed before it would go to the table."""
    console.wait_for_screen(rf"(?s){question}.*Enter = accept", 90)


def test_sample_appliance_starts_by_itself_and_serves_http(console):
    console.wait_for_output(rb"xenbox: appliance sample-web started", APPLIANCE_START)
    page = guest_page(console)
    assert "XenBox sample appliance" in page


def test_the_sample_guests_pv_driver_connects_its_nic(console):
    """sample-web is a PV guest, serving by now, with a NIC and no disk (its root is its ramdisk): its kernel's
    netfront took the NIC, so its frontend is connected (XenbusState 4) in xenstore, and the list says so."""
    with Shell(console) as shell:
        said = shell.run("xenbox appliance list --json | python3 -c 'import json, sys; "
                         "print(json.dumps(json.load(sys.stdin)))'", 120)
        assert shell.status == 0, said
        rows = json.loads([line for line in said.splitlines() if line.startswith("[")][-1])
        listed = shell.run("xenbox appliance list")
    web = next(row for row in rows if row["name"] == "sample-web")
    assert web["pv_drivers"] == {"disks": {"connected": 0, "devices": 0}, "nics": {"connected": 1, "devices": 1},
                                 "summary": "PV drivers: NICs 1/1 connected"}, web
    assert re.search(r"sample-web +running .* yes +0/0 1/1", listed), listed


def test_a_stick_holding_ext4_and_fat_mounts_without_naming_its_filesystem(console):
    """`mount DEVICE FOLDER`, as a new user types it: the filesystem's type is read from the disk, and its
    kernel module is loaded then if nothing loaded it before."""
    with Shell(console) as shell:
        for number, kind in enumerate(KINDS, start=1):
            said = shell.run(f"mkdir -p /mnt/{kind} && mount -o ro /dev/vda{number} /mnt/{kind} 2>&1 && "
                             f"cat /mnt/{kind}/hello.txt")
            assert shell.status == 0 and note(kind) in said, said
            mounted = shell.run(f"grep '^/dev/vda{number} ' /proc/mounts")
            assert mounted.startswith(f"/dev/vda{number} /mnt/{kind} {kind} ro"), mounted
            shell.run(f"umount /mnt/{kind}")
            assert shell.status == 0


def test_pause_and_unpause_from_the_console(console):
    open_appliances(console)
    console.wait_for_screen(row("running"), 60)
    console.press("p")
    console.wait_for_screen(row("paused"), 60)
    console.press("p")
    console.wait_for_screen(row("running"), 60)


def test_set_memory_from_the_console_reaches_xen(console):
    console.press("m")
    prompt_shows(console, r"Memory for sample-web in MiB")
    console.type_line("160")
    # The table shows what `xl list` reports: Xen's own figure for the guest.
    console.wait_for_screen(row("running", "160"), 120)


def guest_uptime(console) -> float:
    console.press("\x1b")                       # back to the overview, where `s` opens a shell
    console.wait_for_screen(OVERVIEW, 30)
    status = guest_page(console, "/cgi-bin/status")
    assert "appliance: sample-web" in status
    return float(re.search(r"uptime_seconds: ([\d.]+)", status).group(1))


def test_save_and_restore_keep_the_guest_serving(console):
    before = guest_uptime(console)
    open_appliances(console)
    console.press("v")
    prompt_shows(console, r"Save sample-web to this file.*/var/lib/xenbox/saved/sample-web\.save")
    console.type_line("")                       # accept the suggested file
    console.wait_for_screen(row("stopped"), 300)
    console.press("o")
    prompt_shows(console, r"Restore a guest from this saved file.*/var/lib/xenbox/saved/sample-web\.save")
    console.type_line("")
    console.wait_for_screen(row("running"), 300)
    # The same guest came back, not a fresh boot: its clock went on from where it was saved.
    assert guest_uptime(console) >= before
    with Shell(console) as shell:               # all the guest's memory: root's alone
        assert shell.run("stat -c %a /var/lib/xenbox/saved/sample-web.save").strip() == "600"


SAVED = "/var/lib/xenbox/saved/sample-web.save"
SAMPLE_KERNEL = "/usr/share/xenbox/appliances/sample-web/vmlinux"
PY = "PYTHONPATH=/usr/lib/xenbox/python python3 -c"
# The file with its guest's kernel changed to /etc/shadow in the configuration xl wrote ahead of the
# memory (header: 44 bytes, then the optional data's length, the configuration's length, the JSON).
TAMPER = ("import struct as s; d = open('%s', 'rb').read(); n = s.unpack('=I', d[48:52])[0]; "
          "c = d[52:52 + n].replace(b'%s', b'/etc/shadow'); "
          "open('/tmp/t.save', 'wb').write(d[:44] + s.pack('=II', len(c) + 4, len(c)) + c + d[52 + n:])")


def test_a_save_file_whose_guest_names_a_host_file_is_not_restored(console):
    """The configuration inside the file xl saved above is what restore checks (guest_paths.py)."""
    with Shell(console) as shell:
        read = shell.run(f'{PY} "from hypervisor.appliances.saved import read_saved_guest as r; '
                         f'print(r(\'{SAVED}\'))"')
        assert f"('kernel', '{SAMPLE_KERNEL}')" in read and "foreign=[]" in read, read
        shell.run(f'{PY} "{TAMPER % (SAVED, SAMPLE_KERNEL)}"')
        said = shell.run("xenbox appliance restore /tmp/t.save 2>&1", 300)
        assert shell.status == 1, said
        assert "/tmp/t.save was not restored: its guest sample-web: its kernel (/etc/shadow) is outside the " \
               "bundle" in said, said
        assert shell.run("xl list | grep -c sample-web").strip() == "1"      # the restored one, running still


def say_in_guest(console, since: int) -> None:
    """Once attached (the line that says so came after `since`): a command at the sample's own shell,
    answered by the guest itself (its host name), then Ctrl-] back. The guest's busybox shell asks where
    the cursor is at each prompt; the terminal gives no answer while attached (see test_storage.py)."""
    console.wait_for_output(rb"Attached to sample-web's console. Press Ctrl-] to come back.", 90, since=since)
    console.settle(3)
    console.press("\x15", pause=1)             # Ctrl-U: whatever is on the guest's command line goes
    typed = len(console.transcript)
    console.type_line("echo IN-$(hostname)")
    console.wait_for_output(b"IN-sample-web", 120, since=typed)
    console.press("\x1d")                       # Ctrl-]
    console.settle(3)
    console.answers_queries = True


def test_the_guests_console_from_the_appliances_screen_and_from_xenbox(console):
    open_appliances(console)
    console.wait_for_screen(row("running"), 60)
    console.answers_queries = False
    since = len(console.transcript)
    console.press("e")                          # the console suspends itself and attaches (runner.attach)
    say_in_guest(console, since)
    console.screen.reset()
    console.wait_for_screen(row("running"), 180)    # back on the Appliances screen, drawn again
    console.press("\x1b")
    console.wait_for_screen(OVERVIEW, 60)
    with Shell(console) as shell:               # `xenbox appliance console` becomes `xl console` (runner.become)
        console.answers_queries = False
        since = len(console.transcript)
        console.type_line("xenbox appliance console sample-web")
        say_in_guest(console, since)
        console.type_line("")
        assert shell.run("echo back in dom0") == "back in dom0"


def test_a_broken_appliance_does_not_stop_the_others(console):
    # rc.boot runs `xenbox appliance autostart` at boot; the image's own appliances are all
    # valid, so a broken one is added here and autostart is run again the same way.
    with Shell(console) as shell:
        shell.run("mkdir -p /var/lib/xenbox/appliances/aaa-broken && "
                  "printf 'name = \"aaa-broken\"\\ntype = \"pv\"\\nmemory = 64\\n' "
                  "> /var/lib/xenbox/appliances/aaa-broken/appliance.toml")
        shell.run("xl shutdown -w sample-web", 300)
        said = shell.run("xenbox appliance autostart", 600)
        assert shell.status == 1, "autostart exits 1 when some appliance did not start"
        assert "appliance aaa-broken NOT started" in said and "memory" in said
        assert "appliance sample-web started" in said
        assert "sample-web" in shell.run("xl list")
    # the overview names what did not start; drawn in pieces over serial, so wait for the whole of it
    console.wait_for_screen(r"(?s)aaa-broken.*NOT started", 30)


def test_shut_down_from_the_console(console):
    open_appliances(console)
    console.wait_for_screen(row("running"), 60)
    console.press("d")
    console.wait_for_screen(row("stopped"), 300)


def test_a_bad_settings_file_is_said_and_left_out_and_the_appliances_still_start(console):
    # The boot rc.services runs, again, with a pools.toml of the wrong types and a name that would leave
    # /run/xenbox/pools: said with its key paths and left out; sample-web, stopped, starts.
    pools = "/var/lib/xenbox/config/pools.toml"
    console.press("\x1b")                       # back to the overview, whose Boot panel lists it
    console.wait_for_screen(OVERVIEW, 90)
    with Shell(console) as shell:
        shell.run("xl shutdown -w sample-web 2>/dev/null", 300)     # stopped already when run after the above
        shell.run(f"mkdir -p /var/lib/xenbox/config && printf '%s\\n' '[[pools]]' 'name = \"../../etc\"' "
                  f"'type = \"nfs\"' 'share = \"10.0.2.2:/x\"' 'port = \"2049\"' > {pools}")
        said = shell.run("xenbox host boot", 900)
        assert f"xenbox: {pools}: NOT used, 2 problems: no pool in it is attached" in said, said
        assert "pools[0].name = '../../etc': must be 1-64 letters" in said
        assert "pools[0].port = '2049': must be a whole number (found text)" in said
        assert "xenbox: appliance sample-web started" in said
        assert shell.run("[ -e /run/etc ] && echo made || echo none").strip() == "none"   # /run/xenbox/pools/../../etc
        shell.run(f"rm {pools}")
    console.wait_for_screen(r"pools\.toml NOT used: no pool in it is attached", 60)    # the overview's Boot panel
