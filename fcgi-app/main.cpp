// streambed-api: the REST workers.
//   streambed-api            serve: the pre-forked FastCGI pool (STREAMBED_WORKERS processes)
//   streambed-api migrate    apply the schema migrations in STREAMBED_SQL_DIR (and make the VAPID
//                            key pair if there is none yet), then exit
//   streambed-api rotate-vapid
//                            replace the VAPID key pair; subscriptions made with the old key are
//                            deleted (their browsers must subscribe again; docs/push.md)
//   streambed-api test-push <user_id> [text]
//                            queue a test notification for every Web Push subscription of a user
//   streambed-api routes     print the route table, one "METHOD /pattern/" a line, and exit (needs no
//                            configuration; tests/openapi compares it with docs/openapi.yaml)

#include <cstdio>
#include <cstring>
#include <exception>

#include "common/base64.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/heap.h"
#include "common/log.h"
#include "common/push_queue.h"
#include "common/redis.h"
#include "common/metrics_catalog.h"
#include "fcgi-app/pool.h"
#include "fcgi-app/rate_limit.h"
#include "fcgi-app/router.h"
#include "fcgi-app/store/migrate.h"
#include "fcgi-app/store/pg.h"
#include "fcgi-app/store/push.h"
#include "fcgi-app/store/users.h"
#include "fcgi-app/worker.h"

int main(int argc, char** argv) {
    using namespace streambed;
    std::string command = argc > 1 ? argv[1] : "serve";
    if (command == "routes") {
        // The very table the router matches against, so the listing cannot drift from it.
        for (const Route& r : AllRoutes().routes()) std::printf("%s %s\n", r.method.c_str(), r.pattern.c_str());
        return 0;
    }
    Config config;
    try {
        config = Config::FromEnvironment();
    } catch (const ConfigError& e) {
        std::fprintf(stderr, "streambed-api: configuration error: %s\n", e.what());
        return 2;
    }
    InitLogging("api", config.log_level);
    try {
        RateLimits::Parse(config.rate_limits);  // a bad setting stops start-up, not every request
    } catch (const ConfigError& e) {
        std::fprintf(stderr, "streambed-api: configuration error: %s\n", e.what());
        return 2;
    }

    if (command == "migrate") {
        try {
            Pg pg(config.pg_conninfo);
            int applied = ApplyMigrations(pg, config.sql_dir);
            std::printf("migrations applied: %d\n", applied);
            // Generated here so that it exists before the first browser asks for it.
            VapidKeyRow key = vapid_keys::Current(pg);
            std::printf("VAPID public key: %s\n", Base64UrlEncode(key.key.public_key).c_str());
            return 0;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "streambed-api: migration failed: %s\n", e.what());
            return 1;
        }
    }
    if (command == "rotate-vapid") {
        try {
            Pg pg(config.pg_conninfo);
            vapid_keys::Rotation r = vapid_keys::Rotate(pg);
            Log(LogLevel::kInfo, "vapid.rotated")
                .Int("key_id", r.key.id)
                .Int("removed_subscriptions", r.removed_subscriptions);
            std::printf("new VAPID public key: %s\n", Base64UrlEncode(r.key.key.public_key).c_str());
            std::printf("retired keys: %lld\n", static_cast<long long>(r.retired_keys));
            std::printf("subscriptions removed (their browsers must subscribe again): %lld\n",
                        static_cast<long long>(r.removed_subscriptions));
            return 0;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "streambed-api: rotate-vapid failed: %s\n", e.what());
            return 1;
        }
    }
    if (command == "test-push") {
        if (argc < 3 || !IsValidUserId(argv[2])) {
            std::fprintf(stderr, "usage: streambed-api test-push <user_id> [text]\n");
            return 2;
        }
        PushMessage message;
        message.cid = "streambed:push-test";
        message.message_id = "push-test-" + std::to_string(NowMicros());
        message.text = argc > 3 ? argv[3] : "Push notifications work.";
        message.sender_id = "streambed";
        message.sender_name = "streambed";
        message.recipient_ids = {argv[2]};
        RedisClient redis(config.redis);
        if (EnqueueMessagePush(redis, message) != 1) {
            std::fprintf(stderr, "streambed-api: could not queue the test push (see the log above)\n");
            return 1;
        }
        std::printf("queued %s for %s\n", message.message_id.c_str(), argv[2]);
        return 0;
    }
    if (command != "serve") {
        std::fprintf(stderr, "usage: streambed-api [serve|migrate|rotate-vapid|test-push <user_id> [text]|routes]\n");
        return 2;
    }
    KeepFreedHeap();  // before the fork: every worker inherits it (common/heap.h)
    // Declared and mapped before the first fork(): every worker adds to the same shared numbers.
    static metrics::Registry registry;
    static ApiMetrics metrics = DeclareApiMetrics(registry, RouteLabels(AllRoutes()));
    registry.Allocate(metrics::Registry::Storage::kShared);
    return RunWorkerPool(config, metrics, [&config](int listen_fd) {
        return RunWorker(config, listen_fd, registry, metrics);
    });
}
