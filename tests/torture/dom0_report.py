"""Run in dom0 after a cut (typed over the serial line, see checks.py): one JSON line of what the host
holds now, for the torture test to judge. Python's standard library only, and XenBox's own commands."""
import glob
import hashlib
import json
import os
import subprocess

ROOT = "/var/lib/xenbox"


def xenbox_json(*args):
    done = subprocess.run(["xenbox", *args, "--json"], capture_output=True, text=True)
    try:
        return json.loads(done.stdout)
    except ValueError:
        return {"error": f"xenbox {' '.join(args)} --json exited {done.returncode}: {(done.stdout + done.stderr)[-400:]}"}


def toml_problem(path):
    import tomllib
    try:
        with open(path, "rb") as file:
            tomllib.load(file)
    except Exception as error:      # noqa: BLE001 - any reason a file does not read is the finding
        return f"{type(error).__name__}: {error}"
    return None


def sha256(folder, name):
    """The appliance's disk.img: on its data store volume (`xenbox appliance add` puts it there, as xvda), or in
    its folder (an answer file's install)."""
    path = os.path.join(folder or "/nonexistent", "disk.img")
    if not os.path.isfile(path):
        path = f"/dev/xenbox/{name}.xvda"
        if not folder or not os.path.exists(path):
            return None
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_json(path):
    try:
        with open(path) as file:
            return json.load(file)
    except (OSError, ValueError) as error:
        return {"error": str(error)}


# Every config file (and its previous version) and every manifest the catalog can read; hidden folders
# (staging, leftovers) are listed apart: not read by anything, unless the catalog picks them up.
configs = glob.glob(f"{ROOT}/config/**/*.toml", recursive=True) + glob.glob(f"{ROOT}/config/**/*.toml.prev",
                                                                            recursive=True)
manifests = glob.glob(f"{ROOT}/appliances/*/appliance.toml")
appliances = xenbox_json("appliance", "list")
if isinstance(appliances, list):
    for row in appliances:
        row["sha256"] = sha256(row.get("folder"), row.get("name"))
address = subprocess.run(["ip", "-4", "-o", "address", "show", "dev", "xenbr0"], capture_output=True, text=True)
report = {
    "status": xenbox_json("storage", "status"),
    "toml": {path: toml_problem(path) for path in sorted(configs + manifests)},
    "appliances": appliances,
    "hidden": sorted(name for name in os.listdir(f"{ROOT}/appliances") if name.startswith("."))
    if os.path.isdir(f"{ROOT}/appliances") else [],
    "autostart": read_json("/run/xenbox/autostart.json"),
    "addresses": [word for word in address.stdout.split() if "/" in word and word[0].isdigit()],
}
print("AFTER-CUT " + json.dumps(report))
