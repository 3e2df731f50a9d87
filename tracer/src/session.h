// A persistent glasstrace session: one daemon loads the BPF programs once
// and records many process trees, each for its own client, so a traced run
// no longer pays for verification (issue 18). The programs are attached
// while traces are in progress and a little after (SessionOptions): idle,
// the session runs nothing on the machine's syscalls.
//
// The daemon listens on DIR/glasstrace.sock (SOCK_SEQPACKET, one JSON
// message a packet). A client forks the command held on a pipe, sends its
// pid and the trace file's fd (SCM_RIGHTS); the daemon follows the pid,
// writes the tree's events to that fd, and answers when the trace is closed.
// The client's side is runtime/src/util/trace_session.* (glassrun --trace
// is a client too).
#pragma once

#include <string>

namespace glasstrace {

// `glasstrace session start|stop|status`: exit codes, one line of output.
// How long the daemon keeps its tracepoint programs attached, and the USDT
// probes it was asked for registered, once no trace is in progress.
struct SessionOptions {
  int idle_detach_ms = 200;
  int usdt_idle_detach_ms = 10000;
};
int session_start(const std::string& dir, bool verbose, const SessionOptions& options = {});
int session_stop(const std::string& dir);
int session_status(const std::string& dir);

}  // namespace glasstrace
