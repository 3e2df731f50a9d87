#include "linux/seccomp_names.h"

#include <array>
#include <utility>

namespace glassrun::seccomp {
namespace {

// SCMP_ACT_KILL is KILL_THREAD, as in libseccomp and runc.
constexpr std::array<std::pair<std::string_view, ActionName>, 9> kActions{{
    {"SCMP_ACT_KILL", {SCMP_ACT_KILL, false}},
    {"SCMP_ACT_KILL_THREAD", {SCMP_ACT_KILL_THREAD, false}},
    {"SCMP_ACT_KILL_PROCESS", {SCMP_ACT_KILL_PROCESS, false}},
    {"SCMP_ACT_TRAP", {SCMP_ACT_TRAP, false}},
    {"SCMP_ACT_ERRNO", {SCMP_ACT_ERRNO(0), true}},
    {"SCMP_ACT_TRACE", {SCMP_ACT_TRACE(0), true}},
    {"SCMP_ACT_ALLOW", {SCMP_ACT_ALLOW, false}},
    {"SCMP_ACT_LOG", {SCMP_ACT_LOG, false}},
    {"SCMP_ACT_NOTIFY", {SCMP_ACT_NOTIFY, false}},
}};

constexpr std::array<std::pair<std::string_view, scmp_compare>, 7> kOperators{{
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
}};

constexpr std::array<std::pair<std::string_view, uint32_t>, 19> kArches{{
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},
    {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
}};

// runc ignores TSYNC (Go's libseccomp always syncs); we are one thread at
// load time, so asking libseccomp for it is harmless and honours the flag.
constexpr std::array<std::pair<std::string_view, scmp_filter_attr>, 3> kFlags{{
    {"SECCOMP_FILTER_FLAG_TSYNC", SCMP_FLTATR_CTL_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SCMP_FLTATR_CTL_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SCMP_FLTATR_CTL_SSB},
}};

template <typename Table>
auto lookup(const Table& table, std::string_view name) -> std::optional<typename Table::value_type::second_type> {
  for (const auto& [key, value] : table)
    if (key == name) return value;
  return std::nullopt;
}

}  // namespace

std::optional<ActionName> lookup_action(std::string_view name) { return lookup(kActions, name); }
std::optional<scmp_compare> lookup_operator(std::string_view name) { return lookup(kOperators, name); }
std::optional<uint32_t> lookup_arch(std::string_view name) { return lookup(kArches, name); }
std::optional<scmp_filter_attr> lookup_flag(std::string_view name) { return lookup(kFlags, name); }

uint32_t action_value(ActionName action, uint16_t errno_ret) {
  return action.takes_errno ? (action.value | errno_ret) : action.value;
}

}  // namespace glassrun::seccomp
