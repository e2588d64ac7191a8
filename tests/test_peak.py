"""One core's FP32 FMA peak, from made-up /proc/cpuinfo texts (no machine is read here)."""

from __future__ import annotations

import pytest

from sinelstm.perf.peak import fma_peak

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9B14
cpu MHz\t\t: 2600.000
flags\t\t: fpu sse sse2 ssse3 fma sse4_1 avx avx2 avx512f avx512dq
"""


def test_avx512_with_the_kernels_maximum_clock():
    # 2 FMA units x 16 lanes x 2 FLOPs x 3.7 GHz (3700000 kHz) = 236.8 GFLOP/s.
    peak = fma_peak(CPUINFO, "3700000\n")
    assert peak.gflops == pytest.approx(236.8)
    assert "AVX-512" in peak.reason and "assumed" in peak.reason and "maximum clock" in peak.reason


def test_avx2_at_the_cpuinfo_clock_where_there_is_no_maximum():
    # No cpuinfo_max_freq: 2 x 8 lanes x 2 x 2.6 GHz (cpu MHz) = 83.2 GFLOP/s.
    avx2 = CPUINFO.replace(" avx512f avx512dq", "")
    peak = fma_peak(avx2, None)
    assert peak.gflops == pytest.approx(83.2)
    assert "cpu MHz" in peak.reason


def test_avx2_without_fma_falls_back_to_sse():
    # 1 unit x 4 lanes x 2 x 2.6 GHz = 20.8 GFLOP/s.
    old = CPUINFO.replace(" fma", "").replace(" avx512f avx512dq", "")
    assert fma_peak(old, "garbage").gflops == pytest.approx(20.8)


@pytest.mark.parametrize(
    "text, why",
    [
        ("processor\t: 0\ncpu MHz\t: 2600\n", "no flags line"),
        ("flags\t: fpu neon\ncpu MHz\t: 2600\n", "no SSE"),
        ("flags\t: sse avx2 fma\n", "no clock"),
    ],
)
def test_unknown_is_none_with_a_reason(text, why):
    peak = fma_peak(text, None)
    assert peak.gflops is None and why in peak.reason
    assert "unknown" in peak.describe()
