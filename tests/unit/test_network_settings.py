"""Network settings kept on the data store: written in the answer file's form and read back the same."""
from hypervisor.answer.network_settings import save, saved, to_toml
from hypervisor.answer.parse import parse_answer
from hypervisor.network.config import Addressing, Bridge, NetworkConfig


def test_settings_survive_the_round_trip_through_the_answer_files_form():
    for config in (NetworkConfig(),
                   NetworkConfig("eth1", Addressing("static", "10.0.2.60/24", "10.0.2.2"),
                                 Addressing("static", "2001:db8::20/64", "fe80::1"), "edge-01", ("10.0.2.3",),
                                 (Bridge("xenbr1", vlan=20), Bridge("lab", host_only=True), Bridge("dmz", nic="eth2")))):
        assert parse_answer(to_toml(config), "network.toml").network == config


def test_the_console_s_settings_win_over_the_answer_file_s(tmp_path):
    network, answer = tmp_path / "network.toml", tmp_path / "answer.toml"
    assert saved(network, answer) is None
    answer.write_text('[host]\nhostname = "from-answer"\n')
    assert saved(network, answer) == (NetworkConfig(hostname="from-answer"), str(answer))
    save(NetworkConfig(hostname="from-console"), network)
    assert saved(network, answer) == (NetworkConfig(hostname="from-console"), str(network))
