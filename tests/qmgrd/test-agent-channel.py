#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# qmgrd's end of the guest channel against a hostile guest, with libvirt's
# test driver (test:///default) standing in for QEMU and a fake agent
# listening where QEMU would (fake_agent.py): a guest that reports in is
# Running; a guest that then writes garbage loses its channel; the qube is
# marked; qmgrd keeps serving everyone else.  TAP output.
#
#   test-agent-channel.py BUILD_DIR
import json
import sys
import time

from fake_agent import HELLO, Tap, TestQmgrd, frame, gv_hello, read_frame

tap = Tap()
ok = tap.ok
q = TestQmgrd(sys.argv[1], "qmgr-chan.")


def state(name):
    r = q.qvm("qvm-ls", "--raw-list", "--running")
    return "Running" if name in r.stdout.split() else "other"


try:
    q.wait_ready()
    ok(q.qvm("qvm-create", "work").returncode == 0, "qvm-create work")

    start, srv, guest = q.start_with_fake_agent("work")
    m = read_frame(guest)
    ok(m is not None and m[0] == HELLO, "qmgrd says HELLO first", m)
    guest.sendall(frame(HELLO, gv_hello(1, "fake-agent")))
    out, _ = start.communicate(timeout=30)
    ok(start.returncode == 0, "qvm-start returns once the agent said HELLO",
       out)
    ok(state("work") == "Running", "work is Running")

    # Garbage on the channel: qmgrd drops it (the guest sees EOF) ...
    guest.sendall(b"\xde\xad\xbe\xef" * 8)
    guest.settimeout(10)
    try:
        eof = guest.recv(1) == b""
    except OSError:
        eof = True
    ok(eof, "qmgrd drops the channel of a guest that writes garbage")
    time.sleep(0.5)
    logtext = q.log_text()
    ok("work: agent channel dropped: agent of work: bad magic" in logtext,
       "the drop is logged with the reason", logtext[-2000:])
    # ... and keeps serving: other calls work, the daemon is alive.
    ok(q.proc.poll() is None, "qmgrd is still running")
    ok(q.qvm("qvm-create", "other").returncode == 0,
       "qmgrd still serves other requests")
    ok(state("work") == "Running", "the qube itself is left running")
    vms = {v["name"]: v
           for v in json.loads(q.qvm("qvm-ls", "--json").stdout)}
    ok(vms["work"]["detail"].startswith("agent channel dropped: "),
       "the qube is marked (qvm-ls --json detail)", vms["work"])
    guest.close()
    srv.close()
finally:
    q.stop(tap, kill=("work",))

tap.finish()
