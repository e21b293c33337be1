#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Drives qmgr-agent on the host, over a unix socket instead of its
virtio-serial port (--device SOCKET --no-poweroff), playing qmgrd's part:
the agent must say HELLO first (protocol version 3), keep a channel whose
host speaks version 1, 2 or later, power off (here: exit 0) on SHUTDOWN, and
drop and reopen a channel on which the host breaks the protocol.  Streams
(EXEC and the rest of version 2) are tested by agent-exec-test.py.

    agent-channel-test.py QMGR_AGENT
"""
import os
import socket
import struct
import subprocess
import sys
import tempfile

MAGIC = 0x31474D51  # "QMG1"
HELLO, REQUEST, SHUTDOWN = 1, 2, 5
AGENT_VERSION = 3
TIMEOUT = 10


def frame(msg_type, payload, magic=MAGIC, stream=0):
    return struct.pack("<IHHII", magic, msg_type, 0, stream,
                       len(payload)) + payload


def hello(version=1, software=b"agent-channel-test"):
    # GVariant "(us)": the u, then the string and its NUL (the last member
    # needs no framing offset).
    return frame(HELLO, struct.pack("<I", version) + software + b"\0")


def shutdown():
    return frame(SHUTDOWN, b"\0")  # the unit tuple "()" is one zero byte


def request():
    # A well-formed admin REQUEST "(ussa{sv})": (1, "x", "y", {}).  The two
    # strings are not last, so their end offsets follow, last first.
    return frame(REQUEST, struct.pack("<I", 1) + b"x\0y\0" + bytes([8, 6]))


def recv_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError(f"connection closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def expect_hello(conn):
    magic, msg_type, flags, stream, length = struct.unpack(
        "<IHHII", recv_exact(conn, 16))
    assert magic == MAGIC, f"bad magic {magic:#x}"
    assert (msg_type, flags, stream) == (HELLO, 0, 0), \
        f"first message is type {msg_type} flags {flags} stream {stream}"
    payload = recv_exact(conn, length)
    version, = struct.unpack("<I", payload[:4])
    software = payload[4:].rstrip(b"\0").decode()
    assert version == AGENT_VERSION and software.startswith("qmgr-agent "), \
        payload
    return version, software


def expect_closed(conn):
    try:
        while conn.recv(4096):
            pass
    except ConnectionResetError:
        pass


def expect_open(conn, seconds=0.3):
    conn.settimeout(seconds)
    try:
        data = conn.recv(4096)
        raise AssertionError(f"the agent sent {data!r} or closed")
    except socket.timeout:
        pass
    finally:
        conn.settimeout(TIMEOUT)


def main():
    agent = sys.argv[1]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "agent.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(4)
        listener.settimeout(TIMEOUT)
        proc = subprocess.Popen([agent, "--device", path, "--no-poweroff"])

        def accept():
            conn, _ = listener.accept()
            conn.settimeout(TIMEOUT)
            return conn

        cases = [
            ("test_agent_drops_host_with_bad_magic",
             lambda c: c.sendall(frame(HELLO, b"\0" * 5, magic=0xDEADBEEF))),
            ("test_agent_drops_host_skipping_hello",
             lambda c: c.sendall(shutdown())),
            ("test_agent_drops_host_sending_second_hello",
             lambda c: c.sendall(hello() + hello())),
            ("test_agent_drops_host_sending_request",
             lambda c: c.sendall(hello() + request())),
            ("test_agent_drops_host_speaking_version_0",
             lambda c: c.sendall(hello(version=0))),
        ]
        try:
            for name, misbehave in cases:
                conn = accept()
                expect_hello(conn)
                misbehave(conn)
                expect_closed(conn)
                conn.close()
                print(f"ok - {name}")
            # Older and newer hosts: the channel speaks the lower version.
            for v in (1, 2, 3, 4):
                conn = accept()
                expect_hello(conn)
                conn.sendall(hello(version=v))
                expect_open(conn)
                conn.close()
                print(f"ok - test_agent_keeps_host_speaking_version_{v}")
            # The agent reopened its channel after each of those.
            conn = accept()
            version, software = expect_hello(conn)
            conn.sendall(hello(version=2) + shutdown())
            rc = proc.wait(TIMEOUT)
            assert rc == 0, f"agent exited with {rc}"
            print(f"ok - test_agent_hello_then_shutdown ({software}, "
                  f"protocol {version})")
        except (AssertionError, EOFError, OSError,
                subprocess.TimeoutExpired) as e:
            print(f"not ok - {e!r}")
            failures += 1
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
