"""The first-boot screens' answers written as answer-file text: parse_answer reads back the same settings,
and what the text says is what an operator would have written by hand."""
import tomllib

import pytest

from hypervisor.answer.compose import SOURCE, FirstBootAnswers, answer_text, disk_name
from hypervisor.answer.parse import AnswerError, parse_answer
from hypervisor.network.config import Addressing, NetworkConfig
from hypervisor.storage.disks import Disk

# "change-me", as in tests/fixtures/answer/example.toml
HASH = "$y$j9T$iuMyB.FwXnYCR9Rg.E215.$64ELharyTbQiYuV/t0D1x5ngpwHDthbxHr.4jyWg3AB"
STATIC = NetworkConfig(ipv4=Addressing("static", "192.168.1.20/24", "192.168.1.1"),
                       ipv6=Addressing("static", "2001:db8::20/64", "fe80::1"), hostname="edge-01",
                       dns=("192.168.1.1", "2001:db8::53"))


@pytest.mark.parametrize("answers", [
    FirstBootAnswers(),
    FirstBootAnswers(NetworkConfig(ipv6=Addressing("off"))),
    FirstBootAnswers(STATIC, ("/dev/disk/by-id/virtio-XB-DISK-0", "/dev/disk/by-id/wwn-0x5000c50015ea71ac"),
                     wipe_disks_with_data=True, password_hash=HASH),
    FirstBootAnswers(NetworkConfig(ipv4=Addressing("static", "10.0.2.60/24")), ("/dev/disk/by-id/virtio-A",)),
], ids=["all defaults", "ipv6 off", "every field", "static without a gateway"])
def test_the_text_reads_back_as_the_same_settings(answers):
    answer = parse_answer(answer_text(answers), SOURCE)
    assert answer.network == answers.network
    assert answer.storage.data_disks == answers.data_disks
    assert answer.storage.wipe_disks_with_data == answers.wipe_disks_with_data
    assert answer.password_hash == answers.password_hash
    assert (answer.appliances, answer.storage.pools, answer.warnings) == ((), (), ())


def test_the_text_is_the_answer_files_own_form():
    text = answer_text(FirstBootAnswers(STATIC, ("/dev/disk/by-id/virtio-XB-DISK-0",), password_hash=HASH))
    assert text.startswith("# Set up from the XenBox console's first-boot screens")
    assert tomllib.loads(text) == {
        "host": {"hostname": "edge-01"},
        "network": {"interface": "auto", "ipv4": "static", "address": "192.168.1.20/24", "gateway": "192.168.1.1",
                    "ipv6": "static", "address6": "2001:db8::20/64", "gateway6": "fe80::1",
                    "dns": ["192.168.1.1", "2001:db8::53"]},
        "storage": {"data_disks": ["/dev/disk/by-id/virtio-XB-DISK-0"], "wipe_disks_with_data": False},
        "console": {"password_hash": HASH}}


def test_what_is_not_answered_is_left_out():
    assert tomllib.loads(answer_text(FirstBootAnswers())) == {"network": {"interface": "auto", "ipv4": "dhcp",
                                                                          "ipv6": "auto"}}


def test_a_bad_value_that_slipped_through_is_refused_by_the_same_checks():
    """The screens check each value as it is typed; the summary's parse is the second line of defence."""
    bad = FirstBootAnswers(NetworkConfig(ipv4=Addressing("static", "10.0.2.60/24", "192.168.9.1")))
    with pytest.raises(AnswerError) as error:
        parse_answer(answer_text(bad), SOURCE)
    assert [(p.field, p.value) for p in error.value.problems] == [("network.gateway", "192.168.9.1")]


def test_a_disk_is_named_by_its_stable_id_else_by_its_kernel_name():
    assert disk_name(Disk("vda", "/dev/vda", "disk", 1, stable_id="virtio-XB-DISK-0")) == \
        "/dev/disk/by-id/virtio-XB-DISK-0"
    assert disk_name(Disk("sdc", "/dev/sdc", "disk", 1)) == "/dev/sdc"
