# SPDX-License-Identifier: LGPL-2.1-or-later
# What the Python tests of qmgrd's guest channel share (test-agent-channel.py,
# test-rpc-denied.py): TAP output, the wire protocol's framing
# (common/wire.h) with the few GVariant payloads they send, and a qmgrd on
# libvirt's test driver (test:///default) whose qubes' agents are fakes
# listening where QEMU would.
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

MAGIC = 0x31474D51
HELLO, REQUEST, REPLY, EVENT, CLOSE, CALL = 1, 2, 3, 4, 11, 12
GUEST_STREAM = 0x80000000


class Tap:
    """ok() lines numbered as they come; finish() prints the plan and
    exits 1 when any failed."""

    def __init__(self):
        self.n = 0
        self.fails = 0

    def ok(self, cond, name, detail=""):
        self.n += 1
        print(("ok" if cond else "not ok") + f" {self.n} - {name}")
        if not cond:
            self.fails += 1
            for line in str(detail).splitlines():
                print("# " + line)
        return cond

    def finish(self):
        print(f"1..{self.n}")
        sys.exit(1 if self.fails else 0)


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


class TestQmgrd:
    """A qmgrd of BUILD_DIR in a temporary root, on libvirt's test driver,
    with a fake template ("minimal") and `policy` (text, or None) as
    policy.d/30-test.policy.  stop() ends it and removes the root (kept
    with KEEP=1 in the environment)."""

    def __init__(self, build_dir, prefix, policy=None):
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        self.root = os.path.join(self.tmp, "root")
        tdir = os.path.join(self.tmp, "templates", "minimal")
        os.makedirs(tdir)
        for f in ("vmlinux", "initramfs.cpio.gz"):
            with open(os.path.join(tdir, f), "wb") as out:
                out.write(b"\0" * 512)
        subprocess.run(["qemu-img", "create", "-q", "-f", "raw",
                        os.path.join(tdir, "root.img"), "1M"], check=True)
        with open(os.path.join(tdir, "template.conf"), "w") as out:
            out.write("[Template]\nname=minimal\nkernel=vmlinux\n"
                      "initramfs=initramfs.cpio.gz\nroot=root.img\n"
                      "kernel_cmdline=console=ttyS0\nmemory=128\nvcpus=1\n")
        if policy is not None:
            pdir = os.path.join(self.root, "etc", "qmgr", "policy.d")
            os.makedirs(pdir)
            with open(os.path.join(pdir, "30-test.policy"), "w") as out:
                out.write(policy)
        self.env = dict(os.environ, QMGR_ROOT=self.root,
                        PATH=os.path.join(build_dir, "qvm-tools") + ":" +
                        os.environ["PATH"])
        self.log_path = os.path.join(self.tmp, "qmgrd.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [os.path.join(build_dir, "qmgrd", "qmgrd"), "--root", self.root,
             "--libvirt-uri", "test:///default", "--template-dir",
             os.path.join(self.tmp, "templates"), "--start-timeout", "20"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def qvm(self, *args):
        return subprocess.run(list(args), env=self.env, capture_output=True,
                              text=True)

    def wait_ready(self):
        """Until qmgrd answers and has made its default-dvm."""
        for _ in range(200):
            if "default-dvm" in self.qvm("qvm-ls", "--raw-list").stdout.split():
                return True
            time.sleep(0.1)
        return False

    def log_text(self):
        with open(self.log_path) as f:
            return f.read()

    def admin_socket(self):
        return os.path.join(self.root, "run/qmgr/qmgrd.sock")

    def start_with_fake_agent(self, vm):
        """qvm-start `vm` with a fake agent listening where QEMU would:
        (the qvm-start process, the listening socket, the agent's end of
        the channel once qmgrd connected).  The caller says HELLO."""
        sock_path = os.path.join(self.root, "run/qmgr/vms", vm, "agent.sock")
        start = subprocess.Popen(["qvm-start", vm], env=self.env,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
        # Listen once qmgrd has cleared the path.
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
        return start, srv, guest

    def stop(self, tap=None, kill=()):
        for vm in kill:
            self.qvm("qvm-kill", vm)
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()
        if tap is not None and tap.fails:
            print("# qmgrd log:")
            for line in self.log_text().splitlines()[-20:]:
                print("# " + line)
        if os.environ.get("KEEP"):
            print("# kept " + self.tmp)
        else:
            subprocess.run(["rm", "-rf", self.tmp])
