#include "signatures/py_syntax.hpp"

#include <array>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "dspy/utils/exceptions.hpp"
#include "utils/pyfmt.hpp"

namespace dspy::sig_detail {

namespace {

[[noreturn]] void fail(const std::string& msg) { throw SignatureError(msg); }

bool is_ascii_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

// Decodes one UTF-8 code point at s[i]; returns its length, or 0 when the bytes are not valid UTF-8.
size_t decode_utf8(std::string_view s, size_t i, char32_t& cp) {
    auto b = static_cast<unsigned char>(s[i]);
    size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size()) return 0;
    cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    for (size_t k = 1; k < len; ++k) {
        auto c = static_cast<unsigned char>(s[i + k]);
        if ((c >> 6) != 0x2) return 0;
        cp = (cp << 6) | (c & 0x3F);
    }
    return len;
}

// Python identifiers allow Unicode letters (XID_Start/XID_Continue). Without the Unicode tables we accept every
// non-ASCII code point except the blocks that are clearly not letters (Latin-1 punctuation, general punctuation,
// arrows/math/box drawing, CJK punctuation, emoji), which covers real-world names like `café` or `résumé`.
bool is_identifier_cp(char32_t cp) {
    if (cp < 0x80) return false;
    if (cp <= 0xBF) return cp == 0xAA || cp == 0xB5 || cp == 0xBA;
    if (cp == 0xD7 || cp == 0xF7) return false;
    if (cp >= 0x2000 && cp <= 0x206F) return cp == 0x203F || cp == 0x2040 || cp == 0x2054;
    if (cp >= 0x2190 && cp <= 0x2BFF) return false;
    if (cp >= 0x3000 && cp <= 0x3003) return false;
    if (cp >= 0xFF01 && cp <= 0xFF0F) return false;
    if (cp >= 0x1F000 && cp <= 0x1FAFF) return false;
    if (cp == 0xFEFF) return false;
    return true;
}

constexpr std::array<std::string_view, 35> kKeywords = {
    "False", "None",   "True",    "and",      "as",       "assert", "async",  "await",    "break",
    "class", "continue", "def",   "del",      "elif",     "else",   "except", "finally",  "for",
    "from",  "global", "if",      "import",   "in",       "is",     "lambda", "nonlocal", "not",
    "or",    "pass",   "raise",   "return",   "try",      "while",  "with",   "yield"};

struct Token {
    enum class T { Name, Number, String, Op, End } t = T::End;
    std::string text;  // Name: the identifier; Op: the operator
    size_t begin = 0, end = 0;
    Json value;
    Expr::C ctype = Expr::C::None;
    bool fstring = false;
};

// Python's tokenizer over the text inside `def f(...)`: newlines are insignificant (we are inside parentheses),
// comments run to the end of the line.
class Lexer {
public:
    explicit Lexer(std::string_view s) : s_(s) { advance(); }

    const Token& peek() const { return tok_; }
    Token next() {
        Token t = std::move(tok_);
        advance();
        return t;
    }
    std::string_view slice(size_t b, size_t e) const { return s_.substr(b, e - b); }
    std::string_view source() const { return s_; }

private:
    std::string_view s_;
    size_t i_ = 0;
    Token tok_;

    void skip_space() {
        while (i_ < s_.size()) {
            char c = s_[i_];
            if (c == ' ' || c == '\t' || c == '\f' || c == '\n' || c == '\r') {
                ++i_;
            } else if (c == '#') {
                size_t nl = s_.find_first_of("\r\n", i_);
                // Without a newline the comment would swallow the closing `): pass` DSPy appends.
                if (nl == std::string_view::npos)
                    fail("invalid syntax: the comment '" + std::string(s_.substr(i_)) +
                         "' runs to the end of the signature");
                i_ = nl;
            } else if (c == '\\') {
                if (i_ + 1 < s_.size() && (s_[i_ + 1] == '\n' || s_[i_ + 1] == '\r')) {
                    i_ += 2;
                } else {
                    fail("invalid syntax: unexpected character after line continuation character in '" +
                         std::string(s_) + "'");
                }
            } else {
                break;
            }
        }
    }

    bool ident_start_at(size_t i, size_t& len) const {
        auto c = static_cast<unsigned char>(s_[i]);
        if (is_ascii_alpha(c) || c == '_') {
            len = 1;
            return true;
        }
        if (c < 0x80) return false;
        char32_t cp = 0;
        len = decode_utf8(s_, i, cp);
        if (len == 0) fail("invalid UTF-8 in signature text '" + std::string(s_) + "'");
        return is_identifier_cp(cp);
    }
    bool ident_continue_at(size_t i, size_t& len) const {
        if (is_digit(static_cast<unsigned char>(s_[i]))) {
            len = 1;
            return true;
        }
        return ident_start_at(i, len);
    }

    void advance() {
        skip_space();
        tok_ = Token{};
        tok_.begin = i_;
        if (i_ >= s_.size()) {
            tok_.t = Token::T::End;
            tok_.end = i_;
            return;
        }
        size_t len = 0;
        auto c = static_cast<unsigned char>(s_[i_]);
        if (ident_start_at(i_, len)) {
            size_t j = i_ + len;
            while (j < s_.size() && ident_continue_at(j, len)) j += len;
            std::string word(s_.substr(i_, j - i_));
            if (j < s_.size() && (s_[j] == '\'' || s_[j] == '"') && is_string_prefix(word)) {
                lex_string(word, j);
                return;
            }
            tok_.t = Token::T::Name;
            tok_.text = std::move(word);
            i_ = j;
            tok_.end = i_;
            return;
        }
        if (is_digit(c) || (c == '.' && i_ + 1 < s_.size() && is_digit(static_cast<unsigned char>(s_[i_ + 1])))) {
            lex_number();
            return;
        }
        if (c == '\'' || c == '"') {
            lex_string("", i_);
            return;
        }
        static constexpr std::string_view kOps = "()[]{},:=.|*/-+~@%&^<>!";
        if (s_.substr(i_, 3) == "...") {
            tok_.t = Token::T::Op;
            tok_.text = "...";
            i_ += 3;
        } else if (s_.substr(i_, 2) == "**") {
            tok_.t = Token::T::Op;
            tok_.text = "**";
            i_ += 2;
        } else if (kOps.find(static_cast<char>(c)) != std::string_view::npos) {
            tok_.t = Token::T::Op;
            tok_.text = std::string(1, static_cast<char>(c));
            ++i_;
        } else {
            char32_t cp = c;
            if (c >= 0x80) (void)decode_utf8(s_, i_, cp);
            char hex[16];
            std::snprintf(hex, sizeof hex, "U+%04X", static_cast<unsigned>(cp));
            std::string shown = (c < 0x20 || c == 0x7F) ? std::string() : std::string(s_.substr(i_, len ? len : 1)) + " ";
            fail("invalid character " + shown + "(" + hex + ") in signature text '" + std::string(s_) + "'");
        }
        tok_.end = i_;
    }

    static bool is_string_prefix(const std::string& w) {
        if (w.size() > 2) return false;
        std::string l;
        for (char ch : w) l += static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
        return l == "r" || l == "u" || l == "b" || l == "f" || l == "br" || l == "rb" || l == "fr" || l == "rf";
    }

    void lex_number() {
        size_t b = i_;
        std::string digits;
        bool is_float = false, imaginary = false;
        auto bad = [&](size_t at) {
            size_t e = at;
            while (e < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[e])) || s_[e] == '_' || s_[e] == '.')) ++e;
            fail("invalid decimal literal '" + std::string(s_.substr(b, e - b)) + "'");
        };
        auto take_digits = [&](auto ok) {
            bool any = false;
            while (i_ < s_.size()) {
                char ch = s_[i_];
                if (ok(ch)) {
                    digits += ch;
                    any = true;
                    ++i_;
                } else if (ch == '_' && any && i_ + 1 < s_.size() && ok(s_[i_ + 1])) {
                    ++i_;
                } else {
                    break;
                }
            }
            return any;
        };
        auto dec = [](char ch) { return ch >= '0' && ch <= '9'; };
        int base = 10;
        if (s_[i_] == '0' && i_ + 1 < s_.size() && std::string_view("xXoObB").find(s_[i_ + 1]) != std::string_view::npos) {
            char k = static_cast<char>(s_[i_ + 1] | 0x20);
            base = k == 'x' ? 16 : k == 'o' ? 8 : 2;
            i_ += 2;
            bool any = take_digits([base](char ch) {
                if (base == 16) return std::isxdigit(static_cast<unsigned char>(ch)) != 0;
                if (base == 8) return ch >= '0' && ch <= '7';
                return ch == '0' || ch == '1';
            });
            if (!any) bad(i_);
        } else {
            take_digits(dec);
            if (i_ < s_.size() && s_[i_] == '.') {
                is_float = true;
                digits += '.';
                ++i_;
                take_digits(dec);
            }
            if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
                size_t save = i_;
                std::string exp = "e";
                ++i_;
                if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) exp += s_[i_++];
                std::string before = digits;
                digits.clear();
                if (!take_digits(dec)) {
                    i_ = save;
                    digits = before;
                    bad(i_);
                }
                digits = before + exp + digits;
                is_float = true;
            }
            if (i_ < s_.size() && (s_[i_] == 'j' || s_[i_] == 'J')) {
                imaginary = true;
                ++i_;
            }
            if (!is_float && !imaginary && digits.size() > 1 && digits[0] == '0' &&
                digits.find_first_not_of('0') != std::string::npos)
                fail("leading zeros in decimal integer literals are not permitted: '" +
                     std::string(s_.substr(b, i_ - b)) + "'");
        }
        size_t len = 0;
        if (i_ < s_.size() && ident_start_at(i_, len)) bad(i_);
        tok_.t = Token::T::Number;
        tok_.end = i_;
        tok_.text = std::string(s_.substr(b, i_ - b));
        if (imaginary) {
            tok_.ctype = Expr::C::Complex;
            tok_.value = tok_.text;
        } else if (is_float) {
            tok_.ctype = Expr::C::Float;
            tok_.value = std::strtod(digits.c_str(), nullptr);
        } else {
            tok_.ctype = Expr::C::Int;
            errno = 0;
            char* endp = nullptr;
            unsigned long long v = std::strtoull(digits.c_str(), &endp, base);
            if (errno == ERANGE || v > static_cast<unsigned long long>(std::numeric_limits<int64_t>::max()))
                fail("integer literal too large: '" + tok_.text + "'");
            tok_.value = static_cast<int64_t>(v);
        }
    }

    // A string literal starting at `q` (the quote) with an optional prefix; adjacent literals are joined by the
    // parser, as Python does.
    void lex_string(const std::string& prefix, size_t q) {
        size_t b = i_;
        bool raw = false, bytes = false, fstr = false;
        for (char ch : prefix) {
            char l = static_cast<char>(ch | 0x20);
            raw |= l == 'r';
            bytes |= l == 'b';
            fstr |= l == 'f';
        }
        char quote = s_[q];
        bool triple = s_.substr(q, 3) == std::string(3, quote);
        size_t j = q + (triple ? 3 : 1);
        std::string out;
        for (;;) {
            if (j >= s_.size()) fail("unterminated string literal " + std::string(s_.substr(b)));
            char ch = s_[j];
            if (triple ? s_.substr(j, 3) == std::string(3, quote) : ch == quote) {
                j += triple ? 3 : 1;
                break;
            }
            if (!triple && (ch == '\n' || ch == '\r'))
                fail("unterminated string literal " + std::string(s_.substr(b, j - b)));
            if (ch != '\\') {
                out += ch;
                ++j;
                continue;
            }
            if (j + 1 >= s_.size()) fail("unterminated string literal " + std::string(s_.substr(b)));
            char e = s_[j + 1];
            if (raw) {
                out += ch;
                out += e;
                j += 2;
                continue;
            }
            j += 2;
            switch (e) {
                case '\n': break;
                case '\\': out += '\\'; break;
                case '\'': out += '\''; break;
                case '"': out += '"'; break;
                case 'a': out += '\a'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'v': out += '\v'; break;
                case 'x':
                case 'u':
                case 'U': {
                    size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    if (bytes && e != 'x') {
                        out += '\\';
                        out += e;
                        break;
                    }
                    if (j + n > s_.size()) fail("truncated \\" + std::string(1, e) + " escape in string literal");
                    uint32_t cp = 0;
                    for (size_t k = 0; k < n; ++k) {
                        char h = s_[j + k];
                        if (!std::isxdigit(static_cast<unsigned char>(h)))
                            fail("truncated \\" + std::string(1, e) + " escape in string literal " +
                                 std::string(s_.substr(b, j + n - b)));
                        cp = cp * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (h | 0x20) - 'a' + 10);
                    }
                    if (cp > 0x10FFFF) fail("illegal Unicode character in string literal");
                    pyfmt::append_utf8(out, static_cast<char32_t>(cp));
                    j += n;
                    break;
                }
                case 'N': fail("\\N{...} escapes are not supported in signature strings");
                default:
                    if (e >= '0' && e <= '7') {
                        uint32_t cp = static_cast<uint32_t>(e - '0');
                        for (int k = 0; k < 2 && j < s_.size() && s_[j] >= '0' && s_[j] <= '7'; ++k, ++j)
                            cp = cp * 8 + static_cast<uint32_t>(s_[j] - '0');
                        pyfmt::append_utf8(out, static_cast<char32_t>(cp));
                    } else {
                        out += '\\';  // Python keeps unknown escapes as they are
                        out += e;
                    }
            }
        }
        i_ = j;
        tok_.t = Token::T::String;
        tok_.end = i_;
        tok_.text = std::string(s_.substr(b, i_ - b));
        tok_.fstring = fstr;  // fine in an (ignored) default, rejected in an annotation
        tok_.ctype = bytes ? Expr::C::Bytes : Expr::C::Str;
        tok_.value = out;
    }
};

class Parser {
public:
    explicit Parser(std::string_view s) : lx_(s) {}

    std::vector<Param> parameters() {
        std::vector<Param> out;
        bool seen_slash = false, seen_star = false, seen_kwargs = false, bare_star = false, named_after_star = false;
        bool seen_default = false;
        size_t positional_count = 0;
        bool first = true;
        while (lx_.peek().t != Token::T::End) {
            if (!first) expect_op(",");
            first = false;
            if (lx_.peek().t == Token::T::End) break;  // a trailing comma is legal
            const Token& t = lx_.peek();
            if (seen_kwargs) syntax_error(t, "parameters cannot follow '**" + kwargs_name_ + "'");
            if (t.t == Token::T::Op && t.text == "/") {
                if (positional_count == 0 || seen_slash || seen_star)
                    syntax_error(t, "'/' must follow at least one parameter and come before '*'");
                lx_.next();
                seen_slash = true;
                out.clear();  // the parameters before `/` are positional-only: not in `args.args`
                continue;
            }
            if (t.t == Token::T::Op && (t.text == "*" || t.text == "**")) {
                bool dbl = t.text == "**";
                Token star = lx_.next();
                if (!dbl && seen_star) syntax_error(star, "'*' may appear only once");
                if (lx_.peek().t == Token::T::Name) {
                    Token name = lx_.next();
                    check_name(name);
                    if (dbl) kwargs_name_ = name.text;
                    if (is_op(":")) {
                        lx_.next();
                        (void)expression();
                    }
                    if (is_op("=")) syntax_error(lx_.peek(), "'" + std::string(star.text) + name.text + "' cannot have a default");
                } else if (dbl) {
                    syntax_error(lx_.peek(), "expected a name after '**'");
                } else {
                    bare_star = true;
                }
                if (dbl)
                    seen_kwargs = true;
                else
                    seen_star = true;
                continue;
            }
            if (t.t != Token::T::Name) syntax_error(t, "expected a field name");
            Token name = lx_.next();
            check_name(name);
            Param p{name.text, std::nullopt};
            if (is_op(":")) {
                lx_.next();
                p.annotation = expression();
            }
            bool has_default = false;
            if (is_op("=")) {
                lx_.next();
                skip_default();
                has_default = true;
            }
            if (seen_star) {
                named_after_star = true;
                continue;  // keyword-only: DSPy reads only `args.args`
            }
            if (has_default)
                seen_default = true;
            else if (seen_default)
                syntax_error(name, "non-default argument follows default argument");
            ++positional_count;
            out.push_back(std::move(p));
        }
        if (bare_star && !named_after_star) fail("invalid syntax: named arguments must follow bare * in '" + src() + "'");
        return out;
    }

    Expr whole_expression() {
        if (lx_.peek().t == Token::T::End) fail("empty type annotation");
        Expr e = expression();
        if (lx_.peek().t != Token::T::End) syntax_error(lx_.peek(), "unexpected text after the type");
        return e;
    }

private:
    Lexer lx_;
    std::string kwargs_name_;

    std::string src() const { return std::string(lx_.source()); }

    [[noreturn]] void syntax_error(const Token& at, const std::string& why) {
        std::string where = at.t == Token::T::End ? "at the end" : "at '" + std::string(lx_.source().substr(at.begin)) + "'";
        fail("invalid syntax in '" + src() + "' " + where + ": " + why);
    }

    bool is_op(std::string_view op) const { return lx_.peek().t == Token::T::Op && lx_.peek().text == op; }
    void expect_op(std::string_view op) {
        if (!is_op(op)) syntax_error(lx_.peek(), "expected '" + std::string(op) + "'");
        lx_.next();
    }

    void check_name(const Token& name) {
        if (is_python_keyword(name.text))
            fail("invalid syntax: '" + name.text + "' is a Python keyword and cannot be a field name (in '" + src() +
                 "')");
    }

    // Defaults are ignored by DSPy but must be a syntactically plausible expression: balanced brackets, at least one
    // token, up to the next top-level comma.
    void skip_default() {
        std::string stack;
        size_t count = 0;
        const Token start = lx_.peek();
        while (true) {
            const Token& t = lx_.peek();
            if (t.t == Token::T::End) break;
            if (t.t == Token::T::Op) {
                if (stack.empty() && t.text == ",") break;
                if (t.text == "(" || t.text == "[" || t.text == "{") {
                    stack += t.text == "(" ? ')' : t.text == "[" ? ']' : '}';
                } else if (t.text == ")" || t.text == "]" || t.text == "}") {
                    if (stack.empty() || stack.back() != t.text[0]) syntax_error(t, "unmatched '" + t.text + "'");
                    stack.pop_back();
                }
            }
            lx_.next();
            ++count;
        }
        if (!stack.empty()) syntax_error(lx_.peek(), "'(' or '[' was never closed");
        if (count == 0) syntax_error(start, "expected a default value after '='");
    }

    Expr make(Expr::K k, size_t b, size_t e) {
        Expr x;
        x.kind = k;
        x.text = std::string(lx_.slice(b, e));
        return x;
    }

    size_t last_end_ = 0;

    Expr expression() {
        size_t b = lx_.peek().begin;
        Expr left = unary();
        while (is_op("|")) {
            lx_.next();
            Expr right = unary();
            Expr o = make(Expr::K::BitOr, b, last_end_);
            o.kids.push_back(std::move(left));
            o.kids.push_back(std::move(right));
            left = std::move(o);
        }
        if (lx_.peek().t == Token::T::Op) {
            const std::string& op = lx_.peek().text;
            if (op != "," && op != "=" && op != ")" && op != "]")
                syntax_error(lx_.peek(), "unsupported operator '" + op + "' in type annotation");
        } else if (lx_.peek().t != Token::T::End) {
            syntax_error(lx_.peek(), "expected ',' or the end of the annotation");
        }
        return left;
    }

    Expr unary() {
        if (is_op("-") || is_op("+") || is_op("~")) {
            size_t b = lx_.peek().begin;
            std::string op = lx_.next().text;
            Expr inner = unary();
            Expr u = make(Expr::K::Unsupported, b, last_end_);
            u.id = op;  // "-", "+" or "~"
            u.kids.push_back(std::move(inner));
            return u;
        }
        return primary();
    }

    Expr primary() {
        size_t b = lx_.peek().begin;
        Expr e = atom();
        for (;;) {
            if (is_op(".")) {
                lx_.next();
                if (lx_.peek().t != Token::T::Name) syntax_error(lx_.peek(), "expected a name after '.'");
                Token n = lx_.next();
                if (is_python_keyword(n.text)) syntax_error(n, "'" + n.text + "' is a Python keyword");
                last_end_ = n.end;
                Expr a = make(Expr::K::Attribute, b, last_end_);
                a.id = n.text;
                a.kids.push_back(std::move(e));
                e = std::move(a);
            } else if (is_op("[")) {
                lx_.next();
                Expr slice = sequence("]");
                Expr s = make(Expr::K::Subscript, b, last_end_);
                s.kids.push_back(std::move(e));
                s.kids.push_back(std::move(slice));
                e = std::move(s);
            } else if (is_op("(")) {
                lx_.next();
                skip_call_args();
                Expr c = make(Expr::K::Unsupported, b, last_end_);
                c.id = "call";
                c.kids.push_back(std::move(e));
                e = std::move(c);
            } else {
                break;
            }
        }
        return e;
    }

    // The inside of `[...]` or `(...)`: one expression, or a Tuple when there is a comma. Consumes the closer.
    Expr sequence(const char* closer) {
        size_t b = lx_.peek().begin;
        std::vector<Expr> items;
        bool comma = false;
        while (!is_op(closer)) {
            if (lx_.peek().t == Token::T::End) syntax_error(lx_.peek(), std::string("expected '") + closer + "'");
            if (is_op(":")) syntax_error(lx_.peek(), "slices are not types");
            items.push_back(expression());
            if (is_op(",")) {
                comma = true;
                lx_.next();
            } else if (!is_op(closer)) {
                syntax_error(lx_.peek(), std::string("expected ',' or '") + closer + "'");
            }
        }
        size_t e = lx_.peek().begin;
        last_end_ = lx_.next().end;
        if (items.empty() && std::string_view(closer) == "]") syntax_error(lx_.peek(), "empty subscript '[]'");
        if (items.size() == 1 && !comma) return std::move(items[0]);
        Expr t = make(Expr::K::Tuple, b, e);
        t.kids = std::move(items);
        return t;
    }

    void skip_call_args() {
        int depth = 1;
        while (depth > 0) {
            const Token& t = lx_.peek();
            if (t.t == Token::T::End) syntax_error(t, "'(' was never closed");
            if (t.t == Token::T::Op && (t.text == "(" || t.text == "[" || t.text == "{")) ++depth;
            if (t.t == Token::T::Op && (t.text == ")" || t.text == "]" || t.text == "}")) --depth;
            last_end_ = lx_.next().end;
        }
    }

    Expr atom() {
        const Token& t = lx_.peek();
        size_t b = t.begin;
        switch (t.t) {
            case Token::T::End: syntax_error(t, "expected a type");
            case Token::T::Name: {
                Token n = lx_.next();
                last_end_ = n.end;
                Expr e = make(Expr::K::Name, b, last_end_);
                if (n.text == "None" || n.text == "True" || n.text == "False") {
                    e.kind = Expr::K::Const;
                    e.ctype = n.text == "None" ? Expr::C::None : Expr::C::Bool;
                    e.value = n.text == "None" ? Json(nullptr) : Json(n.text == "True");
                    return e;
                }
                if (is_python_keyword(n.text)) syntax_error(n, "'" + n.text + "' is a Python keyword");
                e.id = n.text;
                return e;
            }
            case Token::T::Number: {
                Token n = lx_.next();
                last_end_ = n.end;
                Expr e = make(Expr::K::Const, b, last_end_);
                e.ctype = n.ctype;
                e.value = n.value;
                return e;
            }
            case Token::T::String: {
                Token s = lx_.next();
                if (s.fstring) syntax_error(s, "f-strings are not types");
                std::string joined = s.value.get<std::string>();
                Expr::C ct = s.ctype;
                last_end_ = s.end;
                while (lx_.peek().t == Token::T::String) {  // implicit concatenation: 'a' 'b'
                    Token more = lx_.next();
                    if (more.fstring) syntax_error(more, "f-strings are not types");
                    if (more.ctype != ct) syntax_error(more, "cannot mix bytes and nonbytes literals");
                    joined += more.value.get<std::string>();
                    last_end_ = more.end;
                }
                Expr e = make(Expr::K::Const, b, last_end_);
                e.ctype = ct;
                e.value = std::move(joined);
                return e;
            }
            case Token::T::Op: break;
        }
        if (t.text == "...") {
            Token n = lx_.next();
            last_end_ = n.end;
            Expr e = make(Expr::K::Const, b, last_end_);
            e.ctype = Expr::C::Ellipsis;
            return e;
        }
        if (t.text == "(") {
            lx_.next();
            if (is_op(")")) {
                last_end_ = lx_.next().end;
                Expr e = make(Expr::K::Tuple, b, last_end_);
                return e;
            }
            Expr inner = sequence(")");
            if (inner.kind == Expr::K::Tuple) inner.text = std::string(lx_.slice(b, last_end_));
            return inner;
        }
        if (t.text == "[" || t.text == "{") {
            std::string closer = t.text == "[" ? "]" : "}";
            lx_.next();
            int depth = 1;
            while (depth > 0) {
                const Token& k = lx_.peek();
                if (k.t == Token::T::End) syntax_error(k, "'" + t.text + "' was never closed");
                if (k.t == Token::T::Op && (k.text == "(" || k.text == "[" || k.text == "{")) ++depth;
                if (k.t == Token::T::Op && (k.text == ")" || k.text == "]" || k.text == "}")) --depth;
                last_end_ = lx_.next().end;
            }
            Expr e = make(Expr::K::Unsupported, b, last_end_);
            e.id = "display";
            return e;
        }
        syntax_error(t, "expected a type");
    }
};

}  // namespace

bool is_python_keyword(std::string_view name) {
    for (auto k : kKeywords)
        if (k == name) return true;
    return false;
}

std::vector<Param> parse_parameters(std::string_view side) { return Parser(side).parameters(); }

Expr parse_expression(std::string_view text) { return Parser(text).whole_expression(); }

}  // namespace dspy::sig_detail
