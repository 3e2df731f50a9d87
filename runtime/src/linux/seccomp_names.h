// The spellings linux.seccomp uses (libseccomp's macro names) → libseccomp
// values. Lookups return nullopt for unknown names; callers name the field.
#pragma once

#include <seccomp.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace glassrun::seccomp {

struct ActionName {
  uint32_t value;     // SCMP_ACT_* without a return code
  bool takes_errno;   // ERRNO and TRACE carry errnoRet in their low 16 bits
};

std::optional<ActionName> lookup_action(std::string_view name);
std::optional<scmp_compare> lookup_operator(std::string_view name);
std::optional<uint32_t> lookup_arch(std::string_view name);        // SCMP_ARCH_* token
std::optional<scmp_filter_attr> lookup_flag(std::string_view name);  // attribute set to 1

// SCMP_ACT_ERRNO(e) / SCMP_ACT_TRACE(e) for those actions, the plain value else.
uint32_t action_value(ActionName action, uint16_t errno_ret);

}  // namespace glassrun::seccomp
