// CVE-2019-5736: the init is a clone of this process, so a container process
// that can open /proc/<init>/exe would reach the host's glassrun binary and
// could overwrite it once the init has exec'd. The commands that make
// container processes re-execute themselves first from a view of the binary
// that no one can write: the same file through a detached read-only overlayfs
// (as runc 1.2; nothing is copied), or else a sealed memfd copy (as runc 1.1).
#pragma once

#include <string>

namespace glassrun::cloned_binary {

// True when /proc/self/exe cannot be opened for writing: a sealed copy, or a
// file on a read-only mount (the overlay view, or a read-only install).
bool binary_is_unwritable();
// Re-executes the same command line from an unwritable view of the binary,
// unless it runs from one already. Under glasstrace too: the overlay view maps
// the same file, so the USDT probes on it still fire. Call before anything
// with side effects. The static glassrun has done this once already, from its
// entry point before libc starts (early_reexec.h); here it is done again where
// that failed (then with the memfd fallback), under AddressSanitizer, and
// after --trace, and a failure is reported.
// argv: the command line to re-execute (default: /proc/self/cmdline).
void ensure(char* const* argv = nullptr);

// A sealed install (glassrun-seal; runc's contrib memfd-bind is the same idea):
// the read-only overlay view of the file at path, bind-mounted over path
// itself, so that every later glassrun started from path already runs from an
// unwritable view and skips the re-exec. Same protection, one exec fewer per
// create/run/exec; it lasts until unseal_install or reboot, and the file
// cannot be replaced while sealed. path: any path to the binary (symlinks are
// followed to the file). seal_install returns false when already sealed.
bool install_is_sealed(const std::string& path);
bool seal_install(const std::string& path);
void unseal_install(const std::string& path);

}  // namespace glassrun::cloned_binary
