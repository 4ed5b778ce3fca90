#include "ws-gateway/connection.h"

#include <Poco/Net/SocketAddress.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>

#include "common/log.h"
#include "ws-gateway/gateway.h"

namespace streambed {

namespace {
// Client frames are pings and room-socket messages: 64 KiB is far above a 5,000-character message.
constexpr size_t kMaxClientMessage = 64 * 1024;
constexpr int kKernelSendBuffer = 256 * 1024;
// Reads per readiness event, so one chatty client cannot starve the others.
constexpr int kReadsPerEvent = 4;
}  // namespace

Connection::Connection(Gateway& gateway, Poco::Net::StreamSocket socket, ConnectionKind kind, std::string id,
                       std::shared_ptr<UserSession> user, std::string room_cid)
    : gateway_(gateway),
      socket_(std::move(socket)),
      fd_(socket_.impl()->sockfd()),
      kind_(kind),
      id_(std::move(id)),
      user_(std::move(user)),
      room_cid_(std::move(room_cid)),
      reader_(kMaxClientMessage),
      last_received_ms_(gateway.loop().now_ms()) {
    socket_.setBlocking(false);
    // Nagle's algorithm is TCP's; a Unix socket from an nginx on this host has none to turn off.
    if (socket_.address().family() != Poco::Net::SocketAddress::UNIX_LOCAL) socket_.setNoDelay(true);
    // A fixed kernel send buffer: without it Linux grows it to megabytes for a reader that has
    // stopped, hiding a slow consumer from the output budget and costing kernel memory per socket.
    socket_.setSendBufferSize(kKernelSendBuffer);
    gateway_.loop().Watch(fd_, EPOLLIN | EPOLLRDHUP, this);
}

Connection::~Connection() {
    if (state_ != State::kClosed) {
        gateway_.loop().Unwatch(fd_);
        socket_.close();
    }
}

void Connection::OnIo(uint32_t events) {
    if (state_ == State::kClosed) return;
    if (events & EPOLLERR) {
        Abort("socket error");
        return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) ReadSome();
    if (state_ != State::kClosed && (events & EPOLLOUT)) Flush();
}

void Connection::ReadSome() {
    char buf[16384];
    for (int i = 0; i < kReadsPerEvent && state_ != State::kClosed; ++i) {
        ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0) {
            if (state_ == State::kClosing) {
                Finish();
            } else {
                Abort("peer closed");
            }
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
            Abort("read error");
            return;
        }
        last_received_ms_ = gateway_.loop().now_ms();
        // After our close frame, what the peer still sends is read and dropped until it closes:
        // closing a socket with unread bytes would reset it and lose the close frame.
        if (state_ == State::kClosing) continue;
        reader_.Feed(std::string_view(buf, static_cast<size_t>(n)));
        ws::Message message;
        while (state_ == State::kOpen) {
            auto status = reader_.Next(message);
            if (status == ws::Reader::Status::kNeedMore) break;
            if (status == ws::Reader::Status::kError) {
                gateway_.CountProtocolError();
                Close(reader_.error_code(), reader_.error());
                return;
            }
            switch (message.opcode) {
                case ws::Opcode::kPing:
                    Send(std::make_shared<const std::string>(ws::EncodeFrame(ws::Opcode::kPong, message.payload)));
                    break;
                case ws::Opcode::kPong: break;
                case ws::Opcode::kClose: {
                    // The peer started the closing handshake: answer, and then the server closes the
                    // TCP connection first (RFC 6455 §7.1.1); the client is waiting for exactly that.
                    uint16_t code = ws::close_code::kNormal;
                    if (message.payload.size() >= 2)
                        code = static_cast<uint16_t>((uint8_t(message.payload[0]) << 8) | uint8_t(message.payload[1]));
                    peer_closed_ = true;
                    Close(code, "");
                    return;
                }
                case ws::Opcode::kText: gateway_.OnText(*this, message.payload); break;
                case ws::Opcode::kBinary: gateway_.OnBinary(*this); break;
                case ws::Opcode::kContinuation: break;
            }
        }
        if ((size_t)n < sizeof buf) break;
    }
    reader_.Shrink();
}

bool Connection::Send(const SharedFrame& frame) {
    if (state_ != State::kOpen) return false;
    queue_.push_back(Pending{frame, 0});
    queued_bytes_ += frame->size();
    if (queued_bytes_ > static_cast<size_t>(gateway_.config().ws_output_budget)) {
        gateway_.CountSlowConsumer();
        Log(LogLevel::kWarn, "ws.slow_consumer_cut").Str("connection_id", id_).Int("queued", queued_bytes_);
        // The client has stopped reading: a close frame would only queue behind the backlog.
        Abort("slow consumer");
        return false;
    }
    // Written at the end of the loop's batch; a socket already waiting for EPOLLOUT needs nothing.
    if (!dirty_ && !want_write_) gateway_.MarkDirty(*this);
    return true;
}

void Connection::FlushQueued() {
    if (state_ == State::kClosed) return;
    Flush();
    if (state_ != State::kClosed && queue_head_ < queue_.size()) WantWrite(true);
}

bool Connection::SendText(std::string_view json) {
    return Send(std::make_shared<const std::string>(ws::EncodeFrame(ws::Opcode::kText, json)));
}

void Connection::WantWrite(bool on) {
    if (want_write_ == on || state_ == State::kClosed) return;
    want_write_ = on;
    gateway_.loop().Watch(fd_, EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0u), this);
}

void Connection::Flush() {
    // Everything queued in as few syscalls as the kernel allows: one writev of up to 64 frames.
    constexpr int kMaxIov = 64;
    while (queue_head_ < queue_.size()) {
        struct iovec iov[kMaxIov];
        int n_iov = 0;
        size_t want = 0;
        for (size_t i = queue_head_; i < queue_.size() && n_iov < kMaxIov; ++i, ++n_iov) {
            const Pending& p = queue_[i];
            iov[n_iov].iov_base = const_cast<char*>(p.frame->data() + p.offset);
            iov[n_iov].iov_len = p.frame->size() - p.offset;
            want += iov[n_iov].iov_len;
        }
        struct msghdr msg {};
        msg.msg_iov = iov;
        msg.msg_iovlen = static_cast<size_t>(n_iov);
        ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
            Abort("write error");
            return;
        }
        size_t left = static_cast<size_t>(n);
        queued_bytes_ -= left;
        while (left > 0) {
            Pending& p = queue_[queue_head_];
            size_t rest = p.frame->size() - p.offset;
            if (left < rest) {
                p.offset += left;
                break;
            }
            left -= rest;
            p.frame.reset();
            ++queue_head_;
        }
        if (static_cast<size_t>(n) < want) return;  // the kernel buffer is full: wait for EPOLLOUT
    }
    queue_.clear();
    if (queue_.capacity() > 64) queue_.shrink_to_fit();
    queue_head_ = 0;
    WantWrite(false);
    if (state_ == State::kClosing) HalfClose();
}

void Connection::Close(uint16_t code, std::string_view reason) {
    if (state_ != State::kOpen) return;
    Send(std::make_shared<const std::string>(ws::EncodeClose(code, reason)));
    if (state_ != State::kOpen) return;  // the close frame itself overflowed the budget
    state_ = State::kClosing;
    gateway_.OnConnectionClosing(*this);
    if (queue_head_ == queue_.size()) HalfClose();
    // Otherwise Flush() half-closes once the close frame is out. The peer then closes its side
    // (Finish); one that never does is aborted after the gateway's close grace period.
}

void Connection::HalfClose() {
    if (peer_closed_) {
        Finish();
        return;
    }
    // Our close frame is out: end our direction, keep reading until the peer ends its own.
    ::shutdown(fd_, SHUT_WR);
}

void Connection::Finish() {
    state_ = State::kClosed;
    gateway_.loop().Unwatch(fd_);
    socket_.close();
    gateway_.OnConnectionClosed(*this);
}

void Connection::Abort(std::string_view reason) {
    if (state_ == State::kClosed) return;
    Log(LogLevel::kDebug, "ws.abort").Str("connection_id", id_).Str("reason", reason);
    bool was_open = state_ == State::kOpen;
    state_ = State::kClosed;
    gateway_.loop().Unwatch(fd_);
    socket_.close();
    if (was_open) gateway_.OnConnectionClosing(*this);
    gateway_.OnConnectionClosed(*this);
}

}  // namespace streambed
