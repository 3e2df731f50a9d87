// glassrun: parse the command line, run one command, and report a failure on
// one line (the one place errors are printed).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "cli/cli.h"
#include "cli/usage.h"
#include "linux/cloned_binary.h"
#include "linux/cpu_affinity.h"
#include "linux/early_reexec.h"
#include "util/error.h"
#include "util/log.h"
#include "util/trace_session.h"

namespace {

// The subcommands that make container processes, and so need the sealed
// re-exec (cloned_binary): known from argv alone, so the re-exec comes before
// this process builds the command line parser it would throw away. create and
// exec call ensure() again; after the re-exec that is one access().
std::string_view container_command(int argc, char** argv) {
  std::string_view c = glassrun::cli::named_command(argc, argv);
  // c views a whole argv element, so it is NUL-terminated.
  return !c.empty() && glassrun::early::reexecutes(c.data()) ? c : std::string_view();
}

std::string self_exe() {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) glassrun::throw_sys("readlink /proc/self/exe");
  return std::string(self, n);
}

// The command glasstrace records: this binary, without --trace FILE.
std::vector<std::string> traced_command(const std::string& self, int argc, char** argv, int trace_index) {
  std::vector<std::string> args{self};
  for (int i = 1; i < argc; ++i)
    if (i != trace_index && i != trace_index + 1) args.emplace_back(argv[i]);
  return args;
}

volatile sig_atomic_t g_stop_requests = 0, g_last_signal = 0;

// With a glasstrace session running (docs/TRACER.md "Sessions") this
// process is its client, and a forked copy of it, held until the daemon
// follows it, runs the command: no glasstrace to execute, nothing to load.
// Returns true in that copy (main goes on); the client exits with its
// status once the trace is closed. false: no session takes the trace.
bool trace_in_session(const std::string& trace_file, int argc, char** argv, int trace_index) {
  namespace ts = glassrun::trace_session;
  std::string why;
  auto session = ts::Client::connect(ts::directory(""), &why);
  if (!session) return false;
  std::string self = self_exe();
  glassrun::UniqueFd out(open(trace_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
  if (!out) glassrun::throw_sys(fmt::format("--trace: open {}", trace_file));
  int go[2];
  if (pipe2(go, O_CLOEXEC)) glassrun::throw_sys("--trace: pipe");
  glassrun::UniqueFd go_read(go[0]), go_write(go[1]);
  pid_t child = fork();
  if (child < 0) glassrun::throw_sys("--trace: fork");
  if (child == 0) {
    go_write.reset();
    char c;
    if (read(go_read.get(), &c, 1) != 1) _exit(127);  // the daemon refused: the client records otherwise
    return true;
  }
  go_read.reset();
  ts::Client::Started started;
  try {
    started = session->start(out.get(), trace_file, traced_command(self, argc, argv, trace_index), child, {self}, true);
  } catch (const std::runtime_error&) {
    go_write.reset();
    waitpid(child, nullptr, 0);
    return false;
  }
  out.reset();
  for (const auto& w : started.warnings) fmt::print(stderr, "glasstrace: warning: {}\n", w);
  struct sigaction sa {};
  sa.sa_handler = [](int sig) {
    g_stop_requests = g_stop_requests + 1;
    g_last_signal = sig;
  };
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  if (write(go_write.get(), "g", 1) != 1) glassrun::throw_sys("--trace: releasing the command");
  go_write.reset();
  auto status = ts::wait_for_command(child, g_stop_requests, g_last_signal);
  fmt::print(stderr, "{}", ts::drop_warnings(session->finish(status, !status)));
  std::exit(status.value_or(128 + int(g_last_signal)));
}

// `glassrun --trace FILE ...` without a session re-runs the same command under
// glasstrace, which holds it until the probes are attached.
[[noreturn]] void exec_under_tracer(const std::string& trace_file, int argc, char** argv, int trace_index) {
  std::string self = self_exe();
  std::string dir = self.substr(0, self.rfind('/'));
  std::vector<std::string> candidates{dir + "/glasstrace", dir + "/../tracer/glasstrace", "glasstrace"};
  // glasstrace attaches to the USDT probes of the command it runs (this binary).
  std::vector<std::string> args{"glasstrace", "-o", trace_file, "--"};
  for (auto& a : traced_command(self, argc, argv, trace_index)) args.push_back(std::move(a));
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  for (const auto& c : candidates) {
    if (c.find('/') != std::string::npos && access(c.c_str(), X_OK) != 0) continue;
    execvp(c.c_str(), cargs.data());
  }
  glassrun::throw_sys("--trace: run glasstrace (not found next to glassrun or on PATH)");
}

int find_trace_flag(int argc, char** argv, std::string& file) {
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] != '-') return -1;  // global flags come before the command
    if (!strcmp(argv[i], "--trace") && i + 1 < argc) {
      file = argv[i + 1];
      return i;
    }
    if (glassrun::cli::global_flag_takes_value(argv[i])) ++i;  // skip the flag's value
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace glassrun;
  std::string command = "glassrun";
  cli::Globals g;
  try {
    std::string trace_file;
    if (int i = find_trace_flag(argc, argv, trace_file); i > 0) {
      if (!trace_in_session(trace_file, argc, argv, i)) exec_under_tracer(trace_file, argc, argv, i);
      // The session's held copy goes on without --trace FILE, so that its
      // re-exec below (with this argv) does not ask for a trace again.
      std::copy(argv + i + 2, argv + argc + 1, argv + i);
      argc -= 2;
    }
    if (auto c = container_command(argc, argv); !c.empty()) {
      command = c;
      cloned_binary::ensure(argv);
      cpu_affinity::keep_runtime_on_this_cpu();
    }

    CLI::App app{"an OCI container runtime whose every kernel-facing step can be seen", "glassrun"};
    app.set_version_flag("-v,--version", cli::version_text());
    app.require_subcommand(1);
    // As runc: an unprivileged caller keeps its state under $XDG_RUNTIME_DIR.
    if (geteuid() != 0)
      if (const char* x = getenv("XDG_RUNTIME_DIR"); x && *x) g.root = std::string(x) + "/glassrun";
    app.add_option("--root", g.root, "root directory for container state")->capture_default_str();
    app.add_option("--log", g.log, "log file (default stderr)");
    app.add_option("--log-format", g.log_format, "text or json")->capture_default_str()->check(CLI::IsMember({"text", "json"}));
    app.add_flag("--debug", g.debug, "debug logging");
    app.add_flag("--systemd-cgroup", g.systemd_cgroup, "accepted for runc compatibility; not supported");
    app.add_option("--criu", g.criu, "accepted for runc compatibility");
    app.add_option("--rootless", g.rootless, "accepted for runc compatibility");
    app.add_option("--trace", "record this run with glasstrace into FILE");

    cli::Action action;
    cli::add_command_parsers(app, g, action, cli::named_command(argc, argv));

    if (auto done = cli::handle_help_topics(app, argc, argv)) return *done;
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
      auto selected = app.get_subcommands();
      fmt::print("{}", cli::help_text(app, selected.empty() ? nullptr : selected.front()));
      return 0;
    } catch (const CLI::CallForVersion& e) {
      return app.exit(e);
    } catch (const CLI::ParseError& e) {
      log::error(e.what());
      return 1;
    }
    for (auto* sub : app.get_subcommands()) command = sub->get_name();
    log::configure(g.log, g.log_format == "json" ? log::Format::Json : log::Format::Text, g.debug);
    if (g.root.size() >= PATH_MAX)
      throw Error(fmt::format("--root {}...: too long ({} bytes)", g.root.substr(0, 64), g.root.size()));
    if (g.systemd_cgroup) throw Error("--systemd-cgroup: the systemd cgroup driver is not supported");
    return action();
  } catch (const std::exception& e) {
    // log::error says "glassrun: " itself: name the subcommand, once known.
    log::error(command == "glassrun" ? std::string(e.what()) : command + ": " + e.what());
    return g.failure_exit_code;
  }
}
