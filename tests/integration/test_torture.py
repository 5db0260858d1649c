"""Every RFC 4475 / RFC 5118 torture message over UDP and over TCP, with a
liveness check after each: nothing crashes, nothing hangs."""
import glob
import os
import socket
import time

import pytest

from conftest import ROOT, deadline

DATA = os.path.join(ROOT, "tests", "unit", "data", "sip")
MESSAGES = sorted(glob.glob(os.path.join(DATA, "*.msg")))


def test_torture_corpus_present():
    assert len(MESSAGES) >= 40, "the RFC 4475/5118 corpus is missing"


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_every_torture_message_keeps_server_alive(server, transport):
    for path in MESSAGES:
        data = open(path, "rb").read()
        if transport == "udp":
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(data, ("127.0.0.1", server.port))
        else:
            with socket.create_connection(("127.0.0.1", server.port), timeout=2) as s:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                s.settimeout(0.5)
                end = deadline(2)
                try:
                    while time.monotonic() < end and s.recv(65535):
                        pass
                except (socket.timeout, ConnectionResetError):
                    pass
        assert server.alive(), f"server died after {os.path.basename(path)} over {transport}"
