#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# The rpc-denied event (docs/admin-api.md, "Events"): a qube's call refused
# by a deny rule with notify=yes (the default of deny) is told to
# events.Subscribe subscribers with the caller, service, argument and
# target; notify=no and a call no rule matches are not.  qmgrd runs on
# libvirt's test driver with a fake agent where QEMU would listen
# (fake_agent.py, as test-agent-channel.py), which makes the calls; a
# subscriber speaks the admin protocol.  TAP output.
#
#   test-rpc-denied.py BUILD_DIR
import socket
import sys

from fake_agent import (CALL, CLOSE, EVENT, GUEST_STREAM, HELLO, REPLY,
                        REQUEST, Tap, TestQmgrd, frame, gv_hello,
                        gv_request, gv_two_strings, read_frame)

tap = Tap()
ok = tap.ok
q = TestQmgrd(sys.argv[1], "qmgr-denied.", policy=(
    "test.Deny   *  work  @anyvm  deny\n"
    "test.Quiet  *  work  @anyvm  deny notify=no\n"
    "test.Loud   *  work  @anyvm  deny notify=yes\n"))

guest = None
admin = None
stream = GUEST_STREAM


def call(target, service):
    """The fake agent calls; returns the type of qmgrd's first answer."""
    global stream
    stream += 1
    guest.sendall(frame(CALL, gv_two_strings(target, service), stream))
    while True:
        m = read_frame(guest)
        if m is None or m[1] == stream:
            return m and m[0]


def next_denied():
    """The next rpc-denied event: (vm, payload), None if none in 5 s."""
    admin.settimeout(5)
    try:
        while True:
            m = read_frame(admin)
            if m is None:
                return None
            if m[0] == EVENT:
                parts = m[2].split(b"\0")
                if parts[0] == b"rpc-denied":
                    return parts[1].decode(), m[2]
    except socket.timeout:
        return None


try:
    q.wait_ready()
    ok(q.qvm("qvm-create", "work").returncode == 0 and
       q.qvm("qvm-create", "other").returncode == 0,
       "qvm-create work and other")

    admin = socket.socket(socket.AF_UNIX)
    admin.settimeout(10)
    admin.connect(q.admin_socket())
    admin.sendall(frame(HELLO, gv_hello(3, "test-rpc-denied")))
    ok(read_frame(admin)[0] == HELLO, "the subscriber gets qmgrd's HELLO")
    admin.sendall(frame(REQUEST, gv_request(1, "events.Subscribe", "")))
    m = read_frame(admin)
    ok(m is not None and m[0] == REPLY and m[2][4] == 1,
       "events.Subscribe is answered ok", m)

    start, srv, guest = q.start_with_fake_agent("work")
    ok(read_frame(guest)[0] == HELLO, "qmgrd says HELLO to the agent")
    guest.sendall(frame(HELLO, gv_hello(3, "fake-agent")))
    out, _ = start.communicate(timeout=30)
    ok(start.returncode == 0, "work runs (its agent speaks version 3)", out)

    # The qube's first call comes before any command since qmgrd started
    # (test_first_call_before_any_command: run.c made its registry of
    # streams only on the first vm.Run, and such a call went unanswered).
    ok(call("other", "test.Deny+xyz") == CLOSE,
       "a call denied by a deny rule is refused (CLOSE), also as the "
       "first stream since qmgrd started")
    ev = next_denied()
    ok(ev is not None and ev[0] == "work", "rpc-denied comes, vm = the caller",
       ev)
    body = ev[1] if ev else b""
    for key, value in ((b"service", b"test.Deny"), (b"argument", b"+xyz"),
                       (b"target", b"other")):
        ok(key in body and value + b"\0" in body,
           f"with {key.decode()} '{value.decode()}'", body)

    # notify=no, and a call no rule matches: refused without the event.
    # The next event is then the one of the call after them.
    ok(call("other", "test.Quiet") == CLOSE, "a notify=no deny is refused")
    ok(call("other", "test.Unruled+a") == CLOSE,
       "a call no rule matches is refused")
    ok(call("other", "test.Loud") == CLOSE, "a notify=yes deny is refused")
    ev = next_denied()
    ok(ev is not None and b"test.Loud\0" in ev[1],
       "only the notify=yes deny sent rpc-denied (not notify=no, not the "
       "unruled call)", ev)
    ok(b"+\0" in (ev[1] if ev else b""), "no argument is '+'", ev)
    ok(q.proc.poll() is None, "qmgrd is still running")
finally:
    if guest:
        guest.close()
    if admin:
        admin.close()
    q.stop(tap, kill=("work",))

tap.finish()
