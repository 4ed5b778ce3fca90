#include "common/ot.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "common/errors.h"

namespace streambed::ot {

using Kind = TextOperation::Kind;
using Component = TextOperation::Component;

namespace {

// Apply, Compose and Transform do not know which request field their operations came from; the
// route has one ("ops"), so that is the name their errors carry.
constexpr std::string_view kField = "ops";

// "ops[3]: <message>", about the request field "ops".
[[noreturn]] void Fail(std::string_view field, std::string_view subject, const std::string& message) {
    throw BadRequest(std::string(subject) + ": " + message, std::string(field));
}
[[noreturn]] void Fail(std::string_view field, const std::string& message) { Fail(field, field, message); }

// --- UTF-8 walked in UTF-16 units ------------------------------------------------------------

// The number of bytes of the well-formed UTF-8 sequence at text[i] (RFC 3629: no overlong forms,
// no surrogates, nothing past U+10FFFF), or 0 when there is none.
size_t SequenceLength(std::string_view text, size_t i) {
    auto byte = [&](size_t k) { return static_cast<uint8_t>(text[i + k]); };
    uint8_t lead = byte(0);
    if (lead < 0x80) return 1;
    size_t n;
    uint32_t cp;
    if (lead >= 0xC2 && lead <= 0xDF) {
        n = 2;
        cp = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
        n = 3;
        cp = lead & 0x0F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        n = 4;
        cp = lead & 0x07;
    } else {
        return 0;
    }
    if (text.size() - i < n) return 0;
    for (size_t k = 1; k < n; ++k) {
        if ((byte(k) & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (byte(k) & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

enum class Step { kOk, kPastEnd, kSplitsPair };

// Moves `byte` forward over `units` UTF-16 units of valid UTF-8 `text`, decrementing `units` as
// they are passed. Only a 4-byte sequence (a code point past U+FFFF) is two units, a surrogate
// pair in JavaScript; stopping after its first half has no UTF-8 equivalent.
Step Advance(std::string_view text, size_t& byte, int64_t& units) {
    while (units > 0) {
        if (byte >= text.size()) return Step::kPastEnd;
        auto lead = static_cast<uint8_t>(text[byte]);
        if (lead >= 0xF0) {
            if (units == 1) return Step::kSplitsPair;
            units -= 2;
            byte += 4;
        } else {
            units -= 1;
            byte += lead < 0x80 ? 1 : lead < 0xE0 ? 2 : 3;
        }
    }
    return Step::kOk;
}

// Checks that `doc` is something `op` applies to, with errors a client can act on.
void CheckBase(const TextOperation& op, std::string_view doc) {
    std::optional<int64_t> length = Utf16Length(doc);
    if (!length) Fail(kField, "the document is not valid UTF-8");
    if (*length != op.base_length()) {
        Fail(kField, "the operation's base length " + std::to_string(op.base_length()) +
                         " does not match the document's length " + std::to_string(*length) + " (UTF-16 units)");
    }
}

// Walks `op` over `doc` (already checked by CheckBase), calling visit(component, covered) where
// `covered` is the document text a retain or delete spans (empty for inserts).
template <typename Visit>
void Walk(const TextOperation& op, std::string_view doc, Visit visit) {
    size_t byte = 0;
    int64_t position = 0;
    for (const Component& c : op.components()) {
        if (c.kind == Kind::kInsert) {
            visit(c, std::string_view());
            continue;
        }
        size_t start = byte;
        int64_t left = c.length;
        // kPastEnd cannot happen: the base length equals the document's length.
        if (Advance(doc, byte, left) == Step::kSplitsPair) {
            Fail(kField, "position " + std::to_string(position + c.length - left + 1) +
                             " falls inside a surrogate pair (a character outside the BMP, such as an emoji, is 2 "
                             "UTF-16 units and cannot be split)");
        }
        position += c.length;
        visit(c, doc.substr(start, byte - start));
    }
}

// Reads an operation's components in pieces, so that Compose and Transform can walk two
// operations in step, cutting the longer component where the shorter one ends.
class Reader {
public:
    explicit Reader(const TextOperation& op) : components_(op.components()) {}

    bool done() const { return index_ == components_.size(); }
    Kind kind() const { return components_[index_].kind; }
    // Units left in the current component.
    int64_t left() const { return components_[index_].length - used_; }

    // Consumes `units` (at most left()) and, for an insert, returns their text.
    std::string_view Take(int64_t units) {
        const Component& c = components_[index_];
        std::string_view piece;
        if (c.kind == Kind::kInsert) {
            size_t start = byte_;
            int64_t rest = units;
            if (Advance(c.text, byte_, rest) != Step::kOk) {
                Fail(kField,
                     "the second operation ends a component inside a surrogate pair of text the first one "
                     "inserts");
            }
            piece = std::string_view(c.text).substr(start, byte_ - start);
        }
        used_ += units;
        if (used_ == c.length) {
            ++index_;
            used_ = 0;
            byte_ = 0;
        }
        return piece;
    }

private:
    const std::vector<Component>& components_;
    size_t index_ = 0;
    int64_t used_ = 0;  // units of components_[index_] already taken
    size_t byte_ = 0;   // and, for an insert, their bytes
};

// Compose and Transform only reach this with lengths they checked, so running out is a bug here.
void ExpectBoth(const Reader& a, const Reader& b) {
    if (a.done() || b.done()) throw std::logic_error("ot: operation lengths disagree after checking them");
}

}  // namespace

std::optional<int64_t> Utf16Length(std::string_view utf8) {
    int64_t units = 0;
    for (size_t i = 0; i < utf8.size();) {
        size_t n = SequenceLength(utf8, i);
        if (n == 0) return std::nullopt;
        units += n == 4 ? 2 : 1;
        i += n;
    }
    return units;
}

// --- Building --------------------------------------------------------------------------------

TextOperation& TextOperation::Retain(int64_t units) {
    if (units < 0) throw std::invalid_argument("ot: Retain takes a non-negative count");
    if (units == 0) return *this;
    base_length_ += units;
    target_length_ += units;
    if (!components_.empty() && components_.back().kind == Kind::kRetain) {
        components_.back().length += units;
    } else {
        components_.push_back({Kind::kRetain, units, {}});
    }
    return *this;
}

TextOperation& TextOperation::Delete(int64_t units) {
    if (units < 0) throw std::invalid_argument("ot: Delete takes a non-negative count");
    if (units == 0) return *this;
    base_length_ += units;
    if (!components_.empty() && components_.back().kind == Kind::kDelete) {
        components_.back().length += units;
    } else {
        components_.push_back({Kind::kDelete, units, {}});
    }
    return *this;
}

TextOperation& TextOperation::Insert(std::string_view utf8) {
    std::optional<int64_t> units = Utf16Length(utf8);
    if (!units) Fail(kField, "inserted text is not valid UTF-8");
    if (*units == 0) return *this;
    target_length_ += *units;
    size_t n = components_.size();
    // Deleting then inserting at one position is the same edit as inserting then deleting; the
    // insert always goes first so that equal edits have one form.
    if (n >= 1 && components_[n - 1].kind == Kind::kDelete) {
        if (n >= 2 && components_[n - 2].kind == Kind::kInsert) {
            components_[n - 2].text.append(utf8);
            components_[n - 2].length += *units;
        } else {
            components_.insert(components_.end() - 1, Component{Kind::kInsert, *units, std::string(utf8)});
        }
    } else if (n >= 1 && components_[n - 1].kind == Kind::kInsert) {
        components_[n - 1].text.append(utf8);
        components_[n - 1].length += *units;
    } else {
        components_.push_back({Kind::kInsert, *units, std::string(utf8)});
    }
    return *this;
}

bool TextOperation::IsNoop() const {
    return components_.empty() || (components_.size() == 1 && components_[0].kind == Kind::kRetain);
}

// --- Applying --------------------------------------------------------------------------------

std::string TextOperation::Apply(std::string_view utf8_doc) const {
    CheckBase(*this, utf8_doc);
    std::string out;
    out.reserve(utf8_doc.size());
    Walk(*this, utf8_doc, [&](const Component& c, std::string_view covered) {
        if (c.kind == Kind::kRetain) out.append(covered);
        if (c.kind == Kind::kInsert) out.append(c.text);
    });
    return out;
}

TextOperation Invert(const TextOperation& op, std::string_view utf8_doc) {
    CheckBase(op, utf8_doc);
    TextOperation inverse;
    Walk(op, utf8_doc, [&](const Component& c, std::string_view covered) {
        switch (c.kind) {
            case Kind::kRetain:
                inverse.Retain(c.length);
                break;
            case Kind::kInsert:
                inverse.Delete(c.length);
                break;
            case Kind::kDelete:
                inverse.Insert(covered);
                break;
        }
    });
    return inverse;
}

// --- JSON ------------------------------------------------------------------------------------

void TextOperation::ToJson(JsonWriter& w) const {
    w.StartArray();
    for (const Component& c : components_) {
        switch (c.kind) {
            case Kind::kRetain:
                w.Int64(c.length);
                break;
            case Kind::kInsert:
                WriteString(w, c.text);
                break;
            case Kind::kDelete:
                w.Int64(-c.length);
                break;
        }
    }
    w.EndArray();
}

std::string TextOperation::ToJsonString() const {
    JsonBuffer buf;
    JsonWriter w(buf);
    ToJson(w);
    return std::string(buf.GetString(), buf.GetSize());
}

TextOperation Parse(const JsonValue& ops, const ParseOptions& options) {
    const std::string& field = options.field;
    if (!ops.IsArray()) throw BadRequest(field + " must be an array", field);
    if (ops.Size() > options.max_components) {
        Fail(field, "more than " + std::to_string(options.max_components) + " components");
    }

    // The document, when given, is walked alongside so that each error names its own element.
    std::string_view doc = options.document.value_or(std::string_view());
    std::optional<int64_t> doc_length;
    if (options.document) {
        doc_length = Utf16Length(doc);
        if (!doc_length) Fail(field, "the document is not valid UTF-8");
    }
    size_t doc_byte = 0;
    int64_t doc_position = 0;

    TextOperation op;
    size_t insert_bytes = 0;
    for (rapidjson::SizeType i = 0; i < ops.Size(); ++i) {
        const JsonValue& v = ops[i];
        const std::string where = field + "[" + std::to_string(i) + "]";
        if (v.IsString()) {
            std::string_view text(v.GetString(), v.GetStringLength());
            // ot.js would drop it silently; a client sending one is confused, so say so.
            if (text.empty()) Fail(field, where, "an insert must not be empty");
            insert_bytes += text.size();
            if (insert_bytes > options.max_insert_bytes) {
                Fail(field, where,
                     "inserted text exceeds " + std::to_string(options.max_insert_bytes) + " bytes in total");
            }
            // RapidJSON does not check the encoding of raw bytes, and a lone surrogate escape
            // ("\ud83d") never reaches here: the JSON parser refuses it.
            if (!Utf16Length(text)) Fail(field, where, "inserted text is not valid UTF-8");
            op.Insert(text);
            continue;
        }
        if (!v.IsNumber()) {
            Fail(field, where, "must be a positive integer (retain), a string (insert) or a negative integer (delete)");
        }
        int64_t n;
        if (v.IsInt64()) {
            n = v.GetInt64();
        } else {
            // 1e3 and 3.0 are integers to JavaScript; 1.5 is not, and 1e20 does not fit.
            double d = v.GetDouble();
            if (std::floor(d) != d) Fail(field, where, "counts must be integers");
            if (std::fabs(d) > static_cast<double>(kMaxCount)) {
                Fail(field, where, "counts must be within ±" + std::to_string(kMaxCount));
            }
            n = static_cast<int64_t>(d);
        }
        if (n == 0) Fail(field, where, "a count must not be zero");
        if (n > kMaxCount || n < -kMaxCount) Fail(field, where, "counts must be within ±" + std::to_string(kMaxCount));
        const char* what = n > 0 ? "retain" : "delete";
        int64_t units = n > 0 ? n : -n;
        if (doc_length) {
            int64_t left = units;
            switch (Advance(doc, doc_byte, left)) {
                case Step::kOk:
                    break;
                case Step::kPastEnd:
                    Fail(field, where,
                         std::string(what) + " count exceeds document (" + std::to_string(*doc_length - doc_position) +
                             " UTF-16 units left)");
                case Step::kSplitsPair:
                    Fail(field, where,
                         std::string(what) + " ends inside a surrogate pair, at UTF-16 position " +
                             std::to_string(doc_position + units));
            }
            doc_position += units;
        }
        if (n > 0) {
            op.Retain(units);
        } else {
            op.Delete(units);
        }
    }
    if (doc_length && doc_position != *doc_length) {
        Fail(field, "the operation covers " + std::to_string(doc_position) + " of the document's " +
                        std::to_string(*doc_length) + " UTF-16 units; it must cover all of them");
    }
    return op;
}

// --- Compose and transform -------------------------------------------------------------------

TextOperation Compose(const TextOperation& a, const TextOperation& b) {
    if (a.target_length() != b.base_length()) {
        Fail(kField, "cannot compose: the first operation's target length " + std::to_string(a.target_length()) +
                         " differs from the second's base length " + std::to_string(b.base_length()));
    }
    TextOperation out;
    Reader ra(a), rb(b);
    while (!ra.done() || !rb.done()) {
        // Text `a` deletes is gone before `b` runs, and text `b` inserts was never seen by `a`:
        // both pass through untouched, a's delete first (the builder reorders it behind inserts).
        if (!ra.done() && ra.kind() == Kind::kDelete) {
            out.Delete(ra.left());
            ra.Take(ra.left());
            continue;
        }
        if (!rb.done() && rb.kind() == Kind::kInsert) {
            out.Insert(rb.Take(rb.left()));
            continue;
        }
        // Otherwise a's output and b's input are the same text: walk both over the shorter piece.
        ExpectBoth(ra, rb);
        int64_t n = std::min(ra.left(), rb.left());
        Kind ka = ra.kind(), kb = rb.kind();
        std::string_view inserted = ra.Take(n);
        rb.Take(n);
        if (ka == Kind::kRetain && kb == Kind::kRetain) {
            out.Retain(n);
        } else if (ka == Kind::kRetain && kb == Kind::kDelete) {
            out.Delete(n);
        } else if (ka == Kind::kInsert && kb == Kind::kRetain) {
            out.Insert(inserted);
        }
        // Inserted by `a` and deleted by `b`: the text never reaches the result.
    }
    return out;
}

std::pair<TextOperation, TextOperation> Transform(const TextOperation& a, const TextOperation& b) {
    if (a.base_length() != b.base_length()) {
        Fail(kField, "cannot transform: the operations' base lengths differ (" + std::to_string(a.base_length()) +
                         " and " + std::to_string(b.base_length()) + ")");
    }
    TextOperation a_prime, b_prime;
    Reader ra(a), rb(b);
    while (!ra.done() || !rb.done()) {
        // An insert is kept by its own side and retained by the other. `a` is tested first, so
        // when both insert at one position, a's text ends up in front: the tie-break.
        if (!ra.done() && ra.kind() == Kind::kInsert) {
            int64_t n = ra.left();
            a_prime.Insert(ra.Take(n));
            b_prime.Retain(n);
            continue;
        }
        if (!rb.done() && rb.kind() == Kind::kInsert) {
            int64_t n = rb.left();
            a_prime.Retain(n);
            b_prime.Insert(rb.Take(n));
            continue;
        }
        ExpectBoth(ra, rb);
        int64_t n = std::min(ra.left(), rb.left());
        Kind ka = ra.kind(), kb = rb.kind();
        ra.Take(n);
        rb.Take(n);
        if (ka == Kind::kRetain && kb == Kind::kRetain) {
            a_prime.Retain(n);
            b_prime.Retain(n);
        } else if (ka == Kind::kDelete && kb == Kind::kRetain) {
            a_prime.Delete(n);
        } else if (ka == Kind::kRetain && kb == Kind::kDelete) {
            b_prime.Delete(n);
        }
        // Deleted by both: already gone on either side, nothing left to do.
    }
    return {std::move(a_prime), std::move(b_prime)};
}

// --- Cursors ---------------------------------------------------------------------------------

namespace {

int64_t TransformPosition(int64_t position, const TextOperation& op, bool own) {
    if (position < 0 || position > op.base_length()) {
        Fail("cursor", "position " + std::to_string(position) + " is outside the document (length " +
                           std::to_string(op.base_length()) + " UTF-16 units)");
    }
    int64_t ahead = position;  // base-document units between the walk and the position
    int64_t moved = position;
    for (const Component& c : op.components()) {
        switch (c.kind) {
            case Kind::kRetain:
                ahead -= c.length;
                break;
            case Kind::kInsert:
                // ahead == 0: the text lands exactly at the position.
                if (ahead > 0 || own) moved += c.length;
                break;
            case Kind::kDelete:
                moved -= std::min(ahead, c.length);
                ahead -= c.length;
                break;
        }
        if (ahead < 0) break;  // past the position: nothing further moves it
    }
    return moved;
}

}  // namespace

Cursor TransformCursor(Cursor cursor, const TextOperation& op, bool own) {
    return Cursor{TransformPosition(cursor.anchor, op, own), TransformPosition(cursor.head, op, own)};
}

void CheckCursor(const Cursor& cursor, std::string_view utf8_doc, std::string_view field) {
    std::optional<int64_t> length = Utf16Length(utf8_doc);
    if (!length) Fail(field, "the document is not valid UTF-8");
    for (auto [name, position] : {std::pair{"anchor", cursor.anchor}, std::pair{"head", cursor.head}}) {
        if (position < 0 || position > *length) {
            Fail(field, std::string(name) + " " + std::to_string(position) + " is outside the document (length " +
                            std::to_string(*length) + " UTF-16 units)");
        }
        size_t byte = 0;
        int64_t left = position;
        if (Advance(utf8_doc, byte, left) == Step::kSplitsPair) {
            Fail(field, std::string(name) + " " + std::to_string(position) + " falls inside a surrogate pair");
        }
    }
}

}  // namespace streambed::ot
