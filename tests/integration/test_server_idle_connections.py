"""10,000 idle connections to eventmesh-server, each past its hello.

Reports the server's resident memory per connection and checks the
server still serves a new client promptly. Raises RLIMIT_NOFILE for this
process and the server it starts.
"""
import os
import re
import resource
import select
import socket
import struct
import subprocess
import tempfile
import time

import pytest

CONNECTIONS = 10000
SERVER = os.environ.get("EVENTMESH_SERVER", "eventmesh-server")


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def text(s):
    return varint(len(s)) + s.encode()


HELLO_BODY = b"EMSH" + varint(1) + varint(1) + text("idle") + text("") * 3
HELLO = struct.pack("<IBBHQ", len(HELLO_BODY), 1, 0, 0, 0) + HELLO_BODY
WELCOME_TYPE = 2


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def start_server(tmp):
    log = open(os.path.join(tmp, "server.log"), "w+")
    proc = subprocess.Popen(
        [SERVER, "--listen", "127.0.0.1:0", "--data", "mem:",
         "--log-level", "warn"], stderr=log,
        env=dict(os.environ,
                 EVENTMESH_MAX_CONNECTIONS=str(CONNECTIONS + 100),
                 EVENTMESH_HTTP_LISTEN="127.0.0.1:0"))
    deadline = time.time() + 20
    while time.time() < deadline:
        log.seek(0)
        m = re.search(r"listening tcp (\S+)", log.read())
        if m:
            host, port = m.group(1).rsplit(":", 1)
            return proc, (host, int(port))
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("server did not start")


def read_welcome(sock):
    header = b""
    while len(header) < 16:
        chunk = sock.recv(16 - len(header))
        assert chunk, "server closed the connection"
        header += chunk
    length, kind = struct.unpack("<IB", header[:5])
    body = b""
    while len(body) < length:
        body += sock.recv(length - len(body))
    return kind


def test_ten_thousand_idle_connections():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < CONNECTIONS + 200:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} is below "
                    f"{CONNECTIONS + 200}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with tempfile.TemporaryDirectory() as tmp:
        proc, addr = start_server(tmp)
        socks = []
        try:
            time.sleep(0.2)
            before = rss_kib(proc.pid)
            # Connect and say hello in waves, then collect the welcomes.
            for start in range(0, CONNECTIONS, 500):
                wave = []
                for _ in range(500):
                    s = socket.create_connection(addr, timeout=10)
                    s.sendall(HELLO)
                    wave.append(s)
                for s in wave:
                    assert read_welcome(s) == WELCOME_TYPE
                socks.extend(wave)
            time.sleep(0.5)
            after = rss_kib(proc.pid)
            per_connection = (after - before) * 1024 / CONNECTIONS
            print(f"\n{CONNECTIONS} idle connections: server RSS "
                  f"{before} KiB -> {after} KiB, "
                  f"{per_connection:.0f} bytes per connection")

            # A new client is still served at once.
            t0 = time.time()
            s = socket.create_connection(addr, timeout=5)
            s.sendall(HELLO)
            assert read_welcome(s) == WELCOME_TYPE
            s.close()
            assert time.time() - t0 < 2
            assert per_connection < 16 * 1024
            assert proc.poll() is None
        finally:
            for s in socks:
                s.close()
            proc.terminate()
            assert proc.wait(timeout=30) == 0
