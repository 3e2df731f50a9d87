#include "seccomp_eval.h"

#include <linux/filter.h>

#include <cstring>
#include <stdexcept>
#include <string>

namespace glasstrace {
namespace {

// struct seccomp_data as the filter sees it: nr, arch, ip, args[6].
uint32_t load_word(const SeccompInput& in, uint32_t off) {
  unsigned char data[64];
  std::memcpy(data, &in.nr, 4);
  std::memcpy(data + 4, &in.arch, 4);
  std::memcpy(data + 8, &in.ip, 8);
  std::memcpy(data + 16, in.args, 48);
  if (off % 4 || off + 4 > sizeof data) throw std::runtime_error("seccomp bpf: load outside seccomp_data");
  uint32_t w;
  std::memcpy(&w, data + off, 4);
  return w;
}

uint32_t alu(uint16_t op, uint32_t a, uint32_t x) {
  switch (op) {
    case BPF_ADD: return a + x;
    case BPF_SUB: return a - x;
    case BPF_MUL: return a * x;
    case BPF_DIV: return x ? a / x : 0;
    case BPF_MOD: return x ? a % x : 0;
    case BPF_AND: return a & x;
    case BPF_OR: return a | x;
    case BPF_XOR: return a ^ x;
    case BPF_LSH: return x < 32 ? a << x : 0;
    case BPF_RSH: return x < 32 ? a >> x : 0;
    case BPF_NEG: return -a;
  }
  throw std::runtime_error("seccomp bpf: bad alu op");
}

bool jump_taken(uint16_t op, uint32_t a, uint32_t v) {
  switch (op) {
    case BPF_JEQ: return a == v;
    case BPF_JGT: return a > v;
    case BPF_JGE: return a >= v;
    case BPF_JSET: return (a & v) != 0;
  }
  throw std::runtime_error("seccomp bpf: bad jump op");
}

}  // namespace

uint32_t run_seccomp_bpf(std::string_view program, const SeccompInput& in) {
  size_t n = program.size() / sizeof(sock_filter);
  const auto* insns = reinterpret_cast<const sock_filter*>(program.data());
  uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {};
  for (size_t pc = 0; pc < n; pc++) {
    const sock_filter& i = insns[pc];
    uint32_t src = BPF_SRC(i.code) == BPF_X ? x : i.k;
    switch (BPF_CLASS(i.code)) {
      case BPF_LD:
        if (BPF_MODE(i.code) == BPF_ABS) a = load_word(in, i.k);
        else if (BPF_MODE(i.code) == BPF_IMM) a = i.k;
        else if (BPF_MODE(i.code) == BPF_MEM && i.k < BPF_MEMWORDS) a = mem[i.k];
        else if (BPF_MODE(i.code) == BPF_LEN) a = 64;
        else throw std::runtime_error("seccomp bpf: bad load");
        break;
      case BPF_LDX:
        if (BPF_MODE(i.code) == BPF_IMM) x = i.k;
        else if (BPF_MODE(i.code) == BPF_MEM && i.k < BPF_MEMWORDS) x = mem[i.k];
        else if (BPF_MODE(i.code) == BPF_LEN) x = 64;
        else throw std::runtime_error("seccomp bpf: bad ldx");
        break;
      case BPF_ST:
      case BPF_STX:
        if (i.k >= BPF_MEMWORDS) throw std::runtime_error("seccomp bpf: bad store");
        mem[i.k] = BPF_CLASS(i.code) == BPF_ST ? a : x;
        break;
      case BPF_ALU: a = alu(BPF_OP(i.code), a, src); break;
      case BPF_JMP:
        if (BPF_OP(i.code) == BPF_JA) pc += i.k;
        else pc += jump_taken(BPF_OP(i.code), a, src) ? i.jt : i.jf;
        break;
      case BPF_RET: return BPF_RVAL(i.code) == BPF_A ? a : i.k;
      case BPF_MISC:
        if (BPF_MISCOP(i.code) == BPF_TAX) x = a;
        else a = x;
        break;
    }
  }
  throw std::runtime_error("seccomp bpf: program ran off its end");
}

}  // namespace glasstrace
