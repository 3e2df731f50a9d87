// Mount-target resolution inside a rootfs (linux/inroot.cpp), as the init
// does it for each mount destination: open_or_create of a missing target
// whose parents exist (the fast path: parent open + mkdirat), of a target
// behind a dangling link (the by-hand walk), and open_existing of a present
// one. Each iteration also removes what it made (rmdir/unlink, counted in).
// Runs in a private temporary directory (in /dev/shm) standing in for the rootfs.
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <initializer_list>
#include <stdexcept>
#include <string>

#include "linux/inroot.h"

namespace {

using glassrun::inroot::Kind;

struct Rootfs {
  std::string dir;
  int fd = -1;
  Rootfs() {
    // /dev/shm: a tmpfs, so the numbers are path lookup and inode work, not disk.
    char tmpl[] = "/dev/shm/glassrun-inroot-bench.XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
    dir = tmpl;
    for (const char* d : {"/sys", "/sys/fs", "/sys/fs/cgroup", "/mnt"}) mkdir((dir + d).c_str(), 0755);
    if (symlink("../target/sub", (dir + "/mnt/link").c_str()) != 0) throw std::runtime_error("symlink");
    fd = open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  }
  ~Rootfs() {
    close(fd);
    std::string cmd = "rm -rf '" + dir + "'";
    if (system(cmd.c_str()) != 0) fprintf(stderr, "inroot_bench: could not remove %s\n", dir.c_str());
  }
  void rm(const char* rel) { rmdir((dir + rel).c_str()); }
};

// open_or_create of `target`, then the directories `made` removed (deepest first).
void make_and_remove(benchmark::State& state, const char* target, std::initializer_list<const char*> made) {
  Rootfs r;
  for (auto _ : state) {
    auto fd = glassrun::inroot::open_or_create(r.fd, target, Kind::Directory);
    benchmark::DoNotOptimize(fd.get());
    for (const char* d : made) r.rm(d);
  }
}

void InrootMakeMissingTarget(benchmark::State& state) {
  make_and_remove(state, "/sys/fs/cgroup/memory", {"/sys/fs/cgroup/memory"});
}
BENCHMARK(InrootMakeMissingTarget);

void InrootMakeMissingTwoLevels(benchmark::State& state) {
  make_and_remove(state, "/sys/fs/cgroup/unified/leaf", {"/sys/fs/cgroup/unified/leaf", "/sys/fs/cgroup/unified"});
}
BENCHMARK(InrootMakeMissingTwoLevels);

void InrootThroughDanglingLink(benchmark::State& state) {
  make_and_remove(state, "/mnt/link/leaf", {"/target/sub/leaf", "/target/sub", "/target"});
}
BENCHMARK(InrootThroughDanglingLink);

void InrootOpenExisting(benchmark::State& state) {
  Rootfs r;
  for (auto _ : state) {
    auto fd = glassrun::inroot::open_existing(r.fd, "/sys/fs/cgroup");
    benchmark::DoNotOptimize(fd.get());
  }
}
BENCHMARK(InrootOpenExisting);

}  // namespace
