// pause, resume, ps, events, update: the commands that act on the container's cgroups.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <sstream>
#include <thread>

#include "cli/cli.h"
#include "cli/usage.h"
#include "container/loaded.h"
#include "util/error.h"
#include "util/fd.h"

namespace glassrun::cli {

namespace {

void add_pause_resume(CLI::App& app, Globals& g, Action& action) {
  auto* id = new std::string;
  auto* pause = app.add_subcommand("pause", "freeze every process of a container");
  pause->add_option("container-id", *id)->required();
  pause->callback([&g, id, &action] {
    action = [&g, id] {
      auto c = container::Loaded::open(g.root, *id);
      auto s = c.status();
      if (s != state::Status::Running && s != state::Status::Created) throw Error("container not running");
      c.cg->freeze();
      return 0;
    };
  });
  auto* rid = new std::string;
  auto* resume = app.add_subcommand("resume", "thaw a paused container");
  resume->add_option("container-id", *rid)->required();
  resume->callback([&g, rid, &action] {
    action = [&g, rid] {
      auto c = container::Loaded::open(g.root, *rid);
      if (c.status() != state::Status::Paused) throw Error("container not paused");
      c.cg->thaw();
      return 0;
    };
  });
}

// Runs ps(1) with argv as given (no shell: quotes and `;` reach ps verbatim)
// and returns what it printed on stdout and stderr, as runc's CombinedOutput.
std::string run_ps(const std::vector<std::string>& ps_args) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw_sys("ps: pipe");
  UniqueFd rd(fds[0]), wr(fds[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 2);
  std::vector<char*> argv{const_cast<char*>("ps")};
  for (const auto& a : ps_args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid;
  int err = posix_spawnp(&pid, "ps", &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (err != 0) throw Error(fmt::format("run ps(1): {}", strerror(err)), err);
  wr.reset();
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(rd.get(), buf, sizeof buf)) != 0;) {
    if (n > 0) out.append(buf, n);
    else if (errno != EINTR) break;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)  // one line: what ps said first
    throw Error(fmt::format("exit status {}: {}", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                            out.substr(0, out.find('\n'))));
  return out;
}

// runc's ps: `ps [-f table|json] <container-id> [ps options]`. Everything
// after the id is ps(1)'s, also arguments that start with `-`.
void add_ps(CLI::App& app, Globals& g, Action& action) {
  auto* format = new std::string("table");
  auto* sub = app.add_subcommand("ps", "ps displays the processes running inside a container");
  sub->prefix_command();
  sub->add_option("-f,--format", *format, "select one of: table or json")->capture_default_str();
  sub->callback([&g, format, sub, &action] {
    auto rest = sub->remaining();
    std::string id = take_container_id(rest, "ps");
    // `ps c1 -- -o pid` reads as the end of glassrun's options (runc would
    // hand `--` to ps, which refuses it).
    if (!rest.empty() && rest[0] == "--") rest.erase(rest.begin());
    action = [&g, format, id, ps_args = std::move(rest)] {
      auto c = container::Loaded::open(g.root, id);
      auto pids = c.cg->pids();
      if (*format == "json") {
        fmt::print("{}\n", nlohmann::json(pids).dump());
        return 0;
      }
      if (*format != "table") throw Error(fmt::format("--format: invalid format \"{}\"", *format));
      // As runc: keep ps's header and the lines whose PID is the container's.
      std::istringstream lines(run_ps(ps_args.empty() ? std::vector<std::string>{"-ef"} : ps_args));
      std::string line, field;
      std::getline(lines, line);
      std::istringstream header(line);
      int pid_col = -1;
      for (int i = 0; pid_col < 0 && header >> field; ++i)
        if (field == "PID") pid_col = i;
      if (pid_col < 0) throw Error("couldn't find PID field in ps output");
      fmt::print("{}\n", line);
      while (std::getline(lines, line)) {
        std::istringstream fields(line);
        for (int i = 0; fields >> field; ++i)
          if (i == pid_col) {
            if (std::find(pids.begin(), pids.end(), std::atoi(field.c_str())) != pids.end()) fmt::print("{}\n", line);
            break;
          }
      }
      return 0;
    };
  });
}

}  // namespace

void add_cgroup_commands(CLI::App& app, Globals& g, Action& action) {
  add_pause_resume(app, g, action);
  add_ps(app, g, action);
}

}  // namespace glassrun::cli
