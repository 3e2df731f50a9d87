// The data tables: mount options, signals, paths, capabilities.
#include <signal.h>
#include <sys/mount.h>

#include <gtest/gtest.h>

#include <fstream>

#include "linux/capabilities.h"
#include "linux/mount_options.h"
#include "util/paths.h"
#include "util/signals.h"

using namespace glassrun;

TEST(MountOptions, FlagsDataAndPropagation) {
  auto o = mounts::parse_options({"nosuid", "noexec", "nodev", "mode=1777", "size=65536k", "rprivate"});
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV));
  EXPECT_EQ(o.data, "mode=1777,size=65536k");
  ASSERT_EQ(o.propagation.size(), 1u);
  EXPECT_EQ(o.propagation[0], static_cast<unsigned long>(MS_PRIVATE | MS_REC));
}

TEST(MountOptions, LaterOptionWins) {
  auto o = mounts::parse_options({"ro", "rw"});
  EXPECT_EQ(o.flags & MS_RDONLY, 0u);
  o = mounts::parse_options({"rbind", "ro"});
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_BIND | MS_REC | MS_RDONLY));
}

TEST(MountOptions, RecursiveAttributesAndTmpcopyup) {
  auto o = mounts::parse_options({"rro", "rnosuid", "tmpcopyup"});
  EXPECT_NE(o.attr_set, 0u);
  EXPECT_TRUE(o.tmpcopyup);
  EXPECT_EQ(o.data, "");
}

TEST(MountOptions, FlagsText) {
  EXPECT_EQ(mounts::flags_text(MS_BIND | MS_REC), "MS_BIND|MS_REC");
  EXPECT_EQ(mounts::flags_text(0), "0");
}

TEST(Signals, NamesAndNumbers) {
  EXPECT_EQ(signals::parse("TERM"), SIGTERM);
  EXPECT_EQ(signals::parse("SIGKILL"), SIGKILL);
  EXPECT_EQ(signals::parse("kill"), SIGKILL);
  EXPECT_EQ(signals::parse("9"), 9);
  EXPECT_EQ(signals::parse("RTMIN+1"), SIGRTMIN + 1);
  EXPECT_FALSE(signals::parse("NOPE"));
  EXPECT_FALSE(signals::parse("0"));
  EXPECT_FALSE(signals::parse("99999"));
  EXPECT_EQ(signals::name(SIGTERM), "SIGTERM");
}

TEST(Paths, CleanAndEscape) {
  EXPECT_EQ(paths::clean("/a//b/./c/../d"), "/a/b/d");
  EXPECT_EQ(paths::clean("/../x"), "/x");
  EXPECT_TRUE(paths::escapes_root("../x"));
  EXPECT_TRUE(paths::escapes_root("/a/../../b"));
  EXPECT_FALSE(paths::escapes_root("/a/../b"));
  EXPECT_EQ(paths::join_in_root("/r", "/../../etc/passwd"), "/r/etc/passwd");
}

TEST(Capabilities, NamesRoundTrip) {
  EXPECT_EQ(caps::from_name("CAP_SYS_ADMIN"), 21);
  EXPECT_EQ(caps::to_name(21), "CAP_SYS_ADMIN");
  EXPECT_FALSE(caps::from_name("SYS_ADMIN"));
  EXPECT_GE(caps::last_cap(), 40);
}

// libcap's probe of the kernel gives what the kernel says in /proc.
TEST(Capabilities, LastCapIsTheKernels) {
  std::ifstream in("/proc/sys/kernel/cap_last_cap");
  int kernel = -1;
  ASSERT_TRUE(in >> kernel);
  EXPECT_EQ(caps::last_cap(), kernel);
}
