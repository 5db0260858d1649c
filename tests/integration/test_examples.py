"""The shipped examples start for real and do what their comments say
(test_config.py only checks that they parse)."""
import os
import re
import shutil

from conftest import ROOT, Server
from test_registrar import Client, USERS

EXAMPLES = os.path.join(ROOT, "etc", "examples")


def start_example(workdir, name):
    """Copies etc/examples/NAME and its users file into workdir, with the
    listen port replaced by a free one and the store kept in workdir."""
    s = Server(workdir)
    with open(os.path.join(EXAMPLES, name)) as f:
        text = f.read()
    text = re.sub(r"(udp|tcp)://127\.0\.0\.1:5060", rf"\1://127.0.0.1:{s.port}", text)
    text = re.sub(r"(?m)^store: .*$", "store: sqlite:var/registrar.db", text)
    assert f":{s.port}" in text
    with open(s.config, "w") as f:
        f.write(text)
    shutil.copy(os.path.join(EXAMPLES, "users.yaml"), os.path.join(workdir, "users.yaml"))
    return s.start()


def test_registrar_example_registers_alice_with_the_documented_password(workdir):
    s = start_example(workdir, "registrar.yaml")
    try:
        # The example's comment documents alice/wonderland and bob/builder,
        # the same demo credentials test_registrar.py uses.
        assert USERS == {"alice": "wonderland", "bob": "builder"}
        for user, algo in (("alice", "SHA-256"), ("bob", "MD5")):
            c = Client(s, user=user)
            r = c.register(algo=algo)
            assert r is not None and r.code == 200, (r, s.log_text()[-2000:])
            assert any(f"{c.ip}:{c.port}" in v for v in r.all("contact"))
            c.close()
        wrong = Client(s, user="alice", ip="127.0.0.2")
        r = wrong.register(password="not-the-password")
        assert r is not None and r.code in (401, 403)
        wrong.close()
        assert os.path.exists(os.path.join(workdir, "var", "registrar.db"))
    finally:
        assert s.stop() == 0
