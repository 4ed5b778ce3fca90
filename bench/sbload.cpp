// sbload: the load generator of scripts/bench and scripts/loadtest. One process, one epoll loop,
// many WebSocket clients (the /api/connect handshake of STREAM-PROTOCOL.md §2, or a plain socket
// for the Node `ws` peer) and a small pool of keep-alive HTTP connections for the REST calls the
// clients make (watching a channel, sending messages, queryChannels, mark read, typing).
//
// It measures the server, not itself: frames are matched with a substring search (no JSON parse
// per delivery), latencies go into a fixed log-linear histogram, and every timestamp that crosses
// processes is CLOCK_REALTIME on one machine.
//
// Protocol with the harness (bench/run.mjs, bench/loadtest.mjs), line based:
//   stdout  "READY {json}"   every client connected and subscribed (or failed)
//           "SENT {json}"    the send schedule ended
//           "RESULT {json}"  after "stop": everything measured
//   stdin   "go"             start the action schedule (--send-rate, --query-rate,
//                            --channel-query-rate, ...)
//           "stop"           wait for deliveries to settle (--drain-ms of silence), report, exit
// A bounded run: --max-seconds kills the process's work after that long whatever happens.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

int64_t RealNs() {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}
int64_t MonoNs() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// ---------------------------------------------------------------------------------------------
// Histogram of microseconds: exact below 1024 µs, then 512 sub-buckets per power of two (< 0.2%).
// ---------------------------------------------------------------------------------------------
class Histogram {
public:
    Histogram() : counts_(1024 + 40 * 512, 0) {}
    void Add(int64_t us) {
        if (us < 0) us = 0;
        ++counts_[Index(static_cast<uint64_t>(us))];
        ++total_;
        if (us > max_) max_ = us;
    }
    uint64_t total() const { return total_; }
    // [[value, count], ...] for the non-empty buckets (value: the bucket's lower bound).
    std::string Json() const {
        std::string out = "[";
        bool first = true;
        for (size_t i = 0; i < counts_.size(); ++i) {
            if (counts_[i] == 0) continue;
            if (!first) out += ',';
            first = false;
            out += "[" + std::to_string(Value(i)) + "," + std::to_string(counts_[i]) + "]";
        }
        return out + "]";
    }
    int64_t max() const { return max_; }

private:
    static size_t Index(uint64_t v) {
        if (v < 1024) return v;
        int b = 63 - __builtin_clzll(v);
        if (b > 49) b = 49;
        int shift = b - 9;
        return 1024 + size_t(b - 10) * 512 + size_t((v >> shift) - 512);
    }
    static uint64_t Value(size_t i) {
        if (i < 1024) return i;
        size_t b = (i - 1024) / 512 + 10;
        size_t sub = (i - 1024) % 512 + 512;
        return uint64_t(sub) << (b - 9);
    }
    std::vector<uint64_t> counts_;
    uint64_t total_ = 0;
    int64_t max_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------
struct Options {
    std::string mode = "stream";  // stream: /api/connect; plain: a bare broadcast server; none: REST only
    std::string host = "127.0.0.1";
    std::vector<int> ws_ports;    // sockets are spread round-robin over these
    std::string ws_path = "/api/connect";
    int rest_port = 0;
    int rest_connections = 8;
    std::string api_key, secret;
    std::string plan;             // file: one client per line: "<user_id> <cid> <cid>..."
    std::string watch = "query";  // query: one channel query per cid; channels: one queryChannels
    int connect_rate = 0;         // sockets per second (0: as fast as --connect-parallel allows)
    int connect_parallel = 200;   // handshakes in flight
    double send_rate = 0;         // messages per second (whole process)
    double send_seconds = 0;
    double large_share = -1;      // share of sends to a client's last cid (its large channel); -1: uniform
    double query_rate = 0, read_rate = 0, typing_rate = 0;
    double channel_query_rate = 0;  // one channel's state, newest 25 messages (scripts/bench latency)
    int pad = 0;                  // plain mode: bytes of padding per message frame
    int drain_ms = 1500;
    int max_seconds = 3600;
    int proc = 0;                 // this process's number, part of every message key
    std::string nonce = "x";
    bool track = false;           // record each (socket, message) pair: exactly-once accounting
    bool ready_without_ws = false;
};

// ---------------------------------------------------------------------------------------------
// Tokens (HS256, as the SDK's own signer makes them)
// ---------------------------------------------------------------------------------------------
std::string Base64Url(const unsigned char* data, size_t n) {
    static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t(data[i]) << 16) | (uint32_t(data[i + 1]) << 8) | data[i + 2];
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += kAlphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = uint32_t(data[i]) << 16;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t(data[i]) << 16) | (uint32_t(data[i + 1]) << 8);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
    }
    return out;
}
std::string B64(std::string_view s) { return Base64Url(reinterpret_cast<const unsigned char*>(s.data()), s.size()); }

std::string SignToken(const std::string& user_id, const std::string& secret) {
    std::string body = B64(R"({"alg":"HS256","typ":"JWT"})") + "." + B64(R"({"user_id":")" + user_id + R"("})");
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), int(secret.size()), reinterpret_cast<const unsigned char*>(body.data()),
         body.size(), mac, &len);
    return body + "." + Base64Url(mac, len);
}

std::string UrlEncode(std::string_view s) {
    static const char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += char(c);
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// The loop
// ---------------------------------------------------------------------------------------------
struct Handler {
    virtual ~Handler() = default;
    virtual void OnIo(uint32_t events) = 0;
};

int g_epoll = -1;
void Watch(int fd, uint32_t events, Handler* h, bool add) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = h;
    epoll_ctl(g_epoll, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
}

int ConnectTcp(const std::string& host, int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(uint16_t(port));
    inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

struct Client;
class Load;

// One keep-alive HTTP/1.1 connection to nginx, one request at a time.
struct HttpRequest {
    std::string method, target, token, body;
    int kind = 0;  // index into Load::rest_stats_
    Client* client = nullptr;
    int64_t queued_mono = 0;
    uint64_t key = 0;  // message key of a send
    std::string cid;
};

class HttpConn final : public Handler {
public:
    HttpConn(Load& load, int index) : load_(load), index_(index) {}
    bool idle() const { return !busy_; }
    void Start(HttpRequest req);
    void OnIo(uint32_t events) override;

private:
    void Open();
    void Send();
    void Close();
    void Fail(const char* why);
    void TryParse();
    Load& load_;
    int index_;
    int fd_ = -1;
    bool connected_ = false, busy_ = false;
    std::string out_, in_;
    size_t out_off_ = 0;
    HttpRequest req_;
    int64_t sent_mono_ = 0;
    bool reused_ = false;           // the request went out on a connection that had answered before
    bool resent_ = false;           // already sent a second time after such a connection closed
    int answered_ = 0;              // answers read on the current connection
    uint64_t connections_opened_ = 0;
};

struct Client final : public Handler {
    Load* load = nullptr;
    int index = 0;
    std::string user, token;
    std::vector<std::string> cids;
    int port = 0;
    int fd = -1;
    enum class St { kIdle, kConnecting, kHandshake, kOpen, kReady, kClosed } st = St::kIdle;
    std::string in, out;
    size_t out_off = 0;
    size_t in_off = 0;
    std::string connection_id;
    int64_t connect_start_mono = 0;
    int64_t last_health_mono = 0;
    int watch_pending = 0;
    bool watching = false;
    std::vector<uint64_t> seen;  // message keys, with --track
    void OnIo(uint32_t events) override;
    void Fail(const std::string& why);
    void SendFrame(std::string_view payload);
    void Flush();
    void OnFrames();
    void OnText(std::string_view text);
};

class Load {
public:
    explicit Load(Options o) : opt_(std::move(o)), rng_(uint32_t(getpid() ^ RealNs())) {
        marker_ = "sb " + opt_.nonce + " ";
        for (const char* k : {"watch", "send", "query", "read", "typing", "channel"}) {
            rest_names_.push_back(k);
            rest_stats_.emplace_back();
            rest_scheduled_.emplace_back();
            rest_errors_.push_back(0);
            rest_ok_.push_back(0);
        }
    }
    int Run();

    // From clients and HTTP connections.
    void ClientReady(Client& c);
    void ClientFailed(Client& c, const std::string& why);
    void Delivery(Client& c, std::string_view text, size_t frame_size);
    int64_t EventTimeNs(std::string_view text);
    void Submit(HttpRequest req);
    void HttpDone(HttpRequest& req, int status, std::string_view body, int64_t latency_us);
    void HttpFreed(int index);
    const Options& opt() const { return opt_; }
    int64_t now_mono() const { return now_mono_; }
    std::string RestTarget(const std::string& path, const Client& c, bool with_connection) const {
        std::string t = path + "?api_key=" + UrlEncode(opt_.api_key) + "&user_id=" + UrlEncode(c.user);
        if (with_connection && !c.connection_id.empty()) t += "&connection_id=" + UrlEncode(c.connection_id);
        return t;
    }
    static std::string ChannelPath(const std::string& cid) {
        size_t colon = cid.find(':');
        return "/api/channels/" + cid.substr(0, colon) + "/" + cid.substr(colon + 1) + "/";
    }

private:
    void LoadPlan();
    void Pump();          // starts connects within the rate
    void Tick();          // pings, schedule, readiness
    void StartWatch(Client& c);
    void DoSend();
    void DoAction(int kind);
    void OnStdin();
    void CheckReady();
    void Report();
    std::string HandshakeRequest(Client& c) const;

    Options opt_;
    std::mt19937_64 rng_;
    std::string marker_;
    std::vector<std::unique_ptr<Client>> clients_;
    std::vector<std::unique_ptr<HttpConn>> http_;
    std::vector<int> http_idle_;
    std::deque<HttpRequest> http_queue_;
    size_t next_connect_ = 0;
    int in_flight_ = 0;
    int64_t now_mono_ = 0;
    int64_t start_mono_ = 0;
    int64_t first_connect_mono_ = 0, last_ready_mono_ = 0;
    bool ready_printed_ = false;
    // schedule
    bool going_ = false, sent_printed_ = false;
    int64_t go_mono_ = 0;
    double send_due_ = 0, query_due_ = 0, read_due_ = 0, typing_due_ = 0, channel_query_due_ = 0;
    int64_t send_seq_ = 0;
    bool stopping_ = false;
    int64_t stop_mono_ = 0;
    int64_t last_delivery_mono_ = 0;
    std::string stdin_buf_;
    // results
    uint64_t connected_ = 0, ready_ = 0, failed_ = 0, watching_ = 0;
    std::map<std::string, uint64_t> failures_;
    std::map<std::string, uint64_t> watchers_per_cid_;
    Histogram connect_us_, latency_us_;
    // From the event's created_at (stamped by the worker inside the write's transaction) to
    // receipt: the server-side share of the latency (fan-out), next to the end-to-end figure.
    Histogram server_us_;
    uint64_t deliveries_ = 0, delivery_bytes_ = 0, frames_ = 0, frame_bytes_ = 0, pings_sent_ = 0, health_rx_ = 0;
    uint64_t foreign_ = 0;
    int64_t first_rx_ns_ = 0, last_rx_ns_ = 0, first_tx_ns_ = 0, last_tx_ns_ = 0;
    std::vector<std::string> rest_names_;
    std::vector<Histogram> rest_stats_;      // from the request's first byte written to its answer
    // From the moment the schedule made the request: with the time it waited for a free
    // connection, which an open-loop latency must count (scripts/bench's latency section).
    std::vector<Histogram> rest_scheduled_;
    std::vector<uint64_t> rest_errors_, rest_ok_;
    std::map<int, uint64_t> rest_status_;
    std::string last_error_body_;
    std::string cached_day_;
    int64_t cached_day_ns_ = 0;
    // sends: key -> (cid, ok)
    struct SendRecord {
        std::string cid;
        int status = 0;
    };
    std::unordered_map<uint64_t, SendRecord> sends_;
    friend struct Client;
    friend class HttpConn;

public:
    int64_t total_health_rx() const { return int64_t(health_rx_); }
    void CountHealth() { ++health_rx_; }
    void CountFrame(size_t bytes) {
        ++frames_;
        frame_bytes_ += bytes;
    }
    int& in_flight() { return in_flight_; }
};

// --- HTTP -------------------------------------------------------------------------------------

void HttpConn::Open() {
    ++connections_opened_;
    fd_ = ConnectTcp(load_.opt().host, load_.opt().rest_port);
    connected_ = false;
    in_.clear();
    if (fd_ < 0) return;
    Watch(fd_, EPOLLOUT | EPOLLIN, this, true);
}

// nginx closes a keep-alive connection idle for its keepalive_timeout (65 s); a request written
// just as it does is lost with the connection. Like a browser, the generator then sends it once
// more: a reused connection that closes before any byte of the answer never had it read (nginx
// logs no such request).
void HttpConn::Start(HttpRequest req) {
    req_ = std::move(req);
    busy_ = true;
    resent_ = false;
    Send();
}

void HttpConn::Send() {
    out_ = req_.method + " " + req_.target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
    if (!req_.token.empty()) out_ += "Authorization: " + req_.token + "\r\nstream-auth-type: jwt\r\n";
    out_ += "Content-Length: " + std::to_string(req_.body.size()) + "\r\n\r\n" + req_.body;
    out_off_ = 0;
    in_.clear();
    sent_mono_ = MonoNs();
    reused_ = fd_ >= 0;
    if (fd_ < 0) Open();
    if (fd_ < 0) {
        Fail("connect");
        return;
    }
    if (connected_) {
        ssize_t n = send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
        if (n > 0) out_off_ = size_t(n);
        if (out_off_ < out_.size()) Watch(fd_, EPOLLIN | EPOLLOUT, this, false);
    }
}

void HttpConn::Close() {
    answered_ = 0;
    if (fd_ >= 0) {
        epoll_ctl(g_epoll, EPOLL_CTL_DEL, fd_, nullptr);
        close(fd_);
    }
    fd_ = -1;
    connected_ = false;
}

void HttpConn::Fail(const char* why) {
    Close();
    if (busy_) {
        busy_ = false;
        load_.HttpDone(req_, 0, why, (MonoNs() - req_.queued_mono) / 1000);
        load_.HttpFreed(index_);
    }
}

void HttpConn::OnIo(uint32_t events) {
    if (events & (EPOLLERR)) {
        Fail("socket error");
        return;
    }
    if (events & EPOLLOUT) {
        connected_ = true;
        if (busy_ && out_off_ < out_.size()) {
            ssize_t n = send(fd_, out_.data() + out_off_, out_.size() - out_off_, MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN) {
                Fail("write");
                return;
            }
            if (n > 0) out_off_ += size_t(n);
        }
        if (!busy_ || out_off_ >= out_.size()) Watch(fd_, EPOLLIN, this, false);
    }
    if (events & (EPOLLIN | EPOLLHUP)) {
        char buf[65536];
        bool eof = false;
        while (true) {
            ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
            if (n == 0) {
                eof = true;
                break;
            }
            if (n < 0) break;
            in_.append(buf, size_t(n));
        }
        // A complete answer followed by the server's close is still an answer. TryParse may hand
        // this object its next request on a new connection: the end of file was the old one's.
        uint64_t connection = connections_opened_;
        TryParse();
        if (eof && fd_ >= 0 && connection == connections_opened_) {
            if (busy_ && reused_ && !resent_ && in_.empty()) {
                Close();
                resent_ = true;
                Send();
                return;
            }
            std::string why = "closed by server (" + std::string(reused_ ? "reused" : "new") + " connection, " +
                              std::to_string(answered_) + " answered on it, " + std::to_string(in_.size()) +
                              " bytes of the answer, " + std::to_string((MonoNs() - sent_mono_) / 1000000) +
                              " ms after sending)";
            Fail(why.c_str());
        }
    }
}

void HttpConn::TryParse() {
    if (!busy_) return;
    size_t head_end = in_.find("\r\n\r\n");
    if (head_end == std::string::npos) return;
    int status = std::atoi(in_.c_str() + 9);
    std::string head = in_.substr(0, head_end);
    for (auto& ch : head) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    size_t body_start = head_end + 4;
    std::string body;
    bool close_after = head.find("\r\nconnection: close") != std::string::npos;
    size_t cl = head.find("\r\ncontent-length:");
    if (cl != std::string::npos) {
        size_t len = std::strtoul(head.c_str() + cl + 17, nullptr, 10);
        if (in_.size() < body_start + len) return;
        body = in_.substr(body_start, len);
    } else if (head.find("transfer-encoding: chunked") != std::string::npos) {
        size_t p = body_start;
        while (true) {
            size_t eol = in_.find("\r\n", p);
            if (eol == std::string::npos) return;
            size_t len = std::strtoul(in_.c_str() + p, nullptr, 16);
            if (len == 0) {
                if (in_.find("\r\n", eol + 2) == std::string::npos) return;
                break;
            }
            if (in_.size() < eol + 2 + len + 2) return;
            body.append(in_, eol + 2, len);
            p = eol + 2 + len + 2;
        }
    }
    int64_t latency = (MonoNs() - sent_mono_) / 1000;
    ++answered_;
    busy_ = false;
    HttpRequest req = std::move(req_);
    in_.clear();
    if (close_after) Close();
    load_.HttpDone(req, status, body, latency);
    load_.HttpFreed(index_);
}

// --- WebSocket client ---------------------------------------------------------------------------

void Client::Fail(const std::string& why) {
    if (st == St::kClosed) return;
    bool was_connecting = st != St::kReady;
    if (fd >= 0) {
        epoll_ctl(g_epoll, EPOLL_CTL_DEL, fd, nullptr);
        close(fd);
    }
    fd = -1;
    st = St::kClosed;
    if (was_connecting) --load->in_flight();
    load->ClientFailed(*this, why);
}

void Client::SendFrame(std::string_view payload) {
    unsigned char head[14];
    size_t h = 0;
    head[h++] = 0x81;  // FIN + text
    if (payload.size() < 126) {
        head[h++] = uint8_t(0x80 | payload.size());
    } else if (payload.size() < 65536) {
        head[h++] = 0x80 | 126;
        head[h++] = uint8_t(payload.size() >> 8);
        head[h++] = uint8_t(payload.size());
    } else {
        head[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; --i) head[h++] = uint8_t(uint64_t(payload.size()) >> (8 * i));
    }
    unsigned char mask[4];
    RAND_bytes(mask, 4);
    std::memcpy(head + h, mask, 4);
    h += 4;
    size_t start = out.size();
    out.append(reinterpret_cast<char*>(head), h);
    out.append(payload);
    for (size_t i = 0; i < payload.size(); ++i) out[start + h + i] = char(out[start + h + i] ^ mask[i & 3]);
    Flush();
}

void Client::Flush() {
    while (out_off < out.size()) {
        ssize_t n = send(fd, out.data() + out_off, out.size() - out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n <= 0) {
            if (n < 0 && errno == EAGAIN) {
                Watch(fd, EPOLLIN | EPOLLOUT, this, false);
                return;
            }
            Fail("write error");
            return;
        }
        out_off += size_t(n);
    }
    out.clear();
    out_off = 0;
    if (st == St::kHandshake || st == St::kOpen || st == St::kReady) Watch(fd, EPOLLIN, this, false);
}

void Client::OnIo(uint32_t events) {
    if (st == St::kClosed) return;
    if (events & EPOLLERR) {
        Fail("socket error");
        return;
    }
    if (st == St::kConnecting && (events & EPOLLOUT)) {
        st = St::kHandshake;
        // out already holds the upgrade request
    }
    if ((events & EPOLLOUT) && !out.empty()) Flush();
    if (st == St::kClosed) return;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) {
        char buf[65536];
        for (int i = 0; i < 8; ++i) {
            ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n == 0) {
                Fail(st == St::kReady ? "closed by server after ready" : "closed by server during connect");
                return;
            }
            if (n < 0) {
                if (errno == EAGAIN) break;
                Fail("read error");
                return;
            }
            in.append(buf, size_t(n));
            if (size_t(n) < sizeof buf) break;
        }
        if (st == St::kHandshake) {
            size_t end = in.find("\r\n\r\n");
            if (end == std::string::npos) {
                if (in.size() > 16384) Fail("handshake too long");
                return;
            }
            if (in.compare(0, 12, "HTTP/1.1 101") != 0) {
                Fail("handshake status " + in.substr(9, 3));
                return;
            }
            in.erase(0, end + 4);
            st = St::kOpen;
            if (load->opt().mode == "plain") load->ClientReady(*this);
        }
        OnFrames();
    }
}

void Client::OnFrames() {
    while (st != St::kClosed) {
        size_t avail = in.size() - in_off;
        if (avail < 2) break;
        const unsigned char* p = reinterpret_cast<const unsigned char*>(in.data() + in_off);
        int opcode = p[0] & 0x0F;
        uint64_t len = p[1] & 0x7F;
        size_t h = 2;
        if (len == 126) {
            if (avail < 4) break;
            len = (uint64_t(p[2]) << 8) | p[3];
            h = 4;
        } else if (len == 127) {
            if (avail < 10) break;
            len = 0;
            for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
            h = 10;
        }
        if (avail < h + len) break;
        std::string_view payload(in.data() + in_off + h, size_t(len));
        size_t frame_size = h + size_t(len);
        in_off += frame_size;
        if (opcode == 0x1) {
            load->CountFrame(frame_size);
            OnText(payload);
        } else if (opcode == 0x9) {
            // pong, masked, same payload
            std::string pong;
            unsigned char head[6] = {0x8A, uint8_t(0x80 | payload.size()), 0, 0, 0, 0};
            pong.append(reinterpret_cast<char*>(head), 6);
            pong.append(payload);
            out += pong;
            Flush();
        } else if (opcode == 0x8) {
            uint16_t code = payload.size() >= 2 ? uint16_t((uint8_t(payload[0]) << 8) | uint8_t(payload[1])) : 0;
            Fail("close frame " + std::to_string(code));
            return;
        }
    }
    if (in_off > 0 && (in_off == in.size() || in_off > 65536)) {
        in.erase(0, in_off);
        in_off = 0;
    }
}

void Client::OnText(std::string_view text) {
    if (text.compare(0, 22, R"({"type":"health.check")") == 0) {
        last_health_mono = load->now_mono();
        load->CountHealth();
        if (st == St::kOpen) {
            size_t p = text.find(R"("connection_id":")");
            if (p == std::string_view::npos) {
                Fail("first frame without connection_id");
                return;
            }
            p += 17;
            size_t e = text.find('"', p);
            connection_id = std::string(text.substr(p, e - p));
            load->ClientReady(*this);
        }
        return;
    }
    if (st == St::kOpen && load->opt().mode == "stream") {
        Fail("first frame is not health.check: " + std::string(text.substr(0, 120)));
        return;
    }
    if (text.compare(0, 21, R"({"type":"message.new")") == 0) load->Delivery(*this, text, text.size());
}

// --- Load -------------------------------------------------------------------------------------

void Load::LoadPlan() {
    std::ifstream in(opt_.plan);
    if (!in) {
        std::fprintf(stderr, "sbload: cannot read the plan %s\n", opt_.plan.c_str());
        std::exit(2);
    }
    std::string line;
    int i = 0;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        auto c = std::make_unique<Client>();
        c->load = this;
        c->index = i;
        if (!(words >> c->user)) continue;
        std::string cid;
        while (words >> cid) c->cids.push_back(cid);
        c->token = SignToken(c->user, opt_.secret);
        c->port = opt_.ws_ports.empty() ? 0 : opt_.ws_ports[size_t(i) % opt_.ws_ports.size()];
        clients_.push_back(std::move(c));
        ++i;
    }
}

std::string Load::HandshakeRequest(Client& c) const {
    std::string target = opt_.ws_path;
    if (opt_.mode == "stream") {
        std::string json = R"({"user_id":")" + c.user + R"(","user_details":{"id":")" + c.user +
                           R"("},"client_request_id":"sbload-)" + std::to_string(opt_.proc) + "-" +
                           std::to_string(c.index) + R"("})";
        target += "?json=" + UrlEncode(json) + "&api_key=" + UrlEncode(opt_.api_key) +
                  "&authorization=" + UrlEncode(c.token) + "&stream-auth-type=jwt";
    }
    return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(c.port) +
           "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\n\r\n";
}

void Load::Pump() {
    if (opt_.mode == "none") {
        while (next_connect_ < clients_.size()) {
            Client& c = *clients_[next_connect_++];
            c.st = Client::St::kReady;
            ClientReady(c);
        }
        return;
    }
    double elapsed = double(now_mono_ - first_connect_mono_) / 1e9;
    while (next_connect_ < clients_.size() && in_flight_ < opt_.connect_parallel) {
        if (opt_.connect_rate > 0 && double(next_connect_) >= elapsed * opt_.connect_rate + 1) break;
        Client& c = *clients_[next_connect_++];
        c.connect_start_mono = MonoNs();
        c.fd = ConnectTcp(opt_.host, c.port);
        if (c.fd < 0) {
            ++in_flight_;
            c.st = Client::St::kConnecting;
            c.Fail(std::string("connect: ") + std::strerror(errno));
            continue;
        }
        ++in_flight_;
        c.st = Client::St::kConnecting;
        c.out = HandshakeRequest(c);
        Watch(c.fd, EPOLLOUT | EPOLLIN | EPOLLRDHUP, &c, true);
    }
}

void Load::ClientReady(Client& c) {
    if (opt_.mode != "none") {
        --in_flight_;
        ++connected_;
        connect_us_.Add((MonoNs() - c.connect_start_mono) / 1000);
    }
    c.st = Client::St::kReady;
    c.last_health_mono = now_mono_;
    last_ready_mono_ = MonoNs();
    if (opt_.mode == "stream" && !c.cids.empty() && opt_.watch != "none") {
        StartWatch(c);
    } else {
        ++ready_;
    }
}

void Load::ClientFailed(Client& c, const std::string& why) {
    ++failed_;
    ++failures_[why.substr(0, 80)];
    if (c.watching) {
        c.watching = false;
        for (const auto& cid : c.cids) --watchers_per_cid_[cid];
    }
}

void Load::StartWatch(Client& c) {
    if (opt_.watch == "channels") {
        c.watch_pending = 1;
        HttpRequest r;
        r.method = "POST";
        r.target = RestTarget("/api/channels/", c, true);
        r.token = c.token;
        std::string in;
        for (const auto& cid : c.cids) in += (in.empty() ? "\"" : ",\"") + cid + "\"";
        r.body = R"({"filter_conditions":{"cid":{"$in":[)" + in + R"(]}},"sort":[],"state":true,"watch":true,)"
                 R"("presence":false,"limit":30,"message_limit":25,"member_limit":10})";
        r.kind = 0;
        r.client = &c;
        Submit(std::move(r));
        return;
    }
    c.watch_pending = int(c.cids.size());
    for (const auto& cid : c.cids) {
        HttpRequest r;
        r.method = "POST";
        r.target = RestTarget(ChannelPath(cid) + "query/", c, true);
        r.token = c.token;
        r.body = R"({"state":true,"watch":true,"presence":false,"messages":{"limit":1},"members":{"limit":1},"watchers":{"limit":1}})";
        r.kind = 0;
        r.client = &c;
        r.cid = cid;
        Submit(std::move(r));
    }
}

void Load::Submit(HttpRequest req) {
    req.queued_mono = MonoNs();
    if (!http_idle_.empty()) {
        int i = http_idle_.back();
        http_idle_.pop_back();
        http_[size_t(i)]->Start(std::move(req));
        return;
    }
    http_queue_.push_back(std::move(req));
}

void Load::HttpFreed(int index) {
    if (!http_queue_.empty()) {
        // A send that waited here for a free connection keeps the time the schedule made it: its
        // deliveries' latency counts that wait, as a user's would (no coordinated omission).
        HttpRequest r = std::move(http_queue_.front());
        http_queue_.pop_front();
        http_[size_t(index)]->Start(std::move(r));
        return;
    }
    http_idle_.push_back(index);
}

void Load::HttpDone(HttpRequest& req, int status, std::string_view body, int64_t latency_us) {
    ++rest_status_[status];
    bool ok = status >= 200 && status < 300;
    if (ok) {
        ++rest_ok_[size_t(req.kind)];
        rest_stats_[size_t(req.kind)].Add(latency_us);
        rest_scheduled_[size_t(req.kind)].Add((MonoNs() - req.queued_mono) / 1000);
    } else {
        ++rest_errors_[size_t(req.kind)];
        last_error_body_ = std::to_string(status) + " " + rest_names_[size_t(req.kind)] + " " +
                           std::string(body.substr(0, 200));
    }
    if (req.kind == 1) sends_[req.key].status = status;
    if (req.kind == 0 && req.client != nullptr) {
        Client& c = *req.client;
        if (c.watch_pending <= 0) return;  // an earlier watch of this client failed
        if (ok && opt_.watch == "channels") {
            for (const auto& cid : c.cids) {
                if (body.find("\"cid\":\"" + cid + "\"") == std::string_view::npos) {
                    ok = false;
                    last_error_body_ = "queryChannels did not return " + cid;
                }
            }
        }
        if (!ok) {
            c.watch_pending = 0;
            ++failures_["watch failed"];
            ++ready_;  // done, but not watching
            return;
        }
        if (--c.watch_pending == 0) {
            if (c.st == Client::St::kReady) {
                c.watching = true;
                ++watching_;
                for (const auto& cid : c.cids) ++watchers_per_cid_[cid];
            }
            ++ready_;
        }
    }
}

void Load::Delivery(Client& c, std::string_view text, size_t) {
    int64_t now = RealNs();
    size_t p = text.find(marker_);
    if (p == std::string_view::npos) {
        ++foreign_;
        return;
    }
    p += marker_.size();
    // "<proc>.<seq> <ns>"
    const char* s = text.data() + p;
    const char* end = text.data() + text.size();
    uint64_t proc = 0, seq = 0;
    int64_t ns = 0;
    while (s < end && *s >= '0' && *s <= '9') proc = proc * 10 + uint64_t(*s++ - '0');
    if (s < end && *s == '.') ++s;
    while (s < end && *s >= '0' && *s <= '9') seq = seq * 10 + uint64_t(*s++ - '0');
    if (s < end && *s == ' ') ++s;
    while (s < end && *s >= '0' && *s <= '9') ns = ns * 10 + (*s++ - '0');
    ++deliveries_;
    delivery_bytes_ += text.size();
    latency_us_.Add((now - ns) / 1000);
    if (first_rx_ns_ == 0) first_rx_ns_ = now;
    last_rx_ns_ = now;
    last_delivery_mono_ = now_mono_;
    if (opt_.track) c.seen.push_back((proc << 40) | seq);
    if (int64_t created = EventTimeNs(text); created > 0) server_us_.Add((now - created) / 1000);
}

// The event's own created_at ("2026-11-26T12:00:00.123456Z", the first one in the frame), in ns.
int64_t Load::EventTimeNs(std::string_view text) {
    size_t p = text.find(R"("created_at":")");
    if (p == std::string_view::npos || p + 14 + 27 > text.size()) return 0;
    const char* t = text.data() + p + 14;
    auto num = [&](int from, int len) {
        int v = 0;
        for (int i = 0; i < len; ++i) v = v * 10 + (t[from + i] - '0');
        return v;
    };
    if (t[4] != '-' || t[10] != 'T' || t[19] != '.') return 0;
    std::string day(t, 10);
    if (day != cached_day_) {
        struct tm tm {};
        tm.tm_year = num(0, 4) - 1900;
        tm.tm_mon = num(5, 2) - 1;
        tm.tm_mday = num(8, 2);
        cached_day_ = day;
        cached_day_ns_ = int64_t(timegm(&tm)) * 1000000000;
    }
    int64_t ns = cached_day_ns_ + (int64_t(num(11, 2)) * 3600 + num(14, 2) * 60 + num(17, 2)) * 1000000000LL;
    int frac = 0, digits = 0;
    for (const char* f = t + 20; f < text.data() + text.size() && *f >= '0' && *f <= '9' && digits < 9; ++f, ++digits)
        frac = frac * 10 + (*f - '0');
    while (digits++ < 9) frac *= 10;
    return ns + frac;
}

void Load::DoSend() {
    if (clients_.empty()) return;
    Client& c = *clients_[std::uniform_int_distribution<size_t>(0, clients_.size() - 1)(rng_)];
    if (c.cids.empty()) return;
    if (opt_.mode == "plain" && c.st != Client::St::kReady) return;
    std::string cid;
    if (opt_.large_share >= 0 && c.cids.size() > 1) {
        bool large = std::uniform_real_distribution<double>(0, 1)(rng_) < opt_.large_share;
        cid = large ? c.cids.back() : c.cids[std::uniform_int_distribution<size_t>(0, c.cids.size() - 2)(rng_)];
    } else {
        cid = c.cids[std::uniform_int_distribution<size_t>(0, c.cids.size() - 1)(rng_)];
    }
    uint64_t seq = uint64_t(++send_seq_);
    uint64_t key = (uint64_t(opt_.proc) << 40) | seq;
    int64_t ns = RealNs();
    if (first_tx_ns_ == 0) first_tx_ns_ = ns;
    last_tx_ns_ = ns;
    std::string text = marker_ + std::to_string(opt_.proc) + "." + std::to_string(seq) + " " + std::to_string(ns);
    sends_[key] = SendRecord{cid, 0};
    if (opt_.mode == "plain") {
        std::string frame = R"({"type":"message.new","text":")" + text + R"(","pad":")" +
                            std::string(size_t(std::max(0, opt_.pad)), 'x') + "\"}";
        c.SendFrame(frame);
        sends_[key].status = 200;
        return;
    }
    HttpRequest r;
    r.method = "POST";
    r.target = RestTarget(ChannelPath(cid) + "message/", c, false);
    r.token = c.token;
    r.body = R"({"message":{"id":"sb-)" + opt_.nonce + "-" + std::to_string(opt_.proc) + "-" + std::to_string(seq) +
             R"(","text":")" + text + R"("}})";
    r.kind = 1;
    r.client = &c;
    r.key = key;
    r.cid = cid;
    Submit(std::move(r));
}

void Load::DoAction(int kind) {
    Client& c = *clients_[std::uniform_int_distribution<size_t>(0, clients_.size() - 1)(rng_)];
    if (c.cids.empty()) return;
    HttpRequest r;
    r.token = c.token;
    r.client = &c;
    r.kind = kind;
    r.method = "POST";
    // Mark read, typing and the channel query go to the client's first channel (in the load test its
    // small one).
    const std::string& cid = c.cids.front();
    if (kind == 2) {
        // queryChannels as the SDK's channel list sends it on reconnect/refresh (no new watch).
        r.target = RestTarget("/api/channels/", c, true);
        r.body = R"({"filter_conditions":{"members":{"$in":[")" + c.user +
                 R"("]}},"sort":[{"field":"last_message_at","direction":-1}],"state":true,"watch":false,"presence":false,"limit":10,"message_limit":25,"member_limit":10})";
    } else if (kind == 5) {
        // A channel opened without watching it: its state with the newest 25 messages.
        r.target = RestTarget(ChannelPath(cid) + "query/", c, true);
        r.body = R"({"state":true,"watch":false,"presence":false,"messages":{"limit":25}})";
    } else if (kind == 3) {
        r.target = RestTarget(ChannelPath(cid) + "read/", c, true);
        r.body = "{}";
    } else {
        r.target = RestTarget(ChannelPath(cid) + "event/", c, true);
        r.body = R"({"event":{"type":"typing.start"}})";
    }
    Submit(std::move(r));
}

void Load::CheckReady() {
    if (ready_printed_) return;
    if (next_connect_ < clients_.size()) return;
    if (ready_ + failed_ < clients_.size()) return;
    ready_printed_ = true;
    double secs = double(last_ready_mono_ - first_connect_mono_) / 1e9;
    std::printf("READY {\"clients\":%zu,\"connected\":%llu,\"watching\":%llu,\"failed\":%llu,\"seconds\":%.3f}\n",
                clients_.size(), (unsigned long long)connected_, (unsigned long long)watching_,
                (unsigned long long)failed_, secs);
    std::fflush(stdout);
}

void Load::Tick() {
    // Keep-alive (STREAM-PROTOCOL.md §2.3): 25 s after each health.check, the SDK's ping.
    if (opt_.mode == "stream") {
        static size_t cursor = 0;
        size_t n = std::min<size_t>(clients_.size(), 2000);
        for (size_t i = 0; i < n && !clients_.empty(); ++i) {
            Client& c = *clients_[cursor++ % clients_.size()];
            if (c.st != Client::St::kReady || c.fd < 0) continue;
            if (now_mono_ - c.last_health_mono > 25'000'000'000LL) {
                c.last_health_mono = now_mono_;
                c.SendFrame(R"([{"type":"health.check","client_id":")" + c.user + "--" + c.connection_id + "\"}]");
                ++pings_sent_;
            }
        }
    }
    if (going_) {
        double t = double(now_mono_ - go_mono_) / 1e9;
        bool active = t < opt_.send_seconds;
        if (active) {
            // Open loop: the schedule does not wait for answers.
            auto run = [&](double rate, double& done, auto fn) {
                if (rate <= 0) return;
                double due = t * rate;
                int budget = 10000;
                while (done < due && budget-- > 0) {
                    done += 1;
                    fn();
                }
            };
            run(opt_.send_rate, send_due_, [&] { DoSend(); });
            run(opt_.query_rate, query_due_, [&] { DoAction(2); });
            run(opt_.read_rate, read_due_, [&] { DoAction(3); });
            run(opt_.typing_rate, typing_due_, [&] { DoAction(4); });
            run(opt_.channel_query_rate, channel_query_due_, [&] { DoAction(5); });
        } else if (!sent_printed_ && http_queue_.empty() &&
                   http_idle_.size() == http_.size()) {
            sent_printed_ = true;
            std::printf("SENT {\"sent\":%lld}\n", (long long)send_seq_);
            std::fflush(stdout);
        }
    }
    if (stopping_) {
        bool rest_idle = http_queue_.empty() && http_idle_.size() == http_.size();
        int64_t quiet = now_mono_ - std::max(last_delivery_mono_, stop_mono_);
        if ((rest_idle && quiet > int64_t(opt_.drain_ms) * 1000000) || now_mono_ - stop_mono_ > 60'000'000'000LL) {
            Report();
            std::exit(0);
        }
    }
}

void Load::OnStdin() {
    char buf[1024];
    ssize_t n = read(0, buf, sizeof buf);
    if (n <= 0) {
        // The harness went away: report and stop.
        if (!stopping_) {
            stopping_ = true;
            stop_mono_ = now_mono_;
        }
        epoll_ctl(g_epoll, EPOLL_CTL_DEL, 0, nullptr);
        return;
    }
    stdin_buf_.append(buf, size_t(n));
    size_t nl;
    while ((nl = stdin_buf_.find('\n')) != std::string::npos) {
        std::string cmd = stdin_buf_.substr(0, nl);
        stdin_buf_.erase(0, nl + 1);
        if (cmd == "go") {
            going_ = true;
            go_mono_ = now_mono_;
        } else if (cmd == "stop") {
            stopping_ = true;
            stop_mono_ = now_mono_;
        }
    }
}

void Load::Report() {
    std::string o = "RESULT {";
    auto num = [&](const char* k, double v, bool comma = true) {
        char b[96];
        std::snprintf(b, sizeof b, "\"%s\":%.17g", k, v);
        o += b;
        if (comma) o += ",";
    };
    num("proc", opt_.proc);
    num("clients", double(clients_.size()));
    num("connected", double(connected_));
    num("watching", double(watching_));
    num("failed", double(failed_));
    num("connect_seconds", double(last_ready_mono_ - first_connect_mono_) / 1e9);
    num("deliveries", double(deliveries_));
    num("delivery_bytes", double(delivery_bytes_));
    num("frames", double(frames_));
    num("frame_bytes", double(frame_bytes_));
    num("health_rx", double(health_rx_));
    num("pings_sent", double(pings_sent_));
    num("foreign", double(foreign_));
    num("first_rx_ns", double(first_rx_ns_));
    num("last_rx_ns", double(last_rx_ns_));
    num("first_tx_ns", double(first_tx_ns_));
    num("last_tx_ns", double(last_tx_ns_));
    num("sent", double(send_seq_));
    o += "\"failures\":{";
    bool first = true;
    for (auto& [k, v] : failures_) {
        std::string kk;
        for (char ch : k) kk += (ch == '"' || ch == '\\' || uint8_t(ch) < 32) ? '_' : ch;
        o += (first ? "\"" : ",\"") + kk + "\":" + std::to_string(v);
        first = false;
    }
    o += "},\"watchers\":{";
    first = true;
    for (auto& [k, v] : watchers_per_cid_) {
        o += (first ? "\"" : ",\"") + k + "\":" + std::to_string(v);
        first = false;
    }
    o += "},\"latency_us\":" + latency_us_.Json() + ",\"server_us\":" + server_us_.Json() + ",\"connect_us\":" + connect_us_.Json() + ",\"rest\":{";
    for (size_t i = 0; i < rest_names_.size(); ++i) {
        o += (i ? ",\"" : "\"") + rest_names_[i] + "\":{\"ok\":" + std::to_string(rest_ok_[i]) +
             ",\"errors\":" + std::to_string(rest_errors_[i]) + ",\"latency_us\":" + rest_stats_[i].Json() +
             ",\"scheduled_us\":" + rest_scheduled_[i].Json() + "}";
    }
    o += "},\"status\":{";
    first = true;
    for (auto& [k, v] : rest_status_) {
        o += (first ? "\"" : ",\"") + std::to_string(k) + "\":" + std::to_string(v);
        first = false;
    }
    std::string err;
    for (char ch : last_error_body_) err += (ch == '"' || ch == '\\' || uint8_t(ch) < 32) ? '\'' : ch;
    o += "},\"last_error\":\"" + err + "\"";
    // Sends: "proc.seq": [cid, status]
    o += ",\"sends\":{";
    first = true;
    for (auto& [key, rec] : sends_) {
        o += (first ? "\"" : ",\"") + std::to_string(key >> 40) + "." + std::to_string(key & ((1ULL << 40) - 1)) +
             "\":[\"" + rec.cid + "\"," + std::to_string(rec.status) + "]";
        first = false;
    }
    o += "}";
    if (opt_.track) {
        // For each message: how many distinct sockets got it; and how many extra copies arrived.
        std::unordered_map<uint64_t, uint64_t> unique;
        uint64_t dups = 0;
        for (auto& c : clients_) {
            std::sort(c->seen.begin(), c->seen.end());
            for (size_t i = 0; i < c->seen.size(); ++i) {
                if (i > 0 && c->seen[i] == c->seen[i - 1]) {
                    ++dups;
                    continue;
                }
                ++unique[c->seen[i]];
            }
        }
        o += ",\"duplicates\":" + std::to_string(dups) + ",\"received\":{";
        first = true;
        for (auto& [key, count] : unique) {
            o += (first ? "\"" : ",\"") + std::to_string(key >> 40) + "." + std::to_string(key & ((1ULL << 40) - 1)) +
                 "\":" + std::to_string(count);
            first = false;
        }
        o += "}";
    }
    o += "}\n";
    fwrite(o.data(), 1, o.size(), stdout);
    std::fflush(stdout);
}

int Load::Run() {
    LoadPlan();
    g_epoll = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < opt_.rest_connections && opt_.rest_port > 0; ++i) {
        http_.push_back(std::make_unique<HttpConn>(*this, i));
        http_idle_.push_back(i);
    }
    struct StdinHandler final : Handler {
        Load* load;
        void OnIo(uint32_t) override { load->OnStdin(); }
    } stdin_handler;
    stdin_handler.load = this;
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
    Watch(0, EPOLLIN, &stdin_handler, true);
    start_mono_ = now_mono_ = MonoNs();
    first_connect_mono_ = now_mono_;
    last_ready_mono_ = now_mono_;
    int64_t last_tick = 0;
    std::vector<epoll_event> events(1024);
    while (true) {
        Pump();
        CheckReady();
        int n = epoll_wait(g_epoll, events.data(), int(events.size()), 1);
        now_mono_ = MonoNs();
        for (int i = 0; i < n; ++i) static_cast<Handler*>(events[size_t(i)].data.ptr)->OnIo(events[size_t(i)].events);
        if (now_mono_ - last_tick >= 1'000'000 || n == 0) {
            last_tick = now_mono_;
            Tick();
        }
        if (now_mono_ - start_mono_ > int64_t(opt_.max_seconds) * 1'000'000'000) {
            std::fprintf(stderr, "sbload: --max-seconds reached, stopping\n");
            Report();
            return 3;
        }
    }
}

std::vector<int> Ports(const std::string& s) {
    std::vector<int> out;
    std::stringstream ss(s);
    std::string part;
    while (std::getline(ss, part, ',')) out.push_back(std::atoi(part.c_str()));
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    signal(SIGPIPE, SIG_IGN);
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string k = argv[i];
        auto val = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "sbload: %s needs a value\n", k.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (k == "--mode") o.mode = val();
        else if (k == "--host") o.host = val();
        else if (k == "--ws-ports") o.ws_ports = Ports(val());
        else if (k == "--ws-path") o.ws_path = val();
        else if (k == "--rest-port") o.rest_port = std::atoi(val().c_str());
        else if (k == "--rest-connections") o.rest_connections = std::atoi(val().c_str());
        else if (k == "--api-key") o.api_key = val();
        else if (k == "--secret") o.secret = val();
        else if (k == "--plan") o.plan = val();
        else if (k == "--watch") o.watch = val();
        else if (k == "--connect-rate") o.connect_rate = std::atoi(val().c_str());
        else if (k == "--connect-parallel") o.connect_parallel = std::atoi(val().c_str());
        else if (k == "--send-rate") o.send_rate = std::atof(val().c_str());
        else if (k == "--seconds") o.send_seconds = std::atof(val().c_str());
        else if (k == "--large-share") o.large_share = std::atof(val().c_str());
        else if (k == "--query-rate") o.query_rate = std::atof(val().c_str());
        else if (k == "--read-rate") o.read_rate = std::atof(val().c_str());
        else if (k == "--typing-rate") o.typing_rate = std::atof(val().c_str());
        else if (k == "--channel-query-rate") o.channel_query_rate = std::atof(val().c_str());
        else if (k == "--pad") o.pad = std::atoi(val().c_str());
        else if (k == "--drain-ms") o.drain_ms = std::atoi(val().c_str());
        else if (k == "--max-seconds") o.max_seconds = std::atoi(val().c_str());
        else if (k == "--proc") o.proc = std::atoi(val().c_str());
        else if (k == "--nonce") o.nonce = val();
        else if (k == "--track") o.track = true;
        else {
            std::fprintf(stderr, "sbload: unknown option %s\n", k.c_str());
            return 2;
        }
    }
    if (o.plan.empty()) {
        std::fprintf(stderr, "sbload: --plan is required\n");
        return 2;
    }
    return Load(o).Run();
}
