#include <gtest/gtest.h>

#include "linux/sync.h"
#include "util/error.h"

using namespace glassrun;

// A child that fails before it reads Continue sends Error and exits with
// Continue unread: the kernel resets the parent's end, and the reset comes
// ahead of the queued Error. The parent must still read the Error (it names
// the failed step), not "connection reset by peer".
TEST(Sync, ErrorQueuedBeforeAResetIsStillReceived) {
  auto [parent, child] = sync::Channel::pair();
  parent.send(sync::Msg::Continue);
  child.send(sync::Msg::Error, "cgroups: write 0 to /x/tasks: no space left on device", ENOSPC);
  child.close();
  sync::Message m = parent.recv();
  EXPECT_EQ(m.type, sync::Msg::Error);
  EXPECT_EQ(m.err, ENOSPC);
  EXPECT_EQ(m.text, "cgroups: write 0 to /x/tasks: no space left on device");
  EXPECT_THROW(parent.recv(), sync::PeerGone);
}

TEST(Sync, APeerGoneWithoutAMessageIsPeerGone) {
  auto [parent, child] = sync::Channel::pair();
  parent.send(sync::Msg::Continue);
  child.close();
  EXPECT_THROW(parent.recv(), sync::PeerGone);
}
