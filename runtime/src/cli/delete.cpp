#include "cli/cli.h"
#include "container/container.h"

namespace glassrun::cli {

void add_delete(CLI::App& app, Globals& g, Action& action) {
  auto* id = new std::string;
  auto* force = new bool(false);
  auto* sub = app.add_subcommand("delete", "delete a container and what it holds");
  sub->add_option("container-id", *id)->required();
  sub->add_flag("-f,--force", *force, "kill a running container first");
  sub->callback([&g, id, force, &action] {
    action = [&g, id, force] {
      container::remove(g.root, *id, *force);
      return 0;
    };
  });
}

}  // namespace glassrun::cli
