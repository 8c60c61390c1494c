#include "xml.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>

#include "cardiotwin/core/error.hpp"

namespace cardiotwin::io::xml {
namespace {

constexpr bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool all_space(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(), [](char c) { return is_space(c); });
}

bool is_name_start(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':' || u >= 0x80;
}
bool is_name_char(char c) noexcept {
  return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

// Printable form of the character at `pos` for messages.
std::string describe_at(std::string_view text, std::size_t pos) {
  if (pos >= text.size()) return "end of input";
  const auto u = static_cast<unsigned char>(text[pos]);
  if (u >= 0x21 && u < 0x7f) return std::string("'") + text[pos] + "'";
  static const char* hex = "0123456789abcdef";
  return std::string("byte 0x") + hex[u >> 4] + hex[u & 15];
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

}  // namespace

const std::string* Element::attribute(std::string_view attr_name) const noexcept {
  for (const auto& a : attributes)
    if (a.name == attr_name) return &a.value;
  return nullptr;
}

std::vector<const Element*> Document::children(const Element& parent, std::string_view name) const {
  std::vector<const Element*> out;
  for (std::size_t c : parent.children)
    if (elements_[c].name == name) out.push_back(&elements_[c]);
  return out;
}

const Element* Document::first_child(const Element& parent, std::string_view name) const {
  for (std::size_t c : parent.children)
    if (elements_[c].name == name) return &elements_[c];
  return nullptr;
}

std::size_t Document::line_of(const Element& element) const { return line_at(text_, element.offset); }

std::size_t line_at(std::string_view text, std::size_t offset) noexcept {
  offset = std::min(offset, text.size());
  return 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

// The tokenizer: one pass over the text with an explicit stack of open elements.
class Parser {
 public:
  Parser(std::string_view text, const std::string& source, const ParseOptions& options)
      : text_(text), source_(source), options_(options) {}

  Document run() {
    Document doc;
    doc.text_ = text_;
    elements_ = &doc.elements_;
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;  // UTF-8 byte order mark
    while (pos_ < text_.size()) {
      if (text_[pos_] != '<') {
        text_segment();
      } else if (starts("<!--")) {
        skip_past("-->", pos_ + 4, "unterminated comment");
      } else if (starts("<![CDATA[")) {
        const std::size_t begin = pos_ + 9;
        const std::size_t end = text_.find("]]>", begin);
        fail_if(end == std::string_view::npos, pos_, "unterminated CDATA section", "']]>'", "end of input");
        fail_if(stack_.empty(), pos_, "CDATA section outside the root element", "an element", "CDATA");
        add_text(elements_->at(stack_.back()), text_.substr(begin, end - begin), false);
        pos_ = end + 3;
      } else if (starts("<!")) {
        fail_if(!elements_->empty(), pos_, "misplaced declaration", "a declaration before the root element",
                "'<!' inside or after it");
        doctype();
      } else if (starts("<?")) {
        skip_past("?>", pos_ + 2, "unterminated processing instruction");
      } else if (starts("</")) {
        end_tag();
      } else {
        start_tag();
      }
    }
    if (!stack_.empty()) {
      const Element& open = elements_->at(stack_.back());
      fail(text_.size(), "truncated XML: element not closed", "'</" + open.name + ">' (opened on line " +
           std::to_string(line_at(text_, open.offset)) + ")", "end of input");
    }
    fail_if(elements_->empty(), text_.size(), "no XML root element", "an element", "none");
    return doc;
  }

 private:
  [[noreturn]] void fail(std::size_t at, const std::string& what, const std::string& expected,
                         const std::string& found) const {
    throw FileFormatError("malformed XML: " + what, expected, found,
                          Where(source_, "XML line " + std::to_string(line_at(text_, at))), __FILE__, __LINE__);
  }
  void fail_if(bool bad, std::size_t at, const std::string& what, const std::string& expected,
               const std::string& found) const {
    if (bad) fail(at, what, expected, found);
  }

  bool starts(std::string_view s) const noexcept { return text_.substr(pos_, s.size()) == s; }

  void skip_space() noexcept {
    while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
  }

  void skip_past(std::string_view terminator, std::size_t from, const char* what) {
    const std::size_t end = text_.find(terminator, from);
    fail_if(end == std::string_view::npos, pos_, what, "'" + std::string(terminator) + "'", "end of input");
    pos_ = end + terminator.size();
  }

  void doctype() {
    // <!DOCTYPE name [internal subset]> : skipped; the subset may not contain '>' inside '[...]'
    // for us to find its end, which holds for every DOCTYPE a VTK file could carry.
    std::size_t p = text_.find_first_of("[>", pos_ + 2);
    fail_if(p == std::string_view::npos, pos_, "unterminated declaration", "'>'", "end of input");
    if (text_[p] == '[') {
      p = text_.find(']', p);
      fail_if(p == std::string_view::npos, pos_, "unterminated DOCTYPE", "']'", "end of input");
      p = text_.find('>', p);
      fail_if(p == std::string_view::npos, pos_, "unterminated DOCTYPE", "'>'", "end of input");
    }
    pos_ = p + 1;
  }

  std::string name() {
    const std::size_t begin = pos_;
    fail_if(pos_ >= text_.size() || !is_name_start(text_[pos_]), pos_, "bad name", "a letter, '_' or ':'",
            describe_at(text_, pos_));
    while (pos_ < text_.size() && is_name_char(text_[pos_])) ++pos_;
    return std::string(text_.substr(begin, pos_ - begin));
  }

  // Decode entities of `raw` (which starts at byte `at` of the text) into `out`.
  void decode(std::string_view raw, std::size_t at, std::string& out) const {
    std::size_t i = 0;
    while (i < raw.size()) {
      const std::size_t amp = raw.find('&', i);
      if (amp == std::string_view::npos) {
        out.append(raw.substr(i));
        break;
      }
      out.append(raw.substr(i, amp - i));
      const std::size_t semi = raw.find(';', amp);
      fail_if(semi == std::string_view::npos || semi - amp > 12, at + amp, "bad entity reference",
              "'&name;'", "'&' without ';'");
      const std::string_view ent = raw.substr(amp + 1, semi - amp - 1);
      if (ent == "lt") out += '<';
      else if (ent == "gt") out += '>';
      else if (ent == "amp") out += '&';
      else if (ent == "quot") out += '"';
      else if (ent == "apos") out += '\'';
      else if (ent.size() >= 2 && ent[0] == '#') {
        const bool hex = ent[1] == 'x' || ent[1] == 'X';
        const std::string_view digits = ent.substr(hex ? 2 : 1);
        std::uint32_t cp = 0;
        const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
        const bool ok = !digits.empty() && r.ec == std::errc() && r.ptr == digits.data() + digits.size() &&
                        cp > 0 && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
        fail_if(!ok, at + amp, "bad character reference", "a valid code point",
                "'&" + std::string(ent) + ";'");
        append_utf8(out, cp);
      } else {
        fail(at + amp, "unknown entity", "one of &lt; &gt; &amp; &quot; &apos; &#N;",
             "'&" + std::string(ent) + ";'");
      }
      i = semi + 1;
    }
  }

  void add_text(Element& e, std::string_view segment, bool decode_entities) {
    const std::size_t at = static_cast<std::size_t>(segment.data() - text_.data());
    const bool needs_copy = decode_entities && segment.find('&') != std::string_view::npos;
    if (!e.text_owned_ && e.raw_text_.empty() && !needs_copy) {
      e.raw_text_ = segment;
      return;
    }
    if (!e.text_owned_) {
      e.owned_text_.assign(e.raw_text_);
      e.raw_text_ = {};
      e.text_owned_ = true;
    }
    if (needs_copy)
      decode(segment, at, e.owned_text_);
    else
      e.owned_text_.append(segment);
  }

  void text_segment() {
    std::size_t end = text_.find('<', pos_);
    if (end == std::string_view::npos) end = text_.size();
    const std::string_view segment = text_.substr(pos_, end - pos_);
    if (!all_space(segment)) {
      fail_if(stack_.empty(), pos_, elements_->empty() ? "text before the root element" : "text after the root element",
              "only whitespace, comments or declarations",
              describe_at(text_, pos_ + static_cast<std::size_t>(std::find_if(segment.begin(), segment.end(), [](char c) {
                                                                   return !is_space(c);
                                                                 }) - segment.begin())));
      add_text(elements_->at(stack_.back()), segment, true);
    }
    pos_ = end;
  }

  void end_tag() {
    const std::size_t at = pos_;
    pos_ += 2;
    const std::string n = name();
    skip_space();
    fail_if(pos_ >= text_.size() || text_[pos_] != '>', pos_, "bad closing tag", "'>'", describe_at(text_, pos_));
    ++pos_;
    fail_if(stack_.empty(), at, "closing tag without matching start tag", "no closing tag", "'</" + n + ">'");
    const Element& open = elements_->at(stack_.back());
    fail_if(open.name != n, at, "mismatched closing tag", "'</" + open.name + ">'", "'</" + n + ">'");
    stack_.pop_back();
  }

  // Sorting keeps this linearithmic for elements with absurdly many attributes.
  void check_unique_attributes(const Element& e, std::size_t at) const {
    std::vector<std::string_view> names;
    names.reserve(e.attributes.size());
    for (const auto& a : e.attributes) names.push_back(a.name);
    std::sort(names.begin(), names.end());
    const auto dup = std::adjacent_find(names.begin(), names.end());
    fail_if(dup != names.end(), at, "duplicate attribute", "each attribute once",
            dup != names.end() ? "'" + std::string(*dup) + "' twice in <" + e.name + ">" : std::string());
  }

  void start_tag() {
    const std::size_t at = pos_;
    fail_if(stack_.empty() && !elements_->empty(), at, "more than one root element", "end of document",
            "another element");
    fail_if(stack_.size() >= options_.max_depth, at, "elements nested too deeply",
            "at most " + std::to_string(options_.max_depth) + " levels", "more");
    ++pos_;
    Element e;
    e.name = name();
    e.offset = at;
    bool self_closing = false;
    for (;;) {
      const std::size_t before = pos_;
      skip_space();
      fail_if(pos_ >= text_.size(), at, "truncated tag", "'>' closing <" + e.name + ">", "end of input");
      if (text_[pos_] == '>') {
        ++pos_;
        break;
      }
      if (starts("/>")) {
        pos_ += 2;
        self_closing = true;
        break;
      }
      fail_if(pos_ == before, pos_, "bad tag", "whitespace before an attribute", describe_at(text_, pos_));
      Attribute a;
      a.name = name();
      skip_space();
      fail_if(pos_ >= text_.size() || text_[pos_] != '=', pos_, "bad attribute", "'=' after '" + a.name + "'",
              describe_at(text_, pos_));
      ++pos_;
      skip_space();
      fail_if(pos_ >= text_.size() || (text_[pos_] != '"' && text_[pos_] != '\''), pos_, "bad attribute",
              "a quoted value for '" + a.name + "'", describe_at(text_, pos_));
      const char quote = text_[pos_++];
      const std::size_t end = text_.find(quote, pos_);
      fail_if(end == std::string_view::npos, at, "unterminated attribute value",
              std::string("closing ") + quote + " of '" + a.name + "'", "end of input");
      const std::string_view raw = text_.substr(pos_, end - pos_);
      fail_if(raw.find('<') != std::string_view::npos, pos_, "bad attribute value",
              "no '<' in the value of '" + a.name + "'", "'<'");
      decode(raw, pos_, a.value);
      pos_ = end + 1;
      e.attributes.push_back(std::move(a));
    }
    check_unique_attributes(e, at);
    const std::size_t index = elements_->size();
    if (!stack_.empty()) {
      e.parent = stack_.back();
      elements_->at(stack_.back()).children.push_back(index);
    }
    const bool opaque = !self_closing && std::find(options_.opaque_elements.begin(), options_.opaque_elements.end(),
                                                   e.name) != options_.opaque_elements.end();
    const std::string close = "</" + e.name;
    elements_->push_back(std::move(e));
    if (self_closing) return;
    stack_.push_back(index);
    if (opaque) {
      const std::size_t end = text_.rfind(close);
      fail_if(end == std::string_view::npos || end < pos_, at, "element not closed", "'" + close + ">'",
              "end of input");
      elements_->back().raw_text_ = text_.substr(pos_, end - pos_);
      pos_ = end;  // the closing tag is parsed as usual
    }
  }

  std::string_view text_;
  const std::string& source_;
  const ParseOptions& options_;
  std::size_t pos_ = 0;
  std::vector<Element>* elements_ = nullptr;
  std::vector<std::size_t> stack_;
};

Document parse(std::string_view text, const std::string& source, const ParseOptions& options) {
  return Parser(text, source, options).run();
}

}  // namespace cardiotwin::io::xml
