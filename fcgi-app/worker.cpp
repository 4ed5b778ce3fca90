#include "fcgi-app/worker.h"

#include <fcgiapp.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "common/clock.h"
#include "common/errors.h"
#include "common/log.h"
#include "fcgi-app/auth.h"
#include "fcgi-app/call.h"
#include "fcgi-app/router.h"
#include "fcgi-app/upload_policy.h"
#include "fcgi-app/upload_storage.h"

namespace streambed {

namespace {

void OnTerminate(int) {
    // libfcgi retries accept() on EINTR; this flag is what makes FCGX_Accept_r give up.
    FCGX_ShutdownPending();
}

void InstallWorkerSignals() {
    struct sigaction sa {};
    sa.sa_handler = OnTerminate;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a blocked accept() must return
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

std::string Param(FCGX_ParamArray env, const char* name) {
    const char* v = FCGX_GetParam(name, env);
    return v == nullptr ? std::string() : std::string(v);
}

Reply EarlyError(const ApiError& e) { return Reply::Json(ErrorEnvelope(e, "0ms"), e.http_status()); }

std::string Mebibytes(size_t bytes) {
    return bytes % (1 << 20) == 0 ? std::to_string(bytes >> 20) + " MiB" : std::to_string(bytes) + " bytes";
}

// Copies the body of an upload route from libfcgi's stream into an unlinked temporary file, in
// 64 KiB steps: memory stays flat whatever the size. A body shorter than announced (the client
// went away) is kept as far as it came; the multipart parser then refuses it.
std::shared_ptr<const SpooledBody> SpoolBody(FCGX_Request& fcgi, const Config& config, size_t length) {
    int fd = OpenSpoolFile(config);
    std::vector<char> buffer(64 * 1024);
    size_t got = 0;
    while (got < length) {
        int want = static_cast<int>(std::min(buffer.size(), length - got));
        int n = FCGX_GetStr(buffer.data(), want, fcgi.in);
        if (n <= 0) break;
        for (int done = 0; done < n;) {
            ssize_t w = write(fd, buffer.data() + done, static_cast<size_t>(n - done));
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                close(fd);
                throw std::runtime_error(std::string("cannot spool an upload: ") + std::strerror(errno));
            }
            done += static_cast<int>(w);
        }
        got += static_cast<size_t>(n);
    }
    return std::make_shared<const SpooledBody>(fd, got);
}

// Fills `request`; returns an error reply instead when the body is too large.
std::optional<Reply> ReadRequest(FCGX_Request& fcgi, const Config& config, Request& request) {
    FCGX_ParamArray env = fcgi.envp;
    request.method = Param(env, "REQUEST_METHOD");
    std::string uri = Param(env, "REQUEST_URI");
    size_t q = uri.find('?');
    request.path = uri.substr(0, q);
    std::string query = q == std::string::npos ? std::string() : uri.substr(q + 1);
    request.authorization = Param(env, "HTTP_AUTHORIZATION");
    request.auth_type = Param(env, "HTTP_STREAM_AUTH_TYPE");
    request.content_type = Param(env, "CONTENT_TYPE");
    request.request_id = Param(env, "REQUEST_ID");
    request.remote_addr = Param(env, "REMOTE_ADDR");
    request.host = Param(env, "REQUEST_HOST");  // the Host header with its port (HTTP_HOST is $host)
    request.scheme = Param(env, "REQUEST_SCHEME");
    if (request.scheme.empty()) request.scheme = Param(env, "HTTPS") == "on" ? "https" : "http";

    auto params = QueryParams::Parse(query);
    if (!params) return EarlyError(BadRequest("malformed query string"));
    request.query = std::move(*params);

    // Only the upload routes take large bodies (nginx allows them there only, too).
    const Route* route = AllRoutes().Match(request.method, request.path).route;
    bool upload = route != nullptr && route->body == BodyKind::kUpload;
    size_t limit = upload ? UploadRequestLimit(config) : kMaxBodyBytes;
    long long length = std::atoll(Param(env, "CONTENT_LENGTH").c_str());
    if (length < 0 || static_cast<unsigned long long>(length) > limit) {
        return EarlyError(ApiError(413, code::kPayloadTooBig, "request body is larger than " + Mebibytes(limit)));
    }
    if (upload) {
        try {
            request.spooled = SpoolBody(fcgi, config, static_cast<size_t>(length));
        } catch (const std::exception& e) {
            Log(LogLevel::kError, "upload.spool_failed").Str("error", e.what()).Str("request_id", request.request_id);
            return EarlyError(Unavailable("the upload storage is not available, retry later"));
        }
        return std::nullopt;
    }
    request.body.resize(static_cast<size_t>(length));
    size_t got = 0;
    while (got < request.body.size()) {
        int n = FCGX_GetStr(request.body.data() + got, static_cast<int>(request.body.size() - got), fcgi.in);
        if (n <= 0) break;
        got += static_cast<size_t>(n);
    }
    request.body.resize(got);
    return std::nullopt;
}

// Every successful reply carries "duration" (STREAM-PROTOCOL.md §0); error envelopes already have it.
void AddDuration(Reply& reply, int64_t micros) {
    if (reply.content_type.rfind("application/json", 0) != 0) return;
    if (reply.body.size() < 2 || reply.body.back() != '}' || reply.body.find("\"duration\"") != std::string::npos)
        return;
    std::string field = "\"duration\":\"" + FormatDuration(micros) + "\"";
    reply.body.insert(reply.body.size() - 1, reply.body.size() == 2 ? field : "," + field);
}

void WriteReply(FCGX_Request& fcgi, const Reply& reply) {
    std::string head = "Status: " + std::to_string(reply.status) + " " + std::string(StatusText(reply.status)) +
                       "\r\nContent-Type: " + reply.content_type + "\r\n";
    for (const auto& [name, value] : reply.headers) head += name + ": " + value + "\r\n";
    head += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n\r\n";
    FCGX_PutStr(head.data(), static_cast<int>(head.size()), fcgi.out);
    FCGX_PutStr(reply.body.data(), static_cast<int>(reply.body.size()), fcgi.out);
}

Reply ErrorReply(const ApiError& e, int64_t started) {
    Reply r = Reply::Json(ErrorEnvelope(e, FormatDuration(NowMicros() - started)), e.http_status());
    return r;
}

}  // namespace

namespace {
// What a request is counted as in the metrics: its route pattern and method, or "unmatched".
struct Counted {
    std::string_view route = kUnmatchedRoute;
    std::string_view method = "other";
};

void Record(const App& app, const Counted& counted, int status, int64_t micros) {
    const ApiMetrics* m = app.metrics();
    if (m == nullptr) return;
    m->http_requests.With({counted.route, counted.method, StatusLabel(status)}).Inc();
    m->http_request_duration.With({counted.route, counted.method}).ObserveMicros(micros);
}

using Headers = std::vector<std::pair<std::string, std::string>>;
Reply DispatchRoute(App& app, const Request& request, Counted& counted, Headers& headers);
}  // namespace

Reply Dispatch(App& app, const Request& request) {
    int64_t started = NowMicros();
    // Prometheus's scrape (nginx's internal listener passes REQUEST_URI=/metrics; public servers
    // never route it). Any worker renders the whole pool's numbers from shared memory.
    if (request.method == "GET" && request.path == "/metrics" && app.registry() != nullptr) {
        Reply r;
        r.content_type = metrics::kContentType;
        r.body = app.registry()->Render();
        return r;
    }
    Counted counted;
    Headers headers;
    Reply reply = DispatchRoute(app, request, counted, headers);
    reply.headers.insert(reply.headers.end(), headers.begin(), headers.end());
    Record(app, counted, reply.status, NowMicros() - started);
    return reply;
}

namespace {
// PostgreSQL ends one of two transactions that wait for each other's locks (a deadlock), or that
// a serializable snapshot cannot order, and rolls it back whole: nothing of it was written and
// nothing was published (events go out after the commit), so the request runs again, as the
// client would have to. Writers take a channel's row before its members' rows, which keeps such
// waits rare; this keeps the rare one from reaching the client as a 500. Each conflict is counted
// (pg_errors, kind "conflict") whether or not its rerun succeeds.
Reply RunHandler(const Route& route, Call& call, const Request& request, const ApiMetrics* m) {
    constexpr int kAttempts = 3;
    for (int attempt = 1;; ++attempt) {
        try {
            return route.handler(call);
        } catch (const PgError& e) {
            if (!e.IsSerializationFailure() || attempt == kAttempts) throw;
            if (m != nullptr) m->pg_errors.With({PgErrorKind(e.sqlstate())}).Inc();
            Log(LogLevel::kWarn, "pg.retry").Str("sqlstate", e.sqlstate()).Int("attempt", attempt).Str(
                "request_id", request.request_id);
        }
    }
}

Reply DispatchRoute(App& app, const Request& request, Counted& counted, Headers& headers) {
    int64_t started = NowMicros();
    const ApiMetrics* m = app.metrics();
    try {
        RouteMatch match = AllRoutes().Match(request.method, request.path);
        if (match.route != nullptr) {
            counted.route = match.route->pattern;
            counted.method = match.route->method;
        }
        if (match.route == nullptr) {
            if (!match.allowed.empty()) {
                std::string allow;
                for (const auto& method : match.allowed) allow += (allow.empty() ? "" : ", ") + method;
                Reply r = ErrorReply(ApiError(405, code::kInputError, request.method + " is not allowed on " +
                                                                          request.path + " (allowed: " + allow + ")"),
                                     started);
                r.headers.emplace_back("Allow", allow);
                return r;
            }
            if (match.bad_encoding) return ErrorReply(BadRequest("malformed percent-encoding in the path"), started);
            return ErrorReply(NotFound("no route for " + request.method + " " + request.path), started);
        }
        Caller caller = Authenticate(request, match.route->access, app.config());
        RateDecision rate = CheckRateLimit(app.redis(), app.rate_limits(), *match.route, caller, NowSeconds());
        if (rate.counted) {
            // On every counted response, as getstream.io sends them.
            headers.emplace_back("X-RateLimit-Limit", std::to_string(rate.limit));
            headers.emplace_back("X-RateLimit-Remaining", std::to_string(rate.remaining));
            headers.emplace_back("X-RateLimit-Reset", std::to_string(rate.reset));
        }
        if (!rate.allowed)
            throw ApiError(429, code::kRateLimited, "too many requests: see X-RateLimit-Reset for when to retry");
        Call call(app, request, std::move(caller), std::move(match.params));
        Reply reply = RunHandler(*match.route, call, request, m);
        AddDuration(reply, NowMicros() - started);
        return reply;
    } catch (const ApiError& e) {
        return ErrorReply(e, started);
    } catch (const PgUnavailable& e) {
        if (m != nullptr) m->pg_errors.With({PgErrorKind(e.sqlstate())}).Inc();
        return ErrorReply(Unavailable("the database is temporarily unavailable, retry shortly"), started);
    } catch (const RedisError& e) {
        if (m != nullptr) m->redis_errors.With({"api"}).Inc();
        Log(LogLevel::kWarn, "redis.error").Str("error", e.what()).Str("request_id", request.request_id);
        return ErrorReply(Unavailable("the event store is temporarily unavailable, retry shortly"), started);
    } catch (const PgError& e) {
        if (m != nullptr) m->pg_errors.With({PgErrorKind(e.sqlstate())}).Inc();
        if (e.IsCancelled()) {
            // Past STREAMBED_PG_STATEMENT_TIMEOUT_MS, most likely waiting for a lock someone holds
            // (a write that was rolled back with it): worth a retry, not a bug of ours.
            Log(LogLevel::kWarn, "pg.statement_timeout").Str("error", e.what()).Str("request_id", request.request_id);
            return ErrorReply(Unavailable("the database did not answer in time, retry shortly"), started);
        }
        Log(LogLevel::kError, "pg.error").Str("error", e.what()).Str("sqlstate", e.sqlstate()).Str(
            "request_id", request.request_id);
        return ErrorReply(ApiError(500, code::kInternal, "internal error"), started);
    } catch (const std::exception& e) {
        Log(LogLevel::kError, "request.exception").Str("error", e.what()).Str("request_id", request.request_id);
        return ErrorReply(ApiError(500, code::kInternal, "internal error"), started);
    }
}
}  // namespace

int RunWorker(const Config& config, int listen_fd, const metrics::Registry& registry, const ApiMetrics& metrics) {
    InstallWorkerSignals();
    App app(config, &registry, &metrics);
    FCGX_Request fcgi;
    if (FCGX_InitRequest(&fcgi, listen_fd, 0) != 0) {
        Log(LogLevel::kError, "worker.init_failed");
        return 1;
    }
    Log(LogLevel::kInfo, "worker.started");
    while (FCGX_Accept_r(&fcgi) >= 0) {
        int64_t started = NowMicros();
        Request request;
        Reply reply;
        if (auto early = ReadRequest(fcgi, config, request)) {
            reply = std::move(*early);
        } else {
            reply = Dispatch(app, request);
        }
        WriteReply(fcgi, reply);
        // libfcgi's close shuts down its side, then waits (up to 2 s) for nginx to close first, so
        // that input left unread cannot turn the close into a TCP reset that loses the reply. nginx
        // closes once it has read the reply, which took 4-40 ms a request while its workers were
        // busy relaying WebSocket frames (scripts/bench's fan-out), and this worker served no one
        // meanwhile. Once the input has been read to its end nothing is left to reset it: close at
        // once. An early error that left a body unread keeps the careful close.
        if (FCGX_GetChar(fcgi.in) == EOF) FCGX_Detach(&fcgi);
        FCGX_Finish_r(&fcgi);
        if (LogEnabled(LogLevel::kInfo)) {
            // The path only: query strings can carry tokens (WebSocket tickets) and never reach a log.
            Log(LogLevel::kInfo, "request")
                .Str("request_id", request.request_id)
                .Str("method", request.method)
                .Str("path", request.path)
                .Int("status", reply.status)
                .Int("micros", NowMicros() - started);
        }
    }
    Log(LogLevel::kInfo, "worker.stopped");
    return 0;
}

}  // namespace streambed
