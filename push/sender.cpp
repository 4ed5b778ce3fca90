#include "push/sender.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <istream>
#include <ostream>

#include "common/clock.h"
#include "common/outbound.h"
#include "push/retry_policy.h"

namespace streambed {

// ---- Watchdog -------------------------------------------------------------------------------

Watchdog::Watchdog(size_t slots) {
    for (size_t i = 0; i < slots; ++i) slots_.push_back(std::make_unique<Slot>());
}

void Watchdog::Arm(size_t slot, int fd, int64_t deadline_micros) {
    Slot& s = *slots_[slot];
    std::lock_guard<std::mutex> lock(s.mutex);
    s.fd = fd;
    s.deadline = deadline_micros;
    s.fired = false;
}

bool Watchdog::Disarm(size_t slot) {
    Slot& s = *slots_[slot];
    std::lock_guard<std::mutex> lock(s.mutex);
    // Cleared under the lock before the socket can be closed: the watchdog never touches a file
    // descriptor number that may already belong to another connection.
    s.fd = -1;
    return s.fired;
}

void Watchdog::Check(int64_t now_micros) {
    for (auto& slot : slots_) {
        std::lock_guard<std::mutex> lock(slot->mutex);
        if (slot->fd >= 0 && now_micros > slot->deadline) {
            ::shutdown(slot->fd, SHUT_RDWR);
            slot->fd = -1;
            slot->fired = true;
        }
    }
}

// ---- Sending --------------------------------------------------------------------------------

namespace {

class ArmGuard {
  public:
    ArmGuard(Watchdog& watchdog, size_t slot, int fd, int64_t deadline, bool& fired)
        : watchdog_(watchdog), slot_(slot), fired_(fired) {
        watchdog_.Arm(slot_, fd, deadline);
    }
    ~ArmGuard() { fired_ = watchdog_.Disarm(slot_); }
    ArmGuard(const ArmGuard&) = delete;
    ArmGuard& operator=(const ArmGuard&) = delete;

  private:
    Watchdog& watchdog_;
    size_t slot_;
    bool& fired_;
};

struct Resolution {
    std::vector<Poco::Net::SocketAddress> addresses;
    bool all_loopback = true;
    std::string error;
    bool refused = false;
};

// Every address the name has must pass, not only the one we would use: a name that mixes public
// and internal addresses is an attempt to reach the internal one.
Resolution Resolve(const PushEndpoint& ep, bool dev_mode) {
    Resolution out;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (ep.host_is_ip) hints.ai_flags = AI_NUMERICHOST;
    addrinfo* list = nullptr;
    int rc = getaddrinfo(ep.host.c_str(), std::to_string(ep.port).c_str(), &hints, &list);
    if (rc != 0) {
        out.error = std::string("cannot resolve the endpoint's host: ") + gai_strerror(rc);
        return out;
    }
    for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
        HostClass cls;
        if (ai->ai_family == AF_INET) {
            cls = ClassifyIpv4(ntohl(reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr.s_addr));
        } else if (ai->ai_family == AF_INET6) {
            cls = ClassifyIpv6(reinterpret_cast<const sockaddr_in6*>(ai->ai_addr)->sin6_addr.s6_addr);
        } else {
            continue;
        }
        bool allowed = HostClassAllowed(cls, dev_mode) && (ep.scheme == "https" || cls == HostClass::kLoopback);
        if (!allowed) {
            out.addresses.clear();
            out.error = "the endpoint's host resolves to an address push may not reach";
            out.refused = true;
            break;
        }
        if (cls != HostClass::kLoopback) out.all_loopback = false;
        out.addresses.emplace_back(ai->ai_addr, static_cast<poco_socklen_t>(ai->ai_addrlen));
    }
    freeaddrinfo(list);
    if (out.addresses.empty() && out.error.empty()) out.error = "the endpoint's host has no usable address";
    return out;
}

// The start of an error body, for the log: push services explain refusals there.
std::string Snippet(std::istream& in) {
    std::string text(300, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0)));
    for (char& c : text) {
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = ' ';
    }
    return text;
}

}  // namespace

PushSender::PushSender(bool dev_mode, int timeout_ms, Watchdog& watchdog, size_t slot)
    : dev_mode_(dev_mode),
      timeout_ms_(timeout_ms),
      watchdog_(watchdog),
      slot_(slot),
      verified_(OutboundTlsContext(true)),
      unverified_(OutboundTlsContext(false)) {}

PushResponse PushSender::Send(const PushRequest& req) {
    PushResponse res;
    const int64_t deadline = NowMicros() + int64_t{timeout_ms_} * 1000;
    Resolution resolved = Resolve(req.endpoint, dev_mode_);
    if (!resolved.error.empty()) {
        res.error = resolved.error;
        res.refused = resolved.refused;
        return res;
    }

    bool fired = false;
    try {
        std::string connect_error;
        std::optional<Poco::Net::StreamSocket> connected = ConnectFirst(resolved.addresses, deadline, &connect_error);
        if (!connected) {
            res.error = "cannot connect: " + connect_error;
            return res;
        }
        Poco::Net::StreamSocket socket = *connected;

        std::optional<Poco::Net::SecureStreamSocket> tls;
        std::unique_ptr<Poco::Net::HTTPClientSession> session;
        // Declared last, so it is disarmed first, before the sockets above close their descriptor.
        ArmGuard guard(watchdog_, slot_, socket.impl()->sockfd(), deadline, fired);
        if (req.endpoint.scheme == "https") {
            // Certificates are not checked only for a loopback endpoint in development mode (a
            // local test push service with a self-signed certificate).
            bool verify = !(dev_mode_ && resolved.all_loopback);
            tls = Poco::Net::SecureStreamSocket::attach(socket, req.endpoint.host, verify ? verified_ : unverified_);
            // A plain HTTPClientSession over the TLS socket: Poco 1.11's HTTPSClientSession(socket)
            // calls setPort() on the connected session and throws. Its extras (proxy tunnels,
            // session reuse) are not used here.
            session = std::make_unique<Poco::Net::HTTPClientSession>(*tls);
        } else {
            session = std::make_unique<Poco::Net::HTTPClientSession>(socket);
        }
        session->setTimeout(socket.getReceiveTimeout());  // the deadline's, from ConnectFirst
        session->setKeepAlive(false);

        Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, req.endpoint.target,
                                       Poco::Net::HTTPMessage::HTTP_1_1);
        request.setHost(req.endpoint.HostHeader());
        request.set("TTL", std::to_string(req.ttl_seconds));
        request.set("Urgency", req.urgency);
        request.set("Content-Encoding", "aes128gcm");
        request.setContentType("application/octet-stream");
        request.set("Authorization", req.authorization);
        request.setContentLength(static_cast<std::streamsize>(req.body.size()));
        request.setKeepAlive(false);
        std::ostream& out = session->sendRequest(request);
        out.write(req.body.data(), static_cast<std::streamsize>(req.body.size()));
        out.flush();

        Poco::Net::HTTPResponse response;
        std::istream& in = session->receiveResponse(response);
        res.status = static_cast<int>(response.getStatus());
        if (response.has("Retry-After"))
            res.retry_after_seconds = ParseRetryAfter(response.get("Retry-After"), NowSeconds());
        if (res.status < 200 || res.status >= 300) res.error = Snippet(in);
    } catch (const Poco::Exception& e) {
        res.status = 0;
        res.error = e.displayText();
    } catch (const std::exception& e) {
        res.status = 0;
        res.error = e.what();
    }
    if (fired && res.status == 0) {
        res.error = "no complete answer within " + std::to_string(timeout_ms_) + " ms";
    }
    return res;
}

}  // namespace streambed
