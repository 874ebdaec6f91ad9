#include <gtest/gtest.h>

#include "clients/http/transport.hpp"

namespace dspy::http {
namespace {

TEST(ParseUrl, Forms) {
    auto u = parse_url("https://api.openai.com/v1/chat/completions");
    EXPECT_TRUE(u.tls);
    EXPECT_EQ(u.host, "api.openai.com");
    EXPECT_EQ(u.port, 443);
    EXPECT_EQ(u.target, "/v1/chat/completions");
    EXPECT_EQ(u.host_header, "api.openai.com");

    u = parse_url("http://127.0.0.1:8080");
    EXPECT_FALSE(u.tls);
    EXPECT_EQ(u.port, 8080);
    EXPECT_EQ(u.target, "/");
    EXPECT_EQ(u.host_header, "127.0.0.1:8080");

    u = parse_url("HTTP://[::1]:9000/x?y=1#frag");
    EXPECT_EQ(u.host, "::1");
    EXPECT_EQ(u.target, "/x?y=1");
    EXPECT_EQ(u.host_header, "[::1]:9000");

    u = parse_url("http://localhost?q");
    EXPECT_EQ(u.target, "/?q");
    EXPECT_EQ(u.port, 80);
}

TEST(ParseUrl, Errors) {
    for (const char* bad : {"", "api.openai.com/v1", "ftp://x/", "http://", "http://:80/", "http://h:0/",
                            "http://h:70000/", "http://h:8a/", "http://[::1/", "http://u:p@h/"})
        EXPECT_THROW(parse_url(bad), ValueError) << bad;
    try {
        parse_url("http://h:70000/");
    } catch (const ValueError& e) {
        EXPECT_NE(std::string(e.what()).find("http://h:70000/"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("port"), std::string::npos);
    }
}

TEST(FindHeader, CaseInsensitive) {
    Headers h{{"Content-Type", "a"}, {"retry-after", "2"}};
    ASSERT_NE(find_header(h, "content-type"), nullptr);
    EXPECT_EQ(*find_header(h, "RETRY-AFTER"), "2");
    EXPECT_EQ(find_header(h, "x"), nullptr);
}

}  // namespace
}  // namespace dspy::http
