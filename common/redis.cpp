#include "common/redis.h"

#include <openssl/sha.h>

#include <cstring>

namespace streambed {

RedisAddress RedisAddress::Parse(std::string_view spec) {
    RedisAddress a;
    if (spec.substr(0, 5) == "unix:") {
        a.unix_path = std::string(spec.substr(5));
        return a;
    }
    size_t colon = spec.rfind(':');
    if (colon == std::string_view::npos) throw RedisError("Redis address must be unix:/path or host:port");
    a.host = std::string(spec.substr(0, colon));
    a.port = std::atoi(std::string(spec.substr(colon + 1)).c_str());
    if (a.port <= 0 || a.port > 65535) throw RedisError("Redis address has a bad port");
    return a;
}

redisContext* ConnectRedis(const RedisAddress& address, int timeout_ms) {
    struct timeval tv {
        timeout_ms / 1000, (timeout_ms % 1000) * 1000
    };
    redisContext* c = address.unix_path.empty() ? redisConnectWithTimeout(address.host.c_str(), address.port, tv)
                                                : redisConnectUnixWithTimeout(address.unix_path.c_str(), tv);
    if (c == nullptr) throw RedisError("cannot allocate a Redis context");
    if (c->err) {
        std::string why = c->errstr;
        redisFree(c);
        throw RedisError("cannot connect to Redis: " + why);
    }
    redisSetTimeout(c, tv);
    if (address.unix_path.empty()) redisEnableKeepAlive(c);
    return c;
}

RedisClient::RedisClient(std::string_view address, int timeout_ms)
    : address_(RedisAddress::Parse(address)), timeout_ms_(timeout_ms) {}

RedisClient::~RedisClient() { Disconnect(); }

void RedisClient::Disconnect() {
    if (context_ != nullptr) {
        redisFree(context_);
        context_ = nullptr;
    }
}

redisContext* RedisClient::Context() {
    if (context_ == nullptr) context_ = ConnectRedis(address_, timeout_ms_);
    return context_;
}

RedisReply RedisClient::Run(int argc, const char** argv, const size_t* lens) {
    redisContext* c = Context();
    auto* raw = static_cast<redisReply*>(redisCommandArgv(c, argc, argv, lens));
    if (raw == nullptr) {
        std::string why = c->errstr;
        Disconnect();
        throw RedisError("Redis command failed: " + why);
    }
    RedisReply reply(raw);
    if (reply->type == REDIS_REPLY_ERROR) throw RedisError(std::string("Redis error: ") + reply->str);
    return reply;
}

RedisReply RedisClient::Command(std::initializer_list<std::string_view> args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    argv.reserve(args.size());
    lens.reserve(args.size());
    for (auto a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
    }
    return Run(static_cast<int>(argv.size()), argv.data(), lens.data());
}

RedisReply RedisClient::Command(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    argv.reserve(args.size());
    lens.reserve(args.size());
    for (const auto& a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
    }
    return Run(static_cast<int>(argv.size()), argv.data(), lens.data());
}

std::vector<RedisReply> RedisClient::Pipeline(const std::vector<std::vector<std::string>>& commands) {
    redisContext* c = Context();
    for (const auto& args : commands) {
        std::vector<const char*> argv;
        std::vector<size_t> lens;
        for (const auto& a : args) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        if (redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()) != REDIS_OK) {
            Disconnect();
            throw RedisError("Redis pipeline failed");
        }
    }
    std::vector<RedisReply> replies;
    replies.reserve(commands.size());
    for (size_t i = 0; i < commands.size(); ++i) {
        void* raw = nullptr;
        if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) {
            std::string why = c->errstr;
            Disconnect();
            throw RedisError("Redis pipeline failed: " + why);
        }
        replies.emplace_back(static_cast<redisReply*>(raw));
    }
    return replies;
}

void RedisBatch::Add(std::vector<std::string> command, Take take) {
    commands_.push_back(std::move(command));
    takes_.push_back(std::move(take));
}

void RedisBatch::Run(RedisClient& redis) {
    if (commands_.empty()) return;
    auto commands = std::move(commands_);
    auto takes = std::move(takes_);
    commands_.clear();
    takes_.clear();
    std::vector<RedisReply> replies = redis.Pipeline(commands);
    for (size_t i = 0; i < takes.size(); ++i) takes[i](replies[i].get());
}

std::vector<std::string> RedisClient::EvalShaCommand(std::string_view script, const std::vector<std::string>& keys,
                                                    const std::vector<std::string>& args) {
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(script.data()), script.size(), digest);
    static const char kHex[] = "0123456789abcdef";
    std::string sha;
    for (unsigned char b : digest) {
        sha += kHex[b >> 4];
        sha += kHex[b & 15];
    }
    std::vector<std::string> argv{"EVALSHA", sha, std::to_string(keys.size())};
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

RedisReply RedisClient::Eval(std::string_view script, const std::vector<std::string>& keys,
                             const std::vector<std::string>& args) {
    std::vector<std::string> argv = EvalShaCommand(script, keys, args);
    try {
        return Command(argv);
    } catch (const RedisError& e) {
        if (std::strstr(e.what(), "NOSCRIPT") == nullptr) throw;
    }
    argv[0] = "EVAL";
    argv[1] = std::string(script);
    return Command(argv);
}

std::optional<std::string> ReplyString(const redisReply* r) {
    if (r->type == REDIS_REPLY_NIL) return std::nullopt;
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) return std::string(r->str, r->len);
    if (r->type == REDIS_REPLY_INTEGER) return std::to_string(r->integer);
    throw RedisError("unexpected Redis reply type");
}

int64_t ReplyInteger(const redisReply* r) {
    if (r->type == REDIS_REPLY_INTEGER) return r->integer;
    if (r->type == REDIS_REPLY_STRING) return std::strtoll(r->str, nullptr, 10);
    if (r->type == REDIS_REPLY_NIL) return 0;
    throw RedisError("unexpected Redis reply type");
}

std::vector<std::string> ReplyStrings(const redisReply* r) {
    std::vector<std::string> out;
    if (r->type == REDIS_REPLY_NIL) return out;
    if (r->type != REDIS_REPLY_ARRAY) throw RedisError("unexpected Redis reply type");
    out.reserve(r->elements);
    for (size_t i = 0; i < r->elements; ++i) {
        const redisReply* e = r->element[i];
        if (e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS) {
            out.emplace_back(e->str, e->len);
        } else if (e->type == REDIS_REPLY_INTEGER) {
            out.push_back(std::to_string(e->integer));
        } else {
            out.emplace_back();
        }
    }
    return out;
}

}  // namespace streambed
