#!/usr/bin/env python3
# qmgrd's end of the guest channel against a hostile guest, with libvirt's
# test driver (test:///default) standing in for QEMU and a fake agent
# listening where QEMU would: a guest that reports in is Running; a guest
# that then writes garbage loses its channel; the qube is marked; qmgrd
# keeps serving everyone else.  TAP output.
#
#   test-agent-channel.py BUILD_DIR
import os, socket, struct, subprocess, sys, tempfile, time

B = sys.argv[1]
MAGIC = 0x31474D51
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


def frame(msg_type, payload):
    return struct.pack("<IHHII", MAGIC, msg_type, 0, 0, len(payload)) + payload


# HELLO is the GVariant (us): a little-endian u32, then the string.
HELLO = frame(1, struct.pack("<I", 1) + b"fake-agent\0")


def read_frame(conn):
    head = b""
    while len(head) < 16:
        chunk = conn.recv(16 - len(head))
        if not chunk:
            return None
        head += chunk
    magic, msg_type, flags, stream, length = struct.unpack("<IHHII", head)
    body = b""
    while len(body) < length:
        body += conn.recv(length - len(body))
    return msg_type


tmp = tempfile.mkdtemp(prefix="qmgr-chan.")
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
env = dict(os.environ, QMGR_ROOT=root,
           PATH=os.path.join(B, "qvm-tools") + ":" + os.environ["PATH"])
log = open(os.path.join(tmp, "qmgrd.log"), "w")
qmgrd = subprocess.Popen(
    [os.path.join(B, "qmgrd", "qmgrd"), "--root", root, "--libvirt-uri",
     "test:///default", "--template-dir", os.path.join(tmp, "templates"),
     "--start-timeout", "20"], stdout=log, stderr=subprocess.STDOUT)


def qvm(*args):
    return subprocess.run(list(args), env=env, capture_output=True, text=True)


def state(name):
    r = qvm("qvm-ls", "--raw-list", "--running")
    return "Running" if name in r.stdout.split() else "other"


try:
    for _ in range(200):
        if "default-dvm" in qvm("qvm-ls", "--raw-list").stdout.split():
            break
        time.sleep(0.1)
    ok(qvm("qvm-create", "work").returncode == 0, "qvm-create work")

    sock_path = os.path.join(root, "run/qmgr/vms/work/agent.sock")
    start = subprocess.Popen(["qvm-start", "work"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    # Listen where QEMU would, once qmgrd has cleared the path.
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
    ok(read_frame(guest) == 1, "qmgrd says HELLO first")
    guest.sendall(HELLO)
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
    logtext = open(os.path.join(tmp, "qmgrd.log")).read()
    ok("work: agent channel dropped: agent of work: bad magic" in logtext,
       "the drop is logged with the reason", logtext[-2000:])
    # ... and keeps serving: other calls work, the daemon is alive.
    ok(qmgrd.poll() is None, "qmgrd is still running")
    ok(qvm("qvm-create", "other").returncode == 0,
       "qmgrd still serves other requests")
    ok(state("work") == "Running", "the qube itself is left running")
    import json
    vms = {v["name"]: v for v in json.loads(qvm("qvm-ls", "--json").stdout)}
    ok(vms["work"]["detail"].startswith("agent channel dropped: "),
       "the qube is marked (qvm-ls --json detail)", vms["work"])
    guest.close()
    srv.close()
finally:
    qvm("qvm-kill", "work")
    qmgrd.terminate()
    qmgrd.wait(timeout=10)
    log.close()
    subprocess.run(["rm", "-rf", tmp])

print(f"1..{n}")
sys.exit(1 if fails else 0)
