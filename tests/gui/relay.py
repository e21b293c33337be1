#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""relay.py A B: listens on the unix sockets A and B and, once one peer has
connected to each, copies bytes both ways until either side hangs up: what
QEMU's virtio-serial chardev does between a guest's port and the host's
socket, so that gui-proxy and qmgr-gui-agent, both clients, meet."""
import os
import socket
import sys
import threading


def listen(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(1)
    return s


def pump(src, dst):
    while True:
        try:
            data = src.recv(1 << 20)
        except OSError:
            data = b''
        if not data:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            return
        dst.sendall(data)


def main():
    listeners = [listen(p) for p in sys.argv[1:3]]
    conns = [None, None]

    def accept(i):
        conns[i] = listeners[i].accept()[0]
    waits = [threading.Thread(target=accept, args=(i,)) for i in (0, 1)]
    for t in waits:
        t.start()
    for t in waits:
        t.join()
    back = threading.Thread(target=pump, args=(conns[1], conns[0]))
    back.start()
    pump(conns[0], conns[1])
    back.join()


if __name__ == '__main__':
    main()
