"""Property tests: whatever a person writes, reading it ends in a Manifest or a FileProblems, nothing else;
and every valid manifest survives manifest -> xl.cfg -> manifest -> xl.cfg unchanged."""
import copy
import datetime
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings, strategies as st

from hypervisor.appliances.manifest import HostLimits, Manifest, parse_manifest, parse_manifest_bytes
from hypervisor.appliances.manifest import ACTIONS, BOOT_DEVICES, NAME
from hypervisor.appliances.xlcfg import manifest_from_xl_cfg, parse_xl_cfg, to_xl_cfg
from hypervisor.appliances.xlsyntax import parse_disk_spec, parse_vif_spec
from hypervisor.network.nic import IFNAME
from hypervisor.settings.problems import FileProblems
from hypervisor.settings.tomlwrite import dumps

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "appliances" / "sample-web"
VALID = tomllib.loads((SAMPLE / "appliance.toml").read_text())
SCHEMA_KEYS = ["name", "description", "type", "memory", "initial_mib", "maximum_mib", "vcpus", "initial", "maximum",
               "boot", "kernel", "ramdisk", "cmdline", "bootloader", "order", "disks", "file", "format", "target",
               "mode", "cdrom", "pool", "size_mib", "network", "bridge", "mac", "policy", "on_crash", "on_poweroff",
               "on_reboot", "autostart", "enabled", "delay_s"]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.booleans(), st.integers(), st.integers(-3, 300), st.floats(allow_nan=True), st.text(max_size=30),
    st.text(st.characters(blacklist_categories=()), max_size=5),
    st.sampled_from(["pv", "pvh", "hvm", "raw", "qcow2", "ro", "rw", "pygrub", "vmlinuz", "data.img", "../x", "/",
                     "disk", "cd", "restart", "xenbr0", "xvda", "00:16:3e:00:00:01", ""]),
    st.datetimes(min_value=datetime.datetime(1, 1, 1)), st.dates())
toml_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.sampled_from(SCHEMA_KEYS) | st.text(max_size=8), inner, max_size=3),
                           max_leaves=8)

FORMATS = ["raw", "qcow2"]


def read(text: str, host: HostLimits | None = None) -> Manifest | None:
    """A Manifest whose xl.cfg can be written, or None after checking the FileProblems reads well;
    any other exception fails the test."""
    try:
        manifest = parse_manifest(text, SAMPLE, host)
        to_xl_cfg(manifest).encode("utf-8")
        return manifest
    except FileProblems as error:
        assert error.problems and str(error).startswith(str(SAMPLE / "appliance.toml"))
        assert all(problem.field and problem.message for problem in error.problems)
        return None


def containers(value, found=None) -> list:
    found = [] if found is None else found
    if isinstance(value, (dict, list)):
        found.append(value)
        for item in (value.values() if isinstance(value, dict) else value):
            containers(item, found)
    return found


hosts = st.none() | st.builds(HostLimits, st.integers(0, 4096), st.integers(0, 64))


@FUZZ
@given(st.data(), hosts)
def test_mutations_of_a_valid_manifest(data, host):
    doc = copy.deepcopy(VALID)
    for _ in range(data.draw(st.integers(1, 4))):
        target = data.draw(st.sampled_from(containers(doc)))
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        action = data.draw(st.sampled_from(["replace", "drop", "add"] if keys else ["add"]))
        if action == "add" and isinstance(target, dict):
            target[data.draw(st.sampled_from(SCHEMA_KEYS) | st.text(max_size=10))] = data.draw(toml_values)
        elif action == "add":
            target.append(data.draw(toml_values))
        elif action == "drop":
            del target[data.draw(st.sampled_from(keys))]
        else:
            target[data.draw(st.sampled_from(keys))] = data.draw(toml_values)
    read(dumps(doc), host)


@FUZZ
@given(st.dictionaries(st.sampled_from(SCHEMA_KEYS) | st.text(max_size=10), toml_values, max_size=8), hosts)
def test_random_toml_documents(doc, host):
    read(dumps(doc), host)


@FUZZ
@given(st.text() | st.text(st.characters(blacklist_categories=())))      # the second with lone surrogates
def test_random_text(text):
    read(text)


@FUZZ
@given(st.text(alphabet='abnmeorty_=[]{}"\'.,#\n 0123456789-+:\\'))
def test_random_text_made_of_toml_punctuation(text):
    read(text)


@FUZZ
@given(st.binary())
def test_random_bytes(data):
    try:
        parse_manifest_bytes(data, SAMPLE)
    except FileProblems:
        pass


@FUZZ
@given(st.binary(max_size=8), st.integers(0, 400))
def test_random_bytes_spliced_into_a_valid_manifest(noise, where):
    data = (SAMPLE / "appliance.toml").read_bytes()
    try:
        parse_manifest_bytes(data[:where] + noise + data[where:], SAMPLE)
    except FileProblems:
        pass


xl_text = st.text(alphabet='abdeikmnorstvx_=[],;+#"\'\\\n \t0123456789:/.-', max_size=200)


@FUZZ
@given(st.one_of(xl_text, st.text(max_size=100)))
def test_random_xl_cfg_text(text):
    """The xl.cfg reader, and an import of whatever it accepts, end in a FileProblems or TOML that reads."""
    try:
        parse_xl_cfg(text)
        imported = manifest_from_xl_cfg(text, "/etc/xen/fuzz.cfg")
    except FileProblems:
        return
    tomllib.loads(imported.toml_text)
    read(imported.toml_text)


xl_settings = st.dictionaries(
    st.sampled_from(["name", "type", "builder", "memory", "maxmem", "vcpus", "maxvcpus", "kernel", "ramdisk", "extra",
                     "root", "cmdline", "bootloader", "boot", "disk", "vif", "on_crash", "serial", "vnc", "uuid"]),
    st.recursive(st.integers(-2, 2**40) | st.text(max_size=40) | st.sampled_from(["hvm", "pvh", "cd", "", "pygrub"]),
                 lambda inner: st.lists(inner, max_size=3), max_leaves=6), max_size=12)


@FUZZ
@given(xl_settings)
def test_importing_odd_but_well_formed_xl_cfgs(cfg):
    """Settings of every type under every name the importer knows: TOML out, and a Manifest or a FileProblems."""
    def xl(value):
        if isinstance(value, list):
            return "[" + ", ".join(map(xl, value)) + "]"
        return str(value) if isinstance(value, int) and value >= 0 else \
            '"' + str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    text = "".join(f"{key} = {xl(value)}\n" for key, value in cfg.items())
    note(text)
    try:
        imported = manifest_from_xl_cfg(text, "/etc/xen/odd.cfg")
    except FileProblems:
        return
    tomllib.loads(imported.toml_text)
    read(imported.toml_text)


@FUZZ
@given(st.text(max_size=60))
def test_disk_and_vif_specs_never_raise(spec):
    parse_disk_spec(spec)
    parse_vif_spec(spec)


# --- round trip over generated valid manifests ----------------------------------------------------------------

one_line = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40)
# Images on the data store's files pool, the full paths a manifest may name (hypervisor/appliances/guest_paths.py)
host_paths = one_line.filter(lambda name: "/" not in name and name not in ("", ".", "..")).map(
    lambda name: "/var/lib/xenbox/images/" + name)
bundle_files = st.sampled_from(["vmlinuz", "initrd.img", "data.img"])
macs = st.binary(min_size=6, max_size=6).map(lambda b: ":".join(f"{byte:02x}" for byte in bytes([b[0] & 0xFE]) + b[1:]))


@st.composite
def valid_manifests(draw) -> dict:
    kind = draw(st.sampled_from(["pv", "pvh", "hvm"]))
    initial_mib, initial_vcpus = draw(st.integers(1, 1 << 20)), draw(st.integers(1, 128))
    doc = {"name": draw(st.from_regex(NAME, fullmatch=True)), "type": kind,
           "memory": {"initial_mib": initial_mib, "maximum_mib": draw(st.integers(initial_mib, 1 << 21))},
           "vcpus": {"initial": initial_vcpus, "maximum": draw(st.integers(initial_vcpus, 256))}}
    if kind == "hvm":
        doc["boot"] = {"order": draw(st.permutations(BOOT_DEVICES).flatmap(lambda p: st.integers(1, 3).map(
            lambda n: list(p[:n]))))}
    elif draw(st.booleans()):
        doc["boot"] = {"bootloader": "pygrub", "cmdline": draw(one_line)}
    else:
        doc["boot"] = {"kernel": draw(bundle_files | host_paths), "cmdline": draw(one_line)}
        if draw(st.booleans()):
            doc["boot"]["ramdisk"] = draw(bundle_files | host_paths)
    disks = []
    for index in range(draw(st.integers(0, 4))):
        cdrom = draw(st.booleans())
        disks.append({"file": draw(bundle_files | host_paths), "format": draw(st.sampled_from(FORMATS)),
                      "mode": "ro" if cdrom else draw(st.sampled_from(["rw", "ro"])), "cdrom": cdrom,
                      "target": f"xvd{'abcd'[index]}"})
    doc.update({"disks": disks} if disks else {})
    nics = [{"bridge": draw(st.from_regex(IFNAME, fullmatch=True))} for _ in range(draw(st.integers(0, 3)))]
    for nic, mac in zip(nics, draw(st.lists(macs, unique=True, min_size=len(nics), max_size=len(nics)))):
        nic.update({"mac": mac} if draw(st.booleans()) else {})
    doc.update({"network": nics} if nics else {})
    doc["policy"] = {key: draw(st.sampled_from(ACTIONS)) for key in ("on_crash", "on_poweroff", "on_reboot")}
    return doc


@settings(max_examples=200, deadline=None)
@given(valid_manifests())
def test_round_trip_of_generated_manifests_is_stable(doc):
    text = dumps(doc)
    assert tomllib.loads(text) == doc
    manifest = parse_manifest(text, SAMPLE)
    cfg = to_xl_cfg(manifest)
    again = parse_manifest(manifest_from_xl_cfg(cfg, "/etc/xen/x.cfg").toml_text, SAMPLE)
    assert to_xl_cfg(again) == cfg
    assert (again.memory, again.vcpus, again.boot, again.disks, again.network, again.policy) == (
        manifest.memory, manifest.vcpus, manifest.boot, manifest.disks, manifest.network, manifest.policy)


@pytest.mark.parametrize("doc", [VALID])
def test_the_toml_writer_reads_back(doc):
    assert tomllib.loads(dumps(doc)) == doc
