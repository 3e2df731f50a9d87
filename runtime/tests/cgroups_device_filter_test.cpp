// The v2 device program, run through a small interpreter of exactly the
// instructions it may contain, so the verdicts are checked, not the bytes.
#include <gtest/gtest.h>

#include "linux/cgroups_devices.h"
#include "linux/device_filter.h"
#include "util/error.h"

namespace glassrun::cgroups {
namespace {

// Runs prog on a bpf_cgroup_dev_ctx; returns r0. Fails the test on an
// instruction it does not know or on a jump out of the program.
int run(const std::vector<bpf_insn>& prog, uint32_t type, uint32_t access, uint32_t major, uint32_t minor) {
  uint32_t ctx[3] = {type | (access << 16), major, minor};
  uint64_t r[11] = {};
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const bpf_insn& i = prog[pc];
    uint64_t src = (BPF_SRC(i.code) == BPF_X) ? r[i.src_reg] : static_cast<uint64_t>(static_cast<int64_t>(i.imm));
    switch (i.code) {
      case BPF_LDX | BPF_MEM | BPF_W:
        EXPECT_EQ(i.src_reg, 1);
        r[i.dst_reg] = ctx[i.off / 4];
        break;
      case BPF_ALU | BPF_AND | BPF_K: r[i.dst_reg] = static_cast<uint32_t>(r[i.dst_reg] & src); break;
      case BPF_ALU | BPF_RSH | BPF_K: r[i.dst_reg] = static_cast<uint32_t>(r[i.dst_reg]) >> i.imm; break;
      case BPF_ALU | BPF_MOV | BPF_K:
      case BPF_ALU | BPF_MOV | BPF_X: r[i.dst_reg] = static_cast<uint32_t>(src); break;
      case BPF_JMP | BPF_JNE | BPF_K:
      case BPF_JMP | BPF_JNE | BPF_X:
        if (r[i.dst_reg] != src) pc += i.off;
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
        if (r[i.dst_reg] == src) pc += i.off;
        break;
      case BPF_JMP | BPF_EXIT: return static_cast<int>(r[0]);
      default: ADD_FAILURE() << "unknown opcode " << int(i.code) << " at " << pc; return -1;
    }
    if (pc + 1 > prog.size()) { ADD_FAILURE() << "jump out of program at " << pc; return -1; }
  }
  ADD_FAILURE() << "fell off the end";
  return -1;
}

constexpr uint32_t C = BPF_DEVCG_DEV_CHAR, B = BPF_DEVCG_DEV_BLOCK;
constexpr uint32_t R = BPF_DEVCG_ACC_READ, W = BPF_DEVCG_ACC_WRITE, M = BPF_DEVCG_ACC_MKNOD;

std::vector<DeviceRule> runc_default_spec() {
  nlohmann::json r = nlohmann::json::parse(R"({"devices": [{"allow": false, "access": "rwm"}]})");
  return device_rules_from_spec(r);
}

TEST(DeviceFilter, RuncDefaultListVerdicts) {
  auto prog = build_device_program(runc_default_spec());
  EXPECT_EQ(run(prog, C, R | W, 1, 3), 1);   // /dev/null
  EXPECT_EQ(run(prog, C, R, 1, 9), 1);       // urandom
  EXPECT_EQ(run(prog, C, R | W, 136, 7), 1); // any pts
  EXPECT_EQ(run(prog, C, M, 99, 99), 1);     // mknod of anything char: "c *:* m"
  EXPECT_EQ(run(prog, B, M, 8, 0), 1);       // and block
  EXPECT_EQ(run(prog, B, R, 8, 0), 0);       // but not reading a disk
  EXPECT_EQ(run(prog, C, R, 1, 1), 0);       // /dev/mem
  EXPECT_EQ(run(prog, C, R | M, 1, 1), 0);   // m alone does not cover r
  EXPECT_EQ(run(prog, C, W, 10, 200), 1);    // tun
  EXPECT_EQ(run(prog, C, W, 10, 201), 0);
}

TEST(DeviceFilter, RuncDefaultListInstructionCountMatchesRunc) {
  // prologue 6; "x *:* m" 6 each (type, 3 access, verdict 2); 8 full-access
  // rules with major+minor 5 each, "c 136:* rwm" 4; default verdict 2.
  EXPECT_EQ(build_device_program(runc_default_spec()).size(), 6u + 2 * 6 + 8 * 5 + 4 + 2u);
}

TEST(DeviceFilter, AllowAllThenDenyOneIsABlacklist) {
  std::vector<DeviceRule> rules = {{'a', -1, -1, "rwm", true}, {'c', 1, 1, "w", false}};
  auto acc = emulate_v1(rules);
  EXPECT_TRUE(acc.default_allow);
  auto prog = build_device_program(rules);
  EXPECT_EQ(run(prog, C, R, 1, 1), 1);
  EXPECT_EQ(run(prog, C, W, 1, 1), 0);
  EXPECT_EQ(run(prog, C, R | W, 1, 1), 0);  // any denied access denies the request
  EXPECT_EQ(run(prog, B, W, 1, 1), 1);
}

TEST(DeviceFilter, LaterRulesWinLikeV1) {
  std::vector<DeviceRule> rules = {{'c', 4, -1, "rw", true}, {'c', 4, -1, "w", false}, {'c', 4, -1, "m", true}};
  auto acc = emulate_v1(rules);
  ASSERT_EQ(acc.exceptions.size(), 1u);
  EXPECT_EQ(acc.exceptions[0].access, "rm");
  auto prog = build_device_program(rules);
  EXPECT_EQ(run(prog, C, R, 4, 5), 1);
  EXPECT_EQ(run(prog, C, W, 4, 5), 0);
  EXPECT_EQ(run(prog, C, R | M, 4, 5), 1);
  // A later 'a' deny forgets everything before it.
  rules.push_back({'a', -1, -1, "rwm", false});
  EXPECT_EQ(run(build_device_program(rules), C, R, 4, 5), 0);
}

TEST(DeviceFilter, EmptyListDeniesEverything) {
  auto prog = build_device_program({});
  EXPECT_EQ(prog.size(), 8u);
  EXPECT_EQ(run(prog, C, R, 1, 3), 0);
}

TEST(DeviceFilter, BadAccessThrows) {
  EXPECT_THROW(build_device_program({{'c', 1, 3, "rx", true}}), Error);
}

}  // namespace
}  // namespace glassrun::cgroups
