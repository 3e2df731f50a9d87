#include "linux/seccomp_enosys.h"

#include <linux/audit.h>
#include <seccomp.h>

#include <cerrno>
#include <cstddef>
#include <map>

#include "util/error.h"

namespace glassrun::seccomp {
namespace {

constexpr uint32_t kX32Bit = 0x40000000;  // __X32_SYSCALL_BIT
constexpr uint32_t kOffsetNr = offsetof(seccomp_data, nr);
constexpr uint32_t kOffsetArch = offsetof(seccomp_data, arch);
// s390(x) multiplexes numbers it does not know onto syscall 0 (setup(2), unused).
constexpr uint32_t kS390Multiplex = 0;

bool permissive(uint32_t action) {
  return action == SCMP_ACT_ALLOW || action == SCMP_ACT_LOG || (action & 0xffff0000U) == SCMP_ACT_TRACE(0);
}

// The highest syscall number the profile names for one architecture (0: none).
uint32_t last_syscall(const Profile& p, uint32_t arch) {
  int last = 0;
  for (const auto& rule : p.syscalls)
    for (const auto& name : rule.names) last = std::max(last, seccomp_syscall_resolve_name_arch(arch, name.c_str()));
  return static_cast<uint32_t>(last);
}

// The kernel's AUDIT_ARCH for a libseccomp token: x32 runs as x86_64 with
// kX32Bit set in the number; the others are the same value.
uint32_t audit_arch(uint32_t scmp_arch) {
  if (scmp_arch == SCMP_ARCH_NATIVE) scmp_arch = seccomp_arch_native();
  return scmp_arch == SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : scmp_arch;
}

struct Limits {
  uint32_t native = 0;  // the architecture's own numbers (x86_64 without kX32Bit)
  uint32_t x32 = 0;     // x86_64 only: numbers with kX32Bit
  bool s390 = false;
};

// A forward-only BPF assembler with labels: jumps are resolved when the stub
// is complete, and must fit in 8 bits (jt/jf) as classic BPF requires.
class Assembler {
 public:
  int label() {
    targets_.push_back(-1);
    return static_cast<int>(targets_.size()) - 1;
  }
  void bind(int l) { targets_[l] = static_cast<int>(code_.size()); }
  void load(uint32_t offset) { emit(BPF_LD | BPF_W | BPF_ABS, offset, -1, -1); }
  void jump_if(uint16_t op, uint32_t k, int jt, int jf) { emit(BPF_JMP | op | BPF_K, k, jt, jf); }
  void ret(uint32_t k) { emit(BPF_RET | BPF_K, k, -1, -1); }
  void jump(int l) {
    emit(BPF_JMP | BPF_JA, 0, -1, -1);
    always_.push_back({code_.size() - 1, l});
  }

  std::vector<sock_filter> finish() {
    for (size_t pc = 0; pc < code_.size(); ++pc) {
      code_[pc].jt = offset(pc, jt_[pc]);
      code_[pc].jf = offset(pc, jf_[pc]);
    }
    for (auto [pc, l] : always_) code_[pc].k = static_cast<uint32_t>(targets_[l] - static_cast<int>(pc) - 1);
    return code_;
  }

 private:
  void emit(uint16_t code, uint32_t k, int jt, int jf) {
    code_.push_back({code, 0, 0, k});
    jt_.push_back(jt);
    jf_.push_back(jf);
  }
  uint8_t offset(size_t pc, int l) {
    if (l < 0) return 0;  // fall through
    int skip = targets_[l] - static_cast<int>(pc) - 1;
    if (skip < 0 || skip > 255) fail("seccomp: ENOSYS stub: jump of {} instructions does not fit", skip);
    return static_cast<uint8_t>(skip);
  }

  std::vector<sock_filter> code_;
  std::vector<int> jt_, jf_;
  std::vector<std::pair<size_t, int>> always_;
  std::vector<int> targets_;
};

}  // namespace

std::vector<sock_filter> enosys_stub(const Profile& p) {
  if (permissive(p.default_action) || p.default_action == SCMP_ACT_ERRNO(ENOSYS)) return {};
  std::map<uint32_t, Limits> arches;  // by AUDIT_ARCH
  for (uint32_t a : p.architectures) {
    uint32_t last = last_syscall(p, a);
    if (!last) continue;  // runc skips an architecture none of the names exist on
    Limits& l = arches[audit_arch(a)];
    (a == SCMP_ARCH_X32 ? l.x32 : l.native) = last;
    l.s390 = a == SCMP_ARCH_S390 || a == SCMP_ARCH_S390X;
  }
  if (arches.empty()) return {};

  Assembler as;
  int enosys = as.label(), filter = as.label();
  std::vector<int> sections;
  as.load(kOffsetArch);
  for (const auto& a : arches) {
    sections.push_back(as.label());
    as.jump_if(BPF_JEQ, a.first, sections.back(), -1);
  }
  as.jump(filter);  // an architecture the profile does not list: libseccomp decides
  size_t i = 0;
  for (const auto& [arch, l] : arches) {
    as.bind(sections[i++]);
    as.load(kOffsetNr);
    if (l.s390) as.jump_if(BPF_JEQ, kS390Multiplex, enosys, -1);
    if (arch == AUDIT_ARCH_X86_64) {
      int x32 = as.label(), native = as.label();
      as.jump_if(BPF_JSET, kX32Bit, l.x32 ? x32 : filter, l.native ? native : filter);
      if (l.native) {
        as.bind(native);
        as.jump_if(BPF_JGT, l.native, enosys, filter);
      }
      if (l.x32) {
        as.bind(x32);
        as.jump_if(BPF_JGT, l.x32, enosys, filter);
      }
    } else {
      as.jump_if(BPF_JGT, l.native, enosys, filter);
    }
  }
  as.bind(enosys);
  as.ret(SCMP_ACT_ERRNO(ENOSYS));
  as.bind(filter);
  return as.finish();
}

}  // namespace glassrun::seccomp
