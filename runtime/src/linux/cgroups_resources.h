// linux.resources → cgroup file writes. Planning is pure (spec JSON + a few
// facts read from the live cgroup → ordered writes), so tests check the
// mapping and runc's v2 conversions without a kernel; apply_writes does I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "linux/device_filter.h"

namespace glassrun::cgroups {

struct FileWrite {
  std::string field;       // spec field for errors: "linux.resources.memory.limit"
  std::string controller;  // v1 hierarchy ("memory"); "" on v2
  std::string file;        // "memory.limit_in_bytes"
  std::string value;
  // runc tolerates a missing memory.swap.max (no swap accounting) for max/0.
  bool skip_if_missing = false;
  // cpu period: the kernel may refuse it (EINVAL) until the new quota is in.
  bool retry_after_rest_on_einval = false;
  // cpu.shares: the kernel clamps; runc reads back and reports the bound.
  bool check_readback = false;

  bool operator==(const FileWrite&) const = default;
};

// What planning needs to know about the live cgroup.
struct CgroupFacts {
  // v1 memory.limit_in_bytes now: decides whether memsw goes before memory.
  uint64_t memory_limit = UINT64_MAX;
  // memory usage now, for memory.checkBeforeUpdate.
  uint64_t memory_usage = 0;
  // v1: memory.memsw.limit_in_bytes exists (swap accounting on).
  bool memsw = true;
  // v1: blkio.weight is absent and blkio.bfq.weight present;
  // v2: io.bfq.weight exists (only BFQ has per-device weights).
  bool bfq = false;
};

// runc 1.1's conversions.
uint64_t cpu_shares_to_weight(uint64_t shares);
uint64_t blkio_weight_to_io_weight(uint64_t weight);
// memory.swap (memory+swap in the spec) → memory.swap.max; nullopt: leave it.
std::optional<std::string> v2_swap_max(int64_t swap, int64_t memory);

// Which CgroupFacts the plans read for these resources. Each fact costs
// system calls on the live cgroup; most containers set no memory or blockIO
// limits and need none of them.
struct FactsWanted {
  bool memory = false;
  bool io = false;
};
FactsWanted facts_wanted(const nlohmann::json& resources);

std::vector<FileWrite> plan_v1(const nlohmann::json& resources, const CgroupFacts& facts);
std::vector<FileWrite> plan_v2(const nlohmann::json& resources, const CgroupFacts& facts);
// v1 devices.deny "a" and then each rule: with "allow" rules to devices.allow.
std::vector<FileWrite> plan_v1_devices(const std::vector<DeviceRule>& rules);

// dirs: controller → directory. Errors: "<field>: write <v> to <path>: <errno>".
void apply_writes(const std::vector<FileWrite>& writes, const std::map<std::string, std::string>& dirs);

}  // namespace glassrun::cgroups
