"""Child processes of a local cluster: starting ``python -m dougdb node|facade ...``
with its output in a log file, waiting for its "serving on ADDR" line, stopping it, and
making sure no child outlives this interpreter.

Orphan protection, three layers:

1. Every child runs a watchdog thread (``__main__.py``) that SIGKILLs itself once its
   parent process is gone (``getppid()`` changed): this works whatever thread started the
   child, and on every POSIX system.
2. On Linux, when the child was started from the main thread, it also asks the kernel for
   ``PR_SET_PDEATHSIG = SIGKILL`` (set in the child itself at start-up, not through
   ``preexec_fn``, which is unsafe in a process with threads such as the native runtime's;
   and not from other threads, because the kernel sends the signal when the *thread* that
   forked exits).
3. ``LocalCluster`` registers a ``weakref.finalize`` (which also runs at interpreter exit)
   that kills the children it started.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time

from .errors import DougDBError

#: Environment variables the child reads in ``__main__.py``.
PARENT_PID_ENV = "DOUGDB_PARENT_PID"
PDEATHSIG_ENV = "DOUGDB_PDEATHSIG"

_SERVING = re.compile(rb"serving on (\S+)")


class Child:
    """One child process and its log file."""

    def __init__(self, argv: list[str], log_path: str) -> None:
        self.argv = argv
        self.log_path = log_path
        env = dict(os.environ)
        env[PARENT_PID_ENV] = str(os.getpid())
        if threading.current_thread() is threading.main_thread():
            env[PDEATHSIG_ENV] = "1"
        else:
            env.pop(PDEATHSIG_ENV, None)
        with open(log_path, "ab") as log:
            self.log_offset = log.tell()
            log.write(f"--- {time.strftime('%H:%M:%S')} {' '.join(argv)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "dougdb", *argv],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                # Own session: a Ctrl-C meant for this interpreter (to interrupt a call)
                # must not also stop the cluster's nodes.
                start_new_session=True,
                close_fds=True,
            )
        self.paused = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    def running(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        """The end of this run's log (what the process printed since it started)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self.log_offset)
                text = f.read().decode("utf-8", "replace")
        except OSError as err:
            return f"(no log: {err})"
        return "\n".join(text.splitlines()[-lines:])

    def wait_serving(self, timeout: float) -> str:
        """Polls the log until the process prints "serving on ADDR"; returns ADDR. Raises
        DougDBError (with the log's tail) if it exits or stays silent past ``timeout``."""
        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            try:
                with open(self.log_path, "rb") as f:
                    f.seek(self.log_offset)
                    match = _SERVING.search(f.read())
            except OSError:
                match = None
            if match:
                return match.group(1).decode()
            code = self.proc.poll()
            if code is not None:
                raise DougDBError(
                    f"`dougdb {' '.join(self.argv[:3])}` exited with status {code} before "
                    f"serving; its log ({self.log_path}) ends with:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise DougDBError(
                    f"`dougdb {' '.join(self.argv[:3])}` did not start serving within "
                    f"{timeout:.0f} s; its log ({self.log_path}) ends with:\n{self.log_tail()}"
                )
            time.sleep(delay)  # polling a file against a deadline
            delay = min(delay * 2, 0.05)

    def signal(self, sig: int) -> None:
        if self.running():
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass

    def wait_paused(self, timeout: float = 5.0) -> None:
        """Polls until every thread of the process is stopped (after SIGSTOP). The signal
        is asynchronous: until the first thread takes it, the others run on, and on a busy
        machine that can take milliseconds; a pause is only in force once all stopped."""
        task_dir = f"/proc/{self.pid}/task"
        if not os.path.isdir(task_dir):
            return  # no procfs (not Linux): the signal is all we can do
        deadline = time.monotonic() + timeout
        delay = 0.0005
        while self.running():
            if all(_thread_state(task_dir, t) in ("T", "t", "Z", "X", None) for t in _tasks(task_dir)):
                return
            if time.monotonic() > deadline:
                raise DougDBError(
                    f"`dougdb {' '.join(self.argv[:3])}` (pid {self.pid}) did not stop "
                    f"within {timeout:.0f} s of SIGSTOP"
                )
            time.sleep(delay)  # polling /proc against a deadline
            delay = min(delay * 2, 0.01)

    def kill(self) -> None:
        """SIGKILL, then reap."""
        self.signal(signal.SIGKILL)
        self.proc.wait()
        self.paused = False

    def terminate(self) -> None:
        """Asks for a graceful stop (SIGTERM; SIGCONT first if paused)."""
        if self.paused:
            self.signal(signal.SIGCONT)
            self.paused = False
        self.signal(signal.SIGTERM)

    def wait_stopped(self, timeout: float) -> int | None:
        """Waits for the exit after :meth:`terminate`; SIGKILL past ``timeout``."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.proc.returncode

    def stop(self, timeout: float = 10.0) -> None:
        self.terminate()
        self.wait_stopped(timeout)


def kill_all(children: list[Child]) -> None:
    """Best effort, for finalizers: SIGKILL every child still running and reap it."""
    for child in children:
        try:
            if child.running():
                child.proc.kill()
            child.proc.wait(timeout=5)
        except Exception:  # noqa: BLE001, S110 - a finalizer must not raise
            pass


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports the OS had free a moment ago (bound on 127.0.0.1:0, read,
    closed). Another process may take one before our node binds it: callers retry."""
    import socket

    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def guard_child() -> None:
    """Called first in a child (``python -m dougdb node|facade``): dies with its parent."""
    parent = os.environ.get(PARENT_PID_ENV)
    if not parent:
        return
    try:
        parent_pid = int(parent)
    except ValueError:
        return
    if os.environ.get(PDEATHSIG_ENV) == "1" and sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before we got here
        os.kill(os.getpid(), signal.SIGKILL)

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(0.2)  # a watchdog's period, not synchronisation

    threading.Thread(target=watch, name="dougdb-parent-watch", daemon=True).start()


def _tasks(task_dir: str) -> list[str]:
    try:
        return os.listdir(task_dir)
    except OSError:
        return []


def _thread_state(task_dir: str, tid: str) -> str | None:
    """The state letter of one thread (None if it is gone)."""
    try:
        with open(os.path.join(task_dir, tid, "stat"), "rb") as f:
            stat = f.read().decode("ascii", "replace")
    except OSError:
        return None
    # "tid (comm) S ...": comm may hold spaces and parentheses; the state follows the last ")".
    rest = stat.rpartition(")")[2].split()
    return rest[0] if rest else None
