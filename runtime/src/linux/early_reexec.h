// The CVE-2019-5736 re-exec (cloned_binary.h) before libc starts.
//
// create, run and exec re-execute themselves from a read-only overlayfs view
// of their own binary. Done from main, the process about to be replaced paid
// for starting glibc first: its x86 CPU and cache probing alone is dozens
// of `cpuid`s, each a VM exit, ~0.8 ms here (docs/BENCHMARKS.md, session 7). So
// the static glassrun's ELF entry point is glassrun_entry (early_reexec.cpp):
// it looks at argv, makes the view and execveat()s it with raw system calls,
// and only when there is nothing to do, or something failed, jumps to glibc's
// _start; main() then goes through cloned_binary::ensure(), which tries the
// same view again and falls back to a sealed memfd copy, and reports.
//
// Everything here runs before libc is set up: no libc call (its string
// functions are IFUNCs not yet resolved), no errno or other thread-local
// (no TLS yet), no stack protector (its canary is thread-local), no
// exceptions. The file is built with -ffreestanding and friends, and a test
// (test_syscall_budget.py) checks that its object file needs no symbol.
#pragma once

namespace glassrun::early {

// Whether a global flag takes the next argument as its value (--root DIR).
// The one list of them: cli::global_flag_takes_value forwards here.
bool global_flag_takes_value(const char* arg) noexcept;

// The word argv names as the subcommand (the first one after the global
// flags and their values), or nullptr. *traced: --trace came before it.
const char* named_command(int argc, char* const* argv, bool* traced) noexcept;

// Whether `command` re-executes itself from the view first: create, run and
// exec, the commands whose processes enter a container. The one list of
// them: main's container_command asks here too.
bool reexecutes(const char* command) noexcept;

// A detached read-only overlayfs with `dir` as its only real layer, named
// `source` in mountinfo. Overlayfs needs a second layer to run without an
// upper one: /dev as a data-only layer (none of its files in the view), or
// where that is refused an empty detached tmpfs. Returns the mount's fd
// (close-on-exec), or minus the errno with *failed_step naming the step.
int readonly_overlay_of(const char* dir, const char* source, const char** failed_step) noexcept;

// The same command line again from the overlay view of /proc/self/exe, unless
// that file is unwritable already (EROFS: the view, or a sealed install).
// Does not return on success; returns minus the errno, or 0 when there was
// nothing to do.
long reexec_through_overlay(char* const* argv, char* const* envp) noexcept;

// Whether reexec_through_overlay found /proc/self/exe unwritable in this
// process (a process's executable does not change): main's check then asks
// the kernel nothing again.
bool binary_found_unwritable() noexcept;

// The mount source that names glassrun's views (glassrun-seal looks for it).
inline constexpr const char kViewSource[] = "glassrun-sealed";

}  // namespace glassrun::early
