// metrics_sample: prints the exposition each streambed process serves on GET /metrics, with the
// real catalog (metrics_catalog.h) and route table, and a few values recorded the way the
// processes record them, so that tests/ops/check can run `promtool check metrics` on real output.
//   metrics_sample api|gateway|push

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "common/metrics.h"
#include "common/metrics_catalog.h"
#include "fcgi-app/router.h"

using namespace streambed;

namespace {

int Api() {
    metrics::Registry registry;
    RouteLabelList routes = RouteLabels(AllRoutes());
    ApiMetrics m = DeclareApiMetrics(registry, routes);
    // As the pool does: shared storage before fork(), the supervisor's gauges, two workers recording.
    registry.Allocate(metrics::Registry::Storage::kShared);
    m.workers.With().Set(2);
    m.worker_restarts.With().Inc();
    for (int worker = 0; worker < 2; ++worker) {
        pid_t pid = fork();
        if (pid < 0) return 1;
        if (pid == 0) {
            m.http_requests.With({"/api/health/", "GET", StatusLabel(200)}).Inc();
            m.http_requests.With({kUnmatchedRoute, "other", StatusLabel(404)}).Inc();
            m.http_request_duration.With({"/api/health/", "GET"}).ObserveMicros(1800);
            m.pg_query_duration.With().ObserveMicros(350);
            m.pg_errors.With({PgErrorKind("08006")}).Inc();
            m.redis_errors.With({"api"}).Inc();
            _exit(0);
        }
        waitpid(pid, nullptr, 0);
    }
    std::fputs(registry.Render().c_str(), stdout);
    return 0;
}

int Gateway() {
    metrics::Registry registry;
    GatewayMetrics m = DeclareGatewayMetrics(registry);
    registry.Allocate(metrics::Registry::Storage::kProcess);
    m.connections.With({"stream"}).Set(3);
    m.connections.With({"room"}).Set(1);
    m.connections_opened.With().Inc(5);
    m.connections_closed.With().Inc(1);
    m.events_received.With().Inc(10);
    m.frames_delivered.With().Inc(25);
    m.events_dropped.With().Inc();
    m.slow_consumers_cut.With().Inc();
    m.protocol_errors.With().Inc();
    m.topics.With().Set(4);
    m.delivery_latency.With().ObserveMicros(900);
    std::fputs(registry.Render().c_str(), stdout);
    return 0;
}

int Push() {
    metrics::Registry registry;
    PushMetrics m = DeclarePushMetrics(registry);
    registry.Allocate(metrics::Registry::Storage::kProcess);
    m.queue_depth.With().Set(12);
    m.deliveries.With({"delivered"}).Inc(40);
    m.deliveries.With({"gone"}).Inc(2);
    m.deliveries.With({"retried"}).Inc(3);
    std::fputs(registry.Render().c_str(), stdout);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string which = argc > 1 ? argv[1] : "";
    if (which == "api") return Api();
    if (which == "gateway") return Gateway();
    if (which == "push") return Push();
    std::fprintf(stderr, "usage: metrics_sample api|gateway|push\n");
    return 2;
}
