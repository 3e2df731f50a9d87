// Filters compiled in the parent and loaded in a forked child, as the runtime
// does; the child reports what the kernel did through its exit status.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <seccomp.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "linux/seccomp.h"
#include "util/error.h"
#include "util/fd.h"

namespace glassrun::seccomp {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr int kChildBroke = 125;  // the child could not even set up
constexpr int kTestErrno = 38;    // ENOSYS: nothing below fails with it on its own

// Next to this file (CMake passes absolute paths), else under
// $GLASSRUN_SOURCE_DIR for builds that compile from elsewhere.
json load_data(const std::string& name) {
  std::filesystem::path dir = std::filesystem::path(__FILE__).parent_path() / "data";
  if (const char* src = getenv("GLASSRUN_SOURCE_DIR"); src && !std::filesystem::exists(dir))
    dir = std::filesystem::path(src) / "runtime/tests/data";
  std::ifstream in(dir / name);
  if (!in) throw std::runtime_error("missing test data " + name);
  return json::parse(in);
}

// Runs body in a forked child with no_new_privs set (what makes loading a
// filter legal unprivileged) and no core dumps; returns the wait status.
int wait_status_of_child(const std::function<int()>& body) {
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    int code = kChildBroke;
    try {
      if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0) code = body();
    } catch (const std::exception& e) {
      fprintf(stderr, "child: %s\n", e.what());
    }
    _exit(code);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

// The errno `call` fails with under `filter` (0 when it succeeds).
int errno_under(Filter& filter, const std::function<long()>& call) {
  int status = wait_status_of_child([&] {
    filter.load();
    return call() < 0 ? errno : 0;
  });
  if (!WIFEXITED(status)) return -WTERMSIG(status);
  return WEXITSTATUS(status);
}

int errno_under(const json& profile, const std::function<long()>& call) {
  auto filter = compile(profile);
  return errno_under(*filter, call);
}

json allow_all_but(json syscall) { return {{"defaultAction", "SCMP_ACT_ALLOW"}, {"syscalls", json::array({syscall})}}; }

std::string fresh_path(const std::string& name) {
  fs::path p = fs::path(::testing::TempDir()) / fmt::format("glassrun-seccomp-{}-{}", getpid(), name);
  fs::remove_all(p);
  return p;
}

long do_mkdir(const std::string& path) { return syscall(SYS_mkdir, path.c_str(), 0700); }
long do_unshare() { return syscall(SYS_unshare, 0); }  // flags 0: harmless if let through
long do_getpid() { return syscall(SYS_getpid); }
long do_umask(unsigned long mask) { return syscall(SYS_umask, mask); }

TEST(SeccompLoad, ErrnoRetIsWhatTheCallFailsWith) {
  auto filter = compile(allow_all_but({{"names", {"mkdir", "unshare"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", kTestErrno}}));
  const std::string dir = fresh_path("errno");
  EXPECT_EQ(errno_under(*filter, [&] { return do_mkdir(dir); }), kTestErrno);
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_EQ(errno_under(*filter, do_unshare), kTestErrno);
  EXPECT_EQ(errno_under(*filter, do_getpid), 0);
  // And without the filter the same calls succeed, so the errno is the filter's.
  EXPECT_EQ(errno_under(json{{"defaultAction", "SCMP_ACT_ALLOW"}}, [&] { return do_mkdir(dir); }), 0);
  EXPECT_TRUE(fs::exists(dir));
  fs::remove_all(dir);
}

#if defined(__x86_64__)
// runc's ENOSYS stub: above the highest syscall the profile names (exit_group,
// 231 on x86_64) ENOSYS, below it the default action.
TEST(SeccompLoad, SyscallsNewerThanTheProfileGetEnosys) {
  json profile = {{"defaultAction", "SCMP_ACT_ERRNO"},
                  {"defaultErrnoRet", EXDEV},
                  {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
                  {"syscalls", json::array({{{"names", {"exit_group", "exit", "getpid", "write"}}, {"action", "SCMP_ACT_ALLOW"}}})}};
  auto filter = compile(profile);
  EXPECT_EQ(errno_under(*filter, do_getpid), 0);
  EXPECT_EQ(errno_under(*filter, [] { return do_umask(022); }), EXDEV);  // 95: the default
  EXPECT_EQ(errno_under(*filter, [] { return syscall(SYS_keyctl, 0, -3, 0); }), ENOSYS);  // 250
  EXPECT_EQ(errno_under(*filter, [] { return syscall(1000); }), ENOSYS);
  // No architectures listed: no stub (as runc).
  profile.erase("architectures");
  EXPECT_EQ(errno_under(profile, [] { return syscall(1000); }), EXDEV);
}
#endif

TEST(SeccompLoad, ErrnoDefaultsToEperm) {
  EXPECT_EQ(errno_under(allow_all_but({{"names", {"unshare"}}, {"action", "SCMP_ACT_ERRNO"}}), do_unshare), EPERM);
}

TEST(SeccompLoad, UnknownSyscallDoesNotStopTheRest) {
  auto filter = compile(allow_all_but(
      {{"names", {"glassrun_no_such_syscall", "unshare"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", kTestErrno}}));
  EXPECT_EQ(errno_under(*filter, do_unshare), kTestErrno);
}

class SeccompKillingAction : public ::testing::TestWithParam<const char*> {};

TEST_P(SeccompKillingAction, ChildDiesOfSigsys) {
  auto filter = compile(allow_all_but({{"names", {"getppid"}}, {"action", GetParam()}}));
  int status = wait_status_of_child([&] {
    filter->load();
    syscall(SYS_getppid);
    return 0;  // only reached if the filter let getppid through
  });
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit status " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGSYS);
}

INSTANTIATE_TEST_SUITE_P(Actions, SeccompKillingAction,
                         ::testing::Values("SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP"));

TEST(SeccompLoad, TraceWithoutTracerFailsWithEnosys) {
  // The kernel answers ENOSYS when no ptracer takes a TRACE stop.
  EXPECT_EQ(errno_under(allow_all_but({{"names", {"getppid"}}, {"action", "SCMP_ACT_TRACE"}}), [] { return syscall(SYS_getppid); }),
            ENOSYS);
}

TEST(SeccompLoad, LogAndAllowLetTheCallThrough) {
  // Under a deny-all default, only the rule can make getppid succeed.
  for (const char* action : {"SCMP_ACT_LOG", "SCMP_ACT_ALLOW"}) {
    json profile = {{"defaultAction", "SCMP_ACT_KILL_PROCESS"},
                    {"syscalls", {{{"names", {"getppid", "exit_group"}}, {"action", action}}}}};
    EXPECT_EQ(errno_under(profile, [] { return syscall(SYS_getppid); }), 0) << action;
  }
}

struct OperatorCase {
  const char* op;
  uint64_t value, value_two;
  unsigned long blocked, allowed;  // umask arguments on either side
};

class SeccompOperator : public ::testing::TestWithParam<OperatorCase> {};

TEST_P(SeccompOperator, BlocksExactlyTheMatchingArgument) {
  const auto& c = GetParam();
  json arg = {{"index", 0}, {"value", c.value}, {"valueTwo", c.value_two}, {"op", c.op}};
  auto filter = compile(allow_all_but({{"names", {"umask"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", kTestErrno}, {"args", {arg}}}));
  EXPECT_EQ(errno_under(*filter, [&] { return do_umask(c.blocked); }), kTestErrno);
  EXPECT_EQ(errno_under(*filter, [&] { return do_umask(c.allowed); }), 0);
}

INSTANTIATE_TEST_SUITE_P(Operators, SeccompOperator,
                         ::testing::Values(OperatorCase{"SCMP_CMP_NE", 022, 0, 077, 022},
                                           OperatorCase{"SCMP_CMP_LT", 022, 0, 021, 022},
                                           OperatorCase{"SCMP_CMP_LE", 022, 0, 022, 023},
                                           OperatorCase{"SCMP_CMP_EQ", 022, 0, 022, 023},
                                           OperatorCase{"SCMP_CMP_GE", 022, 0, 022, 021},
                                           OperatorCase{"SCMP_CMP_GT", 022, 0, 023, 022},
                                           // (arg & 0700) == 0700
                                           OperatorCase{"SCMP_CMP_MASKED_EQ", 0700, 0700, 0755, 0055}));

TEST(SeccompLoad, ConditionsOnDistinctArgumentsAreAnded) {
  // getpriority(which, who): one rule, both must match.
  json args = {{{"index", 0}, {"value", PRIO_PROCESS}, {"op", "SCMP_CMP_EQ"}},
               {{"index", 1}, {"value", 424242}, {"op", "SCMP_CMP_EQ"}}};
  auto filter = compile(allow_all_but({{"names", {"getpriority"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", kTestErrno}, {"args", args}}));
  EXPECT_EQ(errno_under(*filter, [] { return syscall(SYS_getpriority, PRIO_PROCESS, 424242); }), kTestErrno);
  EXPECT_EQ(errno_under(*filter, [] { return syscall(SYS_getpriority, PRIO_PROCESS, 0); }), 0);
  EXPECT_EQ(errno_under(*filter, [] { return syscall(SYS_getpriority, PRIO_PGRP, 424242); }), ESRCH);
}

TEST(SeccompLoad, ConditionsRepeatingAnArgumentAreOred) {
  // As runc: one rule per condition once an index repeats.
  json args = {{{"index", 0}, {"value", 01}, {"op", "SCMP_CMP_EQ"}}, {{"index", 0}, {"value", 02}, {"op", "SCMP_CMP_EQ"}}};
  auto filter = compile(allow_all_but({{"names", {"umask"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", kTestErrno}, {"args", args}}));
  EXPECT_EQ(errno_under(*filter, [] { return do_umask(01); }), kTestErrno);
  EXPECT_EQ(errno_under(*filter, [] { return do_umask(02); }), kTestErrno);
  EXPECT_EQ(errno_under(*filter, [] { return do_umask(03); }), 0);
}

TEST(SeccompLoad, TsyncAppliesTheFilterToOtherThreads) {
  json profile = allow_all_but({{"names", {"unshare"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", kTestErrno}});
  profile["flags"] = {"SECCOMP_FILTER_FLAG_TSYNC"};
  auto filter = compile(profile);
  int status = wait_status_of_child([&] {
    int seen = -1;
    std::mutex m;
    std::condition_variable cv;
    bool loaded = false;
    std::thread other([&] {
      std::unique_lock lock(m);
      cv.wait(lock, [&] { return loaded; });
      seen = do_unshare() < 0 ? errno : 0;
    });
    filter->load();
    {
      std::lock_guard lock(m);
      loaded = true;
    }
    cv.notify_one();
    other.join();
    return seen;
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), kTestErrno);
}

TEST(SeccompLoad, LogFlagIsAccepted) {
  json profile = allow_all_but({{"names", {"unshare"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", kTestErrno}});
  profile["flags"] = {"SECCOMP_FILTER_FLAG_LOG"};
  EXPECT_EQ(errno_under(profile, do_unshare), kTestErrno);
}

TEST(SeccompLoad, PodmanDefaultProfile) {
  auto filter = compile(load_data("seccomp-podman.json"));
  // Listed with errnoRet 1; unfiltered vmsplice(-1, ...) fails with EBADF.
  EXPECT_EQ(errno_under(*filter, [] { return syscall(SYS_vmsplice, -1, nullptr, 0, 0); }), EPERM);
  // Not listed: defaultErrnoRet 38; unfiltered add_key(NULL, ...) is EFAULT.
  EXPECT_EQ(errno_under(*filter, [] { return syscall(SYS_add_key, nullptr, nullptr, nullptr, 0, 0); }), ENOSYS);
  EXPECT_EQ(errno_under(*filter, do_getpid), 0);
  // podman's profile (unlike Docker's) allows unshare; flags 0 succeed.
  EXPECT_EQ(errno_under(*filter, do_unshare), 0);
}

TEST(SeccompLoad, StrictProfile) {
  auto filter = compile(load_data("seccomp-strict.json"));
  EXPECT_EQ(errno_under(*filter, do_getpid), 0);
  EXPECT_EQ(errno_under(*filter, [] { return do_umask(022); }), EPERM);  // default ERRNO, no defaultErrnoRet
  EXPECT_EQ(errno_under(*filter, do_unshare), ENOSYS);  // 272: above newfstatat (262), runc's ENOSYS stub
  EXPECT_EQ(errno_under(*filter, [] { return syscall(SYS_openat, AT_FDCWD, "/", O_RDONLY); }), EACCES);
  EXPECT_EQ(errno_under(*filter, [] { return syscall(SYS_personality, 0); }), 0);
  EXPECT_EQ(errno_under(*filter, [] { return syscall(SYS_personality, 0xffffffff); }), EPERM);
}

// --- SCMP_ACT_NOTIFY: the child hands its listener fd over with
// send_to_listener; the test plays the seccomp agent.

constexpr long kAgentAnswer = 4242;

UniqueFd listen_unix(const std::string& path) {
  UniqueFd sock(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) throw_sys("bind " + path);
  if (listen(sock.get(), 1) < 0) throw_sys("listen");
  return sock;
}

// Waits until fd is readable, failing instead of hanging if the child exits
// first (its pidfd turns readable).
void wait_readable_while_alive(int fd, int pidfd) {
  pollfd fds[] = {{fd, POLLIN, 0}, {pidfd, POLLIN, 0}};
  while (poll(fds, 2, -1) < 0)
    if (errno != EINTR) throw_sys("poll");
  if (!(fds[0].revents & POLLIN)) throw Error("child exited before the agent got anything");
}

struct Received {
  json message;
  UniqueFd fd;
};

// One ContainerProcessState message: the fd rides with the first bytes; the
// sender closes the connection after the rest.
Received receive_state(int conn) {
  std::string payload(64 * 1024, '\0');
  iovec iov{payload.data(), payload.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  if (n < 0) throw_sys("recvmsg");
  Received r;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c), sizeof(fd));
      r.fd.reset(fd);
    }
  }
  size_t got = static_cast<size_t>(n);
  for (ssize_t more; (more = read(conn, payload.data() + got, payload.size() - got)) > 0;) got += static_cast<size_t>(more);
  payload.resize(got);
  r.message = json::parse(payload);
  return r;
}

// Answers one notification for syscall `nr` with `val`; returns the nr seen.
int answer_one_notification(int notify_fd, int pidfd, long val) {
  wait_readable_while_alive(notify_fd, pidfd);
  seccomp_notif* req = nullptr;
  seccomp_notif_resp* resp = nullptr;
  if (int rc = seccomp_notify_alloc(&req, &resp); rc < 0) throw_sys("seccomp_notify_alloc", -rc);
  int nr = -1;
  int rc = seccomp_notify_receive(notify_fd, req);
  if (rc == 0) {
    nr = req->data.nr;
    resp->id = req->id;
    resp->val = val;
    resp->error = 0;
    resp->flags = 0;
    rc = seccomp_notify_respond(notify_fd, resp);
  }
  seccomp_notify_free(req, resp);
  if (rc < 0) throw_sys("seccomp notify receive/respond", -rc);
  return nr;
}

TEST(SeccompNotify, AgentAnswerReachesTheChild) {
  const std::string sock_path = fresh_path("agent.sock");
  UniqueFd listener = listen_unix(sock_path);
  json profile = allow_all_but({{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_NOTIFY"}});
  profile["listenerPath"] = sock_path;
  profile["listenerMetadata"] = "glassrun-test";
  auto filter = compile(profile);
  ASSERT_TRUE(filter->uses_notify());

  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int code = kChildBroke;
    try {
      if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0) {
        int notify_fd = filter->load();
        std::string state = json{{"ociVersion", "1.0.2"}, {"id", "c1"}, {"status", "creating"}, {"pid", getpid()}, {"bundle", "/b"}}.dump();
        send_to_listener(*filter, notify_fd, getpid(), state);
        close(notify_fd);
        // The agent answers kAgentAnswer; the kernel never runs mkdir.
        code = do_mkdir("/nonexistent-glassrun/x") == kAgentAnswer ? 0 : 1;
      }
    } catch (const std::exception& e) {
      fprintf(stderr, "child: %s\n", e.what());
    }
    _exit(code);
  }
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  ASSERT_TRUE(pidfd);

  wait_readable_while_alive(listener.get(), pidfd.get());
  UniqueFd conn(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(conn);
  Received got = receive_state(conn.get());
  ASSERT_TRUE(got.fd);
  EXPECT_EQ(got.message["ociVersion"], "1.0.2");
  EXPECT_EQ(got.message["fds"], json::array({"seccompFd"}));
  EXPECT_EQ(got.message["pid"], pid);
  EXPECT_EQ(got.message["metadata"], "glassrun-test");
  EXPECT_EQ(got.message["state"]["id"], "c1");
  EXPECT_EQ(got.message["state"]["status"], "creating");

  EXPECT_EQ(answer_one_notification(got.fd.get(), pidfd.get(), kAgentAnswer), SYS_mkdir);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  fs::remove(sock_path);
}

TEST(SeccompNotify, LoadWithoutNotifyRulesReturnsNoFd) {
  auto filter = compile(allow_all_but({{"names", {"unshare"}}, {"action", "SCMP_ACT_ERRNO"}}));
  int status = wait_status_of_child([&] { return filter->load() == -1 ? 0 : 1; });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace glassrun::seccomp
