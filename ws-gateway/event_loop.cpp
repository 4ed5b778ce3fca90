#include "ws-gateway/event_loop.h"

#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace streambed {

namespace {
class WakeHandler final : public IoHandler {
public:
    void OnIo(uint32_t) override {}
};
WakeHandler g_wake_handler;
}  // namespace

int64_t EventLoop::MonotonicMs() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

EventLoop::EventLoop() : now_ms_(MonotonicMs()) {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_fd_ < 0 || wake_fd_ < 0) throw std::runtime_error("cannot create epoll/eventfd");
    Watch(wake_fd_, EPOLLIN, &g_wake_handler);
}

EventLoop::~EventLoop() {
    close(wake_fd_);
    close(epoll_fd_);
}

void EventLoop::Watch(int fd, uint32_t events, IoHandler* handler) {
    if (fd < 0) return;
    if (static_cast<size_t>(fd) >= handlers_.size()) {
        handlers_.resize(static_cast<size_t>(fd) + 1024, nullptr);
        watched_.resize(static_cast<size_t>(fd) + 1024, 0);
    }
    struct epoll_event ev {};
    ev.events = events;
    ev.data.fd = fd;
    int op = watched_[fd] != 0 ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (watched_[fd] == events && handlers_[fd] == handler) return;
    if (epoll_ctl(epoll_fd_, op, fd, &ev) != 0 && op == EPOLL_CTL_MOD && errno == ENOENT) {
        epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    }
    handlers_[fd] = handler;
    watched_[fd] = events == 0 ? 0x80000000u : events;  // registered even with an empty mask
}

void EventLoop::Unwatch(int fd) {
    if (fd < 0 || static_cast<size_t>(fd) >= handlers_.size() || watched_[fd] == 0) return;
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    handlers_[fd] = nullptr;
    watched_[fd] = 0;
}

void EventLoop::Post(Task task) {
    {
        std::lock_guard<std::mutex> lock(posted_mutex_);
        posted_.push_back(std::move(task));
    }
    uint64_t one = 1;
    ssize_t n = write(wake_fd_, &one, sizeof one);
    (void)n;
}

EventLoop::TimerId EventLoop::After(int64_t delay_ms, Task task) {
    TimerId id = next_timer_++;
    int64_t due = MonotonicMs() + delay_ms;
    timers_.emplace(std::make_pair(due, id), Timer{0, std::move(task)});
    timer_due_[id] = due;
    return id;
}

EventLoop::TimerId EventLoop::Every(int64_t interval_ms, Task task) {
    TimerId id = next_timer_++;
    int64_t due = MonotonicMs() + interval_ms;
    timers_.emplace(std::make_pair(due, id), Timer{interval_ms, std::move(task)});
    timer_due_[id] = due;
    return id;
}

void EventLoop::Cancel(TimerId id) {
    auto it = timer_due_.find(id);
    if (it == timer_due_.end()) return;
    timers_.erase(std::make_pair(it->second, id));
    timer_due_.erase(it);
}

void EventLoop::Stop() {
    stop_ = true;
    uint64_t one = 1;
    ssize_t n = write(wake_fd_, &one, sizeof one);
    (void)n;
}

int EventLoop::NextTimeoutMs() const {
    if (!deferred_.empty()) return 0;
    if (timers_.empty()) return 1000;
    int64_t wait = timers_.begin()->first.first - MonotonicMs();
    if (wait < 0) return 0;
    return wait > 1000 ? 1000 : static_cast<int>(wait);
}

void EventLoop::RunTimers() {
    // Bounded: timers due now run once; a repeating timer is re-armed for a later time.
    int budget = 1000;
    while (!timers_.empty() && budget-- > 0) {
        auto it = timers_.begin();
        if (it->first.first > now_ms_) break;
        TimerId id = it->first.second;
        Timer timer = std::move(it->second);
        timers_.erase(it);
        timer_due_.erase(id);
        if (timer.interval_ms > 0) {
            int64_t due = now_ms_ + timer.interval_ms;
            timers_.emplace(std::make_pair(due, id), Timer{timer.interval_ms, timer.task});
            timer_due_[id] = due;
        }
        timer.task();
    }
}

void EventLoop::DrainPosted() {
    uint64_t counter;
    ssize_t n = read(wake_fd_, &counter, sizeof counter);
    (void)n;
    std::vector<Task> tasks;
    {
        std::lock_guard<std::mutex> lock(posted_mutex_);
        tasks.swap(posted_);
    }
    for (auto& task : tasks) task();
}

void EventLoop::Run() {
    constexpr int kMaxEvents = 256;
    struct epoll_event events[kMaxEvents];
    while (!stop_) {
        int n = epoll_wait(epoll_fd_, events, kMaxEvents, NextTimeoutMs());
        now_ms_ = MonotonicMs();
        if (n < 0 && errno != EINTR) throw std::runtime_error("epoll_wait failed");
        bool woken = false;
        for (int i = 0; i < n; ++i) {
            int fd = events[i].data.fd;
            if (fd == wake_fd_) {
                woken = true;
                continue;
            }
            // Looked up at dispatch time: a handler removed earlier in this batch is skipped.
            IoHandler* handler = static_cast<size_t>(fd) < handlers_.size() ? handlers_[fd] : nullptr;
            if (handler != nullptr) handler->OnIo(events[i].events);
        }
        // Posted work (new sockets among it) runs after the batch, so a socket adopted on a
        // recycled fd number never receives an event meant for the one closed before it.
        if (woken) DrainPosted();
        RunTimers();
        while (!deferred_.empty()) {
            std::vector<Task> tasks;
            tasks.swap(deferred_);
            for (auto& task : tasks) task();
        }
    }
}

}  // namespace streambed
