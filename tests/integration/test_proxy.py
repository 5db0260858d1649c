"""The proxy (RFC 3261 §16) between real sipp peers: a caller (UAC) and one
or more callees (UAS) behind sipwarden, all on loopback."""
import os

import socket
import time

from conftest import (MULT, SCENARIOS, Response, Server, Sipp, free_port, options_request,
                      rand_token, run_sipp, udp_request)


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


def run_call(workdir, callees, targets, scenario="proxy_uac.xml", calls=1, workers=1,
             extra="", uac_args=(), uac_transport="u1", timeout=40):
    """Starts sipwarden with targets and the callees (Sipp objects, not yet
    started), runs the caller, and returns (caller result, callee statuses)."""
    s = Server(workdir, workers=workers, extra_yaml=proxy_yaml(*targets, extra=extra)).start()
    for c in callees:
        c.start()
    try:
        r = uac(s, scenario, calls=calls, args=uac_args, transport=uac_transport,
                timeout=timeout)
        codes = [c.wait(timeout) for c in callees]
        return r, codes, s
    finally:
        for c in callees:
            c.stop()
        assert s.stop() == 0


def detail(r, callees):
    return r.stdout[-1500:] + r.stderr[-500:] + "".join(c.log_text() for c in callees)


def test_cancel_before_answer_gives_487(workdir):
    port = free_port()
    callee = Sipp(workdir, "proxy_uas_cancel.xml", port, ["-m", "1"])
    r, codes, _ = run_call(workdir, [callee], [f"sip:127.0.0.1:{port}"], "proxy_uac_cancel.xml")
    assert r.returncode == 0, detail(r, [callee])
    assert codes == [0], detail(r, [callee])


def test_cancel_from_another_source_port_finds_the_invite_on_two_workers(workdir):
    """With two workers an INVITE is handled where it arrives; a CANCEL sent
    from another source port may arrive on the other worker's socket and
    must still find the INVITE (txn_index): 200 for the CANCEL, 487 for
    the INVITE, on every call."""
    calls = 8
    port = free_port()
    callee = Sipp(workdir, "proxy_uas_cancel.xml", port, ["-m", str(calls)])
    s = Server(workdir, workers=2, extra_yaml=proxy_yaml(f"sip:127.0.0.1:{port}")).start()
    callee.start()
    try:
        for _ in range(calls):
            a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            a.bind(("127.0.0.1", 0))
            b.bind(("127.0.0.1", 0))
            a.settimeout(5 * MULT)
            ap = a.getsockname()[1]
            # no rport: responses go to the sent-by port, a's, whoever sent
            via = f"Via: SIP/2.0/UDP 127.0.0.1:{ap};branch=z9hG4bK{rand_token()}"
            common = (f"From: <sip:alice@example.com>;tag={rand_token()}\r\n"
                      f"To: <sip:bob@example.com>\r\n"
                      f"Call-ID: {rand_token(16)}@127.0.0.1\r\n")
            invite = (f"INVITE sip:bob@example.com SIP/2.0\r\n{via}\r\nMax-Forwards: 70\r\n"
                      f"{common}CSeq: 1 INVITE\r\nContact: <sip:alice@127.0.0.1:{ap}>\r\n"
                      f"Content-Length: 0\r\n\r\n")
            a.sendto(invite.encode(), ("127.0.0.1", s.port))
            codes = []
            while 180 not in codes:
                codes.append(Response(a.recvfrom(65535)[0]).code)
            cancel = (f"CANCEL sip:bob@example.com SIP/2.0\r\n{via}\r\nMax-Forwards: 70\r\n"
                      f"{common}CSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n")
            b.sendto(cancel.encode(), ("127.0.0.1", s.port))
            finals = {}
            end = time.monotonic() + 5 * MULT
            while len(finals) < 2 and time.monotonic() < end:
                r = Response(a.recvfrom(65535)[0])
                if r.code >= 200:
                    finals[r.header("cseq").split()[1]] = r
            assert finals["CANCEL"].code == 200 and finals["INVITE"].code == 487, finals
            r = finals["INVITE"]
            ack = (f"ACK sip:bob@example.com SIP/2.0\r\n{via}\r\nMax-Forwards: 70\r\n"
                   f"From: {r.header('from')}\r\nTo: {r.header('to')}\r\n"
                   f"Call-ID: {r.header('call-id')}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n")
            a.sendto(ack.encode(), ("127.0.0.1", s.port))
            a.close()
            b.close()
        assert callee.wait(30) == 0, callee.log_text()
    finally:
        callee.stop()
        assert s.stop() == 0


def test_busy_is_relayed(workdir):
    port = free_port()
    callee = Sipp(workdir, "proxy_uas_busy.xml", port, ["-m", "1"])
    r, codes, _ = run_call(workdir, [callee], [f"sip:127.0.0.1:{port}"], "proxy_uac_reject.xml")
    assert r.returncode == 0, detail(r, [callee])
    assert codes == [0], detail(r, [callee])


def test_max_forwards_zero_gets_483(workdir):
    s = Server(workdir, extra_yaml=proxy_yaml(f"sip:127.0.0.1:{free_port()}")).start()
    try:
        data = options_request(s.port, ruri="sip:bob@example.net").replace(
            b"Max-Forwards: 70", b"Max-Forwards: 0")
        r = udp_request(s.port, data)
        assert r is not None and r.code == 483
        # OPTIONS addressed to us is still answered (§16.3 step 3).
        data = options_request(s.port).replace(b"Max-Forwards: 70", b"Max-Forwards: 0")
        r = udp_request(s.port, data)
        assert r is not None and r.code == 200
    finally:
        assert s.stop() == 0


def test_loop_gets_482(workdir):
    port = free_port()
    s = Server(workdir, port=port, extra_yaml=proxy_yaml(f"sip:127.0.0.1:{port}")).start()
    try:
        r = udp_request(s.port, options_request(s.port, ruri="sip:bob@example.net"), timeout=5)
        assert r is not None and r.code == 482, r
    finally:
        assert s.stop() == 0


def test_proxy_require_gets_420(workdir):
    s = Server(workdir, extra_yaml=proxy_yaml(f"sip:127.0.0.1:{free_port()}")).start()
    try:
        data = options_request(s.port, ruri="sip:bob@example.net", extra="Proxy-Require: foo\r\n")
        r = udp_request(s.port, data)
        assert r is not None and r.code == 420 and "foo" in r.header("unsupported")
    finally:
        assert s.stop() == 0


def test_calls_complete_with_ten_percent_loss(workdir):
    """Both peers drop 10% of what they send and receive; retransmissions
    (ours and theirs) still complete every call. Only the caller's result
    counts: the lossy callee ends each call through a receive timeout,
    which sipp reports as a failed call."""
    port = free_port()
    callee = Sipp(workdir, "proxy_uas_lossy.xml", port, ["-m", "5", "-lost", "10"])
    s = Server(workdir, extra_yaml=proxy_yaml(f"sip:127.0.0.1:{port}")).start()
    callee.start()
    try:
        r = uac(s, calls=5, args=["-lost", "10", "-r", "2"], timeout=90)
        assert r.returncode == 0, detail(r, [callee])
    finally:
        callee.stop()
        assert s.stop() == 0


def test_udp_caller_to_tcp_callee_double_record_route(workdir):
    """RFC 5658 double Record-Route: the callee sees our TCP address on top
    and our UDP one below; ACK and BYE then cross from UDP to TCP."""
    port = free_port()
    trace = os.path.join(workdir, "uas-messages.log")
    callee = Sipp(workdir, "proxy_uas.xml", port,
                  ["-m", "1", "-trace_msg", "-message_file", trace], transport="t1")
    r, codes, _ = run_call(workdir, [callee], [f"sip:127.0.0.1:{port};transport=tcp"])
    assert r.returncode == 0, detail(r, [callee])
    assert codes == [0], detail(r, [callee])
    with open(trace) as f:
        text = f.read()
    invite = text[text.index("INVITE sip:"):]
    invite = invite[:invite.index("\n\n")]
    rrs = [l for l in invite.splitlines() if l.lower().startswith("record-route:")]
    assert len(rrs) == 2, invite
    assert "transport=tcp" in rrs[0] and "transport=udp" in rrs[1], invite
    assert "BYE sip:" in text and "ACK sip:" in text


def counter(server, name):
    """Reads a counter from the SIGUSR1 dump in the log."""
    import re
    import signal
    import time
    before = server.log_text()
    server.signal(signal.SIGUSR1)
    end = time.monotonic() + 5
    while time.monotonic() < end:
        text = server.log_text()[len(before):]
        m = re.search(re.escape(name) + r"\D*(\d+)", text)
        if m:
            return int(m.group(1))
        time.sleep(0.05)
    return None


def test_stateless_mode_forwards_and_relays(workdir):
    port = free_port()
    s = Server(workdir, extra_yaml=proxy_yaml(f"sip:127.0.0.1:{port}",
                                              extra="  stateless: true\n")).start()
    callee = Sipp(workdir, "proxy_uas.xml", port, ["-m", "1"]).start()
    try:
        r = uac(s)
        assert r.returncode == 0, detail(r, [callee])
        assert callee.wait() == 0
        assert counter(s, 'proxy_requests_forwarded_total{mode="stateless"}') >= 2
        assert counter(s, "proxy_responses_relayed_total") >= 3
    finally:
        callee.stop()
        assert s.stop() == 0


def test_two_workers_complete_calls(workdir):
    port = free_port()
    callee = Sipp(workdir, "proxy_uas.xml", port, ["-m", "20"])
    r, codes, _ = run_call(workdir, [callee], [f"sip:127.0.0.1:{port}"], calls=20, workers=2,
                           uac_args=["-r", "20"])
    assert r.returncode == 0, detail(r, [callee])
    assert codes == [0], detail(r, [callee])


def test_parallel_fork_answer_cancels_the_other(workdir):
    a, b = free_port(), free_port()
    answers = Sipp(workdir, "proxy_uas.xml", a, ["-m", "1"], name="a")
    rings = Sipp(workdir, "proxy_uas_cancel.xml", b, ["-m", "1"], name="b")
    r, codes, _ = run_call(workdir, [answers, rings],
                           [f"sip:127.0.0.1:{a}", f"sip:127.0.0.1:{b}"])
    assert r.returncode == 0, detail(r, [answers, rings])
    assert codes == [0, 0], detail(r, [answers, rings])


def test_serial_failover_after_503(workdir):
    a, b = free_port(), free_port()
    fails = Sipp(workdir, "proxy_uas_unavail.xml", a, ["-m", "1"],
                 name="a")
    answers = Sipp(workdir, "proxy_uas.xml", b, ["-m", "1"], name="b")
    r, codes, _ = run_call(workdir, [fails, answers],
                           [f"sip:127.0.0.1:{a};q=1", f"sip:127.0.0.1:{b};q=0.5"])
    assert r.returncode == 0, detail(r, [fails, answers])
    assert codes == [0, 0], detail(r, [fails, answers])


def test_serial_failover_after_timeout(workdir):
    dead, b = free_port(), free_port()
    answers = Sipp(workdir, "proxy_uas.xml", b, ["-m", "1"])
    r, codes, _ = run_call(workdir, [answers],
                           [f"sip:127.0.0.1:{dead};q=0.9", f"sip:127.0.0.1:{b};q=0.1"],
                           extra="txn: { t1: 50ms, t2: 400ms }\n")
    assert r.returncode == 0, detail(r, [answers])
    assert codes == [0], detail(r, [answers])


def test_route_table_forwards_and_replies(workdir):
    """routes: the first match decides: bob goes to the callee, MESSAGE is
    refused, anything else falls back to 404 (no default_target)."""
    port = free_port()
    yaml = ("routes:\n"
            "  - match: { method: [MESSAGE] }\n"
            "    reply: { code: 403, reason: Refused }\n"
            "  - match: { ruri_user: \"^bob$\" }\n"
            f"    to: \"sip:127.0.0.1:{port}\"\n")
    s = Server(workdir, extra_yaml=yaml).start()
    callee = Sipp(workdir, "proxy_uas.xml", port, ["-m", "1"]).start()
    try:
        r = uac(s)
        assert r.returncode == 0, detail(r, [callee])
        assert callee.wait() == 0
        msg = options_request(s.port, ruri=f"sip:carol@127.0.0.1:{s.port}", method="MESSAGE")
        r = udp_request(s.port, msg)
        assert r is not None and r.code == 403 and r.reason == "Refused"
        msg = options_request(s.port, ruri=f"sip:carol@127.0.0.1:{s.port}", method="INVITE")
        r = udp_request(s.port, msg)
        assert r is not None and r.code == 404
    finally:
        callee.stop()
        assert s.stop() == 0


def test_dispatcher_set_fails_over_to_a_live_destination(workdir):
    dead, port = free_port(), free_port()
    yaml = ("txn: { t1: 50ms, t2: 400ms }\n"
            "dispatchers:\n"
            "  pbx:\n"
            f"    destinations: [\"sip:127.0.0.1:{dead}\", \"sip:127.0.0.1:{port}\"]\n"
            "default_route: { to: \"dispatcher:pbx\" }\n")
    s = Server(workdir, extra_yaml=yaml).start()
    callee = Sipp(workdir, "proxy_uas.xml", port, ["-m", "2"]).start()
    try:
        r = uac(s, calls=2)
        assert r.returncode == 0, detail(r, [callee])
        assert callee.wait() == 0
    finally:
        callee.stop()
        assert s.stop() == 0


def test_dispatcher_probes_send_options(workdir):
    """probe.enabled: worker 0 sends OPTIONS to each destination on a
    client transaction; an answer keeps it up."""
    import socket
    import time
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    port = peer.getsockname()[1]
    yaml = ("dispatchers:\n"
            "  pbx:\n"
            f"    destinations: [\"sip:127.0.0.1:{port}\"]\n"
            "    probe: { enabled: true, interval: 500ms }\n"
            "default_route: { to: \"dispatcher:pbx\" }\n")
    s = Server(workdir, workers=2, extra_yaml=yaml).start()
    try:
        peer.settimeout(5)
        seen = 0
        end = time.monotonic() + 10
        while seen < 2 and time.monotonic() < end:
            data, addr = peer.recvfrom(65535)
            text = data.decode()
            assert text.startswith(f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"), text
            assert ";branch=z9hG4bKsw" in text
            head = text.split("\r\n\r\n")[0].split("\r\n")
            keep = [l for l in head[1:] if l.split(":")[0].lower() in
                    ("via", "from", "to", "call-id", "cseq")]
            reply = "SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n"
            peer.sendto(reply.encode(), addr)
            seen += 1
        assert seen == 2
    finally:
        peer.close()
        assert s.stop() == 0


def test_strict_router_request_uri_is_restored(workdir):
    """§16.4: a strict router put our Record-Route URI into the Request-URI
    and the real target in the last Route; we forward to that target with
    it as the Request-URI, and our Via on top."""
    import socket
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    port = peer.getsockname()[1]
    s = Server(workdir, extra_yaml=proxy_yaml(f"sip:127.0.0.1:{free_port()}")).start()
    try:
        target = f"sip:uas@127.0.0.1:{port}"
        msg = options_request(s.port, ruri=f"sip:127.0.0.1:{s.port};transport=udp;lr",
                              method="BYE",
                              extra=f"Route: <{target}>\r\n").replace(
            b"To: <sip:127.0.0.1", b"To: <sip:x@127.0.0.1").replace(
            b"\r\nCall-ID", b";tag=abc\r\nCall-ID", 1)
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sender.bind(("127.0.0.1", 0))
        sender.sendto(msg, ("127.0.0.1", s.port))
        peer.settimeout(5)
        data, _ = peer.recvfrom(65535)
        lines = data.decode().split("\r\n")
        assert lines[0] == f"BYE {target} SIP/2.0", lines[:3]
        assert "z9hG4bKsw" in lines[1]
        assert not any(l.lower().startswith("route:") for l in lines)
        assert "Max-Forwards: 69" in lines
        sender.close()
    finally:
        peer.close()
        assert s.stop() == 0
