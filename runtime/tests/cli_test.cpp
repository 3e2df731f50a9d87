// The command line: which subcommand parsers a command builds.
#include <gtest/gtest.h>

#include "cli/cli.h"
#include "cli/usage.h"

using namespace glassrun;

namespace {

std::vector<std::string> parsers_built_for(std::vector<const char*> argv) {
  CLI::App app{"test", "glassrun"};
  cli::Globals g;
  cli::Action action;
  argv.insert(argv.begin(), "glassrun");
  cli::add_command_parsers(app, g, action, cli::named_command(static_cast<int>(argv.size()), const_cast<char**>(argv.data())));
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(sub->get_name());
  return names;
}

}  // namespace

TEST(Cli, NamedCommandSkipsGlobalFlagsAndTheirValues) {
  const char* argv[] = {"glassrun", "--root", "run", "--log-format=json", "--debug", "exec", "-t", "c1", nullptr};
  EXPECT_EQ(cli::named_command(8, const_cast<char**>(argv)), "exec");
  const char* none[] = {"glassrun", "--debug", nullptr};
  EXPECT_EQ(cli::named_command(2, const_cast<char**>(none)), "");
}

// ~175 KiB of CLI11 objects for all of them: a container start builds its own.
TEST(Cli, ANamedCommandBuildsOnlyItsOwnParser) {
  EXPECT_EQ(parsers_built_for({"--root", "/r", "run", "-b", "b", "c1"}), std::vector<std::string>{"run"});
  EXPECT_EQ(parsers_built_for({"exec", "c1", "true"}), std::vector<std::string>{"exec"});
  EXPECT_EQ(parsers_built_for({"ls"}), std::vector<std::string>{"list"});
  EXPECT_EQ(parsers_built_for({"resume", "c1"}), (std::vector<std::string>{"pause", "resume", "ps"}));
}

TEST(Cli, HelpUnknownWordsAndNoWordBuildEveryParser) {
  for (auto argv : std::vector<std::vector<const char*>>{{"help", "run"}, {"--help"}, {"frobnicate"}, {}})
    EXPECT_EQ(parsers_built_for(argv).size(), 15u) << (argv.empty() ? "" : argv[0]);
}
