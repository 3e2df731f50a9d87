#include "cli/cli.h"
#include "container/container.h"

namespace glassrun::cli {

void add_start(CLI::App& app, Globals& g, Action& action) {
  auto* id = new std::string;
  auto* sub = app.add_subcommand("start", "start a created container");
  sub->add_option("container-id", *id)->required();
  sub->callback([&g, id, &action] {
    action = [&g, id] {
      container::start(g.root, *id);
      return 0;
    };
  });
}

}  // namespace glassrun::cli
