#include "util/trace_session.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

#include "util/error.h"
#include "util/fd_passing.h"

namespace glassrun::trace_session {
namespace {

constexpr std::size_t kMaxMessage = 64 << 10;

// A request's reply; its "error" becomes an Error.
nlohmann::json reply_or_throw(int sock, const char* when) {
  auto reply = receive(sock);
  if (!reply) throw Error(fmt::format("session: the daemon went away {}", when));
  if (!reply->value("ok", false)) throw Error(fmt::format("session: {}", reply->value("error", "refused")));
  return *reply;
}

}  // namespace

std::string directory(const std::string& given) {
  if (!given.empty()) return given;
  if (const char* env = getenv("GLASSTRACE_SESSION_DIR"); env && *env) return env;
  return "/run/glasstrace";
}

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) throw Error(fmt::format("session: {}: path too long", path));
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  return a;
}

std::string socket_path(const std::string& dir) { return dir + "/glasstrace.sock"; }
std::string pid_path(const std::string& dir) { return dir + "/glasstrace.pid"; }

std::optional<pid_t> read_pid_file(const std::string& dir) {
  std::ifstream in(pid_path(dir));
  long pid = 0;
  if (in >> pid && pid > 0) return pid_t(pid);
  return std::nullopt;
}

void send(int sock, const nlohmann::json& message, int fd) {
  std::string text = message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  iovec iov{text.data(), text.size()};
  fd_passing::send(sock, &iov, 1, fd, "session: sendmsg");
}

std::optional<nlohmann::json> receive(int sock, UniqueFd* fd) {
  // Not zeroed: a message is small, and zeroing 64 KiB of fresh heap is 16
  // page faults.
  auto buf = std::make_unique_for_overwrite<char[]>(kMaxMessage);
  iovec iov{buf.get(), kMaxMessage};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno != ECONNRESET) throw Error(fmt::format("session: recvmsg: {}", strerror(errno)), errno);
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int got;
      std::memcpy(&got, CMSG_DATA(c), sizeof(int));
      if (fd) fd->reset(got);
      else close(got);
    }
  if (n <= 0) return std::nullopt;
  auto j = nlohmann::json::parse(buf.get(), buf.get() + n, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error("session: a malformed message");
  return j;
}

Probe probe(const std::string& dir, UniqueFd* conn, std::string* why) {
  UniqueFd s(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!s) throw Error(fmt::format("session: socket: {}", strerror(errno)), errno);
  sockaddr_un a = unix_address(socket_path(dir));
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    if (conn) *conn = std::move(s);
    return Probe::Running;
  }
  int e = errno;
  auto pid = read_pid_file(dir);
  if (e == ENOENT && !pid) {
    if (why) *why = fmt::format("no glasstrace session runs in {} (start one: glasstrace session start)", dir);
    return Probe::None;
  }
  if (why)
    *why = fmt::format("the glasstrace session in {} is stale ({}: {}{}; `glasstrace session start` cleans it up)",
                       dir, socket_path(dir), strerror(e), pid ? fmt::format(", daemon pid {} gone", *pid) : "");
  return Probe::Stale;
}

std::optional<Client> Client::connect(const std::string& dir, std::string* why) {
  UniqueFd conn;
  if (probe(dir, &conn, why) != Probe::Running) return std::nullopt;
  return Client(std::move(conn));
}

Client::Started Client::start(int out_fd, const std::string& out_name, const std::vector<std::string>& command,
                              pid_t root_pid, const std::vector<std::string>& usdt_targets, bool sched) {
  send(sock_.get(),
       {{"op", "trace"}, {"root_pid", root_pid}, {"command", command}, {"usdt", usdt_targets}, {"sched", sched},
        {"output", out_name}},
       out_fd);
  auto r = reply_or_throw(sock_.get(), "before the trace started");
  return {r.value("usdt", std::vector<std::string>{}), r.value("warnings", std::vector<std::string>{})};
}

Client::Finished Client::finish(std::optional<int> exit_status, bool stop_now) {
  send(sock_.get(), {{"op", "exited"},
                     {"status", exit_status ? nlohmann::json(*exit_status) : nlohmann::json(nullptr)},
                     {"stop_now", stop_now}});
  auto r = reply_or_throw(sock_.get(), "before the trace was closed");
  return {r.value("dropped", uint64_t{0}), r.value("sched_dropped", uint64_t{0})};
}

std::string drop_warnings(const Client::Finished& f) {
  std::string out;
  if (f.dropped > 0)
    out += fmt::format("glasstrace: warning: {} events were dropped (ring buffer full); the trace is incomplete\n",
                       f.dropped);
  if (f.sched_dropped > 0)
    out += fmt::format("glasstrace: warning: {} sched records were dropped (sched ring buffer full); "
                       "on/off-CPU times are approximate\n", f.sched_dropped);
  return out;
}

std::optional<int> wait_for_command(pid_t pid, const volatile int& stop_requests, const volatile int& last_signal) {
  bool forwarded = false;
  for (;;) {
    int st;
    if (waitpid(pid, &st, 0) == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (errno != EINTR) throw Error(fmt::format("waitpid: {}", strerror(errno)), errno);
    if (stop_requests == 1 && !forwarded) kill(pid, last_signal), forwarded = true;
    if (stop_requests > 1) return std::nullopt;
  }
}

}  // namespace glassrun::trace_session
