#include <fcntl.h>
#include <unistd.h>

#include "cli/cli.h"
#include "spec/config.h"
#include "util/error.h"

namespace glassrun::cli {

void add_spec(CLI::App& app, Globals& g, Action& action) {
  auto* bundle = new std::string(".");
  auto* rootless = new bool(false);
  auto* sub = app.add_subcommand("spec", "write a default config.json");
  sub->add_option("-b,--bundle", *bundle, "directory to write config.json in");
  sub->add_flag("--rootless", *rootless, "a config for an unprivileged user");
  sub->callback([bundle, rootless, &action] {
    action = [bundle, rootless] {
      std::string path = *bundle + "/config.json";
      if (access(path.c_str(), F_OK) == 0) throw Error(fmt::format("File {} exists. Remove it first", path));
      int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd < 0) throw_sys(fmt::format("create {}", path));
      std::string text = spec::default_spec(*rootless).dump(1, '\t') + "\n";
      bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
      close(fd);
      if (!ok) throw_sys(fmt::format("write {}", path));
      return 0;
    };
  });
}

}  // namespace glassrun::cli
