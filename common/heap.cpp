#include "common/heap.h"

#include <malloc.h>

namespace streambed {

void KeepFreedHeap() {
    constexpr int kMB = 1 << 20;
    // Setting them turns off glibc's own adjustment of the mmap threshold, which starts at 128 KB.
    // Under a sanitizer's allocator these are no-ops; the defaults then stay.
    mallopt(M_TRIM_THRESHOLD, 16 * kMB);
    mallopt(M_TOP_PAD, 4 * kMB);
    mallopt(M_MMAP_THRESHOLD, 16 * kMB);
}

}  // namespace streambed
