// The runtime's own processes stay on one CPU while they set a container up;
// the container's processes and the hooks get the caller's affinity back.
//
// create, run and exec are a chain of short steps handed back and forth
// between two processes (the runtime and the init, or exec's process) over
// a socket. Spread over two CPUs, each hand-over wakes the other CPU and
// each address space torn down there needs a TLB shoot-down IPI; in a VM
// every one of those is a VM exit. Kept on the CPU the command started on,
// `run` took ~11 % less wall and ~13 % less CPU, and 32 runs at once went
// ~9 % faster (docs/BENCHMARKS.md, session 8).
//
// What the container sees does not change: before anything of the user's
// runs (the container's process, a hook) the caller's mask is set again, so
// its affinity is what runc's would be: the caller's mask within the
// cgroup's cpuset.
#pragma once

namespace glassrun::cpu_affinity {

// Saves this process's affinity and keeps it to the CPU it runs on. If
// either step fails nothing is pinned and nothing will be restored.
void keep_runtime_on_this_cpu() noexcept;

// In a child that is about to execute the user's program or a hook: the
// saved affinity again (nothing when nothing was pinned). Async-signal-safe.
// Returns 0 or the errno of sched_setaffinity; EINVAL (no CPU of the mask
// left in the cgroup's cpuset) is 0: the kernel's choice, the cpuset, is
// then what runc's process would have.
int give_back_callers_cpus() noexcept;

}  // namespace glassrun::cpu_affinity
