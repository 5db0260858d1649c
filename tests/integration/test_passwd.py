"""`sipwarden passwd` writes digest HA1 hashes a user can verify."""
import hashlib
import os
import stat
import subprocess

from conftest import BINARY, MULT


def passwd(path, realm, user, password):
    return subprocess.run([BINARY, "passwd", "--file", path, "--realm", realm, user, password],
                          capture_output=True, text=True, timeout=20 * MULT)


def test_passwd_writes_md5_and_sha256_ha1_and_keeps_other_users(workdir):
    path = os.path.join(workdir, "users.yaml")
    assert passwd(path, "example.com", "alice", "s3cret").returncode == 0
    assert passwd(path, "example.com", "bob", "hunter2").returncode == 0
    assert passwd(path, "example.com", "alice", "n3w").returncode == 0
    text = open(path).read()
    for user, pw in (("alice", "n3w"), ("bob", "hunter2")):
        a1 = f"{user}:example.com:{pw}".encode()
        assert hashlib.md5(a1).hexdigest() in text
        assert hashlib.sha256(a1).hexdigest() in text
    assert "s3cret" not in text and "n3w" not in text
    assert hashlib.md5(b"alice:example.com:s3cret").hexdigest() not in text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_passwd_usage_error_exits_2(workdir):
    r = subprocess.run([BINARY, "passwd", "--file", os.path.join(workdir, "u.yaml"), "alice"],
                       capture_output=True, text=True, timeout=20 * MULT)
    assert r.returncode == 2
