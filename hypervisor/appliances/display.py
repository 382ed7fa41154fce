"""An hvm guest's graphical console, reached by the operator through TLS and a token that expires.

libxl's VNC server has no TLS and at best an 8-character DES password, so it listens on dom0's loopback
alone (xlcfg.HVM_DISPLAY). websockify, from Debian's python3-websockify (firmware/display.py ships it
without numpy), is the only way in: HTTPS and WebSocket over TLS on DISPLAY_PORT, with a certificate
made once per host and kept on the data store, serving noVNC's static files, and handing a WebSocket to
a guest's VNC server only for a token `xenbox appliance display NAME show` minted (display_tokens.py).

- `with_display`     an appliance.toml's text with [display] enabled set, checked as a manifest
- `TokenStore`       tokens by their SHA-256, each for one guest until it expires (/run: gone at reboot)
- `certificate`      the host's self-signed certificate, made on first use; its SHA-256 fingerprint
- `Websockify`       start it when a token is minted, stop it when no appliance has its display on
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import signal
import socket
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from hypervisor import runner
from hypervisor.appliances.manifest import MANIFEST_NAME, Manifest, parse_manifest
from hypervisor.network import certificate as tls_certificate
from hypervisor.settings.atomic import write_atomically
from hypervisor.settings.problems import FileProblems

DISPLAY_PORT = 6080                                  # noVNC's own default
RUN_DIR = Path("/run/xenbox/display")                # tokens and websockify's pid and log: gone at reboot
TOKENS = RUN_DIR / "tokens.json"
CERT_DIR = Path("/var/lib/xenbox/config/display")    # on the data store: the same fingerprint every boot
NOVNC = Path("/usr/share/novnc")
TOKEN_MINUTES = 60
LONGEST_MINUTES = 24 * 60
SERVER_MODULE = "hypervisor.appliances.display_server"


class DisplayError(Exception):
    """The display was not changed or cannot be reached; the message says why and what to do."""


# ---------------------------------------------------------------------------------------------------------
# The manifest's [display] table, set from the command line


HEADER = re.compile(r"^\s*\[\s*display\s*\]\s*(#.*)?$")
ANY_HEADER = re.compile(r"^\s*\[")
ENABLED = re.compile(r"^(\s*)enabled\s*=.*$")


def with_display(text: str, on: bool, bundle_dir: Path) -> str:
    """The manifest's text with `[display] enabled` set to `on`; every other line as it was. Raises
    DisplayError when the result would not be a valid manifest (a pv guest), or when [display] is
    written in a form this edit does not touch (an inline table, dotted keys)."""
    try:
        present = "display" in tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise DisplayError(f"{MANIFEST_NAME} cannot be read ({error}): correct it first") from None
    lines = text.splitlines()
    value = "true" if on else "false"
    at = next((index for index, line in enumerate(lines) if HEADER.match(line)), None)
    if at is None:
        if present:
            raise DisplayError(f"{MANIFEST_NAME} sets display in a form this command does not change: "
                               f"write it as a [display] table with enabled = {value}")
        lines += ["", "[display]", f"enabled = {value}"]
    else:
        end = next((index for index in range(at + 1, len(lines)) if ANY_HEADER.match(lines[index])), len(lines))
        found = next((index for index in range(at + 1, end) if ENABLED.match(lines[index])), None)
        if found is None:
            lines.insert(at + 1, f"enabled = {value}")
        else:
            lines[found] = f"{ENABLED.match(lines[found])[1]}enabled = {value}"
    changed = "\n".join(lines) + "\n"
    try:
        parse_manifest(changed, bundle_dir)
    except FileProblems as error:
        raise DisplayError(str(error)) from None
    return changed


def set_display(folder: Path, on: bool) -> Manifest:
    """Turn an installed appliance's display on or off in its appliance.toml, written atomically;
    it applies at the guest's next start. A built-in appliance (read-only image) is refused."""
    path = folder / MANIFEST_NAME
    if not os.access(folder, os.W_OK):
        raise DisplayError(f"{folder} cannot be changed (the appliances built into the image are read-only): "
                           "add a copy to the data store (xenbox appliance add) and change that")
    text = with_display(path.read_text(encoding="utf-8-sig"), on, folder)
    mode = path.stat().st_mode & 0o777
    write_atomically(path, text)
    os.chmod(path, mode)
    return parse_manifest(text, folder)


# ---------------------------------------------------------------------------------------------------------
# Tokens


@dataclass(frozen=True)
class Token:
    value: str          # shown once, to the operator; only its SHA-256 is kept
    guest: str
    expires: float      # seconds since the epoch


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class TokenStore:
    """Tokens kept as {sha256: {"guest", "expires"}} in one root-only JSON file: a token that leaks from
    this file is none. Expired ones are dropped whenever a new one is written."""

    def __init__(self, path: Path = TOKENS, clock: Callable[[], float] = time.time):
        self.path, self.clock = path, clock

    def _read(self) -> dict[str, dict]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def mint(self, guest: str, minutes: int = TOKEN_MINUTES) -> Token:
        if not 1 <= minutes <= LONGEST_MINUTES:
            raise DisplayError(f"a token lasts 1 to {LONGEST_MINUTES} minutes, not {minutes}")
        now = self.clock()
        token = Token(secrets.token_urlsafe(24), guest, now + 60 * minutes)
        kept = {digest: entry for digest, entry in self._read().items() if entry.get("expires", 0) > now}
        kept[_digest(token.value)] = {"guest": guest, "expires": token.expires}
        write_atomically(self.path, json.dumps(kept, indent=1) + "\n")
        return token

    def guest_for(self, token: str) -> str | None:
        """The guest a token opens, or None: unknown, or expired."""
        entry = self._read().get(_digest(token))
        if not isinstance(entry, dict) or not isinstance(entry.get("expires"), (int, float)):
            return None
        return entry.get("guest") if entry["expires"] > self.clock() else None

    def revoke(self, guest: str) -> int:
        """Forget every token of `guest` (its display turned off); how many there were."""
        tokens = self._read()
        kept = {digest: entry for digest, entry in tokens.items() if entry.get("guest") != guest}
        if len(kept) != len(tokens):
            write_atomically(self.path, json.dumps(kept, indent=1) + "\n")
        return len(tokens) - len(kept)


# ---------------------------------------------------------------------------------------------------------
# The host's certificate (hypervisor.network.certificate makes it)

Certificate = tls_certificate.Certificate
fingerprint = tls_certificate.fingerprint


def certificate(folder: Path = CERT_DIR, hostname: str = "xenbox", run: runner.Runner = runner.run) -> Certificate:
    """The display's certificate and key, made once and kept in `folder`."""
    try:
        return tls_certificate.certificate(folder, hostname, run)
    except tls_certificate.CertificateError as error:
        raise DisplayError(f"the display's certificate: {error}") from error


# ---------------------------------------------------------------------------------------------------------
# websockify


def websockify_argv(cert: Certificate, port: int = DISPLAY_PORT, tokens: Path = TOKENS, web: Path = NOVNC,
                    run_dir: Path = RUN_DIR, python: str = sys.executable) -> list[str]:
    return [python, "-m", SERVER_MODULE, str(run_dir / "websockify.pid"),
            "--cert", str(cert.cert), "--key", str(cert.key), "--ssl-only", "--ssl-version", "tlsv1_2",
            "--web", str(web),
            "--token-plugin", "hypervisor.appliances.display_tokens.GuestTokens", "--token-source", str(tokens),
            "--log-file", str(run_dir / "websockify.log"), str(port)]


# Python importing websockify and loading the certificate: a second on hardware, but 15 s were seen to pass
# without it listening in a test host under emulation on a loaded machine.
START_WAIT = 90.0


class Websockify:
    """The one websockify of this host: its pid in RUN_DIR, checked against /proc before it is trusted."""

    def __init__(self, run_dir: Path = RUN_DIR, proc: Path = Path("/proc")):
        self.pidfile, self.proc = run_dir / "websockify.pid", proc

    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
            command = (self.proc / str(pid) / "cmdline").read_bytes()
        except (OSError, ValueError):
            return None
        return pid if SERVER_MODULE.encode() in command else None

    def start(self, argv: list[str], port: int = DISPLAY_PORT, wait_s: float = START_WAIT) -> int:
        """Start it unless it runs; its pid once it listens on `port`."""
        pid = self.pid()
        if pid is None:
            self.pidfile.parent.mkdir(parents=True, exist_ok=True)
            self.pidfile.unlink(missing_ok=True)
            runner.spawn(argv)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            pid = self.pid()
            if pid is not None and _listens(port):
                return pid
            time.sleep(0.2)
        log = self.pidfile.with_name("websockify.log")
        said = log.read_text(errors="replace").strip().splitlines()[-1:] if log.is_file() else []
        raise DisplayError("websockify did not start" + (f": {said[0]}" if said else "") + f" (its log: {log})")

    def stop(self, wait_s: float = 10.0) -> bool:
        """Stopped, and its port closed, when this returns: an `on` right after an `off` must not find it
        still going. SIGKILL when it has not gone within `wait_s`."""
        pid = self.pid()
        if pid is None:
            return False
        try:
            os.killpg(pid, signal.SIGTERM)      # its own session: the connections it forked go too
        except ProcessLookupError:
            return False
        deadline = time.monotonic() + wait_s
        while _group_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _group_alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.pidfile.unlink(missing_ok=True)
        return True


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # A child that exited but was not reaped (a zombie) still counts to killpg: it listens on nothing.
    return not _only_zombies(pgid)


def _only_zombies(pgid: int) -> bool:
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":     # fields: state, ppid, pgrp
            return False
    return True


def _listens(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def any_display_on(manifests: Iterable[Manifest | None]) -> bool:
    return any(m is not None and m.display.enabled for m in manifests)


# ---------------------------------------------------------------------------------------------------------
# What `show` says


def display_in_xl_cfg(text: str) -> bool:
    """Whether an xl.cfg XenBox wrote started its guest with the display on (vnc = 1)."""
    return re.search(r"^vnc\s*=\s*1\s*$", text, re.MULTILINE) is not None


def address(host: str, token: Token, port: int = DISPLAY_PORT) -> str:
    """noVNC's page, told to open the WebSocket with the token (wss: the page itself is https)."""
    bracketed = f"[{host}]" if ":" in host else host
    return (f"https://{bracketed}:{port}/vnc.html?autoconnect=1&resize=scale"
            f"&path=websockify%3Ftoken%3D{token.value}")


@dataclass(frozen=True)
class Shown:
    guest: str
    token: Token
    fingerprint: str
    urls: tuple[str, ...]
    port: int


def show(manifest: Manifest, running: bool, started_cfg: Path | None, hosts: Iterable[str], hostname: str,
         minutes: int = TOKEN_MINUTES, port: int = DISPLAY_PORT, cert_dir: Path = CERT_DIR,
         tokens: TokenStore | None = None, server: Websockify | None = None) -> Shown:
    """A new token for a running guest whose display is on, websockify started if it was not."""
    name = manifest.name
    if not manifest.display.enabled:
        raise DisplayError(f"{name}'s display is off: `xenbox appliance display {name} on`, then start it again")
    if not running:
        raise DisplayError(f"{name} is not running: its display is there while it runs "
                           f"(xenbox appliance start {name})")
    try:
        started_with = started_cfg is not None and display_in_xl_cfg(started_cfg.read_text())
    except OSError:
        started_with = False
    if not started_with:
        raise DisplayError(f"{name} was started before its display was turned on: it applies at its next start "
                           f"(xenbox appliance stop --wait {name}, then start it)")
    cert = certificate(cert_dir, hostname)
    (server or Websockify()).start(websockify_argv(cert, port), port)
    token = (tokens or TokenStore()).mint(name, minutes)
    return Shown(name, token, cert.fingerprint, tuple(address(host, token, port) for host in hosts), port)


def turn(folder: Path, name: str, on: bool, running: bool,
         manifests: Callable[[], Iterable[Manifest | None]]) -> str:
    """The display on or off in the appliance's manifest (from its next start); off also forgets its tokens,
    and stops websockify when no appliance has a display on any more (`manifests`: every appliance's).
    Returns what was done, as a sentence (`running`: the guest runs now, so the change waits for a restart)."""
    set_display(folder, on)
    if not on:
        TokenStore().revoke(name)
        if not any_display_on(manifests()):
            Websockify().stop()
    restart = " (it is running: stop and start it)" if running else ""
    return f"{name}'s display is {'on' if on else 'off'}; it applies at its next start{restart}"


def lines(shown: Shown) -> list[str]:
    """What `show` tells a person: where to point a browser, the token and until when, what to check."""
    until = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(shown.token.expires))
    urls = shown.urls or (f"(this host has no address yet) port {shown.port}",)
    return [*(f"{shown.guest}'s screen: {url}" for url in urls),
            f"token {shown.token.value}, valid until {until}; `show` again makes a new one",
            f"the certificate is this host's own: check that your browser shows SHA-256 {shown.fingerprint}"]


def show_here(manifest: Manifest, running: bool, minutes: int = TOKEN_MINUTES) -> Shown:
    """`show` on this host: the xl.cfg its last start wrote, this host's addresses and name."""
    from hypervisor.appliances.launch import CONFIG_DIR
    from hypervisor.network.addresses import host_addresses
    return show(manifest, running, CONFIG_DIR / f"{manifest.name}.cfg",
                [address for _, address in host_addresses()], socket.gethostname(), minutes)
