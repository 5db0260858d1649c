"""Shared fixtures: start the real sipwarden binary on free loopback ports
with a temporary config and talk SIP to it over real sockets.

Knobs (as in nginx-tests):
  SW_BINARY             binary under test (default build/asan/sipwarden)
  SW_TEST_KEEP=1        keep the temporary directory and logs
  SW_TEST_TIMEOUT_MULT  stretch every deadline (sanitizer builds are slow)
"""
import os
import random
import shutil
import signal
import socket
import string
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("SW_BINARY", os.path.join(ROOT, "build", "asan", "sipwarden"))
MULT = float(os.environ.get("SW_TEST_TIMEOUT_MULT", "1"))
SCENARIOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenarios")


def deadline(seconds):
    return time.monotonic() + seconds * MULT


def free_port(host="127.0.0.1", low=20000, high=60000):
    """A port free for both UDP and TCP on host (bound then released)."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(200):
        port = random.randint(low, high)
        try:
            with socket.socket(fam, socket.SOCK_DGRAM) as u, \
                    socket.socket(fam, socket.SOCK_STREAM) as t:
                u.bind((host, port))
                t.bind((host, port))
                return port
        except OSError:
            continue
    raise RuntimeError("no free port")


def rand_token(n=10):
    return "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(n))


def options_request(port, transport="UDP", local_port=5099, host="127.0.0.1", ruri=None,
                    extra="", rport=True, method="OPTIONS"):
    branch = "z9hG4bK" + rand_token()
    host = f"[{host}]" if ":" in host else host
    ruri = ruri or f"sip:ping@{host}:{port}"
    rp = ";rport" if rport else ""
    return (f"{method} {ruri} SIP/2.0\r\n"
            f"Via: SIP/2.0/{transport} {host}:{local_port};branch={branch}{rp}\r\n"
            f"Max-Forwards: 70\r\n"
            f"From: <sip:test@{host}>;tag={rand_token()}\r\n"
            f"To: <{ruri}>\r\n"
            f"Call-ID: {rand_token(16)}@{host}\r\n"
            f"CSeq: 1 {method}\r\n"
            f"{extra}"
            f"Content-Length: 0\r\n\r\n").encode()


class Response:
    """A parsed SIP response, just enough for assertions."""

    def __init__(self, data):
        self.raw = data
        text = data.decode("utf-8", "replace")
        head, _, self.body = text.partition("\r\n\r\n")
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        assert parts[0] == "SIP/2.0", f"not a SIP response: {lines[0]!r}"
        self.code = int(parts[1])
        self.reason = parts[2] if len(parts) > 2 else ""
        self.headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers.append((name.strip().lower(), value.strip()))

    def header(self, name):
        for n, v in self.headers:
            if n == name.lower():
                return v
        return None

    def all(self, name):
        return [v for n, v in self.headers if n == name.lower()]

    def __repr__(self):
        return f"<Response {self.code} {self.reason}>"


class Server:
    """One sipwarden process with its own config and directory."""

    def __init__(self, tmpdir, workers=1, extra_yaml="", listen=None, check_ready=True,
                 port=None, env=None):
        self.env = env
        self.dir = tmpdir
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.listen = listen or [f"udp://127.0.0.1:{self.port}", f"tcp://127.0.0.1:{self.port}"]
        self.config = os.path.join(tmpdir, "sipwarden.yaml")
        self.log = os.path.join(tmpdir, "sipwarden.log")
        with open(self.config, "w") as f:
            f.write("listen:\n")
            for l in self.listen:
                f.write(f"  - {l}\n")
            f.write(f"workers: {workers}\n")
            f.write("log:\n  level: info\n")
            f.write("store: \"sqlite:var/sipwarden.db\"\n")
            f.write(extra_yaml)
        self.proc = None
        self.logf = None
        self.check_ready = check_ready

    def start(self):
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen([BINARY, "-c", self.config], stdout=self.logf,
                                     stderr=subprocess.STDOUT, cwd=self.dir, env=self.env)
        if self.check_ready:
            end = deadline(10)
            while time.monotonic() < end:
                assert self.proc.poll() is None, f"sipwarden exited: {self.log_text()}"
                r = udp_request(self.port, options_request(self.port), timeout=0.2)
                if r is not None:
                    return self
            raise AssertionError(f"sipwarden did not answer OPTIONS: {self.log_text()}")
        return self

    def alive(self):
        """The process runs and answers OPTIONS over UDP."""
        if self.proc.poll() is not None:
            return False
        end = deadline(3)
        while time.monotonic() < end:
            r = udp_request(self.port, options_request(self.port), timeout=0.3)
            if r is not None and r.code == 200:
                return True
        return False

    def log_text(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        """SIGTERM, wait, and assert a clean exit without sanitizer reports."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10 * MULT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("sipwarden did not exit on SIGTERM")
        self.logf.close()
        rc = self.proc.returncode
        text = self.log_text()
        assert "AddressSanitizer" not in text and "runtime error:" not in text, text[-4000:]
        assert "LeakSanitizer" not in text, text[-4000:]
        return rc

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


def udp_request(port, data, timeout=2.0, host="127.0.0.1", sock=None):
    """Sends one datagram and returns the first Response, or None."""
    own = sock is None
    if own:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                             socket.SOCK_DGRAM)
        sock.bind((host, 0))
    try:
        sock.settimeout(timeout * MULT)
        sock.sendto(data, (host, port))
        while True:
            try:
                reply, _ = sock.recvfrom(65535)
            except socket.timeout:
                return None
            if reply.strip() == b"":
                continue
            r = Response(reply)
            if r.code >= 200 or r.code < 100:
                return r
    finally:
        if own:
            sock.close()


def tcp_exchange(port, data, timeout=2.0, host="127.0.0.1"):
    """Opens a TCP connection, sends data, returns the first final Response or None."""
    with socket.create_connection((host, port), timeout=timeout * MULT) as s:
        s.sendall(data)
        buf = b""
        end = deadline(timeout)
        while time.monotonic() < end:
            try:
                chunk = s.recv(65535)
            except socket.timeout:
                break
            if not chunk:
                break
            buf += chunk
            while b"\r\n\r\n" in buf:
                head, _, rest = buf.partition(b"\r\n\r\n")
                clen = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith((b"content-length:", b"l:")):
                        clen = int(line.split(b":", 1)[1])
                if len(rest) < clen:
                    break
                msg = head + b"\r\n\r\n" + rest[:clen]
                buf = rest[clen:]
                r = Response(msg)
                if r.code >= 200:
                    return r
        return None


def run_sipp(args, timeout=60):
    """Runs sipp with a bounded duration; returns the CompletedProcess."""
    cmd = ["sipp", "-nostdin", "-timeout", f"{int(timeout * MULT)}s", "-timeout_error"] + args
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout * MULT + 30)


def stop_process(proc, grace=5):
    """SIGTERM a peer started by a test, SIGKILL it if it lingers; by PID,
    never by name (other runs may share the machine)."""
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


class Sipp:
    """A sipp peer running in the background (a UAS behind the proxy, or a
    load generator): started with start(), stopped by its PID."""

    def __init__(self, workdir, scenario, port, args=(), transport="u1", name="uas"):
        self.port = port
        self.out = os.path.join(workdir, f"sipp-{name}-{port}.log")
        self.cmd = ["sipp", "-nostdin", "-sf", os.path.join(SCENARIOS, scenario),
                    "-i", "127.0.0.1", "-p", str(port), "-t", transport] + list(args)
        self.kind = socket.SOCK_STREAM if transport.startswith("t") else socket.SOCK_DGRAM
        self.proc = None

    def start(self):
        self.outf = open(self.out, "wb")
        self.proc = subprocess.Popen(self.cmd, stdout=self.outf, stderr=subprocess.STDOUT)
        # sipp binds before it reads anything; give it a moment to listen.
        end = deadline(3)
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                break
            with socket.socket(socket.AF_INET, self.kind) as s:
                try:
                    s.bind(("127.0.0.1", self.port))
                except OSError:
                    return self  # taken: sipp listens
            time.sleep(0.02)
        return self

    def wait(self, timeout=30):
        """Exit status of sipp (0: every call passed), killing it after timeout."""
        try:
            return self.proc.wait(timeout=timeout * MULT)
        except subprocess.TimeoutExpired:
            self.stop()
            return None

    def stop(self):
        stop_process(self.proc)
        if self.proc is not None:
            self.outf.close()

    def log_text(self):
        try:
            with open(self.out, "rb") as f:
                return f.read().decode("utf-8", "replace")[-3000:]
        except OSError:
            return ""


@pytest.fixture
def workdir(request):
    d = tempfile.mkdtemp(prefix="sw-test-")
    yield d
    if os.environ.get("SW_TEST_KEEP") != "1":
        shutil.rmtree(d, ignore_errors=True)
    else:
        print(f"kept {d}")


@pytest.fixture
def server(workdir):
    s = Server(workdir).start()
    yield s
    assert s.stop() == 0


@pytest.fixture
def server2(workdir):
    """Two workers, to exercise SO_REUSEPORT spreading and hand-off."""
    s = Server(workdir, workers=2).start()
    yield s
    assert s.stop() == 0
