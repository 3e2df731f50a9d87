// linux/lsm: which mounts carry linux.mountLabel and how context= is added
// (runc 1.1's label.FormatMountLabel and mountToRootfs).
#include <gtest/gtest.h>

#include "linux/lsm.h"
#include "util/error.h"

using namespace glassrun;

namespace {
spec::Mount mount(std::string type, std::vector<std::string> options = {}) {
  spec::Mount m;
  m.destination = "/x";
  m.type = std::move(type);
  m.source = m.type;
  m.options = std::move(options);
  return m;
}
}  // namespace

TEST(Lsm, MountLabelAddedAsQuotedContext) {
  EXPECT_EQ(lsm::with_mount_label("", "system_u:object_r:container_file_t:s0:c1,c2"),
            "context=\"system_u:object_r:container_file_t:s0:c1,c2\"");
  EXPECT_EQ(lsm::with_mount_label("mode=755,size=65536k", "l"), "mode=755,size=65536k,context=\"l\"");
  EXPECT_EQ(lsm::with_mount_label("mode=755", ""), "mode=755");
}

TEST(Lsm, WhichMountsTakeTheLabel) {
  EXPECT_TRUE(lsm::takes_mount_label(mount("tmpfs", {"nosuid"})));
  EXPECT_TRUE(lsm::takes_mount_label(mount("devpts", {"newinstance"})));
  EXPECT_FALSE(lsm::takes_mount_label(mount("proc")));
  EXPECT_FALSE(lsm::takes_mount_label(mount("sysfs")));
  EXPECT_FALSE(lsm::takes_mount_label(mount("mqueue")));
  EXPECT_FALSE(lsm::takes_mount_label(mount("bind", {"rbind", "ro"})));
  EXPECT_FALSE(lsm::takes_mount_label(mount("none", {"bind"})));
}

TEST(Lsm, FieldsNamedInTheRefusal) {
  spec::Process p;
  p.apparmor_profile = "prof";
  if (lsm::apparmor_enabled()) GTEST_SKIP() << "AppArmor is enabled on this host: nothing to refuse";
  try {
    lsm::check_process(p, {"--apparmor", "--process-label"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--apparmor prof: AppArmor is not enabled on this host");
  }
}
