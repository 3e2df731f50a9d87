#include <gtest/gtest.h>

#include "spec/config.h"
#include "util/error.h"

using glassrun::Error;
using glassrun::spec::parse_config;
using nlohmann::json;

namespace {

json minimal() {
  return json::parse(R"({
    "ociVersion": "1.0.2",
    "root": {"path": "rootfs"},
    "process": {"args": ["sh"], "cwd": "/"},
    "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}]}
  })");
}

// The message an invalid config gets, or "" if it parses.
std::string error_of(const json& j) {
  try {
    parse_config(j.dump(), "/b");
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

}  // namespace

TEST(Config, MinimalParsesAndResolvesRelativeRoot) {
  auto c = parse_config(minimal().dump(), "/bundles/x");
  EXPECT_EQ(c.root_path, "/bundles/x/rootfs");
  ASSERT_TRUE(c.process);
  EXPECT_EQ(c.process->args, std::vector<std::string>{"sh"});
  EXPECT_TRUE(c.has_namespace("pid"));
  EXPECT_FALSE(c.has_namespace("network"));
}

TEST(Config, MalformedJsonNamesTheFile) {
  try {
    parse_config("{\"ociVersion\": ", "/b");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("config.json: invalid JSON"), std::string::npos);
  }
}

TEST(Config, EmptyArgsNamesTheField) {
  auto j = minimal();
  j["process"]["args"] = json::array();
  EXPECT_EQ(error_of(j), "config.json: process.args: must not be empty");
}

TEST(Config, WrongTypeNamesTheField) {
  auto j = minimal();
  j["process"]["args"] = "sh";
  EXPECT_EQ(error_of(j), "config.json: process.args: must be a array, not string");
  j = minimal();
  j["process"]["user"] = {{"uid", -1}};
  EXPECT_NE(error_of(j).find("process.user.uid"), std::string::npos);
}

TEST(Config, UnknownNamespaceType) {
  auto j = minimal();
  j["linux"]["namespaces"].push_back({{"type", "bogus"}});
  EXPECT_EQ(error_of(j), "config.json: linux.namespaces[3].type: unknown namespace type \"bogus\"");
}

TEST(Config, DuplicateNamespace) {
  auto j = minimal();
  j["linux"]["namespaces"].push_back({{"type", "pid"}});
  EXPECT_NE(error_of(j).find("duplicate namespace"), std::string::npos);
}

TEST(Config, RelativeMountDestination) {
  auto j = minimal();
  j["mounts"] = {{{"destination", "proc"}, {"type", "proc"}, {"source", "proc"}}};
  EXPECT_EQ(error_of(j), "config.json: mounts[0].destination: must be an absolute path, not \"proc\"");
}

TEST(Config, MountDestinationEscapingRoot) {
  auto j = minimal();
  j["mounts"] = {{{"destination", "/../../etc"}, {"type", "tmpfs"}, {"source", "tmpfs"}}};
  EXPECT_EQ(error_of(j), "config.json: mounts[0].destination: escapes the container's root");
}

// As runc: a bind mount's unknown options ("size=", "mode=" from generators)
// are mount data, which the kernel ignores for a bind.
TEST(Config, UnknownBindOptionIsData) {
  auto j = minimal();
  j["mounts"] = {{{"destination", "/x"}, {"type", "bind"}, {"source", "/tmp"}, {"options", {"rbind", "size=1m,mode=755"}}}};
  EXPECT_EQ(error_of(j), "");
}

TEST(Config, HostnameNeedsUtsNamespace) {
  auto j = minimal();
  j["hostname"] = "h";
  EXPECT_EQ(error_of(j), "");
  j["linux"]["namespaces"] = {{{"type", "pid"}}};
  EXPECT_NE(error_of(j).find("hostname: needs a new uts namespace"), std::string::npos);
}

TEST(Config, UserNamespaceNeedsMappings) {
  auto j = minimal();
  j["linux"]["namespaces"].push_back({{"type", "user"}});
  EXPECT_NE(error_of(j).find("linux.uidMappings"), std::string::npos);
  j["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}};
  j["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}};
  EXPECT_EQ(error_of(j), "");
}

TEST(Config, UnknownCapabilitiesAreSkippedAndListed) {
  // As runc and crun: a newer kernel's capability or a typo is left out (create warns).
  auto j = minimal();
  j["process"]["capabilities"] = {{"bounding", {"CAP_KILL", "CAP_NOPE"}}, {"effective", {"CAP_NOPE", "CAP_FOO"}}};
  auto c = parse_config(j.dump(), "/b");
  EXPECT_EQ(*c.process->capabilities->bounding, std::vector<int>{5});  // CAP_KILL
  EXPECT_TRUE(c.process->capabilities->effective->empty());
  EXPECT_EQ(c.process->capabilities->unknown, (std::vector<std::string>{"CAP_NOPE", "CAP_FOO"}));
}

TEST(Config, UnknownRlimit) {
  auto j = minimal();
  j["process"]["rlimits"] = {{{"type", "RLIMIT_NOPE"}, {"soft", 1}, {"hard", 1}}};
  EXPECT_EQ(error_of(j), "config.json: process.rlimits[0].type: unknown rlimit \"RLIMIT_NOPE\"");
}

TEST(Config, CapabilitiesBecomeNumbers) {
  auto j = minimal();
  j["process"]["capabilities"] = {{"bounding", {"CAP_KILL", "CAP_SYS_ADMIN"}}};
  auto c = parse_config(j.dump(), "/b");
  ASSERT_TRUE(c.process->capabilities->bounding);
  EXPECT_EQ(*c.process->capabilities->bounding, (std::vector<int>{5, 21}));
  EXPECT_FALSE(c.process->capabilities->inheritable);
}

TEST(Config, MissingRootAndProcessCwd) {
  auto j = minimal();
  j.erase("root");
  EXPECT_EQ(error_of(j), "config.json: root: must be set");
  j = minimal();
  j["process"]["cwd"] = "relative";
  EXPECT_NE(error_of(j).find("process.cwd: must be an absolute path"), std::string::npos);
}

TEST(Config, NulByteInStringIsRejected) {
  auto j = minimal();
  j["process"]["args"] = {std::string("sh\0x", 4)};
  EXPECT_NE(error_of(j).find("process.args[0]: must not contain NUL bytes"), std::string::npos);
}

TEST(Config, DeepJsonIsAnErrorNotACrash) {
  std::string deep(100000, '[');
  EXPECT_THROW(parse_config(deep, "/b"), Error);
}

TEST(Config, SysctlMustBeNamespaced) {
  auto j = minimal();
  j["linux"]["sysctl"] = {{"vm.swappiness", "1"}};
  EXPECT_NE(error_of(j).find("linux.sysctl.vm.swappiness"), std::string::npos);
  j["linux"]["sysctl"] = {{"kernel.shmmax", "1"}};
  EXPECT_NE(error_of(j).find("kernel.shmmax"), std::string::npos);  // no ipc namespace
  j["linux"]["namespaces"].push_back({{"type", "ipc"}});
  EXPECT_EQ(error_of(j), "");
}

TEST(Config, SysctlUtsKeysAsRunc) {
  auto j = minimal();  // with a uts namespace
  j["linux"]["sysctl"] = {{"kernel.domainname", "example.org"}};
  EXPECT_EQ(error_of(j), "");
  j["linux"]["sysctl"] = {{"kernel.hostname", "h"}};  // the hostname field owns it
  EXPECT_NE(error_of(j).find("linux.sysctl.kernel.hostname: is not allowed as it conflicts with the OCI \"hostname\" field"),
            std::string::npos);
  j = minimal();  // no uts namespace: it would change the host's
  j["linux"]["namespaces"] = {{{"type", "pid"}}, {{"type", "mount"}}};
  j["linux"]["sysctl"] = {{"kernel.domainname", "example.org"}};
  EXPECT_NE(error_of(j).find("linux.sysctl.kernel.domainname"), std::string::npos);
}

TEST(Config, DefaultSpecParses) {
  auto c = parse_config(glassrun::spec::default_spec(false).dump(), "/b");
  EXPECT_EQ(c.hostname, "glassrun");
  EXPECT_EQ(c.mounts.size(), 7u);
  EXPECT_TRUE(c.root_readonly);
  auto r = parse_config(glassrun::spec::default_spec(true).dump(), "/b");
  EXPECT_TRUE(r.has_namespace("user"));
  EXPECT_FALSE(r.has_namespace("network"));
}
