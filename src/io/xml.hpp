// Internal: a minimal XML reader for the file formats cardiotwin parses (VTK XML, .pvd).
//
// Not a general XML library: it builds a flat element tree (elements, attributes, text) from a
// document held in memory, without recursion and with a bounded nesting depth, so that it can be
// fed arbitrary bytes. Supported: the XML declaration and other processing instructions (skipped),
// comments, a DOCTYPE without internal subset (skipped), elements, attributes in single or double
// quotes, self-closing tags, text, CDATA sections, the five predefined entities and numeric
// character references. Namespaces, external entities and DTD validation are not supported.
//
// Every malformed input raises `FileFormatError` naming the source and the line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace cardiotwin::io::xml {

/// One `name="value"` pair; `value` has entities decoded.
struct Attribute {
  std::string name;
  std::string value;
};

/// One element. Children are indices into `Document::elements()`, in document order.
struct Element {
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  std::string name;
  std::vector<Attribute> attributes;
  std::vector<std::size_t> children;
  std::size_t parent = npos;
  std::size_t offset = 0;  ///< byte offset of the start tag's '<' in the document

  /// The element's own text: its text segments that are not only whitespace, concatenated,
  /// with entities decoded (whitespace-only segments between child elements are dropped).
  /// For an opaque element (see `ParseOptions`) the raw bytes of its content.
  std::string_view text() const noexcept {
    return text_owned_ ? std::string_view(owned_text_) : raw_text_;
  }
  /// The attribute's value, or null if absent.
  const std::string* attribute(std::string_view attr_name) const noexcept;

 private:
  friend class Parser;
  std::string_view raw_text_;  // view into the document when no copy was needed
  std::string owned_text_;     // used when segments were joined or entities decoded
  bool text_owned_ = false;
};

/// A parsed document. It refers to the parsed text (element text is often a view into it), which
/// must outlive the document.
class Document {
 public:
  const std::vector<Element>& elements() const noexcept { return elements_; }
  const Element& root() const { return elements_.front(); }
  const Element& at(std::size_t index) const { return elements_.at(index); }
  /// Child elements of `parent` called `name`, in document order.
  std::vector<const Element*> children(const Element& parent, std::string_view name) const;
  /// The first child element of `parent` called `name`, or null.
  const Element* first_child(const Element& parent, std::string_view name) const;
  /// 1-based line number of the element's start tag (for messages).
  std::size_t line_of(const Element& element) const;

 private:
  friend class Parser;
  std::string_view text_;
  std::vector<Element> elements_;
};

/// Options of `parse`.
struct ParseOptions {
  /// Elements whose content is not XML (VTK's raw `AppendedData`): their content runs from the end
  /// of the start tag to the last `</name` in the document and is kept verbatim as their text.
  std::vector<std::string> opaque_elements;
  /// Deepest allowed element nesting.
  std::size_t max_depth = 64;
};

/// Parse `text`. `source` names the data in error messages.
Document parse(std::string_view text, const std::string& source, const ParseOptions& options = {});

/// `text` with `& < > " '` replaced by entities, for attribute values and text.
std::string escape(std::string_view text);

/// 1-based line number of byte `offset` in `text`.
std::size_t line_at(std::string_view text, std::size_t offset) noexcept;

}  // namespace cardiotwin::io::xml
