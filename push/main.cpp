// streambed-push: Web Push delivery (docs/push.md). Delivery threads take jobs from the Redis
// queue that streambed-api fills (common/push_queue.h); this thread handles signals, bounds every
// request in time (Watchdog), moves due retries back to the queue, keeps the liveness key, and
// sends notification.reminder_due for the message reminders whose time has come.
// Run one per Redis: at start it requeues whatever the previous run left in flight.

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/ServerSocket.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "common/heap.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/metrics_catalog.h"
#include "common/redis.h"
#include "fcgi-app/reminder_events.h"
#include "push/deliverer.h"
#include "push/settings.h"

namespace {

using namespace streambed;

// Due retries go to the tail, where the delivery threads take from: they are already late.
constexpr const char* kMoveDueRetries = R"(
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 500)
for _, job in ipairs(due) do
  redis.call('ZREM', KEYS[1], job)
  redis.call('RPUSH', KEYS[2], job)
end
return #due)";

constexpr const char* kRequeueInflight = R"(
local n = 0
while redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT') do n = n + 1 end
return n)";

// Only our own pid is removed: a newer process may already have taken over the key.
constexpr const char* kReleaseAlive = R"(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0)";

// GET /metrics for Prometheus; anything else is 404. Keep the listener on a private address.
class MetricsEndpoint final : public Poco::Net::HTTPRequestHandlerFactory {
public:
    explicit MetricsEndpoint(const metrics::Registry& registry) : registry_(registry) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
        return new Handler(registry_);
    }

private:
    class Handler final : public Poco::Net::HTTPRequestHandler {
    public:
        explicit Handler(const metrics::Registry& registry) : registry_(registry) {}
        void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override {
            bool found = request.getMethod() == "GET" && request.getURI() == "/metrics";
            std::string body = found ? registry_.Render() : std::string("{\"code\":16,\"message\":\"not found\"}");
            response.setStatus(found ? Poco::Net::HTTPResponse::HTTP_OK : Poco::Net::HTTPResponse::HTTP_NOT_FOUND);
            response.setContentType(found ? std::string(metrics::kContentType) : "application/json");
            response.setContentLength(static_cast<std::streamsize>(body.size()));
            response.setKeepAlive(false);
            response.send() << body;
        }

    private:
        const metrics::Registry& registry_;
    };
    const metrics::Registry& registry_;
};

}  // namespace

int main() {
    Config config;
    PushSettings settings;
    try {
        config = Config::FromEnvironment();
        settings = PushSettings::FromEnvironment(config.dev_mode);
    } catch (const ConfigError& e) {
        std::fprintf(stderr, "streambed-push: configuration error: %s\n", e.what());
        return 2;
    }
    InitLogging("push", config.log_level);
    signal(SIGPIPE, SIG_IGN);
    KeepFreedHeap();  // each job builds and drops its request and payload (common/heap.h)

    // Block the stop signals before any thread starts; this thread waits for them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    // getaddrinfo() cannot be interrupted by the watchdog; this bounds it (resolv.conf(5)) unless
    // the operator set their own resolver options.
    setenv("RES_OPTIONS", "timeout:2 attempts:2", 0);
    Poco::Net::initializeSSL();

    const std::string pid = std::to_string(getpid());
    RedisClient redis(config.redis);
    for (int attempt = 0;; ++attempt) {
        try {
            int64_t requeued =
                ReplyInteger(redis.Eval(kRequeueInflight, {keys::kPushInflight, keys::kPushQueue}, {}).get());
            if (requeued > 0) Log(LogLevel::kInfo, "push.requeued_inflight").Int("jobs", requeued);
            redis.Command({"SET", keys::kPushAlive, pid, "EX", std::to_string(keys::kPushAliveTtl)});
            break;
        } catch (const RedisError& e) {
            if (attempt == 0) Log(LogLevel::kWarn, "push.redis_unavailable").Str("error", e.what());
            siginfo_t info;
            timespec wait{1, 0};
            if (sigtimedwait(&stop_signals, &info, &wait) > 0) return 0;
        }
    }

    metrics::Registry registry;
    PushMetrics metrics = DeclarePushMetrics(registry);
    registry.Allocate(metrics::Registry::Storage::kProcess);
    std::unique_ptr<Poco::Net::HTTPServer> metrics_server;
    try {
        auto* params = new Poco::Net::HTTPServerParams;
        params->setMaxThreads(2);
        params->setKeepAlive(false);
        metrics_server = std::make_unique<Poco::Net::HTTPServer>(
            new MetricsEndpoint(registry), Poco::Net::ServerSocket(Poco::Net::SocketAddress(settings.metrics_listen)),
            params);
        metrics_server->start();
    } catch (const Poco::Exception& e) {
        Log(LogLevel::kError, "push.metrics_listen_failed").Str("listen", settings.metrics_listen).Str("error", e.displayText());
        return 1;
    }

    std::atomic<bool> stopping{false};
    std::atomic<int> running{settings.concurrency};
    Watchdog watchdog(static_cast<size_t>(settings.concurrency));
    std::vector<std::thread> threads;
    std::vector<std::unique_ptr<Deliverer>> deliverers;
    for (int i = 0; i < settings.concurrency; ++i) {
        deliverers.push_back(std::make_unique<Deliverer>(config, settings, metrics, watchdog, static_cast<size_t>(i)));
        threads.emplace_back([&stopping, &running, d = deliverers.back().get()] {
            d->Run(stopping);
            running.fetch_sub(1);
        });
    }
    Log(LogLevel::kInfo, "push.started")
        .Int("concurrency", settings.concurrency)
        .Str("vapid_subject", settings.vapid_subject)
        .Bool("dev_mode", config.dev_mode);

    int64_t next_retry_scan = 0;
    int64_t next_alive = NowMicros() + 5 * 1000000;
    // Reminders whose time has come get their notification.reminder_due from here, once a second
    // (fcgi-app/reminder_events.h): this is the process that runs on a clock.
    Pg reminders_db(config.pg_conninfo, config.pg_statement_timeout_ms);
    int64_t next_reminder_scan = 0;
    while (true) {
        siginfo_t info;
        timespec tick{0, 100 * 1000 * 1000};
        if (sigtimedwait(&stop_signals, &info, &tick) > 0) break;
        int64_t now = NowMicros();
        watchdog.Check(now);
        try {
            if (now >= next_retry_scan) {
                redis.Eval(kMoveDueRetries, {keys::kPushRetry, keys::kPushQueue}, {std::to_string(now / 1000)});
                next_retry_scan = now + 200 * 1000;
            }
            if (now >= next_alive) {
                redis.Command({"SET", keys::kPushAlive, pid, "EX", std::to_string(keys::kPushAliveTtl)});
                metrics.queue_depth.With().Set(static_cast<double>(ReplyInteger(redis.Command({"LLEN", keys::kPushQueue}).get())));
                next_alive = now + 5 * 1000000;
            }
        } catch (const RedisError& e) {
            metrics.redis_errors.With({"push"}).Inc();
            Log(LogLevel::kWarn, "push.redis_error").Str("error", e.what());
            next_retry_scan = now + 1000000;
            next_alive = now + 1000000;
        }
        if (now >= next_reminder_scan) {
            next_reminder_scan = now + 1000000;
            try {
                // A full batch means more may be due: the next tick takes them.
                if (NotifyDueReminders(reminders_db, redis, 200) == 200) next_reminder_scan = now;
            } catch (const std::exception& e) {
                Log(LogLevel::kWarn, "push.reminders_failed").Str("error", e.what());
            }
        }
    }

    Log(LogLevel::kInfo, "push.stopping");
    stopping = true;
    // The threads finish the request in flight; the watchdog keeps bounding it meanwhile.
    while (running.load() > 0) {
        watchdog.Check(NowMicros());
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    for (auto& t : threads) t.join();
    metrics_server->stopAll(true);
    try {
        redis.Eval(kReleaseAlive, {keys::kPushAlive}, {pid});
    } catch (const RedisError&) {
    }
    Poco::Net::uninitializeSSL();
    Log(LogLevel::kInfo, "push.stopped");
    return 0;
}
