// linux.seccomp JSON → a validated Profile of libseccomp values. No libseccomp
// context is touched here, so every input error is found before compiling and
// every message names the offending field.
#pragma once

#include <seccomp.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace glassrun::seccomp {

struct ArgCondition {
  unsigned index;      // 0..5
  scmp_compare op;
  uint64_t value;      // the mask for SCMP_CMP_MASKED_EQ
  uint64_t value_two;  // the compared value for SCMP_CMP_MASKED_EQ
};

struct SyscallRule {
  std::string field;               // "linux.seccomp.syscalls[2]", for errors
  std::vector<std::string> names;
  uint32_t action;                 // SCMP_ACT_*, errno folded in
  std::vector<ArgCondition> args;
};

struct FlagAttribute {
  std::string field;  // "linux.seccomp.flags[0]"
  std::string name;
  scmp_filter_attr attribute;
};

struct Profile {
  uint32_t default_action = SCMP_ACT_ALLOW;
  std::vector<uint32_t> architectures;  // added to the native one
  std::vector<FlagAttribute> flags;
  std::vector<SyscallRule> syscalls;
  std::string listener_path;
  std::string listener_metadata;
  bool uses_notify = false;
};

// Throws glassrun::Error naming the field, e.g.
// linux.seccomp.syscalls[2].action: unknown action "SCMP_ACT_FOO".
Profile parse_profile(const nlohmann::json& seccomp);

}  // namespace glassrun::seccomp
