#include "ws-gateway/handshake.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/WebSocket.h>

#include <algorithm>
#include <optional>

#include "common/clock.h"
#include "common/errors.h"
#include "common/ids.h"
#include "common/json.h"
#include "common/jwt.h"
#include "common/log.h"
#include "common/url.h"
#include "ws-gateway/gateway.h"

namespace streambed {

namespace {

using Poco::Net::HTTPRequestHandler;
using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;
using Poco::Net::WebSocket;

struct Failure {
    int status;
    int code;
    std::string message;
};

int TokenCode(TokenError error) {
    switch (error) {
        case TokenError::kExpired: return code::kTokenExpired;
        case TokenError::kNotYetValid: return code::kTokenNotValidYet;
        case TokenError::kMissingClaim: return code::kAuthFailed;
        default: return code::kTokenSignature;
    }
}

void ReplyJson(HTTPServerResponse& response, int status, const std::string& body) {
    response.setStatus(static_cast<HTTPResponse::HTTPStatus>(status));
    response.setContentType("application/json; charset=utf-8");
    response.setContentLength(static_cast<std::streamsize>(body.size()));
    response.setKeepAlive(false);
    response.send() << body;
}

void ReplyError(HTTPServerResponse& response, const Failure& f) {
    ReplyJson(response, f.status, ErrorEnvelope(f.status, f.code, f.message, "0ms"));
}

bool IsUpgrade(const HTTPServerRequest& request) {
    std::string upgrade = request.get("Upgrade", "");
    for (auto& ch : upgrade) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return upgrade == "websocket";
}

// The error envelope the gateway gets back from a worker, or a generic one.
Failure FailureFromBackend(const BackendReply& reply) {
    if (reply.status == 0) return {503, code::kInternal, "the API workers are unavailable, retry shortly"};
    rapidjson::Document doc;
    doc.Parse(reply.body.data(), reply.body.size());
    Failure f{reply.status, code::kInternal, "connect failed"};
    if (!doc.HasParseError() && doc.IsObject()) {
        if (doc.HasMember("code") && doc["code"].IsInt()) f.code = doc["code"].GetInt();
        if (doc.HasMember("message") && doc["message"].IsString()) f.message = doc["message"].GetString();
    }
    return f;
}

class ConnectHandler final : public HTTPRequestHandler {
public:
    ConnectHandler(const Config& config, EventLoop& loop, Gateway& gateway, Backend& backend, bool room,
                   std::string room_cid)
        : config_(config), loop_(loop), gateway_(gateway), backend_(backend), room_(room), cid_(std::move(room_cid)) {}

    void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override {
        try {
            Handle(request, response);
        } catch (const std::exception& e) {
            Log(LogLevel::kWarn, "handshake.failed").Str("error", e.what());
        }
    }

private:
    void Handle(HTTPServerRequest& request, HTTPServerResponse& response) {
        if (!IsUpgrade(request)) {
            ReplyError(response, {400, code::kInputError, "this endpoint only accepts WebSocket upgrades"});
            return;
        }
        // Browsers always send Origin; refusing unknown ones stops other sites from opening
        // sockets with a user's ticket (cross-site WebSocket hijacking).
        if (!config_.OriginAllowed(request.get("Origin", ""))) {
            ReplyError(response, {403, code::kNotAllowed, "origin not allowed"});
            return;
        }
        // Without the event bus a socket would hear nothing, and the SDK, whose state recovery
        // then fails with 503, would stop reconnecting (tests/faults/redis-restart.test.mjs). A
        // refused upgrade is a WebSocket failure to it: it retries with backoff until Redis is back.
        if (!gateway_.bus_up()) {
            ReplyError(response, {503, code::kInternal, "the event bus is reconnecting, retry shortly"});
            return;
        }
        std::string uri = request.getURI();
        size_t q = uri.find('?');
        auto query = QueryParams::Parse(q == std::string::npos ? std::string_view{} : std::string_view(uri).substr(q + 1));
        if (room_) {
            HandleRoom(request, response, query);
        } else {
            HandleStream(request, response, query);
        }
    }

    // /api/connect: every refusal is an error frame followed by close 1000 (§2.4), because that is
    // the only refusal the SDK reports to the application instead of retrying forever.
    void HandleStream(HTTPServerRequest& request, HTTPServerResponse& response,
                      const std::optional<QueryParams>& query) {
        std::optional<Failure> failure;
        Handoff handoff;
        handoff.kind = ConnectionKind::kStream;
        rapidjson::Document payload;
        std::string body;
        if (!query) {
            failure = Failure{400, code::kInputError, "malformed query string"};
        } else if (query->Get("api_key").value_or("") != config_.api_key) {
            failure = Failure{401, code::kBadApiKey, "api_key not valid"};
        } else {
            auto json = query->Get("json");
            payload.Parse(json ? json->data() : "", json ? json->size() : 0);
            if (!json || payload.HasParseError() || !payload.IsObject() || !payload.HasMember("user_id") ||
                !payload["user_id"].IsString()) {
                failure = Failure{400, code::kInputError, "json parameter with user_id is required"};
            } else {
                handoff.user_id = payload["user_id"].GetString();
                failure = Authenticate(*query, handoff, body, payload);
            }
        }
        BackendReply reply;
        if (!failure) {
            reply = backend_.Post("/internal/connect/", body);
            if (reply.status != 200) failure = FailureFromBackend(reply);
        }
        WebSocket ws(request, response);
        if (failure && failure->status >= 500) {
            // Transient (the workers, PostgreSQL or Redis are unavailable): an error frame and 1000
            // would make the SDK give up for good (§2.4), so close with 1013 "try again later",
            // which it retries with backoff (fault tests: tests/faults/postgres-restart.test.mjs).
            ws.shutdown(static_cast<Poco::UInt16>(ws::close_code::kTryAgainLater), "temporarily unavailable, retry");
            ws.close();
            return;
        }
        if (failure) {
            RefuseFrame(ws, *failure);
            return;
        }
        rapidjson::Document answer;
        answer.Parse(reply.body.data(), reply.body.size());
        handoff.me_json = ToJson(answer["me"]);
        handoff.user_json = ToJson(answer["user"]);
        handoff.socket = ws;
        // The handler is deleted once this returns: the task must not reach the gateway through it.
        loop_.Post([&gateway = gateway_, h = std::make_shared<Handoff>(std::move(handoff))]() mutable {
            gateway.Adopt(std::move(*h));
        });
    }

    std::optional<Failure> Authenticate(const QueryParams& query, Handoff& handoff, std::string& body,
                                        rapidjson::Document& payload) {
        std::string token(query.Get("authorization").value_or(""));
        bool anonymous = query.Get("stream-auth-type").value_or("jwt") == "anonymous";
        std::optional<int64_t> issued_at;
        if (anonymous && token.empty()) {
            if (handoff.user_id.empty() || handoff.user_id.size() > 255)
                return Failure{400, code::kInputError, "anonymous user_id is not valid"};
            handoff.anonymous = true;
        } else {
            TokenPolicy policy;
            policy.allow_dev_tokens = config_.dev_mode;
            TokenResult result = VerifyToken(token, config_.api_secret, policy, NowSeconds());
            if (!result.ok()) return Failure{401, TokenCode(result.error), "JWTAuth error: " + result.reason};
            if (result.token.server) return Failure{401, code::kAuthFailed, "a server token cannot open a client connection"};
            if (!result.token.cid.empty())
                return Failure{401, code::kAuthFailed, "this ticket is scoped to one room's /ws/ socket"};
            if (result.token.user_id != handoff.user_id)
                return Failure{401, code::kAuthFailed, "the token's user_id does not match json.user_id"};
            issued_at = result.token.issued_at;
        }
        JsonBuffer buf;
        JsonWriter w(buf);
        w.StartObject();
        PutString(w, "user_id", handoff.user_id);
        PutBool(w, "anonymous", handoff.anonymous);
        if (issued_at) PutInt(w, "token_issued_at", *issued_at);
        auto details = payload.FindMember("user_details");
        if (details != payload.MemberEnd() && details->value.IsObject()) {
            PutKey(w, "user_details");
            details->value.Accept(w);
        }
        auto device = payload.FindMember("device");
        if (device != payload.MemberEnd() && device->value.IsObject()) {
            PutKey(w, "device");
            device->value.Accept(w);
        }
        w.EndObject();
        body.assign(buf.GetString(), buf.GetSize());
        return std::nullopt;
    }

    static void RefuseFrame(WebSocket& ws, const Failure& f) {
        JsonBuffer buf;
        JsonWriter w(buf);
        w.StartObject();
        PutKey(w, "error");
        w.StartObject();
        PutInt(w, "code", f.code);
        PutString(w, "message", f.message);
        PutInt(w, "StatusCode", f.status);
        PutString(w, "duration", "");
        PutString(w, "more_info", "");
        PutKey(w, "details");
        w.StartArray();
        w.EndArray();
        w.EndObject();
        w.EndObject();
        ws.setSendTimeout(Poco::Timespan(2, 0));
        ws.sendFrame(buf.GetString(), static_cast<int>(buf.GetSize()), WebSocket::FRAME_TEXT);
        ws.shutdown(WebSocket::WS_NORMAL_CLOSE, "");
        ws.close();
    }

    // /ws/<cid>/: refusals happen before the upgrade, as plain HTTP (401 no token, 403 bad one).
    void HandleRoom(HTTPServerRequest& request, HTTPServerResponse& response, const std::optional<QueryParams>& query) {
        if (!query) {
            ReplyError(response, {400, code::kInputError, "malformed query string"});
            return;
        }
        auto cid = ParseCid(cid_);
        if (!cid) {
            ReplyError(response, {400, code::kInputError, "the path must be /ws/<type>:<id>/"});
            return;
        }
        // ?since_seq=N resumes: the room's events after N are replayed before live ones.
        std::optional<int64_t> since_seq;
        if (auto text = query->Get("since_seq")) {
            bool digits = !text->empty() && text->size() <= 18 &&
                          std::all_of(text->begin(), text->end(), [](char ch) { return ch >= '0' && ch <= '9'; });
            if (!digits) {
                ReplyError(response, {400, code::kInputError, "since_seq must be a non-negative integer"});
                return;
            }
            since_seq = std::stoll(std::string(*text));
        }
        std::string token(query->Get("auth").value_or(query->Get("authorization").value_or("")));
        if (token.empty()) {
            ReplyError(response, {401, code::kAuthFailed, "auth (a ticket from /api/ws-auth/) is required"});
            return;
        }
        TokenPolicy policy;
        policy.allow_dev_tokens = config_.dev_mode;
        TokenResult result = VerifyToken(token, config_.api_secret, policy, NowSeconds());
        if (!result.ok()) {
            ReplyError(response, {403, TokenCode(result.error), "JWTAuth error: " + result.reason});
            return;
        }
        if (result.token.server || (!result.token.cid.empty() && result.token.cid != cid_)) {
            ReplyError(response, {403, code::kNotAllowed, "this ticket does not open " + cid_});
            return;
        }
        JsonBuffer buf;
        JsonWriter w(buf);
        w.StartObject();
        PutString(w, "user_id", result.token.user_id);
        PutString(w, "cid", cid_);
        if (auto connection_id = query->Get("connection_id")) PutString(w, "connection_id", *connection_id);
        if (result.token.issued_at) PutInt(w, "token_issued_at", *result.token.issued_at);
        w.EndObject();
        BackendReply reply = backend_.Post("/internal/connect/", std::string_view(buf.GetString(), buf.GetSize()));
        if (reply.status != 200) {
            Failure f = FailureFromBackend(reply);
            if (f.status == 401) f.status = 403;  // room surfaces answer bad credentials with 403
            ReplyError(response, f);
            return;
        }
        rapidjson::Document answer;
        answer.Parse(reply.body.data(), reply.body.size());
        Handoff handoff;
        handoff.kind = ConnectionKind::kRoom;
        handoff.user_id = result.token.user_id;
        handoff.user_json = ToJson(answer["user"]);
        handoff.me_json = handoff.user_json;
        handoff.cid = cid_;
        handoff.since_seq = since_seq;
        if (auto keys = answer.FindMember("session_keys"); keys != answer.MemberEnd() && keys->value.IsArray()) {
            for (const auto& key : keys->value.GetArray())
                if (key.IsString()) handoff.session_keys.emplace_back(key.GetString(), key.GetStringLength());
        }
        WebSocket ws(request, response);
        handoff.socket = ws;
        // The handler is deleted once this returns: the task must not reach the gateway through it.
        loop_.Post([&gateway = gateway_, h = std::make_shared<Handoff>(std::move(handoff))]() mutable {
            gateway.Adopt(std::move(*h));
        });
    }

    const Config& config_;
    EventLoop& loop_;
    Gateway& gateway_;
    Backend& backend_;
    bool room_;
    std::string cid_;
};

class MetricsHandler final : public HTTPRequestHandler {
public:
    explicit MetricsHandler(const metrics::Registry& registry) : registry_(registry) {}
    void handleRequest(HTTPServerRequest&, HTTPServerResponse& response) override {
        std::string body = registry_.Render();
        response.setContentType(std::string(metrics::kContentType));
        response.setContentLength(static_cast<std::streamsize>(body.size()));
        response.setKeepAlive(false);
        response.send() << body;
    }

private:
    const metrics::Registry& registry_;
};

class NotFoundHandler final : public HTTPRequestHandler {
public:
    void handleRequest(HTTPServerRequest&, HTTPServerResponse& response) override {
        ReplyError(response, {404, code::kNotFound, "the gateway serves /api/connect and /ws/<cid>/ only"});
    }
};

}  // namespace

Poco::Net::HTTPRequestHandler* HandshakeFactory::createRequestHandler(const HTTPServerRequest& request) {
    std::string uri = request.getURI();
    std::string path = uri.substr(0, uri.find('?'));
    if (path == "/metrics" && request.getMethod() == "GET") return new MetricsHandler(registry_);
    if (path == "/api/connect" || path == "/api/connect/" || path == "/connect" || path == "/connect/")
        return new ConnectHandler(config_, loop_, gateway_, backend_, false, {});
    constexpr std::string_view kRoomPrefix = "/ws/";
    if (path.rfind(kRoomPrefix, 0) == 0) {
        std::string rest = path.substr(kRoomPrefix.size());
        if (!rest.empty() && rest.back() == '/') rest.pop_back();
        auto decoded = PercentDecode(rest, false);
        return new ConnectHandler(config_, loop_, gateway_, backend_, true, decoded.value_or(""));
    }
    return new NotFoundHandler();
}

}  // namespace streambed
