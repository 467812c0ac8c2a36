"""Record every DNS query sent to the given addresses and refuse it (no answer ever resolves).

Run by scripts/docker/run_sandboxed.sh inside the smoke test's network namespace, on the
container's nameserver addresses: a container that tries to download anything by name (PyPI,
model weights, Streamlit's external-IP lookup...) shows up here, so "nothing is downloaded when
the container starts" is checked, not assumed. One name per line goes to OUTFILE.

Usage: python3 dns_recorder.py OUTFILE ADDRESS [ADDRESS...]   (runs until terminated)
"""
import selectors
import socket
import struct
import sys


def question_name(packet: bytes) -> str:
    """The first question's name of a DNS query (RFC 1035 section 4.1.2), '' if malformed."""
    labels, i = [], 12
    while i < len(packet) and packet[i] != 0:
        n = packet[i]
        labels.append(packet[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    return ".".join(labels)


def refused(packet: bytes) -> bytes:
    """The query sent back with QR=1 and RCODE=5 (REFUSED): the lookup fails at once."""
    if len(packet) < 12:
        return b""
    flags = struct.unpack("!H", packet[2:4])[0]
    flags = 0x8000 | (flags & 0x7900) | 5  # QR, keep opcode and RD, RCODE refused
    return packet[:2] + struct.pack("!H", flags) + packet[4:6] + b"\0" * 6 + packet[12:]


def main() -> None:
    out, addresses = sys.argv[1], sys.argv[2:]
    sel = selectors.DefaultSelector()
    for addr in addresses:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((addr, 53))
        sel.register(sock, selectors.EVENT_READ)
    print("ready", flush=True)
    with open(out, "a", encoding="utf-8") as log:
        while True:
            for key, _ in sel.select():
                packet, peer = key.fileobj.recvfrom(4096)
                log.write(question_name(packet) + "\n")
                log.flush()
                key.fileobj.sendto(refused(packet), peer)


if __name__ == "__main__":
    main()
