// ot_cases: runs common/ot.h over a corpus of cases so that an independent implementation can
// check the answers (tests/contracts/ot_agreement.test.mjs compares them with ot.js).
//
// stdin:  [{"doc": "...", "a": [ops], "b": [ops], "cursor"?: {"anchor", "head"}}, ...]
// stdout: one result per case, in order:
//   {"a_normal", "b_normal"    a and b as parsed (normalised)
//    "a_prime", "b_prime"      Transform(a, b)
//    "composed"                Compose(a, b')
//    "result"                  b'.Apply(a.Apply(doc))
//    "result_other"            a'.Apply(b.Apply(doc)), which must be the same text
//    "cursor_a", "cursor_b"}   TransformCursor(cursor, a / b, own = true): ot.js's Range.transform
// or {"error": "<message>"} when the library refuses the case.
#include <iostream>
#include <iterator>
#include <string>

#include "common/errors.h"
#include "common/json.h"
#include "common/ot.h"

using namespace streambed;

namespace {

void PutOperation(JsonWriter& w, std::string_view key, const ot::TextOperation& op) {
    PutKey(w, key);
    op.ToJson(w);
}

void PutCursor(JsonWriter& w, std::string_view key, const ot::Cursor& c) {
    PutKey(w, key);
    w.StartObject();
    PutInt(w, "anchor", c.anchor);
    PutInt(w, "head", c.head);
    w.EndObject();
}

void RunCase(JsonWriter& w, const JsonValue& input) {
    std::string_view doc = json::RequireString(input, "doc", "doc");
    const JsonValue missing;
    const JsonValue* a_json = json::Find(input, "a");
    const JsonValue* b_json = json::Find(input, "b");
    ot::TextOperation a = ot::Parse(a_json ? *a_json : missing, {.field = "a", .document = doc});
    ot::TextOperation b = ot::Parse(b_json ? *b_json : missing, {.field = "b", .document = doc});

    auto [a_prime, b_prime] = ot::Transform(a, b);
    ot::TextOperation composed = ot::Compose(a, b_prime);
    std::string result = b_prime.Apply(a.Apply(doc));
    std::string result_other = a_prime.Apply(b.Apply(doc));

    w.StartObject();
    PutOperation(w, "a_normal", a);
    PutOperation(w, "b_normal", b);
    PutOperation(w, "a_prime", a_prime);
    PutOperation(w, "b_prime", b_prime);
    PutOperation(w, "composed", composed);
    PutString(w, "result", result);
    PutString(w, "result_other", result_other);
    if (const JsonValue* cursor = json::OptObject(input, "cursor", "cursor")) {
        ot::Cursor c{json::OptInt(*cursor, "anchor", "cursor.anchor").value_or(0),
                     json::OptInt(*cursor, "head", "cursor.head").value_or(0)};
        PutCursor(w, "cursor_a", ot::TransformCursor(c, a, true));
        PutCursor(w, "cursor_b", ot::TransformCursor(c, b, true));
    }
    w.EndObject();
}

}  // namespace

int main() {
    std::string text{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
    rapidjson::Document cases;
    cases.Parse(text.data(), text.size());
    if (cases.HasParseError() || !cases.IsArray()) {
        std::cerr << "ot_cases: stdin must be a JSON array of {doc, a, b} cases\n";
        return 2;
    }
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartArray();
    for (const JsonValue& input : cases.GetArray()) {
        // The writer is only touched once the case has succeeded, so a refusal cannot leave a
        // half-written object behind.
        JsonBuffer one;
        JsonWriter case_writer(one);
        try {
            if (!input.IsObject()) throw BadRequest("a case must be an object");
            RunCase(case_writer, input);
        } catch (const ApiError& e) {
            one.Clear();
            JsonWriter error_writer(one);
            error_writer.StartObject();
            PutString(error_writer, "error", e.what());
            error_writer.EndObject();
        }
        w.RawValue(one.GetString(), one.GetSize(), rapidjson::kObjectType);
    }
    w.EndArray();
    std::cout << std::string_view(buf.GetString(), buf.GetSize()) << '\n';
    return 0;
}
