// When a ring-buffer record wakes its reader. Shared by glasstrace.bpf.c and
// sched.bpf.c.
//
// Records are submitted without a wake-up; the one that carries the ring's
// producer position across a multiple of 2^every_shift bytes forces one.
// The reader also drains on its own timer and at the end. Its epoll is
// level-triggered on the ring having data, so a wake-up that comes while
// it is busy is not lost.
//
// Not "force while N bytes are waiting": libbpf moves the consumer position
// after every record it reads, so that rule forced a wake-up for nearly
// every record while the reader was still draining, each an irq_work, i.e.
// a self-IPI and a VM exit here: ~40 per traced `glassrun run`, about
// 0.8 ms of it (perf, docs/BENCHMARKS.md).
#pragma once

#define GT_RINGBUF_HDR 8  // BPF_RINGBUF_HDR_SZ: each record's length word

// Bytes a record of `size` takes in the ring: its header, rounded up to 8.
static __always_inline __u64 ringbuf_record_len(__u64 size) { return (size + GT_RINGBUF_HDR + 7) & ~7ULL; }

static __always_inline __u64 ringbuf_crossing_flags(__u64 start, __u64 len, __u32 every_shift) {
  return (start >> every_shift) != ((start + len) >> every_shift) ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

// For bpf_ringbuf_submit of a reserved record of `size` bytes: the last
// reservation (this one, unless another CPU reserved since) ends at the
// producer position.
static __always_inline __u64 ringbuf_wake_reserved(void *ring, __u64 size, __u32 every_shift) {
  __u64 end = bpf_ringbuf_query(ring, BPF_RB_PROD_POS);
  __u64 len = ringbuf_record_len(size);
  return ringbuf_crossing_flags(end > len ? end - len : 0, len, every_shift);
}

// For bpf_ringbuf_output of `size` bytes: the record will start at the
// producer position.
static __always_inline __u64 ringbuf_wake_output(void *ring, __u64 size, __u32 every_shift) {
  return ringbuf_crossing_flags(bpf_ringbuf_query(ring, BPF_RB_PROD_POS), ringbuf_record_len(size), every_shift);
}
