"""Asking guests to shut down, waiting, asking once more halfway; and the host's shutdown of every guest.

Xen cannot run here, so FakeXl stands in for the Xl boundary: it has Xl's method
names, records each call with the fake clock's time, and lets each guest stop after
it has been asked a given number of times. The fake clock moves only when slept on,
so a wait of 60 s takes no time. The end-to-end tests check the real toolstack.
"""
import pytest

from hypervisor.runner import CommandError
from hypervisor.xen.domains import Domain
from hypervisor.xen.shutdown import ask_to_shut_down, shutdown_guests


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class FakeXl:
    """Each guest stops after it has been asked `obeys_after[name]` times (0: never)."""

    def __init__(self, clock, obeys_after, *, stopped_state=None, fail=()):
        self.clock, self.obeys_after, self.stopped_state, self.fail = clock, obeys_after, stopped_state, fail
        self.calls = []

    def asked(self, name):
        return sum(1 for call in self.calls if call[:2] == ("shutdown", name))

    def domains(self):
        found = [Domain("Domain-0", 0, 1024, 2, "running", 50.0)]
        for domid, (name, after) in enumerate(self.obeys_after.items(), start=1):
            if name in {call[1] for call in self.calls if call[0] == "destroy"}:
                continue
            if not (after and self.asked(name) >= after):
                found.append(Domain(name, domid, 128, 1, "running", 1.0))
            elif self.stopped_state:
                found.append(Domain(name, domid, 128, 1, self.stopped_state, 1.0))
        return found

    def shutdown(self, name):
        self.calls.append(("shutdown", name, self.clock()))
        if name in self.fail:
            raise CommandError(("xl", "shutdown", name), 1, f"libxl: error: {name} has no PV drivers\n")

    def destroy(self, name):
        self.calls.append(("destroy", name, self.clock()))


def test_a_guest_that_obeys_is_asked_once():
    clock = Clock()
    xl = FakeXl(clock, {"web": 1})
    assert ask_to_shut_down(xl, ["web"], wait=60, poll=2, clock=clock, sleep=clock.sleep) == []
    assert xl.calls == [("shutdown", "web", 0.0)]
    assert clock.now == 2.0


def test_a_guest_in_the_shutdown_state_counts_as_stopped():
    clock = Clock()
    xl = FakeXl(clock, {"web": 1}, stopped_state="shutdown")
    assert ask_to_shut_down(xl, ["web"], wait=60, clock=clock, sleep=clock.sleep) == []


def test_a_guest_that_missed_the_request_is_asked_again_at_half_time():
    clock = Clock()
    xl = FakeXl(clock, {"web": 2})
    assert ask_to_shut_down(xl, ["web"], wait=60, poll=2, clock=clock, sleep=clock.sleep) == []
    assert xl.calls == [("shutdown", "web", 0.0), ("shutdown", "web", 30.0)]


def test_a_guest_that_never_stops_is_asked_twice_and_returned_after_the_wait():
    clock = Clock()
    xl = FakeXl(clock, {"web": 0})
    assert ask_to_shut_down(xl, ["web"], wait=60, poll=2, clock=clock, sleep=clock.sleep) == ["web"]
    assert [call[0] for call in xl.calls] == ["shutdown", "shutdown"]
    assert clock.now == 60.0


def test_only_the_guests_still_running_at_half_time_are_asked_again():
    clock = Clock()
    xl = FakeXl(clock, {"web": 1, "db": 2, "stuck": 0})
    remaining = ask_to_shut_down(xl, ["web", "db", "stuck"], wait=10, clock=clock, sleep=clock.sleep)
    assert remaining == ["stuck"]
    assert [(name, at) for _, name, at in xl.calls] == [
        ("web", 0.0), ("db", 0.0), ("stuck", 0.0), ("db", 5.0), ("stuck", 5.0)]


def test_how_to_ask_can_be_given():
    clock, asked = Clock(), []
    xl = FakeXl(clock, {"web": 0})
    ask_to_shut_down(xl, ["web"], wait=4, ask=asked.append, clock=clock, sleep=clock.sleep)
    assert asked == ["web", "web"] and xl.calls == []


def test_an_error_asking_goes_to_the_caller():
    clock = Clock()
    xl = FakeXl(clock, {"web": 1}, fail={"web"})
    with pytest.raises(CommandError):
        ask_to_shut_down(xl, ["web"], wait=60, clock=clock, sleep=clock.sleep)


def host_shutdown(xl, clock, timeout=60):
    said = []
    destroyed = shutdown_guests(xl, timeout=timeout, say=said.append, clock=clock, sleep=clock.sleep)
    return destroyed, said


def test_host_shutdown_asks_a_booting_guest_again_instead_of_destroying_it():
    clock = Clock()
    xl = FakeXl(clock, {"web": 2})
    destroyed, said = host_shutdown(xl, clock)
    assert destroyed == []
    assert said == ["shutting down web (id 1)", "asking web again to shut down", "all guests stopped"]
    assert [call[0] for call in xl.calls] == ["shutdown", "shutdown"]


def test_host_shutdown_destroys_what_is_left_and_carries_on_past_errors():
    clock = Clock()
    xl = FakeXl(clock, {"web": 1, "broken": 0}, fail={"broken"})
    destroyed, said = host_shutdown(xl, clock, timeout=10)
    assert destroyed == ["broken"]
    assert said == ["shutting down web (id 1)", "shutting down broken (id 2)",
                    "broken: libxl: error: broken has no PV drivers",
                    "asking broken again to shut down", "broken: libxl: error: broken has no PV drivers",
                    "broken did not shut down within 10 s: destroying it", "all guests stopped"]
    assert xl.calls[-1] == ("destroy", "broken", 10.0)


def test_host_shutdown_with_no_guests_says_so():
    clock = Clock()
    assert host_shutdown(FakeXl(clock, {}), clock) == ([], ["no guests running"])
