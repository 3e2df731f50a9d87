// glibc's cache probe, answered from one walk of CPUID leaf 4.
//
// Every glibc start on an Intel CPU asks its handle_intel() twelve times for
// a cache parameter (L1i size ... L4 size), and each call runs CPUID leaf 2
// and walks leaf 4 from the start again: ~45 `cpuid`s. Under this VM each is
// a VM exit of ~6.5 us: ~0.3 ms of every glassrun command, a seventh of an
// `exec` (docs/BENCHMARKS.md, session 9). No tunable skips it.
//
// The static glassrun (and glasstrace) has those twelve calls pointed at
// glassrun_glibc_handle_intel_entry after linking (runtime/tools/
// glibc_cacheinfo_patch.py, which checks the exact shape of each call site
// and leaves the binary as built when anything differs). The entry reads
// leaf 2 and walks leaf 4 once, then answers each name the way glibc's own
// code would, and hands every case it does not model (legacy leaf-2
// descriptors, more than one leaf-2 round, ...) to glibc's original
// function, whose address the patch stores. Same answers; here 7 `cpuid`s
// instead of 45.
//
// It runs inside glibc's start-up, before TLS and IFUNCs are set up: the
// .cpp is freestanding like early_reexec.cpp (no libc call, no stack
// protector, no vector registers).
#pragma once

#include <cstdint>

namespace glassrun::cacheinfo {

// One subleaf of CPUID leaf 4 (deterministic cache parameters).
struct Leaf4 {
  std::uint32_t eax, ebx, ecx;
};

// What glibc's handle_intel(name) returns, for `name` one of
// _SC_LEVEL1_ICACHE_SIZE ... _SC_LEVEL4_CACHE_LINESIZE, given CPUID leaf 2's
// registers and leaf 4's subleaves up to (not including) the first of type 0
// (`complete`: that subleaf was seen). Modelled is only the common case of
// today's Intel CPUs: leaf 2 says "see leaf 4" (descriptor 0xff), and leaf 4
// has the cache asked for or (with glibc 2.36) has not. Elsewhere *known is
// false and the value is 0.
long handle_intel(int name, const std::uint32_t leaf2[4], const Leaf4* leaf4, int subleaves, bool complete,
                  bool* known) noexcept;

}  // namespace glassrun::cacheinfo

extern "C" {
// The call target the patch installs: keeps every register but rax, as
// glibc's caller may assume of its local function.
void glassrun_glibc_handle_intel_entry();
// glibc's own handle_intel, stored by the patch (kUnpatched until then).
extern volatile std::uintptr_t glassrun_glibc_handle_intel_original;
}

namespace glassrun::cacheinfo {
inline constexpr std::uintptr_t kUnpatched = 0x676c61737372756eULL;  // "glassrun"
}
