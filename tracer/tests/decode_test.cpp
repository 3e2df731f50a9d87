#include <gtest/gtest.h>

#include "decode.h"

using namespace glasstrace;

TEST(Decode, MountFlags) {
  EXPECT_EQ(mount_flags_text(4096 | 16384 | (1 << 18)), "MS_BIND|MS_REC|MS_PRIVATE");
  EXPECT_EQ(mount_flags_text(2 | 4 | 8), "MS_NOSUID|MS_NODEV|MS_NOEXEC");
  EXPECT_EQ(mount_flags_text(0), "0");
  EXPECT_EQ(mount_flags_text(0xC0ED0000 | 1), "MS_MGC_VAL|MS_RDONLY");
}

TEST(Decode, CloneAndUnshareFlags) {
  EXPECT_EQ(unshare_flags_text(0x00020000 | 0x20000000), "CLONE_NEWNS|CLONE_NEWPID");
  EXPECT_EQ(clone_flags_text(0x20000000 | 17), "CLONE_NEWPID|SIGCHLD");
  EXPECT_EQ(clone_flags_text(0x8000 | 0x100 | 0x4000), "CLONE_VM|CLONE_VFORK|CLONE_PARENT");
  EXPECT_EQ(unshare_flags_text(0x80), "CLONE_NEWTIME");
  // clone3's 64-bit flags, as linux/sched.h numbers them
  EXPECT_EQ(unshare_flags_text(0x100000000ULL), "CLONE_CLEAR_SIGHAND");
  EXPECT_EQ(unshare_flags_text(0x200000000ULL | 0x00020000), "CLONE_NEWNS|CLONE_INTO_CGROUP");
  EXPECT_EQ(nstype_text(0x40000000), "CLONE_NEWNET");
}

TEST(Decode, UnknownBitsShownInHex) {
  EXPECT_EQ(umount_flags_text(2 | 0x100), "MNT_DETACH|0x100");
}

TEST(Decode, OpenFlagsKeepAccessMode) {
  EXPECT_EQ(open_flags_text(0), "O_RDONLY");
  EXPECT_EQ(open_flags_text(01 | 0100 | 01000 | 02000000), "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC");
  EXPECT_EQ(open_flags_text(010000000 | 02000000), "O_RDONLY|O_CLOEXEC|O_PATH");
}

TEST(Decode, Capabilities) {
  EXPECT_EQ(capability_name(21), "CAP_SYS_ADMIN");
  std::vector<std::string> want{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_BPF"};
  EXPECT_EQ(capability_names((1ull << 0) | (1ull << 5) | (1ull << 10) | (1ull << 39)), want);
  EXPECT_TRUE(capability_names(0).empty());
}

TEST(Decode, ErrnoAndSignalNames) {
  EXPECT_EQ(errno_name(1), "EPERM");
  EXPECT_EQ(errno_name(2), "ENOENT");
  EXPECT_EQ(errno_name(22), "EINVAL");
  EXPECT_EQ(errno_name(9999), "E9999");
  EXPECT_EQ(errno_value("EACCES"), 13);
  EXPECT_EQ(signal_text(9), "SIGKILL");
  EXPECT_EQ(signal_text(17), "SIGCHLD");
  EXPECT_EQ(signal_text(34), "SIGRT_2");
}

TEST(Decode, EnumTables) {
  EXPECT_EQ(prctl_option_text(24), "PR_CAPBSET_DROP");
  EXPECT_EQ(prctl_option_text(38), "PR_SET_NO_NEW_PRIVS");
  EXPECT_EQ(prctl_option_text(12345), "12345");
  EXPECT_EQ(seccomp_op_text(1), "SECCOMP_SET_MODE_FILTER");
  EXPECT_EQ(rlimit_text(7), "RLIMIT_NOFILE");
  EXPECT_EQ(keyctl_op_text(1), "KEYCTL_JOIN_SESSION_KEYRING");
}

TEST(Decode, SignaturesDriveCapture) {
  const SyscallSignature* m = signature_of("mount");
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(m->args.size(), 5u);
  EXPECT_EQ(m->args[3].kind, ArgKind::MountFlags);
  EXPECT_EQ(signature_of("no_such_syscall"), nullptr);
}

TEST(Decode, CEscape) { EXPECT_EQ(c_escape("a\"b\n\x01"), "a\\\"b\\n\\x01"); }

TEST(Decode, PrctlArg2ByOption) {
  EXPECT_EQ(prctl_arg2_text(24, 21), "CAP_SYS_ADMIN");
  EXPECT_EQ(prctl_arg2_text(47, 3), "PR_CAP_AMBIENT_LOWER");
  EXPECT_EQ(prctl_arg2_text(4, 0), "SUID_DUMP_DISABLE");
  EXPECT_FALSE(prctl_arg2_text(38, 1).has_value());
}
