#pragma once
// The gateway's calls to the REST workers (/internal/... through nginx, with a server token).
// The gateway never writes PostgreSQL itself: the handshake's user upsert and the room socket's
// message.send go through the very same code as REST. Calls block, so they run on handshake
// threads or on the backend pool, never on the event loop.

#include <functional>
#include <string>
#include <string_view>

#include <Poco/ThreadPool.h>

#include "common/config.h"

namespace streambed {

struct BackendReply {
    int status = 0;  // 0: the workers could not be reached
    std::string body;
};

class Backend {
public:
    explicit Backend(const Config& config);
    // POST `json` to `path` (e.g. "/internal/connect/"); one retry on a stale keep-alive connection.
    BackendReply Post(std::string_view path, std::string_view json) const;

private:
    const Config& config_;
    std::string server_token_;
};

}  // namespace streambed
