"""Dispatcher sets between real sipp callees: weighted spread over 1,000
calls, then OPTIONS probes take a silent destination down and bring it
back (disp.h health). Failover on a dead destination and the probe's
format are in test_proxy.py."""
import os
import re
import time

from conftest import MULT, SCENARIOS, Server, Sipp, free_port, run_sipp
from test_proxy import counter, detail


def callee(workdir, port, name):
    """A callee that answers every call and (-aa) the probes, until stopped;
    its received messages go to a file, to count its calls."""
    trace = os.path.join(workdir, f"{name}-{time.monotonic_ns()}-messages.log")
    c = Sipp(workdir, "proxy_uas.xml", port,
             ["-aa", "-trace_msg", "-message_file", trace], name=name)
    c.trace = trace
    return c


def calls_received(c):
    """Distinct Call-IDs of the INVITEs a callee received (retransmissions
    counted once)."""
    try:
        with open(c.trace, errors="replace") as f:
            text = f.read()
    except OSError:
        return 0
    ids = set()
    for block in re.split(r"message received \[\d+\] bytes :", text)[1:]:
        block = block.lstrip()
        if block.startswith("INVITE "):
            m = re.search(r"^Call-ID:\s*(\S+)", block, re.M | re.I)
            if m:
                ids.add(m.group(1))
    return len(ids)


def uac(server, calls, rate=100):
    return run_sipp(["-sf", os.path.join(SCENARIOS, "proxy_uac.xml"), "-s", "bob",
                     f"127.0.0.1:{server.port}", "-i", "127.0.0.1", "-p", str(free_port()),
                     "-t", "u1", "-m", str(calls), "-r", str(rate), "-l", "50"], timeout=120)


def wait_log(server, text, seconds):
    end = time.monotonic() + seconds * MULT
    while time.monotonic() < end:
        if text in server.log_text():
            return True
        time.sleep(0.1)
    return False


def wait_calls(c, n, seconds=10):
    """The callee's trace is written as messages arrive: wait for n."""
    end = time.monotonic() + seconds * MULT
    while calls_received(c) < n and time.monotonic() < end:
        time.sleep(0.1)
    return calls_received(c)


def test_weighted_spread_and_probe_health(workdir):
    pa, pb = free_port(), free_port()
    yaml = ("txn: { t1: 50ms, t2: 400ms }\n"
            "dispatchers:\n"
            "  pbx:\n"
            "    algorithm: weighted\n"
            f"    destinations: [\"sip:127.0.0.1:{pa};weight=3\", \"sip:127.0.0.1:{pb};weight=1\"]\n"
            "    probe: { enabled: true, interval: 1s, failures: 2, successes: 2 }\n"
            "routes:\n"
            "  - to: \"dispatcher:pbx\"\n")
    s = Server(workdir, workers=2, extra_yaml=yaml).start()
    a, b = callee(workdir, pa, "a").start(), callee(workdir, pb, "b").start()
    a2 = None
    try:
        # 1. 1,000 calls split 3:1 (smooth weighted round robin per worker)
        r = uac(s, 1000)
        assert r.returncode == 0, detail(r, [a, b])
        end = time.monotonic() + 10 * MULT
        while calls_received(a) + calls_received(b) < 1000 and time.monotonic() < end:
            time.sleep(0.1)
        na, nb = calls_received(a), calls_received(b)
        assert na + nb == 1000, (na, nb)
        assert abs(na - 750) <= 50 and abs(nb - 250) <= 50, (na, nb)
        # the route's counters (SIGUSR1 dump) saw every INVITE and its 200
        # (BYE and ACK are loose-routed in the dialog, not routed)
        assert counter(s, 'sip_route_requests_total{route="0"}') >= 1000
        assert counter(s, 'sip_route_responses_total{route="0",class="2xx"}') == 1000

        # 2. a stops answering: after 2 failed probes it is down, and new
        # calls all go to b
        a.stop()
        assert wait_log(s, "is down after 2 consecutive failures", 30), s.log_text()[-3000:]
        before = calls_received(b)
        r = uac(s, 20, rate=20)
        assert r.returncode == 0, detail(r, [b])
        assert wait_calls(b, before + 20) == before + 20

        # 3. a comes back: after 2 answered probes it is up and gets calls
        a2 = callee(workdir, pa, "a2").start()
        assert wait_log(s, "is up again after 2 successful probes", 30), s.log_text()[-3000:]
        r = uac(s, 40, rate=20)
        assert r.returncode == 0, detail(r, [a2, b])
        assert wait_calls(a2, 1) > 0
    finally:
        for c in (a, b, a2):
            if c is not None:
                c.stop()
        assert s.stop() == 0
