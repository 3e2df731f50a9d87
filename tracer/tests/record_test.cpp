// The Recorder on hand-built BPF records: pairing, decoding, fork flags.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>

#include "enter_text.h"
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
  std::size_t size = EnterTextWriter(*full).slot(1, "/rootfs/dev").size();
  full->e.h.size = static_cast<uint32_t>(size);
  rec.on_record(full, size);
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
  std::size_t size = EnterTextWriter(*full).size();
  uint64_t attr[4] = {0x1 | 0x8, 0x2, 1 << 18, 0};
  std::memcpy(full->data, attr, sizeof attr);
  full->data_len = sizeof attr;
  Json d = decode_args(full->e, size);
  delete full;
  EXPECT_EQ(d["flags"], "AT_RECURSIVE");
  EXPECT_EQ(d["attr"], (Json{{"attr_set", "MOUNT_ATTR_RDONLY|MOUNT_ATTR_NOEXEC"}, {"attr_clr", "MOUNT_ATTR_NOSUID"},
                             {"propagation", "MS_PRIVATE"}, {"userns_fd", 0}}));
}

TEST(Recorder, FullRecordSentOnlyAsFarAsItsText) {
  // Text entries packed (events.h): an entry decodes only if all of it,
  // NUL included, was sent; what follows a cut entry is never read.
  auto* full = new gt_sys_enter_full{};
  full->e.h = header(GT_SYS_ENTER, 0, 91, 10);
  full->e.nr = *syscall_nr("symlink");
  full->e.args[0] = 0x10;
  full->e.args[1] = 0x20;
  full->e.has_payload = 1;
  EnterTextWriter w(*full);
  std::size_t one_slot = w.slot(0, "/target").size();
  std::size_t two_slots = w.slot(1, "not sent").size();
  Json d = decode_args(full->e, one_slot);
  EXPECT_EQ(d["target"], "/target");
  EXPECT_TRUE(d["linkpath"].is_null());
  EXPECT_TRUE(decode_args(full->e, two_slots - 1)["linkpath"].is_null());  // its NUL not sent
  EXPECT_EQ(decode_args(full->e, two_slots)["linkpath"], "not sent");
  EXPECT_TRUE(decode_args(full->e, one_slot - 1)["target"].is_null());

  // execve: the pathname slot, then argv.
  full->e.nr = *syscall_nr("execve");
  EnterTextWriter x(*full);
  std::size_t pathname = x.slot(0, "/bin/sh").size();
  std::size_t whole = x.argv("sh").argv("-c").argv("").size();
  EXPECT_EQ(decode_args(full->e, pathname)["argv"], Json::array());
  EXPECT_EQ(decode_args(full->e, whole - 1)["argv"], Json::array({"sh", "-c"}));
  Json all = decode_args(full->e, whole);
  EXPECT_EQ(all["pathname"], "/bin/sh");
  EXPECT_EQ(all["argv"], Json::array({"sh", "-c", ""}));

  // write: the fd's dentry names come first, leaf first.
  full->e.nr = *syscall_nr("write");
  full->e.args[0] = 4;
  EnterTextWriter p(*full);
  std::size_t leaf = p.path_name("cgroup.procs").size();
  std::size_t path = p.path_name("x1").path_name("/").size();
  EXPECT_EQ(decode_args(full->e, path)["fd_path"], "/x1/cgroup.procs");
  EXPECT_EQ(decode_args(full->e, path - 1)["fd_path"], ".../x1/cgroup.procs");  // "/" cut: as if not reached
  EXPECT_TRUE(decode_args(full->e, leaf - 1)["fd_path"].is_null());
  full->path_depth = 2;  // the walk stopped below the mount's root
  EXPECT_EQ(decode_args(full->e, path)["fd_path"], ".../x1/cgroup.procs");
  delete full;
}

// The per-task copy of the fields after "ts" follows every change of them
// (exec: comm; unshare/setns: namespaces; a move: cgroup), also for two
// tasks whose tids share the cache's slot, and the bytes are the same as
// write_task_fields'.
TEST(TaskFieldsCache, SameBytesAsUncachedAndFollowsChanges) {
  TaskFieldsCache cache;
  auto check = [&](const gt_header& h) {
    JsonLine cached, plain;
    cache.write(cached.begin_object(), h, "syscall");
    write_task_fields(plain.begin_object(), h, "syscall");
    EXPECT_EQ(cached.end_object().text(), plain.end_object().text());
    return Json::parse(cached.text());
  };
  gt_header h = header(GT_SYS_ENTER, sizeof(gt_sys_enter), 50, 1000);
  h.task.mntns = 4026531840u;
  EXPECT_EQ(check(h)["comm"], "runc:[2:INIT]");
  h.task.ts = 2000;
  EXPECT_EQ(check(h)["ts"], 2000);
  std::strcpy(h.task.comm, "sh");
  EXPECT_EQ(check(h)["comm"], "sh");
  h.task.mntns = 4026532000u;
  EXPECT_EQ(check(h)["mntns"], 4026532000u);
  h.task.ns_pid = h.task.ns_tid = 1;
  EXPECT_EQ(check(h)["ns_tid"], 1);
  h.task.cgroup = 77;
  EXPECT_EQ(check(h)["cgroup"], 77);
  gt_header other = header(GT_SYS_ENTER, sizeof(gt_sys_enter), 50 + 16, 3000);  // the same slot
  EXPECT_EQ(check(other)["tid"], 66);
  EXPECT_EQ(check(h)["tid"], 50);
  EXPECT_EQ(check(h)["comm"], "sh");
}

// JsonLine's strings: the same bytes as nlohmann's dump for a byte that
// needs escaping (or is the last plain one) at every offset of the 8-byte
// words its scan looks at, and past them.
TEST(JsonLine, EscapesLikeNlohmannAtEveryOffset) {
  const unsigned char specials[] = {0x00, 0x01, 0x1f, 0x20, '"', '\\', 0x7e, 0x7f, 0x80, 0xc3, 0xff, '\n'};
  for (unsigned char c : specials)
    for (std::size_t at = 0; at < 20; at++)
      for (std::size_t len : {at + 1, at + 9, std::size_t{24}}) {
        if (len <= at) continue;
        std::string s(len, 'a');
        s[at] = static_cast<char>(c);
        if (c == 0xc3 && at + 1 < len) s[at + 1] = static_cast<char>(0xa9);  // valid UTF-8 (é)
        JsonLine line;
        line.begin_array().value(std::string_view(s)).end_array();
        std::string want = Json::array({s}).dump(-1, ' ', false, Json::error_handler_t::replace);
        EXPECT_EQ(line.text(), want) << "byte " << int(c) << " at " << at << " of " << len;
      }
}

// A syscall recorded whole at its exit (GT_SYSCALL) is the very line its
// entry and exit records make.
TEST(Recorder, WholeSyscallIsTheLineOfItsEntryAndExit) {
  auto build = [](gt_kind kind, uint32_t tid) {
    auto* full = new gt_sys_enter_full{};
    full->e.h = header(kind, 0, tid, 1000);
    full->e.nr = *syscall_nr("mkdirat");
    full->e.args[0] = uint64_t(-100);
    full->e.args[1] = 0x7ffc0000;  // the string's address: not null
    full->e.args[2] = 0755;
    full->e.has_payload = 1;
    full->e.h.size = static_cast<uint32_t>(EnterTextWriter(*full).slot(1, "/run/c1").size());
    return full;
  };
  for (int64_t ret : {int64_t{0}, int64_t{-17}}) {
    std::vector<std::string> pair, whole;
    Recorder a([&](std::string_view line) { pair.emplace_back(line); });
    Recorder b([&](std::string_view line) { whole.emplace_back(line); });
    gt_sys_enter_full* enter = build(GT_SYS_ENTER, 40);
    a.on_record(enter, enter->e.h.size);
    gt_sys_exit x{};
    x.h = header(GT_SYS_EXIT, sizeof(x), 40, 1750);
    x.nr = enter->e.nr;
    x.ret = ret;
    x.scm_rights = -1;
    a.on_record(&x, sizeof(x));

    gt_sys_enter_full* one = build(GT_SYSCALL, 40);
    one->e.ret = ret;
    one->e.exit_ts = 1750;
    EXPECT_TRUE(b.on_record(one, one->e.h.size));
    ASSERT_EQ(pair.size(), 1u);
    ASSERT_EQ(whole.size(), 1u);
    EXPECT_EQ(whole[0], pair[0]);
    EXPECT_EQ(b.syscalls(), 1u);
    Json j = Json::parse(whole[0]);
    EXPECT_EQ(j["decoded"]["pathname"], "/run/c1");
    EXPECT_EQ(j["dur_ns"], 750);
    EXPECT_EQ(j["ts"], 1000);
    delete enter;
    delete one;
  }

  // Without a payload: the small record.
  std::vector<Json> out;
  Recorder rec([&](std::string_view line) { out.push_back(Json::parse(line)); });
  gt_sys_enter e{};
  e.h = header(GT_SYSCALL, sizeof(e), 41, 10);
  e.nr = *syscall_nr("close");
  e.args[0] = 5;
  e.ret = -9;
  e.exit_ts = 12;
  rec.on_record(&e, sizeof(e));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["name"], "close");
  EXPECT_EQ(out[0]["decoded"]["fd"], 5);
  EXPECT_EQ(out[0]["errno"], "EBADF");
  EXPECT_EQ(out[0]["dur_ns"], 2);
  EXPECT_EQ(out[0]["complete"], true);
  EXPECT_FALSE(rec.on_record(&e, sizeof(e) - 1));  // cut short: refused
}

// An entry still waiting when the same thread's whole syscall comes never
// returned (as when its next entry comes): it is written as incomplete first.
TEST(Recorder, WholeSyscallFlushesAnEntryThatNeverReturned) {
  std::vector<Json> out;
  Recorder rec([&](std::string_view line) { out.push_back(Json::parse(line)); });
  gt_sys_enter e{};
  e.h = header(GT_SYS_ENTER, sizeof(e), 42, 10);
  e.nr = *syscall_nr("read");
  rec.on_record(&e, sizeof(e));
  gt_sys_enter w{};
  w.h = header(GT_SYSCALL, sizeof(w), 42, 20);
  w.nr = *syscall_nr("close");
  w.exit_ts = 25;
  rec.on_record(&w, sizeof(w));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]["name"], "read");
  EXPECT_EQ(out[0]["complete"], false);
  EXPECT_EQ(out[1]["name"], "close");
  EXPECT_EQ(out[1]["complete"], true);
}
