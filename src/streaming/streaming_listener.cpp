// StreamListener: DSPy's state machine, step for step (the same buffering decisions give the same chunks).
#include "dspy/streaming/streaming_listener.hpp"

#include <unordered_set>

#include "dspy/adapters/chat_adapter.hpp"
#include "dspy/adapters/json_adapter.hpp"
#include "dspy/predict/predict.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/utils/exceptions.hpp"

namespace dspy {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string_view strip(std::string_view s) {
    auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

std::string_view lstrip(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r' ||
                          s.front() == '\f' || s.front() == '\v'))
        s.remove_prefix(1);
    return s;
}

std::string rstrip(std::string s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r' ||
                          s.back() == '\f' || s.back() == '\v'))
        s.pop_back();
    return s;
}

// Python's \w for the ASCII range; bytes of multi-byte UTF-8 sequences count as word characters (letters beyond
// ASCII are \w in Python's Unicode regexes).
bool is_word(unsigned char c) { return std::isalnum(c) || c == '_' || c >= 0x80; }

// re.search(r"\[\[ ## (\w+) ## \]\]", s) is not None
bool has_chat_end_marker(std::string_view s) {
    constexpr std::string_view open = "[[ ## ";
    constexpr std::string_view close = " ## ]]";
    for (size_t pos = s.find(open); pos != std::string_view::npos; pos = s.find(open, pos + 1)) {
        size_t i = pos + open.size();
        size_t j = i;
        while (j < s.size() && is_word(static_cast<unsigned char>(s[j]))) ++j;
        if (j > i && s.substr(j, close.size()) == close) return true;
    }
    return false;
}

// Where the first value of `s` (a JSON object text, the value starting at `from`) ends, when the value is
// complete and followed by the object's next `,` or its `}`; nullopt while it is still open. Strings may hold
// escaped quotes; objects and arrays may nest.
std::optional<size_t> json_value_end(std::string_view s, size_t from) {
    size_t i = from;
    auto ws = [&] {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
    };
    ws();
    int depth = 0;
    bool in_string = false;
    while (i < s.size()) {
        char c = s[i];
        if (in_string) {
            if (c == '\\') {
                i += 2;
                continue;
            }
            if (c == '"') in_string = false;
            ++i;
            if (!in_string && depth == 0) break;  // a top-level string value is complete
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            ++depth;
        } else if (c == '}' || c == ']') {
            if (depth == 0) return i;  // a scalar ended by the object's close
            if (--depth == 0) {
                ++i;
                break;
            }
        } else if (c == ',' && depth == 0) {
            return i;  // a scalar ended by the next key
        }
        ++i;
    }
    if (i > s.size() || in_string || depth > 0) return std::nullopt;
    const size_t end = i;
    ws();
    if (i < s.size() && (s[i] == ',' || s[i] == '}')) return end;
    return std::nullopt;
}

}  // namespace

StreamListener::StreamListener(std::string signature_field_name, const Predict* predict, std::string predict_name,
                               bool allow_reuse)
    : signature_field_name_(std::move(signature_field_name)),
      predict_(predict),
      predict_name_(std::move(predict_name)),
      allow_reuse_(allow_reuse),
      start_id_chat_("[[ ## " + signature_field_name_ + " ## ]]"),
      start_id_json_("\"" + signature_field_name_ + "\":") {}

StreamAdapterKind StreamListener::current_adapter_kind() {
    auto s = settings();
    if (!s->adapter) return StreamAdapterKind::Chat;
    const Adapter& adapter = *s->adapter;
    if (dynamic_cast<const JSONAdapter*>(&adapter)) return StreamAdapterKind::JSON;
    // Exactly ChatAdapter (a subclass that changes the format, other than JSONAdapter, is not streamable).
    if (typeid(adapter) == typeid(ChatAdapter)) return StreamAdapterKind::Chat;
    throw ValueError(std::string("Unsupported adapter for streaming: ") + typeid(adapter).name() +
                     ", please use one of the following adapters: ChatAdapter, JSONAdapter");
}

bool StreamListener::could_form_end_identifier(std::string_view concat_message, StreamAdapterKind adapter) {
    if (adapter == StreamAdapterKind::Chat) {
        for (std::string_view p : {"[", "[[", "[[ ", "[[ #", "[[ ##"})
            if (ends_with(concat_message, p)) return true;
        return concat_message.find("[[ ##") != std::string_view::npos;
    }
    for (std::string_view p : {"\"", "\",", "\" ", "\"}"})
        if (ends_with(concat_message, p)) return true;
    return concat_message.find('}') != std::string_view::npos;
}

void StreamListener::reset() {
    stream_end_ = false;
    cache_hit_ = false;
    field_start_queue_.clear();
    field_end_queue_.clear();
    json_accumulated_.clear();
    stream_start_ = false;
    value_started_ = false;
    json_emitted_ = 0;
}

std::string StreamListener::end_queue_concat() const {
    std::string out;
    for (const auto& t : field_end_queue_) out += t;
    return out;
}

std::optional<StreamResponse> StreamListener::receive(std::string_view chunk_message) {
    return receive(chunk_message, current_adapter_kind());
}

std::optional<StreamResponse> StreamListener::receive(std::string_view chunk_in, StreamAdapterKind adapter) {
    const bool json = adapter == StreamAdapterKind::JSON;
    const std::string& start_id = json ? start_id_json_ : start_id_chat_;
    const char start_indicator = json ? '"' : '[';

    if (stream_end_) {
        if (!allow_reuse_) return std::nullopt;
        reset();
    }
    if (chunk_in.empty()) return std::nullopt;  // DSPy: a None delta is ignored; an empty one changes nothing

    std::string chunk_message(chunk_in);
    if (!json) {
        // A whole field in one chunk (a cache hit, or a model sending big chunks): nothing to stream.
        if (size_t at = chunk_message.find(start_id); at != std::string::npos) {
            if (has_chat_end_marker(std::string_view(chunk_message).substr(at + start_id.size()))) {
                cache_hit_ = true;
                stream_start_ = true;
                stream_end_ = true;
                return std::nullopt;
            }
        }
    }

    if (field_start_queue_.empty() && !stream_start_ && chunk_message.find(start_indicator) != std::string::npos) {
        field_start_queue_.push_back(std::move(chunk_message));
        return std::nullopt;
    }

    if (!field_start_queue_.empty() && !stream_start_) {
        field_start_queue_.push_back(std::move(chunk_message));
        std::string concat;
        for (const auto& t : field_start_queue_) concat += t;
        if (size_t at = concat.find(start_id); at != std::string::npos) {
            stream_start_ = true;
            field_start_queue_.clear();
            chunk_message = std::string(lstrip(std::string_view(concat).substr(at + start_id.size())));
            if (json) json_accumulated_ += "{" + start_id;
        } else {
            // Could the buffered text still end in the start of the identifier?
            std::string_view stripped = strip(concat);
            for (size_t i = 0; i < stripped.size(); ++i)
                if (start_id.starts_with(stripped.substr(stripped.size() - i - 1))) return std::nullopt;
            field_start_queue_.clear();
            return std::nullopt;
        }
    }

    // Beyond DSPy: whitespace between the start marker and the value is never part of it (DSPy only strips what
    // arrives in the marker's own chunks, so a tokenizer that sends "\n" on its own leaks it).
    if (stream_start_ && !value_started_) {
        chunk_message = std::string(lstrip(chunk_message));
        if (chunk_message.empty()) return std::nullopt;
        value_started_ = true;
    }

    if (stream_start_ && !chunk_message.empty()) {
        field_end_queue_.push_back(chunk_message);
        std::optional<std::string> token;
        const std::string concat = end_queue_concat();
        if (!could_form_end_identifier(strip(concat), adapter)) {
            token = flush(adapter);
            // Beyond DSPy: trailing whitespace waits for what follows it, so the "\n\n" before the next marker
            // is dropped with it even when it arrives as separate tokens.
            const size_t keep = token->find_last_not_of(" \t\n\r\f\v") + 1;
            if (keep < token->size()) {
                field_end_queue_.push_back(token->substr(keep));
                token->resize(keep);
            }
        } else if (field_end_queue_.size() > 10) {
            token = std::move(field_end_queue_.front());
            field_end_queue_.pop_front();
        }
        if (json) return handle_json(std::move(token), chunk_message);
        return handle_default(std::move(token));
    }
    return std::nullopt;
}

std::optional<StreamResponse> StreamListener::handle_json(std::optional<std::string> token,
                                                          std::string_view chunk_message) {
    // DSPy re-parses the accumulated text with jiter (a complete object, or a second key) to see the field end.
    // Here one scan finds where the field's value ends; the last chunk runs from what was already emitted to there,
    // so neither the closing brace nor the next key (`, "next":`, which DSPy lets through) leaks.
    json_accumulated_ += chunk_message;
    const size_t value_start = 1 + start_id_json_.size();
    if (auto end = json_value_end(json_accumulated_, value_start)) {
        stream_end_ = true;
        field_end_queue_.clear();
        const size_t from = value_start + json_emitted_;
        std::string out = *end > from ? json_accumulated_.substr(from, *end - from) : std::string();
        return StreamResponse{predict_name_, signature_field_name_, std::move(out), true};
    }
    if (token && !token->empty()) {
        json_emitted_ += token->size();
        return StreamResponse{predict_name_, signature_field_name_, std::move(*token), false};
    }
    return std::nullopt;
}

std::optional<StreamResponse> StreamListener::handle_default(std::optional<std::string> token) {
    const std::string concat = end_queue_concat();
    if (has_chat_end_marker(strip(concat))) {
        stream_end_ = true;
        std::string last = flush(StreamAdapterKind::Chat);
        token = rstrip(token ? *token + last : last);
    }
    if ((token && !token->empty()) || stream_end_)
        return StreamResponse{predict_name_, signature_field_name_, token.value_or(""), stream_end_};
    return std::nullopt;
}

std::string StreamListener::flush(StreamAdapterKind adapter) {
    std::string last = end_queue_concat();
    field_end_queue_.clear();
    if (adapter == StreamAdapterKind::JSON) return last;
    size_t boundary = last.find("[[");
    if (boundary != std::string::npos) last.resize(boundary);
    return last;
}

std::optional<StreamResponse> StreamListener::finalize() {
    if (stream_end_ || !stream_start_) return std::nullopt;
    stream_end_ = true;
    if (field_end_queue_.empty()) return std::nullopt;
    StreamAdapterKind adapter = StreamAdapterKind::Chat;
    try {
        adapter = current_adapter_kind();
    } catch (const ValueError&) {
    }
    std::string token = rstrip(flush(adapter));
    if (token.empty()) return std::nullopt;
    return StreamResponse{predict_name_, signature_field_name_, std::move(token), true};
}

std::unordered_map<const Module*, std::vector<std::size_t>> find_predictor_for_stream_listeners(
    Module& program, std::vector<StreamListener>& listeners) {
    auto predictors = program.named_predictors();
    // field name -> (name, predictor) for the listeners that need one found.
    std::unordered_map<std::string, std::optional<std::pair<std::string, Predict*>>> by_field;
    for (const auto& l : listeners)
        if (!l.predict()) by_field.emplace(l.signature_field_name(), std::nullopt);
    for (auto& [name, predictor] : predictors)
        for (const Field* f : predictor->signature().output_fields()) {
            auto it = by_field.find(f->name);
            if (it == by_field.end()) continue;
            if (it->second)
                throw ValueError("Signature field " + f->name +
                                 " is not unique in the program, cannot automatically determine which predictor to "
                                 "use for streaming. Please specify the predictor to listen to.");
            it->second = std::make_pair(name, predictor);
        }
    std::unordered_map<const Module*, std::vector<std::size_t>> out;
    for (std::size_t i = 0; i < listeners.size(); ++i) {
        StreamListener& l = listeners[i];
        if (!l.predict()) {
            auto it = by_field.find(l.signature_field_name());
            if (it == by_field.end() || !it->second)
                throw ValueError("Signature field " + l.signature_field_name() +
                                 " is not a field of any predictor in the program, cannot automatically determine "
                                 "which predictor to use for streaming. Please verify your field name or specify the "
                                 "predictor to listen to.");
            l.bind(it->second->second, it->second->first);
        } else if (l.predict_name().empty()) {
            // DSPy leaves predict_name None here; the predictor's path is more useful and costs nothing.
            for (auto& [name, predictor] : predictors)
                if (predictor == l.predict()) l.bind(predictor, name);
        }
        out[static_cast<const Module*>(l.predict())].push_back(i);
    }
    return out;
}

}  // namespace dspy
