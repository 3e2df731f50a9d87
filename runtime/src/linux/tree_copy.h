// Copying a directory tree between two open directories, keeping modes,
// owners, times, symlinks and special files: the copy-up of a "tmpcopyup"
// tmpfs (what runc's fileutils.CopyDirectory does for it).
#pragma once

namespace glassrun::tree_copy {

// Copies every entry under from_dir into to_dir (both O_RDONLY|O_DIRECTORY
// fds), then gives to_dir from_dir's mode and owner. Never follows a symlink:
// symlinks are copied as symlinks. Throws Error naming the entry that failed.
void copy_contents(int from_dir, int to_dir);

}  // namespace glassrun::tree_copy
