#pragma once
// How much freed memory a process keeps, for the processes that build and drop a lot per request.
//
// glibc's malloc gives memory back to the kernel as soon as 128 KB are free at the top of the
// heap (brk), and serves each block of 128 KB or more from a mapping of its own (mmap, munmap on
// free). A REST worker builds and frees tens to hundreds of KB per request, so nearly every
// request shrank the heap and grew it again. Each shrink flushes the TLB of every CPU the process
// last ran on, by an inter-processor interrupt, which on a virtual machine is dear: in a
// queryChannels benchmark a fifth of the worker's CPU went to shrinking the heap and more to
// growing it again. The gateway's message queues and frames, under load, did the same
// (docs/performance.md).
//
// KeepFreedHeap, called once at start (before fork: children inherit it), keeps up to 16 MB free
// at the top of the heap, grows it 4 MB at a time, and serves blocks up to 16 MB from it. What one
// request used is there for the next; a process holds at most its peak plus 16 MB.
namespace streambed {

void KeepFreedHeap();

}  // namespace streambed
