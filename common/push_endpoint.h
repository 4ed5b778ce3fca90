#pragma once
// Push endpoints: the URL a browser's push service gives it, which streambed-push will POST to.
// Because a client chooses it, an endpoint is a server-side request forgery vector: these rules
// keep it on the public internet. They run twice: when a subscription is registered (on the URL
// as written) and in streambed-push right before it connects (on every address the name
// resolves to, so a DNS answer cannot smuggle in an internal address later).
//
// Rules (API.md §3): https only, except plain http to a loopback host in development mode; no
// user info; outside development mode no loopback host or `localhost`; never a private,
// link-local, shared, multicast, reserved or documentation address, nor a single-label or
// local-only name (`intranet`, `printer.local`, `db.internal`) that only internal DNS answers.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace streambed {

// The longest endpoint accepted (push services' URLs are 200-400 bytes).
constexpr size_t kMaxPushEndpointBytes = 2048;

struct PushEndpoint {
    std::string scheme;  // "https" or "http", lowercase
    std::string host;    // lowercase, without a trailing dot; IPv6 without brackets
    int port = 0;        // explicit, or the scheme's default
    bool explicit_port = false;
    std::string target;  // path and query as given, at least "/"
    bool host_is_ip = false;

    // RFC 6454 origin, the VAPID `aud`: "https://push.example.net" (default port omitted).
    std::string Origin() const;
    // The Host header value: host[:port].
    std::string HostHeader() const;
};

// What kind of address a host is, for the rules above.
enum class HostClass {
    kPublic,
    kLoopback,  // 127.0.0.0/8, ::1, localhost: development mode only
    kInternal,  // private, link-local, shared, multicast, reserved, ...: never
};

// nullopt with `error` set (worded for a 400 naming "endpoint") when the URL is not a plain
// absolute http(s) URL we are willing to parse: no user info, no fragment, no backslash, no
// whitespace or non-ASCII, a valid host name or IP literal, a port in range.
std::optional<PushEndpoint> ParsePushEndpoint(std::string_view url, std::string* error);

// nullopt when the endpoint may be used; otherwise why not. Checks the scheme and the host as
// written (an IP literal or a name); resolved addresses are checked with ClassifyAddress.
std::optional<std::string> PushEndpointProblem(const PushEndpoint& endpoint, bool dev_mode);

// Parse and check in one step, for the registration route. nullopt when acceptable.
std::optional<std::string> PushEndpointUrlProblem(std::string_view url, bool dev_mode);

// The class of the host as written: an IP literal's, or a name's (`localhost` is loopback, a
// single-label or local-only name internal, any other public until resolved). nullopt for a
// malformed IP literal.
std::optional<HostClass> ClassifyHost(const PushEndpoint& endpoint);

// Addresses as the resolver returns them: IPv4 in host byte order, IPv6 as 16 bytes.
HostClass ClassifyIpv4(uint32_t address);
HostClass ClassifyIpv6(const unsigned char address[16]);

// May a connection go to an address of this class?
inline bool HostClassAllowed(HostClass c, bool dev_mode) {
    return c == HostClass::kPublic || (c == HostClass::kLoopback && dev_mode);
}

}  // namespace streambed
