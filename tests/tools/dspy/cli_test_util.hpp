#pragma once
// Shared by the dspy command's tests: temporary directories and program files.

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "dspy/json.hpp"

namespace dspy::test {

/// A fresh directory under /tmp, removed with everything in it when destroyed.
class TempDir {
public:
    TempDir() {
        static std::atomic<int> counter{0};
        path_ = std::filesystem::temp_directory_path() /
                ("dspy_cli_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    [[nodiscard]] std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

inline void write_file(const std::filesystem::path& p, const std::string& text) {
    std::ofstream(p, std::ios::binary) << text;
}

inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// The JSON objects of a JSONL file (a torn last line is skipped).
inline std::vector<Json> read_jsonl(const std::filesystem::path& p) {
    std::vector<Json> out;
    std::ifstream in(p, std::ios::binary);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty() && !in.eof()) out.push_back(Json::parse(line));
    return out;
}

/// `n` question rows `{"id": i, "question": "Question number i?"}`.
inline std::string question_rows(int n) {
    std::string s;
    for (int i = 1; i <= n; ++i)
        s += Json{{"id", i}, {"question", "Question number " + std::to_string(i) + "?"}}.dump() + "\n";
    return s;
}

}  // namespace dspy::test
