# Prepended to a chart job by job_isolation_test.cpp: counts needles in every byte of the
# job's readable memory. The sandbox has no /proc, so the mappings are found by probing:
# mmap(MAP_FIXED_NOREPLACE) of PROT_NONE space fails where anything is mapped (bisected from
# large probes down to 16 MiB windows, then mincore() page by page), and each mapped page is
# read by writing it into a pipe (EFAULT, not a crash, where it is unreadable). A needle is
# given as two halves that are never joined, so the search itself plants no copy of it.
import ctypes
import fcntl
import mmap
import os
import resource

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
_libc.write.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
_libc.write.restype = ctypes.c_ssize_t
_PAGE = mmap.PAGESIZE
_PROBE_FLAGS = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x4000 | 0x100000  # NORESERVE, FIXED_NOREPLACE
_vec = ctypes.create_string_buffer(1)


def _nothing_mapped(addr, size):
    got = _libc.mmap(addr, size, 0, _PROBE_FLAGS, -1, 0)
    if got is None or got == ctypes.c_void_p(-1).value:
        return False  # EEXIST: something is there (ENOMEM: look closer all the same)
    _libc.munmap(got, size)
    return got == addr


def mapped_ranges(top=1 << 47, fine=1 << 24):
    # The largest probe the address-space limit leaves room for.
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    probe = 1 << 32 if limit == resource.RLIM_INFINITY or limit >= 6 << 30 else 1 << 28
    ranges = []

    def visit(lo, hi, size):
        for addr in range(lo, hi, size):
            if addr and _nothing_mapped(addr, size):
                continue
            if size > fine:
                visit(addr, addr + size, max(size // 16, fine))
                continue
            for page in range(max(addr, _PAGE), addr + size, _PAGE):
                if _libc.mincore(page, _PAGE, _vec) == 0:
                    if ranges and ranges[-1][1] == page:
                        ranges[-1][1] = page + _PAGE
                    else:
                        ranges.append([page, page + _PAGE])

    visit(0, top, probe)
    return ranges


def readable_chunks(ranges, chunk=1 << 20):
    r, w = os.pipe()
    fcntl.fcntl(w, 1031, chunk)  # F_SETPIPE_SZ
    try:
        for lo, hi in ranges:
            addr = lo
            while addr < hi:
                n = _libc.write(w, addr, min(chunk, hi - addr))
                if n <= 0:
                    addr += _PAGE  # not readable
                    continue
                data = os.read(r, n)
                while len(data) < n:
                    data += os.read(r, n - len(data))
                yield data
                addr += n
    finally:
        os.close(r)
        os.close(w)


def count_needles(halves):
    """[(first half, second half)] -> (occurrences of each whole needle, bytes scanned)."""
    hits, scanned = [0] * len(halves), 0
    for data in readable_chunks(mapped_ranges()):
        scanned += len(data)
        for k, (a, b) in enumerate(halves):
            i = data.find(a)
            while i >= 0:
                if data[i + len(a) : i + len(a) + len(b)] == b:
                    hits[k] += 1
                i = data.find(a, i + 1)
    return hits, scanned
