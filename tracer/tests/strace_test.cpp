#include <gtest/gtest.h>

#include <regex>

#include "renderers.h"
#include "test_events.h"

using namespace glasstrace;
using glasstrace::testing::syscall_event;

namespace {
Trace empty_trace() { return trace_from_events({}); }
// Strips "[pid N] HH:MM:SS.uuuuuu " so the wall clock does not matter.
std::string body(const std::string& line) {
  std::smatch m;
  static const std::regex head(R"(^\[pid (\d+)\] \d\d:\d\d:\d\d\.\d{6} (.*)$)");
  EXPECT_TRUE(std::regex_match(line, m, head)) << line;
  return m[2];
}
}  // namespace

TEST(Strace, MountLine) {
  Json e = syscall_event(42, 5, "mount", {0x1000, 0x2000, 0x3000, 6, 0},
                         {{"source", "proc"}, {"target", "/proc"}, {"filesystemtype", "proc"},
                          {"mountflags", "MS_NOSUID|MS_NODEV"}, {"data", nullptr}});
  std::string line = strace_line(empty_trace(), e);
  EXPECT_EQ(line.rfind("[pid 42] ", 0), 0u);
  EXPECT_EQ(body(line), R"(mount("proc", "/proc", "proc", MS_NOSUID|MS_NODEV, NULL) = 0 <0.000012>)");
}

TEST(Strace, ErrorReturnAndDirfd) {
  Json e = syscall_event(7, 5, "openat", {uint64_t(-100), 0x10, 0x80000, 0},
                         {{"dirfd", "AT_FDCWD"}, {"pathname", "/nope"}, {"flags", "O_RDONLY|O_CLOEXEC"}, {"mode", "0"}}, -2);
  e["errno"] = "ENOENT";
  EXPECT_EQ(body(strace_line(empty_trace(), e)),
            R"(openat(AT_FDCWD, "/nope", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory) <0.000012>)");
}

TEST(Strace, OpenModeOnlyWhenCreating) {
  // As strace: the mode is shown only when O_CREAT or O_TMPFILE make the kernel read it.
  Json e = syscall_event(7, 5, "openat", {uint64_t(-100), 0x10, 01 | 0100 | 01000, 0640},
                         {{"dirfd", "AT_FDCWD"}, {"pathname", "/f"}, {"flags", "O_WRONLY|O_CREAT|O_TRUNC"}, {"mode", "0640"}});
  EXPECT_EQ(strace_call(e), R"(openat(AT_FDCWD, "/f", O_WRONLY|O_CREAT|O_TRUNC, 0640))");
}

TEST(Strace, MountAttrStruct) {
  Json e = syscall_event(7, 5, "mount_setattr", {uint64_t(-100), 0x10, 0x8000, 0x20, 32},
                         {{"dirfd", "AT_FDCWD"}, {"pathname", "/m"}, {"flags", "AT_RECURSIVE"},
                          {"attr", {{"attr_set", "MOUNT_ATTR_RDONLY"}, {"attr_clr", "0"}, {"propagation", "0"}, {"userns_fd", 0}}},
                          {"size", 32}});
  EXPECT_EQ(strace_call(e), R"(mount_setattr(AT_FDCWD, "/m", AT_RECURSIVE, {attr_set=MOUNT_ATTR_RDONLY, attr_clr=0, propagation=0, userns_fd=0}, 32))");
}

TEST(Strace, ExecveArgvAndIncomplete) {
  Json e = syscall_event(7, 5, "exit_group", {3}, {{"status", 3}});
  e["ret"] = nullptr;
  e["dur_ns"] = nullptr;
  e["complete"] = false;
  EXPECT_EQ(body(strace_line(empty_trace(), e)), "exit_group(3) = ?");
  Json x = syscall_event(7, 5, "execve", {0x10, 0x20, 0x30}, {{"pathname", "/bin/sh"}, {"argv", {"sh", "-c", "exit 7"}}});
  EXPECT_EQ(strace_call(x), R"(execve("/bin/sh", ["sh", "-c", "exit 7"], 0x30))");
}

TEST(Strace, UnknownSyscallShowsRawArgs) {
  Json e = syscall_event(7, 5, "syscall_999", {1, 2}, Json::object());
  EXPECT_EQ(strace_call(e), "syscall_999(0x1, 0x2, 0, 0, 0, 0)");
}

TEST(Strace, ExitLine) {
  Json e = {{"v", 1}, {"type", "exit"}, {"ts", 1}, {"pid", 9}, {"tid", 9}, {"status", 7 << 8},
            {"exit_code", 7}, {"signal", nullptr}, {"core_dumped", false}, {"group_dead", true}};
  EXPECT_EQ(body(strace_line(empty_trace(), e)), "+++ exited with 7 +++");
}
