// glassrun-seal: puts a read-only overlayfs view of the glassrun binary over
// the binary itself (see cloned_binary.h "sealed install"), so that create,
// run and exec skip their CVE-2019-5736 re-exec: the file they start from can
// no longer be written by anyone, through any path to it.
//
//   glassrun-seal PATH            seal (no-op when sealed already)
//   glassrun-seal --undo PATH     remove the view (to upgrade the binary)
//   glassrun-seal --status PATH   print "sealed" or "not sealed"; exit 0 / 1
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "linux/cloned_binary.h"

namespace {

int usage() {
  std::fputs("usage: glassrun-seal [--undo|--status] PATH\n", stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace glassrun::cloned_binary;
  std::string_view mode = argc == 3 ? std::string_view(argv[1]) : "";
  if (argc < 2 || argc > 3 || (argc == 3 && mode != "--undo" && mode != "--status")) return usage();
  std::string path = argv[argc - 1];
  try {
    if (mode == "--status") {
      bool sealed = install_is_sealed(path);
      fmt::print("{}\n", sealed ? "sealed" : "not sealed");
      return sealed ? 0 : 1;
    }
    if (mode == "--undo") {
      unseal_install(path);
      return 0;
    }
    if (!seal_install(path)) fmt::print("{}: sealed already\n", path);
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "glassrun-seal: {}\n", e.what());
    return 1;
  }
}
