// Reading a trace back: a last line cut short by a recording that stopped
// mid-write is left out and reported; any other line that is not JSON is
// an error.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

#include <unistd.h>

#include "trace_file.h"

using namespace glasstrace;

namespace {

class TraceFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/gt-trace-file-XXXXXX";
    int fd = mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    close(fd);
    path_ = tmpl;
  }
  void TearDown() override { std::remove(path_.c_str()); }
  void write(const std::string& text) { std::ofstream(path_, std::ios::binary) << text; }
  std::string path_;
};

constexpr const char* kMeta = R"({"v":1,"type":"meta","tracer":"glasstrace"})";
constexpr const char* kExec = R"({"v":1,"type":"exec","ts":1,"pid":7,"tid":7})";

TEST_F(TraceFile, LastLineCutShortIsLeftOutAndNamed) {
  write(std::string(kMeta) + "\n" + kExec + "\n" + R"({"v":1,"type":"sysc)");
  Trace t = read_trace(path_);
  EXPECT_EQ(t.cut_short_line, 3);
  EXPECT_TRUE(t.meta.is_object());
  ASSERT_EQ(t.events.size(), 1u);
  EXPECT_EQ(t.events[0]["type"], "exec");
  EXPECT_TRUE(t.summary.is_null());
}

TEST_F(TraceFile, WholeTraceHasNoCutLine) {
  write(std::string(kMeta) + "\n" + kExec + "\n");
  EXPECT_EQ(read_trace(path_).cut_short_line, 0);
  write(std::string(kMeta) + "\n" + kExec);  // a complete last line without its newline
  Trace t = read_trace(path_);
  EXPECT_EQ(t.cut_short_line, 0);
  EXPECT_EQ(t.events.size(), 1u);
}

TEST_F(TraceFile, ALineThatIsNotJsonBeforeTheEndIsAnError) {
  write(std::string(kMeta) + "\n" + R"({"v":1,"type":"sysc)" + "\n" + kExec + "\n");
  try {
    read_trace(path_);
    FAIL() << "read a broken line";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), path_ + ":2: not JSON");
  }
  // cut short but followed by a newline: written whole, so not a cut
  write(std::string(kMeta) + "\n" + R"({"v":1,"type":"sysc)" + "\n");
  EXPECT_THROW(read_trace(path_), std::runtime_error);
}

}  // namespace

namespace {

TEST_F(TraceFile, JsonThatIsNotARecordIsAnError) {
  for (const char* line : {R"({"a":1})", "[1,2]", R"({"type":3})", "7"}) {
    write(std::string(kMeta) + "\n" + line + "\n");
    try {
      read_trace(path_);
      ADD_FAILURE() << "read " << line;
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()), path_ + R"(:2: not a glasstrace record (a JSON object with a string "type"))");
    }
  }
}

TEST_F(TraceFile, NoCompleteRecordIsNotATrace) {
  for (const char* text : {"", "\n\n", R"({"v":1,"type":"me)"}) {
    write(text);
    try {
      read_trace(path_);
      ADD_FAILURE() << "read " << text;
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()), path_ + ": no complete record: not a trace");
    }
  }
}

}  // namespace
