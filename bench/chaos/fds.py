"""What a process's open descriptors are, so a soak can tell a leak from a pool filling up.

A count of `/proc/<pid>/fd` says *that* descriptors grew, not *which*. This module reads each
link (`socket:[inode]`, `pipe:[inode]`, `anon_inode:[eventpoll]`, a path) and, for a TCP socket,
finds its inode in `/proc/net/tcp` and `/proc/net/tcp6` to learn the ports at both ends and the
state. Given the ports of the run's parts, each descriptor gets one kind:

    emulator     a connection to the emulator (Zoho: the aiohttp pool of `ZohoHTTP`)
    postgres     a connection to the store's PostgreSQL (the asyncpg / SQLAlchemy pool)
    client       an accepted connection on the app's port (the load generator's keep-alive)
    listening    a listening socket
    tcp_other    any other TCP connection (named by its remote port in `other_ports`)
    unix, socket_other, pipe, eventpoll, anon_other, file, other

and TCP connections are also counted by state (`ESTABLISHED`, `CLOSE_WAIT`, ...): a connection
the peer closed that we never closed sits in CLOSE_WAIT, the classic leak.
"""

from __future__ import annotations

import collections
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: /proc/net/tcp's `st` column (include/net/tcp_states.h).
TCP_STATES = {
    "01": "ESTABLISHED",
    "02": "SYN_SENT",
    "03": "SYN_RECV",
    "04": "FIN_WAIT1",
    "05": "FIN_WAIT2",
    "06": "TIME_WAIT",
    "07": "CLOSE",
    "08": "CLOSE_WAIT",
    "09": "LAST_ACK",
    "0A": "LISTEN",
    "0B": "CLOSING",
}


@dataclass(frozen=True, slots=True)
class TcpSocket:
    local_port: int
    remote_port: int
    state: str


def parse_proc_net_tcp(text: str) -> dict[int, TcpSocket]:
    """inode -> TcpSocket from the text of /proc/net/tcp or tcp6 (pure)."""
    found: dict[int, TcpSocket] = {}
    for line in text.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 10:
            continue
        local, remote, state, inode = cols[1], cols[2], cols[3], int(cols[9])
        if inode == 0:  # TIME_WAIT and the like belong to no process
            continue
        found[inode] = TcpSocket(
            int(local.rsplit(":", 1)[1], 16),
            int(remote.rsplit(":", 1)[1], 16),
            TCP_STATES.get(state, state),
        )
    return found


def tcp_table() -> dict[int, TcpSocket]:
    """Every TCP socket of the machine's network namespace, by inode."""
    table: dict[int, TcpSocket] = {}
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            table |= parse_proc_net_tcp(Path(name).read_text())
        except OSError:
            continue
    return table


def unix_inodes() -> set[int]:
    try:
        lines = Path("/proc/net/unix").read_text().splitlines()[1:]
    except OSError:
        return set()
    return {int(cols[6]) for cols in (line.split() for line in lines) if len(cols) >= 7}


@dataclass(frozen=True, slots=True)
class Ports:
    """The ports that name the kinds: the app's own, the emulator's, PostgreSQL's."""

    app: int
    emulator: int
    postgres: int


def classify(
    links: list[str], tcp: dict[int, TcpSocket], unix: set[int], ports: Ports
) -> dict[str, Any]:
    """The breakdown of one process's descriptor links (pure): counts per kind, TCP
    connections per state, and other TCP connections per remote port."""
    kinds: collections.Counter[str] = collections.Counter()
    states: collections.Counter[str] = collections.Counter()
    others: collections.Counter[str] = collections.Counter()
    for link in links:
        if link.startswith("socket:["):
            inode = int(link[8:-1])
            sock = tcp.get(inode)
            if sock is None:
                kinds["unix" if inode in unix else "socket_other"] += 1
                continue
            states[sock.state] += 1
            if sock.state == "LISTEN":
                kinds["listening"] += 1
            elif sock.remote_port == ports.emulator:
                kinds["emulator"] += 1
            elif sock.remote_port == ports.postgres:
                kinds["postgres"] += 1
            elif sock.local_port == ports.app:
                kinds["client"] += 1
            else:
                kinds["tcp_other"] += 1
                others[str(sock.remote_port)] += 1
        elif link.startswith("pipe:["):
            kinds["pipe"] += 1
        elif link == "anon_inode:[eventpoll]":
            kinds["eventpoll"] += 1
        elif link.startswith("anon_inode:"):
            kinds["anon_other"] += 1
        elif link.startswith("/"):
            kinds["file"] += 1
        else:
            kinds["other"] += 1
    out: dict[str, Any] = {"kinds": dict(sorted(kinds.items())), "tcp_states": dict(states)}
    if others:
        out["other_ports"] = dict(others)
    return out


def fd_links(pid: int) -> list[str]:
    """Where each of `pid`'s descriptors points (a descriptor closed meanwhile is skipped)."""
    links = []
    base = f"/proc/{pid}/fd"
    for fd in os.listdir(base):
        try:
            links.append(os.readlink(f"{base}/{fd}"))
        except OSError:
            continue
    return links


def breakdown(pids: list[int], ports: Ports) -> dict[int, dict[str, Any]]:
    """pid -> `classify` of its descriptors, the TCP tables read once for all of them."""
    links: dict[int, list[str]] = {}
    for pid in pids:
        try:
            links[pid] = fd_links(pid)
        except OSError:  # the process is gone
            continue
    # read after the links, so a socket opened meanwhile is still found
    tcp, unix = tcp_table(), unix_inodes()
    return {pid: classify(got, tcp, unix, ports) for pid, got in links.items()}
