// The Recorder's JSON Lines, byte for byte, against lines the previous
// implementation (nlohmann::ordered_json objects, dumped as JsonlWriter
// dumped them) wrote for the same synthetic records: every record kind,
// every syscall signature with and without its payload, strings with
// quotes, control bytes and invalid UTF-8. Readers (show, diff, audit,
// explain, conformance) depend on the exact keys, order and escaping.
//
// The expected lines are tests/data/recorder_lines.jsonl. To regenerate
// them (only when the schema changes on purpose):
//   GT_WRITE_EXPECTED_LINES=1 build/tracer/glasstrace_tests --gtest_filter='RecorderLines.*'
#include <gtest/gtest.h>

#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "decode.h"
#include "enter_text.h"
#include "events.h"
#include "record.h"
#include "sched_event.h"
#include "sched_record.h"
#include "syscalls.h"

using namespace glasstrace;

namespace {

constexpr const char* kExpectedPath = GT_TEST_DATA_DIR "/recorder_lines.jsonl";
constexpr const char* kExpectedSchedPath = GT_TEST_DATA_DIR "/sched_lines.jsonl";

// Deterministic everywhere: raw mt19937 output (the standard fixes its
// sequence; the distributions it leaves to the library are not used).
class Records {
 public:
  std::vector<std::vector<unsigned char>> out;

  template <class T>
  void push(const T& r, std::size_t size = sizeof(T)) {
    const auto* p = reinterpret_cast<const unsigned char*>(&r);
    out.emplace_back(p, p + size);
  }

  uint64_t next() { return (uint64_t{rng_()} << 32) | rng_(); }
  uint32_t below(uint32_t n) { return rng_() % n; }

  // An argument value: small ints, negative ints, flags, pointers, -100.
  uint64_t arg() {
    switch (below(7)) {
      case 0: return below(8);
      case 1: return static_cast<uint32_t>(-static_cast<int32_t>(below(5000)));  // zero-extended int
      case 2: return next();
      case 3: return 0xffffff9c;  // AT_FDCWD
      case 4: return 0x7ffd00000000ULL + below(1 << 20);
      case 5: return uint64_t{1} << below(64);
      default: return next() & 0xffffffff;
    }
  }

  // Bytes a kernel string might hold: ASCII, JSON specials, control bytes,
  // valid and invalid UTF-8.
  std::string text(std::size_t max_len) {
    static const char* kPieces[] = {"/", "proc", "sys/fs/cgroup", "\"", "\\", "\n", "\t", "\x01", "\x1f",
                                    "\x7f", "caf\xc3\xa9", "\xe2\x82\xac", "\xff", "\xc3", "\xed\xa0\x80",
                                    "\xf0\x9f\x98\x80", "a b", "%s{}", "\x80\x80", "runc:[2:INIT]"};
    std::string s;
    std::size_t n = below(8);
    for (std::size_t i = 0; i < n; i++) s += kPieces[below(std::size(kPieces))];
    if (s.size() > max_len) s.resize(max_len);
    return s;
  }

  gt_header header(gt_kind kind, uint32_t size, uint32_t tid) {
    gt_header h{};
    h.kind = kind;
    h.size = size;
    h.task.ts = ts_ += 100 + below(1000);
    h.task.pid = tid - below(2);
    h.task.tid = tid;
    h.task.ns_pid = below(3);
    h.task.ns_tid = below(3);
    h.task.mntns = 4026531840u + below(4);
    h.task.pidns = 4026531836u;
    h.task.cgroup = next();
    std::string comm = text(GT_COMM_LEN);  // may fill all 16 bytes: no NUL
    std::memcpy(h.task.comm, comm.data(), comm.size());
    return h;
  }

  void exit_of(uint32_t tid, int64_t nr, bool with_scm) {
    gt_sys_exit x{};
    x.h = header(GT_SYS_EXIT, sizeof(x), tid);
    x.nr = nr;
    int64_t rets[] = {0, 3, -1, -2, -13, -4095, -4096, 0x7f0000000000, -512};
    x.ret = rets[below(std::size(rets))];
    x.scm_rights = with_scm ? static_cast<int32_t>(below(3)) : -1;
    push(x);
  }

  void plain_enter(uint32_t tid, int64_t nr) {
    gt_sys_enter e{};
    e.h = header(GT_SYS_ENTER, sizeof(e), tid);
    e.nr = nr;
    for (auto& a : e.args) a = arg();
    push(e);
  }

  // A full record, its text packed as the BPF side packs it (events.h),
  // sent whole (slots_sent < 0) or cut after the string slots numbered
  // below slots_sent. The random draws are those of the fixed-slot layout
  // this test was written for, and only what the syscall's decoder reads
  // is packed (its string args' first slots, a write's fd path, argv), so
  // the expected lines stay those of that layout.
  void full_enter(uint32_t tid, int64_t nr, int slots_sent) {
    auto f = std::make_unique<gt_sys_enter_full>();
    std::memset(f.get(), 0, sizeof(*f));
    f->e.h = header(GT_SYS_ENTER, 0, tid);
    f->e.nr = nr;
    f->e.has_payload = 1;
    for (auto& a : f->e.args) a = arg();
    if (below(4) == 0) f->e.args[below(6)] = 0;  // a NULL string pointer
    struct Slot {
      int number, arg;
      std::string text;
    };
    std::vector<Slot> slots;
    for (int s = 0; s < GT_NSTR; s++) {
      if (below(5) == 0) continue;
      int a = static_cast<int>(below(6));
      std::string t = below(10) == 0 ? std::string(GT_STR_LEN, 'x') : text(GT_STR_LEN);  // no NUL in GT_STR_LEN
      slots.push_back({s, a, t});
    }
    f->data_len = below(10) == 0 ? GT_DATA_LEN + 7 : below(GT_DATA_LEN + 1);
    for (auto& b : f->data) b = static_cast<unsigned char>(below(4) == 0 ? rng_() : 'a' + below(26));
    if (below(3) == 0)  // capset / clone3 / mount_attr shaped data
      for (std::size_t k = 0; k < 8; k++) {
        uint64_t w = k == 4 ? below(64) : (uint64_t{1} << below(40)) | below(3);
        std::memcpy(f->data + 8 * k, &w, 8);
      }
    uint32_t path_depth = below(GT_PATH_DEPTH + 3);
    std::vector<std::string> names;
    for (int k = 0; k < GT_PATH_DEPTH; k++) {
      std::string name = below(4) == 0 ? std::string("/") : text(GT_NAME_LEN);
      if (name.empty()) name = "dir";
      names.push_back(name);
    }
    uint32_t argc = below(GT_ARGV_N + 3);
    std::vector<std::string> argv;
    for (int k = 0; k < GT_ARGV_N; k++) argv.push_back(text(GT_ARGV_LEN));

    const SyscallSignature* sig = signature_of_nr(nr);
    auto reads = [&](ArgKind kind) {
      if (sig)
        for (const auto& a : sig->args)
          if (a.kind == kind) return true;
      return false;
    };
    auto is_string_arg = [&](int a) {
      return sig && static_cast<std::size_t>(a) < sig->args.size() &&
             (sig->args[a].kind == ArgKind::Str || sig->args[a].kind == ArgKind::HostName);
    };
    EnterTextWriter w(*f);
    if (reads(ArgKind::WriteBuf))
      for (uint32_t k = 0; k < std::min<uint32_t>(path_depth, GT_PATH_DEPTH); k++) w.path_name(names[k]);
    std::size_t size = w.size();
    bool packed[6] = {};  // the decoder reads an arg's first slot only
    for (const Slot& slot : slots) {
      if (!is_string_arg(slot.arg) || packed[slot.arg]) continue;
      packed[slot.arg] = true;
      w.slot(slot.arg, slot.text);
      if (slots_sent < 0 || slot.number < slots_sent) size = w.size();
    }
    if (reads(ArgKind::Argv))
      for (uint32_t k = 0; k < std::min<uint32_t>(argc, GT_ARGV_N); k++) w.argv(argv[k]);
    if (slots_sent < 0) size = w.size();
    // The counts as drawn (the decoder reads at most GT_PATH_DEPTH and
    // GT_ARGV_N), where their entries were packed.
    if (reads(ArgKind::WriteBuf)) f->path_depth = path_depth;
    if (reads(ArgKind::Argv)) f->argc = argc;
    f->e.h.size = static_cast<uint32_t>(size);
    push(*f, size);
  }

 private:
  std::mt19937 rng_{20261202};
  uint64_t ts_ = 1'000'000;
};

std::vector<std::vector<unsigned char>> synthetic_records() {
  Records r;
  uint32_t tid = 100;
  // Every syscall number: plain, full as far as its plan (one, two string
  // slots), and whole (argv); with and without an exit.
  for (long nr = -1; nr <= syscall_max_nr() + 1; nr++) {
    std::string name = syscall_name(nr);
    bool known = signature_of(name) != nullptr;
    if (!known && nr % 17 != 0) continue;  // a sample of undecoded ones
    r.plain_enter(tid, nr);
    r.exit_of(tid, nr, name == "sendmsg" || name == "recvmsg");
    for (int slots_sent : {0, 1, 2, -1}) {
      r.full_enter(tid, nr, slots_sent);
      r.exit_of(tid, nr, r.below(2) == 0);
    }
    r.full_enter(tid, nr, -1);  // never returns: flushed by the next enter
    tid++;
  }
  // Exit of another syscall than the one in flight, entryless errors
  // (seccomp refusals), unpaired exits, a negative nr.
  long openat = *syscall_nr("openat"), mount = *syscall_nr("mount");
  r.plain_enter(7, openat);
  {
    gt_sys_exit_err x{};
    x.x.h = r.header(GT_SYS_EXIT, sizeof(x), 7);
    x.x.nr = mount;
    x.x.ret = -1;
    x.x.scm_rights = -1;
    for (auto& a : x.args) a = r.arg();
    r.push(x);
    x.x.h = r.header(GT_SYS_EXIT, sizeof(x), 8);
    x.x.nr = -1;
    r.push(x);
    r.exit_of(9, openat, false);
  }
  // rt_sigreturn's exit carries nr -1.
  r.plain_enter(10, *syscall_nr("rt_sigreturn"));
  r.exit_of(10, -1, false);
  // Values the random arguments rarely hit: prctl's named arg2, the
  // legacy mount magic, an unknown signal, clone's exit signal alone.
  auto with_args = [&](uint32_t t, const char* name, std::initializer_list<uint64_t> args) {
    gt_sys_enter e{};
    e.h = r.header(GT_SYS_ENTER, sizeof(e), t);
    e.nr = *syscall_nr(name);
    int i = 0;
    for (uint64_t a : args) e.args[i++] = a;
    r.push(e);
    r.exit_of(t, e.nr, false);
  };
  with_args(11, "prctl", {24, 21});
  with_args(11, "prctl", {23, 99});
  with_args(11, "prctl", {47, 2, 12});
  with_args(11, "prctl", {4, 1});
  with_args(11, "prctl", {4, 7});
  with_args(11, "mount", {0, 0, 0, 0xC0ED0000 | 1 | 4096});
  with_args(11, "mount", {0, 0, 0, 0xC0ED0000});
  with_args(11, "kill", {1, 40});
  with_args(11, "kill", {1, 0});
  with_args(11, "clone", {17});
  with_args(11, "unshare", {0x80 | 0x20000});
  with_args(11, "openat", {0xffffff9c, 0, 0x410000 | 2, 0644});
  // Forks: from clone, clone3 (with and without its args), fork, vfork,
  // another syscall, none in flight; threads and processes.
  auto fork_from = [&](uint32_t parent, bool thread) {
    gt_fork f{};
    f.h = r.header(GT_FORK, sizeof(f), parent);
    f.child_pid = thread ? f.h.task.pid : parent + 1000;
    f.child_tid = parent + 1000;
    f.child_ns_pid = r.below(3);
    f.child_ns_tid = r.below(3);
    f.child_pidns = 4026531836u + r.below(2);
    r.push(f);
  };
  const char* forkers[] = {"clone", "clone3", "fork", "vfork", "getpid"};
  for (const char* name : forkers)
    for (int variant = 0; variant < 3; variant++) {
      uint32_t t = 200 + variant;
      if (variant == 0) r.plain_enter(t, *syscall_nr(name));
      else r.full_enter(t, *syscall_nr(name), -1);
      fork_from(t, variant == 2);
      r.exit_of(t, *syscall_nr(name), false);
    }
  fork_from(299, false);
  // Exec: NUL-separated argv, a tid change that moves the pending syscall.
  for (int variant = 0; variant < 4; variant++) {
    uint32_t t = 300 + variant;
    r.plain_enter(t, *syscall_nr("execve"));
    auto x = std::make_unique<gt_exec>();
    std::memset(x.get(), 0, sizeof(*x));
    x->h = r.header(GT_EXEC, sizeof(*x), variant == 1 ? t + 50 : t);
    x->old_tid = t;
    std::string file = variant == 3 ? std::string(GT_STR_LEN, 'f') : "/usr/bin/" + r.text(40);
    std::memcpy(x->filename, file.data(), file.size());
    std::string args;
    for (uint32_t k = 0, n = r.below(6); k < n; k++) args += r.text(30) + '\0';
    if (variant == 2) args = std::string(GT_EXEC_ARGS_LEN, 'a');
    std::memcpy(x->args, args.data(), std::min<std::size_t>(args.size(), GT_EXEC_ARGS_LEN));
    x->args_len = variant == 3 ? GT_EXEC_ARGS_LEN + 9 : static_cast<uint32_t>(args.size());
    r.push(*x);
    r.exit_of(x->h.task.tid, *syscall_nr("execve"), false);
  }
  // Task exits: a code, signals, a core dump, a seccomp kill (SIGSYS with
  // and without the syscall), flushing a syscall that never returns.
  uint32_t statuses[] = {0, 3 << 8, 255 << 8, SIGKILL, SIGSEGV | 0x80, SIGSYS, SIGSYS, SIGTERM};
  for (std::size_t k = 0; k < std::size(statuses); k++) {
    uint32_t t = 400 + k;
    r.plain_enter(t, *syscall_nr(k % 2 ? "exit_group" : "read"));
    gt_exit x{};
    x.h = r.header(GT_EXIT, sizeof(x), t);
    x.exit_code = statuses[k];
    x.group_dead = k % 3 != 0;
    x.sigsys_nr = k == 6 ? -1 : static_cast<int64_t>(r.below(300));
    for (auto& a : x.sigsys_args) a = r.arg();
    r.push(x);
  }
  // USDT steps.
  for (int k = 0; k < 4; k++) {
    gt_step s{};
    s.h = r.header(GT_STEP, sizeof(s), 500);
    s.is_end = k % 2;
    s.err = k == 3 ? -22 : 0;
    std::string name = k == 2 ? std::string(sizeof(s.step), 's') : "mount_rootfs" + r.text(20);
    std::memcpy(s.step, name.data(), name.size());
    r.push(s);
  }
  // An exec audit.
  {
    auto a = std::make_unique<gt_audit>();
    std::memset(a.get(), 0, sizeof(*a));
    a->h = r.header(GT_AUDIT, sizeof(*a), 600);
    a->uid = 0;
    a->euid = 1000;
    a->ngroups = 3;
    a->groups[1] = 10;
    a->cap_effective = 0x3fff;
    a->cap_bset = ~uint64_t{0};
    a->seccomp_mode = 2;
    a->seccomp_filters = 1;
    for (int i = 0; i < GT_RLIMITS; i++) a->rlim[i][0] = i % 3 ? i * 1000 : ~uint64_t{0};
    a->ns_pid = 4026532000u;
    a->root.depth = 2;
    std::strcpy(a->root.names[0], "rootfs");
    std::strcpy(a->root.names[1], "bundle\"x");
    a->nfds = 4;
    a->fds_described = 3;
    for (int i = 0; i < 3; i++) {
      a->fds[i].fd = i;
      a->fds[i].mode = 020620;
      a->fds[i].ino = 7 + i;
      std::strcpy(a->fds[i].fstype, "devpts");
      a->fds[i].path.depth = 1;
      std::strcpy(a->fds[i].path.names[0], "0");
    }
    r.push(*a);
  }
  // Pending syscalls left at the end (finish() flushes them).
  r.plain_enter(700, openat);
  r.full_enter(701, mount, -1);
  return r.out;
}

std::vector<std::string> recorded_lines() {
  std::vector<std::string> lines;
  Recorder rec([&](std::string_view line) { lines.emplace_back(line); });
  for (const auto& rec_bytes : synthetic_records()) rec.on_record(rec_bytes.data(), rec_bytes.size());
  rec.finish();
  return lines;
}

// Scheduler records of every kind and task state.
std::vector<gt_sched> synthetic_sched_records() {
  std::vector<gt_sched> out;
  uint32_t states[] = {0, 0x1, 0x2, 0x2 | 0x400, 0x4, 0x8, 0x80, 0x80 | 0x2, 0x100, 0x1000};
  uint64_t ts = 5'000'000;
  for (uint32_t kind = 0; kind <= 4; kind++)
    for (uint32_t state : states)
      for (int v = 0; v < 4; v++) {
        gt_sched r{};
        r.ts = ts += 333;
        r.kind = kind;
        r.cpu = v % 2;
        r.prev_pid = v & 1 ? 0 : 4000 + v;
        r.prev_tid = v & 1 ? 0 : 4100 + v;
        r.next_pid = v & 2 ? 0 : 5000;
        r.next_tid = v & 2 ? 0 : 5001 + v;
        r.prev_state = state;
        r.preempt = v == 2;
        out.push_back(r);
      }
  return out;
}

std::vector<std::string> sched_lines() {
  std::vector<std::string> lines;
  for (const auto& r : synthetic_sched_records())
    write_sched_events(r, [&](std::string_view line) { lines.emplace_back(line); });
  return lines;
}

// Compares with the expected file (or writes it, see the top).
void expect_lines(const std::vector<std::string>& lines, const char* path) {
  if (std::getenv("GT_WRITE_EXPECTED_LINES")) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    for (const auto& l : lines) f << l << '\n';
    ASSERT_TRUE(f.good()) << path;
  }
  std::ifstream f(path, std::ios::binary);
  ASSERT_TRUE(f) << "missing " << path;
  std::vector<std::string> expected;
  for (std::string l; std::getline(f, l);) expected.push_back(l);
  ASSERT_EQ(lines.size(), expected.size());
  for (std::size_t i = 0; i < lines.size(); i++) ASSERT_EQ(lines[i], expected[i]) << path << " line " << i + 1;
}

}  // namespace

TEST(RecorderLines, SchedSameBytesAsTheJsonObjectImplementation) {
  std::vector<std::string> lines = sched_lines();
  ASSERT_GT(lines.size(), 60u);
  expect_lines(lines, kExpectedSchedPath);
}

TEST(RecorderLines, SameBytesAsTheJsonObjectImplementation) {
  std::vector<std::string> lines = recorded_lines();
  ASSERT_GT(lines.size(), 500u);
  expect_lines(lines, kExpectedPath);
}
