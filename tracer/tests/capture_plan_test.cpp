// What the BPF side is told to record of each syscall (capture_plan.cpp).
#include <fcntl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "capture_plan.h"
#include "decode.h"
#include "syscalls.h"

using namespace glasstrace;

TEST(CapturePlan, RecordedAtExitAreKnownSyscallsInOrder) {
  auto names = syscalls_recorded_at_exit();
  ASSERT_FALSE(names.empty());
  EXPECT_TRUE(std::ranges::is_sorted(names));  // capture_plan_of searches it
  EXPECT_EQ(std::ranges::adjacent_find(names), names.end());
  for (std::string_view name : names) {
    auto nr = syscall_nr(name);
    ASSERT_TRUE(nr.has_value()) << name;
    EXPECT_EQ(capture_plan_of(*nr).at_exit, GT_AT_EXIT) << name;
  }
}

// The rule's exclusions: calls that may wait for another task (a trace could
// end before they return) or that change the task's image or namespaces.
TEST(CapturePlan, CallsThatMayWaitKeepTheirEntryRecord) {
  for (const char* name : {"wait4", "waitid", "poll", "ppoll", "epoll_wait", "futex", "nanosleep", "fcntl", "flock",
                           "ioctl", "recvmsg", "sendmsg", "accept4", "connect", "clone", "clone3", "fork", "vfork",
                           "execve", "execveat", "exit", "exit_group", "kill", "tgkill", "rt_sigreturn", "setns",
                           "unshare", "seccomp"}) {
    auto nr = syscall_nr(name);
    ASSERT_TRUE(nr.has_value()) << name;
    EXPECT_EQ(capture_plan_of(*nr).at_exit, GT_AT_ENTRY) << name;
  }
}

// Opens and I/O are recorded at exit only when that call cannot wait.
TEST(CapturePlan, OpensAndIoAtExitOnlyWhenTheyCannotWait) {
  const uint32_t no_wait = O_PATH | O_DIRECTORY | O_NONBLOCK;
  gt_plan openat = capture_plan_of(*syscall_nr("openat"));
  EXPECT_EQ(openat.at_exit, GT_AT_EXIT_IF_FLAGS);
  EXPECT_EQ(openat.at_exit_arg, 2);
  EXPECT_EQ(openat.at_exit_flags, no_wait);
  EXPECT_EQ(openat.str_mask, 0b10);  // the path is still captured
  gt_plan open = capture_plan_of(*syscall_nr("open"));
  EXPECT_EQ(open.at_exit, GT_AT_EXIT_IF_FLAGS);
  EXPECT_EQ(open.at_exit_arg, 1);
  gt_plan openat2 = capture_plan_of(*syscall_nr("openat2"));
  EXPECT_EQ(openat2.at_exit, GT_AT_EXIT_IF_HOW_FLAGS);
  EXPECT_EQ(openat2.at_exit_arg, 2);
  EXPECT_EQ(openat2.at_exit_flags, no_wait);
  for (const char* name : {"read", "write", "pread64", "pwrite64", "readv", "writev"}) {
    gt_plan p = capture_plan_of(*syscall_nr(name));
    EXPECT_EQ(p.at_exit, GT_AT_EXIT_IF_REGULAR_FILE) << name;
    EXPECT_EQ(p.at_exit_arg, 0) << name;
  }
  EXPECT_EQ(capture_plan_of(*syscall_nr("write")).extra, GT_X_WRITE);  // its data and path, read at exit then
}

// The plan follows the signatures; a call recorded at exit has strings and
// structs at most (its args read at exit), no extra of an entry record.
TEST(CapturePlan, PlansFollowTheSignatures) {
  gt_plan mount = capture_plan_of(*syscall_nr("mount"));
  EXPECT_EQ(mount.str_mask, 0b10111);  // source, target, filesystemtype, data
  EXPECT_EQ(mount.at_exit, 1);
  gt_plan capset = capture_plan_of(*syscall_nr("capset"));
  EXPECT_EQ(capset.struct_len, 24);
  EXPECT_EQ(capset.struct_arg, 1);
  gt_plan close = capture_plan_of(*syscall_nr("close"));
  EXPECT_EQ(close.str_mask | close.extra | close.struct_len, 0);
  EXPECT_EQ(close.at_exit, 1);
  for (std::string_view name : syscalls_recorded_at_exit())
    EXPECT_EQ(capture_plan_of(*syscall_nr(name)).extra, GT_X_NONE) << name;
}
