// Pure parts of the cgroup manager: path computation from fake
// /proc/self/cgroup + mountinfo texts, and linux.resources → file writes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "linux/cgroups_paths.h"
#include "linux/cgroups_resources.h"
#include "linux/cgroups_devices.h"
#include "linux/cgroups_fs.h"
#include "linux/cgroups_impl.h"
#include "util/error.h"

namespace glassrun::cgroups {
namespace {

using nlohmann::json;

// This machine's layout: hybrid, cpu and cpuacct separate, our memory cgroup nested.
const char* kHybridMountinfo =
    "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "35 30 0:32 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "37 30 0:34 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
const char* kHybridSelf =
    "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n"
    "4:memory:/process_api/48a11\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n";

const char* kV2Mountinfo =
    "24 1 0:22 / /sys rw - sysfs sysfs rw\n"
    "30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";

TEST(CgroupPaths, HybridAbsentPathUsesIdUnderOwnCgroupOfEachController) {
  auto p = compute_paths("", "t1", kHybridSelf, kHybridMountinfo);
  std::map<std::string, std::string> want = {
      {"", "/sys/fs/cgroup/unified/t1"},
      {"blkio", "/sys/fs/cgroup/blkio/t1"},
      {"cpu", "/sys/fs/cgroup/cpu/t1"},
      {"cpuacct", "/sys/fs/cgroup/cpuacct/t1"},
      {"cpuset", "/sys/fs/cgroup/cpuset/t1"},
      {"devices", "/sys/fs/cgroup/devices/t1"},
      {"freezer", "/sys/fs/cgroup/freezer/t1"},
      {"memory", "/sys/fs/cgroup/memory/process_api/48a11/t1"},
      {"name=systemd", "/sys/fs/cgroup/systemd/t1"},
      {"pids", "/sys/fs/cgroup/pids/t1"}};
  EXPECT_EQ(p, want);  // exactly what runc 1.1.5 wrote on this machine
}

TEST(CgroupPaths, HybridRelativePathIsBelowOwnCgroup) {
  auto p = compute_paths("foo/bar", "t2", kHybridSelf, kHybridMountinfo);
  EXPECT_EQ(p.at("memory"), "/sys/fs/cgroup/memory/process_api/48a11/foo/bar");
  EXPECT_EQ(p.at("cpu"), "/sys/fs/cgroup/cpu/foo/bar");
  EXPECT_EQ(p.at(""), "/sys/fs/cgroup/unified/foo/bar");
  EXPECT_EQ(p.at("name=systemd"), "/sys/fs/cgroup/systemd/foo/bar");
}

TEST(CgroupPaths, HybridAbsolutePathIgnoresOwnCgroup) {
  auto p = compute_paths("/foo/bar", "t3", kHybridSelf, kHybridMountinfo);
  EXPECT_EQ(p.at("memory"), "/sys/fs/cgroup/memory/foo/bar");
  EXPECT_EQ(p.at("devices"), "/sys/fs/cgroup/devices/foo/bar");
  EXPECT_EQ(p.at(""), "/sys/fs/cgroup/unified/foo/bar");
  EXPECT_EQ(p.size(), 10u);
}

TEST(CgroupPaths, DeepAbsoluteAndDotDotAreCleanedLikeRunc) {
  EXPECT_EQ(compute_paths("/a/b/c/d", "x", kHybridSelf, kHybridMountinfo).at("pids"), "/sys/fs/cgroup/pids/a/b/c/d");
  // CleanPath never climbs out of the hierarchy.
  EXPECT_EQ(compute_paths("../../etc/x", "x", kHybridSelf, kHybridMountinfo).at("pids"), "/sys/fs/cgroup/pids/etc/x");
  EXPECT_EQ(compute_paths("/../../x/./y/", "x", kHybridSelf, kHybridMountinfo).at("pids"), "/sys/fs/cgroup/pids/x/y");
}

TEST(CgroupPaths, NestedContainerMountRootIsCutFromOwnCgroup) {
  // Inside a container: /proc/self/cgroup shows the host path, the mount
  // shows that cgroup as its root.
  const char* mi =
      "100 90 0:31 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n"
      "101 90 0:32 /docker/abc /sys/fs/cgroup/devices ro - cgroup cgroup rw,devices\n"
      "102 90 0:28 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpu,cpuacct\n";
  const char* self = "3:cpu,cpuacct:/docker/abc\n2:devices:/docker/abc\n1:memory:/docker/abc/sub\n";
  auto p = compute_paths("", "inner", self, mi);
  EXPECT_EQ(p.at("devices"), "/sys/fs/cgroup/devices/inner");
  EXPECT_EQ(p.at("memory"), "/sys/fs/cgroup/memory/sub/inner");
  // Co-mounted controllers share one directory, under both keys.
  EXPECT_EQ(p.at("cpu"), "/sys/fs/cgroup/cpu,cpuacct/inner");
  EXPECT_EQ(p.at("cpuacct"), "/sys/fs/cgroup/cpu,cpuacct/inner");
  EXPECT_FALSE(p.count(""));  // pure v1: no unified key
  EXPECT_EQ(layout_from_mountinfo(mi), Layout::V1);
}

TEST(CgroupPaths, V1WithoutDevicesControllerIsRefused) {
  const char* mi = "31 30 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n";
  EXPECT_THROW(compute_paths("", "x", "1:cpu:/\n", mi), Error);
}

TEST(CgroupPaths, V2UsesParentOfOwnCgroupForRelativePaths) {
  EXPECT_EQ(layout_from_mountinfo(kV2Mountinfo), Layout::V2);
  EXPECT_EQ(compute_paths("", "t1", "0::/\n", kV2Mountinfo),
            (std::map<std::string, std::string>{{"", "/sys/fs/cgroup/t1"}}));
  EXPECT_EQ(compute_paths("", "t1", "0::/user.slice/session-1.scope\n", kV2Mountinfo).at(""),
            "/sys/fs/cgroup/user.slice/t1");
  EXPECT_EQ(compute_paths("foo/bar", "t1", "0::/a/b\n", kV2Mountinfo).at(""), "/sys/fs/cgroup/a/foo/bar");
  EXPECT_EQ(compute_paths("/foo/bar", "t1", "0::/a/b\n", kV2Mountinfo).at(""), "/sys/fs/cgroup/foo/bar");
}

TEST(CgroupPaths, LayoutDetection) {
  EXPECT_EQ(layout_from_mountinfo(kHybridMountinfo), Layout::Hybrid);
  EXPECT_EQ(layout_from_mountinfo(kV2Mountinfo), Layout::V2);
}

TEST(CgroupPaths, ParsesEscapedMountpointsAndColonsInPaths) {
  auto m = parse_cgroup_mounts("1 0 0:1 / /sys/fs/cgroup/my\\040dir rw - cgroup cgroup rw,pids\n");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].mountpoint, "/sys/fs/cgroup/my dir");
  auto self = parse_proc_cgroup("2:cpu,cpuacct:/a:b\n0::/x\n");
  EXPECT_EQ(self.at("cpu"), "/a:b");
  EXPECT_EQ(self.at("cpuacct"), "/a:b");
  EXPECT_EQ(self.at(""), "/x");
}

// Every mount, with the separators and escapes the kernel writes: optional
// fields before "-", several blanks, \ooo escapes (space, backslash, tab),
// a last line without its newline; lines too short or without "-" skipped.
TEST(CgroupPaths, ParsesEveryFieldOfMountinfo) {
  auto m = parse_mountinfo(
      "22 1 0:21 / /proc rw,relatime shared:12 master:3 - proc proc rw\n"
      "bad line\n"
      "23 1 0:22 /a\\134b /mnt/x\\011y  rw   - tmpfs my\\040src rw,size=4k,\n"
      "\n"
      "24 1 0:23 / /last rw - cgroup2 cgroup2 rw");
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].mountpoint, "/proc");
  EXPECT_EQ(m[0].fstype, "proc");
  EXPECT_EQ(m[0].options, (std::vector<std::string>{"rw"}));
  EXPECT_EQ(m[1].root, "/a\\b");
  EXPECT_EQ(m[1].mountpoint, "/mnt/x\ty");
  EXPECT_EQ(m[1].source, "my src");
  EXPECT_EQ(m[1].options, (std::vector<std::string>{"rw", "size=4k"}));  // no item after a trailing ','
  EXPECT_EQ(m[2].mountpoint, "/last");
  auto cg = parse_cgroup_mounts(
      "22 1 0:21 / /proc rw - proc proc rw\n24 1 0:23 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n");
  ASSERT_EQ(cg.size(), 1u);
  EXPECT_EQ(cg[0].options, (std::vector<std::string>{"rw", "nsdelegate"}));
}

// create parses mountinfo once and hands the mounts on: the same answers as
// from the text.
TEST(CgroupPaths, FromParsedMountsAsFromText) {
  auto hybrid = parse_cgroup_mounts(kHybridMountinfo);
  EXPECT_EQ(layout_of(hybrid), Layout::Hybrid);
  EXPECT_EQ(layout_of(parse_cgroup_mounts(kV2Mountinfo)), Layout::V2);
  EXPECT_EQ(layout_of({}), Layout::V1);
  for (const char* path : {"", "foo/bar", "/foo/bar"})
    EXPECT_EQ(compute_paths(path, "t1", kHybridSelf, hybrid), compute_paths(path, "t1", kHybridSelf, kHybridMountinfo));
  EXPECT_EQ(compute_paths("", "t1", "0::/a/b\n", parse_cgroup_mounts(kV2Mountinfo)).at(""), "/sys/fs/cgroup/a/t1");
}

// cgroup.procs: one pid per line, the children's after the cgroup's own;
// an absent file is an empty cgroup.
TEST(CgroupFs, ReadsProcsAtEveryDepth) {
  namespace stdfs = std::filesystem;
  char dir[] = "/tmp/glassrun-procs-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  stdfs::create_directories(stdfs::path(dir) / "child");
  std::ofstream(stdfs::path(dir) / "cgroup.procs") << "12\n345\n";
  std::ofstream(stdfs::path(dir) / "child" / "cgroup.procs") << "7\n";
  EXPECT_EQ(fs::read_procs(dir, false), (std::vector<pid_t>{12, 345}));
  EXPECT_EQ(fs::read_procs(dir, true), (std::vector<pid_t>{12, 345, 7}));
  std::ofstream(stdfs::path(dir) / "cgroup.procs") << "";
  EXPECT_TRUE(fs::read_procs(dir, false).empty());
  EXPECT_TRUE(fs::read_procs(std::string(dir) + "/absent", true).empty());
  stdfs::remove_all(dir);
}

// ---- resources ----

std::vector<std::string> render(const std::vector<FileWrite>& ws) {
  std::vector<std::string> out;
  for (const auto& w : ws) out.push_back((w.controller.empty() ? "" : w.controller + "/") + w.file + "=" + w.value);
  return out;
}

TEST(CgroupResources, V1MemoryCpuPids) {
  json r = json::parse(R"({
    "memory": {"limit": 104857600, "reservation": 52428800, "swappiness": 10, "disableOOMKiller": true},
    "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0",
            "realtimeRuntime": 950, "realtimePeriod": 1000, "burst": 1000, "idle": 0},
    "pids": {"limit": 64}})");
  std::vector<std::string> want = {
      "cpuset/cpuset.cpus=0",
      "cpuset/cpuset.mems=0",
      "memory/memory.limit_in_bytes=104857600",
      "memory/memory.soft_limit_in_bytes=52428800",
      "memory/memory.oom_control=1",
      "memory/memory.swappiness=10",
      "cpu/cpu.shares=512",
      "cpu/cpu.cfs_period_us=100000",
      "cpu/cpu.cfs_quota_us=50000",
      "cpu/cpu.cfs_burst_us=1000",
      "cpu/cpu.idle=0",
      "cpu/cpu.rt_period_us=1000",
      "cpu/cpu.rt_runtime_us=950",
      "pids/pids.max=64"};
  EXPECT_EQ(render(plan_v1(r, {})), want);
}

// The live cgroup is asked only for what the config's limits need.
TEST(CgroupResources, FactsAreWantedOnlyForMemoryAndBlockIO) {
  auto wanted = [](const char* text) {
    FactsWanted w = facts_wanted(json::parse(text));
    return std::pair{w.memory, w.io};
  };
  EXPECT_EQ(wanted(R"({"devices":[{"allow":false,"access":"rwm"}]})"), std::pair(false, false));
  EXPECT_EQ(wanted(R"({"cpu":{"shares":512},"pids":{"limit":10},"memory":null})"), std::pair(false, false));
  EXPECT_EQ(wanted(R"({"memory":{"limit":1048576}})"), std::pair(true, false));
  EXPECT_EQ(wanted(R"({"blockIO":{"weight":500}})"), std::pair(false, true));
  EXPECT_EQ(wanted("null"), std::pair(false, false));
}

TEST(CgroupResources, V1MemorySwapOrderFollowsCurrentLimit) {
  json r = {{"memory", {{"limit", 100}, {"swap", 200}}}};
  CgroupFacts fresh;  // unlimited now: lowering, memory first
  EXPECT_EQ(render(plan_v1(r, fresh)),
            (std::vector<std::string>{"memory/memory.limit_in_bytes=100", "memory/memory.memsw.limit_in_bytes=200"}));
  CgroupFacts low;
  low.memory_limit = 50;  // raising above the current limit: memsw first
  EXPECT_EQ(render(plan_v1(r, low)),
            (std::vector<std::string>{"memory/memory.memsw.limit_in_bytes=200", "memory/memory.limit_in_bytes=100"}));
  // -1 memory without swap: both unlimited, memsw first.
  EXPECT_EQ(render(plan_v1({{"memory", {{"limit", -1}}}}, fresh)),
            (std::vector<std::string>{"memory/memory.memsw.limit_in_bytes=-1", "memory/memory.limit_in_bytes=-1"}));
}

TEST(CgroupResources, V1PidsZeroUnsetNegativeMax) {
  EXPECT_TRUE(plan_v1({{"pids", {{"limit", 0}}}}, {}).empty());
  EXPECT_EQ(render(plan_v1({{"pids", {{"limit", -1}}}}, {})), std::vector<std::string>{"pids/pids.max=max"});
}

TEST(CgroupResources, V1BlockIOHugetlbNetwork) {
  json r = json::parse(R"({
    "blockIO": {"weight": 500, "leafWeight": 300,
                "weightDevice": [{"major": 8, "minor": 0, "weight": 600, "leafWeight": 200}],
                "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 300}]},
    "hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}],
    "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 5}]}})");
  std::vector<std::string> want = {
      "blkio/blkio.weight=500",
      "blkio/blkio.leaf_weight=300",
      "blkio/blkio.weight_device=8:0 600",
      "blkio/blkio.leaf_weight_device=8:0 200",
      "blkio/blkio.throttle.read_bps_device=8:0 1048576",
      "blkio/blkio.throttle.write_iops_device=8:16 300",
      "hugetlb/hugetlb.2MB.limit_in_bytes=2097152",
      "net_cls/net_cls.classid=1048577",
      "net_prio/net_prio.ifpriomap=eth0 5"};
  EXPECT_EQ(render(plan_v1(r, {})), want);
  CgroupFacts bfq;
  bfq.bfq = true;
  EXPECT_EQ(render(plan_v1(r, bfq))[0], "blkio/blkio.bfq.weight=500");
  EXPECT_EQ(render(plan_v1(r, bfq))[2], "blkio/blkio.bfq.weight_device=8:0 600");
}

TEST(CgroupResources, ErrorsNameTheField) {
  try {
    plan_v1({{"unified", {{"memory.max", "1"}}}}, {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "linux.resources.unified: requires cgroup v2");
  }
  try {
    plan_v1({{"memory", {{"swappiness", 200}}}}, {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("linux.resources.memory.swappiness: ", 0), 0u) << e.what();
  }
  try {
    plan_v2({{"memory", {{"limit", 200}, {"swap", 100}}}}, {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "linux.resources.memory.swap: memory+swap limit should be >= memory limit");
  }
  try {
    plan_v1({{"memory", {{"limit", "lots"}}}}, {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("linux.resources.memory.limit: ", 0), 0u) << e.what();
  }
  try {
    plan_v2({{"cpu", {{"realtimeRuntime", 5}}}}, {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("linux.resources.cpu.realtimeRuntime: ", 0), 0u) << e.what();
  }
}

TEST(CgroupResources, CheckBeforeUpdateRejectsLimitBelowUsage) {
  CgroupFacts f;
  f.memory_usage = 1000;
  json r = {{"memory", {{"limit", 500}, {"checkBeforeUpdate", true}}}};
  EXPECT_THROW(plan_v2(r, f), Error);
  EXPECT_THROW(plan_v1(r, f), Error);
  r["memory"]["limit"] = 2000;
  EXPECT_EQ(render(plan_v2(r, f)), std::vector<std::string>{"memory.max=2000"});
}

TEST(CgroupResources, V2Conversions) {
  EXPECT_EQ(cpu_shares_to_weight(0), 0u);
  EXPECT_EQ(cpu_shares_to_weight(2), 1u);
  EXPECT_EQ(cpu_shares_to_weight(1024), 39u);  // runc 1.1: 1 + (1022*9999)/262142
  EXPECT_EQ(cpu_shares_to_weight(262144), 10000u);
  EXPECT_EQ(blkio_weight_to_io_weight(10), 1u);
  EXPECT_EQ(blkio_weight_to_io_weight(500), 4950u);
  EXPECT_EQ(blkio_weight_to_io_weight(1000), 10000u);
  EXPECT_EQ(v2_swap_max(0, 100), std::nullopt);
  EXPECT_EQ(v2_swap_max(-1, 100), "max");
  EXPECT_EQ(v2_swap_max(0, -1), "max");
  EXPECT_EQ(v2_swap_max(300, 100), "200");  // spec swap is memory+swap
  EXPECT_EQ(v2_swap_max(100, 100), "0");    // equal: no swap at all
  EXPECT_THROW(v2_swap_max(300, 0), Error);
}

TEST(CgroupResources, V2Mapping) {
  json r = json::parse(R"({
    "memory": {"limit": 104857600, "swap": 209715200, "reservation": 1048576, "swappiness": 10},
    "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "burst": 10, "cpus": "0-1", "mems": "0", "idle": 1},
    "pids": {"limit": -1},
    "blockIO": {"weight": 500, "weightDevice": [{"major": 8, "minor": 0, "weight": 600}],
                "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 30}]},
    "hugepageLimits": [{"pageSize": "1GB", "limit": 0}],
    "network": {"classID": 5},
    "unified": {"memory.high": "90000000", "cpu.weight": "7"}})");
  std::vector<std::string> want = {
      "pids.max=max",
      "memory.swap.max=104857600",
      "memory.max=104857600",
      "memory.low=1048576",
      "io.weight=4950",  // no BFQ: converted, and per-device weights dropped
      "io.max=8:0 rbps=1048576",
      "io.max=8:0 wiops=30",
      "cpu.weight=39",
      "cpu.idle=1",
      "cpu.max=50000 100000",
      "cpu.max.burst=10",
      "cpuset.cpus=0-1",
      "cpuset.mems=0",
      "hugetlb.1GB.max=0",
      "cpu.weight=7",  // unified last, overriding
      "memory.high=90000000"};
  EXPECT_EQ(render(plan_v2(r, {})), want);
  CgroupFacts bfq;
  bfq.bfq = true;
  auto with_bfq = render(plan_v2(r, bfq));
  EXPECT_EQ(with_bfq[4], "io.bfq.weight=500");
  EXPECT_EQ(with_bfq[5], "io.bfq.weight=8:0 600");
}

TEST(CgroupResources, V2CpuMaxForms) {
  EXPECT_EQ(render(plan_v2({{"cpu", {{"quota", -1}}}}, {})), std::vector<std::string>{"cpu.max=max"});
  EXPECT_EQ(render(plan_v2({{"cpu", {{"period", 20000}}}}, {})), std::vector<std::string>{"cpu.max=max 20000"});
  auto swap = plan_v2({{"memory", {{"limit", -1}}}}, {});
  ASSERT_EQ(swap.size(), 2u);
  EXPECT_EQ(swap[0].file, "memory.swap.max");
  EXPECT_TRUE(swap[0].skip_if_missing);  // no swap accounting: runc ignores
}

TEST(CgroupResources, V2UnifiedKeyMustBeAFileName) {
  EXPECT_THROW(plan_v2({{"unified", {{"../memory.max", "1"}}}}, {}), Error);
}

TEST(CgroupResources, NullOrEmptyResourcesWriteNothing) {
  EXPECT_TRUE(plan_v1(json(), {}).empty());
  EXPECT_TRUE(plan_v2(json::object(), {}).empty());
}

// ---- devices (v1 files; the v2 program has its own test file) ----

TEST(CgroupDevices, SpecRulesThenRuncDefaults) {
  json r = json::parse(R"({"devices": [{"allow": false, "access": "rwm"},
                                       {"allow": true, "type": "c", "major": 4, "minor": 64, "access": "rw"}]})");
  auto rules = device_rules_from_spec(r);
  ASSERT_EQ(rules.size(), 2 + 11u);
  EXPECT_EQ(rules[0], (DeviceRule{'a', -1, -1, "rwm", false}));
  EXPECT_EQ(rules[1], (DeviceRule{'c', 4, 64, "rw", true}));
  EXPECT_EQ(rules[2], (DeviceRule{'c', -1, -1, "m", true}));
  EXPECT_EQ(rules.back(), (DeviceRule{'c', 10, 200, "rwm", true}));
  auto w = render(plan_v1_devices(rules));
  // The spec's leading deny-all is what the first write already made.
  ASSERT_EQ(w.size(), 1 + 12u);
  EXPECT_EQ(w[0], "devices/devices.deny=a");
  EXPECT_EQ(w[1], "devices/devices.allow=c 4:64 rw");
  EXPECT_EQ(w[2], "devices/devices.allow=c *:* m");
  EXPECT_EQ(w[3], "devices/devices.allow=b *:* m");
  EXPECT_EQ(w[10], "devices/devices.allow=c 136:* rwm");
}

// Deny rules before any allow take nothing away from deny-all; after one
// they do, and are kept in order.
TEST(CgroupDevices, LeadingDeniesAreNotWritten) {
  std::vector<DeviceRule> rules{{'a', -1, -1, "rwm", false}, {'c', 1, 3, "rwm", false},
                                {'c', 1, 3, "rwm", true}, {'c', 1, 3, "w", false}};
  auto w = render(plan_v1_devices(rules));
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0], "devices/devices.deny=a");
  EXPECT_EQ(w[1], "devices/devices.allow=c 1:3 rwm");
  EXPECT_EQ(w[2], "devices/devices.deny=c 1:3 w");
}

TEST(CgroupDevices, BadRulesNameTheEntry) {
  try {
    device_rules_from_spec(json::parse(R"({"devices": [{"allow": true}]})"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "linux.resources.devices[0]: access cannot be empty");
  }
  EXPECT_THROW(device_rules_from_spec(json::parse(R"({"devices": [{"type": "x", "access": "r"}]})")), Error);
  try {
    device_rules_from_spec(json::parse(R"({"devices": [{"type": "c", "access": "ax"}]})"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "linux.resources.devices[0]: invalid access \"ax\": none of r, w, m");
  }
}

// exec --cgroup, as runc: one path for all, or per controller; never above.
TEST(CgroupSubPaths, JoinBelowTheContainersCgroups) {
  std::map<std::string, std::string> p{{"", "/u/c1"}, {"pids", "/p/c1"}, {"memory", "/m/c1"}};
  EXPECT_EQ(sub_cgroup_paths(p, {"a/b"}), (std::map<std::string, std::string>{
                                               {"", "/u/c1/a/b"}, {"pids", "/p/c1/a/b"}, {"memory", "/m/c1/a/b"}}));
  EXPECT_EQ(sub_cgroup_paths(p, {"pids,memory:s"}),
            (std::map<std::string, std::string>{{"", "/u/c1"}, {"pids", "/p/c1/s"}, {"memory", "/m/c1/s"}}));
  EXPECT_EQ(sub_cgroup_paths(p, {"/"}), p);
  auto error = [&](std::vector<std::string> args) {
    try {
      sub_cgroup_paths(p, args);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error({"../x"}), "../x is not a sub cgroup path");
  EXPECT_EQ(error({"../c1x"}), "../c1x is not a sub cgroup path");  // runc's string prefix would take it
  EXPECT_EQ(error({"nosuch:x"}), "unknown controller nosuch");
  EXPECT_EQ(error({"a:b:c"}), "invalid --cgroup argument: a:b:c");
  EXPECT_EQ(error({"x", "pids:y"}), "invalid --cgroup argument: x (missing <controller>: prefix)");
}

// runc's access strings: any order and repeats of r, w, m; other letters ignored.
TEST(CgroupDevices, AccessIsTheSetOfRWM) {
  auto access = [](const char* a) {
    json r{{"devices", {{{"allow", true}, {"type", "c"}, {"major", 42}, {"minor", 7}, {"access", a}}}}};
    return device_rules_from_spec(r).front().access;
  };
  EXPECT_EQ(access("mrw"), "rwm");
  EXPECT_EQ(access("rrwwm"), "rwm");
  EXPECT_EQ(access("rwa"), "rw");
  EXPECT_EQ(access("mr"), "rm");
  EXPECT_EQ(access("rx"), "r");
}

// cgroup v2 without the pids controller: no pids.current; runc counts the
// lines of cgroup.procs and reports no limit. With the controller, the files.
TEST(CgroupStats, V2PidsWithoutTheControllerCountCgroupProcs) {
  namespace stdfs = std::filesystem;
  stdfs::path dir = stdfs::path(::testing::TempDir()) / ("glassrun-v2pids-" + std::to_string(getpid()));
  stdfs::create_directories(dir);
  std::ofstream(dir / "cgroup.procs") << "12\n34\n56\n";
  auto pids = v2_stats(dir.string())["pids"];
  EXPECT_EQ(pids.dump(), R"({"current":3})");
  std::ofstream(dir / "pids.current") << "2\n";
  std::ofstream(dir / "pids.max") << "max\n";
  EXPECT_EQ(v2_stats(dir.string())["pids"].dump(), R"({"current":2})");
  std::ofstream(dir / "pids.max") << "9\n";
  EXPECT_EQ(v2_stats(dir.string())["pids"].dump(), R"({"current":2,"limit":9})");
  stdfs::remove_all(dir);
}

}  // namespace
}  // namespace glassrun::cgroups
