#include "builtin_tools.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <limits>

#include "dspy/utils/exceptions.hpp"
#include "program.hpp"
#include "utils/pyfmt.hpp"

namespace dspy::cli {
namespace {

// A number as Python keeps it: int while every operand and operation stays integral.
struct Num {
    double v = 0;
    bool is_int = true;
};

class Calc {
public:
    explicit Calc(std::string_view s) : s_(s) {}
    Num run() {
        Num n = expr();
        skip();
        if (i_ != s_.size()) fail("unexpected '" + std::string(1, s_[i_]) + "'");
        return n;
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw ValueError("calculator: " + what + " at position " + std::to_string(i_) + " in '" + std::string(s_) + "'");
    }
    void skip() {
        while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
    }
    bool eat(std::string_view tok) {
        skip();
        if (s_.substr(i_, tok.size()) == tok) {
            i_ += tok.size();
            return true;
        }
        return false;
    }
    static Num make(double v, bool is_int) {
        if (is_int && std::fabs(v) > 9007199254740992.0) is_int = false;  // beyond exact doubles: report as float
        return {v, is_int};
    }
    Num expr() {
        Num a = term();
        for (;;) {
            if (eat("+")) {
                Num b = term();
                a = make(a.v + b.v, a.is_int && b.is_int);
            } else if (eat("-")) {
                Num b = term();
                a = make(a.v - b.v, a.is_int && b.is_int);
            } else {
                return a;
            }
        }
    }
    Num term() {
        Num a = unary();
        for (;;) {
            skip();
            if (s_.substr(i_, 2) == "**") return a;  // handled in power()
            if (eat("//")) {
                Num b = unary();
                if (b.v == 0) fail("division by zero");
                a = make(std::floor(a.v / b.v), a.is_int && b.is_int);
            } else if (eat("*")) {
                Num b = unary();
                a = make(a.v * b.v, a.is_int && b.is_int);
            } else if (eat("/")) {
                Num b = unary();
                if (b.v == 0) fail("division by zero");
                a = make(a.v / b.v, false);
            } else if (eat("%")) {
                Num b = unary();
                if (b.v == 0) fail("modulo by zero");
                double r = std::fmod(a.v, b.v);
                if (r != 0 && ((r < 0) != (b.v < 0))) r += b.v;  // Python's sign rule
                a = make(r, a.is_int && b.is_int);
            } else {
                return a;
            }
        }
    }
    Num unary() {
        if (eat("-")) {
            Num a = unary();
            return make(-a.v, a.is_int);
        }
        if (eat("+")) return unary();
        return power();
    }
    Num power() {
        Num base = atom();
        if (eat("**") || eat("^")) {
            Num e = unary();  // right-associative, binds tighter than unary minus on the left
            double r = std::pow(base.v, e.v);
            if (!std::isfinite(r)) fail("result too large");
            return make(r, base.is_int && e.is_int && e.v >= 0);
        }
        return base;
    }
    Num atom() {
        skip();
        if (++depth_ > 100) fail("expression nested too deeply");
        struct Depth {
            int& d;
            ~Depth() { --d; }
        } guard{depth_};
        if (eat("(")) {
            Num n = expr();
            if (!eat(")")) fail("expected ')'");
            return n;
        }
        if (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '.')) return number();
        if (i_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[i_]))) return call();
        if (i_ >= s_.size()) fail("unexpected end, expected a number");
        fail("unexpected '" + std::string(1, s_[i_]) + "', expected a number");
    }
    Num number() {
        size_t start = i_;
        bool is_int = true;
        while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_')) ++i_;
        if (i_ < s_.size() && s_[i_] == '.') {
            is_int = false;
            ++i_;
            while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
        }
        if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
            is_int = false;
            ++i_;
            if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
            while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
        }
        std::string text;
        for (char c : s_.substr(start, i_ - start))
            if (c != '_') text += c;
        char* end = nullptr;
        double v = std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size()) fail("bad number '" + text + "'");
        return make(v, is_int);
    }
    Num call() {
        size_t start = i_;
        while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_')) ++i_;
        std::string name(s_.substr(start, i_ - start));
        if (name == "pi") return {M_PI, false};
        if (name == "e") return {M_E, false};
        if (!eat("(")) fail("unknown name '" + name + "'");
        std::vector<Num> args;
        if (!eat(")")) {
            do args.push_back(expr());
            while (eat(","));
            if (!eat(")")) fail("expected ')' after the arguments of " + name);
        }
        auto one = [&]() -> Num {
            if (args.size() != 1) fail(name + "() takes one argument");
            return args[0];
        };
        if (name == "sqrt") {
            Num a = one();
            if (a.v < 0) fail("sqrt of a negative number");
            return {std::sqrt(a.v), false};
        }
        if (name == "abs") {
            Num a = one();
            return make(std::fabs(a.v), a.is_int);
        }
        if (name == "round") {
            if (args.size() == 2) {
                double f = std::pow(10.0, args[1].v);
                return {std::nearbyint(args[0].v * f) / f, false};
            }
            return make(std::nearbyint(one().v), true);  // Python rounds half to even
        }
        if (name == "floor") return make(std::floor(one().v), true);
        if (name == "ceil") return make(std::ceil(one().v), true);
        if (name == "exp") return {std::exp(one().v), false};
        if (name == "log") {
            Num a = one();
            if (a.v <= 0) fail("log of a non-positive number");
            return {std::log(a.v), false};
        }
        if (name == "min" || name == "max") {
            if (args.empty()) fail(name + "() needs arguments");
            Num best = args[0];
            for (const Num& a : args)
                if (name == "min" ? a.v < best.v : a.v > best.v) best = a;
            return best;
        }
        fail("unknown function '" + name + "'");
    }

    std::string_view s_;
    size_t i_ = 0;
    int depth_ = 0;
};

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::vector<std::string> words_of(std::string_view s) {
    std::vector<std::string> out;
    std::string w;
    for (char c : s) {
        if (std::isalnum(static_cast<unsigned char>(c)) || (static_cast<unsigned char>(c) & 0x80)) {
            w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        } else if (!w.empty()) {
            out.push_back(std::move(w));
            w.clear();
        }
    }
    if (!w.empty()) out.push_back(std::move(w));
    static const std::vector<std::string> stop = {"a", "an", "the", "of", "is", "in", "on", "and", "or", "to",
                                                  "what", "who", "which", "how", "was", "were", "are", "does", "did"};
    std::erase_if(out, [](const std::string& x) { return std::find(stop.begin(), stop.end(), x) != stop.end(); });
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

}  // namespace

bool is_builtin_tool(std::string_view name) { return name == "calculator" || name == "search" || name == "lookup"; }

std::string builtin_tool_names() { return "\"calculator\", \"search\", \"lookup\""; }

Json calculate(std::string_view expression) {
    Num n = Calc(expression).run();
    if (n.is_int) return Json(static_cast<int64_t>(n.v));
    return Json(n.v);
}

std::shared_ptr<const Corpus> Corpus::load(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path.string() + ": cannot open the corpus file");
    auto c = std::make_shared<Corpus>();
    std::string line;
    size_t lineno = 0;
    while (std::getline(in, line)) {
        ++lineno;
        if (pyfmt::strip(line).empty()) continue;
        Json j;
        try {
            j = Json::parse(line);
        } catch (const Json::parse_error& e) {
            throw std::runtime_error(path.string() + ":" + std::to_string(lineno) + ": not valid JSON: " + e.what());
        }
        if (!j.is_object() || !j.contains("text") || !j.at("text").is_string())
            throw std::runtime_error(path.string() + ":" + std::to_string(lineno) +
                                     ": each line must be an object with a string \"text\"");
        Doc d;
        d.text = j.at("text").get<std::string>();
        if (auto t = j.find("title"); t != j.end() && t->is_string()) d.title = t->get<std::string>();
        d.words = words_of(d.title + " " + d.text);
        c->docs_.push_back(std::move(d));
    }
    return c;
}

std::vector<std::string> Corpus::search(std::string_view query, size_t k) const {
    const auto q = words_of(query);
    std::vector<std::pair<size_t, size_t>> scored;  // (hits, index)
    for (size_t i = 0; i < docs_.size(); ++i) {
        size_t hits = 0;
        for (const auto& w : q)
            if (std::binary_search(docs_[i].words.begin(), docs_[i].words.end(), w)) ++hits;
        if (hits > 0) scored.emplace_back(hits, i);
    }
    std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<std::string> out;
    for (size_t i = 0; i < scored.size() && out.size() < k; ++i) {
        const Doc& d = docs_[scored[i].second];
        out.push_back(d.title.empty() ? d.text : d.title + " | " + d.text);
    }
    return out;
}

std::optional<std::string> Corpus::lookup(std::string_view title) const {
    const std::string t = lower(pyfmt::strip(title));
    for (const auto& d : docs_)
        if (lower(d.title) == t) return d.text;
    return std::nullopt;
}

Tool make_builtin_tool(const Json& spec, const std::filesystem::path& base_dir, const std::string& label) {
    const std::string name = spec.at("name").get<std::string>();
    if (name == "calculator") {
        return Tool([](const std::string& expression) -> Json { return calculate(expression); },
                    {.name = "calculator",
                     .desc = "Evaluates an arithmetic expression (+ - * / // % **, parentheses, sqrt, abs, round, "
                             "floor, ceil, log, exp, min, max) and returns the number.",
                     .args = {"expression"}});
    }
    auto corpus_key = spec.find("corpus");
    if (corpus_key == spec.end() || !corpus_key->is_string())
        throw ProgramError(label + ": the \"" + name +
                           "\" tool needs \"corpus\": a JSONL file of {\"title\", \"text\"} lines, e.g. "
                           "{\"name\": \"" + name + "\", \"corpus\": \"corpus.jsonl\"}");
    std::filesystem::path path = corpus_key->get<std::string>();
    if (path.is_relative()) path = base_dir / path;
    std::shared_ptr<const Corpus> corpus;
    try {
        corpus = Corpus::load(path);
    } catch (const std::exception& e) {
        throw ProgramError(label + ": \"" + name + "\" tool: " + e.what());
    }
    if (name == "search") {
        int64_t k = 3;
        if (auto it = spec.find("k"); it != spec.end()) {
            if (!it->is_number_integer() || it->get<int64_t>() < 1)
                throw ProgramError(label + ": \"search.k\" must be a positive integer, got " + it->dump());
            k = it->get<int64_t>();
        }
        return Tool(
            [corpus, k](const std::string& query) -> Json {
                return Json(corpus->search(query, static_cast<size_t>(k)));
            },
            {.name = "search",
             .desc = "Searches the corpus and returns the " + std::to_string(k) + " most relevant passages.",
             .args = {"query"}});
    }
    return Tool(
        [corpus](const std::string& title) -> Json {
            if (auto t = corpus->lookup(title)) return Json(*t);
            return Json("No document titled '" + title + "'.");
        },
        {.name = "lookup", .desc = "Returns the full text of the document with this exact title.", .args = {"title"}});
}

}  // namespace dspy::cli
