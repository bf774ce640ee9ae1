#include "model/Precision.hpp"

#include <cstdlib>
#include <stdexcept>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#define SATSAL_HAVE_CPUID 1
#endif

namespace satsal {

Precision parse_precision(const std::string& name) {
    if (name == "fp32") return Precision::Fp32;
    if (name == "bf16") return Precision::Bf16;
    if (name == "auto") return Precision::Auto;
    throw std::invalid_argument("precision '" + name + "' is not one of fp32, bf16, auto");
}

std::string precision_name(Precision precision) {
    switch (precision) {
        case Precision::Fp32: return "fp32";
        case Precision::Bf16: return "bf16";
        case Precision::Auto: return "auto";
    }
    return "?";
}

std::string CpuFeatures::text() const {
    std::string out;
    const auto add = [&out](bool present, const char* name) {
        if (present) out += (out.empty() ? "" : " ") + std::string(name);
    };
    add(avx512f, "avx512f");
    add(avx512_bf16, "avx512_bf16");
    add(amx_bf16, "amx_bf16");
    if (out.empty()) out = "no AVX-512";
    if (bf16_disabled) out += " (bf16 disabled by SATSAL_CPU_NO_BF16)";
    return out;
}

CpuFeatures detect_cpu_features() {
    CpuFeatures cpu;
#ifdef SATSAL_HAVE_CPUID
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 27))) {  // OSXSAVE
        unsigned xcr0_lo = 0, xcr0_hi = 0;
        __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
        const bool avx512_state = (xcr0_lo & 0xE6u) == 0xE6u;     // XMM, YMM, opmask, ZMM
        const bool amx_state = (xcr0_lo & 0x60000u) == 0x60000u;  // XTILECFG, XTILEDATA
        if (__get_cpuid_max(0, nullptr) >= 7) {
            __cpuid_count(7, 0, eax, ebx, ecx, edx);
            cpu.avx512f = avx512_state && (ebx & (1u << 16));
            cpu.amx_bf16 = amx_state && (edx & (1u << 22)) && (edx & (1u << 24));  // AMX-BF16, AMX-TILE
            __cpuid_count(7, 1, eax, ebx, ecx, edx);
            cpu.avx512_bf16 = cpu.avx512f && (eax & (1u << 5));
        }
    }
#endif
    const char* disabled = std::getenv("SATSAL_CPU_NO_BF16");
    cpu.bf16_disabled = disabled != nullptr && *disabled != '\0' && std::string(disabled) != "0";
    return cpu;
}

PrecisionChoice resolve_precision(Precision requested, const CpuFeatures& cpu) {
    PrecisionChoice choice;
    switch (requested) {
        case Precision::Fp32:
            choice.precision = Precision::Fp32;
            choice.reason = "fp32 requested";
            break;
        case Precision::Bf16:
            choice.precision = Precision::Bf16;
            choice.reason = cpu.native_bf16()
                                ? "bf16 requested; the CPU has native BF16 (" + cpu.text() + ")"
                                : "bf16 requested; the CPU has no usable native BF16 (" + cpu.text() +
                                      "), so oneDNN emulates it (expect it slower than fp32)";
            break;
        case Precision::Auto:
            if (cpu.native_bf16()) {
                choice.precision = Precision::Bf16;
                choice.reason = "auto: bf16, the CPU has native BF16 (" + cpu.text() + ")";
            } else {
                choice.precision = Precision::Fp32;
                choice.reason = "auto: fp32, the CPU has no usable native BF16 (" + cpu.text() +
                                "); emulated bf16 is slower than fp32";
            }
            break;
    }
    return choice;
}

std::string DeviceSpec::text() const {
    if (!cuda) return "cpu";
    return index < 0 ? "cuda" : "cuda:" + std::to_string(index);
}

DeviceSpec parse_device(const std::string& name) {
    DeviceSpec device;
    if (name == "cpu") return device;
    if (name == "cuda") {
        device.cuda = true;
        return device;
    }
    if (name.rfind("cuda:", 0) == 0 && name.size() > 5 && name.size() <= 8 &&
        name.find_first_not_of("0123456789", 5) == std::string::npos) {
        device.cuda = true;
        device.index = std::stoi(name.substr(5));
        return device;
    }
    throw std::invalid_argument("device '" + name + "' is not one of cpu, cuda, cuda:N (N = 0, 1, ...)");
}

}  // namespace satsal
