"""An answer file with three mistakes: all three are said on the serial console and nothing changes."""
import re

import pytest

from answer_volume import answer_volume, blank_disk
from machine import Shell, booted, wait_for_overview

MISTAKES = """
[host]
hostname = "edge_01!"

[network]
ipv4 = "static"
gateway = "10.0.2.2"

[storage]
data_disks = ["/dev/disk/by-id/virtio-XB-DISK-0"]

[consol]
password_hash = "x"
"""


@pytest.fixture(scope="module")
def console(iso, tmp_path_factory):
    folder = tmp_path_factory.mktemp("answer-refused")
    disks = [blank_disk(folder, "data.img", 512), answer_volume(folder, MISTAKES)]
    with booted(iso, "answer-refused", disks=disks) as console:
        wait_for_overview(console)
        yield console


def test_every_mistake_is_listed_and_nothing_is_changed(console):
    said = console.wait_for_output(rb"(?s)answer file: REFUSED, nothing was changed: 3 problems:.*"
                                   rb"answer file: fix them", 600).group(0).decode(errors="replace")
    assert "host.hostname = 'edge_01!'" in said
    assert 'network.address: missing: ipv4 = "static" needs address' in said
    assert re.search(r'consol = .*unknown key; did you mean "console"\?', said)
    console.wait_for_screen(r"Host\s+xenbox - 10\.0\.2\.15 \(xenbr0\)", 120)     # DHCP, as before
    console.wait_for_screen(r"Data store: none", 120)
    with Shell(console) as shell:
        assert "TYPE" not in shell.run("blkid -p /dev/vda || true")        # the blank disk is still blank
