"""Which network addresses count as public, and what a host name resolves to.

Shared by everything that connects where someone else told it to: the app's video downloads
(``generations.videos``) and the sandbox's webhook deliveries (``sandbox.webhooks``). Neither
may be turned into a way to reach this machine or its private network.
"""

import ipaddress
import re
import socket

# Addresses no download may reach, on top of what ``ipaddress`` says is not global: the
# list does not depend on the Python version's registry, and it refuses whole families that
# embed an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) rather than decoding them.
NOT_PUBLIC = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",  # "this network", unspecified
        "10.0.0.0/8",  # private
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, cloud metadata services
        "172.16.0.0/12",  # private
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",  # private
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast
        "::/96",  # unspecified, loopback, IPv4-compatible
        "::ffff:0:0/96",  # IPv4-mapped
        "64:ff9b::/96",  # NAT64
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments: Teredo 2001::/32, benchmarking, ORCHID
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4
        "3fff::/20",  # documentation
        "5f00::/16",  # segment routing
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local
        "ff00::/8",  # multicast
    )
)
# The last label of a host that a resolver reads as a number (``2130706433``, ``127.1``,
# ``0x7f000001``, ``0177.0.0.1``): never a real name, always a disguised address.
NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+")


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the system's order of preference."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_ADDRCONFIG)
    addresses = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = str(sockaddr[0])
        if len(sockaddr) == 4 and sockaddr[3] and "%" not in address:
            address += f"%{sockaddr[3]}"  # keep the zone, so the check sees it
        addresses.append(address)
    return addresses


def is_public(address: str) -> bool:
    """True for an address anyone on the internet may reach, and nothing else."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
        return False
    if any(ip in net for net in NOT_PUBLIC):
        return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved)
