// Signature, Field and infer_prefix (dspy/signatures/signature.py, dspy/signatures/field.py).
#include "dspy/signatures/signature.hpp"

#include <algorithm>

#include "dspy/utils/exceptions.hpp"
#include "signatures/py_syntax.hpp"
#include "utils/pyfmt.hpp"

namespace dspy {

// ---------------------------------------------------------------------------------------------------------------
// infer_prefix

namespace {

size_t utf8_decode(std::string_view s, size_t i, char32_t& cp) {
    auto b = static_cast<unsigned char>(s[i]);
    size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 1;
    if (i + len > s.size()) len = 1;
    if (len == 1) {
        cp = b;
        return 1;
    }
    cp = len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    return len;
}

// Simple case mappings for the scripts field names realistically use (ASCII, Latin-1, Latin Extended-A, Greek,
// Cyrillic); other code points are treated as uncased, which is what str.capitalize/isupper do for most of them.
char32_t to_upper(char32_t c) {
    if (c >= 'a' && c <= 'z') return c - 32;
    if (c == 0xB5) return 0x39C;
    if ((c >= 0xE0 && c <= 0xFE && c != 0xF7)) return c - 32;
    if (c == 0xFF) return 0x178;
    if (c >= 0x100 && c <= 0x17F && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 && c != 0x17F) {
        bool odd_lower = (c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177);
        if (odd_lower) return (c & 1) ? c - 1 : c;
        return (c & 1) ? c : c - 1;  // 0x139..0x148 and 0x179..0x17E: lowercase at even code points
    }
    if (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2) return c - 32;
    if (c == 0x3C2) return 0x3A3;
    if (c >= 0x430 && c <= 0x44F) return c - 32;
    if (c >= 0x450 && c <= 0x45F) return c - 80;
    return c;
}

char32_t to_lower(char32_t c) {
    if (c >= 'A' && c <= 'Z') return c + 32;
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;
    if (c == 0x178) return 0xFF;
    if (c >= 0x100 && c <= 0x17F && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 && c != 0x17F) {
        bool odd_lower = (c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177);
        if (odd_lower) return (c & 1) ? c : c + 1;
        return (c & 1) ? c + 1 : c;
    }
    if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
    if (c >= 0x410 && c <= 0x42F) return c + 32;
    if (c >= 0x400 && c <= 0x40F) return c + 80;
    return c;
}

bool is_upper_cp(char32_t c) { return to_lower(c) != c; }
bool is_lower_cp(char32_t c) { return to_upper(c) != c || c == 0xDF; }

bool up(char c) { return c >= 'A' && c <= 'Z'; }
bool low(char c) { return c >= 'a' && c <= 'z'; }
bool dig(char c) { return c >= '0' && c <= '9'; }
bool alpha(char c) { return up(c) || low(c); }

// Python's str.isupper(): at least one cased character and no lowercase ones.
bool py_isupper(std::string_view w) {
    bool cased = false;
    for (size_t i = 0; i < w.size();) {
        char32_t cp = 0;
        i += utf8_decode(w, i, cp);
        if (is_lower_cp(cp)) return false;
        if (is_upper_cp(cp)) cased = true;
    }
    return cased;
}

// Python's str.capitalize(): first character upper (title) case, the rest lower case.
std::string py_capitalize(std::string_view w) {
    std::string out;
    out.reserve(w.size());
    bool first = true;
    for (size_t i = 0; i < w.size();) {
        char32_t cp = 0;
        i += utf8_decode(w, i, cp);
        if (first && cp == 0xDF) {
            out += "Ss";
        } else {
            pyfmt::append_utf8(out, first ? to_upper(cp) : to_lower(cp));
        }
        first = false;
    }
    return out;
}

}  // namespace

std::string infer_prefix(std::string_view name) {
    // (1) re.sub("(.)([A-Z][a-z]+)", r"\1_\2")
    std::string s1;
    s1.reserve(name.size() + 8);
    for (size_t i = 0; i < name.size();) {
        if (i + 2 < name.size() && name[i] != '\n' && up(name[i + 1]) && low(name[i + 2])) {
            size_t j = i + 3;
            while (j < name.size() && low(name[j])) ++j;
            s1 += name[i];
            s1 += '_';
            s1.append(name.substr(i + 1, j - i - 1));
            i = j;
        } else {
            s1 += name[i++];
        }
    }
    // (2) re.sub("([a-z0-9])([A-Z])", r"\1_\2"), then (3) ([a-zA-Z])(\d) and (\d)([a-zA-Z])
    auto pairwise = [](const std::string& in, auto first, auto second) {
        std::string out;
        out.reserve(in.size() + 8);
        for (size_t i = 0; i < in.size();) {
            if (i + 1 < in.size() && first(in[i]) && second(in[i + 1])) {
                out += in[i];
                out += '_';
                out += in[i + 1];
                i += 2;
            } else {
                out += in[i++];
            }
        }
        return out;
    };
    std::string s2 = pairwise(s1, [](char c) { return low(c) || dig(c); }, up);
    std::string s3 = pairwise(s2, alpha, dig);
    std::string s4 = pairwise(s3, dig, alpha);
    // (4) split on "_" (empty words kept, as str.split does), keep all-caps words, capitalize the others
    std::string out;
    size_t start = 0;
    for (;;) {
        size_t us = s4.find('_', start);
        std::string_view w = std::string_view(s4).substr(start, us == std::string::npos ? std::string::npos : us - start);
        if (start) out += ' ';
        if (py_isupper(w))
            out += w;
        else
            out += py_capitalize(w);
        if (us == std::string::npos) break;
        start = us + 1;
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Field

namespace {
Field make_field(std::string name, bool is_input, TypeSpec type, std::string desc) {
    Field f;
    f.prefix = infer_prefix(name) + ":";
    f.desc = desc.empty() ? "${" + name + "}" : std::move(desc);
    f.name = std::move(name);
    f.is_input = is_input;
    f.type = std::move(type);
    return f;
}
}  // namespace

Field Field::input(std::string name, TypeSpec type, std::string desc) {
    return make_field(std::move(name), true, std::move(type), std::move(desc));
}

Field Field::output(std::string name, TypeSpec type, std::string desc) {
    return make_field(std::move(name), false, std::move(type), std::move(desc));
}

// ---------------------------------------------------------------------------------------------------------------
// Signature

struct Signature::Data {
    std::string instructions;
    std::vector<Field> fields;
    size_t n_inputs = 0;
    std::vector<const Field*> inputs, outputs;
    std::string signature;
};

namespace {

std::string default_instructions(const std::vector<Field>& fields) {
    std::string ins, outs;
    for (const auto& f : fields) {
        std::string& dst = f.is_input ? ins : outs;
        if (!dst.empty()) dst += ", ";
        dst += '`';
        dst += f.name;
        dst += '`';
    }
    return "Given the fields " + ins + ", produce the fields " + outs + ".";
}

void check_field_name(const std::string& name) {
    if (name.empty()) throw SignatureError("Field names must not be empty");
    if (name[0] == '_') {
        size_t k = name.find_first_not_of('_');
        std::string stripped = k == std::string::npos ? "" : name.substr(k);
        throw SignatureError("Fields must not use names with leading underscores; e.g., use " +
                             pyfmt::repr_str(stripped) + " instead of " + pyfmt::repr_str(name) + ".");
    }
}

// Python dict semantics for {name: field} built from a list: a repeated name keeps its first position and takes the
// last value. Then inputs go first, each group in order (pydantic's model_fields, filtered by kind).
std::vector<Field> arrange(std::vector<Field> fields) {
    std::vector<Field> unique;
    unique.reserve(fields.size());
    for (auto& f : fields) {
        auto it = std::find_if(unique.begin(), unique.end(), [&](const Field& u) { return u.name == f.name; });
        if (it != unique.end())
            *it = std::move(f);
        else
            unique.push_back(std::move(f));
    }
    std::stable_partition(unique.begin(), unique.end(), [](const Field& f) { return f.is_input; });
    return unique;
}

}  // namespace

Signature::Signature(std::string_view spec, std::string_view instructions) {
    size_t arrow = spec.find("->");
    if (arrow == std::string_view::npos || spec.find("->", arrow + 2) != std::string_view::npos)
        throw SignatureError("Invalid signature format: '" + std::string(spec) + "', must contain exactly one '->'.");
    auto ins = sig_detail::parse_parameters(spec.substr(0, arrow));
    std::vector<Field> fields;
    fields.reserve(ins.size() + 2);
    auto add = [&fields](const sig_detail::Param& p, bool is_input) {
        TypeSpec type;
        bool undefined = !p.annotation.has_value();
        if (p.annotation) type = sig_detail::resolve_annotation(*p.annotation).type;
        Field f = is_input ? Field::input(p.name, std::move(type)) : Field::output(p.name, std::move(type));
        // DSPy marks only string-signature *inputs* (InputField(IS_TYPE_UNDEFINED=...)); outputs never carry it.
        f.type_undefined = is_input && undefined;
        fields.push_back(std::move(f));
    };
    for (const auto& p : ins) add(p, true);
    size_t n_in_raw = fields.size();
    auto outs = sig_detail::parse_parameters(spec.substr(arrow + 2));
    for (const auto& p : outs) add(p, false);

    std::vector<std::string> dups;
    for (size_t i = 0; i < n_in_raw; ++i)
        for (size_t j = n_in_raw; j < fields.size(); ++j)
            if (fields[i].name == fields[j].name) dups.push_back(fields[i].name);
    if (!dups.empty()) {
        std::sort(dups.begin(), dups.end());
        dups.erase(std::unique(dups.begin(), dups.end()), dups.end());
        std::string joined;
        for (const auto& d : dups) joined += (joined.empty() ? "" : ", ") + d;
        throw SignatureError("Input and output fields must have distinct names, but found duplicates: '" + joined +
                             "'.");
    }
    *this = from_fields(std::move(fields), instructions);
}

Signature Signature::from_fields(std::vector<Field> fields, std::string_view instructions) {
    auto d = std::make_shared<Data>();
    for (auto& f : fields) {
        check_field_name(f.name);
        if (f.prefix.empty()) f.prefix = infer_prefix(f.name) + ":";
        if (f.desc.empty()) f.desc = "${" + f.name + "}";
    }
    d->fields = arrange(std::move(fields));
    // pydantic drops a falsy __doc__, so empty instructions mean the default text; anything else is read back
    // through inspect.cleandoc.
    d->instructions = instructions.empty() ? default_instructions(d->fields) : pyfmt::cleandoc(instructions);
    std::string ins, outs;
    for (const auto& f : d->fields) {
        if (f.is_input) {
            d->inputs.push_back(&f);
            ins += (ins.empty() ? "" : ", ") + f.name;
        } else {
            d->outputs.push_back(&f);
            outs += (outs.empty() ? "" : ", ") + f.name;
        }
    }
    d->n_inputs = d->inputs.size();
    d->signature = ins + " -> " + outs;
    return Signature(std::shared_ptr<const Data>(std::move(d)));
}

const std::string& Signature::instructions() const { return d_->instructions; }
const std::vector<Field>& Signature::fields() const { return d_->fields; }
const std::vector<const Field*>& Signature::input_fields() const { return d_->inputs; }
const std::vector<const Field*>& Signature::output_fields() const { return d_->outputs; }
std::span<const Field> Signature::inputs() const { return {d_->fields.data(), d_->n_inputs}; }
std::span<const Field> Signature::outputs() const {
    return {d_->fields.data() + d_->n_inputs, d_->fields.size() - d_->n_inputs};
}
size_t Signature::n_inputs() const { return d_->n_inputs; }

const Field* Signature::field(std::string_view name) const {
    for (const auto& f : d_->fields)
        if (f.name == name) return &f;
    return nullptr;
}

const std::string& Signature::signature_string() const { return d_->signature; }

Signature Signature::with_instructions(std::string_view instructions) const {
    return from_fields(d_->fields, instructions);
}

Signature Signature::append_instructions(std::string_view more) const {
    std::string joined = d_->instructions + "\n\n";
    joined += more;
    return from_fields(d_->fields, joined);
}

Signature Signature::insert(int index, Field field) const {
    std::vector<Field> ins(d_->fields.begin(), d_->fields.begin() + static_cast<std::ptrdiff_t>(d_->n_inputs));
    std::vector<Field> outs(d_->fields.begin() + static_cast<std::ptrdiff_t>(d_->n_inputs), d_->fields.end());
    std::vector<Field>& lst = field.is_input ? ins : outs;
    long len = static_cast<long>(lst.size());
    long i = index;
    if (i < 0) i += len + 1;
    if (i < 0 || i > len)
        throw ValueError("Invalid index to insert: " + std::to_string(i) + ", index must be in the range of [" +
                         std::to_string(len - 1) + ", " + std::to_string(len) + "] for " +
                         (field.is_input ? "input" : "output") + " fields, but received: " + std::to_string(i) + ".");
    lst.insert(lst.begin() + i, std::move(field));
    ins.insert(ins.end(), std::make_move_iterator(outs.begin()), std::make_move_iterator(outs.end()));
    return from_fields(std::move(ins), d_->instructions);
}

Signature Signature::prepend(Field field) const { return insert(0, std::move(field)); }
Signature Signature::append(Field field) const { return insert(-1, std::move(field)); }

Signature Signature::remove(std::string_view name) const {
    std::vector<Field> fields;
    fields.reserve(d_->fields.size());
    for (const auto& f : d_->fields)
        if (f.name != name) fields.push_back(f);
    return from_fields(std::move(fields), d_->instructions);
}

Signature Signature::with_updated_field(std::string_view name, std::optional<std::string> desc,
                                        std::optional<std::string> prefix, std::optional<TypeSpec> type) const {
    std::vector<Field> fields = d_->fields;
    auto it = std::find_if(fields.begin(), fields.end(), [&](const Field& f) { return f.name == name; });
    if (it == fields.end()) throw KeyError("'" + std::string(name) + "' is not a field of the signature '" + d_->signature + "'");
    if (desc) it->desc = std::move(*desc);
    if (prefix) it->prefix = std::move(*prefix);
    if (type) it->type = std::move(*type);
    return from_fields(std::move(fields), d_->instructions);
}

Json Signature::dump_state() const {
    Json fields = Json::array();
    for (const auto& f : d_->fields) fields.push_back(Json{{"prefix", f.prefix}, {"description", f.desc}});
    return Json{{"instructions", d_->instructions}, {"fields", std::move(fields)}};
}

Signature Signature::load_state(const Json& state) const {
    if (!state.is_object()) throw TypeError("signature state must be an object, got " + state.dump());
    auto it = state.find("instructions");
    if (it == state.end()) throw KeyError("'instructions'");
    if (!it->is_string()) throw TypeError("signature state 'instructions' must be a string, got " + it->dump());
    auto fit = state.find("fields");
    if (fit == state.end()) throw KeyError("'fields'");
    if (!fit->is_array()) throw TypeError("signature state 'fields' must be a list, got " + fit->dump());
    auto d = std::make_shared<Data>(*d_);
    // The setter stores the text as __doc__ and the getter cleandoc's it; unlike construction, "" stays "".
    d->instructions = pyfmt::cleandoc(it->get_ref<const std::string&>());
    size_t n = std::min(d->fields.size(), fit->size());
    for (size_t i = 0; i < n; ++i) {
        const Json& saved = (*fit)[i];
        auto get = [&](const char* key) -> const std::string& {
            if (!saved.is_object()) throw TypeError("signature state fields[" + std::to_string(i) + "] must be an object");
            auto k = saved.find(key);
            if (k == saved.end()) throw KeyError(std::string("'") + key + "'");
            if (!k->is_string())
                throw TypeError("signature state fields[" + std::to_string(i) + "]." + key + " must be a string, got " +
                                k->dump());
            return k->get_ref<const std::string&>();
        };
        d->fields[i].prefix = get("prefix");
        d->fields[i].desc = get("description");
    }
    // The cached pointers must point into the copy.
    d->inputs.clear();
    d->outputs.clear();
    for (const auto& f : d->fields) (f.is_input ? d->inputs : d->outputs).push_back(&f);
    return Signature(std::shared_ptr<const Data>(std::move(d)));
}

bool operator==(const Signature& a, const Signature& b) {
    if (a.d_ == b.d_) return true;
    if (a.d_->instructions != b.d_->instructions || a.d_->fields.size() != b.d_->fields.size()) return false;
    // Signature.equals compares names and each field's json_schema_extra (desc, prefix, kind, flags), not the
    // annotations and not the order.
    for (const auto& f : a.d_->fields) {
        const Field* g = b.field(f.name);
        if (!g || g->is_input != f.is_input || g->desc != f.desc || g->prefix != f.prefix ||
            g->type_undefined != f.type_undefined || g->constraints != f.constraints)
            return false;
    }
    return true;
}

}  // namespace dspy
