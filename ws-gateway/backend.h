#pragma once
// The gateway's calls to the REST workers (/internal/... through nginx, with a server token).
// The gateway never writes PostgreSQL itself: the handshake's user upsert and the room socket's
// message.send go through the very same code as REST. Calls block, so they run on handshake
// threads or on the backend pool, never on the event loop.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/config.h"

namespace streambed {

struct BackendReply {
    int status = 0;  // 0: the workers could not be reached
    std::string body;
};

class Backend {
public:
    explicit Backend(const Config& config);
    ~Backend();
    // POST `json` to `path` (e.g. "/internal/connect/"); one retry on a stale keep-alive connection.
    BackendReply Post(std::string_view path, std::string_view json) const;

    // Runs `task` on one of the backend threads: how the event loop hands off blocking calls.
    // Tasks queued beyond the limit are refused (false), so a flood cannot grow memory.
    bool Submit(std::function<void()> task);

private:
    void Work();

    const Config& config_;
    std::string server_token_;
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<std::function<void()>> queue_;
    std::vector<std::thread> threads_;
    bool stopping_ = false;
};

}  // namespace streambed
