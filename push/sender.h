#pragma once
// One RFC 8030 push request: resolve, check, connect, TLS, POST, read the status. Blocking, on a
// delivery thread; the Watchdog bounds the whole request, whatever the peer does.
//
// The host is resolved here and every address checked against the endpoint rules
// (common/push_endpoint.h) before connecting, and the connection goes to the checked address:
// a DNS answer cannot steer a push to an internal service. Redirects are never followed.
// HTTPS goes through Poco NetSSL with certificates verified against the system store and the
// host name checked; verification is off only for a loopback endpoint in development mode.

#include <Poco/Net/Context.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/push_endpoint.h"

namespace streambed {

// Bounds requests in time: each delivery thread arms its slot with the socket and a deadline;
// the main thread calls Check() often and shuts down the socket of a request past its deadline,
// which makes the blocked read or write fail at once. A slow or stalling push service therefore
// costs at most the deadline, never the thread.
class Watchdog {
  public:
    explicit Watchdog(size_t slots);
    void Arm(size_t slot, int fd, int64_t deadline_micros);
    // Returns true when the deadline passed and the socket was shut down.
    bool Disarm(size_t slot);
    void Check(int64_t now_micros);

  private:
    struct Slot {
        std::mutex mutex;
        int fd = -1;
        int64_t deadline = 0;
        bool fired = false;
    };
    std::vector<std::unique_ptr<Slot>> slots_;
};

struct PushRequest {
    PushEndpoint endpoint;
    std::string authorization;  // "vapid t=..., k=..."
    std::string body;           // aes128gcm
    int ttl_seconds = 0;
    std::string urgency;
};

struct PushResponse {
    int status = 0;  // 0: no HTTP answer
    std::optional<int64_t> retry_after_seconds;
    std::string error;     // why there was no answer, for the log
    bool refused = false;  // not sent: the endpoint's addresses broke the rules (not worth a retry)
};

class PushSender {
  public:
    PushSender(bool dev_mode, int timeout_ms, Watchdog& watchdog, size_t slot);
    PushResponse Send(const PushRequest& request);

  private:
    bool dev_mode_;
    int timeout_ms_;
    Watchdog& watchdog_;
    size_t slot_;
    Poco::Net::Context::Ptr verified_;    // system CA store, host name checked
    Poco::Net::Context::Ptr unverified_;  // development mode, loopback only
};

}  // namespace streambed
