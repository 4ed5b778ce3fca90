#include "common/metrics_catalog.h"

#ifndef STREAMBED_VERSION
#define STREAMBED_VERSION "unknown"
#endif

namespace streambed {

using metrics::Dimension;

namespace {

const std::vector<std::string> kMethods{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};

void DeclareBuildInfo(metrics::Registry& registry, std::string_view process) {
    registry.AddInfo("streambed_build_info",
                     "Always 1; the version of the running binary (watch a rolling upgrade move from one to the next).",
                     {{"process", std::string(process)}, {"version", std::string(BuildVersion())}});
}

metrics::CounterFamily& DeclareRedisErrors(metrics::Registry& registry, std::string process) {
    return registry.AddCounter("streambed_redis_errors_total",
                               "Redis commands or connections that failed (each one answered 503 or retried).",
                               {Dimension("process", {process}, process)});
}

}  // namespace

const std::vector<std::string>& StatusCodes() {
    static const std::vector<std::string> kCodes{"200", "201", "204", "304", "400", "401", "403", "404", "405", "409",
                                                 "413", "429", "500", "503", "504", "2xx", "3xx", "4xx", "5xx"};
    return kCodes;
}

std::string_view StatusLabel(int http_status) {
    if (http_status < 100 || http_status > 599) return "other";
    static const std::vector<std::string> kClasses{"1xx", "2xx", "3xx", "4xx", "5xx"};
    for (const std::string& code : StatusCodes()) {
        if (code[1] != 'x' && std::stoi(code) == http_status) return code;
    }
    // 1xx never reaches a FastCGI reply; it would count as "other".
    if (http_status < 200) return "other";
    return kClasses[static_cast<size_t>(http_status / 100 - 1)];
}

std::string_view PgErrorKind(std::string_view sqlstate) {
    if (sqlstate.empty() || sqlstate.substr(0, 2) == "08" || sqlstate.substr(0, 4) == "57P0") return "unavailable";
    if (sqlstate == "57014") return "timeout";
    if (sqlstate == "40001" || sqlstate == "40P01") return "conflict";
    if (sqlstate.substr(0, 2) == "23") return "constraint";
    return "other";
}

std::string_view BuildVersion() { return STREAMBED_VERSION; }

ApiMetrics DeclareApiMetrics(metrics::Registry& registry, const RouteLabelList& routes) {
    std::vector<std::vector<std::string>> route_tuples;
    for (const auto& [pattern, method] : routes) route_tuples.push_back({pattern, method});
    // Route and method as one dimension: only the combinations of the route table exist. Anything
    // else (404, 405, a method we never serve) is one series, so a scanner cannot add any.
    Dimension route = Dimension::Tuples({"route", "method"}, route_tuples, {std::string(kUnmatchedRoute), "other"});
    Dimension status("status", StatusCodes(), "other");

    DeclareBuildInfo(registry, "api");
    return ApiMetrics{
        registry.AddCounter("streambed_http_requests_total",
                            "REST requests answered by the workers, by route pattern, method and status "
                            "(nginx's own answers, such as its 429 and 502, are not here).",
                            {route, status}),
        registry.AddHistogram("streambed_http_request_duration_seconds",
                              "Time from reading a request to its reply being written, in seconds.",
                              metrics::RequestBuckets(), {route}),
        registry.AddCounter("streambed_pg_errors_total", "PostgreSQL errors, by kind.",
                            {Dimension("kind", {"unavailable", "timeout", "conflict", "constraint", "other"})}),
        registry.AddHistogram("streambed_pg_query_duration_seconds",
                              "Time of one PostgreSQL statement or transaction round trip, in seconds.",
                              metrics::FastBuckets()),
        DeclareRedisErrors(registry, "api"),
        registry.AddGauge("streambed_workers", "Worker processes alive in this pool."),
        registry.AddCounter("streambed_worker_restarts_total",
                            "Workers that died and were replaced by the supervisor."),
    };
}

GatewayMetrics DeclareGatewayMetrics(metrics::Registry& registry) {
    DeclareBuildInfo(registry, "gateway");
    registry.IncludeProcessMetrics();  // process_open_fds / process_max_fds: the saturation alert
    return GatewayMetrics{
        registry.AddGauge("streambed_ws_connections", "Open WebSocket connections, by kind.",
                          {Dimension("kind", {"stream", "room"})}),
        registry.AddCounter("streambed_ws_connections_opened_total", "WebSocket connections accepted."),
        registry.AddCounter("streambed_ws_connections_closed_total", "WebSocket connections closed, for any reason."),
        registry.AddCounter("streambed_ws_events_received_total", "Events received from the Redis bus."),
        registry.AddCounter("streambed_ws_frames_delivered_total", "Frames written to sockets."),
        registry.AddCounter("streambed_ws_events_dropped_total",
                            "Events not delivered to a socket (undecodable, or its socket was gone or cut)."),
        registry.AddCounter("streambed_ws_slow_consumers_cut_total",
                            "Sockets closed because their output queue passed STREAMBED_WS_OUTPUT_BUDGET."),
        registry.AddCounter("streambed_ws_protocol_errors_total",
                            "Sockets closed for breaking the WebSocket or stream protocol."),
        registry.AddGauge("streambed_ws_topics", "Redis topics this gateway is subscribed to."),
        registry.AddHistogram("streambed_ws_delivery_latency_seconds",
                              "Time from an event's publication by a worker to its frame being written, in seconds.",
                              metrics::FastBuckets()),
        DeclareRedisErrors(registry, "gateway"),
    };
}

PushMetrics DeclarePushMetrics(metrics::Registry& registry) {
    DeclareBuildInfo(registry, "push");
    registry.IncludeProcessMetrics();
    return PushMetrics{
        registry.AddGauge("streambed_push_queue_depth", "Push jobs waiting in the Redis queue."),
        registry.AddCounter("streambed_push_deliveries_total",
                            "Web Push attempts, by outcome: delivered (2xx), gone (404/410: subscription removed), "
                            "retried (429/5xx/network: queued again), failed (given up).",
                            {Dimension("outcome", {"delivered", "gone", "retried", "failed"}, "failed")}),
        DeclareRedisErrors(registry, "push"),
    };
}

}  // namespace streambed
