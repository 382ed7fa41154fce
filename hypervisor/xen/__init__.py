"""Xen itself: what it says of its domains and of the host, asked through `xl` or its bindings.

- `domains`       Domain and XenInfo, pure parsers of `xl list` / `xl info`, CPU % per domain
- `xl`            `Xl`: one method per xl command; the questions the consoles ask go to the bindings
- `bindings`      the same questions through the Python bindings Xen ships, without a process each
- `daemons`       whether xenstored and xenconsoled are up yet; where xenconsoled logs guests' consoles
- `capabilities`  whether this host can run HVM guests, and why not
- `shutdown`      guests asked to shut down, waited for, destroyed when they do not

This is the lowest layer above `hypervisor.runner`: it imports nothing else of XenBox.
"""
