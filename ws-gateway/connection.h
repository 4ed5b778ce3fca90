#pragma once
// One client WebSocket, owned by the event loop. It reads frames without ever blocking, and
// writes already-encoded frames shared by every recipient of an event; what the kernel will not
// take yet waits in a queue with a byte budget. A client that lets the queue outgrow the budget is
// cut off (RFC 6455 close 1013 when there is room to say so), so it can never hold unbounded
// memory or slow the loop down for anyone else.

#include <Poco/Net/StreamSocket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ws-gateway/event_loop.h"
#include "ws-gateway/ws_codec.h"

namespace streambed {

class Gateway;

// An encoded frame shared by all the sockets it goes to: serialised once per event.
using SharedFrame = std::shared_ptr<const std::string>;

// What a user's connections on this gateway share.
struct UserSession {
    std::string user_id;
    std::string user_json;  // UserResponse, for the events this gateway emits about the user
    bool anonymous = false;
    std::vector<class Connection*> connections;
};

enum class ConnectionKind {
    kStream,  // /api/connect: getstream.io's protocol
    kRoom,    // /ws/<cid>/: the room socket of API.md §9
};

class Connection final : public IoHandler {
public:
    Connection(Gateway& gateway, Poco::Net::StreamSocket socket, ConnectionKind kind, std::string id,
               std::shared_ptr<UserSession> user, std::string room_cid);
    ~Connection() override;

    void OnIo(uint32_t events) override;

    // Queues a frame; false when the connection is closed (or was just cut for its budget). The
    // bytes go out when the loop finishes its current batch of events (Gateway::FlushDirty), so
    // the frames of several events reach one socket in one writev and one TCP segment.
    bool Send(const SharedFrame& frame);
    // Writes what is queued (from Gateway::FlushDirty; also on EPOLLOUT).
    void FlushQueued();
    bool dirty() const { return dirty_; }
    void set_dirty(bool d) { dirty_ = d; }
    bool SendText(std::string_view json);
    // Sends a close frame, then shuts the socket once it is flushed.
    void Close(uint16_t code, std::string_view reason);
    // Closes at once without a handshake.
    void Abort(std::string_view reason);

    const std::string& id() const { return id_; }
    ConnectionKind kind() const { return kind_; }
    const std::shared_ptr<UserSession>& user() const { return user_; }
    const std::string& room_cid() const { return room_cid_; }
    int fd() const { return fd_; }
    bool open() const { return state_ == State::kOpen; }
    int64_t last_received_ms() const { return last_received_ms_; }
    size_t queued_bytes() const { return queued_bytes_; }

    // True at most once per `min_gap_ms`: ping replies are rate-limited so a ping flood costs the
    // flooder, not the loop.
    bool TakePingReply(int64_t now_ms, int64_t min_gap_ms) {
        if (now_ms - last_ping_reply_ms_ < min_gap_ms) return false;
        last_ping_reply_ms_ = now_ms;
        return true;
    }

    // The Redis keys of the connection-id session this socket keeps alive (room sockets opened
    // with ?connection_id=), and whether a heartbeat now should refresh them (at most once per
    // `min_gap_ms`: the TTL is minutes, a refresh per ping would be a Redis call per frame).
    void set_session_keys(std::vector<std::string> keys) { session_keys_ = std::move(keys); }
    const std::vector<std::string>& session_keys() const { return session_keys_; }
    bool TakeSessionRefresh(int64_t now_ms, int64_t min_gap_ms) {
        if (session_keys_.empty() || now_ms - last_session_refresh_ms_ < min_gap_ms) return false;
        last_session_refresh_ms_ = now_ms;
        return true;
    }

    // Topics (channel and presence) this connection is subscribed to, for cleanup on close.
    std::vector<std::string>& topics() { return topics_; }

    // The room socket's resume (?since_seq=N, docs/delivery.md). The socket subscribes first, then
    // the room's log after N is replayed; live events that arrive meanwhile wait in `held`, and
    // once the replay is done every live room event with seq <= replayed_through is dropped, so
    // the seam has neither a gap nor a duplicate.
    struct Resume {
        bool replaying = false;
        int64_t since = 0;              // the client's since_seq
        int64_t replayed_through = -1;  // -1: no resume on this socket
        std::vector<std::pair<bool, std::string>> held;  // (a room-topic event?, payload)
        size_t held_bytes = 0;
    };
    Resume& resume() { return resume_; }

private:
    std::vector<std::string> session_keys_;
    int64_t last_session_refresh_ms_ = 0;
    enum class State { kOpen, kClosing, kClosed };
    struct Pending {
        SharedFrame frame;
        size_t offset;
    };

    void ReadSome();
    void Flush();
    void WantWrite(bool on);
    void HalfClose();
    void Finish();

    Gateway& gateway_;
    Poco::Net::StreamSocket socket_;
    int fd_;
    ConnectionKind kind_;
    std::string id_;
    std::shared_ptr<UserSession> user_;
    std::string room_cid_;
    ws::Reader reader_;
    std::vector<Pending> queue_;
    size_t queue_head_ = 0;
    size_t queued_bytes_ = 0;
    bool want_write_ = false;
    bool dirty_ = false;  // on the gateway's list of sockets to flush after this batch
    State state_ = State::kOpen;
    bool peer_closed_ = false;  // the peer sent its close frame first
    int64_t last_received_ms_;
    int64_t last_ping_reply_ms_ = -1000000;
    std::vector<std::string> topics_;
    Resume resume_;
};

}  // namespace streambed
