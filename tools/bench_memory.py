"""Memory the benchmarks report: what is in use now, and a peak that can be restarted for
the timed calls (CUDA's allocator counters, else the process's resident set from /proc)."""

from __future__ import annotations

import torch


def memory_now(device: str) -> int:
    """Bytes in use now: CUDA allocated (its peak counter reset), or the resident set."""
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        return torch.cuda.memory_allocated()
    return status_bytes("VmRSS")


def reset_peak(device: str) -> bool:
    """Start a new peak for the timed calls; False where the kernel does not allow it (the
    peak is then the whole process's, loading included)."""
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        return True
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # VmHWM := VmRSS
        return True
    except OSError:
        return False


def peak_memory(device: str) -> int:
    """Bytes at the peak since the last reset."""
    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated()
    return status_bytes("VmHWM")


def status_bytes(field: str) -> int:
    """A memory field of /proc/self/status (reported in KiB), in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")
