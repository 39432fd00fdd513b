"""One demo per data folder, a busy port found before seeding, and operator commands next to a
running demo (and only a running one) using its settings."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import pytest

from bot.commands import demo_guard
from bot.commands.demo_guard import DemoLock, DemoRefused, check_port, use_running_demo, write_env


def test_a_second_lock_on_the_same_folder_is_refused_naming_the_holder(tmp_path):
    first = DemoLock(tmp_path)
    first.acquire()
    try:
        with pytest.raises(DemoRefused) as refused:
            DemoLock(tmp_path).acquire()
        assert f"进程 {os.getpid()}" in str(refused.value) and f"pid {os.getpid()}" in str(refused.value)
        assert demo_guard.held_by_live_demo(tmp_path)
    finally:
        first.release()
    assert not demo_guard.held_by_live_demo(tmp_path)
    again = DemoLock(tmp_path)  # released: the next demo may start
    again.acquire()
    again.release()


def test_a_lock_held_by_a_process_that_died_does_not_block(tmp_path):
    script = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from bot.commands.demo_guard import DemoLock
        DemoLock(Path({str(tmp_path)!r})).acquire()
        os._exit(0)  # no release: the kernel drops the flock with the process
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert (tmp_path / "demo.lock").read_text().strip().isdigit()  # the dead process's pid is left
    lock = DemoLock(tmp_path)
    lock.acquire()
    lock.release()


def test_a_port_someone_listens_on_is_refused_and_a_free_one_passes():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(DemoRefused) as refused:
            check_port("127.0.0.1", port)
        assert f"端口 {port} 已被占用" in str(refused.value) and f"--port {port + 1}" in str(refused.value)
    check_port("127.0.0.1", port)  # closed again: free


def test_commands_use_the_demo_settings_only_while_it_runs(tmp_path, monkeypatch):
    for key in ("JIUBOT_CORE_URL", "JIUBOT_CORE_API_KEY", "JIUBOT_REDIS_PREFIX"):
        monkeypatch.setenv(key, "")  # recorded, so whatever the test sets is undone afterwards
        monkeypatch.delenv(key)
    values = {
        "JIUBOT_CORE_URL": "http://127.0.0.1:9/refcore",
        "JIUBOT_CORE_API_KEY": "k",
        "JIUBOT_REDIS_PREFIX": "p:demo-1:",
    }
    path = write_env(tmp_path, values)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert use_running_demo("store", tmp_path) is False  # no demo holds the folder: a stale file
    assert "JIUBOT_CORE_URL" not in os.environ

    lock = DemoLock(tmp_path)
    lock.acquire()
    try:
        assert use_running_demo("serve", tmp_path) is False  # servers never pick it up
        monkeypatch.setenv("JIUBOT_CORE_API_KEY", "mine")
        monkeypatch.setenv("JIUBOT_REDIS_PREFIX", "p:")
        assert use_running_demo("store", tmp_path) is True
        assert os.environ["JIUBOT_CORE_URL"] == "http://127.0.0.1:9/refcore"
        assert os.environ["JIUBOT_CORE_API_KEY"] == "mine"  # the shell's own setting wins
        assert os.environ["JIUBOT_REDIS_PREFIX"] == "p:demo-1:"  # except the demo's derived prefix
    finally:
        lock.release()
