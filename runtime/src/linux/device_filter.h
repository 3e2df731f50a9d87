// cgroup v2 device control: v2 has no devices.allow/deny files, so the rules
// become a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup (what
// runc's devicefilter and crun's ebpf.c do).
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <string>
#include <vector>

namespace glassrun::cgroups {

// One rule as runc's devices.Rule: type 'a' (all), 'c' or 'b'; major/minor
// -1 for the wildcard; access a subset of "rwm".
struct DeviceRule {
  char type = 'a';
  int64_t major = -1;
  int64_t minor = -1;
  std::string access = "rwm";
  bool allow = false;

  bool operator==(const DeviceRule&) const = default;
};

// The net effect of a rule list applied in order with cgroup v1 semantics:
// any 'a' rule resets to allow-all or deny-all, other rules add or remove
// exceptions to that default. Exceptions all carry the verdict !default_allow.
struct DeviceAccess {
  bool default_allow = false;
  std::vector<DeviceRule> exceptions;
};
DeviceAccess emulate_v1(const std::vector<DeviceRule>& rules);

// The BPF program deciding like the rule list would (first matching
// exception gives its verdict, else the default). Throws on bad access chars.
std::vector<bpf_insn> build_device_program(const std::vector<DeviceRule>& rules);

// Loads prog and attaches it to the cgroup dir with BPF_F_ALLOW_MULTI, then
// detaches the programs that were attached before (so an update replaces).
void attach_device_program(const std::string& cgroup_dir, const std::vector<bpf_insn>& prog);

}  // namespace glassrun::cgroups
