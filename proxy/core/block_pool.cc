#include "proxy/core/block_pool.h"

namespace rtmpgate::proxy {

BlockPool::~BlockPool() {
  while (free_) {
    Block* b = free_;
    free_ = b->next_free;
    delete b;
  }
}

Block* BlockPool::get() {
  ++outstanding_;
  if (free_) {
    Block* b = free_;
    free_ = b->next_free;
    --free_count_;
    return b;
  }
  return new Block;
}

void BlockPool::put(Block* b) {
  --outstanding_;
  if (free_count_ >= max_free_) {
    delete b;
    return;
  }
  b->next_free = free_;
  free_ = b;
  ++free_count_;
}

}  // namespace rtmpgate::proxy
