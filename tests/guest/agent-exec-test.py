#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Drives qmgr-agent's streams on the host (--device SOCKET --no-poweroff),
playing qmgrd's part of protocol version 2: EXEC runs `/bin/sh -c COMMAND`
as a user, its stdio travels as DATA/EOF under per-(stream, fd) credit,
EXIT ends it, CLOSE (or the channel going away) kills it, and a host that
breaks the rules of streams loses its channel.  Every message the agent
sends is checked: DATA never beyond the credit the test granted, nothing
after EOF on that fd, EXIT only after EOF of stdout and stderr.

    agent-exec-test.py QMGR_AGENT

Run as root (as CI does), the commands run as "nobody"; otherwise as the
user running the test.
"""
import os
import pwd
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

MAGIC = 0x31474D51  # "QMG1"
HELLO, SHUTDOWN = 1, 5
EXEC, DATA, EOF, EXIT, WINDOW, CLOSE = 6, 7, 8, 9, 10, 11
DATA_MAX = 64 << 10
WINDOW_INITIAL = 256 << 10
STREAMS_MAX = 64
PASS_IO = 1
TIMEOUT = 20

# --- GVariant payloads, hand-encoded (normal form) -------------------------


def offset_size(body_len, n_offsets):
    """Framing offsets are as wide as the whole container needs."""
    for k in (1, 2, 4, 8):
        if body_len + n_offsets * k < (1 << (8 * k)):
            return k
    raise ValueError(body_len)


def enc_exec(user, command, flags):
    # "(ssu)": strings are byte-aligned, u 4-aligned; the end offsets of
    # both strings follow, last first.
    body = user + b"\0"
    end_user = len(body)
    body += command + b"\0"
    end_command = len(body)
    body += b"\0" * (-len(body) % 4) + struct.pack("<I", flags)
    k = offset_size(len(body), 2)
    return (body + end_command.to_bytes(k, "little") +
            end_user.to_bytes(k, "little"))


def enc_data(fd, data):
    return struct.pack("<I", fd) + data  # "(uay)": ay last, no offset


def enc_u(value):
    return struct.pack("<I", value)


def enc_window(fd, n):
    return struct.pack("<II", fd, n)


def enc_s(text):
    return text + b"\0"


def frame(msg_type, payload, stream=0):
    return struct.pack("<IHHII", MAGIC, msg_type, 0, stream,
                       len(payload)) + payload


def hello(version=2):
    return frame(HELLO, struct.pack("<I", version) + b"agent-exec-test\0")


class Closed(Exception):
    pass


class Host:
    """qmgrd's end of one channel."""

    def __init__(self, conn):
        self.conn = conn
        self.buf = b""

    def send(self, msg_type, stream, payload):
        self.conn.sendall(frame(msg_type, payload, stream))

    def exec(self, stream, command, user, flags=PASS_IO):
        self.send(EXEC, stream, enc_exec(user.encode(), command.encode(),
                                         flags))

    def recv(self, timeout=TIMEOUT):
        """The next message (type, stream, payload), or None after timeout
        seconds; raises Closed when the agent closed the channel."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 16:
                magic, t, flags, stream, length = struct.unpack(
                    "<IHHII", self.buf[:16])
                assert magic == MAGIC and flags == 0, self.buf[:16]
                if len(self.buf) >= 16 + length:
                    payload = self.buf[16:16 + length]
                    self.buf = self.buf[16 + length:]
                    return t, stream, payload
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.conn], [], [], left)
            if not r:
                return None
            try:
                chunk = self.conn.recv(1 << 20)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise Closed()
            self.buf += chunk

    def expect_hello(self):
        t, stream, payload = self.recv()
        assert (t, stream) == (HELLO, 0), (t, stream)
        version, = struct.unpack("<I", payload[:4])
        assert version >= 2, f"agent speaks protocol {version}"
        self.send(HELLO, 0, hello()[16:])

    def expect_closed(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.recv(deadline - time.monotonic())
        except Closed:
            return
        raise AssertionError("the agent kept the channel open")


class Stream:
    """One command as the host sees it, with the credit bookkeeping."""

    def __init__(self, host, sid, stdin=None, grant=None):
        self.host = host
        self.id = sid
        self.stdin = stdin          # bytes to send, then EOF; None: none
        self.sent = 0
        self.eof_sent = False
        self.in_credit = WINDOW_INITIAL
        self.credit = {1: WINDOW_INITIAL, 2: WINDOW_INITIAL}
        self.out = {1: bytearray(), 2: bytearray()}
        self.eof = set()
        self.status = None
        self.closed = None
        self.data_messages = 0
        # grant(stream, fd, n): returns how much to grant back now;
        # default: all of it, at once.
        self.grant = grant or (lambda s, fd, n: n)
        self.owed = {1: 0, 2: 0}

    @property
    def done(self):
        return self.status is not None or self.closed is not None

    def send_some(self):
        """Sends stdin within the credit; True if it sent something."""
        if self.stdin is None or self.eof_sent or self.done:
            return False
        if self.sent == len(self.stdin):
            self.host.send(EOF, self.id, enc_u(0))
            self.eof_sent = True
            return True
        n = min(DATA_MAX, self.in_credit, len(self.stdin) - self.sent)
        if n == 0:
            return False
        self.host.send(DATA, self.id,
                       enc_data(0, self.stdin[self.sent:self.sent + n]))
        self.sent += n
        self.in_credit -= n
        return True

    def pay(self, fd):
        n = self.grant(self, fd, self.owed[fd])
        if n:
            self.owed[fd] -= n
            self.credit[fd] += n
            self.host.send(WINDOW, self.id, enc_window(fd, n))

    def handle(self, t, payload):
        assert not self.done, f"stream {self.id}: type {t} after its end"
        if t == DATA:
            fd, = struct.unpack("<I", payload[:4])
            data = payload[4:]
            assert fd in (1, 2), f"DATA for fd {fd}"
            assert fd not in self.eof, f"DATA on fd {fd} after EOF"
            assert 0 < len(data) <= DATA_MAX, len(data)
            assert len(data) <= self.credit[fd], \
                f"stream {self.id} fd {fd}: {len(data)} bytes with a " \
                f"credit of {self.credit[fd]}"
            self.credit[fd] -= len(data)
            self.out[fd] += data
            self.data_messages += 1
            self.owed[fd] += len(data)
            self.pay(fd)
        elif t == EOF:
            fd, = struct.unpack("<I", payload)
            assert fd in (1, 2) and fd not in self.eof, f"EOF fd {fd}"
            self.eof.add(fd)
        elif t == WINDOW:
            fd, n = struct.unpack("<II", payload)
            assert fd == 0, f"WINDOW for fd {fd}"
            self.in_credit += n
            assert self.in_credit <= WINDOW_INITIAL, \
                "the agent granted more than it was sent"
        elif t == EXIT:
            assert self.eof == {1, 2}, f"EXIT before EOF of {self.eof}"
            self.status, = struct.unpack("<i", payload)
        elif t == CLOSE:
            self.closed = payload.rstrip(b"\0").decode()
        else:
            raise AssertionError(f"stream {self.id}: message type {t}")


def drive(host, streams, timeout=TIMEOUT, until=None):
    """Pumps messages until every stream is done (or until())."""
    by_id = {s.id: s for s in streams}
    deadline = time.monotonic() + timeout
    until = until or (lambda: all(s.done for s in streams))
    while not until():
        busy = False
        for s in streams:
            busy |= s.send_some()
        left = deadline - time.monotonic()
        assert left > 0, "timed out: " + ", ".join(
            f"stream {s.id}: status {s.status} eof {s.eof} "
            f"out {len(s.out[1])}+{len(s.out[2])}" for s in streams)
        msg = host.recv(0 if busy else min(left, 0.05))
        if msg is None:
            for s in streams:
                for fd in (1, 2):
                    if s.owed[fd] and not s.done:
                        s.pay(fd)
            continue
        t, sid, payload = msg
        assert sid in by_id, f"message type {t} on stream {sid}"
        by_id[sid].handle(t, payload)


def run(host, sid, command, user, **kw):
    s = Stream(host, sid, **{k: v for k, v in kw.items()
                             if k in ("stdin", "grant")})
    host.exec(sid, command, user, kw.get("flags", PASS_IO))
    drive(host, [s], timeout=kw.get("timeout", TIMEOUT))
    return s


def wait_gone(pid, group, timeout):
    """Seconds until the process (or its group) is gone, or None."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if group:
                os.killpg(pid, 0)
            else:
                os.kill(pid, 0)
        except ProcessLookupError:
            return time.monotonic() - start
        time.sleep(0.02)
    return None


def read_pid(host, sid):
    """Starts nothing: reads the first line of stream sid's stdout."""
    s = Stream(host, sid)
    drive(host, [s], until=lambda: b"\n" in s.out[1] or s.done)
    return int(s.out[1].split(b"\n")[0]), s


# --- cases: each gets a fresh channel ---------------------------------------


def test_exec_echo(host, user):
    s = run(host, 1, "echo hi", user)
    assert bytes(s.out[1]) == b"hi\n" and not s.out[2], s.out
    assert s.status == 0 and s.data_messages == 1


def test_exec_stderr(host, user):
    s = run(host, 7, "echo oops >&2; echo out", user)
    assert bytes(s.out[2]) == b"oops\n" and bytes(s.out[1]) == b"out\n"


def test_exec_exit_status(host, user):
    assert run(host, 1, "exit 3", user).status == 3
    assert run(host, 2, "kill -9 $$", user).status == 128 + 9
    assert run(host, 3, "kill -TERM $$", user).status == 128 + 15


def test_exec_runs_as_the_user_in_a_session(host, user):
    pw = pwd.getpwnam(user)
    s = run(host, 1, 'id -un; id -u; echo "$HOME:$USER:$LOGNAME"; '
            'ps -o sid= -o pgid= -p $$ 2>/dev/null || echo; '
            'echo $$; pwd; id -G', user)
    lines = s.out[1].decode().split("\n")
    assert lines[0] == user and lines[1] == str(pw.pw_uid), lines
    assert lines[2] == f"{pw.pw_dir}:{user}:{user}", lines
    if lines[3].split():
        sid, pgid = lines[3].split()
        assert sid == pgid == lines[4], f"not a session leader: {lines}"
    home = pw.pw_dir if os.path.isdir(pw.pw_dir) else "/"
    assert lines[5] == home, lines
    groups = set(os.getgrouplist(user, pw.pw_gid))
    assert set(map(int, lines[6].split())) == groups, \
        f"groups {lines[6]}, not {groups}"


def test_exec_as_root_only_from_root(host, user):
    s = run(host, 1, "id -u", "root")
    if os.geteuid() == 0:
        assert s.status == 0 and bytes(s.out[1]) == b"0\n", s.out
    else:
        assert s.status == 127 and b"not root" in s.out[2], s.out


def test_exec_unknown_user_exits_127(host, user):
    s = run(host, 1, "echo never", "no-such-user-qmgr")
    assert s.status == 127 and not s.out[1], s.out
    assert b"no-such-user-qmgr" in s.out[2], s.out[2]
    s = run(host, 2, "echo never", "../etc")
    assert s.status == 127 and b"invalid user name" in s.out[2], s.out[2]
    s = run(host, 3, "", user)
    assert s.status == 127, s.status


def test_exec_passes_stdin_through_cat(host, user):
    data = random.Random(1).randbytes(1 << 20)
    s = run(host, 1, "cat", user, stdin=data)
    assert s.status == 0 and bytes(s.out[1]) == data, len(s.out[1])
    assert s.in_credit == WINDOW_INITIAL, "the agent kept stdin credit"


def test_exec_discards_stdin_the_command_does_not_read(host, user):
    data = bytes(2 << 20)
    s = run(host, 1, "head -c 10 >/dev/null; echo read", user, stdin=data)
    assert s.status == 0 and bytes(s.out[1]) == b"read\n", s.out
    # stdin sent after EXIT crossed it: ignored, the channel lives on
    host.send(DATA, 1, enc_data(0, b"late"))
    host.send(EOF, 1, enc_u(0))
    assert bytes(run(host, 2, "echo alive", user).out[1]) == b"alive\n"


def test_exec_large_output_within_credit(host, user):
    rng = random.Random(2)
    stalls = []

    def grant(s, fd, owed):
        # Hold the credit back until the agent has used all of it, then
        # give back an odd amount: the agent must stop and resume.
        if s.credit[fd] > 0:
            return 0
        stalls.append(1)
        time.sleep(0.002)
        return min(owed, rng.randint(1, 300 << 10))

    size = 16 << 20
    s = run(host, 1, f"head -c {size} /dev/zero", user, grant=grant,
            timeout=60)
    assert s.status == 0 and len(s.out[1]) == size, len(s.out[1])
    assert s.out[1].count(0) == size
    assert len(stalls) > 50, f"the agent stalled only {len(stalls)} times"


def test_exec_pauses_without_credit(host, user):
    s = Stream(host, 1, grant=lambda s, fd, n: 0)
    host.exec(1, "head -c 1000000 /dev/zero", user)
    drive(host, [s], until=lambda: s.credit[1] == 0)
    assert host.recv(0.3) is None, "the agent sent beyond its credit"
    s.grant = lambda s, fd, n: n
    s.pay(1)
    drive(host, [s])
    assert s.status == 0 and len(s.out[1]) == 1000000


def test_exec_concurrent_streams(host, user):
    streams = [Stream(host, 100 + i) for i in range(8)]
    start = time.monotonic()
    for i, s in enumerate(streams):
        host.exec(s.id, f"sleep 0.5; echo {i}", user)
    drive(host, streams)
    took = time.monotonic() - start
    for i, s in enumerate(streams):
        assert s.status == 0 and bytes(s.out[1]) == f"{i}\n".encode()
    assert took < 3, f"8 x 0.5 s took {took:.1f} s: not concurrent"


def test_exec_without_pass_io(host, user):
    s = run(host, 1, "echo hidden; echo hidden >&2; exit 4", user, flags=0)
    assert s.status == 4 and not s.out[1] and not s.out[2], s.out


def test_close_kills_the_command(host, user):
    host.exec(1, "echo $$; exec sleep 100", user)
    pid, s = read_pid(host, 1)
    host.send(CLOSE, 1, enc_s(b"test"))
    took = wait_gone(pid, False, 5)
    assert took is not None, f"pid {pid} still runs after CLOSE"
    assert took < 1.5, f"SIGTERM took {took:.1f} s"
    # No EXIT for a closed stream; the channel still works.
    s2 = Stream(host, 2)
    host.exec(2, "echo next", user)
    drive(host, [s2])
    assert bytes(s2.out[1]) == b"next\n"


def test_close_kills_a_group_ignoring_sigterm(host, user):
    host.exec(1, "trap '' TERM; echo $$; sleep 100; sleep 100", user)
    pid, s = read_pid(host, 1)
    host.send(CLOSE, 1, enc_s(b"test"))
    took = wait_gone(pid, True, 6)
    assert took is not None, f"process group {pid} survives CLOSE"
    assert took > 1, f"group gone after {took:.1f} s: SIGTERM was ignored"


def test_disconnect_kills_commands(host, user):
    host.exec(1, "echo $$; exec sleep 100", user)
    pid, s = read_pid(host, 1)
    host.conn.close()
    assert wait_gone(pid, False, 5) is not None, \
        f"pid {pid} survives the channel"


def test_late_window_and_close_are_ignored(host, user):
    run(host, 1, "echo hi", user)
    host.send(WINDOW, 1, enc_window(1, 4096))
    host.send(CLOSE, 1, enc_s(b"crossed"))
    assert bytes(run(host, 2, "echo alive", user).out[1]) == b"alive\n"
    # an ended stream's id may be used again
    assert bytes(run(host, 1, "echo again", user).out[1]) == b"again\n"


def test_too_many_streams_are_closed(host, user):
    for sid in range(1, STREAMS_MAX + 1):
        host.exec(sid, "exec sleep 100", user)
    extra = Stream(host, STREAMS_MAX + 1)
    host.exec(extra.id, "echo never", user)
    drive(host, [extra])
    assert extra.closed == "too many streams", extra.closed
    # late messages for the refused stream do not break the channel
    host.send(WINDOW, extra.id, enc_window(1, 1))
    host.send(CLOSE, 1, enc_s(b"make room"))
    last = run(host, 1000, "echo room", user)
    assert bytes(last.out[1]) == b"room\n", last.out


# Violations: the agent drops the channel (and kills its commands).

def bad_data_on_stdout(host, user):
    host.exec(1, "sleep 10", user)
    host.send(DATA, 1, enc_data(1, b"x"))


def bad_stdin_beyond_credit(host, user):
    host.exec(1, "sleep 10", user)
    for _ in range(8):  # 512 KiB: beyond 256 KiB + what a pipe holds
        host.send(DATA, 1, enc_data(0, bytes(DATA_MAX)))


def bad_exec_on_stream_0(host, user):
    host.exec(0, "echo hi", user)


def bad_duplicate_stream(host, user):
    host.exec(5, "sleep 10", user)
    host.exec(5, "sleep 10", user)


def bad_window_overflow(host, user):
    host.exec(1, "sleep 10", user)
    host.send(WINDOW, 1, enc_window(1, 0xFFFFFFFF))


def bad_window_for_stdin(host, user):
    host.exec(1, "sleep 10", user)
    host.send(WINDOW, 1, enc_window(0, 1))


def bad_data_on_unknown_stream(host, user):
    host.send(DATA, 9, enc_data(0, b"x"))


def bad_exit_from_host(host, user):
    host.exec(1, "sleep 10", user)
    host.send(EXIT, 1, struct.pack("<i", 0))


def bad_exec_flags(host, user):
    host.exec(1, "echo hi", user, flags=0x80)


def bad_data_after_eof(host, user):
    host.exec(1, "sleep 10", user)
    host.send(EOF, 1, enc_u(0))
    host.send(DATA, 1, enc_data(0, b"x"))


CASES = [
    test_exec_echo,
    test_exec_stderr,
    test_exec_exit_status,
    test_exec_runs_as_the_user_in_a_session,
    test_exec_as_root_only_from_root,
    test_exec_unknown_user_exits_127,
    test_exec_passes_stdin_through_cat,
    test_exec_discards_stdin_the_command_does_not_read,
    test_exec_large_output_within_credit,
    test_exec_pauses_without_credit,
    test_exec_concurrent_streams,
    test_exec_without_pass_io,
    test_close_kills_the_command,
    test_close_kills_a_group_ignoring_sigterm,
    test_disconnect_kills_commands,
    test_late_window_and_close_are_ignored,
    test_too_many_streams_are_closed,
]
VIOLATIONS = [
    bad_data_on_stdout,
    bad_stdin_beyond_credit,
    bad_exec_on_stream_0,
    bad_duplicate_stream,
    bad_window_overflow,
    bad_window_for_stdin,
    bad_data_on_unknown_stream,
    bad_exit_from_host,
    bad_exec_flags,
    bad_data_after_eof,
]


def main():
    agent = sys.argv[1]
    user = "nobody" if os.geteuid() == 0 else \
        pwd.getpwuid(os.geteuid()).pw_name
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "agent.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(4)
        listener.settimeout(TIMEOUT)
        proc = subprocess.Popen([agent, "--device", path, "--no-poweroff"])

        def channel():
            conn, _ = listener.accept()
            conn.settimeout(TIMEOUT)
            host = Host(conn)
            host.expect_hello()
            return host

        def case(name, body):
            nonlocal failures
            host = channel()
            try:
                body(host)
                print(f"ok - {name}")
            except (AssertionError, Closed, OSError) as e:
                print(f"not ok - {name}: {e!r}")
                failures += 1
            finally:
                host.conn.close()

        try:
            for test in CASES:
                case(test.__name__, lambda h: test(h, user))
            for bad in VIOLATIONS:
                def body(h):
                    try:
                        bad(h, user)
                    except (BrokenPipeError, ConnectionResetError):
                        return  # dropped before the last message: fine
                    h.expect_closed()
                case("test_agent_drops_host_" + bad.__name__[4:], body)
            # a host speaking protocol 1 has no streams
            conn, _ = listener.accept()
            conn.settimeout(TIMEOUT)
            host = Host(conn)
            host.recv()
            host.send(HELLO, 0, hello(version=1)[16:])
            host.exec(1, "echo hi", user)
            try:
                host.expect_closed()
                print("ok - test_agent_drops_host_exec_on_protocol_1")
            except AssertionError as e:
                print(f"not ok - test_agent_drops_host_exec_on_protocol_1:"
                      f" {e!r}")
                failures += 1
            conn.close()
            host = channel()
            host.send(SHUTDOWN, 0, b"\0")
            rc = proc.wait(TIMEOUT)
            assert rc == 0, f"agent exited with {rc}"
            print("ok - test_agent_exits_after_streams")
        except (AssertionError, EOFError, OSError, Closed,
                subprocess.TimeoutExpired) as e:
            print(f"not ok - {e!r}")
            failures += 1
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
