"""Xen's toolstack through `xl`: a thin class that calls it; the parsers of its output are in domains.py."""
from __future__ import annotations

import glob
import os
import re
import stat
from contextlib import contextmanager, suppress
from typing import Any, Callable, Iterator

from hypervisor import runner
from hypervisor.xen import daemons as xen_daemons
from hypervisor.xen.bindings import BindingError, XenBindings, open_bindings
from hypervisor.xen.domains import Domain, XenInfo, parse_info, parse_list


def xl_program() -> str:
    """Debian's /usr/sbin/xl is a shell wrapper that finds the versioned binary: call that binary
    directly, one process fewer for every call the console makes every two seconds."""
    found = sorted(glob.glob("/usr/lib/xen-*/bin/xl"))
    return found[-1] if found else "xl"


# libxl's lines about cleaning up after a failed start: true, but not why it failed.
CLEAN_UP = ("Destruction of domain failed", "Unable to destroy guest", "Non-existant domain",
            "Non-existent domain", "unable to destroy")
LIBXL_ERROR = re.compile(r"libxl: error: [\w.]+:\d+:\w+: (?:Domain \d+:)?(.*)")


def libxl_reason(output: str) -> str | None:
    """Why libxl failed, in its own words: its first errors without source positions or the
    clean-up that follows them; None when it printed no error line."""
    reasons: list[str] = []
    for line in output.splitlines():
        found = LIBXL_ERROR.match(line.strip())
        if found and found[1].strip() not in reasons and not any(noise in found[1] for noise in CLEAN_UP):
            reasons.append(found[1].strip())
    return "; ".join(reasons[:2]) or None


PRIVATE = 0o600


@contextmanager
def private_target(path: str, command: str) -> Iterator[None]:
    """Made mode 600 before xl writes guest memory into `path`, and checked after. `xl save` opens its
    file O_CREAT|O_TRUNC with mode 644 (tools/xl/xl_saverestore.c), which keeps the mode of a file that is
    there already; `xl dump-core` keeps it too. A symbolic link there is refused, not followed. A file made
    here that xl never wrote (it refused: no such guest) is removed again."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, PRIVATE)
        made = True
    except FileExistsError:
        made = False
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as error:
            raise runner.CommandError(("xl", command, path), 1, f"{path}: {error.strerror}") from None
    except OSError as error:
        raise runner.CommandError(("xl", command, path), 1, f"{path}: {error.strerror}") from None
    try:
        os.fchmod(fd, PRIVATE)          # the umask may have taken root's own bits; an old file may be 644
    finally:
        os.close(fd)
    try:
        yield
    except BaseException:
        with suppress(OSError):
            if made and os.lstat(path).st_size == 0:
                os.unlink(path)
        raise
    written = os.lstat(path)
    if stat.S_ISREG(written.st_mode) and written.st_mode & 0o077:
        os.chmod(path, PRIVATE)         # replaced meanwhile by a wider file: narrowed again


class Xl:
    """Calls `xl`; the runner is injectable so tests can check each argv.

    `Xl.on_this_host()` is the one the product uses: there the questions the consoles ask every two
    seconds (the domain list, free memory, Xen's version and log) go to Xen's own bindings when they
    load (bindings.py; at boot each xl process delayed the first frame), and every call first waits
    for Xen's daemons while the host is still booting (daemons.py). A plain `Xl(run)` does neither.
    """

    def __init__(self, run: runner.Runner = runner.run, program: str = "xl", *,
                 bindings: Callable[[], XenBindings | None] | None = None,
                 wait_for_daemons: Callable[[], object] | None = None) -> None:
        """`bindings` opens Xen's bindings (None where there are none), once, at the first question;
        `wait_for_daemons` returns once xenstored and xenconsoled are up."""
        self._run = run
        self.program = program
        self._open_bindings = bindings
        self._bindings: XenBindings | None = None
        self._wait = wait_for_daemons

    @classmethod
    def on_this_host(cls) -> Xl:
        return cls(runner.run, xl_program(), bindings=open_bindings, wait_for_daemons=xen_daemons.wait_until_up)

    def _xl(self, *args: str, timeout: float = 30) -> str:
        self._wait_for_daemons()
        return self._run([self.program, *args], timeout=timeout)

    def _wait_for_daemons(self) -> None:
        if self._wait is not None:
            self._wait()

    def _fast(self) -> XenBindings | None:
        if self._open_bindings is not None:
            self._wait_for_daemons()    # bindings opened before xenstored answers would be given up for good
            self._bindings, self._open_bindings = self._open_bindings(), None
        return self._bindings

    def _from_bindings(self, ask: Callable[[XenBindings], Any]) -> Any:
        """`ask(bindings)`, or None if there are none or they fail (then `xl` from now on)."""
        fast = self._fast()
        if fast is None:
            return None
        try:
            return ask(fast)
        except BindingError:
            self._bindings = None
            return None

    def info(self) -> XenInfo:
        """Version, CPUs and memory; from the bindings when they load, without xl's process.
        Their virt_caps is empty (see bindings.info_from_bindings)."""
        found = self._from_bindings(lambda fast: fast.info())
        return found if found is not None else XenInfo.from_info(parse_info(self._xl("info")))

    def memory(self) -> tuple[int, int]:
        """(total, free) MiB of host memory; what `xl info` says, without its process."""
        found = self._from_bindings(lambda fast: fast.memory())
        if found is not None:
            return found
        info = self.info()
        return info.total_memory_mib, info.free_memory_mib

    def domains(self) -> list[Domain]:
        found = self._from_bindings(lambda fast: fast.domains())
        return found if found is not None else parse_list(self._xl("list"))

    def dmesg(self) -> str:
        found = self._from_bindings(lambda fast: fast.log())
        return found if found is not None else self._xl("dmesg")

    def domain(self, name: str) -> Domain | None:
        return next((d for d in self.domains() if d.name == name), None)

    # -- lifecycle: one method per xl command, named as xl names it ------------
    def create(self, cfg_path: str, *, paused: bool = False) -> None:
        self._xl("create", *(["-p"] if paused else []), cfg_path, timeout=180)

    def shutdown(self, domain: str, *, wait: bool = False) -> None:
        self._xl("shutdown", *(["-w"] if wait else []), domain, timeout=120)

    def reboot(self, domain: str) -> None:
        self._xl("reboot", domain)

    def destroy(self, domain: str) -> None:
        self._xl("destroy", domain)

    def pause(self, domain: str) -> None:
        self._xl("pause", domain)

    def unpause(self, domain: str) -> None:
        self._xl("unpause", domain)

    def save(self, domain: str, state_file: str) -> None:
        """Suspend the guest to a file; it stops running (xl save without -c). The file holds all the
        guest's memory, so it is root's alone before xl writes a byte (see private_target)."""
        with private_target(state_file, "save"):
            self._xl("save", domain, state_file, timeout=600)

    def save_paused(self, domain: str, state_file: str) -> None:
        """Suspend the guest to a file and leave it paused, not gone (xl save -p): a checkpoint's memory."""
        with private_target(state_file, "save"):
            self._xl("save", "-p", domain, state_file, timeout=600)

    def restore(self, state_file: str) -> None:
        self._xl("restore", state_file, timeout=600)

    def mem_set(self, domain: str, mib: int) -> None:
        self._xl("mem-set", domain, f"{mib}m")

    def vcpu_set(self, domain: str, count: int) -> None:
        self._xl("vcpu-set", domain, str(count))

    def vcpu_pin(self, domain: str, vcpu: str, cpus: str) -> None:
        self._xl("vcpu-pin", domain, vcpu, cpus)

    def vcpu_list(self, domain: str = "") -> str:
        return self._xl("vcpu-list", *([domain] if domain else []))

    def rename(self, domain: str, new_name: str) -> None:
        self._xl("rename", domain, new_name)

    def sysrq(self, domain: str, key: str) -> None:
        self._xl("sysrq", domain, key)

    def dump_core(self, domain: str, core_file: str) -> None:
        with private_target(core_file, "dump-core"):
            self._xl("dump-core", domain, core_file, timeout=600)

    def cd_eject(self, domain: str, vdev: str) -> None:
        self._xl("cd-eject", domain, vdev)

    def cd_insert(self, domain: str, vdev: str, target: str) -> None:
        self._xl("cd-insert", domain, vdev, target)

    def console_command(self, domain: str) -> list[str]:
        """`xl console DOMAIN`, for a runner that hands it the terminal (runner.attach, runner.become):
        the guest's console until Ctrl-]."""
        self._wait_for_daemons()
        return [self.program, "console", domain]

    def uptime(self) -> str:
        return self._xl("uptime")

    def sched_credit(self, domain: str = "") -> str:
        return self._xl("sched-credit", *(["-d", domain] if domain else []))
