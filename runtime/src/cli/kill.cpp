#include <cctype>
#include <optional>

#include "cli/cli.h"
#include "container/container.h"
#include "util/error.h"
#include "util/signals.h"

namespace glassrun::cli {

namespace {
// runc's parseSignal: a number is taken as it is (0 probes liveness; kill(2)
// refuses what is no signal), else a name, with or without SIG, any case.
std::optional<int> parse_signal(const std::string& text) {
  try {
    size_t used = 0;
    int n = std::stoi(text, &used);
    if (used == text.size() && !std::isspace(static_cast<unsigned char>(text[0]))) return n;
  } catch (const std::exception&) {
  }
  return signals::parse(text);
}
}  // namespace

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
      auto n = parse_signal(*sig);
      if (!n) throw Error(fmt::format("unknown signal \"{}\"", *sig));
      container::kill(g.root, *id, *n, *all);
      return 0;
    };
  });
}

}  // namespace glassrun::cli
