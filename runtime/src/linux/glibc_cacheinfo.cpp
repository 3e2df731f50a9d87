// Freestanding: see glibc_cacheinfo.h for where this runs, and why.
#include "linux/glibc_cacheinfo.h"

#include <unistd.h>  // the _SC_ names only

#define EARLY __attribute__((no_stack_protector, no_sanitize("address", "undefined")))

namespace glassrun::cacheinfo {

namespace {

// glibc's rel_name: the name relative to L1i size; the _SC_ constants run
// SIZE, ASSOC, LINESIZE per cache, so rel / 3 * 3 is the cache's SIZE.
constexpr int rel(int name) { return name - _SC_LEVEL1_ICACHE_SIZE; }

// Leaf-2 descriptor bytes that glibc's intel_check_word passes over: 0 (no
// descriptor) and 0xf0-0xfe (prefetch and TLB descriptors, above every
// entry of glibc's cache table). 0x40 and 0x49 have their own rules, and
// any other byte may be in glibc's table: those are not modelled.
EARLY bool passed_over(std::uint32_t byte) { return byte == 0 || (byte >= 0xf0 && byte <= 0xfe); }

enum { kData = 1, kInstruction = 2 };  // leaf 4's cache types

#if __GLIBC__ == 2 && __GLIBC_MINOR__ == 36
constexpr long kNoSuchCache = -1;
#else
constexpr long kNoSuchCache = 0;  // not modelled
#endif

// Descriptor 0xff: "leaf 4 has it all", glibc's walk of it for one name.
EARLY long from_leaf4(int name, const Leaf4* leaf4, int subleaves) {
  int folded = rel(name) / 3 * 3;
  for (int i = 0; i < subleaves; ++i) {
    std::uint32_t type = leaf4[i].eax & 0x1f, level = (leaf4[i].eax >> 5) & 0x7;
    bool match = (level == 1 && type == kData && folded == rel(_SC_LEVEL1_DCACHE_SIZE)) ||
                 (level == 1 && type == kInstruction && folded == rel(_SC_LEVEL1_ICACHE_SIZE)) ||
                 (level == 2 && folded == rel(_SC_LEVEL2_CACHE_SIZE)) ||
                 (level == 3 && folded == rel(_SC_LEVEL3_CACHE_SIZE)) ||
                 (level == 4 && folded == rel(_SC_LEVEL4_CACHE_SIZE));
    if (!match) continue;
    std::uint32_t ebx = leaf4[i].ebx, ecx = leaf4[i].ecx;
    switch (rel(name) - folded) {
      case 0:  // in unsigned int, as glibc computes it
        return static_cast<std::uint32_t>(((ebx >> 22) + 1) * (((ebx >> 12) & 0x3ff) + 1) * ((ebx & 0xfff) + 1) *
                                          (ecx + 1));
      case 1: return (ebx >> 22) + 1;
      default: return (ebx & 0xfff) + 1;
    }
  }
  return 0;
}

}  // namespace

EARLY long handle_intel(int name, const std::uint32_t leaf2[4], const Leaf4* leaf4, int subleaves, bool complete,
                        bool* known) {
  *known = false;
  if (name < _SC_LEVEL1_ICACHE_SIZE || name > _SC_LEVEL4_CACHE_LINESIZE) return 0;
  // More than one round of leaf 2 (its low byte): glibc reads it again.
  if ((leaf2[0] & 0xff) != 1) return 0;
  for (int r = 0; r < 4; ++r) {
    std::uint32_t value = r == 0 ? leaf2[0] & 0xffffff00 : leaf2[r];
    if (value & 0x80000000) continue;  // a reserved register: glibc skips it
    for (; value != 0; value >>= 8) {
      std::uint32_t byte = value & 0xff;
      if (byte == 0xff) {
        if (!complete) return 0;
        long found = from_leaf4(name, leaf4, subleaves);
        if (found != 0) {
          *known = true;
          return found;
        }
        // Leaf 4 has no such cache (an L4, mostly). glibc versions differ:
        // 2.36, the one this is linked with on Debian 12, answers -1 at
        // once; earlier ones go on to the next register. Others: glibc's.
        *known = kNoSuchCache != 0;
        return kNoSuchCache;
      }
      if (!passed_over(byte)) return 0;
    }
  }
  return 0;  // no leaf-4 descriptor
}

}  // namespace glassrun::cacheinfo

extern "C" {

volatile std::uintptr_t glassrun_glibc_handle_intel_original
    __attribute__((used, section(".data"))) = glassrun::cacheinfo::kUnpatched;

namespace {

EARLY void cpuid(std::uint32_t leaf, std::uint32_t subleaf, std::uint32_t out[4]) {
  __asm__ volatile("cpuid" : "=a"(out[0]), "=b"(out[1]), "=c"(out[2]), "=d"(out[3]) : "a"(leaf), "c"(subleaf));
}

constexpr int kMaxSubleaves = 16;

// Read once per process (one glibc start); zero in .bss until then.
struct Probe {
  bool read;
  bool usable;
  bool complete;
  int subleaves;
  std::uint32_t leaf2[4];
  glassrun::cacheinfo::Leaf4 leaf4[kMaxSubleaves];
} probe;

EARLY void read_probe() {
  probe.read = true;
  std::uint32_t r[4];
  cpuid(0, 0, r);
  if (r[0] < 4) return;  // no leaf 4: glibc's own code decides
  cpuid(2, 0, probe.leaf2);
  for (int i = 0; i < kMaxSubleaves; ++i) {
    cpuid(4, i, r);
    if ((r[0] & 0x1f) == 0) {
      probe.complete = true;
      break;
    }
    probe.leaf4[i].eax = r[0];
    probe.leaf4[i].ebx = r[1];
    probe.leaf4[i].ecx = r[2];
    probe.subleaves = i + 1;
  }
  probe.usable = true;
}

}  // namespace

__attribute__((used)) EARLY long glassrun_glibc_handle_intel(int name) {
  if (!probe.read) read_probe();
  bool known = false;
  long answer = 0;
  if (probe.usable)
    answer = glassrun::cacheinfo::handle_intel(name, probe.leaf2, probe.leaf4, probe.subleaves, probe.complete, &known);
  if (known || glassrun_glibc_handle_intel_original == glassrun::cacheinfo::kUnpatched) return answer;
  return reinterpret_cast<long (*)(int)>(glassrun_glibc_handle_intel_original)(name);
}

}  // extern "C"

// The patched call sites are glibc's calls of its own local function, which
// may count on the registers that function leaves alone: all but rax are
// kept. 8 pushes and the return address leave the stack 8 bytes off the
// ABI's 16.
__asm__(R"(
  .text
  .globl glassrun_glibc_handle_intel_entry
  .type glassrun_glibc_handle_intel_entry, @function
glassrun_glibc_handle_intel_entry:
  push %rcx
  push %rdx
  push %rsi
  push %rdi
  push %r8
  push %r9
  push %r10
  push %r11
  sub $8, %rsp
  call glassrun_glibc_handle_intel
  add $8, %rsp
  pop %r11
  pop %r10
  pop %r9
  pop %r8
  pop %rdi
  pop %rsi
  pop %rdx
  pop %rcx
  ret
  .size glassrun_glibc_handle_intel_entry, .-glassrun_glibc_handle_intel_entry
)");
