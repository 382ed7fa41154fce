"""Property tests: whatever a person writes in an answer file, reading it ends in an Answer or an AnswerError."""
import copy
import datetime
import tomllib
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from hypervisor.answer import Answer, AnswerError, parse_answer, parse_answer_bytes
from hypervisor.settings.tomlwrite import dumps

EXAMPLE = tomllib.loads((Path(__file__).resolve().parent.parent / "fixtures" / "answer" / "example.toml").read_text())
KEYS = ["host", "hostname", "network", "interface", "ipv4", "address", "gateway", "dns", "ipv6", "address6", "gateway6",
        "bridges", "name", "nic", "vlan", "host_only", "storage", "data_disks", "wipe_disks_with_data", "pools", "type",
        "path", "device", "id", "vg", "disks", "portal", "target", "chap_user", "chap_password", "server", "export",
        "version", "console", "password_hash", "password", "appliances", "source", "autostart", "order"]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.booleans(), st.integers(), st.integers(-2, 5000), st.floats(allow_nan=True), st.text(max_size=30),
    st.sampled_from(["static", "dhcp", "auto", "off", "file", "disk", "lun", "lvm", "iscsi", "nfs", "4.2", "eth0",
                     "xenbr0", "192.168.1.20/24", "192.168.1.1", "10.0.0.0/8", "::1/128", "fe80::1", "2001:db8::/64",
                     "/dev/sdb", "/dev/disk/by-id/ata-X", "/x", "..", "nas:3260", "[::1]:1", "iqn.2004-01.com.e:x",
                     "$y$j9T$a$b", "$6$rounds=1$x$", "", "-"]),
    st.datetimes(min_value=datetime.datetime(1, 1, 1)), st.dates(), st.times())
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=4), max_leaves=10)


def read(text: str) -> None:
    try:
        assert isinstance(parse_answer(text, "answer.toml"), Answer)
    except AnswerError as error:
        assert error.problems and all(str(problem) for problem in error.problems)


@FUZZ
@given(st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), values, max_size=6))
def test_any_document_is_an_answer_or_an_answer_error(document):
    read(dumps(document))


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["host", "network", "storage", "console", "appliances", "pools", "bridges"]),
                          st.sampled_from(KEYS), values), max_size=8), st.data())
def test_mutating_the_example_only_ever_raises_an_answer_error(changes, data):
    document = copy.deepcopy(EXAMPLE)
    for section, key, value in changes:
        target = document.get(section) or document.get("storage", {}).get(section) or document["network"].get(section)
        if isinstance(target, list) and target:
            target = data.draw(st.sampled_from(target))
        if isinstance(target, dict):
            if data.draw(st.booleans()):
                target[key] = value
            else:
                target.pop(key, None)
    read(dumps(document))


@FUZZ
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_are_an_answer_or_an_answer_error(data):
    try:
        parse_answer_bytes(data, "answer.toml")
    except AnswerError as error:
        assert error.problems
