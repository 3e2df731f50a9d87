// A persistent glasstrace session: one daemon loads and attaches the BPF
// programs once and records many process trees, each for its own client,
// so a traced run no longer pays for verification and attaching (issue 18).
//
// The daemon listens on DIR/glasstrace.sock (SOCK_SEQPACKET, one JSON
// message a packet). A client forks the command held on a pipe, sends its
// pid and the trace file's fd (SCM_RIGHTS); the daemon follows the pid,
// writes the tree's events to that fd, and answers when the trace is closed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "trace_frame.h"
#include "util/fd.h"

namespace glasstrace {

// `given`, else $GLASSTRACE_SESSION_DIR, else /run/glasstrace.
std::string session_dir(const std::string& given);

// `glasstrace session start|stop|status`: exit codes, one line of output.
int session_start(const std::string& dir, bool verbose);
int session_stop(const std::string& dir);
int session_status(const std::string& dir);

// The client's side of one trace.
class SessionClient {
 public:
  // Connected to the session running in `dir`; nullopt with `why` when none
  // runs there or its daemon is gone (a stale socket).
  static std::optional<SessionClient> connect(const std::string& dir, std::string* why);

  struct Started {
    std::vector<std::string> usdt;      // attached binaries
    std::vector<std::string> warnings;  // USDT attach failures
  };
  // The daemon follows start.root_pid, attaches USDT to `usdt_targets` and
  // writes the trace to `out_fd` (meta already in it when this returns).
  // Throws TracerError.
  Started start(int out_fd, const std::string& out_name, const TraceStart& start,
                const std::vector<std::string>& usdt_targets, bool sched);

  struct Finished {
    uint64_t dropped = 0, sched_dropped = 0;
  };
  // The command exited with `exit_status` (or recording stops now: `stop_now`):
  // returns once the daemon has drained the tree's events and closed the trace.
  Finished finish(std::optional<int> exit_status, bool stop_now);

 private:
  explicit SessionClient(glassrun::UniqueFd sock) : sock_(std::move(sock)) {}
  glassrun::UniqueFd sock_;
};

}  // namespace glasstrace
