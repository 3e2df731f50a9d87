// glasstrace: record one process tree's syscalls and process events as JSON
// Lines (`-o FILE -- CMD` or `-o FILE -p PID`), and read traces back
// (`show`, `milestones`, `diff`).
#include <CLI/CLI.hpp>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string_view>

#include "audit.h"
#include "compare.h"
#include "critical_path.h"
#include "diff.h"
#include "explain.h"
#include "profile_gen.h"
#include "jsonl_writer.h"
#include "loader.h"
#include "milestones.h"
#include "renderers.h"
#include "sched_event.h"
#include "sched_record.h"
#include "session.h"
#include "trace_frame.h"
#include "util/fd.h"
#include "util/trace_session.h"
#include "usdt_target.h"

#ifndef GLASSTRACE_VERSION
#define GLASSTRACE_VERSION "0"
#endif

namespace gt = glasstrace;

namespace {

volatile sig_atomic_t g_stop_requests = 0;
volatile sig_atomic_t g_last_signal = 0;

void on_stop_signal(int sig) {
  g_stop_requests = g_stop_requests + 1;
  g_last_signal = sig;
}

[[noreturn]] void die(const std::string& msg, int code = 1) {
  std::cerr << "glasstrace: " << msg << '\n';
  std::exit(code);
}

// Every descendant of `root` now alive (by /proc/*/stat ppid).
std::set<uint32_t> process_tree(uint32_t root) {
  std::map<uint32_t, std::vector<uint32_t>> children;
  if (DIR* d = opendir("/proc")) {
    while (dirent* de = readdir(d)) {
      uint32_t pid = strtoul(de->d_name, nullptr, 10);
      if (!pid) continue;
      std::ifstream stat(fmt::format("/proc/{}/stat", pid));
      std::string line;
      if (!std::getline(stat, line)) continue;
      auto close_paren = line.rfind(')');
      if (close_paren == std::string::npos) continue;
      unsigned ppid = 0;
      char state;
      if (sscanf(line.c_str() + close_paren + 1, " %c %u", &state, &ppid) == 2) children[ppid].push_back(pid);
    }
    closedir(d);
  }
  std::set<uint32_t> tree{root};
  std::vector<uint32_t> todo{root};
  while (!todo.empty()) {
    uint32_t p = todo.back();
    todo.pop_back();
    for (uint32_t c : children[p])
      if (tree.insert(c).second) todo.push_back(c);
  }
  return tree;
}

// Attaching the same binary twice would record every step twice (and cost a
// second detach): `--usdt` naming the command, or a binary given twice.
bool already_listed(const std::vector<std::pair<std::string, bool>>& targets, const std::string& path) {
  for (const auto& [listed, explicit_target] : targets) {
    std::error_code ec;
    if (listed == path || std::filesystem::equivalent(listed, path, ec)) return true;
  }
  return false;
}

// Keeps, in the detaching child, only the fds that hold probes and BPF
// objects (plus `keep`): the caller's pipes and files must see EOF/close
// when glasstrace exits, not when detaching is done.
void close_all_but_bpf_fds(int keep) {
  std::vector<int> to_close;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* de = readdir(d)) {
      char* end;
      long fd = strtol(de->d_name, &end, 10);
      if (*end || end == de->d_name || fd == keep || fd == dirfd(d)) continue;
      char target[64] = {};
      ssize_t n = readlink(fmt::format("/proc/self/fd/{}", fd).c_str(), target, sizeof target - 1);
      std::string_view t(target, n > 0 ? n : 0);
      if (!t.starts_with("anon_inode:bpf") && t != "anon_inode:[perf_event]") to_close.push_back(int(fd));
    }
    closedir(d);
  }
  for (int fd : to_close) close(fd);
}

// Detaching a uprobe waits for RCU grace periods (~75 ms each here, see
// docs/BENCHMARKS.md "Tracer cost"), and the caller would wait for it when
// we close our fds. Called once the trace is written and closed: a child
// inherits the BPF fds and drops them only after this process has exited,
// so our own closes at exit just drop references and the command's status
// is returned at once. If anything fails here we simply detach ourselves.
void detach_after_exit() {
  int p[2];
  if (pipe2(p, O_CLOEXEC)) return;
  pid_t pid = fork();
  if (pid != 0) {
    close(p[0]);  // p[1] stays open until we exit: that is the child's signal
    if (pid < 0) close(p[1]);
    return;
  }
  setsid();
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  close(p[1]);
  close_all_but_bpf_fds(p[0]);
  char c;
  while (read(p[0], &c, 1) < 0 && errno == EINTR) {
  }
  _exit(0);  // the last references: the kernel detaches everything here
}

enum class SessionUse { Auto, Required, Never };

struct RecordOptions {
  std::string output;
  std::optional<uint32_t> attach_pid;
  std::vector<std::string> command;
  std::vector<std::string> usdt;
  bool verbose = false;
  bool sched = true;  // --no-sched: no scheduler records (no on/off-CPU split)
  SessionUse session = SessionUse::Auto;
  std::string session_dir;
};

// GLASSTRACE_TIMING=1: where the start-up goes, one JSON line on stderr at
// the end (bench/tracer_cost.py reads it).
class PhaseTimes {
 public:
  PhaseTimes() {
    const char* env = getenv("GLASSTRACE_TIMING");
    enabled_ = env && *env && strcmp(env, "0");
  }
  void done(const char* name) {
    uint64_t now = gt::clock_ns(CLOCK_MONOTONIC);
    phases_[name] = (now - start_) / 1e6;
    start_ = now;
  }
  void set(const char* name, double ms) { phases_[name] = ms; }
  void print() {
    if (!enabled_) return;
    // glasstrace's own CPU (decoding and writing; the BPF programs run on
    // the traced tasks' time): how much of a traced run's cost is ours.
    rusage self{};
    getrusage(RUSAGE_SELF, &self);
    phases_["self_cpu"] = (self.ru_utime.tv_sec + self.ru_stime.tv_sec) * 1e3 +
                          (self.ru_utime.tv_usec + self.ru_stime.tv_usec) / 1e3;
    std::cerr << "glasstrace: timing: " << phases_.dump() << '\n';
  }

 private:
  bool enabled_;
  gt::Json phases_ = gt::Json::object();
  uint64_t start_ = gt::clock_ns(CLOCK_MONOTONIC);
};

void install_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // The command's exit event reaches the ring buffer before the command is
  // a zombie, so the poll after it could sleep its full 100 ms before
  // waitpid sees the exit; SIGCHLD (no SA_RESTART) ends that poll at once.
  struct sigaction wake {};
  wake.sa_handler = [](int) {};
  sigaction(SIGCHLD, &wake, nullptr);
}

int wait_status_code(int st) { return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st); }

// The command, started and held on a pipe until it is followed and
// everything is attached, so that its very first syscalls are seen.
// `exec_error` (CLOEXEC) carries errno back if execv fails.
class HeldCommand {
 public:
  // The child shares this process's memory until it execs (CLONE_VM, on a
  // stack of its own, as posix_spawn's): no page tables copied and no
  // copy-on-write faults on either side while it waits, ~1 ms of a traced
  // command's start on a PVM guest (docs/BENCHMARKS.md, session 18). Not
  // CLONE_VFORK: it waits for release() while this process talks to the
  // tracer. So the child runs only the system calls in held_child(), on
  // values made here, and signals stay blocked until its handlers are reset.
  HeldCommand(const std::string& path, const std::vector<std::string>& command)
      : path_(path), args_(command) {
    for (auto& a : args_) argv_.push_back(a.data());
    argv_.push_back(nullptr);
    int p1[2], p2[2];
    if (pipe2(p1, O_CLOEXEC) || pipe2(p2, O_CLOEXEC)) die(fmt::format("pipe: {}", strerror(errno)));
    glassrun::UniqueFd go_read(p1[0]), err_write(p2[1]);
    go_write_.reset(p1[1]), err_read_.reset(p2[0]);
    child_ = {path_.c_str(), argv_.data(), go_read.get(), go_write_.get(), err_write.get(), {}};
    void* stack = mmap(nullptr, kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) die(fmt::format("mmap (the command's stack): {}", strerror(errno)));
    stack_.reset(stack);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    child_.mask = old;
    pid_ = clone(held_child, static_cast<char*>(stack) + kStack, CLONE_VM | SIGCHLD, &child_);
    int e = errno;
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (pid_ < 0) die(fmt::format("clone: {}", strerror(e)));
    held_ = true;
  }
  // A child still held runs on stack_: it goes first.
  ~HeldCommand() {
    if (held_) abandon();
  }
  HeldCommand(const HeldCommand&) = delete;
  HeldCommand& operator=(const HeldCommand&) = delete;
  pid_t pid() const { return pid_; }
  // Lets it exec; exits 127 naming the command if that failed.
  void release() {
    if (write(go_write_.get(), "g", 1) != 1) die(fmt::format("releasing the command: {}", strerror(errno)));
    go_write_.reset();
    int e = 0;
    bool failed = read(err_read_.get(), &e, sizeof(e)) == sizeof(e);
    if (failed) waitpid(pid_, nullptr, 0);
    // Exec'd (err_write closed on exec: its memory is its own) or reaped:
    // the stack is free.
    held_ = false;
    if (failed) die(fmt::format("cannot start {}: {}", args_[0], strerror(e)), 127);
  }
  // Before release: it never runs the command.
  void abandon() {
    kill(pid_, SIGKILL), waitpid(pid_, nullptr, 0);
    held_ = false;
  }

 private:
  static constexpr std::size_t kStack = 64 << 10;
  struct Child {
    const char* path;
    char* const* argv;
    int go_read, go_write, err_write;
    sigset_t mask;
  };
  // In the child, on its own stack and this process's memory: system calls
  // on the values of Child only (an error's errno lands in the parent's
  // thread-local errno, which the parent is not reading then: it waits in
  // release() or abandon()).
  static int held_child(void* arg) {
    auto* c = static_cast<Child*>(arg);
    // The handlers install_stop_signals() set would write the parent's
    // memory; exec resets them, this covers the wait before it.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig : {SIGINT, SIGTERM, SIGCHLD}) sigaction(sig, &dfl, nullptr);
    sigprocmask(SIG_SETMASK, &c->mask, nullptr);
    close(c->go_write);
    char g;
    if (read(c->go_read, &g, 1) != 1) _exit(127);  // the tracer gave up
    execv(c->path, c->argv);
    int e = errno;
    (void)!write(c->err_write, &e, sizeof(e));
    _exit(127);
  }

  std::string path_;
  std::vector<std::string> args_;  // the command line; argv_ points into it
  std::vector<char*> argv_;
  struct Unmap {
    void operator()(void* p) const { munmap(p, kStack); }
  };
  Child child_{};
  std::unique_ptr<void, Unmap> stack_;  // unmapped once ~HeldCommand() has let the child go
  bool held_ = false;                   // a child runs on stack_, not yet exec'd or reaped
  pid_t pid_ = -1;
  glassrun::UniqueFd go_write_, err_read_;
};

// Binaries whose glassrun step probes are attached: the command's own, if it
// has them, and those given with --usdt (each once). Named by absolute path:
// a session's daemon, which attaches them, works from / (a relative
// `-- build/runtime/glassrun` found nothing there).
std::vector<std::string> usdt_targets(const std::optional<std::string>& cmd_path,
                                      const std::vector<std::string>& requested) {
  // Not normalized: "dir/../x" is left for the kernel, which knows whether dir is a link.
  auto absolute = [](const std::string& p) {
    std::error_code ec;
    auto a = std::filesystem::absolute(p, ec);
    return ec ? p : a.string();
  };
  std::vector<std::pair<std::string, bool>> targets;  // path, explicit
  if (cmd_path && gt::has_usdt_provider(*cmd_path, "glassrun")) targets.emplace_back(absolute(*cmd_path), false);
  for (const auto& p : requested)
    if (std::string a = absolute(p); !already_listed(targets, a)) targets.emplace_back(a, true);
  std::vector<std::string> out;
  for (const auto& [path, explicit_target] : targets) {
    std::string error;
    if (!explicit_target || gt::has_usdt_provider(path, "glassrun", &error))
      out.push_back(path);
    else if (!error.empty())
      std::cerr << "glasstrace: warning: --usdt " << path << ": " << error << "\n";
    else
      std::cerr << "glasstrace: warning: " << path << " has no glassrun USDT probes\n";
  }
  return out;
}

// The command recorded by a running session's daemon (docs/TRACER.md
// "Sessions"): nothing is loaded or attached here. nullopt: the daemon
// refused before the command ran (the caller records it itself).
std::optional<int> record_in_session(const RecordOptions& o, glassrun::trace_session::Client& session,
                                     const std::string& cmd_path) {
  PhaseTimes phases;
  glassrun::UniqueFd out(open(o.output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
  if (!out) die(fmt::format("cannot write {}: {}", o.output, strerror(errno)));
  install_stop_signals();
  // Before the command is cloned: the ELF read maps and unmaps the binary,
  // and an unmap of memory the held child shares needs a TLB shoot-down on
  // the child's CPU (~0.1 ms here).
  std::vector<std::string> usdt = usdt_targets(cmd_path, o.usdt);
  HeldCommand cmd(cmd_path, o.command);
  glassrun::trace_session::Client::Started started;
  try {
    started = session.start(out.get(), o.output, o.command, cmd.pid(), usdt, o.sched);
  } catch (const std::runtime_error& e) {
    cmd.abandon();
    if (o.session == SessionUse::Required) die(e.what());
    return std::nullopt;
  }
  out.reset();
  for (const auto& w : started.warnings) std::cerr << "glasstrace: warning: " << w << '\n';
  phases.done("session_attach");
  cmd.release();
  phases.done("release");
  try {
    std::optional<int> exit_status = glassrun::trace_session::wait_for_command(cmd.pid(), g_stop_requests, g_last_signal);
    phases.done("record");
    auto finished = session.finish(exit_status, !exit_status);
    phases.done("finish");
    phases.print();
    std::cerr << glassrun::trace_session::drop_warnings(finished);
    return exit_status.value_or(128 + int(g_last_signal));
  } catch (const std::runtime_error& e) {
    die(e.what());
  }
}

int record(const RecordOptions& o) {
  // Usage errors: exit 2, as the parser's own.
  if (o.output.empty()) die("-o FILE is required when recording (see glasstrace --help)", 2);
  if (o.attach_pid.has_value() == !o.command.empty()) die("give either -p PID or -- CMD ARGS (see glasstrace --help)", 2);
  if (o.attach_pid && o.session == SessionUse::Required) die("--session records a command (-- CMD), not -p PID", 2);

  std::optional<std::string> cmd_path;
  if (!o.command.empty()) {
    cmd_path = gt::resolve_command(o.command[0]);
    if (!cmd_path) die(fmt::format("command not found: {}", o.command[0]), 127);
  } else if (kill(*o.attach_pid, 0) != 0 && errno == ESRCH) {
    die(fmt::format("no such process: {}", *o.attach_pid));
  }

  if (cmd_path && o.session != SessionUse::Never) {
    std::string why;
    std::optional<glassrun::trace_session::Client> session;
    try {
      session = glassrun::trace_session::Client::connect(glassrun::trace_session::directory(o.session_dir), &why);
    } catch (const std::runtime_error& e) {
      why = e.what();
    }
    if (session) {
      if (auto status = record_in_session(o, *session, *cmd_path)) return *status;
    } else if (o.session == SessionUse::Required) {
      die(why);
    }
  }

  PhaseTimes phases;
  std::unique_ptr<gt::Tracer> tracer;
  try {
    tracer = std::make_unique<gt::Tracer>(o.verbose, o.sched);
    phases.set("load", tracer->load_ns() / 1e6);
    phases.done("open_and_load");
  } catch (const gt::TracerError& e) {
    die(e.what());
  }
  std::unique_ptr<gt::JsonlWriter> out;
  try {
    out = std::make_unique<gt::JsonlWriter>(o.output);
  } catch (const std::exception& e) {
    die(e.what());
  }
  install_stop_signals();

  std::vector<std::string> usdt = usdt_targets(cmd_path, o.usdt);  // before the clone, as in record_in_session
  std::optional<HeldCommand> cmd;
  pid_t child = -1;
  std::set<uint32_t> live;
  if (cmd_path) {
    cmd.emplace(*cmd_path, o.command);
    child = cmd->pid();
    live.insert(child);
  } else {
    live = process_tree(*o.attach_pid);
  }

  std::vector<std::string> usdt_attached;
  try {
    for (uint32_t pid : live) tracer->follow(pid);
    tracer->attach();
    phases.done("attach_tracepoints");
    for (const auto& path : usdt) {
      std::string why;
      if (tracer->attach_usdt(path, &why)) usdt_attached.push_back(path);
      else std::cerr << "glasstrace: warning: USDT attach to " << path << " failed: " << why << '\n';
    }
    phases.done("attach_usdt");
  } catch (const gt::TracerError& e) {
    if (cmd) cmd->abandon();
    die(e.what());
  }

  gt::TraceFrame frame(*out, {o.command, o.attach_pid, cmd_path ? uint32_t(child) : *o.attach_pid, usdt_attached});
  gt::Recorder rec([&](std::string_view line) { out->write_line(line); });
  rec.on_process_start = [&](uint32_t pid) { live.insert(pid); };
  rec.on_process_gone = [&](uint32_t pid) { live.erase(pid); };
  uint64_t sched_written = 0;
  tracer->on_sched = [&](const gt_sched& r) {
    sched_written += gt::write_sched_events(r, [&](std::string_view line) { out->write_line(line); });
  };

  std::optional<int> exit_status;
  if (cmd) cmd->release();

  phases.done("release");
  int forwarded = 0;
  try {
    for (;;) {
      tracer->poll(rec, 100);
      if (child > 0 && !exit_status) {
        int st;
        if (waitpid(child, &st, WNOHANG) == child) {
          exit_status = wait_status_code(st);
          live.erase(child);
        }
      }
      // Exit events can be lost (dropped); /proc has the last word.
      for (auto it = live.begin(); it != live.end();)
        it = (kill(*it, 0) != 0 && errno == ESRCH) ? live.erase(it) : std::next(it);
      if (g_stop_requests > 0) {
        // With a command, the first signal is passed on and we wait for it;
        // a second one stops recording at once.
        if (child > 0 && !exit_status && g_stop_requests == 1) {
          if (forwarded == 0) kill(child, g_last_signal), forwarded = 1;
        } else {
          break;
        }
      }
      if (live.empty() && (child < 0 || exit_status)) {
        // The ring may still hold a fork the command made before it exited
        // (records wake us only in batches): a process still to follow,
        // such as the init `create` leaves behind.
        while (tracer->poll(rec, 0) > 0) {
        }
        for (auto it = live.begin(); it != live.end();)
          it = (kill(*it, 0) != 0 && errno == ESRCH) ? live.erase(it) : std::next(it);
        if (live.empty()) break;
      }
    }
    while (tracer->poll(rec, 0) > 0) {
    }
  } catch (const gt::TracerError& e) {
    die(e.what());
  }
  phases.done("record");
  rec.finish();
  tracer->stop_polling();
  uint64_t dropped = tracer->dropped();
  uint64_t sched_dropped = tracer->sched_dropped();
  try {
    frame.finish({rec, sched_written, dropped, exit_status,
                  tracer->sched_enabled() ? std::optional<uint64_t>(sched_dropped) : std::nullopt});
  } catch (const std::exception& e) {
    die(e.what());
  }
  out.reset();
  phases.done("finish");
  phases.print();
  std::cerr << glassrun::trace_session::drop_warnings({dropped, sched_dropped});
  detach_after_exit();
  if (exit_status) return *exit_status;
  return g_stop_requests ? 128 + int(g_last_signal) : 0;
}

std::vector<std::string> g_traces_read;  // for the message of a malformed record (main)

gt::Trace load_or_die(const std::string& path) {
  g_traces_read.push_back(path);
  try {
    gt::Trace t = gt::read_trace(path);
    if (t.cut_short_line)
      std::cerr << fmt::format("glasstrace: warning: {}:{}: the last line is cut short (the recording stopped "
                               "while writing it); read the lines before it\n",
                               path, t.cut_short_line);
    return t;
  } catch (const std::exception& e) {
    die(e.what(), 2);
  }
}

// A JSON file named on the command line; exit 2 naming the command otherwise.
gt::Json read_json_or_die(const std::string& path, const char* command) {
  std::ifstream in(path);
  if (!in) die(fmt::format("{}: cannot read {}: {}", command, path, std::strerror(errno)), 2);
  try {
    return gt::Json::parse(in);
  } catch (const std::exception&) {
    die(fmt::format("{}: {}: not JSON", command, path), 2);
  }
}

int audit(const std::string& trace_file, const std::string& policy_file, bool json) {
  gt::Trace t = load_or_die(trace_file);
  auto audits = gt::audit_events(t);
  if (audits.empty()) die("audit: no exec_audit event in the trace (no exec in a new mount namespace)");
  if (policy_file.empty()) {
    for (const gt::Json* a : audits) std::cout << (json ? a->dump() + "\n" : gt::audit_text(*a));
    return 0;
  }
  gt::Json policy = read_json_or_die(policy_file, "audit");
  size_t violations = 0;
  try {
    for (const gt::Json* a : audits)
      for (const auto& v : gt::audit_violations(*a, policy)) {
        std::cout << fmt::format("pid {}: {}\n", (*a)["pid"].get<uint32_t>(), v);
        violations++;
      }
  } catch (const std::runtime_error& e) {
    die(fmt::format("audit: {}: {}", policy_file, e.what()), 2);
  }
  return violations ? 1 : 0;
}

int explain(const std::string& trace_file, const std::string& config_file, bool json) {
#ifdef GLASSTRACE_EXPLAIN
  gt::Trace t = load_or_die(trace_file);
  gt::Json config = read_json_or_die(config_file, "explain");
  const gt::Json* seccomp = config.contains("linux") ? &config["linux"] : nullptr;
  if (!seccomp || !seccomp->contains("seccomp") || (*seccomp)["seccomp"].is_null())
    die(fmt::format("explain: {} has no linux.seccomp", config_file), 2);
  seccomp = &(*seccomp)["seccomp"];
  try {
    auto denials = gt::explain_denials(t, *seccomp);
    if (json) std::cout << gt::explain_json(denials, *seccomp).dump(2) << '\n';
    else std::cout << gt::explain_text(denials, *seccomp);
  } catch (const std::exception& e) {
    die(fmt::format("explain: {}", e.what()));
  }
  return 0;
#else
  die("explain: this glasstrace was built without the runtime's seccomp compiler (cmake -S tracer)");
#endif
}

// `diff --changes`: exit 0 equal, 1 different (as diff), 2 on a bad --subst.
int print_changes(const gt::MilestoneList& a, const gt::MilestoneList& b, const std::vector<std::string>& subst_a,
                  const std::vector<std::string>& subst_b) {
  auto parse = [](const std::vector<std::string>& specs) {
    gt::Substitutions out;
    for (const auto& s : specs) {
      auto eq = s.find('=');
      if (eq == std::string::npos || eq == 0) die(fmt::format("diff: --subst wants TOKEN=VALUE, got '{}'", s), 2);
      out.emplace_back(s.substr(eq + 1), s.substr(0, eq));
    }
    return out;
  };
  auto c = gt::compare_milestones(a, b, parse(subst_a), parse(subst_b));
  std::cout << gt::comparison_json(c).dump(2) << '\n';
  return c.changes.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Everything after "--" is the command, untouched by option parsing.
  RecordOptions ro;
  int cli_argc = argc;
  for (int i = 1; i < argc; i++)
    if (std::string(argv[i]) == "--") {
      cli_argc = i;
      for (int j = i + 1; j < argc; j++) ro.command.emplace_back(argv[j]);
      break;
    }

  CLI::App app{"glasstrace: follow one process tree and record its syscalls as JSON Lines"};
  app.set_version_flag("--version", GLASSTRACE_VERSION);
  app.require_subcommand(0, 1);
  uint32_t pid = 0;
  app.add_option("-o,--output", ro.output, "trace file to write (JSON Lines)");
  auto* pid_opt = app.add_option("-p,--pid", pid, "attach to this process and its descendants");
  app.add_option("--usdt", ro.usdt, "also attach glassrun USDT step probes in this binary")->take_all();
  app.add_flag("-v,--verbose", ro.verbose, "libbpf and verifier messages on stderr");
  bool no_sched = false;
  app.add_flag("--no-sched", no_sched, "no scheduler records (critical path without the on/off-CPU split)");
  bool use_session = false, no_session = false;
  auto* session_flag = app.add_flag("--session", use_session, "record through the running session; fail if none runs");
  app.add_flag("--no-session", no_session, "load and attach the programs here even when a session runs")
      ->excludes(session_flag);
  app.add_option("--session-dir", ro.session_dir, "the session's directory (default $GLASSTRACE_SESSION_DIR or /run/glasstrace)");
  app.footer("Record: glasstrace -o FILE [--usdt BIN] [--no-sched] [--session|--no-session] -- CMD ARGS...  |  "
             "glasstrace -o FILE -p PID");

  auto* session = app.add_subcommand("session", "a daemon that loads and attaches the programs once for many traces");
  session->require_subcommand(1, 1);
  std::string session_dir;
  bool session_verbose = false;
  auto* session_start = session->add_subcommand("start", "start the daemon (detached)");
  auto* session_stop = session->add_subcommand("stop", "stop the daemon: its traces finish, its programs are detached");
  auto* session_status = session->add_subcommand("status", "say whether a session runs (exit 1 if not)");
  for (auto* sub : {session_start, session_stop, session_status})
    sub->add_option("--dir", session_dir, "socket and pid file directory (default $GLASSTRACE_SESSION_DIR or /run/glasstrace)");
  session_start->add_flag("-v,--verbose", session_verbose, "libbpf and verifier messages (while starting)");
  gt::SessionOptions session_options;
  session_start
      ->add_option("--idle-detach-ms", session_options.idle_detach_ms,
                   "detach the tracepoint programs after this long without a trace in progress")
      ->check(CLI::Range(0, 3600 * 1000))
      ->capture_default_str();
  session_start
      ->add_option("--usdt-idle-detach-ms", session_options.usdt_idle_detach_ms,
                   "unregister the USDT probes after this long without a trace in progress")
      ->check(CLI::Range(0, 24 * 3600 * 1000))
      ->capture_default_str();

  auto* show = app.add_subcommand("show", "render a trace");
  std::string show_file, format = "strace";
  show->add_option("file", show_file, "trace file")->required();
  show->add_option("--format", format, "strace | chrome | summary")
      ->check(CLI::IsMember({"strace", "chrome", "summary"}));

  auto* ms = app.add_subcommand("milestones", "print the kernel-facing milestone sequence");
  std::string ms_file;
  bool ms_json = false;
  ms->add_option("file", ms_file, "trace file")->required();
  ms->add_flag("--json", ms_json, "one JSON document instead of text");

  auto* df = app.add_subcommand("diff", "align two traces on milestones; exit 1 if they differ");
  std::string diff_a, diff_b;
  bool diff_json = false;
  df->add_option("a", diff_a, "first trace")->required();
  df->add_option("b", diff_b, "second trace")->required();
  df->add_flag("--json", diff_json, "JSON output");
  bool diff_changes = false;
  std::vector<std::string> subst_a, subst_b;
  df->add_flag("--changes", diff_changes,
               "JSON: the normalised comparison, each differing step moved/absent/extra (the conformance check)");
  df->add_option("--subst-a", subst_a, "TOKEN=VALUE: with --changes, VALUE in A's milestones reads TOKEN")
      ->needs("--changes");
  df->add_option("--subst-b", subst_b, "TOKEN=VALUE: the same for B")->needs("--changes");
  std::size_t diff_top = 5;
  df->add_option("--top", diff_top, "hot spots shown (text output)");

  auto* au = app.add_subcommand("audit", "what the container's first program inherited (exec_audit); --expect checks it");
  std::string au_file, au_policy;
  bool au_json = false;
  au->add_option("file", au_file, "trace file")->required();
  au->add_option("--expect", au_policy, "policy JSON: one line per violation, exit 1 if any");
  au->add_flag("--json", au_json, "print the exec_audit events as JSON");

  auto* sp = app.add_subcommand("seccomp-profile", "print the minimal OCI linux.seccomp the container's processes need");
  std::string sp_file;
  sp->add_option("file", sp_file, "trace file")->required();

  auto* cp = app.add_subcommand("critical-path",
                                 "per start-up step: wall, on-CPU, runnable and blocked time along the tasks it waited on");
  std::string cp_file;
  bool cp_json = false;
  cp->add_option("file", cp_file, "trace file")->required();
  cp->add_flag("--json", cp_json, "JSON output");

  auto* ex = app.add_subcommand("explain", "name the seccomp rule that denied each denied syscall of the container");
  std::string ex_file, ex_config;
  bool ex_json = false;
  ex->add_option("file", ex_file, "trace file")->required();
  ex->add_option("--config", ex_config, "the bundle's config.json (its linux.seccomp)")->required();
  ex->add_flag("--json", ex_json, "JSON output");

  try {
    app.parse(cli_argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    // A usage error is bad input like any other: one line, exit 2 (as an
    // unreadable trace), naming the subcommand whose usage it breaks.
    std::string subcommands;  // " show", " session start", or none
    for (const CLI::App* sub = &app; !sub->get_subcommands().empty();) {
      sub = sub->get_subcommands().back();
      subcommands += " " + sub->get_name();
    }
    std::string named = subcommands.empty() ? "" : subcommands.substr(1) + ": ";
    die(fmt::format("{}{} (see glasstrace{} --help)", named, e.what(), subcommands), 2);
  }

  if (*session) {
    std::string dir = glassrun::trace_session::directory(session_dir);
    try {
      if (*session_start) return gt::session_start(dir, session_verbose, session_options);
      if (*session_stop) return gt::session_stop(dir);
      return gt::session_status(dir);
    } catch (const std::runtime_error& e) {
      die(e.what());
    }
  }
  // The commands that read traces; nullopt: none of them was asked for.
  auto read_command = [&]() -> std::optional<int> {
    if (*show) {
      gt::Trace t = load_or_die(show_file);
      if (format == "strace") gt::render_strace(t, std::cout);
      else if (format == "chrome") gt::render_chrome(t, std::cout);
      else gt::render_summary(t, std::cout);
      return 0;
    }
    if (*ms) {
      auto m = gt::extract_milestones(load_or_die(ms_file));
      if (ms_json) std::cout << gt::milestones_json(m).dump(2) << '\n';
      else std::cout << gt::milestones_text(m);
      return 0;
    }
    if (*df) {
      gt::Trace trace_a = load_or_die(diff_a), trace_b = load_or_die(diff_b);
      auto a = gt::extract_milestones(trace_a);
      auto b = gt::extract_milestones(trace_b);
      if (diff_changes) return print_changes(a, b, subst_a, subst_b);
      auto d = gt::diff_milestones(a, b);
      if (diff_json) {
        gt::Json lines = gt::Json::array();
        for (const auto& l : d)
          lines.push_back({{"op", l.op == gt::DiffLine::Same ? "same" : l.op == gt::DiffLine::OnlyA ? "only_a" : "only_b"},
                           {"a", l.a ? gt::Json(l.a->key()) : gt::Json(nullptr)},
                           {"b", l.b ? gt::Json(l.b->key()) : gt::Json(nullptr)}});
        std::cout << gt::Json{{"v", 1}, {"equal", !gt::has_differences(d)}, {"lines", lines}}.dump(2) << '\n';
      } else {
        std::cout << gt::diff_text(d, diff_a, diff_b);
        std::cout << gt::hot_spots_text(gt::hot_spots(trace_a, trace_b, diff_top), diff_a, diff_b);
      }
      return gt::has_differences(d) ? 1 : 0;
    }
    if (*sp) {
      try {
        bool without_filter = false;
        std::cout << gt::seccomp_profile(load_or_die(sp_file), &without_filter).dump(2) << '\n';
        if (without_filter)
          std::cerr << "glasstrace: seccomp-profile: warning: no seccomp filter was installed before the container's "
                       "exec, so the runtime's own calls under a filter are not in the profile (trace under "
                       "{\"defaultAction\": \"SCMP_ACT_ALLOW\"} to include them)\n";
      } catch (const std::runtime_error& e) {
        die(fmt::format("seccomp-profile: {}", e.what()));
      }
      return 0;
    }
    if (*ex) return explain(ex_file, ex_config, ex_json);
    if (*cp) {
      gt::Trace t = load_or_die(cp_file);
      if (cp_json) std::cout << gt::critical_path_json(t).dump(2) << '\n';
      else std::cout << gt::critical_path_text(t);
      return 0;
    }
    if (*au) return audit(au_file, au_policy, au_json);
    return std::nullopt;
  };
  // A record that parses but lacks a field a reader needs, or has it of
  // another type (a trace edited or made by something else): one line and
  // exit 2, not an abort.
  try {
    if (auto status = read_command()) return *status;
  } catch (const gt::Json::exception& e) {
    die(fmt::format("{}: a record lacks a field or has one of another type: {}", fmt::join(g_traces_read, ", "),
                    e.what()),
        2);
  }
  if (*pid_opt) ro.attach_pid = pid;
  ro.sched = !no_sched;
  ro.session = use_session ? SessionUse::Required : no_session ? SessionUse::Never : SessionUse::Auto;
  return record(ro);
}
