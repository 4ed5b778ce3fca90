// streambed-gateway: the WebSocket gateway. Poco's HTTP server threads do the handshakes; one
// epoll loop (this thread) owns every upgraded socket and the Redis connections.

#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/ThreadPool.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/heap.h"
#include "common/log.h"
#include "common/metrics_catalog.h"
#include "common/redis.h"
#include "common/snowflake.h"
#include "ws-gateway/backend.h"
#include "ws-gateway/event_loop.h"
#include "ws-gateway/gateway.h"
#include "ws-gateway/handshake.h"

namespace {

// SIGTERM/SIGINT arrive on a signalfd watched by the loop, so shutdown runs on the loop thread.
class SignalHandler final : public streambed::IoHandler {
public:
    SignalHandler(int fd, streambed::EventLoop& loop, streambed::Gateway& gateway)
        : fd_(fd), loop_(loop), gateway_(gateway) {}
    void OnIo(uint32_t) override {
        struct signalfd_siginfo info;
        ssize_t n = read(fd_, &info, sizeof info);
        (void)n;
        if (stopping_) return;
        stopping_ = true;
        streambed::Log(streambed::LogLevel::kInfo, "gateway.stopping");
        gateway_.Shutdown();
        // A moment for close frames to flush, then stop.
        loop_.After(500, [this] { loop_.Stop(); });
    }

private:
    int fd_;
    streambed::EventLoop& loop_;
    streambed::Gateway& gateway_;
    bool stopping_ = false;
};

// A gateway that was killed leaves its socket file behind, and binding the path again fails
// until it is gone. Only a socket that nothing answers on is removed: not a live gateway's
// (two configured with one path), and never a file that is not a socket (a wrong path).
void RemoveStaleSocket(const std::string& path) {
    struct stat st;
    if (lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return;
    sockaddr_un address{};
    if (path.size() >= sizeof address.sun_path) return;  // Poco refuses it with a clear error
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size());
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    bool answered = connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
    bool refused = !answered && errno == ECONNREFUSED;
    close(fd);
    if (refused) unlink(path.c_str());
}

}  // namespace

int main() {
    using namespace streambed;
    Config config;
    try {
        config = Config::FromEnvironment();
    } catch (const ConfigError& e) {
        std::fprintf(stderr, "streambed-gateway: configuration error: %s\n", e.what());
        return 2;
    }
    InitLogging("gateway", config.log_level);
    signal(SIGPIPE, SIG_IGN);
    // Frames and socket queues come and go with every message; the gateway's threads made each
    // heap shrink an interrupt to every CPU (common/heap.h).
    KeepFreedHeap();

    // Block the stop signals before any thread starts, so only the signalfd receives them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    int signal_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);

    try {
        // The node id makes connection ids unique across gateways and routes control messages.
        RedisClient redis(config.redis);
        NodeLease lease = [&] {
            for (int attempt = 0;; ++attempt) {
                try {
                    return NodeLease::Acquire(redis, "gateway");
                } catch (const RedisError& e) {
                    if (attempt >= 50) throw;
                    Log(LogLevel::kWarn, "gateway.waiting_for_redis").Str("error", e.what());
                    usleep(200000);
                }
            }
        }();
        uint16_t node_id = lease.id();

        metrics::Registry registry;
        GatewayMetrics metrics = DeclareGatewayMetrics(registry);
        registry.Allocate(metrics::Registry::Storage::kProcess);

        EventLoop loop;
        Backend backend(config);
        Gateway gateway(config, loop, backend, metrics, node_id, std::move(lease));
        SignalHandler signals(signal_fd, loop, gateway);
        loop.Watch(signal_fd, EPOLLIN, &signals);
        gateway.Start();

        // One HTTP server per listening address, all handing their sockets to this loop.
        Poco::ThreadPool handshake_threads(2, 16);
        std::vector<std::unique_ptr<Poco::Net::HTTPServer>> servers;
        std::vector<std::string> socket_files;
        std::string listening;
        for (const std::string& address : config.gateway_listen) {
            bool local = address.front() == '/';
            if (local) RemoveStaleSocket(address);
            Poco::Net::ServerSocket listener(Poco::Net::SocketAddress(address), 4096);
            if (local) {
                // nginx's user reaches it through the group, as the FastCGI socket (fcgi-app/pool.cpp).
                chmod(address.c_str(), 0660);
                socket_files.push_back(address);
            }
            auto* params = new Poco::Net::HTTPServerParams;
            params->setMaxThreads(16);
            params->setMaxQueued(4096);
            params->setKeepAlive(false);
            params->setTimeout(Poco::Timespan(10, 0));
            servers.push_back(std::make_unique<Poco::Net::HTTPServer>(
                new HandshakeFactory(config, loop, gateway, backend, registry), handshake_threads, listener, params));
            servers.back()->start();
            listening += (listening.empty() ? "" : ",") + address;
        }
        Log(LogLevel::kInfo, "gateway.started").Str("listen", listening).Int("node", node_id);

        loop.Run();

        for (auto& server : servers) server->stopAll(true);
        for (const std::string& file : socket_files) unlink(file.c_str());
        gateway.ReleaseLease(redis);
        Log(LogLevel::kInfo, "gateway.stopped");
    } catch (const std::exception& e) {
        Log(LogLevel::kError, "gateway.failed").Str("error", e.what());
        return 1;
    }
    return 0;
}
