"""The proxy (RFC 3261 §16) between real sipp peers: a caller (UAC) and one
or more callees (UAS) behind sipwarden, all on loopback."""
import os

from conftest import SCENARIOS, Server, Sipp, free_port, run_sipp


def proxy_yaml(*targets, extra=""):
    t = ", ".join(f'"{x}"' for x in targets)
    return f"proxy:\n  default_target: [{t}]\n{extra}"


def uac(server, scenario="proxy_uac.xml", calls=1, args=(), transport="u1", timeout=30):
    r = run_sipp(["-sf", os.path.join(SCENARIOS, scenario), "-s", "bob",
                  f"127.0.0.1:{server.port}", "-i", "127.0.0.1", "-p", str(free_port()),
                  "-t", transport, "-m", str(calls)] + list(args), timeout=timeout)
    return r


def test_call_with_ack_and_bye_through_the_proxy(workdir):
    """INVITE/180/200 go through; the 200 carries our Record-Route, so ACK
    and BYE come back through the proxy (loose routing, §16.4) to the callee."""
    port = free_port()
    s = Server(workdir, extra_yaml=proxy_yaml(f"sip:127.0.0.1:{port}")).start()
    callee = Sipp(workdir, "proxy_uas.xml", port, ["-m", "1"]).start()
    try:
        r = uac(s)
        assert r.returncode == 0, r.stdout[-2000:] + callee.log_text()
        assert callee.wait() == 0, callee.log_text()
    finally:
        callee.stop()
        assert s.stop() == 0
