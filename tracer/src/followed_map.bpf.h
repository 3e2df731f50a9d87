// Followed thread-group ids. Seeded by user space, grown on fork. Not
// preallocated: 65536 preallocated entries cost ~20 ms at every start.
// Defined once for glasstrace.bpf.c and sched.bpf.c: the loader makes the
// second object use the first one's map (bpf_map__reuse_fd), which needs
// the same type, key, value and size.
#pragma once

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, 65536);
  __type(key, __u32);
  __type(value, __u8);
} followed SEC(".maps");
