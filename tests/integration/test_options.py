"""OPTIONS to the server itself, from sipp, sipsak and raw sockets."""
import os
import subprocess
import time

import pytest

from conftest import (SCENARIOS, MULT, Server, deadline, free_port, options_request,
                      run_sipp, tcp_exchange, udp_request)


def sipp_options(server, transport):
    t = {"udp": "u1", "tcp": "t1"}[transport]
    return run_sipp([f"127.0.0.1:{server.port}", "-sf", os.path.join(SCENARIOS, "options.xml"),
                     "-t", t, "-m", "20", "-r", "50", "-i", "127.0.0.1", "-p", "0"],
                    timeout=30)


def test_sipp_options_over_udp_gets_200(server):
    r = sipp_options(server, "udp")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]


def test_sipp_options_over_tcp_gets_200(server):
    r = sipp_options(server, "tcp")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]


@pytest.fixture
def server4(workdir):
    """sipsak 0.9.8 cuts a five-digit port in the Request-URI to four
    digits, so its tests use a four-digit port."""
    s = Server(workdir, port=free_port(low=5100, high=9999)).start()
    yield s
    assert s.stop() == 0


def sipsak(server, transport):
    return subprocess.run(["sipsak", "-s", f"sip:ping@127.0.0.1:{server.port}",
                           f"--transport={transport}", "-vv"],
                          capture_output=True, text=True, timeout=30 * MULT)


def test_sipsak_ping_over_udp_gets_200(server4):
    r = sipsak(server4, "udp")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "200" in r.stdout


def test_sipsak_ping_over_tcp_gets_200(server4):
    r = sipsak(server4, "tcp")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "200" in r.stdout


def test_options_200_lists_capabilities(server):
    r = udp_request(server.port, options_request(server.port))
    assert r is not None and r.code == 200
    allow = r.header("allow")
    assert allow and "OPTIONS" in allow and "INVITE" in allow
    assert "application/sdp" in r.header("accept")
    assert r.header("supported") is not None
    assert "tag=" in r.header("to")
    assert r.header("content-length") == "0"
    assert r.header("server")


def test_options_response_carries_rport_and_received(server):
    # The Via names another host: the response must say where it really came from.
    req = options_request(server.port).replace(b"Via: SIP/2.0/UDP 127.0.0.1:5099",
                                               b"Via: SIP/2.0/UDP client.example.com:5099")
    r = udp_request(server.port, req)
    assert r is not None and r.code == 200
    via = r.header("via")
    assert "received=127.0.0.1" in via
    assert "rport=" in via and "rport;" not in via


def test_options_over_tcp_answered_on_same_connection(server):
    r = tcp_exchange(server.port, options_request(server.port, transport="TCP"))
    assert r is not None and r.code == 200


def test_two_workers_answer_every_source(server2):
    # Different source ports hash to different SO_REUSEPORT sockets.
    for _ in range(40):
        r = udp_request(server2.port, options_request(server2.port))
        assert r is not None and r.code == 200


def test_options_over_ipv6(workdir):
    port = free_port("::1")
    s = Server(workdir, listen=[f"udp://[::1]:{port}", f"tcp://[::1]:{port}"],
               check_ready=False)
    s.port = port
    s.start()
    try:
        end = deadline(10)
        r = None
        while r is None and time.monotonic() < end:
            r = udp_request(port, options_request(port, host="::1",
                                                  ruri=f"sip:ping@[::1]:{port}"),
                            host="::1", timeout=0.3)
        assert r is not None and r.code == 200
        assert "rport=" in r.header("via")
    finally:
        assert s.stop() == 0


def test_json_log_lines_parse(workdir):
    import json
    s = Server(workdir, extra_yaml="").start()
    assert s.stop() == 0
    s2 = Server(workdir, extra_yaml="")
    with open(s2.config) as f:
        text = f.read().replace("log:\n  level: info\n", "log:\n  level: info\n  format: json\n")
    with open(s2.config, "w") as f:
        f.write(text)
    open(s2.log, "w").close()
    s2.start()
    assert s2.stop() == 0
    lines = [l for l in s2.log_text().splitlines() if l.strip()]
    assert lines
    for line in lines:
        rec = json.loads(line)
        assert {"ts", "level", "msg"} <= set(rec)
