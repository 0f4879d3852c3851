// Fixed-size I/O blocks for the forwarding path. A block carries its own
// uv_write_t so a read can be handed to the other side's write queue without
// a copy or a second allocation; released blocks are kept on a per-worker free
// list (bounded) so steady streaming allocates nothing.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>

namespace rtmpgate::proxy {

class Session;

struct Block {
  static constexpr size_t kSize = 64 * 1024;
  Block* next_free = nullptr;
  uv_write_t req;
  Session* owner = nullptr;
  uint8_t side = 0;  // destination, as Session::Side
  uint8_t data[kSize];
};

class BlockPool {
 public:
  explicit BlockPool(size_t max_free = 64) : max_free_(max_free) {}
  ~BlockPool();
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;

  Block* get();
  void put(Block* b);
  static Block* fromData(char* data) {
    return reinterpret_cast<Block*>(data - offsetof(Block, data));
  }
  size_t outstanding() const { return outstanding_; }

 private:
  Block* free_ = nullptr;
  size_t free_count_ = 0;
  size_t max_free_;
  size_t outstanding_ = 0;
};

}  // namespace rtmpgate::proxy
