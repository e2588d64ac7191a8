"""One core's theoretical FP32 peak: what no product can beat, beside the floor's rate.

peak = FMA units x SIMD lanes x 2 (an FMA is a multiply and an add) x clock. The lanes
come from the CPU's flags (AVX-512: 16 float32 lanes, AVX2 with FMA: 8, SSE: 4), the
clock from the kernel's maximum frequency where it is readable, else the "cpu MHz" line
of /proc/cpuinfo (the current clock, which may sit below the turbo clock). The number of
FMA units is an assumption, not read from the machine: 2 where AVX2 or AVX-512 is
present (most server cores since Haswell; some AVX-512 parts have one 512-bit unit), 1
otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
MAX_FREQ = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")  # kHz


@dataclass(frozen=True)
class Peak:
    gflops: float | None  # one core's FP32 peak, GFLOP/s; None where unknown
    reason: str  # how it was worked out, or why it is unknown

    def describe(self) -> str:
        if self.gflops is None:
            return f"one core's FP32 FMA peak unknown ({self.reason})"
        return f"one core's FP32 FMA peak {self.gflops:.0f} GFLOP/s ({self.reason})"


def _first(cpuinfo: str, key: str) -> str | None:
    """The value of the first `key : value` line of a cpuinfo text."""
    for line in cpuinfo.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() == key:
            return value.strip()
    return None


def simd(flags: set[str]) -> tuple[str, int, int] | None:
    """(instruction set, float32 lanes, FMA units assumed) of the widest vector unit."""
    if "avx512f" in flags:
        return "AVX-512", 16, 2
    if "avx2" in flags and "fma" in flags:
        return "AVX2+FMA", 8, 2
    if "sse" in flags:
        return "SSE", 4, 1
    return None


def fma_peak(cpuinfo: str, max_freq_khz: str | None = None) -> Peak:
    """One core's peak from a /proc/cpuinfo text and the text of cpuinfo_max_freq (kHz),
    where there is one."""
    flags = _first(cpuinfo, "flags")
    if flags is None:
        return Peak(None, "no flags line in /proc/cpuinfo")
    unit = simd(set(flags.split()))
    if unit is None:
        return Peak(None, "no SSE, AVX2+FMA or AVX-512 in the CPU's flags")
    name, lanes, units = unit
    try:
        mhz, clock = float(max_freq_khz) / 1000.0, "maximum clock"
    except (TypeError, ValueError):
        try:
            mhz, clock = float(_first(cpuinfo, "cpu MHz")), "current clock from cpu MHz"
        except (TypeError, ValueError):
            return Peak(None, f"{name}, but no clock in cpuinfo_max_freq or /proc/cpuinfo")
    if mhz <= 0:
        return Peak(None, f"{name}, but the clock reads {mhz:g} MHz")
    gflops = units * lanes * 2 * mhz / 1000.0
    return Peak(
        gflops, f"{name}: {units} FMA units (assumed) x {lanes} lanes x 2 x {mhz / 1000:.2f} GHz {clock}"
    )


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def core_peak() -> Peak:
    """This machine's one-core FP32 peak (Linux); None with a reason elsewhere."""
    cpuinfo = _read(CPUINFO)
    if cpuinfo is None:
        return Peak(None, f"{CPUINFO} is not readable")
    return fma_peak(cpuinfo, _read(MAX_FREQ))
