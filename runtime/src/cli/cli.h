// The command line, runc's spelling. One file per subcommand: parse flags,
// call the library, print. Each registers itself on the app and sets the
// action to run after parsing.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <functional>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace glassrun::cli {

struct Globals {
  std::string root = "/run/glassrun";
  std::string log;
  std::string log_format = "text";
  bool debug = false;
  bool systemd_cgroup = false;
  std::string criu;
  std::string rootless = "auto";
  // What a failed command exits with: 1, but 255 for exec (as runc), so a
  // caller tells exec's own failure from the process's exit status.
  int failure_exit_code = 1;
};

using Action = std::function<int()>;

void add_create(CLI::App& app, Globals& g, Action& action);
void add_start(CLI::App& app, Globals& g, Action& action);
void add_run(CLI::App& app, Globals& g, Action& action);
void add_state(CLI::App& app, Globals& g, Action& action);
void add_kill(CLI::App& app, Globals& g, Action& action);
void add_delete(CLI::App& app, Globals& g, Action& action);
void add_list(CLI::App& app, Globals& g, Action& action);
void add_spec(CLI::App& app, Globals& g, Action& action);
void add_features(CLI::App& app, Globals& g, Action& action);
void add_exec(CLI::App& app, Globals& g, Action& action);
void add_cgroup_commands(CLI::App& app, Globals& g, Action& action);  // pause resume ps
void add_events_update(CLI::App& app, Globals& g, Action& action);

// The one JSON output helper (state, list, events): one document and a
// newline on stdout, flushed; indent -1 is one line. ordered_json keeps the
// field order runc prints, which people and tools compare.
void print_json(const nlohmann::ordered_json& j, int indent = -1);

// A command that succeeded ends here: stdio flushed, then _exit, skipping the
// destructors of the parser and of the config and state it parsed. Freeing
// them writes to every heap page, one page fault each (~15 us on a PVM
// guest, ~40 pages after exec or run; issue 18). Everything else the
// process holds (fds, mappings) the kernel releases the same way either way.
[[noreturn]] inline void exit_now(int code) {
  std::fflush(nullptr);
  _exit(code);
}

}  // namespace glassrun::cli
