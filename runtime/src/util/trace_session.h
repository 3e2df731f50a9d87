// The client's side of a glasstrace session (docs/TRACER.md "Sessions"; the
// daemon is tracer/src/session.cpp): shared by `glasstrace -o F -- CMD` and
// `glassrun --trace F`, which so records without executing glasstrace.
// One JSON message a SOCK_SEQPACKET packet, an fd passed with SCM_RIGHTS.
#pragma once

#include <sys/types.h>
#include <sys/un.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "util/fd.h"

namespace glassrun::trace_session {

// `given`, else $GLASSTRACE_SESSION_DIR, else /run/glasstrace.
std::string directory(const std::string& given);
std::string socket_path(const std::string& dir);
std::string pid_path(const std::string& dir);
std::optional<pid_t> read_pid_file(const std::string& dir);
// The socket address of `path`; throws Error if it does not fit.
sockaddr_un unix_address(const std::string& path);

// Messages; both throw Error naming the failed call. receive: nullopt at
// EOF; the fd the message carried, if any, into *fd.
void send(int sock, const nlohmann::json& message, int fd = -1);
std::optional<nlohmann::json> receive(int sock, UniqueFd* fd = nullptr);

enum class Probe { Running, None, Stale };
// Connects to the daemon of `dir` (into *conn), or says why there is none:
// no socket, or a socket nobody listens on (the daemon was killed).
Probe probe(const std::string& dir, UniqueFd* conn, std::string* why);

class Client {
 public:
  // Connected to the session running in `dir`; nullopt with `why` when none
  // runs there or its daemon is gone.
  static std::optional<Client> connect(const std::string& dir, std::string* why);

  struct Started {
    std::vector<std::string> usdt;      // attached binaries
    std::vector<std::string> warnings;  // USDT attach failures
  };
  // The daemon follows `root_pid` (held by the caller until this returns),
  // attaches USDT to `usdt_targets` and writes the trace to `out_fd`.
  // Throws Error with the daemon's reason.
  Started start(int out_fd, const std::string& out_name, const std::vector<std::string>& command, pid_t root_pid,
                const std::vector<std::string>& usdt_targets, bool sched);

  struct Finished {
    uint64_t dropped = 0, sched_dropped = 0;
  };
  // The command exited with `exit_status` (nullopt and `stop_now`: stop
  // recording now): returns once the daemon has drained and closed the trace.
  Finished finish(std::optional<int> exit_status, bool stop_now);

 private:
  explicit Client(UniqueFd sock) : sock_(std::move(sock)) {}
  UniqueFd sock_;
};

// The warnings glasstrace prints for a trace with drops ("" if none).
std::string drop_warnings(const Client::Finished& f);

// Waits for the traced command `pid` (the caller's child) and returns its
// status as a shell reports it (128+N for signal N). `stop_requests`
// counts SIGINT/SIGTERM (the caller's handler, installed without
// SA_RESTART): the first is passed on to the command, a second returns
// nullopt at once (stop recording).
std::optional<int> wait_for_command(pid_t pid, const volatile int& stop_requests, const volatile int& last_signal);

}  // namespace glassrun::trace_session
