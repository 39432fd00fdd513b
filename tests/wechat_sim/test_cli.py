"""``jiubot sim`` from the console script: serves WeChat's API, saves its state on Ctrl-C."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from wechat_sim.cli import build_config, register

JIUBOT = Path(sys.executable).with_name("jiubot")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def test_jiubot_sim_serves_and_saves_state_on_interrupt(tmp_path):
    port, state = free_port(), tmp_path / "sim.json"
    aes = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    proc = subprocess.Popen(
        [str(JIUBOT), "sim", "--port", str(port), "--state", str(state),
         "--app", f"wxclioa000000001:s3cret:tok123:{aes}:safe:http://127.0.0.1:9/wechat/x",
         "--mp", "wxclimp000000001:s3cret", "--group", "brand"],
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                token = get_json(f"{base}/cgi-bin/token?grant_type=client_credential&appid=wxclioa000000001"
                                 "&secret=s3cret")  # fmt: skip
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(
                "jiubot sim did not start: " + (proc.stderr.read() if proc.poll() is not None else "")
            )
        assert "access_token" in token
        apps = {a["appid"]: a for a in get_json(f"{base}/_sim/api/state")["apps"]}
        assert apps["wxclioa000000001"]["mode"] == "safe" and apps["wxclimp000000001"]["kind"] == "mp"
        assert apps["wxclimp000000001"]["group"] == "brand"
        with urllib.request.urlopen(f"{base}/_sim/console", timeout=5) as resp:
            assert "微信模拟器" in resp.read().decode()
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert f"{base}/_sim/console" in err
    saved = json.loads(state.read_text())
    assert set(saved["state"]["apps"]) == {"wxclioa000000001", "wxclimp000000001"}


def test_bad_app_specs_are_refused_with_the_reason():
    import argparse

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["sim", "--app", "wxonly"])
    with pytest.raises(ValueError, match="APPID:SECRET"):
        build_config(args)
    args = parser.parse_args(["sim", "--app", "wx:sec:tok:short:safe"])
    with pytest.raises(ValueError, match="43 characters"):
        build_config(args)
