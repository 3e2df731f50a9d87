// The Recorder on hand-built BPF records: pairing, decoding, fork flags.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>

#include "events.h"
#include "record.h"
#include "syscalls.h"

using namespace glasstrace;

namespace {
gt_header header(gt_kind kind, uint32_t size, uint32_t tid, uint64_t ts) {
  gt_header h{};
  h.kind = kind;
  h.size = size;
  h.task.ts = ts;
  h.task.pid = h.task.tid = tid;
  std::strcpy(h.task.comm, "runc:[2:INIT]");
  return h;
}
}  // namespace

TEST(Recorder, PairsEnterAndExitWithDecodedStrings) {
  std::vector<Json> out;
  Recorder rec([&](std::string_view line) { out.push_back(Json::parse(line)); });
  auto* full = new gt_sys_enter_full{};
  full->e.h = header(GT_SYS_ENTER, sizeof(*full), 50, 1000);
  full->e.nr = *syscall_nr("mount");
  full->e.args[1] = 0x1;
  full->e.args[3] = 4096 | 16384;
  full->e.has_payload = 1;
  std::memset(full->str_arg, 0xff, sizeof(full->str_arg));
  full->str_arg[0] = 1;
  std::strcpy(full->strs[0], "/rootfs/dev");
  rec.on_record(full, sizeof(*full));
  EXPECT_TRUE(out.empty());  // waits for the exit

  gt_sys_exit x{};
  x.h = header(GT_SYS_EXIT, sizeof(x), 50, 1500);
  x.nr = full->e.nr;
  x.ret = -1;
  x.scm_rights = -1;
  rec.on_record(&x, sizeof(x));
  delete full;
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["name"], "mount");
  EXPECT_EQ(out[0]["decoded"]["target"], "/rootfs/dev");
  EXPECT_EQ(out[0]["decoded"]["mountflags"], "MS_BIND|MS_REC");
  EXPECT_EQ(out[0]["errno"], "EPERM");
  EXPECT_EQ(out[0]["dur_ns"], 500);
  EXPECT_EQ(out[0]["comm"], "runc:[2:INIT]");
}

TEST(Recorder, ForkTakesFlagsFromInFlightClone) {
  std::vector<Json> out;
  Recorder rec([&](std::string_view line) { out.push_back(Json::parse(line)); });
  gt_sys_enter e{};
  e.h = header(GT_SYS_ENTER, sizeof(e), 60, 10);
  e.nr = *syscall_nr("clone");
  e.args[0] = 0x20000000 | 17;
  rec.on_record(&e, sizeof(e));
  gt_fork f{};
  f.h = header(GT_FORK, sizeof(f), 60, 11);
  f.child_pid = f.child_tid = 61;
  f.child_ns_pid = 1;
  rec.on_record(&f, sizeof(f));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["type"], "fork");
  EXPECT_EQ(out[0]["flags"], "CLONE_NEWPID|SIGCHLD");
  EXPECT_EQ(out[0]["child_ns_pid"], 1);
  EXPECT_EQ(out[0]["thread"], false);
}

TEST(Recorder, ExitFlushesSyscallThatNeverReturns) {
  std::vector<Json> out;
  Recorder rec([&](std::string_view line) { out.push_back(Json::parse(line)); });
  gt_sys_enter e{};
  e.h = header(GT_SYS_ENTER, sizeof(e), 70, 10);
  e.nr = *syscall_nr("exit_group");
  e.args[0] = 7;
  rec.on_record(&e, sizeof(e));
  gt_exit x{};
  x.h = header(GT_EXIT, sizeof(x), 70, 20);
  x.exit_code = 7 << 8;
  x.group_dead = 1;
  rec.on_record(&x, sizeof(x));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]["name"], "exit_group");
  EXPECT_EQ(out[0]["complete"], false);
  EXPECT_TRUE(out[0]["ret"].is_null());
  EXPECT_EQ(out[1]["exit_code"], 7);
  EXPECT_TRUE(out[1]["signal"].is_null());
}

TEST(Recorder, SigreturnPairsWithItsExit) {
  // The restored context has orig_ax -1: the exit record says nr -1.
  std::vector<Json> out;
  Recorder rec([&](std::string_view line) { out.push_back(Json::parse(line)); });
  gt_sys_enter e{};
  e.h = header(GT_SYS_ENTER, sizeof(e), 80, 10);
  e.nr = *syscall_nr("rt_sigreturn");
  rec.on_record(&e, sizeof(e));
  gt_sys_exit x{};
  x.h = header(GT_SYS_EXIT, sizeof(x), 80, 15);
  x.nr = -1;
  x.ret = 0;
  x.scm_rights = -1;
  rec.on_record(&x, sizeof(x));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["name"], "rt_sigreturn");
  EXPECT_EQ(out[0]["ret"], 0);
  EXPECT_EQ(out[0]["complete"], true);
  EXPECT_EQ(rec.unpaired_exits(), 0u);
}

TEST(Recorder, DecodesMountAttrStruct) {
  std::vector<Json> out;
  Recorder rec([&](std::string_view line) { out.push_back(Json::parse(line)); });
  auto* full = new gt_sys_enter_full{};
  full->e.h = header(GT_SYS_ENTER, sizeof(*full), 90, 10);
  full->e.nr = *syscall_nr("mount_setattr");
  full->e.args[0] = uint64_t(-100);
  full->e.args[2] = 0x8000;
  full->e.args[4] = 32;
  full->e.has_payload = 1;
  std::memset(full->str_arg, 0xff, sizeof(full->str_arg));
  uint64_t attr[4] = {0x1 | 0x8, 0x2, 1 << 18, 0};
  std::memcpy(full->data, attr, sizeof attr);
  full->data_len = sizeof attr;
  Json d = decode_args(full->e, sizeof(*full));
  delete full;
  EXPECT_EQ(d["flags"], "AT_RECURSIVE");
  EXPECT_EQ(d["attr"], (Json{{"attr_set", "MOUNT_ATTR_RDONLY|MOUNT_ATTR_NOEXEC"}, {"attr_clr", "MOUNT_ATTR_NOSUID"},
                             {"propagation", "MS_PRIVATE"}, {"userns_fd", 0}}));
}

TEST(Recorder, FullRecordSentOnlyAsFarAsItsPlan) {
  // One string slot sent (events.h): its string decodes, a slot beyond the
  // record's size is never read, argv needs the whole record.
  auto* full = new gt_sys_enter_full{};
  full->e.h = header(GT_SYS_ENTER, 0, 91, 10);
  full->e.nr = *syscall_nr("symlink");
  full->e.args[0] = 0x10;
  full->e.args[1] = 0x20;
  full->e.has_payload = 1;
  std::memset(full->str_arg, 0xff, sizeof(full->str_arg));
  full->str_arg[0] = 0;
  std::strcpy(full->strs[0], "/target");
  full->str_arg[1] = 1;
  std::strcpy(full->strs[1], "stale: not sent");
  std::size_t one_slot = offsetof(gt_sys_enter_full, strs) + GT_STR_LEN;
  Json d = decode_args(full->e, one_slot);
  EXPECT_EQ(d["target"], "/target");
  EXPECT_TRUE(d["linkpath"].is_null());
  EXPECT_EQ(decode_args(full->e, one_slot + GT_STR_LEN)["linkpath"], "stale: not sent");
  full->e.nr = *syscall_nr("execve");
  full->argc = 1;
  std::strcpy(full->argv[0], "sh");
  EXPECT_EQ(decode_args(full->e, one_slot)["argv"], Json::array());
  EXPECT_EQ(decode_args(full->e, sizeof(*full))["argv"], Json::array({"sh"}));
  delete full;
}
