#include "common/config.h"

#include <cstdlib>
#include <string_view>

namespace streambed {

namespace {

std::string Env(const char* name, std::string_view fallback) {
    const char* v = std::getenv(name);
    return (v != nullptr && *v != '\0') ? std::string(v) : std::string(fallback);
}

int EnvInt(const char* name, int fallback, int min, int max) {
    std::string text = Env(name, "");
    if (text.empty()) return fallback;
    char* end = nullptr;
    long v = std::strtol(text.c_str(), &end, 10);
    if (end == text.c_str() || *end != '\0' || v < min || v > max) {
        throw ConfigError(std::string(name) + "=" + text + " is not a whole number between " + std::to_string(min) +
                          " and " + std::to_string(max));
    }
    return static_cast<int>(v);
}

bool EnvBool(const char* name) {
    std::string v = Env(name, "0");
    if (v == "1" || v == "true" || v == "yes") return true;
    if (v == "0" || v == "false" || v == "no") return false;
    throw ConfigError(std::string(name) + " must be 1 or 0, not '" + v + "'");
}

// The items of a comma-separated setting, each without the blanks around it; empty ones kept.
std::vector<std::string_view> CommaList(std::string_view text) {
    std::vector<std::string_view> items;
    while (true) {
        size_t comma = text.find(',');
        std::string_view item = text.substr(0, comma);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
        items.push_back(item);
        if (comma == std::string_view::npos) return items;
        text.remove_prefix(comma + 1);
    }
}

// "a, b": host:port (a colon before the port) or an absolute socket path, each.
std::vector<std::string> ListenAddresses(const char* name, std::string_view fallback) {
    std::string text = Env(name, fallback);
    std::vector<std::string> out;
    for (std::string_view address : CommaList(text)) {
        size_t colon = address.rfind(':');
        bool path = !address.empty() && address.front() == '/';
        bool host_port = !path && colon != std::string_view::npos && colon > 0 && colon + 1 < address.size();
        if (!path && !host_port)
            throw ConfigError(std::string(name) + ": '" + std::string(address) +
                              "' is neither host:port nor a Unix socket path starting with /");
        out.emplace_back(address);
    }
    return out;
}

}  // namespace

Config Config::FromEnvironment() {
    Config c;
    c.api_key = Env("STREAMBED_API_KEY", "");
    if (c.api_key.empty()) throw ConfigError("STREAMBED_API_KEY is not set: give the app's API key");
    c.api_secret = Env("STREAMBED_API_SECRET", "");
    if (c.api_secret.size() < kMinSecretBytes) {
        // The secret signs every token: a short one can be brute-forced offline from any token.
        throw ConfigError("STREAMBED_API_SECRET must be at least " + std::to_string(kMinSecretBytes) +
                          " bytes long (it is " + std::to_string(c.api_secret.size()) +
                          "); generate one with: openssl rand -hex 32");
    }
    c.dev_mode = EnvBool("STREAMBED_DEV");
    c.pg_conninfo = Env("STREAMBED_PG", "dbname=streambed");
    c.pg_statement_timeout_ms = EnvInt("STREAMBED_PG_STATEMENT_TIMEOUT_MS", 10000, 100, 600000);
    c.redis = Env("STREAMBED_REDIS", "127.0.0.1:6379");
    c.workers = EnvInt("STREAMBED_WORKERS", 2, 1, 256);
    c.fcgi_socket = Env("STREAMBED_FCGI_SOCKET", "127.0.0.1:9000");
    c.gateway_listen = ListenAddresses("STREAMBED_GATEWAY_LISTEN", "127.0.0.1:8180");
    c.api_url = Env("STREAMBED_API_URL", "http://127.0.0.1:8080");
    c.sql_dir = Env("STREAMBED_SQL_DIR", "/usr/share/streambed/sql");
    std::string level = Env("STREAMBED_LOG_LEVEL", "info");
    auto parsed = ParseLogLevel(level);
    if (!parsed) throw ConfigError("STREAMBED_LOG_LEVEL must be debug, info, warn or error, not '" + level + "'");
    c.log_level = *parsed;
    c.max_message_length = EnvInt("STREAMBED_MAX_MESSAGE_LENGTH", 5000, 1, 100000);
    c.ws_ticket_ttl = EnvInt("STREAMBED_WS_TICKET_TTL", 600, 10, 86400);
    c.editing_idle_timeout = EnvInt("STREAMBED_EDITING_IDLE_TIMEOUT", 30, 1, 3600);
    c.allowed_origins = Env("STREAMBED_ALLOWED_ORIGINS", "*");
    c.ws_output_budget = EnvInt("STREAMBED_WS_OUTPUT_BUDGET", 1 << 20, 16384, 1 << 28);
    c.rate_limits = Env("STREAMBED_RATE_LIMITS", "");
    c.upload_dir = Env("STREAMBED_UPLOAD_DIR", "/var/lib/streambed/uploads");
    if (c.upload_dir.front() != '/') throw ConfigError("STREAMBED_UPLOAD_DIR must be an absolute path");
    while (c.upload_dir.size() > 1 && c.upload_dir.back() == '/') c.upload_dir.pop_back();
    c.upload_url = Env("STREAMBED_UPLOAD_URL", "");
    while (!c.upload_url.empty() && c.upload_url.back() == '/') c.upload_url.pop_back();
    if (!c.upload_url.empty() && c.upload_url.rfind("https://", 0) != 0 && c.upload_url.rfind("http://", 0) != 0)
        throw ConfigError("STREAMBED_UPLOAD_URL must start with https:// or http://");
    c.upload_max_bytes = EnvInt("STREAMBED_UPLOAD_MAX_BYTES", 100 << 20, 1024, 1 << 30);
    c.link_preview_timeout_ms = EnvInt("STREAMBED_LINK_PREVIEW_TIMEOUT_MS", 3000, 0, 10000);
    return c;
}

bool Config::OriginAllowed(std::string_view origin) const {
    if (origin.empty() || allowed_origins == "*") return true;
    for (std::string_view item : CommaList(allowed_origins)) {
        if (item == origin) return true;
    }
    return false;
}

}  // namespace streambed
