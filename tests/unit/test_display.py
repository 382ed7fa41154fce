"""An hvm guest's screen: [display] in the manifest, its xl.cfg lines, the on/off edit, tokens and the certificate."""
import json
import stat
import subprocess
from pathlib import Path

import pytest

from hypervisor.appliances import display
from hypervisor.appliances.display import DisplayError, Token, TokenStore
from hypervisor.appliances.display_tokens import port_from_query_vnc
from hypervisor.appliances.manifest import Display, parse_manifest
from hypervisor.appliances.xlcfg import to_xl_cfg
from hypervisor.settings.problems import FileProblems

HVM = """\
# a guest booting an installer
name = "installer"
type = "hvm"
[memory]
initial_mib = 256
[[disks]]
file = "install.iso"
cdrom = true
target = "hdc"
"""


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    (tmp_path / "install.iso").write_text("placeholder\n")
    (tmp_path / "vmlinuz").write_text("placeholder\n")
    return tmp_path


def test_the_display_is_off_unless_the_manifest_turns_it_on(bundle):
    assert parse_manifest(HVM, bundle).display == Display(enabled=False)
    assert parse_manifest(HVM + "[display]\nenabled = true\n", bundle).display == Display(enabled=True)


def test_a_pv_guest_has_no_display_and_unknown_keys_are_named(bundle):
    pv = 'name = "web"\ntype = "pv"\n[memory]\ninitial_mib = 64\n[boot]\nkernel = "vmlinuz"\n'
    with pytest.raises(FileProblems) as raised:
        parse_manifest(pv + "[display]\nenabled = true\n", bundle)
    assert "is for hvm guests" in str(raised.value) and "display.enabled" in str(raised.value)
    with pytest.raises(FileProblems) as raised:
        parse_manifest(HVM + "[display]\nenable = true\n", bundle)
    assert 'did you mean "enabled"?' in str(raised.value)


def test_xl_cfg_of_a_display_keeps_vnc_on_the_loopback_and_the_serial_console(bundle):
    off = to_xl_cfg(parse_manifest(HVM, bundle))
    assert 'vnc = 0' in off and "vnclisten" not in off
    on = to_xl_cfg(parse_manifest(HVM + "[display]\nenabled = true\n", bundle))
    assert '\nserial = "pty"\nvnc = 1\nvnclisten = "127.0.0.1"\nvncunused = 1\n' in on
    assert display.display_in_xl_cfg(on) and not display.display_in_xl_cfg(off)


def test_turning_on_adds_the_table_and_keeps_every_other_line(bundle):
    text = display.with_display(HVM, True, bundle)
    assert text == HVM + "\n[display]\nenabled = true\n"
    assert parse_manifest(text, bundle).display.enabled


def test_turning_off_changes_only_the_enabled_line(bundle):
    before = HVM.replace("[[disks]]", "[display]\n  enabled = true   # on for the install\n\n[[disks]]")
    after = display.with_display(before, False, bundle)
    assert after == before.replace("  enabled = true   # on for the install", "  enabled = false")
    assert display.with_display(HVM + "[display]\n", True, bundle).endswith("[display]\nenabled = true\n")


def test_an_edit_that_would_break_the_manifest_is_refused(bundle):
    pv = 'name = "web"\ntype = "pv"\n[memory]\ninitial_mib = 64\n[boot]\nkernel = "vmlinuz"\n'
    with pytest.raises(DisplayError, match="is for hvm guests"):
        display.with_display(pv, True, bundle)
    with pytest.raises(DisplayError, match="as a \\[display\\] table"):
        display.with_display(HVM.replace('type = "hvm"', 'type = "hvm"\ndisplay = { enabled = false }'), True,
                             bundle)


def test_set_display_writes_the_manifest_in_place_keeping_its_mode(bundle):
    manifest = bundle / "appliance.toml"
    manifest.write_text(HVM)
    manifest.chmod(0o644)
    assert display.set_display(bundle, True).display.enabled
    assert parse_manifest(manifest.read_text(), bundle).display.enabled
    assert stat.S_IMODE(manifest.stat().st_mode) == 0o644
    assert not display.set_display(bundle, False).display.enabled


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


def test_a_token_opens_its_guest_until_it_expires(tmp_path):
    clock = Clock()
    store = TokenStore(tmp_path / "tokens.json", clock)
    token = store.mint("installer", minutes=5)
    assert token.expires == clock.now + 300 and len(token.value) >= 32
    assert store.guest_for(token.value) == "installer"
    assert store.guest_for(token.value + "x") is None
    assert store.guest_for("") is None
    clock.now += 299
    assert store.guest_for(token.value) == "installer"
    clock.now += 1
    assert store.guest_for(token.value) is None


def test_the_token_file_is_root_only_and_holds_no_token(tmp_path):
    store = TokenStore(tmp_path / "tokens.json", Clock())
    token = store.mint("installer")
    text = (tmp_path / "tokens.json").read_text()
    assert token.value not in text and "installer" in text
    assert stat.S_IMODE((tmp_path / "tokens.json").stat().st_mode) == 0o600


def test_expired_tokens_are_dropped_and_revoke_forgets_a_guest(tmp_path):
    clock = Clock()
    store = TokenStore(tmp_path / "tokens.json", clock)
    old = store.mint("a", minutes=1)
    clock.now += 120
    kept, other = store.mint("a"), store.mint("b")
    assert len(json.loads((tmp_path / "tokens.json").read_text())) == 2     # the expired one is gone
    assert store.revoke("a") == 1
    assert store.guest_for(kept.value) is None and store.guest_for(old.value) is None
    assert store.guest_for(other.value) == "b"


def test_a_token_lasts_a_sensible_time(tmp_path):
    store = TokenStore(tmp_path / "tokens.json", Clock())
    for minutes in (0, -1, 24 * 60 + 1):
        with pytest.raises(DisplayError, match="1 to 1440 minutes"):
            store.mint("a", minutes)


def test_a_broken_token_file_opens_nothing(tmp_path):
    path = tmp_path / "tokens.json"
    path.write_text("[1, 2")
    assert TokenStore(path, Clock()).guest_for("anything") is None
    path.write_text('{"x": {"guest": "a", "expires": "later"}}')
    assert TokenStore(path, Clock()).guest_for("anything") is None


def test_the_certificate_is_made_once_and_its_fingerprint_is_opensslls(tmp_path):
    folder = tmp_path / "display"
    made = display.certificate(folder, "box one")
    assert stat.S_IMODE(made.key.stat().st_mode) == 0o600 and stat.S_IMODE(folder.stat().st_mode) == 0o700
    said = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-subject", "-in", made.cert],
                          capture_output=True, text=True, check=True).stdout
    assert f"Fingerprint={made.fingerprint}" in said
    assert "CN = box-one" in said
    assert display.certificate(folder, "box one") == made        # kept: the same fingerprint every boot


def test_a_certificate_that_cannot_be_read_says_how_to_get_a_new_one(tmp_path):
    (tmp_path / "cert.pem").write_text("not a certificate")
    (tmp_path / "key.pem").write_text("")
    with pytest.raises(DisplayError, match="remove .* and a new one is made"):
        display.certificate(tmp_path)


def test_show_needs_the_display_on_the_guest_running_and_started_with_it(bundle, tmp_path):
    off = parse_manifest(HVM, bundle)
    on = parse_manifest(HVM + "[display]\nenabled = true\n", bundle)
    cfg = tmp_path / "installer.cfg"
    with pytest.raises(DisplayError, match="display is off"):
        display.show(off, True, cfg, [], "box")
    with pytest.raises(DisplayError, match="is not running"):
        display.show(on, False, cfg, [], "box")
    cfg.write_text(to_xl_cfg(off))
    with pytest.raises(DisplayError, match="started before its display was turned on"):
        display.show(on, True, cfg, [], "box")


def test_the_address_opens_novnc_with_the_token():
    token = Token("abc-_1", "g", 0)
    assert display.address("10.0.2.15", token) == \
        "https://10.0.2.15:6080/vnc.html?autoconnect=1&resize=scale&path=websockify%3Ftoken%3Dabc-_1"
    assert display.address("fd00::1", token, 7000).startswith("https://[fd00::1]:7000/")


def test_websockify_is_started_with_tls_only_tokens_and_no_listings(tmp_path):
    cert = display.Certificate(Path("/c.pem"), Path("/k.pem"), "AB")
    argv = display.websockify_argv(cert, 6080, tmp_path / "t.json", Path("/usr/share/novnc"), tmp_path, "python3")
    assert argv[:4] == ["python3", "-m", "hypervisor.appliances.display_server", str(tmp_path / "websockify.pid")]
    assert "--ssl-only" in argv and argv[argv.index("--ssl-version") + 1] == "tlsv1_2"
    assert argv[argv.index("--token-source") + 1] == str(tmp_path / "t.json") and argv[-1] == "6080"


def test_websockify_pid_is_trusted_only_when_proc_says_it_is_ours(tmp_path):
    proc = tmp_path / "proc"
    (proc / "4242").mkdir(parents=True)
    server = display.Websockify(tmp_path, proc)
    assert server.pid() is None
    (tmp_path / "websockify.pid").write_text("4242\n")
    (proc / "4242" / "cmdline").write_bytes(b"python3\0-m\0something.else\0")
    assert server.pid() is None                 # a pid used again by another program
    (proc / "4242" / "cmdline").write_bytes(b"python3\0-m\0hypervisor.appliances.display_server\0")
    assert server.pid() == 4242


def test_query_vnc_reply_gives_the_port():
    # QEMU's reply to query-vnc (qapi/ui.json, VncInfo)
    reply = {"return": {"enabled": True, "auth": "none", "family": "ipv4", "host": "127.0.0.1",
                        "service": "5901", "clients": []}}
    assert port_from_query_vnc(reply) == 5901
    assert port_from_query_vnc({"return": {"enabled": False}}) is None
    assert port_from_query_vnc({"error": {"class": "GenericError", "desc": "x"}}) is None

