"""The python grader jail: Linux namespaces, a read-only view of the interpreter, limits; then the worker.

`_pysandbox` runs this file as a script (`python -I _jail.py CONFIG`), so it uses the standard library
only and imports nothing of ftops. It is the process the emulator holds (the "launcher"); it never runs
grader code itself:

1. it dies with the emulator (`PR_SET_PDEATHSIG`) and unshares new mount, pid, network, IPC and UTS
   namespaces. As root it needs nothing else; otherwise (or when root may not, as in a container
   without CAP_SYS_ADMIN) it first unshares a user namespace in which it is root, mapped to its own uid;
2. it forks the namespace's pid 1, tells the emulator that pid on stdout, and waits for it;
3. pid 1 builds a new root on a tmpfs: the system's `/usr` and library directories, the Python
   installation and the virtual environment, bound read-only (no setuid, no devices); a fresh `/proc`
   of the new pid namespace (no other process is visible); `/dev/null`, `zero`, `random`, `urandom`; a
   tmpfs `/tmp` of the disk limit's size, the only writable place. It pivots into that root and
   detaches the old one, so nothing else of the host's files is reachable;
4. it gives up every privilege: as root, it becomes a uid of its own (the emulator picks a random one,
   so `RLIMIT_NPROC` counts this jail's processes only); in a user namespace, it enters a nested one
   as a non-zero uid, so the mounts it made are locked for it. `no_new_privs`, the rlimits (address
   space, file size, CPU seconds, processes, no core files), one CPU; then it execs the worker with an
   empty environment. The network namespace has only a loopback interface, and it is down.

The worker is pid 1: when it exits (the emulator closes its stdin) or is killed (with the launcher,
through `PR_SET_PDEATHSIG`), the kernel kills every process left in the namespace. A setup failure is
one JSON line `{"jail_error": "..."}` on stdout and exit code 3: the emulator then refuses to run
python graders rather than running them unconfined.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import platform
import resource
import select
import signal
import sys
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND = 32, 1024, 2048, 4096
MS_REC, MS_PRIVATE, MS_RELATIME, MS_STRICTATIME = 16384, 1 << 18, 1 << 21, 1 << 24
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
# statvfs f_flag bits (ST_*) -> the mount flags a read-only bind must keep: the kernel refuses to drop
# flags a less privileged mount namespace inherited locked.
KEEP_FLAGS = {2: MS_NOSUID, 4: MS_NODEV, 8: MS_NOEXEC, 2048: MS_NODIRATIME}
SYS_PIVOT_ROOT = {"x86_64": 155, "amd64": 155, "aarch64": 41, "arm64": 41}
DEVICES = ("null", "zero", "random", "urandom")
WORKER_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8",
              "PYTHONHASHSEED": "0"}

_libc = ctypes.CDLL(None, use_errno=True)


class JailError(Exception):
    """A step of the set-up failed: the jail cannot be built here."""


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise JailError(f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = [None if s is None else s.encode() for s in (source, target, fstype, data)]
    _check(_libc.mount(enc[0], enc[1], enc[2], ctypes.c_ulong(flags), enc[3]), f"mount {target}")


def _write(path: str, text: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(text)
    except OSError as e:
        raise JailError(f"write {path}: {e.strerror}") from None


def _reply(obj: dict[str, Any]) -> None:
    os.write(1, (json.dumps(obj) + "\n").encode())


# -- the launcher -----------------------------------------------------------------------------
def _unshare(config: dict[str, Any]) -> bool:
    """Enter the new namespaces; True when a user namespace was needed (not root, or root may not)."""
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    if os.geteuid() == 0 and _libc.unshare(flags) == 0:
        return False
    first = os.strerror(ctypes.get_errno()) if os.geteuid() == 0 else None
    uid, gid = os.geteuid(), os.getegid()
    if _libc.unshare(flags | CLONE_NEWUSER) != 0:
        why = os.strerror(ctypes.get_errno())
        raise JailError(f"unshare: {why}" + (f" (as root: {first})" if first else "")
                        + "; Linux user, pid, network and mount namespaces are needed")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"0 {uid} 1")
    _write("/proc/self/gid_map", f"0 {gid} 1")
    return True


def launch(config: dict[str, Any]) -> int:
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")
    if os.getppid() != config["parent"]:
        return 3  # the emulator is gone already
    userns = _unshare(config)
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(go_w)
        try:
            _jail(config, userns, go_r)
        except (JailError, OSError) as e:
            _reply({"jail_error": str(e)})
        os._exit(3)
    os.close(go_r)
    _reply({"jail": pid, "ns": os.readlink(f"/proc/{pid}/ns/pid")})
    os.write(go_w, b"g")  # pid 1 starts only now: its first line comes after ours
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)  # the worker's answers must end (EOF) when the worker does, not when we do
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code  # a signal as a shell reports it


# -- pid 1 ------------------------------------------------------------------------------------
def _jail(config: dict[str, Any], userns: bool, go: int) -> None:
    if os.read(go, 1) != b"g":
        raise JailError("the launcher went away")
    root = config["root"]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing done here propagates to the host
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=4m")
    _tree(root, config)
    _pivot(root)
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    _drop(config, userns)
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(no_new_privs)")
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(pdeathsig)")  # cleared by _drop
    if select.select([go], [], [], 0)[0]:  # EOF: the launcher died before the line above took effect
        raise JailError("the launcher went away")
    os.close(go)
    _limits(config)
    os.chdir("/tmp")
    os.execve(config["python"], [config["python"], "-I", "-c", config["worker"]], WORKER_ENV)


def _tree(root: str, config: dict[str, Any]) -> None:
    """The new root: /tmp (writable, sized), read-only binds, a fresh /proc, a few devices."""
    os.mkdir(f"{root}/tmp")
    _mount("tmpfs", f"{root}/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={config['disk']}")
    for path in config["binds"]:
        _bind(root, path)
    os.mkdir(f"{root}/proc")
    _mount("proc", f"{root}/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.mkdir(f"{root}/dev")
    for name in DEVICES:
        target = f"{root}/dev/{name}"
        open(target, "w").close()
        _mount(f"/dev/{name}", target, None, MS_BIND)


def _bind(root: str, path: str) -> None:
    """`path` at the same place in the new root: a symlink as a symlink, anything else bound read-only."""
    target = root + path
    if os.path.lexists(target):
        return  # under a directory bound already
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.path.islink(path):
        os.symlink(os.readlink(path), target)
        return
    if os.path.isdir(path):
        os.mkdir(target)
    else:
        open(target, "w").close()
    _mount(path, target, None, MS_BIND)
    _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | _kept(path))


def _kept(path: str) -> int:
    flags = os.statvfs(path).f_flag
    kept = sum(ms for st, ms in KEEP_FLAGS.items() if flags & st)
    if flags & MS_NOATIME:  # ST_NOATIME == MS_NOATIME
        return kept | MS_NOATIME
    return kept | (MS_RELATIME if flags & 4096 else MS_STRICTATIME)  # ST_RELATIME is 4096


def _pivot(root: str) -> None:
    """Make `root` the root and detach the old one (nothing of it stays reachable)."""
    number = SYS_PIVOT_ROOT.get(platform.machine().lower())
    if number is None:
        raise JailError(f"pivot_root: unsupported architecture {platform.machine()}")
    os.chdir(root)
    _check(_libc.syscall(number, b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", MNT_DETACH), "umount the old root")
    os.chdir("/")


def _drop(config: dict[str, Any], userns: bool) -> None:
    """No capability survives: a uid of its own (root), or a nested user namespace as a non-zero uid."""
    if not userns:
        uid = int(config["uid"])
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        return
    inner = int(config["inner_uid"])
    if _libc.unshare(CLONE_NEWUSER) != 0:
        raise JailError(f"unshare (nested user namespace): {os.strerror(ctypes.get_errno())}")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{inner} 0 1")
    _write("/proc/self/gid_map", f"{inner} 0 1")
    os.setresgid(inner, inner, inner)
    os.setresuid(inner, inner, inner)


def _limits(config: dict[str, Any]) -> None:
    for limit, value in ((resource.RLIMIT_AS, config["memory"]), (resource.RLIMIT_FSIZE, config["disk"]),
                         (resource.RLIMIT_NPROC, config["nproc"]), (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(limit, (value, value))
    resource.setrlimit(resource.RLIMIT_CPU, (config["cpu"], config["cpu"] + 1))
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[config["cpu_pick"] % len(cpus)]})  # Foundry: one CPU core


def main() -> int:
    try:
        return launch(json.loads(sys.argv[1]))
    except (JailError, OSError) as e:
        if isinstance(e, OSError) and e.errno == errno.EPIPE:
            return 3
        _reply({"jail_error": str(e)})
        return 3


if __name__ == "__main__":
    sys.exit(main())
