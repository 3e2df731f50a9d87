// Runs a seccomp classic-BPF program (as libseccomp exports it) in user
// space on one syscall, the way the kernel's seccomp_run_filters would.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace glasstrace {

struct SeccompInput {
  int32_t nr;
  uint32_t arch;  // AUDIT_ARCH_*
  uint64_t ip = 0;
  uint64_t args[6] = {};
};

// The filter's return value (SECCOMP_RET_* | data). `program` is raw struct
// sock_filter bytes. Throws std::runtime_error on an instruction seccomp
// does not allow or a program that does not return.
uint32_t run_seccomp_bpf(std::string_view program, const SeccompInput& in);

}  // namespace glasstrace
