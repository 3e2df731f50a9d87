// Two programs that do nothing, on the raw syscall tracepoints: attached,
// every syscall of every task takes the kernel's tracepoint path and calls
// them. bench/spawn/raw_tp_floor.c runs a command with them attached.
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("raw_tp/sys_enter")
int floor_sys_enter(void *ctx) { return 0; }

SEC("raw_tp/sys_exit")
int floor_sys_exit(void *ctx) { return 0; }
