#pragma once
// Operational transformation of plain text, for POST /api/editing-audit-state/ (API.md §4).
//
// An operation is what ot.js's TextOperation is, on the wire and in meaning: a JSON array walked
// left to right over the document, where a positive integer retains (skips) that many characters,
// a string inserts itself, and a negative integer deletes that many characters. It must cover the
// whole document: retains plus deletes add up to the document's length (the base length).
//
// Lengths and positions count UTF-16 code units, exactly as JavaScript's String.length does,
// because the browsers that build these operations count that way: "a😀b".length == 4, so
// [1, -2, 1] deletes the emoji from it. Documents and inserted text are held as UTF-8 here and
// converted while walking. A position between the two halves of a surrogate pair names no
// character boundary in UTF-8, so an operation (or cursor) that would split a pair is refused.
// Combining marks ("e" + U+0301) are separate code points and may be split like any others.
//
// Operations are kept normalised as ot.js keeps them, so that equal effects compare equal and
// serialise identically: adjacent components of one kind are merged, no component is empty, and
// where an insert and a delete meet at one position the insert comes first.
//
// Every function here that can fail on client input throws ApiError 400 (BadRequest) whose
// message starts with, and whose field is, the request field ("ops[3]: delete count exceeds
// document"), so a handler can let it propagate.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/json.h"

namespace streambed::ot {

// Parse limits. Counts are bounded so that sums stay exact in int64 and in JavaScript doubles.
constexpr int64_t kMaxCount = 1'000'000'000;
constexpr size_t kMaxComponents = 10'000;
constexpr size_t kDefaultMaxInsertBytes = 64 * 1024;

class TextOperation {
public:
    enum class Kind { kRetain, kInsert, kDelete };
    struct Component {
        Kind kind;
        int64_t length;    // UTF-16 units retained, deleted, or inserted (the length of `text`)
        std::string text;  // inserts only, UTF-8
        bool operator==(const Component&) const = default;
    };

    // Builders, normalising as they go. A zero count or empty text adds nothing.
    TextOperation& Retain(int64_t units);
    TextOperation& Delete(int64_t units);
    // Throws BadRequest when `utf8` is not valid UTF-8.
    TextOperation& Insert(std::string_view utf8);

    const std::vector<Component>& components() const { return components_; }
    // The UTF-16 length of every document this operation applies to, and of its result.
    int64_t base_length() const { return base_length_; }
    int64_t target_length() const { return target_length_; }
    // True when applying it changes nothing (no components, or one retain).
    bool IsNoop() const;

    // The edited document. Throws BadRequest when the document is not valid UTF-8, its UTF-16
    // length differs from base_length(), or a retain or delete would end inside a surrogate pair.
    std::string Apply(std::string_view utf8_doc) const;

    // The wire form: [retain, "insert", -delete, ...].
    void ToJson(JsonWriter& w) const;
    std::string ToJsonString() const;

    bool operator==(const TextOperation&) const = default;

private:
    std::vector<Component> components_;
    int64_t base_length_ = 0;
    int64_t target_length_ = 0;
};

struct ParseOptions {
    // The request field named in errors and in ApiError::field().
    std::string field = "ops";
    // Total UTF-8 bytes all inserts of one operation may carry.
    size_t max_insert_bytes = kDefaultMaxInsertBytes;
    size_t max_components = kMaxComponents;
    // When set, the operation is also checked against this document (UTF-8), so that a retain or
    // delete running past its end or into a surrogate pair is reported at its own index, and a
    // short operation is refused. Apply() then cannot fail on it.
    std::optional<std::string_view> document;
};

// Reads the wire form. Refuses, naming the index: a non-array, more than max_components
// elements, zero, non-integer or beyond ±kMaxCount counts, anything but numbers and strings,
// empty strings, invalid UTF-8, and inserts totalling more than max_insert_bytes.
TextOperation Parse(const JsonValue& ops, const ParseOptions& options = {});

// One operation with the effect of `a` followed by `b`: Apply(d, Compose(a, b)) equals
// b.Apply(a.Apply(d)). Throws BadRequest when a.target_length() != b.base_length() or when `b`
// would split a surrogate pair inside text that `a` inserts.
TextOperation Compose(const TextOperation& a, const TextOperation& b);

// For concurrent `a` and `b` on one document, (a', b') such that
// b'.Apply(a.Apply(d)) == a'.Apply(b.Apply(d)). When both insert at one position, `a`'s text
// comes first (ot.js's tie-break). A server catching an op up with its history takes
// Transform(incoming, applied).first, as ot.js's Server does, so that ot.js clients, which
// compute Transform(pending, received).second, agree with it (docs/ot.md). Throws BadRequest
// when the base lengths differ.
std::pair<TextOperation, TextOperation> Transform(const TextOperation& a, const TextOperation& b);

// The operation that undoes `op` on the document it was applied to (`utf8_doc` is that document,
// before `op`). Throws as Apply() does.
TextOperation Invert(const TextOperation& op, std::string_view utf8_doc);

// A selection in UTF-16 units; anchor == head is a plain caret.
struct Cursor {
    int64_t anchor = 0;
    int64_t head = 0;
    bool operator==(const Cursor&) const = default;
};

// Where a cursor on the operation's base document lands on its result, as ot.js's
// Selection.Range.transform computes it: retained text keeps the cursor's place, a delete that
// covers it pulls it to the start of the deleted run, and an insert before it pushes it right.
// `own` says whose operation it is, which decides an insert exactly at the cursor:
//   own == true   the cursor's owner typed it, so the caret moves past it (ot.js, which always
//                 does this);
//   own == false  someone else typed it, so the caret stays in front of their text instead of
//                 being dragged along.
// Throws BadRequest (field "cursor") when a position is outside [0, op.base_length()].
Cursor TransformCursor(Cursor cursor, const TextOperation& op, bool own);

// The UTF-16 length of UTF-8 text (what JavaScript's .length gives); nullopt when not valid UTF-8.
std::optional<int64_t> Utf16Length(std::string_view utf8);

// Throws BadRequest naming `field` unless both positions are within the document and none falls
// between the halves of a surrogate pair.
void CheckCursor(const Cursor& cursor, std::string_view utf8_doc, std::string_view field = "cursor");

}  // namespace streambed::ot
