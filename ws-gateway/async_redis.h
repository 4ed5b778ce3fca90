#pragma once
// hiredis's asynchronous client driven by the gateway's EventLoop (hiredis ships adapters for
// other loops, not ours). One instance is one connection: either a command connection or a
// pub/sub subscriber (Redis allows only (UN)SUBSCRIBE on a subscribed connection). It reconnects
// on its own after a drop, with backoff.

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/redis.h"
#include "ws-gateway/event_loop.h"

namespace streambed {

class AsyncRedis final : public IoHandler {
public:
    // `reply` is nullptr when the connection dropped before the reply came.
    using ReplyFn = std::function<void(redisReply* reply)>;
    using MessageFn = std::function<void(std::string_view topic, std::string_view payload)>;

    AsyncRedis(EventLoop& loop, std::string_view address, std::string name);
    ~AsyncRedis() override;

    // `on_ready` runs after every successful (re)connect, `on_lost` after every drop.
    void Start(std::function<void()> on_ready, std::function<void()> on_lost);
    void Shutdown();
    bool connected() const { return connected_; }

    // Command connection.
    void Command(const std::vector<std::string>& args, ReplyFn fn);

    // Subscriber connection. `confirmed` runs once Redis has confirmed every topic, from which
    // moment no message published to them can be missed.
    void SetMessageHandler(MessageFn fn) { on_message_ = std::move(fn); }
    void Subscribe(const std::vector<std::string>& topics, std::function<void()> confirmed);
    void Unsubscribe(const std::vector<std::string>& topics);

    void OnIo(uint32_t events) override;

private:
    void Connect();
    void ScheduleReconnect();
    void UpdateWatch();
    void OnSubscribeReply(redisReply* reply);

    static void HookAddRead(void* self);
    static void HookDelRead(void* self);
    static void HookAddWrite(void* self);
    static void HookDelWrite(void* self);
    static void HookCleanup(void* self);
    static void OnConnected(const redisAsyncContext* ac, int status);
    static void OnDisconnected(const redisAsyncContext* ac, int status);
    static void OnReply(redisAsyncContext* ac, void* reply, void* privdata);
    static void OnSubscriberReply(redisAsyncContext* ac, void* reply, void* privdata);

    EventLoop& loop_;
    RedisAddress address_;
    std::string name_;
    redisAsyncContext* ac_ = nullptr;
    int fd_ = -1;
    bool want_read_ = false;
    bool want_write_ = false;
    bool connected_ = false;
    bool shutting_down_ = false;
    int64_t backoff_ms_ = 100;
    std::function<void()> on_ready_;
    std::function<void()> on_lost_;
    MessageFn on_message_;
    // topic -> callbacks waiting for its subscribe confirmation
    std::map<std::string, std::vector<std::function<void()>>, std::less<>> pending_confirm_;
    // A batch's callback fires when its last topic is confirmed.
    struct Batch {
        size_t remaining;
        std::function<void()> done;
    };
};

}  // namespace streambed
