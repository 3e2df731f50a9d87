// pause, resume, ps, events, update: the commands that act on the container's cgroups.
#include <signal.h>
#include <unistd.h>

#include <thread>

#include "cli/cli.h"
#include "container/loaded.h"
#include "util/error.h"

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

void add_ps(CLI::App& app, Globals& g, Action& action) {
  auto* id = new std::string;
  auto* format = new std::string("table");
  auto* ps_args = new std::vector<std::string>;
  auto* sub = app.add_subcommand("ps", "list the processes of a container");
  sub->add_option("-f,--format", *format, "table or json");
  sub->add_option("container-id", *id)->required();
  sub->add_option("ps-args", *ps_args, "arguments for ps(1)");
  sub->callback([&g, id, format, ps_args, &action] {
    action = [&g, id, format, ps_args] {
      auto c = container::Loaded::open(g.root, *id);
      auto pids = c.cg->pids();
      if (*format == "json") {
        fmt::print("{}\n", nlohmann::json(pids).dump());
        return 0;
      }
      if (*format != "table") throw Error(fmt::format("ps: --format: invalid format \"{}\"", *format));
      // As runc: run ps(1) and keep the header and the container's lines.
      std::string cmd = "ps";
      for (const auto& a : (ps_args->empty() ? std::vector<std::string>{"-ef"} : *ps_args)) cmd += " '" + a + "'";
      FILE* f = popen(cmd.c_str(), "r");
      if (!f) throw_sys("run ps");
      char line[4096];
      int pid_col = -1, n = 0;
      while (fgets(line, sizeof line, f)) {
        std::string l = line;
        if (n++ == 0) {
          fmt::print("{}", l);
          std::istringstream hs(l);
          std::string h;
          for (int i = 0; hs >> h; ++i)
            if (h == "PID") pid_col = i;
          continue;
        }
        std::istringstream ls(l);
        std::string field;
        for (int i = 0; ls >> field; ++i)
          if (i == pid_col) {
            pid_t p = std::atoi(field.c_str());
            if (std::find(pids.begin(), pids.end(), p) != pids.end()) fmt::print("{}", l);
            break;
          }
      }
      pclose(f);
      if (pid_col < 0) throw Error("ps: could not find the PID column in ps output");
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
