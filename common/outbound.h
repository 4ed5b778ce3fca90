#pragma once
// Outbound HTTP(S) to hosts that users name (push endpoints in push/sender.cpp, linked pages in
// fcgi-app/link_preview.cpp): the pieces both share. Which addresses may be reached is decided
// before these run (common/push_endpoint.h).

#include <Poco/Net/Context.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace streambed {

// A TLS client context: certificates checked against the system store with the host name
// (VERIFY_STRICT: RELAXED skips the name check for names that resolve to loopback, which it finds
// out with a second lookup an attacker may answer), or not checked at all (`verify` false: only
// for loopback in development mode). TLS 1.2 and later, strong ciphers.
Poco::Net::Context::Ptr OutboundTlsContext(bool verify);

// A connection to the first of `addresses` that accepts one before `deadline_micros` (each try
// waits at most 5 s), tried in order, with Nagle off and reads and writes timing out at the
// deadline; nullopt with `error` set when none did.
std::optional<Poco::Net::StreamSocket> ConnectFirst(const std::vector<Poco::Net::SocketAddress>& addresses,
                                                    int64_t deadline_micros, std::string* error);

}  // namespace streambed
