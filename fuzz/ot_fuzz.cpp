// OT: ot::Parse, Apply, Transform, Compose and Invert on [document, ops a, ops b]. Whatever parses
// against the document applies without error, and the algebra holds: transformed operations
// converge (TP1), composition equals sequence, and inversion undoes.

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/errors.h"
#include "common/ot.h"
#include "fuzz/fuzz.h"

using namespace streambed;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    rapidjson::Document in;
    in.Parse(reinterpret_cast<const char*>(data), size);
    if (in.HasParseError() || !in.IsArray() || in.Size() != 3 || !in[0].IsString()) return 0;
    std::string doc(in[0].GetString(), in[0].GetStringLength());
    ot::ParseOptions options;
    options.document = doc;
    ot::TextOperation a, b;
    try {
        a = ot::Parse(in[1], options);
        b = ot::Parse(in[2], options);
    } catch (const ApiError& e) {
        FUZZ_CHECK(e.http_status() == 400);
        return 0;
    }
    // Parsed against the document: Apply cannot fail.
    std::string da = a.Apply(doc);
    std::string db = b.Apply(doc);
    auto [a2, b2] = ot::Transform(a, b);
    FUZZ_CHECK(b2.Apply(da) == a2.Apply(db));
    ot::TextOperation ab = ot::Compose(a, b2);
    FUZZ_CHECK(ab.Apply(doc) == b2.Apply(da));
    FUZZ_CHECK(ot::Invert(a, doc).Apply(da) == doc);
    // The wire form parses back to the same operation.
    rapidjson::Document wire;
    std::string text = a.ToJsonString();
    wire.Parse(text.data(), text.size());
    FUZZ_CHECK(ot::Parse(wire, options) == a);
    return 0;
}
