#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A pointer for a headless wlroots compositor, which has none: a minimal
Wayland client of zwlr_virtual_pointer_manager_v1 (wlr-protocols, sway
supports it), speaking the wire protocol itself (no bindings needed).

  vpointer.py W H STEP...   W, H: the layout's size; steps:
    move X Y      put the pointer at X,Y
    click         press and release the left button
    sleep S       wait S seconds (the device stays while the script runs)
Exit 1 when the compositor lacks the protocol or reports an error.
"""
import os
import socket
import struct
import sys
import time

BTN_LEFT = 0x110


def message(obj, opcode, payload=b""):
    return struct.pack("<II", obj, ((8 + len(payload)) << 16) | opcode) + payload


def string(text):
    b = text.encode() + b"\0"
    return struct.pack("<I", len(b)) + b + b"\0" * (-len(b) % 4)


class Client:
    def __init__(self):
        path = os.path.join(os.environ["XDG_RUNTIME_DIR"],
                            os.environ["WAYLAND_DISPLAY"])
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buf = b""
        self.next_id = 6      # 2: registry, 4: manager, 5: the pointer

    def send(self, data):
        self.sock.sendall(data)

    def events(self):
        """Yields (object, opcode, payload) until the socket has none."""
        while True:
            while len(self.buf) >= 8:
                obj, word = struct.unpack("<II", self.buf[:8])
                size = word >> 16
                if len(self.buf) < size:
                    break
                yield obj, word & 0xffff, self.buf[8:size]
                self.buf = self.buf[size:]
            more = self.sock.recv(65536)
            if not more:
                raise SystemExit("vpointer: the compositor hung up")
            self.buf += more

    def roundtrip(self, on_event=lambda *a: None):
        # a fresh id each time: an id is free again only after delete_id
        callback_id = self.next_id
        self.next_id += 1
        self.send(message(1, 0, struct.pack("<I", callback_id)))  # sync
        for obj, op, payload in self.events():
            if obj == 1 and op == 0:  # wl_display.error
                oid, code = struct.unpack("<II", payload[:8])
                raise SystemExit("vpointer: protocol error %d on object %d: %s"
                                 % (code, oid, payload[12:].split(b"\0")[0].decode()))
            if obj == callback_id and op == 0:
                return
            on_event(obj, op, payload)


def main():
    w, h = int(sys.argv[1]), int(sys.argv[2])
    steps = sys.argv[3:]
    c = Client()
    globals_ = {}

    def on_global(obj, op, payload):
        if obj == 2 and op == 0:
            name, n = struct.unpack("<II", payload[:8])
            iface = payload[8:8 + n - 1].decode()
            globals_[iface] = name

    c.send(message(1, 1, struct.pack("<I", 2)))  # get_registry -> 2
    c.next_id = 3
    c.roundtrip(on_global)
    name = globals_.get("zwlr_virtual_pointer_manager_v1")
    if name is None:
        raise SystemExit("vpointer: the compositor has no virtual pointer")
    # bind(name, interface, version 1, id 4); create_virtual_pointer(null, 5)
    c.next_id = 6
    c.send(message(2, 0, struct.pack("<I", name) +
                   string("zwlr_virtual_pointer_manager_v1") +
                   struct.pack("<II", 1, 4)))
    c.send(message(4, 0, struct.pack("<II", 0, 5)))
    c.roundtrip()
    t0 = time.monotonic()

    def now():
        return int((time.monotonic() - t0) * 1000) & 0xffffffff

    i = 0
    while i < len(steps):
        if steps[i] == "move":
            x, y = int(steps[i + 1]), int(steps[i + 2])
            c.send(message(5, 1, struct.pack("<IIIII", now(), x, y, w, h)))
            c.send(message(5, 4))
            i += 3
        elif steps[i] == "click":
            for state in (1, 0):
                c.send(message(5, 2, struct.pack("<III", now(), BTN_LEFT, state)))
                c.send(message(5, 4))
                time.sleep(0.05)
            i += 1
        elif steps[i] == "sleep":
            c.roundtrip()
            time.sleep(float(steps[i + 1]))
            i += 2
        else:
            raise SystemExit("vpointer: unknown step %r" % steps[i])
    c.roundtrip()
    return 0


sys.exit(main())
