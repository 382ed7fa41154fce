"""make bench's throughput figures (bench/throughput.py): rates, the 70 % target as a floor under the guest's
rate, what is read from the machines' shells, and that both sides are given the very same commands."""
import pytest

from bench import report, throughput
from bench.shell import ProbeError
from bench.throughput import Side, ThroughputRun

PLAIN, BIG, HVM = (guest.name for guest in throughput.GUESTS)


def test_the_disk_target_is_seventy_percent_of_dom0s_median_rate(monkeypatch):
    monkeypatch.setattr(throughput, "VOLUME_MIB", 256)
    monkeypatch.setattr(throughput, "FILE_MIB", 64)
    dom0 = Side(write_s=[4.0, 9.0, 3.0], read_s=[2.0], fetch_s=[1.0])     # medians: 64 and 128 MiB/s; 64
    guest = Side([5.0, 5.0, 1.0], [4.0], [2.0], request_kib=128)
    write, read, write_1m, read_1m, hvm_write, _, net, hvm_net = throughput.figures(
        ThroughputRun(dom0, {PLAIN: guest, HVM: guest}, "10.0.2.15"))
    assert (write.floor, write.xenbox, write.limit, write.met) == (64.0, 51.2, pytest.approx(44.8), True)
    assert (read.floor, read.xenbox, read.met) == (128.0, 64.0, False)      # half of dom0's
    assert read.ratio == 0.5
    assert (net.floor, net.xenbox, net.met) == (64.0, 32.0, None)           # no target: a ratio to read
    assert (write_1m.floor, write_1m.xenbox, write_1m.met) == (64.0, None, None)    # that guest was not measured
    assert (hvm_write.xenbox, hvm_write.met, hvm_net.xenbox) == (51.2, None, 32.0)  # the target is for PV only


def test_a_rate_above_its_limit_meets_an_at_least_target_and_a_time_below_still_meets_an_at_most_one():
    rate = report.Figure("g", "k", "rate", "MiB/s", 100.0, 80.0, ">= 70%", 70.0, at_least=True)
    time = report.Figure("g", "k", "time", "s", 10.0, 8.0, "<= 10 s", 10.0)
    assert rate.met and time.met
    assert not report.Figure("g", "k", "rate", "MiB/s", 100.0, 60.0, ">= 70%", 70.0, at_least=True).met
    assert "rate: 80.0 MiB/s against >= 70%: met" in report.verdicts([rate])


def test_nothing_measured_is_no_verdict():
    assert [figure.met for figure in throughput.figures(None)] == [None] * 8


def test_both_sides_run_the_same_commands_but_for_the_device_and_the_address():
    assert throughput.write("/dev/xvda").replace("/dev/xvda", "D") == \
        throughput.write(throughput.DOM0_VOLUME).replace(throughput.DOM0_VOLUME, "D")
    assert "oflag=direct" in throughput.write("D") and "iflag=direct" in throughput.read("D")
    assert f"count={throughput.VOLUME_MIB}" in throughput.read("D")
    assert throughput.fetch("127.0.0.1").replace("127.0.0.1", "A") == throughput.fetch("10.0.2.15").replace(
        "10.0.2.15", "A")


def test_the_guests_differ_only_in_blkfronts_indirect_segments_and_get_a_volume_like_dom0s():
    plain, big, hvm = throughput.GUESTS
    assert big.cmdline == f"{plain.cmdline} xen_blkfront.max_indirect_segments=256"
    assert (plain.hvm, big.hvm, hvm.hvm, hvm.cmdline) == (False, False, True, plain.cmdline)
    manifest = throughput.MANIFEST.format(name=plain.name, cmdline=plain.cmdline, size_mib=throughput.VOLUME_MIB)
    assert f'pool = "local"\nsize_mib = {throughput.VOLUME_MIB}\n' in manifest and 'bridge = "xenbr0"' in manifest


def test_the_hvm_guest_has_emulated_devices_for_its_pv_drivers_to_take_over():
    config = throughput.HVM_CONFIG.format(name="bench-hvm", kernel=throughput.HVM_KERNEL, SAMPLE=throughput.SAMPLE,
                                          cmdline=throughput.CMDLINE, volume="/dev/xenbox/bench-hvm")
    assert 'type = "hvm"' in config and "target=/dev/xenbox/bench-hvm" in config and "model=e1000" in config
    assert "{" not in config and "'" not in config      # it is typed inside single quotes


def test_the_hvm_guests_frontends_count_as_connected_only_when_both_are():
    echo = "xenstore-read /local/domain/$(xl domid bench-hvm)/device/vbd/51712/state .../vif/0/state\r\r\n"
    assert throughput.drivers_connected(echo + "4\r\r\n4\r\r\n")
    assert not throughput.drivers_connected(echo + "4\r\r\n1\r\r\n")
    assert not throughput.drivers_connected(echo + "xenstore-read: couldn't read path\r\r\n")


def test_dom0s_address_on_the_guest_bridge_is_read_from_ip():
    # what shell.run handed back for `ip -4 -o addr show xenbr0` in the bench's boot (its serial log)
    output = ("ip -4 -o addr show xenbr0; echo \"BENCH\"\"-DONE\"\r\r\r\n"
              "3: xenbr0    inet 10.0.2.15/24 brd 10.0.2.255 scope global xenbr0\\       "
              "valid_lft forever preferred_lft forever\r\r\r\n")
    assert throughput.bridge_address(output) == "10.0.2.15"
    with pytest.raises(ProbeError, match="xenbr0 has no IPv4 address"):
        throughput.bridge_address("ip -4 -o addr show xenbr0; echo \"BENCH\"\"-DONE\"\r\r\r\n")


def test_the_guests_largest_request_is_read_from_its_shell():
    # from the guest's console in the bench's boot: its prompt's cursor query, the typed line, the answer
    output = "/ # \x1b[6ncat /sys/block/xvda/queue/max_hw_sectors_kb; echo \"BENCH\"\"-DONE\"\r\r\r\n1024\r\r\r\n"
    assert throughput.largest_request(output) == 1024
    assert throughput.largest_request("cat: can't open '/sys/block/xvda/queue/max_hw_sectors_kb'\r\n") is None


def test_a_guest_that_stopped_after_some_rounds_says_how_many_and_why(monkeypatch):
    """The rounds a guest finished still count, said as fewer than ROUNDS; one that stopped in its first is an
    error (bench.shell fails loudly on a command that failed or never said)."""
    said = iter(["1.0", "2.0", "4.0", "1.5", "2.5", None])

    def timed(console, name, command):
        seconds = next(said)
        if seconds is None:
            raise ProbeError(f"{name}: no timing line in:\n(the guest is gone)")
        return float(seconds)
    monkeypatch.setattr(throughput.shell, "run", lambda console, command, timeout=240: "")
    monkeypatch.setattr(throughput.shell, "timed", timed)
    side = throughput.side(None, "bench-hvm", "/dev/xvda", "10.0.2.15")
    assert (side.write_s, side.read_s, side.fetch_s) == ([1.0], [2.0], [4.0])
    assert side.stopped == "bench-hvm-fetch-2: no timing line in:"
    assert side.said().endswith(f"(1 of {throughput.ROUNDS} rounds: bench-hvm-fetch-2: no timing line in:)")
    said = iter([None])
    with pytest.raises(ProbeError):
        throughput.side(None, "bench-hvm", "/dev/xvda", "10.0.2.15")


def test_a_command_checked_by_run_ok_fails_with_its_sentence_and_output_unless_it_exited_0(monkeypatch):
    typed = []

    def run(console, command, timeout=240):
        typed.append(command)
        return f"{command}\r\nlvcreate: no space\r\nBENCH-RC 5\r\n" if "lvcreate" in command else "BENCH-RC 0\r\n"
    monkeypatch.setattr(throughput.shell, "run", run)
    assert throughput.shell.run_ok(None, "true", "never") == "BENCH-RC 0\r\n"
    with pytest.raises(ProbeError, match="(?s)dom0's volume was not made:.*lvcreate: no space"):
        throughput.shell.run_ok(None, "lvcreate x", "dom0's volume was not made")
    assert typed == ["true; echo BENCH-RC $?", "lvcreate x; echo BENCH-RC $?"]
