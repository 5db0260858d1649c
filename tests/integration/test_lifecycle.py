"""Signals: SIGTERM shuts down cleanly, SIGHUP re-reads the config, SIGUSR1
writes counters to the log."""
import os
import signal
import time

from conftest import Server, deadline, options_request, udp_request


def wait_log(server, text, seconds=5):
    end = deadline(seconds)
    while time.monotonic() < end:
        if text in server.log_text():
            return True
        time.sleep(0.05)
    return False


def test_sigterm_exits_zero(workdir):
    s = Server(workdir).start()
    assert s.stop() == 0


def test_sighup_rereads_config(workdir):
    s = Server(workdir).start()
    with open(s.config, "a") as f:
        f.write("\n")
    s.signal(signal.SIGHUP)
    assert wait_log(s, "reload"), s.log_text()
    assert s.alive()
    assert s.stop() == 0


def test_sighup_with_broken_config_keeps_running(workdir):
    s = Server(workdir).start()
    with open(s.config, "a") as f:
        f.write("bogus_key: 1\n")
    s.signal(signal.SIGHUP)
    assert wait_log(s, "bogus_key"), s.log_text()
    assert s.alive()
    assert s.stop() == 0


def test_sigusr1_dumps_counters(workdir):
    s = Server(workdir).start()
    s.signal(signal.SIGUSR1)
    assert wait_log(s, "sip_rx"), s.log_text()
    assert s.stop() == 0


def test_listen_port_in_use_fails_start(workdir):
    a = Server(workdir).start()
    other = os.path.join(workdir, "second")
    os.mkdir(other)
    b = Server(other, listen=[f"udp://127.0.0.1:{a.port}"], check_ready=False).start()
    assert b.proc.wait(timeout=10) != 0
    assert a.stop() == 0


def test_sighup_applies_server_name_and_reports_restart_only_settings(workdir):
    s = Server(workdir).start()
    r = udp_request(s.port, options_request(s.port))
    assert r.header("server") == "sipwarden"
    text = open(s.config).read().replace("workers: 1", "workers: 2")
    with open(s.config, "w") as f:
        f.write(text + "server:\n  name: edge-7\n")
    s.signal(signal.SIGHUP)
    assert wait_log(s, "workers changed"), s.log_text()
    end = deadline(5)
    name = None
    while time.monotonic() < end and name != "edge-7":
        name = udp_request(s.port, options_request(s.port)).header("server")
    assert name == "edge-7"
    assert s.stop() == 0
