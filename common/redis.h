#pragma once
// A blocking Redis client for the REST workers and the gateway's helper threads (hiredis).
// One client per thread. It connects lazily, and after an I/O error it drops the connection so
// the next call reconnects: a Redis restart costs the requests in flight, never the process.

#include <hiredis/hiredis.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace streambed {

class RedisError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct RedisReplyDeleter {
    void operator()(redisReply* r) const { freeReplyObject(r); }
};
using RedisReply = std::unique_ptr<redisReply, RedisReplyDeleter>;

// "unix:/path/to/redis.sock" or "host:port".
struct RedisAddress {
    std::string unix_path;
    std::string host;
    int port = 0;
    static RedisAddress Parse(std::string_view spec);
};

// Opens a connection; nullptr-free: throws RedisError when it cannot connect.
redisContext* ConnectRedis(const RedisAddress& address, int timeout_ms);

class RedisClient {
public:
    explicit RedisClient(std::string_view address, int timeout_ms = 2000);
    ~RedisClient();
    RedisClient(const RedisClient&) = delete;
    RedisClient& operator=(const RedisClient&) = delete;

    // Throws RedisError on an I/O failure or an error reply.
    RedisReply Command(std::initializer_list<std::string_view> args);
    RedisReply Command(const std::vector<std::string>& args);

    // Sends every command, then reads every reply: one round trip. Error replies are returned,
    // not thrown, so one failing command does not hide the others' results.
    std::vector<RedisReply> Pipeline(const std::vector<std::vector<std::string>>& commands);

    // EVALSHA with a fallback to EVAL when the server does not know the script yet (after a
    // restart or on first use). EvalShaCommand is its first attempt, for a pipeline; a NOSCRIPT
    // error there is answered by calling Eval.
    static std::vector<std::string> EvalShaCommand(std::string_view script, const std::vector<std::string>& keys,
                                                   const std::vector<std::string>& args);
    RedisReply Eval(std::string_view script, const std::vector<std::string>& keys,
                    const std::vector<std::string>& args);

    void Disconnect();

private:
    redisContext* Context();
    RedisReply Run(int argc, const char** argv, const size_t* lens);

    RedisAddress address_;
    int timeout_ms_;
    redisContext* context_ = nullptr;
};

// Commands of different callers in one round trip (RedisClient::Pipeline), each added with what
// to do with its reply; those run in the order added. A channel state asks for its watchers and
// the caller's drafts together.
class RedisBatch {
public:
    using Take = std::function<void(const redisReply*)>;
    void Add(std::vector<std::string> command, Take take);
    void Run(RedisClient& redis);

private:
    std::vector<std::vector<std::string>> commands_;
    std::vector<Take> takes_;
};

// Reply readers. They throw RedisError when the reply has an unexpected type.
std::optional<std::string> ReplyString(const redisReply* reply);  // nil → nullopt
int64_t ReplyInteger(const redisReply* reply);
std::vector<std::string> ReplyStrings(const redisReply* reply);  // array of bulk strings (nil → "")

}  // namespace streambed
