#include "linux/device_filter.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include <algorithm>

#include "util/error.h"
#include "util/fd.h"

namespace glassrun::cgroups {
namespace {

uint32_t access_bits(const std::string& access) {
  uint32_t bits = 0;
  for (char c : access) {
    switch (c) {
      case 'r': bits |= BPF_DEVCG_ACC_READ; break;
      case 'w': bits |= BPF_DEVCG_ACC_WRITE; break;
      case 'm': bits |= BPF_DEVCG_ACC_MKNOD; break;
      default: fail("unknown device access '{}' in \"{}\"", c, access);
    }
  }
  return bits;
}

std::string access_text(uint32_t bits) {
  std::string s;
  if (bits & BPF_DEVCG_ACC_READ) s += 'r';
  if (bits & BPF_DEVCG_ACC_WRITE) s += 'w';
  if (bits & BPF_DEVCG_ACC_MKNOD) s += 'm';
  return s;
}

constexpr uint32_t kAllAccess = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

// Jumps to the next rule's block are emitted with this placeholder offset and
// patched when the block's end is known.
constexpr int16_t kNextBlock = 0x7fff;

// Registers after the prologue: r2 device type, r3 requested access,
// r4 major, r5 minor (from struct bpf_cgroup_dev_ctx in r1).
void emit_prologue(std::vector<bpf_insn>& p) {
  p.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, 2, 1, 0, 0));
  p.push_back(insn(BPF_ALU | BPF_AND | BPF_K, 2, 0, 0, 0xffff));
  p.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, 3, 1, 0, 0));
  p.push_back(insn(BPF_ALU | BPF_RSH | BPF_K, 3, 0, 0, 16));
  p.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, 4, 1, 4, 0));
  p.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, 5, 1, 8, 0));
}

void emit_verdict(std::vector<bpf_insn>& p, bool allow) {
  p.push_back(insn(BPF_ALU | BPF_MOV | BPF_K, 0, 0, 0, allow ? 1 : 0));
  p.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
}

void emit_rule(std::vector<bpf_insn>& p, const DeviceRule& rule) {
  size_t start = p.size();
  int32_t type = rule.type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK;
  p.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, 2, 0, kNextBlock, type));
  uint32_t bits = access_bits(rule.access);
  if (bits != kAllAccess) {
    p.push_back(insn(BPF_ALU | BPF_MOV | BPF_X, 1, 3, 0, 0));
    p.push_back(insn(BPF_ALU | BPF_AND | BPF_K, 1, 0, 0, static_cast<int32_t>(bits)));
    if (rule.allow)  // allow only if every requested access is granted
      p.push_back(insn(BPF_JMP | BPF_JNE | BPF_X, 1, 3, kNextBlock, 0));
    else  // deny if any requested access is denied
      p.push_back(insn(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, kNextBlock, 0));
  }
  if (rule.major >= 0) p.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, 4, 0, kNextBlock, static_cast<int32_t>(rule.major)));
  if (rule.minor >= 0) p.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, 5, 0, kNextBlock, static_cast<int32_t>(rule.minor)));
  emit_verdict(p, rule.allow);
  for (size_t i = start; i < p.size(); ++i)
    if (p[i].off == kNextBlock) p[i].off = static_cast<int16_t>(p.size() - (i + 1));
}

bool same_device(const DeviceRule& a, const DeviceRule& b) {
  return a.type == b.type && a.major == b.major && a.minor == b.minor;
}


}  // namespace

DeviceAccess emulate_v1(const std::vector<DeviceRule>& rules) {
  DeviceAccess acc;
  for (const auto& rule : rules) {
    uint32_t bits = access_bits(rule.access);
    if (rule.type == 'a') {
      // The kernel treats any 'a' rule as a full reset, whatever its numbers.
      acc.default_allow = rule.allow;
      acc.exceptions.clear();
      continue;
    }
    if (rule.type != 'c' && rule.type != 'b') fail("invalid device type '{}'", rule.type);
    auto it = std::find_if(acc.exceptions.begin(), acc.exceptions.end(),
                           [&](const DeviceRule& e) { return same_device(e, rule); });
    if (rule.allow != acc.default_allow) {  // adds an exception
      if (it == acc.exceptions.end()) {
        DeviceRule e = rule;
        e.access = access_text(bits);
        acc.exceptions.push_back(e);
      } else {
        it->access = access_text(access_bits(it->access) | bits);
      }
    } else if (it != acc.exceptions.end()) {  // takes access out of one
      uint32_t left = access_bits(it->access) & ~bits;
      if (left == 0) acc.exceptions.erase(it);
      else it->access = access_text(left);
    }
  }
  return acc;
}

std::vector<bpf_insn> build_device_program(const std::vector<DeviceRule>& rules) {
  DeviceAccess acc = emulate_v1(rules);
  std::vector<bpf_insn> p;
  emit_prologue(p);
  for (const auto& e : acc.exceptions) emit_rule(p, e);
  emit_verdict(p, acc.default_allow);
  return p;
}

namespace {

// bpf(2) directly: the runtime needs five commands, not libbpf (whose
// libelf and libz would load at every start of glassrun).
int sys_bpf(int cmd, bpf_attr& attr) { return static_cast<int>(syscall(SYS_bpf, cmd, &attr, sizeof attr)); }

int prog_load(const std::vector<bpf_insn>& prog, char* log, uint32_t log_size) {
  bpf_attr a{};
  a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  a.insns = reinterpret_cast<uint64_t>(prog.data());
  a.insn_cnt = static_cast<uint32_t>(prog.size());
  a.license = reinterpret_cast<uint64_t>("Apache");
  std::strncpy(a.prog_name, "glassrun_dev", sizeof a.prog_name - 1);
  if (log) {
    a.log_buf = reinterpret_cast<uint64_t>(log);
    a.log_size = log_size;
    a.log_level = 1;
  }
  return sys_bpf(BPF_PROG_LOAD, a);
}

// Ids of the device programs attached to cg (0 if the query fails).
uint32_t prog_query(int cg, uint32_t* ids, uint32_t max) {
  bpf_attr a{};
  a.query.target_fd = static_cast<uint32_t>(cg);
  a.query.attach_type = BPF_CGROUP_DEVICE;
  a.query.prog_ids = reinterpret_cast<uint64_t>(ids);
  a.query.prog_cnt = max;
  return sys_bpf(BPF_PROG_QUERY, a) < 0 ? 0 : a.query.prog_cnt;
}

int prog_attach_detach(int cmd, int prog_fd, int cg) {
  bpf_attr a{};
  a.target_fd = static_cast<uint32_t>(cg);
  a.attach_bpf_fd = static_cast<uint32_t>(prog_fd);
  a.attach_type = BPF_CGROUP_DEVICE;
  if (cmd == BPF_PROG_ATTACH) a.attach_flags = BPF_F_ALLOW_MULTI;
  return sys_bpf(cmd, a);
}

int prog_fd_by_id(uint32_t id) {
  bpf_attr a{};
  a.prog_id = id;
  return sys_bpf(BPF_PROG_GET_FD_BY_ID, a);
}

}  // namespace

void attach_device_program(const std::string& cgroup_dir, const std::vector<bpf_insn>& prog) {
  UniqueFd cg(::open(cgroup_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cg) throw_sys("open " + cgroup_dir);

  // Programs attached before ours, to detach once ours is in place: there is
  // never a moment without a device filter.
  uint32_t ids[64];
  uint32_t count = prog_query(cg.get(), ids, 64);

  UniqueFd fd(prog_load(prog, nullptr, 0));
  if (!fd) {
    int err = errno;
    // Load again with the verifier log, to say why.
    static char log[65536];
    log[0] = '\0';
    UniqueFd again(prog_load(prog, log, sizeof log));
    throw Error(fmt::format("load device BPF program ({} instructions): {}{}{}", prog.size(), errno_text(err),
                            log[0] ? "; verifier: " : "", log),
                err);
  }
  if (prog_attach_detach(BPF_PROG_ATTACH, fd.get(), cg.get()) < 0)
    throw_sys(fmt::format("attach device BPF program to {}", cgroup_dir));

  for (uint32_t i = 0; i < count; ++i) {
    UniqueFd old(prog_fd_by_id(ids[i]));
    if (!old) continue;  // gone meanwhile
    if (prog_attach_detach(BPF_PROG_DETACH, old.get(), cg.get()) < 0 && errno != ENOENT)
      throw_sys(fmt::format("detach old device BPF program {} from {}", ids[i], cgroup_dir));
  }
}

}  // namespace glassrun::cgroups
