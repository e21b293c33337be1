#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# The rpc-denied event (docs/admin-api.md, "Events"): a qube's call refused
# by a deny rule with notify=yes (the default of deny) is told to
# events.Subscribe subscribers with the caller, service, argument and
# target; notify=no and a call no rule matches are not.  qmgrd runs on
# libvirt's test driver with a fake agent where QEMU would listen (as in
# test-agent-channel.py), which makes the calls; a subscriber speaks the
# admin protocol.  TAP output.
#
#   test-rpc-denied.py BUILD_DIR
import os, socket, struct, subprocess, sys, tempfile, time

B = sys.argv[1]
MAGIC = 0x31474D51
HELLO, REQUEST, REPLY, EVENT, CALL, CLOSE = 1, 2, 3, 4, 12, 11
GUEST_STREAM = 0x80000000
n = 0
fails = 0


def ok(cond, name, detail=""):
    global n, fails
    n += 1
    print(("ok" if cond else "not ok") + f" {n} - {name}")
    if not cond:
        fails += 1
        for line in str(detail).splitlines():
            print("# " + line)


def frame(msg_type, payload, stream=0):
    return struct.pack("<IHHII", MAGIC, msg_type, 0, stream,
                       len(payload)) + payload


def read_frame(conn):
    """(type, stream, payload), or None at EOF."""
    head = b""
    while len(head) < 16:
        chunk = conn.recv(16 - len(head))
        if not chunk:
            return None
        head += chunk
    magic, msg_type, flags, stream, length = struct.unpack("<IHHII", head)
    body = b""
    while len(body) < length:
        chunk = conn.recv(length - len(body))
        if not chunk:
            return None
        body += chunk
    return msg_type, stream, body


# GVariant in normal form, by hand for the few shapes needed here.
def gv_hello(version, software):        # (us): the string is last
    return struct.pack("<I", version) + software.encode() + b"\0"


def gv_two_strings(a, b):               # (ss): the end of a framed
    a, b = a.encode() + b"\0", b.encode() + b"\0"
    return a + b + bytes([len(a)])


def gv_request(rid, method, vm):        # (ussa{sv}) with an empty a{sv}
    body = struct.pack("<I", rid) + method.encode() + b"\0"
    end1 = len(body)
    body += vm.encode() + b"\0"
    end2 = len(body)
    body += b"\0" * (-len(body) % 8)    # a{sv} is 8-aligned, empty
    return body + bytes([end2, end1])   # framing offsets, reversed


tmp = tempfile.mkdtemp(prefix="qmgr-denied.")
root = os.path.join(tmp, "root")
tdir = os.path.join(tmp, "templates", "minimal")
os.makedirs(tdir)
for f in ("vmlinux", "initramfs.cpio.gz"):
    open(os.path.join(tdir, f), "wb").write(b"\0" * 512)
subprocess.run(["qemu-img", "create", "-q", "-f", "raw",
                os.path.join(tdir, "root.img"), "1M"], check=True)
open(os.path.join(tdir, "template.conf"), "w").write(
    "[Template]\nname=minimal\nkernel=vmlinux\ninitramfs=initramfs.cpio.gz\n"
    "root=root.img\nkernel_cmdline=console=ttyS0\nmemory=128\nvcpus=1\n")
pdir = os.path.join(root, "etc", "qmgr", "policy.d")
os.makedirs(pdir)
open(os.path.join(pdir, "30-test.policy"), "w").write(
    "test.Deny   *  work  @anyvm  deny\n"
    "test.Quiet  *  work  @anyvm  deny notify=no\n"
    "test.Loud   *  work  @anyvm  deny notify=yes\n")
env = dict(os.environ, QMGR_ROOT=root,
           PATH=os.path.join(B, "qvm-tools") + ":" + os.environ["PATH"])
log = open(os.path.join(tmp, "qmgrd.log"), "w")
qmgrd = subprocess.Popen(
    [os.path.join(B, "qmgrd", "qmgrd"), "--root", root, "--libvirt-uri",
     "test:///default", "--template-dir", os.path.join(tmp, "templates"),
     "--start-timeout", "20"], stdout=log, stderr=subprocess.STDOUT)


def qvm(*args):
    return subprocess.run(list(args), env=env, capture_output=True, text=True)


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
    for _ in range(200):
        if "default-dvm" in qvm("qvm-ls", "--raw-list").stdout.split():
            break
        time.sleep(0.1)
    ok(qvm("qvm-create", "work").returncode == 0 and
       qvm("qvm-create", "other").returncode == 0,
       "qvm-create work and other")

    admin = socket.socket(socket.AF_UNIX)
    admin.settimeout(10)
    admin.connect(os.path.join(root, "run/qmgr/qmgrd.sock"))
    admin.sendall(frame(HELLO, gv_hello(3, "test-rpc-denied")))
    ok(read_frame(admin)[0] == HELLO, "the subscriber gets qmgrd's HELLO")
    admin.sendall(frame(REQUEST, gv_request(1, "events.Subscribe", "")))
    m = read_frame(admin)
    ok(m is not None and m[0] == REPLY and m[2][4] == 1,
       "events.Subscribe is answered ok", m)

    sock_path = os.path.join(root, "run/qmgr/vms/work/agent.sock")
    start = subprocess.Popen(["qvm-start", "work"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    for _ in range(200):
        if os.path.isdir(os.path.dirname(sock_path)) and \
                not os.path.exists(sock_path):
            break
        time.sleep(0.05)
    time.sleep(0.2)
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(sock_path)
    srv.listen(1)
    srv.settimeout(20)
    guest, _ = srv.accept()
    guest.settimeout(20)
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
    ok(qmgrd.poll() is None, "qmgrd is still running")
finally:
    if guest:
        guest.close()
    if admin:
        admin.close()
    qvm("qvm-kill", "work")
    qmgrd.terminate()
    qmgrd.wait(timeout=10)
    log.close()
    if fails:
        print("# qmgrd log:")
        for line in open(os.path.join(tmp, "qmgrd.log")).read().splitlines()[-20:]:
            print("# " + line)
    if not os.environ.get("KEEP"):
        subprocess.run(["rm", "-rf", tmp])
    else:
        print("# kept " + tmp)

print(f"1..{n}")
sys.exit(1 if fails else 0)
