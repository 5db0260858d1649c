"""A real phone: two baresip instances register with digest authentication
through sipwarden, alice calls bob (location routing), bob answers
automatically, alice hangs up. Signalling is what is checked; media flows
directly between the two on loopback (a short silent WAV, no sound card).

baresip 1.0 (Debian 12) computes MD5 digests only, and gives up on a
challenge set whose first entry is SHA-256 ("Function not implemented"),
so the server offers MD5 alone here."""
import json
import os
import re
import shutil
import socket
import subprocess
import time
import wave

import pytest

from conftest import MULT, deadline, free_port, stop_process
from test_registrar import USERS, make_server

BARESIP = shutil.which("baresip")
pytestmark = pytest.mark.skipif(BARESIP is None, reason="baresip not installed (scripts/deps.sh)")


def port_pair():
    """A port p with p and p+1 free for UDP and TCP (baresip listens on
    SIP port + 1 for TLS)."""
    for _ in range(50):
        p = free_port(high=59000)
        try:
            with socket.socket() as a, socket.socket() as b, \
                    socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
                a.bind(("127.0.0.1", p))
                b.bind(("127.0.0.1", p + 1))
                c.bind(("127.0.0.1", p + 1))
            return p
        except OSError:
            continue
    raise RuntimeError("no free port pair")


class Phone:
    def __init__(self, workdir, user, proxy_port, wav):
        self.user = user
        self.dir = os.path.join(workdir, user)
        os.makedirs(self.dir)
        self.sip_port = port_pair()
        self.ctrl_port = free_port()
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write(f"sip_listen 127.0.0.1:{self.sip_port}\n"
                    f"audio_source aufile,{wav}\n"
                    f"audio_alert aufile,{wav}\n"
                    "audio_player aufile,/dev/null\n"
                    "module_path /usr/lib/baresip/modules\n"
                    "module g711.so\nmodule aufile.so\n"
                    "module_app account.so\nmodule_app menu.so\nmodule_app ctrl_tcp.so\n"
                    f"ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}\n")
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write(f"<sip:{user}@example.com;transport=udp>;auth_pass={USERS[user]};"
                    f"outbound=\"sip:127.0.0.1:{proxy_port}\";regint=600;answermode=auto\n")
        self.log = os.path.join(self.dir, "baresip.log")
        self.proc = None

    def start(self):
        self.logf = open(self.log, "wb")
        # -n: bind to loopback (the test namespace has no other interface);
        # -t: a hard bound on its life; stdbuf: line-buffered log to poll.
        self.proc = subprocess.Popen(
            ["stdbuf", "-oL", "-eL", BARESIP, "-n", "127.0.0.1", "-f", self.dir,
             "-t", str(int(60 * MULT))],
            stdout=self.logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self

    def text(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_for(self, pattern, timeout=10):
        end = deadline(timeout)
        while time.monotonic() < end:
            if re.search(pattern, self.text()):
                return True
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        return False

    def command(self, cmd, params=""):
        """A ctrl_tcp command (a netstring holding JSON)."""
        msg = json.dumps({"command": cmd, "params": params, "token": "t"}).encode()
        end = deadline(5)
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=2) as s:
                    s.sendall(str(len(msg)).encode() + b":" + msg + b",")
                    s.settimeout(2 * MULT)
                    try:
                        s.recv(4096)  # the command's answer
                    except socket.timeout:
                        pass
                return
            except ConnectionRefusedError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.05)

    def stop(self):
        stop_process(self.proc)
        if self.proc is not None:
            self.logf.close()


def test_baresip_registers_and_calls_another_baresip_through_sipwarden(workdir):
    wav = os.path.join(workdir, "silence.wav")
    with wave.open(wav, "wb") as w:  # 8 kHz like PCMU; long enough to outlast the test
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 8000 * 60)
    srv = make_server(workdir, algorithms="[MD5]").start()
    phones = []
    try:
        bob = Phone(workdir, "bob", srv.port, wav).start()
        phones.append(bob)
        assert bob.wait_for(r"bob@example\.com: \{0/UDP/v4\} 200 OK"), bob.text()[-3000:]
        alice = Phone(workdir, "alice", srv.port, wav).start()
        phones.append(alice)
        assert alice.wait_for(r"alice@example\.com: \{0/UDP/v4\} 200 OK"), alice.text()[-3000:]

        alice.command("dial", "sip:bob@example.com")
        assert alice.wait_for(r"Call established: sip:bob@example\.com"), \
            alice.text()[-3000:] + srv.log_text()[-2000:]
        assert bob.wait_for(r"Call established: sip:alice@example\.com"), bob.text()[-3000:]

        alice.command("hangup")
        assert alice.wait_for(r"terminate call"), alice.text()[-3000:]
        # The BYE follows the Record-Route through sipwarden to bob, whose
        # session ends with ECONNRESET, libre's way of saying "BYE received".
        assert bob.wait_for(r"sip:alice@example\.com: session closed: Connection reset by peer"), \
            bob.text()[-3000:]
    finally:
        for p in phones:
            p.stop()
        assert srv.stop() == 0
