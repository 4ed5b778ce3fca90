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

Backend::Backend(const Config& config) : config_(config), server_token_(SignServerToken(config.api_secret)) {}

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
