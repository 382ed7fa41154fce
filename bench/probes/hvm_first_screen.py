"""Run in dom0 from the bench's stick, beside tests/e2e/new_guests/hvm.py (whose QMP screendump it reuses):

    python3 hvm_first_screen.py screen NAME SECONDS INTERVAL   # when the guest's screen is first non-blank
    python3 hvm_first_screen.py memory NAME                    # Rss and Pss of the processes serving the guest

Each prints one JSON line. Times are dom0's /proc/uptime, taken just before each screendump is asked for.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hvm  # noqa: E402

TEXT_MODE = (720, 400)      # VGA's 80x25 text mode, as QEMU's screendump draws it


def uptime():
    with open("/proc/uptime") as f:
        return float(f.read().split()[0])


def screen(name, seconds, interval):
    """Poll the screen until it shows something in VGA text mode (SeaBIOS, then GRUB); note the first
    non-blank screen in any mode on the way (the VGA BIOS may draw in a graphics mode first)."""
    number = hvm.domid(name)[0]
    first = text = None
    polls = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        at = uptime()
        width, height, count = hvm.colours(number)
        polls += 1
        seen = {"uptime": at, "width": width, "height": height, "colours": count, "poll": polls}
        if count > 1 and first is None:
            first = seen
        if count > 1 and (width, height) == TEXT_MODE:
            text = seen
            break
        time.sleep(interval)
    return {"name": name, "domid": number, "polls": polls, "first": first, "text": text}


def smaps(pid):
    values = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if parts[0] in ("Rss:", "Pss:"):
                values[parts[0][:-1].lower() + "_kib"] = int(parts[1])
    return values


def memory(name):
    """Every process started with `-xen-domid N` for the guest (its device model)."""
    number = hvm.domid(name)[0]
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = [word.decode(errors="replace") for word in open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")]
            if "-xen-domid" in argv and argv[argv.index("-xen-domid") + 1] == str(number):
                found.append({"pid": int(pid), "command": argv[0], **smaps(pid)})
        except (OSError, IndexError):
            continue
    return {"name": name, "domid": number, "device_models": found}


def main():
    command, name = sys.argv[1], sys.argv[2]
    if command == "screen":
        print(json.dumps(screen(name, float(sys.argv[3]), float(sys.argv[4]))))
    elif command == "memory":
        print(json.dumps(memory(name)))


if __name__ == "__main__":
    main()
