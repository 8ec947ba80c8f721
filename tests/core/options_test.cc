// SCALLOC_OPTIONS parsing: known options, ranges, malformed and unknown entries.
#include "src/core/options.h"

#include "gtest/gtest.h"

namespace scalloc::internal {
namespace {

TEST(OptionsTest, DefaultsComeFromTheTable) {
  Options options;
  EXPECT_EQ(options.reuse_threshold, static_cast<int64_t>(kDefaultReuseThreshold));
  EXPECT_EQ(options.zero_on_free, -1);
  EXPECT_EQ(options.stats, 0);
}

TEST(OptionsTest, ParsesColonSeparatedEntries) {
  Options options;
  EXPECT_EQ(options.Parse("stats=1:verbose=1:reuse_threshold=70:zero_on_free=1"), 0);
  EXPECT_EQ(options.stats, 1);
  EXPECT_EQ(options.verbose, 1);
  EXPECT_EQ(options.reuse_threshold, 70);
  EXPECT_EQ(options.zero_on_free, 1);
  EXPECT_EQ(options.Parse("STATS=0,span_cache_mib=4"), 0);
  EXPECT_EQ(options.stats, 0);
  EXPECT_EQ(options.span_cache_mib, 4);
  EXPECT_EQ(options.Parse("verbose"), 0) << "a bare name means 1";
}

TEST(OptionsTest, BadEntriesAreSkippedAndCounted) {
  Options options;
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(options.Parse("nonsense=3:reuse_threshold=250:stats=yes:verbose=1"), 3);
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("unknown option"), std::string::npos);
  EXPECT_NE(err.find("out of range"), std::string::npos);
  EXPECT_NE(err.find("not an integer"), std::string::npos);
  EXPECT_EQ(options.reuse_threshold, static_cast<int64_t>(kDefaultReuseThreshold));
  EXPECT_EQ(options.verbose, 1) << "good entries after bad ones still apply";
  EXPECT_EQ(options.Parse(nullptr), 0);
  EXPECT_EQ(options.Parse("::"), 0);
}

}  // namespace
}  // namespace scalloc::internal
