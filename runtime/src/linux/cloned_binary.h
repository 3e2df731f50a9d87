// CVE-2019-5736: the init is a clone of this process, so a container process
// that can open /proc/<init>/exe would reach the host's glassrun binary and
// could overwrite it once the init has exec'd. As runc (cloned_binary.c), the
// commands that make container processes re-execute themselves from a sealed
// memfd copy first: /proc/<pid>/exe is then that copy, which no one can write.
#pragma once

namespace glassrun::cloned_binary {

// True when running from a sealed (F_SEAL_WRITE) copy already.
bool running_from_sealed_copy();
// Re-executes the same command line from a sealed memfd copy of the binary,
// unless it runs from one already (or under glasstrace, whose uprobes are on
// the file on disk). Call before anything with side effects.
void ensure();

}  // namespace glassrun::cloned_binary
