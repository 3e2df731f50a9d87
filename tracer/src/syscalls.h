// x86_64 syscall numbers <-> names, generated at build time from
// <asm/unistd_64.h> (gen/syscall_table.inc).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace glasstrace {

std::string syscall_name(long nr);  // "syscall_N" when unknown
std::optional<long> syscall_nr(std::string_view name);
long syscall_max_nr();

}  // namespace glasstrace
