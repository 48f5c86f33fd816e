# The warm matplotlib server of visrl's chart renderer.
#
# Started by the pool inside the render sandbox (render/sandbox/jail.h) as
#   python3 -I -c <this file's text>
# with requests on fd 3 and responses on fd 4 (frames: 4-byte little-endian header length,
# JSON header, raw payload; see render/worker/protocol.h). It imports matplotlib and numpy
# once, then forks the zygote: a pristine copy of the warm interpreter that never reads a
# request or holds a result. Every job runs in a child of the zygote (forked twice, so that
# it becomes the server's child), which gets its request over a pipe only after the fork:
# no job can find another job's code, pixels or a reference in its memory. The child gets
# its own process group, rlimits, the job seccomp filter (sent by the pool in the first
# frame), only its own descriptors, a private working directory, neutralised
# show/savefig/close, seeded random generators, and saves the current figure at the
# requested size and DPI as raw RGBA, which it sends back over a pipe. After each job the
# server empties its temporary directory whatever the job did to it; where it cannot, it
# asks the pool to replace it.
import ctypes

# First: no process of ours can be read or written through /proc or ptrace, and none dumps
# core. Inherited by the zygote and every job.
ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0

import builtins
import errno
import fcntl
import gc
import io
import json
import os
import random
import resource
import select
import signal
import socket
import stat
import struct
import sys
import threading
import time
import traceback

REQUEST_FD, RESPONSE_FD = 3, 4
MAX_HEADER = 16 << 20


def read_exact(fd, n):
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(fd):
    (length,) = struct.unpack("<I", read_exact(fd, 4))
    if length > MAX_HEADER:
        raise ValueError("header too large")
    header = json.loads(read_exact(fd, length))
    payload = read_exact(fd, header.get("payload_bytes", 0))
    return header, payload


def encode_header(header, payload_bytes=0):
    if payload_bytes:
        header = dict(header, payload_bytes=payload_bytes)
    text = json.dumps(header, ensure_ascii=False).encode("utf-8", "replace")
    return struct.pack("<I", len(text)) + text


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_frame(fd, header, payload=b""):
    # Header and pixels written separately: a megabyte of pixels is never copied to join them.
    write_all(fd, encode_header(header, len(payload)))
    if payload:
        write_all(fd, payload)


def decode_frame(data):
    """(header, payload) of a frame in a bytearray; the payload is a view, not a copy."""
    (length,) = struct.unpack_from("<I", data)
    header = json.loads(bytes(data[4 : 4 + length]))
    payload = memoryview(data)[4 + length :]
    if len(payload) != header.get("payload_bytes", 0):
        raise ValueError("payload size mismatch")
    return header, payload


# --- seccomp -------------------------------------------------------------------------------
PR_SET_PDEATHSIG, PR_SET_SECCOMP, PR_SET_CHILD_SUBREAPER, SECCOMP_MODE_FILTER = 1, 22, 36, 2
LIBC = ctypes.CDLL(None, use_errno=True)


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install_job_filter(template, pid_slot):
    # The template's pid constant becomes this job's pid (sock_filter: u16 code, u8 jt,
    # u8 jf, u32 k).
    program = bytearray(template)
    for offset in range(0, len(program), 8):
        (k,) = struct.unpack_from("<I", program, offset + 4)
        if k == pid_slot:
            struct.pack_into("<I", program, offset + 4, os.getpid())
    buffer = ctypes.create_string_buffer(bytes(program), len(program))
    prog = SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    if LIBC.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        return ctypes.get_errno()
    return 0


# --- the warm interpreter ----------------------------------------------------------------
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.figure
import numpy as np

ORIGINAL_SAVEFIG = matplotlib.figure.Figure.savefig


def warm_up():
    # Everything a typical chart touches for the first time (font list, glyph and text
    # layout caches, the mathtext parser, log locators, colormaps, polar axes, tight layout)
    # is done here once: a job child would otherwise redo it on every chart, and pay the
    # copy-on-write faults of doing it in a fork. Trusted code; it leaves no figure behind
    # and does not touch rcParams.
    x = np.linspace(0.0, 1.0, 50)
    fig, axes = plt.subplots(2, 3)
    a = axes.flat
    a[0].bar(["a", "b"], [1, 2], yerr=[0.1, 0.2], label="bar")
    a[0].legend()
    a[0].set_title(r"$\alpha^2 + \beta_i$ (mathtext)")
    a[1].plot([1, 10, 100], [1, 100, 10000], "o-", label="log")
    a[1].set_xscale("log")
    a[1].set_yscale("log")
    a[1].grid(True)
    a[2].scatter(x, x**2, c=x, cmap="viridis", s=10)
    a[2].annotate("peak", xy=(0.5, 0.25), xytext=(0.2, 0.8), arrowprops=dict(arrowstyle="->"))
    image = a[3].imshow(np.arange(16.0).reshape(4, 4), cmap="coolwarm")
    fig.colorbar(image, ax=a[3])
    a[4].pie([1, 2, 3], labels=["x", "y", "z"], autopct="%1.1f%%")
    a[5].hist(x, bins=10, alpha=0.5)
    a[5].fill_between(x, x, alpha=0.3)
    a[5].twinx().plot(x, 1 - x, "--")
    a[5].boxplot([x, x * 2])
    a[5].errorbar(x[:5], x[:5], yerr=0.1, fmt="s")
    a[5].set_xlabel("x label")
    a[5].set_ylabel("y label")
    fig.suptitle("warm-up 0123456789")
    fig.tight_layout()
    ORIGINAL_SAVEFIG(fig, io.BytesIO(), format="rgba", dpi=100)
    polar = plt.figure()
    polar.add_subplot(projection="polar").plot(x * 6.28, x)
    polar.add_subplot(2, 2, 4).step(x, x)
    ORIGINAL_SAVEFIG(polar, io.BytesIO(), format="rgba", dpi=100)
    plt.close("all")
    matplotlib._pylab_helpers.Gcf.destroy_all()  # figure numbers start at 1 again


def enlarge_pipe(fd):
    # 1 MiB instead of 64 KiB: a 640x480 RGBA figure crosses in one go, not 19 round trips.
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)
    except (OSError, AttributeError):
        pass


def neutralise_pyplot():
    noop = lambda *args, **kwargs: None
    plt.show = noop
    plt.savefig = noop
    plt.close = noop
    plt.switch_backend = noop
    matplotlib.use = noop
    matplotlib.figure.Figure.savefig = noop
    matplotlib.figure.Figure.show = noop


def set_limits(request):
    cpu = int(request["cpu_s"] + 0.999)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    memory = request["memory_mb"] << 20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    size = request.get("max_file_mb", 64) << 20
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


def short_traceback(exc):
    # The exception line plus the line of the answer that raised it.
    lines = traceback.format_exception_only(type(exc), exc)
    where = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<answer>"]
    prefix = "line %d: " % where[-1].lineno if where else ""
    return prefix + "".join(lines).strip()


def run_answer(request):
    """Runs in the job child. Returns (status, reason, width, height, rgba bytes)."""
    code = request["code"]
    try:
        compiled = compile(code, "<answer>", "exec")
    except (SyntaxError, ValueError) as exc:  # ValueError: NUL bytes in the source
        return "syntax_error", short_traceback(exc), 0, 0, b""
    except (MemoryError, RecursionError) as exc:
        return "syntax_error", "the parser gave up: %s" % type(exc).__name__, 0, 0, b""
    neutralise_pyplot()
    np.random.seed(0)
    random.seed(0)
    scope = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec(compiled, scope)
    except SystemExit as exc:
        if exc.code not in (None, 0):
            return "runtime_error", "exit(%r)" % (exc.code,), 0, 0, b""
    except MemoryError:
        return "memory_limit", "MemoryError (address-space limit %d MiB)" % request["memory_mb"], 0, 0, b""
    except OSError as exc:
        if exc.errno == errno.EFBIG:
            return "output_limit", "file size limit exceeded", 0, 0, b""
        return "runtime_error", short_traceback(exc), 0, 0, b""
    except BaseException as exc:
        return "runtime_error", short_traceback(exc), 0, 0, b""
    try:
        fig = plt.gcf()
        dpi = request["dpi"]
        fig.set_size_inches(request["width_in"], request["height_in"])
        buffer = io.BytesIO()
        ORIGINAL_SAVEFIG(fig, buffer, format="rgba", dpi=dpi)
        width = int(round(request["width_in"] * dpi))
        height = int(round(request["height_in"] * dpi))
        pixels = buffer.getbuffer()
        if len(pixels) != width * height * 4:
            width, height = fig.canvas.get_width_height()
        return "ok", "", width, height, pixels
    except MemoryError:
        return "memory_limit", "MemoryError while saving the figure", 0, 0, b""
    except BaseException as exc:
        return "runtime_error", "saving the figure failed: " + short_traceback(exc), 0, 0, b""


# Writable private ranges of the server ([start, end) pairs), sent by the pool, which can
# read /proc/<pid>/maps from outside; the sandbox has no /proc. The zygote, forked from the
# server, has the same ranges.
PREFAULT_RANGES = []
MADV_POPULATE_WRITE = 23


class Prefaulter:
    """Takes a fresh fork's copy-on-write faults before its job arrives.

    A job child writes to a few thousand pages it shares with the zygote (reference counts,
    allocator pools); each write faults and copies the page, 4-5 us apiece on a VM, about
    12 ms a chart. This thread copies the writable memory ahead of time with
    madvise(MADV_POPULATE_WRITE), 1 MiB at a time, under SCHED_IDLE: it only uses a core
    nothing else wants, and stops as soon as the job arrives. Costs memory (the copies),
    never the job's time."""

    def __init__(self):
        self.stop = False
        self.thread = None
        if PREFAULT_RANGES:
            self.thread = threading.Thread(target=self.run, daemon=True)
            self.thread.start()

    def run(self):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            libc = ctypes.CDLL(None, use_errno=True)
            libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
            for start, end in PREFAULT_RANGES:
                for chunk in range(start, end, 1 << 20):
                    if self.stop:
                        return
                    libc.madvise(chunk, min(1 << 20, end - chunk), MADV_POPULATE_WRITE)
        except Exception:
            pass  # an optimisation only

    def finish(self):
        self.stop = True
        if self.thread:
            self.thread.join()


def open_descriptors():
    """Every open descriptor (the sandbox has no /proc to list them)."""
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    found = set()
    for fd in range(min(limit, 1 << 16)):
        try:
            os.fstat(fd)
            found.add(fd)
        except OSError:
            pass
    return found


def close_all_but(keep):
    """Closes every descriptor above 2 that is not in `keep`."""
    start = 3
    for fd in sorted(f for f in keep if f >= 3) + [1 << 16]:
        os.closerange(start, fd)
        start = fd + 1


def job_child(job_r, result_w, output_w, job_filter, pid_slot, warm_fds, server_pid):
    """A zygote's grandchild, the server's child: waits for its job, runs it, exits."""
    try:
        os.setpgid(0, 0)
        # Only this job's pipes and the zygote's warm descriptors stay open: matplotlib keeps
        # font files open and reads them lazily. Nothing of the server or of other jobs was
        # ever here to inherit.
        close_all_but(warm_fds | {job_r, result_w, output_w})
        prefaulter = Prefaulter()
        try:
            request, _ = read_frame(job_r)
        except EOFError:
            os._exit(0)  # the server is gone or shutting down
        # The server wrote the request after the zygote reaped our first parent, so we are
        # the server's child now: die with it (a parent-death signal set earlier would have
        # fired when the first parent exited).
        LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != server_pid:
            os._exit(0)
        prefaulter.finish()  # the job runs alone
        os.close(job_r)
        os.dup2(output_w, 1)
        os.dup2(output_w, 2)
        os.close(output_w)
        sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
        sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
        os.chdir(request["job_dir"])
        set_limits(request)
        if job_filter:  # sent only where the kernel has seccomp: never run without it
            if install_job_filter(job_filter, pid_slot) != 0:
                os._exit(120)
        result = run_answer(request)
        status, reason, width, height, pixels = result
        write_frame(
            result_w,
            {"status": status, "reason": reason[-2000:], "width": width, "height": height, "channels": 4},
            pixels,
        )
    except MemoryError:
        os._exit(122)
    except BaseException:
        os._exit(121)
    os._exit(0)


# --- the zygote ----------------------------------------------------------------------------
# Commands on its socket: b"spawn" (answer: the child's pid as 4 bytes with its result read
# end, output read end and job write end attached, or b"x" when fork failed) and
# b"prefault" + JSON ranges (no answer).


def zygote_main(sock, job_filter, pid_slot):
    """Forks job children on request, forever; never sees a request or a result."""
    server_pid = os.getppid()
    LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != server_pid:
        os._exit(0)
    os.close(REQUEST_FD)
    os.close(RESPONSE_FD)
    warm_fds = open_descriptors() - {0, 1, 2, sock.fileno()}
    while True:
        try:
            command = sock.recv(1 << 20)
        except OSError:
            os._exit(0)
        if not command:
            os._exit(0)  # the server is gone
        if command.startswith(b"prefault"):
            PREFAULT_RANGES[:] = [tuple(r) for r in json.loads(command[len(b"prefault"):])]
            continue
        try:
            answer = spawn_job_child(sock, job_filter, pid_slot, warm_fds, server_pid)
        except OSError:
            answer = (b"x", [])  # out of processes or descriptors: the server asks again
        try:
            socket.send_fds(sock, [answer[0]], answer[1])
        except OSError:
            os._exit(0)
        for fd in answer[1]:
            os.close(fd)


def spawn_job_child(sock, job_filter, pid_slot, warm_fds, server_pid):
    """Forks a job child through a short-lived middle process, so that it is orphaned and
    adopted by the server (PID 1 of the namespace, or a child subreaper), which can then
    wait for it and read its resource usage. Returns (pid bytes, the server's pipe ends)."""
    result_r, result_w = os.pipe()
    enlarge_pipe(result_w)
    output_r, output_w = os.pipe()
    job_r, job_w = os.pipe()
    pid_r, pid_w = os.pipe()
    middle = os.fork()
    if middle == 0:
        try:
            sock.close()
            for fd in (result_r, output_r, job_w, pid_r):
                os.close(fd)
            child = os.fork()
            if child == 0:
                os.close(pid_w)
                job_child(job_r, result_w, output_w, job_filter, pid_slot, warm_fds, server_pid)
            os.write(pid_w, struct.pack("<i", child))
        finally:
            os._exit(0)
    for fd in (result_w, output_w, job_r, pid_w):
        os.close(fd)
    try:
        data = read_exact(pid_r, 4)  # EOF without a pid: the second fork failed
    except EOFError:
        data = None
    os.close(pid_r)
    os.waitpid(middle, 0)  # from here on the child is the server's
    if data is None:
        for fd in (result_r, output_r, job_w):
            os.close(fd)
        raise OSError(errno.EAGAIN, "fork failed")
    return data, [result_r, output_r, job_w]


class Zygote:
    """The server's handle on its zygote."""

    def __init__(self, job_filter, pid_slot):
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.pid = os.fork()
        if self.pid == 0:
            self.sock.close()
            zygote_main(theirs, job_filter, pid_slot)
            os._exit(0)
        theirs.close()
        self.requested = 0

    def configure_prefault(self, ranges):
        self.sock.send(b"prefault" + json.dumps(ranges).encode())

    def request_spare(self):
        """Asks for a job child; it forks while the current job runs."""
        self.sock.send(b"spawn")
        self.requested += 1

    def take_spare(self):
        """The next job child. Where fork failed (the job that ran meanwhile held every
        process slot of the worker), asks again: that job is gone now."""
        for _ in range(3):
            if self.requested == 0:
                self.request_spare()
            data, fds, _, _ = socket.recv_fds(self.sock, 64, 3)
            self.requested -= 1
            if len(data) == 4 and len(fds) == 3:
                (pid,) = struct.unpack("<i", data)
                return Spare(pid, *fds)
            for fd in fds:
                os.close(fd)
            if not data:
                raise RuntimeError("the zygote died")
        raise RuntimeError("the zygote could not fork a job child")


class Spare:
    """A job child forked before its job arrives, so that neither the fork nor (with
    Prefaulter) its copy-on-write faults are on the job's clock; it gets the job over a
    pipe."""

    def __init__(self, pid, result_r, output_r, job_w):
        self.pid, self.result_r, self.output_r, self.job_w = pid, result_r, output_r, job_w
        self.pidfd = os.pidfd_open(pid)

    def start(self, request):
        """Hands the job over; False if the spare died in the meantime."""
        try:
            write_frame(self.job_w, request)
            return True
        except OSError:
            return False
        finally:
            os.close(self.job_w)
            self.job_w = -1

    def discard(self):
        """Kills the child and closes its pipes; safe to call more than once."""
        if self.pid is None:
            return
        kill_job(self.pid)
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        for fd in (self.result_r, self.output_r, self.pidfd, self.job_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self.pid = None


def kill_job(pid):
    for kill in (os.killpg, os.kill):  # the group, and the job itself whatever its group
        try:
            kill(pid, signal.SIGKILL)
        except OSError:
            pass


def reap_dead_children(keep):
    """Reaps every exited child but `keep` (the zygote): what a job without the seccomp
    filter may have forked."""
    while True:
        try:
            result = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if result is None or result.si_pid == keep:
            return
        os.waitpid(result.si_pid, 0)


STATUSES = {"ok", "syntax_error", "runtime_error", "timeout", "memory_limit", "output_limit"}


def signal_name(number):
    try:
        return signal.Signals(number).name
    except ValueError:
        return "signal %d" % number


def checked_result(result, exit_code, request):
    """The job child's result frame, rebuilt from checked fields: the child ran untrusted
    code and may have written anything to its pipe. An image must have the requested size
    (matplotlib rounds it to within a pixel)."""
    try:
        header, payload = decode_frame(result)
        status, reason = header["status"], header["reason"]
        width, height = header["width"], header["height"]
        if status not in STATUSES or not isinstance(reason, str):
            raise ValueError("bad status")
        if status != "ok":
            return {"status": status, "reason": reason[-2000:]}, b""
        want_width = request["width_in"] * request["dpi"]
        want_height = request["height_in"] * request["dpi"]
        if not (isinstance(width, int) and isinstance(height, int)):
            raise ValueError("bad size")
        if abs(width - want_width) > 1 or abs(height - want_height) > 1 or width <= 0 or height <= 0:
            raise ValueError("bad size")
        if len(payload) != width * height * 4:
            raise ValueError("bad payload")
        return {"status": "ok", "reason": "", "width": width, "height": height, "channels": 4}, payload
    except Exception:
        reasons = {120: "seccomp filter could not be installed", 122: "out of memory"}
        status = "memory_limit" if exit_code == 122 else "runtime_error"
        return {"status": status, "reason": reasons.get(exit_code, "no valid result (exit code %d)" % exit_code)}, b""


# --- the temporary directory ---------------------------------------------------------------
TMP = os.environ.get("TMPDIR", "/tmp")


def remove_tree_contents(top):
    """Empties `top` whatever a job did to it: directories without write or search bits (the
    job's uid is ours, so we may chmod them back), trees deeper than any descriptor limit
    (at most three descriptors are open at once: the walk climbs back up through ".."),
    symbolic links (removed, never followed). Raises OSError when something stays."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    # [(names left in this directory, this directory's name in its parent)], deepest last.
    stack = [(list_entries(fd), None)]
    try:
        while stack:
            names, own_name = stack[-1]
            if names:
                name, is_dir = names.pop()
                if not is_dir:
                    try:
                        os.unlink(name, dir_fd=fd)
                    except FileNotFoundError:
                        pass
                    continue
                try:
                    os.rmdir(name, dir_fd=fd)
                    continue
                except OSError:
                    pass
                os.chmod(name, 0o700, dir_fd=fd)  # a directory, not a link: the job is gone
                child = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                os.close(fd)
                fd = child
                stack.append((list_entries(fd), name))
                continue
            stack.pop()
            if own_name is None:
                break
            parent = os.open("..", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = parent
            os.rmdir(own_name, dir_fd=fd)
    finally:
        os.close(fd)


def list_entries(fd):
    with os.scandir(fd) as entries:
        return [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]


class TmpDir:
    """The worker's private temporary directory (a tmpfs of its own at the namespaces
    level, the pool's directory for this worker below it), emptied after every job."""

    def __init__(self):
        self.mode = stat.S_IMODE(os.stat(TMP).st_mode)

    def wipe(self):
        """"" when the directory is empty and as it was, else why not (the worker must go)."""
        try:
            if stat.S_IMODE(os.stat(TMP).st_mode) != self.mode:
                os.chmod(TMP, self.mode)
            remove_tree_contents(TMP)
            left = os.listdir(TMP)
            return "left in %s: %s" % (TMP, ", ".join(left[:3])) if left else ""
        except OSError as exc:
            return "emptying %s: %s" % (TMP, exc)


def run_job(request, job_number, zygote, job_filter, tmp):
    start = time.monotonic()
    deadline = start + request["timeout_s"]
    max_output = request["max_output_bytes"]
    job_dir = os.path.join(TMP, "job-%d" % job_number)
    os.mkdir(job_dir, 0o700)
    request = dict(request, job_dir=job_dir)
    spare = zygote.take_spare()
    while not spare.start(request):
        spare.discard()
        spare = zygote.take_spare()
    # The next job's child, forked now: it prefaults on an idle core while this job runs.
    zygote.request_spare()
    pid, pidfd, result_r, output_r = spare.pid, spare.pidfd, spare.result_r, spare.output_r
    result, tail, total = bytearray(), bytearray(), 0
    timed_out = output_exceeded = exited = False
    open_fds = {result_r, output_r}
    max_result = MAX_HEADER + request.get("max_pixels_bytes", 512 << 20)
    while open_fds or not exited:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        watch = list(open_fds) + ([] if exited else [pidfd])
        ready, _, _ = select.select(watch, [], [], left)
        for fd in ready:
            if fd == pidfd:
                exited = True
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                open_fds.discard(fd)
            elif fd == result_r:
                result += chunk
                if len(result) > max_result:
                    output_exceeded = True
            else:
                total += len(chunk)
                tail += chunk
                if len(tail) > 8192:
                    del tail[:-4096]
                if total > max_output:
                    output_exceeded = True
        if output_exceeded:
            break
    kill_job(pid)
    _, status, usage = os.wait4(pid, 0)
    spare.pid = None  # reaped; its descriptors are closed below
    if not job_filter:
        reap_dead_children(zygote.pid)
    for fd in (result_r, output_r, pidfd):
        os.close(fd)
    unclean = tmp.wipe()

    execute_ms = (time.monotonic() - start) * 1000
    output = tail.decode("utf-8", "replace")[-2000:]
    cpu_s = usage.ru_utime + usage.ru_stime
    pixels = b""
    if timed_out:
        header = {"status": "timeout", "reason": "wall-clock deadline of %g s exceeded" % request["timeout_s"]}
    elif output_exceeded:
        header = {"status": "output_limit", "reason": "output exceeded %d bytes" % max_output}
    elif os.WIFSIGNALED(status) and (
        os.WTERMSIG(status) == signal.SIGXCPU or (os.WTERMSIG(status) == signal.SIGKILL and cpu_s >= request["cpu_s"])
    ):
        header = {"status": "timeout", "reason": "CPU limit of %g s exceeded" % request["cpu_s"]}
    elif os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXFSZ:
        header = {"status": "output_limit", "reason": "file size limit exceeded"}
    elif os.WIFSIGNALED(status):
        header = {"status": "runtime_error", "reason": "killed by %s" % signal_name(os.WTERMSIG(status))}
    else:
        header, pixels = checked_result(result, os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1, request)
    if header["status"] != "ok" and output and output not in header["reason"]:
        header["reason"] = (header["reason"] + "; output: " + output).lstrip("; ")
    header["execute_ms"] = execute_ms
    if unclean:
        header["retire"] = "the job's temporary files could not be removed (%s)" % unclean
    return header, pixels


def main():
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    init, _ = read_frame(REQUEST_FD)
    job_filter = bytes.fromhex(init.get("job_filter_hex", ""))
    pid_slot = init.get("pid_slot", 0)
    enlarge_pipe(RESPONSE_FD)
    # Job children are orphaned on purpose (see spawn_job_child): adopt them. PID 1 of a
    # namespace does anyway.
    LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    warm_up()
    # Move everything alive now out of the collector's reach: a collection in a job child
    # would otherwise write to every object and copy their pages.
    gc.collect()
    gc.freeze()
    tmp = TmpDir()
    tmp.wipe()  # what the warm-up wrote (matplotlib's font cache): every job starts from empty
    zygote = Zygote(job_filter, pid_slot)  # before the first request: it never sees one
    ready = {"ready": True, "python": sys.version.split()[0], "matplotlib": matplotlib.__version__,
             "numpy": np.__version__}
    write_frame(RESPONSE_FD, ready)
    zygote.request_spare()  # the first job's child
    job_number = 0
    while True:
        try:
            request, _ = read_frame(REQUEST_FD)
        except EOFError:
            return
        if "prefault_ranges" in request:  # configuration, no answer
            zygote.configure_prefault(request["prefault_ranges"])
            continue
        job_number += 1
        try:
            header, pixels = run_job(request, job_number, zygote, job_filter, tmp)
        except Exception as exc:
            header, pixels = {"status": "runtime_error", "reason": "chart server: %r" % (exc,)}, b""
            header["retire"] = "chart server error: %r" % (exc,)
        write_frame(RESPONSE_FD, header, pixels)
        if "retire" in header:
            return  # the pool starts another worker


main()
