// glibc's cache probe as glassrun answers it (linux/glibc_cacheinfo.h): the
// values glibc 2.36 computes for a CPU whose leaf 2 says "see leaf 4", and
// every case handed back to glibc's own code.
#include "linux/glibc_cacheinfo.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace {

using glassrun::cacheinfo::handle_intel;
using glassrun::cacheinfo::Leaf4;

// CPUID leaves 2 and 4 of the 2-core Xeon VM the benchmarks run on.
constexpr std::uint32_t kLeaf2[4] = {0x00feff01, 0x000000f0, 0, 0};
constexpr Leaf4 kLeaf4[] = {
    {0x04000121, 0x02c0003f, 0x0000003f},  // L1 data: 12 ways, 64 B lines, 64 sets
    {0x04000122, 0x03c0003f, 0x0000003f},  // L1 instructions: 16 ways
    {0x04000143, 0x03c0003f, 0x000007ff},  // L2, unified: 2048 sets
    {0x04004163, 0x03c0003f, 0x00077fff},  // L3, unified
};

long ask(int name, const std::uint32_t leaf2[4], bool* known, bool complete = true) {
  return handle_intel(name, leaf2, kLeaf4, 4, complete, known);
}

TEST(GlibcCacheinfo, AnswersWhatGlibcComputesFromLeaf4) {
  // The values glibc's own handle_intel returned on that machine.
  const struct {
    int name;
    long value;
  } expected[] = {
      {_SC_LEVEL1_ICACHE_SIZE, 65536},     {_SC_LEVEL1_ICACHE_ASSOC, 16},    {_SC_LEVEL1_ICACHE_LINESIZE, 64},
      {_SC_LEVEL1_DCACHE_SIZE, 49152},     {_SC_LEVEL1_DCACHE_ASSOC, 12},    {_SC_LEVEL1_DCACHE_LINESIZE, 64},
      {_SC_LEVEL2_CACHE_SIZE, 2097152},    {_SC_LEVEL2_CACHE_ASSOC, 16},     {_SC_LEVEL2_CACHE_LINESIZE, 64},
      {_SC_LEVEL3_CACHE_SIZE, 503316480},  {_SC_LEVEL3_CACHE_ASSOC, 16},     {_SC_LEVEL3_CACHE_LINESIZE, 64},
  };
  for (const auto& e : expected) {
    bool known = false;
    EXPECT_EQ(ask(e.name, kLeaf2, &known), e.value) << "name " << e.name;
    EXPECT_TRUE(known) << "name " << e.name;
  }
}

TEST(GlibcCacheinfo, ACacheLeaf4DoesNotHaveIsMinusOneWithGlibc236) {
  // No L4 here: glibc 2.36 answers -1 (its intel_check_word ends the walk
  // so); others are asked themselves.
  bool known = false;
  long answer = ask(_SC_LEVEL4_CACHE_SIZE, kLeaf2, &known);
#if __GLIBC__ == 2 && __GLIBC_MINOR__ == 36
  EXPECT_EQ(answer, -1);
  EXPECT_TRUE(known);
#else
  EXPECT_EQ(answer, 0);
  EXPECT_FALSE(known);
#endif
}

TEST(GlibcCacheinfo, LegacyDescriptorsAreGlibcsToAnswer) {
  bool known = true;
  const std::uint32_t table_first[4] = {0x00ff2c01, 0, 0, 0};  // 0x2c: an L1d entry of glibc's table
  ask(_SC_LEVEL1_DCACHE_SIZE, table_first, &known);
  EXPECT_FALSE(known);
  const std::uint32_t no_l2_or_l3[4] = {0x00ff4001, 0, 0, 0};  // 0x40: its own rule
  ask(_SC_LEVEL2_CACHE_SIZE, no_l2_or_l3, &known);
  EXPECT_FALSE(known);
  const std::uint32_t no_leaf4[4] = {0x00000001, 0x0000002c, 0, 0};
  ask(_SC_LEVEL1_DCACHE_SIZE, no_leaf4, &known);
  EXPECT_FALSE(known);
}

TEST(GlibcCacheinfo, MoreThanOneLeaf2RoundIsGlibcsToAnswer) {
  bool known = true;
  const std::uint32_t two_rounds[4] = {0x00feff02, 0, 0, 0};
  ask(_SC_LEVEL1_DCACHE_SIZE, two_rounds, &known);
  EXPECT_FALSE(known);
}

TEST(GlibcCacheinfo, AnUnfinishedLeaf4WalkIsGlibcsToAnswer) {
  bool known = true;
  ask(_SC_LEVEL1_DCACHE_SIZE, kLeaf2, &known, /*complete=*/false);
  EXPECT_FALSE(known);
}

TEST(GlibcCacheinfo, PassesOverWhatGlibcPassesOver) {
  bool known = false;
  // Prefetch/TLB descriptors before the leaf-4 one, and a reserved register
  // (bit 31) whose bytes glibc never reads.
  const std::uint32_t leaf2[4] = {0x00fef001, 0x800000ff, 0x00f100ff, 0};
  EXPECT_EQ(ask(_SC_LEVEL1_DCACHE_SIZE, leaf2, &known), 49152);
  EXPECT_TRUE(known);
}

TEST(GlibcCacheinfo, NamesOutsideTheCacheRangeAreNotAnswered) {
  bool known = true;
  EXPECT_EQ(ask(_SC_LEVEL1_ICACHE_SIZE - 1, kLeaf2, &known), 0);
  EXPECT_FALSE(known);
  EXPECT_EQ(ask(_SC_LEVEL4_CACHE_LINESIZE + 1, kLeaf2, &known), 0);
  EXPECT_FALSE(known);
}

}  // namespace
