// glasstrace scheduler side: when each task of the traced tree runs, waits
// for a CPU, or sleeps, and who wakes it. A separate object from
// glasstrace.bpf.c (own ring buffer, own drop counter) sharing its
// `followed` map (bpf_map__reuse_fd), so `--no-sched` simply never loads it.
//
// raw_tp rather than tp_btf, as in glasstrace.bpf.c: no full kernel BTF
// parse at attach. Filtered in the kernel: a record leaves only when one of
// the tasks involved belongs to a followed thread group.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "sched_event.h"

char LICENSE[] SEC("license") = "GPL";

// glasstrace.bpf.c's map: the loader points this one at it (reuse_fd).
#include "followed_map.bpf.h"
#include "ringbuf_wake.bpf.h"

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  // 1 MiB: ~26000 records of 40 bytes while user space drains them (a
  // traced runc run makes ~2000).
  __uint(max_entries, 1 << 20);
} sched_events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, GT_SCHED_STAT_MAX);
  __type(key, __u32);
  __type(value, __u64);
} sched_stats SEC(".maps");

static __always_inline bool task_followed(struct task_struct *t, __u32 *pid, __u32 *tid) {
  *pid = 0;
  *tid = 0;
  if (!t) return false;
  __u32 tgid = BPF_CORE_READ(t, tgid);
  if (!tgid || !bpf_map_lookup_elem(&followed, &tgid)) return false;
  *pid = tgid;
  *tid = BPF_CORE_READ(t, pid);
  return true;
}

static __always_inline void submit(__u32 kind, __u32 prev_pid, __u32 prev_tid, __u32 next_pid, __u32 next_tid,
                                   __u32 prev_state, __u8 preempt) {
  struct gt_sched *r = bpf_ringbuf_reserve(&sched_events, sizeof(*r), 0);
  if (!r) {
    __u32 k = GT_SCHED_STAT_DROPPED;
    __u64 *v = bpf_map_lookup_elem(&sched_stats, &k);
    if (v) __sync_fetch_and_add(v, 1);
    return;
  }
  r->ts = bpf_ktime_get_ns();
  r->kind = kind;
  r->cpu = bpf_get_smp_processor_id();
  r->prev_pid = prev_pid;
  r->prev_tid = prev_tid;
  r->next_pid = next_pid;
  r->next_tid = next_tid;
  r->prev_state = prev_state;
  r->preempt = preempt;
  r->pad[0] = r->pad[1] = r->pad[2] = 0;
  // No wake-up per record (switches are frequent, and waking the reader
  // each time costs the traced tree CPU on a busy machine): the reader is
  // woken once per 512 KiB (half the ring), and drains it at the end.
  bpf_ringbuf_submit(r, ringbuf_wake_reserved(&sched_events, sizeof(*r), 19));
}

// TP_PROTO(bool preempt, struct task_struct *prev, struct task_struct *next,
//          unsigned int prev_state) (kernel >= 5.18).
SEC("raw_tp/sched_switch")
int BPF_PROG(on_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
             unsigned int prev_state) {
  __u32 ppid, ptid, npid, ntid;
  bool p = task_followed(prev, &ppid, &ptid);
  bool n = task_followed(next, &npid, &ntid);
  if (!p && !n) return 0;
  submit(GT_SCHED_SWITCH, ppid, ptid, npid, ntid, prev_state, preempt);
  return 0;
}

// The wakee becomes runnable; current is who it was waiting for. The waker
// is recorded even when not followed: a child that exits wakes its waiting
// parent after sched_process_exit has already removed it from `followed`
// (user space follows a waker only if it has records of its own).
static __always_inline void on_wakeup(struct task_struct *p, __u32 kind) {
  __u32 npid, ntid;
  if (!task_followed(p, &npid, &ntid)) return;
  __u64 waker = bpf_get_current_pid_tgid();
  submit(kind, waker >> 32, (__u32)waker, npid, ntid, 0, 0);
}

// In the waker's context (try_to_wake_up), unlike sched_wakeup, which may
// run on the wakee's CPU.
SEC("raw_tp/sched_waking")
int BPF_PROG(on_sched_waking, struct task_struct *p) {
  on_wakeup(p, GT_SCHED_WAKING);
  return 0;
}

// A new task's first runnable moment, in its parent's context (after
// sched_process_fork, so the child is already followed).
SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(on_sched_wakeup_new, struct task_struct *p) {
  on_wakeup(p, GT_SCHED_WAKEUP_NEW);
  return 0;
}
