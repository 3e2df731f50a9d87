// The user-space seccomp BPF runner `explain` relies on.
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "seccomp_eval.h"

namespace gt = glasstrace;

namespace {

std::string program(const std::vector<sock_filter>& insns) {
  return std::string(reinterpret_cast<const char*>(insns.data()), insns.size() * sizeof(sock_filter));
}

gt::SeccompInput call(int nr, uint64_t arg1 = 0) {
  gt::SeccompInput in{};
  in.nr = nr;
  in.arch = AUDIT_ARCH_X86_64;
  in.args[1] = arg1;
  return in;
}

// arch check; mkdir (83) -> ERRNO(13); sethostname (170) with arg1 == 3 -> ERRNO(1); else ALLOW.
const std::vector<sock_filter> kFilter = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 83, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 13),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 170, 0, 3),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args) + 8),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 3, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};

}  // namespace

TEST(SeccompEval, RunsTheFilterOnNrArchAndArgs) {
  std::string p = program(kFilter);
  EXPECT_EQ(gt::run_seccomp_bpf(p, call(83)), SECCOMP_RET_ERRNO | 13u);
  EXPECT_EQ(gt::run_seccomp_bpf(p, call(170, 3)), SECCOMP_RET_ERRNO | 1u);
  EXPECT_EQ(gt::run_seccomp_bpf(p, call(170, 4)), SECCOMP_RET_ALLOW);
  EXPECT_EQ(gt::run_seccomp_bpf(p, call(39)), SECCOMP_RET_ALLOW);
  gt::SeccompInput i386 = call(83);
  i386.arch = AUDIT_ARCH_I386;
  EXPECT_EQ(gt::run_seccomp_bpf(p, i386), SECCOMP_RET_KILL_PROCESS);
}

TEST(SeccompEval, RefusesAProgramThatDoesNotReturn) {
  std::vector<sock_filter> f = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0)};
  EXPECT_THROW(gt::run_seccomp_bpf(program(f), call(1)), std::runtime_error);
  f = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 64), BPF_STMT(BPF_RET | BPF_K, 0)};
  EXPECT_THROW(gt::run_seccomp_bpf(program(f), call(1)), std::runtime_error);
}
