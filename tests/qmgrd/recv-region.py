#!/usr/bin/env python3
# Connects to a qube's shared GUI region socket (qvm-prefs NAME gui_shm) as
# gui-proxy does and says what came: "SIZE SEALS INODE" for one fd with
# one byte, else why not (exit 1).  SEALS names F_SEAL_SHRINK and
# F_SEAL_GROW when set ("shrink,grow"), so a test can require both.
#
#   recv-region.py SOCKET
import fcntl
import os
import socket
import stat
import sys

F_GET_SEALS = getattr(fcntl, "F_GET_SEALS", 1034)
F_SEAL_SHRINK, F_SEAL_GROW = 0x2, 0x4

try:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(sys.argv[1])
    msg, fds, flags, _ = socket.recv_fds(s, 16, 4)
except OSError as e:
    print(f"cannot receive: {e.__class__.__name__}: {e.strerror or e}")
    sys.exit(1)
if len(msg) != 1 or len(fds) != 1:
    print(f"got {len(msg)} bytes and {len(fds)} fds")
    sys.exit(1)
fd = fds[0]
st = os.fstat(fd)
if not stat.S_ISREG(st.st_mode):
    print("not a regular file")
    sys.exit(1)
seals = fcntl.fcntl(fd, F_GET_SEALS)
names = [n for n, b in (("shrink", F_SEAL_SHRINK), ("grow", F_SEAL_GROW))
         if seals & b]
link = os.readlink(f"/proc/self/fd/{fd}")
print(st.st_size, ",".join(names) or "none", st.st_ino, link)
