#include "fcgi-app/link_preview.h"

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/sha.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <istream>
#include <mutex>
#include <thread>
#include <vector>

#include "common/base64.h"
#include "common/clock.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/open_graph.h"
#include "common/outbound.h"
#include "common/push_endpoint.h"
#include "common/redis.h"

namespace streambed {

namespace {

constexpr int kMaxRedirects = 3;
constexpr size_t kMaxPageBytes = 512 * 1024;
constexpr int kCacheSeconds = 3600;
constexpr int kFailureCacheSeconds = 300;
// What the cache holds for a link that has no preview: the reason after this mark.
constexpr std::string_view kFailureMark = "!";
constexpr const char* kUserAgent = "streambed-link-preview/1.0 (+https://github.com/streambed)";

struct Failure {
    std::string problem;
};

// Shuts the socket down when the deadline passes, which makes a read or write blocked on it fail
// at once: Poco's timeouts bound each read, not a peer that sends a byte just before each runs
// out. One short-lived thread per fetch (fetches are rare: the cache answers repeats).
class SocketDeadline {
public:
    SocketDeadline(int fd, int64_t deadline_micros)
        : thread_([this, fd, deadline_micros] {
              std::unique_lock<std::mutex> lock(mutex_);
              auto until = std::chrono::steady_clock::now() +
                           std::chrono::microseconds(std::max<int64_t>(deadline_micros - NowMicros(), 0));
              if (!done_.wait_until(lock, until, [this] { return finished_; })) {
                  ::shutdown(fd, SHUT_RDWR);
                  fired_ = true;
              }
          }) {}
    // Joined before the socket it watches is closed (declare it after the socket).
    ~SocketDeadline() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            finished_ = true;
        }
        done_.notify_one();
        thread_.join();
    }
    SocketDeadline(const SocketDeadline&) = delete;
    SocketDeadline& operator=(const SocketDeadline&) = delete;

private:
    std::mutex mutex_;
    std::condition_variable done_;
    bool finished_ = false;
    bool fired_ = false;
    std::thread thread_;
};

// A name lookup with a deadline: getaddrinfo alone waits as long as the resolver's own timeouts
// (seconds per server and attempt). A lookup still running at the deadline is abandoned; its
// request block must then outlive it and is left allocated (a few hundred bytes per abandoned
// lookup, only when the resolver hangs).
struct Lookup {
    std::string host;
    std::string port;
    addrinfo hints{};
    gaicb request{};
};

std::vector<Poco::Net::SocketAddress> Resolve(const PushEndpoint& ep, bool dev_mode, int64_t deadline) {
    auto lookup = std::make_unique<Lookup>();
    lookup->host = ep.host;
    lookup->port = std::to_string(ep.port);
    lookup->hints.ai_family = AF_UNSPEC;
    lookup->hints.ai_socktype = SOCK_STREAM;
    if (ep.host_is_ip) lookup->hints.ai_flags = AI_NUMERICHOST;
    lookup->request.ar_name = lookup->host.c_str();
    lookup->request.ar_service = lookup->port.c_str();
    lookup->request.ar_request = &lookup->hints;
    gaicb* list[1] = {&lookup->request};
    if (getaddrinfo_a(GAI_NOWAIT, list, 1, nullptr) != 0) throw Failure{"the link's host could not be looked up"};
    for (int round = 0; round < 1000 && gai_error(&lookup->request) == EAI_INPROGRESS; ++round) {
        int64_t left = deadline - NowMicros();
        if (left <= 0) break;
        timespec wait{static_cast<time_t>(left / 1000000), static_cast<long>(left % 1000000) * 1000};
        gai_suspend(list, 1, &wait);  // returns early on a signal; the loop waits again
    }
    int rc = gai_error(&lookup->request);
    if (rc == EAI_INPROGRESS) {
        if (gai_cancel(&lookup->request) != EAI_CANCELED) (void)lookup.release();  // still in use: see above
        throw Failure{"the link's host did not resolve in time"};
    }
    if (rc != 0) throw Failure{"the link's host does not resolve"};
    addrinfo* found = lookup->request.ar_result;
    std::vector<Poco::Net::SocketAddress> addresses;
    bool refused = false;
    // Every address must pass, not only the one used: a name that mixes public and internal
    // addresses is an attempt at the internal one.
    for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
        HostClass cls;
        if (ai->ai_family == AF_INET)
            cls = ClassifyIpv4(ntohl(reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr.s_addr));
        else if (ai->ai_family == AF_INET6)
            cls = ClassifyIpv6(reinterpret_cast<const sockaddr_in6*>(ai->ai_addr)->sin6_addr.s6_addr);
        else
            continue;
        if (!HostClassAllowed(cls, dev_mode)) refused = true;
        addresses.emplace_back(ai->ai_addr, static_cast<poco_socklen_t>(ai->ai_addrlen));
    }
    freeaddrinfo(found);
    if (refused) throw Failure{"the link points at an address this server does not fetch from"};
    if (addresses.empty()) throw Failure{"the link's host has no address"};
    return addresses;
}

PushEndpoint CheckedLink(std::string_view link, bool dev_mode) {
    std::string error;
    // A fragment never goes to the server (and the endpoint rules refuse one).
    auto ep = ParsePushEndpoint(link.substr(0, link.find('#')), &error);
    if (!ep || (ep->scheme != "http" && ep->scheme != "https")) throw Failure{"not an http(s) link"};
    auto cls = ClassifyHost(*ep);
    if (!cls || !HostClassAllowed(*cls, dev_mode))
        throw Failure{"the link points at a host this server does not fetch from"};
    return *ep;
}

struct Page {
    int status = 0;
    std::string location;
    std::string content_type;  // lowercase, without parameters
    std::string body;
};

Page FetchOnce(const PushEndpoint& ep, bool dev_mode, int64_t deadline) {
    auto addresses = Resolve(ep, dev_mode, deadline);
    std::string connect_error;
    std::optional<Poco::Net::StreamSocket> connected = ConnectFirst(addresses, deadline, &connect_error);
    if (!connected) throw Failure{"the link's host could not be reached"};
    Poco::Net::StreamSocket socket = *connected;
    std::optional<Poco::Net::SecureStreamSocket> tls;
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    SocketDeadline watch(socket.impl()->sockfd(), deadline);
    if (ep.scheme == "https") {
        // Certificates are checked except for loopback in development mode (a test page with a
        // self-signed certificate).
        static const Poco::Net::Context::Ptr verified = OutboundTlsContext(true);
        static const Poco::Net::Context::Ptr unverified = OutboundTlsContext(false);
        bool loopback = ClassifyHost(ep) == HostClass::kLoopback;
        tls = Poco::Net::SecureStreamSocket::attach(socket, ep.host, dev_mode && loopback ? unverified : verified);
        session = std::make_unique<Poco::Net::HTTPClientSession>(*tls);  // not HTTPSClientSession: push/sender.cpp
    } else {
        session = std::make_unique<Poco::Net::HTTPClientSession>(socket);
    }
    session->setTimeout(socket.getReceiveTimeout());  // the deadline's, from ConnectFirst
    session->setKeepAlive(false);
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, ep.target, Poco::Net::HTTPMessage::HTTP_1_1);
    request.setHost(ep.HostHeader());
    request.set("User-Agent", kUserAgent);
    request.set("Accept", "text/html,application/xhtml+xml;q=0.9,image/*;q=0.8");
    request.set("Accept-Encoding", "identity");
    request.setKeepAlive(false);
    session->sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& in = session->receiveResponse(response);
    Page page;
    page.status = static_cast<int>(response.getStatus());
    if (response.has("Location")) page.location = response.get("Location");
    page.content_type = response.getContentType();
    page.content_type = page.content_type.substr(0, page.content_type.find(';'));
    std::transform(page.content_type.begin(), page.content_type.end(), page.content_type.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    while (!page.content_type.empty() && page.content_type.back() == ' ') page.content_type.pop_back();
    bool html = page.content_type == "text/html" || page.content_type == "application/xhtml+xml";
    if (page.status == 200 && html) {
        if (response.has("Content-Encoding") && response.get("Content-Encoding") != "identity")
            throw Failure{"the page came compressed although it was asked not to"};
        char chunk[16384];
        while (page.body.size() < kMaxPageBytes && in) {
            in.read(chunk, static_cast<std::streamsize>(std::min(sizeof chunk, kMaxPageBytes - page.body.size())));
            size_t from = page.body.size() < 6 ? 0 : page.body.size() - 6;  // "</head" may straddle two chunks
            page.body.append(chunk, static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0)));
            // The head is what holds the tags; most pages have it in the first chunk.
            if (page.body.find("</head>", from) != std::string::npos ||
                page.body.find("</HEAD>", from) != std::string::npos)
                break;
        }
        // Cut off by the deadline: what arrived is not the whole head, and may say less than it.
        if (NowMicros() >= deadline) throw Failure{"the page did not answer in time"};
    }
    return page;
}

void PutNonEmpty(JsonWriter& w, std::string_view key, std::string_view value) {
    if (!value.empty()) PutString(w, key, value);
}

// getstream.io's attachment for a link: og_scrape_url is the link as written (the kit matches it
// against the text), title_link where the page lives, thumb_url the image again (the kit's card
// shows either).
std::string Attachment(std::string_view link, std::string_view final_url, const OpenGraph* og, bool is_image) {
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    if (is_image) {
        PutString(w, "type", "image");
        PutString(w, "image_url", final_url);
        PutString(w, "thumb_url", final_url);
    } else {
        bool video = !og->video.empty() && og->type.rfind("video", 0) == 0;
        bool audio = !video && !og->audio.empty();
        if (video) PutString(w, "type", "video");
        if (audio) PutString(w, "type", "audio");
        PutNonEmpty(w, "author_name", og->site_name);
        PutNonEmpty(w, "title", og->title);
        PutString(w, "title_link", og->url.empty() ? final_url : std::string_view(og->url));
        PutNonEmpty(w, "text", og->description);
        PutNonEmpty(w, "image_url", og->image);
        PutNonEmpty(w, "thumb_url", og->image);
        if (video) PutString(w, "asset_url", og->video);
        if (audio) PutString(w, "asset_url", og->audio);
    }
    PutString(w, "og_scrape_url", link);
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

std::string Fetch(std::string_view link, bool dev_mode, int timeout_ms) {
    const int64_t deadline = NowMicros() + int64_t{timeout_ms} * 1000;
    std::string current(link);
    for (int hop = 0; hop <= kMaxRedirects; ++hop) {
        PushEndpoint ep = CheckedLink(current, dev_mode);
        Page page;
        try {
            page = FetchOnce(ep, dev_mode, deadline);
        } catch (const Poco::Exception&) {
            if (NowMicros() >= deadline) throw Failure{"the page did not answer in time"};
            throw Failure{"the page could not be read"};
        }
        if (page.status >= 300 && page.status < 400 && !page.location.empty()) {
            current = ResolveLink(current, page.location);
            if (current.empty()) throw Failure{"the page redirects to something that is not an http(s) link"};
            continue;
        }
        if (page.status != 200) throw Failure{"the page answered " + std::to_string(page.status)};
        if (page.content_type.rfind("image/", 0) == 0) return Attachment(link, current, nullptr, true);
        if (page.body.empty()) throw Failure{"the link is not a web page or an image"};
        OpenGraph og = ParseOpenGraph(page.body, current, kMaxPageBytes);
        if (og.empty()) throw Failure{"the page has nothing to preview"};
        return Attachment(link, current, &og, false);
    }
    throw Failure{"the page redirects more than " + std::to_string(kMaxRedirects) + " times"};
}

bool IsPreview(const JsonValue& attachment) {
    return attachment.IsObject() && attachment.HasMember("og_scrape_url") && attachment["og_scrape_url"].IsString();
}

}  // namespace

LinkPreviewResult PreviewLink(Call& call, std::string_view link) {
    LinkPreviewResult result;
    const Config& config = call.config();
    if (config.link_preview_timeout_ms == 0) {
        result.problem = "link previews are turned off on this server";
        return result;
    }
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(link.data()), link.size(), digest);
    std::string key =
        keys::LinkPreview(Base64UrlEncode(std::string_view(reinterpret_cast<char*>(digest), sizeof digest)));
    try {
        if (auto cached = ReplyString(call.redis().Command({"GET", key}).get())) {
            if (cached->rfind(kFailureMark, 0) == 0)
                result.problem = cached->substr(kFailureMark.size());
            else
                result.attachment = std::move(*cached);
            return result;
        }
    } catch (const std::exception& e) {
        Log(LogLevel::kWarn, "link_preview.cache_failed").Str("error", e.what());
    }
    int64_t started = NowMicros();
    try {
        result.attachment = Fetch(link, config.dev_mode, config.link_preview_timeout_ms);
    } catch (const Failure& f) {
        result.problem = f.problem;
    } catch (const std::exception& e) {
        result.problem = "the page could not be read";
        Log(LogLevel::kWarn, "link_preview.failed").Str("error", e.what());
    }
    Log(LogLevel::kInfo, "link_preview.fetched")
        .Bool("ok", result.attachment.has_value())
        .Str("problem", result.problem)
        .Int("micros", NowMicros() - started);
    try {
        if (result.attachment)
            call.redis().Command({"SET", key, *result.attachment, "EX", std::to_string(kCacheSeconds)});
        else
            call.redis().Command(
                {"SET", key, std::string(kFailureMark) + result.problem, "EX", std::to_string(kFailureCacheSeconds)});
    } catch (const std::exception& e) {
        Log(LogLevel::kWarn, "link_preview.cache_failed").Str("error", e.what());
    }
    return result;
}

std::optional<std::string> RefreshLinkPreview(Call& call, std::string_view text, std::string_view attachments_json,
                                              LinkPreviewRefresh how) {
    std::vector<std::string> links = FindLinks(text, 10);
    if (links.empty() && how == LinkPreviewRefresh::kAdd) return std::nullopt;
    rapidjson::Document attachments;
    attachments.Parse(attachments_json.data(), attachments_json.size());
    if (attachments.HasParseError() || !attachments.IsArray()) return std::nullopt;
    bool changed = false;
    bool kept_preview = false;
    for (auto it = attachments.Begin(); it != attachments.End();) {
        if (!IsPreview(*it)) {
            ++it;
            continue;
        }
        std::string_view scraped((*it)["og_scrape_url"].GetString(), (*it)["og_scrape_url"].GetStringLength());
        if (how == LinkPreviewRefresh::kAdd || std::find(links.begin(), links.end(), scraped) != links.end()) {
            kept_preview = true;
            ++it;
        } else {
            it = attachments.Erase(it);
            changed = true;
        }
    }
    if (!kept_preview && !links.empty() && attachments.Size() < 30) {
        LinkPreviewResult preview = PreviewLink(call, links.front());
        if (preview.attachment) {
            rapidjson::Document made;
            made.Parse(preview.attachment->data(), preview.attachment->size());
            if (!made.HasParseError() && made.IsObject()) {
                attachments.PushBack(JsonValue(made, attachments.GetAllocator()), attachments.GetAllocator());
                changed = true;
            }
        }
    }
    if (!changed) return std::nullopt;
    return ToJson(attachments);
}

}  // namespace streambed
