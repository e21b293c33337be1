# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Shared by the GUI tests and benches with real qubes: lib-qmgrd.sh (a
# qmgrd of its own on the system libvirtd) and lib-gui.sh (a headless sway
# as an unprivileged user) together.  Source it with B, TPL (and LOG_KEEP)
# set, as for lib-qmgrd.sh.  Both libraries make a directory $T: this keeps
# qmgrd's as $QT and sway's as $GT (and $T), runs both cleanups at exit
# (qmgrd first: lib-gui's waits for every child), puts the GUI user in
# group qmgr (gui_socket is for that group) and gives qmgrd_start, which
# runs lib-qmgrd's start_qmgrd in its own directory.
getent group qmgr >/dev/null || groupadd --system qmgr || exit 1

. "$(dirname "${BASH_SOURCE[0]}")/../qmgrd/lib-qmgrd.sh"
QT=$T
eval "$(declare -f cleanup | sed '1s/^cleanup/qmgrd_cleanup/')"
. "$(dirname "${BASH_SOURCE[0]}")/lib-gui.sh"
GT=$T
eval "$(declare -f cleanup | sed '1s/^cleanup/gui_cleanup/')"
cleanup() {
	T=$QT
	qmgrd_cleanup
	T=$GT
	gui_cleanup
}
trap cleanup EXIT
# setpriv --init-groups reads the groups at each start
usermod -a -G qmgr "$GUI_USER" || exit 1

qmgrd_start() { local T=$QT; start_qmgrd "$@"; }
