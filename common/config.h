#pragma once
// Process configuration, read once at start-up from the environment (systemd's EnvironmentFile
// in production, scripts/run in development). Every setting and its default is listed in
// docs/configuration.md. A bad setting stops the process with a sentence saying what to fix.

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"

namespace streambed {

class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Config {
    std::string api_key;     // STREAMBED_API_KEY
    std::string api_secret;  // STREAMBED_API_SECRET, at least 32 bytes
    bool dev_mode = false;   // STREAMBED_DEV: dev tokens, loopback push endpoints

    std::string pg_conninfo;  // STREAMBED_PG: libpq connection string
    // STREAMBED_PG_STATEMENT_TIMEOUT_MS: how long a request's statement, or a request's transaction
    // left idle, may last before PostgreSQL ends it (Pg's wait limit); well under nginx's 30 s
    // fastcgi_read_timeout, so that the client gets a retryable 503 from us rather than a 504.
    int pg_statement_timeout_ms = 10000;
    std::string redis;        // STREAMBED_REDIS: "unix:/path/redis.sock" or "host:port"

    int workers = 2;                  // STREAMBED_WORKERS: FastCGI worker processes
    std::string fcgi_socket;          // STREAMBED_FCGI_SOCKET: unix socket path or 127.0.0.1:port
    // STREAMBED_GATEWAY_LISTEN: where this gateway listens, one or more addresses separated by
    // commas: host:port, or the path of a Unix socket (starting with /) for an nginx on the same
    // host, which relays each frame over it for well under half the CPU of loopback TCP.
    std::vector<std::string> gateway_listen;
    std::string api_url;              // STREAMBED_API_URL: where a gateway reaches the REST workers
    std::string sql_dir;              // STREAMBED_SQL_DIR: migrations
    LogLevel log_level = LogLevel::kInfo;  // STREAMBED_LOG_LEVEL

    int max_message_length = 5000;  // STREAMBED_MAX_MESSAGE_LENGTH (characters)
    int ws_ticket_ttl = 600;        // STREAMBED_WS_TICKET_TTL (seconds)
    // STREAMBED_EDITING_IDLE_TIMEOUT (seconds): a participant of an editing document silent this
    // long drops out of it, with typing.stop (docs/ot.md). getstream.io's value is 30 s; tests use less.
    int editing_idle_timeout = 30;

    // STREAMBED_ALLOWED_ORIGINS: comma-separated origins allowed to open a WebSocket
    // ("https://chat.example.com"); "*" allows any. Requests without Origin (non-browsers) pass.
    std::string allowed_origins = "*";
    // STREAMBED_WS_OUTPUT_BUDGET: bytes a socket may have queued before it is cut off as a slow consumer.
    int ws_output_budget = 1 << 20;

    // STREAMBED_RATE_LIMITS: "off", or class=limit overrides (fcgi-app/rate_limit.h).
    std::string rate_limits;
    // Uploads (docs/uploads.md). STREAMBED_UPLOAD_DIR: where files are stored, served by nginx.
    std::string upload_dir = "/var/lib/streambed/uploads";
    // STREAMBED_UPLOAD_URL: the public URL of that folder ("https://chat.example.com/uploads");
    // empty: <scheme>://<Host of the upload request>/uploads.
    std::string upload_url;
    // STREAMBED_UPLOAD_MAX_BYTES: largest file or image accepted (getstream.io's size_limit).
    int upload_max_bytes = 100 << 20;

    // STREAMBED_LINK_PREVIEW_TIMEOUT_MS: how long a link preview may take, name lookup to the
    // page's head (fcgi-app/link_preview.h); 0 turns link previews off on this server. A send
    // waits for it, as on getstream.io (which allows about 4 s).
    int link_preview_timeout_ms = 3000;

    bool OriginAllowed(std::string_view origin) const;

    static constexpr size_t kMinSecretBytes = 32;

    // Throws ConfigError naming the variable and what to do.
    static Config FromEnvironment();
};

}  // namespace streambed
