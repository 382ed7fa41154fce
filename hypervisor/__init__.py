"""XenBox's hypervisor library: host capabilities, the Xen toolstack, and (later) storage, network, appliances.

Everything that runs a program goes through `hypervisor.runner`; parsing is kept
in pure functions that take text and return dataclasses, so tests can feed them
real captured output.
"""
