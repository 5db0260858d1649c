"""RFC 3263 next hops: a route to a host name is resolved (SRV, then A)
with a real dnsmasq on loopback, and the proxy fails over from the
priority-10 SRV target to the priority-20 one (§4.3)."""
import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import MULT, Sipp, Server, free_port, options_request, run_sipp, udp_request, SCENARIOS
from test_proxy import counter, detail


def dnsmasq_binary():
    for p in ("/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq"):
        if os.access(p, os.X_OK):
            return p
    return shutil.which("dnsmasq")


class Dnsmasq:
    """dnsmasq in the foreground on a free loopback port, serving .test
    only (NXDOMAIN for anything else), stopped by its PID."""

    def __init__(self, workdir, records):
        self.port = free_port()
        self.log = os.path.join(workdir, "dnsmasq.log")
        self.cmd = [dnsmasq_binary(), "-k", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                    "--pid-file=", "--local=/test/", f"--port={self.port}",
                    "--listen-address=127.0.0.1", "--bind-interfaces"] + records
        self.proc = None

    def start(self):
        self.logf = open(self.log, "wb")
        self.proc = subprocess.Popen(self.cmd, stdout=self.logf, stderr=subprocess.STDOUT)
        # ready when it answers: dig would be one more dependency, so ask
        # with a raw A query for a name it serves
        import socket
        import struct
        q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
        for label in ("a", "example", "test"):
            q += bytes([len(label)]) + label.encode()
        q += b"\x00" + struct.pack(">HH", 1, 1)
        end = time.monotonic() + 10 * MULT
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            while time.monotonic() < end:
                assert self.proc.poll() is None, open(self.log).read()
                s.sendto(q, ("127.0.0.1", self.port))
                try:
                    data = s.recv(512)
                    if data[:2] == q[:2]:
                        return self
                except OSError:
                    pass
        raise AssertionError("dnsmasq did not answer")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc is not None:
            self.logf.close()


pytestmark = pytest.mark.skipif(dnsmasq_binary() is None,
                                reason="dnsmasq is not installed (scripts/deps.sh: dnsmasq-base)")


def srv_records(port_a, port_b):
    return ["--host-record=a.example.test,127.0.0.1",
            "--host-record=b.example.test,127.0.0.1",
            f"--srv-host=_sip._udp.example.test,a.example.test,{port_a},10,10",
            f"--srv-host=_sip._udp.example.test,b.example.test,{port_b},20,10"]


def dns_yaml(dns, to, extra=""):
    return (f"dns: {{ servers: [\"127.0.0.1:{dns.port}\"], timeout: 500ms, tries: 2 }}\n"
            "routes:\n"
            "  - match: { ruri_user: \"^bob$\" }\n"
            f"    to: \"{to}\"\n"
            f"{extra}")


def uac(server, calls=1, scenario="proxy_uac.xml", timeout=30):
    return run_sipp(["-sf", os.path.join(SCENARIOS, scenario), "-s", "bob",
                     f"127.0.0.1:{server.port}", "-i", "127.0.0.1", "-p", str(free_port()),
                     "-t", "u1", "-m", str(calls)], timeout=timeout)


def run(workdir, callees, records, to="sip:example.test", extra="", calls=1,
        scenario="proxy_uac.xml", check=None):
    dns = Dnsmasq(workdir, records).start()
    s = Server(workdir, extra_yaml=dns_yaml(dns, to, extra)).start()
    for c in callees:
        c.start()
    try:
        r = uac(s, calls, scenario)
        codes = [c.wait(30) for c in callees]
        if check is not None:
            check(s)
        return r, codes
    finally:
        for c in callees:
            c.stop()
        dns.stop()
        assert s.stop() == 0


def test_call_goes_to_the_priority_10_srv_target(workdir):
    a, b = free_port(), free_port()
    first = Sipp(workdir, "proxy_uas.xml", a, ["-m", "1"], name="a")

    def check(s):
        assert counter(s, 'sip_route_requests_total{route="0"}') >= 1
        assert counter(s, 'sip_route_responses_total{route="0",class="2xx"}') == 1

    r, codes = run(workdir, [first], srv_records(a, b), check=check)
    assert r.returncode == 0, detail(r, [first])
    assert codes == [0], detail(r, [first])


def test_503_fails_over_to_the_priority_20_target(workdir):
    a, b = free_port(), free_port()
    fails = Sipp(workdir, "proxy_uas_unavail.xml", a, ["-m", "1"], name="a")
    answers = Sipp(workdir, "proxy_uas.xml", b, ["-m", "1"], name="b")

    def check(s):
        assert counter(s, 'sip_route_failovers_total{route="0"}') == 1

    r, codes = run(workdir, [fails, answers], srv_records(a, b), check=check)
    assert r.returncode == 0, detail(r, [fails, answers])
    assert codes == [0, 0], detail(r, [fails, answers])


def test_silent_target_times_out_and_fails_over(workdir):
    a, b = free_port(), free_port()  # nothing listens on a
    answers = Sipp(workdir, "proxy_uas.xml", b, ["-m", "1"], name="b")
    r, codes = run(workdir, [answers], srv_records(a, b), extra="txn: { t1: 100ms, t2: 400ms }\n")
    assert r.returncode == 0, detail(r, [answers])
    assert codes == [0], detail(r, [answers])


def test_a_record_with_explicit_port(workdir):
    """A port in the URI: no SRV, the A record only (RFC 3263 §4.2)."""
    port = free_port()
    callee = Sipp(workdir, "proxy_uas.xml", port, ["-m", "1"])
    r, codes = run(workdir, [callee], srv_records(free_port(), free_port()),
                   to=f"sip:a.example.test:{port}")
    assert r.returncode == 0, detail(r, [callee])
    assert codes == [0], detail(r, [callee])


def test_unknown_name_gets_404_and_dead_server_503(workdir):
    dns = Dnsmasq(workdir, srv_records(free_port(), free_port())).start()
    s = Server(workdir, extra_yaml=dns_yaml(dns, "sip:nowhere.test")).start()
    try:
        msg = options_request(s.port, ruri=f"sip:bob@127.0.0.1:{s.port}", method="MESSAGE")
        r = udp_request(s.port, msg, timeout=5)
        assert r is not None and r.code == 404 and r.reason == "Unresolvable", r
        dns.stop()  # no server answers any more: a transient failure
        msg = options_request(s.port, ruri=f"sip:bob@127.0.0.1:{s.port}", method="MESSAGE")
        r = udp_request(s.port, msg, timeout=10)
        assert r is not None and r.code == 503, r
    finally:
        dns.stop()
        assert s.stop() == 0
