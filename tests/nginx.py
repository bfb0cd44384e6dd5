"""Run the shipped deploy/nginx.conf in front of local processes (tests only).

``shipped_conf`` rewrites the compose host names and listening ports of deploy/nginx.conf to
local ones; ``running_nginx`` runs Debian's nginx with it in a throw-away prefix directory.
"""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.bridge.harness import ROOT

NGINX = "/usr/sbin/nginx"


def shipped_conf(upstreams: Mapping[str, str], listens: Mapping[int, str]) -> str:
    """Return deploy/nginx.conf with every ``host:port`` of ``upstreams`` replaced by its value
    (e.g. ``{"web:8000": "127.0.0.1:5501"}``) and each ``listen <port>;`` of ``listens`` by
    ``listen <value>;``. Fails when the file no longer names one of them."""
    conf = (ROOT / "deploy/nginx.conf").read_text()
    for old, new in upstreams.items():
        assert f"server {old};" in conf, f"deploy/nginx.conf no longer has an upstream server {old}"
        conf = conf.replace(f"server {old};", f"server {new};")
    for port, address in listens.items():
        assert conf.count(f"listen {port};") == 1, f"deploy/nginx.conf no longer listens on {port} exactly once"
        conf = conf.replace(f"listen {port};", f"listen {address};")
    return conf


@contextmanager
def running_nginx(site: str) -> Iterator[Path]:
    """Run nginx with ``site`` (``server``/``upstream``/``map`` blocks) in its ``http`` block
    until the ``with`` block ends; yield its prefix directory (error.log is there)."""
    assert os.access(NGINX, os.X_OK), "nginx is not installed (make test installs Debian's nginx)"
    work = Path(tempfile.mkdtemp(prefix="sopgov-nginx-"))
    os.chmod(work, 0o755)  # nginx's workers may run as another user when the tests run as root
    for temp in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (work / temp).mkdir(mode=0o777)
        os.chmod(work / temp, 0o777)
    (work / "nginx.conf").write_text(
        f"""
daemon off;
user {getpass.getuser()};
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log info;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
{site}
}}
"""
    )
    checked = subprocess.run([NGINX, "-t", "-p", str(work), "-c", str(work / "nginx.conf")], capture_output=True)
    assert checked.returncode == 0, checked.stderr.decode()
    proxy = subprocess.Popen([NGINX, "-p", str(work), "-c", str(work / "nginx.conf")], stderr=subprocess.DEVNULL)
    try:
        yield work
    finally:
        proxy.terminate()
        proxy.wait(15)
        shutil.rmtree(work, ignore_errors=True)
