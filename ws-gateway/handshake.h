#pragma once
// The WebSocket handshakes, on Poco's HTTP server threads: /api/connect (getstream.io's, §2 of
// STREAM-PROTOCOL.md) and /ws/<cid>/ (API.md §9). A handshake authenticates, asks the workers
// for the user, upgrades, and hands the socket to the event loop; it never keeps the socket.

#include <Poco/Net/HTTPRequestHandlerFactory.h>

#include "common/config.h"
#include "common/metrics.h"
#include "ws-gateway/backend.h"
#include "ws-gateway/event_loop.h"

namespace streambed {

class Gateway;

class HandshakeFactory final : public Poco::Net::HTTPRequestHandlerFactory {
public:
    // `registry` is rendered at GET /metrics (the gateway's port is private; nginx never routes it).
    HandshakeFactory(const Config& config, EventLoop& loop, Gateway& gateway, Backend& backend,
                     const metrics::Registry& registry)
        : config_(config), loop_(loop), gateway_(gateway), backend_(backend), registry_(registry) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest& request) override;

private:
    const Config& config_;
    EventLoop& loop_;
    Gateway& gateway_;
    Backend& backend_;
    const metrics::Registry& registry_;
};

}  // namespace streambed
