"""What the first server answers to requests it cannot serve yet, to
malformed requests, and to stray responses (RFC 3261 §8.2, §18)."""
import socket

from conftest import Server, rand_token, udp_request, tcp_exchange


def req(server, method="INVITE", ruri=None, extra="", body="", cseq_method=None, drop=()):
    ruri = ruri or f"sip:alice@127.0.0.1:{server.port}"
    lines = [f"{method} {ruri} SIP/2.0",
             f"Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK{rand_token()};rport",
             "Max-Forwards: 70",
             f"From: <sip:bob@example.com>;tag={rand_token()}",
             f"To: <{ruri}>",
             f"Call-ID: {rand_token(16)}",
             f"CSeq: 7 {cseq_method or method}"]
    lines = [l for l in lines if l.split(":")[0] not in drop]
    text = "\r\n".join(lines) + "\r\n" + extra + f"Content-Length: {len(body)}\r\n\r\n" + body
    return text.encode()


def test_invite_without_route_gets_404(server):
    r = udp_request(server.port, req(server, "INVITE"))
    assert r is not None and r.code == 404
    assert "tag=" in r.header("to")


def test_register_gets_404_until_registrar_exists(server):
    r = udp_request(server.port, req(server, "REGISTER", ruri=f"sip:127.0.0.1:{server.port}"))
    assert r is not None and r.code == 404


def test_unknown_method_gets_501_with_allow(server):
    r = udp_request(server.port, req(server, "FROBNICATE"))
    assert r is not None and r.code == 501
    assert "OPTIONS" in r.header("allow")


def test_cancel_without_transaction_gets_481(server):
    r = udp_request(server.port, req(server, "CANCEL"))
    assert r is not None and r.code == 481


def test_ack_is_never_answered(server):
    assert udp_request(server.port, req(server, "ACK"), timeout=0.5) is None
    assert server.alive()


def test_unsupported_uri_scheme_gets_416(server):
    r = udp_request(server.port, req(server, "OPTIONS", ruri="im:alice@example.com"))
    assert r is not None and r.code == 416


def test_unknown_require_gets_420_with_unsupported(server):
    r = udp_request(server.port, req(server, "OPTIONS", extra="Require: foo, 100rel\r\n"))
    assert r is not None and r.code == 420
    assert "foo" in r.header("unsupported")


def test_bad_cseq_gets_400_naming_the_problem(server):
    r = udp_request(server.port, req(server, "OPTIONS", cseq_method="INVITE"))
    assert r is not None and r.code == 400
    assert "cseq" in r.reason.lower()


def test_bad_max_forwards_gets_400_naming_the_problem(server):
    data = req(server, "OPTIONS").replace(b"Max-Forwards: 70", b"Max-Forwards: seventy")
    r = udp_request(server.port, data)
    assert r is not None and r.code == 400
    assert "max-forwards" in r.reason.lower()


def test_content_length_beyond_body_gets_400(server):
    data = req(server, "OPTIONS", body="v=0\r\n").replace(b"Content-Length: 5",
                                                           b"Content-Length: 500")
    r = udp_request(server.port, data)
    assert r is not None and r.code == 400
    assert "content-length" in r.reason.lower()


def test_request_missing_call_id_is_dropped_and_counted(server):
    data = req(server, "OPTIONS", drop=("Call-ID",))
    assert udp_request(server.port, data, timeout=0.5) is None
    assert server.alive()


def test_stray_response_is_ignored(server):
    resp = (f"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bK{rand_token()}\r\n"
            f"From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>;tag=2\r\n"
            f"Call-ID: {rand_token()}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n").encode()
    assert udp_request(server.port, resp, timeout=0.5) is None
    assert server.alive()


def test_garbage_datagrams_are_dropped(server):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for junk in [b"", b"\r\n\r\n", b"\x00" * 100, b"GET / HTTP/1.1\r\n\r\n",
                 b"INVITE sip:a@b SIP/2.0\r\n", bytes(range(256)) * 8, b"SIP/2.0 999\r\n\r\n"]:
        s.sendto(junk, ("127.0.0.1", server.port))
    s.close()
    assert server.alive()


def test_datagram_over_max_message_size_is_dropped(workdir):
    s = Server(workdir, extra_yaml="limits:\n  max_message_size: 4k\n").start()
    small = req(s, "OPTIONS", extra="X-Pad: " + "a" * 3000 + "\r\n")
    r = udp_request(s.port, small)
    assert r is not None and r.code == 200
    big = req(s, "OPTIONS", extra="X-Pad: " + "a" * 5000 + "\r\n")
    assert udp_request(s.port, big, timeout=0.5) is None
    assert s.alive()
    assert s.stop() == 0


def test_too_many_headers_gets_400(workdir):
    s = Server(workdir, extra_yaml="limits:\n  max_headers: 16\n").start()
    pad = "".join(f"X-H{i}: {i}\r\n" for i in range(20))
    r = udp_request(s.port, req(s, "OPTIONS", extra=pad))
    assert r is not None and r.code == 400 and "headers" in r.reason.lower()
    assert s.stop() == 0


def test_too_many_via_gets_400(workdir):
    s = Server(workdir, extra_yaml="limits:\n  max_via: 3\n").start()
    vias = "".join(f"Via: SIP/2.0/UDP 192.0.2.{i}:5060;branch=z9hG4bKx{i}\r\n" for i in range(4))
    r = udp_request(s.port, req(s, "OPTIONS", extra=vias))
    assert r is not None and r.code == 400 and "via" in r.reason.lower()
    assert s.stop() == 0


def test_400_over_tcp(server):
    data = req(server, "OPTIONS", cseq_method="BYE").replace(b"SIP/2.0/UDP", b"SIP/2.0/TCP")
    r = tcp_exchange(server.port, data)
    assert r is not None and r.code == 400
