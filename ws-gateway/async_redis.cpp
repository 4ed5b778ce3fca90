#include "ws-gateway/async_redis.h"

#include <memory>

#include "common/log.h"

namespace streambed {

AsyncRedis::AsyncRedis(EventLoop& loop, std::string_view address, std::string name)
    : loop_(loop), address_(RedisAddress::Parse(address)), name_(std::move(name)) {}

AsyncRedis::~AsyncRedis() { Shutdown(); }

void AsyncRedis::Shutdown() {
    shutting_down_ = true;
    if (ac_ != nullptr) {
        redisAsyncContext* ac = ac_;
        redisAsyncFree(ac);  // runs pending callbacks with a null reply, then HookCleanup
        ac_ = nullptr;
    }
}

void AsyncRedis::Start(std::function<void()> on_ready, std::function<void()> on_lost) {
    on_ready_ = std::move(on_ready);
    on_lost_ = std::move(on_lost);
    Connect();
}

void AsyncRedis::Connect() {
    if (shutting_down_) return;
    ac_ = address_.unix_path.empty() ? redisAsyncConnect(address_.host.c_str(), address_.port)
                                     : redisAsyncConnectUnix(address_.unix_path.c_str());
    if (ac_ == nullptr || ac_->err) {
        Log(LogLevel::kWarn, "redis.connect_failed").Str("connection", name_).Str("error", ac_ ? ac_->errstr : "oom");
        if (ac_ != nullptr) redisAsyncFree(ac_);
        ac_ = nullptr;
        ScheduleReconnect();
        return;
    }
    ac_->data = this;
    fd_ = ac_->c.fd;
    ac_->ev.data = this;
    ac_->ev.addRead = HookAddRead;
    ac_->ev.delRead = HookDelRead;
    ac_->ev.addWrite = HookAddWrite;
    ac_->ev.delWrite = HookDelWrite;
    ac_->ev.cleanup = HookCleanup;
    redisAsyncSetConnectCallback(ac_, OnConnected);
    redisAsyncSetDisconnectCallback(ac_, OnDisconnected);
    // A non-blocking connect completes when the socket becomes writable.
    HookAddWrite(this);
}

void AsyncRedis::ScheduleReconnect() {
    if (shutting_down_) return;
    int64_t delay = backoff_ms_;
    backoff_ms_ = backoff_ms_ * 2 > 2000 ? 2000 : backoff_ms_ * 2;
    loop_.After(delay, [this] { Connect(); });
}

void AsyncRedis::UpdateWatch() {
    if (fd_ < 0) return;
    uint32_t mask = (want_read_ ? uint32_t{EPOLLIN} : 0u) | (want_write_ ? uint32_t{EPOLLOUT} : 0u);
    loop_.Watch(fd_, mask, this);
}

void AsyncRedis::HookAddRead(void* self) {
    auto* r = static_cast<AsyncRedis*>(self);
    r->want_read_ = true;
    r->UpdateWatch();
}
void AsyncRedis::HookDelRead(void* self) {
    auto* r = static_cast<AsyncRedis*>(self);
    r->want_read_ = false;
    r->UpdateWatch();
}
void AsyncRedis::HookAddWrite(void* self) {
    auto* r = static_cast<AsyncRedis*>(self);
    r->want_write_ = true;
    r->UpdateWatch();
}
void AsyncRedis::HookDelWrite(void* self) {
    auto* r = static_cast<AsyncRedis*>(self);
    r->want_write_ = false;
    r->UpdateWatch();
}
void AsyncRedis::HookCleanup(void* self) {
    auto* r = static_cast<AsyncRedis*>(self);
    if (r->fd_ >= 0) r->loop_.Unwatch(r->fd_);
    r->fd_ = -1;
    r->want_read_ = r->want_write_ = false;
}

void AsyncRedis::OnConnected(const redisAsyncContext* ac, int status) {
    auto* r = static_cast<AsyncRedis*>(ac->data);
    if (status != REDIS_OK) {
        // hiredis frees the context after this callback returns.
        Log(LogLevel::kWarn, "redis.connect_failed").Str("connection", r->name_).Str("error", ac->errstr);
        r->ac_ = nullptr;
        r->connected_ = false;
        r->ScheduleReconnect();
        return;
    }
    r->connected_ = true;
    r->backoff_ms_ = 100;
    Log(LogLevel::kInfo, "redis.connected").Str("connection", r->name_);
    if (r->on_ready_) r->on_ready_();
}

void AsyncRedis::OnDisconnected(const redisAsyncContext* ac, int status) {
    auto* r = static_cast<AsyncRedis*>(ac->data);
    bool was_connected = r->connected_;
    r->ac_ = nullptr;  // freed by hiredis after this callback
    r->connected_ = false;
    r->pending_confirm_.clear();
    if (r->shutting_down_) return;
    Log(LogLevel::kWarn, "redis.disconnected").Str("connection", r->name_).Int("status", status);
    if (was_connected && r->on_lost_) r->on_lost_();
    r->ScheduleReconnect();
}

void AsyncRedis::OnIo(uint32_t events) {
    if (ac_ != nullptr && (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) redisAsyncHandleRead(ac_);
    if (ac_ != nullptr && (events & EPOLLOUT)) redisAsyncHandleWrite(ac_);
}

void AsyncRedis::OnReply(redisAsyncContext*, void* reply, void* privdata) {
    std::unique_ptr<ReplyFn> fn(static_cast<ReplyFn*>(privdata));
    if (*fn) (*fn)(static_cast<redisReply*>(reply));
}

void AsyncRedis::Command(const std::vector<std::string>& args, ReplyFn fn) {
    if (ac_ == nullptr) {
        if (fn) fn(nullptr);
        return;
    }
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    argv.reserve(args.size());
    lens.reserve(args.size());
    for (const auto& a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
    }
    auto* holder = new ReplyFn(std::move(fn));
    if (redisAsyncCommandArgv(ac_, OnReply, holder, static_cast<int>(argv.size()), argv.data(), lens.data()) !=
        REDIS_OK) {
        std::unique_ptr<ReplyFn> owned(holder);
        if (*owned) (*owned)(nullptr);
    }
}

void AsyncRedis::OnSubscriberReply(redisAsyncContext* ac, void* reply, void*) {
    auto* r = static_cast<AsyncRedis*>(ac->data);
    if (reply != nullptr) r->OnSubscribeReply(static_cast<redisReply*>(reply));
}

void AsyncRedis::OnSubscribeReply(redisReply* reply) {
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) return;
    std::string_view kind(reply->element[0]->str, reply->element[0]->len);
    const redisReply* topic = reply->element[1];
    if (topic->type != REDIS_REPLY_STRING) return;
    std::string_view name(topic->str, topic->len);
    if (kind == "message") {
        const redisReply* payload = reply->element[2];
        if (payload->type == REDIS_REPLY_STRING && on_message_) on_message_(name, std::string_view(payload->str, payload->len));
    } else if (kind == "subscribe") {
        auto it = pending_confirm_.find(name);
        if (it == pending_confirm_.end()) return;
        auto callbacks = std::move(it->second);
        pending_confirm_.erase(it);
        for (auto& cb : callbacks) cb();
    }
}

void AsyncRedis::Subscribe(const std::vector<std::string>& topics, std::function<void()> confirmed) {
    if (topics.empty()) {
        if (confirmed) confirmed();
        return;
    }
    if (ac_ == nullptr || !connected_) {
        // Not connected: the topic set is re-sent by on_ready after the reconnect, and the
        // waiter is told now (a later reconnect forces clients to resync anyway).
        if (confirmed) confirmed();
        return;
    }
    auto batch = std::make_shared<Batch>(Batch{topics.size(), std::move(confirmed)});
    std::vector<const char*> argv{"SUBSCRIBE"};
    std::vector<size_t> lens{9};
    for (const auto& t : topics) {
        argv.push_back(t.data());
        lens.push_back(t.size());
        pending_confirm_[t].push_back([batch] {
            if (--batch->remaining == 0 && batch->done) batch->done();
        });
    }
    redisAsyncCommandArgv(ac_, OnSubscriberReply, nullptr, static_cast<int>(argv.size()), argv.data(), lens.data());
}

void AsyncRedis::Unsubscribe(const std::vector<std::string>& topics) {
    if (topics.empty() || ac_ == nullptr || !connected_) return;
    std::vector<const char*> argv{"UNSUBSCRIBE"};
    std::vector<size_t> lens{11};
    for (const auto& t : topics) {
        argv.push_back(t.data());
        lens.push_back(t.size());
    }
    redisAsyncCommandArgv(ac_, OnSubscriberReply, nullptr, static_cast<int>(argv.size()), argv.data(), lens.data());
}

}  // namespace streambed
