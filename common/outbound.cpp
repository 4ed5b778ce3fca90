#include "common/outbound.h"

#include <Poco/Exception.h>

#include <algorithm>

#include "common/clock.h"

namespace streambed {

Poco::Net::Context::Ptr OutboundTlsContext(bool verify) {
    Poco::Net::Context::Params params;
    params.verificationMode = verify ? Poco::Net::Context::VERIFY_STRICT : Poco::Net::Context::VERIFY_NONE;
    params.loadDefaultCAs = verify;  // the system store (/etc/ssl/certs)
    params.verificationDepth = 9;
    params.cipherList = "HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES:@STRENGTH";
    Poco::Net::Context::Ptr context = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
    context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
    return context;
}

std::optional<Poco::Net::StreamSocket> ConnectFirst(const std::vector<Poco::Net::SocketAddress>& addresses,
                                                    int64_t deadline_micros, std::string* error) {
    *error = "no time left to connect";
    for (const auto& address : addresses) {
        int64_t remaining = deadline_micros - NowMicros();
        if (remaining <= 0) break;
        try {
            Poco::Net::StreamSocket socket;
            socket.connect(address, Poco::Timespan(std::min<int64_t>(remaining, 5 * 1000000)));
            Poco::Timespan io(std::max<int64_t>(deadline_micros - NowMicros(), 1000));
            socket.setReceiveTimeout(io);
            socket.setSendTimeout(io);
            socket.setNoDelay(true);
            return socket;
        } catch (const Poco::Exception& e) {
            *error = e.displayText();
        }
    }
    return std::nullopt;
}

}  // namespace streambed
