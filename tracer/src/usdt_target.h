// Finding binaries that carry glassrun's USDT probes.
#pragma once

#include <optional>
#include <string>

namespace glasstrace {

// `name` as execvp would find it ("/" in it: as is). nullopt if not executable.
std::optional<std::string> resolve_command(const std::string& name);
// True if the ELF file has a .note.stapsdt note of `provider`. False also
// if it cannot be opened or read: then `error` (if given) says which call
// failed and why; a file that is not a 64-bit ELF or has no such note
// leaves it empty.
bool has_usdt_provider(const std::string& path, const std::string& provider, std::string* error = nullptr);

}  // namespace glasstrace
