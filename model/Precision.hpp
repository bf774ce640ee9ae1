#pragma once
// Numeric precision and device of inference, and what this CPU offers for them. No LibTorch here,
// so that config parsing can validate the keys without paying for torch headers.
//
// precision = fp32 | bf16 | auto
//   fp32  float32 weights and activations (NCHW).
//   bf16  bfloat16 weights and channels-last activations (oneDNN). Native and fast on CPUs with
//         AVX512-BF16 or AMX-BF16; elsewhere oneDNN emulates it (runs, but slower than fp32).
//   auto  bf16 where the CPU has AVX512-BF16 or AMX-BF16, fp32 elsewhere. The rule comes from
//         measurements: on Sapphire Rapids (AMX) bf16 channels-last is ~3x faster than fp32;
//         on an AVX-512 CPU without BF16 (this project's Ice Lake-class machine) bf16 is slower
//         than fp32. SATSAL_CPU_NO_BF16=1 in the environment makes auto act as if the CPU had
//         no BF16 support (tests of the fallback).
// device = cpu | cuda | cuda:N
//
// Thread rules: all functions are re-entrant; detect_cpu_features() reads cpuid once per call.
#include <string>

namespace satsal {

enum class Precision { Fp32, Bf16, Auto };

/// "fp32", "bf16", "auto". Throws std::invalid_argument naming the value and the choices.
Precision parse_precision(const std::string& name);
std::string precision_name(Precision precision);

struct CpuFeatures {
    bool avx512f = false;
    bool avx512_bf16 = false;
    bool amx_bf16 = false;     // AMX tiles with BF16, enabled by the OS (XCR0)
    bool bf16_disabled = false;  // SATSAL_CPU_NO_BF16 set to a non-empty value other than 0
    /// Native BF16 arithmetic usable (AVX512-BF16 or AMX-BF16, and not disabled).
    bool native_bf16() const { return !bf16_disabled && (avx512_bf16 || amx_bf16); }
    /// "avx512f avx512_bf16 amx_bf16" as far as present, plus "(bf16 disabled by SATSAL_CPU_NO_BF16)".
    std::string text() const;
};

/// cpuid + xgetbv on x86-64 (nothing elsewhere), and the SATSAL_CPU_NO_BF16 variable.
CpuFeatures detect_cpu_features();

struct PrecisionChoice {
    Precision precision = Precision::Fp32;  // never Auto
    std::string reason;                     // one sentence, for run reports
};

/// What `requested` means on a CPU with `cpu`: auto becomes bf16 or fp32 by the rule above;
/// bf16 stays bf16 (the reason says when it is emulated); fp32 stays fp32.
PrecisionChoice resolve_precision(Precision requested, const CpuFeatures& cpu);

struct DeviceSpec {
    bool cuda = false;
    int index = -1;  // -1: the current CUDA device
    std::string text() const;  // "cpu", "cuda", "cuda:1"
};

/// "cpu", "cuda", "cuda:N" (N >= 0). Throws std::invalid_argument naming the value.
DeviceSpec parse_device(const std::string& name);

}  // namespace satsal
