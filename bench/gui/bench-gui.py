#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""bench-gui.py: a full-window animation shown through gui-proxy against
the same animation shown through Debian's waypipe (issue 6), on the host,
without a VM (the pipelines' cost alone).

    app -> qmgr-gui-agent -> relay -> gui-proxy      -> sway   ("qmgr")
    app -> qmgr-gui-agent -> shared file ------------> sway   ("qmgr-shm";
                    \-> relay -> gui-proxy (messages) -/    pixels by file)
    app -> waypipe server -> relay -> waypipe client -> sway   ("waypipe")

sway runs headless (pixman renderer) as the unprivileged user
qmgr-guitest, like the GUI tests; its output is 2560x1440 so that a
1920x1080 window and its border fit, the windows float at their own size.
The app (bench-gui-client) draws every pixel anew on every frame callback;
the relay (bench-gui-relay) stands for QEMU's virtio-serial chardev and
counts the bytes; both pipelines go through it.  Configurations take
turns, a fresh pipeline each run; medians of the rounds are reported with
their ratios.  Then keypress-to-screen latency: wtype types space into a
bench-gui-client --keys window, which repaints itself in a new colour.

Needs root (to run the session as qmgr-guitest), sway, swaymsg, wtype,
waypipe and setpriv; exits 77 (skipped) without them.  Targets are printed,
never enforced: a benchmark is not a test.

usage: bench-gui.py GUI_PROXY QMGR_GUI_AGENT BENCH_GUI_CLIENT
                    BENCH_GUI_RELAY [options]  (see --help)
"""
import argparse
import json
import os
import pwd
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time

USER = 'qmgr-guitest'
CLK = os.sysconf('SC_CLK_TCK')
TARGET_FPS_RATIO = 2.0
# The shared region of "qmgr-shm", as qmgrd gives a qube (a file in
# /dev/shm stands for the ivshmem device's memory).
REGION_MIB = 64


def skip(why):
    print('bench-gui: %s: skipped' % why)
    sys.exit(77)


def die(why):
    print('bench-gui: %s' % why, file=sys.stderr)
    sys.exit(1)


def wait_for(seconds, cond, step=0.05):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


# ---- /proc ----

def proc_stat(pid):
    """(ppid, utime + stime in ticks) or None"""
    try:
        with open('/proc/%d/stat' % pid) as f:
            s = f.read()
    except OSError:
        return None
    post = s[s.rindex(')') + 2:].split()
    return int(post[1]), int(post[11]) + int(post[12])


def descendants(roots):
    """roots and every process below them"""
    children = {}
    for name in os.listdir('/proc'):
        if name.isdigit():
            st = proc_stat(int(name))
            if st:
                children.setdefault(st[0], []).append(int(name))
    out, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        if p not in out:
            out.add(p)
            todo.extend(children.get(p, []))
    return out


def ticks(pids):
    return sum((proc_stat(p) or (0, 0))[1] for p in pids)


def read_u64s(path, n):
    try:
        with open(path, 'rb') as f:
            data = f.read(8 * n)
    except OSError:
        return None
    return struct.unpack('<%dQ' % n, data) if len(data) == 8 * n else None


# ---- the session ----

class Session:
    def __init__(self, args):
        self.args = args
        self.procs = []
        pw = pwd.getpwnam(USER)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        self.tmp = tempfile.mkdtemp(prefix='qmgr-benchgui.')
        os.chown(self.tmp, self.uid, self.gid)
        os.chmod(self.tmp, 0o700)
        self.runs = 0
        conf = os.path.join(self.tmp, 'sway.conf')
        with open(conf, 'w') as f:
            f.write('output HEADLESS-1 resolution 2560x1440@%dHz position 0,0\n'
                    'default_border none\n'
                    'default_floating_border none\n'
                    'focus_follows_mouse no\n'
                    'xwayland disable\n'
                    'for_window [title="bench-gui$"] floating enable\n'
                    % args.refresh)
        self.sway = self.spawn(['sway', '-c', conf], 'sway.log', {
            'XDG_RUNTIME_DIR': self.tmp, 'WLR_BACKENDS': 'headless',
            'WLR_RENDERER': 'pixman', 'WLR_LIBINPUT_NO_DEVICES': '1'})
        self.display = self.swaysock = None

        def started():
            for n in sorted(os.listdir(self.tmp)):
                if n.startswith('wayland-') and not n.endswith('.lock'):
                    self.display = n
                elif n.startswith('sway-ipc.'):
                    self.swaysock = os.path.join(self.tmp, n)
            return self.display and self.swaysock
        if not wait_for(10, started):
            log = open(os.path.join(self.tmp, 'sway.log')).read()[-500:]
            self.close()
            skip('sway did not start: ' + log.replace('\n', ' '))
        self.host_env = {'XDG_RUNTIME_DIR': self.tmp,
                         'WAYLAND_DISPLAY': self.display,
                         'SWAYSOCK': self.swaysock}

    def spawn(self, argv, log, env, cwd=None):
        """argv as USER with only env (and PATH, HOME); the pid is argv's
        own (setpriv and env exec)"""
        cmd = ['setpriv', '--reuid=%d' % self.uid, '--regid=%d' % self.gid,
               '--init-groups', 'env', '-i', 'PATH=/usr/bin:/bin',
               'HOME=' + self.tmp, 'LANG=C.UTF-8']
        cmd += ['%s=%s' % kv for kv in env.items()] + list(argv)
        out = open(os.path.join(cwd or self.tmp, log), 'w')
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
        out.close()
        self.procs.append(p)
        return p

    def run(self, argv, timeout=10):
        cmd = ['setpriv', '--reuid=%d' % self.uid, '--regid=%d' % self.gid,
               '--init-groups', 'env', '-i', 'PATH=/usr/bin:/bin',
               'HOME=' + self.tmp]
        cmd += ['%s=%s' % kv for kv in self.host_env.items()] + list(argv)
        return subprocess.run(cmd, capture_output=True, text=True,
                              timeout=timeout)

    def views(self):
        """[(name, app_id, width, height)] of sway's windows"""
        r = self.run(['swaymsg', '-t', 'get_tree'])
        out = []

        def walk(n):
            if n.get('type') in ('con', 'floating_con') and n.get('pid'):
                out.append((n.get('name'), n.get('app_id'),
                            n['window_rect']['width'],
                            n['window_rect']['height']))
            for c in n.get('nodes', []) + n.get('floating_nodes', []):
                walk(c)
        try:
            walk(json.loads(r.stdout))
        except ValueError:
            pass
        return out

    def stop(self, procs):
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            if p in self.procs:
                self.procs.remove(p)

    def close(self):
        self.stop(list(self.procs))
        shutil.rmtree(self.tmp, ignore_errors=True)


class Pipeline:
    """One configuration, started fresh: 'qmgr', 'qmgr-shm' (pixels through
    a shared region), 'waypipe' (its default,
    no compression) or 'waypipe-lz4'."""

    def __init__(self, s, cfg, size, keys=False):
        self.s, self.cfg, self.size = s, cfg, size
        s.runs += 1
        d = self.dir = os.path.join(s.tmp, 'run%d' % s.runs)
        rt = os.path.join(d, 'rt')
        os.mkdir(d, 0o700)
        os.mkdir(rt, 0o700)
        for p in (d, rt):
            os.chown(p, s.uid, s.gid)
        a = s.args
        self.counter = os.path.join(d, 'counter')
        self.relay_counts = os.path.join(d, 'relay')
        self.app_out = os.path.join(d, 'app.out')
        app = [a.client, '--size', size, '--pattern', a.pattern,
               '--counter', self.counter] + (['--keys'] if keys else [])
        self.procs = []
        self.app_pid = None

        def sock(name):
            path = os.path.join(d, name)
            if not wait_for(10, lambda: os.path.exists(path)):
                self.close()
                die('%s: %s did not appear (logs in %s)' % (cfg, path, d))
            return path

        self.region = None
        if cfg in ('qmgr', 'qmgr-shm'):
            shm_agent, shm_proxy = [], []
            if cfg == 'qmgr-shm':
                self.region = '/dev/shm/qmgr-bench-gui-%d-%d' % (
                    os.getpid(), s.runs)
                with open(self.region, 'wb') as f:
                    f.truncate(REGION_MIB << 20)
                os.chown(self.region, s.uid, s.gid)
                os.chmod(self.region, 0o600)
                shm_agent = ['--shm', self.region]
                shm_proxy = ['--shm', 'bench:' + self.region]
            self.relay = self.spawn([a.relay, 'listen:' + d + '/guest.sock',
                                     'listen:' + d + '/host.sock',
                                     '--counters', self.relay_counts],
                                    'relay.log', {})
            sock('guest.sock')
            sock('host.sock')
            agent = self.spawn([a.agent, '--connect-unix', d + '/guest.sock',
                                '--socket', 'wayland-bench'] + shm_agent,
                               'agent.log', {'XDG_RUNTIME_DIR': rt})
            proxy = self.spawn([a.proxy, '--guest',
                                'bench:blue:' + d + '/host.sock'] + shm_proxy,
                               'proxy.log', s.host_env)
            sock('rt/wayland-bench')
            self.spawn(app, 'app.out', {'XDG_RUNTIME_DIR': rt,
                                        'WAYLAND_DISPLAY': 'wayland-bench'})
            self.roots = [agent.pid, proxy.pid]     # guest side, host side
            self.view = ('[bench] bench-gui', 'qmgr.bench.bench-gui')
        else:
            comp = ['-c', 'lz4'] if cfg == 'waypipe-lz4' else []
            client = self.spawn(['waypipe', '-s', d + '/client.sock'] + comp +
                                ['client'], 'waypipe-client.log', s.host_env)
            sock('client.sock')
            self.relay = self.spawn([a.relay, 'listen:' + d + '/server.sock',
                                     'connect:' + d + '/client.sock',
                                     '--counters', self.relay_counts],
                                    'relay.log', {})
            sock('server.sock')
            server = self.spawn(['waypipe', '-s', d + '/server.sock'] + comp +
                                ['server', '--'] + app, 'app.out',
                                {'XDG_RUNTIME_DIR': rt})
            self.roots = [server.pid, client.pid]   # guest side, host side
            self.view = ('bench-gui', 'bench-gui')

        def drawing():
            c = read_u64s(self.counter, 3)
            if c and c[0]:
                self.app_pid = c[0]
            return c is not None and c[1] >= (1 if keys else 5)
        if not wait_for(30, drawing, 0.1):
            self.close()
            die('%s %s: the app shows no frames (logs in %s)' %
                (cfg, size, d))
        w, h = map(int, size.split('x'))
        border = 8 if cfg.startswith('qmgr') else 0
        want = (self.view[0], self.view[1], w + border, h + border)
        if not wait_for(5, lambda: want in s.views(), 0.2):
            views = s.views()
            self.close()
            die('%s: no window %s in sway: %s' % (cfg, want, views))

    def spawn(self, argv, log, env):
        p = self.s.spawn(argv, log, env, cwd=self.dir)
        self.procs.append(p)
        return p

    def sample(self):
        c = read_u64s(self.counter, 3)
        r = read_u64s(self.relay_counts, 2) or (0, 0)
        return {'t': time.monotonic(), 'frames': c[1], 'up': r[0],
                'down': r[1],
                'pipeline': ticks(self.guest_pids | self.host_pids),
                'guest': ticks(self.guest_pids),
                'host': ticks(self.host_pids),
                'relay': ticks([self.relay.pid]),
                'sway': ticks([self.s.sway.pid]),
                'app': ticks([self.app_pid])}

    def measure(self, warmup, seconds):
        time.sleep(warmup)
        self.guest_pids = descendants(self.roots[:1]) - {self.app_pid}
        self.host_pids = descendants(self.roots[1:])
        a = self.sample()
        time.sleep(seconds)
        b = self.sample()
        frames = b['frames'] - a['frames']
        dt = b['t'] - a['t']
        res = {'fps': frames / dt, 'frames': frames}
        f = max(frames, 1)
        res['bytes'] = (b['up'] - a['up'] + b['down'] - a['down']) / f
        res['bytes_up'] = (b['up'] - a['up']) / f
        for k in ('pipeline', 'guest', 'host', 'relay', 'sway', 'app'):
            res[k + '_ms'] = (b[k] - a[k]) * 1000.0 / CLK / f
        res['pipeline_cpu'] = (b['pipeline'] - a['pipeline']) / CLK / dt
        return res

    def close(self):
        if self.app_pid:
            try:
                os.kill(self.app_pid, signal.SIGTERM)
            except OSError:
                pass
        self.s.stop(self.procs)
        if self.region:
            try:
                os.unlink(self.region)
            except OSError:
                pass


def keys_latency(s, cfg, n):
    """[ms from the key's arrival in the app to the frame callback of the
    frame it repainted], for n presses of space typed by one wtype (one
    virtual keyboard, so that a keymap travels only once), 250 ms apart"""
    p = Pipeline(s, cfg, '1280x720', keys=True)
    try:
        s.run(['swaymsg', '[title="bench-gui$"] focus'])
        # wtype's first key comes with its keyboard's enter: a Shift
        # goes first, then a space that is not counted
        argv = ['wtype', '-k', 'Shift_L', '-s', '300']
        for _ in range(n + 1):
            argv += ['-k', 'space', '-s', '250']
        s.run(argv, timeout=10 + n)
        time.sleep(0.5)
        with open(p.app_out) as f:
            lines = [ln.split() for ln in f if ln.startswith('key ')]
        if len(lines) < n + 1:
            print('  %s: %d of %d keys shown' % (cfg, len(lines), n + 1))
        return [(int(b) - int(a)) / 1e6 for _, a, b in lines[1:]][-n:]
    finally:
        p.close()


def med(rs, k):
    return statistics.median(r[k] for r in rs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('proxy')
    ap.add_argument('agent')
    ap.add_argument('client')
    ap.add_argument('relay')
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--seconds', type=float, default=5)
    ap.add_argument('--warmup', type=float, default=1)
    ap.add_argument('--sizes', default='1280x720,1920x1080')
    ap.add_argument('--refresh', type=int, default=1000,
                    help="headless output's refresh rate in Hz, at most "
                    "1000 (wlroots' headless backend ticks in whole "
                    "milliseconds): as high as it goes, so that the "
                    "pipelines, not the output, are the limit (at 250 Hz "
                    "both are held near 190 frames/s at 1280x720)")
    ap.add_argument('--pattern', default='gradient',
                    choices=('gradient', 'noise'))
    ap.add_argument('--no-lz4', action='store_true',
                    help='skip waypipe -c lz4')
    ap.add_argument('--keys', type=int, default=20,
                    help='key presses per configuration (0: none)')
    args = ap.parse_args()

    if not 1 <= args.refresh <= 1000:
        die('--refresh %d: the headless output refreshes at 1 to 1000 Hz '
            '(1000 / Hz must be a whole number of milliseconds > 0)' %
            args.refresh)
    if os.getuid() != 0:
        skip('needs root (the session runs as %s)' % USER)
    for tool in ('sway', 'swaymsg', 'wtype', 'waypipe', 'setpriv'):
        if shutil.which(tool) is None:
            skip('%s is not installed' % tool)
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(['useradd', '--system', '--no-create-home',
                        '--home-dir', '/nonexistent', '--shell',
                        '/usr/sbin/nologin', USER], check=True)

    configs = ['qmgr', 'qmgr-shm', 'waypipe'] + ([] if args.no_lz4 else
                                                 ['waypipe-lz4'])
    sizes = args.sizes.split(',')
    s = Session(args)
    results = {(c, z): [] for c in configs for z in sizes}
    lat = {}
    try:
        print('sway headless 2560x1440@%dHz (pixman), pattern %s, %d rounds '
              'of %g s' % (args.refresh, args.pattern, args.rounds,
                           args.seconds))
        for r in range(args.rounds):
            for z in sizes:
                for k in range(len(configs)):
                    cfg = configs[(r + k) % len(configs)]
                    p = Pipeline(s, cfg, z)
                    try:
                        res = p.measure(args.warmup, args.seconds)
                    finally:
                        p.close()
                    results[(cfg, z)].append(res)
                    print('round %d %-9s %-11s %6.1f frames/s %9.0f B/frame '
                          'cpu/frame: pipeline %5.2f ms (%.2f + %.2f), '
                          'relay %5.2f, sway %5.2f, app %5.2f' %
                          (r + 1, z, cfg, res['fps'], res['bytes'],
                           res['pipeline_ms'], res['guest_ms'],
                           res['host_ms'], res['relay_ms'],
                           res['sway_ms'], res['app_ms']), flush=True)
        for cfg in ('qmgr', 'qmgr-shm', 'waypipe'):
            if args.keys > 0:
                lat[cfg] = keys_latency(s, cfg, args.keys)
    finally:
        s.close()

    fields = []
    met = True
    print()
    for z in sizes:
        q, w = results[('qmgr', z)], results[('waypipe', z)]
        tag = z.split('x')[1] + 'p'
        for cfg in configs:
            rs = results[(cfg, z)]
            print('%-9s %-11s %6.1f frames/s (%.1f-%.1f) %9.0f B/frame, '
                  'cpu/frame: pipeline %.2f ms = app side %.2f + sway side '
                  '%.2f (%.0f%% of a CPU), relay %.2f, sway %.2f, app %.2f' %
                  (z, cfg, med(rs, 'fps'), min(r['fps'] for r in rs),
                   max(r['fps'] for r in rs), med(rs, 'bytes'),
                   med(rs, 'pipeline_ms'), med(rs, 'guest_ms'),
                   med(rs, 'host_ms'), 100 * med(rs, 'pipeline_cpu'),
                   med(rs, 'relay_ms'), med(rs, 'sway_ms'),
                   med(rs, 'app_ms')))
        def ratios(q):
            fps = statistics.median(a['fps'] / b['fps'] for a, b in zip(q, w))
            cpu = statistics.median(a['pipeline_ms'] / b['pipeline_ms']
                                    for a, b in zip(q, w)
                                    if b['pipeline_ms'] > 0)
            return fps, cpu
        fps_ratio, cpu_ratio = ratios(q)
        qs = results[('qmgr-shm', z)]
        shm_fps_ratio, shm_cpu_ratio = ratios(qs)
        # The target is the shared region's: it is what a qube uses.
        ok = shm_fps_ratio >= TARGET_FPS_RATIO and shm_cpu_ratio < 1
        met = met and ok
        for name, fr, cr in (('qmgr', fps_ratio, cpu_ratio),
                             ('qmgr-shm', shm_fps_ratio, shm_cpu_ratio)):
            print('%-9s %s / waypipe: frames/s %.2f (target >= %.0f: %s), '
                  'pipeline cpu/frame %.2f (target < 1: %s)' %
                  (z, name, fr, TARGET_FPS_RATIO,
                   'met' if fr >= TARGET_FPS_RATIO else 'MISSED',
                   cr, 'met' if cr < 1 else 'MISSED'))
        fields += ['fps_%s_qmgr=%.1f' % (tag, med(q, 'fps')),
                   'fps_%s_qmgr_shm=%.1f' % (tag, med(qs, 'fps')),
                   'fps_%s_waypipe=%.1f' % (tag, med(w, 'fps'))]
        if 'waypipe-lz4' in configs:
            fields.append('fps_%s_waypipe_lz4=%.1f' %
                          (tag, med(results[('waypipe-lz4', z)], 'fps')))
        fields += ['fps_%s_ratio=%.2f' % (tag, fps_ratio),
                   'fps_%s_shm_ratio=%.2f' % (tag, shm_fps_ratio),
                   'cpu_ms_%s_qmgr=%.2f' % (tag, med(q, 'pipeline_ms')),
                   'cpu_ms_%s_qmgr_shm=%.2f' % (tag, med(qs, 'pipeline_ms')),
                   'cpu_ms_%s_waypipe=%.2f' % (tag, med(w, 'pipeline_ms')),
                   'cpu_%s_ratio=%.2f' % (tag, cpu_ratio),
                   'cpu_%s_shm_ratio=%.2f' % (tag, shm_cpu_ratio),
                   'bytes_%s_qmgr=%.0f' % (tag, med(q, 'bytes')),
                   'bytes_%s_qmgr_shm=%.0f' % (tag, med(qs, 'bytes')),
                   'bytes_%s_waypipe=%.0f' % (tag, med(w, 'bytes'))]
        if 'waypipe-lz4' in configs:
            fields.append('bytes_%s_waypipe_lz4=%.0f' %
                          (tag, med(results[('waypipe-lz4', z)], 'bytes')))
    for cfg, xs in lat.items():
        if not xs:
            print('keys      %-11s no key was shown' % cfg)
            fields.append('key_ms_%s=none' % cfg.replace('-', '_'))
            continue
        print('keys      %-11s %d presses: key in the app to its frame shown '
              '%.1f ms median (%.1f-%.1f)' %
              (cfg, len(xs), statistics.median(xs), min(xs), max(xs)))
        fields.append('key_ms_%s=%.1f' % (cfg.replace('-', '_'),
                                               statistics.median(xs)))
    fields += ['target_met=%s' % ('yes' if met else 'no'),
               'refresh_hz=%d' % args.refresh, 'pattern=' + args.pattern,
               'rounds=%d' % args.rounds, 'seconds=%g' % args.seconds]
    print('RESULT ' + ' '.join(fields))


if __name__ == '__main__':
    main()
