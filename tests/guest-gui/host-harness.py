#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Plays the host's gui-proxy for qmgr-gui-agent, run on the host itself
(no VM): listens on a unix socket, starts the agent with --connect-unix,
runs real Wayland apps against it and checks what reaches the "host"
(common/gui-proto.h, decoded here with struct).  Prints TAP.

usage: host-harness.py AGENT GEN_KEYMAP WL_CLIP WL_MISBEHAVE WL_FRAMES \
                       WL_POPUP_KEYS
(HARNESS_ONLY=pixels in the environment: only the pixel-exact frames)
"""
import mmap
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

MAGIC = 0x31554751
HDR = struct.Struct('<IIII')

HELLO = 1
CREATE, DESTROY, TITLE, APP_ID, BUFFER_SIZE, DAMAGE, COMMIT = range(100, 107)
REQUEST_STATES, CURSOR, CLIPBOARD_DATA = 107, 108, 109
CONFIGURE, CLOSE, DESTROYED, FRAME_DONE, KEYMAP = 200, 201, 202, 203, 204
FOCUS_IN, FOCUS_OUT, KEY, MODIFIERS = 205, 206, 207, 208
POINTER_MOTION, POINTER_LEAVE, BUTTON, AXIS = 209, 210, 211, 212
CLIPBOARD_REQUEST, CLIPBOARD_SET = 213, 214
SHM_BUFFER, SHM_RELEASE = 110, 215
HELLO_SHM = 1
STATE_FULLSCREEN, STATE_ACTIVATED = 2, 4
CREATE_POPUP, CREATE_GRAB = 1, 4
VERSION = 3

NAMES = {v: k for k, v in dict(globals()).items()
         if isinstance(v, int) and k.isupper() and 1 <= v <= 215
         and k not in ('STATE_ACTIVATED', 'CREATE_POPUP', 'HELLO_SHM')}


class Msg:
    def __init__(self, type_, window, payload):
        self.type = type_
        self.window = window
        # pixels are not kept: only their length
        self.length = len(payload)
        self.payload = (payload if type_ != DAMAGE or len(payload) < 65536
                        else payload[:16])

    def __repr__(self):
        return '%s(w=%d, %d bytes)' % (NAMES.get(self.type, self.type),
                                       self.window, self.length)


class Host:
    """The host end of the stream: a reader thread collects messages and
    answers DESTROY with DESTROYED (and COMMIT with FRAME_DONE while
    auto_frame is set)."""

    def __init__(self, conn):
        self.conn = conn
        self.msgs = []
        self.cond = threading.Condition()
        self.send_lock = threading.Lock()
        self.auto_frame = False
        self.closed = False
        self.error = None
        threading.Thread(target=self._reader, daemon=True).start()

    def send(self, type_, window=0, payload=b''):
        with self.send_lock:
            self.conn.sendall(HDR.pack(MAGIC, type_, window, len(payload))
                              + payload)

    def _recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.conn.recv(min(n - len(buf), 1 << 20))
            if not chunk:
                return None
            buf += chunk
        return bytes(buf)

    def _reader(self):
        try:
            while True:
                hdr = self._recv_exact(16)
                if hdr is None:
                    break
                magic, type_, window, length = HDR.unpack(hdr)
                if magic != MAGIC:
                    self.error = 'bad magic %#x' % magic
                    break
                payload = self._recv_exact(length) if length else b''
                if payload is None:
                    break
                m = Msg(type_, window, payload)
                if type_ == DESTROY:
                    self.send(DESTROYED, window)
                if type_ == COMMIT and self.auto_frame:
                    self.send(FRAME_DONE, window)
                with self.cond:
                    self.msgs.append(m)
                    self.cond.notify_all()
        except OSError as e:
            self.error = str(e)
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def mark(self):
        with self.cond:
            return len(self.msgs)

    def wait(self, pred, timeout=10.0, start=0):
        end = time.monotonic() + timeout
        with self.cond:
            i = start
            while True:
                while i < len(self.msgs):
                    if pred(self.msgs[i]):
                        return self.msgs[i]
                    i += 1
                left = end - time.monotonic()
                if left <= 0 or self.closed:
                    return None
                self.cond.wait(left)

    def count(self, pred, start=0):
        with self.cond:
            return sum(1 for m in self.msgs[start:] if pred(m))


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=None):
        self.n += 1
        if not cond:
            self.failed += 1
            if diag:
                for line in str(diag).splitlines():
                    print('# ' + line)
        print('%s %d - %s' % ('ok' if cond else 'not ok', self.n, name),
              flush=True)
        return cond

    def skip(self, name, why):
        self.n += 1
        print('ok %d - %s # SKIP %s' % (self.n, name, why), flush=True)


# evdev codes for what the test types (US layout)
KEYS = {c: k for c, k in zip('qwertyuiop', range(16, 26))}
KEYS.update({c: k for c, k in zip('asdfghjkl', range(30, 39))})
KEYS.update({c: k for c, k in zip('zxcvbnm', range(44, 51))})
KEYS.update({' ': 57, '.': 52, '/': 53, '\n': 28, '-': 12})
SHIFTED = {'>': 52}
KEY_LEFTSHIFT = 42


def type_text(host, window, text):
    t = 1000
    for ch in text:
        shifted = ch in SHIFTED
        code = SHIFTED[ch] if shifted else KEYS[ch]
        if shifted:
            host.send(KEY, window, struct.pack('<III', t, KEY_LEFTSHIFT, 1))
            host.send(MODIFIERS, window, struct.pack('<IIII', 1, 0, 0, 0))
        host.send(KEY, window, struct.pack('<III', t, code, 1))
        host.send(KEY, window, struct.pack('<III', t + 1, code, 0))
        if shifted:
            host.send(KEY, window, struct.pack('<III', t, KEY_LEFTSHIFT, 0))
            host.send(MODIFIERS, window, struct.pack('<IIII', 0, 0, 0, 0))
        t += 2
        time.sleep(0.01)


class Agent:
    """A qmgr-gui-agent connected to a fresh Host."""

    def __init__(self, path, tmp, name, reconnect=False, extra=()):
        self.sock_path = os.path.join(tmp, name + '.sock')
        self.wl_name = 'wl-' + name
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(self.sock_path)
        srv.listen(1)
        srv.settimeout(20)
        self.log_path = os.path.join(tmp, name + '.log')
        self.log = open(self.log_path, 'wb')
        env = dict(os.environ, XDG_RUNTIME_DIR=tmp)
        self.proc = subprocess.Popen(
            [path, '--connect-unix', self.sock_path,
             '--socket', self.wl_name] +
            (['--reconnect'] if reconnect else []) + list(extra),
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.srv = srv
        try:
            conn, _ = srv.accept()
        finally:
            if not reconnect:
                srv.close()
        self.host = Host(conn)
        self.env = dict(os.environ, XDG_RUNTIME_DIR=tmp,
                        WAYLAND_DISPLAY=self.wl_name, LANG='C.UTF-8',
                        LC_ALL='C.UTF-8')
        self.env.pop('DISPLAY', None)
        wl = os.path.join(tmp, self.wl_name)
        end = time.monotonic() + 20
        while not os.path.exists(wl) and time.monotonic() < end:
            time.sleep(0.05)

    def log_text(self):
        self.log.flush()
        with open(self.log_path, 'rb') as f:
            return f.read().decode(errors='replace')[-4000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def is_(type_, window=None):
    return lambda m: m.type == type_ and (window is None or
                                          m.window == window)


def test_handshake(t, a):
    h = a.host
    m = h.wait(lambda m: True, 10)
    t.ok(m is not None and m.type == HELLO and
         struct.unpack('<II', m.payload) == (VERSION, 0),
         'agent sends HELLO version %d first' % VERSION, m)
    h.send(HELLO, 0, struct.pack('<II', VERSION, 0))


def test_simple_shm(t, a):
    h = a.host
    if shutil.which('weston-simple-shm') is None:
        t.skip('weston-simple-shm', 'not installed')
        return
    start = h.mark()
    h.auto_frame = False
    app = subprocess.Popen(['weston-simple-shm'], env=a.env,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
    c = h.wait(is_(CREATE), 15, start)
    if not t.ok(c is not None, 'weston-simple-shm: CREATE',
                a.log_text()):
        app.kill()
        return
    wid = c.window
    parent, flags, x, y, w, hgt = struct.unpack('<IIiiII', c.payload)
    t.ok(parent == 0 and not flags & CREATE_POPUP and (w, hgt) == (250, 250),
         'CREATE: a toplevel of 250x250', (parent, flags, w, hgt))
    d = h.wait(is_(DAMAGE, wid), 10, start)
    ok = d is not None
    if ok:
        rx, ry, rw, rh = struct.unpack('<IIII', d.payload)
        ok = (d.length == 16 + rw * rh * 4 and rx + rw <= 250 and
              ry + rh <= 250 and rw * rh > 0)
    t.ok(ok, 'DAMAGE: a rectangle inside the buffer with its pixels', d)
    t.ok(h.wait(is_(COMMIT, wid), 10, start) is not None, 'COMMIT')

    # no FRAME_DONE: the app must wait (its frame callback is held)
    time.sleep(1.0)
    n = h.count(is_(COMMIT, wid), start)
    t.ok(n == 1, 'throttled: one COMMIT while no FRAME_DONE is sent',
         '%d commits' % n)

    # FRAME_DONE for every COMMIT: it animates at the host's pace
    mark = h.mark()
    h.auto_frame = True
    h.send(FRAME_DONE, wid)
    time.sleep(2.0)
    n = h.count(is_(COMMIT, wid), mark)
    t.ok(n >= 20, 'animates while FRAME_DONE answers each COMMIT',
         '%d commits in 2 s' % n)

    h.auto_frame = False
    time.sleep(0.5)
    mark = h.mark()
    time.sleep(1.0)
    n = h.count(is_(COMMIT, wid), mark)
    t.ok(n <= 1, 'stops again when FRAME_DONE stops', '%d commits' % n)

    app.send_signal(signal.SIGINT)
    try:
        app.wait(timeout=10)
    except subprocess.TimeoutExpired:
        app.kill()
    t.ok(h.wait(is_(DESTROY, wid), 10, start) is not None,
         'DESTROY when the app exits')


def test_foot(t, a, gen_keymap, tmp):
    h = a.host
    if shutil.which('foot') is None:
        t.skip('foot', 'not installed')
        return
    start = h.mark()
    h.auto_frame = True
    keymap = subprocess.run([gen_keymap], check=True,
                            stdout=subprocess.PIPE).stdout
    h.send(KEYMAP, 0, keymap + b'\0')
    env = dict(a.env, SHELL='/bin/sh', ENV='', PS1='$ ')
    app = subprocess.Popen(['foot', '/bin/sh'], env=env, cwd=tmp,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
    c = h.wait(lambda m: m.type == CREATE and
               not struct.unpack('<IIiiII', m.payload)[1] & CREATE_POPUP,
               20, start)
    if not t.ok(c is not None, 'foot: CREATE', a.log_text()):
        app.kill()
        return
    wid = c.window
    ti = h.wait(is_(TITLE, wid), 10, start)
    t.ok(ti is not None and len(ti.payload) > 0, 'foot: TITLE', ti and
         ti.payload)
    ai = h.wait(is_(APP_ID, wid), 10, start)
    t.ok(ai is not None and ai.payload == b'foot', 'foot: APP_ID foot',
         ai and ai.payload)
    t.ok(h.wait(is_(COMMIT, wid), 10, start) is not None,
         'foot: first frame committed')

    # the host resizes the window: foot draws at the new size
    mark = h.mark()
    h.send(CONFIGURE, wid, struct.pack('<IIII', 800, 600, STATE_ACTIVATED, 7))
    bs = h.wait(is_(BUFFER_SIZE, wid), 10, mark)
    t.ok(bs is not None and struct.unpack('<II', bs.payload) == (800, 600),
         'CONFIGURE 800x600: BUFFER_SIZE 800x600', bs and bs.payload)

    # keys from the host reach the app, which acts on them
    time.sleep(1.0)     # the shell's prompt
    h.send(FOCUS_IN, wid)
    target = os.path.join('/tmp', 'qmgrguitest' + ''.join(
        'abcdefghijklmnopqrstuvwxyz'[b % 26] for b in os.urandom(8)))
    type_text(h, wid, 'echo ok > %s\n' % target)
    end = time.monotonic() + 15
    while not os.path.exists(target) and time.monotonic() < end:
        time.sleep(0.1)
    ok = os.path.exists(target)
    if ok:
        time.sleep(0.2)
        with open(target) as f:
            ok = f.read() == 'ok\n'
        os.unlink(target)
    t.ok(ok, 'KEYMAP + KEY: typed "echo ok > FILE" runs in foot',
         a.log_text())

    mark = h.mark()
    h.send(CLOSE, wid)
    try:
        app.wait(timeout=15)
        exited = True
    except subprocess.TimeoutExpired:
        app.kill()
        app.wait()
        exited = False
    t.ok(exited, 'CLOSE makes foot exit')
    t.ok(h.wait(is_(DESTROY, wid), 10, mark) is not None,
         'DESTROY after CLOSE')


def test_clipboard(t, a, wl_clip):
    h = a.host
    text = 'from the host \u00e9'.encode()
    h.send(CLIPBOARD_SET, 0, text)
    time.sleep(0.2)
    r = subprocess.run([wl_clip, 'paste'], env=a.env, timeout=20,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t.ok(r.returncode == 0 and r.stdout == text,
         'CLIPBOARD_SET: a guest app pastes the host\'s text',
         (r.returncode, r.stdout, r.stderr))

    mark = h.mark()
    h.send(CLIPBOARD_REQUEST)
    d = h.wait(is_(CLIPBOARD_DATA, 0), 10, mark)
    t.ok(d is not None and d.payload == text,
         'CLIPBOARD_REQUEST after CLIPBOARD_SET: the same text',
         d and d.payload)

    owner = subprocess.Popen([wl_clip, 'copy', 'copied in the guest'],
                             env=a.env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    ready = owner.stdout.readline()
    t.ok(ready == b'ready\n', 'a guest app takes the selection', ready)
    mark = h.mark()
    h.send(CLIPBOARD_REQUEST)
    d = h.wait(is_(CLIPBOARD_DATA, 0), 10, mark)
    t.ok(d is not None and d.payload == b'copied in the guest',
         'CLIPBOARD_REQUEST: the guest app\'s selection, read from it',
         d and d.payload)
    r = subprocess.run([wl_clip, 'paste'], env=a.env, timeout=20,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t.ok(r.returncode == 0 and r.stdout == b'copied in the guest',
         'copy in one guest app, paste in another', (r.stdout, r.stderr))
    h.send(CLIPBOARD_SET, 0, b'again')
    try:
        owner.wait(timeout=10)
        cancelled = True
    except subprocess.TimeoutExpired:
        owner.kill()
        owner.wait()
        cancelled = False
    t.ok(cancelled, 'CLIPBOARD_SET cancels the guest app\'s selection')


def test_popup(t, a):
    h = a.host
    if shutil.which('weston-terminal') is None:
        t.skip('popups (weston-terminal)', 'not installed')
        return
    start = h.mark()
    h.auto_frame = True
    app = subprocess.Popen(['weston-terminal'], env=a.env,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    c = h.wait(is_(CREATE), 15, start)
    if not t.ok(c is not None, 'weston-terminal: CREATE', a.log_text()):
        app.kill()
        return
    wid = c.window
    time.sleep(1.0)
    mark = h.mark()
    h.send(POINTER_MOTION, wid, struct.pack('<Iii', 10, 100 * 256, 100 * 256))
    h.send(BUTTON, wid, struct.pack('<III', 11, 0x111, 1))    # BTN_RIGHT
    h.send(BUTTON, wid, struct.pack('<III', 12, 0x111, 0))
    p = h.wait(lambda m: m.type == CREATE and
               struct.unpack('<IIiiII', m.payload)[1] & CREATE_POPUP, 10,
               mark)
    ok = p is not None
    if ok:
        parent, flags, x, y, w, hgt = struct.unpack('<IIiiII', p.payload)
        ok = parent == wid and 0 <= x < 400 and 0 <= y < 400 and w > 0
    t.ok(ok, 'right click: a popup CREATE with its parent and position',
         p and struct.unpack('<IIiiII', p.payload))
    t.ok(ok and flags & CREATE_GRAB,
         'version 2: the menu (xdg_popup.grab) is CREATEd with GRAB',
         p and struct.unpack('<IIiiII', p.payload))
    t.ok(h.wait(is_(CURSOR, wid), 5, mark) is not None,
         'pointer enter: the app\'s CURSOR is forwarded')
    if p is not None:
        mark = h.mark()
        h.send(POINTER_MOTION, wid, struct.pack('<Iii', 13, 5 * 256, 300 * 256))
        h.send(BUTTON, wid, struct.pack('<III', 14, 0x110, 1))  # BTN_LEFT
        h.send(BUTTON, wid, struct.pack('<III', 15, 0x110, 0))
        t.ok(h.wait(is_(DESTROY, p.window), 10, mark) is not None,
             'a click in the parent closes the grabbing popup')
    app.kill()
    app.wait()
    t.ok(h.wait(is_(DESTROY, wid), 10, start) is not None,
         'DESTROY when the app is killed')


class Lines:
    """An app's stdout, line by line, read in a thread."""

    def __init__(self, proc):
        self.lines = []
        self.cv = threading.Condition()
        threading.Thread(target=self._read, args=(proc.stdout,),
                         daemon=True).start()

    def _read(self, f):
        for raw in f:
            with self.cv:
                self.lines.append(raw.decode(errors='replace').rstrip('\n'))
                self.cv.notify_all()

    def wait(self, want, timeout=10.0):
        end = time.monotonic() + timeout
        with self.cv:
            while want not in self.lines:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.cv.wait(left)
            return True


def test_popup_keys(t, a, popup_keys):
    """A grabbing menu has the keys while it is open, though the host
    (like sway) keeps its keyboard focus on the toplevel; the window has
    them back once the menu is closed."""
    h = a.host
    start = h.mark()
    h.auto_frame = True
    app = subprocess.Popen([popup_keys], env=a.env, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
    out = Lines(app)
    c = h.wait(lambda m: m.type == CREATE and
               not struct.unpack('<IIiiII', m.payload)[1] & CREATE_POPUP,
               10, start)
    if not t.ok(c is not None, 'menu app: CREATE', a.log_text()):
        app.kill()
        app.wait()
        return
    wid = c.window
    h.send(FOCUS_IN, wid)
    h.send(KEY, wid, struct.pack('<III', 1, 30, 1))
    h.send(KEY, wid, struct.pack('<III', 2, 30, 0))
    t.ok(out.wait('key 30 toplevel'), 'no menu: a key reaches the window',
         out.lines)
    mark = h.mark()
    h.send(POINTER_MOTION, wid, struct.pack('<Iii', 3, 50 * 256, 50 * 256))
    h.send(BUTTON, wid, struct.pack('<III', 4, 0x111, 1))    # BTN_RIGHT
    h.send(BUTTON, wid, struct.pack('<III', 5, 0x111, 0))
    p = h.wait(lambda m: m.type == CREATE and
               struct.unpack('<IIiiII', m.payload)[1] & CREATE_GRAB, 10,
               mark)
    t.ok(p is not None, 'right click: a grabbing popup is CREATEd',
         out.lines)
    h.send(KEY, wid, struct.pack('<III', 6, 31, 1))          # the toplevel's
    h.send(KEY, wid, struct.pack('<III', 7, 31, 0))
    t.ok(out.wait('key 31 popup') and 'enter popup' in out.lines,
         'menu open, KEY for the toplevel: the menu has the keyboard',
         out.lines)
    if p is not None:
        mark = h.mark()
        h.send(POINTER_MOTION, wid, struct.pack('<Iii', 8, 5 * 256,
                                                 150 * 256))
        h.send(BUTTON, wid, struct.pack('<III', 9, 0x110, 1))  # BTN_LEFT
        h.send(BUTTON, wid, struct.pack('<III', 10, 0x110, 0))
        t.ok(h.wait(is_(DESTROY, p.window), 10, mark) is not None and
             out.wait('popup done'), 'a click in the window closes the menu',
             out.lines)
    h.send(KEY, wid, struct.pack('<III', 11, 32, 1))
    h.send(KEY, wid, struct.pack('<III', 12, 32, 0))
    t.ok(out.wait('key 32 toplevel'),
         'menu closed: the window has the keys again', out.lines)
    h.send(CLOSE, wid)
    try:
        app.wait(timeout=10)
    except subprocess.TimeoutExpired:
        app.kill()
        app.wait()


def test_popup_v1(t, agent_path, tmp):
    """A host of version 1 gets the same menu without GRAB (version 2)."""
    if shutil.which('weston-terminal') is None:
        t.skip('version 1: no GRAB', 'weston-terminal not installed')
        return
    a = Agent(agent_path, tmp, 'v1')
    h = a.host
    h.wait(lambda m: True, 10)
    h.send(HELLO, 0, struct.pack('<II', 1, 0))
    h.auto_frame = True
    app = subprocess.Popen(['weston-terminal'], env=a.env,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    c = h.wait(is_(CREATE), 15)
    p = None
    if c is not None:
        time.sleep(1.0)
        mark = h.mark()
        h.send(POINTER_MOTION, c.window,
               struct.pack('<Iii', 10, 100 * 256, 100 * 256))
        h.send(BUTTON, c.window, struct.pack('<III', 11, 0x111, 1))
        h.send(BUTTON, c.window, struct.pack('<III', 12, 0x111, 0))
        p = h.wait(lambda m: m.type == CREATE and
                   struct.unpack('<IIiiII', m.payload)[1] & CREATE_POPUP,
                   10, mark)
    flags = p and struct.unpack('<IIiiII', p.payload)[1]
    t.ok(p is not None and not flags & CREATE_GRAB,
         'version 1 host: the menu is CREATEd without GRAB', (c, flags))
    app.kill()
    app.wait()
    a.stop()


def test_composite(t, a, misbehave):
    h = a.host
    start = h.mark()
    h.auto_frame = True
    app = subprocess.Popen([misbehave, 'composite'], env=a.env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ready = app.stdout.readline()
    c = h.wait(is_(CREATE), 10, start)
    d = c and h.wait(lambda m: m.type == DAMAGE and m.window == c.window,
                     10, start)
    ok = False
    if d is not None:
        x, y, w, hgt = struct.unpack('<IIII', d.payload[:16])
        px = d.payload[16:]

        def at(cx, cy):
            o = ((cy - y) * w + (cx - x)) * 4
            return struct.unpack('<I', px[o:o + 4])[0] & 0xffffff
        # the window geometry (2, 2, 30x30) is what the host gets
        ok = ((x, y, w, hgt) == (0, 0, 30, 30) and at(0, 0) == 0x0000ff
              and at(3, 3) == 0xff0000 and at(12, 12) == 0xff0000
              and at(13, 13) == 0x0000ff)
    size = c and struct.unpack('<IIiiII', c.payload)[4:]
    t.ok(ready == b'ready\n' and ok and size == (30, 30),
         'a subsurface is composited, the window cut to its geometry',
         (ready, d, size))
    app.kill()
    app.wait()


def test_fullscreen(t, a, misbehave):
    """The app's set_fullscreen reaches the host as REQUEST_STATES; the
    host's configure decides; after the host took fullscreen away (its
    key), the app's next set_fullscreen reaches the host again."""
    h = a.host
    start = h.mark()
    h.auto_frame = True
    app = subprocess.Popen([misbehave, 'fullscreen'], env=a.env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    fs_req = lambda m: (m.type == REQUEST_STATES and
                        struct.unpack('<I', m.payload)[0] & STATE_FULLSCREEN)
    c = h.wait(is_(CREATE), 10, start)
    r = c and h.wait(lambda m: m.window == c.window and fs_req(m), 10, start)
    t.ok(r is not None, 'set_fullscreen becomes REQUEST_STATES FULLSCREEN',
         (c, r))
    if r is None:
        app.kill()
        app.wait()
        return
    w = c.window
    h.send(CONFIGURE, w, struct.pack('<IIII', 1272, 712,
                                     STATE_FULLSCREEN | STATE_ACTIVATED, 1))
    line = app.stdout.readline()
    while line and line != b'configure fullscreen=1\n':
        line = app.stdout.readline()
    t.ok(line == b'configure fullscreen=1\n',
         'a CONFIGURE with FULLSCREEN reaches the app as fullscreen')
    again = h.mark()
    h.send(CONFIGURE, w, struct.pack('<IIII', 600, 400, STATE_ACTIVATED, 2))
    r2 = h.wait(lambda m: m.window == w and fs_req(m), 10, again)
    t.ok(r2 is not None,
         'after the host took fullscreen away, the app asking again '
         'reaches the host (not taken for a repeat)', a.log_text())
    app.kill()
    app.wait()


def test_misbehaving_clients(t, a, misbehave):
    expect = {
        'subsurface-self': 'wl_subcompositor code 0',
        'subsurface-cycle': 'wl_subcompositor code 0',
        'buffer-before-configure': 'xdg_surface code 3',
        'huge-buffer': 'wl_buffer code 1',
        'bad-scale': 'wl_surface code 0',
        'bad-positioner': 'xdg_surface code 5',
        'truncated-pool': 'wl_buffer code 2',
        'double-role': 'wl_subcompositor code 0',
        'flood': 'flood: ok',
        'teardown': 'teardown: ok',
    }
    h = a.host
    h.auto_frame = True
    for mode, want in expect.items():
        r = subprocess.run([misbehave, mode], env=a.env, timeout=60,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out = r.stdout.decode(errors='replace')
        t.ok(r.returncode == 0 and want in out and a.proc.poll() is None,
             'client mistake %s: %s, the agent lives on' % (mode, want),
             (r.returncode, out, r.stderr, a.log_text()))
    # the host answers DESTROY at once, so live ids = CREATEs - DESTROYs
    live = peak = 0
    with h.cond:
        for m in h.msgs:
            live += (m.type == CREATE) - (m.type == DESTROY)
            peak = max(peak, live)
    t.ok(0 < peak <= 256, 'flood: never more than 256 windows at once',
         'peak %d' % peak)


# ---- pixel-exact frames (wl-frames) ----

class Model:
    """What wl-frames draws, computed here: XRGB8888, little-endian."""

    def __init__(self, w, h, rgb):
        self.new(w, h, rgb)
        self.child = None

    def new(self, w, h, rgb):
        self.w, self.h = w, h
        self.px = bytearray(struct.pack('<I', 0xff000000 | rgb) * (w * h))

    def fill(self, x, y, w, h, rgb, px=None):
        px = self.px if px is None else px
        v = struct.pack('<I', 0xff000000 | rgb)
        for row in range(max(y, 0), min(y + h, self.h)):
            x0, x1 = max(x, 0), min(x + w, self.w)
            if x1 > x0:
                o = (row * self.w + x0) * 4
                px[o:o + (x1 - x0) * 4] = v * (x1 - x0)

    def image(self):
        """the window as shown: the subsurface (opaque) over the root"""
        px = bytearray(self.px)
        if self.child:
            self.fill(*self.child, px=px)
        return bytes(px)


class Frame:
    def __init__(self):
        self.kind = 'bare'
        self.rects = []
        self.offset = None
        self.image = None
        self.size = None


class Viewer:
    """Plays the host's side of one window's frames: SHM_BUFFER slots
    read out of the region while the host holds them, DAMAGE applied to
    a copy of its own (not updated by SHM_BUFFER, as gui-proxy's is
    not), FRAME_DONE and SHM_RELEASE sent when the test says."""

    def __init__(self, host, region_path):
        self.h = host
        self.pos = host.mark()
        self.region = None
        if region_path:
            with open(region_path, 'rb') as f:
                self.region = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
        self.wid = None
        self.size = None
        self.stream = None
        self.held = []

    def _next(self, pred, timeout):
        end = time.monotonic() + timeout
        with self.h.cond:
            while True:
                while self.pos < len(self.h.msgs):
                    m = self.h.msgs[self.pos]
                    self.pos += 1
                    if pred(m):
                        return m
                left = end - time.monotonic()
                if left <= 0 or self.h.closed:
                    return None
                self.h.cond.wait(left)

    def create(self, timeout=10):
        c = self._next(lambda m: m.type == CREATE, timeout)
        if c is not None:
            self.wid = c.window
            self.size = struct.unpack('<IIiiII', c.payload)[4:]
            self.stream = bytearray(b'\x11' * (self.size[0] *
                                               self.size[1] * 4))
        return c

    def frame(self, timeout=10):
        """the window's next frame (up to its COMMIT), or None"""
        f = Frame()
        while True:
            m = self._next(lambda m: m.window == self.wid and m.type in (
                BUFFER_SIZE, DAMAGE, SHM_BUFFER, COMMIT), timeout)
            if m is None:
                return None
            if m.type == BUFFER_SIZE:
                self.size = struct.unpack('<II', m.payload)
                # what the host had is of no use: a sentinel
                self.stream = bytearray(b'\x11' * (self.size[0] *
                                                   self.size[1] * 4))
            elif m.type == DAMAGE:
                x, y, w, h = struct.unpack('<IIII', m.payload[:16])
                px = m.payload[16:]
                W = self.size[0]
                for row in range(h):
                    o = ((y + row) * W + x) * 4
                    self.stream[o:o + w * 4] = px[row * w * 4:
                                                  (row + 1) * w * 4]
                f.kind = 'stream'
                f.rects.append((x, y, w, h))
                f.image = bytes(self.stream)
            elif m.type == SHM_BUFFER:
                off, w, h, stride, fmt, n = struct.unpack('<6I',
                                                          m.payload[:24])
                f.rects = [struct.unpack('<4I', m.payload[24 + 16 * i:
                                                          40 + 16 * i])
                           for i in range(n)]
                f.kind = 'shm'
                f.offset = off
                f.size = (w, h)
                # the slot is the host's until its release: stable
                f.image = b''.join(
                    self.region[off + r * stride:off + r * stride + w * 4]
                    for r in range(h))
                self.held.append(off)
            else:
                return f

    def quiet(self, seconds):
        """True when no frame of the window comes in `seconds`"""
        return self._next(lambda m: m.window == self.wid and
                          m.type == COMMIT, seconds) is None

    def frame_done(self):
        self.h.send(FRAME_DONE, self.wid)

    def release(self, offset):
        self.held.remove(offset)
        self.h.send(SHM_RELEASE, self.wid, struct.pack('<I', offset))


def test_pixels(t, agent_path, tmp, frames, shm):
    """Frames read straight out of the client's buffer (one copy in the
    agent) must show exactly what the client drew: partial damage,
    alternating slots, frames committed while both slots are held or
    while a frame is in flight, a buffer destroyed right after its
    commit, a subsurface gained and lost, a size that does not fit in
    the region (the stream, whole first), and back.  wl-frames scribbles
    over every buffer it gets back, so a buffer read after its release
    shows."""
    tag = 'shared region' if shm else 'stream'
    kind = 'shm' if shm else 'stream'
    extra, region = [], None
    if shm:
        # 64 KiB: two slots of 64x48 fit, two of 128x96 do not
        region = os.path.join(tmp, 'region')
        with open(region, 'wb') as f:
            f.truncate(64 << 10)
        extra = ['--shm', region]
    a = Agent(agent_path, tmp, 'pix-' + kind, extra=extra)
    h = a.host
    h.wait(lambda m: True, 10)
    h.send(HELLO, 0, struct.pack('<II', VERSION, HELLO_SHM if shm else 0))
    app = subprocess.Popen([frames], env=a.env, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    v = Viewer(h, region)
    model = Model(64, 48, 0x102030)

    def do(cmd):
        app.stdin.write((cmd + '\n').encode())
        app.stdin.flush()
        r, _, _ = select.select([app.stdout], [], [], 15)
        line = app.stdout.readline() if r else b'(no answer)'
        if line != b'ok\n':
            print('# wl-frames: %s: %s' % (cmd, line))
        return line == b'ok\n'

    def check(f, name, want_kind=kind, rects=None):
        ok = (f is not None and f.kind == want_kind and
              f.image == model.image() and
              (rects is None or sorted(f.rects) == sorted(rects)))
        diag = None
        if f is None:
            diag = 'no frame'
        elif not ok:
            diag = 'kind %s, rects %s' % (f.kind, f.rects)
            if f.image is not None and len(f.image) == len(model.image()):
                want = model.image()
                bad = [i // 4 for i in range(0, len(want), 4)
                       if f.image[i:i + 4] != want[i:i + 4]]
                if bad:
                    xs = [i % model.w for i in bad]
                    ys = [i // model.w for i in bad]
                    i = bad[0] * 4
                    diag += (', %d wrong pixels in (%d,%d)-(%d,%d), the '
                             'first %s, not %s' % (
                                 len(bad), min(xs), min(ys), max(xs),
                                 max(ys), f.image[i:i + 4].hex(),
                                 want[i:i + 4].hex()))
        t.ok(ok, '%s: %s' % (tag, name), diag)
        return f

    try:
        ok = do('map 64 48 102030')
        c = v.create()
        if not t.ok(ok and c is not None, '%s: wl-frames mapped' % tag,
                    a.log_text()):
            return
        f1 = check(v.frame(), 'the first frame, whole, pixel-exact',
                   rects=[(0, 0, 64, 48)])
        v.frame_done()
        if f1 is None:
            return

        do('fill 4 4 10 10 ff0000')
        model.fill(4, 4, 10, 10, 0xff0000)
        f2 = check(v.frame(), 'a partial frame: only its rectangle damaged',
                   rects=[(4, 4, 10, 10)])
        v.frame_done()
        if shm:
            t.ok(f2 and f2.offset != f1.offset,
                 'shared region: the second frame in the other slot')
            v.release(f1.offset)

        do('fill 20 8 16 6 00ff00')
        model.fill(20, 8, 16, 6, 0x00ff00)
        f3 = check(v.frame(), 'the slot written two frames ago gets both '
                   'frames\' changes' if shm else 'a second partial frame',
                   rects=[(20, 8, 16, 6)])
        v.frame_done()
        if shm:
            t.ok(f3 and f3.offset == f1.offset,
                 'shared region: slots alternate')

        # shm: both slots held (f2's and f3's); two commits wait for a
        # release and go out as one frame
        do('fill 30 30 8 8 0000ff')
        model.fill(30, 30, 8, 8, 0x0000ff)
        if shm:
            t.ok(v.quiet(0.5), 'shared region: no frame while the host '
                 'holds both slots')
        else:
            check(v.frame(), 'a third partial frame')
        do('fill 1 40 20 5 ffff00')
        model.fill(1, 40, 20, 5, 0xffff00)
        if shm:
            t.ok(v.quiet(0.3), 'shared region: still none')
            v.release(f2.offset)
            f4 = check(v.frame(), 'two frames committed while both slots '
                       'were held: shown together on a release')
            t.ok(f4 is not None and
                 {(30, 30, 8, 8), (1, 40, 20, 5)} <= set(f4.rects) or
                 f4 is not None and any(
                     x <= 1 and y <= 30 and x + w >= 38 and y + h >= 45
                     for x, y, w, h in f4.rects),
                 'shared region: its damage covers both changes',
                 f4 and f4.rects)
            v.frame_done()
            v.release(f3.offset)
        else:
            v.frame_done()
            check(v.frame(), 'a commit made while a frame was in flight')
        v.frame_done()

        # a frame in flight; the next buffer is destroyed right after its
        # commit, before the agent could send it
        do('fill 10 10 5 5 ff00ff')
        model.fill(10, 10, 5, 5, 0xff00ff)
        f5 = check(v.frame(), 'another partial frame')
        do('fill-destroy 40 20 10 10 808080')
        model.fill(40, 20, 10, 10, 0x808080)
        t.ok(v.quiet(0.3), '%s: no frame before FRAME_DONE' % tag)
        if shm:
            v.release(f4.offset)
        v.frame_done()
        f6 = check(v.frame(), 'a buffer destroyed right after its commit '
                   'is shown after FRAME_DONE')
        v.frame_done()
        if shm:
            v.release(f5.offset)

        # a subsurface: composited; the root's buffer is then copied
        shown = f6
        for cmd, name in (('sub 8 8 12 12 ffffff',
                           'the window gains a subsurface: composited'),
                          ('fill 0 0 5 5 123456',
                           'a partial frame of the root under a subsurface'),
                          ('move 30 20', 'the subsurface moved by a commit '
                           'of the root without a buffer: drawn again'),
                          ('unsub', 'the subsurface goes: the root alone'),
                          ('fill 2 2 3 3 654321',
                           'a partial frame without the subsurface')):
            do(cmd)
            if cmd.startswith('sub'):
                model.child = (8, 8, 12, 12, 0xffffff)
            elif cmd == 'unsub':
                model.child = None
            elif cmd.startswith('move'):
                model.child = (30, 20) + model.child[2:]
            else:
                x, y, w, hh, rgb = cmd.split()[1:]
                model.fill(int(x), int(y), int(w), int(hh), int(rgb, 16))
            f = check(v.frame(), name)
            v.frame_done()
            if shm and f is not None and shown is not None and \
                    shown.offset in v.held:
                v.release(shown.offset)
            shown = f or shown

        # too large for two slots of the region: the stream, whole first
        do('resize 128 96 abcdef')
        model.new(128, 96, 0xabcdef)
        check(v.frame(), 'a size that does not fit in the region: the '
              'stream, the first DAMAGE whole' if shm else
              'a new size: whole', want_kind='stream',
              rects=[(0, 0, 128, 96)])
        v.frame_done()
        do('fill 3 3 7 7 ff8800')
        model.fill(3, 3, 7, 7, 0xff8800)
        check(v.frame(), 'then partial DAMAGE', want_kind='stream',
              rects=[(3, 3, 7, 7)])
        v.frame_done()
        do('resize 64 48 224466')
        model.new(64, 48, 0x224466)
        check(v.frame(), 'back to a size that fits' if shm else
              'a new size again', rects=[(0, 0, 64, 48)])
        v.frame_done()
        do('fill 60 40 10 10 ff0000')
        model.fill(60, 40, 10, 10, 0xff0000)
        check(v.frame(), 'a rectangle past the edge is clipped',
              rects=[(60, 40, 4, 8)])
    finally:
        try:
            app.stdin.write(b'quit\n')
            app.stdin.flush()
            app.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            app.kill()
            app.wait()
        rc = a.stop()
        t.ok(rc == 0, '%s: the agent exits cleanly, no sanitizer report' %
             tag, (rc, a.log_text()))


def test_reconnect(t, agent_path, tmp, misbehave):
    a = Agent(agent_path, tmp, 'again', reconnect=True)
    h = a.host
    h.wait(lambda m: True, 10)
    h.send(HELLO, 0, struct.pack('<II', 1, 0))
    h.auto_frame = True
    app = subprocess.Popen([misbehave, 'composite'], env=a.env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    app.stdout.readline()
    c = h.wait(is_(CREATE), 10)
    t.ok(c is not None and h.wait(is_(COMMIT), 10) is not None,
         'reconnect: a window on the first host')
    # the host goes away (gui-proxy restarts): the apps keep running
    h.conn.shutdown(socket.SHUT_RDWR)
    h.conn.close()
    try:
        conn, _ = a.srv.accept()
    except OSError:
        conn = None
    t.ok(conn is not None and a.proc.poll() is None and
         app.poll() is None,
         'the agent and its apps outlive the host; it connects again',
         a.log_text())
    if conn is not None:
        h2 = Host(conn)
        h2.auto_frame = True
        first = h2.wait(lambda m: True, 10)
        t.ok(first is not None and first.type == HELLO,
             'HELLO first on the new connection', first)
        h2.send(HELLO, 0, struct.pack('<II', 1, 0))
        c2 = h2.wait(is_(CREATE), 10)
        d2 = c2 and h2.wait(is_(DAMAGE, c2.window), 10)
        ok = (c2 is not None and d2 is not None and
              struct.unpack('<IIiiII', c2.payload)[4:] == (30, 30) and
              struct.unpack('<IIII', d2.payload[:16]) == (0, 0, 30, 30) and
              h2.wait(is_(COMMIT, c2.window), 10) is not None)
        t.ok(ok, 'the new host gets the window again, whole', (c2, d2))
        # a violation: dropped, then connected again after a pause
        h2.send(FRAME_DONE, 0)
        try:
            conn3, _ = a.srv.accept()
            conn3.close()
        except OSError:
            conn3 = None
        t.ok(conn3 is not None and a.proc.poll() is None,
             'after a host violation: dropped, then connected again',
             a.log_text())
        h2.conn.close()
    app.kill()
    app.wait()
    rc = a.stop()
    t.ok(rc == 0, 'reconnecting agent: clean exit', (rc, a.log_text()))
    a.srv.close()


def test_host_violation(t, agent_path, tmp):
    a = Agent(agent_path, tmp, 'bad')
    h = a.host
    h.wait(lambda m: True, 10)
    h.send(HELLO, 0, struct.pack('<II', 1, 0))
    # a per-window message for window 0 breaks the framing rules
    h.send(FRAME_DONE, 0)
    try:
        rc = a.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        rc = None
    log = a.log_text()
    t.ok(rc == 1 and 'protocol violation' in log,
         'a malformed host message ends the link (fail closed)',
         (rc, log))
    a.stop()


def main():
    (agent_path, gen_keymap, wl_clip, misbehave, frames,
     popup_keys) = sys.argv[1:7]
    tmp = tempfile.mkdtemp(prefix='qmgr-guest-gui-')
    os.chmod(tmp, 0o700)
    t = Tap()
    print('TAP version 13', flush=True)
    a = Agent(agent_path, tmp, 'main')
    try:
        if os.environ.get('HARNESS_ONLY') == 'pixels':
            test_pixels(t, agent_path, tmp, frames, shm=True)
            test_pixels(t, agent_path, tmp, frames, shm=False)
            return 1 if t.failed else 0
        test_handshake(t, a)
        test_simple_shm(t, a)
        test_foot(t, a, gen_keymap, tmp)
        test_clipboard(t, a, wl_clip)
        test_popup(t, a)
        test_popup_keys(t, a, popup_keys)
        test_composite(t, a, misbehave)
        test_fullscreen(t, a, misbehave)
        test_misbehaving_clients(t, a, misbehave)
        t.ok(a.proc.poll() is None, 'the agent survived all of it',
             a.log_text())
        rc = a.stop()
        t.ok(rc == 0, 'SIGTERM: clean exit, no sanitizer report',
             (rc, a.log_text()))
        test_host_violation(t, agent_path, tmp)
        test_popup_v1(t, agent_path, tmp)
        test_reconnect(t, agent_path, tmp, misbehave)
        test_pixels(t, agent_path, tmp, frames, shm=True)
        test_pixels(t, agent_path, tmp, frames, shm=False)
    finally:
        if a.proc.poll() is None:
            a.proc.kill()
        print('1..%d' % t.n, flush=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if t.failed else 0


if __name__ == '__main__':
    sys.exit(main())
