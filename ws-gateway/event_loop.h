#pragma once
// The gateway's one reactor: an epoll loop that owns every client socket and the Redis
// connections. Other threads (the handshake threads, the backend pool) hand work to it with
// Post(); nothing else touches loop-owned state.

#include <sys/epoll.h>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

namespace streambed {

class IoHandler {
public:
    virtual ~IoHandler() = default;
    // `events` is the epoll mask (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP).
    virtual void OnIo(uint32_t events) = 0;
};

class EventLoop {
public:
    using Task = std::function<void()>;
    using TimerId = uint64_t;

    EventLoop();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    // Registers or updates `fd` (loop thread only).
    void Watch(int fd, uint32_t events, IoHandler* handler);
    void Unwatch(int fd);

    // Any thread: runs `task` on the loop thread, in order.
    void Post(Task task);
    // Loop thread: runs `task` after the current batch of events, when no handler of this batch
    // can still be called. Used to delete connections safely.
    void Defer(Task task) { deferred_.push_back(std::move(task)); }

    TimerId After(int64_t delay_ms, Task task);
    TimerId Every(int64_t interval_ms, Task task);
    void Cancel(TimerId id);

    // Runs until Stop(); Stop() may be called from any thread (or a signal-driven handler).
    void Run();
    void Stop();

    // Monotonic milliseconds, read once per loop iteration.
    int64_t now_ms() const { return now_ms_; }
    static int64_t MonotonicMs();

private:
    struct Timer {
        int64_t interval_ms;  // 0 for one-shot
        Task task;
    };
    void RunTimers();
    void DrainPosted();
    int NextTimeoutMs() const;

    int epoll_fd_;
    int wake_fd_;  // eventfd: Post() and Stop() wake epoll_wait
    std::vector<IoHandler*> handlers_;  // indexed by fd
    std::vector<uint32_t> watched_;     // registered mask per fd (0 = not registered)
    std::mutex posted_mutex_;
    std::vector<Task> posted_;
    std::vector<Task> deferred_;
    std::map<std::pair<int64_t, TimerId>, Timer> timers_;  // ordered by due time
    std::map<TimerId, int64_t> timer_due_;
    TimerId next_timer_ = 1;
    bool stop_ = false;
    int64_t now_ms_ = 0;
};

}  // namespace streambed
