"""A TCP port on this test host's loopback that nothing listens on: for the servers the VM reaches at 10.0.2.2."""
import socket


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
