#include "ws-gateway/backend.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <memory>

#include "common/jwt.h"
#include "common/log.h"

namespace streambed {

namespace {
constexpr int kBackendThreads = 4;
constexpr size_t kMaxQueuedTasks = 10000;
}  // namespace

Backend::Backend(const Config& config) : config_(config), server_token_(SignServerToken(config.api_secret)) {
    for (int i = 0; i < kBackendThreads; ++i) threads_.emplace_back([this] { Work(); });
}

Backend::~Backend() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    ready_.notify_all();
    for (auto& t : threads_) t.join();
}

bool Backend::Submit(std::function<void()> task) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_ || queue_.size() >= kMaxQueuedTasks) return false;
        queue_.push_back(std::move(task));
    }
    ready_.notify_one();
    return true;
}

void Backend::Work() {
    while (true) {
        std::function<void()> task;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping and drained
            task = std::move(queue_.front());
            queue_.pop_front();
        }
        task();
    }
}

BackendReply Backend::Post(std::string_view path, std::string_view json) const {
    // One keep-alive session per thread: handshake threads and pool threads each reuse theirs.
    thread_local std::unique_ptr<Poco::Net::HTTPClientSession> session;
    for (int attempt = 0; attempt < 2; ++attempt) {
        try {
            if (!session) {
                Poco::URI uri(config_.api_url);
                session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
                session->setTimeout(Poco::Timespan(3, 0));
                session->setKeepAlive(true);
            }
            Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, std::string(path),
                                           Poco::Net::HTTPMessage::HTTP_1_1);
            request.setContentType("application/json");
            request.setContentLength(static_cast<std::streamsize>(json.size()));
            request.set("Authorization", server_token_);
            request.setKeepAlive(true);
            std::ostream& out = session->sendRequest(request);
            out.write(json.data(), static_cast<std::streamsize>(json.size()));
            Poco::Net::HTTPResponse response;
            std::istream& in = session->receiveResponse(response);
            BackendReply reply;
            reply.status = static_cast<int>(response.getStatus());
            Poco::StreamCopier::copyToString(in, reply.body);
            return reply;
        } catch (const Poco::Exception& e) {
            session.reset();
            if (attempt == 1) Log(LogLevel::kWarn, "backend.unreachable").Str("path", path).Str("error", e.displayText());
        }
    }
    return BackendReply{};
}

}  // namespace streambed
