"""Run in dom0 from the test's stick: what Xen, the device model and QEMU's monitor (QMP) say about an
HVM guest, as one JSON line. `python3 hvm.py show NAME` / `screen NAME [SECONDS [WxH]]` / `serial NAME SECONDS`."""
import json
import os
import socket
import subprocess
import sys
import time


def xl(*args):
    found = subprocess.run(["xl", *args], capture_output=True, text=True)
    return found.stdout if found.returncode == 0 else ""


def domid(name):
    for line in xl("list", name).splitlines()[1:]:
        parts = line.rsplit(None, 5)
        return int(parts[1]), parts[4]
    return None, None


def device_model(number):
    """The argv of the QEMU serving domain `number` (`-xen-domid N`), if one runs."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        words = [word.decode(errors="replace") for word in argv if word]
        if "-xen-domid" in words and words[words.index("-xen-domid") + 1] == str(number):
            return words
    return None


def qmp(number, *commands):
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(f"/var/run/xen/qmp-libxl-{number}")
        sock.settimeout(60)
        stream = sock.makefile("rw")
        stream.readline()                                      # the greeting
        replies = []
        for command in ({"execute": "qmp_capabilities"}, *commands):
            stream.write(json.dumps(command) + "\n")
            stream.flush()
            while True:
                reply = json.loads(stream.readline())
                if "return" in reply or "error" in reply:
                    break
            replies.append(reply)
        return replies[1:]


def colours(number):
    """How many colours the guest's screen has (a blank screen has one), from QMP's screendump (PPM)."""
    path = f"/tmp/screen-{number}.ppm"
    qmp(number, {"execute": "screendump", "arguments": {"filename": path}})
    data = open(path, "rb").read()
    magic, size, _, pixels = data.split(b"\n", 3)
    width, height = map(int, size.split())
    return width, height, len({pixels[i:i + 3] for i in range(0, len(pixels) - 2, 3 * 7)})


def show(name):
    number, state = domid(name)
    if number is None:
        return {"name": name, "running": False}
    config = json.loads(xl("list", "-l", name) or "[{}]")[0].get("config", {})
    hvm = config.get("b_info", {}).get("type.hvm", {})
    log = [line for line in xl("dmesg").splitlines() if f"(d{number})" in line]
    listed, stats = qmp(number, {"execute": "query-block"}, {"execute": "query-blockstats"})
    read = {stat.get("device") or stat.get("qdev"): stat.get("stats", {}).get("rd_bytes")
            for stat in stats.get("return", [])}
    blocks = [{"device": block.get("device") or block.get("qdev"), "removable": block.get("removable"),
               "file": (block.get("inserted") or {}).get("file"),
               "read": read.get(block.get("device") or block.get("qdev"))}
              for block in listed.get("return", [])]
    return {"name": name, "running": True, "domid": number, "state": state, "device_model": device_model(number),
            "bios": hvm.get("bios"), "hdtype": hvm.get("hdtype"), "xen_log": log[-40:], "blocks": blocks}


def serial(name, seconds, markers=(b"Shell>", b"BdsDxe", b"UEFI")):
    """What the guest writes on its emulated serial port (a pty of the device model) for up to `seconds`,
    until one of `markers` shows; output from before the pty was opened is lost."""
    import select
    number = domid(name)[0]
    tty = subprocess.run(["xenstore-read", f"/local/domain/{number}/serial/0/tty"], capture_output=True,
                         text=True).stdout.strip()
    fd = os.open(tty, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
    said, deadline = b"", time.monotonic() + seconds
    while time.monotonic() < deadline and not any(marker in said for marker in markers):
        if select.select([fd], [], [], 1)[0]:
            try:
                said += os.read(fd, 4096)
            except BlockingIOError:
                pass
    os.close(fd)
    return {"name": name, "tty": tty, "serial": said.decode(errors="replace")[-2000:]}


def main():
    command, name = sys.argv[1], sys.argv[2]
    if command == "show":
        print(json.dumps(show(name)))
    elif command == "serial":
        print(json.dumps(serial(name, float(sys.argv[3]))))
    elif command == "screen":            # until the screen shows more than one colour (in a WxH mode)
        deadline = time.monotonic() + float(sys.argv[3] if len(sys.argv) > 3 else 300)
        mode = sys.argv[4] if len(sys.argv) > 4 else None
        while True:
            width, height, count = colours(domid(name)[0])
            if count > 1 and mode in (None, f"{width}x{height}") or time.monotonic() > deadline:
                break
            time.sleep(3)
        print(json.dumps({"name": name, "width": width, "height": height, "colours": count}))


if __name__ == "__main__":      # bench/probes/hvm_first_screen.py imports it
    main()
