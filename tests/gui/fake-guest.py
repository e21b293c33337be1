#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A fake guest for gui-proxy's tests: speaks common/gui-proto.h on a unix
socket it listens on, shows one window in a solid colour, answers CONFIGURE
by resizing it, logs every message it receives (one line each, e.g.
"KEY 1 35 1") and "EOF" when the proxy hangs up, then, once FILE named by
--wait-for exists, plays a hostile SCENARIO.  It answers CLIPBOARD_REQUEST
with --clipboard TEXT and logs CLIPBOARD_SET as "CLIPBOARD_TEXT text".
Scenarios:

  none            nothing more
  bidi-title      a title full of bidi and control characters (allowed:
                  the proxy must show it sanitized)
  oversize        a window larger than QM_GUI_MAX_WIDTH
  bad-damage      a DAMAGE rectangle sticking out of the buffer
  id-reuse        CREATE of an id still in use
  unknown-window  a TITLE for a window never created
  popups          a 60x40 popup (red) at 20,30 of the window; once FILE.2
                  exists, instead a 3000x2000 one (blue) at 0,0, gone
                  once FILE.3 exists; once FILE.4 exists, a 20x20
                  popup (window 4, red) at 5,5 that stays
  menus           a grabbing (GRAB, version 2) 30x20 popup (window 2,
                  green) at 10,10; once FILE.2 exists, instead another
                  one (window 3)
  bench           full-window frames, each after the last FRAME_DONE,
                  for 10 s; logs "BENCH frames seconds width height"
  flood           full-window frames as fast as the socket takes them for
                  3 s, without waiting for FRAME_DONE, then 300 windows
  fullscreen      REQUEST_STATES FULLSCREEN for the window, then again
                  each time FILE.2, FILE.3, ... appears (on every
                  connection: files that exist already count at once)

With --shm FILE it speaks version 3 and draws through that shared region
when the proxy's HELLO offers it (SHM_BUFFER into slots it names only
after their SHM_RELEASE, logged "SHM_RELEASE window offset"); it shows
4 such frames, each after the last FRAME_DONE.  Scenarios of the region:

  shm-past-end    a slot past the end of the region (for a 100x100 window 2)
  shm-reuse       the slot on screen (not released) named again (the same)
  shm-wrap        a 100x4096 window whose slot's stride * height is 2^32
"""
import mmap
import argparse
import os
import re
import socket
import struct
import sys
import threading
import time

MAGIC = 0x31554751
HELLO, CREATE, DESTROY, TITLE, APP_ID, BUFFER_SIZE, DAMAGE, COMMIT = \
    1, 100, 101, 102, 103, 104, 105, 106
REQUEST_STATES, STATE_FULLSCREEN, CURSOR = 107, 2, 108
SHM_BUFFER, SHM_RELEASE, HELLO_SHM, XRGB8888 = 110, 215, 1, 1
NAMES = {1: 'HELLO', 200: 'CONFIGURE', 201: 'CLOSE', 202: 'DESTROYED',
         203: 'FRAME_DONE', 204: 'KEYMAP', 205: 'FOCUS_IN', 206: 'FOCUS_OUT',
         207: 'KEY', 208: 'MODIFIERS', 209: 'POINTER_MOTION',
         210: 'POINTER_LEAVE', 211: 'BUTTON', 212: 'AXIS',
         213: 'CLIPBOARD_REQUEST', 214: 'CLIPBOARD_SET',
         215: 'SHM_RELEASE'}


def parse_keymap(text):
    """xkb keycode -> first keysym, enough for wtype's and evdev keymaps."""
    codes = {m.group(1): int(m.group(2)) for m in
             re.finditer(r'<([A-Za-z0-9+_-]+)>\s*=\s*(\d+)\s*;', text)}
    syms = {}
    for m in re.finditer(r'key\s+<([A-Za-z0-9+_-]+)>\s*\{[^\[]*\[\s*([^,\s\]]+)',
                         text):
        if m.group(1) in codes:
            syms.setdefault(codes[m.group(1)], m.group(2))
    return syms


class Guest:
    def __init__(self, conn, args):
        self.conn = conn
        self.args = args
        self.lock = threading.Lock()
        self.w, self.h = args.width, args.height
        rgb = int(args.color, 16)
        self.pixel = struct.pack('<I', 0xff000000 | rgb)
        self.log = open(args.log, 'a', buffering=1)
        self.keysyms = {}
        self.frame_done = threading.Event()
        self.closed = False
        # the shared region: used once the proxy's HELLO offers it
        self.mm = None
        self.use_shm = False
        self.hello = threading.Event()
        self.held = {}          # offset -> end, named and not released
        self.released = threading.Condition(self.lock)
        self.last_slot = None
        if args.shm:
            with open(args.shm, 'r+b') as f:
                self.mm = mmap.mmap(f.fileno(), 0)

    def send(self, type_, window, payload=b''):
        with self.lock:
            self.conn.sendall(struct.pack('<IIII', MAGIC, type_, window,
                                          len(payload)) + payload)

    def slot(self, size):
        """a free 64-aligned offset for size bytes: waits for releases"""
        with self.released:
            while True:
                for c in [0] + [(e + 63) & ~63 for e in self.held.values()]:
                    if c + size <= len(self.mm) and all(
                            c >= e or c + size <= o
                            for o, e in self.held.items()):
                        self.held[c] = c + size
                        return c
                self.released.wait(5)

    def frame(self, window=1):
        if self.use_shm:
            stride = self.w * 4
            off = self.slot(stride * self.h)
            self.mm[off:off + stride * self.h] = self.pixel * (self.w * self.h)
            self.last_slot = off
            self.send(SHM_BUFFER, window,
                      struct.pack('<10I', off, self.w, self.h, stride,
                                  XRGB8888, 1, 0, 0, self.w, self.h))
            self.send(COMMIT, window)
            return
        px = self.pixel * (self.w * self.h)
        self.send(DAMAGE, window,
                  struct.pack('<IIII', 0, 0, self.w, self.h) + px)
        self.send(COMMIT, window)

    def popup(self, id_, x, y, w, h, rgb, flags=1):
        self.send(CREATE, id_, struct.pack('<IIiiII', 1, flags, x, y, w, h))
        px = struct.pack('<I', 0xff000000 | rgb) * (w * h)
        self.send(DAMAGE, id_, struct.pack('<IIII', 0, 0, w, h) + px)
        self.send(COMMIT, id_)

    def reader(self):
        buf = b''
        while True:
            try:
                data = self.conn.recv(65536)
            except OSError:
                data = b''
            if not data:
                self.log.write('EOF\n')
                self.closed = True
                return
            buf += data
            while len(buf) >= 16:
                magic, t, win, n = struct.unpack('<IIII', buf[:16])
                if len(buf) < 16 + n:
                    break
                p, buf = buf[16:16 + n], buf[16 + n:]
                self.handle(t, win, p)

    def handle(self, t, win, p):
        name = NAMES.get(t, str(t))
        words = ''
        if len(p) % 4 == 0 and len(p) <= 16:
            words = ' '.join(str(x) for x in
                             struct.unpack('<%dI' % (len(p) // 4), p))
        self.log.write('%s %d %s\n' % (name, win, words))
        if t == 1 and len(p) == 8:
            version, flags = struct.unpack('<II', p)
            self.use_shm = (self.mm is not None and version >= 3 and
                            bool(flags & HELLO_SHM))
            self.hello.set()
        if t == 215 and len(p) == 4:
            with self.released:
                self.held.pop(struct.unpack('<I', p)[0], None)
                self.released.notify_all()
        if t == 203:
            self.frame_done.set()
        if t == 213:
            # CLIPBOARD_REQUEST: answer with --clipboard (CLIPBOARD_DATA)
            try:
                self.send(109, 0, self.args.clipboard.encode())
            except OSError:
                pass
        if t == 214:
            self.log.write('CLIPBOARD_TEXT %s\n' %
                           p.decode(errors='replace'))
        if t == 204:
            self.keysyms = parse_keymap(p.rstrip(b'\0').decode())
        if t == 207 and len(p) == 12:
            _, key, pressed = struct.unpack('<III', p)
            if pressed:
                self.log.write('TYPED %s\n' %
                               self.keysyms.get(key + 8, '?%d' % key))
        if t == 200 and win == 1:
            w, h = struct.unpack('<II', p[:8])
            w, h = min(w, 2000), min(h, 2000)
            if w and h and (w, h) != (self.w, self.h):
                self.w, self.h = w, h

                def resize():
                    try:
                        self.send(BUFFER_SIZE, 1, struct.pack('<II', w, h))
                        self.frame()
                    except OSError:
                        pass
                # a slot may have to wait for a release, which this
                # (the reader) thread delivers
                if self.use_shm:
                    threading.Thread(target=resize, daemon=True).start()
                else:
                    resize()

    def play(self):
        a = self.args
        # version 3 (the shared region) only with a region to offer
        self.send(HELLO, 0, struct.pack('<II', 3 if a.shm else 2, 0))
        if a.shm:
            self.hello.wait(5)
        self.send(CREATE, 1, struct.pack('<IIiiII', 0, 0, 0, 0,
                                         self.w, self.h))
        self.send(TITLE, 1, a.title.encode())
        self.send(APP_ID, 1, a.app_id.encode())
        self.frame()
        if a.cursor:
            # a 16x16 cursor in one colour, its hotspot at its top left
            self.send(CURSOR, 1, struct.pack('<iiII', 0, 0, 16, 16) +
                      struct.pack('<I', 0xff000000 | int(a.cursor, 16)) * 256)
        if self.use_shm:
            for _ in range(4):
                self.frame_done.wait(5)
                self.frame_done.clear()
                self.frame()
            self.log.write('SHM_FRAMES 5\n')
        if a.scenario == 'none':
            return
        while not os.path.exists(a.wait_for):
            time.sleep(0.1)
        self.log.write('PLAY %s\n' % a.scenario)
        if a.scenario == 'bidi-title':
            t = ('\u202egnp.exe\u202c\x1b[31m \u2066pay\u2069\x7fpal'
                 '\u200f\x00\x85\u061c!')
            self.send(TITLE, 1, t.encode())
        elif a.scenario == 'oversize':
            self.send(CREATE, 2, struct.pack('<IIiiII', 0, 0, 0, 0,
                                             7681, 100))
        elif a.scenario == 'bad-damage':
            # right of any buffer this guest has (at most 2000 wide;
            # self.w may change under a CONFIGURE meanwhile)
            self.send(DAMAGE, 1, struct.pack('<IIII', 7680, 0, 1, 1)
                      + self.pixel)
        elif a.scenario == 'id-reuse':
            self.send(CREATE, 1, struct.pack('<IIiiII', 0, 0, 0, 0, 10, 10))
        elif a.scenario == 'unknown-window':
            self.send(TITLE, 77, b'ghost')
        elif a.scenario == 'popups':
            self.popup(2, 20, 30, 60, 40, 0xff0000)
            while not os.path.exists(a.wait_for + '.2'):
                time.sleep(0.1)
            self.send(DESTROY, 2)
            self.popup(3, 0, 0, 3000, 2000, 0x0000ff)
            while not os.path.exists(a.wait_for + '.3'):
                time.sleep(0.1)
            self.send(DESTROY, 3)
            while not os.path.exists(a.wait_for + '.4'):
                time.sleep(0.1)
            self.popup(4, 5, 5, 20, 20, 0xff0000)
        elif a.scenario == 'menus':
            self.popup(2, 10, 10, 30, 20, 0x00ff00, flags=1 | 4)
            while not os.path.exists(a.wait_for + '.2'):
                time.sleep(0.1)
            self.send(DESTROY, 2)
            self.popup(3, 10, 10, 30, 20, 0x00ff00, flags=1 | 4)
        elif a.scenario == 'bench':
            frames, start = 0, time.monotonic()
            while time.monotonic() - start < 10:
                self.frame_done.clear()
                # alternate two colours so every frame really changes
                self.pixel = struct.pack('<I', 0xff000000 |
                                         (0x102030 if frames % 2 else 0x405060))
                self.frame()
                self.frame_done.wait(5)
                frames += 1
            self.log.write('BENCH %d %.3f %d %d\n' % (
                frames, time.monotonic() - start, self.w, self.h))
        elif a.scenario == 'fullscreen':
            i = 1
            while not self.closed:
                f = a.wait_for if i == 1 else '%s.%d' % (a.wait_for, i)
                if not os.path.exists(f):
                    time.sleep(0.1)
                    continue
                self.send(REQUEST_STATES, 1,
                          struct.pack('<I', STATE_FULLSCREEN))
                self.log.write('REQUESTED-FULLSCREEN %d\n' % i)
                i += 1
        # The region's hostile guests name slots for a 100x100 window of
        # their own (window 2, made just before): window 1's size follows
        # the compositor's tiling, on another thread.
        elif a.scenario == 'shm-past-end':
            self.send(CREATE, 2, struct.pack('<IIiiII', 0, 0, 0, 0,
                                             100, 100))
            self.send(SHM_BUFFER, 2, struct.pack(
                '<6I', len(self.mm) - 64, 100, 100, 400, XRGB8888, 0))
        elif a.scenario == 'shm-reuse':
            # window 1's slot on screen, which the host holds
            self.send(CREATE, 2, struct.pack('<IIiiII', 0, 0, 0, 0,
                                             100, 100))
            self.send(SHM_BUFFER, 2, struct.pack(
                '<6I', self.last_slot, 100, 100, 400, XRGB8888, 0))
        elif a.scenario == 'shm-wrap':
            self.send(CREATE, 2, struct.pack('<IIiiII', 0, 0, 0, 0,
                                             100, 4096))
            self.send(SHM_BUFFER, 2, struct.pack(
                '<6I', 0, 100, 4096, 1 << 20, XRGB8888, 0))
        elif a.scenario == 'flood':
            end = time.monotonic() + 3
            frames = 0
            while time.monotonic() < end:
                self.frame()
                frames += 1
            self.log.write('FLOODED %d frames\n' % frames)
            for i in range(2, 302):
                self.send(CREATE, i, struct.pack('<IIiiII', 0, 0, 0, 0,
                                                 1, 1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--socket', required=True)
    ap.add_argument('--log', required=True)
    ap.add_argument('--color', default='00ff00', help='RRGGBB of the window')
    ap.add_argument('--title', default='hello')
    ap.add_argument('--app-id', default='org.example.Hello')
    ap.add_argument('--width', type=int, default=200)
    ap.add_argument('--height', type=int, default=150)
    ap.add_argument('--scenario', default='none')
    ap.add_argument('--clipboard', default='',
                    help='what CLIPBOARD_REQUEST is answered with')
    ap.add_argument('--wait-for', default='')
    ap.add_argument('--cursor', help='RRGGBB: a 16x16 cursor image for '
                    'the window')
    ap.add_argument('--mode', help='octal mode for the socket (a guest '
                    'run as root for a user\'s proxy)')
    ap.add_argument('--shm', default='',
                    help='a shared region (file) named to the proxy too')
    a = ap.parse_args()

    try:
        os.unlink(a.socket)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(a.socket)
    if a.mode:
        os.chmod(a.socket, int(a.mode, 8))
    srv.listen(1)
    # One connection at a time; the proxy may come back after a drop.
    while True:
        conn, _ = srv.accept()
        g = Guest(conn, a)
        r = threading.Thread(target=g.reader, daemon=True)
        r.start()
        try:
            g.play()
        except OSError as e:
            g.log.write('SEND-FAILED %s\n' % e)
        r.join()
        conn.close()


if __name__ == '__main__':
    sys.exit(main())
