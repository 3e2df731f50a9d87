// glasstrace kernel side: decide whether a task is followed, capture what the
// user-space decoder needs, and submit. All naming/decoding is in user space.
//
// Tracepoints are raw_tp, not tp_btf: libbpf must parse the whole kernel BTF
// (~5 MB) to attach tp_btf programs, while raw_tp programs only need BTF for
// CO-RE relocations, which a minimised BTF built with the object can serve
// (loader.cpp). Every pointer is read with BPF_CORE_READ/bpf_core_read
// either way, so the code is the same.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/usdt.bpf.h>

#include "events.h"

char LICENSE[] SEC("license") = "GPL";

#define MAX_SYSCALL_NR 512

#include "followed_map.bpf.h"
#include "ringbuf_wake.bpf.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, MAX_SYSCALL_NR);
  __type(key, __u32);
  __type(value, struct gt_plan);
} capture_plan SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  // 4 MiB: ~10000 records of a runtime's typical mix (~100 B plain, ~750 B
  // with one path) while user space drains it in batches. Its pages are
  // allocated, zeroed and mapped twice (RSS: 2x its size) at every start:
  // 16 MiB were 32 MiB of glasstrace's 36 MiB RSS. GLASSTRACE_RINGBUF_BYTES
  // sizes it for bigger bursts.
  __uint(max_entries, 4 << 20);
} events SEC(".maps");

// Where a syscall's full record is built before it is copied into the
// ring buffer at the size its capture plan needs.
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct gt_sys_enter_full);
} enter_scratch SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, GT_STAT_MAX);
  __type(key, __u32);
  __type(value, __u64);
} stats SEC(".maps");

// Mount namespaces whose first exec has been audited. User space seeds the
// traced command's own, so only execs in a new mount namespace (the
// container's) are audited, each namespace once.
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, __u8);
} audited SEC(".maps");

// User space is woken once per quarter of the ring buffer (2^wake_shift
// bytes of records: 1 MiB of the default 4 MiB; the loader sets it from the
// ring's size), not for every record: each forced wake-up is an irq_work, a
// self-IPI on the traced task's CPU (a VM exit in a guest) and a context
// switch. It also polls (every 10 ms in a session, 100 ms alone) and drains
// the buffer at the end; three quarters stay free for what comes before it
// has read.
const volatile __u32 wake_shift = 20;
static __always_inline void submit(void *record, __u64 size) {
  bpf_ringbuf_submit(record, ringbuf_wake_reserved(&events, size, wake_shift));
}
static __always_inline long output(void *data, __u64 size) {
  return bpf_ringbuf_output(&events, data, size, ringbuf_wake_output(&events, size, wake_shift));
}

static __always_inline void count_drop(void) {
  __u32 k = GT_STAT_DROPPED;
  __u64 *v = bpf_map_lookup_elem(&stats, &k);
  if (v) __sync_fetch_and_add(v, 1);
}

static __always_inline bool is_followed(__u32 tgid) {
  return bpf_map_lookup_elem(&followed, &tgid) != NULL;
}

// pid of `task` as its own pid namespace sees it (numbers[level]).
static __always_inline __u32 ns_nr(struct pid *p) {
  unsigned int level = BPF_CORE_READ(p, level);
  struct upid up = {};
  bpf_core_read(&up, sizeof(up), &p->numbers[level]);
  return up.nr;
}

// Every record describes the current task (the syscall's caller, the
// forking parent, the exec'ing or exiting task). Its ids and comm come from
// the helpers made for the current task; the rest are CO-RE reads.
// (Loads straight through BTF pointers would be cheaper per record, but
// made the verifier take ~40 ms longer at every start.)
static __always_inline void fill_ids(struct gt_task *t) {
  __u64 id = bpf_get_current_pid_tgid();
  t->ts = bpf_ktime_get_ns();
  t->pid = id >> 32;
  t->tid = (__u32)id;
}

// A task's pid-namespace numbers and namespace inodes, as last read. They
// change only when its nsproxy is replaced (setns, unshare: a new object,
// allocated while the task still holds the old one, so never at the same
// address) or at a non-leader exec (on_exec drops the entry); the pid
// namespace itself is fixed at clone. Checking one pointer instead of
// reading ~8 fields through the pid and nsproxy structs was ~50 ns off
// every record (bpf_stats).
//
// Its cgroup id likewise, by its css_set (task->cgroups): a move to another
// cgroup gives the task another css_set, found or allocated while it still
// holds the old one, so never at the same address. One pointer read and
// compare instead of bpf_get_current_cgroup_id: 20-40 ns off a traced
// syscall in a tight loop, within the noise of bench/tracer_cost.py's
// syscall figure (docs/BENCHMARKS.md "Session 20").
struct task_ids {
  __u64 nsproxy;
  __u64 cgroups;  // the css_set cgroup_id was read for; 0: none yet
  __u64 cgroup_id;
  __u32 ns_pid, ns_tid, mntns, pidns;
};

// A call recorded at its exit (gt_plan.at_exit): what its entry saw.
struct entered_call {
  __s64 nr;
  __u64 ts;  // 0: none pending
  char comm[GT_COMM_LEN];
};

struct task_state {
  struct task_ids ids;
  struct entered_call call;
  __u64 follow_epoch;  // follow_epoch when its thread group was last found followed
};

// Bumped by user space at every unfollow (loader.cpp): a task whose state
// notes the current epoch is followed without a look in `followed`. Follows
// need no bump (a task not yet noted looks it up), and a thread group that
// exits takes its tasks' states with it.
volatile __u64 follow_epoch = 1;

struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct task_state);
} task_state SEC(".maps");

static __always_inline void read_task_ids(struct task_struct *task, struct task_ids *ids) {
  struct pid *tp = BPF_CORE_READ(task, thread_pid);
  struct pid *lp = BPF_CORE_READ(task, group_leader, thread_pid);
  // The thread's upid in its own namespace gives both its number and the
  // namespace (one level read and one upid read, not two of each).
  unsigned int level = BPF_CORE_READ(tp, level);
  struct upid up = {};
  bpf_core_read(&up, sizeof(up), &tp->numbers[level]);
  ids->ns_tid = up.nr;
  ids->ns_pid = lp == tp ? up.nr : ns_nr(lp);
  ids->pidns = BPF_CORE_READ(up.ns, ns.inum);
  ids->mntns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
}

static __always_inline struct task_state *state_of(struct task_struct *task, __u64 flags) {
  return bpf_task_storage_get(&task_state, task, 0, flags);
}

// Whether the current task (`task`) is followed, and its state (NULL if it
// could not be made). Its thread group id is read only when its state does
// not already say so. A task's storage is one
// pointer in its task_struct, NULL for the tasks never followed: for the
// traced tree one storage look-up replaces the hash look-up in `followed`
// plus the storage look-up its records make anyway (~25 ns per program
// run, docs/TRACER.md).
static __always_inline bool followed_state(struct task_struct *task, struct task_state **state) {
  struct task_state *st = state_of(task, 0);
  __u64 epoch = follow_epoch;
  *state = st;
  if (st && st->follow_epoch == epoch) return true;
  if (!is_followed(bpf_get_current_pid_tgid() >> 32)) return false;
  if (!st) *state = st = state_of(task, BPF_LOCAL_STORAGE_GET_F_CREATE);
  if (st) st->follow_epoch = epoch;
  return true;
}

// The task fields but comm, with `st` the task's state (NULL: none).
static __always_inline void fill_task_ids(struct gt_task *t, struct task_struct *task, struct task_state *st) {
  fill_ids(t);
  // Read, not loaded through the BTF pointer: plain loads made the verifier
  // 3-5x slower on every program (load phase 15 -> 33 ms).
  __u64 nsproxy = (__u64)BPF_CORE_READ(task, nsproxy);
  __u64 cgroups = (__u64)BPF_CORE_READ(task, cgroups);
  struct task_ids fresh;
  struct task_ids *ids;
  if (st) {
    ids = &st->ids;
    if (!nsproxy || ids->nsproxy != nsproxy) {
      read_task_ids(task, ids);
      ids->nsproxy = nsproxy;
    }
  } else {
    read_task_ids(task, &fresh);
    fresh.cgroups = 0;
    ids = &fresh;
  }
  if (!cgroups || ids->cgroups != cgroups) {
    ids->cgroup_id = bpf_get_current_cgroup_id();
    ids->cgroups = cgroups;
  }
  t->ns_pid = ids->ns_pid;
  t->ns_tid = ids->ns_tid;
  t->pidns = ids->pidns;
  t->mntns = ids->mntns;
  t->cgroup = ids->cgroup_id;
}

// The header of a record of the current task, `st` its state (NULL: none).
static __always_inline void fill_header_of(struct gt_header *h, __u32 kind, __u32 size, struct task_struct *task,
                                           struct task_state *st) {
  h->kind = kind;
  h->size = size;
  fill_task_ids(&h->task, task, st);
  bpf_get_current_comm(&h->task.comm, sizeof(h->task.comm));
}

static __always_inline void fill_header(struct gt_header *h, __u32 kind, __u32 size) {
  struct task_struct *task = bpf_get_current_task_btf();
  fill_header_of(h, kind, size, task, state_of(task, BPF_LOCAL_STORAGE_GET_F_CREATE));
}

// The current task's user registers (the syscall's number and arguments),
// as a pointer the verifier trusts: each register is one load, where the
// tracepoint's own `regs` argument (untrusted in a raw_tp program) needed a
// bpf_probe_read_kernel (~18 ns less per exit in a traced loop, docs/TRACER.md).
static __always_inline struct pt_regs *user_regs(struct task_struct *task) {
  return (struct pt_regs *)bpf_task_pt_regs(task);
}

static __always_inline __u64 arg_of(const struct pt_regs *regs, int i) {
  switch (i) {
    case 0: return regs->di;
    case 1: return regs->si;
    case 2: return regs->dx;
    case 3: return regs->r10;
    case 4: return regs->r8;
    default: return regs->r9;
  }
}

// Appends one entry to f->text at `off` (events.h): a user or kernel string
// of at most `max` bytes with its NUL, or an empty entry if it cannot be
// read; returns the offset after it. An entry starts below GT_TEXT_LEN, so
// `text` (that plus GT_STR_LEN) holds it without a wrap. A global function:
// the verifier checks it once, not at each of its ~20 call sites (inlined,
// on_sys_enter's verification processed 147580 instructions, ~70 ms; as
// one function 2315, ~1 ms: half of what the fixed slots took).
__noinline __u64 text_entry(struct gt_sys_enter_full *f, __u64 off, __u64 src, __u64 max, int user) {
  if (!f || off >= GT_TEXT_LEN) return off;
  if (max > GT_STR_LEN) max = GT_STR_LEN;
  char *dst = &f->text[off & (GT_TEXT_LEN - 1)];
  long n = 0;
  if (src) n = user ? bpf_probe_read_user_str(dst, max, (void *)src) : bpf_probe_read_kernel_str(dst, max, (void *)src);
  if (n <= 0) {
    dst[0] = 0;
    n = 1;
  }
  return off + n;
}

static __always_inline void capture_argv(struct gt_sys_enter_full *f, __u32 *off, __u64 uargv) {
  f->argc = 0;
  if (!uargv) return;
#pragma unroll
  for (int i = 0; i < GT_ARGV_N; i++) {
    __u64 p = 0;
    if (bpf_probe_read_user(&p, sizeof(p), (void *)(uargv + i * 8)) || !p) break;
    *off = text_entry(f, *off, p, GT_ARGV_LEN, 1);
    f->argc = i + 1;
  }
}

// Names of the dentries from the fd's file up to (not including) the mount
// root, leaf first. bpf_d_path is not allowed from tp_btf/sys_enter.
static __always_inline struct file *file_of_fd(struct task_struct *task, int fd) {
  if (fd < 0) return NULL;
  struct file **fds = BPF_CORE_READ(task, files, fdt, fd);
  unsigned int max = BPF_CORE_READ(task, files, fdt, max_fds);
  if ((unsigned int)fd >= max) return NULL;
  struct file *file = NULL;
  bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
  return file;
}

static __always_inline void capture_fd_path(struct gt_sys_enter_full *f, __u32 *off,
                                            struct task_struct *task, int fd) {
  f->path_depth = 0;
  struct file *file = file_of_fd(task, fd);
  if (!file) return;
  struct dentry *d = BPF_CORE_READ(file, f_path.dentry);
#pragma unroll
  for (int i = 0; i < GT_PATH_DEPTH; i++) {
    if (!d) break;
    struct dentry *parent = BPF_CORE_READ(d, d_parent);
    *off = text_entry(f, *off, (__u64)BPF_CORE_READ(d, d_name.name), GT_NAME_LEN, 0);
    f->path_depth = i + 1;
    if (parent == d) break;  // reached the root of this mount
    d = parent;
  }
}

static __always_inline void fill_args(struct gt_sys_enter *e, const struct pt_regs *uregs, long id, bool payload) {
  e->nr = id;
#pragma unroll
  for (int i = 0; i < 6; i++) e->args[i] = arg_of(uregs, i);
  e->has_payload = payload;
}

static __always_inline void fill_enter(struct gt_sys_enter *e, const struct pt_regs *uregs, long id, __u32 size,
                                       bool payload, struct task_struct *task, struct task_state *st) {
  fill_header_of(&e->h, GT_SYS_ENTER, size, task, st);
  fill_args(e, uregs, id, payload);
}

static __always_inline bool has_payload(const struct gt_plan *plan) {
  return plan->str_mask || plan->extra || plan->struct_len;
}

// A full record's string slots, in events.h's order (after any dentry
// names); `off` is where its text goes on.
static __always_inline void capture_strings(struct gt_sys_enter_full *f, __u32 *off, const struct gt_plan *plan) {
  __u8 mask = plan->str_mask;
#pragma unroll
  for (int s = 0; s < GT_NSTR; s++) f->str_arg[s] = 0xff;
  int slot = 0;
#pragma unroll
  for (int i = 0; i < 6; i++) {
    if (!(mask & (1 << i)) || slot >= GT_NSTR) continue;
    f->str_arg[slot] = i;
    *off = text_entry(f, *off, f->e.args[i], GT_STR_LEN, 1);
    slot++;
  }
}

// A write's first bytes and its fd's path (the dentry names, first).
static __always_inline void capture_written(struct gt_sys_enter_full *f, __u32 *off, const struct gt_plan *plan,
                                            struct task_struct *task) {
  if (plan->extra != GT_X_WRITE) return;
  __u64 len = f->e.args[2];
  if (len > GT_DATA_LEN) len = GT_DATA_LEN;
  if (len && !bpf_probe_read_user(f->data, len & (GT_DATA_LEN * 2 - 1), (void *)f->e.args[1]))
    f->data_len = len;
  capture_fd_path(f, off, task, (int)f->e.args[0]);
}

static __always_inline void capture_struct(struct gt_sys_enter_full *f, const struct gt_plan *plan) {
  __u32 slen = plan->struct_len;
  __u8 sarg = plan->struct_arg;
  if (slen && slen <= GT_DATA_LEN && sarg < 6 && !bpf_probe_read_user(f->data, slen, (void *)f->e.args[sarg]))
    f->data_len = slen;
}

static __always_inline struct gt_sys_enter_full *scratch_record(void) {
  __u32 zero = 0;
  struct gt_sys_enter_full *f = bpf_map_lookup_elem(&enter_scratch, &zero);
  if (!f) return NULL;
  f->argc = 0;
  f->data_len = 0;
  f->path_depth = 0;
  return f;
}

// Sends a full record as far as its text goes.
static __always_inline void output_full(struct gt_sys_enter_full *f, __u32 off) {
  // off < GT_TEXT_LEN + GT_STR_LEN; the mask says so to the verifier.
  __u64 size = __builtin_offsetof(struct gt_sys_enter_full, text) + (off & (2 * GT_TEXT_LEN - 1));
  if (size > sizeof(*f)) size = sizeof(*f);
  f->e.h.size = size;
  if (output(f, size)) count_drop();
}

// Whether this call of a syscall recorded at exit is one that cannot wait
// for another task (enum gt_at_exit): then its exit makes its record.
static __always_inline bool cannot_wait(const struct gt_plan *plan, const struct pt_regs *uregs,
                                        struct task_struct *task) {
  if (plan->at_exit == GT_AT_EXIT) return true;
  __u64 arg = arg_of(uregs, plan->at_exit_arg);
  switch (plan->at_exit) {
    case GT_AT_EXIT_IF_FLAGS: return (arg & plan->at_exit_flags) != 0;
    case GT_AT_EXIT_IF_HOW_FLAGS: {
      __u64 flags = 0;
      return !bpf_probe_read_user(&flags, sizeof(flags), (void *)arg) && (flags & plan->at_exit_flags) != 0;
    }
    case GT_AT_EXIT_IF_REGULAR_FILE: {
      struct file *file = file_of_fd(task, (int)arg);
      return file && (BPF_CORE_READ(file, f_inode, i_mode) & 0170000) == 0100000;  // S_ISREG
    }
  }
  return false;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *unused_regs, long id) {
  struct task_struct *task = bpf_get_current_task_btf();
  struct task_state *st;
  if (!followed_state(task, &st)) return 0;
  struct pt_regs *regs = user_regs(task);

  __u32 nr = (__u32)id;
  struct gt_plan *plan = nr < MAX_SYSCALL_NR ? bpf_map_lookup_elem(&capture_plan, &nr) : NULL;
  if (st && plan && plan->at_exit && cannot_wait(plan, regs, task)) {
    // Only what the exit cannot know: when it began, under which name.
    st->call.nr = id;
    st->call.ts = bpf_ktime_get_ns();
    bpf_get_current_comm(&st->call.comm, sizeof(st->call.comm));
    return 0;
  }
  if (!plan || !has_payload(plan)) {
    struct gt_sys_enter *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) {
      count_drop();
      return 0;
    }
    fill_enter(e, regs, id, sizeof(*e), false, task, st);
    submit(e, sizeof(*e));
    return 0;
  }

  struct gt_sys_enter_full *f = scratch_record();
  if (!f) return 0;
  struct gt_sys_enter *e = &f->e;
  fill_enter(e, regs, id, 0, true, task, st);
  __u32 off = 0;
  // Text in the order events.h gives: dentry names, string slots, argv.
  capture_written(f, &off, plan, task);
  capture_strings(f, &off, plan);
  if (plan->extra == GT_X_EXECVE) capture_argv(f, &off, e->args[1]);
  else if (plan->extra == GT_X_EXECVEAT) capture_argv(f, &off, e->args[2]);
  capture_struct(f, plan);
  output_full(f, off);
  return 0;
}

// The GT_SYSCALL record of a syscall whose entry on_sys_enter noted in
// `call`: the header as at entry (time, comm; its ids do not change in a
// syscall that may be recorded at exit), args and strings read now, and the
// return. `st` is the task's state, for its cached ids.
static __always_inline void record_whole(struct gt_sys_enter *e, struct task_struct *task, struct task_state *st,
                                         const struct entered_call *call, const struct pt_regs *uregs, long ret,
                                         __u32 size, bool payload) {
  e->h.kind = GT_SYSCALL;
  e->h.size = size;
  fill_task_ids(&e->h.task, task, st);
  e->exit_ts = e->h.task.ts;
  e->h.task.ts = call->ts;
  __builtin_memcpy(e->h.task.comm, call->comm, sizeof(e->h.task.comm));
  fill_args(e, uregs, call->nr, payload);
  e->ret = ret;
}

// True if the syscall was recorded whole (or its record dropped).
static __always_inline bool exit_of_whole(const struct pt_regs *uregs, __s64 nr, long ret, const struct gt_plan *plan,
                                          struct task_struct *task, struct task_state *st) {
  if (!st->call.ts || st->call.nr != nr) return false;  // entered before we followed it
  struct entered_call call = st->call;
  st->call.ts = 0;  // taken: no later exit may find it
  if (!has_payload(plan)) {
    struct gt_sys_enter *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) {
      count_drop();
      return true;
    }
    record_whole(e, task, st, &call, uregs, ret, sizeof(*e), false);
    submit(e, sizeof(*e));
    return true;
  }
  struct gt_sys_enter_full *f = scratch_record();
  if (!f) {
    count_drop();
    return true;
  }
  record_whole(&f->e, task, st, &call, uregs, ret, 0, true);
  __u32 off = 0;
  capture_written(f, &off, plan, task);
  capture_strings(f, &off, plan);
  capture_struct(f, plan);
  output_full(f, off);
  return true;
}

// cmsghdr walk: fds passed with SCM_RIGHTS in the first few control messages.
static __always_inline int count_scm_rights(__u64 umsg) {
  struct user_msghdr m = {};
  if (bpf_probe_read_user(&m, sizeof(m), (void *)umsg)) return -1;
  __u64 ctl = (__u64)m.msg_control, left = m.msg_controllen;
  int n = 0;
#pragma unroll
  for (int i = 0; i < 4; i++) {
    struct { __u64 len; int level; int type; } c = {};
    if (left < sizeof(c) || bpf_probe_read_user(&c, sizeof(c), (void *)ctl)) break;
    if (c.len < sizeof(c) || c.len > left) break;
    if (c.level == 1 /*SOL_SOCKET*/ && c.type == 1 /*SCM_RIGHTS*/)
      n += (c.len - sizeof(c)) / 4;
    __u64 step = (c.len + 7) & ~7ULL;
    ctl += step;
    left = step < left ? left - step : 0;
  }
  return n;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *unused_regs, long ret) {
  struct task_struct *task = bpf_get_current_task_btf();
  struct task_state *st;
  if (!followed_state(task, &st)) return 0;
  struct pt_regs *regs = user_regs(task);
  __s64 nr = regs->orig_ax;
  __u32 plan_nr = (__u32)nr;
  struct gt_plan *plan = plan_nr < MAX_SYSCALL_NR ? bpf_map_lookup_elem(&capture_plan, &plan_nr) : NULL;
  if (st && plan && plan->at_exit && exit_of_whole(regs, nr, ret, plan, task, st)) return 0;
  bool err = ret < 0 && ret >= -4095;
  struct gt_sys_exit *e;
  if (err)
    e = bpf_ringbuf_reserve(&events, sizeof(struct gt_sys_exit_err), 0);
  else
    e = bpf_ringbuf_reserve(&events, sizeof(struct gt_sys_exit), 0);
  if (!e) {
    count_drop();
    return 0;
  }
  if (err) {
    fill_header_of(&e->h, GT_SYS_EXIT, sizeof(struct gt_sys_exit_err), task, st);
  } else {
    // A successful return is only ever joined to its entry, by thread id
    // (or counted as unpaired): the names, namespaces and cgroup of the
    // header would be read for nothing. An error return keeps them: it may
    // be a syscall seccomp refused before sys_enter, written from the exit.
    e->h.kind = GT_SYS_EXIT;
    e->h.size = sizeof(struct gt_sys_exit);
    __builtin_memset(&e->h.task, 0, sizeof(e->h.task));
    fill_ids(&e->h.task);
  }
  // Of the user registers, a successful return needs only orig_ax.
  e->nr = nr;
  e->ret = ret;
  e->scm_rights = -1;
  if (err) {
    struct gt_sys_exit_err *x = (void *)e;
#pragma unroll
    for (int i = 0; i < 6; i++) x->args[i] = arg_of(regs, i);
  }
  if (plan && plan->extra == GT_X_MSG && ret >= 0)
    e->scm_rights = count_scm_rights(regs->si);
  submit(e, e->h.size);
  return 0;
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child) {
  __u32 ptgid = BPF_CORE_READ(parent, tgid);
  if (!is_followed(ptgid)) return 0;
  __u32 ctgid = BPF_CORE_READ(child, tgid);
  __u8 one = 1;
  bpf_map_update_elem(&followed, &ctgid, &one, BPF_ANY);

  struct gt_fork *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) {
    count_drop();
    return 0;
  }
  fill_header(&e->h, GT_FORK, sizeof(*e));  // current is the parent
  e->child_pid = ctgid;
  e->child_tid = BPF_CORE_READ(child, pid);
  struct pid *tp = BPF_CORE_READ(child, thread_pid);
  e->child_ns_tid = ns_nr(tp);
  e->child_ns_pid = ns_nr(BPF_CORE_READ(child, group_leader, thread_pid));
  unsigned int level = BPF_CORE_READ(tp, level);
  struct upid up = {};
  bpf_core_read(&up, sizeof(up), &tp->numbers[level]);
  e->child_pidns = BPF_CORE_READ(up.ns, ns.inum);
  submit(e, e->h.size);
  return 0;
}

// --- exec_audit --------------------------------------------------------------

static __always_inline struct mount *real_mount(struct vfsmount *vm) {
  return (struct mount *)((char *)vm - bpf_core_field_offset(struct mount, mnt));
}

// Names from (d, vm) up, leaf first, crossing mount points, until the
// task's root (in_root), the top of the mount namespace (at_ns_top) or
// GT_AUDIT_DEPTH names (truncated). A global function: the verifier checks
// it once, not once per call site (root, cwd, fds: three copies of this
// loop were ~100 ms of verification at every start). Kernel pointers come
// as integers, since a global function's pointer arguments must be memory.
__noinline int walk_path(struct gt_path *out, __u64 dentry, __u64 vfsmount, __u64 root_dentry, __u64 root_vfsmount) {
  if (!out) return 0;
  struct dentry *d = (struct dentry *)dentry, *root_d = (struct dentry *)root_dentry;
  struct vfsmount *vm = (struct vfsmount *)vfsmount, *root_mnt = (struct vfsmount *)root_vfsmount;
  struct mount *m = real_mount(vm);
  out->depth = 0;
  out->truncated = 0;
  out->in_root = 0;
  out->at_ns_top = 0;
  for (int i = 0; i < GT_AUDIT_DEPTH * 2 + 2; i++) {
    if (d == root_d && vm == root_mnt) {
      out->in_root = 1;
      return 0;
    }
    if (d == BPF_CORE_READ(vm, mnt_root)) {
      struct mount *parent = BPF_CORE_READ(m, mnt_parent);
      if (!parent || parent == m) {
        out->at_ns_top = 1;
        return 0;
      }
      d = BPF_CORE_READ(m, mnt_mountpoint);
      m = parent;
      vm = (struct vfsmount *)((char *)parent + bpf_core_field_offset(struct mount, mnt));
      continue;
    }
    __u8 n = out->depth;
    if (n >= GT_AUDIT_DEPTH) {
      out->truncated = 1;
      return 0;
    }
    bpf_probe_read_kernel_str(out->names[n], GT_NAME_LEN, BPF_CORE_READ(d, d_name.name));
    out->depth = n + 1;
    struct dentry *up = BPF_CORE_READ(d, d_parent);
    if (!up || up == d) {
      out->at_ns_top = 1;  // a detached tree
      return 0;
    }
    d = up;
  }
  out->truncated = 1;
  return 0;
}

// Scratch for the audit record (too large for the stack; built there, then
// copied out once with bpf_ringbuf_output, so the fd walk's bpf_loop
// callback can reach it without holding a ring-buffer reservation).
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct gt_audit);
} audit_scratch SEC(".maps");

struct fd_walk {
  struct file **fds;
  unsigned long *cloexec;
  unsigned int max;
  struct dentry *root_d;
  struct vfsmount *root_mnt;
};

// One fd number (bpf_loop callback: one verification for every fd).
static long audit_one_fd(__u32 fd, struct fd_walk *w) {
  if (fd >= w->max) return 1;
  struct file *f = NULL;
  bpf_probe_read_kernel(&f, sizeof(f), &w->fds[fd]);
  if (!f) return 0;
  __u32 zero = 0;
  struct gt_audit *a = bpf_map_lookup_elem(&audit_scratch, &zero);
  if (!a) return 1;
  a->nfds++;
  __u32 n = a->fds_described;
  if (n >= GT_AUDIT_FDS) return 0;
  struct gt_audit_fd *o = &a->fds[n];
  o->fd = fd;
  o->mode = BPF_CORE_READ(f, f_inode, i_mode);
  o->flags = BPF_CORE_READ(f, f_flags);
  o->ino = BPF_CORE_READ(f, f_inode, i_ino);
  unsigned long word = 0;
  bpf_probe_read_kernel(&word, sizeof(word), &w->cloexec[fd / 64]);
  o->cloexec = (word >> (fd % 64)) & 1;
  bpf_probe_read_kernel_str(o->fstype, sizeof(o->fstype), BPF_CORE_READ(f, f_inode, i_sb, s_type, name));
  walk_path(&o->path, (__u64)BPF_CORE_READ(f, f_path.dentry), (__u64)BPF_CORE_READ(f, f_path.mnt),
            (__u64)w->root_d, (__u64)w->root_mnt);
  a->fds_described = n + 1;
  return 0;
}

// The container's first program, as the kernel hands it over: credentials,
// capabilities, seccomp, limits, namespaces, root/cwd and every open fd.
static __always_inline void emit_audit(struct task_struct *p) {
  __u32 mntns = BPF_CORE_READ(p, nsproxy, mnt_ns, ns.inum);
  __u8 one = 1;
  if (bpf_map_update_elem(&audited, &mntns, &one, BPF_NOEXIST)) return;  // not the first exec there
  __u32 zero = 0;
  struct gt_audit *a = bpf_map_lookup_elem(&audit_scratch, &zero);
  if (!a) return;
  fill_header(&a->h, GT_AUDIT, sizeof(*a));  // current is p
  const struct cred *c = BPF_CORE_READ(p, cred);
  a->uid = BPF_CORE_READ(c, uid.val);
  a->euid = BPF_CORE_READ(c, euid.val);
  a->suid = BPF_CORE_READ(c, suid.val);
  a->fsuid = BPF_CORE_READ(c, fsuid.val);
  a->gid = BPF_CORE_READ(c, gid.val);
  a->egid = BPF_CORE_READ(c, egid.val);
  a->sgid = BPF_CORE_READ(c, sgid.val);
  a->fsgid = BPF_CORE_READ(c, fsgid.val);
  a->securebits = BPF_CORE_READ(c, securebits);
  // kernel_cap_t is one u64 since 6.3, two u32 (same bytes) before.
  bpf_core_read(&a->cap_inheritable, 8, &c->cap_inheritable);
  bpf_core_read(&a->cap_permitted, 8, &c->cap_permitted);
  bpf_core_read(&a->cap_effective, 8, &c->cap_effective);
  bpf_core_read(&a->cap_bset, 8, &c->cap_bset);
  bpf_core_read(&a->cap_ambient, 8, &c->cap_ambient);
  struct group_info *gi = BPF_CORE_READ(c, group_info);
  int ng = BPF_CORE_READ(gi, ngroups);
  a->ngroups = ng < 0 ? 0 : ng;
  bpf_probe_read_kernel(a->groups, sizeof(a->groups), &gi->gid);
  a->ns_user = BPF_CORE_READ(c, user_ns, ns.inum);

  a->no_new_privs = BPF_CORE_READ(p, atomic_flags) & 1;  // PFA_NO_NEW_PRIVS
  unsigned long mmflags = 0;
  struct mm_struct *mm = BPF_CORE_READ(p, mm);
  bpf_core_read(&mmflags, sizeof(mmflags), &mm->flags);
  a->dumpable = mmflags & 3;  // MMF_DUMPABLE_MASK
  a->seccomp_mode = BPF_CORE_READ(p, seccomp.mode);
  a->seccomp_filters = BPF_CORE_READ(p, seccomp.filter_count.counter);
  struct signal_struct *sig = BPF_CORE_READ(p, signal);
  bpf_core_read(a->rlim, sizeof(a->rlim), &sig->rlim);

  a->ns_pid = a->h.task.pidns;
  a->ns_mnt = mntns;
  a->ns_pid_children = BPF_CORE_READ(p, nsproxy, pid_ns_for_children, ns.inum);
  a->ns_uts = BPF_CORE_READ(p, nsproxy, uts_ns, ns.inum);
  a->ns_ipc = BPF_CORE_READ(p, nsproxy, ipc_ns, ns.inum);
  a->ns_net = BPF_CORE_READ(p, nsproxy, net_ns, ns.inum);
  a->ns_cgroup = BPF_CORE_READ(p, nsproxy, cgroup_ns, ns.inum);
  a->ns_time = BPF_CORE_READ(p, nsproxy, time_ns, ns.inum);

  struct dentry *root_d = BPF_CORE_READ(p, fs, root.dentry);
  struct vfsmount *root_mnt = BPF_CORE_READ(p, fs, root.mnt);
  walk_path(&a->root, (__u64)root_d, (__u64)root_mnt, 0, 0);
  walk_path(&a->cwd, (__u64)BPF_CORE_READ(p, fs, pwd.dentry), (__u64)BPF_CORE_READ(p, fs, pwd.mnt),
            (__u64)root_d, (__u64)root_mnt);
  struct fdtable *fdt = BPF_CORE_READ(p, files, fdt);
  struct fd_walk w = {.fds = BPF_CORE_READ(fdt, fd), .cloexec = BPF_CORE_READ(fdt, close_on_exec),
                      .max = BPF_CORE_READ(fdt, max_fds), .root_d = root_d, .root_mnt = root_mnt};
  a->nfds = 0;
  a->fds_described = 0;
  bpf_loop(GT_AUDIT_FD_SCAN, audit_one_fd, &w, 0);
  if (output(a, sizeof(*a))) count_drop();
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) {
  __u32 tgid = BPF_CORE_READ(p, tgid);
  if (!is_followed(tgid)) return 0;
  struct gt_exec *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) {
    count_drop();
    return 0;
  }
  // A non-leader thread's exec gave it the leader's pid: read anew.
  if (old_pid != BPF_CORE_READ(p, pid)) bpf_task_storage_delete(&task_state, bpf_get_current_task_btf());
  fill_header(&e->h, GT_EXEC, sizeof(*e));
  e->old_tid = old_pid;
  bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
  __u64 start = BPF_CORE_READ(p, mm, arg_start), end = BPF_CORE_READ(p, mm, arg_end);
  __u64 len = end > start ? end - start : 0;
  if (len > GT_EXEC_ARGS_LEN) len = GT_EXEC_ARGS_LEN;
  e->args_len = 0;
  if (len && !bpf_probe_read_user(e->args, len & (GT_EXEC_ARGS_LEN * 2 - 1), (void *)start))
    e->args_len = len;
  submit(e, e->h.size);
  emit_audit(p);
  return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p, bool group_dead) {
  __u32 tgid = BPF_CORE_READ(p, tgid);
  if (!is_followed(tgid)) return 0;
  struct gt_exit *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) {
    count_drop();
  } else {
    fill_header(&e->h, GT_EXIT, sizeof(*e));
    e->exit_code = BPF_CORE_READ(p, exit_code);
    e->group_dead = group_dead;
    e->sigsys_nr = -1;
    if ((e->exit_code & 0x7f) == 31 /* SIGSYS */) {
      // The exiting task is current; its user registers hold the syscall.
      struct pt_regs *regs = user_regs(bpf_get_current_task_btf());
      e->sigsys_nr = regs->orig_ax;
#pragma unroll
      for (int i = 0; i < 6; i++) e->sigsys_args[i] = arg_of(regs, i);
    }
    submit(e, e->h.size);
  }
  if (group_dead) bpf_map_delete_elem(&followed, &tgid);
  return 0;
}

static __always_inline int emit_step(struct pt_regs *ctx, const char *step, int err, bool end) {
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  if (!is_followed(tgid)) return 0;
  struct gt_step *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) {
    count_drop();
    return 0;
  }
  fill_header(&e->h, GT_STEP, sizeof(*e));
  e->is_end = end;
  e->err = err;
  // The step name is a literal in the binary's .rodata, whose page may not
  // be faulted in yet; the program is sleepable (set by the loader), so
  // touch the string's first and last possible page before reading it.
  char c;
  bpf_copy_from_user(&c, 1, step);
  bpf_copy_from_user(&c, 1, step + sizeof(e->step) - 1);
  bpf_probe_read_user_str(e->step, sizeof(e->step), step);
  submit(e, e->h.size);
  return 0;
}

SEC("usdt")
int BPF_USDT(on_step_begin, const char *step) { return emit_step(ctx, step, 0, false); }

SEC("usdt")
int BPF_USDT(on_step_end, const char *step, int err) { return emit_step(ctx, step, err, true); }
