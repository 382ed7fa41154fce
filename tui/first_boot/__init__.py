"""The first-boot screens: a host with no settings is set up from the console, step by step.

- `flow`       the screen: one step at a time, n/Enter next, b back, Escape sets up later
- `step`       what every step shares: the answers so far, and the message that changes them
- `host_step`, `network_step`, `disks_step`, `password_step`, `summary_step`   the five steps
- `watch`      opens the screens when the boot left its marker, closes them when the other console set the host up

The answers become an answer file's text (hypervisor/answer/compose.py), checked and applied by the same
code as an answer file found at boot.
"""
