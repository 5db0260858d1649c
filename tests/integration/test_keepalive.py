"""NAT keepalive (registrar.keepalive): a contact that registered from
behind a NAT (its Contact names another address than the REGISTER's
source) gets OPTIONS at its source address; one reachable as registered
gets none. 192.0.2.x is TEST-NET-1: nothing is ever sent there, the
OPTIONS go to the loopback source."""
import socket
import time

import pytest

from conftest import MULT, Response, Server, deadline, rand_token

DOMAIN = "example.com"


class Phone:
    """A UDP "phone" on one loopback address that registers and answers OPTIONS."""

    def __init__(self, server, ip):
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, 0))
        self.ip, self.port = self.sock.getsockname()

    def close(self):
        self.sock.close()

    def register(self, contact):
        req = (f"REGISTER sip:{DOMAIN} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP {self.ip}:{self.port};branch=z9hG4bK{rand_token()};rport\r\n"
               "Max-Forwards: 70\r\n"
               f"From: <sip:alice@{DOMAIN}>;tag={rand_token(8)}\r\n"
               f"To: <sip:alice@{DOMAIN}>\r\n"
               f"Call-ID: {rand_token(16)}\r\n"
               "CSeq: 1 REGISTER\r\n"
               f"Contact: <{contact}>\r\n"
               "Expires: 600\r\n"
               "Content-Length: 0\r\n\r\n").encode()
        self.sock.sendto(req, ("127.0.0.1", self.server.port))
        self.sock.settimeout(2 * MULT)
        while True:
            data, _ = self.sock.recvfrom(65535)
            if data.startswith(b"SIP/2.0"):
                r = Response(data)
                if r.code >= 200:
                    return r

    def wait_options(self, seconds, answer=True):
        """The OPTIONS requests received within seconds (answered 200)."""
        got = []
        end = deadline(seconds)
        while time.monotonic() < end:
            self.sock.settimeout(max(0.05, end - time.monotonic()))
            try:
                data, src = self.sock.recvfrom(65535)
            except socket.timeout:
                break
            if not data.startswith(b"OPTIONS "):
                continue
            got.append((data, src))
            if answer:
                self.sock.sendto(answer_200(data), src)
        return got


def answer_200(req):
    head = req.decode().split("\r\n\r\n", 1)[0].split("\r\n")
    keep = [l for l in head[1:]
            if l.split(":", 1)[0].strip().lower() in ("via", "from", "to", "call-id", "cseq")]
    keep = [l + ";tag=ph1" if l.lower().startswith("to:") else l for l in keep]
    return ("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n").encode()


@pytest.fixture
def ka_server(workdir):
    yaml = (f"server:\n  domains: [{DOMAIN}]\n"
            "registrar:\n  keepalive:\n    enabled: true\n    interval: 1s\n")
    s = Server(workdir, extra_yaml=yaml, workers=2).start()
    yield s
    assert s.stop() == 0


def test_natted_contact_gets_options_at_its_source(ka_server):
    natted = Phone(ka_server, "127.0.0.4")
    direct = Phone(ka_server, "127.0.0.5")
    try:
        assert natted.register("sip:alice@192.0.2.10:5060").code == 200
        assert direct.register(f"sip:alice@{direct.ip}:{direct.port}").code == 200
        got = natted.wait_options(3.5)
        # one per interval (1 s): at least two in 3.5 s, from the server's port
        assert len(got) >= 2, ka_server.log_text()[-2000:]
        for data, src in got:
            assert src == ("127.0.0.1", ka_server.port)
            first = data.split(b"\r\n", 1)[0]
            assert first == f"OPTIONS sip:127.0.0.4:{natted.port} SIP/2.0".encode()
        assert direct.wait_options(1.5) == []
    finally:
        natted.close()
        direct.close()
    assert "keepalive" not in ka_server.log_text()


def test_keepalive_off_by_default(workdir):
    s = Server(workdir, extra_yaml=f"server:\n  domains: [{DOMAIN}]\n").start()
    phone = Phone(s, "127.0.0.4")
    try:
        assert phone.register("sip:alice@192.0.2.10:5060").code == 200
        assert phone.wait_options(2.5) == []
    finally:
        phone.close()
    assert s.stop() == 0
