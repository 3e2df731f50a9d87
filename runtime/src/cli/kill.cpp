#include "cli/cli.h"
#include "container/container.h"
#include "util/error.h"
#include "util/signals.h"

namespace glassrun::cli {

void add_kill(CLI::App& app, Globals& g, Action& action) {
  auto* id = new std::string;
  auto* sig = new std::string("SIGTERM");
  auto* all = new bool(false);
  auto* sub = app.add_subcommand("kill", "send a signal to a container's init (or all its processes)");
  sub->add_option("container-id", *id)->required();
  sub->add_option("signal", *sig, "name (TERM, SIGTERM) or number");
  sub->add_flag("-a,--all", *all, "signal every process of the container");
  sub->callback([&g, id, sig, all, &action] {
    action = [&g, id, sig, all] {
      auto n = signals::parse(*sig);
      if (!n) throw Error(fmt::format("kill: signal: unknown signal \"{}\"", *sig));
      container::kill(g.root, *id, *n, *all);
      return 0;
    };
  });
}

}  // namespace glassrun::cli
