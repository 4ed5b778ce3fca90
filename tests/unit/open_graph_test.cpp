// Link previews, the pure part: links in message text, Open Graph tags in hostile HTML,
// reference resolution and character references (common/open_graph.h).
#define BOOST_TEST_MODULE open_graph
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "common/open_graph.h"
#include "common/utf8.h"

using namespace streambed;
using Links = std::vector<std::string>;

BOOST_AUTO_TEST_CASE(finds_links_in_text) {
    BOOST_TEST(FindLinks("see https://a.example/x and http://b.example", 10) ==
               (Links{"https://a.example/x", "http://b.example"}));
    BOOST_TEST(FindLinks("HTTPS://A.example/Path?q=1#f", 10) == (Links{"HTTPS://A.example/Path?q=1#f"}));
    BOOST_TEST(FindLinks("www.example.com/page", 10) == (Links{"https://www.example.com/page"}));
    BOOST_TEST(FindLinks("https://a.example/x.", 10) == (Links{"https://a.example/x"}));
    BOOST_TEST(FindLinks("is it https://a.example/x?!", 10) == (Links{"https://a.example/x"}));
    BOOST_TEST(FindLinks("'https://a.example/x', then", 10) == (Links{"https://a.example/x"}));
    BOOST_TEST(FindLinks("(see https://a.example/x)", 10) == (Links{"https://a.example/x"}));
    BOOST_TEST(FindLinks("https://en.wikipedia.org/wiki/Foo_(bar)", 10) ==
               (Links{"https://en.wikipedia.org/wiki/Foo_(bar)"}));
    BOOST_TEST(FindLinks("[https://a.example/x]", 10) == (Links{"https://a.example/x"}));
    BOOST_TEST(FindLinks("<https://a.example/x>", 10) == (Links{"https://a.example/x"}));
    BOOST_TEST(FindLinks("\"https://a.example/x\"", 10) == (Links{"https://a.example/x"}));
    BOOST_TEST(FindLinks("https://a.example/caf\xc3\xa9", 10) == (Links{"https://a.example/caf"}));
    BOOST_TEST(FindLinks("*https://a.example/x_*", 10) == (Links{"https://a.example/x"}));
    BOOST_TEST(FindLinks("https://a.example/notes[1] and https://a.example/y]", 10) ==
               (Links{"https://a.example/notes[1]", "https://a.example/y"}));
    BOOST_TEST(FindLinks("(https://a.example/Foo_(bar))", 10) == (Links{"https://a.example/Foo_(bar)"}));
    BOOST_TEST(FindLinks("go to www.example.com.", 10) == (Links{"https://www.example.com"}));
    BOOST_TEST(FindLinks("the end.https://a.example/x", 10) == (Links{"https://a.example/x"}));
    BOOST_TEST(FindLinks("tab\thttps://a.example/x\x01y", 10) == (Links{"https://a.example/x"}));
    BOOST_TEST(FindLinks("https://a.example/a`b", 10) == (Links{"https://a.example/a"}));
}

BOOST_AUTO_TEST_CASE(what_is_not_a_link) {
    BOOST_TEST(FindLinks("https:// alone", 10).empty());
    BOOST_TEST(FindLinks("https://", 10).empty());
    BOOST_TEST(FindLinks("https:///path http://?q", 10).empty());
    BOOST_TEST(FindLinks("xhttps://a.example", 10).empty());
    BOOST_TEST(FindLinks("7http://a.example", 10).empty());
    BOOST_TEST(FindLinks("/https://a.example", 10).empty());
    BOOST_TEST(FindLinks("ftp://a.example mailto:x@a.example", 10).empty());
    BOOST_TEST(FindLinks("www.", 10).empty());
    BOOST_TEST(FindLinks("", 10).empty());
    BOOST_TEST(FindLinks("https://a.example/" + std::string(3000, 'a'), 10).empty());
    BOOST_TEST(FindLinks("https://a.example/" + std::string(2000, 'a') + " http://b.example", 10) ==
               (Links{"https://a.example/" + std::string(2000, 'a'), "http://b.example"}));
    BOOST_TEST(FindLinks("https://a.example/" + std::string(3000, 'a') + " http://b.example", 10) ==
               (Links{"http://b.example"}));
    BOOST_TEST(FindLinks("x.www.example.com a@www.example.com", 10).empty());
}

BOOST_AUTO_TEST_CASE(hostile_text_ends_quickly) {
    auto started = std::chrono::steady_clock::now();
    BOOST_TEST(FindLinks("http://a.example/" + std::string(200000, ')'), 10) == (Links{"http://a.example/"}));
    BOOST_TEST(FindLinks("http://a.example/" + std::string(200000, '('), 10).empty());  // too long
    BOOST_TEST(FindLinks(std::string(200000, 'h'), 10).empty());
    std::string many;
    for (int i = 0; i < 20000; ++i) many += "https:// ";
    BOOST_TEST(FindLinks(many, 10).empty());
    BOOST_TEST(DecodeHtmlEntities(std::string(500000, '&')).size() == 500000u);
    auto took = std::chrono::steady_clock::now() - started;
    BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(took).count() < 2000);
}

BOOST_AUTO_TEST_CASE(finds_at_most_max_links) {
    BOOST_TEST(FindLinks("http://a.example http://b.example http://c.example", 2) ==
               (Links{"http://a.example", "http://b.example"}));
    BOOST_TEST(FindLinks("http://a.example", 0).empty());
}

BOOST_AUTO_TEST_CASE(reads_open_graph_tags) {
    const std::string page = R"(<!doctype html><html><head>
<title>Fallback</title>
<meta property="og:title" content="Rivers &amp; Streams">
<meta content='All about water.' property='og:description'>
<META PROPERTY=og:site_name CONTENT=Hydro>
<meta property="og:type" content="article" />
<meta property="og:url" content="https://hydro.example/rivers">
<meta property="og:image" content="/pics/river.jpg">
<meta property="og:image" content="/pics/second.jpg">
<meta property="og:video:secure_url" content="https://cdn.example/v.mp4">
<meta property="og:audio" content="sound.mp3">
</head><body><meta property="og:title" content="in the body"></body></html>)";
    OpenGraph og = ParseOpenGraph(page, "https://hydro.example/a/b/page.html");
    BOOST_TEST(og.title == "Rivers & Streams");
    BOOST_TEST(og.description == "All about water.");
    BOOST_TEST(og.site_name == "Hydro");
    BOOST_TEST(og.type == "article");
    BOOST_TEST(og.url == "https://hydro.example/rivers");
    BOOST_TEST(og.image == "https://hydro.example/pics/river.jpg");
    BOOST_TEST(og.video == "https://cdn.example/v.mp4");
    BOOST_TEST(og.audio == "https://hydro.example/a/b/sound.mp3");
    BOOST_TEST(!og.empty());
}

BOOST_AUTO_TEST_CASE(falls_back_to_twitter_then_title_and_description) {
    OpenGraph og = ParseOpenGraph(
        "<head><title>\n  Just a\t title </title><meta name=\"description\" content=\"plain\">"
        "<meta name=\"twitter:image\" content=\"https://img.example/t.png\"></head>",
        "http://x.example/");
    BOOST_TEST(og.title == "Just a title");
    BOOST_TEST(og.description == "plain");
    BOOST_TEST(og.image == "https://img.example/t.png");
    og = ParseOpenGraph(
        "<head><title>html</title><meta name=\"twitter:title\" content=\"tw\">"
        "<meta name=\"twitter:description\" content=\"tw desc\"><meta name=\"description\" content=\"meta\"></head>",
        "http://x.example/");
    BOOST_TEST(og.title == "tw");
    BOOST_TEST(og.description == "tw desc");
    BOOST_TEST(ParseOpenGraph("<html><head></head><body>text</body></html>", "http://x.example/").empty());
}

BOOST_AUTO_TEST_CASE(property_and_name_both_count) {
    OpenGraph og = ParseOpenGraph(
        "<meta property=\"fb:app_id\" name=\"description\" content=\"by name\">"
        "<meta name=\"og:title\" content=\"og by name\">"
        "<meta property=\" OG:Image \" content=\"//cdn.example/i.png\">",
        "https://x.example/");
    BOOST_TEST(og.description == "by name");
    BOOST_TEST(og.title == "og by name");
    BOOST_TEST(og.image == "https://cdn.example/i.png");
    og = ParseOpenGraph("<meta property=og:title><meta property=og:title content=''><meta content=x property=og:title>",
                        "https://x.example/");
    BOOST_TEST(og.title == "x");  // no content, or an empty one, does not claim the property
}

BOOST_AUTO_TEST_CASE(tags_in_scripts_styles_and_comments_do_not_count) {
    OpenGraph og = ParseOpenGraph(
        "<head><script>var s = '<meta property=\"og:title\" content=\"script\">';</script>"
        "<style>/* <meta property=\"og:title\" content=\"style\"> */</style>"
        "<!-- <meta property=\"og:title\" content=\"comment\"> -->"
        "<meta property=\"og:title\" content=\"real\"></head>",
        "http://x.example/");
    BOOST_TEST(og.title == "real");
    og = ParseOpenGraph(
        "<SCRIPT type=x>a = '</scripts><meta property=\"og:title\" content=\"script\">';</Script >"
        "<!--><meta property=\"og:description\" content=\"after an empty comment\">",
        "http://x.example/");
    BOOST_TEST(og.title.empty());
    BOOST_TEST(og.description == "after an empty comment");
}

BOOST_AUTO_TEST_CASE(a_quoted_greater_than_does_not_end_the_tag) {
    OpenGraph og = ParseOpenGraph("<meta property=\"og:title\" content=\"a > b\"><meta name=x content=\"y\">",
                                  "http://x.example/");
    BOOST_TEST(og.title == "a > b");
}

BOOST_AUTO_TEST_CASE(links_that_are_not_http_are_dropped) {
    OpenGraph og = ParseOpenGraph(
        "<meta property=\"og:image\" content=\"javascript:alert(1)\">"
        "<meta property=\"og:video\" content=\"data:video/mp4;base64,AAAA\">"
        "<meta property=\"og:url\" content=\"mailto:a@b.example\">",
        "https://x.example/");
    BOOST_TEST(og.image.empty());
    BOOST_TEST(og.video.empty());
    BOOST_TEST(og.url.empty());
    og = ParseOpenGraph("<meta property=\"og:image\" content=\"https://x.example/" + std::string(2100, 'a') + "\">",
                        "https://x.example/");
    BOOST_TEST(og.image.empty());
}

BOOST_AUTO_TEST_CASE(fields_are_capped_at_a_character_boundary_and_valid_utf8) {
    std::string long_title;
    for (int i = 0; i < 200; ++i) long_title += "\xc3\xa9";  // é, 2 bytes each: 400 bytes
    OpenGraph og = ParseOpenGraph("<meta property=\"og:title\" content=\"" + long_title + "\">", "http://x.example/");
    BOOST_TEST(og.title.size() == 256u);
    BOOST_TEST(IsValidUtf8(og.title));
    og = ParseOpenGraph("<meta property=\"og:title\" content=\"bad \xff\xfe bytes\">", "http://x.example/");
    BOOST_TEST(og.title == "bad \xef\xbf\xbd\xef\xbf\xbd bytes");
    og = ParseOpenGraph("<meta property=og:title content=\"a\x01" + std::string(1, '\0') + "b &#10; &nbsp;c\">",
                        "http://x.example/");
    BOOST_TEST(og.title == "a b c");  // control characters and entity spaces collapse like spaces
    og = ParseOpenGraph("<meta property=og:description content=\"" + std::string(1023, 'x') + "&#32;&amp;\">",
                        "http://x.example/");
    BOOST_TEST(og.description == std::string(1023, 'x'));  // cut after decoding, then trimmed
    og = ParseOpenGraph("<meta property=og:site_name content=\"" + std::string(127, 'x') + "\xe2\x82\xac\">",
                        "http://x.example/");
    BOOST_TEST(og.site_name == std::string(127, 'x'));  // a 3-byte character that does not fit is left out
}

BOOST_AUTO_TEST_CASE(stops_at_the_end_of_the_head_and_at_the_limit) {
    std::string page = "<head><meta property=\"og:title\" content=\"first\">" + std::string(1000, ' ') +
                       "<meta property=\"og:description\" content=\"late\"></head>";
    BOOST_TEST(ParseOpenGraph(page, "http://x.example/", 1000).description.empty());
    BOOST_TEST(ParseOpenGraph(page, "http://x.example/", 1000).title == "first");
    BOOST_TEST(ParseOpenGraph(page, "http://x.example/").description == "late");
    BOOST_TEST(
        ParseOpenGraph("<head></head><meta property=\"og:title\" content=\"after\">", "http://x.example/").empty());
}

BOOST_AUTO_TEST_CASE(hostile_html_ends_quickly) {
    auto started = std::chrono::steady_clock::now();
    const std::vector<std::string> pages = {
        std::string(100000, '<'),
        std::string(50000, '<') + std::string(50000, '>'),
        "<meta content=\"" + std::string(100000, 'a'),
        "<!--" + std::string(100000, '-'),
        "<title>" + std::string(100000, '<'),
        "<script>" + std::string(100000, 'x'),
        std::string(30000, '&') + std::string(30000, ';'),
        "<meta property=og:description content=\"" + std::string(400000, '&') + "\">",
        "<style>" + std::string(100000, '<') + "</styl",
        [] {
            std::string s = "<script>";
            for (int i = 0; i < 20000; ++i) s += "</scriptx";
            return s;
        }(),
        [] {
            std::string s;
            for (int i = 0; i < 20000; ++i) s += "<meta a=\"'";
            return s;
        }(),
        [] {
            std::string s;
            for (int i = 0; i < 20000; ++i) s += "<m = '>";
            return s;
        }(),
    };
    for (const auto& page : pages) {
        OpenGraph og = ParseOpenGraph(page, "http://x.example/");
        BOOST_TEST(og.title.empty());
    }
    auto took = std::chrono::steady_clock::now() - started;
    // Linear scans take milliseconds here; a quadratic one takes seconds.
    BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(took).count() < 2000);
}

BOOST_AUTO_TEST_CASE(an_unfinished_page_keeps_what_came_before) {
    const std::string head = "<head><meta property=og:title content=ok>";
    const std::vector<std::string> tails = {
        "<meta property=og:description content='never ends",
        "<meta property=og:description content=\"never ends",
        "<meta property=og:description",
        "<meta",
        "<",
        "<!-- <meta property=og:description content=x>",
        "<title>never ends",
        "<script><meta property=og:description content=x>",
    };
    for (const auto& tail : tails) {
        OpenGraph og = ParseOpenGraph(head + tail, "http://x.example/");
        BOOST_TEST(og.title == "ok");
        BOOST_TEST(og.description.empty());
    }
}

BOOST_AUTO_TEST_CASE(resolves_references) {
    const std::string base = "https://a.example/dir/page.html?q=1#f";
    BOOST_TEST(ResolveLink(base, "https://b.example/x") == "https://b.example/x");
    BOOST_TEST(ResolveLink(base, "HTTP://b.example") == "HTTP://b.example");
    BOOST_TEST(ResolveLink(base, "//cdn.example/i.png") == "https://cdn.example/i.png");
    BOOST_TEST(ResolveLink(base, "/root.png") == "https://a.example/root.png");
    BOOST_TEST(ResolveLink(base, "rel.png") == "https://a.example/dir/rel.png");
    BOOST_TEST(ResolveLink(base, "?other") == "https://a.example/dir/page.html?other");
    BOOST_TEST(ResolveLink(base, "#frag") == "https://a.example/dir/page.html?q=1#frag");
    BOOST_TEST(ResolveLink("https://a.example", "x.png") == "https://a.example/x.png");
    BOOST_TEST(ResolveLink(base, "  spaced.png ") == "https://a.example/dir/spaced.png");
    BOOST_TEST(ResolveLink(base, "javascript:alert(1)") == "");
    BOOST_TEST(ResolveLink(base, "data:image/png;base64,AA") == "");
    BOOST_TEST(ResolveLink(base, "https:") == "");
    BOOST_TEST(ResolveLink("ftp://a.example/", "x.png") == "");
    BOOST_TEST(ResolveLink(base, "a:b/c") == "");
    BOOST_TEST(ResolveLink(base, "path/with:colon") == "https://a.example/dir/path/with:colon");
    BOOST_TEST(ResolveLink(base, "") == "https://a.example/dir/page.html?q=1");
    BOOST_TEST(ResolveLink(base, "https:///x") == "");
    BOOST_TEST(ResolveLink(base, "///x") == "");
    BOOST_TEST(ResolveLink("http://a.example?x=1", "y") == "http://a.example/y");
    BOOST_TEST(ResolveLink("http://a.example/d/", "?y") == "http://a.example/d/?y");
    BOOST_TEST(ResolveLink("http://a.example", "?y") == "http://a.example/?y");
    BOOST_TEST(ResolveLink("not a url", "x.png") == "");
    BOOST_TEST(ResolveLink("", "https://b.example/x") == "https://b.example/x");
}

BOOST_AUTO_TEST_CASE(decodes_character_references) {
    BOOST_TEST(DecodeHtmlEntities("a &amp; b &lt;c&gt; &quot;d&quot; &#39;e&apos;") == "a & b <c> \"d\" 'e'");
    BOOST_TEST(DecodeHtmlEntities("&#233;&#xE9;&#XE9;") == "\xc3\xa9\xc3\xa9\xc3\xa9");
    BOOST_TEST(DecodeHtmlEntities("&#x1F600;") == "\xf0\x9f\x98\x80");
    BOOST_TEST(DecodeHtmlEntities("&mdash;&hellip;&nbsp;") == "\xe2\x80\x94\xe2\x80\xa6 ");
    BOOST_TEST(DecodeHtmlEntities("&#0;&#xD800;&#x110000;") == "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    BOOST_TEST(DecodeHtmlEntities("&unknown; &amp &#12a; &") == "&unknown; &amp &#12a; &");
    BOOST_TEST(DecodeHtmlEntities("&#99999999999;") == "&#99999999999;");
    BOOST_TEST(DecodeHtmlEntities("&#65;&#x10FFFF;&#x41") == "A\xf4\x8f\xbf\xbf&#x41");
    BOOST_TEST(DecodeHtmlEntities("&copy;&reg;&trade;&ndash;&lsquo;&rsquo;&ldquo;&rdquo;") ==
               "\xc2\xa9\xc2\xae\xe2\x84\xa2\xe2\x80\x93\xe2\x80\x98\xe2\x80\x99\xe2\x80\x9c\xe2\x80\x9d");
    BOOST_TEST(DecodeHtmlEntities("&AMP; &#x; &#; &amp;amp;") == "&AMP; &#x; &#; &amp;");
}
