"""Registrar, digest authentication and registration-scanning protection,
driven by a SIP client written here (digest per RFC 7616 with qop=auth)
and by sipp."""
import hashlib
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import (BINARY, MULT, SCENARIOS, Response, Server, deadline, rand_token,
                      run_sipp)

DOMAIN = "example.com"
USERS = {"alice": "wonderland", "bob": "builder"}


def make_server(workdir, extra="", workers=1, algorithms="[SHA-256, MD5]", env=None):
    users = os.path.join(workdir, "users.yaml")
    for user, pw in USERS.items():
        subprocess.run([BINARY, "passwd", "--file", users, "--realm", DOMAIN, user, pw],
                       check=True, capture_output=True)
    yaml = (f"server:\n  domains: [{DOMAIN}]\n"
            f"auth:\n  realms: [{DOMAIN}]\n  users: users.yaml\n  algorithms: {algorithms}\n"
            "security:\n  auth_failures:\n    max: 5\n    window: 60s\n    ban: 60s\n"
            "  ban_table_size: 1024\n"
            "registrar:\n  min_expires: 60\n  max_expires: 3600\n"
            "routes:\n  - match:\n      ruri_host: \"^example\\\\.com$\"\n    to: location\n")
    return Server(workdir, extra_yaml=yaml + extra, workers=workers, env=env)


class Client:
    """A UDP SIP client bound to one loopback address."""

    def __init__(self, server, ip="127.0.0.1", user="alice", ua="sipwarden-test"):
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, 0))
        self.ip, self.port = self.sock.getsockname()
        self.user = user
        self.ua = ua
        self.call_id = rand_token(16)
        self.cseq = 0
        self.nc = 0

    def close(self):
        self.sock.close()

    def request(self, method="REGISTER", ruri=None, contact=None, expires=None,
                authorization=None, extra="", to_user=None):
        self.cseq += 1
        ruri = ruri or f"sip:{DOMAIN}"
        to_user = to_user or self.user
        lines = [f"{method} {ruri} SIP/2.0",
                 f"Via: SIP/2.0/UDP {self.ip}:{self.port};branch=z9hG4bK{rand_token()};rport",
                 "Max-Forwards: 70",
                 f"From: <sip:{self.user}@{DOMAIN}>;tag={rand_token(8)}",
                 f"To: <sip:{to_user}@{DOMAIN}>",
                 f"Call-ID: {self.call_id}",
                 f"CSeq: {self.cseq} {method}",
                 f"User-Agent: {self.ua}"]
        if contact is not None:
            lines.append(f"Contact: {contact}")
        if expires is not None:
            lines.append(f"Expires: {expires}")
        if authorization:
            lines.append(authorization)
        text = "\r\n".join(lines) + "\r\n" + extra + "Content-Length: 0\r\n\r\n"
        return text.encode()

    def send(self, data, timeout=2.0):
        self.sock.settimeout(timeout * MULT)
        self.sock.sendto(data, ("127.0.0.1", self.server.port))
        end = deadline(timeout)
        while time.monotonic() < end:
            try:
                reply, _ = self.sock.recvfrom(65535)
            except socket.timeout:
                return None
            r = Response(reply)
            if r.code >= 200:
                return r
        return None

    def authorization(self, challenge, method, uri, password, algo, nc=None, header="Authorization"):
        params = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge))
        h = hashlib.sha256 if algo == "SHA-256" else hashlib.md5
        H = lambda s: h(s.encode()).hexdigest()
        if nc is None:
            self.nc += 1
            nc = self.nc
        ncs = f"{nc:08x}"
        cnonce = rand_token(8)
        ha1 = H(f"{self.user}:{params['realm']}:{password}")
        ha2 = H(f"{method}:{uri}")
        resp = H(f"{ha1}:{params['nonce']}:{ncs}:{cnonce}:auth:{ha2}")
        opaque = f', opaque="{params["opaque"]}"' if "opaque" in params else ""
        return (f'{header}: Digest username="{self.user}", realm="{params["realm"]}", '
                f'nonce="{params["nonce"]}", uri="{uri}", response="{resp}", algorithm={algo}, '
                f'cnonce="{cnonce}", nc={ncs}, qop=auth{opaque}')

    def register(self, password=None, algo="SHA-256", contact=None, expires=600):
        contact = contact or f"<sip:{self.user}@{self.ip}:{self.port}>"
        r = self.send(self.request(contact=contact, expires=expires))
        if r is None or r.code != 401:
            return r
        ch = pick_challenge(r, algo)
        auth = self.authorization(ch, "REGISTER", f"sip:{DOMAIN}",
                                  password or USERS[self.user], algo)
        return self.send(self.request(contact=contact, expires=expires, authorization=auth))


def pick_challenge(r, algo):
    for v in r.all("www-authenticate") + r.all("proxy-authenticate"):
        m = re.search(r'algorithm="?([\w-]+)', v)
        if m and m.group(1).upper() == algo:
            return v
    raise AssertionError(f"no {algo} challenge in {r.headers}")


@pytest.fixture
def reg(workdir):
    s = make_server(workdir).start()
    yield s
    assert s.stop() == 0


def test_register_without_credentials_is_challenged_with_sha256_and_md5(reg):
    c = Client(reg)
    r = c.send(c.request(contact=f"<sip:alice@{c.ip}:{c.port}>", expires=600))
    assert r is not None and r.code == 401
    algos = [re.search(r'algorithm="?([\w-]+)', v).group(1) for v in r.all("www-authenticate")]
    assert algos[0] == "SHA-256" and "MD5" in algos
    assert all('qop="auth"' in v for v in r.all("www-authenticate"))


def test_challenges_are_stateless(reg):
    # RFC 3261 §8.2.7: the challenge keeps no transaction. A retransmitted
    # REGISTER (same bytes, same branch) gets a fresh challenge rather than
    # the stored 401 a server transaction would resend, and an INVITE gets
    # its 407 without the 100 Trying of an INVITE server transaction.
    c = Client(reg)
    data = c.request(contact=f"<sip:alice@{c.ip}:{c.port}>", expires=600)
    nonces = []
    for _ in range(2):
        r = c.send(data)
        assert r is not None and r.code == 401
        nonces.append(re.search(r'nonce="([^"]+)"', r.all("www-authenticate")[0]).group(1))
    assert nonces[0] != nonces[1]
    c.sock.settimeout(2 * MULT)
    c.sock.sendto(c.request(method="INVITE", ruri=f"sip:bob@{DOMAIN}", to_user="bob"),
                  ("127.0.0.1", reg.port))
    first = Response(c.sock.recvfrom(65535)[0])
    assert first.code == 407
    # ...and a challenged REGISTER still registers (the stateful path).
    assert c.register(algo="MD5").code == 200


@pytest.mark.parametrize("algo", ["SHA-256", "MD5"])
def test_register_with_digest_gets_200_listing_the_contact(reg, algo):
    c = Client(reg)
    r = c.register(algo=algo)
    assert r is not None and r.code == 200, r
    contacts = r.all("contact")
    assert any(f"{c.ip}:{c.port}" in v and "expires=" in v for v in contacts)


def test_sipp_register_with_md5_digest(workdir):
    # sipp computes MD5 digests only, and answers the first challenge.
    reg = make_server(workdir, algorithms="[MD5]").start()
    r = run_sipp([f"127.0.0.1:{reg.port}", "-sf", os.path.join(SCENARIOS, "register_auth.xml"),
                  "-m", "1", "-i", "127.0.0.1", "-p", "0", "-s", "bob",
                  "-au", "bob", "-ap", USERS["bob"], "-auth_uri", DOMAIN, "-set", "domain", DOMAIN], timeout=30)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert reg.stop() == 0


def test_wrong_password_is_refused(reg):
    c = Client(reg)
    r = c.register(password="nope")
    assert r is not None and r.code in (401, 403)


def test_replayed_nonce_count_is_refused(reg):
    c = Client(reg)
    contact = f"<sip:alice@{c.ip}:{c.port}>"
    r = c.send(c.request(contact=contact, expires=600))
    ch = pick_challenge(r, "SHA-256")
    auth = c.authorization(ch, "REGISTER", f"sip:{DOMAIN}", USERS["alice"], "SHA-256", nc=1)
    assert c.send(c.request(contact=contact, expires=600, authorization=auth)).code == 200
    again = c.send(c.request(contact=contact, expires=600, authorization=auth))
    assert again is not None and again.code != 200


def test_interval_too_brief_gets_423_with_min_expires(reg):
    c = Client(reg)
    r = c.register(expires=10)
    assert r is not None and r.code == 423
    assert r.header("min-expires") == "60"


def query(c):
    r = c.send(c.request())
    if r is not None and r.code == 401:
        ch = pick_challenge(r, "SHA-256")
        auth = c.authorization(ch, "REGISTER", f"sip:{DOMAIN}", USERS[c.user], "SHA-256")
        r = c.send(c.request(authorization=auth))
    return r


def test_star_removes_every_contact(reg):
    c = Client(reg)
    # two devices of one user
    assert c.register(contact=f"<sip:alice@{c.ip}:{c.port}>").code == 200
    assert c.register(contact=f"<sip:alice@{c.ip}:{c.port + 1}>").code == 200
    assert len(query(c).all("contact")) == 2
    r = c.register(contact="*", expires=0)
    assert r is not None and r.code == 200
    assert query(c).all("contact") == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_registration_survives_restart(workdir, sig):
    s = make_server(workdir).start()
    c = Client(s)
    assert c.register().code == 200
    s.signal(sig)
    s.proc.wait(timeout=10 * MULT)
    s.logf.close()
    s.start()
    r = query(c)
    assert r is not None and r.code == 200
    assert any(f"{c.ip}:{c.port}" in v for v in r.all("contact"))
    assert s.stop() == 0


def test_brute_force_source_is_banned_while_real_user_keeps_registering(reg):
    attacker = Client(reg, ip="127.0.0.2")
    for _ in range(6):
        attacker.register(password="guess")
    # Banned: no answer at all, not even a challenge.
    assert attacker.send(attacker.request(contact="<sip:alice@127.0.0.2>", expires=600),
                         timeout=0.5) is None
    legit = Client(reg, ip="127.0.0.3")
    r = legit.register()
    assert r is not None and r.code == 200
    assert "ban" in reg.log_text().lower()


def test_scanner_user_agent_gets_no_answer(reg):
    c = Client(reg, ua="friendly-scanner")
    assert c.send(c.request(contact=f"<sip:alice@{c.ip}:{c.port}>", expires=600),
                  timeout=0.5) is None
    ok = Client(reg, ua="sipsak 0.9.8")
    assert ok.send(ok.request(contact=f"<sip:alice@{ok.ip}:{ok.port}>", expires=600)).code == 401


def test_invite_from_untrusted_source_is_challenged_with_407(reg):
    c = Client(reg, user="bob")
    r = c.send(c.request(method="INVITE", ruri=f"sip:alice@{DOMAIN}", to_user="alice"))
    assert r is not None and r.code == 407
    assert r.all("proxy-authenticate")


def test_invite_to_registered_user_forks_to_both_contacts(reg):
    phones = [Client(reg, ip="127.0.0.4"), Client(reg, ip="127.0.0.5")]
    for p in phones:
        assert p.register().code == 200
    caller = Client(reg, user="bob")
    r = caller.send(caller.request(method="INVITE", ruri=f"sip:alice@{DOMAIN}", to_user="alice"))
    assert r.code == 407
    auth = caller.authorization(pick_challenge(r, "SHA-256"), "INVITE", f"sip:alice@{DOMAIN}",
                                USERS["bob"], "SHA-256", header="Proxy-Authorization")
    caller.sock.sendto(caller.request(method="INVITE", ruri=f"sip:alice@{DOMAIN}",
                                      to_user="alice", authorization=auth),
                       ("127.0.0.1", reg.port))
    for p in phones:
        p.sock.settimeout(5 * MULT)
        data, _ = p.sock.recvfrom(65535)
        assert data.startswith(b"INVITE sip:alice@" + p.ip.encode())


def test_spoofed_source_flood_keeps_memory_bounded_and_bans_working(workdir):
    # ASan's quarantine keeps freed memory resident; without it RSS shows
    # what the server really holds.
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=0"
    reg = make_server(workdir, env=env).start()
    rss_before = reg.rss_kib()
    # 3,000 distinct sources (127.1.x.y) each failing once: the ban table is
    # bounded (security.ban_table_size 1024) whatever the number of sources
    # (the unit test test_ban drives 1,000,000); what grows here is the
    # transactions waiting out Timer J (64*T1) for their retransmissions.
    for i in range(3000):
        ip = f"127.1.{i // 250}.{i % 250 + 1}"
        c = Client(reg, ip=ip)
        c.sock.sendto(c.request(contact=f"<sip:alice@{ip}>", expires=600,
                                authorization='Authorization: Digest username="alice", '
                                'realm="example.com", nonce="x", uri="sip:example.com", '
                                'response="00"'), ("127.0.0.1", reg.port))
        c.close()
    assert reg.alive()
    assert reg.rss_kib() - rss_before < 48 * 1024
    # The table still bans a real brute-force source after the flood.
    attacker = Client(reg, ip="127.0.0.2")
    for _ in range(6):
        attacker.register(password="guess")
    assert attacker.send(attacker.request(contact="<sip:alice@127.0.0.2>", expires=600),
                         timeout=0.5) is None
    assert reg.stop() == 0
