"""Config errors stop start-up with file:line and exit status 2."""
import os
import subprocess

from conftest import BINARY, ROOT, MULT


def run(args, cwd=None):
    return subprocess.run([BINARY] + args, capture_output=True, text=True, cwd=cwd,
                          timeout=20 * MULT)


def test_shipped_config_checks_ok():
    r = run(["--check-config", os.path.join(ROOT, "etc", "sipwarden.yaml")])
    assert r.returncode == 0, r.stderr


def test_example_configs_check_ok():
    ex = os.path.join(ROOT, "etc", "examples")
    if os.path.isdir(ex):
        for f in sorted(os.listdir(ex)):
            if f.endswith(".yaml") and f != "users.yaml":
                r = run(["--check-config", os.path.join(ex, f)])
                assert r.returncode == 0, f + ": " + r.stderr


def test_unknown_key_gives_file_line_and_exit_2(workdir):
    path = os.path.join(workdir, "bad.yaml")
    with open(path, "w") as f:
        f.write("listen:\n  - udp://127.0.0.1:5060\nworkers: 1\nlimits:\n  max_headerz: 10\n")
    r = run(["--check-config", path])
    assert r.returncode == 2
    assert f"{path}:5:" in r.stderr and "max_headerz" in r.stderr


def test_bad_value_gives_file_line_and_exit_2(workdir):
    path = os.path.join(workdir, "bad.yaml")
    with open(path, "w") as f:
        f.write("listen:\n  - udp://127.0.0.1:99999\n")
    r = run(["--check-config", path])
    assert r.returncode == 2
    assert f"{path}:2:" in r.stderr


def test_yaml_syntax_error_gives_file_line_and_exit_2(workdir):
    path = os.path.join(workdir, "bad.yaml")
    with open(path, "w") as f:
        f.write("listen: [udp://127.0.0.1:5060\nworkers: 1\n")
    r = run(["--check-config", path])
    assert r.returncode == 2
    assert f"{path}:" in r.stderr


def test_bad_config_stops_start_before_any_socket(workdir):
    path = os.path.join(workdir, "bad.yaml")
    with open(path, "w") as f:
        f.write("listen:\n  - udp://127.0.0.1:5060\nlog:\n  level: loud\n")
    r = run(["-c", path])
    assert r.returncode == 2
    assert f"{path}:4:" in r.stderr


def test_missing_config_file_exits_2(workdir):
    r = run(["-c", os.path.join(workdir, "nope.yaml")])
    assert r.returncode == 2
