// The scheduler record sched.bpf.c hands to user space through its own ring
// buffer: compact and fixed-size (a busy tree switches thousands of times per
// container start), one per context switch, wake-up or new task of the
// traced tree. Shared by sched.bpf.c (clang -target bpf) and the loader.
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

enum gt_sched_kind {
  GT_SCHED_SWITCH = 1,     // prev leaves the CPU, next takes it
  GT_SCHED_WAKING = 2,     // prev (the waker, current) wakes next
  GT_SCHED_WAKEUP_NEW = 3, // prev (the parent, current) makes next runnable for the first time
};

struct gt_sched {
  __u64 ts;          // bpf_ktime_get_ns (CLOCK_MONOTONIC), as every record
  __u32 kind;        // enum gt_sched_kind
  __u32 cpu;
  __u32 prev_pid, prev_tid;  // host view; switch: 0 when not followed (or idle); wake-ups: the waker, any task
  __u32 next_pid, next_tid;  // host view; 0 when not followed (or idle)
  __u32 prev_state;  // switch: prev's task state (0 = still runnable)
  __u8 preempt;      // switch: prev was preempted (runnable whatever its state)
  __u8 pad[3];
};

// Index into sched_stats.
enum gt_sched_stat { GT_SCHED_STAT_DROPPED = 0, GT_SCHED_STAT_MAX = 2 };
