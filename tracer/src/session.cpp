#include "session.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>

#include "events.h"
#include "loader.h"
#include "sched_event.h"
#include "sched_record.h"
#include "trace_frame.h"
#include "util/trace_session.h"

namespace glasstrace {
namespace {

using glassrun::UniqueFd;

namespace ts = glassrun::trace_session;
using ts::Probe;
using ts::pid_path;
using ts::probe;
using ts::read_pid_file;
using ts::socket_path;
using ts::unix_address;

// Records wake the daemon in batches only (GT_WAKE_BYTES); while a tree is
// traced it drains them this often, so that little is left to decode when
// the command exits and its client waits for the trace.
constexpr int kDrainEveryMs = 10;

using Clock = std::chrono::steady_clock;

void remove_session_files(const std::string& dir) {
  unlink(socket_path(dir).c_str());
  unlink(pid_path(dir).c_str());
}

// ---- the daemon -----------------------------------------------------------

volatile sig_atomic_t g_terminate = 0;

class Daemon {
 public:
  Daemon(const std::string& dir, bool verbose, const SessionOptions& options)
      : dir_(dir),
        tracer_(verbose, /*sched=*/true),
        idle_detach_(options.idle_detach_ms),
        usdt_idle_detach_(options.usdt_idle_detach_ms) {
    // Attached only while traces are in progress, and for idle_detach_
    // after the last one: attached and idle, every syscall and context
    // switch of the machine ran the programs' test of whether its task is
    // followed (an untraced loop of `glassrun run`s 3-8 % slower). Not
    // detached at once: re-attaching within an RCU grace period of the
    // detach waits for it (the kernel's 1-0-1 tracepoint transition,
    // ~10-30 ms here), which back-to-back traces would pay (docs/TRACER.md).
    // Attached once here so that a session that cannot attach fails to start.
    tracer_.attach();
    tracer_.detach();
    tracer_.set_record_sink([this](const void* data, std::size_t size) { on_record(data, size); });
    tracer_.on_sched = [this](const gt_sched& r) { on_sched(r); };
    listen_.reset(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    sockaddr_un a = unix_address(socket_path(dir));
    unlink(a.sun_path);
    if (!listen_ || bind(listen_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) || listen(listen_.get(), 64))
      throw TracerError(fmt::format("session: listening on {}: {}", a.sun_path, strerror(errno)));
    chmod(a.sun_path, 0600);
    std::ofstream(pid_path(dir)) << getpid() << '\n';
  }
  ~Daemon() {
    if (listen_) remove_session_files(dir_);
    // `session stop` waits for EOF: it comes when this process exits, after
    // the programs are detached (tracer_ is destroyed after this body).
    for (auto& w : stop_waiters_) (void)w.release();
  }

  void run();

 private:
  struct Client {
    UniqueFd conn;
    std::unique_ptr<JsonlWriter> out;
    std::unique_ptr<TraceFrame> frame;
    std::unique_ptr<Recorder> rec;
    std::set<uint32_t> live;  // thread groups of the tree still running
    bool sched = false;
    uint64_t sched_written = 0, dropped_before = 0, sched_dropped_before = 0;
    bool exited = false, stop_now = false;
    std::optional<int> exit_status;
    bool tracing() const { return rec != nullptr; }
  };

  void accept_clients();
  bool on_message(Client& c);  // false: drop the client
  // False: the trace began but its answer could not be sent (the client
  // went away); the trace is finished and the client is to be dropped.
  bool begin_trace(Client& c, const nlohmann::json& req, UniqueFd out_fd);
  void finish_trace(Client& c, bool reply);
  void begin_stop();
  Client* route(uint32_t tgid);
  void on_record(const void* data, std::size_t size);
  void on_sched(const gt_sched& r);
  bool any_tracing() const;
  // The poll timeout while idle: until the programs are to be detached.
  int idle_timeout_ms() const;
  void detach_if_idle_long_enough();
  void start_idle_clocks();  // the last trace in progress has ended
  std::vector<std::string> attach_usdt(const std::vector<std::string>& paths, std::vector<std::string>* warnings);

  std::string dir_;
  Tracer tracer_;
  UniqueFd listen_;
  std::map<int, std::unique_ptr<Client>> clients_;  // by connection fd
  // Thread group -> the client whose tree it is in: seeded with the root,
  // grown from fork records (the ring buffer keeps a parent's fork before
  // anything its child does), kept until that client's trace is closed.
  std::unordered_map<uint32_t, Client*> routes_;
  std::map<std::string, std::string> usdt_attached_;  // "path dev ino" -> path: attached once
  std::vector<UniqueFd> stop_waiters_;  // `session stop`: EOF when we have exited
  bool stopping_ = false;
  std::chrono::milliseconds idle_detach_;
  // USDT probes stay registered longer: registering them again waits for an
  // RCU grace period (5-330 ms here), while a registered probe costs every
  // glassrun on the machine a trap per step (~4 us, ~45 a run).
  std::chrono::milliseconds usdt_idle_detach_;
  // Records of tasks in no trace in progress: the kernel side's filter let
  // through what no client wants (a task unfollowed too late, a tree whose
  // trace was closed while it ran on); `session status` shows it.
  uint64_t unrouted_ = 0;
  std::optional<Clock::time_point> detach_at_;       // attached, no trace in progress
  std::optional<Clock::time_point> usdt_detach_at_;  // USDT registered, no trace in progress
};

int Daemon::idle_timeout_ms() const {
  std::optional<Clock::time_point> next = detach_at_;
  if (usdt_detach_at_ && (!next || *usdt_detach_at_ < *next)) next = usdt_detach_at_;
  if (!next) return -1;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(*next - Clock::now()).count();
  return left > 0 ? static_cast<int>(std::min<long long>(left, 1 << 30)) : 0;
}

void Daemon::detach_if_idle_long_enough() {
  if (any_tracing()) return;
  auto now = Clock::now();
  if (detach_at_ && now >= *detach_at_) {
    tracer_.detach();
    // Nothing is followed while detached: what the kernel side added on
    // forks the daemon never saw (lost records) goes too. Here, not when
    // a trace ends: emptying the hash scans all its buckets (~65536), off
    // any client's path.
    tracer_.unfollow_all();
    detach_at_.reset();
  }
  if (usdt_detach_at_ && now >= *usdt_detach_at_) {
    tracer_.detach_usdt();
    usdt_attached_.clear();
    usdt_detach_at_.reset();
  }
}

void Daemon::start_idle_clocks() {
  auto now = Clock::now();
  detach_at_ = now + idle_detach_;
  if (!usdt_attached_.empty()) usdt_detach_at_ = now + usdt_idle_detach_;
}

bool Daemon::any_tracing() const {
  for (const auto& [fd, c] : clients_)
    if (c->tracing()) return true;
  return false;
}

Daemon::Client* Daemon::route(uint32_t tgid) {
  if (auto it = routes_.find(tgid); it != routes_.end()) return it->second;
  if (routes_.empty()) return nullptr;
  // A record of a process whose fork record was lost (a full ring buffer)
  // or is in the other ring buffer: its routed ancestor, while it lives.
  uint32_t pid = tgid;
  for (int depth = 0; depth < 32 && pid > 1; depth++) {
    std::ifstream stat(fmt::format("/proc/{}/stat", pid));
    std::string line;
    if (!std::getline(stat, line)) return nullptr;
    auto paren = line.rfind(')');
    unsigned ppid = 0;
    char state;
    if (paren == std::string::npos || sscanf(line.c_str() + paren + 1, " %c %u", &state, &ppid) != 2) return nullptr;
    pid = ppid;
    if (auto it = routes_.find(pid); it != routes_.end()) return routes_[tgid] = it->second;
  }
  return nullptr;
}

void Daemon::on_record(const void* data, std::size_t size) {
  if (size < sizeof(gt_header)) return;
  const auto* h = static_cast<const gt_header*>(data);
  if (Client* c = route(h->task.pid); c && c->tracing())
    c->rec->on_record(data, size);
  else
    unrouted_++;
}

// A switch between two followed tasks of different clients goes to each
// with the other side zeroed, as if only its own tree were followed.
void Daemon::on_sched(const gt_sched& r) {
  Client* next = r.next_pid ? route(r.next_pid) : nullptr;
  Client* prev = r.kind == GT_SCHED_SWITCH && r.prev_pid ? route(r.prev_pid) : nullptr;
  auto write = [](Client* c, const gt_sched& rec) {
    if (!c || !c->tracing() || !c->sched) return;
    c->sched_written += write_sched_events(rec, [c](std::string_view line) { c->out->write_line(line); });
  };
  if (!prev || prev == next) return write(next, r);
  gt_sched only_prev = r;
  only_prev.next_pid = only_prev.next_tid = 0;
  write(prev, only_prev);
  if (next) {
    gt_sched only_next = r;
    only_next.prev_pid = only_next.prev_tid = 0;
    write(next, only_next);
  }
}

std::vector<std::string> Daemon::attach_usdt(const std::vector<std::string>& paths,
                                             std::vector<std::string>* warnings) {
  std::vector<std::string> attached;
  for (const auto& path : paths) {
    struct stat st;
    if (stat(path.c_str(), &st)) {
      warnings->push_back(fmt::format("USDT attach to {} failed: {}", path, strerror(errno)));
      continue;
    }
    // Per binary file: a rebuilt binary (a new inode) is attached anew.
    std::string key = fmt::format("{} {} {}", path, st.st_dev, st.st_ino);
    std::string why;
    if (usdt_attached_.count(key) || tracer_.attach_usdt(path, &why)) {
      usdt_attached_.emplace(key, path);
      attached.push_back(path);
    } else {
      warnings->push_back(fmt::format("USDT attach to {} failed: {}", path, why));
    }
  }
  return attached;
}

bool Daemon::begin_trace(Client& c, const nlohmann::json& req, UniqueFd out_fd) {
  if (stopping_) throw TracerError("the session is stopping");
  if (c.tracing()) throw TracerError("one trace per connection");
  if (!out_fd) throw TracerError("no trace file was passed");
  TraceStart start;
  start.root_pid = req.at("root_pid").get<uint32_t>();
  start.command = req.at("command").get<std::vector<std::string>>();
  std::vector<std::string> warnings;
  Client* self = &c;
  usdt_detach_at_.reset();
  try {
    start.usdt = attach_usdt(req.at("usdt").get<std::vector<std::string>>(), &warnings);
    c.sched = req.value("sched", true);
    std::string name = req.value("output", std::string("the trace"));
    c.out = std::make_unique<JsonlWriter>(out_fd.release(), name);
    c.frame = std::make_unique<TraceFrame>(*c.out, start);
    c.dropped_before = tracer_.dropped();
    c.sched_dropped_before = tracer_.sched_dropped();
    auto rec = std::make_unique<Recorder>([self](std::string_view line) { self->out->write_line(line); });
    rec->on_process_start = [this, self](uint32_t pid) {
      self->live.insert(pid);
      routes_[pid] = self;
    };
    rec->on_process_gone = [self](uint32_t pid) { self->live.erase(pid); };
    c.live = {start.root_pid};
    routes_[start.root_pid] = self;
    // The root waits for this answer before it runs its command: attached
    // now, nothing of its tree is missed.
    tracer_.attach(c.sched);
    detach_at_.reset();
    tracer_.follow(start.root_pid);
    c.rec = std::move(rec);
  } catch (...) {
    // Refused: the idle clocks run again for what this request attached.
    if (auto it = routes_.find(start.root_pid); it != routes_.end() && it->second == self) routes_.erase(it);
    if (!any_tracing()) start_idle_clocks();
    throw;
  }
  try {
    ts::send(c.conn.get(), {{"ok", true}, {"usdt", start.usdt}, {"warnings", warnings}});
  } catch (const std::runtime_error&) {
    // The client went away before its answer (killed while its tree was
    // being followed): the trace ends here, as at the client's EOF. Not a
    // refusal: its tree is followed and routed, and the idle clocks stopped.
    finish_trace(c, false);
    return false;
  }
  return true;
}

void Daemon::finish_trace(Client& c, bool reply) {
  tracer_.poll(0);  // the tree's last records
  for (uint32_t pid : c.live) tracer_.unfollow(pid);
  for (auto it = routes_.begin(); it != routes_.end();) it = it->second == &c ? routes_.erase(it) : std::next(it);
  c.rec->finish();
  uint64_t dropped = tracer_.dropped() - c.dropped_before;
  uint64_t sched_dropped = tracer_.sched_dropped() - c.sched_dropped_before;
  nlohmann::json answer = {{"ok", true}, {"dropped", dropped}, {"sched_dropped", c.sched ? sched_dropped : 0}};
  try {
    c.frame->finish({*c.rec, c.sched_written, dropped, c.exit_status,
                     c.sched ? std::optional<uint64_t>(sched_dropped) : std::nullopt});
  } catch (const std::exception& e) {
    answer = {{"ok", false}, {"error", e.what()}};
  }
  c.frame.reset();
  c.rec.reset();
  c.out.reset();
  if (!any_tracing()) start_idle_clocks();
  if (reply) {
    try {
      ts::send(c.conn.get(), answer);
    } catch (const std::runtime_error&) {
    }
  }
}

bool Daemon::on_message(Client& c) {
  UniqueFd fd;
  std::optional<nlohmann::json> msg;
  try {
    msg = ts::receive(c.conn.get(), &fd);
  } catch (const std::runtime_error&) {
    return false;
  }
  if (!msg) {  // the client went away: its trace ends here
    if (c.tracing()) finish_trace(c, false);
    return false;
  }
  std::string op = msg->value("op", "");
  try {
    if (op == "trace") {
      if (!begin_trace(c, *msg, std::move(fd))) return false;
    } else if (op == "exited") {
      if (!c.tracing()) throw TracerError("no trace in progress");
      c.exited = true;
      if ((*msg)["status"].is_number()) c.exit_status = (*msg)["status"].get<int>();
      c.stop_now = msg->value("stop_now", false);
    } else if (op == "status") {
      std::set<std::string> usdt;
      for (const auto& [key, path] : usdt_attached_) usdt.insert(path);
      int traces = 0;
      for (const auto& [cfd, other] : clients_) traces += other->tracing();
      ts::send(c.conn.get(), {{"ok", true}, {"pid", getpid()}, {"traces", traces}, {"usdt", usdt},
                              {"attached", tracer_.attached()}, {"unrouted", unrouted_}});
    } else if (op == "stop") {
      begin_stop();
      stop_waiters_.push_back(std::move(c.conn));
      return false;
    } else {
      throw TracerError(fmt::format("unknown request '{}'", op));
    }
  } catch (const std::exception& e) {
    // A refused trace leaves nothing behind: no route, nothing followed.
    c.frame.reset(), c.rec.reset(), c.out.reset();
    try {
      ts::send(c.conn.get(), {{"ok", false}, {"error", e.what()}});
    } catch (const std::runtime_error&) {
    }
  }
  return true;
}

// No new clients from now on (they fall back to loading their own); the
// traces in progress are finished, then the daemon exits.
void Daemon::begin_stop() {
  if (stopping_) return;
  stopping_ = true;
  remove_session_files(dir_);
  listen_.reset();
}

void Daemon::accept_clients() {
  for (;;) {
    int fd = accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    auto c = std::make_unique<Client>();
    c->conn.reset(fd);
    clients_.emplace(fd, std::move(c));
  }
}

void Daemon::run() {
  while (!stopping_ || any_tracing()) {
    std::vector<pollfd> fds;
    if (listen_) fds.push_back({listen_.get(), POLLIN, 0});
    fds.push_back({tracer_.ring_fd(), POLLIN, 0});
    for (const auto& [fd, c] : clients_) fds.push_back({fd, POLLIN, 0});
    int n = ::poll(fds.data(), fds.size(), any_tracing() ? kDrainEveryMs : idle_timeout_ms());
    if (n < 0 && errno != EINTR) throw TracerError(fmt::format("session: poll: {}", strerror(errno)));
    if (g_terminate) begin_stop();
    tracer_.poll(0);
    std::vector<int> gone;
    for (const auto& p : fds) {
      if (!p.revents) continue;
      if (listen_ && p.fd == listen_.get()) accept_clients();
      else if (auto it = clients_.find(p.fd); it != clients_.end() && !on_message(*it->second)) gone.push_back(p.fd);
    }
    for (auto& [fd, c] : clients_) {
      if (!c->tracing()) continue;
      // Exit records can be lost (dropped); /proc has the last word.
      for (auto it = c->live.begin(); it != c->live.end();)
        it = (kill(*it, 0) != 0 && errno == ESRCH) ? c->live.erase(it) : std::next(it);
      if (c->exited && (c->live.empty() || c->stop_now)) finish_trace(*c, true);
    }
    for (int fd : gone) clients_.erase(fd);
    detach_if_idle_long_enough();
  }
}

void on_terminate(int) { g_terminate = 1; }

// The daemon's process: detached from the caller's session, terminal and
// fds; `ready` gets "ok" or the one-line error, then closes.
[[noreturn]] void daemon_main(const std::string& dir, bool verbose, const SessionOptions& options, int ready,
                              bool remove_dir) {
  setsid();
  if (chdir("/")) {
  }
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd < 3; fd++) dup2(devnull, fd);
  if (ready != 3) dup2(ready, 3), ready = 3;
  syscall(SYS_close_range, 4, ~0U, 0);
  struct sigaction sa {};
  sa.sa_handler = on_terminate;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  int code = 0;
  try {
    Daemon d(dir, verbose, options);
    (void)!write(ready, "ok", 2);
    close(ready);
    d.run();
  } catch (const std::exception& e) {
    std::string msg = e.what();
    (void)!write(ready, msg.data(), msg.size());
    code = 1;
  }
  if (remove_dir) rmdir(dir.c_str());
  _exit(code);
}

// Held while starting, so two `session start` do not race: a lock on the
// directory itself leaves no file behind.
UniqueFd lock_dir(const std::string& dir) {
  UniqueFd d(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d || flock(d.get(), LOCK_EX))
    throw TracerError(fmt::format("session: {}: {}", dir, strerror(errno)));
  return d;
}

}  // namespace

int session_start(const std::string& given_dir, bool verbose, const SessionOptions& options) {
  // The daemon works from / (daemon_main): a relative directory is made
  // absolute here, where it was meant.
  const std::string dir = std::filesystem::absolute(given_dir).lexically_normal().string();
  bool created = mkdir(dir.c_str(), 0700) == 0;
  if (!created && errno != EEXIST) throw TracerError(fmt::format("session: mkdir {}: {}", dir, strerror(errno)));
  UniqueFd lock = lock_dir(dir);
  std::string why;
  switch (probe(dir, nullptr, &why)) {
    case Probe::Running:
      throw TracerError(fmt::format("session: one already runs in {} (pid {})", dir, read_pid_file(dir).value_or(0)));
    case Probe::Stale:
      // Its daemon is gone (killed): nothing of it is left in the kernel,
      // only these files.
      remove_session_files(dir);
      break;
    case Probe::None: break;
  }
  int p[2];
  if (pipe2(p, O_CLOEXEC)) throw TracerError(fmt::format("session: pipe: {}", strerror(errno)));
  UniqueFd ready_read(p[0]), ready_write(p[1]);
  pid_t middle = fork();
  if (middle < 0) throw TracerError(fmt::format("session: fork: {}", strerror(errno)));
  if (middle == 0) {
    // Twice, so that the daemon is nobody's child here (init reaps it).
    pid_t daemon = fork();
    if (daemon == 0) daemon_main(dir, verbose, options, ready_write.get(), created);
    _exit(daemon < 0 ? 1 : 0);
  }
  ready_write.reset();
  waitpid(middle, nullptr, 0);
  std::string answer;
  char buf[512];
  for (ssize_t n; (n = read(ready_read.get(), buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    answer.append(buf, n);
    if (answer == "ok") break;
  }
  if (answer != "ok") {
    if (created) rmdir(dir.c_str());
    throw TracerError(answer.empty() ? "session: the daemon died while starting" : answer);
  }
  std::cout << fmt::format("glasstrace: session running in {} (pid {})\n", dir, read_pid_file(dir).value_or(0));
  return 0;
}

int session_stop(const std::string& dir) {
  UniqueFd conn;
  std::string why;
  switch (probe(dir, &conn, &why)) {
    case Probe::None: throw TracerError(why);
    case Probe::Stale:
      remove_session_files(dir);
      std::cout << fmt::format("glasstrace: removed a stale session in {} (its daemon was gone)\n", dir);
      return 0;
    case Probe::Running: break;
  }
  auto pid = read_pid_file(dir);
  UniqueFd pidfd(pid ? int(syscall(SYS_pidfd_open, *pid, 0)) : -1);
  ts::send(conn.get(), {{"op", "stop"}});
  // EOF once the daemon has exited (its traces in progress finished, the
  // programs detached); then until it is gone.
  while (ts::receive(conn.get())) {
  }
  if (pidfd) {
    pollfd p{pidfd.get(), POLLIN, 0};
    ::poll(&p, 1, 10000);
  }
  std::cout << fmt::format("glasstrace: session in {} stopped\n", dir);
  return 0;
}

int session_status(const std::string& dir) {
  UniqueFd conn;
  std::string why;
  if (probe(dir, &conn, &why) != Probe::Running) {
    std::cout << "glasstrace: " << why << '\n';
    return 1;
  }
  ts::send(conn.get(), {{"op", "status"}});
  auto r = ts::receive(conn.get()).value_or(nlohmann::json::object());
  std::cout << fmt::format(
      "glasstrace: session running in {} (pid {}), {} trace(s) in progress, programs {}, USDT attached: {}, "
      "records of no trace: {}\n",
      dir, r.value("pid", 0), r.value("traces", 0), r.value("attached", false) ? "attached" : "detached",
      r["usdt"].empty() ? std::string("none") : r["usdt"].dump(), r.value("unrouted", uint64_t{0}));
  return 0;
}

}  // namespace glasstrace
