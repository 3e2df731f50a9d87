// `glasstrace seccomp-profile`: the minimal OCI linux.seccomp a traced
// workload needs.
#pragma once

#include "trace_file.h"

namespace glasstrace {

// {"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"architectures":
// ["SCMP_ARCH_X86_64"],"syscalls":[{"names":[...],"action":"SCMP_ACT_ALLOW"}]}
// allowing every syscall the container's processes made (ContainerView::
// under_filter: after the first exec, plus what the runtime's init did under
// its filter before that exec, and then also the scheduling calls a Go init's
// threads make or not depending on timing). Throws std::runtime_error if the trace has no
// container exec.
// `*without_filter` is set when no filter was installed before the exec: the
// runtime's own calls under a filter are then unknown.
Json seccomp_profile(const Trace& t, bool* without_filter);

}  // namespace glasstrace
