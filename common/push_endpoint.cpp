#include "common/push_endpoint.h"

#include <arpa/inet.h>

#include <array>
#include <cctype>
#include <cstring>

namespace streambed {

namespace {

std::string Lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// One dotted part of a WHATWG IPv4 address: decimal, 0x-hex or 0-prefixed octal.
std::optional<uint64_t> Ipv4Part(std::string_view part) {
    if (part.empty()) return std::nullopt;
    int base = 10;
    if (part.size() >= 2 && part[0] == '0' && (part[1] == 'x' || part[1] == 'X')) {
        base = 16;
        part.remove_prefix(2);
        if (part.empty()) return 0;  // "0x" is zero, as browsers read it
    } else if (part.size() >= 2 && part[0] == '0') {
        base = 8;
        part.remove_prefix(1);
    }
    if (part.size() > 12) return std::nullopt;
    uint64_t v = 0;
    for (char c : part) {
        int d;
        if (c >= '0' && c <= '9') {
            d = c - '0';
        } else if (base == 16 && c >= 'a' && c <= 'f') {
            d = c - 'a' + 10;
        } else {
            return std::nullopt;
        }
        if (d >= base) return std::nullopt;
        v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
    }
    return v;
}

// A host whose last label is a number is an IPv4 address to browsers and to getaddrinfo alike
// ("127.1", "0x7f.1", "2130706433" are all 127.0.0.1), so it is read as one, never as a name.
bool EndsInNumber(std::string_view host) {
    size_t dot = host.rfind('.');
    std::string_view last = dot == std::string_view::npos ? host : host.substr(dot + 1);
    if (last.empty()) return false;
    if (last.size() >= 2 && last[0] == '0' && last[1] == 'x') {
        for (char c : last.substr(2)) {
            if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
        }
        return true;
    }
    for (char c : last) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

std::optional<uint32_t> ParseIpv4(std::string_view host) {
    std::array<uint64_t, 4> parts{};
    size_t n = 0;
    while (true) {
        if (n == 4) return std::nullopt;
        size_t dot = host.find('.');
        auto v = Ipv4Part(host.substr(0, dot));
        if (!v) return std::nullopt;
        parts[n++] = *v;
        if (dot == std::string_view::npos) break;
        host.remove_prefix(dot + 1);
    }
    uint64_t address = 0;
    for (size_t i = 0; i + 1 < n; ++i) {
        if (parts[i] > 255) return std::nullopt;
        address |= parts[i] << (8 * (3 - i));
    }
    uint64_t last_limit = uint64_t{1} << (8 * (5 - n));
    if (parts[n - 1] >= last_limit) return std::nullopt;
    address |= parts[n - 1];
    return static_cast<uint32_t>(address);
}

std::string FormatIpv4(uint32_t a) {
    return std::to_string(a >> 24) + '.' + std::to_string((a >> 16) & 255) + '.' + std::to_string((a >> 8) & 255) +
           '.' + std::to_string(a & 255);
}

bool ValidHostName(std::string_view name) {
    if (name.empty() || name.size() > 253) return false;
    size_t label = 0;
    char prev = '.';
    for (char c : name) {
        if (c == '.') {
            if (label == 0 || prev == '-') return false;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
            if (label == 0 && c == '-') return false;
            if (++label > 63) return false;
        } else {
            return false;
        }
        prev = c;
    }
    return label > 0 && prev != '-';
}

bool InV4(uint32_t a, uint32_t net, int bits) {
    uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
    return (a & mask) == net;
}

bool PrefixV6(const unsigned char* a, std::initializer_list<unsigned char> prefix, int bits) {
    int full = bits / 8;
    auto it = prefix.begin();
    for (int i = 0; i < full; ++i, ++it) {
        if (a[i] != *it) return false;
    }
    int rest = bits % 8;
    if (rest == 0) return true;
    unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
    return (a[full] & mask) == (*it & mask);
}

uint32_t V4At(const unsigned char* a, int offset) {
    return (uint32_t{a[offset]} << 24) | (uint32_t{a[offset + 1]} << 16) | (uint32_t{a[offset + 2]} << 8) |
           uint32_t{a[offset + 3]};
}

HostClass ClassifyName(std::string_view name) {
    if (name == "localhost" || EndsWith(name, ".localhost")) return HostClass::kLoopback;
    // A single label is completed from the resolver's search domains: an intranet host.
    if (name.find('.') == std::string_view::npos) return HostClass::kInternal;
    for (std::string_view suffix : {".local", ".internal", ".localdomain", ".home.arpa", ".lan", ".intranet"}) {
        if (EndsWith(name, suffix)) return HostClass::kInternal;
    }
    return HostClass::kPublic;
}

}  // namespace

// Built with append(): GCC 12 reports a false -Wrestrict on `"[" + host + "]"`.
std::string PushEndpoint::HostHeader() const {
    std::string value;
    bool ipv6 = host.find(':') != std::string::npos;
    if (ipv6) value.append(1, '[');
    value.append(host);
    if (ipv6) value.append(1, ']');
    int default_port = scheme == "https" ? 443 : 80;
    if (port != default_port) value.append(1, ':').append(std::to_string(port));
    return value;
}

std::string PushEndpoint::Origin() const {
    std::string origin = scheme;
    origin.append("://").append(HostHeader());
    return origin;
}

std::optional<PushEndpoint> ParsePushEndpoint(std::string_view url, std::string* error) {
    auto fail = [error](const char* why) -> std::optional<PushEndpoint> {
        if (error != nullptr) *error = why;
        return std::nullopt;
    };
    if (url.empty()) return fail("endpoint is required");
    if (url.size() > kMaxPushEndpointBytes) return fail("endpoint is longer than 2048 bytes");
    for (char c : url) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f) return fail("endpoint must be printable ASCII without spaces");
        // Browsers read '\' as '/' in http(s) URLs; refusing it leaves no two readings of one URL.
        if (c == '\\') return fail("endpoint must not contain a backslash");
        if (c == '#') return fail("endpoint must not have a fragment");
    }

    PushEndpoint ep;
    size_t sep = url.find("://");
    if (sep == std::string_view::npos) return fail("endpoint must be an absolute https URL");
    ep.scheme = Lower(url.substr(0, sep));
    if (ep.scheme != "https" && ep.scheme != "http") return fail("endpoint must be an https URL");
    std::string_view rest = url.substr(sep + 3);
    size_t authority_end = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, authority_end);
    std::string_view target = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
    if (target.empty() || target[0] == '?') ep.target.push_back('/');
    ep.target.append(target);

    if (authority.find('@') != std::string_view::npos) return fail("endpoint must not contain user info");
    if (authority.empty()) return fail("endpoint has no host");

    std::string_view host;
    std::string_view port_text;
    bool ipv6 = false;
    if (authority[0] == '[') {
        size_t close = authority.find(']');
        if (close == std::string_view::npos) return fail("endpoint has a malformed IPv6 address");
        host = authority.substr(1, close - 1);
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after[0] != ':') return fail("endpoint has a malformed host");
            port_text = after.substr(1);
            if (port_text.empty()) return fail("endpoint has a bad port");
        }
        ipv6 = true;
    } else {
        size_t colon = authority.find(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) {
            port_text = authority.substr(colon + 1);
            if (port_text.empty() || port_text.find(':') != std::string_view::npos)
                return fail("endpoint has a bad port");
        }
    }

    ep.port = ep.scheme == "https" ? 443 : 80;
    if (!port_text.empty()) {
        if (port_text.size() > 5) return fail("endpoint has a bad port");
        int port = 0;
        for (char c : port_text) {
            if (c < '0' || c > '9') return fail("endpoint has a bad port");
            port = port * 10 + (c - '0');
        }
        if (port < 1 || port > 65535) return fail("endpoint has a bad port");
        ep.port = port;
        ep.explicit_port = true;
    }

    if (ipv6) {
        std::string text = Lower(host);
        unsigned char bytes[16];
        // No zone ids ("fe80::1%eth0"): inet_pton refuses them, and they only name local links.
        if (inet_pton(AF_INET6, text.c_str(), bytes) != 1) return fail("endpoint has a malformed IPv6 address");
        char canonical[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, bytes, canonical, sizeof canonical);
        ep.host = canonical;
        ep.host_is_ip = true;
        return ep;
    }

    std::string name = Lower(host);
    if (!name.empty() && name.back() == '.') name.pop_back();
    if (name.empty()) return fail("endpoint has no host");
    if (EndsInNumber(name)) {
        auto v4 = ParseIpv4(name);
        if (!v4) return fail("endpoint has a malformed IPv4 address");
        ep.host = FormatIpv4(*v4);
        ep.host_is_ip = true;
        return ep;
    }
    if (!ValidHostName(name)) return fail("endpoint has a malformed host name");
    ep.host = std::move(name);
    return ep;
}

HostClass ClassifyIpv4(uint32_t a) {
    if (InV4(a, 0x7f000000, 8)) return HostClass::kLoopback;  // 127.0.0.0/8
    static constexpr std::array<std::pair<uint32_t, int>, 15> kInternal = {{
        {0x00000000, 8},   // 0.0.0.0/8 "this network"
        {0x0a000000, 8},   // 10.0.0.0/8 private
        {0x64400000, 10},  // 100.64.0.0/10 shared (carrier-grade NAT)
        {0xa9fe0000, 16},  // 169.254.0.0/16 link-local (cloud metadata lives here)
        {0xac100000, 12},  // 172.16.0.0/12 private
        {0xc0000000, 24},  // 192.0.0.0/24 IETF protocol assignments
        {0xc0000200, 24},  // 192.0.2.0/24 documentation
        {0xc0586300, 24},  // 192.88.99.0/24 6to4 relay anycast
        {0xc0a80000, 16},  // 192.168.0.0/16 private
        {0xc6120000, 15},  // 198.18.0.0/15 benchmarking
        {0xc6336400, 24},  // 198.51.100.0/24 documentation
        {0xcb007100, 24},  // 203.0.113.0/24 documentation
        {0xe0000000, 4},   // 224.0.0.0/4 multicast
        {0xf0000000, 4},   // 240.0.0.0/4 reserved, and the broadcast address
        {0xffffffff, 32},
    }};
    for (const auto& [net, bits] : kInternal) {
        if (InV4(a, net, bits)) return HostClass::kInternal;
    }
    return HostClass::kPublic;
}

HostClass ClassifyIpv6(const unsigned char a[16]) {
    static const unsigned char kZero[16] = {};
    if (std::memcmp(a, kZero, 15) == 0 && a[15] == 1) return HostClass::kLoopback;  // ::1
    if (std::memcmp(a, kZero, 16) == 0) return HostClass::kInternal;                // ::
    // Addresses that carry an IPv4 address are judged by it.
    if (PrefixV6(a, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96)) return ClassifyIpv4(V4At(a, 12));        // mapped
    if (PrefixV6(a, {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0}, 96)) return ClassifyIpv4(V4At(a, 12));  // NAT64
    if (PrefixV6(a, {0x20, 0x02}, 16)) return ClassifyIpv4(V4At(a, 2));                                       // 6to4
    if (PrefixV6(a, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 96)) return HostClass::kInternal;  // IPv4-compatible
    struct Net {
        std::initializer_list<unsigned char> prefix;
        int bits;
    };
    static const Net kInternal[] = {
        {{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48},  // 64:ff9b:1::/48 local-use NAT64
        {{0x01, 0x00, 0, 0, 0, 0, 0, 0}, 64},        // 100::/64 discard
        {{0x20, 0x01, 0x00}, 23},                    // 2001::/23 IETF protocol assignments (Teredo, ...)
        {{0x20, 0x01, 0x0d, 0xb8}, 32},              // 2001:db8::/32 documentation
        {{0x3f, 0xff, 0x00}, 20},                    // 3fff::/20 documentation
        {{0xfc}, 7},                                 // fc00::/7 unique local
        {{0xfe, 0x80}, 10},                          // fe80::/10 link-local
        {{0xfe, 0xc0}, 10},                          // fec0::/10 site-local (deprecated)
        {{0xff}, 8},                                 // ff00::/8 multicast
    };
    for (const Net& net : kInternal) {
        if (PrefixV6(a, net.prefix, net.bits)) return HostClass::kInternal;
    }
    return HostClass::kPublic;
}

std::optional<HostClass> ClassifyHost(const PushEndpoint& ep) {
    if (ep.host_is_ip && ep.host.find(':') != std::string::npos) {
        unsigned char bytes[16];
        if (inet_pton(AF_INET6, ep.host.c_str(), bytes) != 1) return std::nullopt;
        return ClassifyIpv6(bytes);
    }
    if (ep.host_is_ip) {
        in_addr v4{};
        if (inet_pton(AF_INET, ep.host.c_str(), &v4) != 1) return std::nullopt;
        return ClassifyIpv4(ntohl(v4.s_addr));
    }
    return ClassifyName(ep.host);
}

std::optional<std::string> PushEndpointProblem(const PushEndpoint& ep, bool dev_mode) {
    auto classified = ClassifyHost(ep);
    if (!classified) {
        return ep.host.find(':') != std::string::npos ? "endpoint has a malformed IPv6 address"
                                                      : "endpoint has a malformed IPv4 address";
    }
    HostClass cls = *classified;
    if (cls == HostClass::kInternal) {
        return ep.host_is_ip ? "endpoint must not point at a private, link-local or reserved address"
                             : "endpoint host must be a public DNS name";
    }
    if (cls == HostClass::kLoopback && !dev_mode)
        return "endpoint must not point at this machine (loopback is allowed in development mode only)";
    if (ep.scheme != "https" && !(dev_mode && cls == HostClass::kLoopback))
        return "endpoint must be an https URL (plain http is allowed only to loopback in development mode)";
    return std::nullopt;
}

std::optional<std::string> PushEndpointUrlProblem(std::string_view url, bool dev_mode) {
    std::string error;
    auto ep = ParsePushEndpoint(url, &error);
    if (!ep) return error;
    return PushEndpointProblem(*ep, dev_mode);
}

}  // namespace streambed
