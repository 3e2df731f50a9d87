#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "spec/config.h"
#include "state/runc_view.h"
#include "state/state.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fileio.h"

using namespace glassrun;

TEST(State, JsonRoundTrip) {
  state::State s;
  s.id = "c1";
  s.init_pid = 42;
  s.init_start = 12345;
  s.created = "2026-01-01T00:00:00.000000001Z";
  s.config = {{"rootfs", "/b/rootfs"}, {"labels", {"bundle=/b", "k=v"}}};
  s.cgroup_paths = {{"", "/sys/fs/cgroup/unified/c1"}, {"pids", "/sys/fs/cgroup/pids/c1"}};
  s.namespace_paths = {{"NEWPID", "/proc/42/ns/pid"}};
  s.external_descriptors = {"/dev/null", "/dev/null", "/dev/null"};
  auto back = state::parse_state_json(state::to_json(s).dump());
  EXPECT_EQ(back.id, "c1");
  EXPECT_EQ(back.init_pid, 42);
  EXPECT_EQ(back.init_start, 12345u);
  EXPECT_EQ(back.cgroup_paths, s.cgroup_paths);
  EXPECT_EQ(back.namespace_paths, s.namespace_paths);
  EXPECT_EQ(back.bundle(), "/b");
  EXPECT_EQ(back.rootfs(), "/b/rootfs");
  EXPECT_EQ(back.annotations(), (std::map<std::string, std::string>{{"k", "v"}}));
}

// state.json is written by state_text, which splices the config's text in
// rather than copying it into a new document: the bytes must be to_json's.
TEST(State, TextIsTheDocumentsDump) {
  state::State s;
  EXPECT_EQ(state::state_text(s), state::to_json(s).dump());
  s.id = "c\"1";
  s.init_pid = 42;
  s.init_start = 18446744073709551615u;
  s.created = "2026-01-01T00:00:00.000000001Z";
  s.rootless = true;
  s.config = {{"rootfs", "/b/rootfs\\"}, {"labels", {"bundle=/b", "k=v\u00e9"}}, {"mounts", {{{"a", 1}}, nullptr}}};
  s.cgroup_paths = {{"", "/sys/fs/cgroup/unified/c1"}, {"pids", "/sys/fs/cgroup/pids/c1"}};
  s.namespace_paths = {{"NEWPID", "/proc/42/ns/pid"}, {"NEWNET", "/proc/42/ns/net"}};
  s.external_descriptors = {"/dev/null", "pipe:[1]", "/dev/pts/0"};
  s.intel_rdt_path = "x";
  EXPECT_EQ(state::state_text(s), state::to_json(s).dump());
}

TEST(State, RuncTopLevelKeys) {
  auto j = state::to_json(state::State{});
  for (const char* k : {"id", "init_process_pid", "init_process_start", "created", "config", "rootless",
                        "cgroup_paths", "namespace_paths", "external_descriptors", "intel_rdt_path"})
    EXPECT_TRUE(j.contains(k)) << k;
}

TEST(State, MalformedIsAnError) {
  EXPECT_THROW(state::parse_state_json("{"), Error);
  EXPECT_THROW(state::parse_state_json("[]"), Error);
  EXPECT_THROW(state::parse_state_json(R"({"id": 3})"), Error);
}

TEST(State, IdRules) {
  EXPECT_NO_THROW(state::validate_id("abc-1_2.3+x"));
  EXPECT_THROW(state::validate_id(""), Error);
  EXPECT_THROW(state::validate_id("../x"), Error);
  EXPECT_THROW(state::validate_id("a/b"), Error);
  EXPECT_THROW(state::validate_id(".."), Error);
  EXPECT_THROW(state::validate_id(std::string(1025, 'a')), Error);
}

TEST(State, StatusFromLivenessAndFifo) {
  state::State s;
  s.init_pid = getpid();
  s.init_start = state::process_start_time(getpid());
  EXPECT_TRUE(state::init_alive(s));
  s.init_start += 1;  // a reused pid: not our init
  EXPECT_FALSE(state::init_alive(s));
}

// A child that ran to its end before its state was written (run's init that
// shared our memory): a zombie is gone for liveness, yet its start time is
// the one to record, or the reaped init would later match a recorded 0.
TEST(State, StartTimeOfAnExitedChild) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(0);
  siginfo_t si{};
  ASSERT_EQ(waitid(P_PID, static_cast<id_t>(child), &si, WEXITED | WNOWAIT), 0);  // a zombie now
  uint64_t recorded = glassrun::state::process_start_time(child, /*exited_too=*/true);
  EXPECT_GT(recorded, 0u);
  EXPECT_EQ(glassrun::state::process_start_time(child), 0u);
  glassrun::state::State s;
  s.init_pid = child;
  s.init_start = recorded;
  EXPECT_FALSE(glassrun::state::init_alive(s));
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  EXPECT_EQ(glassrun::state::process_start_time(child, true), 0u);
  EXPECT_FALSE(glassrun::state::init_alive(s));
}

TEST(State, RuncConfigViewCarriesDerivedFields) {
  auto c = spec::parse_config(spec::default_spec(false).dump(), "/b");
  auto v = state::runc_config_view(c, "c1", false, false);
  EXPECT_EQ(v["rootfs"], "/b/rootfs");
  EXPECT_EQ(v["hostname"], "glassrun");
  EXPECT_EQ(v["readonlyfs"], true);
  EXPECT_EQ(v["mounts"][0]["device"], "proc");
  EXPECT_EQ(v["mounts"][1]["flags"], 16777218);  // nosuid|strictatime, as runc records /dev
  EXPECT_EQ(v["namespaces"][0]["type"], "NEWPID");
  EXPECT_EQ(v["capabilities"]["Bounding"][0], "CAP_AUDIT_WRITE");
  EXPECT_TRUE(v["capabilities"]["Inheritable"].is_null());
  EXPECT_EQ(v["labels"][0], "bundle=/b");
}

// Of the config view only labels and rootfs are kept when state.json is
// read (nothing after create reads the rest); keys after it are read as
// before, and "labels" deeper in the view is not taken for the view's own.
TEST(State, ParseKeepsOnlyLabelsAndRootfsOfTheConfig) {
  auto c = spec::parse_config(spec::default_spec(false).dump(), "/b");
  state::State s;
  s.id = "c1";
  s.config = state::runc_config_view(c, "c1", false, false);
  s.config["labels"].push_back("k=v");
  s.config["mounts"][0]["labels"] = {"bundle=/elsewhere"};
  s.rootless = true;
  s.namespace_paths = {{"NEWNET", "/proc/1/ns/net"}};
  ASSERT_TRUE(s.config.contains("mounts"));
  auto back = state::parse_state_json(state::to_json(s).dump());
  EXPECT_EQ(back.config, (nlohmann::json{{"labels", {"bundle=/b", "k=v"}}, {"rootfs", "/b/rootfs"}}));
  EXPECT_EQ(back.bundle(), "/b");
  EXPECT_EQ(back.rootfs(), "/b/rootfs");
  EXPECT_EQ(back.annotations(), (std::map<std::string, std::string>{{"k", "v"}}));
  EXPECT_TRUE(back.rootless);
  EXPECT_EQ(back.namespace_paths, s.namespace_paths);
  EXPECT_THROW(state::parse_state_json(R"({"id":"c","init_process_pid":1,"init_process_start":1,"created":"x","config":[]})"),
               Error);
}

// glassrun.json from its three pieces: the bytes of the one JSON object
// nlohmann writes of them, and read back as they were.
TEST(State, ExtrasAreOneJsonObject) {
  char root[] = "/tmp/glassrun-extras-XXXXXX";
  ASSERT_NE(mkdtemp(root), nullptr);
  {
    auto dir = state::ContainerDir::create(root, "c1");
    state::Extras e{nlohmann::json{{"ociVersion", "1.0.2"}, {"process", {{"args", {"true"}}}}},
                    {"/sys/fs/cgroup/pids/c1"},
                    {{"pids", "/sys/fs/cgroup/pids/c1"}, {"", "/sys/fs/cgroup/unified/c1"}}};
    dir.write_extras(e);
    std::string text;
    UniqueFd d(open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(fileio::read_at(d.get(), "glassrun.json", text));
    EXPECT_EQ(text, (nlohmann::json{{"oci_config", e.oci_config}, {"created_cgroups", e.created_cgroups},
                                    {"cgroup_paths", e.cgroup_paths}})
                        .dump());
    auto back = dir.read_extras();
    EXPECT_EQ(back.oci_config, e.oci_config);
    EXPECT_EQ(back.created_cgroups, e.created_cgroups);
    EXPECT_EQ(back.cgroup_paths, e.cgroup_paths);
    dir.remove();
  }
  rmdir(root);
}

// write_atomic: a new name, then a replacement of it; no temporary file stays,
// and a reader sees the whole new content.
TEST(State, WriteAtomicCreatesThenReplaces) {
  char dir[] = "/tmp/glassrun-write-atomic-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  UniqueFd d(open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(d);
  fileio::write_atomic(d.get(), "state.json", "first", 0600);
  fileio::write_atomic(d.get(), "state.json", "second, longer", 0600);
  std::string out;
  ASSERT_TRUE(fileio::read_at(d.get(), "state.json", out));
  EXPECT_EQ(out, "second, longer");
  struct stat st;
  EXPECT_NE(fstatat(d.get(), ".state.json.tmp", &st, 0), 0);
  EXPECT_EQ(errno, ENOENT);
  ASSERT_EQ(fstatat(d.get(), "state.json", &st, 0), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  unlinkat(d.get(), "state.json", 0);
  rmdir(dir);
}
