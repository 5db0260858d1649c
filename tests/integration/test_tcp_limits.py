"""Hostile TCP peers: garbage floods and too many connections."""
import socket
import time

from conftest import Server, deadline, options_request, tcp_exchange


def closed_by_peer(sock, seconds=5):
    sock.settimeout(0.2)
    end = deadline(seconds)
    while time.monotonic() < end:
        try:
            data = sock.recv(4096)
            if not data:
                return True
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


def test_ten_megabytes_of_garbage_closes_connection_and_bounds_memory(server):
    rss_before = server.rss_kib()
    chunk = (b"\x8f\x00garbage-without-any-sip-framing " * 2048)[:65536]
    sent = 0
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        try:
            while sent < 10 * 1024 * 1024:
                s.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert closed_by_peer(s)
    assert server.alive()
    # The connection buffer is bounded by limits.max_message_size: no growth
    # anywhere near the 10 MB sent.
    assert server.rss_kib() - rss_before < 8 * 1024


def test_garbage_after_valid_message_still_answers_first(server):
    data = options_request(server.port, transport="TCP") + b"NOT SIP AT ALL\r\n\r\n"
    r = tcp_exchange(server.port, data)
    assert r is not None and r.code == 200


def test_connection_limit_per_source(workdir):
    s = Server(workdir, extra_yaml="tcp:\n  max_connections_per_source: 4\n").start()
    conns = [socket.create_connection(("127.0.0.1", s.port), timeout=5) for _ in range(4)]
    try:
        # Each of the allowed connections works.
        for c in conns:
            c.sendall(options_request(s.port, transport="TCP"))
            c.settimeout(5)
            assert b"SIP/2.0 200" in c.recv(65535)
        extra = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        assert closed_by_peer(extra)
        extra.close()
    finally:
        for c in conns:
            c.close()
    # Once they are closed, new connections are accepted again.
    end = deadline(5)
    ok = False
    while time.monotonic() < end and not ok:
        # The server notices the closes asynchronously; until then it may
        # still refuse.
        try:
            r = tcp_exchange(s.port, options_request(s.port, transport="TCP"), timeout=1)
        except (ConnectionResetError, BrokenPipeError):
            time.sleep(0.05)
            continue
        ok = r is not None and r.code == 200
    assert ok
    assert s.stop() == 0


def test_idle_connection_is_closed(workdir):
    s = Server(workdir, extra_yaml="tcp:\n  idle_timeout: 1s\n").start()
    c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    assert closed_by_peer(c, seconds=10)
    c.close()
    assert s.stop() == 0


def test_total_connection_limit(workdir):
    s = Server(workdir, extra_yaml="tcp:\n  max_connections: 3\n").start()
    # Three sources (127.0.0.2-4), one connection each: all allowed.
    conns = []
    for i in range(3):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.bind((f"127.0.0.{i + 2}", 0))
        c.settimeout(5)
        c.connect(("127.0.0.1", s.port))
        c.sendall(options_request(s.port, transport="TCP"))
        assert b"SIP/2.0 200" in c.recv(65535)
        conns.append(c)
    try:
        extra = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        extra.bind(("127.0.0.5", 0))
        extra.settimeout(5)
        extra.connect(("127.0.0.1", s.port))
        assert closed_by_peer(extra)
        extra.close()
    finally:
        for c in conns:
            c.close()
    assert s.alive()
    assert s.stop() == 0
