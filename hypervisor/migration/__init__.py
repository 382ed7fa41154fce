"""Moving an appliance to a paired host: what it needs there, and whether the target has it.

- `needs`    GuestNeeds: what a guest needs on any host it moves to (its shared storage by identity, its
             bridges, memory, HVM), and why it cannot move at all (a disk only this host has)
- `facts`    HostFacts: what a host offers a guest, gathered here and sent to a paired peer that asks
- `checks`   every reason the target cannot take the guest, each naming the fix; none means it may move

Nothing moves yet: these are the checks a move is refused by, with the guest left running where it is.
"""
