// Free-list link encoding and validation, and the packed remote word.
#include "src/core/free_list.h"

#include <cstdint>

#include "gtest/gtest.h"
#include "src/core/span.h"

namespace scalloc::internal {
namespace {

alignas(16) unsigned char g_blocks[4][64];

TEST(LinkCodecTest, FastModeStoresPlainPointers) {
  LinkCodec<FastPolicy> codec;
  codec.SetSecret(0x1234);
  codec.Store(g_blocks[0], g_blocks[1]);
  void* raw;
  std::memcpy(&raw, g_blocks[0], sizeof(raw));
  EXPECT_EQ(raw, g_blocks[1]);
  EXPECT_EQ(codec.Load(g_blocks[0]), g_blocks[1]);
}

TEST(LinkCodecTest, HardenedModeEncodesWithSecretAndSlot) {
  LinkCodec<HardenedPolicy> codec;
  codec.SetSecret(0x5eed5eed5eed5eedull);
  codec.Store(g_blocks[0], g_blocks[1]);
  codec.Store(g_blocks[2], g_blocks[1]);
  uintptr_t raw0, raw2;
  std::memcpy(&raw0, g_blocks[0], sizeof(raw0));
  std::memcpy(&raw2, g_blocks[2], sizeof(raw2));
  EXPECT_NE(raw0, reinterpret_cast<uintptr_t>(g_blocks[1]));
  EXPECT_NE(raw0, raw2) << "the slot address must be part of the key";
  EXPECT_EQ(codec.Load(g_blocks[0]), g_blocks[1]);
  EXPECT_EQ(codec.Load(g_blocks[2]), g_blocks[1]);
  codec.Store(g_blocks[3], nullptr);
  uintptr_t raw3;
  std::memcpy(&raw3, g_blocks[3], sizeof(raw3));
  EXPECT_NE(raw3, 0u) << "null must not be stored in the clear";
  EXPECT_EQ(codec.Load(g_blocks[3]), nullptr);
  // Another secret decodes to garbage.
  LinkCodec<HardenedPolicy> other;
  other.SetSecret(0x1111);
  EXPECT_NE(other.Load(g_blocks[0]), g_blocks[1]);
}

TEST(IsValidLinkTest, AcceptsBlockStartsOfTheSpanOnly) {
  const uintptr_t start = uintptr_t{1} << 30;
  const SizeClassInfo& info = kSizeClassInfo[SizeToClass(48)];
  EXPECT_TRUE(IsValidLink(0, start, info.block_bytes, info.num_blocks, info.div_magic));
  EXPECT_TRUE(IsValidLink(start, start, info.block_bytes, info.num_blocks, info.div_magic));
  EXPECT_TRUE(IsValidLink(start + 48 * 7, start, info.block_bytes, info.num_blocks, info.div_magic));
  EXPECT_FALSE(IsValidLink(start + 48 * 7 + 16, start, info.block_bytes, info.num_blocks, info.div_magic));
  EXPECT_FALSE(IsValidLink(start - 48, start, info.block_bytes, info.num_blocks, info.div_magic));
  EXPECT_FALSE(
      IsValidLink(start + uintptr_t{48} * info.num_blocks, start, info.block_bytes, info.num_blocks, info.div_magic));
  EXPECT_FALSE(IsValidLink(0x601000, start, info.block_bytes, info.num_blocks, info.div_magic));
}

TEST(RemoteWordTest, PacksAllFields) {
  RemoteWord w = RemoteWord::Make(RemoteWord::HeadOf(kVirtualSpanBytes - 16), kMaxBlocksPerSpan, SpanState::kReusable,
                                  (uint64_t{1} << 28) - 1);
  EXPECT_EQ(RemoteWord::OffsetOfHead(w.head()), kVirtualSpanBytes - 16);
  EXPECT_EQ(w.count(), kMaxBlocksPerSpan);
  EXPECT_EQ(w.state(), SpanState::kReusable);
  EXPECT_EQ(w.epoch(), (uint64_t{1} << 28) - 1);
  RemoteWord pushed = w.WithState(SpanState::kFloating).WithPush(RemoteWord::HeadOf(32));
  EXPECT_EQ(pushed.count(), kMaxBlocksPerSpan + 1);
  EXPECT_EQ(pushed.state(), SpanState::kFloating);
  EXPECT_EQ(pushed.epoch(), w.epoch());
  EXPECT_EQ(RemoteWord(0).state(), SpanState::kFree) << "zeroed metadata must read as a free span";
}

}  // namespace
}  // namespace scalloc::internal
