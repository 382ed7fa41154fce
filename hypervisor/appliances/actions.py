"""The appliance actions on a running guest, as one table: what each calls in Xen and what it says.

`xenbox appliance VERB` (hypervisor/cli/appliance.py) and the Appliances screen's keys
(tui/screens/appliance_jobs.py) both read it, so a verb is written once and says the same
words in both places. Start, shut down, pause/unpause, save, restore and add have more to
them (a manifest, a wait, a file) and keep their own code beside this table.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from hypervisor.xen.xl import Xl


@dataclass(frozen=True)
class Action:
    doing: str                      # while it runs: "Setting {name}'s memory to {mib} MiB"
    failed: str                     # put before Xen's own sentence when it did not work
    done: str                       # once it worked
    call: Callable[..., Any] = field(repr=False)     # (xl, name, **values)
    confirm: str | None = None      # asked first, where the action cannot be undone

    def words(self, name: str, **values: Any) -> tuple[str, str, str]:
        """(doing, failed, done) for this guest and these values."""
        return tuple(text.format(name=name, **values) for text in (self.doing, self.failed, self.done))

    def run(self, xl: Xl, name: str, **values: Any) -> str:
        """Do it; returns what to say. Xen's errors (CommandError) go to the caller."""
        self.call(xl, name, **values)
        return self.done.format(name=name, **values)


ACTIONS: dict[str, Action] = {
    "reboot": Action("Asking {name} to reboot", "Could not reboot {name}", "{name} was asked to reboot",
                     lambda xl, name: xl.reboot(name)),
    "destroy": Action("Destroying {name}", "Could not destroy {name}", "{name} destroyed",
                      lambda xl, name: xl.destroy(name),
                      confirm="Destroy {name} now? It stops at once, like pulling its power: "
                              "whatever it had not written to disk is lost."),
    "pause": Action("Pausing {name}", "Could not pause {name}", "{name} paused", lambda xl, name: xl.pause(name)),
    "unpause": Action("Unpausing {name}", "Could not unpause {name}", "{name} runs again",
                      lambda xl, name: xl.unpause(name)),
    "mem-set": Action("Setting {name}'s memory to {mib} MiB", "Could not change {name}'s memory",
                      "{name}'s memory target is now {mib} MiB", lambda xl, name, mib: xl.mem_set(name, mib)),
    "vcpu-set": Action("Setting {name} to {count} vCPUs", "Could not change {name}'s vCPUs",
                       "{name} now has {count} vCPU(s) online", lambda xl, name, count: xl.vcpu_set(name, count)),
    "vcpu-pin": Action("Pinning {name}'s vCPU {vcpu}", "Could not pin {name}'s vCPUs",
                       "{name}: vCPU {vcpu} runs on CPU(s) {cpus}",
                       lambda xl, name, vcpu, cpus: xl.vcpu_pin(name, vcpu, cpus)),
    "rename": Action("Renaming {name} to {new}", "Could not rename {name}",
                     "{name} is now called {new} (until it stops; its appliance.toml keeps {name})",
                     lambda xl, name, new: xl.rename(name, new)),
    "sysrq": Action("Sending SysRq {key} to {name}", "Could not send SysRq to {name}",
                    "Sent SysRq '{key}' to {name}", lambda xl, name, key: xl.sysrq(name, key)),
    "dump-core": Action("Writing {name}'s memory to {path}", "Could not dump {name}'s core",
                        "{name}'s memory written to {path}", lambda xl, name, path: xl.dump_core(name, str(path))),
}
